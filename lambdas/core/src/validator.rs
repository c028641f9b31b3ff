//! The request-level contract: a body in, one outcome per event out.

use crate::body::{self, BodyError, Candidate};
use crate::envelope;
use crate::schema::SchemaRegistry;
use crate::{ErrorDetail, Limits};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The parts of an HTTP request the contract looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestBody<'a> {
    pub content_type: Option<&'a str>,
    pub content_encoding: Option<&'a str>,
    pub body: &'a [u8],
}

/// What validation decided about one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Ready for Kinesis: `record` is the normalised event as compact JSON.
    Valid { event_id: String, record: Vec<u8> },
    Rejected {
        event_id: Option<String>,
        errors: Vec<ErrorDetail>,
        raw: RawEvent,
    },
}

/// A rejected event as received, for the error bucket.
#[derive(Debug, Clone, PartialEq)]
pub enum RawEvent {
    Json(Value),
    Line(String),
}

impl Outcome {
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Outcome::Valid { event_id, .. } => Some(event_id),
            Outcome::Rejected { event_id, .. } => event_id.as_deref(),
        }
    }
}

pub struct Validator {
    pub limits: Limits,
    pub schemas: SchemaRegistry,
}

impl Validator {
    pub fn new(limits: Limits, schemas: SchemaRegistry) -> Self {
        Self { limits, schemas }
    }

