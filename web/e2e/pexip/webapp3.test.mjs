// End-to-end tests of the external-chat plugin against Web App 3's real behaviour, in
// headless Chromium: the plugin from the packaged zip, served under a strict CSP, in the
// Web App 3 stand-in, inside a top page that uses ExternalChatHost. Covers events that
// arrive right after the handshake, every order of the end-of-call events, the
// `rocketchat:videoconf` dialect (roster, self, participant controls) and dial-out edge
// cases of plugin-api 22. Run: see external-chat.test.mjs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { P, PLUGIN_CSP, dial, joined, setup, sleep } from './harness.mjs';

const V = 'rocketchat:videoconf/';
const ALICE = { role: 'GUEST', destination: 'alice@example.com', protocol: 'sip', remote_display_name: 'Alice' };

let h;
before(async () => {
  h = await setup();
});
after(async () => {
  await h?.teardown();
});

const rpcs = (t, name) => t.standin((n) => window.standin.rpcLog.filter((r) => r.rpc === n).map((r) => r.payload), name);
const lastRoster = async (t) => (await t.page.evaluate(() => window.roster.filter((e) => e.event === 'roster'))).at(-1)?.data.participants;

test('loads under script-src \'self\' \'wasm-unsafe-eval\': no inline script, one classic script beside index.html', async () => {
  const t = await h.open();
  try {
    const html = readFileSync(join(h.webapp3, 'branding/plugins/external-chat/index.html'), 'utf8');
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)/, 'no inline script');
    assert.match(html, /<script src="\.\/external-chat\.js"><\/script>/);
    assert.doesNotMatch(html, /type="module"|crossorigin/);
    const response = await t.page.request.get(`${h.webappOrigin}/branding/plugins/external-chat/index.html`);
    assert.equal(response.headers()['content-security-policy'], PLUGIN_CSP);
    assert.equal(response.headers()['access-control-allow-origin'], undefined);
    assert.deepEqual(await t.events(), [{ event: 'ready' }]);
    assert.equal(await t.pluginFrame().evaluate(() => self.origin), 'null');
    const refused = t.consoleLog.filter((m) => /Content Security Policy|Refused to/i.test(m.text));
    assert.deepEqual(refused, []);
  } finally {
    await t.close();
  }
});

test('the plugin announces itself in both dialects, the original first, then answers in the top window\'s', async () => {
  const t = await h.open();
  try {
    const raw = await t.page.evaluate(() => window.raw);
    assert.deepEqual(raw[0], { action: `${P}ready` });
    assert.equal(raw[1].action, `${V}ready`);
    for (const f of ['chat', 'dial-out', 'roster', 'mute', 'mute-video', 'admit', 'disconnect', 'spotlight', 'raise-hand', 'set-role', 'transfer', 'dtmf', 'mute-all-guests']) {
      assert.ok(raw[1].features.includes(f), f);
    }
    const state = await t.page.evaluate(() => window.host.state);
    assert.equal(state.dialect, 'videoconf');
    // This top window speaks the original dialect only: the plugin follows it.
    await t.postFromTop({ action: `${P}toggle-chat-badge`, visible: true });
    await t.waitFor('badge', async () => (await t.buttons())[0].badge);
    await t.standin(() => window.standin.join());
    await t.waitFor('connected', async () => (await t.page.evaluate(() => window.raw.length)) > 2);
    await sleep(200);
    const after = (await t.page.evaluate(() => window.raw)).slice(2).map((m) => m.action);
    assert.deepEqual(after, [`${P}connected`], 'only the dialect the top window spoke; no roster in the original dialect');
  } finally {
    await t.close();
  }
});

test('loaded while the stand-in is already in a call: ready, then connected, and dial-outs work', async () => {
  const t = await h.open({ standinQuery: 'join=1&', waitReady: false });
  try {
    await t.waitFor('connected', async () => (await t.eventsNamed('connected')).length === 1);
    assert.deepEqual((await t.events()).map((e) => e.event), ['ready', 'connected']);
    const result = await dial(t, ALICE);
    assert.equal(result.ok, true, JSON.stringify(result));
    await t.waitFor('roster with the local participant', async () => (await lastRoster(t))?.some((p) => p.uuid === 'me-0001'));
  } finally {
    await t.close();
  }
});

