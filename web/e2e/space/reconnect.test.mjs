// Reconnect recovery: the socket drops, or the server restarts; what was sent meanwhile
// arrives, in order, without gaps or duplicates, in both directions.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { hostCall, launch, openUser, post, received, sleep, startServer, waitFor } from "./harness.mjs";

let server, browser, alice, bob;

before(async () => {
  server = await startServer();
  browser = await launch();
  alice = await openUser(browser, server, { name: "Alice" });
  bob = await openUser(browser, server, { name: "Bob" });
  await waitFor(alice.frame, (m) => m.type === "ovice_participant_subscribed" && m.payload.id === "dev-bob", "Bob's arrival at Alice");
});

after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

const events = async (frame, prefix) =>
  (await received(frame)).filter((m) => m.type === "ovice_message" && m.payload.event.startsWith(prefix)).map((m) => m.payload.event);

const connected = (user) => user.page.evaluate(() => window.meetbridge.users[0].host.connected);

async function waitConnected(user, timeout = 15000) {
  await user.page.waitForFunction(() => window.meetbridge.users[0].host.connected, null, { timeout });
}

test("a dropped socket: messages sent meanwhile by others and by the plugin arrive in order", async () => {
  // Before the drop, so Alice has a sequence number to resume from.
  await post(bob.frame, { type: "ovice_broadcast_message", payload: { event: "d-0", message: 0 } });
  await waitFor(alice.frame, (m) => m.payload?.event === "d-0", "d-0");
  await hostCall(alice, "dropConnection", 3000); // offline for 3 s, however slow the posting below
  await alice.page.waitForFunction(() => !window.meetbridge.users[0].host.connected);
  // While Alice is away: Bob sends five, Alice's plugin sends two (queued by her host).
  for (let i = 1; i <= 5; i++) await post(bob.frame, { type: "ovice_broadcast_message", payload: { event: `d-${i}`, message: i } });
  await post(alice.frame, { type: "ovice_broadcast_message", payload: { event: "a-1", message: 1 } });
  await post(alice.frame, { type: "ovice_emit_message", payload: { event: "a-2", message: 2, to: "dev-bob" } });
  assert.equal(await connected(alice), false, "still offline while sending");
  await waitConnected(alice);
  await waitFor(alice.frame, (m) => m.payload?.event === "d-5", "d-5 after the reconnect");
  await waitFor(bob.frame, (m) => m.payload?.event === "a-2", "a-2 after the reconnect");
  await sleep(300);
  assert.deepEqual(await events(alice.frame, "d-"), ["d-0", "d-1", "d-2", "d-3", "d-4", "d-5"]);
  assert.deepEqual(await events(bob.frame, "a-"), ["a-1", "a-2"]);
  // Alice is a member again: presence was re-established.
  await post(bob.frame, { type: "ovice_broadcast_message", payload: { event: "d-6", message: 6 } });
  await waitFor(alice.frame, (m) => m.payload?.event === "d-6", "d-6 live");
  assert.deepEqual(await events(alice.frame, "d-"), ["d-0", "d-1", "d-2", "d-3", "d-4", "d-5", "d-6"]);
});

/** How many plugin frames the server answered as duplicates of an earlier one (same id). */
async function duplicates() {
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  return Number(/^meetbridge_duplicates_total (\d+)$/m.exec(text)?.[1] ?? NaN);
}

test("an ack lost with the socket: the message is sent again and the others see it once", async () => {
  const before = await duplicates();
  // Sent and dropped in one task: the frame goes out, its ack comes back to a closed socket,
  // so the host sends it again (same id) after the reconnect.
  await alice.page.evaluate(() => {
    const host = window.meetbridge.users[0].host;
    host.sendAsPage("inspector", { type: "ovice_broadcast_message", payload: { event: "once-1", message: 1 } });
    host.dropConnection();
  });
  await waitFor(bob.frame, (m) => m.payload?.event === "once-1", "once-1");
  await waitConnected(alice);
  // Something live after the resend: a second copy would have reached Bob before it.
  await post(alice.frame, { type: "ovice_broadcast_message", payload: { event: "once-2", message: 2 } });
  await waitFor(bob.frame, (m) => m.payload?.event === "once-2", "once-2");
  await sleep(300);
  assert.deepEqual(await events(bob.frame, "once-"), ["once-1", "once-2"]);
  assert.equal(await duplicates(), before + 1, "the resend reached the server and was answered as a duplicate");
});

test("a server restart: both reconnect with backoff, queued messages arrive in order, saved data survives", async () => {
  await post(alice.frame, { type: "ovice_save_and_emit_data", payload: { kept: true } });
  await waitFor(alice.frame, (m) => m.type === "ovice_data_saved_success", "save before the restart");
  await server.stop();
  await alice.page.waitForFunction(() => !window.meetbridge.users[0].host.connected);
  await bob.page.waitForFunction(() => !window.meetbridge.users[0].host.connected);
  for (let i = 1; i <= 4; i++) await post(bob.frame, { type: "ovice_broadcast_message", payload: { event: `r-${i}`, message: i } });
  await post(alice.frame, { type: "ovice_broadcast_message", payload: { event: "ra-1", message: 1 } });
  await sleep(500);
  server = Object.assign(server, await startServer({ dataDir: server.dataDir, listen: `127.0.0.1:${server.port}` }));
  await waitConnected(alice, 20000);
  await waitConnected(bob, 20000);
  await waitFor(alice.frame, (m) => m.payload?.event === "r-4", "r-4 after the restart", 15000);
  await waitFor(bob.frame, (m) => m.payload?.event === "ra-1", "ra-1 after the restart", 15000);
  await sleep(300);
  assert.deepEqual(await events(alice.frame, "r-"), ["r-1", "r-2", "r-3", "r-4"]);
  assert.deepEqual(await events(bob.frame, "ra-"), ["ra-1"]);
  await post(bob.frame, { type: "ovice_get_data" });
  const data = await waitFor(bob.frame, (m) => m.type === "ovice_saved_data" && m.payload.kept, "saved data after the restart");
  assert.deepEqual(data.payload, { kept: true });
});
