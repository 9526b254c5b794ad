// End-to-end tests of the external-chat plugin's original contract, in headless Chromium:
// the plugin comes from the packaged zip, runs in the Web App 3 stand-in (another origin,
// sandbox="allow-scripts"), inside a top page that uses ExternalChatHost (crates/meeting-host).
// Run: make package && bash scripts/build-wasm.sh meetbridge-meeting-host web/pkg/meeting-host
//      && node --test web/e2e/pexip/
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { P, dial, joined, root, setup, sleep } from './harness.mjs';

const ALICE = { role: 'GUEST', destination: 'alice@example.com', protocol: 'sip', call_type: 'video', remote_display_name: 'Alice' };

let h;
before(async () => {
  h = await setup();
});
after(async () => {
  await h?.teardown();
});

test('loads from the zip in a sandboxed opaque-origin frame, registers, says ready, logs its version', async () => {
  const t = await h.open();
  try {
    assert.notEqual(h.webappOrigin, h.topOrigin);
    const version = JSON.parse(readFileSync(join(root, 'external-chat/package.json'), 'utf8')).version;
    const line = t.consoleLog.find((m) => m.text === `plugin: external-chat loaded v${version}`);
    assert.ok(line, `version line missing: ${JSON.stringify(t.consoleLog)}`);
    assert.match(line.url, /\/branding\/plugins\/external-chat\/external-chat\.js$/);
    const [plugin] = await t.standin(() => window.standin.plugins);
    assert.equal(plugin.status, 'registered');
    assert.equal(plugin.sandbox, 'allow-scripts');
    assert.equal(plugin.version, Number(version.split('.')[0]));
    assert.equal(await t.pluginFrame().evaluate(() => self.origin), 'null');
    // index.html and its classic script from the same folder, nothing else (no .wasm, no fetch).
    const fetched = h.webappServer.requests.filter((p) => p.includes('/plugins/external-chat/'));
    assert.deepEqual([...new Set(fetched)], ['/branding/plugins/external-chat/index.html', '/branding/plugins/external-chat/external-chat.js']);
    assert.deepEqual(await t.events(), [{ event: 'ready' }]);
    assert.equal(await t.page.evaluate(() => window.host.ready), true);
    const buttons = await t.buttons();
    assert.equal(buttons.length, 1);
    assert.deepEqual(
      { tooltip: buttons[0].tooltip, isActive: buttons[0].isActive, badge: buttons[0].badge, visible: buttons[0].visible },
      { tooltip: 'Open Chat', isActive: false, badge: false, visible: false },
    );
    assert.deepEqual(t.pluginWarnings(), []);
  } finally {
    await t.close();
  }
});

test('toggle-chat asks, the page decides: button state, tooltip and badge', async () => {
  const t = await h.open();
  try {
    // Record anything prefixed that reaches the Web App 3 window: the host must answer the
    // plugin's own window, never Web App 3's.
    await t.standin(() => {
      window.seen = [];
      addEventListener('message', (e) => e.data?.action && window.seen.push(e.data));
    });
    await joined(t);
    assert.equal((await t.buttons())[0].visible, true);
    const click = () => t.standinFrame().click('#toolbar button.tb');
    const toggles = async (n) => t.waitFor(`${n} toggle-chat`, async () => {
      const e = await t.eventsNamed('toggle-chat');
      return e.length >= n && e;
    });

    await click();
    assert.deepEqual((await toggles(1))[0].data, { active: true });
    await sleep(200);
    let [button] = await t.buttons();
    assert.equal(button.isActive, false, 'the button must not change by itself');
    assert.equal(button.tooltip, 'Open Chat');
    await click();
    assert.deepEqual((await toggles(2))[1].data, { active: true });

    await t.page.evaluate(() => window.host.setButtonActive(true));
    await t.waitFor('active button', async () => (await t.buttons())[0].isActive);
    [button] = await t.buttons();
    assert.equal(button.tooltip, 'Close Chat');
    assert.equal(await t.standinFrame().getAttribute('#toolbar button.tb', 'title'), 'Close Chat');
    assert.equal(await t.standinFrame().getAttribute('#toolbar button.tb', 'aria-pressed'), 'true');
    await click();
    assert.deepEqual((await toggles(3))[2].data, { active: false });
    await t.page.evaluate(() => window.host.setButtonActive(false));
    await t.waitFor('inactive button', async () => (await t.buttons())[0].tooltip === 'Open Chat');

    await t.page.evaluate(() => window.host.setBadge(true));
    await t.waitFor('badge', async () => (await t.buttons())[0].badge);
    assert.equal(await t.standinFrame().isVisible('#toolbar button.tb .badge'), true);
    await t.page.evaluate(() => window.host.setBadge(false));
    await t.waitFor('no badge', async () => !(await t.buttons())[0].badge);
    assert.equal(await t.standinFrame().isVisible('#toolbar button.tb .badge'), false);
    assert.equal((await t.buttons())[0].tooltip, 'Open Chat', 'the badge leaves the button state alone');

    assert.deepEqual(await t.standin(() => window.seen), []);
    assert.deepEqual(t.pluginWarnings(), [], 'the plugin-api channel must not cause warnings');
  } finally {
    await t.close();
  }
});

