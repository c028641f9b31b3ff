//! The reproductions of issue 8 ("every accepted event lands intact, no request can blow up a
//! reply"), each through the public contract: a request body in, outcomes and the reply out.
//! Written against the API that predates the fix, so each can be run on the old code too
//! (where every test here fails).

use chrono::{DateTime, Utc};
use flate2::{write::GzEncoder, Compression};
use rtstream_core::response::batch_reply;
use rtstream_core::schema::SchemaRegistry;
use rtstream_core::validator::{Outcome, RequestBody};
use rtstream_core::{ErrorDetail, Limits, Validator};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// Lambda's limit on a synchronous response: a reply past it is lost after the events were put.
const LAMBDA_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// What the contract promises a reply stays under (`docs/event-contract.md`, "Caps").
const MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;
const _: () = assert!(MAX_REPLY_BYTES < LAMBDA_RESPONSE_BYTES);

fn validator() -> Validator {
    let schemas =
        SchemaRegistry::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")).unwrap();
    Validator::new(Limits::default(), schemas)
}

fn now() -> DateTime<Utc> {
    "2026-11-26T18:00:00Z".parse().unwrap()
}

fn request<'a>(content_type: &'a str, content_encoding: Option<&'a str>, body: &'a [u8]) -> RequestBody<'a> {
    RequestBody {
        content_type: Some(content_type),
        content_encoding,
        body,
    }
}

fn validate_json(body: &[u8]) -> Vec<Outcome> {
    validator()
        .validate_request(request("application/json", None, body), now())
        .unwrap()
}

fn page_view(occurred_at: &str) -> Value {
    json!({"event_id": "e-1", "event_type": "page_view", "occurred_at": occurred_at, "payload": {"url": "https://x"}})
}

fn record(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Valid { record, .. } => serde_json::from_slice(record).unwrap(),
        rejected => panic!("not accepted: {rejected:?}"),
    }
}

fn errors(outcome: &Outcome) -> &[ErrorDetail] {
    match outcome {
        Outcome::Rejected { errors, .. } => errors,
        valid => panic!("not rejected: {valid:?}"),
    }
}

