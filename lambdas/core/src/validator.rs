//! The request-level contract: a body in, one outcome per event out.

use crate::body::{self, BodyError, BodyFormat, Candidate};
use crate::envelope::{self, Envelope, Window};
use crate::error::{bounded, codes, MAX_ERRORS_PER_EVENT, MAX_ERRORS_PER_REQUEST, MAX_MESSAGE_BYTES};
use crate::schema::SchemaRegistry;
use crate::{ErrorDetail, Limits};
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use std::ops::Range;

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
    /// Ready for Kinesis: `record` is the event's JSON text with `occurred_at` canonical and
    /// `event_id` filled in.
    Valid {
        event_id: String,
        event_type: String,
        record: Vec<u8>,
    },
    /// `event_id` is the client's, when it sent a valid one; `event_type` too (absent when the
    /// envelope could not be read); `errors` is never empty.
    Rejected {
        event_id: Option<String>,
        event_type: Option<String>,
        errors: Vec<ErrorDetail>,
        raw: RawEvent,
    },
}

/// A rejected event as received, for the error bucket.
#[derive(Debug, Clone)]
pub enum RawEvent {
    /// JSON text, as sent minus insignificant whitespace (so it fits on one NDJSON line).
    Json(Box<RawValue>),
    /// Bytes that are not JSON, exactly as received (stored as text, or base64 when they are
    /// not UTF-8: `response::rejection_records`).
    Line(Vec<u8>),
}

impl PartialEq for RawEvent {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Json(a), Self::Json(b)) => a.get() == b.get(),
            (Self::Line(a), Self::Line(b)) => a == b,
            _ => false,
        }
    }
}

impl RawEvent {
    /// `text` kept as JSON when it is JSON, else as a line. Invalid UTF-8 is not JSON (found
    /// by fuzzing: an envelope error can be met before it), so such text is kept as a line.
    /// Judged before minifying (found by fuzzing too): removing the whitespace between two
    /// numbers would join them into one and make JSON of text that is not.
    fn json(text: &[u8]) -> Self {
        if serde_json::from_slice::<&RawValue>(text).is_err() {
            return Self::line(text);
        }
        match minified(text).and_then(|compact| RawValue::from_string(compact).ok()) {
            Some(raw) => Self::Json(raw),
            None => Self::line(text),
        }
    }

    fn line(text: &[u8]) -> Self {
        Self::Line(text.to_vec())
    }
}

/// JSON text without whitespace outside strings (inside them, line breaks are escaped), or
/// `None` when it is not UTF-8.
fn minified(text: &[u8]) -> Option<String> {
    let mut compact = Vec::with_capacity(text.len());
    crate::json_text::compact_into(&mut compact, text);
    String::from_utf8(compact).ok()
}

