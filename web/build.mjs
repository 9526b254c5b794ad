// Builds web/dist, which the server serves at `/`:
//   index.html, dev.html, app/*.js|css   the space view and the multi-user dev view
//   admin/, app/admin.js|css             the admin console
//   host/                                the host runtime's wasm (from web/pkg/space-host, `npm run wasm`)
//   sdk/ovice-plugin-sdk.js              the plugin SDK as one ES module, for plugin authors
//   plugins/<name>/                      the demo plugins (classic scripts: they run in
//                                        sandboxed, opaque-origin iframes, where module
//                                        scripts would need CORS)
//   meeting/, app/meeting.js|css         the meeting page (Web App 3 + the chat room), with
//   host/meeting_host_bg.wasm            ExternalChatHost's wasm (web/pkg/meeting-host)
//   webapp3-standin/                     the Web App 3 stand-in, the meeting page's default
// Usage: node build.mjs [--watch]
import { build, context } from "esbuild";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const pkg = join(root, "pkg", "space-host");
const watch = process.argv.includes("--watch");
const meetingHost = join(root, "pkg", "meeting-host");
const meeting = existsSync(join(meetingHost, "meeting_host_bg.wasm"));
if (!meeting) console.warn("web/pkg/meeting-host is missing: the meeting page is not built (`npm run wasm` builds it)");

if (!existsSync(join(pkg, "meetbridge_space_host_bg.wasm"))) {
  console.error("web/pkg/space-host is missing: run `npm run wasm` first (needs cargo, wasm-bindgen)");
  process.exit(1);
}
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "app"), { recursive: true });
mkdirSync(join(dist, "host"), { recursive: true });

const common = { bundle: true, target: "es2020", logLevel: "warning", sourcemap: true, minify: !watch, legalComments: "none" };
const plugins = readdirSync(join(root, "plugins"), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
const configs = [
  {
    ...common,
    entryPoints: { space: join(root, "pages/space.ts"), dev: join(root, "pages/dev.ts"), admin: join(root, "pages/admin/admin.ts") },
    outdir: join(dist, "app"),
    format: "esm",
  },
  {
    ...common,
    entryPoints: [join(root, "sdk/src/index.ts")],
    outfile: join(dist, "sdk/ovice-plugin-sdk.js"),
    format: "esm",
    minify: false,
  },
  ...(meeting
    ? [
        {
          ...common,
          entryPoints: { meeting: join(root, "pages/meeting/meeting.ts") },
          outdir: join(dist, "app"),
          format: "esm",
        },
        {
          ...common,
          entryPoints: [join(root, "webapp3-standin/standin.ts")],
          outfile: join(dist, "webapp3-standin/standin.js"),
          format: "esm",
        },
      ]
    : []),
  ...plugins
    .filter((name) => existsSync(join(root, "plugins", name, "main.ts")))
    .map((name) => ({
      ...common,
      entryPoints: [join(root, "plugins", name, "main.ts")],
      outfile: join(dist, "plugins", name, "main.js"),
      format: "iife",
    })),
];

for (const name of plugins) {
  cpSync(join(root, "plugins", name), join(dist, "plugins", name), { recursive: true, filter: (src) => !src.endsWith(".ts") });
}
cpSync(join(root, "pages/index.html"), join(dist, "index.html"));
cpSync(join(root, "pages/dev.html"), join(dist, "dev.html"));
for (const css of ["common.css", "space.css"]) cpSync(join(root, "pages", css), join(dist, "app", css));
mkdirSync(join(dist, "admin"), { recursive: true });
cpSync(join(root, "pages/admin/index.html"), join(dist, "admin/index.html"));
cpSync(join(root, "pages/admin/admin.css"), join(dist, "app/admin.css"));
cpSync(join(pkg, "meetbridge_space_host_bg.wasm"), join(dist, "host/meetbridge_space_host_bg.wasm"));
if (meeting) {
  mkdirSync(join(dist, "meeting"), { recursive: true });
  cpSync(join(root, "pages/meeting/index.html"), join(dist, "meeting/index.html"));
  cpSync(join(root, "pages/meeting/meeting.css"), join(dist, "app/meeting.css"));
  cpSync(join(root, "pages/meeting/participants.css"), join(dist, "app/participants.css"));
  cpSync(join(meetingHost, "meeting_host_bg.wasm"), join(dist, "host/meeting_host_bg.wasm"));
  mkdirSync(join(dist, "webapp3-standin"), { recursive: true });
  cpSync(join(root, "webapp3-standin/index.html"), join(dist, "webapp3-standin/index.html"));
}

if (watch) {
  for (const config of configs) await (await context(config)).watch();
  console.log("watching web/ (ctrl-c to stop)");
} else {
  await Promise.all(configs.map((config) => build(config)));
  console.log(`built ${dist}: space view, dev view, SDK, plugins ${plugins.join(", ")}`);
}
