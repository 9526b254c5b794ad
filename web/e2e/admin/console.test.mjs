// The admin console in headless Chromium against the real server: spaces created, renamed,
// set (who may start meetings) and deleted; objects created, edited (every field) and
// deleted, a refused plugin URL and an off-floor position said in words naming the field by
// its label; positions set by the number fields, by dragging with the pointer and by the
// arrow keys; who is present where; axe-core clean.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launch } from "../lib/chromium.mjs";
import { sleep, startServer } from "../lib/server.mjs";
import { axeProblems, overflowX } from "../pages/harness.mjs";

let server, browser, adminKey;

before(async () => {
  server = await startServer({ hint: "cargo build -p meetbridge-server, then (cd web && npm run wasm && npm run build)", prefix: "meetbridge-console-e2e-" });
  adminKey = readFileSync(join(server.dataDir, "admin-key"), "utf8").trim();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

/** The admin API from the test (to check what the console stored). */
const admin = (path) => fetch(`${server.base}/api/admin${path}`, { headers: { authorization: `Bearer ${adminKey}` } }).then((r) => r.json());
const objectOf = async (space, id) => (await admin(`/spaces/${space}/objects`)).find((o) => o.id === id);

async function until(what, fn, timeout = 10_000) {
  const start = Date.now();
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function signedIn() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/admin/`);
  await page.fill("#admin-key", adminKey);
  await page.click("#key-form button");
  await page.waitForSelector("#console:not([hidden])");
  await page.waitForSelector('#space-list button[data-space="demo"]');
  return { context, page, errors };
}

const text = (page, selector) => page.locator(selector).textContent();

test("spaces: create, rename, who may start meetings, delete", async () => {
  const { context, page, errors } = await signedIn();
  await page.fill("#space-id", "team");
  await page.fill("#space-name", "Team floor");
  await page.click("#new-space button");
  await page.waitForSelector('#space-list button[data-space="team"][aria-current="true"]');
  assert.equal(await text(page, "#space-title"), "Team floor");

  // An id the server refuses: said with the field's label, the field marked.
  await page.fill("#space-id", "has spaces");
  await page.fill("#space-name", "Bad");
  await page.click("#new-space button");
  await until("the refusal", async () => (await text(page, "#space-error")).length > 0);
  assert.match(await text(page, "#space-error"), /^Space id: /);
  assert.doesNotMatch(await text(page, "#space-error"), /[`{}]|bad_request/);
  assert.equal(await page.getAttribute("#space-id", "aria-invalid"), "true");

  await page.fill("#space-rename", "Team floor, renamed");
  await page.selectOption("#space-create-dynamic", "owners");
  await page.fill("#space-origins", "https://plugins.example.com");
  await page.click("#space-save");
  await page.waitForFunction(() => document.querySelector("#space-title").textContent === "Team floor, renamed");
  const team = (await admin("/spaces")).find((s) => s.id === "team");
  assert.equal(team.name, "Team floor, renamed");
  assert.deepEqual(team.settings, { createDynamic: "owners", pluginOrigins: ["https://plugins.example.com"] });
  assert.match(await text(page, '#space-list button[data-space="team"]'), /Team floor, renamed/);

  // Deleting asks first, naming what goes.
  await page.click("#space-delete");
  assert.match(await text(page, "#space-delete-question"), /Delete Team floor, renamed and every object in it/);
  await page.click("#space-delete-yes");
  await page.waitForSelector('#space-list button[data-space="team"]', { state: "detached" });
  assert.match(await text(page, "#space-done"), /Deleted Team floor, renamed and its 0 objects/);
  assert.equal((await admin("/spaces")).some((s) => s.id === "team"), false);
  assert.deepEqual(errors, []);
  await context.close();
});

