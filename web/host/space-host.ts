// The host runtime's glue: the browser side of crates/space-host. The decisions are made
// in Rust (HostCore, wasm); this file owns what only a page can hold (the iframes, the
// `message` listener, the WebSocket, timers) and performs the effects the core returns,
// in order. Everything crosses the boundary as JSON text (`fromJson` / `toJson` below);
// the shapes are generated from the Rust types (crates/space-host/bindings/space-host.ts).
import { HostCore, framePolicy } from "../pkg/space-host/meetbridge_space_host.js";
import type { AfterClose, Closed, Effect, FramePolicy, HostEvent, PresenceRequest, TimerKind } from "../../crates/space-host/bindings/space-host";
import type { Identity, PluginToPlatform, PresenceStatus } from "../../crates/protocol/bindings/protocol";

export type { HostEvent };

/** Reads what the wasm returned. */
const fromJson = <T>(text: string): T => JSON.parse(text) as T;
/** The JSON text the wasm reads (`undefined` for what JSON cannot carry). */
const toJson = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value) ?? undefined;
  } catch {
    return undefined;
  }
};

/** Options of `SpaceHost.openObject`. */
export interface OpenObjectOptions {
  /**
   * The iframe's `sandbox` attribute. Omitted: the default, what oVice plugins use
   * ("allow-scripts allow-same-origin allow-forms allow-modals allow-popups
   * allow-popups-to-escape-sandbox allow-downloads"), without allow-same-origin when the
   * plugin is on the page's own origin. A string: exactly that (to narrow it per object),
   * except that a plugin on the page's own origin never keeps allow-same-origin beside
   * allow-scripts (it could reach the page). `null`: no sandbox attribute at all.
   */
  sandbox?: string | null;
  /** The iframe's `allow` attribute. Omitted: "clipboard-read; clipboard-write; fullscreen; autoplay". */
  allow?: string;
  /** The iframe's accessible title. */
  title?: string;
}

/** Options of `SpaceHost.closeObject`. */
export interface CloseObjectOptions {
  /** How long the plugin may stay to hear its departure and hand over (default: the host's `graceMs`). 0: at once. */
  graceMs?: number;
  /** Called once the iframe is gone. */
  onClosed?: () => void;
}

/** Options of `new SpaceHost(options)`. */
export interface SpaceHostOptions {
  /** The grace period of a leaving plugin (default 5000 ms). */
  graceMs?: number;
  /**
   * Called when the server closes the socket with 4401 (the token expired or was revoked;
   * `reason` is the server's). Resolve to a fresh token: the host reconnects with it and
   * resumes with `since`, sending again what was not acknowledged (same message ids, so
   * nothing twice). Resolve to null/undefined (or throw): the session ends, and the page
   * hears `{kind: "sessionEnded", reason}`. Without this option a 4401 ends the session.
   */
  refreshToken?: (reason: string) => Promise<string | null | undefined> | string | null | undefined;
  /** Plain `http:` plugin URLs to hosts other than loopback are loaded (the server's `--allow-http-plugins`). */
  allowHttpPlugins?: boolean;
}

interface Frame {
  iframe: HTMLIFrameElement;
  window: Window | null;
  /** postMessage's target origin: the plugin's origin, or "*" when it is opaque. */
  target: string;
  onClosed?: () => void;
}

/** A random prefix for this page's message ids (64 bits, hex). */
function pageIdPrefix(): string {
  const part = () => Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, "0");
  return part() + part();
}

/** The host runtime of one page: one WebSocket, many plugin objects. */
export class SpaceHost {
  private core: HostCore;
  private readonly graceMs: number;
  private readonly options: SpaceHostOptions;
  private token: string | undefined;
  private socket: WebSocket | undefined;
  private generation = 0;
  private stopped = false;
  private holdUntil = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly frames = new Map<string, Frame>();
  private readonly promises = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private handler: ((event: HostEvent) => void) | undefined;
  private readonly listener = (event: MessageEvent) => this.onWindowMessage(event);

  constructor(options: SpaceHostOptions = {}) {
    this.core = new HostCore(pageIdPrefix());
    this.graceMs = options.graceMs ?? 5000;
    this.options = options;
    window.addEventListener("message", this.listener);
  }

  /** Calls `callback` with every HostEvent. */
  onEvent(callback: (event: HostEvent) => void): void {
    this.handler = callback;
  }

  /**
   * Connects to the server's WebSocket (`ws://…/ws`), authenticated by `token`, which
   * travels as a subprotocol (`["meetbridge", token]`), never in the URL. `servers` is one
   * URL (one server, or a load balancer) or a list: on a disconnect the next one is tried,
   * resuming with `since`. Reconnects by itself until `disconnect()`. Throws, naming the
   * entry, on a URL that is not ws:// or wss://.
   */
  connect(servers: string | readonly string[], token: string): void {
    this.core.setServers(JSON.stringify(typeof servers === "string" ? [servers] : servers));
    this.token = token || undefined;
    this.stopped = false;
    this.open();
  }

