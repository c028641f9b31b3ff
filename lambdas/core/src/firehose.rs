//! The Firehose transformation of one Kinesis record: an event line of NDJSON with `_ingest`
//! metadata, plus the `event_type`/`dt` partition keys.

use crate::envelope::{is_valid_event_type, parse_occurred_at};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

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
    pub event_type: String,
    /// `occurred_at`'s UTC date, `YYYY-MM-DD`.
    pub dt: String,
}

/// Turns the bytes of a Kinesis record into an NDJSON line, or says why it is not an event.
/// Only the fields partitioning and loading need are re-checked: the validator did the rest.
pub fn transform(data: &[u8], provenance: &Provenance<'_>) -> Result<Transformed, String> {
    let mut event: Map<String, Value> = match serde_json::from_slice(data) {
        Ok(Value::Object(event)) => event,
        Ok(_) => return Err("record is not a JSON object".to_string()),
        Err(error) => return Err(format!("record is not JSON: {error}")),
    };
    if event
        .get("event_id")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err("record has no event_id".to_string());
    }
    let event_type = match event.get("event_type").and_then(Value::as_str) {
        Some(event_type) if is_valid_event_type(event_type) => event_type.to_string(),
        _ => return Err("record has no valid event_type".to_string()),
    };
    let occurred_at = event
        .get("occurred_at")
        .and_then(Value::as_str)
        .and_then(parse_occurred_at)
        .ok_or("record has no RFC 3339 occurred_at")?;
    let dt = occurred_at.with_timezone(&Utc).format("%Y-%m-%d").to_string();

    let mut ingest = Map::new();
    ingest.insert(
        "received_at".into(),
        provenance
            .arrived_at
            .to_rfc3339_opts(SecondsFormat::Millis, true)
            .into(),
    );
    let optional = [
        ("kinesis_sequence_number", provenance.kinesis_sequence_number),
        ("kinesis_shard_id", provenance.kinesis_shard_id),
        ("kinesis_partition_key", provenance.kinesis_partition_key),
        ("firehose_record_id", provenance.firehose_record_id),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            ingest.insert(key.into(), value.into());
        }
    }
    event.insert("_ingest".into(), Value::Object(ingest));

    let mut line = serde_json::to_vec(&event).expect("a JSON map always serialises");
    line.push(b'\n');
    Ok(Transformed { line, event_type, dt })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance<'static> {
        Provenance {
            firehose_record_id: Some("rec-1"),
            arrived_at: "2026-11-26T10:00:01.123Z".parse().unwrap(),
            kinesis_sequence_number: Some("4959"),
            kinesis_shard_id: Some("shardId-000000000000"),
            kinesis_partition_key: Some("e-1"),
        }
    }

    #[test]
    fn an_event_becomes_one_line_with_ingest_metadata() {
        let data = br#"{"event_id":"e-1","event_type":"page_view","occurred_at":"2026-11-26T00:30:00+01:00","payload":{"url":"x"}}"#;
        let out = transform(data, &provenance()).unwrap();
        assert_eq!(out.event_type, "page_view");
        assert_eq!(out.dt, "2026-11-25", "partitioned by the UTC date");
        assert!(out.line.ends_with(b"}\n"));
        assert_eq!(out.line.iter().filter(|b| **b == b'\n').count(), 1);
        let line: Value = serde_json::from_slice(&out.line).unwrap();
        assert_eq!(line["payload"]["url"], "x");
        assert_eq!(line["_ingest"]["received_at"], "2026-11-26T10:00:01.123Z");
        assert_eq!(line["_ingest"]["kinesis_sequence_number"], "4959");
        assert_eq!(line["_ingest"]["firehose_record_id"], "rec-1");
    }

    #[test]
    fn missing_kinesis_metadata_is_left_out() {
        let data = br#"{"event_id":"e","event_type":"a","occurred_at":"2026-11-26T00:30:00Z","payload":{}}"#;
        let provenance = Provenance {
            arrived_at: Utc::now(),
            ..Default::default()
        };
        let line: Value = serde_json::from_slice(&transform(data, &provenance).unwrap().line).unwrap();
        assert!(line["_ingest"].get("kinesis_sequence_number").is_none());
    }

    #[test]
    fn non_events_fail() {
        for data in [
            &b"nope"[..],
            b"[]",
            br#"{"event_type":"a","occurred_at":"2026-11-26T00:30:00Z"}"#,
            br#"{"event_id":"e","event_type":"A","occurred_at":"2026-11-26T00:30:00Z"}"#,
            br#"{"event_id":"e","event_type":"a","occurred_at":"yesterday"}"#,
        ] {
            assert!(
                transform(data, &provenance()).is_err(),
                "{}",
                String::from_utf8_lossy(data)
            );
        }
    }
}
