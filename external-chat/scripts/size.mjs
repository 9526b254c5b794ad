// Reports the size of the built plugin: what ships (index.html and external-chat.js), and
// inside the script the JS (the glue, @pexip/plugin-api and the wasm-bindgen JS) and the
// wasm (carried as base64), each raw and gzipped (gzip -9). Run after `npm run build` (or
// `make package`):
//   node external-chat/scripts/size.mjs [path/to/dist] [--markdown]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const markdown = args.includes('--markdown');
const dir = resolve(args.find((a) => !a.startsWith('--')) ?? resolve(import.meta.dirname, '../dist'));
const html = readFileSync(join(dir, 'index.html'));
const script = readFileSync(join(dir, 'external-chat.js'));
if (/<script(?![^>]*\ssrc=)/.test(html.toString('utf8'))) throw new Error('index.html has an inline script');
const js = script.toString('utf8');
// The wasm is the one long base64 string literal in the bundle.
const literals = [...js.matchAll(/(["'`])([A-Za-z0-9+/]{1000,}={0,2})\1/g)];
if (literals.length !== 1) throw new Error(`expected one wasm literal, found ${literals.length}`);
const base64 = literals[0][2];
const wasm = Buffer.from(base64, 'base64');
if (wasm.readUInt32BE(0) !== 0x0061736d) throw new Error('the literal is not a wasm module');
const jsOnly = Buffer.from(js.replace(base64, ''), 'utf8');
const both = Buffer.concat([html, script]);

const gz = (b) => gzipSync(b, { level: 9 }).length;
const rows = [
  ['index.html + external-chat.js (as shipped)', both.length, gz(html) + gz(script)],
  ['index.html', html.length, gz(html)],
  ['external-chat.js', script.length, gz(script)],
  ['JS without the wasm', jsOnly.length, gz(jsOnly)],
  ['wasm (binary)', wasm.length, gz(wasm)],
  ['wasm as base64 (inside the JS)', base64.length, gz(Buffer.from(base64))],
];
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
if (markdown) {
  console.log('| Part | Raw | Gzipped |\n|---|---:|---:|');
  for (const [name, raw, z] of rows) console.log(`| ${name} | ${raw} B (${kb(raw)}) | ${z} B (${kb(z)}) |`);
} else {
  for (const [name, raw, z] of rows) console.log(`${name.padEnd(44)} raw ${String(raw).padStart(8)} B   gzip ${String(z).padStart(7)} B`);
}
