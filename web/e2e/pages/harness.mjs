// Shared by the pages suite: the server (the meeting harness's: demo mode, web/dist and the
// deployed Web App 3 folder), axe-core injected into a page or frame, the page-width check,
// and the chat room opened as one user (the dev view with the chat room as the plugin).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { until } from "../meeting/harness.mjs";

export { openMeeting, say, sleep, startServer, startSuite, stopSuite, until } from "../meeting/harness.mjs";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
export const WIDTHS = [390, 768, 1024, 1440];

/**
 * Runs axe-core in `target` (a page or a frame) and returns the serious and critical
 * violations, each as "rule: target (summary)", so a failing assertion says what to fix.
 */
export async function axeProblems(target) {
  // Evaluated rather than added as a <script>: the pages' Content-Security-Policy allows
  // only the server's own scripts, and the test must not weaken it.
  if (!(await target.evaluate(() => Boolean(window.axe)))) await target.evaluate(`${axeSource}\n;true`);
  const result = await target.evaluate(async () => {
    const r = await window.axe.run(document, { iframes: false, resultTypes: ["violations"] });
    return r.violations;
  });
  return result
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")} (${n.failureSummary?.split("\n").slice(0, 2).join(" ") ?? v.help})`));
}

/** How far `target`'s document is wider than its viewport (0 = no horizontal scrolling). */
export const overflowX = (target) =>
  target.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - document.documentElement.clientWidth);

/**
 * Opens the chat room as `name` in its own browser context: the dev view with one user and
 * the chat room as the plugin of `object`. Returns the page, a function that finds the
 * chat's frame (it changes on reload) and helpers.
 */
export async function openChat(browser, server, { name, object = "demo-chat", viewport = { width: 1024, height: 760 } }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  const url = `${server.base}/dev.html?object=${object}&users=1&names=${encodeURIComponent(name)}&url=${encodeURIComponent("/plugins/chatroom/")}`;
  const user = {
    name,
    id: `dev-${name.toLowerCase()}`,
    context,
    page,
    problems,
    frame: () => page.frames().find((f) => f.url().includes("/plugins/chatroom/")),
    eval: (fn, arg) => user.frame().evaluate(fn, arg),
    messages: (conv = "all") => user.frame().evaluate((c) => window.chat.messages(c), conv),
    waitFor: (what, fn, timeout = 10_000) => until(`${name}: ${what}`, fn, { timeout }),
    async load() {
      await user.waitFor("the chat room", async () => user.frame() && (await user.eval(() => window.chat?.history === "loaded" && Boolean(window.chat.me))));
    },
    async reload() {
      await page.reload();
      await user.load();
    },
    /** Opens the page again with `query` given to the chat room (e.g. "historyPage=20"). */
    async reopen(query) {
      await page.goto(`${url}${encodeURIComponent(`?${query}`)}`);
      await user.load();
    },
    close: () => context.close(),
  };
  await page.goto(url);
  await user.load();
  return user;
}

/** Types `text` in `user`'s chat room and sends it with Enter. */
export async function send(user, text) {
  await user.frame().fill("#text", text);
  await user.frame().press("#text", "Enter");
}
