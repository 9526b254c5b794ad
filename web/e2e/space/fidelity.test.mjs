// Plugins written for oVice, run as they are, through the real iframe boundary in headless
// Chromium (each user in their own browser context): what a plugin sends arrives exactly
// as sent, a plugin hears its own departure and may hand over while it goes, a plugin
// that starts listening late still gets its first events, the sandbox allows what oVice
// plugins use, and every broadcast/emit gets its receipt in order.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ofType, pluginFrame, post, received, sleep, startServer, startSuite, stopSuite, waitFor } from "./harness.mjs";

let server, browser;

before(async () => {
  ({ server, browser } = await startSuite(startServer));
});

after(() => stopSuite({ server, browser }));

/** The dev view as one user, recording the text of every WebSocket frame the page receives. */
async function openRecorded(name, query = "") {
  const context = await browser.newContext();
  const page = await context.newPage();
  const frames = [];
  page.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push(String(f.payload))));
  page.on("dialog", (d) => d.accept("typed"));
  await page.goto(`${server.base}/dev.html?object=inspector&users=1&names=${name}&pluginOrigin=${encodeURIComponent(server.pluginOrigin)}${query}`);
  const frame = await pluginFrame(page, "inspector");
  return { name, id: `dev-${name.toLowerCase()}`, context, page, frame, frames };
}

