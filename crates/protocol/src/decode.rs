//! Reading a `serde_json::Value` as a typed message, with errors that name the field.
//!
//! [`decode`] is what every parser in this crate calls. It reads through [`de::ValueDe`], a
//! `serde::Deserializer` over `&Value` that behaves exactly like serde_json's own (the
//! property tests below compare the two on random input) but keeps the browser builds
//! small: no core float formatting, no second deserializer per struct for array input, and
//! no map copy to find the offending field.

use serde_json::Value;

use crate::parsed::{invalid, Invalid};

/// Deserialises `value` as `T`, turning a serde error into an [`Invalid`] that names the
/// field. `prefix` is prepended to the path (e.g. `payload`).
///
/// serde's own errors do not say which field failed. Rather than wrap every deserializer
/// (serde_path_to_error doubled the browser build), the rare error path finds the field
/// itself: a top-level key is the culprit when reading the value without it makes the value
/// parse or turns the error into "missing field" for that key.
///
/// The value is read through [`de::ValueDe`], which reads `&Value` exactly as serde_json's
/// own `&Value` deserializer does, with the same error texts, but can leave out a key
/// without copying the map, and keeps core's float formatting out of the browser builds.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    name: &str,
    prefix: &str,
    value: &Value,
) -> Result<T, Invalid> {
    match T::deserialize(de::ValueDe::new(value, None)) {
        Ok(v) => Ok(v),
        Err(e) => Err(locate(name, prefix, value, e.0, &|skip| {
            T::deserialize(de::ValueDe::new(value, Some(skip)))
                .map(drop)
                .map_err(|e| e.0)
        })),
    }
}

/// The error path of [`decode`], once for every type: `retry` reads the value without a key.
#[inline(never)]
fn locate(
    name: &str,
    prefix: &str,
    value: &Value,
    error: String,
    retry: &dyn Fn(&str) -> Result<(), String>,
) -> Invalid {
    let mut field = missing_field(&error).map(str::to_owned);
    if field.is_none() {
        if let Value::Object(map) = value {
            field = map.keys().find_map(|key| match retry(key) {
                Ok(()) => Some(key.clone()),
                Err(e) if missing_field(&e) == Some(key) => Some(key.clone()),
                Err(_) => None,
            });
        }
    }
    let path = match (prefix.is_empty(), field) {
        (true, Some(f)) => f,
        (true, None) => String::new(),
        (false, Some(f)) => format!("{prefix}.{f}"),
        (false, None) => prefix.to_owned(),
    };
    invalid(name, &path, error)
}

/// The field of serde's "missing field `x`" error.
fn missing_field(error: &str) -> Option<&str> {
    error.strip_prefix("missing field `")?.split('`').next()
}

/// A `serde::Deserializer` over `&serde_json::Value`.
///
/// It mirrors serde_json's `impl Deserializer for &Value` (same visitor calls, same
/// quirks such as a struct read from an array, same error texts) with two differences
/// that only matter for size and for [`decode`]: the top-level map can leave out one key,
/// and the error type is a plain `String` whose float rendering goes through serde_json's
/// own number formatting instead of core's (which would add ~18 KB to every wasm build).
pub(crate) mod de {
    use serde::de::{
        self, DeserializeSeed, EnumAccess, Expected, MapAccess, SeqAccess, Unexpected,
        VariantAccess, Visitor,
    };
    use serde_json::{Map, Number, Value};
    use std::fmt::{self, Display};

    /// The name under which serde_json asks a deserializer for a `RawValue`.
    const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

    /// The one-entry map a `RawValue` reads itself from: the token, then the JSON text.
    struct RawText(Option<String>);

    impl<'de> MapAccess<'de> for RawText {
        type Error = Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, Error> {
            if self.0.is_none() {
                return Ok(None);
            }
            seed.deserialize(de::value::StrDeserializer::<Error>::new(RAW_VALUE_TOKEN))
                .map(Some)
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
            let text = self.0.take().unwrap_or_default();
            seed.deserialize(de::value::StringDeserializer::<Error>::new(text))
        }
    }

    /// A deserialisation error: the message, as serde_json would word it.
    #[derive(Debug)]
    pub struct Error(pub String);

    impl Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for Error {}

    impl de::Error for Error {
        fn custom<T: Display>(msg: T) -> Self {
            Error(msg.to_string())
        }

        fn invalid_type(unexp: Unexpected, exp: &dyn Expected) -> Self {
            Error(format!("invalid type: {}, expected {}", Unexp(unexp), exp))
        }

