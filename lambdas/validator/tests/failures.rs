//! What the validator does when AWS misbehaves: partial failures, throttling, S3 outages, and
//! refusals that no retry can fix (those must end the request at once, not at the deadline).
//! Errors come back as the services send them (HTTP status and error body), so the SDK's own
//! parsing and the validator's classification are both exercised.

mod common;

use aws_smithy_mocks::{mock, mock_client, MockResponse, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use common::*;
use rtstream_core::kinesis::Backoff;
use rtstream_core::validator::RequestBody;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use validator::aws_error::{AwsFailure, FailureKind};
use validator::error_store::{ErrorStore, ErrorStoreError};
use validator::stream::{PendingRecord, StreamError, StreamWriter};

/// Well inside the test deadline (400 ms): a refusal that is not retried answers in this.
const AT_ONCE: Duration = Duration::from_millis(150);

/// A Kinesis (JSON protocol) error response, as Kinesis sends it.
fn kinesis_error(
    status: u16,
    code: &str,
) -> MockResponse<
    aws_sdk_kinesis::operation::put_records::PutRecordsOutput,
    aws_sdk_kinesis::operation::put_records::PutRecordsError,
> {
    MockResponse::Http(HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(r#"{{"__type":"{code}","message":"{code} (test)"}}"#)),
    ))
}

/// An S3 (XML) error response, as S3 sends it.
fn s3_error(status: u16, code: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(
            "<Error><Code>{code}</Code><Message>{code} (test)</Message></Error>"
        )),
    )
}

/// An S3 that answers the first `failures` PutObject calls with `code` and stores the rest;
/// the counter says how many calls it saw.
fn s3_failing(status: u16, code: &'static str, failures: usize, calls: Arc<AtomicUsize>) -> Rule {
    mock!(aws_sdk_s3::Client::put_object).then_compute_response(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) < failures {
            MockResponse::Http(s3_error(status, code))
        } else {
            MockResponse::Output(aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build())
        }
    })
}

/// A minute ago, inside every window the envelope allows.
fn recently() -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn events(ids: &[&str]) -> Vec<u8> {
    let events: Vec<_> = ids
        .iter()
        .map(|id| serde_json::json!({"event_id": id, "event_type": "page_view", "occurred_at": recently(), "payload": {"url": "https://x"}}))
        .collect();
    serde_json::to_vec(&events).unwrap()
}

fn fast() -> Backoff {
    Backoff {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(20),
    }
}

/// Mock clients without the SDK's own retries, so each scripted answer is one attempt of the
/// validator's retry loop (the one under test) and no SDK backoff sleeps past the deadline.
fn kinesis_client(rule: &Rule) -> aws_sdk_kinesis::Client {
    mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [rule], |conf| conf
        .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled()))
}

fn s3_client(rule: &Rule) -> aws_sdk_s3::Client {
    mock_client!(aws_sdk_s3, RuleMode::MatchAny, [rule], |conf| conf
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled()))
}

fn stream_writer(rule: &Rule, limits: rtstream_core::Limits) -> StreamWriter {
    StreamWriter::new(kinesis_client(rule), STREAM.into(), limits, fast())
}

fn error_store(rule: &Rule) -> ErrorStore {
    ErrorStore::new(s3_client(rule), BUCKET.into(), "errors/".into()).with_backoff(fast())
}

/// The test app, its AWS clients without SDK retries, one event per record so each scripted
/// refusal names one event (packed records: `a_refused_packed_record_is_retried_whole`).
fn app_without_sdk_retries(kinesis: Rule, s3: Rule) -> validator::App {
    let mut app = unpacked(app(kinesis.clone(), s3.clone()));
    app.stream = stream_writer(&kinesis, limits());
    app.errors = error_store(&s3);
    app
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
    let app = unpacked(app(
        kinesis(calls.clone(), |call, keys| {
            answer(keys, |key| (call == 0 && key == "b") || (call < 2 && key == "d"))
        }),
        s3_stores(Objects::default()),
    ));
    let body = events(&["a", "b", "c", "d"]);

    let reply = app.process("r1", request(&body), chrono::Utc::now()).await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.json()["accepted"], 4);
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[1], vec!["b", "d"], "only the refused records are resent");
    assert_eq!(calls[2], vec!["d"]);
}

