//! Issue 8 through the handler: what reaches Kinesis and the error bucket, and what the client
//! is answered, for the requests that used to lose, change or amplify data.

mod common;

use common::*;
use flate2::{write::GzEncoder, Compression};
use rtstream_core::validator::RequestBody;
use serde_json::{json, Value};
use std::io::Write;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn minutes_ago(minutes: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::minutes(minutes)
}

fn rfc3339_minutes_ago(minutes: i64) -> String {
    minutes_ago(minutes).to_rfc3339()
}

#[tokio::test]
async fn kinesis_gets_the_canonical_occurred_at_and_the_clients_numbers() {
    let records = Records::default();
    let app = app(kinesis_keeping(records.clone()), s3_stores(Objects::default()));
    let at = minutes_ago(5);
    let sent = at.format("%Y-%m-%dt%H:%M:%S%.9fz").to_string();
    let body = format!(
        r#"{{"event_type": "order_placed", "occurred_at": "{sent}", "payload": {{"order_id": "o", "amount": 0.10000000000000000001, "currency": "EUR"}}}}"#
    );
    let request = RequestBody {
        content_type: None,
        content_encoding: None,
        body: body.as_bytes(),
    };

    let reply = app.process("r1", request, chrono::Utc::now()).await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    let records = records.lock().unwrap();
    let text = String::from_utf8(records[0].clone()).unwrap();
    let canonical = at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    assert!(
        text.contains(&format!(r#""occurred_at": "{canonical}""#)),
        "{text}"
    );
    assert!(text.contains(r#""amount": 0.10000000000000000001"#), "{text}");
}

#[tokio::test]
async fn every_member_of_a_gzip_body_is_put() {
    let records = Records::default();
    let app = app(kinesis_keeping(records.clone()), s3_stores(Objects::default()));
    let event = |id: &str| {
        format!(
            "{}\n",
            json!({"event_id": id, "event_type": "page_view", "occurred_at": rfc3339_minutes_ago(1), "payload": {"url": "x"}})
        )
    };
    let body = [
        gzip(event("a").as_bytes()),
        gzip((event("b") + &event("c")).as_bytes()),
    ]
    .concat();
    let request = RequestBody {
        content_type: Some("application/x-ndjson"),
        content_encoding: Some("gzip"),
        body: &body,
    };

    let reply = app.process("r1", request, chrono::Utc::now()).await;

    assert_eq!(
        (reply.status, reply.json()["accepted"].as_u64()),
        (202, Some(3)),
        "{}",
        reply.body
    );
    let records = records.lock().unwrap();
    let ids: Vec<String> = records
        .iter()
        .flat_map(|record| ndjson_lines(record))
        .map(|event| event["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["a", "b", "c"], "one type, one request: one packed record");
    assert_eq!(records.len(), 1);
}

#[tokio::test]
async fn trailing_bytes_after_gzip_are_a_400_and_the_body_is_kept() {
    let records = Records::default();
    let objects = Objects::default();
    let app = app(kinesis_keeping(records.clone()), s3_stores(objects.clone()));
    let event =
        json!({"event_type": "page_view", "occurred_at": rfc3339_minutes_ago(1), "payload": {"url": "x"}});
    let body = [gzip(event.to_string().as_bytes()), b"\0\0junk".to_vec()].concat();
    let request = RequestBody {
        content_type: Some("application/json"),
        content_encoding: Some("gzip"),
        body: &body,
    };

    let reply = app.process("r1", request, chrono::Utc::now()).await;

    assert_eq!(
        (reply.status, reply.json()["error"]["code"].as_str()),
        (400, Some("body.malformed_gzip"))
    );
    assert!(records.lock().unwrap().is_empty());
    let lines = ndjson_lines(&objects.lock().unwrap()[0].1);
    assert_eq!(lines[0]["raw_body_encoding"], "base64");
}

#[tokio::test]
async fn a_megabyte_of_unknown_fields_is_one_short_error_in_the_reply_and_the_bucket() {
    let objects = Objects::default();
    let app = app(kinesis_keeping(Records::default()), s3_stores(objects.clone()));
    let mut event = json!({"event_id": "big", "event_type": "page_view", "occurred_at": rfc3339_minutes_ago(1), "payload": {"url": "x"}});
    // Just inside max_event_bytes (1 MiB), so the fields are read, not refused for size.
    for field in 0..60_000 {
        event[format!("field_{field}")] = json!(0);
    }
    let body = serde_json::to_vec(&event).unwrap();
    assert!(body.len() > 900_000 && body.len() < 1_048_576, "{}", body.len());
    let gzipped = gzip(&body);
    let request = RequestBody {
        content_type: Some("application/json"),
        content_encoding: Some("gzip"),
        body: &gzipped,
    };

    let reply = app.process("r1", request, chrono::Utc::now()).await;

    assert_eq!(reply.status, 202);
    let reply_text = reply.body.clone();
    assert!(reply_text.len() < 1024, "{} bytes", reply_text.len());
    assert_eq!(
        reply.json()["results"][0]["errors"][0]["code"],
        "envelope.unknown_field"
    );
    assert_eq!(reply.json()["results"][0]["event_id"], "big");
    let objects = objects.lock().unwrap();
    let lines = ndjson_lines(&objects[0].1);
    assert_eq!(lines[0]["errors"], reply.json()["results"][0]["errors"]);
    assert_eq!(lines[0]["raw"], event, "the event is kept as sent");
    assert!(
        objects[0].1.len() < body.len() + 1024,
        "{} bytes",
        objects[0].1.len()
    );
}

#[tokio::test]
async fn a_repeated_key_is_rejected_and_kept_with_both_copies() {
    let records = Records::default();
    let objects = Objects::default();
    let app = app(kinesis_keeping(records.clone()), s3_stores(objects.clone()));
    let at = rfc3339_minutes_ago(1);
    let body = format!(
        r#"[{{"event_id": "d-1", "event_type": "page_view", "occurred_at": "{at}", "payload": {{"url": "x", "url": 1}}}},
            {{"event_id": "d-2", "event_type": "page_view", "occurred_at": "{at}", "payload": {{"url": "y"}}}}]"#
    );
    let request = RequestBody {
        content_type: Some("application/json"),
        content_encoding: None,
        body: body.as_bytes(),
    };

    let reply = app.process("r1", request, chrono::Utc::now()).await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    let error = &reply.json()["results"][0]["errors"][0];
    assert_eq!(
        (error["path"].as_str(), error["code"].as_str()),
        (Some("/payload/url"), Some("payload.duplicate_key"))
    );
    assert_eq!(records.lock().unwrap().len(), 1, "only d-2 reached Kinesis");
    let objects = objects.lock().unwrap();
    let text = String::from_utf8(objects[0].1.clone()).unwrap();
    assert!(
        text.contains(r#""payload":{"url":"x","url":1}"#),
        "kept as sent: {text}"
    );
    let line: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(line["event_id"], "d-1");
}
