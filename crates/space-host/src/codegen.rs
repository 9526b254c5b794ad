//! The TypeScript of what crosses the wasm boundary (effects, events, policies), generated
//! from the Rust types so the glue copies none by hand; the HTTP API's object records the
//! glue reads (`ObjectDef`, defined in the protocol crate) are re-exported from the
//! protocol's bindings. `make bindings` writes it to `bindings/space-host.ts`; the
//! `bindings` test fails when the committed file is stale.

use ts_rs::{Config, TS};

use crate::connection::AfterClose;
use crate::core::{ConnState, Effect, FramePolicy, HostEvent, TimerKind};
use crate::{Closed, PresenceRequest};

/// The content of `bindings/space-host.ts`.
pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from crates/space-host by `make bindings`. Do not edit by hand.\n\
         // What the host runtime's wasm returns to its TypeScript glue (JSON text).\n\n\
         import type { ErrorFrame, FloorFrame, Missed, PlatformToPlugin, ServerPluginFrame, Welcome } from \"../../protocol/bindings/protocol\";\n\
         export type { ObjectDef, ObjectSettings, Retention } from \"../../protocol/bindings/protocol\";\n\n",
    );
    let decls = [
        Effect::decl(&cfg),
        TimerKind::decl(&cfg),
        HostEvent::decl(&cfg),
        ConnState::decl(&cfg),
        FramePolicy::decl(&cfg),
        AfterClose::decl(&cfg),
        Closed::decl(&cfg),
        PresenceRequest::decl(&cfg),
    ];
    for decl in decls {
        out.push_str("export ");
        out.push_str(decl.trim());
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}