test('disconnected: userInitiated on Leave (once), error and errorCode on a drop', async () => {
  const t = await h.open();
  try {
    await joined(t);
    await t.standin(() => window.standin.leave());
    await t.waitFor('disconnected', async () => (await t.eventsNamed('disconnected')).length === 1);
    await sleep(200);
    assert.deepEqual(await t.eventsNamed('disconnected'), [{ event: 'disconnected', data: { userInitiated: true } }]);

    await t.standin(() => window.standin.join());
    await t.waitFor('connected again', async () => (await t.eventsNamed('connected')).length === 2);
    await t.standin(() => window.standin.drop('Media node disconnected', '#pex128'));
    await t.waitFor('dropped', async () => (await t.eventsNamed('disconnected')).length === 2);
    assert.deepEqual((await t.eventsNamed('disconnected'))[1].data, {
      userInitiated: false,
      error: 'Media node disconnected',
      errorCode: '#pex128',
    });
    assert.deepEqual((await t.events()).map((e) => e.event), ['ready', 'connected', 'disconnected', 'connected', 'disconnected']);
  } finally {
    await t.close();
  }
});

test('dial-out: succeeds when the participant joins; parameters reach conference.dialOut untouched', async () => {
  const t = await h.open();
  try {
    await joined(t);
    const result = await dial(t, ALICE);
    assert.equal(result.ok, true, JSON.stringify(result));
    const calls = await t.standin(() => window.standin.dialCalls);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0].payload, ALICE, 'only the dial parameters go to Pexip');
    assert.equal(result.value.uuid, calls[0].uuid);
    assert.equal(result.value.displayName, 'Alice');
    assert.match(result.value.requestId, /^mb-/);
    assert.deepEqual((await t.eventsNamed('dial-out-success')).map((e) => e.data), [result.value]);
  } finally {
    await t.close();
  }
});

test('dial-out: a failed call is a dial-out-error', async () => {
  const t = await h.open();
  try {
    await joined(t);
    await t.standin(() => window.standin.setDialMode('fail'));
    const result = await dial(t, ALICE);
    assert.equal(result.ok, false);
    assert.equal(result.error.message, 'Could not dial out to specified uri');
    assert.match(result.error.requestId, /^mb-/);
    assert.equal((await t.standin(() => window.standin.dialCalls)).length, 1);
    assert.equal((await t.eventsNamed('dial-out-error')).length, 1);
  } finally {
    await t.close();
  }
});

