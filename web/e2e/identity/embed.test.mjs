// The space page embedded by another application, in headless Chromium against the real
// `meetbridge` server: a parent page on another loopback origin hands it a JWT by
// postMessage (only an --embed-origin is listened to), or the URL fragment carries it; when
// the token expires the server closes the socket with 4401, the host runtime asks the page,
// the page asks the parent, and the connection resumes with nothing lost or doubled; with
// no fresh token the page says the session ended.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { launch } from "../lib/chromium.mjs";
import { sleep, startServer } from "../lib/server.mjs";
import { startParent } from "./parent.mjs";

const hint = "cargo build -p meetbridge-server, then (cd web && npm run wasm && npm run build)";
const SECRET = "embed-e2e-shared-secret-of-the-chat-server";
let server, allowed, stranger, browser;

/** An HS256 JWT as an embedding application mints it with the shared secret. */
function mint(claims) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  return `${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`;
}
const now = () => Math.floor(Date.now() / 1000);
const alice = (exp) => mint({ sub: "alice", name: "Alice Embedded", space: "demo", exp, jti: `j-${exp}-${Math.random()}` });
/** Valid now, closed by the server in about 8 s (the 30 s leeway included): time enough
 * for a loaded machine to open the page and connect before it ends. */
const shortLived = () => alice(now() - 22);
const fresh = () => alice(now() + 3600);

before(async () => {
  allowed = await startParent();
  stranger = await startParent();
  server = await startServer({
    args: ["--jwt-hs256-secret", SECRET, "--embed-origin", `${allowed.origin}/`],
    hint,
    prefix: "meetbridge-embed-e2e-",
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
  await allowed?.close();
  await stranger?.close();
});

/** The parent page at `parent`, embedding the space page with `options` (see parent.mjs). */
async function embedAt(parent, options) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${parent.origin}/app`);
  await page.evaluate(({ src, options }) => window.embed(src, options), { src: `${server.base}/`, options });
  let frame;
  while (!(frame = page.frames().find((f) => f.url().startsWith(server.base)))) await sleep(50);
  return { context, page, frame, errors };
}

test("a --embed-origin parent hands the space page a token by postMessage and hears it was accepted", async () => {
  const { context, page, frame, errors } = await embedAt(allowed, { tokens: [fresh()] });
  await frame.waitForSelector("#space:not([hidden])");
  assert.equal((await frame.locator("#me").textContent()).trim(), "Alice Embedded");
  await frame.waitForFunction(() => window.meetbridge.host.connected);
  const log = await page.evaluate(() => window.log);
  assert.equal(log[0].data.type, "meetbridge_token_request");
  const answer = log.find((m) => m.data.type === "meetbridge_signed_in");
  assert.ok(answer, JSON.stringify(log));
  assert.equal(answer.origin, server.base);
  assert.equal(answer.data.participant.id, "alice");
  assert.equal(await frame.locator("#demo-banner").count(), 0, "no dev login, no banner");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a parent that is not an --embed-origin is neither asked nor listened to", async () => {
  const { context, page, frame } = await embedAt(stranger, { tokens: [fresh()], push: true });
  // The page waits for its allow-listed parent, then offers what the demo server has: the name login.
  await frame.waitForSelector("#login:not([hidden])", { timeout: 10_000 });
  await sleep(500);
  assert.equal(await frame.locator("#space").isHidden(), true);
  assert.equal((await frame.locator("#me").textContent()).trim(), "");
  assert.deepEqual(await page.evaluate(() => window.log), [], "nothing was posted to another origin");
  await context.close();
});

test("a token in the URL fragment signs the page in and leaves the address bar at once", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/#token=${fresh()}`);
  await page.waitForSelector("#space:not([hidden])");
  assert.equal((await page.locator("#me").textContent()).trim(), "Alice Embedded");
  assert.ok(!page.url().includes("token"), page.url());
  await context.close();
});

test("an --embed-origin that is not an origin stops the server at start, naming the flag", async () => {
  await assert.rejects(
    startServer({ args: ["--embed-origin", "https://chat.example.com/app"], hint, prefix: "meetbridge-embed-bad-e2e-" }),
    /`--embed-origin` "https:\/\/chat.example.com\/app" must be only scheme:\/\/host\[:port\]/,
  );
});

