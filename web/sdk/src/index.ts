/**
 * @meetbridge/ovice-plugin-sdk: the plugin side of the oVice custom-plugin contract
 * with promises and typed events. Every message type comes from the Rust
 * definitions (crates/protocol, generated into protocol.ts); nothing is redeclared here.
 *
 * It speaks only the seed's messages, so a plugin built with it runs on oVice itself; the
 * meetbridge extension `meetbridge_error` is used when it arrives (rejected promises carry
 * the platform's reason) and otherwise simply never arrives.
 */
import type {
  HistoryEntry,
  HistoryPage,
  HistoryRequest,
  JsonValue,
  LegacyHandshake,
  LegacyToPlugin,
  Participant,
  PlatformToPlugin as CurrentPlatformToPlugin,
  PluginError,
  PluginToPlatform,
  RelayedMessage,
  SavedSuccess,
  SentReceipt,
} from "../../../crates/protocol/bindings/protocol";
import { MAX_DATA_BYTES, MAX_MESSAGE_BYTES } from "../../../crates/protocol/bindings/protocol";

/** Every message a platform posts to a plugin, the old handshake's `ovice_confirmation` included. */
export type PlatformToPlugin = CurrentPlatformToPlugin | LegacyToPlugin;

export type {
  SentReceipt,
  HistoryEntry,
  HistoryPage,
  JsonValue,
  Participant,
  PluginError,
  PluginToPlatform,
  RelayedMessage,
  SavedSuccess,
};

/** A saved-data document: a JSON object. */
export type DataDocument = { [key in string]: JsonValue };

/** Every platform event type, e.g. `"ovice_participant_joined"`. */
export type PlatformEventType = PlatformToPlugin["type"];

/** The payload of a platform event (`undefined` for those without one). */
export type PayloadOf<T extends PlatformEventType> =
  Extract<PlatformToPlugin, { type: T }> extends { payload: infer P } ? P : undefined;

/** Handler of `plugin.on(type, handler)`. */
export type Handler<T extends PlatformEventType> = (
  payload: PayloadOf<T>,
  message: Extract<PlatformToPlugin, { type: T }>,
) => void;

export interface PluginOptions {
  /**
   * The origin the platform page must have, e.g. "https://xxx.ovice.in". Messages from any
   * other origin are dropped and messages to the platform are posted only to it. Without
   * it, the SDK still accepts messages only from `window.parent`, and posts with "*"
   * (the platform's origin is then unknown, as for every plain oVice plugin).
   */
  parentOrigin?: string;
  /** How long `getParticipants`, `getData` and `saveAndEmitData` wait (default 10 s). */
  timeoutMs?: number;
  /**
   * Run the legacy handshake (`ovice_ready` → `ovice_confirmation` →
   * `ovice_ready_confirmed`) on start; `plugin.ready` settles when it completes.
   */
  legacyHandshake?: boolean;
  /** The plugin's own window (tests); default `window`. */
  self?: Window;
}

/**
 * What `getHistory` found: the page of past messages, or `supported: false` where the
 * platform has no history extension (oVice itself).
 */
export type HistoryResult = ({ supported: true } & HistoryPage) | { supported: false };

/** Options of `getHistory`. */
export interface HistoryOptions {
  /** Only messages after this sequence number (a previous page's `upto`). */
  since?: number;
  /** At most this many messages, the oldest first within the page. */
  limit?: number;
  /**
   * Page backwards: the newest messages below this sequence number (a previous backward
   * page's `from`); the page's `start` says nothing earlier is retained.
   */
  before?: number;
  /** Page backwards from the newest message (implied by `before`). */
  backward?: boolean;
  /** How long to wait for an answer before deciding the platform has no history (default 3 s). */
  waitMs?: number;
}

/** What `broadcast` / `emit` resolve with: the platform's sequence number for the message, where it says (meetbridge's `meetbridge_sent`); `undefined` on oVice. */
export interface SendResult {
  seq: number | undefined;
}

/** Options of `broadcast` / `emit`. */
export interface SendOptions {
  /** How long to wait for the platform's receipt before resolving `{ seq: undefined }` (default 3 s). */
  waitMs?: number;
}

