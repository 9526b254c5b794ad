// The meeting page end to end: two users (separate browser contexts) in one meeting,
// through the real `meetbridge` server, the Web App 3 stand-in (on another origin) with the
// deployed external-chat plugin, ExternalChatHost and the chat room plugin in SpaceHost.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { openMeeting, say, sleep, startServer, startSuite, stopSuite, until } from "./harness.mjs";

let server;
let browser;
let alice;
let bob;

const status = (user) => user.chatEval(() => window.chat.status);
const callState = (user) => user.page.evaluate(() => ({ text: document.getElementById("call-state").textContent, kind: document.getElementById("call-state").className }));
const texts = async (user, conv) => (await user.messages(conv)).map((m) => m.text);
const realProblems = (user) => user.problems.filter((p) => !/status of 404/.test(p));

before(async () => {
  ({ server, browser } = await startSuite(startServer));
  // Alice opens the meeting first: she creates its chat object and is its host.
  alice = await openMeeting(browser, server, { name: "Alice" });
  bob = await openMeeting(browser, server, { name: "Bob" });
});

after(() => stopSuite({ server, browser }));

test("before the call the chat is read-only; connected opens it", async () => {
  assert.equal((await alice.state()).isHost, true);
  assert.equal((await bob.state()).isHost, false);
  assert.equal(await status(alice), "subscribed");
  assert.equal(await alice.chat().isDisabled("#text"), true, "composer disabled before joining");
  // The Chat toolbar button exists only in the call.
  assert.equal((await alice.chatButton())?.visible ?? false, false);
  await alice.join();
  await bob.join();
  await alice.waitFor("joined", async () => (await status(alice)) === "joined");
  await bob.waitFor("joined", async () => (await status(bob)) === "joined");
  assert.equal(await alice.chat().isDisabled("#text"), false, "composer enabled in the call");
  assert.equal((await callState(alice)).kind, "connected");
  assert.equal(await alice.chatEval(() => window.chat.history), "loaded", "our platform has the history extension");
  const members = await alice.chatEval(() => window.chat.members());
  assert.deepEqual(members.map((m) => [m.id, m.status]).sort(), [["dev-alice", "joined"], ["dev-bob", "joined"]]);
  assert.equal(members.find((m) => m.id === "dev-alice").isHost, true);
});

test("the Chat button toggles the panel; the page echoes the state; closed panel + message = badge", async () => {
  const button = await alice.chatButton();
  assert.deepEqual([button.isActive, button.tooltip, button.badge], [false, "Open Chat", false]);
  await alice.clickChatButton();
  await alice.waitFor("panel open", async () => (await alice.state()).panelOpen);
  await alice.waitFor("button active", async () => (await alice.chatButton()).isActive);
  assert.equal((await alice.chatButton()).tooltip, "Close Chat");
  assert.equal(await alice.page.isVisible("#chat-panel"), true);
  assert.deepEqual((await alice.log()).filter((e) => e.event === "toggle-chat").map((e) => e.data.active), [true]);

  // Bob's panel is closed: Alice's message raises his badge, on the button and the page.
  assert.equal((await bob.state()).panelOpen, false);
  await say(alice, "Badge test");
  await bob.waitFor("badge on the Chat button", async () => (await bob.chatButton()).badge);
  assert.equal((await bob.state()).unread, 1);
  assert.equal(await bob.page.textContent("#unread"), "1");
  // Opening clears it.
  await bob.clickChatButton();
  await bob.waitFor("badge cleared", async () => !(await bob.chatButton()).badge && (await bob.chatButton()).isActive);
  assert.equal((await bob.state()).unread, 0);
  // Closing: the button follows, and the next message raises the badge again.
  await bob.clickChatButton();
  await bob.waitFor("closed", async () => !(await bob.chatButton()).isActive && !(await bob.state()).panelOpen);
  assert.equal((await bob.chatButton()).tooltip, "Open Chat");
  await say(alice, "Badge again");
  await bob.waitFor("badge again", async () => (await bob.chatButton()).badge);
  await bob.clickChatButton();
  await bob.waitFor("open again", async () => (await bob.state()).panelOpen && !(await bob.chatButton()).badge);
  // While open, messages raise no badge.
  await say(alice, "No badge while open");
  await bob.waitFor("message", async () => (await texts(bob)).includes("No badge while open"));
  await sleep(200);
  assert.equal((await bob.chatButton()).badge, false);
  assert.equal((await bob.state()).unread, 0);
});

