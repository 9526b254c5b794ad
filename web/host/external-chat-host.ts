// ExternalChatHost: the SDK for the page that embeds Pexip Web App 3 (the top window), to
// talk to the external-chat plugin in either dialect (`pexip:plugin:external-chat/*`,
// `rocketchat:videoconf/*`). Its decisions are Rust (crates/meeting-host, wasm); this file
// is the browser glue: it finds the plugin's messages, answers the plugin's own window,
// runs timers and the page's callbacks. Types are generated from the Rust definitions.
//
// Web App 3 runs each plugin in its own sandboxed iframe *inside* the Web App 3 iframe, so
// messages from the plugin come from a frame nested in `iframe#webapp3` (not from its
// `contentWindow`), and a message posted to the Web App 3 window never reaches the plugin:
// the host answers the window that sent `ready`. A sandboxed plugin has the opaque origin
// `"null"`, which only `'*'` can address; the message still goes to that one window.
import init, { HostCore } from "../pkg/meeting-host/meeting_host.js";
import type { Capabilities, DialStarted, Effect, HostEvent, HostState } from "../../crates/meeting-host/bindings/host";
import type {
  DialOutError,
  DialOutParams,
  DialOutSuccess,
  Disconnected,
  ParticipantRole,
  Roster,
  RosterParticipant,
  SelfState,
  ToggleChat,
  VideoconfTopToPlugin,
} from "../../crates/protocol/bindings/protocol";

export default init;
export type { Capabilities, DialOutError, DialOutParams, DialOutSuccess, Disconnected, HostState, Roster, RosterParticipant, SelfState, ToggleChat };

/** Options of `dialOut`. */
export interface DialOutOptions {
  /** Report a destination that has not joined after this many milliseconds as failed. */
  timeoutMs?: number;
}


type Callbacks = {
  ready?: (c: Capabilities) => void;
  capabilities?: (c: Capabilities) => void;
  connected?: () => void;
  disconnected?: (d: Disconnected) => void;
  toggleChat?: (t: ToggleChat) => void;
  dialOutSuccess?: (s: DialOutSuccess) => void;
  dialOutError?: (e: DialOutError) => void;
  roster?: (r: Roster) => void;
  self?: (s: SelfState) => void;
};

const VIDEOCONF = "rocketchat:videoconf/";

/** The one JSON helper of this package: values cross the wasm boundary as JSON text. */
const wasm = {
  encode: (value: unknown): string => JSON.stringify(value ?? null) ?? "null",
  decode: <T>(text: string): T => JSON.parse(text) as T,
};

/** Whether `source` is `iframe`'s window or a frame nested in it. */
function fromInside(source: MessageEventSource | null, iframe: HTMLIFrameElement): boolean {
  const webapp = iframe.contentWindow;
  let current = source as Window | null;
  // Frames nest a few levels at most; the bound only guards against a loop.
  for (let i = 0; webapp && current && i < 32; i++) {
    if (current === webapp) return true;
    // `parent` is readable on a cross-origin WindowProxy.
    const parent: Window = current.parent;
    if (parent === current) return false; // reached the top window
    current = parent;
  }
  return false;
}

/** The top-window side of the external-chat plugin, attached to the Web App 3 iframe. */
export class ExternalChatHost {
  private readonly core: HostCore;
  private readonly callbacks: Callbacks = {};
  private plugin?: { window: Window; targetOrigin: string };
  private readonly pending = new Map<string, { resolve: (s: DialOutSuccess) => void; reject: (e: DialOutError) => void; timer?: ReturnType<typeof setTimeout> }>();
  private readonly listener = (event: MessageEvent) => {
    if (!fromInside(event.source, this.iframe)) return;
    this.run(this.core.message(wasm.encode(event.data), event.origin), event.source as Window);
  };

  constructor(private readonly iframe: HTMLIFrameElement) {
    this.core = new HostCore(Math.floor(Math.random() * 2 ** 32).toString(16));
    window.addEventListener("message", this.listener);
  }

