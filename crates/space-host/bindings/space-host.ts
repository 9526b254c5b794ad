// Generated from crates/space-host by `make bindings`. Do not edit by hand.
// What the host runtime's wasm returns to its TypeScript glue (JSON text).

import type { ErrorFrame, FloorFrame, Missed, PlatformToPlugin, ServerPluginFrame, Welcome } from "../../protocol/bindings/protocol";
export type { ObjectDef, ObjectSettings, Retention } from "../../protocol/bindings/protocol";

export type Effect = { "kind": "send", text: string, } | { "kind": "toPlugin", object: string, message: PlatformToPlugin, } | { "kind": "warn", text: string, } | { "kind": "event", event: HostEvent, } | { "kind": "presenceDone", req: number, error?: ErrorFrame, } | { "kind": "timer", object: string, timer: TimerKind, token: number, ms: number, } | { "kind": "removeFrame", object: string, };

export type TimerKind = "listen" | "quiet" | "grace";

export type HostEvent = { "kind": "state", state: ConnState, retryInMs?: number, } | { "kind": "welcome" } & Welcome | { "kind": "plugin" } & ServerPluginFrame | { "kind": "refused", object: string, code: string, message: string, refused?: string, } | { "kind": "missed" } & Missed | { "kind": "error" } & ErrorFrame | { "kind": "leaving", object: string, graceMs: number, } | { "kind": "closed", object: string, } | { "kind": "sessionEnded", reason: string, } | { "kind": "floor" } & FloorFrame;

export type ConnState = "connecting" | "open" | "closed";

export type FramePolicy = { 
/**
 * The `sandbox` attribute, `None` for no attribute at all.
 */
sandbox: string | null, 
/**
 * The `allow` attribute (permissions policy).
 */
allow: string, 
/**
 * The plugin's origin when it is known; `None` when the frame's origin is opaque.
 */
origin: string | null, 
/**
 * A warning for the console, when the policy had to tighten or looks unsafe.
 */
warning: string | null, };

export type AfterClose = { "next": "stay" } | { "next": "reconnect", url: string, delayMs: number, } | { "next": "refreshToken", reason: string, };

export type Closed = { after: AfterClose, effects: Array<Effect>, };

export type PresenceRequest = { req: number, effects: Array<Effect>, };
