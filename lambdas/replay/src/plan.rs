//! What to do with each stored event, decided without I/O: read the line (and, for a
//! processing-failed record, split its `rawData` into its events: a packed record holds several),
//! filter it, check it, and either send it on or report why it is still invalid.
//!
//! A rejected event (`errors`) is validated again with the validator's own code
//! (`rtstream_core`). A processing-failed event was already accepted (202): it is only checked
//! to be loadable by the transformer, with an `event_id`, within the size limit, so that a schema
//! tightened since never drops it; `revalidate` asks for the validator's full checks instead.

use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use rtstream_core::envelope::Window;
use rtstream_core::error::codes as contract;
use rtstream_core::firehose::{self, Provenance};
use rtstream_core::validator::{replay_event_id, Outcome};
use rtstream_core::{ErrorDetail, Validator};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::HashMap;

/// Codes of the reasons replay itself gives, beside the contract's own.
pub mod codes {
    /// A line of a stored object that is not a record of its kind.
    pub const UNREADABLE_RECORD: &str = "replay.unreadable_record";
    /// An error-bucket line for a body refused as a whole: there are no events to replay.
    pub const WHOLE_BODY: &str = "replay.whole_body";
    /// A `raw_line` stored as text with invalid UTF-8 already replaced (before
    /// `raw_line_encoding`): the bytes the validator refused are lost, and the altered text is
    /// never sent.
    pub const ALTERED_LINE: &str = "replay.altered_line";
    /// A processing-failed event the transformer cannot load (no `event_id`, no valid
    /// `event_type` or `occurred_at`, ...): `--revalidate` validates it fully (and names an event
    /// without an id).
    pub const NOT_LOADABLE: &str = "replay.not_loadable";
    /// An object that could not be read (access denied, corrupt gzip): the run goes on without it.
    pub const UNREADABLE_OBJECT: &str = "replay.unreadable_object";
}

/// Which stored records are replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Rejected events in the error bucket (`errors/dt=…/<request_id>.ndjson`).
    Errors,
    /// Records the transformer failed, written by Firehose under `processing-failed/`.
    ProcessingFailed,
}

/// Which records to replay; an empty list lets everything through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filters {
    /// Inclusive bounds on the object's `dt=` partition.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The event's `event_type` is one of these.
    pub event_types: Vec<String>,
    /// One of the record's original reasons (error-bucket `errors[].code`, Firehose `errorCode`)
    /// is one of these.
    pub codes: Vec<String>,
}

impl Filters {
    /// Whether the object `key` is in the date range (by its `dt=YYYY-MM-DD` segment; a key
    /// without one is not a stored record).
    pub fn takes_key(&self, key: &str) -> bool {
        let Some(date) = partition_date(key) else {
            return false;
        };
        self.from.is_none_or(|from| date >= from) && self.to.is_none_or(|to| date <= to)
    }

    fn takes_codes<'a>(&self, mut codes: impl Iterator<Item = &'a str>) -> bool {
        self.codes.is_empty() || codes.any(|code| self.codes.iter().any(|wanted| wanted == code))
    }

    fn takes_event_type(&self, event_type: Option<&str>) -> bool {
        self.event_types.is_empty()
            || event_type.is_some_and(|event_type| self.event_types.iter().any(|wanted| wanted == event_type))
    }
}

/// The date of a key's `dt=YYYY-MM-DD` path segment.
pub fn partition_date(key: &str) -> Option<NaiveDate> {
    key.split('/')
        .find_map(|segment| segment.strip_prefix("dt="))
        .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
}

/// Where an event is in a stored object: its line (0-based) and, for a processing-failed record,
/// its line (0-based) within the record's `rawData` (a packed record holds several events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Position {
    pub line: usize,
    pub record_line: Option<usize>,
}

/// What replay does with one stored event.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Valid now: `record` goes to the stream under partition key `event_id`.
    Send {
        event_id: String,
        event_type: String,
        record: Vec<u8>,
    },
    /// Still refused: the report says why.
    StillInvalid(Box<Invalid>),
    /// Left out by the filters.
    Filtered,
}

/// One stored event and what to do with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub at: Position,
    pub decision: Decision,
}

/// One line of the report: where the event is, what names it, and why it is still refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invalid {
    pub key: String,
    /// 0-based line of the object; `None` for an object that could not be read.
    pub line: Option<usize>,
    /// 0-based line within a processing-failed record's `rawData`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_line: Option<usize>,
    pub request_id: Option<String>,
    pub index: Option<usize>,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub errors: Vec<ErrorDetail>,
}

