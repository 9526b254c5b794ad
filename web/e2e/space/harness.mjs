// Shared by the space end-to-end tests: starts the real `meetbridge` server on a free
// loopback port with a temporary data directory, and headless Chromium (playwright-core
// driving Debian's /usr/bin/chromium), and reads what the plugins received.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../../..");
const bin = process.env.MEETBRIDGE_BIN ?? join(repo, "target/debug/meetbridge");

/** Starts the server; `listen` reuses a port (restart), else a free one is picked. */
export async function startServer({ dataDir, listen = "127.0.0.1:0" } = {}) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: cargo build -p meetbridge`);
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "meetbridge-e2e-"));
  const child = spawn(
    bin,
    ["serve", "--demo", "--demo-seed", join(here, "seed.json"), "--web-dir", join(repo, "web/dist"), "--data-dir", dir, "--listen", listen, "--print-addr", "--sqlite-sync", "normal"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" } },
  );
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
    addr,
    dataDir: dir,
    /** The page's origin (localhost) differs from 127.0.0.1, which serves cross-origin plugins. */
    base: `http://localhost:${port}`,
    pluginOrigin: `http://127.0.0.1:${port}`,
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

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/**
 * Opens the dev view as one user in its own browser context, with `object` open.
 * Returns the page, the plugin's frame, and the page's console warnings.
 */
export async function openUser(browser, server, { name, object = "inspector", query = "", presence, recorded = true } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const warnings = [];
  page.on("console", (m) => {
    if (m.type() === "warning" || m.type() === "error") warnings.push(m.text());
  });
  page.on("pageerror", (e) => warnings.push(`pageerror: ${e.message}`));
  const p = presence ? `&presence=${presence}` : "";
  await page.goto(`${server.base}/dev.html?object=${object}&users=1&names=${encodeURIComponent(name)}${p}${query}`);
  const frame = await pluginFrame(page, object, recorded);
  return { name, id: `dev-${name.toLowerCase()}`, context, page, frame, warnings };
}

/** The plugin frame of `object` on `page`, once its document has loaded. */
export async function pluginFrame(page, object, recorded = true) {
  const handle = await page.waitForSelector(`iframe[data-object="${object}"]`, { state: "attached" });
  const frame = await handle.contentFrame();
  await frame.waitForLoadState("load");
  if (recorded) await frame.waitForFunction(() => Array.isArray(window.received));
  return frame;
}

/** Everything the plugin received so far (the inspector and chat plugins record it). */
export const received = (frame) => frame.evaluate(() => window.received);

/** Posts a raw message from the plugin to its parent, as any oVice plugin does. */
export const post = (frame, message) => frame.evaluate((m) => window.parent.postMessage(m, "*"), message);

/** Waits until the plugin received a message matching `pred`; returns it. */
export async function waitFor(frame, pred, what = "a message", timeout = 8000) {
  const start = Date.now();
  for (;;) {
    const list = await received(frame);
    const hit = list.find(pred);
    if (hit) return hit;
    if (Date.now() - start > timeout) {
      throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(list).slice(0, 2000)}`);
    }
    await sleep(50);
  }
}

/** Calls a method of the user's SpaceHost on the dev page. */
export const hostCall = (user, method, ...args) =>
  user.page.evaluate(([m, a]) => window.meetbridge.users[0].host[m](...a), [method, args]);

export const presence = (user, object, status) =>
  user.page.evaluate(([o, s]) => window.meetbridge.users[0].host.setPresence(o, s), [object, status]);

export const ofType = (type) => (m) => m && m.type === type;