test('dial-out: invalid parameters are answered naming the field, without calling Pexip', async () => {
  const t = await h.open();
  try {
    await joined(t);
    // Raw messages, as any page could send them (the SDK would refuse them before sending).
    await t.postFromTop({ action: `${P}dial-out`, role: 'ADMIN', destination: 'x@y', protocol: 'sip', requestId: 'bad-role' });
    await t.postFromTop({ action: `${P}dial-out`, role: 'GUEST', protocol: 'sip', requestId: 'no-destination' });
    await t.postFromTop({ action: `${P}dial-out`, role: 'GUEST', destination: 'x@y', protocol: 'fax' });
    await t.postFromTop({ action: `${P}dial-out`, role: 'GUEST', destination: 'x@y', protocol: 'sip', call_type: 'hologram', requestId: 'bad-call-type' });
    const errors = await t.waitFor('4 dial-out-errors', async () => {
      const e = await t.eventsNamed('dial-out-error');
      return e.length === 4 && e.map((x) => x.data);
    });
    assert.deepEqual(errors.map((e) => [e.requestId, e.field]), [
      ['bad-role', 'role'],
      ['no-destination', 'destination'],
      [undefined, 'protocol'],
      ['bad-call-type', 'call_type'],
    ]);
    for (const e of errors) assert.ok(e.message.includes(e.field), e.message);
    // Through the SDK: refused before anything is posted.
    const viaHost = await dial(t, { role: 'GUEST', destination: '  ', protocol: 'sip' });
    assert.equal(viaHost.ok, false);
    assert.equal(viaHost.error.field, 'destination');
    await sleep(200);
    assert.deepEqual(await t.standin(() => window.standin.dialCalls), []);
    assert.equal((await t.standin(() => window.standin.rpcLog)).filter((r) => r.rpc === 'conference:dialOut').length, 0);
  } finally {
    await t.close();
  }
});

test('dial-out: a destination that never answers times out with timeoutMs; without one, the call ending fails it', async () => {
  const t = await h.open();
  try {
    await joined(t);
    await t.standin(() => window.standin.setDialMode('never'));
    const started = Date.now();
    const result = await dial(t, ALICE, 400);
    assert.ok(Date.now() - started >= 400);
    assert.equal(result.ok, false);
    assert.match(result.error.message, /timed out/);
    assert.equal((await t.standin(() => window.standin.dialCalls)).length, 1, 'Pexip was called');

    // No timeout: nothing happens (as the contract warns) until the call ends.
    await t.page.evaluate((p) => {
      window.pending = window.dial(p);
    }, { ...ALICE, destination: 'bob@example.com' });
    await sleep(800);
    assert.equal((await t.eventsNamed('dial-out-error')).length, 1);
    await t.standin(() => window.standin.leave());
    const ended = await t.page.evaluate(() => window.pending);
    assert.equal(ended.ok, false);
    assert.match(ended.error.message, /call ended/);
  } finally {
    await t.close();
  }
});

test('dial-out: concurrent requests settle independently by requestId', async () => {
  const t = await h.open();
  try {
    await joined(t);
    await t.standin(() => {
      window.standin.planDial('slow@example.com', { mode: 'answer', delayMs: 400 });
      window.standin.planDial('fast@example.com', { mode: 'answer' });
      window.standin.planDial('bad@example.com', { mode: 'fail' });
      window.standin.planDial('silent@example.com', { mode: 'never' });
    });
    const results = await t.page.evaluate(() => {
      const d = (destination, ms) => window.dial({ role: 'GUEST', destination, protocol: 'sip', remote_display_name: destination }, ms);
      return Promise.all([d('slow@example.com'), d('fast@example.com'), d('bad@example.com'), d('silent@example.com', 600)]);
    });
    const [slow, fast, bad, silent] = results;
    const calls = await t.standin(() => window.standin.dialCalls);
    const uuidOf = (dest) => calls.find((c) => c.payload.destination === dest).uuid;
    assert.equal(slow.ok, true);
    assert.equal(slow.value.uuid, uuidOf('slow@example.com'));
    assert.equal(slow.value.displayName, 'slow@example.com');
    assert.equal(fast.ok, true);
    assert.equal(fast.value.uuid, uuidOf('fast@example.com'));
    assert.equal(bad.ok, false);
    assert.equal(silent.ok, false);
    assert.match(silent.error.message, /timed out/);
    const ids = [slow.value.requestId, fast.value.requestId, bad.error.requestId, silent.error.requestId];
    assert.equal(new Set(ids).size, 4, `request ids must differ: ${ids}`);
    // The fast one was answered first although asked second.
    assert.deepEqual((await t.eventsNamed('dial-out-success')).map((e) => e.data.uuid), [fast.value.uuid, slow.value.uuid]);
  } finally {
    await t.close();
  }
});

