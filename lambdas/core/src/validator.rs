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

    fn validate_candidate(&self, candidate: Candidate, now: DateTime<Utc>) -> Outcome {
        match candidate {
            Candidate::Malformed { line, message } => Outcome::Rejected {
                event_id: None,
                errors: vec![ErrorDetail::new("", "event.malformed_json", message)],
                raw: RawEvent::Line(line),
            },
            Candidate::Parsed(Value::Object(event)) => self.validate_event(event, now),
            Candidate::Parsed(other) => Outcome::Rejected {
                event_id: None,
                errors: vec![ErrorDetail::new(
                    "",
                    "event.not_object",
                    "an event must be a JSON object",
                )],
                raw: RawEvent::Json(other),
            },
        }
    }

    /// Validates one event object and, when valid, serialises it for Kinesis.
    pub fn validate_event(&self, mut event: Map<String, Value>, now: DateTime<Utc>) -> Outcome {
        let checked =
            envelope::check(&event, now, self.limits.max_future_skew_seconds).and_then(|envelope| {
                self.schemas.check(envelope.event_type, &event["payload"])?;
                Ok(envelope.event_id.map(str::to_owned))
            });
        let client_event_id = match checked {
            Ok(event_id) => event_id,
            Err(errors) => {
                let event_id = event.get("event_id").and_then(Value::as_str).map(str::to_owned);
                return Outcome::Rejected {
                    event_id,
                    errors,
                    raw: RawEvent::Json(Value::Object(event)),
                };
            }
        };
        let event_id = client_event_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        event.insert("event_id".to_string(), Value::String(event_id.clone()));
        if event.get("source").is_some_and(Value::is_null) {
            event.remove("source");
        }
        let record = serde_json::to_vec(&event).expect("a JSON map always serialises");
        if record.len() > self.limits.max_event_bytes {
            return Outcome::Rejected {
                event_id: Some(event_id),
                errors: vec![ErrorDetail::new(
                    "",
                    "event.too_large",
                    format!(
                        "the event is {} bytes as compact JSON; the limit is {}",
                        record.len(),
                        self.limits.max_event_bytes
                    ),
                )],
                raw: RawEvent::Json(Value::Object(event)),
            };
        }
        Outcome::Valid { event_id, record }
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
            matches!(&outcomes[0], Outcome::Rejected { errors, .. } if errors[0].code == "event.too_large")
        );
        assert!(matches!(&outcomes[1], Outcome::Valid { .. }));
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
