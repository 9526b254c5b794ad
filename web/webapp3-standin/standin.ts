// A stand-in for Pexip Web App 3, for developing and testing Web App 3 plugins without an
// Infinity deployment. It speaks the real `@pexip/plugin-api` channel protocol (see
// node_modules/@pexip/plugin-api/dist/channel.js): a plugin posts
// `{ rpc, payload, id, chanId }` to its parent; Web App 3 answers
// `{ chanId, replyTo: id, payload }` and sends events as `{ chanId, event, payload }`.
//
// It reads a branding manifest (`?manifest=`, default ../branding/manifest.json), loads
// each plugin in `<iframe sandbox="allow-scripts …sandboxValues">` (an opaque origin, as
// in Web App 3), refuses a plugin whose registered id differs from the manifest's, draws
// toolbar buttons, and has controls to join, leave or drop the call and to decide how a
// dial-out goes. It keeps the call's participants (the local one, dialed ones, ones added
// by `standin.addParticipant`) and sends plugin-api's participant events
// (`event:me`, `event:participants`, `event:participantJoined` / `Left`,
// `event:participantsActivities`, `event:raiseHand`), and carries out the participant and
// conference calls (`participant:mute`, `muteVideo`, `raiseHand`, `spotlight`, `admit`,
// `disconnect`, `setRole`, `transfer`, `sendDTMF`, `conference:muteAllGuests`).
// `?join=1` starts in the call. `window.standin` exposes the controls and a record for
// tests.

export {};

type Json = Record<string, unknown>;
/** `fail`: Infinity places no call (no participant id); `refuse`: Web App 3 answers
 * `{ status: 'failed', reason }`; `never`: nobody answers. */
type DialMode = 'answer' | 'fail' | 'refuse' | 'never';
/** How Leave reports: the intent then the end (default), the end first, or the intent only. */
type LeaveOrder = 'intent-first' | 'end-first' | 'intent-only';
type DialPlan = { mode: DialMode; delayMs?: number };

interface ManifestPlugin {
  id: string;
  src: string;
  sandboxValues?: string[];
}

interface LoadedPlugin {
  manifestId: string;
  iframe: HTMLIFrameElement;
  window: Window | null;
  chanId?: string;
  status: 'loading' | 'registered' | 'refused';
  reason?: string;
  version?: unknown;
}

interface ToolbarButton {
  id: string;
  plugin: LoadedPlugin;
  element: HTMLButtonElement;
  tooltip: string;
  isActive: boolean;
  badge: boolean;
  icon: string;
}

