// Shared by the space end-to-end tests: the real `meetbridge` server with the tests' seed
// (e2e/space/seed.json) and headless Chromium (both from e2e/lib), the dev view opened as
// one user, and what the plugins received.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sleep, startServer as startMeetbridge } from "../lib/server.mjs";

export { repo, sleep } from "../lib/server.mjs";
export { launch } from "../lib/chromium.mjs";
export { startSuite, stopSuite } from "../lib/suite.mjs";

const here = dirname(fileURLToPath(import.meta.url));

/** Starts the server with the space tests' seed; `listen` reuses a port (restart), else a free one is picked. */
export const startServer = ({ dataDir, listen } = {}) =>
  startMeetbridge({ args: ["--demo-seed", join(here, "seed.json")], hint: "cargo build -p meetbridge", prefix: "meetbridge-e2e-", dataDir, listen });

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
