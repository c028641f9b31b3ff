//! The Firehose transformation of one Kinesis record: an event line of NDJSON with `_ingest`
//! metadata, plus the `event_type`/`dt` partition keys.
//!
//! The line is the record's own JSON text with insignificant whitespace removed and `_ingest`
//! appended: values are never parsed into Rust numbers and printed again, so
//! `12345678901234567890.123456789` reaches S3 as those 29 digits, not as the nearest `f64`.
//!
//! Partitions are bounded by design, so that no client can make Firehose exceed its active
//! partition quota (500 per delivery stream; past it, records of every client go to the error
//! prefix as `activePartitionExceeded`): `dt` is the record's arrival date in Kinesis, not the
//! client's `occurred_at`, and `event_type` is the event's type only when that type has a schema
//! file of its own; types validated by `_default.json` share one partition. See
//! `docs/decisions.md`.

use crate::envelope::is_valid_event_type;
use crate::schema::DEFAULT_SCHEMA;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// The field the transformer adds; an event must not carry it already.
pub const INGEST_FIELD: &str = "_ingest";

/// Where a record came from, as Firehose tells the transformer.
#[derive(Debug, Clone, Default)]
pub struct Provenance<'a> {
    pub firehose_record_id: Option<&'a str>,
    /// The record's approximate arrival time in Kinesis (or Firehose when there is no stream).
    pub arrived_at: DateTime<Utc>,
    pub kinesis_sequence_number: Option<&'a str>,
    pub kinesis_shard_id: Option<&'a str>,
    pub kinesis_partition_key: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transformed {
    /// Compact JSON ending in `\n`.
    pub line: Vec<u8>,
    /// The `event_type` partition key: the event's type when it has a schema of its own,
    /// otherwise [`DEFAULT_SCHEMA`] (see [`partition_event_type`]).
    pub event_type: String,
    /// The `dt` partition key: the UTC date the record arrived, `YYYY-MM-DD` (the date of
    /// `_ingest.received_at`).
    pub dt: String,
}

/// Why a record is not an event the pipeline can load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    NotJson(String),
    NotObject,
    DuplicateKey(String),
    ReservedField,
    NoEventId,
    NoEventType,
    NoOccurredAt,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson(cause) => write!(f, "record is not JSON: {cause}"),
            Self::NotObject => f.write_str("record is not a JSON object"),
            Self::DuplicateKey(key) => write!(f, "record has the key {key:?} twice in one object"),
            Self::ReservedField => write!(f, "record already has an {INGEST_FIELD} field"),
            Self::NoEventId => f.write_str("record has no event_id"),
            Self::NoEventType => f.write_str("record has no valid event_type"),
            Self::NoOccurredAt => f.write_str("record has no RFC 3339 occurred_at"),
        }
    }
}

impl std::error::Error for RecordError {}

/// The `event_type` partition of an event: its own type when `schema_types` (the event types
/// that have a schema file, sorted) has it, else [`DEFAULT_SCHEMA`], the schema that validated
/// it. So the number of partitions is the number of schema files, which the operator controls,
/// never the number of types clients make up.
pub fn partition_event_type<'a>(event_type: &'a str, schema_types: &[&str]) -> &'a str {
    if schema_types.binary_search(&event_type).is_ok() {
        event_type
    } else {
        DEFAULT_SCHEMA
    }
}

