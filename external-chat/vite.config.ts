import { readFileSync } from 'node:fs';
import basicSsl from '@vitejs/plugin-basic-ssl';
import { defineConfig, type Plugin } from 'vite';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/**
 * Web App 3 loads a plugin in `<iframe sandbox="allow-scripts">`: an opaque origin, from
 * which module scripts and a separate .wasm are CORS fetches that a plain static host
 * refuses. So the build is one self-contained index.html: the bundle (which already
 * carries the wasm as base64) is inlined into it.
 */
function inlineIntoHtml(): Plugin {
  return {
    name: 'external-chat:inline-into-html',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const html = bundle['index.html'];
      if (!html || html.type !== 'asset') throw new Error('index.html missing from the bundle');
      let text = String(html.source);
      for (const [fileName, chunk] of Object.entries(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const tag = new RegExp(`<script type="module"[^>]*src="[^"]*${fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*></script>`);
        if (!tag.test(text)) throw new Error(`no <script> for ${fileName} in index.html`);
        const code = chunk.code.replaceAll('</script', '<\\/script');
        text = text.replace(tag, () => `<script type="module">${code}</script>`);
        delete bundle[fileName];
      }
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
  plugins: [basicSsl(), inlineIntoHtml()],
  server: { port: 5173, strictPort: true, cors: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: false,
    assetsInlineLimit: Number.MAX_SAFE_INTEGER,
    reportCompressedSize: false,
  },
});
