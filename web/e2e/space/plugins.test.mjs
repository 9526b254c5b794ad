// The demo plugins, driven through their own UI by three users in separate browser
// contexts: the notes board (SDK: saved data), the quick poll (SDK: broadcast, emit, the
// legacy handshake) and the chat, written for oVice itself (plain postMessage, no SDK,
// broadcast with only {event, message}, the legacy handshake), which must work unchanged.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { openUser, received, startServer, startSuite, stopSuite, waitFor } from "./harness.mjs";

let server, browser;
const users = [];

before(async () => ({ server, browser } = await startSuite(startServer)));

after(() => stopSuite({ server, browser }));

const text = (frame, selector) => frame.locator(selector).innerText();

test("a plugin written for oVice works unchanged: legacy handshake, plain broadcast", async () => {
  const [alice, bob, carol] = [
    await openUser(browser, server, { name: "Alice", object: "chat" }),
    await openUser(browser, server, { name: "Bob", object: "chat" }),
    await openUser(browser, server, { name: "Carol", object: "chat" }),
  ];
  users.push(alice, bob, carol);
  for (const u of [alice, bob, carol]) {
    await waitFor(u.frame, (m) => m.type === "ovice_confirmation", `handshake of ${u.name}`);
    await waitFor(u.frame, (m) => m.type === "ovice_participants" && m.payload.some((p) => p.isSelf && p.name === u.name), `participants of ${u.name}`);
  }
  // Alice's own subscribed event says she hosts this dynamic object.
  const own = await waitFor(alice.frame, (m) => m.type === "ovice_participant_subscribed" && m.payload.isSelf, "Alice's subscribed event");
  assert.equal(own.payload.objectType, "dynamic");
  assert.equal(own.payload.isHost, true);
  await alice.frame.fill("#text", "hello from Alice");
  await alice.frame.press("#text", "Enter");
  for (const u of [bob, carol]) {
    await u.frame.locator("#log", { hasText: "Alice: hello from Alice" }).waitFor({ timeout: 8000 });
    const m = await waitFor(u.frame, (x) => x.type === "ovice_message", `chat at ${u.name}`);
    assert.deepEqual(m.payload, { source: "dev-alice", event: "chat", objectId: "chat", message: { name: "Alice", text: "hello from Alice" } });
  }
  assert.ok(!(await received(alice.frame)).some((m) => m.type === "meetbridge_error"), "nothing the plain plugin sent was refused");
  for (const u of [alice, bob, carol]) await u.context.close();
});

test("notes board (SDK): a note saved by one user appears for the others and for a newcomer", async () => {
  const alice = await openUser(browser, server, { name: "Alice", object: "notes", recorded: false });
  const bob = await openUser(browser, server, { name: "Bob", object: "notes", recorded: false });
  await alice.frame.locator("#people", { hasText: "Bob" }).waitFor({ timeout: 8000 });
  await alice.frame.fill("#text", "buy milk");
  await alice.frame.press("#text", "Enter");
  await alice.frame.locator("#status", { hasText: "saved at" }).waitFor({ timeout: 8000 });
  await bob.frame.locator("#notes li", { hasText: "buy milk" }).waitFor({ timeout: 8000 });
  assert.match(await text(bob.frame, "#notes li"), /Alice/);
  const carol = await openUser(browser, server, { name: "Carol", object: "notes", recorded: false });
  await carol.frame.locator("#notes li", { hasText: "buy milk" }).waitFor({ timeout: 8000 });
  // The delete button says what it deletes, and presence is in people's words.
  assert.equal(await bob.frame.getAttribute("#notes li button", "aria-label"), "Delete note by Alice");
  assert.doesNotMatch(await text(bob.frame, "#people"), /subscribed|joined/);
  // Bob removes it: everyone's board empties.
  await bob.frame.click("#notes li button");
  await alice.frame.locator("#notes li").waitFor({ state: "detached", timeout: 8000 });
  await carol.frame.locator("#notes li").waitFor({ state: "detached", timeout: 8000 });
  for (const u of [alice, bob, carol]) await u.context.close();
});

test("quick poll (SDK): broadcast poll, emitted votes, broadcast results, emitted to a late joiner", async () => {
  const alice = await openUser(browser, server, { name: "Alice", object: "poll", recorded: false });
  const bob = await openUser(browser, server, { name: "Bob", object: "poll", recorded: false });
  const carol = await openUser(browser, server, { name: "Carol", object: "poll", recorded: false });
  await alice.frame.locator("#people", { hasText: "3 here" }).waitFor({ timeout: 8000 });
  await alice.frame.fill("#q", "Lunch?");
  await alice.frame.fill("#opts", "pizza, sushi");
  await alice.frame.click("#create button");
  for (const u of [bob, carol]) await u.frame.locator("#question", { hasText: "Lunch?" }).waitFor({ timeout: 8000 });
  await bob.frame.click('button[data-option="0"]');
  await carol.frame.click('button[data-option="1"]');
  await alice.frame.click('button[data-option="1"]');
  const counts = async (frame) => (await frame.locator(".count").allInnerTexts()).join(",");
  for (const u of [alice, bob, carol]) {
    await u.frame.waitForFunction(() => [...document.querySelectorAll(".count")].map((e) => e.textContent).join(",") === "1,2", null, { timeout: 8000 });
    assert.equal(await counts(u.frame), "1,2");
  }
  // Dave arrives later: the poll's host emits the running poll and its results to him.
  const dave = await openUser(browser, server, { name: "Dave", object: "poll", recorded: false });
  await dave.frame.locator("#question", { hasText: "Lunch?" }).waitFor({ timeout: 8000 });
  await dave.frame.waitForFunction(() => [...document.querySelectorAll(".count")].map((e) => e.textContent).join(",") === "1,2", null, { timeout: 8000 });
  for (const u of [alice, bob, carol, dave]) assert.deepEqual(u.warnings.filter((w) => w.includes("refused")), [], `${u.name}: nothing refused`);
  for (const u of [alice, bob, carol, dave]) await u.context.close();
});
