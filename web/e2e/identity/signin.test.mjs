// Signing in to the space page and the meeting page in headless Chromium, against the real
// `meetbridge` server and a real OpenID provider (`oidc-provider`) on loopback: "Sign in"
// (authorization code + PKCE) and "Sign out" on both pages, the dev login still offered
// beside it with --demo, and a server with neither saying in words how to get in.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch } from "../lib/chromium.mjs";
import { startServer } from "../lib/server.mjs";
import { signInAtProvider, startProvider } from "../lib/oidc.mjs";

const hint = "cargo build -p meetbridge-server, then (cd web && npm run wasm && npm run build)";
let provider, server, bare, browser;

before(async () => {
  provider = await startProvider();
  server = await startServer({
    args: ["--oidc-issuer", provider.issuer, "--oidc-client-id", provider.clientId],
    hint,
    prefix: "meetbridge-signin-e2e-",
  });
  provider.configure([`${server.base}/`, `${server.base}/meeting/`, `${server.base}/admin/`]);
  // No identity provider and no --demo: nobody can get in, and the page says so.
  bare = await startServer({ demo: false, hint, prefix: "meetbridge-signin-bare-e2e-" });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const s of [server, bare]) {
    await s?.stop();
    s?.cleanup();
  }
  await provider?.close();
});

async function open(url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  return { context, page, errors };
}

const text = (page, selector) => page.locator(selector).textContent();

test("the space page: Sign in through the provider (code + PKCE), in the space as that user, Sign out", async () => {
  const { context, page, errors } = await open(`${server.base}/`);
  // With --demo, both ways in: the provider's and the dev login by name.
  await page.waitForSelector("#oidc-signin:visible");
  await page.waitForSelector("#login:not([hidden])");
  const authorizeRequest = page.waitForRequest((r) => r.url().startsWith(`${provider.issuer}/auth`));
  await page.click("#oidc-signin");
  const authorize = new URL((await authorizeRequest).url()).searchParams;
  assert.equal(authorize.get("code_challenge_method"), "S256");
  assert.equal(authorize.get("redirect_uri"), `${server.base}/`);
  await signInAtProvider(page, "bob");
  await page.waitForURL((u) => u.href.startsWith(`${server.base}/`));
  await page.waitForSelector("#space:not([hidden])");
  assert.equal((await text(page, "#me")).trim(), "Bob Member");
  await page.waitForFunction(() => document.querySelector("#conn").textContent === "connected");
  assert.equal(await page.evaluate(() => window.meetbridge.host.identity().id), "bob");
  assert.ok(!page.url().includes("code="), "the code is removed from the address bar");
  assert.equal(await page.locator("#demo-banner").count(), 0, "no demo banner for a real sign-in");
  assert.deepEqual(errors, []);

  await page.click("#signout");
  await page.waitForURL((u) => u.origin === provider.issuer);
  await page.click('button[name="logout"]');
  await page.waitForURL((u) => u.href.startsWith(`${server.base}/`));
  await page.waitForSelector("#oidc-signin:visible");
  assert.equal(await page.locator("#space").isHidden(), true);
  await context.close();
});

test("the meeting page: Sign in comes back to the same meeting, Sign out leaves it", async () => {
  const { context, page, errors } = await open(`${server.base}/meeting/?meeting=signed-in-meeting`);
  await page.waitForSelector("#oidc-signin:visible");
  await page.click("#oidc-signin");
  await signInAtProvider(page, "ann");
  await page.waitForURL((u) => u.href.startsWith(`${server.base}/meeting/`));
  await page.waitForSelector("#meeting:not([hidden])");
  assert.equal(new URL(page.url()).searchParams.get("meeting"), "signed-in-meeting", "back to the meeting it was asked for");
  assert.equal((await text(page, "#me")).trim(), "Ann Admin");
  assert.match(await text(page, "#meeting-name"), /Meeting signed-in-meeting · you host/);
  await page.waitForFunction(() => window.meeting?.spaceHost?.connected === true);
  assert.deepEqual(errors, []);
  await page.click("#signout");
  await page.waitForURL((u) => u.origin === provider.issuer);
  await page.click('button[name="logout"]');
  await page.waitForURL((u) => u.href.startsWith(`${server.base}/meeting/`));
  await page.waitForSelector("#oidc-signin:visible");
  await context.close();
});

test("with --demo the dev login still works beside Sign in, with its banner", async () => {
  const { context, page } = await open(`${server.base}/`);
  await page.waitForSelector("#oidc-signin:visible");
  await page.fill("#name", "Dora");
  await page.click("#login button");
  await page.waitForSelector("#space:not([hidden])");
  assert.equal((await text(page, "#me")).trim(), "Dora");
  assert.equal((await text(page, "#demo-banner")).trim(), "demo login: anyone can be anyone");
  assert.equal(await page.locator("#signin").isHidden(), true);
  await context.close();
});

test("without an identity provider and without --demo, both pages say in words how to get in", async () => {
  for (const path of ["/", "/meeting/"]) {
    const { context, page } = await open(`${bare.base}${path}`);
    await page.waitForSelector(".fatal");
    const words = await text(page, ".fatal");
    assert.match(words, /Nobody can sign in here yet/, path);
    assert.match(words, /--oidc-issuer and --oidc-client-id/, path);
    assert.match(words, /#token=/, path);
    assert.match(words, /--embed-origin/, path);
    assert.equal(await page.locator("#login").isHidden(), true, `${path}: no name login`);
    assert.equal(await page.locator("#oidc-signin").count(), 0, `${path}: no Sign in button`);
    await context.close();
  }
});
