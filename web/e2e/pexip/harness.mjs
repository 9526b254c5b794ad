// Test harness for the external-chat plugin: unzips the packaged plugin
// (external-chat-v<version>.zip, built by `make package`), builds the Web App 3 stand-in and
// the top page, serves them from two different origins (http://localhost:<a> and
// http://127.0.0.1:<b>), and drives headless Chromium with playwright-core.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { launch } from '../lib/chromium.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../../..');
const web = resolve(root, 'web');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};

/**
 * The policy a strict Infinity deployment serves the plugin with: scripts from the
 * plugin's own folder only, no inline script, wasm compilation allowed.
 */
export const PLUGIN_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'";

/**
 * A tiny static file server; `requests` records every path asked for. Files under
 * /branding/plugins/ are served with PLUGIN_CSP and no CORS headers, as Infinity does.
 */
export function serve(dir, host = '127.0.0.1', port = 0) {
  const requests = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(path);
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
    if (path.startsWith('/branding/plugins/')) headers['content-security-policy'] = PLUGIN_CSP;
    res.writeHead(200, headers);
    res.end(readFileSync(file));
  });
  return new Promise((ok) => {
    server.listen(port, host, () => ok({ port: server.address().port, requests, close: () => new Promise((done) => server.close(done)) }));
  });
}

export function pluginVersion() {
  return JSON.parse(readFileSync(join(root, 'external-chat/package.json'), 'utf8')).version;
}

/**
 * Builds the two sites into a temporary directory: `webapp3` (the unzipped plugin package
 * plus the stand-in at /standin/) and `top` (top.html with ExternalChatHost).
 */
export async function buildSites() {
  const version = pluginVersion();
  const zip = join(root, `external-chat-v${version}.zip`);
  if (!existsSync(zip)) throw new Error(`${zip} missing: run \`make package\` first`);
  const meetingHost = join(web, 'pkg/meeting-host');
  if (!existsSync(join(meetingHost, 'meeting_host.js'))) {
    throw new Error('web/pkg/meeting-host missing: bash scripts/build-wasm.sh meetbridge-meeting-host web/pkg/meeting-host');
  }
  const tmp = mkdtempSync(join(tmpdir(), 'pexip-e2e-'));

  // Origin A (the Web App 3 stand-in): the unzipped webapp3/ folder plus the stand-in page.
  const webappRoot = join(tmp, 'webapp');
  execFileSync('unzip', ['-q', zip, '-d', webappRoot]);
  const webapp3 = join(webappRoot, 'webapp3');
  mkdirSync(join(webapp3, 'standin'));
  copyFileSync(join(web, 'webapp3-standin/index.html'), join(webapp3, 'standin/index.html'));
  await esbuild.build({
    entryPoints: [join(web, 'webapp3-standin/standin.ts')],
    bundle: true, format: 'esm', target: 'es2022', logLevel: 'error',
    outfile: join(webapp3, 'standin/standin.js'),
  });

  // Origin B (the embedding page): top.html with ExternalChatHost.
  const topRoot = join(tmp, 'top');
  mkdirSync(topRoot);
  copyFileSync(join(here, 'top.html'), join(topRoot, 'top.html'));
  copyFileSync(join(meetingHost, 'meeting_host_bg.wasm'), join(topRoot, 'meeting_host_bg.wasm'));
  await esbuild.build({
    entryPoints: [join(here, 'top.ts')],
    bundle: true, format: 'esm', target: 'es2022', logLevel: 'error',
    outfile: join(topRoot, 'top.js'),
  });
  return { version, tmp, webapp3, topRoot };
}

/** Everything a test needs: the servers, the browser, and `open()` for a fresh page. */
export async function setup() {
  const { version, tmp, webapp3, topRoot } = await buildSites();
  const webappServer = await serve(webapp3);
  const topServer = await serve(topRoot);
  const webappOrigin = `http://localhost:${webappServer.port}`;
  const topOrigin = `http://127.0.0.1:${topServer.port}`;

  const browser = await launch();

  /** Writes a variant of the branding manifest next to the real one; returns its name. */
  function manifestVariant(name, edit) {
    const manifest = JSON.parse(readFileSync(join(webapp3, 'branding/manifest.json'), 'utf8'));
    edit(manifest);
    writeFileSync(join(webapp3, `branding/${name}.json`), JSON.stringify(manifest));
    return `${name}.json`;
  }

  /**
   * Opens the top page with the stand-in in iframe#webapp3. Returns the page, the console
   * log of every frame, and helpers.
   */
  async function open({ manifest = 'manifest.json', waitReady = true, query = '', standinQuery = '' } = {}) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const consoleLog = [];
    page.on('console', (msg) => consoleLog.push({ type: msg.type(), text: msg.text(), url: msg.location()?.url ?? '' }));
    page.on('pageerror', (error) => consoleLog.push({ type: 'pageerror', text: String(error), url: '' }));
    const standinUrl = `${webappOrigin}/standin/index.html?${standinQuery}manifest=${encodeURIComponent(`../branding/${manifest}`)}`;
    await page.goto(`${topOrigin}/top.html?${query}webapp=${encodeURIComponent(standinUrl)}`);
    const events = () => page.evaluate(() => window.events);
    const waitFor = async (what, predicate, timeout = 5000) => {
      const start = Date.now();
      for (;;) {
        const value = await predicate();
        if (value) return value;
        if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(await events())}; console: ${JSON.stringify(consoleLog)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const standinFrame = () => page.frames().find((f) => f.url().startsWith(`${webappOrigin}/standin/`));
    const pluginFrame = () => page.frames().find((f) => f.url().includes('/plugins/external-chat/'));
    const standin = (fn, arg) => standinFrame().evaluate(fn, arg);
    const eventsNamed = async (name) => (await events()).filter((e) => e.event === name);
    await waitFor('the stand-in', async () => {
      const frame = standinFrame();
      return frame && (await frame.evaluate(() => Boolean(window.standin)).catch(() => false));
    });
    if (waitReady) await waitFor('ready', async () => (await eventsNamed('ready')).length === 1);
    return {
      page, context, consoleLog, events, eventsNamed, waitFor, standin, standinFrame, pluginFrame,
      /** The stand-in's toolbar buttons. */
      buttons: () => standin(() => window.standin.buttons),
      /** Posts a raw message from the top window to the plugin's window. */
      postFromTop: (message, targetOrigin = '*') =>
        page.evaluate(([m, o]) => window.frames[0].frames[0].postMessage(m, o), [message, targetOrigin]),
      /** Warnings the plugin logged. */
      pluginWarnings: () => consoleLog.filter((m) => m.type === 'warning' && m.text.startsWith('external-chat:')),
      close: () => context.close(),
    };
  }

  return {
    version, webapp3, webappOrigin, topOrigin, webappServer, topServer, manifestVariant, open,
    async teardown() {
      await browser.close();
      await webappServer.close();
      await topServer.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** The action prefix of the original external-chat contract. */
export const P = 'pexip:plugin:external-chat/';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Puts the stand-in in the call and waits until the top page heard `connected`. */
export async function joined(t) {
  await t.standin(() => window.standin.join());
  await t.waitFor('connected', async () => (await t.eventsNamed('connected')).length > 0);
}

/** A dial-out through the top page's ExternalChatHost: `{ ok, value }` or `{ ok, error }`. */
export const dial = (t, params, timeoutMs) => t.page.evaluate(([p, ms]) => window.dial(p, ms ?? undefined), [params, timeoutMs ?? null]);