impl Outcome {
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Outcome::Valid { event_id, .. } => Some(event_id),
            Outcome::Rejected { event_id, .. } => event_id.as_deref(),
        }
    }

    /// The event's type as it sent it, when it sent a valid one (for per-type metrics).
    pub fn event_type(&self) -> Option<&str> {
        match self {
            Outcome::Valid { event_type, .. } => Some(event_type),
            Outcome::Rejected { event_type, .. } => event_type.as_deref(),
        }
    }

    fn rejected(
        event_id: Option<&str>,
        event_type: Option<&str>,
        errors: Vec<ErrorDetail>,
        raw: RawEvent,
    ) -> Self {
        Outcome::Rejected {
            event_id: event_id.map(str::to_owned),
            event_type: event_type.map(str::to_owned),
            errors,
            raw,
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
    /// outcome per event, in request order, with errors capped (see [`cap_errors`]). `now` is
    /// the validator's clock for the `occurred_at` window.
    pub fn validate_request(
        &self,
        request: RequestBody<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, BodyError> {
        let format = body::body_format(request.content_type)?;
        let decoded = body::decode(request.body, request.content_encoding, &self.limits)?;
        let candidates = body::split(&decoded, format, &self.limits)?;
        let window = Window::new(now, &self.limits);
        let mut outcomes: Vec<Outcome> = candidates
            .into_iter()
            .map(|candidate| self.validate_event(candidate, &window))
            .collect();
        // A JSON body that is one object is split unparsed: its event not being JSON is the body's,
        // also when an envelope error came first in its text (found by fuzzing). The size rule
        // still wins: an event past the limit is refused unparsed.
        if let (
            BodyFormat::Json,
            [Outcome::Rejected {
                errors,
                raw: RawEvent::Line(_),
                ..
            }],
        ) = (format, &outcomes[..])
        {
            let reason = match errors[0].code.as_str() {
                codes::EVENT_TOO_LARGE => None,
                codes::EVENT_MALFORMED_JSON => Some(errors[0].message.clone()),
                _ => serde_json::from_slice::<&RawValue>(decoded.trim_ascii())
                    .err()
                    .map(|error| bounded(format_args!("not valid JSON: {error}"), MAX_MESSAGE_BYTES)),
            };
            if let Some(reason) = reason {
                return Err(body::malformed_object(&reason));
            }
        }
        cap_errors(&mut outcomes);
        Ok(outcomes)
    }

    /// Validates one event's JSON text and, when valid, builds its Kinesis record.
    pub fn validate_event(&self, text: Candidate<'_>, window: &Window) -> Outcome {
        self.validate_event_naming(text, window, || uuid::Uuid::now_v7().to_string())
    }

    /// [`Validator::validate_event`], with `assign` naming a valid event the client sent
    /// without an id (replay passes [`replay_event_id`], so a replayed event keeps one id).
    pub fn validate_event_naming(
        &self,
        text: Candidate<'_>,
        window: &Window,
        assign: impl FnOnce() -> String,
    ) -> Outcome {
        let text = text.trim_ascii();
        // Before any parsing: an event far past the limit must not cost a parse and a schema
        // run (whose errors the validator collects in full). The record can only grow by the
        // spliced occurred_at and event_id, so the text alone past the limit is already too large.
        if text.len() > self.limits.max_event_bytes {
            let event_id = envelope::client_event_id(text);
            return Outcome::rejected(
                event_id.as_deref(),
                None,
                vec![self.too_large(text.len(), "JSON text")],
                RawEvent::json(text),
            );
        }
        let envelope = match Envelope::read(text) {
            Ok(envelope) => envelope,
            Err(unreadable) if unreadable.is_json => {
                let event_id = envelope::client_event_id(text);
                return Outcome::rejected(event_id.as_deref(), None, unreadable.errors, RawEvent::json(text));
            }
            Err(unreadable) => return Outcome::rejected(None, None, unreadable.errors, RawEvent::line(text)),
        };
        let client_id = envelope.client_event_id();
        let event_type = envelope
            .event_type
            .as_deref()
            .filter(|event_type| envelope::is_valid_event_type(event_type));
        let checked = envelope
            .check(window)
            .and_then(|checked| self.schemas.check(checked.event_type, checked.payload));
        if let Err(errors) = checked {
            return Outcome::rejected(client_id, event_type, errors, RawEvent::json(text));
        }
        let (event_id, assigned) = match client_id {
            Some(id) => (id.to_owned(), false),
            None => (assign(), true),
        };
        let record = kinesis_record(text, &envelope, assigned.then_some(event_id.as_str()));
        // Kinesis counts the partition key (the event_id) against its 1 MiB record limit too.
        let size = record.len() + event_id.len();
        if size > self.limits.max_event_bytes {
            // A rejected event is reported under the client's id only: an assigned one names nothing.
            let error = self.too_large(size, "JSON text plus event_id");
            return Outcome::rejected(client_id, event_type, vec![error], RawEvent::json(text));
        }
        Outcome::Valid {
            event_id,
            event_type: event_type
                .expect("a checked envelope has a valid event_type")
                .to_owned(),
            record,
        }
    }

    fn too_large(&self, size: usize, what: &str) -> ErrorDetail {
        ErrorDetail::new(
            "",
            codes::EVENT_TOO_LARGE,
            format!(
                "the event is {size} bytes ({what}); the limit is {}",
                self.limits.max_event_bytes
            ),
        )
    }
}

/// The id replay gives event `index` of request `origin`, received at `received_at`, when
/// the client sent none: a UUIDv7 (time-ordered like the validator's, at `received_at`'s
/// millisecond) whose other 74 bits are a hash of `origin` and `index`. An error record carries
/// all three (`origin` is its `request_id`), so every replay of the event names it alike and
/// `EVENTS_DEDUP` keeps one row however often it is replayed.
pub fn replay_event_id(origin: &str, index: usize, received_at: DateTime<Utc>) -> String {
    // FNV-1a, 128 bits: a fixed, documented function, so ids never change with a library.
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let hash = origin
        .bytes()
        .chain([0])
        .chain(index.to_string().bytes())
        .fold(OFFSET, |hash, byte| (hash ^ u128::from(byte)).wrapping_mul(PRIME));
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&hash.to_be_bytes()[..10]);
    let millis = u64::try_from(received_at.timestamp_millis()).unwrap_or_default();
    uuid::Builder::from_unix_timestamp_millis(millis, &bits)
        .into_uuid()
        .to_string()
}

/// Bounds what one request's reasons can cost, in the reply and in the error bucket alike:
/// at most [`MAX_ERRORS_PER_EVENT`] per event, and beyond the first reason of each rejected
/// event, at most [`MAX_ERRORS_PER_REQUEST`] in all (in request order).
pub fn cap_errors(outcomes: &mut [Outcome]) {
    let rejected = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Rejected { .. }))
        .count();
    let mut extra = MAX_ERRORS_PER_REQUEST.saturating_sub(rejected);
    for outcome in outcomes {
        if let Outcome::Rejected { errors, .. } = outcome {
            let keep = 1 + (errors.len().min(MAX_ERRORS_PER_EVENT).saturating_sub(1)).min(extra);
            extra -= keep - 1;
            errors.truncate(keep);
        }
    }
}

