//! Size limits of the oVice contract (seed 003), measured on the JSON encoding.
//!
//! The seed says "2MB" and "500KB"; we read both as binary units, the larger reading,
//! so that nothing the real platform accepts is refused here.

/// Largest `message` of `ovice_broadcast_message` / `ovice_emit_message`: 2 MiB of JSON.
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;

/// Largest saved-data document (`ovice_save_and_emit_data` and the replies): 500 KiB of JSON.
pub const MAX_DATA_BYTES: usize = 500 * 1024;

/// The number of bytes `value` takes once encoded as JSON, without building the string.
pub fn json_len<T: serde::Serialize + ?Sized>(value: &T) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail, and every protocol value is serialisable.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_len_matches_the_encoding() {
        let v = serde_json::json!({"a": [1, "two", null], "b": "é"});
        assert_eq!(json_len(&v), serde_json::to_vec(&v).unwrap().len());
    }
}
