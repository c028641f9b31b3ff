//! The metrics a request emits: valid EMF documents (by the specification's required fields)
//! that count what the reply says, per event type, rejection code and body format, and what the
//! Kinesis and S3 calls took. Captured through the app's EMF output, not scraped from stdout.

mod common;

use common::*;
use rtstream_core::metrics::{assert_emf_sums, emf_datapoints, emf_sum, emf_violations};
use rtstream_core::validator::RequestBody;
use serde_json::{json, Value};

fn recently() -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn valid_documents(emitted: &Emitted) -> Vec<Value> {
    let documents = emitted.documents();
    assert!(!documents.is_empty(), "no EMF line was written");
    for document in &documents {
        assert_eq!(emf_violations(document), Vec::<String>::new(), "{document}");
        for directive in document["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            assert_eq!(directive["Namespace"], NAMESPACE);
        }
    }
    documents
}

#[tokio::test]
async fn a_mixed_request_counts_accepted_rejected_failed_and_the_kinesis_work() {
    let emitted = Emitted::default();
    let calls = Calls::default();
    let objects = Objects::default();
    // Call 0 throttles b; call 1 (the retry) refuses it for good: b fails, the others are in.
    // One event per record, so the script can refuse b alone.
    let app = unpacked(app_emitting(
        kinesis(calls.clone(), |call, keys| {
            answer_with(keys, |key| match (call, key) {
                (0, "b") => Some("ProvisionedThroughputExceededException"),
                (1, "b") => Some("KMSDisabledException"),
                _ => None,
            })
        }),
        s3_stores(objects.clone()),
        emitted.clone(),
    ));
    let at = recently();
    let body = serde_json::to_vec(&json!([
        {"event_id": "a", "event_type": "page_view", "occurred_at": at, "payload": {"url": "https://a"}},
        {"event_id": "b", "event_type": "page_view", "occurred_at": at, "payload": {"url": "https://b"}},
        {"event_id": "c", "event_type": "order_placed", "occurred_at": at, "payload": {"order_id": "1", "amount": 1, "currency": "EUR"}},
        {"event_id": "d", "event_type": "order_placed", "occurred_at": at, "payload": {"order_id": "2", "amount": -1, "currency": "eur"}},
        "not an event",
        {"event_id": "f", "event_type": "made.up", "occurred_at": at, "payload": {}},
    ]))
    .unwrap();
    let request = RequestBody {
        content_type: Some("application/json"),
        content_encoding: None,
        body: &body,
    };

    let reply = app.process("r1", request, chrono::Utc::now()).await;

    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(
        (
            &reply.json()["accepted"],
            &reply.json()["rejected"],
            &reply.json()["failed"]
        ),
        (&json!(2), &json!(3), &json!(1))
    );
    assert_eq!(calls.lock().unwrap().len(), 2);
    let documents = valid_documents(&emitted);
    // Four codes, three event types: a line holds one value of each dimension.
    assert_eq!(documents.len(), 4, "{documents:#?}");
    let points = emf_datapoints(&documents);
    let expected = [
        ("EventsAccepted", "", 2.0),
        ("EventsAccepted", "EventType=page_view", 1.0),
        ("EventsAccepted", "EventType=order_placed", 1.0),
        ("EventsFailed", "", 1.0),
        ("EventsFailed", "EventType=page_view", 1.0),
        ("EventsRejected", "", 3.0),
        ("EventsRejected", "EventType=order_placed", 1.0),
        // Not an object, and a type without a schema of its own: bounded to _default.
        ("EventsRejected", "EventType=_default", 2.0),
        ("Rejections", "", 4.0),
        ("Rejections", "Code=schema.minimum", 1.0),
        ("Rejections", "Code=schema.pattern", 1.0),
        ("Rejections", "Code=event.not_object", 1.0),
        ("Rejections", "Code=schema.unknown_event_type", 1.0),
        ("Requests", "", 1.0),
        ("Requests", "Format=array", 1.0),
        ("RequestBytes", "", body.len() as f64),
        ("PutRecordsCalls", "", 2.0),
        ("RecordsRefused", "", 2.0),
        ("PutRetries", "", 1.0),
    ];
    assert_emf_sums(&points, &expected);
    let event_types: Vec<&str> = points
        .iter()
        .filter_map(|(_, dimensions, _)| dimensions.strip_prefix("EventType="))
        .collect();
    assert!(
        event_types
            .iter()
            .all(|value| ["page_view", "order_placed", "_default"].contains(value)),
        "{event_types:?}"
    );
    for timed in ["KinesisTime", "ErrorStoreTime"] {
        let value = emf_sum(&points, timed, "");
        assert!(value > 0.0 && value < 5_000.0, "{timed}: {value} ms");
    }
    assert_eq!(
        objects.lock().unwrap().len(),
        1,
        "the rejections were stored once"
    );
}

#[tokio::test]
async fn a_refused_body_counts_its_code_and_format_and_no_events() {
    let emitted = Emitted::default();
    let app = app_emitting(
        kinesis(Calls::default(), accept_all),
        s3_stores(Objects::default()),
        emitted.clone(),
    );
    let request = RequestBody {
        content_type: Some("application/x-ndjson"),
        content_encoding: Some("gzip"),
        body: b"not gzip",
    };

    let reply = app.process("r2", request, chrono::Utc::now()).await;

    assert_eq!(reply.status, 400, "{}", reply.body);
    let documents = valid_documents(&emitted);
    assert_eq!(documents.len(), 1, "{documents:#?}");
    let points = emf_datapoints(&documents);
    assert_eq!(emf_sum(&points, "Requests", "Format=ndjson+gzip"), 1.0);
    assert_eq!(emf_sum(&points, "Rejections", "Code=body.malformed_gzip"), 1.0);
    assert_eq!(emf_sum(&points, "RequestBytes", ""), 8.0);
    for metric in [
        "EventsAccepted",
        "EventsRejected",
        "EventsFailed",
        "PutRecordsCalls",
    ] {
        assert_eq!(emf_sum(&points, metric, ""), 0.0, "{metric}");
    }
    assert!(
        emf_sum(&points, "ErrorStoreTime", "") > 0.0,
        "the unreadable body was kept"
    );
    assert!(
        !points.iter().any(|(name, _, _)| name == "KinesisTime"),
        "no Kinesis call, no Kinesis time"
    );
}

#[tokio::test]
async fn every_request_writes_its_own_lines() {
    let emitted = Emitted::default();
    let app = app_emitting(
        kinesis(Calls::default(), accept_all),
        s3_stores(Objects::default()),
        emitted.clone(),
    );
    let event = serde_json::to_vec(
        &json!({"event_type": "page_view", "occurred_at": recently(), "payload": {"url": "https://x"}}),
    )
    .unwrap();
    for request_id in ["r3", "r4"] {
        let request = RequestBody {
            content_type: None,
            content_encoding: None,
            body: &event,
        };
        assert_eq!(
            app.process(request_id, request, chrono::Utc::now()).await.status,
            202
        );
    }

    let documents = valid_documents(&emitted);
    assert_eq!(documents.len(), 2, "one line per single-type request");
    let points = emf_datapoints(&documents);
    assert_eq!(emf_sum(&points, "EventsAccepted", "EventType=page_view"), 2.0);
    assert_eq!(emf_sum(&points, "Requests", "Format=json"), 2.0);
    assert_eq!(emf_sum(&points, "PutRecordsCalls", ""), 2.0);
}
