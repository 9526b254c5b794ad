//! A WebSocket text frame as the host runtime reads it from the server.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| meetbridge_protocol::fuzzing::bridge_server_frame(data));