    /// Validates a whole request. `Err` refuses the body as a whole (4xx); `Ok` holds one
    /// outcome per event, in request order. `now` is the validator's clock for the future-skew rule.
    pub fn validate_request(
        &self,
        request: RequestBody<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, BodyError> {
        let format = body::body_format(request.content_type)?;
        let decoded = body::decode(request.body, request.content_encoding, &self.limits)?;
        let candidates = body::split(&decoded, format, &self.limits)?;
        Ok(candidates
            .into_iter()
            .map(|candidate| self.validate_candidate(candidate, now))
            .collect())
    }

    fn validate_candidate(&self, text: Candidate<'_>, now: DateTime<Utc>) -> Outcome {
        match serde_json::from_slice::<Value>(text) {
            Ok(Value::Object(event)) => self.validate_event(event, text, now),
            Ok(other) => Outcome::Rejected {
                event_id: None,
                errors: vec![ErrorDetail::new(
                    "",
                    "event.not_object",
                    "an event must be a JSON object",
                )],
                raw: RawEvent::Json(other),
            },
            Err(error) => Outcome::Rejected {
                event_id: None,
                errors: vec![ErrorDetail::new(
                    "",
                    "event.malformed_json",
                    format!("line is not valid JSON: {error}"),
                )],
                raw: RawEvent::Line(String::from_utf8_lossy(text).into_owned()),
            },
        }
    }

    /// Validates one event object (parsed from `text`) and, when valid, builds its Kinesis record.
    pub fn validate_event(&self, event: Map<String, Value>, text: &[u8], now: DateTime<Utc>) -> Outcome {
        let checked =
            envelope::check(&event, now, self.limits.max_future_skew_seconds).and_then(|envelope| {
                self.schemas.check(envelope.event_type, &event["payload"])?;
                Ok(envelope.event_id.map(str::to_owned))
            });
        let client_event_id = || event.get("event_id").and_then(Value::as_str).map(str::to_owned);
        let (event_id, record) = match checked {
            Ok(Some(client_event_id)) => {
                let record = kinesis_record(text, &event, None);
                (client_event_id, record)
            }
            Ok(None) => {
                let assigned = uuid::Uuid::now_v7().to_string();
                let record = kinesis_record(text, &event, Some(&assigned));
                (assigned, record)
            }
            Err(errors) => {
                let event_id = client_event_id();
                return Outcome::Rejected {
                    event_id,
                    errors,
                    raw: RawEvent::Json(Value::Object(event)),
                };
            }
        };
        // Kinesis counts the partition key (the event_id) against its 1 MiB record limit too.
        let size = record.len() + event_id.len();
        if size > self.limits.max_event_bytes {
            // A rejected event is reported under the client's id only: an assigned one names nothing.
            return Outcome::Rejected {
                event_id: client_event_id(),
                errors: vec![ErrorDetail::new(
                    "",
                    "event.too_large",
                    format!(
                        "the event is {size} bytes (JSON text plus event_id); the limit is {}",
                        self.limits.max_event_bytes
                    ),
                )],
                raw: RawEvent::Json(Value::Object(event)),
            };
        }
        Outcome::Valid { event_id, record }
    }
}

/// The Kinesis record of a valid event. Usually the client's own JSON text, byte for byte (no
/// re-serialisation: the transformer normalises each record anyway); with an assigned id, that
/// text with `"event_id"` spliced in first. Only events carrying `null` envelope fields are
/// re-serialised, so that those fields are dropped rather than loaded as JSON nulls.
fn kinesis_record(text: &[u8], event: &Map<String, Value>, assigned_event_id: Option<&str>) -> Vec<u8> {
    let text = text.trim_ascii();
    let has_nulls = ["event_id", "source"]
        .iter()
        .any(|field| event.get(*field).is_some_and(Value::is_null));
    match assigned_event_id {
        None if !has_nulls => text.to_vec(),
        // A valid event is a non-empty object, so its text is `{` followed by at least one member.
        Some(event_id) if !has_nulls => {
            let mut record = Vec::with_capacity(text.len() + event_id.len() + 16);
            record.extend_from_slice(b"{\"event_id\":");
            serde_json::to_writer(&mut record, event_id).expect("a string always serialises");
            record.push(b',');
            record.extend_from_slice(&text[1..]);
            record
        }
        _ => {
            let mut event = event.clone();
            event.retain(|_, value| !value.is_null());
            if let Some(event_id) = assigned_event_id {
                event.insert("event_id".to_string(), Value::String(event_id.to_string()));
            }
            serde_json::to_vec(&event).expect("a JSON map always serialises")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn validator() -> Validator {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        Validator::new(Limits::default(), SchemaRegistry::load_dir(&dir).unwrap())
    }

    fn now() -> DateTime<Utc> {
        "2026-11-26T10:00:00Z".parse().unwrap()
    }

    fn json_body(body: &[u8]) -> RequestBody<'_> {
        RequestBody {
            content_type: Some("application/json"),
            content_encoding: None,
            body,
        }
    }

    #[test]
    fn a_mixed_batch_keeps_order_and_assigns_ids() {
        let body = json!([
            {"event_id": "p-1", "event_type": "page_view", "occurred_at": "2026-11-26T09:59:00Z", "payload": {"url": "https://a"}},
            {"event_type": "page_view", "occurred_at": "2026-11-26T09:59:00Z", "source": null, "payload": {"url": "https://b"}},
            {"event_id": "o-1", "event_type": "order_placed", "occurred_at": "2026-11-26T09:59:00Z", "payload": {"order_id": "1", "amount": -1, "currency": "EUR"}},
            "not an object"
        ]);
        let body = serde_json::to_vec(&body).unwrap();
        let outcomes = validator().validate_request(json_body(&body), now()).unwrap();
        assert_eq!(outcomes.len(), 4);
        let Outcome::Valid { event_id, record } = &outcomes[0] else {
            panic!("{:?}", outcomes[0])
        };
        assert_eq!(event_id, "p-1");
        let record: Value = serde_json::from_slice(record).unwrap();
        assert_eq!(record["payload"]["url"], "https://a");
        let Outcome::Valid { event_id, record } = &outcomes[1] else {
            panic!("{:?}", outcomes[1])
        };
        assert_eq!(uuid::Uuid::parse_str(event_id).unwrap().get_version_num(), 7);
        let record: Value = serde_json::from_slice(record).unwrap();
        assert_eq!(record["event_id"], event_id.as_str());
        assert!(record.get("source").is_none());
        let Outcome::Rejected { event_id, errors, .. } = &outcomes[2] else {
            panic!()
        };
        assert_eq!(event_id.as_deref(), Some("o-1"));
        assert_eq!(errors[0].code, "schema.minimum");
        assert_eq!(errors[0].path, "/payload/amount");
        let Outcome::Rejected {
            event_id: None,
            errors,
            raw: RawEvent::Json(raw),
        } = &outcomes[3]
        else {
            panic!()
        };
        assert_eq!(errors[0].code, "event.not_object");
        assert_eq!(raw, "not an object");
    }

    #[test]
    fn oversized_events_are_rejected_individually() {
        let small = Validator {
            limits: Limits {
                max_event_bytes: 200,
                ..Limits::default()
            },
            ..validator()
        };
        let long_url = "u".repeat(200);
        let body = format!(
            r#"[{{"event_type":"page_view","occurred_at":"2026-11-26T09:00:00Z","payload":{{"url":"{long_url}"}}}},
                {{"event_type":"page_view","occurred_at":"2026-11-26T09:00:00Z","payload":{{"url":"x"}}}}]"#
        );
        let outcomes = small.validate_request(json_body(body.as_bytes()), now()).unwrap();
        assert!(
            matches!(&outcomes[0],
            Outcome::Rejected { event_id: None, errors, .. } if errors[0].code == "event.too_large"),
            "no client id, so none is reported: {:?}",
            outcomes[0]
        );
        assert!(matches!(&outcomes[1], Outcome::Valid { .. }));
    }

    #[test]
    fn records_are_the_clients_text_with_an_assigned_id_spliced_in() {
        let body = br#"[ {"event_id": "keep-1", "event_type": "page_view", "occurred_at": "2026-11-26T09:00:00Z", "payload": {"url": "x", "n": 1.50}} ,
                         {"event_type":"page_view","occurred_at":"2026-11-26T09:00:00Z","payload":{"url":"y"}} ]"#;
        let outcomes = validator().validate_request(json_body(body), now()).unwrap();
        let Outcome::Valid { record, .. } = &outcomes[0] else {
            panic!("{:?}", outcomes[0])
        };
        assert_eq!(
            record.as_slice(),
            br#"{"event_id": "keep-1", "event_type": "page_view", "occurred_at": "2026-11-26T09:00:00Z", "payload": {"url": "x", "n": 1.50}}"#,
            "verbatim, number formatting included"
        );
        let Outcome::Valid { event_id, record } = &outcomes[1] else {
            panic!("{:?}", outcomes[1])
        };
        let parsed: Value = serde_json::from_slice(record).unwrap();
        assert_eq!(parsed["event_id"], event_id.as_str());
        assert_eq!(parsed["payload"]["url"], "y");
        assert!(record.starts_with(b"{\"event_id\":\""));
    }