/// The Kinesis record of a valid event: the client's own JSON text, byte for byte (never
/// re-serialised, so numbers keep every digit), with at most two edits where needed:
/// `occurred_at` replaced by its canonical form, and an assigned `event_id` in place of
/// `"event_id": null` or, when there was none, spliced in first. `"source": null` stays: it
/// loads as NULL, like an absent source.
fn kinesis_record(text: &[u8], envelope: &Envelope<'_>, assigned_event_id: Option<&str>) -> Vec<u8> {
    let occurred_at = &envelope
        .occurred_at
        .as_ref()
        .expect("a checked envelope has occurred_at")
        .text;
    let canonical = envelope
        .canonical_occurred_at()
        .expect("a checked occurred_at parses");
    let already_canonical =
        occurred_at.json.len() == canonical.len() + 2 && occurred_at.json[1..].starts_with(&canonical);
    // In-place edits (range of the value's JSON text, new string value), in text order.
    let mut edits = [
        (!already_canonical).then(|| (span(text, occurred_at.json), canonical.as_str())),
        assigned_event_id
            .filter(|_| envelope.event_id.json == "null")
            .map(|id| (span(text, envelope.event_id.json), id)),
    ];
    edits.sort_by_key(|edit| edit.as_ref().map(|(range, _)| range.start));

    let mut record = Vec::with_capacity(text.len() + 64);
    let mut copied = 0;
    if let (Some(id), "") = (assigned_event_id, envelope.event_id.json) {
        // A valid event is a non-empty object: `{` then at least one member.
        record.extend_from_slice(b"{\"event_id\":\"");
        record.extend_from_slice(id.as_bytes());
        record.extend_from_slice(b"\",");
        copied = 1;
    }
    for (range, value) in edits.into_iter().flatten() {
        record.extend_from_slice(&text[copied..range.start]);
        record.push(b'"');
        record.extend_from_slice(value.as_bytes());
        record.push(b'"');
        copied = range.end;
    }
    record.extend_from_slice(&text[copied..]);
    record
}