for (const order of ['intent-first', 'end-first', 'intent-only']) {
  test(`Leave reported once as userInitiated whatever the order of Web App 3's events (${order})`, async () => {
    const t = await h.open();
    try {
      await joined(t);
      await t.standin((o) => window.standin.leave(o), order);
      await t.waitFor('disconnected', async () => (await t.eventsNamed('disconnected')).length === 1);
      await sleep(900);
      assert.deepEqual(await t.eventsNamed('disconnected'), [{ event: 'disconnected', data: { userInitiated: true } }]);
      // Before the top window speaks, the plugin posts each event in both dialects: one each.
      const raw = (await t.page.evaluate(() => window.raw)).filter((m) => m.action.endsWith('/disconnected'));
      assert.deepEqual(raw.map((m) => m.action), [`${P}disconnected`, `${V}disconnected`], JSON.stringify(raw));
    } finally {
      await t.close();
    }
  });
}

test('a drop is reported once, with its error, after the short window', async () => {
  const t = await h.open();
  try {
    await joined(t);
    await t.standin(() => window.standin.drop('Media node disconnected', '#pex128'));
    await t.waitFor('dropped', async () => (await t.eventsNamed('disconnected')).length === 1);
    await sleep(900);
    assert.deepEqual((await t.eventsNamed('disconnected')).map((e) => e.data), [
      { userInitiated: false, error: 'Media node disconnected', errorCode: '#pex128' },
    ]);
    assert.deepEqual(await lastRoster(t), [], 'nobody is in a call that ended');
  } finally {
    await t.close();
  }
});

test('roster and self follow plugin-api\'s participant events; the host\'s controls reach Web App 3', async () => {
  const t = await h.open();
  try {
    await joined(t);
    await t.standin(() => window.standin.addParticipant({ uuid: 'bob', displayName: 'Bob', isWaiting: true }));
    let roster = await t.waitFor('bob waiting', async () => {
      const r = await lastRoster(t);
      return r?.find((p) => p.uuid === 'bob')?.isWaiting && r;
    });
    const me = roster.find((p) => p.uuid === 'me-0001');
    assert.equal(me.isHost, true);
    assert.equal(roster.find((p) => p.uuid === 'bob').can.mute, true);
    const self = (await t.page.evaluate(() => window.roster.filter((e) => e.event === 'self'))).at(-1).data;
    assert.deepEqual(self, { participantUuid: 'me-0001', micMuted: false, camMuted: false, clientMuted: false, isHost: true, canControl: true });

    await t.page.evaluate(() => window.host.admit('bob'));
    await t.waitFor('bob admitted', async () => (await lastRoster(t)).find((p) => p.uuid === 'bob')?.isWaiting === false);
    assert.deepEqual(await rpcs(t, 'participant:admit'), [{ participantUuid: 'bob' }]);

    await t.page.evaluate(() => {
      const host = window.host;
      host.mute('bob', true);
      host.mute('me-0001', true);
      host.muteVideo('me-0001', true);
      host.raiseHand('me-0001', true);
      host.raiseHand('bob', true);
      host.spotlight('bob', true);
      host.setRole('bob', 'host');
      host.dtmf('bob', '12#');
      host.muteAllGuests(false);
    });
    await t.waitFor('bob a host', async () => (await lastRoster(t)).find((p) => p.uuid === 'bob')?.isHost === true);
    assert.deepEqual(await rpcs(t, 'participant:mute'), [{ participantUuid: 'bob', mute: true }, { mute: true }]);
    assert.deepEqual(await rpcs(t, 'participant:muteVideo'), [{ muteVideo: true }]);
    assert.deepEqual(await rpcs(t, 'participant:raiseHand'), [{ raise: true }, { participantUuid: 'bob', raise: true }]);
    assert.deepEqual(await rpcs(t, 'participant:spotlight'), [{ participantUuid: 'bob', enable: true }]);
    assert.deepEqual(await rpcs(t, 'participant:setRole'), [{ participantUuid: 'bob', role: 'chair' }]);
    assert.deepEqual(await rpcs(t, 'participant:sendDTMF'), [{ participantUuid: 'bob', digits: '12#' }]);
    assert.deepEqual(await rpcs(t, 'conference:muteAllGuests'), [{ mute: false }]);
    roster = await t.waitFor('the changes in the roster', async () => {
      const r = await lastRoster(t);
      const bob = r.find((p) => p.uuid === 'bob');
      return bob.isSpotlight && bob.raisedHand && r;
    });
    const mine = roster.find((p) => p.uuid === 'me-0001');
    assert.equal(mine.isMuted, true);
    assert.equal(mine.isCameraMuted, true);
    assert.equal(mine.raisedHand, true);
    await t.waitFor('self muted', async () => (await t.page.evaluate(() => window.roster.filter((e) => e.event === 'self'))).at(-1).data.micMuted);

    // Refused before anything is sent: invalid tones.
    const error = await t.page.evaluate(() => {
      try {
        window.host.dtmf('bob', '1;2');
        return null;
      } catch (e) {
        return String(e);
      }
    });
    assert.match(error, /digits/);
    await t.page.evaluate(() => window.host.transfer('bob', 'room-2'));
    await t.waitFor('bob gone', async () => !(await lastRoster(t)).some((p) => p.uuid === 'bob'));
    assert.deepEqual(await rpcs(t, 'participant:transfer'), [{ participantUuid: 'bob', destination: 'room-2', role: 'guest' }]);
    assert.equal((await rpcs(t, 'participant:sendDTMF')).length, 1);
  } finally {
    await t.close();
  }
});

