// The space view follows the server's floor live, in two browser contexts: the admin
// console moves an object (arrow keys) and the space page moves it too; objects added,
// renamed and deleted through the admin API appear, change and go with no reload, and the
// open panel of a deleted object closes with a message in words. Each object's sandbox
// reaches its iframe: one narrowed to no `allow-modals` gets no dialogs, the default does.
// A renamed space's header follows; a deleted space says so.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sleep, startServer, startSuite, stopSuite } from "./harness.mjs";

let server, browser, adminKey;

before(async () => {
  ({ server, browser } = await startSuite(startServer));
  adminKey = readFileSync(join(server.dataDir, "admin-key"), "utf8").trim();
});
after(() => stopSuite({ server, browser }));

function adminApi(method, path, body) {
  return fetch(`${server.base}/api/admin/spaces/e2e${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  }).then(async (r) => {
    const json = await r.json();
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  });
}

async function until(what, fn, timeout = 10_000) {
  const start = Date.now();
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function enter(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/?name=${name}`);
  await page.waitForSelector("#conn.open");
  await page.waitForFunction(() => window.meetbridge?.objects?.size > 0);
  return { context, page, errors };
}

/** Where the space page draws an object (floor units), or null when it is not there. */
const drawnAt = (page, id) =>
  page.evaluate((o) => {
    const el = document.querySelector(`.object[data-object="${o}"]`);
    return el ? { x: parseInt(el.style.left), y: parseInt(el.style.top) } : null;
  }, id);

test("positions come from the server; the console's moves, additions, edits and deletions reach the page live", async () => {
  await adminApi("PATCH", "/objects/notes", { position: { x: 600, y: 90 } });
  const ann = await enter("Ann");
  assert.deepEqual(await drawnAt(ann.page, "notes"), { x: 600, y: 90 }, "the stored position, not the grid");
  await ann.page.evaluate(() => (window.loadedOnce = true));

  // The admin console, in its own context, moves Notes with the arrow keys.
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const console = await adminContext.newPage();
  await console.goto(`${server.base}/admin/`);
  await console.fill("#admin-key", adminKey);
  await console.click("#key-form button");
  await console.click('#space-list button[data-space="e2e"]');
  const node = console.locator('#floor-editor .fobj[data-object="notes"]');
  await node.waitFor();
  await node.focus();
  for (let i = 0; i < 4; i++) await console.keyboard.press("ArrowLeft");
  await until("Ann sees Notes move", async () => {
    const at = await drawnAt(ann.page, "notes");
    return at?.x === 560 && at.y === 90;
  });
  await adminContext.close();

  // Added through the API: on the floor and in the list, at its position.
  await adminApi("POST", "/objects", { id: "board", name: "Board", pluginUrl: "/plugins/notes/", position: { x: 200, y: 300 } });
  await ann.page.locator('.object[data-object="board"]').waitFor();
  assert.deepEqual(await drawnAt(ann.page, "board"), { x: 200, y: 300 });
  await ann.page.locator('#object-list button[data-object="board"]', { hasText: "Board" }).waitFor();

  // Walk there; then it is renamed and moved while its panel is open.
  await ann.page.evaluate(() => window.meetbridge.walkTo("board"));
  await ann.page.locator('.panel[data-object="board"] iframe').waitFor();
  await adminApi("PATCH", "/objects/board", { name: "Whiteboard", position: { x: 220, y: 300 } });
  await ann.page.locator('.panel[data-object="board"] h3', { hasText: "Whiteboard" }).waitFor();
  await until("moved", async () => (await drawnAt(ann.page, "board"))?.x === 220);
  assert.match(await ann.page.textContent('#object-list button[data-object="board"]'), /Whiteboard/);

  // Deleted while open: the panel closes and says why, in words.
  await adminApi("DELETE", "/objects/board");
  await ann.page.waitForSelector('.panel[data-object="board"]', { state: "detached" });
  await ann.page.waitForSelector('.object[data-object="board"]', { state: "detached" });
  assert.equal(await ann.page.locator('#object-list button[data-object="board"]').count(), 0);
  assert.equal(await ann.page.textContent("#floor-notice"), "Whiteboard was removed from the space by an administrator, so its panel closed.");
  // The space renamed: the header follows.
  const rename = await fetch(`${server.base}/api/admin/spaces/e2e`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Renamed space" }),
  });
  assert.equal(rename.status, 200);
  await until("the new name", async () => (await ann.page.textContent("#space-name")) === "Renamed space");
  assert.equal(await ann.page.evaluate(() => window.loadedOnce), true, "no reload");
  assert.deepEqual(ann.errors, []);
  await ann.context.close();
});

test("an object narrowed to no allow-modals gets no dialogs; the default sandbox does", async () => {
  // A plugin of this server: never allow-same-origin with allow-scripts (the server refuses it).
  const narrowed = ["allow-scripts", "allow-forms", "allow-popups", "allow-popups-to-escape-sandbox", "allow-downloads"];
  await adminApi("POST", "/objects", { id: "quiet", name: "Quiet", pluginUrl: "/plugins/inspector/", position: { x: 80, y: 440 }, settings: { sandbox: narrowed } });
  await adminApi("PATCH", "/objects/inspector", { position: { x: 680, y: 440 } });
  const bo = await enter("Bo");
  const dialogs = [];
  bo.page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.accept();
  });
  const frameOf = (id) => until(`${id}'s frame`, async () => {
    const el = await bo.page.$(`.panel[data-object="${id}"] iframe`);
    const f = await el?.contentFrame();
    return f && (await f.evaluate(() => document.readyState === "complete")) && f;
  });

  await bo.page.evaluate(() => window.meetbridge.walkTo("quiet"));
  const quiet = await frameOf("quiet");
  const sandbox = (await bo.page.getAttribute('.panel[data-object="quiet"] iframe', "sandbox")).split(/\s+/);
  assert.equal(sandbox.includes("allow-modals"), false, sandbox.join(" "));
  assert.equal(sandbox.includes("allow-scripts"), true);
  assert.equal(sandbox.includes("allow-same-origin"), false, "a plugin on the page's origin never shares it, narrowed or not");
  assert.equal(await quiet.evaluate(() => confirm("may I?")), false, "no dialog: confirm answers false at once");
  await sleep(200);
  assert.deepEqual(dialogs, []);

  await bo.page.evaluate(() => window.meetbridge.walkTo("inspector"));
  const inspector = await frameOf("inspector");
  assert.match(await bo.page.getAttribute('.panel[data-object="inspector"] iframe', "sandbox"), /allow-modals/);
  assert.equal(await inspector.evaluate(() => confirm("may I?")), true, "the default lets the plugin ask");
  assert.deepEqual(dialogs, ["may I?"]);

  // The whole space deleted: the page says so in words, its panels gone.
  const gone = await fetch(`${server.base}/api/admin/spaces/e2e`, { method: "DELETE", headers: { authorization: `Bearer ${adminKey}` } });
  assert.equal(gone.status, 200);
  await bo.page.waitForSelector(".fatal");
  assert.equal(await bo.page.textContent(".fatal"), "This space was deleted by an administrator. Ask them which space to use now.");
  assert.equal(await bo.page.locator(".panel iframe").count(), 0);
  await bo.context.close();
});
