//! API responses and error-bucket records, exactly as `docs/event-contract.md` shows them.

use crate::body::BodyError;
use crate::error::codes;
use crate::validator::{Outcome, RawEvent};
use crate::ErrorDetail;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::sync::LazyLock;

/// Seconds a client should wait before resending what a 503 did not accept.
pub const RETRY_AFTER_SECONDS: u32 = 2;

/// An HTTP answer, independent of the Lambda event type that carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    /// The JSON body, serialised once, straight from the typed reply (no `Value` tree).
    pub body: String,
    pub retry_after: Option<u32>,
}

impl Reply {
    /// The body as a JSON value, for callers that inspect it (tests, the fuzz targets).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a reply body is JSON")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Accepted,
    Rejected,
    Failed,
}

#[derive(Debug, Serialize)]
struct EventResult<'a> {
    index: usize,
    event_id: Option<&'a str>,
    status: Status,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ErrorDetail],
}

/// The 202/503 body. Its size is bounded by the caps on errors (`validator::cap_errors`) and on
/// each error's path and message: one result per event, at most 1,000 errors past the first
/// of each rejected event.
#[derive(Debug, Serialize)]
struct BatchBody<'a> {
    request_id: &'a str,
    accepted: usize,
    rejected: usize,
    failed: usize,
    results: Vec<EventResult<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Value>,
}

/// Why valid events were not accepted, when some were not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFailure {
    /// Kinesis did not take every valid event before the deadline.
    Stream,
    /// The rejections could not be stored, so nothing was sent on (retrying the request is safe).
    ErrorStore,
}

impl WriteFailure {
    fn error(self, failed: usize) -> Value {
        match self {
            WriteFailure::Stream => json!({
                "code": codes::WRITE_FAILED,
                "message": format!("{failed} event(s) could not be written; resend exactly the events with status \"failed\""),
            }),
            WriteFailure::ErrorStore => json!({
                "code": codes::ERROR_STORE_FAILED,
                "message": "rejected events could not be recorded, so no event was accepted; retry the whole request",
            }),
        }
    }
}

static FAILED: LazyLock<[ErrorDetail; 1]> = LazyLock::new(|| {
    [ErrorDetail::new(
        "",
        codes::WRITE_FAILED,
        "not accepted: resend this event",
    )]
});

/// The 202/503 answer for a readable body. `accepted[i]` says whether outcome `i` is in Kinesis
/// with a sequence number; it is ignored for rejected outcomes.
pub fn batch_reply(
    request_id: &str,
    outcomes: &[Outcome],
    accepted: &[bool],
    failure: Option<WriteFailure>,
) -> Reply {
    let results: Vec<EventResult> = outcomes
        .iter()
        .zip(accepted)
        .enumerate()
        .map(|(index, (outcome, &is_accepted))| {
            let (status, errors): (Status, &[ErrorDetail]) = match outcome {
                Outcome::Rejected { errors, .. } => (Status::Rejected, errors),
                Outcome::Valid { .. } if is_accepted => (Status::Accepted, &[]),
                Outcome::Valid { .. } => (Status::Failed, &*FAILED),
            };
            let event_id = outcome.event_id();
            EventResult {
                index,
                event_id,
                status,
                errors,
            }
        })
        .collect();
    let count = |status| results.iter().filter(|result| result.status == status).count();
    let (accepted, rejected, failed) = (
        count(Status::Accepted),
        count(Status::Rejected),
        count(Status::Failed),
    );
    let failure = failure.or((failed > 0).then_some(WriteFailure::Stream));
    let body = BatchBody {
        request_id,
        accepted,
        rejected,
        failed,
        results,
        error: failure.map(|failure| failure.error(failed)),
    };
    Reply {
        status: if failure.is_some() { 503 } else { 202 },
        body: {
            // About what one result takes, so a reply is written without growing its buffer.
            let mut text = Vec::with_capacity(96 + 64 * body.results.len());
            serde_json::to_writer(&mut text, &body).expect("a reply always serialises");
            String::from_utf8(text).expect("serde_json writes UTF-8")
        },
        retry_after: failure.map(|_| RETRY_AFTER_SECONDS),
    }
}

/// The 4xx answer for a body refused as a whole.
pub fn body_error_reply(request_id: &str, error: &BodyError) -> Reply {
    Reply {
        status: error.status,
        body: json!({"request_id": request_id, "error": {"code": error.code, "message": error.message}})
            .to_string(),
        retry_after: None,
    }
}

