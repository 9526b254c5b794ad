//! Size limits of the oVice contract, measured on the JSON encoding.
//!
//! The contract says "2MB" and "500KB"; we read both as binary units, the larger reading,
//! so that nothing the real platform accepts is refused here. A message over a limit is
//! refused as [`InvalidKind::OverLimit`].

use crate::parsed::{Invalid, InvalidKind};

/// Largest `message` of `ovice_broadcast_message` / `ovice_emit_message`: 2 MiB of JSON.
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;

/// Largest saved-data document (`ovice_save_and_emit_data` and the replies): 500 KiB of JSON.
pub const MAX_DATA_BYTES: usize = 500 * 1024;

/// The refusal of `field` of message `name` for being `size` bytes of JSON when `limit`
/// (`shown` in the contract's words) is the most: [`InvalidKind::OverLimit`], so callers
/// tell "too large" from "malformed" by its kind, not its words.
pub(crate) fn over_limit(
    name: &str,
    field: &str,
    size: usize,
    limit: usize,
    shown: &str,
) -> Invalid {
    Invalid {
        kind: InvalidKind::OverLimit,
        ..crate::parsed::invalid(
            name,
            field,
            format!("is {size} bytes of JSON; the limit is {limit} bytes ({shown})"),
        )
    }
}

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
    fn over_the_limit_is_a_kind_not_a_phrase() {
        use crate::bridge::ErrorCode;
        use crate::ovice::PluginToPlatform;
        use crate::Parsed;
        let big = "x".repeat(MAX_MESSAGE_BYTES);
        let message = serde_json::json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": big}});
        let Parsed::Invalid(e) = PluginToPlatform::parse(&message) else {
            panic!("a message over 2 MB is refused")
        };
        assert_eq!(e.kind, InvalidKind::OverLimit);
        assert!(e.is_over_limit());
        assert_eq!(ErrorCode::for_invalid(&e), ErrorCode::TooLarge);
        let doc = serde_json::json!({"type": "ovice_save_and_emit_data", "payload": {"d": "x".repeat(MAX_DATA_BYTES)}});
        let Parsed::Invalid(e) = PluginToPlatform::parse(&doc) else {
            panic!("a document over 500 KB is refused")
        };
        assert!(e.is_over_limit(), "{e}");
        let malformed = serde_json::json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": 1}});
        let Parsed::Invalid(e) = PluginToPlatform::parse(&malformed) else {
            panic!("an emit without `to` is refused")
        };
        assert_eq!(e.kind, InvalidKind::Malformed);
        assert_eq!(ErrorCode::for_invalid(&e), ErrorCode::InvalidMessage);
        // On the wire the kind is said only when it is not the usual one.
        assert!(!serde_json::to_string(&e).unwrap().contains("kind"));
    }

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
