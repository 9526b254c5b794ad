// The host runtime's checks, in Chromium through the real server. The page is on
// http://localhost:PORT and the plugin on http://127.0.0.1:PORT: a cross-origin plugin
// whose origin is known, so the host posts to that exact origin and checks event.origin.
// After each refused message a valid marker is sent: the marker arriving first and alone
// shows the refused message went nowhere.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ofType, openUser, post, received, sleep, startServer, startSuite, stopSuite, waitFor } from "./harness.mjs";

let server, browser, alice, bob;
let markers = 0;

before(async () => {
  ({ server, browser } = await startSuite(startServer));
  const query = `&pluginOrigin=${encodeURIComponent(server.pluginOrigin)}`;
  alice = await openUser(browser, server, { name: "Alice", query });
  bob = await openUser(browser, server, { name: "Bob", query });
  await waitFor(alice.frame, (m) => m.type === "ovice_participant_subscribed" && m.payload.id === "dev-bob", "Bob's arrival at Alice");
});

after(() => stopSuite({ server, browser }));

/** Sends a valid broadcast from Alice's plugin and returns what Bob received before it. */
async function bobsMessagesUpToMarker() {
  const event = `marker-${++markers}`;
  await post(alice.frame, { type: "ovice_broadcast_message", payload: { event, message: markers } });
  await waitFor(bob.frame, (m) => m.type === "ovice_message" && m.payload.event === event, event);
  return (await received(bob.frame)).filter((m) => m.type === "ovice_message");
}

const relayedEvents = async () => (await bobsMessagesUpToMarker()).map((m) => m.payload.event);

test("the plugin is cross-origin, and the host posts to its exact origin", async () => {
  assert.equal(new URL(alice.frame.url()).origin, server.pluginOrigin);
  const sandbox = await alice.page.getAttribute('iframe[data-object="inspector"]', "sandbox");
  assert.equal(sandbox, "allow-scripts allow-same-origin allow-forms allow-modals allow-popups allow-popups-to-escape-sandbox allow-downloads");
  assert.deepEqual(await relayedEvents(), ["marker-1"]);
});

test("a message from another frame (not the object's iframe) is ignored", async () => {
  // A frame the host did not create, on the plugin's own origin, and a frame nested in the
  // plugin: both post to the page as the plugin would.
  await alice.page.evaluate((src) => {
    const rogue = document.createElement("iframe");
    rogue.id = "rogue";
    rogue.src = src;
    document.body.append(rogue);
    return new Promise((ok) => (rogue.onload = ok));
  }, `${server.pluginOrigin}/plugins/inspector/`);
  const rogue = alice.page.frames().find((f) => f.name() === "" && f !== alice.frame && f.url().includes("/plugins/inspector/") && f.parentFrame() === alice.page.mainFrame() && f !== alice.frame);
  assert.ok(rogue, "the rogue frame loaded");
  await post(rogue, { type: "ovice_broadcast_message", payload: { event: "from-rogue", message: 1 } });
  await post(rogue, { type: "ovice_get_participants" });
  await alice.frame.evaluate((src) => {
    const nested = document.createElement("iframe");
    nested.src = src;
    document.body.append(nested);
    return new Promise((ok) => (nested.onload = ok));
  }, `${server.pluginOrigin}/plugins/inspector/`);
  const nested = alice.frame.childFrames()[0];
  await nested.evaluate(() => window.top.postMessage({ type: "ovice_broadcast_message", payload: { event: "from-nested", message: 1 } }, "*"));
  assert.deepEqual(await relayedEvents(), ["marker-1", "marker-2"]);
  await sleep(200);
  assert.deepEqual(await received(rogue), [], "the rogue frame got no answer");
});