  /** The server URL the host is connected (or connecting) to. */
  get server(): string | undefined {
    return this.core.serverUrl();
  }

  /** Closes the socket for good (no reconnect). */
  disconnect(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.socket?.close();
  }

  /** Drops the socket as a network failure would; with `holdMs`, stays offline at least that long. */
  dropConnection(holdMs = 0): void {
    this.holdUntil = Date.now() + holdMs;
    this.socket?.close(4000, "dropped by the page");
  }

  /** Stops listening and closes everything (the page is done with this host). */
  free(): void {
    this.disconnect();
    window.removeEventListener("message", this.listener);
    for (const id of [...this.frames.keys()]) this.removeFrame(id);
    this.core.free();
  }

  /** Whether the server has welcomed the current socket. */
  get connected(): boolean {
    return this.core.connected;
  }

  /** Plugin messages not yet sent or not yet acknowledged by the server. */
  get pending(): number {
    return this.core.pending;
  }

  /** Who the server says this user is, once welcomed. */
  identity(): Identity | undefined {
    const text = this.core.identity();
    return text === undefined ? undefined : fromJson<Identity>(text);
  }

  /** The highest message sequence number received for an object. */
  maxSeq(objectId: string): number {
    return this.core.maxSeq(objectId);
  }

  /**
   * Embeds object `id`'s plugin from `url` in `container` (replacing any iframe it has).
   * The URL is checked first with the server's policy (https:, http: on loopback, a path on
   * this server): a refused one becomes no iframe but a sentence in `container` and a
   * `refused` event with code `plugin_url_refused`; returns false then.
   */
  openObject(id: string, url: string, container: HTMLElement, options: OpenObjectOptions = {}): boolean {
    this.removeFrame(id);
    const refused = fromJson<Effect[]>(this.core.checkPluginUrl(id, url, this.options.allowHttpPlugins ?? false));
    if (refused.length > 0) {
      const words = document.createElement("p");
      words.className = "meetbridge-refused";
      words.setAttribute("role", "alert");
      words.dataset.object = id;
      const event = refused.find((e) => e.kind === "event");
      words.textContent = event?.kind === "event" && event.event.kind === "refused" ? event.event.message : `the plugin of object ${id} was not opened`;
      container.append(words);
      this.perform(refused);
      return false;
    }
    const resolved = new URL(url, location.href);
    const policy = fromJson<FramePolicy>(
      framePolicy(options.sandbox ?? undefined, options.sandbox === null, options.allow, resolved.origin, location.origin),
    );
    if (policy.warning) console.warn(`meetbridge: object ${id}: ${policy.warning}`);
    const iframe = document.createElement("iframe");
    if (policy.sandbox !== null) iframe.setAttribute("sandbox", policy.sandbox);
    if (policy.allow) iframe.setAttribute("allow", policy.allow);
    iframe.title = options.title ?? `plugin ${id}`;
    iframe.dataset.object = id;
    iframe.className = "meetbridge-plugin";
    iframe.setAttribute("style", "border:0;width:100%;height:100%;display:block");
    iframe.src = resolved.href;
    iframe.addEventListener("load", () => {
      if (this.frames.get(id)?.iframe === iframe) this.run(this.core.frameLoaded(id));
    });
    container.append(iframe);
    this.frames.set(id, { iframe, window: iframe.contentWindow, target: policy.origin ?? "*" });
    this.core.openObject(id, policy.origin ?? undefined);
    return true;
  }

  /**
   * Closes object `id`'s iframe. The plugin first hears its own departure and may still
   * save and broadcast: the iframe stays for the grace period, or less once the plugin is
   * quiet with nothing in flight (`graceMs: 0`: at once). Its presence stays as set: call
   * `setPresence` too.
   */
  closeObject(id: string, options: CloseObjectOptions = {}): void {
    const frame = this.frames.get(id);
    if (!frame) {
      options.onClosed?.();
      return;
    }
    frame.onClosed = options.onClosed;
    this.run(this.core.closeObject(id, Math.max(0, options.graceMs ?? this.graceMs)));
  }

  /** Whether object `id`'s plugin is in its grace period. */
  isLeaving(id: string): boolean {
    return this.core.isLeaving(id);
  }

  /** The iframe of object `id`, if open (leaving included). */
  frameOf(id: string): HTMLIFrameElement | undefined {
    return this.frames.get(id)?.iframe;
  }

