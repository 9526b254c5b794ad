// Generated from crates/external-chat-wasm by `make bindings`. Do not edit by hand.
// What the plugin's logic asks external-chat/src/index.ts to do.

import type { DialOutParams, ParticipantRole, PluginToTop, VideoconfPluginToTop } from '../../protocol/bindings/protocol';

export type Command = { "do": "post", message: Outgoing, } | { "do": "warn", reason: string, } | { "do": "setButton", active: boolean, tooltip: string, badge: boolean, } | { "do": "dial", token: number, params: DialOutParams, } | { "do": "call", call: ConferenceCall, } | { "do": "timer", token: number, ms: number, };

export type Outgoing = PluginToTop | VideoconfPluginToTop;

export type ConferenceCall = { "method": "mute", "payload": { participantUuid?: string, mute: boolean, } } | { "method": "muteVideo", "payload": { participantUuid?: string, muteVideo: boolean, } } | { "method": "raiseHand", "payload": { participantUuid?: string, raise: boolean, } } | { "method": "admit", "payload": { participantUuid: string, } } | { "method": "disconnect", "payload": { participantUuid: string, } } | { "method": "spotlight", "payload": { participantUuid: string, enable: boolean, } } | { "method": "setRole", "payload": { participantUuid: string, role: PexipRole, } } | { "method": "transfer", "payload": { participantUuid: string, destination: string, role: ParticipantRole, pin?: string, } } | { "method": "sendDTMF", "payload": { participantUuid: string, digits: string, } } | { "method": "muteAllGuests", "payload": { mute: boolean, } };

export type PexipRole = "chair" | "guest";