        fn invalid_value(unexp: Unexpected, exp: &dyn Expected) -> Self {
            Error(format!("invalid value: {}, expected {}", Unexp(unexp), exp))
        }
    }

    /// serde_json's wording of `Unexpected` (`null` for unit, floats in its own number
    /// formatting), written out in full: delegating to serde's `Display` for the other
    /// variants, as serde_json does, would link core's float formatting for the float arm.
    struct Unexp<'a>(Unexpected<'a>);

    impl Display for Unexp<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            use Unexpected::*;
            match self.0 {
                Bool(b) => write!(f, "boolean `{b}`"),
                Unsigned(i) => write!(f, "integer `{i}`"),
                Signed(i) => write!(f, "integer `{i}`"),
                Float(v) => match Number::from_f64(v) {
                    Some(n) => write!(f, "floating point `{n}`"),
                    None if v.is_nan() => f.write_str("floating point `NaN`"),
                    None if v > 0.0 => f.write_str("floating point `inf`"),
                    None => f.write_str("floating point `-inf`"),
                },
                Char(c) => write!(f, "character `{c}`"),
                Str(s) => write!(f, "string {s:?}"),
                Bytes(_) => f.write_str("byte array"),
                Unit => f.write_str("null"),
                Option => f.write_str("Option value"),
                NewtypeStruct => f.write_str("newtype struct"),
                Seq => f.write_str("sequence"),
                Map => f.write_str("map"),
                Enum => f.write_str("enum"),
                UnitVariant => f.write_str("unit variant"),
                NewtypeVariant => f.write_str("newtype variant"),
                TupleVariant => f.write_str("tuple variant"),
                StructVariant => f.write_str("struct variant"),
                Other(other) => f.write_str(other),
            }
        }
    }

    /// The variant name and its content: a string, or a map with a single key.
    #[inline(never)]
    fn enum_parts<'a>(
        value: &'a Value,
        skip: Option<&str>,
    ) -> Result<(&'a str, Option<&'a Value>), Error> {
        match value {
            Value::Object(map) => {
                let mut iter = map.iter().filter(|(k, _)| Some(k.as_str()) != skip);
                match (iter.next(), iter.next()) {
                    (Some((variant, value)), None) => Ok((variant, Some(value))),
                    _ => Err(de::Error::invalid_value(
                        Unexpected::Map,
                        &"map with a single key",
                    )),
                }
            }
            Value::String(variant) => Ok((variant, None)),
            other => Err(invalid_type(other, &"string or map")),
        }
    }

    fn unexpected(value: &Value) -> Unexpected<'_> {
        match value {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Number(n) => number_unexpected(n),
            Value::String(s) => Unexpected::Str(s),
            Value::Array(_) => Unexpected::Seq,
            Value::Object(_) => Unexpected::Map,
        }
    }

    fn number_unexpected(n: &Number) -> Unexpected<'_> {
        if let Some(u) = n.as_u64() {
            Unexpected::Unsigned(u)
        } else if let Some(i) = n.as_i64() {
            Unexpected::Signed(i)
        } else {
            Unexpected::Float(n.as_f64().unwrap_or(0.0))
        }
    }

    fn invalid_type(value: &Value, exp: &dyn Expected) -> Error {
        de::Error::invalid_type(unexpected(value), exp)
    }

    /// Reads one value; `skip` leaves a key out of a map (only at the top of [`super::decode`]).
    pub struct ValueDe<'a> {
        value: &'a Value,
        skip: Option<&'a str>,
    }

    impl<'a> ValueDe<'a> {
        pub fn new(value: &'a Value, skip: Option<&'a str>) -> Self {
            ValueDe { value, skip }
        }
    }

    fn visit_number<'de, V: Visitor<'de>>(n: &Number, visitor: V) -> Result<V::Value, Error> {
        if let Some(u) = n.as_u64() {
            visitor.visit_u64(u)
        } else if let Some(i) = n.as_i64() {
            visitor.visit_i64(i)
        } else {
            visitor.visit_f64(n.as_f64().unwrap_or(0.0))
        }
    }

    fn visit_array<'de, V: Visitor<'de>>(
        array: &'de [Value],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let len = array.len();
        let mut seq = Seq(array.iter());
        let out = visitor.visit_seq(&mut seq)?;
        if seq.0.len() == 0 {
            Ok(out)
        } else {
            Err(fewer_in_array(len))
        }
    }

    #[inline(never)]
    fn fewer_in_array(len: usize) -> Error {
        de::Error::invalid_length(len, &"fewer elements in array")
    }

    fn visit_object<'de, V: Visitor<'de>>(
        map: &'de Map<String, Value>,
        skip: Option<&'de str>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visit_entries(MapDe::object(map, skip), visitor)
    }

    /// A struct written as an array, as serde reads it: element `i` is field `i`. The
    /// elements are handed to the struct's `visit_map` as entries named after the fields,
    /// in order, so no type needs a second (`visit_seq`) copy of its deserializer; the
    /// errors are reworded as `visit_seq` words them.
    fn visit_struct_array<'de, V: Visitor<'de>>(
        array: &'de [Value],
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visit_entries(MapDe::array(array, fields), visitor)
    }

    fn visit_entries<'de, V: Visitor<'de>>(
        mut access: MapDe<'de>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let expecting = access.expecting(&visitor);
        match visitor.visit_map(&mut access) {
            Ok(out) => match access.finish(expecting) {
                None => Ok(out),
                Some(e) => Err(e),
            },
            Err(e) => Err(access.fail(e, expecting)),
        }
    }

    impl<'de> de::Deserializer<'de> for ValueDe<'de> {
        type Error = Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::Null => visitor.visit_unit(),
                Value::Bool(v) => visitor.visit_bool(*v),
                Value::Number(n) => visit_number(n, visitor),
                Value::String(v) => visitor.visit_borrowed_str(v),
                Value::Array(v) => visit_array(v, visitor),
                Value::Object(v) => visit_object(v, self.skip, visitor),
            }
        }

        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::Null => visitor.visit_none(),
                _ => visitor.visit_some(self),
            }
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Error> {
            let (variant, value) = enum_parts(self.value, self.skip)?;
            visitor.visit_enum(Enum { variant, value })
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Error> {
            if name == RAW_VALUE_TOKEN {
                // A `RawValue` (JSON kept as text) read from a decoded value: its encoding,
                // handed over as serde_json's own `&Value` deserializer hands it.
                let text = match (self.skip, self.value) {
                    (Some(skip), Value::Object(map)) => {
                        let mut map = map.clone();
                        map.remove(skip);
                        Value::Object(map).to_string()
                    }
                    (_, value) => value.to_string(),
                };
                return visitor.visit_map(RawText(Some(text)));
            }
            visitor.visit_newtype_struct(self)
        }

        fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::Bool(v) => visitor.visit_bool(*v),
                other => Err(invalid_type(other, &visitor)),
            }
        }

        fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::Number(n) => visit_number(n, visitor),
                other => Err(invalid_type(other, &visitor)),
            }
        }

        fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::String(v) => visitor.visit_borrowed_str(v),
                other => Err(invalid_type(other, &visitor)),
            }
        }

        fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::Array(v) => visit_array(v, visitor),
                other => Err(invalid_type(other, &visitor)),
            }
        }

        fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::Object(v) => visit_object(v, self.skip, visitor),
                other => Err(invalid_type(other, &visitor)),
            }
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Error> {
            match self.value {
                Value::Array(v) => visit_struct_array(v, fields, visitor),
                Value::Object(v) => visit_object(v, self.skip, visitor),
                other => Err(invalid_type(other, &visitor)),
            }
        }

        fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::Null => visitor.visit_unit(),
                other => Err(invalid_type(other, &visitor)),
            }
        }

        fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.visit_unit()
        }

        fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_u64(visitor)
        }
        fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_u64(visitor)
        }
        fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_u64(visitor)
        }
        fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_u64(visitor)
        }
        fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_u64(visitor)
        }
        fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_u64(visitor)
        }
        fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_u64(visitor)
        }
        fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_u64(visitor)
        }
        fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_u64(visitor)
        }
        fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_str(visitor)
        }
        fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_str(visitor)
        }
        fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_str(visitor)
        }
        fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::String(v) => visitor.visit_borrowed_str(v),
                Value::Array(v) => visit_array(v, visitor),
                other => Err(invalid_type(other, &visitor)),
            }
        }
        fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_bytes(visitor)
        }
        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Error> {
            self.deserialize_unit(visitor)
        }
        fn deserialize_tuple<V: Visitor<'de>>(
            self,
            _len: usize,
            visitor: V,
        ) -> Result<V::Value, Error> {
            self.deserialize_seq(visitor)
        }
        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _len: usize,
            visitor: V,
        ) -> Result<V::Value, Error> {
            self.deserialize_seq(visitor)
        }
        fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_u64(visitor)
        }
        fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.deserialize_u64(visitor)
        }
    }

    struct Seq<'a>(std::slice::Iter<'a, Value>);

    impl<'de> SeqAccess<'de> for Seq<'de> {
        type Error = Error;

        fn next_element_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, Error> {
            match self.0.next() {
                Some(value) => seed.deserialize(ValueDe::new(value, None)).map(Some),
                None => Ok(None),
            }
        }

        fn size_hint(&self) -> Option<usize> {
            Some(self.0.len())
        }
    }

    struct MapDe<'a> {
        entries: Entries<'a>,
        skip: Option<&'a str>,
        value: Option<&'a Value>,
        len: usize,
        left: usize,
    }

    enum Entries<'a> {
        Map(serde_json::map::Iter<'a>),
        /// A struct read from an array: field names beside the elements.
        Array(&'static [&'static str], std::slice::Iter<'a, Value>),
    }

    // The non-generic halves are kept out of line: they would otherwise be copied into
    // every type's deserializer.
    impl<'a> MapDe<'a> {
        #[inline(never)]
        fn object(map: &'a Map<String, Value>, skip: Option<&'a str>) -> Self {
            let skipped = skip.is_some_and(|k| map.contains_key(k));
            let len = map.len() - usize::from(skipped);
            MapDe {
                entries: Entries::Map(map.iter()),
                skip,
                value: None,
                len,
                left: len,
            }
        }

        #[inline(never)]
        fn array(array: &'a [Value], fields: &'static [&'static str]) -> Self {
            MapDe {
                entries: Entries::Array(fields, array.iter()),
                skip: None,
                value: None,
                len: array.len(),
                left: 0,
            }
        }

        /// What the visitor expects, for the errors of a struct read from an array.
        #[inline(never)]
        fn expecting(&self, visitor: &dyn Expected) -> Option<String> {
            match self.entries {
                Entries::Array(..) => Some(visitor.to_string()),
                Entries::Map(_) => None,
            }
        }

        #[inline(never)]
        fn next_key(&mut self) -> Option<&'a str> {
            let (key, value) = match &mut self.entries {
                Entries::Map(iter) => loop {
                    let (key, value) = iter.next()?;
                    if Some(key.as_str()) != self.skip {
                        self.left -= 1;
                        break (key.as_str(), value);
                    }
                },
                Entries::Array(fields, values) => {
                    let field = fields.get(self.len - values.len())?;
                    (*field, values.next()?)
                }
            };
            self.value = Some(value);
            Some(key)
        }

        #[inline(never)]
        fn next_value(&mut self) -> Result<&'a Value, Error> {
            self.value
                .take()
                .ok_or_else(|| de::Error::custom("value is missing"))
        }

        /// After a successful visit: entries left over are an error, as in serde_json.
        #[inline(never)]
        fn finish(&self, _expecting: Option<String>) -> Option<Error> {
            match &self.entries {
                Entries::Map(_) => (self.left != 0).then(|| fewer_in_map(self.len)),
                Entries::Array(_, rest) => (rest.len() != 0).then(|| fewer_in_array(self.len)),
            }
        }

        /// A failed visit: for a struct read from an array, a missing field is an element
        /// too few, worded as serde's `visit_seq` words it.
        #[inline(never)]
        fn fail(&self, e: Error, expecting: Option<String>) -> Error {
            let (Entries::Array(fields, _), Some(expecting)) = (&self.entries, expecting) else {
                return e;
            };
            let missing = super::missing_field(&e.0);
            match fields.iter().position(|f| Some(*f) == missing) {
                Some(index) => {
                    let n = fields.len();
                    let s = if n == 1 { "" } else { "s" };
                    Error(format!(
                        "invalid length {index}, expected {expecting} with {n} element{s}"
                    ))
                }
                None => e,
            }
        }
    }

    #[inline(never)]
    fn fewer_in_map(len: usize) -> Error {
        de::Error::invalid_length(len, &"fewer elements in map")
    }

    impl<'de> MapAccess<'de> for MapDe<'de> {
        type Error = Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, Error> {
            match self.next_key() {
                Some(key) => seed
                    .deserialize(de::value::BorrowedStrDeserializer::<Error>::new(key))
                    .map(Some),
                None => Ok(None),
            }
        }

        fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
            seed.deserialize(ValueDe::new(self.next_value()?, None))
        }

        fn size_hint(&self) -> Option<usize> {
            Some(self.left)
        }
    }

    struct Enum<'a> {
        variant: &'a str,
        value: Option<&'a Value>,
    }

    impl<'de> EnumAccess<'de> for Enum<'de> {
        type Error = Error;
        type Variant = Variant<'de>;

        fn variant_seed<V: DeserializeSeed<'de>>(
            self,
            seed: V,
        ) -> Result<(V::Value, Variant<'de>), Error> {
            let variant = de::value::BorrowedStrDeserializer::<Error>::new(self.variant);
            seed.deserialize(variant).map(|v| (v, Variant(self.value)))
        }
    }

    struct Variant<'a>(Option<&'a Value>);

    impl<'de> VariantAccess<'de> for Variant<'de> {
        type Error = Error;

        fn unit_variant(self) -> Result<(), Error> {
            match self.0 {
                None | Some(Value::Null) => Ok(()),
                Some(other) => Err(invalid_type(other, &"unit")),
            }
        }

        fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
            match self.0 {
                Some(value) => seed.deserialize(ValueDe::new(value, None)),
                None => Err(de::Error::invalid_type(
                    Unexpected::UnitVariant,
                    &"newtype variant",
                )),
            }
        }

        // No message of the protocol has tuple or struct variants.
        fn tuple_variant<V: Visitor<'de>>(
            self,
            _len: usize,
            _visitor: V,
        ) -> Result<V::Value, Error> {
            Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            ))
        }

        fn struct_variant<V: Visitor<'de>>(
            self,
            _fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Error> {
            Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            ))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn unexpected_is_worded_as_serde_json_words_it() {
            for u in [
                Unexpected::Bool(true),
                Unexpected::Unsigned(7),
                Unexpected::Signed(-7),
                Unexpected::Float(2.5),
                Unexpected::Float(-0.0),
                Unexpected::Float(1e300),
                Unexpected::Float(-3.0071210401976996e-167),
                Unexpected::Float(f64::NAN),
                Unexpected::Float(f64::INFINITY),
                Unexpected::Float(f64::NEG_INFINITY),
                Unexpected::Char('x'),
                Unexpected::Str("a\"b\n\u{200b}é"),
                Unexpected::Bytes(b"x"),
                Unexpected::Unit,
                Unexpected::Option,
                Unexpected::NewtypeStruct,
                Unexpected::Seq,
                Unexpected::Map,
                Unexpected::Enum,
                Unexpected::UnitVariant,
                Unexpected::NewtypeVariant,
                Unexpected::TupleVariant,
                Unexpected::StructVariant,
                Unexpected::Other("other"),
            ] {
                let theirs: serde_json::Error = de::Error::invalid_type(u, &"x");
                let ours: Error = de::Error::invalid_type(u, &"x");
                assert_eq!(ours.0, theirs.to_string());
                let theirs: serde_json::Error = de::Error::invalid_value(u, &"x");
                let ours: Error = de::Error::invalid_value(u, &"x");
                assert_eq!(ours.0, theirs.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! [`decode`] must read exactly as it did through serde_json's own `&Value`
    //! deserializer: same values, same errors, same field named.
    use super::*;
    use crate::{bridge, ovice, pexip};
    use proptest::prelude::*;
    use serde::de::DeserializeOwned;
    use serde_json::json;

    /// The previous `decode`: serde_json's deserializer, a map copy per key left out.
    fn reference<T: DeserializeOwned>(
        name: &str,
        prefix: &str,
        value: &Value,
    ) -> Result<T, Invalid> {
        let error = match T::deserialize(value) {
            Ok(v) => return Ok(v),
            Err(e) => e.to_string(),
        };
        let mut field = missing_field(&error).map(str::to_owned);
        if field.is_none() {
            if let Value::Object(map) = value {
                field = map.keys().find_map(|key| {
                    let mut without = map.clone();
                    without.remove(key);
                    match T::deserialize(&Value::Object(without)) {
                        Ok(_) => Some(key.clone()),
                        Err(e) if missing_field(&e.to_string()) == Some(key) => Some(key.clone()),
                        Err(_) => None,
                    }
                });
            }
        }
        let path = match (prefix.is_empty(), field) {
            (true, Some(f)) => f,
            (true, None) => String::new(),
            (false, Some(f)) => format!("{prefix}.{f}"),
            (false, None) => prefix.to_owned(),
        };
        Err(invalid(name, &path, error))
    }

    fn same<T: DeserializeOwned + PartialEq + std::fmt::Debug>(value: &Value) {
        assert_eq!(
            decode::<T>("n", "payload", value),
            reference::<T>("n", "payload", value),
            "{value}"
        );
    }

    fn all_types(v: &Value) {
        same::<pexip::Disconnected>(v);
        same::<pexip::ToggleChat>(v);
        same::<pexip::DialOutSuccess>(v);
        same::<pexip::DialOutError>(v);
        same::<pexip::ToggleChatButtonState>(v);
        same::<pexip::ToggleChatBadge>(v);
        same::<pexip::DialOutParams>(v);
        same::<pexip::Role>(v);
        same::<pexip::KeepConferenceAlive>(v);
        same::<ovice::OutgoingMessage>(v);
        same::<ovice::RelayedMessage>(v);
        same::<ovice::Participant>(v);
        same::<Vec<ovice::Participant>>(v);
        same::<ovice::HistoryRequest>(v);
        same::<ovice::HistoryPage>(v);
        same::<ovice::PluginError>(v);
        same::<ovice::SavedSuccess>(v);
        same::<ovice::UserId>(v);
        same::<ovice::StringOrNumber>(v);
        same::<ovice::DataDocument>(v);
        same::<Option<i64>>(v);
        same::<Option<(u64, u64)>>(v);
        same::<bridge::PresenceFrame>(v);
        same::<bridge::HistoryFrame>(v);
        same::<bridge::PingFrame>(v);
        same::<bridge::Welcome>(v);
        same::<bridge::Ack>(v);
        same::<bridge::Missed>(v);
        same::<bridge::ErrorFrame>(v);
        same::<bridge::ErrorCode>(v);
        same::<Value>(v);
    }

    const NAMES: &[&str] = &[
        "userInitiated",
        "error",
        "errorCode",
        "active",
        "uuid",
        "displayName",
        "requestId",
        "message",
        "field",
        "visible",
        "role",
        "destination",
        "protocol",
        "call_type",
        "streaming",
        "keep_conference_alive",
        "source",
        "event",
        "objectId",
        "to",
        "id",
        "email",
        "name",
        "objectType",
        "avatarUrl",
        "workspaceId",
        "isVisitor",
        "isHost",
        "status",
        "since",
        "limit",
        "entries",
        "upto",
        "more",
        "missed",
        "seq",
        "code",
        "refused",
        "updated_at",
        "req",
        "object",
        "participant",
        "limits",
        "from",
        "maxMessageBytes",
        "maxDataBytes",
        "maxFramesPerSecond",
        "language",
        "HOST",
    ];

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (0u64..5).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            (-1e3f64..1e3).prop_map(Value::from),
            prop::sample::select(vec![
                "HOST",
                "GUEST",
                "sip",
                "video",
                "yes",
                "keep_conference_alive",
                "static",
                "joined",
                "not_member",
                "x",
                "",
                " ",
                "a\"b\n\u{200b}",
            ])
            .prop_map(Value::from),
            ".{0,6}".prop_map(Value::String),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 32, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(NAMES), inner), 0..8).prop_map(
                    |entries| {
                        Value::Object(
                            entries
                                .into_iter()
                                .map(|(k, v)| (k.to_owned(), v))
                                .collect(),
                        )
                    }
                ),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn decode_reads_as_serde_json_reads(v in value()) {
            all_types(&v);
        }
    }

    #[test]
    fn decode_reads_hand_picked_values_as_serde_json_reads() {
        for v in [
            json!(null),
            json!([]),
            json!(["u1", "chat", "o", {"a": 1}]),
            json!(["u1", "chat", "o", 1, "to", "extra"]),
            json!(["u1", 3, "o"]),
            json!([true]),
            json!([false, "e", "c"]),
            json!([1, 2]),
            json!([1, 2, 3]),
            json!({"HOST": null}),
            json!({"HOST": 1}),
            json!({"HOST": null, "GUEST": null}),
            json!({}),
            json!({"active": 1.5}),
            json!({"active": -0.0}),
            json!({"since": 1e300, "limit": -1}),
            json!({"limit": 4294967296u64}),
            json!({"id": 18446744073709551615u64}),
            json!({"updated_at": "x", "a": 1}),
            json!({"role": "GUEST", "destination": "a", "protocol": "sip", "streaming": true}),
            json!({"entries": [{"seq": 1, "message": ["s", "e", "o", null]}], "upto": 1, "more": false, "missed": [1, 2, 3]}),
        ] {
            all_types(&v);
        }
    }
}
