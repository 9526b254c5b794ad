// Development: serves the Web App 3 stand-in and the top page (two origins) so you can
// click through the plugin by hand. Run `make package` and build meeting-host first:
//   bash scripts/build-wasm.sh meetbridge-meeting-host web/pkg/meeting-host
//   node web/e2e/pexip/serve.mjs            # the plugin from the zip
//   node web/e2e/pexip/serve.mjs --dev      # the plugin from `npm start` (https://localhost:5173)
// then open the printed URL. Ctrl-C stops.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSites, serve } from './harness.mjs';

const dev = process.argv.includes('--dev');
const { webapp3, topRoot } = await buildSites();
if (dev) {
  const manifest = JSON.parse(readFileSync(join(webapp3, 'branding/manifest.json'), 'utf8'));
  manifest.plugins[0].src = 'https://localhost:5173/';
  writeFileSync(join(webapp3, 'branding/manifest.json'), JSON.stringify(manifest, null, 2));
}
const webapp = await serve(webapp3, '127.0.0.1', 5174);
const top = await serve(topRoot, '127.0.0.1', 5175);
const standin = `http://localhost:${webapp.port}/standin/index.html`;
console.log(`Web App 3 stand-in: ${standin}`);
console.log(`top page (demo):    http://127.0.0.1:${top.port}/top.html?demo=1&webapp=${encodeURIComponent(standin)}`);
