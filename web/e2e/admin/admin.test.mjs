// The admin console and OpenID Connect sign-in in headless Chromium, against the real
// `meetbridge` server and a real OpenID provider (`oidc-provider`) on loopback: the admin
// key, spaces and objects (a refused plugin URL shown in words), revoking a user closes their
// open socket with 4401, and sign-in / sign-out through the provider (code flow + PKCE).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launch } from "../lib/chromium.mjs";
import { startServer } from "../lib/server.mjs";
import { signInAtProvider, startProvider } from "../lib/oidc.mjs";

let provider, server, browser, adminKey;

before(async () => {
  provider = await startProvider();
  server = await startServer({
    args: ["--oidc-issuer", provider.issuer, "--oidc-client-id", provider.clientId],
    hint: "cargo build -p meetbridge-server, then (cd web && npm run wasm && npm run build)",
    needs: [],
    prefix: "meetbridge-admin-e2e-",
  });
  provider.configure([`${server.base}/admin/`, `${server.base}/`, `${server.base}/meeting/`]);
  adminKey = readFileSync(join(server.dataDir, "admin-key"), "utf8").trim();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
  await provider?.close();
});

async function open(path = "/admin/") {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.base}${path}`);
  return { context, page, errors };
}

const text = (page, selector) => page.locator(selector).textContent();

test("the admin key opens the console; spaces and objects are created; refusals are sentences", async () => {
  const { context, page, errors } = await open();
  await page.waitForSelector("#signin:not([hidden])");
  await page.fill("#admin-key", "wrong-key");
  await page.click("#key-form button");
  await page.waitForFunction(() => document.querySelector("#signin-error").textContent.length > 0);
  const refused = await text(page, "#signin-error");
  assert.match(refused, /admin/i);
  assert.ok(!refused.trim().startsWith("{"), `a sentence, not JSON: ${refused}`);

  await page.fill("#admin-key", adminKey);
  await page.click("#key-form button");
  await page.waitForSelector("#console:not([hidden])");
  await page.waitForSelector('#space-list button[data-space="demo"]');

  await page.fill("#space-id", "e2e-space");
  await page.fill("#space-name", "E2E space");
  await page.click("#new-space button");
  await page.waitForSelector('#space-list button[data-space="e2e-space"][aria-current="true"]');

  await page.fill("#object-name", "Evil");
  await page.fill("#object-url", "javascript:alert(document.domain)");
  await page.click("#object-save");
  await page.waitForFunction(() => document.querySelector("#object-error").textContent.length > 0);
  const why = await text(page, "#object-error");
  assert.match(why, /^Plugin URL: /, "the field by its label");
  assert.match(why, /javascript/);
  assert.equal(await page.locator("#object-list tr").count(), 0);

  await page.fill("#object-name", "Notes");
  await page.fill("#object-url", "/plugins/notes/");
  await page.check("#object-email");
  await page.click("#object-save");
  await page.waitForSelector("#object-list tr");
  const row = await page.locator("#object-list tr").first().innerText();
  assert.match(row, /Notes/);
  assert.match(row, /\/plugins\/notes\//);
  assert.match(row, /yes/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("revoking a user closes their open socket with 4401 and a reason", async () => {
  const minted = await fetch(`${server.base}/api/admin/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: JSON.stringify({ id: "victim", name: "Victim", space: "demo" }),
  }).then((r) => r.json());
  assert.ok(minted.token, JSON.stringify(minted));

  const { context, page } = await open("/admin/");
  // The victim's socket, opened from a page of the same origin.
  const closed = page.evaluate(
    ({ token }) =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${location.origin.replace("http", "ws")}/ws`, ["meetbridge", token]);
        ws.onopen = () => (window.victimOpen = ws.protocol);
        ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
      }),
    { token: minted.token },
  );
  await page.waitForFunction(() => window.victimOpen !== undefined);
  assert.equal(await page.evaluate(() => window.victimOpen), "meetbridge", "the token is never echoed as the subprotocol");

  await page.fill("#admin-key", adminKey);
  await page.click("#key-form button");
  await page.waitForSelector("#console:not([hidden])");
  await page.fill("#revoke-user", "victim");
  await page.click("#revoke-user-form button");
  await page.waitForFunction(() => /Revoked victim/.test(document.querySelector("#revoke-result").textContent));
  const { code, reason } = await closed;
  assert.equal(code, 4401);
  assert.match(reason, /revoked/);
  await page.waitForFunction(() => /victim/.test(document.querySelector("#revocations").textContent));

  // The revoked token no longer opens anything.
  const r = await fetch(`${server.base}/api/spaces/demo/objects`, { headers: { authorization: `Bearer ${minted.token}` } });
  assert.equal(r.status, 401);
  assert.match((await r.json()).message, /revoked/);
  await context.close();
});

test("sign in through the OpenID provider (code + PKCE), use the console, sign out", async () => {
  const { context, page, errors } = await open();
  await page.waitForSelector("#oidc-signin:not([hidden])");
  const authorizeRequest = page.waitForRequest((r) => r.url().startsWith(`${provider.issuer}/auth`));
  await page.click("#oidc-signin");
  const authorize = new URL((await authorizeRequest).url()).searchParams;
  assert.equal(authorize.get("code_challenge_method"), "S256");
  assert.ok(authorize.get("code_challenge") && authorize.get("nonce") && authorize.get("state"));
  assert.equal(authorize.get("response_type"), "code");
  await signInAtProvider(page, "ann");
  await page.waitForURL((u) => u.href.startsWith(`${server.base}/admin/`));
  await page.waitForSelector("#console:not([hidden])");
  assert.match(await text(page, "#who"), /Ann Admin \(admin\)/);
  assert.ok(!page.url().includes("code="), "the code is removed from the address bar");
  await page.waitForSelector('#space-list button[data-space="demo"]');
  assert.deepEqual(errors, []);

  await page.click("#signout");
  await page.waitForURL((u) => u.origin === provider.issuer);
  // The provider asks to confirm the sign-out.
  await page.click('button[name="logout"]');
  await page.waitForURL((u) => u.href.startsWith(`${server.base}/admin/`));
  await page.waitForSelector("#signin:not([hidden])");
  await context.close();
});

test("a member signed in through the provider is not let in, and is told why in words", async () => {
  const { context, page } = await open();
  await page.click("#oidc-signin");
  await page.waitForURL((u) => u.origin === provider.issuer);
  await signInAtProvider(page, "bob");
  await page.waitForURL((u) => u.href.startsWith(`${server.base}/admin/`));
  await page.waitForFunction(() => document.querySelector("#signin-error").textContent.length > 0);
  const why = await text(page, "#signin-error");
  assert.match(why, /Bob Member \(role member\)/);
  assert.match(why, /administering needs role admin/);
  assert.equal(await page.locator("#console").isHidden(), true);
  await context.close();
});

test("a page logged in by the demo's dev login shows the demo banner", async () => {
  const { context, page } = await open("/?name=Banner");
  await page.waitForSelector("#demo-banner");
  assert.equal((await text(page, "#demo-banner")).trim(), "demo login: anyone can be anyone");
  assert.equal(await page.locator("#demo-banner").isVisible(), true);
  await context.close();
});