  /** Attaches to `iframe#webapp3` in the current document. */
  static attach(): ExternalChatHost {
    const iframe = document.querySelector("iframe#webapp3");
    if (!(iframe instanceof HTMLIFrameElement)) throw new Error("no iframe#webapp3 in the document");
    return new ExternalChatHost(iframe);
  }

  /** Carries out the core's effects; `source` is the window of the message being handled. */
  private run(effects: string, source?: Window): void {
    for (const effect of wasm.decode<Effect[]>(effects)) {
      switch (effect.do) {
        case "adopt":
          if (source) this.plugin = { window: source, targetOrigin: effect.targetOrigin };
          break;
        case "post":
          this.plugin?.window.postMessage(effect.message, this.plugin.targetOrigin);
          break;
        case "emit":
          this.emit(effect.event);
          break;
        case "resolve":
        case "reject": {
          const p = this.pending.get(effect.id);
          if (!p) break;
          this.pending.delete(effect.id);
          clearTimeout(p.timer);
          if (effect.do === "resolve") p.resolve(effect.value);
          else p.reject(effect.error);
          break;
        }
        case "timer": {
          const p = this.pending.get(effect.id);
          if (p) p.timer = setTimeout(() => this.run(this.core.timer(effect.id)), effect.ms);
          break;
        }
        case "warn":
          console.warn(`ExternalChatHost: ${effect.text}`);
          break;
        case "fail":
          throw new Error(`ExternalChatHost: ${effect.message}`);
      }
    }
  }

  private emit(event: HostEvent): void {
    const call = <A>(f: ((a: A) => void) | undefined, a: A) => {
      try {
        f?.(a);
      } catch (error) {
        console.error("ExternalChatHost: a callback threw", error);
      }
    };
    const { kind, ...data } = event;
    const cb = this.callbacks;
    switch (event.kind) {
      case "ready":
        return call(cb.ready, data as Capabilities);
      case "capabilities":
        return call(cb.capabilities, data as Capabilities);
      case "connected":
        return call(cb.connected, undefined);
      case "disconnected":
        return call(cb.disconnected, data as Disconnected);
      case "toggleChat":
        return call(cb.toggleChat, data as ToggleChat);
      case "dialOutSuccess":
        return call(cb.dialOutSuccess, data as DialOutSuccess);
      case "dialOutError":
        return call(cb.dialOutError, data as DialOutError);
      case "roster":
        return call(cb.roster, data as Roster);
      case "self":
        return call(cb.self, data as SelfState);
      default:
        console.warn(`ExternalChatHost: unhandled event ${kind}`);
    }
  }

  /** Whether the plugin has said `ready`. */
  get ready(): boolean {
    return this.state.ready;
  }

  /** The plugin's dialect and features, the roster and the local participant. */
  get state(): HostState {
    return wasm.decode<HostState>(this.core.state());
  }

  /** Whether the plugin announced `feature` (`rocketchat:videoconf/ready { features }`). */
  offers(feature: string): boolean {
    return this.state.features.includes(feature);
  }

