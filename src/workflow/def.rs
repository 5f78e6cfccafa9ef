//! The workflow and sequence YAML exactly as the marketer wrote it. Nothing here is checked beyond
//! its shape: `resolve` turns these into the `model` types. Unknown keys are errors everywhere, and
//! values that need a position in later errors are `Spanned`.
//!
//! A step is a single-key map (`- add_tag: Booked`), which is serde's externally tagged enum:
//! a misspelt kind gets serde's "unknown variant `add_tags`, expected one of …" with its position.

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::fmt;
use std::marker::PhantomData;

/// A step argument as typed: a string is a template, anything else a literal.
pub type ArgDef = Spanned<serde_json::Value>;

/// A whole workflow file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDef {
    pub name: Spanned<String>,
    #[serde(default)]
    pub status: Option<Spanned<StatusDef>>,
    /// Optional: a workflow without one gets an inbound webhook with every default.
    #[serde(default)]
    pub trigger: Option<TriggerDef>,
    #[serde(default)]
    pub mapping: Ordered<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub steps: Vec<Spanned<StepDef>>,
}

/// A whole sequence file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceDef {
    pub name: Spanned<String>,
    #[serde(default)]
    pub steps: Vec<Spanned<StepDef>>,
}

/// `status: published | draft`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusDef {
    Published,
    Draft,
}

impl TriggerDef {
    /// `trigger: {inbound_webhook: {}}`: no auth, default limits.
    pub fn default_inbound() -> Self {
        serde_saphyr::from_str("inbound_webhook: {}").expect("static YAML parses")
    }
}

/// `trigger:` — only `inbound_webhook` exists today.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerDef {
    pub inbound_webhook: Spanned<InboundDef>,
}

/// `trigger.inbound_webhook:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundDef {
    #[serde(default)]
    pub auth: Option<Spanned<AuthDef>>,
    #[serde(default)]
    pub split: Option<Spanned<String>>,
    #[serde(default)]
    pub filter: Option<Spanned<String>>,
    #[serde(default)]
    pub dedupe: Option<Spanned<String>>,
    #[serde(default)]
    pub dedupe_window: Option<Spanned<String>>,
    #[serde(default)]
    pub limits: Option<LimitsDef>,
}

/// `limits: {max_body, max_items, rate, burst}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsDef {
    #[serde(default)]
    pub max_body: Option<Spanned<String>>,
    #[serde(default)]
    pub max_items: Option<Spanned<u32>>,
    #[serde(default)]
    pub rate: Option<Spanned<String>>,
    #[serde(default)]
    pub burst: Option<Spanned<u32>>,
}

/// `auth: {type: …}` as typed; secrets still hold `${VAR}` references.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthDef {
    None,
    Basic {
        username: String,
        password: String,
    },
    Bearer {
        token: String,
    },
    Header {
        name: String,
        value: String,
    },
    Query {
        name: String,
        value: String,
    },
    Hmac {
        header: String,
        secret: String,
        #[serde(default)]
        algorithm: Option<String>,
        #[serde(default)]
        encoding: Option<String>,
        #[serde(default)]
        prefix: Option<String>,
    },
    StandardWebhooks {
        secret: String,
        #[serde(default)]
        tolerance: Option<String>,
    },
}

/// One step: a single-key map whose key is the kind.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepDef {
    FindContact(FindContactDef),
    UpdateContact(UpdateContactDef),
    AddTag(Spanned<OneOrMany>),
    RemoveTag(Spanned<OneOrMany>),
    AddToSequence(Spanned<String>),
    RemoveFromSequence(Spanned<String>),
    SendEmail(SendEmailDef),
    SetDnd(Spanned<bool>),
    Wait(Spanned<StrOrMap<WaitUntilDef>>),
    If(IfDef),
}

/// `find_contact: {email, phone, first_name, last_name, create}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindContactDef {
    #[serde(default)]
    pub email: Option<ArgDef>,
    #[serde(default)]
    pub phone: Option<ArgDef>,
    #[serde(default)]
    pub first_name: Option<ArgDef>,
    #[serde(default)]
    pub last_name: Option<ArgDef>,
    #[serde(default)]
    pub create: bool,
}

/// `update_contact: {first_name, …, custom: {k: v}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateContactDef {
    #[serde(default)]
    pub first_name: Option<ArgDef>,
    #[serde(default)]
    pub last_name: Option<ArgDef>,
    #[serde(default)]
    pub email: Option<ArgDef>,
    #[serde(default)]
    pub phone: Option<ArgDef>,
    #[serde(default)]
    pub timezone: Option<ArgDef>,
    #[serde(default)]
    pub source: Option<ArgDef>,
    #[serde(default)]
    pub custom: Ordered<Spanned<String>, ArgDef>,
}

/// `send_email: {to, cc, bcc, subject, body, html, template, transactional}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendEmailDef {
    #[serde(default)]
    pub to: Option<ArgDef>,
    #[serde(default)]
    pub cc: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub bcc: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub subject: Option<ArgDef>,
    #[serde(default)]
    pub body: Option<ArgDef>,
    #[serde(default)]
    pub html: Option<ArgDef>,
    #[serde(default)]
    pub template: Option<Spanned<String>>,
    #[serde(default)]
    pub transactional: bool,
}

/// `wait: {until: "09:00"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitUntilDef {
    pub until: Spanned<String>,
}

/// `if: {condition, then, else}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IfDef {
    pub condition: Spanned<String>,
    #[serde(default)]
    pub then: Vec<Spanned<StepDef>>,
    #[serde(default, rename = "else")]
    pub otherwise: Vec<Spanned<StepDef>>,
}

/// A value or a list of values (`add_tag: Booked` or `add_tag: [Booked, Lead]`). A single value
/// has no position of its own: the enclosing `Spanned` gives it. List items keep theirs.
#[derive(Debug)]
pub enum OneOrMany {
    One(serde_json::Value),
    Many(Vec<ArgDef>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany::Many(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OneOrMany, A::Error> {
                serde_json::Value::deserialize(MapAccessDeserializer::new(map)).map(OneOrMany::One)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.into()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.into()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(serde_json::Value::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(serde_json::Value::Null))
            }
        }
        d.deserialize_any(V)
    }
}

/// A short string form or a map form (`wait: 3d` or `wait: {until: "09:00"}`).
#[derive(Debug)]
pub enum StrOrMap<M> {
    Str(String),
    Map(M),
}

impl<'de, M: Deserialize<'de>> Deserialize<'de> for StrOrMap<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<M>(PhantomData<M>);
        impl<'de, M: Deserialize<'de>> Visitor<'de> for V<M> {
            type Value = StrOrMap<M>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as `3d` or a map such as `{until: \"09:00\"}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StrOrMap::Str(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                M::deserialize(MapAccessDeserializer::new(map)).map(StrOrMap::Map)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A map that keeps its keys in file order (mapping names, custom fields).
#[derive(Debug)]
pub struct Ordered<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for Ordered<K, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Ordered<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Vis<K, V> {
            type Value = Ordered<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Ordered(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Ordered(Vec::new()))
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}