/// Turns the bytes of a Kinesis record into an NDJSON line, or says why it is not an event.
/// Only what partitioning and loading need is re-checked: the validator did the rest.
/// `schema_types` are the event types with a schema file of their own, sorted.
pub fn transform(
    data: &[u8],
    provenance: &Provenance<'_>,
    schema_types: &[&str],
) -> Result<Transformed, RecordError> {
    let text = data.trim_ascii();
    if text.first() != Some(&b'{') {
        return Err(match serde_json::from_slice::<IgnoredAny>(text) {
            Ok(_) => RecordError::NotObject,
            Err(error) => RecordError::NotJson(error.to_string()),
        });
    }
    let fields = serde_json::from_slice::<TopLevel<'_>>(text)
        .map_err(|error| RecordError::NotJson(error.to_string()))?;
    // Every object, at any depth, must have unique keys: Snowflake's JSON file format refuses
    // a row with a duplicate key (ALLOW_DUPLICATE is off), failing its file's load.
    if let UniqueKeys(Some(key)) =
        serde_json::from_slice(text).map_err(|error| RecordError::NotJson(error.to_string()))?
    {
        return Err(RecordError::DuplicateKey(key));
    }
    if fields.get(INGEST_FIELD).is_some() {
        return Err(RecordError::ReservedField);
    }
    fields
        .string("event_id")
        .filter(|event_id| !event_id.is_empty())
        .ok_or(RecordError::NoEventId)?;
    let event_type = fields
        .string("event_type")
        .filter(|event_type| is_valid_event_type(event_type))
        .ok_or(RecordError::NoEventType)?;
    fields
        .string("occurred_at")
        .filter(|occurred_at| DateTime::parse_from_rfc3339(occurred_at).is_ok())
        .ok_or(RecordError::NoOccurredAt)?;

    let mut line = Vec::with_capacity(text.len() + 320);
    crate::json_text::compact_into(&mut line, text);
    line.pop(); // the object's closing brace: `_ingest` goes before it
    line.extend_from_slice(b",\"");
    line.extend_from_slice(INGEST_FIELD.as_bytes());
    line.extend_from_slice(b"\":");
    write_ingest(&mut line, provenance);
    line.extend_from_slice(b"}\n");
    Ok(Transformed {
        line,
        event_type: partition_event_type(&event_type, schema_types).to_string(),
        dt: provenance.arrived_at.format("%Y-%m-%d").to_string(),
    })
}

fn write_ingest(line: &mut Vec<u8>, provenance: &Provenance<'_>) {
    let received_at = provenance.arrived_at.to_rfc3339_opts(SecondsFormat::Millis, true);
    let fields = [
        ("received_at", Some(received_at.as_str())),
        ("kinesis_sequence_number", provenance.kinesis_sequence_number),
        ("kinesis_shard_id", provenance.kinesis_shard_id),
        ("kinesis_partition_key", provenance.kinesis_partition_key),
        ("firehose_record_id", provenance.firehose_record_id),
    ];
    line.push(b'{');
    let mut first = true;
    for (key, value) in fields {
        let Some(value) = value else { continue };
        if !first {
            line.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut *line, key).expect("writing to a Vec cannot fail");
        line.push(b':');
        serde_json::to_writer(&mut *line, value).expect("writing to a Vec cannot fail");
    }
    line.push(b'}');
}

/// A record's top-level fields, each as its raw JSON text, in order.
struct TopLevel<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> TopLevel<'a> {
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| *value)
    }

    /// The field as a string, when it is one.
    fn string(&self, key: &str) -> Option<Cow<'a, str>> {
        self.get(key)
            .and_then(|raw| serde_json::from_str::<Text<'a>>(raw.get()).ok())
            .map(|text| text.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for TopLevel<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Fields<'a> {
            type Value = TopLevel<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut fields = Vec::new();
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    fields.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(TopLevel(fields))
            }
        }
        deserializer.deserialize_map(Fields(std::marker::PhantomData))
    }
}

/// A JSON string, borrowed from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(TextVisitor(std::marker::PhantomData))
    }
}

