//! A plugin URL as an operator or a participant gives it (the first byte picks the policy).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| meetbridge_protocol::fuzzing::plugin_url(data));
