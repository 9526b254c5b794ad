//! JSON exactly as a plugin wrote it.
//!
//! Plugins compare documents with `JSON.stringify` and render lists in key order, so what
//! one plugin sends must reach the others byte for byte: same key order, same number
//! spelling (`1.0`, `1e3`, integers beyond 2^53), same escapes. [`JsonText`] holds a JSON
//! value as its text (a `serde_json::value::RawValue`): parsing checks that it is JSON and
//! keeps the text, encoding writes the text back unchanged. [`DataDocument`] is a
//! `JsonText` known to be an object. Nothing here rebuilds a value.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// One JSON value, kept as the text it arrived as.
#[derive(Clone)]
pub struct JsonText(Box<RawValue>);

impl JsonText {
    /// Checks that `text` is one JSON value and keeps it as is (surrounding whitespace
    /// aside).
    pub fn from_text(text: impl Into<String>) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text.into().trim().to_owned()).map(JsonText)
    }

    /// The encoding of a value built in code (serde_json's compact form).
    pub fn from_value(value: &Value) -> Self {
        // A `Value` always encodes, and its encoding is JSON.
        JsonText(RawValue::from_string(value.to_string()).expect("a Value encodes as JSON"))
    }

    /// `null`.
    pub fn null() -> Self {
        JsonText::from_text("null").expect("null is JSON")
    }

    /// The text, exactly as received.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Bytes of JSON this value takes on the wire: what the limits count.
    pub fn len(&self) -> usize {
        self.0.get().len()
    }

    /// Never true: a JSON value has at least one character.
    pub fn is_empty(&self) -> bool {
        self.0.get().is_empty()
    }

    /// The value, parsed (for code that must look inside; the text stays the reference).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.get()).unwrap_or(Value::Null)
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for JsonText {}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(JsonText)
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> Self {
        JsonText::from_value(&value)
    }
}

#[cfg(feature = "codegen")]
impl ts_rs::TS for JsonText {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;
    fn name(_: &ts_rs::Config) -> String {
        "JsonValue".into()
    }
    fn inline(_: &ts_rs::Config) -> String {
        "JsonValue".into()
    }
}

#[cfg(feature = "codegen")]
impl schemars::JsonSchema for JsonText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "JsonValue".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Value::json_schema(g)
    }
    fn inline_schema() -> bool {
        true
    }
}

/// A saved-data document: a JSON object, kept as the text the plugin sent.
#[derive(Clone, PartialEq, Eq)]
pub struct DataDocument(JsonText);

impl DataDocument {
    /// The empty document `{}` (an object that was never saved).
    pub fn new() -> Self {
        DataDocument(JsonText::from_text("{}").expect("{} is JSON"))
    }

    /// `text` as a document, if it is one JSON object.
    pub fn from_text(text: impl Into<String>) -> Result<Self, String> {
        let text = JsonText::from_text(text).map_err(|e| e.to_string())?;
        Self::try_from(text)
    }

    /// A document built in code.
    pub fn from_map(map: &serde_json::Map<String, Value>) -> Self {
        DataDocument(JsonText::from_value(&Value::Object(map.clone())))
    }

    /// The text, exactly as saved.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Bytes of JSON: what the 500 KB limit counts.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the document has no keys.
    pub fn is_empty(&self) -> bool {
        entries(self.get()).is_empty()
    }

    pub fn as_json(&self) -> &JsonText {
        &self.0
    }

    /// The document parsed (for code that must look inside).
    pub fn to_map(&self) -> serde_json::Map<String, Value> {
        match self.0.to_value() {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }

    /// The top-level keys, in the document's order, as they are written (escapes kept).
    pub fn raw_keys(&self) -> Vec<&str> {
        entries(self.get()).into_iter().map(|e| e.key).collect()
    }

    /// The document's own value for the top-level key `key`, as written.
    pub fn raw_get(&self, key: &str) -> Option<&str> {
        entries(self.get())
            .into_iter()
            .find(|e| key_is(e.key, key))
            .map(|e| e.value)
    }

    /// This document with `first` (a key and the JSON text of its value) as its first
    /// entry and every top-level entry of its own with that key left out: the key appears
    /// exactly once, with `first`'s value. The other entries keep their text and order.
    pub fn with_first(&self, key: &str, value: &str) -> DataDocument {
        let mut out = String::with_capacity(self.len() + key.len() + value.len() + 4);
        out.push('{');
        out.push_str(&serde_json::to_string(key).unwrap_or_default());
        out.push(':');
        out.push_str(value);
        for e in entries(self.get()) {
            if !key_is(e.key, key) {
                out.push(',');
                out.push_str(e.entry);
            }
        }
        out.push('}');
        DataDocument::from_text(out).unwrap_or_default()
    }

    /// This document without its top-level entries named `key`.
    pub fn without(&self, key: &str) -> DataDocument {
        let kept: Vec<&str> = entries(self.get())
            .into_iter()
            .filter(|e| !key_is(e.key, key))
            .map(|e| e.entry)
            .collect();
        DataDocument::from_text(format!("{{{}}}", kept.join(","))).unwrap_or_default()
    }
}

impl Default for DataDocument {
    fn default() -> Self {
        Self::new()
    }
}

impl TryFrom<JsonText> for DataDocument {
    type Error = String;
    fn try_from(text: JsonText) -> Result<Self, String> {
        if text.get().starts_with('{') {
            Ok(DataDocument(text))
        } else {
            Err("must be a JSON object (the saved data document)".into())
        }
    }
}

impl fmt::Debug for DataDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for DataDocument {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for DataDocument {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = JsonText::deserialize(d)?;
        DataDocument::try_from(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "codegen")]
impl ts_rs::TS for DataDocument {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;
    fn name(_: &ts_rs::Config) -> String {
        "{ [key in string]: JsonValue }".into()
    }
    fn inline(_: &ts_rs::Config) -> String {
        "{ [key in string]: JsonValue }".into()
    }
    fn inline_flattened(_: &ts_rs::Config) -> String {
        "({ [key in string]: JsonValue })".into()
    }
}

#[cfg(feature = "codegen")]
impl schemars::JsonSchema for DataDocument {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DataDocument".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        serde_json::Map::<String, Value>::json_schema(g)
    }
}

/// One top-level entry of an object's text.
struct Entry<'a> {
    /// The key as written, quotes included.
    key: &'a str,
    /// The value as written.
    value: &'a str,
    /// `"key":value`, as written.
    entry: &'a str,
}