/// Where `part`, a slice of `text` (serde_json borrows raw values from its input), sits in it.
fn span(text: &[u8], part: &str) -> Range<usize> {
    let start = (part.as_ptr() as usize)
        .checked_sub(text.as_ptr() as usize)
        .filter(|start| start + part.len() <= text.len())
        .expect("a raw value borrowed from the event's text");
    start..start + part.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

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

    fn record_of(outcome: &Outcome) -> &[u8] {
        match outcome {
            Outcome::Valid { record, .. } => record,
            other => panic!("{other:?}"),
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
        assert_eq!(outcomes[0].event_id(), Some("p-1"));
        let record: Value = serde_json::from_slice(record_of(&outcomes[0])).unwrap();
        assert_eq!(record["payload"]["url"], "https://a");
        let event_id = outcomes[1].event_id().unwrap();
        assert_eq!(uuid::Uuid::parse_str(event_id).unwrap().get_version_num(), 7);
        let record: Value = serde_json::from_slice(record_of(&outcomes[1])).unwrap();
        assert_eq!(record["event_id"], event_id);
        assert!(record["source"].is_null(), "loads as NULL, like an absent source");
        let Outcome::Rejected { event_id, errors, .. } = &outcomes[2] else {
            panic!()
        };
        assert_eq!(event_id.as_deref(), Some("o-1"));
        assert_eq!(errors[0].code, "schema.minimum");
        assert_eq!(errors[0].path, "/payload/amount");
        assert_eq!(
            outcomes[2].event_type(),
            Some("order_placed"),
            "kept for per-type metrics"
        );
        assert_eq!(outcomes[0].event_type(), Some("page_view"));
        let Outcome::Rejected {
            event_id: None,
            event_type: None,
            errors,
            raw: RawEvent::Json(raw),
        } = &outcomes[3]
        else {
            panic!()
        };
        assert_eq!(errors[0].code, "event.not_object");
        assert_eq!(raw.get(), "\"not an object\"");
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
    fn records_are_the_clients_text_with_the_canonical_time_and_an_assigned_id_spliced_in() {
        let body = br#"[ {"event_id": "keep-1", "event_type": "page_view", "occurred_at": "2026-11-26T10:00:00+01:00", "payload": {"url": "x", "n": 1.50, "big": 12345678901234567890.123456789}} ,
                         {"event_type":"page_view","occurred_at":"2026-11-26T09:00:00.000000Z","payload":{"url":"y"}},
                         {"event_id" : null, "event_type":"page_view","occurred_at":"2026-11-26t09:00:00.1234567z","payload":{"url":"z"}} ]"#;
        let outcomes = validator().validate_request(json_body(body), now()).unwrap();
        assert_eq!(
            record_of(&outcomes[0]),
            br#"{"event_id": "keep-1", "event_type": "page_view", "occurred_at": "2026-11-26T09:00:00.000000Z", "payload": {"url": "x", "n": 1.50, "big": 12345678901234567890.123456789}}"#,
            "verbatim but for occurred_at, number formatting included"
        );
        let event_id = outcomes[1].event_id().unwrap();
        assert_eq!(
            record_of(&outcomes[1]),
            format!(r#"{{"event_id":"{event_id}","event_type":"page_view","occurred_at":"2026-11-26T09:00:00.000000Z","payload":{{"url":"y"}}}}"#).as_bytes(),
            "already canonical: only the id is added"
        );
        let event_id = outcomes[2].event_id().unwrap();
        assert_eq!(
            record_of(&outcomes[2]),
            format!(r#"{{"event_id" : "{event_id}", "event_type":"page_view","occurred_at":"2026-11-26T09:00:00.123456Z","payload":{{"url":"z"}}}}"#).as_bytes(),
            "the id takes the place of null"
        );
    }

    #[test]
    fn an_event_past_the_size_limit_is_refused_before_it_is_parsed_or_checked() {
        // Checked first, the schema would report `url`'s type: the size must win, unparsed.
        let small = Validator {
            limits: Limits {
                max_event_bytes: 200,
                ..Limits::default()
            },
            ..validator()
        };
        let padding = "p".repeat(200);
        let body = format!(
            r#"{{"event_id":"big-1","event_type":"page_view","occurred_at":"2026-11-26T09:00:00Z","payload":{{"url":5,"pad":"{padding}"}}}}"#
        );
        let outcomes = small.validate_request(json_body(body.as_bytes()), now()).unwrap();
        assert!(
            matches!(&outcomes[0],
            Outcome::Rejected { event_id: Some(id), errors, .. }
                if id == "big-1" && errors.len() == 1 && errors[0].code == "event.too_large"),
            "{:?}",
            outcomes[0]
        );
    }

    #[test]
    fn the_partition_key_counts_towards_the_size_limit() {
        let text = br#"{"event_id":"abcdefghij","event_type":"page_view","occurred_at":"2026-11-26T09:00:00.000000Z","payload":{"url":"x"}}"#;
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
            matches!(&outcomes[1], Outcome::Rejected { raw: RawEvent::Line(line), .. } if line == b"{oops")
        );
    }

    #[test]
    fn rejected_events_are_kept_as_sent_on_one_line_under_a_valid_id_only() {
        let body = b"[{\n  \"event_id\": \"r-1\",\n  \"event_type\": \"Bad\",\n  \"occurred_at\": \"2026-11-26T09:00:00Z\",\n  \"payload\": {\"s\": \"a b\\n\", \"n\": 1.50}\n},\n{\"event_id\": \"\", \"event_type\": \"page_view\", \"extra\": 1}]";
        let outcomes = validator().validate_request(json_body(body), now()).unwrap();
        let Outcome::Rejected {
            event_id,
            raw: RawEvent::Json(raw),
            ..
        } = &outcomes[0]
        else {
            panic!("{:?}", outcomes[0])
        };
        assert_eq!(event_id.as_deref(), Some("r-1"));
        assert_eq!(
            raw.get(),
            r#"{"event_id":"r-1","event_type":"Bad","occurred_at":"2026-11-26T09:00:00Z","payload":{"s":"a b\n","n":1.50}}"#
        );
        assert_eq!(outcomes[1].event_id(), None, "an empty id is not an id");
    }

    #[test]
    fn replayed_events_without_an_id_get_one_that_never_changes() {
        let at: DateTime<Utc> = "2026-11-26T10:00:01.123Z".parse().unwrap();
        let id = replay_event_id("req-1", 3, at);
        assert_eq!(id, replay_event_id("req-1", 3, at), "the same event, the same id");
        assert_ne!(id, replay_event_id("req-1", 4, at));
        assert_ne!(id, replay_event_id("req-2", 3, at));
        assert_ne!(replay_event_id("req-1", 13, at), replay_event_id("req-11", 3, at));
        let uuid = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(uuid.get_version_num(), 7);
        let (seconds, nanos) = uuid.get_timestamp().unwrap().to_unix();
        assert_eq!((seconds, nanos / 1_000_000), (at.timestamp() as u64, 123));

        // The id lands in the record as an assigned one would; a client's id wins.
        let window = Window::new(now(), &Limits::default());
        let text =
            br#"{"event_type":"page_view","occurred_at":"2026-11-26T09:00:00Z","payload":{"url":"y"}}"#;
        let outcome = validator().validate_event_naming(text, &window, || id.clone());
        assert_eq!(outcome.event_id(), Some(id.as_str()));
        let record: Value = serde_json::from_slice(record_of(&outcome)).unwrap();
        assert_eq!(record["event_id"], id.as_str());
        let named = br#"{"event_id":"mine","event_type":"page_view","occurred_at":"2026-11-26T09:00:00Z","payload":{"url":"y"}}"#;
        let outcome = validator().validate_event_naming(named, &window, || id.clone());
        assert_eq!(outcome.event_id(), Some("mine"));
    }

    #[test]
    fn errors_are_capped_per_event_and_per_request() {
        let rejected = |errors: usize| Outcome::Rejected {
            event_id: None,
            event_type: None,
            errors: vec![ErrorDetail::new("", "x", ""); errors],
            raw: RawEvent::Line(Vec::new()),
        };
        let mut outcomes: Vec<Outcome> = (0..100).map(|_| rejected(30)).collect();
        cap_errors(&mut outcomes);
        let kept: Vec<usize> = outcomes
            .iter()
            .map(|outcome| match outcome {
                Outcome::Rejected { errors, .. } => errors.len(),
                Outcome::Valid { .. } => 0,
            })
            .collect();
        assert!(
            kept.iter().all(|&n| (1..=MAX_ERRORS_PER_EVENT).contains(&n)),
            "{kept:?}"
        );
        assert_eq!(kept.iter().sum::<usize>(), MAX_ERRORS_PER_REQUEST);
        assert_eq!(
            (kept[0], kept[99]),
            (MAX_ERRORS_PER_EVENT, 1),
            "the first reason always stays"
        );
    }
}
