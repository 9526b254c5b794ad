// Every event of the oVice custom-plugin contract across the nodes of a cluster: three users
// in headless Chromium, Alice on node 1, Bob on node 2, Carol on node 3 (each page, its
// socket and its plugin on that node only), on one object, through the real PostgreSQL
// and NATS JetStream. Whatever one user does reaches the others from another node.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch, ofType, openUser, post, presence, received, sleep, startSpaceCluster, waitFor } from "./harness.mjs";

let cluster, browser, alice, bob, carol;

before(async () => {
  cluster = await startSpaceCluster("events");
  browser = await launch();
  const [n1, n2, n3] = cluster.nodes;
  alice = await openUser(browser, n1, { name: "Alice" });
  await waitFor(alice.frame, (m) => m.type === "ovice_participant_subscribed" && m.payload.isSelf, "Alice's own subscribed event");
  bob = await openUser(browser, n2, { name: "Bob" });
  await waitFor(bob.frame, (m) => m.type === "ovice_participant_subscribed" && m.payload.isSelf, "Bob's own subscribed event");
  carol = await openUser(browser, n3, { name: "Carol" });
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

const isFrom = (type, id) => (m) => m.type === type && String(m.payload.id) === id;

test("each user is on a node of their own", () => {
  const ports = [alice, bob, carol].map((u) => new URL(u.page.url()).port);
  assert.deepEqual(ports, cluster.nodes.map((n) => String(n.port)));
  assert.equal(new Set(ports).size, 3);
});

test("ovice_participant_subscribed crosses nodes: isSelf only for one's own", async () => {
  const self = await waitFor(carol.frame, isFrom("ovice_participant_subscribed", "dev-carol"), "Carol's own event");
  assert.equal(self.payload.isSelf, true);
  assert.equal(self.payload.objectId, "inspector");
  // Carol (node 3) reaches Alice (node 1) and Bob (node 2).
  for (const user of [alice, bob]) {
    const seen = await waitFor(user.frame, isFrom("ovice_participant_subscribed", "dev-carol"), `Carol's arrival at ${user.name}`);
    assert.equal(seen.payload.isSelf, false);
    assert.equal(seen.payload.name, "Carol");
    assert.equal(seen.payload.email, "carol@dev.invalid", "the object shares e-mail");
  }
  // Bob (node 2) reached Alice (node 1) before.
  assert.equal((await waitFor(alice.frame, isFrom("ovice_participant_subscribed", "dev-bob"), "Bob at Alice")).payload.isSelf, false);
});

test("ovice_get_participants on any node lists the members of every node, self marked", async () => {
  for (const [user, id] of [
    [alice, "dev-alice"],
    [bob, "dev-bob"],
    [carol, "dev-carol"],
  ]) {
    await post(user.frame, { type: "ovice_get_participants" });
    const reply = await waitFor(user.frame, ofType("ovice_participants"), `ovice_participants at ${user.name}`);
    assert.deepEqual(reply.payload.map((p) => String(p.id)).sort(), ["dev-alice", "dev-bob", "dev-carol"], user.name);
    assert.deepEqual(reply.payload.filter((p) => p.isSelf).map((p) => p.id), [id]);
    for (const p of reply.payload) assert.equal(p.status, "subscribed");
  }
});

test("ovice_participant_joined crosses nodes", async () => {
  await presence(bob, "inspector", "joined");
  const own = await waitFor(bob.frame, isFrom("ovice_participant_joined", "dev-bob"), "Bob joined, at Bob");
  assert.equal(own.payload.isSelf, true);
  for (const user of [alice, carol]) {
    const seen = await waitFor(user.frame, isFrom("ovice_participant_joined", "dev-bob"), `Bob joined, at ${user.name}`);
    assert.equal(seen.payload.isSelf, false);
  }
});

test("ovice_broadcast_message from node 1 reaches nodes 2 and 3 as ovice_message, no echo", async () => {
  await post(alice.frame, { type: "ovice_broadcast_message", payload: { event: "hello", message: { n: 1, text: "héllo β" } } });
  for (const user of [bob, carol]) {
    const m = await waitFor(user.frame, (x) => x.type === "ovice_message" && x.payload.event === "hello", `broadcast at ${user.name}`);
    assert.deepEqual(m.payload, { source: "dev-alice", event: "hello", objectId: "inspector", message: { n: 1, text: "héllo β" } });
  }
  await sleep(300);
  assert.equal((await received(alice.frame)).filter((x) => x.type === "ovice_message").length, 0, "the sender gets no echo");
});

test("broadcasts from three nodes at once arrive in one order everywhere", async () => {
  const users = [alice, bob, carol];
  await Promise.all(
    users.flatMap((u) => [1, 2, 3].map((i) => post(u.frame, { type: "ovice_broadcast_message", payload: { event: `o-${u.name}-${i}`, message: i } }))),
  );
  const order = async (user) => {
    for (let t = 0; t < 100; t++) {
      const got = (await received(user.frame)).filter((m) => m.type === "ovice_message" && m.payload.event.startsWith("o-")).map((m) => m.payload.event);
      if (got.length >= 6) return got;
      await sleep(50);
    }
    throw new Error(`${user.name} did not get the others' six`);
  };
  const seen = await Promise.all(users.map(order));
  // Each user got the six of the others once, each sender's in its own order...
  for (const [i, got] of seen.entries()) {
    assert.equal(got.length, 6, `${users[i].name}: ${got}`);
    for (const other of users.filter((_, j) => j !== i)) {
      assert.deepEqual(got.filter((e) => e.startsWith(`o-${other.name}-`)), [1, 2, 3].map((k) => `o-${other.name}-${k}`));
    }
  }
  // ...and any two users saw the messages they both got in the same order (one total order per object).
  for (let i = 0; i < 3; i++) {
    for (let j = i + 1; j < 3; j++) {
      const common = (list, other) => list.filter((e) => other.includes(e));
      assert.deepEqual(common(seen[i], seen[j]), common(seen[j], seen[i]), `${users[i].name} and ${users[j].name}`);
    }
  }
});

test("ovice_emit_message crosses to the one node of the user named in `to`", async () => {
  await post(carol.frame, { type: "ovice_emit_message", payload: { event: "psst", message: "for Alice", to: "dev-alice" } });
  const m = await waitFor(alice.frame, (x) => x.type === "ovice_message" && x.payload.event === "psst", "emit at Alice");
  assert.deepEqual(m.payload, { source: "dev-carol", event: "psst", objectId: "inspector", message: "for Alice", to: "dev-alice" });
  await sleep(300);
  assert.ok(!(await received(bob.frame)).some((x) => x.type === "ovice_message" && x.payload.event === "psst"), "Bob did not get Alice's emit");
});

test("ovice_save_and_emit_data on node 2: success there, ovice_shared_data on 1 and 3, ovice_get_data on 3 reads it", async () => {
  const doc = { value1: "12", value2: "test", nested: { n: [1, 2] } };
  await post(bob.frame, { type: "ovice_save_and_emit_data", payload: doc });
  const ok = await waitFor(bob.frame, ofType("ovice_data_saved_success"), "ovice_data_saved_success");
  const saved = { ...ok.payload };
  delete saved.updated_at;
  assert.deepEqual(saved, doc);
  for (const user of [alice, carol]) {
    const shared = await waitFor(user.frame, ofType("ovice_shared_data"), `shared data at ${user.name}`);
    assert.deepEqual(shared.payload, doc);
  }
  await post(carol.frame, { type: "ovice_get_data" });
  const read = await waitFor(carol.frame, ofType("ovice_saved_data"), "ovice_saved_data at Carol");
  assert.deepEqual(read.payload, doc);
});

test("ovice_participant_left and _unsubscribed cross nodes; the list agrees on every node", async () => {
  await presence(bob, "inspector", "left");
  const own = await waitFor(bob.frame, (m) => m.type === "ovice_participant_left" && m.payload.isSelf, "Bob's own left event");
  assert.equal(String(own.payload.id), "dev-bob");
  for (const user of [alice, carol]) {
    const left = await waitFor(user.frame, isFrom("ovice_participant_left", "dev-bob"), `Bob left, at ${user.name}`);
    assert.equal(left.payload.isSelf, false);
  }
  await presence(carol, "inspector", "unsubscribed");
  await waitFor(carol.frame, (m) => m.type === "ovice_participant_unsubscribed" && m.payload.isSelf, "Carol's own unsubscribed event");
  for (const user of [alice, bob]) {
    const gone = await waitFor(user.frame, isFrom("ovice_participant_unsubscribed", "dev-carol"), `Carol unsubscribed, at ${user.name}`);
    assert.equal(gone.payload.isSelf, false);
  }
  for (const user of [alice, bob]) {
    await post(user.frame, { type: "ovice_get_participants" });
    const list = await waitFor(
      user.frame,
      (m) => m.type === "ovice_participants" && m.payload.length === 2,
      `participants after the moves at ${user.name}`,
    );
    assert.deepEqual(Object.fromEntries(list.payload.map((p) => [p.id, p.status])), { "dev-alice": "subscribed", "dev-bob": "left" });
  }
});
