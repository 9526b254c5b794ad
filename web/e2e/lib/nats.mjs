// Cleans up what a cluster test left in NATS JetStream: every stream whose name contains
// the test's prefix (the object stream, the presence and node buckets' streams). It speaks
// the plain NATS text protocol (INFO/CONNECT/SUB/PUB/MSG) over one socket, so the tests
// need no NATS client package: `$JS.API.STREAM.NAMES` lists, `$JS.API.STREAM.DELETE.<name>`
// deletes.
import { connect } from "node:net";

/** Deletes the JetStream streams of `prefix` at `url` (nats://HOST:PORT); never throws. */
export async function deleteStreams(url, prefix) {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port || 4222) });
  let buffer = Buffer.alloc(0);
  const waiters = [];
  socket.on("data", (d) => {
    buffer = Buffer.concat([buffer, d]);
    for (const w of waiters.splice(0)) w();
  });
  socket.on("error", () => {});
  const more = () => new Promise((ok) => waiters.push(ok));
  const timeout = setTimeout(() => socket.destroy(), 5000);
  try {
    await new Promise((ok, fail) => {
      socket.once("connect", ok);
      socket.once("error", fail);
    });
    const ask = JSON.stringify({ offset: 0 });
    socket.write(`CONNECT {"verbose":false}\r\nSUB _INBOX.cleanup 1\r\nPUB $JS.API.STREAM.NAMES _INBOX.cleanup ${ask.length}\r\n${ask}\r\n`);
    // Read until the reply's MSG line and its payload are in.
    let names = [];
    for (;;) {
      const text = buffer.toString("latin1");
      const m = /MSG _INBOX\.cleanup 1 (\d+)\r\n/.exec(text);
      if (m && text.length >= m.index + m[0].length + Number(m[1])) {
        const body = text.slice(m.index + m[0].length, m.index + m[0].length + Number(m[1]));
        names = JSON.parse(body).streams ?? [];
        break;
      }
      if (socket.destroyed) return;
      await more();
    }
    const wanted = prefix.toUpperCase();
    for (const name of names) {
      if (name.toUpperCase().includes(wanted)) socket.write(`PUB $JS.API.STREAM.DELETE.${name} 0\r\n\r\n`);
    }
    buffer = Buffer.alloc(0);
    socket.write("PING\r\n");
    while (!buffer.toString("latin1").includes("PONG") && !socket.destroyed) await more();
  } catch {
    // Cleanup is best effort: a leftover stream of a test prefix harms no one.
  } finally {
    clearTimeout(timeout);
    socket.destroy();
  }
}
