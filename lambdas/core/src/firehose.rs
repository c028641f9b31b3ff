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
//!
//! A Kinesis record may hold several events, one per line (the validator packs them, see
//! [`crate::packing`]): [`transform_record`] gives each its line, with the record's one `_ingest`,
//! or fails the whole record, and shapes the output for the delivery mode.

use crate::config::DeliveryMode;
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
    /// A packed record's events belong to different `event_type` partitions.
    MixedPartitions,
    /// A packed record in a mode whose destination maps one record to one row.
    PackedForRows(usize),
    /// An event of a packed record is not loadable: the whole record fails with it.
    InPackedRecord {
        line: usize,
        error: Box<RecordError>,
    },
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
            Self::MixedPartitions => f.write_str("record packs events of different event_type partitions"),
            Self::PackedForRows(events) => write!(
                f,
                "record packs {events} events but this delivery mode loads one record as one row"
            ),
            Self::InPackedRecord { line, error } => write!(f, "line {line} of the packed record: {error}"),
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

/// Turns the bytes of one event (a Kinesis record of one event, or one line of a packed record)
/// into an NDJSON line, or says why it is not an event.
/// Only what partitioning and loading need is re-checked: the validator did the rest.
/// `schema_types` are the event types with a schema file of their own, sorted.
pub fn transform(
    data: &[u8],
    provenance: &Provenance<'_>,
    schema_types: &[&str],
) -> Result<Transformed, RecordError> {
    let event = read_event(data)?;
    let mut line = Vec::with_capacity(event.text.len() + 320);
    crate::json_text::compact_into(&mut line, event.text);
    line.pop(); // the object's closing brace: `_ingest` goes before it
    line.extend_from_slice(b",\"");
    line.extend_from_slice(INGEST_FIELD.as_bytes());
    line.extend_from_slice(b"\":");
    write_ingest(&mut line, provenance);
    line.extend_from_slice(b"}\n");
    Ok(Transformed {
        line,
        event_type: partition_event_type(&event.event_type, schema_types).to_string(),
        dt: arrival_date(provenance),
    })
}

/// What the transformer returns to Firehose for one Kinesis record, in one delivery mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The record's data: its events' NDJSON lines (S3 modes) or one `EVENTS` row (streaming).
    pub data: Vec<u8>,
    /// The `event_type` partition of the record's events (for the metrics in every mode).
    pub event_type: String,
    /// The arrival date, `YYYY-MM-DD`.
    pub dt: String,
    /// Whether Firehose gets `event_type` and `dt` as partition keys (dynamic partitioning).
    pub partitioned: bool,
    /// How many events the record held.
    pub events: usize,
}

/// The transformation of one Kinesis record in `mode`: every event of the record (one, or several
/// packed one per line) must be loadable, else the whole record fails, so that Firehose keeps it
/// whole under the error prefix and a replay re-drives all its events.
/// - `snowpipe`: the events' lines with the record's `_ingest`, partition keys `event_type`/`dt`;
/// - `snowpipe_fresh`: the same lines, no partition keys;
/// - `snowpipe_streaming`: one object keyed by `EVENTS`' column names ([`write_row`]); a packed
///   record fails, as Firehose loads one record as one row.
pub fn transform_record(
    data: &[u8],
    provenance: &Provenance<'_>,
    schema_types: &[&str],
    mode: DeliveryMode,
) -> Result<Output, RecordError> {
    let events = record_events(data)?;
    if mode == DeliveryMode::SnowpipeStreaming {
        let [text] = events[..] else {
            return Err(RecordError::PackedForRows(events.len()));
        };
        let event = read_event(text)?;
        let mut row = Vec::with_capacity(text.len() + 400);
        write_row(&mut row, &event, provenance);
        return Ok(Output {
            data: row,
            event_type: partition_event_type(&event.event_type, schema_types).to_string(),
            dt: arrival_date(provenance),
            partitioned: false,
            events: 1,
        });
    }
    let packed = events.len() > 1;
    let mut lines = Vec::new();
    let mut partition: Option<String> = None;
    for (index, text) in events.iter().enumerate() {
        let transformed = transform(text, provenance, schema_types).map_err(|error| match packed {
            true => RecordError::InPackedRecord {
                line: index + 1,
                error: Box::new(error),
            },
            false => error,
        })?;
        match &partition {
            Some(event_type) if *event_type != transformed.event_type && mode == DeliveryMode::Snowpipe => {
                return Err(RecordError::MixedPartitions)
            }
            Some(_) => {}
            None => partition = Some(transformed.event_type),
        }
        lines.extend_from_slice(&transformed.line);
    }
    Ok(Output {
        data: lines,
        event_type: partition.expect("a record has at least one event"),
        dt: arrival_date(provenance),
        partitioned: mode == DeliveryMode::Snowpipe,
        events: events.len(),
    })
}

/// The JSON texts of a Kinesis record: one event, or several packed one per line (also what a
/// replay of a packed `processing-failed/` record must split).
pub fn record_events(data: &[u8]) -> Result<Vec<&[u8]>, RecordError> {
    // Trimmed as one event's text is (`read_event`): ASCII whitespace around the record, form
    // feeds included, which JSON's own whitespace is not (found by fuzzing).
    let data = data.trim_ascii();
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<IgnoredAny>();
    let mut events = Vec::new();
    let mut start = 0;
    while let Some(value) = values.next() {
        value.map_err(|error| RecordError::NotJson(error.to_string()))?;
        let end = values.byte_offset();
        events.push(&data[start..end]);
        start = end;
    }
    if events.is_empty() {
        return Err(RecordError::NotJson("the record is empty".to_string()));
    }
    Ok(events)
}