/// The 202 body as the client receives it, in bytes.
fn reply_bytes(outcomes: &[Outcome]) -> usize {
    let accepted: Vec<bool> = outcomes
        .iter()
        .map(|o| matches!(o, Outcome::Valid { .. }))
        .collect();
    batch_reply("r", outcomes, &accepted, None).body.to_string().len()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

// Accepted, then lost: timestamps Snowflake's TIMESTAMP_TZ cast refuses.

#[test]
fn lowercase_t_and_z_reach_kinesis_in_the_canonical_form() {
    let body = serde_json::to_vec(&page_view("2026-11-26t17:16:55z")).unwrap();
    let outcomes = validate_json(&body);
    assert_eq!(record(&outcomes[0])["occurred_at"], "2026-11-26T17:16:55.000000Z");
}

#[test]
fn offsets_and_long_fractions_are_normalised_to_utc_microseconds() {
    for (sent, stored) in [
        ("2026-11-26T17:16:55+23:59", "2026-11-25T17:17:55.000000Z"),
        (
            "2026-11-26T17:16:55.1234567890123456789Z",
            "2026-11-26T17:16:55.123456Z",
        ),
        ("2026-11-26T08:00:00.5-01:00", "2026-11-26T09:00:00.500000Z"),
    ] {
        let body = serde_json::to_vec(&page_view(sent)).unwrap();
        assert_eq!(record(&validate_json(&body)[0])["occurred_at"], stored, "{sent}");
    }
}

#[test]
fn leap_seconds_and_year_zero_are_rejected() {
    for (sent, code) in [
        ("2026-11-26T17:16:60Z", "envelope.invalid_timestamp"),
        ("0000-01-01T00:00:00Z", "envelope.occurred_at_too_old"),
    ] {
        let body = serde_json::to_vec(&page_view(sent)).unwrap();
        let outcomes = validate_json(&body);
        assert_eq!(errors(&outcomes[0])[0].code, code, "{sent}");
    }
}

// Duplicate keys: the validator checked one copy, the record kept both.

#[test]
fn a_repeated_envelope_field_is_rejected() {
    let body = br#"{"event_type": "page_view", "occurred_at": "2026-11-26T17:00:00Z", "payload": {"url": 1}, "payload": {"url": "x"}}"#;
    let outcomes = validate_json(body);
    let errors = errors(&outcomes[0]);
    assert_eq!(
        (errors[0].path.as_str(), errors[0].code.as_str()),
        ("/payload", "envelope.duplicate_key")
    );
}

#[test]
fn a_repeated_key_inside_the_payload_is_rejected_with_its_pointer() {
    let body = br#"{"event_type": "page_view", "occurred_at": "2026-11-26T17:00:00Z", "payload": {"url": "x", "items": [{"sku": "a", "sku": "b"}]}}"#;
    let outcomes = validate_json(body);
    let errors = errors(&outcomes[0]);
    assert_eq!(
        (errors[0].path.as_str(), errors[0].code.as_str()),
        ("/payload/items/0/sku", "payload.duplicate_key")
    );
}

// Amplification: one error per unknown field, and whole values echoed.

#[test]
fn a_megabyte_of_unknown_fields_gets_a_short_reply() {
    // Just inside max_event_bytes (1 MiB), so the fields are read, not refused for size.
    let mut event = page_view("2026-11-26T17:00:00Z");
    for field in 0..90_000 {
        event[format!("f{field}")] = json!(0);
    }
    let body = serde_json::to_vec(&event).unwrap();
    assert!(body.len() > 900_000 && body.len() < 1_048_576, "{}", body.len());
    let outcomes = validate_json(&body);
    assert_eq!(errors(&outcomes[0]).len(), 1);
    assert_eq!(errors(&outcomes[0])[0].code, "envelope.unknown_field");
    assert!(reply_bytes(&outcomes) < 1024, "{} bytes", reply_bytes(&outcomes));
}

#[test]
fn a_megabyte_bad_string_is_not_echoed() {
    let currency = "e".repeat(1 << 20);
    let body = serde_json::to_vec(
        &json!({"event_type": "order_placed", "occurred_at": "2026-11-26T17:00:00Z",
        "payload": {"order_id": "o", "amount": 1, "currency": currency}}),
    )
    .unwrap();
    let limits = Limits {
        max_event_bytes: 2 << 20,
        ..Limits::default()
    };
    let big = Validator {
        limits,
        ..validator()
    };
    let outcomes = big
        .validate_request(request("application/json", None, &body), now())
        .unwrap();
    assert_eq!(errors(&outcomes[0])[0].code, "schema.pattern");
    assert!(reply_bytes(&outcomes) < 1024, "{} bytes", reply_bytes(&outcomes));
    let body = serde_json::to_vec(&page_view(&currency)).unwrap();
    let outcomes = big
        .validate_request(request("application/json", None, &body), now())
        .unwrap();
    assert_eq!(errors(&outcomes[0])[0].code, "envelope.invalid_timestamp");
    assert!(reply_bytes(&outcomes) < 1024, "{} bytes", reply_bytes(&outcomes));
}

#[test]
fn errors_are_capped_per_request() {
    let bad = json!({"event_id": "", "event_type": "Bad", "occurred_at": "soon", "source": "s".repeat(300), "payload": {}});
    let body = serde_json::to_vec(&vec![bad; 500]).unwrap();
    let outcomes = validate_json(&body);
    let counts: Vec<usize> = outcomes.iter().map(|outcome| errors(outcome).len()).collect();
    assert!(
        counts.iter().all(|&count| count >= 1),
        "every rejection keeps a reason"
    );
    assert_eq!(counts[0], 4);
    assert_eq!(counts.iter().sum::<usize>(), 1000);
}

#[test]
fn the_worst_reply_stays_under_the_promised_size() {
    // As bad as a body within max_request_bytes gets: every error's path is cut at 256 bytes of
    // a key made of control characters (six bytes each once escaped in JSON), repeated in every
    // error under it, every message quotes 128 bytes of such a value, every event_id is 128 of
    // them; the first events carry 20 errors each, until the request's budget is spent.
    let schemas = SchemaRegistry::from_schemas([(
        "_default".to_string(),
        json!({"type": "object", "additionalProperties": {"additionalProperties": {"type": "number"}}}),
    )])
    .unwrap();
    let limits = Limits::default();
    let worst = Validator::new(limits, schemas);
    let control = |count: usize| "\u{1}".repeat(count);
    let event = |errors: usize| {
        let values: serde_json::Map<String, Value> = (0..errors)
            .map(|key| (format!("{key:02}"), Value::String(control(128))))
            .collect();
        json!({"event_id": control(128), "event_type": "any", "occurred_at": "2026-11-26T17:00:00Z",
               "payload": {control(256): values}})
    };
    let heavy = 1000 / 20;
    let events: Vec<Value> = (0..limits.max_batch_events)
        .map(|index| event(if index < heavy { 25 } else { 1 }))
        .collect();
    let body = serde_json::to_vec(&events).unwrap();
    assert!(body.len() <= limits.max_request_bytes, "{} bytes", body.len());
    let outcomes = worst
        .validate_request(request("application/json", None, &body), now())
        .unwrap();
    let counts: Vec<usize> = outcomes.iter().map(|outcome| errors(outcome).len()).collect();
    assert_eq!(
        (counts[0], counts[heavy], counts.iter().sum::<usize>()),
        (20, 1, 1000)
    );
    assert_eq!(errors(&outcomes[0])[0].path.len(), 256 + '…'.len_utf8());
    let size = reply_bytes(&outcomes);
    assert!(size < MAX_REPLY_BYTES, "{size} bytes");
    assert!(
        size > 1 << 20,
        "{size} bytes: the construction is not the worst case any more"
    );
}

// Events dropped silently: gzip members after the first, and bytes after the stream.

#[test]
fn every_member_of_a_multi_member_gzip_body_is_read() {
    let event = |id: &str| {
        format!(
            "{}\n",
            json!({"event_id": id, "event_type": "page_view", "occurred_at": "2026-11-26T17:00:00Z", "payload": {"url": "x"}})
        )
    };
    // `cat a.gz b.gz`
    let body = [
        gzip(event("a").as_bytes()),
        gzip((event("b") + &event("c")).as_bytes()),
    ]
    .concat();
    let outcomes = validator()
        .validate_request(request("application/x-ndjson", Some("gzip"), &body), now())
        .unwrap();
    let ids: Vec<_> = outcomes
        .iter()
        .map(|outcome| outcome.event_id().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
}

#[test]
fn bytes_after_the_gzip_stream_refuse_the_body() {
    let event =
        json!({"event_type": "page_view", "occurred_at": "2026-11-26T17:00:00Z", "payload": {"url": "x"}});
    let body = [gzip(event.to_string().as_bytes()), b"trailing bytes".to_vec()].concat();
    let error = validator()
        .validate_request(request("application/json", Some("gzip"), &body), now())
        .unwrap_err();
    assert_eq!((error.status, error.code), (400, "body.malformed_gzip"));
}

// Bounded work: splitting stops one event past the batch limit.

#[test]
fn splitting_stops_one_event_past_the_limit() {
    let limits = Limits::default();
    let event = page_view("2026-11-26T17:00:00Z").to_string();
    let mut body = format!("[{}", vec![event; limits.max_batch_events + 1].join(","));
    body.push_str(", and whatever follows is never read");
    let error = validator()
        .validate_request(request("application/json", None, body.as_bytes()), now())
        .unwrap_err();
    assert_eq!((error.status, error.code), (413, "body.too_many_events"));
}

// Values changed: the record carries the client's number text, whatever else is edited.

#[test]
fn numbers_keep_their_digits_when_the_record_is_edited() {
    let body = br#"{"event_type": "order_placed", "occurred_at": "2026-11-26t17:00:00+01:00", "payload": {"order_id": "o", "amount": 12345678901234567890.123456789, "currency": "EUR"}}"#;
    let outcomes = validate_json(body);
    let Outcome::Valid { record, .. } = &outcomes[0] else {
        panic!("{:?}", outcomes[0])
    };
    let text = String::from_utf8(record.clone()).unwrap();
    assert!(
        text.contains(r#""amount": 12345678901234567890.123456789"#),
        "{text}"
    );
    assert!(
        text.contains(r#""occurred_at": "2026-11-26T16:00:00.000000Z""#),
        "{text}"
    );
}
