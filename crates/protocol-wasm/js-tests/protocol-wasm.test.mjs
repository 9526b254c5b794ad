// Loads the built protocol wasm (web/pkg/protocol, from `make wasm`) in Node and checks
// its surface against the seeds' test vectors: what the browser gets is what Rust tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const pkg = join(root, 'web', 'pkg', 'protocol');
const wasm = await import(join(pkg, 'meetbridge_protocol_wasm.js'));
wasm.initSync({ module: readFileSync(join(pkg, 'meetbridge_protocol_wasm_bg.wasm')) });

const vectors = (dir) => {
  const path = join(root, 'crates', 'protocol', 'vectors', dir);
  return readdirSync(path).filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(readFileSync(join(path, f), 'utf8'))]);
};

const directions = [
  ['pexip/top-to-plugin', 'parsePexipFromTop', 'buildPexipToPlugin'],
  ['pexip/plugin-to-top', 'parsePexipFromPlugin', 'buildPexipToTop'],
  ['ovice/plugin-to-platform', 'parseOviceFromPlugin', 'buildOviceToPlatform'],
  ['ovice/platform-to-plugin', 'parseOviceFromPlatform', 'buildOviceToPlugin'],
];

for (const [dir, parse, build] of directions) {
  test(`${parse} accepts every vector of ${dir}`, () => {
    const all = vectors(dir);
    assert.ok(all.length > 0);
    for (const [file, message] of all) {
      const out = wasm[parse](message);
      assert.equal(out.kind, 'message', `${file}: ${JSON.stringify(out)}`);
      assert.deepEqual(out.message, message);
      assert.deepEqual(wasm[build](message), message);
    }
  });
}

test('messages that are not ours are ignored with a reason', () => {
  const out = wasm.parsePexipFromTop({ action: 'toggle-chat-badge', visible: true });
  assert.equal(out.kind, 'ignored');
  assert.match(out.reason, /prefix/);
  assert.equal(wasm.parseOviceFromPlugin('hello').kind, 'ignored');
  assert.equal(wasm.parseOviceFromPlugin(undefined).kind, 'ignored');
  const cyclic = {}; cyclic.self = cyclic;
  assert.equal(wasm.parseOviceFromPlugin(cyclic).kind, 'ignored');
});

test('invalid dial-out names the field, and build throws', () => {
  const bad = { action: 'pexip:plugin:external-chat/dial-out', role: 'ADMIN', destination: 'a@b', protocol: 'sip' };
  const out = wasm.parsePexipFromTop(bad);
  assert.equal(out.kind, 'invalid');
  assert.equal(out.field, 'role');
  assert.equal(out.name, 'dial-out');
  assert.throws(() => wasm.buildPexipToPlugin(bad), /role/);
});

test('limits are enforced in the browser build too', () => {
  const { maxMessageBytes, maxDataBytes } = wasm.limits();
  assert.equal(maxMessageBytes, 2 * 1024 * 1024);
  assert.equal(maxDataBytes, 500 * 1024);
  const over = { type: 'ovice_broadcast_message', payload: { event: 'e', message: 'é'.repeat(maxMessageBytes / 2) } };
  const out = wasm.parseOviceFromPlugin(over);
  assert.equal(out.kind, 'invalid');
  assert.equal(out.field, 'payload.message');
});

test('bridge frames parse from text', () => {
  const frame = wasm.parseServerFrame('{"op":"plugin","object":"o","seq":3,"message":{"type":"ovice_saved_data","payload":{}}}');
  assert.equal(frame.kind, 'message');
  assert.equal(frame.message.seq, 3);
  assert.equal(wasm.parseClientFrame('{"op":"presence","object":"o","status":"joined"}').kind, 'message');
  assert.equal(wasm.parseClientFrame('not json').kind, 'invalid');
});
