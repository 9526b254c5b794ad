//! Both directions of the Pexip external-chat contract.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| meetbridge_protocol::fuzzing::pexip_messages(data));