/// An event's text, checked: a JSON object with unique keys, an `event_id`, a valid
/// `event_type`, an RFC 3339 `occurred_at` and no `_ingest`.
struct Event<'a> {
    text: &'a [u8],
    fields: TopLevel<'a>,
    event_type: Cow<'a, str>,
}

fn read_event(data: &[u8]) -> Result<Event<'_>, RecordError> {
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
    Ok(Event {
        text,
        fields,
        event_type,
    })
}

fn arrival_date(provenance: &Provenance<'_>) -> String {
    provenance.arrived_at.format("%Y-%m-%d").to_string()
}

/// The `EVENTS` columns a streaming row has, in the table's order (`snowflake/table.sql`):
/// `LOADED_AT` is left NULL (no per-row commit time reaches the transformer).
pub const ROW_COLUMNS: [&str; 9] = [
    "EVENT_ID",
    "EVENT_TYPE",
    "OCCURRED_AT",
    "RECEIVED_AT",
    "SOURCE",
    "PAYLOAD",
    "INGEST",
    "FILE_NAME",
    "FILE_ROW_NUMBER",
];

/// One `EVENTS` row for Firehose's `JSON_MAPPING` (docs/latency.md, "The same table contract in
/// every mode"): the event's values as sent (numbers keep their text), `INGEST` today's
/// `_ingest`, `FILE_NAME` `kinesis/<shard id>/<sequence number>`, `FILE_ROW_NUMBER` 1.
fn write_row(row: &mut Vec<u8>, event: &Event<'_>, provenance: &Provenance<'_>) {
    let raw = |key: &str| event.fields.get(key).map_or("null", RawValue::get).as_bytes();
    let received_at = provenance.arrived_at.to_rfc3339_opts(SecondsFormat::Millis, true);
    let file_name = match (provenance.kinesis_shard_id, provenance.kinesis_sequence_number) {
        (Some(shard), Some(sequence)) => format!("kinesis/{shard}/{sequence}"),
        // Not a Kinesis source (never in this pipeline): Firehose's record id is as unique.
        _ => format!("firehose/{}", provenance.firehose_record_id.unwrap_or_default()),
    };
    let mut column = |name: &str, write: &mut dyn FnMut(&mut Vec<u8>)| {
        row.push(if row.is_empty() { b'{' } else { b',' });
        serde_json::to_writer(&mut *row, name).expect("writing to a Vec cannot fail");
        row.push(b':');
        write(row);
    };
    let [event_id, event_type, occurred_at, received, source, payload, ingest, file, file_row] = ROW_COLUMNS;
    column(event_id, &mut |row| {
        crate::json_text::compact_into(row, raw("event_id"))
    });
    column(event_type, &mut |row| {
        crate::json_text::compact_into(row, raw("event_type"))
    });
    column(occurred_at, &mut |row| {
        crate::json_text::compact_into(row, raw("occurred_at"))
    });
    column(received, &mut |row| {
        serde_json::to_writer(row, &received_at).expect("writing to a Vec cannot fail")
    });
    column(source, &mut |row| {
        crate::json_text::compact_into(row, raw("source"))
    });
    column(payload, &mut |row| {
        crate::json_text::compact_into(row, raw("payload"))
    });
    column(ingest, &mut |row| write_ingest(row, provenance));
    column(file, &mut |row| {
        serde_json::to_writer(row, &file_name).expect("writing to a Vec cannot fail")
    });
    column(file_row, &mut |row| row.push(b'1'));
    row.extend_from_slice(b"}\n");
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
    fn a_packed_record_fails_whole_and_says_which_line() {
        let good =
            r#"{"event_id":"e","event_type":"page_view","occurred_at":"2026-11-26T00:30:00Z","payload":{}}"#;
        let data = format!("{good}\n{good}\n{{\"event_id\":\"x\"}}");
        let error = transform_record(
            data.as_bytes(),
            &provenance(),
            SCHEMA_TYPES,
            DeliveryMode::Snowpipe,
        )
        .unwrap_err();
        assert_eq!(
            error,
            RecordError::InPackedRecord {
                line: 3,
                error: Box::new(RecordError::NoEventType)
            }
        );
        assert!(
            error.to_string().starts_with("line 3 of the packed record: "),
            "{error}"
        );
        let two = format!("{good}\n{good}");
        assert_eq!(
            transform_record(
                two.as_bytes(),
                &provenance(),
                SCHEMA_TYPES,
                DeliveryMode::SnowpipeStreaming
            ),
            Err(RecordError::PackedForRows(2))
        );
        let out = transform_record(
            two.as_bytes(),
            &provenance(),
            SCHEMA_TYPES,
            DeliveryMode::Snowpipe,
        )
        .unwrap();
        assert_eq!((out.events, out.partitioned), (2, true));
        assert_eq!(
            out.data,
            [line_of(good.as_bytes()), line_of(good.as_bytes())]
                .concat()
                .into_bytes()
        );
        assert!(matches!(record_events(b" \n "), Err(RecordError::NotJson(_))));
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