impl Invalid {
    fn new(errors: Vec<ErrorDetail>) -> Box<Self> {
        Box::new(Self {
            key: String::new(),
            line: None,
            record_line: None,
            request_id: None,
            index: None,
            event_id: None,
            event_type: None,
            errors,
        })
    }

    /// The report line for an object that could not be read.
    pub fn unreadable_object(key: &str, message: String) -> Self {
        let mut invalid = *Self::new(vec![ErrorDetail::new("", codes::UNREADABLE_OBJECT, message)]);
        invalid.key = key.to_owned();
        invalid
    }
}

/// An error-bucket line (`docs/event-contract.md`, "What goes to the error bucket").
#[derive(Debug, Deserialize)]
struct ErrorLine<'a> {
    request_id: String,
    received_at: DateTime<Utc>,
    index: Option<usize>,
    event_id: Option<String>,
    #[serde(default)]
    errors: Vec<StoredError>,
    #[serde(borrow)]
    raw: Option<&'a RawValue>,
    raw_line: Option<String>,
    raw_line_encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StoredError {
    path: Option<String>,
    code: String,
    message: Option<String>,
}

/// A Firehose error-output line: `rawData` is the Kinesis record, base64; `errorCode` is
/// spelled `ErrorCode` by format conversion.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailedLine {
    arrival_timestamp: i64,
    #[serde(alias = "ErrorCode")]
    error_code: Option<String>,
    raw_data: String,
}

/// An object's NDJSON text: Firehose gzips what it writes when the delivery stream says so
/// (`firehose_gzip`), error output included.
pub fn ndjson_text(body: Vec<u8>) -> std::io::Result<Vec<u8>> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(body);
    }
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&body[..]), &mut text)?;
    Ok(text)
}

/// How stored events are judged.
pub struct Planner<'a> {
    pub source: Source,
    pub filters: &'a Filters,
    pub validator: &'a Validator,
    /// Processing-failed events get the validator's full checks (today's schemas) too.
    pub revalidate: bool,
}