test('only messages from the top window are obeyed; others are ignored with a warning', async () => {
  const t = await h.open();
  try {
    const badge = { action: `${P}toggle-chat-badge`, visible: true };
    // From Web App 3 itself (the plugin's parent).
    await t.standin((m) => document.querySelector('#plugins iframe').contentWindow.postMessage(m, '*'), badge);
    // From another frame of the top page.
    const other = await (await t.page.$('iframe#other')).contentFrame();
    await other.evaluate((m) => window.parent.frames[0].frames[0].postMessage(m, '*'), badge);
    // From the plugin's own window.
    await t.pluginFrame().evaluate((m) => window.postMessage(m, '*'), badge);
    await t.waitFor('3 warnings', async () => t.pluginWarnings().length === 3);
    for (const w of t.pluginWarnings()) assert.match(w.text, /not from the top window/);
    await sleep(150);
    assert.equal((await t.buttons())[0].badge, false);
    // The same message from the top window is obeyed.
    await t.postFromTop(badge);
    await t.waitFor('badge', async () => (await t.buttons())[0].badge);
    assert.equal(t.pluginWarnings().length, 3);
  } finally {
    await t.close();
  }
});

test('ExternalChatHost accepts messages from frames inside iframe#webapp3 only', async () => {
  const t = await h.open();
  try {
    const toggle = { action: `${P}toggle-chat`, active: true };
    // A frame of the top page outside iframe#webapp3: ignored.
    const other = await (await t.page.$('iframe#other')).contentFrame();
    await other.evaluate((m) => window.parent.postMessage(m, '*'), toggle);
    // The top page itself: ignored.
    await t.page.evaluate((m) => window.postMessage(m, '*'), toggle);
    await sleep(300);
    assert.deepEqual(await t.eventsNamed('toggle-chat'), []);
    // Web App 3's own window (inside the iframe, not the plugin): accepted, as the SDK
    // takes plugin messages from any frame inside iframe#webapp3.
    await t.standin((m) => window.top.postMessage(m, '*'), toggle);
    await t.waitFor('toggle-chat', async () => (await t.eventsNamed('toggle-chat')).length === 1);
    // And the answers still go to the plugin's window, not to the one that spoke last.
    await t.page.evaluate(() => window.host.setBadge(true));
    await t.waitFor('badge', async () => (await t.buttons())[0].badge);
  } finally {
    await t.close();
  }
});

test('the demo page opens the chat and echoes the state back', async () => {
  const t = await h.open({ query: 'demo=1&' });
  try {
    await joined(t);
    await t.page.evaluate(() => window.host.setBadge(true));
    await t.waitFor('badge', async () => (await t.buttons())[0].badge);
    await t.standinFrame().click('#toolbar button.tb');
    await t.waitFor('active', async () => {
      const [b] = await t.buttons();
      return b.isActive && b.tooltip === 'Close Chat' && !b.badge;
    });
    assert.equal(await t.page.isVisible('#chat'), true);
    await t.standinFrame().click('#toolbar button.tb');
    await t.waitFor('inactive', async () => !(await t.buttons())[0].isActive);
    assert.equal(await t.page.isVisible('#chat'), false);
  } finally {
    await t.close();
  }
});

test('actions without the namespace prefix are ignored with a warning', async () => {
  const t = await h.open();
  try {
    await t.postFromTop({ action: 'toggle-chat-badge', visible: true });
    await t.postFromTop({ action: `${P}no-such-action` });
    await t.postFromTop('hello');
    await t.waitFor('3 warnings', async () => t.pluginWarnings().length === 3);
    const [a, b, c] = t.pluginWarnings().map((w) => w.text);
    assert.match(a, /lacks the `pexip:plugin:external-chat\/` prefix/);
    assert.match(b, /unknown action/);
    assert.match(c, /not an object/);
    assert.equal((await t.buttons())[0].badge, false);
  } finally {
    await t.close();
  }
});

