// The external-chat plugin for Pexip Web App 3: glue between Web App 3
// (`@pexip/plugin-api`), the top window (`postMessage`) and the plugin's logic, which is
// Rust (crates/external-chat-wasm) compiled to wasm and carried in this bundle. Every
// decision (which messages to obey and in which dialect, dial-out validation, button
// state, how a call ended, the roster, the participant controls) is made there; this file
// feeds it events and carries out the commands it returns (types generated from Rust).
import { registerPlugin, type Button, type Plugin } from '@pexip/plugin-api';
import type { Command, ConferenceCall } from '../../crates/external-chat-wasm/bindings/commands';
import { ExternalChat, initSync } from './wasm/external_chat_wasm.js';
import { wasmBase64 } from './wasm/bytes.ts';

type SetButton = Extract<Command, { do: 'setButton' }>;
type Dial = Extract<Command, { do: 'dial' }>;

const CHAT_ICON = 'IconChat';

/** The plugin-api signals fed to the logic, by name. */
const SIGNALS = [
  'connected',
  'disconnected',
  'userInitiatedDisconnect',
  'me',
  'participants',
  'participantJoined',
  'participantLeft',
  'participantsActivities',
  'raiseHand',
] as const;

console.log(`plugin: external-chat loaded v${__PLUGIN_VERSION__}`);

initSync({ module: Uint8Array.from(atob(wasmBase64), (c) => c.charCodeAt(0)) });

// The host origin: `?hostOrigin=` on the plugin's URL (set in the branding manifest's
// `src`), else EXTERNAL_CHAT_HOST_ORIGIN at build time, else none (any origin, '*').
// A malformed one disables the plugin rather than falling back to any origin.
const hostOrigin = new URLSearchParams(location.search).get('hostOrigin') ?? __HOST_ORIGIN__;
let core: ExternalChat;
try {
  core = new ExternalChat(hostOrigin);
} catch (error) {
  console.error(`external-chat: disabled: ${String(error)}`);
  throw error;
}
const targetOrigin = core.targetOrigin();

let plugin: Plugin | undefined;
let button: Button<'toolbar'> | undefined;
let buttonUpdates: Promise<unknown> = Promise.resolve();

/** The one JSON helper of this package: values cross the wasm boundary as JSON text. */
const wasm = {
  encode(data: unknown): string {
    try {
      return JSON.stringify(data ?? null) ?? 'null';
    } catch {
      return 'null';
    }
  },
  decode: <T>(text: string): T => JSON.parse(text) as T,
};

function run(commands: string): void {
  for (const command of wasm.decode<Command[]>(commands)) {
    switch (command.do) {
      case 'post':
        window.top?.postMessage(command.message, targetOrigin);
        break;
      case 'warn':
        console.warn(`external-chat: ${command.reason}`);
        break;
      case 'setButton':
        setButton(command);
        break;
      case 'dial':
        dial(command);
        break;
      case 'call':
        call(command.call);
        break;
      case 'timer':
        setTimeout(() => run(core.timer(command.token)), command.ms);
        break;
    }
  }
}

function buttonPayload(state: SetButton) {
  return {
    position: 'toolbar' as const,
    icon: CHAT_ICON,
    tooltip: state.tooltip,
    isActive: state.active,
    badge: { isVisible: state.badge },
  };
}

function setButton(state: SetButton): void {
  // Before the button exists, the state is kept by the core and used when adding it.
  if (!button) return;
  const target = button;
  buttonUpdates = buttonUpdates
    .then(() => target.update(buttonPayload(state)))
    .catch((error: unknown) => console.error('external-chat: updating the Chat button failed', error));
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'reason' in error) return String(error.reason);
  return String(error ?? '');
}

/**
 * `conference.dialOut`, guarding against a plugin-api 22 behaviour: dialOut adds an
 * observer to `participantJoined` and removes it only on success. After a failed dial the
 * observer stays, and throws on every later join when the failure reply had no
 * `data.result`, which stops the signal before later dial-outs' observers run. The
 * observer dialOut adds is captured here and removed when the dial fails.
 */
function dialOut(target: Plugin, params: Dial['params']) {
  const joined = target.events.participantJoined;
  const add = joined.add;
  let detach: (() => void) | undefined;
  joined.add = (...args: Parameters<typeof add>) => (detach = add(...args));
  let pending: ReturnType<Plugin['conference']['dialOut']>;
  try {
    pending = target.conference.dialOut(params);
  } finally {
    joined.add = add;
  }
  pending.catch(() => {
    try {
      detach?.();
    } catch {
      // Already removed.
    }
  });
  return pending;
}

function dial({ token, params }: Dial): void {
  if (!plugin) {
    run(core.dialFailed(token, 'the plugin is not registered with Web App 3'));
    return;
  }
  dialOut(plugin, params).then(
    (participant) => run(core.dialSucceeded(token, participant.uuid, participant.displayName ?? participant.overlayText)),
    (error: unknown) => run(core.dialFailed(token, errorText(error))),
  );
}

function call({ method, payload }: ConferenceCall): void {
  if (!plugin) return;
  // The payload is built for this method by crates/external-chat-wasm/src/calls.rs.
  const conference = plugin.conference as unknown as Record<string, (p: unknown) => Promise<unknown>>;
  conference[method](payload).catch((error: unknown) => console.warn(`external-chat: ${method} failed: ${errorText(error)}`));
}

window.addEventListener('message', (event: MessageEvent) => {
  const source = event.source === window.top ? 'top' : event.source === window.parent ? 'parent' : 'other';
  run(core.message(wasm.encode(event.data), source, event.origin));
});

async function main(): Promise<void> {
  plugin = await registerPlugin({ id: 'external-chat', version: Number(__PLUGIN_VERSION__.split('.')[0]) });
  // Every signal is subscribed before anything else is awaited: plugin-api's signals do not
  // buffer, and Web App 3 may send `event:connected` right after the handshake. The core
  // keeps what arrives before the button exists and applies it after `ready`.
  for (const name of SIGNALS) {
    const signal = plugin.events[name] as { add: (observer: (payload: unknown) => void) => unknown } | undefined;
    // A Web App 3 on an older plugin-api may lack a newer signal: the rest still work.
    signal?.add((payload) => run(core.webapp(wasm.encode({ event: name, payload }))));
  }
  const initial = wasm.decode<SetButton>(core.buttonState());
  try {
    button = await plugin.ui.addButton(buttonPayload(initial));
    button.onClick.add(() => run(core.buttonClicked()));
    // The top window may have set the state while the button was being added.
    const now = wasm.decode<SetButton>(core.buttonState());
    if (JSON.stringify(now) !== JSON.stringify(initial)) setButton(now);
  } catch (error) {
    console.error('external-chat: adding the Chat button failed', error);
  }
  run(core.registered());
}

main().catch((error: unknown) => console.error('external-chat: registration with Web App 3 failed', error));