test("chat in both directions, direct messages, safe rendering of links and HTML", async () => {
  const evil = "Look: https://example.com/a?b=1. <img src=x onerror=\"window.pwned=1\"> <b>bold</b> javascript:alert(1) 🎉";
  await say(alice, evil);
  await bob.waitFor("Alice's message", async () => (await texts(bob)).includes(evil));
  const rendered = await bob.chatEval((t) => {
    const row = [...document.querySelectorAll("#log .msg")].find((r) => r.querySelector(".text")?.textContent === t);
    const links = [...row.querySelectorAll("a")].map((a) => ({ href: a.getAttribute("href"), rel: a.rel, target: a.target, text: a.textContent }));
    return { links, imgs: row.querySelectorAll(".text img, .text b").length, pwned: window.pwned ?? null, name: row.querySelector(".meta strong").textContent, time: row.querySelector("time").dateTime };
  }, evil);
  assert.deepEqual(rendered.links, [{ href: "https://example.com/a?b=1", rel: "noopener noreferrer", target: "_blank", text: "https://example.com/a?b=1" }]);
  assert.equal(rendered.imgs, 0, "no HTML from a message becomes an element");
  assert.equal(rendered.pwned, null);
  assert.equal(rendered.name, "Alice");
  assert.ok(!Number.isNaN(Date.parse(rendered.time)), "a timestamp");

  const long = `${"A long message that wraps. ".repeat(120)}end 🙂`;
  await say(bob, long);
  await alice.waitFor("Bob's long reply", async () => (await texts(alice)).includes(long.trim()));
  const mine = (await bob.messages()).find((m) => m.text === long.trim());
  assert.equal(mine.mine, true);

  // A direct message: Bob opens a conversation with Alice from the member list.
  await bob.chat().click("#people-toggle");
  await bob.chat().click('#people-list li[data-user="dev-alice"] button');
  await say(bob, "Just for you, Alice");
  await alice.waitFor("the DM", async () => (await texts(alice, "dm:dev-bob")).includes("Just for you, Alice"));
  assert.ok(!(await texts(alice)).includes("Just for you, Alice"), "a DM is not in the room");
  assert.equal((await alice.chatEval(() => window.chat.unread()))["dm:dev-bob"], 1, "unread count on the DM");
  await alice.chat().click('#convs button[data-conv="dm:dev-bob"]');
  assert.equal((await alice.chatEval(() => window.chat.unread()))["dm:dev-bob"], 0);
  await say(alice, "Got it, Bob");
  await bob.waitFor("the DM reply", async () => (await texts(bob, "dm:dev-alice")).includes("Got it, Bob"));
  await alice.chat().click('#convs button[data-conv="all"]');
  await bob.chat().click('#convs button[data-conv="all"]');
});

