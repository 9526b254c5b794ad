//! The TypeScript of the host's effects and events (`bindings/host.ts`), generated from the
//! Rust types so `web/host/external-chat-host.ts` never copies them by hand.

use ts_rs::{Config, TS};

use crate::core::{Capabilities, DialStarted, Effect, HostEvent, HostState, Outgoing};

/// The generated file.
pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    meetbridge_protocol::codegen::module(
        "// Generated from crates/meeting-host by `make bindings`. Do not edit by hand.\n\
         // What ExternalChatHost's logic tells web/host/external-chat-host.ts.\n\n\
         import type { Dialect, DialOutError, DialOutSuccess, Disconnected, Roster, RosterParticipant, SelfState, ToggleChat, TopToPlugin, VideoconfTopToPlugin } from '../../protocol/bindings/protocol';\n\n",
        vec![
            Effect::decl(&cfg),
            Outgoing::decl(&cfg),
            HostEvent::decl(&cfg),
            Capabilities::decl(&cfg),
            HostState::decl(&cfg),
            DialStarted::decl(&cfg),
        ],
    )
}

/// Checks (or, with `UPDATE_BINDINGS`, writes) the committed file.
pub fn check_or_write() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/host.ts");
    meetbridge_protocol::codegen::check_or_write(&path, &typescript());
}
