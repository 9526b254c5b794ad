// Reports the size of the built plugin: the shipped index.html, and inside it the JS (the
// glue, @pexip/plugin-api and the wasm-bindgen JS) and the wasm (carried as base64), each
// raw and gzipped (gzip -9). Run after `npm run build` (or `make package`):
//   node external-chat/scripts/size.mjs [path/to/index.html] [--markdown]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const markdown = args.includes('--markdown');
const file = resolve(args.find((a) => !a.startsWith('--')) ?? resolve(import.meta.dirname, '../dist/index.html'));
const html = readFileSync(file);
const text = html.toString('utf8');

const scripts = [...text.matchAll(/<script type="module">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
if (scripts.length !== 1) throw new Error(`expected one inline module script in ${file}, found ${scripts.length}`);
const js = scripts[0];
// The wasm is the one long base64 string literal in the bundle.
const literals = [...js.matchAll(/(["'`])([A-Za-z0-9+/]{1000,}={0,2})\1/g)];
if (literals.length !== 1) throw new Error(`expected one inline wasm literal, found ${literals.length}`);
const base64 = literals[0][2];
const wasm = Buffer.from(base64, 'base64');
if (wasm.readUInt32BE(0) !== 0x0061736d) throw new Error('the inline literal is not a wasm module');
const jsOnly = Buffer.from(js.replace(base64, ''), 'utf8');

const gz = (b) => gzipSync(b, { level: 9 }).length;
const rows = [
  ['index.html (everything, as shipped)', html.length, gz(html)],
  ['JS without the wasm', jsOnly.length, gz(jsOnly)],
  ['wasm (binary)', wasm.length, gz(wasm)],
  ['wasm as base64 (inside the JS)', base64.length, gz(Buffer.from(base64))],
];
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
if (markdown) {
  console.log('| Part | Raw | Gzipped |\n|---|---:|---:|');
  for (const [name, raw, z] of rows) console.log(`| ${name} | ${raw} B (${kb(raw)}) | ${z} B (${kb(z)}) |`);
} else {
  for (const [name, raw, z] of rows) console.log(`${name.padEnd(38)} raw ${String(raw).padStart(8)} B   gzip ${String(z).padStart(7)} B`);
}
