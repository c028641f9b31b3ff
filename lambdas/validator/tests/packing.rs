//! Packing (issue 9 §4) through the whole validator: several events of one request and one type
//! in one Kinesis record, per-event answers exactly as without packing, and a packed record's
//! fate (acknowledged, refused and retried, unwritten at the deadline) shared by all its events.

mod common;

use common::*;
use rtstream_core::validator::RequestBody;
use rtstream_core::{DeliveryMode, PIPELINE};
use serde_json::{json, Value};

fn recently() -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn page_view(id: &str) -> Value {
    json!({"event_id": id, "event_type": "page_view", "occurred_at": recently(), "payload": {"url": "https://x"}})
}

fn order(id: &str) -> Value {
    json!({"event_id": id, "event_type": "order_placed", "occurred_at": recently(), "payload": {"order_id": id, "amount": 1, "currency": "EUR"}})
}

fn body(events: &[Value]) -> Vec<u8> {
    serde_json::to_vec(events).unwrap()
}

fn request(body: &[u8]) -> RequestBody<'_> {
    RequestBody {
        content_type: Some("application/json"),
        content_encoding: None,
        body,
    }
}

fn statuses(reply: &rtstream_core::response::Reply) -> Vec<(String, String)> {
    reply.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            (
                result["event_id"].as_str().unwrap_or_default().to_string(),
                result["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn events_of_one_request_are_packed_by_type_within_the_target() {
    let records = Records::default();
    let app = app(kinesis_keeping(records.clone()), s3_stores(Objects::default()));
    let target = PIPELINE.packing.target_record_bytes;
    // 40 page views and 3 orders, interleaved, with one rejected event among them.
    let mut events: Vec<Value> = (0..40).map(|n| page_view(&format!("p-{n}"))).collect();
    events.insert(5, order("o-1"));
    events.insert(20, json!({"event_id": "bad", "event_type": "page_view"}));
    events.insert(30, order("o-2"));
    events.push(order("o-3"));
    let sent = body(&events);

    let reply = app.process("r1", request(&sent), chrono::Utc::now()).await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(
        (&reply.json()["accepted"], &reply.json()["rejected"]),
        (&json!(43), &json!(1))
    );
    let records = records.lock().unwrap();
    let packed: Vec<Vec<Value>> = records.iter().map(|record| ndjson_lines(record)).collect();
    // 40 page views of about 130 bytes fill 5,120-byte records: more than one, far fewer than 40.
    assert!(
        (2..=4).contains(&packed.len()),
        "{} records: {:?}",
        packed.len(),
        packed.iter().map(Vec::len).collect::<Vec<_>>()
    );
    for (record, events) in records.iter().zip(&packed) {
        let key = events[0]["event_id"].as_str().unwrap();
        assert!(
            record.len() + key.len() <= target,
            "{} bytes",
            record.len() + key.len()
        );
        let types: std::collections::BTreeSet<&str> = events
            .iter()
            .map(|event| event["event_type"].as_str().unwrap())
            .collect();
        assert_eq!(types.len(), 1, "one event type per record");
    }
    let orders: Vec<&str> = packed
        .iter()
        .flatten()
        .filter(|event| event["event_type"] == "order_placed")
        .map(|event| event["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(orders, ["o-1", "o-2", "o-3"], "request order within a type");
    let views = packed
        .iter()
        .flatten()
        .filter(|event| event["event_type"] == "page_view")
        .count();
    assert_eq!(views, 40);
    // The answer names every event as it would unpacked.
    let answered = statuses(&reply);
    assert_eq!(answered.len(), 44);
    assert_eq!(answered[5], ("o-1".to_string(), "accepted".to_string()));
    assert_eq!(answered[20], ("bad".to_string(), "rejected".to_string()));
}

#[tokio::test]
async fn a_refused_packed_record_is_retried_whole() {
    let calls = Calls::default();
    // Call 0 throttles the page views' record (key "a", the first event's id); call 1 takes it.
    let app = app(
        kinesis(calls.clone(), |call, keys| {
            answer(keys, |key| call == 0 && key == "a")
        }),
        s3_stores(Objects::default()),
    );
    let sent = body(&[page_view("a"), order("o"), page_view("b"), page_view("c")]);

    let reply = app.process("r1", request(&sent), chrono::Utc::now()).await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.json()["accepted"], 4);
    let calls = calls.lock().unwrap();
    assert_eq!(calls[0], ["a", "o"], "two records: one per type");
    assert_eq!(calls[1], ["a"], "the refused record again, all its events in it");
    assert_eq!(calls.len(), 2);
}

#[tokio::test]
async fn a_packed_record_unwritten_at_the_deadline_fails_all_its_events() {
    let calls = Calls::default();
    let app = app(
        kinesis(calls.clone(), |_, keys| answer(keys, |key| key == "a")),
        s3_stores(Objects::default()),
    );
    let sent = body(&[page_view("a"), order("o"), page_view("b")]);

    let reply = app.process("r1", request(&sent), chrono::Utc::now()).await;

    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(
        statuses(&reply),
        [
            ("a".to_string(), "failed".to_string()),
            ("o".to_string(), "accepted".to_string()),
            ("b".to_string(), "failed".to_string()),
        ]
    );
    assert_eq!(
        (&reply.json()["accepted"], &reply.json()["failed"]),
        (&json!(1), &json!(2))
    );
}

#[tokio::test]
async fn the_streaming_mode_never_packs() {
    let calls = Calls::default();
    let mut app = app(kinesis(calls.clone(), accept_all), s3_stores(Objects::default()));
    app.packing_target = DeliveryMode::SnowpipeStreaming.packing_target();
    let sent = body(&[page_view("a"), page_view("b"), order("o"), page_view("c")]);

    let reply = app.process("r1", request(&sent), chrono::Utc::now()).await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(
        calls.lock().unwrap().as_slice(),
        [vec!["a", "b", "o", "c"]],
        "one record per event"
    );
}