/** Why a request failed: `code` is `"timeout"`, `"too_large"` or the platform's error code. */
export class PluginRequestError extends Error {
  readonly code: string;
  readonly request: string;
  constructor(request: string, code: string, message: string) {
    super(`${request}: ${message}`);
    this.name = "PluginRequestError";
    this.code = code;
    this.request = request;
  }
}

type Reply = "ovice_participants" | "ovice_saved_data" | "ovice_data_saved_success" | "meetbridge_history";

interface Waiter {
  request: PluginToPlatform["type"];
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

const REPLY_OF: Partial<Record<PluginToPlatform["type"], Reply>> = {
  ovice_get_participants: "ovice_participants",
  ovice_get_data: "ovice_saved_data",
  ovice_save_and_emit_data: "ovice_data_saved_success",
  meetbridge_get_history: "meetbridge_history",
};

/** A broadcast or emit waiting for its receipt (FIFO: the platform answers in order). */
interface SendWaiter {
  request: "ovice_broadcast_message" | "ovice_emit_message";
  resolve: (value: SendResult) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
  /** Resolved by the timeout: kept in line so that a late receipt still finds its send. */
  settled: boolean;
}

/** Most sends kept in line after their timeout (on oVice no receipt ever comes). */
const MAX_SEND_GHOSTS = 1000;
const SEND_TYPES = new Set(["ovice_broadcast_message", "ovice_emit_message", "ovice_emit_to_others", "ovice_emit_to"]);

const encoder = new TextEncoder();
const jsonBytes = (value: unknown): number => encoder.encode(JSON.stringify(value) ?? "").length;

/** One plugin's connection to its platform (`window.parent`). */
export class OvicePlugin {
  private readonly win: Window;
  private readonly origin: string | undefined;
  private readonly timeoutMs: number;
  private readonly handlers = new Map<string, Set<(payload: unknown, message: unknown) => void>>();
  private readonly waiting = new Map<Reply, Waiter[]>();
  private readonly sends: SendWaiter[] = [];
  private readonly listener: (event: MessageEvent) => void;
  private self: Participant | undefined;
  /** Settles when the legacy handshake completes (at once without `legacyHandshake`). */
  readonly ready: Promise<void>;

