//! The old oVice handshake, as the host runtime answers it (the wire format is in
//! `meetbridge_protocol::legacy`): `ovice_ready` gets `ovice_confirmation`,
//! `ovice_ready_confirmed` is noted. The server never sees it.

use meetbridge_protocol::legacy::{self, ToPlugin};
use meetbridge_protocol::ovice::JsonText;

/// Where an object's plugin is in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Handshake {
    #[default]
    None,
    Confirmed,
    Done,
}

/// Moves `state` on for the plugin's `step`; returns what to answer, if anything.
pub(crate) fn answer(state: &mut Handshake, step: legacy::Handshake) -> Option<JsonText> {
    match step {
        legacy::Handshake::Ready => {
            *state = Handshake::Confirmed;
            JsonText::from_text(ToPlugin::Confirmation.to_text()).ok()
        }
        legacy::Handshake::ReadyConfirmed => {
            *state = Handshake::Done;
            None
        }
    }
}
