// The page that embeds Web App 3 (the top window), using ExternalChatHost
// (web/host/external-chat-host.ts over crates/meeting-host). Its types are generated from
// the Rust definitions.
//
// `?webapp=<url>`: the Web App 3 (or stand-in) URL for iframe#webapp3.
// `?demo=1`: behave like a real page (open/close the chat on toggle-chat, echo the state).
import init, {
  ExternalChatHost,
  type DialOutError,
  type DialOutParams,
  type DialOutSuccess,
  type Disconnected,
  type Roster,
  type SelfState,
  type ToggleChat,
} from '../../host/external-chat-host';

type Logged =
  | { event: 'ready' | 'connected' }
  | { event: 'roster'; data: Roster }
  | { event: 'self'; data: SelfState }
  | { event: 'disconnected'; data: Disconnected }
  | { event: 'toggle-chat'; data: ToggleChat }
  | { event: 'dial-out-success'; data: DialOutSuccess }
  | { event: 'dial-out-error'; data: DialOutError };

const params = new URLSearchParams(location.search);
const demo = params.get('demo') === '1';
const events: Logged[] = [];
const logEl = document.getElementById('log') as HTMLElement;
const chat = document.getElementById('chat') as HTMLElement;

function log(entry: Logged): void {
  events.push(entry);
  logEl.textContent += `${JSON.stringify(entry)}\n`;
}

await init({ module_or_path: new URL('./meeting_host_bg.wasm', import.meta.url) });

const iframe = document.getElementById('webapp3') as HTMLIFrameElement;
const host = ExternalChatHost.attach();
host.onReady(() => log({ event: 'ready' }));
host.onConnected(() => log({ event: 'connected' }));
host.onDisconnected((data) => log({ event: 'disconnected', data }));
host.onToggleChat((data) => {
  log({ event: 'toggle-chat', data });
  if (demo) {
    chat.hidden = !data.active;
    host.setButtonActive(data.active);
    if (data.active) host.setBadge(false);
  }
});
host.onDialOutSuccess((data) => log({ event: 'dial-out-success', data }));
host.onDialOutError((data) => log({ event: 'dial-out-error', data }));
// Roster and self are kept apart: the original contract's tests read the event list above.
const roster: Logged[] = [];
host.onRoster((data) => roster.push({ event: 'roster', data }));
host.onSelf((data) => roster.push({ event: 'self', data }));
(document.getElementById('badge') as HTMLButtonElement).addEventListener('click', () => host.setBadge(true));

/** Dials and reports the outcome as a value (tests read it with `await`). */
async function dial(p: DialOutParams, timeoutMs?: number): Promise<{ ok: true; value: DialOutSuccess } | { ok: false; error: DialOutError }> {
  try {
    return { ok: true, value: await host.dialOut(p, timeoutMs === undefined ? undefined : { timeoutMs }) };
  } catch (error) {
    return { ok: false, error: error as DialOutError };
  }
}

// Every prefixed message that reaches this page, as posted (either dialect).
const raw: unknown[] = [];
addEventListener('message', (e: MessageEvent) => {
  const action: unknown = (e.data as { action?: unknown } | null)?.action;
  if (typeof action === 'string' && (action.startsWith('pexip:plugin:external-chat/') || action.startsWith('rocketchat:videoconf/'))) raw.push(e.data);
});

Object.assign(window, { host, events, roster, raw, dial });
const webapp = params.get('webapp');
if (webapp) iframe.src = webapp;
