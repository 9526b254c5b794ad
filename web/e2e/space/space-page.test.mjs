// The space view: two users on the floor. Walking near an object subscribes and shows its
// plugin, "Link" joins, walking away unsubscribes and removes it; each sees the other's
// avatar move (through the space's floor object).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startServer, startSuite, stopSuite } from "./harness.mjs";

let server, browser;

before(async () => ({ server, browser } = await startSuite(startServer)));

after(() => stopSuite({ server, browser }));

async function enter(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/?name=${name}`);
  await page.waitForSelector("#conn.open");
  return { page, errors };
}

const objectAt = (page, id) => page.evaluate((o) => { const p = window.meetbridge.objects.get(o); return { x: p.x, y: p.y }; }, id);
const moveTo = (page, x, y) => page.evaluate(([a, b]) => window.meetbridge.moveTo(a, b), [x, y]);

test("walk near, link, see the other user, walk away", async () => {
  const alice = await enter("Alice");
  const bob = await enter("Bob");
  for (const u of [alice, bob]) assert.equal(await u.page.locator(".object").count(), 4, "the four objects, not the floor");
  // Each sees the other's avatar.
  await alice.page.locator('.avatar[data-user="dev-bob"]').waitFor();
  await bob.page.locator('.avatar[data-user="dev-alice"]').waitFor();

  const poll = await objectAt(alice.page, "poll");
  await moveTo(alice.page, poll.x, poll.y + 60);
  await alice.page.locator('.panel[data-object="poll"] iframe').waitFor();
  assert.match(await alice.page.getAttribute('.object[data-object="poll"]', "class"), /near/);
  // Bob sees Alice's avatar arrive there.
  await bob.page.waitForFunction(([x, y]) => {
    const el = document.querySelector('.avatar[data-user="dev-alice"]');
    return el && parseInt(el.style.left) === x && parseInt(el.style.top) === y;
  }, [poll.x, poll.y + 60]);

  await moveTo(bob.page, poll.x + 40, poll.y + 40);
  await alice.page.locator('.panel[data-object="poll"] .people', { hasText: "Bob: near" }).waitFor();
  await alice.page.click('.panel[data-object="poll"] button.link');
  await bob.page.locator('.panel[data-object="poll"] .people', { hasText: "Alice: linked" }).waitFor();
  assert.match(await alice.page.getAttribute('.object[data-object="poll"]', "class"), /linked/);
  // The plugin runs and sees both users.
  const frame = await (await alice.page.$('.panel[data-object="poll"] iframe')).contentFrame();
  await frame.locator("#people", { hasText: "2 here" }).waitFor();

  await moveTo(alice.page, 20, 500);
  await alice.page.locator('.panel[data-object="poll"]').waitFor({ state: "detached" });
  await bob.page.waitForFunction(() => !document.querySelector('.panel[data-object="poll"] .people').textContent.includes("Alice"));
  assert.deepEqual([...alice.errors, ...bob.errors], []);
});