/// Any JSON value, walked for an object with a key twice (at any depth): the first such key.
/// Values are skipped, never converted.
struct UniqueKeys(Option<String>);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut seen = HashSet::new();
        let mut duplicate = None;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let UniqueKeys(nested) = map.next_value()?;
            if duplicate.is_none() {
                duplicate = match seen.contains(&key) {
                    true => Some(key.into_owned()),
                    false => {
                        seen.insert(key);
                        nested
                    }
                };
            }
        }
        Ok(UniqueKeys(duplicate))
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut duplicate = None;
        while let Some(UniqueKeys(nested)) = seq.next_element()? {
            duplicate = duplicate.or(nested);
        }
        Ok(UniqueKeys(duplicate))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(UniqueKeys(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(UniqueKeys(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(UniqueKeys(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(UniqueKeys(None))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(UniqueKeys(None))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(UniqueKeys(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    const SCHEMA_TYPES: &[&str] = &["order_placed", "page_view"];

    fn provenance() -> Provenance<'static> {
        Provenance {
            firehose_record_id: Some("rec-1"),
            arrived_at: "2026-11-26T10:00:01.123Z".parse().unwrap(),
            kinesis_sequence_number: Some("4959"),
            kinesis_shard_id: Some("shardId-000000000000"),
            kinesis_partition_key: Some("e-1"),
        }
    }

    fn line_of(data: &[u8]) -> String {
        String::from_utf8(transform(data, &provenance(), SCHEMA_TYPES).unwrap().line).unwrap()
    }

    #[test]
    fn an_event_becomes_one_line_with_ingest_metadata() {
        let data = br#"{"event_id":"e-1","event_type":"page_view","occurred_at":"2026-11-26T00:30:00+01:00","payload":{"url":"x"}}"#;
        let out = transform(data, &provenance(), SCHEMA_TYPES).unwrap();
        assert_eq!(out.event_type, "page_view");
        assert!(out.line.ends_with(b"}\n"));
        assert_eq!(out.line.iter().filter(|b| **b == b'\n').count(), 1);
        let line: Value = serde_json::from_slice(&out.line).unwrap();
        assert_eq!(line["payload"]["url"], "x");
        assert_eq!(line["occurred_at"], "2026-11-26T00:30:00+01:00", "loaded as sent");
        assert_eq!(line["_ingest"]["received_at"], "2026-11-26T10:00:01.123Z");
        assert_eq!(line["_ingest"]["kinesis_sequence_number"], "4959");
        assert_eq!(line["_ingest"]["kinesis_shard_id"], "shardId-000000000000");
        assert_eq!(line["_ingest"]["kinesis_partition_key"], "e-1");
        assert_eq!(line["_ingest"]["firehose_record_id"], "rec-1");
    }

    #[test]
    fn numbers_keep_their_exact_text() {
        let data = br#"{"event_id":"n","event_type":"page_view","occurred_at":"2026-11-26T00:30:00Z","payload":{"big":12345678901234567890.123456789,"int":123456789012345678901234567890,"exp":1.0E+2,"neg":-0.0,"small":5e-324}}"#;
        assert_eq!(
            line_of(data),
            concat!(
                r#"{"event_id":"n","event_type":"page_view","occurred_at":"2026-11-26T00:30:00Z","payload":{"big":12345678901234567890.123456789,"int":123456789012345678901234567890,"exp":1.0E+2,"neg":-0.0,"small":5e-324}"#,
                r#","_ingest":{"received_at":"2026-11-26T10:00:01.123Z","kinesis_sequence_number":"4959","kinesis_shard_id":"shardId-000000000000","kinesis_partition_key":"e-1","firehose_record_id":"rec-1"}}"#,
                "\n"
            )
        );
    }

    #[test]
    fn whitespace_between_tokens_goes_and_strings_stay_as_sent() {
        let data = b"\n {\n  \"event_id\" : \"a b\",\r\n\t\"event_type\": \"page_view\",\n  \"occurred_at\": \"2026-11-26T00:30:00Z\",\n  \"payload\": { \"s\": \" q\\\" \\\\ \\u00e9 \\n \", \"a\": [ 1 , 2 ] }\n}\n ";
        let line = line_of(data);
        assert!(
            line.starts_with(r#"{"event_id":"a b","event_type":"page_view","occurred_at":"2026-11-26T00:30:00Z","payload":{"s":" q\" \\ \u00e9 \n ","a":[1,2]},"_ingest":{"#),
            "{line}"
        );
        assert_eq!(line.matches('\n').count(), 1);
    }

    #[test]
    fn partitions_are_the_arrival_date_and_a_schema_file() {
        // Occurred on 1999-12-31 (client's clock), arrived 2026-11-26: filed under arrival.
        let data = br#"{"event_id":"e","event_type":"order_placed","occurred_at":"1999-12-31T23:30:00-02:00","payload":{}}"#;
        let out = transform(data, &provenance(), SCHEMA_TYPES).unwrap();
        assert_eq!(
            (out.event_type.as_str(), out.dt.as_str()),
            ("order_placed", "2026-11-26")
        );
        let made_up = br#"{"event_id":"e","event_type":"anything.a.client.invents","occurred_at":"2026-11-26T00:30:00Z","payload":{}}"#;
        let out = transform(made_up, &provenance(), SCHEMA_TYPES).unwrap();
        assert_eq!(
            out.event_type, DEFAULT_SCHEMA,
            "types without a schema file share one partition"
        );
        let line: Value = serde_json::from_slice(&out.line).unwrap();
        assert_eq!(
            line["event_type"], "anything.a.client.invents",
            "the row keeps the real type"
        );
        let late = Provenance {
            arrived_at: "2026-11-26T23:59:59.999Z".parse().unwrap(),
            ..provenance()
        };
        assert_eq!(transform(data, &late, SCHEMA_TYPES).unwrap().dt, "2026-11-26");
    }

    #[test]
    fn partition_event_types_are_the_schema_files() {
        assert_eq!(partition_event_type("page_view", SCHEMA_TYPES), "page_view");
        assert_eq!(partition_event_type("page_view2", SCHEMA_TYPES), DEFAULT_SCHEMA);
        assert_eq!(partition_event_type("page_view", &[]), DEFAULT_SCHEMA);
    }

    #[test]
    fn missing_kinesis_metadata_is_left_out() {
        let data = br#"{"event_id":"e","event_type":"a","occurred_at":"2026-11-26T00:30:00Z","payload":{}}"#;
        let provenance = Provenance {
            arrived_at: Utc::now(),
            ..Default::default()
        };
        let line: Value =
            serde_json::from_slice(&transform(data, &provenance, SCHEMA_TYPES).unwrap().line).unwrap();
        assert_eq!(line["_ingest"].as_object().unwrap().len(), 1, "{line}");
    }

    #[test]
    fn non_events_fail_with_the_reason() {
        let cases: [(&[u8], RecordError); 9] = [
            (b"nope", RecordError::NotJson(String::new())),
            (b"[]", RecordError::NotObject),
            (b"\"text\"", RecordError::NotObject),
            (br#"{"event_id":"e""#, RecordError::NotJson(String::new())),
            (
                br#"{"event_type":"a","occurred_at":"2026-11-26T00:30:00Z"}"#,
                RecordError::NoEventId,
            ),
            (
                br#"{"event_id":"","event_type":"a","occurred_at":"2026-11-26T00:30:00Z"}"#,
                RecordError::NoEventId,
            ),
            (
                br#"{"event_id":"e","event_type":"A","occurred_at":"2026-11-26T00:30:00Z"}"#,
                RecordError::NoEventType,
            ),
            (
                br#"{"event_id":"e","event_type":"a","occurred_at":"yesterday"}"#,
                RecordError::NoOccurredAt,
            ),
            (
                br#"{"event_id":"e","event_type":"a","occurred_at":"2026-11-26T00:30:00Z","_ingest":{}}"#,
                RecordError::ReservedField,
            ),
        ];
        for (data, expected) in cases {
            let error = transform(data, &provenance(), SCHEMA_TYPES).unwrap_err();
            match (&error, &expected) {
                (RecordError::NotJson(_), RecordError::NotJson(_)) => {}
                _ => assert_eq!(error, expected, "{}", String::from_utf8_lossy(data)),
            }
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn duplicate_keys_at_any_depth_fail() {
        for (data, key) in [
            (&br#"{"event_id":"e","event_type":"a","occurred_at":"2026-11-26T00:30:00Z","payload":{},"payload":{}}"#[..], "payload"),
            (br#"{"event_id":"e","event_type":"a","occurred_at":"2026-11-26T00:30:00Z","payload":{"a":[{"b":1,"b":2}]}}"#, "b"),
            (br#"{"event_id":"e","event_type":"a","occurred_at":"2026-11-26T00:30:00Z","payload":{"\u0061":1,"a":2}}"#, "a"),
        ] {
            assert_eq!(
                transform(data, &provenance(), SCHEMA_TYPES),
                Err(RecordError::DuplicateKey(key.to_string()))
            );
        }
        let siblings = br#"{"event_id":"e","event_type":"a","occurred_at":"2026-11-26T00:30:00Z","payload":{"a":{"x":1},"b":{"x":1}}}"#;
        assert!(transform(siblings, &provenance(), SCHEMA_TYPES).is_ok());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[^\"]{0,8}|\\PC{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_line_is_the_record_plus_ingest(payload in json_value(), pretty in any::<bool>()) {
            let event = json!({"event_id": "e", "event_type": "page_view", "occurred_at": "2026-11-26T00:30:00Z", "payload": payload});
            let data = if pretty { serde_json::to_vec_pretty(&event) } else { serde_json::to_vec(&event) }.unwrap();
            let out = transform(&data, &provenance(), SCHEMA_TYPES).unwrap();
            prop_assert_eq!(out.line.iter().position(|b| *b == b'\n'), Some(out.line.len() - 1));
            let mut line: Value = serde_json::from_slice(&out.line).unwrap();
            let ingest = line.as_object_mut().unwrap().remove(INGEST_FIELD).unwrap();
            prop_assert_eq!(&line, &event);
            prop_assert_eq!(&ingest["firehose_record_id"], "rec-1");
        }
    }
}
