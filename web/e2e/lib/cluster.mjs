// Three real `meetbridge serve` nodes for the cluster end-to-end tests, on the machine's
// PostgreSQL (a schema of their own) and NATS JetStream (a prefix of their own), sharing
// one token secret so a user signed in on one node is accepted by the others; and HAProxy
// (Debian's package) on loopback in front of them, configured as docs/CLUSTER.md says.
// PostgreSQL and NATS are never started here: `scripts/check-services.sh` says what is
// missing when they do not answer.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deleteStreams } from "./nats.mjs";
import { repo, sleep, startServer } from "./server.mjs";

export const pgUrl = process.env.MEETBRIDGE_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
export const natsUrl = process.env.MEETBRIDGE_TEST_NATS ?? "nats://127.0.0.1:4222";

/** Throws, naming what is missing, when PostgreSQL or NATS JetStream does not answer. */
export function requireServices() {
  try {
    execFileSync("bash", [join(repo, "scripts/check-services.sh"), pgUrl, natsUrl], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    throw new Error(`the cluster tests need PostgreSQL and NATS JetStream on loopback:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

/**
 * Starts `count` nodes, node 1 first (it runs the migrations and seeds the demo), with
 * `args` added to each. Returns the nodes (each as lib/server.mjs's startServer returns
 * it, plus `name`) and `stop()`, which stops them and removes the schema and the streams.
 */
export async function startCluster({ count = 3, args = [], tag = "e2e" } = {}) {
  requireServices();
  const name = `mbcluster_${tag}_${process.pid}_${Date.now() % 1e9}`;
  const secret = `cluster-e2e-secret-${name}`;
  const nodeArgs = (node) => [
    ...args,
    "--store",
    pgUrl,
    "--pg-schema",
    name,
    "--broker",
    natsUrl,
    "--broker-prefix",
    name,
    "--node-id",
    node,
    "--jwt-hs256-secret",
    secret,
  ];
  const start = async (node, listen) =>
    Object.assign(
      await startServer({ args: nodeArgs(node), hint: "cargo build -p meetbridge-server", prefix: `meetbridge-${node}-`, listen }),
      { name: node },
    );
  const nodes = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    for (const n of nodes) n.cleanup();
    try {
      execFileSync("psql", [pgUrl, "-qc", `DROP SCHEMA IF EXISTS ${name} CASCADE`], { stdio: "ignore" });
    } catch {
      // Best effort, as the streams below.
    }
    await deleteStreams(natsUrl, name);
  };
  try {
    nodes.push(await start("node1"));
    for (let i = 2; i <= count; i++) nodes.push(await start(`node${i}`));
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    nodes,
    schema: name,
    /** Starts node `i` again on its port (after kill9 or stop). */
    async restart(i) {
      const old = nodes[i];
      old.cleanup();
      nodes[i] = await start(old.name, `127.0.0.1:${old.port}`);
      return nodes[i];
    },
    stop,
  };
}

const freePort = () =>
  new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

/**
 * HAProxy on a free loopback port in front of `nodes`: round robin without stickiness,
 * health checks on /healthz every 300 ms (a node is out after two failures and its tunnels
 * are cut), a connection that fails is tried again on another node, and each answer names
 * the node in `X-Meetbridge-Node`.
 */
export async function startHaproxy(nodes) {
  const bin = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"].find((p) => existsSync(p));
  if (!bin) throw new Error("haproxy is not installed: `make tools` installs it (Debian package haproxy)");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "meetbridge-haproxy-"));
  const config = join(dir, "haproxy.cfg");
  writeFileSync(
    config,
    [
      "global",
      "    maxconn 4096",
      "defaults",
      "    mode http",
      "    timeout connect 1s",
      "    timeout client 60s",
      "    timeout server 60s",
      "    timeout tunnel 1h",
      "    option redispatch",
      "    retries 3",
      "frontend meetbridge",
      `    bind 127.0.0.1:${port}`,
      "    default_backend nodes",
      "backend nodes",
      "    balance roundrobin",
      "    option httpchk GET /healthz",
      "    http-check expect status 200",
      "    default-server inter 300ms fall 2 rise 2 on-marked-down shutdown-sessions",
      "    http-response set-header X-Meetbridge-Node %[srv_name]",
      ...nodes.map((n) => `    server ${n.name} 127.0.0.1:${n.port} check`),
      "",
    ].join("\n"),
  );
  execFileSync(bin, ["-c", "-f", config], { stdio: "pipe" });
  const child = spawn(bin, ["-db", "-f", config], { stdio: "ignore" });
  for (let i = 0; ; i++) {
    const up = await new Promise((ok) => {
      const s = connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        ok(true);
      });
      s.on("error", () => ok(false));
    });
    if (up) break;
    if (i > 100) throw new Error(`haproxy did not listen on 127.0.0.1:${port}`);
    await sleep(50);
  }
  return {
    port,
    base: `http://localhost:${port}`,
    async stop() {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