  /** `ready`: the plugin loaded and registered with Web App 3 (once per load). */
  onReady(callback: ((c: Capabilities) => void) | null): void {
    this.callbacks.ready = callback ?? undefined;
  }
  /** The plugin turned out to speak `rocketchat:videoconf` too: its features. */
  onCapabilities(callback: ((c: Capabilities) => void) | null): void {
    this.callbacks.capabilities = callback ?? undefined;
  }
  /** `connected`: the user joined the call. */
  onConnected(callback: (() => void) | null): void {
    this.callbacks.connected = callback ?? undefined;
  }
  /** `disconnected`: the user left (`userInitiated`) or lost the call; once per call. */
  onDisconnected(callback: ((d: Disconnected) => void) | null): void {
    this.callbacks.disconnected = callback ?? undefined;
  }
  /** `toggle-chat`: the user clicked the Chat button; the button waits for `setButtonActive`. */
  onToggleChat(callback: ((t: ToggleChat) => void) | null): void {
    this.callbacks.toggleChat = callback ?? undefined;
  }
  /** `dial-out-success`, for every dial-out (also those not started by `dialOut`). */
  onDialOutSuccess(callback: ((s: DialOutSuccess) => void) | null): void {
    this.callbacks.dialOutSuccess = callback ?? undefined;
  }
  /** `dial-out-error`, for every dial-out (also those not started by `dialOut`). */
  onDialOutError(callback: ((e: DialOutError) => void) | null): void {
    this.callbacks.dialOutError = callback ?? undefined;
  }
  /** `roster`: everybody in the call, the whole list on every change. */
  onRoster(callback: ((r: Roster) => void) | null): void {
    this.callbacks.roster = callback ?? undefined;
  }
  /** `self`: the local participant's state. */
  onSelf(callback: ((s: SelfState) => void) | null): void {
    this.callbacks.self = callback ?? undefined;
  }

  /** Sets the Chat button's state and tooltip; remembered and re-sent when the plugin (re)loads. */
  setButtonActive(active: boolean): void {
    this.run(this.core.setButtonActive(active));
  }

  /** Shows or hides the unread badge; remembered like the button. */
  setBadge(visible: boolean): void {
    this.run(this.core.setBadge(visible));
  }

  /**
   * Dials `params` into the conference. Resolves with the `dial-out-success` once the
   * participant joined; rejects with a `dial-out-error` (invalid parameters, a failed call,
   * `timeoutMs` elapsed, here or in the plugin, plugin not ready). Several may run at once.
   */
  dialOut(params: DialOutParams, options?: DialOutOptions): Promise<DialOutSuccess> {
    const started = wasm.decode<DialStarted>(this.core.dialOut(wasm.encode(params), wasm.encode(options ?? {})));
    const promise = new Promise<DialOutSuccess>((resolve, reject) => this.pending.set(started.id, { resolve, reject }));
    this.run(wasm.encode(started.effects));
    return promise;
  }

  private control(name: string, fields: Record<string, unknown>): void {
    const request = { action: `${VIDEOCONF}${name}`, ...fields } as VideoconfTopToPlugin;
    this.run(this.core.control(wasm.encode(request)));
  }

  /** Participant controls (`rocketchat:videoconf`). Each throws when the plugin does not
   * offer it or the request is invalid; the change arrives as the next roster. */
  mute(participantUuid: string, muted: boolean): void {
    this.control("mute", { participantUuid, muted });
  }
  muteVideo(participantUuid: string, muted: boolean): void {
    this.control("mute-video", { participantUuid, muted });
  }
  admit(participantUuid: string): void {
    this.control("admit", { participantUuid });
  }
  disconnect(participantUuid: string): void {
    this.control("disconnect", { participantUuid });
  }
  spotlight(participantUuid: string, active: boolean): void {
    this.control("spotlight", { participantUuid, active });
  }
  raiseHand(participantUuid: string, raised: boolean): void {
    this.control("raise-hand", { participantUuid, raised });
  }
  setRole(participantUuid: string, role: ParticipantRole): void {
    this.control("set-role", { participantUuid, role });
  }
  transfer(participantUuid: string, alias: string, options: { role?: ParticipantRole; pin?: string } = {}): void {
    this.control("transfer", { participantUuid, alias, ...options });
  }
  dtmf(participantUuid: string, digits: string): void {
    this.control("dtmf", { participantUuid, digits });
  }
  muteAllGuests(muted: boolean): void {
    this.control("mute-all-guests", { muted });
  }
  /** Tells the plugin the page's participants panel opened (it then sends the roster at once) or closed. */
  setParticipantsPanel(active: boolean): void {
    this.control("participants-state", { active });
  }

  /** Stops listening; pending `dialOut` promises reject. */
  destroy(): void {
    window.removeEventListener("message", this.listener);
    this.run(this.core.destroy());
    this.plugin = undefined;
  }
}