#[tokio::test]
async fn persistent_throttling_ends_in_a_503_that_names_the_unwritten_events() {
    let calls = Calls::default();
    let app = unpacked(app(
        kinesis(calls.clone(), |_, keys| answer(keys, |key| key == "c")),
        s3_stores(Objects::default()),
    ));
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
    assert_eq!(reply.json()["error"]["code"], "write.failed");
    assert_eq!(
        (reply.json()["accepted"].as_u64(), reply.json()["failed"].as_u64()),
        (Some(2), Some(1))
    );
    let reply_json = reply.json();
    let results = reply_json["results"].as_array().unwrap();
    assert_eq!(
        (results[2]["event_id"].as_str(), results[2]["status"].as_str()),
        (Some("c"), Some("failed"))
    );
    assert_eq!(results[0]["status"], "accepted");
    assert!(calls.lock().unwrap().len() > 2, "retried before giving up");
}

#[tokio::test]
async fn a_throttled_call_is_retried_whole() {
    let calls = Calls::default();
    let app = app_without_sdk_retries(
        kinesis(calls.clone(), |call, keys| match call {
            0 => kinesis_error(400, "ProvisionedThroughputExceededException"),
            1 => kinesis_error(400, "KMSThrottlingException"),
            2 => kinesis_error(500, "InternalFailure"),
            3 => kinesis_error(503, "ServiceUnavailable"),
            _ => accept_all(call, keys),
        }),
        s3_stores(Objects::default()),
    );
    let body = events(&["a", "b"]);

    let reply = app.process("r1", request(&body), chrono::Utc::now()).await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.json()["accepted"], 2);
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 5, "throttles and 5xx are retried");
    assert_eq!(calls.last().unwrap(), &vec!["a", "b"]);
}

