// Every event of the oVice custom-plugin contract, end to end: three users in separate browser contexts, each
// with the host runtime (wasm) in the dev view, through the real server, to the
// inspector plugin, which posts raw oVice messages as any plugin does.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ofType, openUser, post, presence, received, sleep, startServer, startSuite, stopSuite, waitFor } from "./harness.mjs";

let server, browser, alice, bob, carol;

before(async () => {
  ({ server, browser } = await startSuite(startServer));
  alice = await openUser(browser, server, { name: "Alice" });
  await waitFor(alice.frame, (m) => m.type === "ovice_participant_subscribed" && m.payload.isSelf, "Alice's own subscribed event");
  bob = await openUser(browser, server, { name: "Bob" });
  carol = await openUser(browser, server, { name: "Carol" });
});

after(() => stopSuite({ server, browser }));

const isFrom = (type, id) => (m) => m.type === type && String(m.payload.id) === id;

test("ovice_participant_subscribed reaches self (isSelf) and the others (isSelf false)", async () => {
  const self = await waitFor(bob.frame, isFrom("ovice_participant_subscribed", "dev-bob"), "Bob's own event");
  assert.equal(self.payload.isSelf, true);
  assert.equal(self.payload.name, "Bob");
  assert.equal(self.payload.objectId, "inspector");
  assert.equal(self.payload.objectType, "static");
  const seen = await waitFor(alice.frame, isFrom("ovice_participant_subscribed", "dev-carol"), "Carol's arrival at Alice");
  assert.equal(seen.payload.isSelf, false);
  // The object shares e-mail: it is given.
  assert.equal(seen.payload.email, "carol@dev.invalid");
});

test("ovice_get_participants is answered with ovice_participants, self marked", async () => {
  await post(alice.frame, { type: "ovice_get_participants" });
  const reply = await waitFor(alice.frame, ofType("ovice_participants"), "ovice_participants");
  const ids = reply.payload.map((p) => String(p.id)).sort();
  assert.deepEqual(ids, ["dev-alice", "dev-bob", "dev-carol"]);
  assert.deepEqual(reply.payload.filter((p) => p.isSelf).map((p) => p.id), ["dev-alice"]);
  for (const p of reply.payload) assert.equal(p.status, "subscribed");
});

test("linking joins: ovice_participant_joined reaches everyone", async () => {
  await presence(alice, "inspector", "joined");
  const atBob = await waitFor(bob.frame, isFrom("ovice_participant_joined", "dev-alice"), "Alice joined, at Bob");
  assert.equal(atBob.payload.isSelf, false);
  const own = await waitFor(alice.frame, isFrom("ovice_participant_joined", "dev-alice"), "Alice joined, at Alice");
  assert.equal(own.payload.isSelf, true);
  await waitFor(carol.frame, isFrom("ovice_participant_joined", "dev-alice"), "Alice joined, at Carol");
});

test("ovice_broadcast_message with only {event, message} reaches every other user as ovice_message", async () => {
  await post(alice.frame, { type: "ovice_broadcast_message", payload: { event: "hello", message: { n: 1, list: ["a"] } } });
  for (const user of [bob, carol]) {
    const m = await waitFor(user.frame, (x) => x.type === "ovice_message" && x.payload.event === "hello", `broadcast at ${user.name}`);
    assert.deepEqual(m.payload, { source: "dev-alice", event: "hello", objectId: "inspector", message: { n: 1, list: ["a"] } });
  }
  await sleep(300);
  assert.equal((await received(alice.frame)).filter((x) => x.type === "ovice_message").length, 0, "the sender gets no echo");
});

test("ovice_emit_message reaches only the user named in `to`", async () => {
  await post(bob.frame, { type: "ovice_emit_message", payload: { event: "psst", message: "for Carol", to: "dev-carol" } });
  const m = await waitFor(carol.frame, (x) => x.type === "ovice_message" && x.payload.event === "psst", "emit at Carol");
  assert.deepEqual(m.payload, { source: "dev-bob", event: "psst", objectId: "inspector", message: "for Carol", to: "dev-carol" });
  await sleep(300);
  assert.ok(!(await received(alice.frame)).some((x) => x.type === "ovice_message" && x.payload.event === "psst"), "Alice did not get Carol's emit");
});

test("ovice_save_and_emit_data: success to the saver, ovice_shared_data to the others; ovice_get_data reads it", async () => {
  const doc = { value1: "12", value2: "test", nested: { n: [1, 2] } };
  await post(carol.frame, { type: "ovice_save_and_emit_data", payload: doc });
  const ok = await waitFor(carol.frame, ofType("ovice_data_saved_success"), "ovice_data_saved_success");
  assert.equal(typeof ok.payload.updated_at, "number");
  assert.ok(Math.abs(ok.payload.updated_at - Date.now() / 1000) < 120, "updated_at is in seconds");
  const saved = { ...ok.payload };
  delete saved.updated_at;
  assert.deepEqual(saved, doc);
  for (const user of [alice, bob]) {
    const shared = await waitFor(user.frame, ofType("ovice_shared_data"), `shared data at ${user.name}`);
    assert.deepEqual(shared.payload, doc);
  }
  await post(alice.frame, { type: "ovice_get_data" });
  const read = await waitFor(alice.frame, ofType("ovice_saved_data"), "ovice_saved_data");
  assert.deepEqual(read.payload, doc);
});

test("unlinking leaves, moving away unsubscribes: ovice_participant_left / _unsubscribed", async () => {
  await presence(alice, "inspector", "left");
  const left = await waitFor(bob.frame, isFrom("ovice_participant_left", "dev-alice"), "Alice left, at Bob");
  assert.equal(left.payload.isSelf, false);
  await waitFor(alice.frame, (m) => m.type === "ovice_participant_left" && m.payload.isSelf, "Alice's own left event");
  await presence(carol, "inspector", "unsubscribed");
  const gone = await waitFor(bob.frame, isFrom("ovice_participant_unsubscribed", "dev-carol"), "Carol unsubscribed, at Bob");
  assert.equal(gone.payload.isSelf, false);
  await waitFor(alice.frame, isFrom("ovice_participant_unsubscribed", "dev-carol"), "Carol unsubscribed, at Alice");
  await post(bob.frame, { type: "ovice_get_participants" });
  const list = await waitFor(bob.frame, ofType("ovice_participants"), "participants after the moves");
  const status = Object.fromEntries(list.payload.map((p) => [p.id, p.status]));
  assert.deepEqual(status, { "dev-alice": "left", "dev-bob": "subscribed" });
});

test("the legacy handshake: ovice_ready is answered with ovice_confirmation", async () => {
  await post(bob.frame, { type: "ovice_ready" });
  await waitFor(bob.frame, ofType("ovice_confirmation"), "ovice_confirmation");
  await post(bob.frame, { type: "ovice_ready_confirmed" });
  // Nothing is refused on the way.
  await sleep(200);
  assert.ok(!(await received(bob.frame)).some(ofType("meetbridge_error")));
});
