//! A WebSocket text frame as the server reads it from a browser.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| meetbridge_protocol::fuzzing::bridge_client_frame(data));