#[tokio::test]
async fn a_call_throttled_until_the_deadline_ends_in_a_503() {
    let calls = Calls::default();
    let app = app_without_sdk_retries(
        kinesis(calls.clone(), |_, _| {
            kinesis_error(400, "ProvisionedThroughputExceededException")
        }),
        s3_stores(Objects::default()),
    );
    let body = events(&["a", "b"]);
    let started = Instant::now();

    let reply = app.process("r1", request(&body), chrono::Utc::now()).await;

    let elapsed = started.elapsed();
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["error"]["code"], "write.failed");
    assert_eq!(reply.json()["failed"], 2);
    assert!(calls.lock().unwrap().len() > 3, "retried until the deadline");
    let deadline = Duration::from_millis(limits().put_deadline_ms);
    assert!(
        elapsed > deadline / 2 && elapsed < deadline + Duration::from_millis(200),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn refusals_no_retry_can_fix_fail_the_request_at_once() {
    for (status, code) in [
        (400, "AccessDeniedException"),
        (400, "ResourceNotFoundException"),
        (400, "KMSDisabledException"),
        (400, "KMSInvalidStateException"),
        (400, "KMSAccessDeniedException"),
        (400, "ValidationException"),
        (403, "SomeFutureRefusal"),
    ] {
        let calls = Calls::default();
        let app = app_without_sdk_retries(
            kinesis(calls.clone(), move |_, _| kinesis_error(status, code)),
            s3_stores(Objects::default()),
        );
        let body = events(&["a", "b"]);
        let started = Instant::now();

        let reply = app.process("r1", request(&body), chrono::Utc::now()).await;

        let elapsed = started.elapsed();
        assert_eq!(calls.lock().unwrap().len(), 1, "{code}: not retried");
        assert!(elapsed < AT_ONCE, "{code}: answered at once, took {elapsed:?}");
        assert_eq!(reply.status, 503, "{code}");
        assert_eq!(reply.json()["error"]["code"], "write.failed", "{code}");
        assert_eq!(
            (reply.json()["accepted"].as_u64(), reply.json()["failed"].as_u64()),
            (Some(0), Some(2)),
            "{code}: nothing accepted"
        );
        assert!(reply.retry_after.is_some());
    }
}

/// The status of each event in a reply, in request order.
fn statuses(body: &serde_json::Value) -> Vec<&str> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["status"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn records_kinesis_took_after_a_refused_one_are_acknowledged() {
    // One call; Kinesis refuses "b" for good but writes "a" and "c": only "b" is to be resent.
    let calls = Calls::default();
    let app = app_without_sdk_retries(
        kinesis(calls.clone(), |_, keys| {
            answer_with(keys, |key| (key == "b").then_some("KMSAccessDeniedException"))
        }),
        s3_stores(Objects::default()),
    );
    let body = events(&["a", "b", "c"]);

    let reply = app.process("r1", request(&body), chrono::Utc::now()).await;

    assert_eq!(
        calls.lock().unwrap().len(),
        1,
        "a permanent refusal is not retried"
    );
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(statuses(&reply.json()), ["accepted", "failed", "accepted"]);
}

#[tokio::test]
async fn a_refusal_after_a_successful_call_keeps_what_was_written() {
    // Two records per call: the first call is written, the second is refused for good.
    let calls = Calls::default();
    let mut app = app_without_sdk_retries(
        kinesis(calls.clone(), |call, keys| match call {
            0 => accept_all(call, keys),
            _ => kinesis_error(400, "AccessDeniedException"),
        }),
        s3_stores(Objects::default()),
    );
    let few = rtstream_core::Limits {
        kinesis_max_records_per_call: 2,
        ..limits()
    };
    app.stream = stream_writer(
        &kinesis(calls.clone(), |call, keys| match call {
            0 => accept_all(call, keys),
            _ => kinesis_error(400, "AccessDeniedException"),
        }),
        few,
    );
    let body = events(&["a", "b", "c", "d", "e"]);
    let started = Instant::now();

    let reply = app.process("r1", request(&body), chrono::Utc::now()).await;

    assert!(started.elapsed() < AT_ONCE);
    assert_eq!(calls.lock().unwrap().len(), 2, "no call after the refusal");
    assert_eq!(reply.status, 503);
    assert_eq!(
        statuses(&reply.json()),
        ["accepted", "accepted", "failed", "failed", "failed"],
        "the 503 names exactly the events to resend"
    );
}

#[tokio::test]
async fn the_writer_says_why_records_were_not_written() {
    let records = [PendingRecord {
        partition_key: "a",
        data: b"{}",
    }];
    let deadline = tokio::time::Instant::now() + Duration::from_millis(limits().put_deadline_ms);

    let denied = stream_writer(
        &kinesis(Calls::default(), |_, _| {
            kinesis_error(400, "AccessDeniedException")
        }),
        limits(),
    )
    .write(&records, deadline)
    .await;

    assert_eq!(denied.acknowledged, [false]);
    let Some(StreamError::Permanent(failure)) = denied.error else {
        panic!("{:?}", denied.error)
    };
    assert_eq!(
        (failure.kind, failure.code.as_deref(), failure.status),
        (FailureKind::Permanent, Some("AccessDeniedException"), Some(400))
    );

    let throttled = stream_writer(
        &kinesis(Calls::default(), |_, keys| answer(keys, |_| true)),
        limits(),
    )
    .write(&records, deadline)
    .await;

    assert_eq!(throttled.acknowledged, [false]);
    let Some(StreamError::Deadline {
        last: Some(AwsFailure { kind, code, .. }),
    }) = throttled.error
    else {
        panic!("{:?}", throttled.error)
    };
    assert_eq!(
        (kind, code.as_deref()),
        (
            FailureKind::Throttled,
            Some("ProvisionedThroughputExceededException")
        )
    );
}

#[tokio::test]
async fn when_rejections_cannot_be_stored_nothing_is_accepted() {
    let calls = Calls::default();
    let app = app(kinesis(calls.clone(), accept_all), s3_unavailable());
    let mut body: Vec<serde_json::Value> = serde_json::from_slice(&events(&["a"])).unwrap();
    body.push(serde_json::json!({"event_id": "bad", "event_type": "page_view", "occurred_at": recently(), "payload": {}}));
    let body = serde_json::to_vec(&body).unwrap();

    let reply = app.process("r1", request(&body), chrono::Utc::now()).await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["error"]["code"], "error_store.failed");
    assert_eq!(reply.json()["accepted"], 0);
    assert_eq!(reply.json()["results"][1]["status"], "rejected");
    assert!(calls.lock().unwrap().is_empty(), "no event reached Kinesis");
}

#[tokio::test]
async fn an_unreadable_body_that_cannot_be_stored_is_a_503() {
    let app = app(kinesis(Calls::default(), accept_all), s3_unavailable());

    let reply = app.process("r1", request(b"{oops"), chrono::Utc::now()).await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["error"]["code"], "error_store.failed");
}

