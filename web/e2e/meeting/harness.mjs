// Shared by the meeting end-to-end tests: starts the real `meetbridge` server (demo mode,
// temporary data directory, web/dist and the deployed Web App 3 branding folder) and
// headless Chromium, and opens the meeting page as one user per browser context.
//
// The page is opened on http://localhost:<port>; the Web App 3 stand-in it embeds is then
// served from http://127.0.0.1:<port>, another origin, as in a real deployment.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../../..");
const bin = process.env.MEETBRIDGE_BIN ?? join(repo, "target/debug/meetbridge");

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** Starts the server; `listen` reuses a port (restart), else a free one is picked. */
export async function startServer({ dataDir, listen = "127.0.0.1:0" } = {}) {
  for (const need of [bin, join(repo, "web/dist/meeting/index.html"), join(repo, "webapp3/branding/plugins/external-chat/index.html")]) {
    if (!existsSync(need)) throw new Error(`${need} is missing: run scripts/test.d/60-meeting.sh (it builds what the tests need)`);
  }
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "meetbridge-meeting-"));
  const args = ["serve", "--demo", "--web-dir", join(repo, "web/dist"), "--webapp3-dir", join(repo, "webapp3"), "--data-dir", dir, "--listen", listen, "--print-addr", "--sqlite-sync", "normal"];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" } });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const addr = await new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${log}`)), 20_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on("exit", (code) => fail(new Error(`server exited (${code}):\n${log}`)));
  });
  const port = Number(addr.split(":").pop());
  return {
    port,
    dataDir: dir,
    base: `http://localhost:${port}`,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((ok) => child.once("exit", ok));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(5000).then(() => child.kill("SIGKILL"))]);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

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