/// Whether the written key `raw` (quotes included) is `key`.
fn key_is(raw: &str, key: &str) -> bool {
    match serde_json::from_str::<std::borrow::Cow<str>>(raw) {
        Ok(k) => k == key,
        Err(_) => false,
    }
}

/// The top-level entries of `text`, a JSON object that serde_json has already checked.
/// A scan, not a parse: it only finds where each entry starts and ends, tracking strings
/// (and their escapes) and nesting.
fn entries(text: &str) -> Vec<Entry<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = match bytes.iter().position(|b| *b == b'{') {
        Some(p) => p + 1,
        None => return out,
    };
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    };
    // End (exclusive) of the string starting at `i` (a quote).
    let string_end = |mut i: usize| {
        i += 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        bytes.len()
    };
    loop {
        i = skip_ws(i);
        if i >= bytes.len() || bytes[i] != b'"' {
            break;
        }
        let key_start = i;
        let key_end = string_end(i);
        i = skip_ws(key_end);
        if i >= bytes.len() || bytes[i] != b':' {
            break;
        }
        let value_start = skip_ws(i + 1);
        let mut depth = 0usize;
        let mut j = value_start;
        while j < bytes.len() {
            match bytes[j] {
                b'"' => {
                    j = string_end(j);
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => break,
                b'}' | b']' => depth -= 1,
                b',' if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        let value = text[value_start..j].trim_end();
        let value_end = value_start + value.len();
        out.push(Entry {
            key: &text[key_start..key_end],
            value,
            entry: &text[key_start..value_end],
        });
        if j < bytes.len() && bytes[j] == b',' {
            i = j + 1;
        } else {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"z":1.0,"a":[1e3,{"k":"}"}],"big":12345678901234567890,"e":"\u00e9\"\\","updated_at":5}"#;

    #[test]
    fn text_survives_parse_and_encode() {
        let doc = DataDocument::from_text(DOC).unwrap();
        assert_eq!(serde_json::to_string(&doc).unwrap(), DOC);
        let back: DataDocument = serde_json::from_str(DOC).unwrap();
        assert_eq!(back.get(), DOC);
        assert_eq!(doc.len(), DOC.len());
    }

    #[test]
    fn entries_are_found_in_order_with_their_text() {
        let doc = DataDocument::from_text(DOC).unwrap();
        assert_eq!(
            doc.raw_keys(),
            [r#""z""#, r#""a""#, r#""big""#, r#""e""#, r#""updated_at""#]
        );
        assert_eq!(doc.raw_get("a"), Some(r#"[1e3,{"k":"}"}]"#));
        assert_eq!(doc.raw_get("e"), Some(r#""\u00e9\"\\""#));
        let spaced = DataDocument::from_text(r#"{ "a" : 1 , "b" : { "c" : [ ] } }"#).unwrap();
        assert_eq!(spaced.raw_get("b"), Some(r#"{ "c" : [ ] }"#));
        assert!(DataDocument::new().is_empty());
        assert!(DataDocument::from_text("{ }").unwrap().is_empty());
    }

    #[test]
    fn with_first_puts_the_key_once_and_keeps_the_rest() {
        let doc = DataDocument::from_text(DOC).unwrap();
        let stamped = doc.with_first("updated_at", "1703214224");
        assert_eq!(
            stamped.get(),
            r#"{"updated_at":1703214224,"z":1.0,"a":[1e3,{"k":"}"}],"big":12345678901234567890,"e":"\u00e9\"\\"}"#
        );
        assert_eq!(
            DataDocument::new().with_first("updated_at", "1").get(),
            r#"{"updated_at":1}"#
        );
        // A key written with an escape is the same key.
        let escaped = DataDocument::from_text(r#"{"updated\u005fat":1,"x":2}"#).unwrap();
        assert_eq!(
            escaped.with_first("updated_at", "9").get(),
            r#"{"updated_at":9,"x":2}"#
        );
        assert_eq!(doc.without("updated_at").raw_keys().len(), 4);
    }

    #[test]
    fn only_objects_are_documents() {
        assert!(DataDocument::from_text("[1]").is_err());
        assert!(DataDocument::from_text("\"{\"").is_err());
        assert!(serde_json::from_str::<DataDocument>("3").is_err());
        assert!(DataDocument::from_text("{").is_err());
    }
}
