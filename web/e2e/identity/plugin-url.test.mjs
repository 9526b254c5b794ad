// The host runtime checks a plugin URL with the server's own policy before it makes an
// iframe (headless Chromium, the real `meetbridge` server): objects whose URL the server
// would refuse, slipped into the page by a stubbed object list, never become iframes; the
// panel says why in words.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch } from "../lib/chromium.mjs";
import { startServer } from "../lib/server.mjs";

let server, browser;

before(async () => {
  server = await startServer({ hint: "cargo build -p meetbridge-server, then (cd web && npm run wasm && npm run build)", prefix: "meetbridge-plugin-url-e2e-" });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

const injected = [
  ["evil-js", "javascript:alert(document.domain)", /`pluginUrl` uses the `javascript:` scheme/],
  ["evil-data", "data:text/html,<script>alert(1)</script>", /`pluginUrl` uses the `data:` scheme/],
  ["evil-host", "//evil.example/plugin/", /`pluginUrl` starts with \/\//],
];

test("objects with javascript:, data: or //host plugin URLs from the server never become iframes", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  // The space's objects as a compromised or buggy server would answer them (the space view
  // `GET /api/spaces/demo` and the object list), without positions: the page places them.
  const inject = (objects) => {
    const model = objects.find((o) => o.pluginUrl.startsWith("/plugins/"));
    for (const [id, pluginUrl] of injected) objects.push({ ...model, id, name: id, pluginUrl, position: undefined });
    return objects;
  };
  await page.route(/\/api\/spaces\/demo(\/objects)?$/, async (route) => {
    if (route.request().method() !== "GET") return route.continue();
    const response = await route.fetch();
    const body = await response.json();
    await route.fulfill({ response, json: Array.isArray(body) ? inject(body) : { ...body, objects: inject(body.objects) } });
  });
  await page.goto(`${server.base}/?name=Eve`);
  await page.waitForSelector("#space:not([hidden])");
  for (const [id, , words] of injected) {
    await page.evaluate((id) => window.meetbridge.walkTo(id), id);
    const refused = page.locator(`.meetbridge-refused[data-object="${id}"]`);
    await refused.waitFor();
    const text = await refused.textContent();
    assert.match(text, new RegExp(`the plugin of object ${id} was not opened`));
    assert.match(text, words);
    assert.equal(await page.locator(`iframe[data-object="${id}"]`).count(), 0, `${id}: no iframe`);
    assert.equal(await page.evaluate((id) => window.meetbridge.host.frameOf(id) === undefined, id), true);
  }
  // A good object still opens.
  const good = await page.evaluate(() => [...window.meetbridge.objects.values()].find((o) => o.def.pluginUrl.startsWith("/plugins/")).def.id);
  await page.evaluate((id) => window.meetbridge.walkTo(id), good);
  await page.waitForSelector(`iframe[data-object="${good}"]`);
  assert.deepEqual(dialogs, [], "no script of the injected URLs ran");
  await context.close();
});
