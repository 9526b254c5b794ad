// The multi-user dev view in words: each column says where its user is and how it is
// connected as a person would ("Near the object · connected"), never the protocol's names
// (subscribed, joined, open, closed); a refusal and a page that cannot start are sentences
// with what to do; an unknown ?object= says so and offers the list.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { axeProblems, startServer, startSuite, stopSuite, until } from "./harness.mjs";

let server;
let browser;

before(async () => ({ server, browser } = await startSuite(startServer)));
after(() => stopSuite({ server, browser }));

const PROTOCOL = /\b(subscribed|unsubscribed|joined|left|open|closed|Could not start)\b|[{}]/;

async function devView(query) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/dev.html?${query}`);
  return { context, page, errors };
}

const statusOf = (page, i) => page.locator(".user .status").nth(i).textContent();

test("each column says where its user is and how it is connected, in words", async () => {
  const { context, page, errors } = await devView("object=demo-poll&users=2&names=Ann,Ben");
  await until("both columns connected", async () => (await page.locator(".user .status", { hasText: "connected" }).count()) === 2);
  assert.equal(await statusOf(page, 0), "Near the object · connected");
  const ann = page.locator(".user").nth(0);
  assert.equal(await ann.locator('button[data-action="link"]').getAttribute("aria-label"), "Link (Ann)");

  await ann.locator('button[data-action="link"]').click();
  await until("Ann linked", async () => (await statusOf(page, 0)) === "Linked · connected");
  await ann.locator('button[data-action="unlink"]').click();
  await until("Ann unlinked", async () => (await statusOf(page, 0)) === "Unlinked, still near · connected");

  // A dropped socket: offline and reconnecting, then connected again, in words.
  await page.evaluate(() => window.meetbridge.users[1].host.dropConnection(1500));
  await until("Ben offline", async () => /^Near the object · (offline, reconnecting in [\d.]+ s|connecting…)$/.test(await statusOf(page, 1)));
  await until("Ben back", async () => (await statusOf(page, 1)) === "Near the object · connected", { timeout: 15_000 });

  // Walking away: the plugin's moment to hand over, then closed.
  await ann.locator('button[data-action="away"]').click();
  await until("Ann walking away", async () => /^Walk(ing|ed) away/.test(await statusOf(page, 0)));
  await until("Ann's plugin closed", async () => (await statusOf(page, 0)) === "Walked away: the plugin has gone · connected", { timeout: 10_000 });

  for (let i = 0; i < 2; i++) assert.doesNotMatch(await statusOf(page, i), PROTOCOL);
  assert.deepEqual(await axeProblems(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a refused plugin message is shown in the column as a sentence", async () => {
  const { context, page } = await devView("object=demo-poll&users=1&names=Cy");
  const frame = await until("the plugin frame", async () => page.frames().find((f) => f.url().includes("/plugins/poll/")));
  await until("connected", async () => /connected$/.test(await statusOf(page, 0)));
  await frame.evaluate(() => parent.postMessage({ type: "ovice_broadcast_message", payload: { event: "big", message: "x".repeat(2_200_000) } }, "*"));
  const problem = page.locator(".user .problem").first();
  await until("the refusal", async () => (await problem.textContent()).length > 0);
  assert.equal(await problem.textContent(), "A message from the plugin was refused: the message is too large.");
  await context.close();
});

test("an unknown object, and a server that does not answer, are said in words with what to do", async () => {
  const unknown = await devView("object=no-such-thing&users=1");
  await until("the notice", async () => (await unknown.page.textContent("#notice")).length > 0);
  assert.equal(await unknown.page.textContent("#notice"), "There is no object “no-such-thing” in space “demo”. Pick one from the list, then Open.");
  assert.equal(await unknown.page.locator(".user").count(), 0);
  assert.ok((await unknown.page.locator("#object option").count()) >= 3, "the list to pick from");
  await unknown.context.close();

  const down = await browser.newContext();
  const page = await down.newPage();
  await page.route("**/api/info", (route) => route.abort("connectionrefused"));
  await page.goto(`${server.base}/dev.html?object=demo-poll`);
  await page.waitForSelector(".fatal");
  assert.equal(
    await page.textContent(".fatal"),
    "The dev view could not start: the server did not answer. Check that it is running (make run), then reload this page.",
  );
  assert.doesNotMatch(await page.textContent("body"), /Could not start|TypeError|Failed to fetch/);
  await down.close();
});