impl Planner<'_> {
    /// Decides every event of the object `key` (an NDJSON text), in order; blank lines are
    /// skipped.
    pub fn plan_object(&self, key: &str, body: &[u8]) -> Vec<Planned> {
        let mut planned = Vec::new();
        for (line, text) in body.split(|&byte| byte == b'\n').enumerate() {
            if text.trim_ascii().is_empty() {
                continue;
            }
            let decided = match self.source {
                Source::Errors => vec![(None, self.plan_error_line(text))],
                Source::ProcessingFailed => self.plan_failed_line(text),
            };
            planned.extend(decided.into_iter().map(|(record_line, decided)| {
                let at = Position { line, record_line };
                let decision = decided.unwrap_or_else(|mut invalid| {
                    invalid.key = key.to_owned();
                    invalid.line = Some(line);
                    invalid.record_line = record_line;
                    Decision::StillInvalid(invalid)
                });
                Planned { at, decision }
            }));
        }
        planned
    }

    fn plan_error_line(&self, text: &[u8]) -> Decided {
        let stored: ErrorLine =
            serde_json::from_slice(text).map_err(|error| unreadable("error-bucket", &error))?;
        let filters = self.filters;
        if !filters.takes_codes(stored.errors.iter().map(|error| error.code.as_str())) {
            return Ok(Decision::Filtered);
        }
        let invalid = |event_type: Option<&str>, errors| {
            let mut invalid = Invalid::new(errors);
            invalid.request_id = Some(stored.request_id.clone());
            invalid.index = stored.index;
            invalid.event_id = stored.event_id.clone();
            invalid.event_type = event_type.map(str::to_owned);
            invalid
        };
        let raw_line = match (stored.raw_line.as_deref(), stored.raw_line_encoding.as_deref()) {
            (Some(line), Some("base64")) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(line)
                    .map_err(|error| unreadable("error-bucket", &error))?,
            ),
            // Text with U+FFFD where the client's bytes were not UTF-8: never send the altered text.
            (Some(line), None) if line.contains(char::REPLACEMENT_CHARACTER) => {
                let error = ErrorDetail::new(
                    "",
                    codes::ALTERED_LINE,
                    "raw_line was stored with its invalid UTF-8 replaced: the bytes sent are lost",
                );
                return Err(invalid(None, vec![error]));
            }
            (line, _) => line.map(|line| line.as_bytes().to_vec()),
        };
        let (Some(index), Some(event)) = (
            stored.index,
            stored.raw.map(|raw| raw.get().as_bytes()).or(raw_line.as_deref()),
        ) else {
            if !filters.event_types.is_empty() {
                return Ok(Decision::Filtered);
            }
            let error = ErrorDetail::new(
                "",
                codes::WHOLE_BODY,
                "the request body was refused as a whole; it holds no events to replay: fix and resend it",
            );
            return Err(invalid(None, vec![error]));
        };
        // `raw` is the event minus its whitespace: the size the validator judged is gone, so a
        // too-large verdict stands (no schema fix changes an event's size).
        if let Some(too_large) = stored
            .errors
            .iter()
            .find(|error| error.code == contract::EVENT_TOO_LARGE)
        {
            if !filters.takes_event_type(None) {
                return Ok(Decision::Filtered);
            }
            let error = ErrorDetail::new(
                too_large.path.as_deref().unwrap_or(""),
                contract::EVENT_TOO_LARGE,
                too_large
                    .message
                    .as_deref()
                    .unwrap_or("the event was over the size limit"),
            );
            return Err(invalid(None, vec![error]));
        }
        // Checked as the validator checked it when it arrived: the occurred_at window is the one
        // of that moment, so an event that was in time then is in time now.
        let window = Window::new(stored.received_at, &self.validator.limits);
        let outcome = self.validator.validate_event_naming(event, &window, || {
            replay_event_id(&stored.request_id, index, stored.received_at)
        });
        decide(outcome, filters, |event_type, errors| {
            Err(invalid(event_type, errors))
        })
    }

    /// The events of one Firehose error-output line, each with its line within `rawData`.
    fn plan_failed_line(&self, text: &[u8]) -> Vec<(Option<usize>, Decided)> {
        let whole = |decided| vec![(None, decided)];
        let stored: FailedLine = match serde_json::from_slice(text) {
            Ok(stored) => stored,
            Err(error) => return whole(Err(unreadable("processing-failed", &error))),
        };
        if !self.filters.takes_codes(stored.error_code.as_deref().into_iter()) {
            return whole(Ok(Decision::Filtered));
        }
        let data = match base64::engine::general_purpose::STANDARD.decode(stored.raw_data.trim()) {
            Ok(data) => data,
            Err(error) => {
                let message = format!("rawData is not base64: {error}");
                let error = ErrorDetail::new("/rawData", codes::UNREADABLE_RECORD, message);
                return whole(Err(Invalid::new(vec![error])));
            }
        };
        let arrived = DateTime::from_timestamp_millis(stored.arrival_timestamp).unwrap_or_else(Utc::now);
        // A packed record holds several events, one per line: each is replayed on its own.
        let events = match firehose::record_events(&data) {
            Ok(events) => events,
            Err(error) => {
                if !self.filters.takes_event_type(None) {
                    return whole(Ok(Decision::Filtered));
                }
                let message = format!("rawData is not JSON: {error}");
                let error = ErrorDetail::new("", contract::EVENT_MALFORMED_JSON, message);
                return whole(Err(Invalid::new(vec![error])));
            }
        };
        events
            .into_iter()
            .enumerate()
            .map(|(record_line, event)| {
                let event = envelope_of_row(event).map_or(std::borrow::Cow::Borrowed(event), Into::into);
                // Records from the validator carry their event_id; one put into the stream by
                // other means may not, and is named after its bytes, line and arrival: Firehose
                // may fail the same Kinesis record twice (at least once), into two objects, and
                // both copies must get one id.
                let name = || replay_event_id(&stored.raw_data, record_line, arrived);
                let decided = if self.revalidate {
                    let window = Window::new(arrived, &self.validator.limits);
                    let outcome = self.validator.validate_event_naming(&event, &window, name);
                    let event_id = outcome.event_id().map(str::to_owned);
                    decide(outcome, self.filters, |event_type, errors| {
                        let mut invalid = Invalid::new(errors);
                        invalid.event_id = event_id;
                        invalid.event_type = event_type.map(str::to_owned);
                        Err(invalid)
                    })
                } else {
                    self.check_accepted(&event, arrived)
                };
                (Some(record_line), decided)
            })
            .collect()
    }

    /// An event the validator accepted once: sent as it is when the transformer can load it
    /// and it is within the size limit, whatever today's schemas say.
    fn check_accepted(&self, event: &[u8], arrived: DateTime<Utc>) -> Decided {
        let event = event.trim_ascii();
        let provenance = Provenance {
            arrived_at: arrived,
            ..Provenance::default()
        };
        let head = serde_json::from_slice::<Head>(event).ok();
        let (event_id, event_type) = head.as_ref().map_or((None, None), |head| {
            (head.event_id.as_deref(), head.event_type.as_deref())
        });
        if !self.filters.takes_event_type(event_type) {
            return Ok(Decision::Filtered);
        }
        let refused = |errors| {
            let mut invalid = Invalid::new(errors);
            invalid.event_id = event_id.map(str::to_owned);
            invalid.event_type = event_type.map(str::to_owned);
            Err(invalid)
        };
        let loadable = firehose::transform(event, &provenance, &[]).map(|_| (event_id, event_type));
        let (event_id, event_type) = match loadable {
            Ok((Some(event_id), Some(event_type))) => (event_id, event_type),
            failed => {
                let reason = failed
                    .err()
                    .map_or("its event_id or event_type is not a string".into(), |error| {
                        error.to_string()
                    });
                let message =
                    format!("the transformer cannot load it: {reason} (--revalidate checks it fully)");
                return refused(vec![ErrorDetail::new("", codes::NOT_LOADABLE, message)]);
            }
        };
        // Kinesis counts the partition key (the event_id) against the record size too.
        let size = event.len() + event_id.len();
        let limit = self.validator.limits.max_event_bytes;
        if size > limit {
            let message =
                format!("the event is {size} bytes (JSON text plus event_id); the limit is {limit}");
            return refused(vec![ErrorDetail::new("", contract::EVENT_TOO_LARGE, message)]);
        }
        Ok(Decision::Send {
            event_id: event_id.to_owned(),
            event_type: event_type.to_owned(),
            record: event.to_vec(),
        })
    }
}