test("dial-out from the page: validated before sending, success and failure as notices", async () => {
  assert.equal(await bob.page.isVisible("#dial"), false, "only the host dials");
  const page = alice.page;
  await page.click("#dial summary");
  const calls = () => alice.standin().evaluate(() => window.standin.dialCalls.length);
  const before = await calls();
  // Invalid: no destination. ExternalChatHost refuses it, naming the field; nothing is sent.
  await page.fill('#dial-form [name="destination"]', "   ");
  await page.click("#dial-send");
  await alice.waitFor("the field error", async () => (await page.getAttribute('#dial-form [name="destination"]', "aria-invalid")) === "true");
  assert.match(await page.textContent("#dial-error"), /destination/);
  assert.equal(await calls(), before, "an invalid dial-out never reaches Web App 3");

  await page.fill('#dial-form [name="destination"]', "sip:carol@example.com");
  await page.fill('#dial-form [name="remote_display_name"]', "Carol");
  await page.selectOption('#dial-form [name="call_type"]', "audio");
  await page.click("#dial-send");
  const ok = "Alice dialed Carol into the meeting.";
  await alice.waitFor("the success notice", async () => (await texts(alice)).includes(ok));
  await bob.waitFor("the success notice at Bob", async () => (await texts(bob)).includes(ok));
  const call = await alice.standin().evaluate(() => window.standin.dialCalls.at(-1).payload);
  assert.equal(call.destination, "sip:carol@example.com");
  assert.equal(call.call_type, "audio");
  assert.equal(call.role, "GUEST");
  assert.equal(await page.getAttribute('#dial-form [name="destination"]', "aria-invalid"), null);

  await alice.standin().evaluate(() => window.standin.setDialMode("fail"));
  await page.fill('#dial-form [name="destination"]', "sip:dave@example.com");
  await page.click("#dial-send");
  await alice.waitFor("the failure notice", async () => (await alice.messages()).some((m) => m.system === "error" && m.text.startsWith("Alice could not dial sip:dave@example.com")));
  await bob.waitFor("the failure notice at Bob", async () => (await texts(bob)).some((t) => t.startsWith("Alice could not dial sip:dave@example.com")));
  await alice.standin().evaluate(() => window.standin.setDialMode("answer"));
});

