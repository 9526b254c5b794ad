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

test('limits are measured on the UTF-8 JSON encoding, to the byte', () => {
  const { maxMessageBytes, maxDataBytes } = wasm.limits();
  const broadcast = (message) => ({ type: 'ovice_broadcast_message', payload: { event: 'e', message } });
  // A string's encoding is its UTF-8 bytes plus two quotes; escapes count as written.
  const atLimit = 'x'.repeat(maxMessageBytes - 17) + '\n"' + '\u0001' + 'é€';
  assert.equal(new TextEncoder().encode(JSON.stringify(atLimit)).length, maxMessageBytes);
  assert.equal(wasm.parseOviceFromPlugin(broadcast(atLimit)).kind, 'message');
  const over = wasm.parseOviceFromPlugin(broadcast(atLimit + 'x'));
  assert.equal(over.kind, 'invalid');
  assert.equal(over.field, 'payload.message');
  assert.match(over.error, new RegExp(`is ${maxMessageBytes + 1} bytes of JSON`));
  // Numbers count as serde_json (and so the server) writes them: [0.1,1e+21,-7] is 14 bytes.
  const numbers = [0.1, 1e21, -7];
  const filler = 'y'.repeat(maxMessageBytes - 19); // [[0.1,1e+21,-7],"yy…"]
  assert.equal(wasm.parseOviceFromPlugin(broadcast([numbers, filler])).kind, 'message');
  assert.equal(wasm.parseOviceFromPlugin(broadcast([numbers, filler + 'y'])).kind, 'invalid');
  // Saved data: {"k":"…"} adds 8 bytes.
  const data = 'z'.repeat(maxDataBytes - 8);
  const save = (k) => ({ type: 'ovice_save_and_emit_data', payload: { k } });
  assert.equal(wasm.parseOviceFromPlugin(save(data)).kind, 'message');
  const big = wasm.parseOviceFromPlugin(save(data + 'z'));
  assert.equal(big.kind, 'invalid');
  assert.equal(big.field, 'payload');
});

test('invalid outcomes name the field as the Rust parser does', () => {
  const p = { id: 'u', name: 'A', objectId: 'o', objectType: 'static', avatarUrl: '', workspaceId: 1, isVisitor: false };
  const bad = wasm.parseOviceFromPlatform({ type: 'ovice_participant_joined', payload: { ...p, isVisitor: 1.5 } });
  assert.deepEqual(bad, { kind: 'invalid', name: 'ovice_participant_joined', field: 'payload.isVisitor', error: 'invalid type: floating point `1.5`, expected a boolean' });
  const missing = wasm.parseOviceFromPlatform({ type: 'ovice_participant_joined', payload: { ...p, name: undefined } });
  assert.equal(missing.field, 'payload.name');
  assert.equal(missing.error, 'missing field `name`');
  const history = wasm.parseOviceFromPlugin({ type: 'meetbridge_get_history', payload: { limit: -1 } });
  assert.equal(history.field, 'payload.limit');
  assert.equal(history.error, 'invalid value: integer `-1`, expected u32');
  const saved = wasm.parseOviceFromPlatform({ type: 'ovice_data_saved_success', payload: { updated_at: 'now', a: 1 } });
  assert.equal(saved.field, 'payload.updated_at');
  assert.equal(wasm.parseOviceFromPlatform({ type: 'ovice_data_saved_success', payload: { updated_at: 5, a: 1 } }).kind, 'message');
  assert.throws(() => wasm.buildOviceToPlatform({ type: 'ovice_emit_message', payload: { event: 'e', message: 1 } }), /payload\.to/);
  assert.throws(() => wasm.buildPexipToTop({ action: 'nope' }), /not a message/);
});