    #[test]
    fn the_partition_key_counts_towards_the_size_limit() {
        let text = br#"{"event_id":"abcdefghij","event_type":"page_view","occurred_at":"2026-11-26T09:00:00Z","payload":{"url":"x"}}"#;
        let exact = Validator {
            limits: Limits {
                max_event_bytes: text.len() + 10,
                ..Limits::default()
            },
            ..validator()
        };
        assert!(matches!(
            exact.validate_request(json_body(text), now()).unwrap()[0],
            Outcome::Valid { .. }
        ));
        let over = Validator {
            limits: Limits {
                max_event_bytes: text.len() + 9,
                ..Limits::default()
            },
            ..validator()
        };
        assert!(
            matches!(&over.validate_request(json_body(text), now()).unwrap()[0],
            Outcome::Rejected { errors, .. } if errors[0].code == "event.too_large")
        );
    }

    #[test]
    fn ndjson_bad_lines_do_not_sink_the_batch() {
        let body = b"{\"event_type\":\"page_view\",\"occurred_at\":\"2026-11-26T09:00:00Z\",\"payload\":{\"url\":\"x\"}}\n{oops\n";
        let request = RequestBody {
            content_type: Some("application/x-ndjson"),
            content_encoding: None,
            body,
        };
        let outcomes = validator().validate_request(request, now()).unwrap();
        assert!(matches!(&outcomes[0], Outcome::Valid { .. }));
        assert!(
            matches!(&outcomes[1], Outcome::Rejected { raw: RawEvent::Line(line), .. } if line == "{oops")
        );
    }
}