/** Bob, on a raw socket from a page of the server: what he receives on the floor object. */
async function bobOnTheFloor() {
  const login = await fetch(`${server.base}/api/dev/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "Bob" }),
  }).then((r) => r.json());
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/api/info`);
  await page.evaluate(
    ({ token }) =>
      new Promise((resolve) => {
        window.got = [];
        const ws = new WebSocket(`${location.origin.replace("http", "ws")}/ws`, ["meetbridge", token]);
        window.bob = ws;
        window.bobReq = 100;
        ws.onmessage = (e) => {
          const f = JSON.parse(e.data);
          if (f.op === "welcome") ws.send(JSON.stringify({ op: "presence", req: 1, object: "demo-floor", status: "subscribed" }));
          if (f.op === "ack" && f.req === 1) resolve();
          if (f.op === "plugin" && f.message.type === "ovice_message") window.got.push(f.message.payload.event);
        };
      }),
    { token: login.token },
  );
  const send = (event) =>
    page.evaluate(
      (event) => window.bob.send(JSON.stringify({ op: "plugin", req: ++window.bobReq, object: "demo-floor", message: { type: "ovice_broadcast_message", payload: { event, message: 1 } } })),
      event,
    );
  return { context, got: () => page.evaluate(() => window.got.filter((e) => /^[mb]-/.test(e))), send };
}

/** Alice's page records what its host runtime delivers (the page's own handler still runs). */
const tap = (frame) =>
  frame.evaluate(() => {
    const host = window.meetbridge.host;
    window.delivered = [];
    const page = host.handler;
    host.onEvent((e) => {
      if (e.kind === "plugin" && e.message.type === "ovice_message") window.delivered.push(e.message.payload.event);
      page(e);
    });
  });
const aliceSends = (frame, event) =>
  frame.evaluate((event) => window.meetbridge.host.sendAsPage("demo-floor", { type: "ovice_broadcast_message", payload: { event, message: 1 } }), event);

test("a short-lived token expires: 4401, the parent hands a fresh one, and every message arrives once", async () => {
  const { context, page, frame, errors } = await embedAt(allowed, { tokens: [shortLived(), fresh()], delayMs: 1500 });
  await frame.waitForFunction(() => window.meetbridge?.host?.connected);
  const bob = await bobOnTheFloor();
  await tap(frame);
  // Before the expiry, so Alice has a sequence number to resume from.
  await bob.send("b-0");
  await aliceSends(frame, "m-1");
  while (!(await bob.got()).includes("m-1") || !(await frame.evaluate(() => window.delivered.includes("b-0")))) await sleep(50);
  // The server ends the token (about 8 s); the parent takes 1.5 s to answer.
  await frame.waitForFunction(() => !window.meetbridge.host.connected, null, { timeout: 15_000 });
  await aliceSends(frame, "m-2"); // while Alice has no socket
  await bob.send("b-1"); // while Alice is away
  await frame.waitForFunction(() => window.meetbridge.host.connected, null, { timeout: 15_000 });
  await aliceSends(frame, "m-3");
  await bob.send("b-2");
  while ((await bob.got()).length < 3 || !(await frame.evaluate(() => window.delivered.includes("b-2")))) await sleep(50);
  await sleep(300);
  assert.deepEqual(await bob.got(), ["m-1", "m-2", "m-3"], "Bob got each of Alice's messages once, in order");
  assert.deepEqual(await frame.evaluate(() => window.delivered), ["b-0", "b-1", "b-2"], "Alice got what Bob sent while she was away, once");
  assert.equal(await frame.evaluate(() => window.meetbridge.host.pending), 0);
  const log = await page.evaluate(() => window.log);
  const requests = log.filter((m) => m.data.type === "meetbridge_token_request");
  assert.equal(requests.length, 2, JSON.stringify(log));
  assert.match(requests[1].data.reason, /token expired/);
  assert.equal(log.filter((m) => m.data.type === "meetbridge_signed_in").length, 2);
  assert.equal(await frame.locator("#session-ended").count(), 0);
  assert.deepEqual(errors, []);
  await bob.context.close();
  await context.close();
});

test("a token expires and the parent gives none: the page says the session ended, in words", async () => {
  const { context, frame } = await embedAt(allowed, { tokens: [shortLived()] });
  await frame.waitForFunction(() => window.meetbridge?.host?.connected);
  await frame.waitForSelector("#session-ended", { timeout: 20_000 });
  const words = await frame.locator("#session-ended").textContent();
  assert.match(words, /Your session ended: token expired/);
  assert.match(words, /hand it a new token/);
  assert.equal((await frame.locator("#conn").textContent()).trim(), "signed out");
  await sleep(1500);
  assert.equal(await frame.evaluate(() => window.meetbridge.host.connected), false, "it does not reconnect by itself");
  await context.close();
});
