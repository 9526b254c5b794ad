// The chat room as a user meets it: delivery state (sending, sent, failed with the reason
// and Retry), long pastes refused with the limit, edits, deletions, reactions, mentions and
// the typing indicator between two users and from the history after a reload, unread counts
// and the last-read position kept per user across a reload, earlier messages drawn on
// scroll. Two users (Alice, Bob), each in their own browser context, through the real server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { axeProblems, openChat, send, sleep, startServer, startSuite, stopSuite } from "./harness.mjs";

let server;
let browser;
let alice;
let bob;

const texts = async (user, conv) => (await user.messages(conv)).map((m) => m.text);
const find = async (user, text, conv) => (await user.messages(conv)).find((m) => m.text === text);

before(async () => {
  ({ server, browser } = await startSuite(startServer));
  alice = await openChat(browser, server, { name: "Alice" });
  bob = await openChat(browser, server, { name: "Bob" });
  await alice.waitFor("Bob in the member list", async () => (await alice.eval(() => window.chat.members())).some((m) => m.id === "dev-bob"));
});

after(() => stopSuite({ server, browser }));

test("a message shows sending, then sent; a refused one says why and Retry delivers it", async () => {
  await send(alice, "Hello everyone");
  const first = await find(alice, "Hello everyone");
  assert.ok(first.delivery === "sending" || first.delivery === "sent", first.delivery);
  await alice.waitFor("sent", async () => (await find(alice, "Hello everyone")).delivery === "sent");
  assert.equal(await alice.frame().textContent(`.msg[data-id="${first.id}"] .delivery`), "Sent");
  await bob.waitFor("the message", async () => (await texts(bob)).includes("Hello everyone"));

  // A direct message to someone who walked away is refused by the server: the reason in words.
  await alice.eval(() => window.chat.open("dm:dev-bob"));
  await bob.page.click("text=away");
  await alice.waitFor("Bob gone", async () => !(await alice.eval(() => window.chat.members())).some((m) => m.id === "dev-bob"));
  await send(alice, "Are you there?");
  await alice.waitFor("failed", async () => (await find(alice, "Are you there?", "dm:dev-bob"))?.delivery === "failed");
  const failed = await find(alice, "Are you there?", "dm:dev-bob");
  assert.match(failed.reason, /Bob left this chat/);
  const row = `.msg[data-id="${failed.id}"]`;
  assert.match(await alice.frame().textContent(`${row} .delivery`), /^Not sent: Bob left this chat/);
  assert.doesNotMatch(await alice.frame().textContent(`${row} .delivery`), /recipient_not_member|`/);
  // Bob comes back; Retry sends the same message, once.
  await bob.page.click("text=near");
  await bob.waitFor("the chat again", async () => bob.frame() && (await bob.eval(() => window.chat?.history === "loaded" && Boolean(window.chat.me))));
  await alice.waitFor("Bob back", async () => (await alice.eval(() => window.chat.members())).some((m) => m.id === "dev-bob"));
  await alice.frame().click(`${row} button.retry`);
  await alice.waitFor("sent after Retry", async () => (await find(alice, "Are you there?", "dm:dev-bob")).delivery === "sent");
  await bob.waitFor("the DM", async () => (await texts(bob, "dm:dev-alice")).filter((t) => t === "Are you there?").length === 1);
  await alice.eval(() => window.chat.open("all"));
});

test("a long paste is refused with the limit, not cut", async () => {
  const long = "x".repeat(4321);
  await alice.frame().fill("#text", long);
  assert.equal((await alice.frame().inputValue("#text")).length, 4321, "the text is kept whole");
  assert.match(await alice.frame().textContent("#chars"), /4,321 characters, the limit is 4,000/);
  assert.equal(await alice.frame().isDisabled("#send"), true);
  await alice.frame().press("#text", "Enter");
  await sleep(200);
  assert.ok(!(await texts(alice)).some((t) => t.startsWith("xxxx")), "nothing sent");
  await alice.frame().fill("#text", "");
});

test("edit, delete, reactions and mentions reach the other user, and the history after a reload", async () => {
  await send(alice, "Lunch at noon, @Bob?");
  await send(alice, "Oops, wrong room");
  await bob.waitFor("both", async () => (await texts(bob)).includes("Oops, wrong room"));
  const lunch = await find(bob, "Lunch at noon, @Bob?");
  assert.equal(lunch.mention, true, "Bob is mentioned");
  assert.equal(await bob.frame().getAttribute(`.msg[data-id="${lunch.id}"]`, "class").then((c) => c.includes("mention")), true);
  assert.equal((await find(alice, "Lunch at noon, @Bob?")).mention, false, "not for the sender");

  // Alice edits the first and deletes the second, with the buttons of her own messages.
  const oops = await find(alice, "Oops, wrong room");
  const aRow = (id) => `.msg[data-id="${id}"]`;
  await alice.frame().click(`${aRow(lunch.id)} button[aria-label^="Edit your message"]`);
  await alice.frame().fill(`${aRow(lunch.id)} form.edit textarea`, "Lunch at 12:30, @Bob?");
  await alice.frame().press(`${aRow(lunch.id)} form.edit textarea`, "Enter");
  await alice.frame().click(`${aRow(oops.id)} button[aria-label="Delete your message “Oops, wrong room”"]`);
  await bob.waitFor("the edit and the deletion", async () => {
    const list = await bob.messages();
    return list.find((m) => m.id === lunch.id)?.text === "Lunch at 12:30, @Bob?" && list.find((m) => m.id === oops.id)?.deleted;
  });
  assert.equal((await bob.messages()).find((m) => m.id === lunch.id).edited, true);
  assert.equal(await bob.frame().textContent(`${aRow(oops.id)} .text`), "Message deleted");
  assert.equal(await bob.frame().locator(`${aRow(lunch.id)} button[aria-label^="Edit"]`).count(), 0, "only the author may edit");

  // Bob reacts; Alice sees who.
  await bob.frame().click(`${aRow(lunch.id)} button[aria-label^="React to Alice's message"]`);
  await bob.frame().click(`${aRow(lunch.id)} button[aria-label^="React 👍"]`);
  await alice.waitFor("the reaction", async () => JSON.stringify((await alice.messages()).find((m) => m.id === lunch.id).reactions) === '{"👍":["dev-bob"]}');
  assert.match(await alice.frame().getAttribute(`${aRow(lunch.id)} .chip`, "aria-label"), /👍 1: Bob\. React with it too/);

  // A forged edit (Bob editing Alice's message, posted raw) changes nothing.
  await bob.eval((id) => window.parent.postMessage({ type: "ovice_broadcast_message", payload: { event: "edit", message: { id, text: "forged", at: Date.now() } } }, "*"), lunch.id);
  await sleep(500);
  assert.equal((await alice.messages()).find((m) => m.id === lunch.id).text, "Lunch at 12:30, @Bob?");

  // The history tells a later reader the same.
  await bob.reload();
  const again = await bob.messages();
  const l2 = again.find((m) => m.id === lunch.id);
  assert.deepEqual([l2.text, l2.edited, l2.mention, l2.reactions], ["Lunch at 12:30, @Bob?", true, true, { "👍": ["dev-bob"] }]);
  assert.equal(again.find((m) => m.id === oops.id).deleted, true);
  assert.ok(!again.some((m) => m.text === "forged"));
});

test("typing @ offers the members to mention; Tab reaches them, picking one completes the name", async () => {
  const f = alice.frame();
  await f.click("#text");
  await f.type("#text", "Thanks @b");
  await f.locator("#mention-suggest button", { hasText: "Bob" }).waitFor();
  await f.press("#text", "Tab");
  assert.equal(await f.evaluate(() => document.activeElement.getAttribute("aria-label")), "Mention Bob");
  await alice.page.keyboard.press("Enter");
  assert.equal(await f.inputValue("#text"), "Thanks @Bob ");
  assert.equal(await f.isHidden("#mention-suggest"), true);
  await f.fill("#text", "");
});

test("the typing indicator shows who is typing, in their conversation only", async () => {
  await alice.frame().fill("#text", "I am wri");
  await bob.waitFor("Alice is typing", async () => (await bob.frame().textContent("#typing")) === "Alice is typing…");
  await bob.eval(() => window.chat.open("dm:dev-alice"));
  assert.equal(await bob.frame().textContent("#typing"), "", "not in another conversation");
  await bob.eval(() => window.chat.open("all"));
  await send(alice, "I am writing");
  await bob.waitFor("cleared by the message", async () => (await bob.frame().textContent("#typing")) === "");
});

test("unread counts and the last-read position survive a reload, per user", async () => {
  // Bob reads the room; Alice writes to him directly and in the room while he looks at the room.
  await bob.eval(() => window.chat.markRead());
  await sleep(300);
  await alice.eval(() => window.chat.open("dm:dev-bob"));
  await send(alice, "DM one");
  await send(alice, "DM two, @Bob");
  await bob.waitFor("2 unread", async () => (await bob.eval(() => window.chat.unread()))["dm:dev-alice"] === 2);
  await bob.reload();
  assert.equal((await bob.eval(() => window.chat.unread()))["dm:dev-alice"], 2, "the unread DMs, after the reload");
  assert.equal((await bob.eval(() => window.chat.mentioned()))["dm:dev-alice"], 1);
  assert.match(await bob.frame().textContent('#convs button[data-conv="dm:dev-alice"] .count'), /^@2$/);
  // Reading them clears it for good (the mark is kept by the platform for Bob alone).
  await bob.frame().click('#convs button[data-conv="dm:dev-alice"]');
  await bob.frame().locator(".new-line").waitFor();
  assert.equal(await bob.frame().textContent(".new-line"), "New since you last read");
  await bob.frame().click('#convs button[data-conv="all"]'); // leaving the DM sends its mark
  await sleep(300);
  await bob.reload();
  assert.equal((await bob.eval(() => window.chat.unread()))["dm:dev-alice"] ?? 0, 0);
  // Alice's own view is hers: nothing of Bob's marks shows there.
  assert.ok(!(await texts(alice, "dm:dev-bob")).some((t) => /upto/.test(t)));
  await alice.eval(() => window.chat.open("all"));
});

test("a long history: the last messages first, earlier ones drawn on scroll", async () => {
  for (let i = 1; i <= 80; i++) await alice.eval((n) => window.chat.send(`history ${n}`), i);
  await bob.waitFor("all 80", async () => (await texts(bob)).includes("history 80"), 20_000);
  await bob.reload();
  const drawn = () => bob.frame().locator("#log .msg").count();
  const before = await drawn();
  assert.ok(before <= 70, `only the last page is drawn (${before})`);
  assert.equal(await bob.frame().locator("#log .msg").last().textContent().then((t) => t.includes("history 80")), true);
  await bob.frame().evaluate(() => (document.getElementById("log").scrollTop = 0));
  await bob.waitFor("more drawn", async () => (await drawn()) > before);
  await bob.frame().evaluate(() => (document.getElementById("log").scrollTop = 0));
  await bob.waitFor("the start", async () => (await bob.frame().textContent("#log .start")) === "This is the start of the conversation.");
  assert.equal(await bob.frame().locator("#log .msg").count(), (await bob.messages()).length);
});

test("history pages: the newest page first, older pages fetched from the platform on scroll, in order", async () => {
  await bob.reopen("historyPage=20");
  const all = () => bob.messages().then((list) => list.map((m) => m.text).filter((t) => /^history \d+$/.test(t)));
  const first = await all();
  assert.ok(first.length <= 20 && first.at(-1) === "history 80", `only the newest page: ${first.length}`);
  assert.equal(await bob.frame().textContent("#log .start"), "Load earlier messages");
  for (let i = 0; i < 40; i++) {
    if ((await bob.frame().textContent("#log .start")) === "This is the start of the conversation.") break;
    await bob.frame().evaluate(() => (document.getElementById("log").scrollTop = 0));
    await sleep(150);
  }
  assert.equal(await bob.frame().textContent("#log .start"), "This is the start of the conversation.");
  assert.deepEqual(await all(), Array.from({ length: 80 }, (_, i) => `history ${i + 1}`), "every message once, in order");
  // Edits and reactions from a newer page reached their messages from an older one.
  const lunch = (await bob.messages()).find((m) => m.text === "Lunch at 12:30, @Bob?");
  assert.deepEqual(lunch.reactions, { "👍": ["dev-bob"] });
  await bob.reopen("");
});

test("the chat room has no serious accessibility problems, and fits a phone", async () => {
  assert.deepEqual(await axeProblems(alice.frame()), []);
  assert.deepEqual(await axeProblems(bob.frame()), []);
  await bob.page.setViewportSize({ width: 390, height: 760 });
  const fit = await bob.eval(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  assert.ok(fit.sw <= fit.cw, JSON.stringify(fit));
  assert.deepEqual([...alice.problems, ...bob.problems], []);
});
