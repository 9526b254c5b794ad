// The real `meetbridge` server for the end-to-end tests: one copy of how the space and
// meeting harnesses start it (demo mode, a free loopback port, a temporary data directory,
// web/dist) and stop it, so both suites run it the same way. Each harness adds its own
// flags (a seed, the Web App 3 folder) and what it needs built.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const bin = process.env.MEETBRIDGE_BIN ?? join(repo, "target/debug/meetbridge");

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/**
 * Starts `meetbridge serve --demo` with `args` added and waits for the address it prints.
 * `listen` reuses a port (a restart), else a free one is picked; `dataDir` reuses a data
 * directory, else a new one is made under the system's temp dir with `prefix`; `demo: false`
 * starts it without --demo (no dev login, no demo space). Fails with
 * `<file> is missing: <hint>` when the binary or one of `needs` is not built.
 */
export async function startServer({ args = [], needs = [], hint, prefix, dataDir, listen = "127.0.0.1:0", demo = true }) {
  for (const need of [bin, ...needs]) {
    if (!existsSync(need)) throw new Error(`${need} is missing: ${hint}`);
  }
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), prefix));
  const child = spawn(
    bin,
    ["serve", ...(demo ? ["--demo"] : []), ...args, "--web-dir", join(repo, "web/dist"), "--data-dir", dir, "--listen", listen, "--print-addr", "--sqlite-sync", "normal"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" } },
  );
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const addr = await new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${log}`)), 20_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on("exit", (code) => fail(new Error(`server exited (${code}):\n${log}`)));
  });
  const port = Number(addr.split(":").pop());
  return {
    port,
    addr,
    dataDir: dir,
    /** The page's origin (localhost) differs from 127.0.0.1, which serves what must be cross-origin (plugins, Web App 3). */
    base: `http://localhost:${port}`,
    pluginOrigin: `http://127.0.0.1:${port}`,
    log: () => log,
    /** SIGTERM, then SIGKILL after 5 s; the data directory stays (a restart reuses it). */
    /** SIGKILL at once, as a node that dies. */
    kill() {
      child.kill("SIGKILL");
      return new Promise((ok) => (child.exitCode !== null ? ok() : child.once("exit", ok)));
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((ok) => child.once("exit", ok));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(5000).then(() => child.kill("SIGKILL"))]);
    },
    /** SIGKILL, without any shutdown, as a machine that dies (the cluster tests). */
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((ok) => child.once("exit", ok));
      child.kill("SIGKILL");
      await exited;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
