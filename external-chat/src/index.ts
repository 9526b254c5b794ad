// The external-chat plugin for Pexip Web App 3 (seed 000): glue between Web App 3
// (`@pexip/plugin-api`), the top window (`postMessage`) and the plugin's logic, which is
// Rust (crates/external-chat-wasm) compiled to wasm and inlined in this bundle. Every
// decision (which messages to obey, dial-out validation, button state, dial-outs in
// flight) is made there; this file only carries out the commands it returns.
import { registerPlugin, type Button, type Plugin } from '@pexip/plugin-api';
import type { DialOutParams, PluginToTop } from '../../crates/protocol/bindings/protocol.ts';
import { ExternalChat, initSync } from './wasm/external_chat_wasm.js';
import { wasmBase64 } from './wasm/bytes.ts';

/** What crates/external-chat-wasm asks the glue to do (`core::Command`). */
type Command =
  | { do: 'post'; message: PluginToTop }
  | { do: 'warn'; reason: string }
  | { do: 'setButton'; active: boolean; tooltip: string; badge: boolean }
  | { do: 'dial'; token: number; params: DialOutParams; timeoutMs?: number };
type SetButton = Extract<Command, { do: 'setButton' }>;
type Dial = Extract<Command, { do: 'dial' }>;

const CHAT_ICON = 'IconChat';

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

function run(commands: string): void {
  for (const command of JSON.parse(commands) as Command[]) {
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

function dial({ token, params, timeoutMs }: Dial): void {
  if (!plugin) {
    run(core.dialFailed(token, 'the plugin is not registered with Web App 3'));
    return;
  }
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => run(core.dialTimedOut(token, timeoutMs)), timeoutMs);
  plugin.conference.dialOut(params).then(
    (participant) => {
      clearTimeout(timer);
      run(core.dialSucceeded(token, participant.uuid, participant.displayName ?? participant.overlayText));
    },
    (error: unknown) => {
      clearTimeout(timer);
      run(core.dialFailed(token, errorText(error)));
    },
  );
}

function encode(data: unknown): string {
  try {
    return JSON.stringify(data ?? null) ?? 'null';
  } catch {
    return 'null';
  }
}

window.addEventListener('message', (event: MessageEvent) => {
  const source = event.source === window.top ? 'top' : event.source === window.parent ? 'parent' : 'other';
  run(core.message(encode(event.data), source, event.origin));
});

async function main(): Promise<void> {
  plugin = await registerPlugin({ id: 'external-chat', version: Number(__PLUGIN_VERSION__.split('.')[0]) });
  const initial = JSON.parse(core.initialButton()) as SetButton;
  button = await plugin.ui.addButton(buttonPayload(initial));
  button.onClick.add(() => run(core.buttonClicked()));
  plugin.events.connected.add(() => run(core.connected()));
  plugin.events.userInitiatedDisconnect.add(() => run(core.userDisconnected()));
  plugin.events.disconnected.add((payload) => run(core.disconnected(encode(payload))));
  run(core.registered());
}

main().catch((error: unknown) => console.error('external-chat: registration with Web App 3 failed', error));
