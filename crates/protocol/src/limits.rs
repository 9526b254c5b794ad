//! Size limits of the oVice contract (seed 003), measured on the JSON encoding.
//!
//! The seed says "2MB" and "500KB"; we read both as binary units, the larger reading,
//! so that nothing the real platform accepts is refused here.

/// Largest `message` of `ovice_broadcast_message` / `ovice_emit_message`: 2 MiB of JSON.
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;

/// Largest saved-data document (`ovice_save_and_emit_data` and the replies): 500 KiB of JSON.
pub const MAX_DATA_BYTES: usize = 500 * 1024;

/// The words every over-the-limit error carries, so callers can tell "too large" from
/// "malformed" ([`crate::Invalid::is_over_limit`]) without a second error type.
pub(crate) const OVER_LIMIT: &str = "the limit is";

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

/// [`json_len`] of a JSON value, counted by walking it rather than through serde_json's
/// serializer (which the browser builds then do not ship). Equal to
/// `serde_json::to_vec(value).len()`: same escapes, same number formatting.
pub fn value_json_len(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_len(n),
        Value::String(s) => string_len(s),
        Value::Array(items) => {
            // `[` `]` and a comma between items.
            2 + items.len().saturating_sub(1) + items.iter().map(value_json_len).sum::<usize>()
        }
        Value::Object(map) => map_json_len(map),
    }
}

/// [`value_json_len`] of an object.
pub fn map_json_len(map: &serde_json::Map<String, serde_json::Value>) -> usize {
    // `{` `}`, a comma between entries, a colon in each.
    2 + map.len().saturating_sub(1)
        + map
            .iter()
            .map(|(k, v)| string_len(k) + 1 + value_json_len(v))
            .sum::<usize>()
}

/// A JSON string with serde_json's escapes: `\"` `\\` and the short forms of \b \t \n
/// \f \r take two bytes, other control characters six (`\u00XX`), the rest as UTF-8.
fn string_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | 0x09 | 0x0a | 0x0c | 0x0d => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

fn number_len(n: &serde_json::Number) -> usize {
    if let Some(u) = n.as_u64() {
        digits(u)
    } else if let Some(i) = n.as_i64() {
        1 + digits(i.unsigned_abs())
    } else {
        // A float: serde_json's Display is its encoding.
        struct Count(usize);
        impl std::fmt::Write for Count {
            fn write_str(&mut self, s: &str) -> std::fmt::Result {
                self.0 += s.len();
                Ok(())
            }
        }
        let mut count = Count(0);
        let _ = std::fmt::write(&mut count, format_args!("{n}"));
        count.0
    }
}

fn digits(mut u: u64) -> usize {
    let mut n = 1;
    while u >= 10 {
        u /= 10;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_json_len_matches_serde_json() {
        let values = [
            serde_json::json!(null),
            serde_json::json!(true),
            serde_json::json!(false),
            serde_json::json!(0),
            serde_json::json!(9),
            serde_json::json!(10),
            serde_json::json!(u64::MAX),
            serde_json::json!(i64::MIN),
            serde_json::json!(-1),
            serde_json::json!(1.5),
            serde_json::json!(-0.0),
            serde_json::json!(1e21),
            serde_json::json!(1e-7),
            serde_json::json!(123456789.125),
            serde_json::json!(1.7976931348623157e308),
            serde_json::json!(""),
            serde_json::json!("a\"b\\c\u{8}\t\n\u{c}\r\u{0}\u{1f}\u{7f}é€😀/\u{2028}"),
            serde_json::json!([]),
            serde_json::json!([1]),
            serde_json::json!([1, [2, {}], "x"]),
            serde_json::json!({}),
            serde_json::json!({"a": 1}),
            serde_json::json!({"a\n": [1, "two", null], "b": "é", "c": {"d": -3.25}}),
        ];
        for v in values {
            assert_eq!(
                value_json_len(&v),
                serde_json::to_vec(&v).unwrap().len(),
                "{v}"
            );
            assert_eq!(value_json_len(&v), json_len(&v), "{v}");
        }
        for b in 0u8..=0x7f {
            let v = serde_json::Value::String(char::from(b).to_string());
            assert_eq!(value_json_len(&v), json_len(&v), "{b}");
        }
    }

    #[test]
    fn json_len_matches_the_encoding() {
        let v = serde_json::json!({"a": [1, "two", null], "b": "é"});
        assert_eq!(json_len(&v), serde_json::to_vec(&v).unwrap().len());
    }

    fn value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\\x00-\\x7f]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn value_json_len_is_the_length_of_the_encoding(v in value()) {
            proptest::prop_assert_eq!(value_json_len(&v), serde_json::to_vec(&v).unwrap().len());
        }
    }
}
