// Shared by the cluster end-to-end tests: three nodes on PostgreSQL and NATS with the
// space tests' seed (e2e/space/seed.json), optionally HAProxy in front (e2e/lib/cluster.mjs),
// and the space tests' helpers to open the dev view as one user and read what its plugin
// received (e2e/space/harness.mjs).
import { join } from "node:path";
import { startCluster } from "../lib/cluster.mjs";
import { repo } from "../lib/server.mjs";

export { startHaproxy } from "../lib/cluster.mjs";
export { launch } from "../lib/chromium.mjs";
export { hostCall, ofType, openUser, post, presence, received, sleep, waitFor } from "../space/harness.mjs";

/** Three nodes with the space tests' seed. */
export const startSpaceCluster = (tag) => startCluster({ tag, args: ["--demo-seed", join(repo, "web/e2e/space/seed.json")] });

/** `meetbridge_connections_open` of a node: its WebSocket connections now. */
export async function openConnections(node) {
  const text = await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text();
  return Number(/^meetbridge_connections_open (\d+)$/m.exec(text)?.[1] ?? NaN);
}
