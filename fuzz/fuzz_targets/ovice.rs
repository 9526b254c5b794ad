//! Both directions of the oVice custom-plugin contract, limits included.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| meetbridge_protocol::fuzzing::ovice_messages(data));
