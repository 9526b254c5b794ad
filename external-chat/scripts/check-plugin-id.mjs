// Fails when the plugin id registered in src/index.ts (`registerPlugin({ id: '…' })`)
// differs from the id of the plugin entry in the branding manifest (`plugins[].id`) whose
// `src` points at plugins/external-chat/: Web App 3 rejects a plugin whose ids differ.
// Usage: node check-plugin-id.mjs [src/index.ts] [webapp3/branding/manifest.json]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const indexPath = resolve(process.argv[2] ?? `${root}/external-chat/src/index.ts`);
const manifestPath = resolve(process.argv[3] ?? `${root}/webapp3/branding/manifest.json`);

function fail(message) {
  console.error(`check-plugin-id: ${message}`);
  process.exit(1);
}

const source = readFileSync(indexPath, 'utf8');
const calls = [...source.matchAll(/registerPlugin\s*\(\s*\{[^}]*?\bid\s*:\s*(['"`])([^'"`]*)\1/g)];
if (calls.length !== 1) fail(`expected one registerPlugin({ id: '…' }) with a literal id in ${indexPath}, found ${calls.length}`);
const codeId = calls[0][2];

let manifest;
try {
  manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
} catch (error) {
  fail(`cannot read ${manifestPath}: ${error.message}`);
}
const plugins = Array.isArray(manifest.plugins) ? manifest.plugins : [];
const entries = plugins.filter((p) => typeof p?.src === 'string' && /(^|\/)plugins\/external-chat\//.test(p.src));
if (entries.length !== 1) fail(`expected one plugins[] entry with src under plugins/external-chat/ in ${manifestPath}, found ${entries.length}`);
const manifestId = entries[0].id;
if (manifestId !== codeId) {
  fail(`plugin id mismatch: src/index.ts registers '${codeId}' but ${manifestPath} plugins[].id is '${manifestId}'`);
}
console.log(`check-plugin-id: '${codeId}' matches the branding manifest`);
