//! The envelope rules every event obeys, whatever its type.

use crate::ErrorDetail;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{Map, Value};

pub const FIELDS: [&str; 5] = ["event_id", "event_type", "occurred_at", "source", "payload"];
const MAX_EVENT_ID_CHARS: usize = 128;
const MAX_SOURCE_CHARS: usize = 256;
const MAX_EVENT_TYPE_CHARS: usize = 64;

/// `^[a-z][a-z0-9_.]{0,63}$` without a regex engine: the rule is simple and this is the hot path.
pub fn is_valid_event_type(event_type: &str) -> bool {
    let bytes = event_type.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_EVENT_TYPE_CHARS
        && bytes[0].is_ascii_lowercase()
        && bytes[1..]
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// RFC 3339 with an explicit offset (`Z` or `±hh:mm`).
pub fn parse_occurred_at(raw: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(raw).ok()
}

/// What the envelope check learned about a well-formed event.
#[derive(Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// `None` when the client sent no id (or `null`): the validator assigns one.
    pub event_id: Option<&'a str>,
    pub event_type: &'a str,
}

/// Checks the envelope of `event`, collecting every problem rather than stopping at the first.
/// `Ok` carries the parts the rest of validation needs; `Err` the reasons, in field order.
pub fn check<'a>(
    event: &'a Map<String, Value>,
    now: DateTime<Utc>,
    max_future_skew_seconds: i64,
) -> Result<Envelope<'a>, Vec<ErrorDetail>> {
    let mut errors = Vec::new();

    for field in event.keys().filter(|key| !FIELDS.contains(&key.as_str())) {
        errors.push(ErrorDetail::new(
            pointer(field),
            "envelope.unknown_field",
            format!("{field:?} is not an envelope field; put it inside payload"),
        ));
    }

    let event_id = optional_string(event, "event_id", &mut errors).filter(|id| {
        let length = id.chars().count();
        let valid = (1..=MAX_EVENT_ID_CHARS).contains(&length);
        if !valid {
            errors.push(ErrorDetail::new(
                "/event_id",
                "envelope.invalid_event_id",
                format!("event_id must be 1 to {MAX_EVENT_ID_CHARS} characters, got {length}"),
            ));
        }
        valid
    });

    let event_type = required_string(event, "event_type", &mut errors).filter(|event_type| {
        let valid = is_valid_event_type(event_type);
        if !valid {
            errors.push(ErrorDetail::new(
                "/event_type",
                "envelope.invalid_event_type",
                format!("event_type {event_type:?} must match ^[a-z][a-z0-9_.]{{0,63}}$"),
            ));
        }
        valid
    });

    if let Some(raw) = required_string(event, "occurred_at", &mut errors) {
        match parse_occurred_at(raw) {
            None => errors.push(ErrorDetail::new(
                "/occurred_at",
                "envelope.invalid_timestamp",
                format!("occurred_at {raw:?} is not an RFC 3339 timestamp with an offset"),
            )),
            Some(occurred_at) if occurred_at > now + Duration::seconds(max_future_skew_seconds) => {
                errors.push(ErrorDetail::new(
                    "/occurred_at",
                    "envelope.occurred_at_in_future",
                    format!(
                        "occurred_at {raw} is more than {max_future_skew_seconds} s after the validator's clock ({})",
                        now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    ),
                ))
            }
            Some(_) => {}
        }
    }

    if let Some(source) = optional_string(event, "source", &mut errors) {
        let length = source.chars().count();
        if length > MAX_SOURCE_CHARS {
            errors.push(ErrorDetail::new(
                "/source",
                "envelope.invalid_source",
                format!("source must be at most {MAX_SOURCE_CHARS} characters, got {length}"),
            ));
        }
    }

    match event.get("payload") {
        None => errors.push(missing("payload")),
        Some(Value::Object(_)) => {}
        Some(other) => errors.push(wrong_type("payload", "an object", other)),
    }

    match (errors.is_empty(), event_type) {
        (true, Some(event_type)) => Ok(Envelope { event_id, event_type }),
        _ => Err(errors),
    }
}

fn pointer(field: &str) -> String {
    format!("/{}", field.replace('~', "~0").replace('/', "~1"))
}

fn missing(field: &str) -> ErrorDetail {
    ErrorDetail::new(
        pointer(field),
        "envelope.missing_field",
        format!("{field} is required"),
    )
}

