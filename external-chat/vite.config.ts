import { readFileSync } from 'node:fs';
import basicSsl from '@vitejs/plugin-basic-ssl';
import { defineConfig, type Plugin } from 'vite';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The bundle's file name, next to index.html. */
const SCRIPT = 'external-chat.js';

/**
 * Web App 3 loads a plugin in `<iframe sandbox="allow-scripts">`: an opaque origin, from
 * which module scripts and fetches are CORS requests that Infinity answers without
 * `Access-Control-Allow-Origin`. Infinity may also serve it under a strict policy,
 * `script-src 'self' 'wasm-unsafe-eval'`, which refuses inline scripts. So the build is
 * index.html plus one classic script from the same folder (no inline script, no module,
 * no fetch); the script carries the wasm as base64 and compiles it, which
 * 'wasm-unsafe-eval' allows.
 */
function classicScript(): Plugin {
  return {
    name: 'external-chat:classic-script',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const html = bundle['index.html'];
      if (!html || html.type !== 'asset') throw new Error('index.html missing from the bundle');
      const chunks = Object.values(bundle).filter((c) => c.type === 'chunk');
      if (chunks.length !== 1 || chunks[0].fileName !== SCRIPT) {
        throw new Error(`expected one chunk, ${SCRIPT}; got ${chunks.map((c) => c.fileName).join(', ')}`);
      }
      const tag = /<script type="module"[^>]*src="[^"]*"[^>]*><\/script>/;
      let text = String(html.source);
      if (!tag.test(text)) throw new Error('no module <script> in index.html');
      // Classic, same folder, no `crossorigin` (which would make it a CORS request).
      text = text.replace(tag, '');
      text = text.replace('</body>', `  <script src="./${SCRIPT}"></script>\n  </body>`);
      if (/<script(?![^>]*\ssrc=)/.test(text)) throw new Error('index.html still has an inline script');
      html.source = text;
    },
  };
}

export default defineConfig({
  base: './',
  define: {
    __PLUGIN_VERSION__: JSON.stringify(pkg.version),
    // Optional fixed host origin (the embedding page); see README.
    __HOST_ORIGIN__: JSON.stringify(process.env.EXTERNAL_CHAT_HOST_ORIGIN ?? ''),
  },
  plugins: [basicSsl(), classicScript()],
  server: { port: 5173, strictPort: true, cors: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: false,
    assetsInlineLimit: Number.MAX_SAFE_INTEGER,
    reportCompressedSize: false,
    rollupOptions: {
      output: { format: 'iife', entryFileNames: SCRIPT, inlineDynamicImports: true },
    },
  },
});