  /**
   * Moves this user on an object: `subscribed` (near), `joined` (linked), `left` (unlinked),
   * `unsubscribed` (moved away). Kept across reconnects. Resolves when the server
   * acknowledges, rejects with its error.
   */
  setPresence(objectId: string, status: PresenceStatus): Promise<void> {
    let request: PresenceRequest;
    try {
      request = fromJson<PresenceRequest>(this.core.setPresence(objectId, status));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const promise = new Promise<void>((resolve, reject) => this.promises.set(request.req, { resolve, reject }));
    this.perform(request.effects);
    return promise;
  }

  /**
   * Sends a plugin message for an object from the page itself (no iframe needed), e.g. on
   * a floor-wide object: a message object, or its JSON text (kept as written). Validated
   * like a plugin's; refusals arrive as `refused` events.
   */
  sendAsPage(objectId: string, message: PluginToPlatform | string): void {
    this.run(this.core.fromPage(objectId, typeof message === "string" ? message : toJson(message)));
  }

  private onWindowMessage(event: MessageEvent): void {
    // Only an object's own iframe window speaks for it; anything else is not ours.
    for (const [id, frame] of this.frames) {
      if (frame.window !== null && event.source === frame.window) {
        this.run(this.core.fromPlugin(id, event.origin, toJson(event.data)));
        return;
      }
    }
  }

  private open(): void {
    const url = this.core.serverUrl();
    if (this.stopped || !url) return;
    const generation = ++this.generation;
    this.run(this.core.connecting());
    let ws: WebSocket;
    try {
      ws = this.token ? new WebSocket(url, ["meetbridge", this.token]) : new WebSocket(url);
    } catch (e) {
      console.warn("meetbridge: cannot open socket", e);
      this.closed(generation, 1006, "");
      return;
    }
    ws.onmessage = (event: MessageEvent) => {
      if (generation === this.generation && typeof event.data === "string") this.run(this.core.fromServer(event.data));
    };
    ws.onclose = (event: CloseEvent) => this.closed(generation, event.code, event.reason);
    this.socket = ws;
  }

  private closed(generation: number, code: number, reason: string): void {
    if (generation !== this.generation) return;
    this.socket = undefined;
    const closed = fromJson<Closed>(this.core.closed(code, reason, Math.random(), !this.stopped));
    this.perform(closed.effects);
    this.next(closed.after);
  }

  /** Carries out what the core decided after a close: stay, reconnect, or ask for a token. */
  private next(after: AfterClose): void {
    switch (after.next) {
      case "stay":
        // Disconnected, or the session ended: nothing reconnects by itself any more.
        this.stopped = true;
        break;
      case "reconnect": {
        // A held drop waits out its hold.
        const delay = Math.max(after.delayMs, this.holdUntil - Date.now());
        this.retry = setTimeout(() => this.open(), delay);
        break;
      }
      case "refreshToken":
        void this.refresh(after.reason);
        break;
    }
  }

  /** Asks the page's `refreshToken` for a fresh token, then reconnects with it or ends the session. */
  private async refresh(reason: string): Promise<void> {
    let token: string | null | undefined;
    try {
      token = await this.options.refreshToken?.(reason);
    } catch (e) {
      console.warn("meetbridge: refreshToken failed", e);
      token = undefined;
    }
    if (this.stopped) return;
    if (token) this.token = token;
    const after = fromJson<Closed>(this.core.tokenRefreshed(Boolean(token), reason));
    this.perform(after.effects);
    this.next(after.after);
  }

  private removeFrame(id: string): void {
    const frame = this.frames.get(id);
    if (!frame) return;
    this.frames.delete(id);
    frame.iframe.remove();
    this.core.closeObject(id, 0);
    frame.onClosed?.();
  }

  private run(effects: string): void {
    this.perform(fromJson<Effect[]>(effects));
  }

  /** Carries out the core's effects, in order. */
  private perform(effects: Effect[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case "send":
          // A failed send is sent again after the reconnect (it stays unacknowledged).
          if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(effect.text);
          break;
        case "toPlugin": {
          const frame = this.frames.get(effect.object);
          try {
            frame?.window?.postMessage(effect.message, frame.target);
          } catch (e) {
            console.warn("meetbridge: postMessage failed", e);
          }
          break;
        }
        case "warn":
          console.warn(effect.text);
          break;
        case "event":
          try {
            this.handler?.(effect.event);
          } catch (e) {
            console.error("meetbridge: onEvent handler threw", e);
          }
          break;
        case "presenceDone": {
          const settle = this.promises.get(effect.req);
          this.promises.delete(effect.req);
          if (!settle) break;
          if (effect.error) {
            const error = Object.assign(new Error(`presence refused (${effect.error.code}): ${effect.error.message}`), {
              code: effect.error.code,
            });
            settle.reject(error);
          } else {
            settle.resolve();
          }
          break;
        }
        case "timer":
          this.startTimer(effect.object, effect.timer, effect.token, effect.ms);
          break;
        case "removeFrame":
          this.removeFrame(effect.object);
          break;
      }
    }
  }

  private startTimer(object: string, timer: TimerKind, token: number, ms: number): void {
    setTimeout(() => this.run(this.core.timerFired(object, timer, token)), ms);
  }
}