test('a configured host origin gates event.origin and is the target origin', async () => {
  const good = h.manifestVariant('manifest-origin-good', (m) => {
    m.plugins[0].src += `?hostOrigin=${encodeURIComponent(h.topOrigin)}`;
    m.plugins[0].sandboxValues = ['allow-popups'];
  });
  const t = await h.open({ manifest: good });
  try {
    // The stand-in adds the manifest's sandboxValues to allow-scripts.
    assert.equal((await t.standin(() => window.standin.plugins))[0].sandbox, 'allow-scripts allow-popups');
    assert.equal(await t.pluginFrame().evaluate(() => self.origin), 'null');
    await t.postFromTop({ action: `${P}toggle-chat-badge`, visible: true });
    await t.waitFor('badge', async () => (await t.buttons())[0].badge);
  } finally {
    await t.close();
  }
  const bad = h.manifestVariant('manifest-origin-bad', (m) => {
    m.plugins[0].src += '?hostOrigin=https%3A%2F%2Fchat.example.com';
  });
  const u = await h.open({ manifest: bad, waitReady: false });
  try {
    await u.waitFor('registered', async () => (await u.standin(() => window.standin.plugins))[0]?.status === 'registered');
    await sleep(500);
    assert.deepEqual(await u.events(), [], 'posts addressed to another origin never reach this page');
    await u.postFromTop({ action: `${P}toggle-chat-badge`, visible: true });
    await u.waitFor('warning', async () => u.pluginWarnings().length === 1);
    assert.match(u.pluginWarnings()[0].text, /configured host origin is `https:\/\/chat\.example\.com`/);
    assert.equal((await u.buttons())[0].badge, false);
  } finally {
    await u.close();
  }
  const malformed = h.manifestVariant('manifest-origin-malformed', (m) => {
    m.plugins[0].src += '?hostOrigin=chat.example.com';
  });
  const v = await h.open({ manifest: malformed, waitReady: false });
  try {
    await v.waitFor('disabled', async () => v.consoleLog.some((m) => m.text.startsWith('external-chat: disabled: host origin `chat.example.com`')));
    await sleep(300);
    assert.equal((await v.standin(() => window.standin.plugins))[0].status, 'loading', 'a misconfigured plugin does not register');
    assert.deepEqual(await v.events(), []);
  } finally {
    await v.close();
  }
});

test('the stand-in refuses a plugin whose registered id differs from the manifest', async () => {
  const variant = h.manifestVariant('manifest-wrong-id', (m) => {
    m.plugins[0].id = 'not-external-chat';
  });
  const t = await h.open({ manifest: variant, waitReady: false });
  try {
    await t.waitFor('refused', async () => (await t.standin(() => window.standin.plugins))[0]?.status === 'refused');
    await t.waitFor('error logged', async () => t.consoleLog.some((m) => m.text.includes('registration with Web App 3 failed')));
    assert.deepEqual(await t.buttons(), []);
    assert.deepEqual(await t.events(), []);
  } finally {
    await t.close();
  }
});

test('the id check fails when src/index.ts and the manifest disagree', () => {
  const script = join(root, 'external-chat/scripts/check-plugin-id.mjs');
  const index = join(root, 'external-chat/src/index.ts');
  const manifest = join(root, 'webapp3/branding/manifest.json');
  execFileSync('node', [script, index, manifest], { stdio: 'pipe' });
  const dir = mkdtempSync(join(tmpdir(), 'id-check-'));
  const wrong = JSON.parse(readFileSync(manifest, 'utf8'));
  wrong.plugins[0].id = 'external-chat-2';
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(wrong));
  assert.throws(() => execFileSync('node', [script, index, join(dir, 'manifest.json')], { stdio: 'pipe' }), (e) => {
    assert.equal(e.status, 1);
    assert.match(String(e.stderr), /plugin id mismatch/);
    return true;
  });
  writeFileSync(join(dir, 'index.ts'), readFileSync(index, 'utf8').replace("id: 'external-chat'", "id: 'renamed'"));
  assert.throws(() => execFileSync('node', [script, join(dir, 'index.ts'), manifest], { stdio: 'pipe' }), /renamed/);
});