interface DialCall {
  plugin: string;
  payload: Json;
  mode: DialMode;
  uuid?: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const toolbar = $<HTMLElement>('toolbar');
const statusLine = $<HTMLElement>('status');
const modeSelect = $<HTMLSelectElement>('dial-mode');

const plugins: LoadedPlugin[] = [];
const buttons = new Map<string, ToolbarButton>();
const dialCalls: DialCall[] = [];
const toasts: Json[] = [];
const rpcLog: { plugin: string; rpc: string; payload: unknown }[] = [];
const plan: Record<string, DialPlan> = {};
let inCall = false;
let nextId = 1;

/** plugin-api's `InfinityParticipant`, the fields the stand-in keeps. */
type Person = Json & { uuid: string; displayName: string; role: 'chair' | 'guest' };
const ME: Person = person({ uuid: 'me-0001', displayName: 'You', role: 'chair', canControl: true });
let people: Person[] = [];

function person(p: Partial<Person> & { uuid: string }): Person {
  const role = p.role ?? 'guest';
  return {
    displayName: p.uuid,
    overlayText: String(p.displayName ?? p.uuid),
    isHost: role === 'chair',
    isWaiting: false,
    isMuted: false,
    isClientMuted: false,
    isCameraMuted: false,
    isPresenting: false,
    isSpotlight: false,
    raisedHand: false,
    // The local participant is a host: it may control everybody.
    canControl: true,
    canMute: true,
    canDisconnect: true,
    canTransfer: true,
    canSpotlight: true,
    canFecc: false,
    canRaiseHand: true,
    canChangeLayout: false,
    ...p,
    role,
  } as Person;
}

function joinedEvents(p: Person): void {
  emitAll('event:participantJoined', { id: 'main', participant: p });
  emitAll('event:participantsActivities', [{ roomId: 'main', activity: { type: 0, participant: p } }]);
}

function addPerson(p: Person): void {
  people.push(p);
  if (inCall) joinedEvents(p);
}

function updatePerson(uuid: string, changes: Json): boolean {
  const p = people.find((q) => q.uuid === uuid);
  if (!p) return false;
  Object.assign(p, changes);
  if ('role' in changes) p.isHost = p.role === 'chair';
  if (!inCall) return true;
  emitAll('event:participantsActivities', [{ roomId: 'main', activity: { type: 2, participant: p } }]);
  if ('raisedHand' in changes) emitAll('event:raiseHand', { id: 'main', participant: p });
  if (uuid === ME.uuid) emitAll('event:me', { id: 'main', participant: p });
  return true;
}

function removePerson(uuid: string): boolean {
  const p = people.find((q) => q.uuid === uuid);
  if (!p) return false;
  people = people.filter((q) => q !== p);
  if (inCall) {
    emitAll('event:participantLeft', { id: 'main', participant: p });
    emitAll('event:participantsActivities', [{ roomId: 'main', activity: { type: 1, participant: p } }]);
  }
  return true;
}

/** What Infinity answers to a participant or conference request that worked. */
const OK = { status: 200, data: { status: 'success', result: true } };
const NOT_FOUND = { status: 404, data: { status: 'failed', result: 'participant not found' } };

function setStatus(text: string): void {
  statusLine.textContent = text;
}

function send(plugin: LoadedPlugin, message: Json): void {
  // The plugin frame has an opaque origin: '*' is the only target origin that reaches it,
  // and the message goes to that one window.
  plugin.window?.postMessage({ chanId: plugin.chanId, ...message }, '*');
}

function emit(plugin: LoadedPlugin, event: string, payload?: unknown): void {
  if (plugin.status === 'registered') send(plugin, { event, payload });
}

function emitAll(event: string, payload?: unknown): void {
  for (const plugin of plugins) emit(plugin, event, payload);
}

function drawButton(button: ToolbarButton): void {
  const el = button.element;
  el.title = button.tooltip;
  el.setAttribute('aria-label', button.tooltip);
  el.setAttribute('aria-pressed', String(button.isActive));
  el.dataset.plugin = button.plugin.manifestId;
  el.dataset.buttonId = button.id;
  (el.querySelector('.icon') as HTMLElement).textContent = button.icon.replace(/^Icon/, '');
  (el.querySelector('.badge') as HTMLElement).hidden = !button.badge;
}

function applyButton(button: ToolbarButton, payload: Json): void {
  if (typeof payload.tooltip === 'string') button.tooltip = payload.tooltip;
  if (typeof payload.icon === 'string') button.icon = payload.icon;
  button.isActive = payload.isActive === true;
  const badge = payload.badge as { isVisible?: unknown } | undefined;
  button.badge = badge?.isVisible === true;
  drawButton(button);
}

function addButton(plugin: LoadedPlugin, payload: Json): Json {
  if (payload.position !== 'toolbar') return { status: 'failed', reason: `position ${String(payload.position)} is not drawn by the stand-in`, id: '' };
  const id = `button-${nextId++}`;
  const element = document.createElement('button');
  element.className = 'tb';
  element.innerHTML = '<span class="icon"></span><span class="badge" hidden></span>';
  const button: ToolbarButton = { id, plugin, element, tooltip: '', isActive: false, badge: false, icon: '' };
  applyButton(button, payload);
  element.addEventListener('click', () => emit(plugin, 'ui:button:click', { buttonId: id, input: { buttonId: id } }));
  buttons.set(id, button);
  toolbar.append(element);
  return { status: 'ok', id };
}

function participant(uuid: string, payload: Json): Person {
  const name = String(payload.remote_display_name ?? payload.destination ?? '');
  return person({
    uuid,
    displayName: name,
    overlayText: String(payload.text ?? name),
    uri: String(payload.destination ?? ''),
    role: payload.role === 'HOST' ? 'chair' : 'guest',
    isExternal: true,
    protocol: payload.protocol,
  });
}

function dialOut(plugin: LoadedPlugin, payload: Json, reply: (p: unknown) => void): void {
  const destination = String(payload.destination ?? '');
  const chosen = plan[destination] ?? { mode: modeSelect.value as DialMode };
  const call: DialCall = { plugin: plugin.manifestId, payload, mode: chosen.mode };
  dialCalls.push(call);
  const answer = () => {
    if (chosen.mode === 'fail') {
      // What Infinity answers when it cannot place the call: no participant.
      reply({ status: 400, data: { status: 'failed', result: [] } });
      return;
    }
    if (chosen.mode === 'refuse') {
      // Web App 3's own failure reply, without `data`.
      reply({ status: 'failed', reason: `cannot dial ${destination}` });
      return;
    }
    call.uuid = `participant-${nextId++}`;
    reply({ status: 200, data: { status: 'success', result: [call.uuid] } });
    // `conference.dialOut` resolves only when the dialed participant joins.
    if (chosen.mode === 'answer') {
      setTimeout(() => addPerson(participant(call.uuid!, payload)), 30);
    }
  };
  if (chosen.delayMs) setTimeout(answer, chosen.delayMs);
  else answer();
}

function onRpc(plugin: LoadedPlugin, data: Json): void {
  const rpc = String(data.rpc);
  const payload = (data.payload ?? {}) as Json;
  rpcLog.push({ plugin: plugin.manifestId, rpc, payload: data.payload });
  const reply = (p: unknown) => send(plugin, { replyTo: data.id, payload: p });
  if (rpc === 'syn') {
    plugin.chanId = String(data.chanId);
    plugin.version = payload.version;
    if (payload.id !== plugin.manifestId) {
      plugin.status = 'refused';
      plugin.reason = `registered id '${String(payload.id)}' differs from the manifest id '${plugin.manifestId}'`;
      reply({ ack: false, reason: plugin.reason });
      console.warn(`stand-in: refused plugin: ${plugin.reason}`);
      setStatus(`refused ${plugin.manifestId}`);
      return;
    }
    plugin.status = 'registered';
    reply({ ack: true });
    setStatus(`registered ${plugin.manifestId}`);
    // Right after the handshake, as Web App 3 does when the plugin loads during a call.
    if (inCall) {
      emit(plugin, 'event:connected');
      emit(plugin, 'event:me', { id: 'main', participant: ME });
      emit(plugin, 'event:participants', { id: 'main', participants: people });
    }
    return;
  }
  if (plugin.status !== 'registered') {
    reply({ status: 'failed', reason: 'plugin not registered', id: '' });
    return;
  }
  switch (rpc) {
    case 'ui:button:add':
      reply(addButton(plugin, payload));
      break;
    case 'ui:button:update': {
      const button = buttons.get(String(payload.targetId));
      if (!button || button.plugin !== plugin) {
        reply({ status: 'failed', reason: 'no such button', id: String(payload.targetId) });
        break;
      }
      applyButton(button, payload);
      reply({ status: 'ok', id: button.id });
      break;
    }
    case 'ui:removeElement': {
      const button = buttons.get(String(payload.id));
      if (button && button.plugin === plugin) {
        button.element.remove();
        buttons.delete(button.id);
        reply({ status: 'ok', id: button.id });
      } else {
        reply({ status: 'failed', reason: 'no such element', id: String(payload.id) });
      }
      break;
    }
    case 'ui:toast:show': {
      toasts.push(payload);
      const div = document.createElement('div');
      div.textContent = String(payload.message ?? '');
      $<HTMLElement>('toasts').append(div);
      setTimeout(() => div.remove(), Number(payload.timeout ?? 5000));
      reply({ status: 'ok', id: `toast-${nextId++}` });
      break;
    }
    case 'conference:dialOut':
      dialOut(plugin, payload, reply);
      break;
    case 'app:setDisconnectDestination':
      reply({ status: 'ok', id: '' });
      break;
    case 'participant:mute':
    case 'participant:muteVideo':
    case 'participant:raiseHand': {
      // Without a participant: the local one.
      const uuid = String(payload.participantUuid ?? ME.uuid);
      const [field, value] =
        rpc === 'participant:mute' ? ['isMuted', payload.mute] : rpc === 'participant:muteVideo' ? ['isCameraMuted', payload.muteVideo] : ['raisedHand', payload.raise];
      reply(updatePerson(uuid, { [field]: value === true }) ? OK : NOT_FOUND);
      break;
    }
    case 'participant:spotlight':
      reply(updatePerson(String(payload.participantUuid), { isSpotlight: payload.enable === true }) ? OK : NOT_FOUND);
      break;
    case 'participant:admit':
      reply(updatePerson(String(payload.participantUuid), { isWaiting: false }) ? OK : NOT_FOUND);
      break;
    case 'participant:setRole':
      reply(payload.role === 'chair' || payload.role === 'guest' ? (updatePerson(String(payload.participantUuid), { role: payload.role }) ? OK : NOT_FOUND) : { status: 400, data: { status: 'failed', result: 'invalid role' } });
      break;
    case 'participant:disconnect':
    case 'participant:transfer':
      reply(removePerson(String(payload.participantUuid)) ? OK : NOT_FOUND);
      break;
    case 'participant:sendDTMF':
      reply(people.some((p) => p.uuid === payload.participantUuid) ? OK : NOT_FOUND);
      break;
    case 'conference:muteAllGuests':
      for (const p of people) if (p.role === 'guest') updatePerson(p.uuid, { isMuted: payload.mute === true });
      reply(OK);
      break;
    default:
      reply({ status: 'failed', reason: `${rpc} is not implemented by the stand-in`, id: '' });
  }
}

window.addEventListener('message', (event: MessageEvent) => {
  const plugin = plugins.find((p) => p.window !== null && p.window === event.source);
  if (!plugin) return; // the stand-in only talks to its plugins
  const data = event.data as Json | null;
  if (!data || typeof data !== 'object' || !('chanId' in data) || !('rpc' in data)) return;
  if (plugin.chanId && data.chanId !== plugin.chanId && data.rpc !== 'syn') return;
  onRpc(plugin, data);
});

function setInCall(value: boolean): void {
  inCall = value;
  toolbar.hidden = !value;
  $<HTMLButtonElement>('join').disabled = value;
  $<HTMLButtonElement>('leave').disabled = !value;
  $<HTMLButtonElement>('drop').disabled = !value;
  setStatus(value ? 'in call' : 'not in call');
}

function startCall(): void {
  people = [person(ME), ...people.filter((p) => p.uuid !== ME.uuid)];
  setInCall(true);
}

function endCall(): void {
  setInCall(false);
  people = [];
}

const controls = {
  join(): void {
    if (inCall) return;
    startCall();
    emitAll('event:connected');
    emitAll('event:me', { id: 'main', participant: people[0] });
    emitAll('event:participants', { id: 'main', participants: people });
  },
  /** The user clicks Leave. Web App 3 reports the user's intent and the end of the call; in
   * which order is not documented, so every order can be played. */
  leave(order: LeaveOrder = 'intent-first'): void {
    if (!inCall) return;
    endCall();
    const end = () => emitAll('event:disconnected', { error: 'Call disconnected', errorCode: '#pex100' });
    const intent = () => emitAll('event:userInitiatedDisconnect');
    if (order === 'intent-first') {
      intent();
      end();
    } else if (order === 'end-first') {
      end();
      setTimeout(intent, 50);
    } else {
      intent();
    }
  },
  /** The call is lost: only `event:disconnected`, with the error. */
  drop(error = 'Media node disconnected', errorCode = '#pex128'): void {
    if (!inCall) return;
    endCall();
    emitAll('event:disconnected', { error, errorCode });
  },
  /** Adds a participant (plugin-api `InfinityParticipant` fields), e.g. one in the lobby. */
  addParticipant(p: Partial<Person> & { uuid: string }): void {
    addPerson(person(p));
  },
  updateParticipant(uuid: string, changes: Json): boolean {
    return updatePerson(uuid, changes);
  },
  removeParticipant(uuid: string): boolean {
    return removePerson(uuid);
  },
  setDialMode(mode: DialMode): void {
    modeSelect.value = mode;
  },
  /** How the dial-out to `destination` goes, overriding the mode. */
  planDial(destination: string, how: DialPlan): void {
    plan[destination] = how;
  },
};

$<HTMLButtonElement>('join').addEventListener('click', () => controls.join());
$<HTMLButtonElement>('leave').addEventListener('click', () => controls.leave());
$<HTMLButtonElement>('drop').addEventListener('click', () => controls.drop());

async function load(): Promise<void> {
  if (new URLSearchParams(location.search).get('join') === '1') startCall();
  const manifestUrl = new URL(new URLSearchParams(location.search).get('manifest') ?? '../branding/manifest.json', location.href);
  const manifest = (await (await fetch(manifestUrl)).json()) as { plugins?: ManifestPlugin[] };
  for (const entry of manifest.plugins ?? []) {
    const iframe = document.createElement('iframe');
    iframe.setAttribute('sandbox', ['allow-scripts', ...(entry.sandboxValues ?? [])].join(' '));
    iframe.dataset.plugin = entry.id;
    iframe.src = new URL(entry.src, manifestUrl).href;
    const plugin: LoadedPlugin = { manifestId: entry.id, iframe, window: null, status: 'loading' };
    plugins.push(plugin);
    $<HTMLElement>('plugins').append(iframe);
    plugin.window = iframe.contentWindow;
  }
  setStatus(`loaded ${plugins.length} plugin(s)`);
}

const record = {
  ...controls,
  get inCall() {
    return inCall;
  },
  get plugins() {
    return plugins.map((p) => ({ id: p.manifestId, status: p.status, reason: p.reason, version: p.version, sandbox: p.iframe.getAttribute('sandbox'), src: p.iframe.src }));
  },
  get buttons() {
    return [...buttons.values()].map((b) => ({ id: b.id, plugin: b.plugin.manifestId, tooltip: b.tooltip, isActive: b.isActive, badge: b.badge, icon: b.icon, visible: !toolbar.hidden }));
  },
  get participants() {
    return people.map((p) => ({ ...p }));
  },
  dialCalls,
  toasts,
  rpcLog,
};
(window as unknown as { standin: typeof record }).standin = record;

load().catch((error: unknown) => {
  setStatus(`failed: ${String(error)}`);
  console.error('stand-in: cannot load the branding manifest', error);
});
