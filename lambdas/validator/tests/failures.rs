//! What the validator does when AWS misbehaves: partial failures, throttling, S3 outages.

mod common;

use common::*;
use rtstream_core::validator::RequestBody;
use std::time::Instant;

fn events(ids: &[&str]) -> Vec<u8> {
    let events: Vec<_> = ids
        .iter()
        .map(|id| serde_json::json!({"event_id": id, "event_type": "page_view", "occurred_at": "2026-01-01T00:00:00Z", "payload": {"url": "https://x"}}))
        .collect();
    serde_json::to_vec(&events).unwrap()
}

fn request(body: &[u8]) -> RequestBody<'_> {
    RequestBody {
        content_type: Some("application/json"),
        content_encoding: None,
        body,
    }
}

#[tokio::test]
async fn partial_failures_are_retried_until_every_record_has_a_sequence_number() {
    let calls = Calls::default();
    // Call 0 throttles b and d; call 1 throttles d again; call 2 takes it.
    let app = app(
        kinesis(calls.clone(), |call, keys| {
            answer(keys, |key| (call == 0 && key == "b") || (call < 2 && key == "d"))
        }),
        s3_stores(Objects::default()),
    );
    let body = events(&["a", "b", "c", "d"]);

    let reply = app.process("r1", request(&body), chrono::Utc::now()).await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 4);
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[1], vec!["b", "d"], "only the refused records are resent");
    assert_eq!(calls[2], vec!["d"]);
}

#[tokio::test]
async fn persistent_throttling_ends_in_a_503_that_names_the_unwritten_events() {
    let calls = Calls::default();
    let app = app(
        kinesis(calls.clone(), |_, keys| answer(keys, |key| key == "c")),
        s3_stores(Objects::default()),
    );
    let body = events(&["a", "b", "c"]);
    let started = Instant::now();

    let reply = app.process("r1", request(&body), chrono::Utc::now()).await;

    let elapsed = started.elapsed().as_millis() as u64;
    assert!(
        elapsed < limits().put_deadline_ms + 200,
        "gave up near the deadline, took {elapsed} ms"
    );
    assert_eq!(reply.status, 503);
    assert_eq!(
        reply.retry_after,
        Some(rtstream_core::response::RETRY_AFTER_SECONDS)
    );
    assert_eq!(reply.body["error"]["code"], "write.failed");
    assert_eq!(
        (reply.body["accepted"].as_u64(), reply.body["failed"].as_u64()),
        (Some(2), Some(1))
    );
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(
        (results[2]["event_id"].as_str(), results[2]["status"].as_str()),
        (Some("c"), Some("failed"))
    );
    assert_eq!(results[0]["status"], "accepted");
    assert!(calls.lock().unwrap().len() > 2, "retried before giving up");
}

#[tokio::test]
async fn a_failing_call_is_retried_whole() {
    let calls = Calls::default();
    let app = app(
        kinesis(calls.clone(), |call, keys| {
            if call == 0 {
                aws_smithy_mocks::MockResponse::Error(
                    aws_sdk_kinesis::operation::put_records::PutRecordsError::ProvisionedThroughputExceededException(
                        aws_sdk_kinesis::types::error::ProvisionedThroughputExceededException::builder()
                            .message("Rate exceeded")
                            .build(),
                    ),
                )
            } else {
                accept_all(call, keys)
            }
        }),
        s3_stores(Objects::default()),
    );
    let body = events(&["a", "b"]);

    let reply = app.process("r1", request(&body), chrono::Utc::now()).await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 2);
    assert_eq!(calls.lock().unwrap().last().unwrap(), &vec!["a", "b"]);
}

#[tokio::test]
async fn when_rejections_cannot_be_stored_nothing_is_accepted() {
    let calls = Calls::default();
    let app = app(kinesis(calls.clone(), accept_all), s3_unavailable());
    let mut body: Vec<serde_json::Value> = serde_json::from_slice(&events(&["a"])).unwrap();
    body.push(serde_json::json!({"event_id": "bad", "event_type": "page_view", "occurred_at": "2026-01-01T00:00:00Z", "payload": {}}));
    let body = serde_json::to_vec(&body).unwrap();

    let reply = app.process("r1", request(&body), chrono::Utc::now()).await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.body["error"]["code"], "error_store.failed");
    assert_eq!(reply.body["accepted"], 0);
    assert_eq!(reply.body["results"][1]["status"], "rejected");
    assert!(calls.lock().unwrap().is_empty(), "no event reached Kinesis");
}

#[tokio::test]
async fn an_unreadable_body_that_cannot_be_stored_is_a_503() {
    let app = app(kinesis(Calls::default(), accept_all), s3_unavailable());

    let reply = app.process("r1", request(b"{oops"), chrono::Utc::now()).await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.body["error"]["code"], "error_store.failed");
}

#[tokio::test]
async fn large_batches_are_split_into_calls_within_the_kinesis_limits() {
    let calls = Calls::default();
    let ids: Vec<String> = (0..500).map(|i| format!("e-{i}")).collect();
    let padding = "p".repeat(12_000); // 500 x ~12 KB = ~6 MB: more than one 5 MiB call
    let events: Vec<_> = ids
        .iter()
        .map(|id| serde_json::json!({"event_id": id, "event_type": "page_view", "occurred_at": "2026-01-01T00:00:00Z", "payload": {"url": padding}}))
        .collect();
    let body = serde_json::to_vec(&events).unwrap();
    let mut big = app(kinesis(calls.clone(), accept_all), s3_stores(Objects::default()));
    big.validator.limits.max_request_bytes = 8 << 20;

    let reply = big.process("r1", request(&body), chrono::Utc::now()).await;

    assert_eq!(reply.status, 202);
    assert_eq!(reply.body["accepted"], 500);
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls.iter().map(Vec::len).sum::<usize>(), 500);
}
