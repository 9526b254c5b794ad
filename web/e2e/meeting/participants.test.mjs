// The meeting page's participants panel end to end: the real `meetbridge` server, the Web
// App 3 stand-in (another origin) with the deployed external-chat plugin speaking
// `rocketchat:videoconf`, ExternalChatHost, and the panel (web/pages/meeting/participants.ts).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { openMeeting, startServer, startSuite, stopSuite } from "./harness.mjs";

let server;
let browser;
let carol;

const V = "rocketchat:videoconf/";
const row = (uuid) => `#participants-panel li[data-uuid="${uuid}"]`;
const states = (uuid) => carol.page.$$eval(`${row(uuid)} .state`, (els) => els.map((e) => e.dataset.state));
const controls = (uuid) => carol.page.$$eval(`${row(uuid)} button.control`, (els) => els.map((e) => e.dataset.control));
const rpcs = (name) => carol.standin().evaluate((n) => window.standin.rpcLog.filter((r) => r.rpc === n).map((r) => r.payload), name);
const standin = (fn, arg) => carol.standin().evaluate(fn, arg);

before(async () => {
  ({ server, browser } = await startSuite(startServer));
  carol = await openMeeting(browser, server, { name: "Carol", meeting: "panel" });
});

after(() => stopSuite({ server, browser }));

test("the panel lists who is in the call, with the local participant marked", async () => {
  await carol.page.click("#participants-toggle");
  assert.equal(await carol.page.isVisible("#participants-panel"), true);
  assert.equal(await carol.page.getAttribute("#participants-toggle", "aria-pressed"), "true");
  assert.equal(await carol.page.textContent("#participants-note"), "Nobody is in the call.");
  await carol.join();
  await carol.waitFor("the local participant", async () => carol.page.isVisible(row("me-0001")));
  assert.match(await carol.page.textContent(`${row("me-0001")} .name`), /\(you\)$/);
  assert.deepEqual(await states("me-0001"), ["host"]);
  // Its own controls: mute, camera, hand, spotlight; not remove or make guest.
  assert.deepEqual(await controls("me-0001"), ["mute", "mute-video", "raise-hand", "spotlight"]);
  assert.equal(await carol.page.textContent("#participants-toggle .count"), "1");
  assert.deepEqual(await carol.page.$$eval("#participants-tools button", (els) => els.map((e) => e.dataset.control)), ["mute-all-guests", "unmute-all-guests"]);
});

test("the lobby: a waiting participant is admitted by the host", async () => {
  await standin(() => window.standin.addParticipant({ uuid: "dana", displayName: "Dana", isWaiting: true }));
  await carol.waitFor("Dana in the lobby", async () => carol.page.isVisible(`#participants-lobby li[data-uuid="dana"]`));
  assert.deepEqual(await states("dana"), ["waiting"]);
  assert.deepEqual(await controls("dana"), ["admit", "disconnect"]);
  assert.match(await carol.page.getAttribute("#participants-toggle", "title"), /1 waiting/);
  await carol.page.click(`${row("dana")} button[data-control="admit"]`);
  await carol.waitFor("Dana in the call", async () => carol.page.isVisible(`#participants-list li[data-uuid="dana"]`));
  assert.deepEqual(await rpcs("participant:admit"), [{ participantUuid: "dana" }]);
  assert.equal(await carol.page.isVisible("#participants-lobby"), false);
});

test("muted, camera off, presenting, spotlight and raised hands are shown; the host's controls act", async () => {
  await standin(() => window.standin.updateParticipant("dana", { isMuted: true, isCameraMuted: true, isPresenting: true, raisedHand: true }));
  await carol.waitFor("Dana's state", async () => (await states("dana")).includes("hand"));
  assert.deepEqual(await states("dana"), ["muted", "camera-off", "presenting", "hand"]);
  assert.equal(await carol.page.textContent(`${row("dana")} button[data-control="mute"]`), "Unmute");
  await carol.page.click(`${row("dana")} button[data-control="mute"]`);
  await carol.page.click(`${row("dana")} button[data-control="raise-hand"]`);
  await carol.waitFor("Dana unmuted, hand lowered", async () => {
    const s = await states("dana");
    return !s.includes("muted") && !s.includes("hand");
  });
  assert.deepEqual(await rpcs("participant:mute"), [{ participantUuid: "dana", mute: false }]);
  assert.deepEqual(await rpcs("participant:raiseHand"), [{ participantUuid: "dana", raise: false }]);
  await carol.page.click(`${row("dana")} button[data-control="spotlight"]`);
  await carol.waitFor("spotlight", async () => (await states("dana")).includes("spotlight"));
  await carol.page.click(`${row("dana")} button[data-control="set-role"]`);
  await carol.waitFor("Dana a host", async () => (await states("dana")).includes("host"));
  assert.deepEqual(await rpcs("participant:setRole"), [{ participantUuid: "dana", role: "chair" }]);
  // The local participant mutes itself: no participant in the call.
  await carol.page.click(`${row("me-0001")} button[data-control="mute"]`);
  await carol.waitFor("Carol muted", async () => (await states("me-0001")).includes("muted"));
  assert.deepEqual((await rpcs("participant:mute")).at(-1), { mute: true });
  // Tones, checked before sending.
  await carol.page.click(`${row("dana")} details.more summary`);
  await carol.page.fill(`${row("dana")} input[name="digits"]`, "12a");
  await carol.page.click(`${row("dana")} button[data-control="dtmf"]`);
  assert.match(await carol.page.textContent("#participants-status"), /digits/);
  assert.deepEqual(await rpcs("participant:sendDTMF"), []);
  await carol.page.fill(`${row("dana")} input[name="digits"]`, "12#");
  await carol.page.click(`${row("dana")} button[data-control="dtmf"]`);
  await carol.waitFor("tones sent", async () => (await rpcs("participant:sendDTMF")).length === 1);
  assert.deepEqual(await rpcs("participant:sendDTMF"), [{ participantUuid: "dana", digits: "12#" }]);
  await carol.page.click(`${row("dana")} button[data-control="disconnect"]`);
  await carol.waitFor("Dana removed", async () => !(await carol.page.isVisible(row("dana"))));
});

test("a control is shown only when the participant's can.* allows it", async () => {
  await standin(() => window.standin.addParticipant({ uuid: "erin", displayName: "Erin", canMute: false, canSpotlight: false, canDisconnect: false, canTransfer: false }));
  await carol.waitFor("Erin", async () => carol.page.isVisible(row("erin")));
  // What needs only can.control stays: the role and tones.
  assert.deepEqual(await controls("erin"), ["set-role", "dtmf"]);
});

test("a control is shown only when the plugin announced its feature", async () => {
  // A plugin that announces only the roster (posted from inside iframe#webapp3, as a plugin would).
  const roster = await carol.page.evaluate(() => window.meeting.chatHost.state.participants);
  await standin(({ V, roster }) => {
    window.top.postMessage({ action: `${V}ready`, features: ["roster"] }, "*");
    window.top.postMessage({ action: `${V}roster`, participants: roster }, "*");
  }, { V, roster });
  await carol.waitFor("features", async () => (await carol.page.evaluate(() => window.meeting.chatHost.state.features)).length === 1);
  await carol.waitFor("no controls", async () => (await controls("erin")).length === 0);
  assert.deepEqual(await controls("me-0001"), []);
  assert.equal(await carol.page.isVisible("#participants-tools button"), false);
  assert.equal(await carol.page.isVisible(row("erin")), true, "the roster is still shown");
});
