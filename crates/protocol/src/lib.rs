//! # meetbridge-protocol
//!
//! The single definition of the two `window.postMessage` contracts meetbridge speaks, and
//! of the frames its browser host runtime exchanges with its server:
//!
//! - [`pexip`]: the Pexip Web App 3 external-chat plugin
//!   (`{ action: "pexip:plugin:external-chat/<name>", ...fields }`).
//! - [`videoconf`]: the same plugin's `rocketchat:videoconf/<name>` dialect (participants
//!   and the host's controls).
//! - [`ovice`]: oVice custom plugins (`{ type: "ovice_<event>", payload }`), with
//!   [`legacy`] for oVice's older wire formats and [`json_text`] for JSON kept as sent.
//! - [`bridge`]: host runtime ↔ server WebSocket frames (ours).
//! - [`limits`]: 2 MB messages, 500 KB saved data, measured on the JSON encoding.
//! - [`plugin_url`]: which plugin URLs may become an iframe.
//! - [`space`]: spaces and objects as the API, the store and the live `floor` frame carry
//!   them, and the plugin iframe's default sandbox with its per-object narrowing.
//! - [`fuzzing`]: what the parsers promise on any bytes, checked by the fuzz targets.
//! - [`sender`]: the check that a relayed message's `source` and `objectId` are the sender's.
//!
//! Every parser returns a [`Parsed`]: *ignored* (not ours, with the reason), *invalid*
//! (ours but malformed, naming the field), or the typed message. Parsers never panic and
//! accept unknown extra fields, as the real platforms do.

pub mod bridge;
#[cfg(feature = "codegen")]
pub mod codegen;
mod decode;
pub mod fuzzing;
pub mod json_text;
pub mod legacy;
pub mod limits;
pub mod ovice;
mod parsed;
pub mod pexip;
pub mod plugin_url;
pub mod sender;
pub mod space;
pub mod videoconf;

pub use parsed::{Ignored, Invalid, InvalidKind, Parsed};