test('participants-state: a panel that opens gets the roster at once', async () => {
  const t = await h.open();
  try {
    await joined(t);
    await t.waitFor('a roster', async () => (await lastRoster(t))?.length > 0);
    const before = await t.page.evaluate(() => window.roster.length);
    await t.page.evaluate(() => window.host.setParticipantsPanel(true));
    await t.waitFor('roster again', async () => (await t.page.evaluate(() => window.roster.length)) >= before + 2);
  } finally {
    await t.close();
  }
});

test('dial-out: a dial refused with {status: \'failed\'} does not break later dial-outs (plugin-api 22 observer)', async () => {
  const t = await h.open();
  try {
    await joined(t);
    await t.standin(() => window.standin.planDial('refused@example.com', { mode: 'refuse' }));
    const refused = await dial(t, { ...ALICE, destination: 'refused@example.com' });
    assert.equal(refused.ok, false);
    const ok = await dial(t, ALICE, 3000);
    assert.equal(ok.ok, true, JSON.stringify(ok));
    const again = await dial(t, { ...ALICE, destination: 'carol@example.com' }, 3000);
    assert.equal(again.ok, true, JSON.stringify(again));
  } finally {
    await t.close();
  }
});

test('dial-out: replies without requestId settle the oldest pending dial-out first', async () => {
  const t = await h.open();
  try {
    await joined(t);
    await t.standin(() => window.standin.setDialMode('never'));
    await t.page.evaluate((p) => {
      window.first = window.dial(p);
      window.second = window.dial({ ...p, destination: 'bob@example.com' });
    }, ALICE);
    await t.waitFor('two dials', async () => (await t.standin(() => window.standin.dialCalls.length)) === 2);
    // A plugin that follows the original contract only: no requestId in its replies.
    await t.standin((prefix) => window.top.postMessage({ action: `${prefix}dial-out-success`, uuid: 'plain-1' }, '*'), P);
    const first = await t.page.evaluate(() => window.first);
    assert.deepEqual(first, { ok: true, value: { uuid: 'plain-1' } });
    await t.standin((prefix) => window.top.postMessage({ action: `${prefix}dial-out-error`, message: 'busy' }, '*'), P);
    const second = await t.page.evaluate(() => window.second);
    assert.deepEqual(second, { ok: false, error: { message: 'busy' } });
  } finally {
    await t.close();
  }
});

test('dial-out: dtmf_sequence holds DTMF tones and pauses only', async () => {
  const t = await h.open();
  try {
    await joined(t);
    await t.postFromTop({ action: `${P}dial-out`, ...ALICE, dtmf_sequence: '12a', requestId: 'bad-dtmf' });
    const error = await t.waitFor('dial-out-error', async () => (await t.eventsNamed('dial-out-error'))[0]?.data);
    assert.equal(error.field, 'dtmf_sequence');
    assert.equal(error.requestId, 'bad-dtmf');
    const viaHost = await dial(t, { ...ALICE, dtmf_sequence: '1 2' });
    assert.equal(viaHost.error.field, 'dtmf_sequence');
    const ok = await dial(t, { ...ALICE, dtmf_sequence: '1234#,,*5' });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    const calls = await t.standin(() => window.standin.dialCalls);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].payload.dtmf_sequence, '1234#,,*5');
  } finally {
    await t.close();
  }
});
