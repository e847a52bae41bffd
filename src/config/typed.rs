//! Reading the `raw` serde types out of an already parsed (and shape-checked, repaired) YAML
//! tree: a serde `Deserializer` over `&Node`.
//!
//! Going through the tree rather than the text means the file is parsed once, and that keys the
//! shape check removed (unknown or duplicate) are simply not there, so validation goes on to
//! report semantic problems in the same run. An error still carries the span of the node
//! where it happened.

use super::tree::{Entry, Node, Span, Value};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use std::fmt;

/// A value of the tree could not become the requested type.
#[derive(Debug)]
pub struct TypedError {
    pub message: String,
    /// The node where it happened, once known.
    pub span: Option<Span>,
}

impl fmt::Display for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TypedError {}

impl de::Error for TypedError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        TypedError {
            message: msg.to_string(),
            span: None,
        }
    }
}

/// Deserializes `T` from `node`.
pub fn from_node<T: DeserializeOwned>(node: &Node) -> Result<T, TypedError> {
    T::deserialize(NodeDe(node))
}

struct NodeDe<'a>(&'a Node);

impl NodeDe<'_> {
    /// Attaches this node's span to an error that has none yet (the innermost node wins).
    fn locate(&self, mut e: TypedError) -> TypedError {
        e.span.get_or_insert(self.0.span);
        e
    }

    fn scalar_text(&self) -> Option<String> {
        match &self.0.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(_, written) | Value::Int(_, written) | Value::Float(_, written) => {
                Some(written.to_string())
            }
            _ => None,
        }
    }
}

impl<'de, 'a> de::Deserializer<'de> for NodeDe<'a> {
    type Error = TypedError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TypedError> {
        let r = match &self.0.value {
            Value::Null => v.visit_unit(),
            Value::Bool(b, _) => v.visit_bool(*b),
            Value::Int(i, _) => v.visit_i64(*i),
            Value::Float(f, _) => v.visit_f64(*f),
            Value::Str(s) => v.visit_str(s),
            Value::Seq(items) => v.visit_seq(SeqDe {
                items: items.iter(),
            }),
            Value::Map(entries) => v.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
            }),
        };
        r.map_err(|e| self.locate(e))
    }

    /// A plain scalar (`201`, `yes`) read into a string field keeps its text as written; the
    /// shape check has already turned such numbers into text, or refused those whose number
    /// reads differently (`0o101`).
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TypedError> {
        match self.scalar_text() {
            Some(s) => v.visit_string(s).map_err(|e| self.locate(e)),
            None => self.deserialize_any(v),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TypedError> {
        self.deserialize_string(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TypedError> {
        match self.0.value {
            Value::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, TypedError> {
        let r = match &self.0.value {
            Value::Str(s) => v.visit_enum(s.as_str().into_deserializer()),
            Value::Map(entries) if entries.len() == 1 => v.visit_enum(EnumDe(&entries[0])),
            _ => Err(de::Error::custom(format!(
                "expected a word or a one-key mapping, found {}",
                self.0.kind()
            ))),
        };
        r.map_err(|e| self.locate(e))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, TypedError> {
        v.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct SeqDe<'a> {
    items: std::slice::Iter<'a, Node>,
}

impl<'de, 'a> de::SeqAccess<'de> for SeqDe<'a> {
    type Error = TypedError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, TypedError> {
        match self.items.next() {
            Some(node) => seed.deserialize(NodeDe(node)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, Entry>,
    value: Option<&'a Node>,
}

impl<'de, 'a> de::MapAccess<'de> for MapDe<'a> {
    type Error = TypedError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, TypedError> {
        match self.entries.next() {
            Some(entry) => {
                self.value = Some(&entry.node);
                let key: de::value::StrDeserializer<'_, TypedError> =
                    entry.key.as_str().into_deserializer();
                seed.deserialize(key).map(Some).map_err(|mut e| {
                    e.span.get_or_insert(entry.key_span);
                    e
                })
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, TypedError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value without a key"))?;
        seed.deserialize(NodeDe(node))
    }
}

struct EnumDe<'a>(&'a Entry);

impl<'de, 'a> de::EnumAccess<'de> for EnumDe<'a> {
    type Error = TypedError;
    type Variant = NodeDe<'a>;

    fn variant_seed<V: de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDe<'a>), TypedError> {
        let key: de::value::StrDeserializer<'_, TypedError> =
            self.0.key.as_str().into_deserializer();
        let variant = seed.deserialize(key)?;
        Ok((variant, NodeDe(&self.0.node)))
    }
}

impl<'de, 'a> de::VariantAccess<'de> for NodeDe<'a> {
    type Error = TypedError;

    fn unit_variant(self) -> Result<(), TypedError> {
        match self.0.value {
            Value::Null => Ok(()),
            _ => Err(self.locate(de::Error::custom("this variant takes no value"))),
        }
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, TypedError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, TypedError> {
        de::Deserializer::deserialize_any(self, v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, TypedError> {
        de::Deserializer::deserialize_any(self, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw;
    use crate::config::tree::parse;

    #[test]
    fn reads_raw_types_from_a_tree() {
        let yaml = "version: 1\ntenants:\n  - id: a\n    name: A\n    domain: d\n    max_users: 3\n    staff:\n      - name: Ivan\n        extension: 201\n        ring_time: 20\n        password: {env: X}\n        no_answer: {transfer: {staff: b}}\n      - name: B\n        role: admin\n        no_answer: voicemail\n    numbers:\n      - {number: '+74950000001', destination: hangup}\n";
        let cfg: raw::Config = from_node(&parse(yaml).unwrap()).unwrap();
        let s = &cfg.tenants[0].staff;
        assert_eq!(s[0].extension.as_deref(), Some("201"));
        assert_eq!(s[0].ring_time, Some(raw::DurationText("20".into())));
        assert!(matches!(s[0].password, Some(raw::Password::Env(_))));
        assert!(
            matches!(s[0].no_answer, Some(raw::NoAnswer::Transfer(raw::Target::Staff(ref l))) if l == "b")
        );
        assert_eq!(s[1].role, Some(raw::Role::Admin));
        assert!(matches!(
            cfg.tenants[0].numbers[0].destination,
            raw::Destination::Hangup
        ));
    }

    #[test]
    fn errors_carry_the_innermost_span() {
        let yaml =
            "version: 1\ntenants:\n  - id: a\n    name: A\n    domain: d\n    max_users: lots\n";
        let e = from_node::<raw::Config>(&parse(yaml).unwrap()).unwrap_err();
        assert_eq!(e.span.map(|s| (s.line, s.col)), Some((6, 16)));
    }
}