test("objects: create (a refused URL and position in words), edit every field, delete", async () => {
  const { context, page, errors } = await signedIn();
  await page.fill("#space-id", "objs");
  await page.fill("#space-name", "Objects");
  await page.click("#new-space button");
  await page.waitForSelector('#space-list button[data-space="objs"][aria-current="true"]');

  await page.fill("#object-name", "Evil");
  await page.fill("#object-url", "javascript:alert(document.domain)");
  await page.click("#object-save");
  await until("the refusal", async () => (await text(page, "#object-error")).length > 0);
  const why = await text(page, "#object-error");
  assert.match(why, /^Plugin URL: .*javascript:/);
  assert.doesNotMatch(why, /[`{}]|pluginUrl|bad_request/);
  assert.equal(await page.getAttribute("#object-url", "aria-invalid"), "true");
  assert.equal(await page.evaluate(() => document.activeElement.id), "object-url");
  assert.equal(await page.locator("#object-list tr").count(), 0);

  // Off the floor: refused by the server, said with the field's label.
  await page.fill("#object-url", "/plugins/notes/");
  await page.fill("#object-x", "900");
  await page.fill("#object-y", "100");
  await page.click("#object-save");
  await until("the position refusal", async () => /^Position X: /.test(await text(page, "#object-error")));
  assert.match(await text(page, "#object-error"), /760/);
  assert.equal(await page.getAttribute("#object-url", "aria-invalid"), null, "the earlier mark is cleared");

  await page.fill("#object-id", "board");
  await page.fill("#object-name", "Notes");
  await page.fill("#object-x", "100");
  await page.check("#object-email");
  await page.uncheck('#object-sandbox input[value="allow-modals"]');
  await page.uncheck('#object-allow input[value="autoplay"]');
  await page.click("#object-save");
  await page.waitForSelector('#object-list tr[data-object="board"]');
  const row = await page.locator('#object-list tr[data-object="board"]').innerText();
  assert.match(row, /Notes/);
  assert.match(row, /100, 100/);
  assert.match(row, /no allow-modals, autoplay/);
  let stored = await objectOf("objs", "board");
  assert.deepEqual(stored.position, { x: 100, y: 100 });
  assert.equal(stored.settings.shareEmail, true);
  assert.equal(stored.settings.sandbox.includes("allow-modals"), false);
  assert.equal(stored.settings.sandbox.includes("allow-scripts"), true);
  assert.equal(stored.settings.sandbox.includes("allow-same-origin"), false, "a plugin of this server never shares the pages' origin");
  assert.deepEqual(stored.settings.allow, ["clipboard-read", "clipboard-write", "fullscreen"]);

  // Edit: every field the form has.
  await page.click('#object-list tr[data-object="board"] button.edit');
  assert.equal(await page.inputValue("#object-name"), "Notes");
  assert.equal(await page.isChecked('#object-sandbox input[value="allow-modals"]'), false);
  await page.fill("#object-name", "Board");
  await page.fill("#object-url", "/plugins/poll/");
  await page.selectOption("#object-type", "dynamic");
  await page.fill("#object-creator", "dev-ann");
  await page.uncheck("#object-email");
  await page.fill("#object-keep-messages", "50");
  await page.fill("#object-keep-days", "2");
  await page.fill("#object-keep-mb", "1");
  await page.check('#object-sandbox input[value="allow-modals"]');
  await page.check('#object-allow input[value="autoplay"]');
  await page.fill("#object-x", "300");
  await page.fill("#object-y", "200");
  await page.click("#object-save");
  await until("saved", async () => /Saved Board/.test(await text(page, "#object-done")));
  stored = await objectOf("objs", "board");
  assert.equal(stored.name, "Board");
  assert.equal(stored.pluginUrl, "/plugins/poll/");
  assert.equal(stored.objectType, "dynamic");
  assert.equal(stored.creator, "dev-ann");
  assert.equal(stored.settings.shareEmail, false);
  assert.deepEqual(stored.settings.retention, { maxMessages: 50, maxAgeSecs: 172800, maxBytes: 1000000 });
  assert.equal(stored.settings.sandbox, undefined, "all ticked: back to the default");
  assert.equal(stored.settings.allow, undefined);
  assert.deepEqual(stored.position, { x: 300, y: 200 });
  await until("the row follows", async () => /Board\tdynamic, host dev-ann/.test(await page.locator('#object-list tr[data-object="board"]').innerText()));

  // Clearing the position: the object is laid out by the page again.
  await page.click('#object-list tr[data-object="board"] button.edit');
  await page.fill("#object-x", "");
  await page.fill("#object-y", "");
  await page.click("#object-save");
  await until("cleared", async () => (await objectOf("objs", "board")).position === undefined);
  await until("the row says so", async () => /not placed/.test(await page.locator('#object-list tr[data-object="board"]').innerText()));

  await page.click('#object-list tr[data-object="board"] button.delete');
  assert.match(await text(page, '#object-list tr[data-object="board"]'), /Delete Board, its saved data and its message log\?/);
  await page.click('#object-list tr[data-object="board"] button.confirm');
  await page.waitForSelector('#object-list tr[data-object="board"]', { state: "detached" });
  assert.match(await text(page, "#object-done"), /^Deleted Board: /);
  assert.equal(await objectOf("objs", "board"), undefined);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the floor editor: drag with the pointer, move with the arrow keys; each move is stored", async () => {
  const { context, page, errors } = await signedIn();
  await page.click('#space-list button[data-space="demo"]');
  const node = page.locator('#floor-editor .fobj[data-object="demo-poll"]');
  await node.waitFor();
  const before = { x: Number(await node.getAttribute("data-x")), y: Number(await node.getAttribute("data-y")) };
  const scale = await page.$eval("#floor-editor", (e) => Math.min(1, e.clientWidth / 760));

  // Drag by 100 × 60 floor units, with the object on screen (the pointer hits what is shown).
  await node.scrollIntoViewIfNeeded();
  const box = await node.boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  await page.mouse.move(cx + 50 * scale, cy + 30 * scale, { steps: 4 });
  await page.mouse.move(cx + 100 * scale, cy + 60 * scale, { steps: 4 });
  await page.mouse.up();
  const dragged = await until("the drag stored", async () => {
    const p = (await objectOf("demo", "demo-poll")).position;
    return p && Math.abs(p.x - (before.x + 100)) <= 2 && Math.abs(p.y - (before.y + 60)) <= 2 && p;
  });
  await until("the move announced", async () => new RegExp(`Poll moved to ${dragged.x}, ${dragged.y}`).test(await text(page, "#announce")));

  // The keyboard: three steps right (10 each), one fine step down (Shift).
  await node.focus();
  assert.match(await node.getAttribute("aria-label"), /Poll, at \d+, \d+\. Drag it, or use the arrow keys/);
  for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Shift+ArrowDown");
  await until("the keyboard move stored", async () => {
    const p = (await objectOf("demo", "demo-poll")).position;
    return p.x === dragged.x + 30 && p.y === dragged.y + 1;
  });
  // Focus stays on the object after the floor is drawn again.
  await until("focus kept", async () => (await page.evaluate(() => document.activeElement.dataset.object)) === "demo-poll");
  await until("the table follows", async () => new RegExp(`${dragged.x + 30}, ${dragged.y + 1}`).test(await page.locator('#object-list tr[data-object="demo-poll"]').innerText()));
  assert.deepEqual(await axeProblems(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("who is where: a user in the demo space shows up, and where they stand", async () => {
  const { context, page, errors } = await signedIn();
  const user = await browser.newContext();
  const space = await user.newPage();
  await space.goto(`${server.base}/?name=Pia`);
  await space.waitForSelector("#conn.open");
  await page.click('#space-list button[data-space="demo"]');
  await until("Pia in the space", async () => /In the space: .*Pia/.test(await text(page, "#presence-list")));
  await space.evaluate(() => window.meetbridge.walkTo("demo-notes"));
  await space.waitForSelector('.panel[data-object="demo-notes"] iframe');
  await page.click("#presence-refresh");
  await until("Pia near the notes", async () => /Shared notes: Pia \(near\)/.test(await text(page, '#presence-list li[data-object="demo-notes"]')));
  assert.doesNotMatch(await text(page, "#presence-list"), /subscribed|joined/);
  await user.close();
  assert.deepEqual(errors, []);
  await context.close();
});

test("the console on a phone: no sideways scrolling, the floor scaled to fit, axe-core clean", async () => {
  const { context, page, errors } = await signedIn();
  await page.click('#space-list button[data-space="demo"]');
  await page.locator('#floor-editor .fobj[data-object="demo-poll"]').waitFor();
  await page.setViewportSize({ width: 390, height: 800 });
  await sleep(200);
  assert.ok((await overflowX(page)) <= 0, `scrolls sideways by ${await overflowX(page)} px`);
  const floor = await page.$eval("#floor-editor", (e) => ({ right: e.getBoundingClientRect().right, inner: e.firstElementChild.getBoundingClientRect().width }));
  assert.ok(floor.right <= 390 && floor.inner <= 390, JSON.stringify(floor));
  assert.deepEqual(await axeProblems(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});