/// The envelope fields of an event, when they are strings.
#[derive(Deserialize)]
struct Head {
    event_id: Option<String>,
    event_type: Option<String>,
}

/// The event of an `EVENTS` row (`firehose::ROW_COLUMNS`), as `snowpipe_streaming` mode sends
/// Snowflake: what Firehose keeps when that delivery fails. `None` when `text` is not such a row.
fn envelope_of_row(text: &[u8]) -> Option<Vec<u8>> {
    let columns: HashMap<String, &RawValue> = serde_json::from_slice(text).ok()?;
    if columns.contains_key("event_id")
        || !columns.contains_key("EVENT_ID")
        || !columns.contains_key("PAYLOAD")
    {
        return None;
    }
    let mut event = b"{".to_vec();
    for (field, column) in [
        ("event_id", "EVENT_ID"),
        ("event_type", "EVENT_TYPE"),
        ("occurred_at", "OCCURRED_AT"),
        ("source", "SOURCE"),
        ("payload", "PAYLOAD"),
    ] {
        let Some(value) = columns.get(column).filter(|value| value.get() != "null") else {
            continue;
        };
        if event.len() > 1 {
            event.push(b',');
        }
        event.extend_from_slice(format!("\"{field}\":").as_bytes());
        event.extend_from_slice(value.get().as_bytes());
    }
    event.push(b'}');
    Some(event)
}

/// `Err` holds a report line still to be placed (key and line numbers).
type Decided = Result<Decision, Box<Invalid>>;

fn decide(
    outcome: Outcome,
    filters: &Filters,
    still_invalid: impl FnOnce(Option<&str>, Vec<ErrorDetail>) -> Decided,
) -> Decided {
    if !filters.takes_event_type(outcome.event_type()) {
        return Ok(Decision::Filtered);
    }
    match outcome {
        Outcome::Valid {
            event_id,
            event_type,
            record,
        } => Ok(Decision::Send {
            event_id,
            event_type,
            record,
        }),
        Outcome::Rejected {
            event_type, errors, ..
        } => still_invalid(event_type.as_deref(), errors),
    }
}

fn unreadable(kind: &str, error: &dyn std::fmt::Display) -> Box<Invalid> {
    Invalid::new(vec![ErrorDetail::new(
        "",
        codes::UNREADABLE_RECORD,
        format!("not a {kind} record: {error}"),
    )])
}