/// A 5xx answer for a body that could not be handled for reasons of ours.
pub fn server_error_reply(request_id: &str, code: &str, message: &str) -> Reply {
    Reply {
        status: 503,
        body: json!({"request_id": request_id, "error": {"code": code, "message": message}}).to_string(),
        retry_after: Some(RETRY_AFTER_SECONDS),
    }
}

/// The error-bucket key for a request: `<prefix>dt=YYYY-MM-DD/<request_id>.ndjson`.
pub fn error_object_key(prefix: &str, received_at: DateTime<Utc>, request_id: &str) -> String {
    format!(
        "{prefix}dt={}/{request_id}.ndjson",
        received_at.format("%Y-%m-%d")
    )
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One line of an error-bucket object: a rejected event, or an unreadable body. It lists the
/// same (capped) errors as the reply; the raw data is what the client sent, so a request's
/// object is about the size of its body plus its errors.
#[derive(Debug, Serialize)]
struct ErrorLine<'a> {
    request_id: &'a str,
    received_at: &'a str,
    index: Option<usize>,
    event_id: Option<&'a str>,
    errors: &'a [ErrorDetail],
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_line: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_line_encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_body: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_body_encoding: Option<&'static str>,
}

impl<'a> ErrorLine<'a> {
    fn new(request_id: &'a str, received_at: &'a str, errors: &'a [ErrorDetail]) -> Self {
        Self {
            request_id,
            received_at,
            index: None,
            event_id: None,
            errors,
            raw: None,
            raw_line: None,
            raw_line_encoding: None,
            raw_body: None,
            raw_body_encoding: None,
        }
    }

    fn push_to(&self, ndjson: &mut Vec<u8>) {
        serde_json::to_writer(&mut *ndjson, self).expect("an error line always serialises");
        ndjson.push(b'\n');
    }
}

/// One NDJSON line per rejected outcome, or `None` when nothing was rejected.
pub fn rejection_records(
    request_id: &str,
    received_at: DateTime<Utc>,
    outcomes: &[Outcome],
) -> Option<Vec<u8>> {
    let received_at = timestamp(received_at);
    let mut ndjson = Vec::new();
    for (index, outcome) in outcomes.iter().enumerate() {
        let Outcome::Rejected {
            event_id,
            errors,
            raw,
            ..
        } = outcome
        else {
            continue;
        };
        let mut line = ErrorLine::new(request_id, &received_at, errors);
        line.index = Some(index);
        line.event_id = event_id.as_deref();
        match raw {
            RawEvent::Json(value) => line.raw = Some(value),
            RawEvent::Line(bytes) => (line.raw_line, line.raw_line_encoding) = text_or_base64(bytes),
        }
        line.push_to(&mut ndjson);
    }
    (!ndjson.is_empty()).then_some(ndjson)
}

/// Received bytes for an error line: as text when they are UTF-8, else base64 with the
/// encoding named, so the bytes sent are never replaced.
fn text_or_base64(bytes: &[u8]) -> (Option<Cow<'_, str>>, Option<&'static str>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Some(Cow::Borrowed(text)), None),
        Err(_) => (
            Some(Cow::Owned(
                base64::engine::general_purpose::STANDARD.encode(bytes),
            )),
            Some("base64"),
        ),
    }
}

