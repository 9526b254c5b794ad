// Who may start a meeting: an unknown `?meeting=` is created only for someone the space
// lets start meetings (the space's `createDynamic` setting, set through the admin API);
// anyone else is told in words that the meeting does not exist and what to do, and nothing
// is created.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openMeeting, startServer, startSuite, stopSuite } from "./harness.mjs";

let server, browser, adminKey;

before(async () => {
  ({ server, browser } = await startSuite(startServer));
  adminKey = readFileSync(join(server.dataDir, "admin-key"), "utf8").trim();
});
after(() => stopSuite({ server, browser }));

const who = (createDynamic) =>
  fetch(`${server.base}/api/admin/spaces/demo`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: JSON.stringify({ settings: { createDynamic } }),
  }).then((r) => assert.equal(r.status, 200));

const stored = (id) => fetch(`${server.base}/api/admin/spaces/demo/objects`, { headers: { authorization: `Bearer ${adminKey}` } }).then(async (r) => (await r.json()).find((o) => o.id === id));

test("a member may not start a meeting when only owners may: told so in words, nothing created", async () => {
  await who("owners");
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}/meeting/?meeting=nobody-started-this&name=Mia`);
  await page.waitForSelector(".fatal");
  assert.equal(
    await page.textContent(".fatal"),
    "There is no meeting “nobody-started-this” here, and only the space's owners may start a new one. Check the link you were given (the meeting's id is the part after ?meeting=), or ask the meeting's host for the link.",
  );
  assert.equal(await page.getAttribute(".fatal", "role"), "alert");
  assert.equal(await page.isVisible("#meeting"), false);
  assert.equal(await stored("nobody-started-this"), undefined, "not created by whoever typed it");
  assert.deepEqual(errors, []);
  await context.close();
});

test("when members may start meetings, the first visitor creates it and hosts it", async () => {
  await who("members");
  const mo = await openMeeting(browser, server, { name: "Mo", meeting: "mo-starts-this" });
  const def = await stored("mo-starts-this");
  assert.equal(def?.objectType, "dynamic");
  assert.equal(def.creator, "dev-mo");
  assert.equal((await mo.state()).isHost, true);
  await mo.close();
});