async function until(what, check, timeout = 8000) {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test("what a plugin sends reaches the others exactly as it was sent", async () => {
  const alice = await openRecorded("Ann");
  const bob = await openRecorded("Ben");
  await waitFor(alice.frame, (m) => m.type === "ovice_participant_subscribed" && m.payload.id === bob.id, "Ben near Ann");

  // Through postMessage: key order (integer-like keys first, as JS orders them), escapes,
  // a lone surrogate, nested arrays: the others' JSON.stringify is the sender's.
  const sent = await alice.frame.evaluate(() => {
    const message = { z: 1, a: { y: [1.5, -0, 1e21], b: 'é\n"\\/😀\ud800' }, k: [{ 2: 0, 1: 0, x: null }], "": true };
    window.parent.postMessage({ type: "ovice_broadcast_message", payload: { event: "exact", message } }, "*");
    window.parent.postMessage({ type: "ovice_save_and_emit_data", payload: { title: "t", list: ["b", "a"], n: 2 } }, "*");
    return [JSON.stringify(message), JSON.stringify({ title: "t", list: ["b", "a"], n: 2 })];
  });
  const got = await waitFor(bob.frame, (m) => m.type === "ovice_message" && m.payload.event === "exact", "the exact broadcast");
  assert.equal(await bob.frame.evaluate((m) => JSON.stringify(m.payload.message), got), sent[0]);
  const shared = await waitFor(bob.frame, ofType("ovice_shared_data"), "the shared document");
  assert.equal(await bob.frame.evaluate((m) => JSON.stringify(m.payload), shared), sent[1]);

  // On the text path (the page sends JSON text, the socket carries it): number spelling
  // and integers beyond 2^53 survive, byte for byte, to the other user's socket and back
  // from the store.
  const text = '{"z":1,"a":[1.0,1e3,-0.0,9007199254740993,123456789012345678901234567890],"s":"\\u00e9\\ud83d\\ude00"}';
  await alice.page.evaluate((t) => {
    const host = window.meetbridge.users[0].host;
    host.sendAsPage("inspector", `{"type":"ovice_broadcast_message","payload":{"event":"text","message":${t}}}`);
    host.sendAsPage("inspector", `{"type":"ovice_save_and_emit_data","payload":${t}}`);
  }, text);
  await until("the relayed text at Ben's socket", () => bob.frames.some((f) => f.includes(`"event":"text","objectId":"inspector","message":${text}`)));
  await until("the shared document at Ben's socket", () => bob.frames.some((f) => f.includes(`{"type":"ovice_shared_data","payload":${text}}`)));
  await post(bob.frame, { type: "ovice_get_data" });
  await until("the saved document back from the server", () => bob.frames.some((f) => f.includes(`{"type":"ovice_saved_data","payload":${text}}`)));
  await alice.context.close();
  await bob.context.close();
});

test("broadcasts and emits get meetbridge_sent receipts, refusals in their place, in order", async () => {
  const carol = await openRecorded("Cat");
  await waitFor(carol.frame, ofType("ovice_participant_subscribed"), "Cat's own arrival");
  await carol.frame.evaluate(() => {
    window.parent.postMessage({ type: "ovice_broadcast_message", payload: { event: "one", message: 1 } }, "*");
    window.parent.postMessage({ type: "ovice_emit_message", payload: { event: "two", message: 2, to: "nobody" } }, "*");
    window.parent.postMessage({ type: "ovice_broadcast_message", payload: { event: "", message: 3 } }, "*");
    window.parent.postMessage({ type: "ovice_broadcast_message", payload: { event: "four", message: 4 } }, "*");
  });
  await until("four answers", async () => (await received(carol.frame)).filter((m) => m.type === "meetbridge_sent" || m.type === "meetbridge_error").length >= 4);
  const answers = (await received(carol.frame)).filter((m) => m.type === "meetbridge_sent" || m.type === "meetbridge_error");
  assert.deepEqual(
    answers.map((m) => (m.type === "meetbridge_sent" ? `sent ${m.payload.request}` : `error ${m.payload.code} ${m.payload.refused}`)),
    ["sent ovice_broadcast_message", "error recipient_not_member ovice_emit_message", "error invalid_message ovice_broadcast_message", "sent ovice_broadcast_message"],
  );
  assert.ok(answers[3].payload.seq > answers[0].payload.seq);

  // The SDK's promises follow them: resolve {seq}, reject with the platform's code.
  const sdk = await carol.frame.evaluate(async (origin) => {
    const { connect } = await import(`${origin}/sdk/ovice-plugin-sdk.js`);
    const plugin = connect();
    const ok = await plugin.broadcast("sdk", { n: 1 });
    let code;
    try {
      await plugin.emit("nobody", "sdk", 2);
    } catch (e) {
      code = e.code;
    }
    plugin.destroy();
    return { seq: ok.seq, code };
  }, server.pluginOrigin);
  assert.equal(typeof sdk.seq, "number");
  assert.equal(sdk.code, "recipient_not_member");
  await carol.context.close();
});

test("a plugin hears its own departure and may hand over during its grace period", async () => {
  const alice = await openRecorded("Amy", "&grace=4000");
  const bob = await openRecorded("Bo", "&grace=4000");
  await waitFor(alice.frame, (m) => m.type === "ovice_participant_subscribed" && m.payload.id === bob.id, "Bo near Amy");
  // Bo walks away (the dev view's "away": unsubscribed, then the iframe closes).
  await bob.page.click("button:text('away')");
  await bob.page.waitForSelector("section.user.leaving");
  const own = await waitFor(bob.frame, (m) => m.type === "ovice_participant_unsubscribed" && m.payload.isSelf, "Bo's own departure");
  assert.equal(own.payload.id, bob.id);
  // Its plugin hands the document over; the others get it.
  await post(bob.frame, { type: "ovice_save_and_emit_data", payload: { owner: alice.id } });
  await post(bob.frame, { type: "ovice_broadcast_message", payload: { event: "bye", message: alice.id } });
  await waitFor(alice.frame, (m) => m.type === "ovice_shared_data" && m.payload.owner === alice.id, "the handed-over document");
  await waitFor(alice.frame, (m) => m.type === "ovice_message" && m.payload.event === "bye", "the goodbye");
  const sent = await waitFor(bob.frame, ofType("meetbridge_sent"), "the goodbye's receipt");
  assert.equal(sent.payload.request, "ovice_broadcast_message");
  // Then, quiet, it goes well before its grace period ends.
  const start = Date.now();
  await bob.page.waitForSelector('iframe[data-object="inspector"]', { state: "detached", timeout: 4000 });
  assert.ok(Date.now() - start < 3500);
  await alice.context.close();
  await bob.context.close();
});

test("a plugin that starts listening late still gets its first events, in order", async () => {
  const dave = await openRecorded("Dan", `&url=${encodeURIComponent(`${server.pluginOrigin}/plugins/inspector/?listenAfterMs=600`)}`);
  await until("the late listener", () => dave.frame.evaluate(() => window.listening === true));
  const first = await waitFor(dave.frame, ofType("ovice_participant_subscribed"), "the subscription sent before it listened");
  assert.equal(first.payload.isSelf, true);
  assert.equal((await received(dave.frame))[0].type, "ovice_participant_subscribed");
  await dave.context.close();
});

test("the sandbox allows what oVice plugins use, and a per-object setting narrows it", async () => {
  const erin = await openRecorded("Eve");
  const sandbox = await erin.page.getAttribute('iframe[data-object="inspector"]', "sandbox");
  assert.match(sandbox, /allow-modals/);
  assert.match(sandbox, /allow-same-origin/, `${sandbox} at ${erin.frame.url()}`);
  assert.doesNotMatch(sandbox, /allow-top-navigation/);
  assert.match(await erin.page.getAttribute('iframe[data-object="inspector"]', "allow"), /clipboard-write/);
  // (Storage in a cross-site iframe is the browser's call, partitioned or blocked whatever
  // the sandbox says; the plugin keeps its own origin, allow-same-origin, for it.)
  const can = await erin.frame.evaluate(() => ({ confirm: confirm("sure?"), prompt: prompt("name?"), origin: window.origin }));
  assert.deepEqual(can, { confirm: true, prompt: "typed", origin: server.pluginOrigin });
  await erin.context.close();

  const narrow = await openRecorded("Fay", "&sandbox=allow-scripts");
  assert.equal(await narrow.page.getAttribute('iframe[data-object="inspector"]', "sandbox"), "allow-scripts");
  assert.equal(await narrow.frame.evaluate(() => confirm("sure?")), false);
  await narrow.context.close();
});

test("the 2 MB limit counts event and to; refusals name the request", async () => {
  const gus = await openRecorded("Gus");
  await waitFor(gus.frame, ofType("ovice_participant_subscribed"), "Gus's own arrival");
  await gus.frame.evaluate(() => {
    window.parent.postMessage({ type: "ovice_broadcast_message", payload: { event: "e".repeat(3 * 1024 * 1024), message: 1 } }, "*");
  });
  const error = await waitFor(gus.frame, ofType("meetbridge_error"), "the refusal");
  assert.equal(error.payload.code, "too_large");
  assert.equal(error.payload.refused, "ovice_broadcast_message");
  await gus.context.close();
});
