//! The TypeScript of the glue's commands (`bindings/commands.ts`), generated from the Rust
//! types so `external-chat/src/index.ts` never copies them by hand.

use ts_rs::{Config, TS};

use crate::calls::{ConferenceCall, PexipRole};
use crate::core::{Command, Outgoing};

/// The generated file.
pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    meetbridge_protocol::codegen::module(
        "// Generated from crates/external-chat-wasm by `make bindings`. Do not edit by hand.\n\
         // What the plugin's logic asks external-chat/src/index.ts to do.\n\n\
         import type { DialOutParams, ParticipantRole, PluginToTop, VideoconfPluginToTop } from '../../protocol/bindings/protocol';\n\n",
        vec![
            Command::decl(&cfg),
            Outgoing::decl(&cfg),
            ConferenceCall::decl(&cfg),
            PexipRole::decl(&cfg),
        ],
    )
}

/// Checks (or, with `UPDATE_BINDINGS`, writes) the committed file.
pub fn check_or_write() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/commands.ts");
    meetbridge_protocol::codegen::check_or_write(&path, &typescript());
}
