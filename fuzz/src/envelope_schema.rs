//! The `envelope_schema` target: one event's JSON text through `Validator::validate_event`
//! (envelope rules, duplicate keys, the `occurred_at` window, the payload's JSON Schema from the
//! repository's `schemas/`), with `max_event_bytes` at 2 KiB so the size rule is reached too.
//!
//! Input: the event's text as sent. An accepted event must be stored as its own text with only
//! `occurred_at` made canonical and an `event_id` added: every other value equal, every number
//! with the same digits, valid again when validated again, and loadable by the transformer.

use crate::contract::{self, assert_request};
use crate::json_text::number_tokens;
use chrono::{DateTime, SecondsFormat, TimeDelta};
use rtstream_core::envelope::{Window, FIELDS};
use rtstream_core::firehose::{transform, Provenance};
use rtstream_core::validator::{Outcome, RawEvent};
use rtstream_core::{Limits, Validator};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::sync::LazyLock;

static LIMITS: LazyLock<Limits> = LazyLock::new(|| Limits {
    max_event_bytes: 2048,
    ..Limits::default()
});
static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| contract::validator(*LIMITS));
static WINDOW: LazyLock<Window> = LazyLock::new(|| Window::new(contract::now(), &LIMITS));
/// The types with a schema of their own, sorted, as the transformer is built with.
static SCHEMA_TYPES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut types: Vec<&str> = VALIDATOR.schemas.event_types().collect();
    types.sort_unstable();
    types
});

pub fn check(input: &[u8]) {
    let text = input.trim_ascii();
    let outcome = VALIDATOR.validate_event(input, &WINDOW);
    assert_request(std::slice::from_ref(&outcome), &LIMITS);
    match &outcome {
        Outcome::Valid { event_id, record, .. } => {
            let sent = serde_json::from_slice::<Value>(text);
            let Ok(Value::Object(sent)) = sent else {
                panic!("accepted an event that is not a JSON object: {sent:?}")
            };
            assert_stored(&sent, text, event_id, record);
        }
        // The kept raw event follows JSON's grammar (RawValue), which sets no range on numbers:
        // `1e400` is JSON there, though no double holds it and the body splitter refuses it.
        Outcome::Rejected { raw, .. } => match (serde_json::from_slice::<Box<RawValue>>(text).is_ok(), raw) {
            (true, RawEvent::Json(raw)) => assert_eq!(
                number_tokens(raw.get().as_bytes()),
                number_tokens(text),
                "the kept raw event changed a number"
            ),
            (true, RawEvent::Line(_)) => {}
            (false, raw) => assert!(
                matches!(raw, RawEvent::Line(_)),
                "text that is not JSON kept as JSON"
            ),
        },
    }
}

fn assert_stored(sent: &Map<String, Value>, text: &[u8], event_id: &str, record: &[u8]) {
    let Ok(Value::Object(stored)) = serde_json::from_slice::<Value>(record) else {
        panic!("a stored record that is not a JSON object")
    };
    assert!(sent.keys().all(|key| FIELDS.contains(&key.as_str())), "{sent:?}");
    for field in FIELDS {
        match field {
            "event_id" => match sent.get(field) {
                Some(Value::String(id)) => assert_eq!(id, event_id, "the client's id is kept"),
                _ => assert_eq!(stored[field], event_id, "an assigned id is stored"),
            },
            "occurred_at" => assert_occurred_at(&sent[field], &stored[field]),
            _ => assert_eq!(stored.get(field), sent.get(field), "{field} changed"),
        }
    }
    assert_eq!(
        stored.len(),
        sent.len() + usize::from(!sent.contains_key("event_id"))
    );
    assert_event_type(stored["event_type"].as_str().expect("a string event_type"));
    assert_eq!(
        number_tokens(record),
        number_tokens(text),
        "a number's text changed"
    );

    // A stored record is a valid event as it stands: validated again it is kept byte for byte...
    match VALIDATOR.validate_event(record, &WINDOW) {
        Outcome::Valid {
            event_id: again,
            record: kept,
            ..
        } => {
            assert_eq!(
                (again.as_str(), kept.as_slice()),
                (event_id, record),
                "not idempotent"
            );
        }
        rejected => panic!("a stored record is rejected when validated again: {rejected:?}"),
    }
    // ... and the transformer makes a line of it, so nothing accepted ends up processing-failed.
    let line = transform(record, &Provenance::default(), &SCHEMA_TYPES)
        .unwrap_or_else(|error| panic!("the transformer refuses a stored record: {error}"))
        .line;
    assert_eq!(
        number_tokens(&line),
        number_tokens(record),
        "the line changed a number"
    );
}

/// `^[a-z][a-z0-9_.]{0,63}$`, spelled out.
fn assert_event_type(event_type: &str) {
    let bytes = event_type.as_bytes();
    assert!(
        (1..=64).contains(&bytes.len())
            && bytes[0].is_ascii_lowercase()
            && bytes
                .iter()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"_.".contains(byte)),
        "accepted event_type {event_type:?}"
    );
}

/// The stored `occurred_at` is the sent instant in UTC, truncated to microseconds, inside the
/// window of `max_past_days` before the clock to `max_future_skew_seconds` after it.
fn assert_occurred_at(sent: &Value, stored: &Value) {
    let sent = sent.as_str().expect("an accepted occurred_at is a string");
    let at = DateTime::parse_from_rfc3339(sent)
        .unwrap_or_else(|error| panic!("accepted occurred_at {sent:?}: {error}"))
        .to_utc();
    let canonical = format!("{}Z", at.format("%Y-%m-%dT%H:%M:%S%.6f"));
    assert_eq!(stored.as_str(), Some(canonical.as_str()), "sent {sent:?}");
    let now = contract::now();
    let earliest = now - TimeDelta::days(LIMITS.max_past_days as i64);
    let latest = now + TimeDelta::seconds(LIMITS.max_future_skew_seconds);
    assert!(
        (earliest..=latest).contains(&at),
        "accepted occurred_at {} outside [{}, {}]",
        at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        earliest,
        latest
    );
}
