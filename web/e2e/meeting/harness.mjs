// Shared by the meeting end-to-end tests (and scripts/screenshots.mjs): the real
// `meetbridge` server (demo mode, web/dist and the deployed Web App 3 branding folder) and
// headless Chromium (both from e2e/lib), and the meeting page opened as one user per
// browser context.
//
// The page is opened on http://localhost:<port>; the Web App 3 stand-in it embeds is then
// served from http://127.0.0.1:<port>, another origin, as in a real deployment.
import { join } from "node:path";
import { repo, sleep, startServer as startMeetbridge } from "../lib/server.mjs";

export { repo, sleep } from "../lib/server.mjs";
export { launch } from "../lib/chromium.mjs";
export { startSuite, stopSuite } from "../lib/suite.mjs";

/** Starts the server with the deployed Web App 3 folder; `listen` reuses a port (restart), else a free one is picked. */
export const startServer = ({ dataDir, listen } = {}) =>
  startMeetbridge({
    args: ["--webapp3-dir", join(repo, "webapp3")],
    needs: [join(repo, "web/dist/meeting/index.html"), join(repo, "webapp3/branding/plugins/external-chat/index.html")],
    hint: "run scripts/test.d/60-meeting.sh (it builds what the tests need)",
    prefix: "meetbridge-meeting-",
    dataDir,
    listen,
  });

/** Polls `fn` (async) until it returns a truthy value; fails with `what` and `debug()`. */
export async function until(what, fn, { timeout = 10_000, debug } = {}) {
  const start = Date.now();
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value) return value;
    if (Date.now() - start > timeout) {
      throw new Error(`timed out waiting for ${what}${debug ? `\n${await debug()}` : ""}`);
    }
    await sleep(50);
  }
}

/**
 * Opens the meeting page as `name` in a fresh browser context and waits until Web App 3's
 * plugin said `ready` and the chat room knows who this user is. Returns helpers.
 */
export async function openMeeting(browser, server, { name, meeting = "standup", viewport = { width: 1280, height: 760 } }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "warning" || m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${server.base}/meeting/?meeting=${encodeURIComponent(meeting)}&name=${encodeURIComponent(name)}`);
  const user = {
    name,
    context,
    page,
    problems,
    /** The chat room plugin's frame (sandboxed, served by the server). */
    chat: () => page.frames().find((f) => f.url().includes("/plugins/chatroom/")),
    /** The Web App 3 stand-in's frame. */
    standin: () => page.frames().find((f) => f.url().includes("/webapp3-standin/")),
    state: () => page.evaluate(() => window.meeting.state),
    log: () => page.evaluate(() => window.meeting.log),
    chatEval: (fn, arg) => user.chat().evaluate(fn, arg),
    messages: (conv = "all") => user.chat().evaluate((c) => window.chat.messages(c), conv),
    debug: async () => JSON.stringify({ state: await user.state().catch(() => null), log: await user.log().catch(() => null), problems }).slice(0, 3000),
    waitFor: (what, fn, timeout) => until(`${name}: ${what}`, fn, { timeout, debug: user.debug }),
    /** Joins the call in the stand-in (Web App 3's own Join button). */
    join: () => user.standin().click("#join"),
    /** The Chat toolbar button in the stand-in, as Web App 3 draws it. */
    chatButton: () => user.standin().evaluate(() => window.standin.buttons[0]),
    clickChatButton: () => user.standin().click("#toolbar button"),
    close: () => context.close(),
  };
  await user.waitFor("the meeting page", async () => (await user.state()).pluginReady);
  await user.waitFor("the chat room", async () => user.chat() && (await user.chatEval(() => Boolean(window.chat?.me))));
  return user;
}

/** Types `text` in the chat room and sends it with Enter, as a user does. */
export async function say(user, text) {
  const frame = user.chat();
  await frame.fill("#text", text);
  await frame.press("#text", "Enter");
}