/// The single NDJSON line kept for an unreadable body.
pub fn body_error_record(
    request_id: &str,
    received_at: DateTime<Utc>,
    error: &BodyError,
    raw_body: &[u8],
) -> Vec<u8> {
    let received_at = timestamp(received_at);
    let errors = [ErrorDetail::new("", error.code, error.message.as_str())];
    let mut line = ErrorLine::new(request_id, &received_at, &errors);
    (line.raw_body, line.raw_body_encoding) = text_or_base64(raw_body);
    let mut ndjson = Vec::new();
    line.push_to(&mut ndjson);
    ndjson
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcomes() -> Vec<Outcome> {
        vec![
            Outcome::Valid {
                event_id: "a".into(),
                event_type: "page_view".into(),
                record: b"{}".to_vec(),
            },
            Outcome::Rejected {
                event_id: Some("b".into()),
                event_type: Some("page_view".into()),
                errors: vec![ErrorDetail::new("/payload", "schema.required", "url is required")],
                raw: RawEvent::Json(RawValue::from_string(r#"{"event_id":"b"}"#.into()).unwrap()),
            },
            Outcome::Valid {
                event_id: "c".into(),
                event_type: "page_view".into(),
                record: b"{}".to_vec(),
            },
            Outcome::Rejected {
                event_id: None,
                event_type: None,
                errors: vec![ErrorDetail::new("", "event.malformed_json", "bad")],
                raw: RawEvent::Line("{oops".into()),
            },
        ]
    }

    #[test]
    fn all_written_is_202() {
        let reply = batch_reply("r1", &outcomes(), &[true, false, true, false], None);
        assert_eq!(reply.status, 202);
        assert_eq!(reply.retry_after, None);
        assert_eq!(
            (
                reply.json()["accepted"].as_u64(),
                reply.json()["rejected"].as_u64(),
                reply.json()["failed"].as_u64()
            ),
            (Some(2), Some(2), Some(0))
        );
        assert_eq!(reply.json()["results"][1]["errors"][0]["code"], "schema.required");
        assert!(reply.json()["results"][0].get("errors").is_none());
        assert!(reply.json()["results"][3]["event_id"].is_null());
        assert!(reply.json().get("error").is_none());
    }

    #[test]
    fn unwritten_events_make_a_503_that_names_them() {
        let reply = batch_reply("r1", &outcomes(), &[true, false, false, false], None);
        assert_eq!(reply.status, 503);
        assert_eq!(reply.retry_after, Some(RETRY_AFTER_SECONDS));
        assert_eq!(reply.json()["error"]["code"], "write.failed");
        assert_eq!(reply.json()["results"][2]["status"], "failed");
        assert_eq!(reply.json()["results"][2]["event_id"], "c");
        assert_eq!(reply.json()["results"][0]["status"], "accepted");
    }

    #[test]
    fn an_error_store_failure_is_a_503_with_nothing_accepted() {
        let reply = batch_reply("r1", &outcomes(), &[false; 4], Some(WriteFailure::ErrorStore));
        assert_eq!(reply.status, 503);
        assert_eq!(reply.json()["error"]["code"], "error_store.failed");
        assert_eq!(reply.json()["accepted"], 0);
    }

    #[test]
    fn rejection_records_are_ndjson_with_reasons() {
        let at: DateTime<Utc> = "2026-11-26T10:00:01.123Z".parse().unwrap();
        let ndjson = rejection_records("r1", at, &outcomes()).unwrap();
        let lines: Vec<Value> = ndjson
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["index"], 1);
        assert_eq!(lines[0]["raw"]["event_id"], "b");
        assert_eq!(lines[0]["received_at"], "2026-11-26T10:00:01.123Z");
        assert_eq!(lines[1]["raw_line"], "{oops");
        assert_eq!(lines[0]["event_id"], "b");
        assert!(lines[0]["index"].is_u64() && lines[0].get("raw_line").is_none());
        assert!(rejection_records("r1", at, &outcomes()[..1]).is_none());
        assert_eq!(
            error_object_key("errors/", at, "r1"),
            "errors/dt=2026-11-26/r1.ndjson"
        );
    }

    #[test]
    fn a_rejected_line_that_is_not_utf8_is_kept_byte_for_byte_as_base64() {
        let mut outcomes = outcomes();
        outcomes[3] = Outcome::Rejected {
            event_id: None,
            event_type: None,
            errors: vec![ErrorDetail::new("", "event.malformed_json", "bad")],
            raw: RawEvent::Line(b"{\"url\":\"a\xff\"}".to_vec()),
        };
        let ndjson = rejection_records("r1", Utc::now(), &outcomes).unwrap();
        let line: Value = serde_json::from_slice(ndjson.split(|b| *b == b'\n').nth(1).unwrap()).unwrap();
        assert_eq!(line["raw_line_encoding"], "base64");
        let kept = base64::engine::general_purpose::STANDARD
            .decode(line["raw_line"].as_str().unwrap())
            .unwrap();
        assert_eq!(kept, b"{\"url\":\"a\xff\"}");
    }

    #[test]
    fn unreadable_bodies_are_kept_as_text_or_base64() {
        let error = BodyError {
            status: 400,
            code: "body.malformed_json",
            message: "bad".into(),
        };
        let at = Utc::now();
        let line: Value = serde_json::from_slice(&body_error_record("r", at, &error, b"{x")).unwrap();
        assert_eq!(line["raw_body"], "{x");
        assert!(line["index"].is_null() && line["event_id"].is_null() && line.get("raw").is_none());
        assert_eq!(line["errors"][0]["code"], "body.malformed_json");
        let line: Value = serde_json::from_slice(&body_error_record("r", at, &error, &[0xff, 0xfe])).unwrap();
        assert_eq!(
            (line["raw_body"].as_str(), line["raw_body_encoding"].as_str()),
            (Some("//4="), Some("base64"))
        );
        let reply = body_error_reply("r", &error);
        assert_eq!(
            (reply.status, reply.json()["error"]["code"].as_str()),
            (400, Some("body.malformed_json"))
        );
    }
}