fn with_rejection() -> Vec<u8> {
    let mut body: Vec<serde_json::Value> = serde_json::from_slice(&events(&["a"])).unwrap();
    body.push(serde_json::json!({"event_id": "bad", "event_type": "page_view", "occurred_at": recently(), "payload": {}}));
    serde_json::to_vec(&body).unwrap()
}

#[tokio::test]
async fn an_error_bucket_that_refuses_for_good_fails_the_request_at_once() {
    for (status, code) in [
        (403, "AccessDenied"),
        (404, "NoSuchBucket"),
        (400, "KMS.DisabledException"),
    ] {
        let (kinesis_calls, s3_calls) = (Calls::default(), Arc::new(AtomicUsize::new(0)));
        let app = app_without_sdk_retries(
            kinesis(kinesis_calls.clone(), accept_all),
            s3_failing(status, code, usize::MAX, s3_calls.clone()),
        );
        let started = Instant::now();

        let reply = app
            .process("r1", request(&with_rejection()), chrono::Utc::now())
            .await;

        let elapsed = started.elapsed();
        assert_eq!(s3_calls.load(Ordering::SeqCst), 1, "{code}: not retried");
        assert!(elapsed < AT_ONCE, "{code}: took {elapsed:?}");
        assert_eq!(reply.status, 503, "{code}");
        assert_eq!(reply.json()["error"]["code"], "error_store.failed");
        assert_eq!(reply.json()["accepted"], 0);
        assert!(
            kinesis_calls.lock().unwrap().is_empty(),
            "{code}: no event reached Kinesis"
        );
    }
}

#[tokio::test]
async fn a_slow_error_bucket_is_retried() {
    let s3_calls = Arc::new(AtomicUsize::new(0));
    let objects_seen = Calls::default();
    let app = app_without_sdk_retries(
        kinesis(objects_seen.clone(), accept_all),
        s3_failing(503, "SlowDown", 2, s3_calls.clone()),
    );

    let reply = app
        .process("r1", request(&with_rejection()), chrono::Utc::now())
        .await;

    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(s3_calls.load(Ordering::SeqCst), 3, "two SlowDowns, then stored");
    assert_eq!(reply.json()["accepted"], 1);
}

#[tokio::test]
async fn the_error_store_says_why_it_gave_up() {
    let store = |rule: Rule| error_store(&rule);
    let deadline = || tokio::time::Instant::now() + Duration::from_millis(limits().put_deadline_ms);
    let calls = Arc::new(AtomicUsize::new(0));

    let slow = store(s3_failing(503, "SlowDown", usize::MAX, calls.clone()))
        .put("k", b"{}\n".to_vec(), deadline())
        .await
        .result;

    let Err(ErrorStoreError::Deadline { last: Some(failure) }) = slow else {
        panic!("{slow:?}")
    };
    assert_eq!(
        (failure.kind, failure.status),
        (FailureKind::Throttled, Some(503))
    );
    assert!(calls.load(Ordering::SeqCst) > 2, "retried until the deadline");

    let denied = store(s3_failing(403, "AccessDenied", usize::MAX, Arc::default()))
        .put("k", b"{}\n".to_vec(), deadline())
        .await
        .result;

    let Err(ErrorStoreError::Permanent(failure)) = denied else {
        panic!("{denied:?}")
    };
    assert_eq!(failure.code.as_deref(), Some("AccessDenied"));
    assert!(
        failure
            .to_string()
            .contains("not retryable, AccessDenied, HTTP 403"),
        "{failure}"
    );
}

#[tokio::test]
async fn large_batches_are_split_into_calls_within_the_kinesis_limits() {
    let calls = Calls::default();
    let ids: Vec<String> = (0..500).map(|i| format!("e-{i}")).collect();
    let padding = "p".repeat(12_000); // 500 x ~12 KB = ~6 MB: more than one 5 MiB call
    let events: Vec<_> = ids
        .iter()
        .map(|id| serde_json::json!({"event_id": id, "event_type": "page_view", "occurred_at": recently(), "payload": {"url": padding}}))
        .collect();
    let body = serde_json::to_vec(&events).unwrap();
    let mut big = app(kinesis(calls.clone(), accept_all), s3_stores(Objects::default()));
    big.validator.limits.max_request_bytes = 8 << 20;

    let reply = big.process("r1", request(&body), chrono::Utc::now()).await;

    assert_eq!(reply.status, 202);
    assert_eq!(reply.json()["accepted"], 500);
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls.iter().map(Vec::len).sum::<usize>(), 500);
}