test("a dropped call says why, keeps the history readable, and rejoining reopens the chat", async () => {
  const before = await texts(bob);
  await bob.standin().evaluate(() => window.standin.drop("Media node disconnected", "#pex128"));
  await bob.waitFor("left the object", async () => (await status(bob)) === "left");
  const state = await callState(bob);
  assert.equal(state.kind, "dropped");
  assert.match(state.text, /Media node disconnected \(#pex128\)/);
  assert.equal(await bob.chat().isDisabled("#text"), true, "read-only after the drop");
  const after = await bob.messages();
  assert.deepEqual(after.slice(0, before.length).map((m) => m.text), before, "history still there");
  assert.ok(after.some((m) => m.system === "error" && /The call dropped: Media node disconnected \(#pex128\)/.test(m.text)));
  await alice.waitFor("Bob shown as left", async () => (await alice.chatEval(() => window.chat.members())).find((m) => m.id === "dev-bob")?.status === "left");
  // The toolbar is gone, but the page's own Chat button still opens the history.
  assert.equal(await bob.page.isVisible("#chat-panel"), true);

  await bob.join();
  await bob.waitFor("joined again", async () => (await status(bob)) === "joined");
  assert.equal(await bob.chat().isDisabled("#text"), false);
  // Leaving on purpose is told apart from a drop.
  await bob.standin().click("#leave");
  await bob.waitFor("left on purpose", async () => (await callState(bob)).kind === "left");
  assert.match((await callState(bob)).text, /You left the call/);
  await bob.join();
  await bob.waitFor("joined once more", async () => (await status(bob)) === "joined");
});

test("a reload keeps the history: messages both ways, own ones and DMs, without raising unread", async () => {
  const chatOnly = (list) => list.filter((m) => !m.system || /dial/.test(m.text)).map((m) => `${m.from}: ${m.text}`);
  const room = chatOnly(await alice.messages());
  const dms = chatOnly(await alice.messages("dm:dev-bob"));
  assert.ok(room.length >= 6 && dms.length === 2, JSON.stringify({ room, dms }));
  await alice.page.reload();
  await alice.waitFor("the page again", async () => (await alice.state()).pluginReady);
  await alice.waitFor("the history", async () => (await alice.chatEval(() => window.chat?.history)) === "loaded");
  assert.deepEqual(chatOnly(await alice.messages()), room, "the room, in order, own messages included");
  assert.deepEqual(chatOnly(await alice.messages("dm:dev-bob")), dms, "the DMs");
  assert.ok((await alice.messages()).find((m) => m.text === "Badge test").mine, "own messages are marked as such");
  assert.deepEqual(Object.values(await alice.chatEval(() => window.chat.unread())).filter((n) => n > 0), [], "history is not unread");
  assert.equal((await alice.state()).unread, 0, "history raises no badge");
  // Readable before rejoining; then the chat goes on both ways.
  assert.equal(await alice.chat().isDisabled("#text"), true);
  await alice.join();
  await alice.waitFor("joined after the reload", async () => (await status(alice)) === "joined");
  await alice.clickChatButton();
  await say(alice, "Back after a reload");
  await bob.waitFor("the message after the reload", async () => (await texts(bob)).includes("Back after a reload"));
  await say(bob, "Welcome back");
  await alice.waitFor("the answer after the reload", async () => (await texts(alice)).includes("Welcome back"));
  assert.equal((await alice.chatEval(() => window.chat.unread())).all ?? 0, 0);
});

test("a dropped socket: what was said meanwhile arrives after the reconnect, in order, once", async () => {
  await bob.page.evaluate(() => window.meeting.spaceHost.dropConnection(1500)); // offline while Alice talks
  const words = ["while away 1", "while away 2", "while away 3"];
  for (const w of words) await say(alice, w);
  await bob.waitFor("the three messages after the reconnect", async () => (await texts(bob)).filter((t) => words.includes(t)).length === 3, 15_000);
  await sleep(300);
  assert.deepEqual((await texts(bob)).filter((t) => words.includes(t)), words, "in order, each once");
  assert.equal(await bob.page.evaluate(() => window.meeting.spaceHost.connected), true);
  assert.equal(await status(bob), "joined", "presence re-established");
  await say(bob, "back online");
  await alice.waitFor("Bob after his reconnect", async () => (await texts(alice)).includes("back online"));
});

test("on a platform without the history extension (oVice) the chat still works live", async () => {
  // A bare page plays oVice: it answers ovice_get_participants, ignores meetbridge_* and
  // relays one message. The chat room must say there is no history and show the message.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/app/common.css`); // any page of the server's origin
  // The listener is in place before the plugin loads and asks.
  const fake = () => {
    window.asked = [];
    const me = { id: 7, name: "Olive", objectId: "o", objectType: "static", avatarUrl: "", workspaceId: 1, isSelf: true, isVisitor: false, status: "joined" };
    window.addEventListener("message", (e) => {
      const frame = document.getElementById("p").contentWindow;
      if (e.source !== frame) return;
      window.asked.push(e.data.type);
      if (e.data.type === "ovice_get_participants") frame.postMessage({ type: "ovice_participants", payload: [me] }, "*");
    });
  };
  await page.setContent(`<script>(${fake})()</script><iframe id="p" src="${server.base}/plugins/chatroom/" style="width:400px;height:500px"></iframe>`);
  const frame = await (await page.waitForSelector("#p")).contentFrame();
  await until("unsupported history", () => frame.evaluate(() => window.chat?.history === "unsupported"), { timeout: 8000 });
  assert.ok((await page.evaluate(() => window.asked)).includes("meetbridge_get_history"));
  assert.equal(await frame.isDisabled("#text"), false, "live chat is on");
  assert.match(await frame.textContent("#status"), /no chat history/);
  await page.evaluate(() =>
    document.getElementById("p").contentWindow.postMessage(
      { type: "ovice_message", payload: { source: "8", event: "chat", objectId: "o", message: { id: "x1", text: "hello from oVice", at: Date.now(), name: "Oscar" } } },
      "*",
    ),
  );
  await until("the live message", () => frame.evaluate(() => window.chat.messages().some((m) => m.text === "hello from oVice" && m.name === "Oscar")));
  await context.close();
});

test("no page errors or warnings on the way", () => {
  assert.deepEqual(realProblems(alice), []);
  assert.deepEqual(realProblems(bob), []);
});