test("a spoofed source (or objectId) is refused with meetbridge_error", async () => {
  await post(alice.frame, { type: "ovice_broadcast_message", payload: { event: "spoof", message: 1, source: "dev-bob" } });
  const error = await waitFor(alice.frame, (m) => m.type === "meetbridge_error" && m.payload.code === "spoofed_source", "spoofed_source");
  assert.equal(error.payload.refused, "ovice_broadcast_message");
  await post(alice.frame, { type: "ovice_emit_message", payload: { event: "spoof2", message: 1, to: "dev-bob", objectId: "notes" } });
  await waitFor(alice.frame, (m) => m.type === "meetbridge_error" && m.payload.code === "spoofed_source" && m.payload.refused === "ovice_emit_message", "spoofed objectId");
  assert.deepEqual(await relayedEvents(), ["marker-1", "marker-2", "marker-3"]);
  assert.ok(alice.warnings.some((w) => w.includes("refused")), "a console warning names the refusal");
});

test("an oversize payload is refused: 2 MB messages, 500 KB data", async () => {
  await alice.frame.evaluate(() => window.parent.postMessage({ type: "ovice_broadcast_message", payload: { event: "big", message: "x".repeat(2 * 1024 * 1024) } }, "*"));
  const big = await waitFor(alice.frame, (m) => m.type === "meetbridge_error" && m.payload.refused === "ovice_broadcast_message" && m.payload.code === "too_large", "too_large message");
  assert.match(big.payload.message, /limit/);
  await alice.frame.evaluate(() => window.parent.postMessage({ type: "ovice_save_and_emit_data", payload: { k: "y".repeat(500 * 1024) } }, "*"));
  await waitFor(alice.frame, (m) => m.type === "meetbridge_error" && m.payload.refused === "ovice_save_and_emit_data" && m.payload.code === "too_large", "too_large data");
  assert.deepEqual(await relayedEvents(), ["marker-1", "marker-2", "marker-3", "marker-4"]);
  assert.ok(!(await received(bob.frame)).some(ofType("ovice_shared_data")), "the oversize data was not shared");
});

test("an invalid message gets meetbridge_error and goes no further", async () => {
  await post(alice.frame, { type: "ovice_emit_message", payload: { event: "no-to", message: 1 } });
  const e = await waitFor(alice.frame, (m) => m.type === "meetbridge_error" && m.payload.code === "invalid_message", "invalid_message");
  assert.match(e.payload.message, /payload\.to/);
  assert.deepEqual(await relayedEvents(), ["marker-1", "marker-2", "marker-3", "marker-4", "marker-5"]);
});

test("a message from the object's iframe on the wrong origin is refused, and nothing is posted to it", async () => {
  // The plugin's iframe navigates to another origin (the page's): same window, wrong origin.
  const before = alice.warnings.length;
  await alice.frame.evaluate((url) => (location.href = url), `${server.base}/plugins/inspector/`);
  await alice.page.waitForFunction(
    (base) => {
      try {
        return document.querySelector('iframe[data-object="inspector"]').contentWindow.location.href.startsWith(base);
      } catch {
        return false; // still on the plugin's origin
      }
    },
    server.base,
  );
  const moved = alice.page.frames().find((f) => f.url().startsWith(`${server.base}/plugins/inspector/`));
  await moved.waitForFunction(() => Array.isArray(window.received));
  await post(moved, { type: "ovice_broadcast_message", payload: { event: "wrong-origin", message: 1 } });
  await post(moved, { type: "ovice_get_participants" });
  // Bob's broadcast would be posted to the plugin's origin only: the moved frame gets nothing.
  await post(bob.frame, { type: "ovice_broadcast_message", payload: { event: "to-alice", message: 1 } });
  await sleep(700);
  assert.deepEqual(await received(moved), []);
  assert.ok(alice.warnings.slice(before).some((w) => w.includes("ignored a message from origin")), alice.warnings.join("\n"));
  const events = (await received(bob.frame)).filter((m) => m.type === "ovice_message").map((m) => m.payload.event);
  assert.ok(!events.includes("wrong-origin"));
});
