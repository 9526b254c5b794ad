//! The server's per-frame dispatch: one connection's text frames (one per line), handled
//! by a real session on a real hub and store, with a second member listening.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| meetbridge_server::fuzzing::session_frames(data));