  constructor(options: PluginOptions = {}) {
    this.win = options.self ?? window;
    this.origin = options.parentOrigin;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.listener = (event) => this.receive(event);
    this.win.addEventListener("message", this.listener);
    this.on("ovice_participant_subscribed", (p) => this.noteSelf(p));
    this.on("ovice_participant_joined", (p) => this.noteSelf(p));
    if (options.legacyHandshake) {
      this.ready = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new PluginRequestError("ovice_ready", "timeout", `no ovice_confirmation within ${this.timeoutMs} ms`)),
          this.timeoutMs,
        );
        const off = this.on("ovice_confirmation", () => {
          off();
          clearTimeout(timer);
          this.post({ type: "ovice_ready_confirmed" });
          resolve();
        });
        this.post({ type: "ovice_ready" });
      });
    } else {
      this.ready = Promise.resolve();
    }
  }

  /** Subscribes to a platform event; returns the function that unsubscribes. */
  on<T extends PlatformEventType>(type: T, handler: Handler<T>): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
    }
    const h = handler as (payload: unknown, message: unknown) => void;
    set.add(h);
    return () => set.delete(h);
  }

  /** Every user subscribed to or joined to the object, this user included (`isSelf`). */
  getParticipants(): Promise<Participant[]> {
    return this.request({ type: "ovice_get_participants" }) as Promise<Participant[]>;
  }

  /** This user, from the platform's participant list (or the last self event). */
  async me(): Promise<Participant> {
    if (this.self) return this.self;
    const list = await this.getParticipants();
    const me = list.find((p) => p.isSelf);
    if (!me) throw new PluginRequestError("ovice_get_participants", "no_self", "the platform listed no participant with isSelf");
    this.self = me;
    return me;
  }

  /** The object's saved data (`{}` when nothing was saved yet). */
  getData(): Promise<DataDocument> {
    return this.request({ type: "ovice_get_data" }) as Promise<DataDocument>;
  }

  /**
   * Saves the object's data (at most 500 KB of JSON) and shares it with the other users
   * (`ovice_shared_data`). Resolves with `ovice_data_saved_success` once it is stored.
   */
  saveAndEmitData(data: DataDocument): Promise<SavedSuccess> {
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      return Promise.reject(new PluginRequestError("ovice_save_and_emit_data", "invalid_message", "data must be a JSON object"));
    }
    const size = jsonBytes(data);
    if (size > MAX_DATA_BYTES) {
      return Promise.reject(
        new PluginRequestError("ovice_save_and_emit_data", "too_large", `data is ${size} bytes of JSON; the limit is ${MAX_DATA_BYTES}`),
      );
    }
    return this.request({ type: "ovice_save_and_emit_data", payload: data }) as Promise<SavedSuccess>;
  }

  /**
   * The object's past messages this user may see (addressed to them or sent by them), oldest
   * first, each with its sequence number: the meetbridge history extension
   * (`meetbridge_get_history` → `meetbridge_history`). On a platform without it (oVice
   * itself) nothing answers, and this resolves `{ supported: false }` after `waitMs`.
   */
  async getHistory(options: HistoryOptions = {}): Promise<HistoryResult> {
    const payload: HistoryRequest = {};
    if (options.since !== undefined) payload.since = options.since;
    if (options.limit !== undefined) payload.limit = options.limit;
    if (options.before !== undefined) payload.before = options.before;
    if (options.backward) payload.backward = true;
    try {
      const page = (await this.request({ type: "meetbridge_get_history", payload }, options.waitMs ?? 3000)) as HistoryPage;
      return { supported: true, ...page };
    } catch (e) {
      if (e instanceof PluginRequestError && e.code === "timeout") return { supported: false };
      throw e;
    }
  }

  /**
   * Sends `message` to every other user of the object; they get `ovice_message`, exactly
   * as sent. Resolves `{ seq }` once the platform relayed it (meetbridge's `meetbridge_sent`),
   * rejects with `PluginRequestError` when it refused it (`meetbridge_error`); on oVice,
   * which answers nothing, resolves `{ seq: undefined }` after `waitMs` (3 s). Ignoring the
   * promise is fine: it never surfaces as an unhandled rejection.
   */
  broadcast(event: string, message: JsonValue, options: SendOptions = {}): Promise<SendResult> {
    return this.send("ovice_broadcast_message", { type: "ovice_broadcast_message", payload: { event, message } }, options);
  }

  /** Sends `message` to one user of the object (`to`: their id); they get `ovice_message`. Resolves as `broadcast`. */
  emit(to: string | number, event: string, message: JsonValue, options: SendOptions = {}): Promise<SendResult> {
    return this.send("ovice_emit_message", { type: "ovice_emit_message", payload: { event, message, to: String(to) } }, options);
  }

  private send(request: SendWaiter["request"], message: PluginToPlatform, options: SendOptions): Promise<SendResult> {
    const payload = (message as { payload: { event: string; message: JsonValue } }).payload;
    const promise = new Promise<SendResult>((resolve, reject) => {
      try {
        this.checkMessage(request, payload.event, payload);
        this.post(message);
      } catch (e) {
        console.warn(`${request} not sent: ${e instanceof Error ? e.message : String(e)}`);
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      const waiter: SendWaiter = {
        request,
        resolve,
        reject,
        settled: false,
        timer: setTimeout(() => {
          waiter.settled = true;
          resolve({ seq: undefined });
        }, options.waitMs ?? 3000),
      };
      this.sends.push(waiter);
      while (this.sends.length > MAX_SEND_GHOSTS && this.sends[0].settled) this.sends.shift();
    });
    // A plugin may ignore the promise: a refusal must not become an unhandled rejection.
    promise.catch(() => undefined);
    return promise;
  }

  /** The receipt or refusal of the oldest send in line. */
  private settleSend(outcome: { seq: number | undefined } | PluginError): void {
    const waiter = this.sends.shift();
    if (!waiter) return;
    clearTimeout(waiter.timer);
    if (waiter.settled) return;
    waiter.settled = true;
    if ("code" in outcome) waiter.reject(new PluginRequestError(waiter.request, outcome.code, outcome.message));
    else waiter.resolve({ seq: outcome.seq });
  }

  /** Stops listening and rejects what is still waiting. */
  destroy(): void {
    this.win.removeEventListener("message", this.listener);
    for (const [, list] of this.waiting) {
      for (const w of list.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new PluginRequestError(w.request, "destroyed", "the plugin was destroyed"));
      }
    }
    for (const w of this.sends.splice(0)) {
      clearTimeout(w.timer);
      if (!w.settled) w.reject(new PluginRequestError(w.request, "destroyed", "the plugin was destroyed"));
    }
    this.handlers.clear();
  }

  /** The platform's rules, checked before posting: a non-empty event, at most 2 MB of JSON for the whole payload. */
  private checkMessage(type: PluginToPlatform["type"], event: string, payload: unknown): void {
    if (typeof event !== "string" || event === "") {
      throw new PluginRequestError(type, "invalid_message", "event must be a non-empty string");
    }
    const size = jsonBytes(payload);
    if (size > MAX_MESSAGE_BYTES) {
      throw new PluginRequestError(type, "too_large", `the payload is ${size} bytes of JSON; the limit is ${MAX_MESSAGE_BYTES}`);
    }
  }

  private noteSelf(p: Participant): void {
    if (p.isSelf) this.self = p;
  }

  private post(message: PluginToPlatform | LegacyHandshake): void {
    const parent = this.win.parent;
    if (!parent || parent === this.win) {
      throw new Error("this page is not embedded: an oVice plugin runs in an iframe of the space");
    }
    parent.postMessage(message, this.origin ?? "*");
  }

  private request(message: PluginToPlatform, timeoutMs = this.timeoutMs): Promise<unknown> {
    const reply = REPLY_OF[message.type];
    if (!reply) return Promise.reject(new Error(`${message.type} has no reply`));
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(reply) ?? [];
      this.waiting.set(reply, list);
      const waiter: Waiter = {
        request: message.type,
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = list.indexOf(waiter);
          if (i >= 0) list.splice(i, 1);
          reject(
            new PluginRequestError(
              message.type,
              "timeout",
              `no ${reply} within ${timeoutMs} ms (is the plugin embedded in a space, and is the user near the object?)`,
            ),
          );
        }, timeoutMs),
      };
      list.push(waiter);
      try {
        this.post(message);
      } catch (e) {
        list.splice(list.indexOf(waiter), 1);
        clearTimeout(waiter.timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  private receive(event: MessageEvent): void {
    if (event.source !== this.win.parent) return;
    if (this.origin !== undefined && event.origin !== this.origin) return;
    const data: unknown = event.data;
    if (data === null || typeof data !== "object" || typeof (data as { type?: unknown }).type !== "string") return;
    const message = data as PlatformToPlugin;
    const payload = (message as { payload?: unknown }).payload;
    const reply = message.type as Reply;
    const list = this.waiting.get(reply);
    if (list && list.length > 0) {
      const waiter = list.shift() as Waiter;
      clearTimeout(waiter.timer);
      waiter.resolve(payload);
    }
    if (message.type === "meetbridge_sent") {
      this.settleSend({ seq: (payload as SentReceipt).seq });
    }
    if (message.type === "meetbridge_error" && SEND_TYPES.has((payload as PluginError).refused ?? "")) {
      // A refused broadcast or emit: its promise rejects (in order, as the receipts come).
      this.settleSend(payload as PluginError);
    } else if (message.type === "meetbridge_error") {
      // Our platform says why it refused a request: fail the oldest one of that kind.
      const error = payload as PluginError;
      const refusedReply = error.refused ? REPLY_OF[error.refused as PluginToPlatform["type"]] : undefined;
      const waiting = refusedReply ? this.waiting.get(refusedReply) : undefined;
      const waiter = waiting?.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.reject(new PluginRequestError(waiter.request, error.code, error.message));
      } else if (!this.handlers.get("meetbridge_error")?.size) {
        console.warn(`meetbridge refused ${error.refused ?? "a message"}: ${error.message}`);
      }
    }
    for (const handler of this.handlers.get(message.type) ?? []) {
      try {
        handler(payload, message);
      } catch (e) {
        console.error(`handler of ${message.type} threw`, e);
      }
    }
  }
}

/** Starts a plugin: `const plugin = connect({ parentOrigin: "https://my.ovice.in" })`. */
export function connect(options: PluginOptions = {}): OvicePlugin {
  return new OvicePlugin(options);
}
