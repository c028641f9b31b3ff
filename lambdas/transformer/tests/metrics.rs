//! The metrics a batch emits: valid EMF documents (by the specification's required fields) that
//! count the records answered Ok and the events they carry (a packed record holds several), per
//! partition event type, and ProcessingFailed. Captured
//! through the transformer's EMF output, not scraped from stdout.

use aws_lambda_events::firehose::KinesisFirehoseEvent;
use rtstream_core::metrics::{assert_emf_sums, emf_datapoints, emf_violations, EmfOutput, Emitted};
use rtstream_core::DeliveryMode;
use serde_json::Value;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};
use transformer::{Transformer, OK};

const NAMESPACE: &str = "rtstream-test";

fn fixture() -> KinesisFirehoseEvent {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/firehose-kinesis-source.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

#[test]
fn a_batch_counts_ok_per_event_type_and_processing_failed() {
    let emitted = Emitted::default();
    let transformer = Transformer::new(
        NAMESPACE.into(),
        EmfOutput::new(emitted.clone()),
        DeliveryMode::default(),
    );
    let mut event = fixture();
    // A type without a schema of its own is counted under _default, as it is partitioned; this
    // record packs two events (one record, two events delivered).
    let mut unknown = event.records[0].clone();
    unknown.record_id = Some("made-up-type".into());
    unknown.data.0 = concat!(
        r#"{"event_id":"x-1","event_type":"made.up","occurred_at":"2026-11-26T09:59:00Z","payload":{}}"#,
        "\n",
        r#"{"event_id":"x-2","event_type":"made.up","occurred_at":"2026-11-26T09:59:00Z","payload":{}}"#
    )
    .as_bytes()
    .to_vec();
    event.records.push(unknown);

    let before = now_ms();
    let response = transformer.handle(event);
    let after = now_ms();

    let ok = response
        .records
        .iter()
        .filter(|r| r.result.as_deref() == Some(OK))
        .count();
    assert_eq!((ok, response.records.len()), (3, 4));
    let text = emitted.text();
    assert!(text.ends_with('\n'), "whole lines");
    let documents: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(documents.len(), 3, "one line per EventType value: {documents:#?}");
    for document in &documents {
        assert_eq!(emf_violations(document), Vec::<String>::new(), "{document}");
        let timestamp = document["_aws"]["Timestamp"].as_i64().unwrap();
        assert!((before..=after).contains(&timestamp), "{timestamp}");
        for directive in document["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            assert_eq!(directive["Namespace"], NAMESPACE);
        }
    }
    let points = emf_datapoints(&documents);
    let expected = [
        ("RecordsOk", "", 3.0),
        ("RecordsOk", "EventType=page_view", 1.0),
        ("RecordsOk", "EventType=order_placed", 1.0),
        ("RecordsOk", "EventType=_default", 1.0),
        ("RecordsProcessingFailed", "", 1.0),
        ("EventsDelivered", "", 4.0),
        ("EventsDelivered", "EventType=page_view", 1.0),
        ("EventsDelivered", "EventType=order_placed", 1.0),
        ("EventsDelivered", "EventType=_default", 2.0),
    ];
    assert_emf_sums(&points, &expected);
    let mut published: Vec<(&str, &str)> = points
        .iter()
        .map(|(metric, dimensions, _)| (metric.as_str(), dimensions.as_str()))
        .collect();
    published.dedup();
    assert_eq!(published.len(), expected.len(), "nothing else: {points:?}");
}
