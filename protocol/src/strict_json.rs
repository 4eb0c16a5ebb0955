//! Strict JSON reading: a size cap checked before the first byte is parsed, a nesting limit, and
//! refusal of duplicate object keys.
//!
//! serde_json keeps the last of two equal keys; another parser may keep the first. If signed
//! bytes could contain `{"version": 4, "version": 6}`, the signer's tooling and the agent could
//! disagree about what was signed, so every document Cairn reads goes through [`parse`], which
//! builds a `serde_json::Value` with a visitor that refuses duplicates and stops at
//! [`MAX_JSON_DEPTH`] (long before the stack is at risk), then converts it to the target type.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeOwned, DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{ProtocolError, Result};
use crate::limits::MAX_JSON_DEPTH;

/// Parses `bytes` as JSON into `T`, refusing documents over `max_bytes`, nested deeper than
/// [`MAX_JSON_DEPTH`] or containing a duplicate key. `what` names the document in errors.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], what: &'static str, max_bytes: usize) -> Result<T> {
    let value = parse_value(bytes, what, max_bytes)?;
    serde_json::from_value(value).map_err(|e| ProtocolError::Malformed {
        what,
        reason: e.to_string(),
    })
}

/// Like [`parse`], returning the checked `Value` itself.
pub fn parse_value(bytes: &[u8], what: &'static str, max_bytes: usize) -> Result<Value> {
    if bytes.len() > max_bytes {
        return Err(ProtocolError::TooLarge {
            what,
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let fail = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = ValueSeed {
        depth: 0,
        fail: &fail,
    };
    let result = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match result {
        Ok(v) => Ok(v),
        Err(e) => Err(match fail.into_inner() {
            Some(Fail::Duplicate(key)) => ProtocolError::DuplicateKey { what, key },
            Some(Fail::TooDeep) => ProtocolError::TooDeep {
                what,
                limit: MAX_JSON_DEPTH,
            },
            None => ProtocolError::Json {
                what,
                reason: e.to_string(),
            },
        }),
    }
}

enum Fail {
    Duplicate(String),
    TooDeep,
}

#[derive(Clone, Copy)]
struct ValueSeed<'a> {
    depth: usize,
    fail: &'a RefCell<Option<Fail>>,
}

impl ValueSeed<'_> {
    fn nested<E: serde::de::Error>(self) -> Result<Self, E> {
        if self.depth >= MAX_JSON_DEPTH {
            *self.fail.borrow_mut() = Some(Fail::TooDeep);
            return Err(E::custom("document nested too deeply"));
        }
        Ok(Self {
            depth: self.depth + 1,
            fail: self.fail,
        })
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let message = format!("duplicate key {key}");
                *self.fail.borrow_mut() = Some(Fail::Duplicate(key));
                return Err(A::Error::custom(message));
            }
            let v = map.next_value_seed(inner)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}
