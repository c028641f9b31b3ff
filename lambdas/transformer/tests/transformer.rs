//! The transformer on a real Firehose (Kinesis source) invocation payload.

use aws_lambda_events::firehose::KinesisFirehoseEvent;
use serde_json::Value;
use std::path::Path;
use transformer::{handle, OK, PROCESSING_FAILED};

fn fixture() -> KinesisFirehoseEvent {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/firehose-kinesis-source.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn events_become_partitioned_ndjson_and_garbage_fails_processing() {
    let event = fixture();
    let originals: Vec<Vec<u8>> = event.records.iter().map(|record| record.data.0.clone()).collect();

    let response = handle(event);

    assert_eq!(response.records.len(), 3, "one answer per record");
    let first = &response.records[0];
    assert_eq!(first.result.as_deref(), Some(OK));
    assert!(first.data.0.ends_with(b"\n"));
    let line: Value = serde_json::from_slice(&first.data.0).unwrap();
    assert_eq!(line["event_id"], "pv-1");
    // aws_lambda_events reads the epoch milliseconds through a float: allow its rounding.
    assert!(
        line["_ingest"]["received_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-26T10:00:01.12"),
        "{line}"
    );
    assert_eq!(
        line["_ingest"]["kinesis_sequence_number"].as_str().unwrap().len(),
        56
    );
    assert_eq!(first.metadata.partition_keys["event_type"], "page_view");
    assert_eq!(first.metadata.partition_keys["dt"], "2026-11-26");

    let second = &response.records[1];
    assert_eq!(
        second.metadata.partition_keys["dt"], "2026-11-26",
        "23:30 at -02:00 is the next UTC day"
    );

    let third = &response.records[2];
    assert_eq!(third.result.as_deref(), Some(PROCESSING_FAILED));
    assert!(
        third.data.0.is_empty(),
        "Firehose keeps the original bytes itself"
    );
    assert!(!originals[2].is_empty());
    assert!(response.records.iter().all(|record| record.record_id.is_some()));
}

#[test]
fn the_response_stays_under_the_lambda_limit() {
    let mut event = fixture();
    let template = event.records[0].clone();
    let padding = "x".repeat(200_000);
    event.records = (0..40)
        .map(|i| {
            let mut record = template.clone();
            record.record_id = Some(format!("r{i}"));
            record.data.0 = serde_json::to_vec(&serde_json::json!({
                "event_id": format!("e{i}"), "event_type": "page_view", "occurred_at": "2026-11-26T09:59:00Z",
                "payload": {"url": padding}
            }))
            .unwrap();
            record
        })
        .collect();

    let response = handle(event);

    let serialized = serde_json::to_vec(&response).unwrap();
    assert!(serialized.len() < 6_000_000, "{} bytes", serialized.len());
    let ok = response
        .records
        .iter()
        .filter(|r| r.result.as_deref() == Some(OK))
        .count();
    assert!(ok > 0 && ok < 40, "{ok} fit");
    assert!(response.records[39].result.as_deref() == Some(PROCESSING_FAILED));
}
