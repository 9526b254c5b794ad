// Generated from crates/meeting-host by `make bindings`. Do not edit by hand.
// What ExternalChatHost's logic tells web/host/external-chat-host.ts.

import type { Dialect, DialOutError, DialOutSuccess, Disconnected, Roster, RosterParticipant, SelfState, ToggleChat, TopToPlugin, VideoconfTopToPlugin } from '../../protocol/bindings/protocol';

export type Effect = { "do": "adopt", targetOrigin: string, } | { "do": "post", message: Outgoing, } | { "do": "emit", event: HostEvent, } | { "do": "resolve", id: string, value: DialOutSuccess, } | { "do": "reject", id: string, error: DialOutError, } | { "do": "timer", id: string, ms: number, } | { "do": "warn", text: string, } | { "do": "fail", message: string, };

export type Outgoing = TopToPlugin | VideoconfTopToPlugin;

export type HostEvent = { "kind": "ready" } & Capabilities | { "kind": "capabilities" } & Capabilities | { "kind": "connected" } | { "kind": "disconnected" } & Disconnected | { "kind": "toggleChat" } & ToggleChat | { "kind": "dialOutSuccess" } & DialOutSuccess | { "kind": "dialOutError" } & DialOutError | { "kind": "roster" } & Roster | { "kind": "self" } & SelfState;

export type Capabilities = { dialect: Dialect, 
/**
 * Feature names from `rocketchat:videoconf/ready`; empty for the original dialect.
 */
features: Array<string>, };

export type HostState = { ready: boolean, dialect: Dialect, features: Array<string>, participants: Array<RosterParticipant>, self: SelfState | null, pendingDialOuts: number, };

export type DialStarted = { id: string, effects: Array<Effect>, };
