// Failover in the browser: two users open the dev view through HAProxy (one address in
// front of three nodes, no stickiness). The node that holds Alice's socket is killed with
// SIGKILL; her host runtime reconnects through the same address, lands on another node and
// resumes: what Bob sent meanwhile arrives once and in order, what her plugin sent while
// she was away reaches Bob once, and her saved data is there.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch, openConnections, openUser, post, received, sleep, startHaproxy, startSpaceCluster, waitFor } from "./harness.mjs";

let cluster, lb, browser, alice, bob;

before(async () => {
  cluster = await startSpaceCluster("failover");
  lb = await startHaproxy(cluster.nodes);
  browser = await launch();
  // The health checks pass before the first page.
  await sleep(700);
});

after(async () => {
  await browser?.close();
  await lb?.stop();
  await cluster?.stop();
});

const events = async (frame, prefix) =>
  (await received(frame)).filter((m) => m.type === "ovice_message" && m.payload.event.startsWith(prefix)).map((m) => m.payload.event);

const connected = (user) => user.page.evaluate(() => window.meetbridge.users[0].host.connected);

test("the node behind Alice dies: she reconnects through the balancer, nothing lost or doubled", async () => {
  const via = { base: lb.base };
  alice = await openUser(browser, via, { name: "Alice" });
  await alice.page.waitForFunction(() => window.meetbridge.users[0].host.connected);
  // Alice's socket is the only one so far: the node that counts one holds it.
  const counts = await Promise.all(cluster.nodes.map(openConnections));
  const doomed = counts.indexOf(1);
  assert.ok(doomed >= 0 && counts.filter((c) => c > 0).length === 1, `Alice's node: ${counts}`);
  bob = await openUser(browser, via, { name: "Bob" });
  await waitFor(alice.frame, (m) => m.type === "ovice_participant_subscribed" && m.payload.id === "dev-bob", "Bob's arrival at Alice");

  await post(alice.frame, { type: "ovice_save_and_emit_data", payload: { kept: "through failover" } });
  await waitFor(alice.frame, (m) => m.type === "ovice_data_saved_success", "the save before the kill");
  await post(bob.frame, { type: "ovice_broadcast_message", payload: { event: "f-0", message: 0 } });
  await waitFor(alice.frame, (m) => m.payload?.event === "f-0", "f-0 before the kill");

  await cluster.nodes[doomed].kill9();
  await alice.page.waitForFunction(() => !window.meetbridge.users[0].host.connected, null, { timeout: 10_000 });
  // While Alice is away (or already back): Bob sends five, her plugin sends one.
  for (let i = 1; i <= 5; i++) await post(bob.frame, { type: "ovice_broadcast_message", payload: { event: `f-${i}`, message: i } });
  await post(alice.frame, { type: "ovice_broadcast_message", payload: { event: "fa-1", message: 1 } });
  await alice.page.waitForFunction(() => window.meetbridge.users[0].host.connected, null, { timeout: 20_000 });
  await bob.page.waitForFunction(() => window.meetbridge.users[0].host.connected, null, { timeout: 20_000 });
  await waitFor(alice.frame, (m) => m.payload?.event === "f-5", "f-5 after the failover", 15_000);
  await waitFor(bob.frame, (m) => m.payload?.event === "fa-1", "fa-1 after the failover", 15_000);
  // Her socket is on a live node now: the killed one has none, the others have both users.
  const after = await Promise.all(cluster.nodes.filter((_, i) => i !== doomed).map(openConnections));
  assert.equal(after.reduce((a, b) => a + b, 0), 2, `connections on the live nodes: ${after}`);
  await sleep(300);
  assert.deepEqual(await events(alice.frame, "f-"), ["f-0", "f-1", "f-2", "f-3", "f-4", "f-5"]);
  assert.deepEqual(await events(bob.frame, "fa-"), ["fa-1"]);
  assert.equal(await connected(alice), true);
  // Live again, and the save is still there.
  await post(bob.frame, { type: "ovice_broadcast_message", payload: { event: "f-6", message: 6 } });
  await waitFor(alice.frame, (m) => m.payload?.event === "f-6", "f-6 live after the failover");
  await post(alice.frame, { type: "ovice_get_data" });
  const data = await waitFor(alice.frame, (m) => m.type === "ovice_saved_data" && m.payload.kept, "saved data after the failover");
  assert.deepEqual(data.payload, { kept: "through failover" });
});
