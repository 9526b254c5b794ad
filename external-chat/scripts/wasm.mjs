// Builds one wasm crate of the workspace for the browser:
//   cargo build --profile wasm-release --target wasm32-unknown-unknown
//   wasm-bindgen --target web
//   wasm-opt -Oz with the features Rust's wasm32-unknown-unknown target emits, listed
//     one by one: `--all-features` lets binaryen use encodings browsers do not ship
//     (Chromium 156 rejects its compact imports: "Invalid import kind 127").
// binaryen comes from tools/ (npm, recent) or the system. Returns the .wasm path.
// CLI: node external-chat/scripts/wasm.mjs <cargo package> <output dir>
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const FEATURES = ['bulk-memory', 'nontrapping-float-to-int', 'sign-ext', 'mutable-globals', 'reference-types', 'multivalue'];

function wasmOpt() {
  const local = join(root, 'tools/node_modules/.bin/wasm-opt');
  if (existsSync(local)) return local;
  try {
    execFileSync('wasm-opt', ['--version'], { stdio: 'ignore' });
    return 'wasm-opt';
  } catch {
    return undefined;
  }
}

export function buildWasm(crate, outDir, extraBindgenArgs = []) {
  const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
  const name = crate.replaceAll('-', '_');
  const out = resolve(root, outDir);
  mkdirSync(out, { recursive: true });
  run(process.env.CARGO ?? 'cargo', ['build', '--quiet', '--profile', 'wasm-release', '--target', 'wasm32-unknown-unknown', '-p', crate, '--lib']);
  const target = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, 'target');
  run('wasm-bindgen', ['--target', 'web', '--out-dir', out, ...extraBindgenArgs, join(target, 'wasm32-unknown-unknown/wasm-release', `${name}.wasm`)]);
  const wasm = join(out, `${name}_bg.wasm`);
  const opt = wasmOpt();
  if (opt) {
    run(opt, ['-Oz', ...FEATURES.map((f) => `--enable-${f}`), '--strip-debug', '--strip-producers', wasm, '-o', wasm]);
  } else {
    console.warn('warning: wasm-opt not found (make tools): the wasm is not size-optimised');
  }
  const raw = statSync(wasm).size;
  const gz = gzipSync(readFileSync(wasm), { level: 9 }).length;
  console.log(`wasm ${crate}: ${raw} bytes raw, ${gz} bytes gzipped (${wasm})`);
  return wasm;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [crate, outDir] = process.argv.slice(2);
  if (!crate || !outDir) {
    console.error('usage: node external-chat/scripts/wasm.mjs <cargo package> <output dir>');
    process.exit(2);
  }
  buildWasm(crate, outDir);
}