fn wrong_type(field: &str, expected: &str, got: &Value) -> ErrorDetail {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ErrorDetail::new(
        pointer(field),
        "envelope.invalid_type",
        format!("{field} must be {expected}, got {got}"),
    )
}

/// An optional string field; `null` counts as absent.
fn optional_string<'a>(
    event: &'a Map<String, Value>,
    field: &str,
    errors: &mut Vec<ErrorDetail>,
) -> Option<&'a str> {
    match event.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(value)) => Some(value),
        Some(other) => {
            errors.push(wrong_type(field, "a string", other));
            None
        }
    }
}

fn required_string<'a>(
    event: &'a Map<String, Value>,
    field: &str,
    errors: &mut Vec<ErrorDetail>,
) -> Option<&'a str> {
    if event.get(field).is_none_or(Value::is_null) {
        errors.push(missing(field));
        return None;
    }
    optional_string(event, field, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-26T10:00:00Z".parse().unwrap()
    }

    fn codes(event: Value) -> Vec<String> {
        let map = event.as_object().unwrap().clone();
        match check(&map, now(), 300) {
            Ok(_) => vec![],
            Err(errors) => errors
                .into_iter()
                .map(|e| format!("{} {}", e.path, e.code))
                .collect(),
        }
    }

    #[test]
    fn a_valid_envelope() {
        let event = json!({"event_id": "a", "event_type": "page_view", "occurred_at": "2026-11-26T09:00:00+01:00", "source": "web", "payload": {}});
        let map = event.as_object().unwrap();
        assert_eq!(
            check(map, now(), 300),
            Ok(Envelope {
                event_id: Some("a"),
                event_type: "page_view"
            })
        );
        let no_id = json!({"event_id": null, "event_type": "x", "occurred_at": "2026-11-26T10:04:59Z", "payload": {}});
        assert_eq!(
            check(no_id.as_object().unwrap(), now(), 300).unwrap().event_id,
            None
        );
    }

    #[test]
    fn every_problem_is_reported() {
        assert_eq!(
            codes(
                json!({"event_id": "", "event_type": "Bad", "occurred_at": "2026-11-26 10:00", "source": 3, "payload": [], "extra": 1})
            ),
            vec![
                "/extra envelope.unknown_field",
                "/event_id envelope.invalid_event_id",
                "/event_type envelope.invalid_event_type",
                "/occurred_at envelope.invalid_timestamp",
                "/source envelope.invalid_type",
                "/payload envelope.invalid_type",
            ]
        );
        assert_eq!(
            codes(json!({})),
            vec![
                "/event_type envelope.missing_field",
                "/occurred_at envelope.missing_field",
                "/payload envelope.missing_field"
            ]
        );
    }

    #[test]
    fn timestamps_need_an_offset_and_not_the_future() {
        let event = |ts: &str| json!({"event_type": "a", "occurred_at": ts, "payload": {}});
        assert_eq!(
            codes(event("2026-11-26T10:00:00")),
            vec!["/occurred_at envelope.invalid_timestamp"]
        );
        assert_eq!(
            codes(event("2026-11-26T10:05:01Z")),
            vec!["/occurred_at envelope.occurred_at_in_future"]
        );
        assert!(codes(event("2026-11-26T10:05:00Z")).is_empty());
    }

    #[test]
    fn limits_on_lengths_count_characters() {
        let id = "é".repeat(128);
        assert!(codes(
            json!({"event_id": id, "event_type": "a", "occurred_at": "2026-11-26T10:00:00Z", "payload": {}})
        )
        .is_empty());
        let source = "s".repeat(257);
        assert_eq!(
            codes(
                json!({"event_type": "a", "occurred_at": "2026-11-26T10:00:00Z", "payload": {}, "source": source})
            ),
            vec!["/source envelope.invalid_source"]
        );
    }

    #[test]
    fn event_type_rule() {
        assert!(is_valid_event_type("a"));
        assert!(is_valid_event_type("order.placed_v2"));
        assert!(is_valid_event_type(&format!("a{}", "b".repeat(63))));
        assert!(!is_valid_event_type(&format!("a{}", "b".repeat(64))));
        assert!(!is_valid_event_type("1abc"));
        assert!(!is_valid_event_type("a-b"));
        assert!(!is_valid_event_type(""));
    }

    #[test]
    fn unknown_field_pointers_are_escaped() {
        assert_eq!(pointer("a/b~c"), "/a~1b~0c");
    }
}
