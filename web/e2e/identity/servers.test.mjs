// The host runtime's list of server URLs, in headless Chromium against two real `meetbridge`
// processes sharing the token secret: the page learns both from /api/info (`--ws-url`),
// connects to the first, and when that process is killed (SIGKILL) moves to the second and
// resumes there with `since`, sending what was not acknowledged with its message id. The two
// are single nodes (no shared store): this is the URL rotation, not the cluster's semantics.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { launch } from "../lib/chromium.mjs";
import { sleep, startServer } from "../lib/server.mjs";

const hint = "cargo build -p meetbridge-server, then (cd web && npm run wasm && npm run build)";
const SECRET = "servers-e2e-shared-secret-of-both-nodes";
let a, b, browser;

async function freePort() {
  const probe = createServer();
  await new Promise((ok) => probe.listen(0, "127.0.0.1", ok));
  const { port } = probe.address();
  await new Promise((ok) => probe.close(ok));
  return port;
}

before(async () => {
  const [pa, pb] = [await freePort(), await freePort()];
  const urls = [`ws://localhost:${pa}/ws`, `ws://localhost:${pb}/ws`];
  const common = ["--jwt-hs256-secret", SECRET];
  a = await startServer({ args: [...common, "--ws-url", urls[0], "--ws-url", urls[1]], listen: `127.0.0.1:${pa}`, hint, prefix: "meetbridge-servers-a-e2e-" });
  b = await startServer({ args: common, listen: `127.0.0.1:${pb}`, hint, prefix: "meetbridge-servers-b-e2e-" });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const s of [a, b]) {
    await s?.stop();
    s?.cleanup();
  }
});

/** A user on a raw socket of `server`, subscribed to the floor: what it receives, and a way to send. */
async function rawUser(server, name) {
  const login = await fetch(`${server.base}/api/dev/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  }).then((r) => r.json());
  // The floor object exists on this node too (the space page makes it the same way).
  await fetch(`${server.base}/api/spaces/demo/objects`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${login.token}` },
    body: JSON.stringify({ id: "demo-floor", name: "Floor", pluginUrl: "meetbridge:floor" }),
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/api/info`);
  await page.evaluate(
    ({ token }) =>
      new Promise((resolve) => {
        window.got = [];
        window.seen = [];
        const ws = new WebSocket(`${location.origin.replace("http", "ws")}/ws`, ["meetbridge", token]);
        window.ws = ws;
        window.req = 100;
        ws.onmessage = (e) => {
          const f = JSON.parse(e.data);
          if (f.op === "welcome") ws.send(JSON.stringify({ op: "presence", req: 1, object: "demo-floor", status: "subscribed" }));
          if (f.op === "ack" && f.req === 1) resolve();
          if (f.op !== "plugin") return;
          if (f.message.type === "ovice_message") window.got.push(f.message.payload.event);
          if (f.message.type === "ovice_participant_subscribed") window.seen.push(f.message.payload.id);
        };
      }),
    { token: login.token },
  );
  return {
    context,
    got: () => page.evaluate(() => window.got.filter((e) => /^[mc]-/.test(e))),
    seen: () => page.evaluate(() => window.seen),
    send: (event) =>
      page.evaluate(
        (event) => window.ws.send(JSON.stringify({ op: "plugin", req: ++window.req, object: "demo-floor", message: { type: "ovice_broadcast_message", payload: { event, message: 1 } } })),
        event,
      ),
  };
}

test("the first server is killed: the page moves to the next URL and resumes there, nothing sent twice", async () => {
  const context = await browser.newContext();
  // Every frame the page sends, with the socket it went on.
  await context.addInitScript(() => {
    const send = WebSocket.prototype.send;
    window.sent = [];
    WebSocket.prototype.send = function (data) {
      window.sent.push({ url: this.url, frame: JSON.parse(data) });
      return send.call(this, data);
    };
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${a.base}/?name=Alice`);
  await page.waitForFunction(() => window.meetbridge?.host?.connected);
  const [first, second] = await page.evaluate(() => fetch("/api/info").then((r) => r.json()).then((i) => i.servers));
  assert.equal(await page.evaluate(() => window.meetbridge.host.server), first);
  const carol = await rawUser(a, "Carol"); // on the first node, so Alice has a sequence number there
  const bob = await rawUser(b, "Bob"); // on the second
  await page.evaluate(() => {
    const host = window.meetbridge.host;
    window.delivered = [];
    const page = host.handler;
    host.onEvent((e) => {
      if (e.kind === "plugin" && e.message.type === "ovice_message") window.delivered.push(e.message.payload.event);
      page(e);
    });
  });
  await carol.send("c-0");
  await page.waitForFunction(() => window.delivered.includes("c-0"));
  const seq = await page.evaluate(() => window.meetbridge.host.maxSeq("demo-floor"));
  assert.ok(seq > 0);

  await a.kill();
  await page.evaluate(() => window.meetbridge.host.sendAsPage("demo-floor", { type: "ovice_broadcast_message", payload: { event: "m-1", message: 1 } }));
  await page.waitForFunction((url) => window.meetbridge.host.connected && window.meetbridge.host.server === url, second, { timeout: 15_000 });
  await page.evaluate(() => window.meetbridge.host.sendAsPage("demo-floor", { type: "ovice_broadcast_message", payload: { event: "m-2", message: 2 } }));
  while ((await bob.got()).length < 2) await sleep(50);
  await sleep(300);
  assert.deepEqual(await bob.got(), ["m-1", "m-2"], "each once, in order, on the second node");
  assert.ok((await bob.seen()).includes("dev-alice"), "Alice is present on the second node");
  assert.equal(await page.evaluate(() => window.meetbridge.host.pending), 0);

  const sent = await page.evaluate(() => window.sent);
  const onSecond = sent.filter((s) => s.url === second).map((s) => s.frame);
  const resume = onSecond.find((f) => f.op === "presence" && f.object === "demo-floor");
  assert.equal(resume.since, seq, "resumed with since = what it saw on the first node");
  const m1 = sent.filter((s) => s.frame.message?.payload?.event === "m-1");
  assert.equal(new Set(m1.map((s) => s.frame.id)).size, 1, "m-1 kept its message id wherever it was sent");
  assert.ok(m1.some((s) => s.url === second));
  assert.deepEqual(errors, []);
  await Promise.all([bob.context.close(), carol.context.close(), context.close()]);
});
