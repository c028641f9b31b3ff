//! The envelope every event obeys, whatever its type: a typed serde struct, so serde itself
//! refuses unknown and repeated fields, whose field rules are `validator` derives.

use crate::error::{bounded, codes, echo, ErrorDetail, MAX_MESSAGE_BYTES};
use crate::Limits;
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, TimeDelta, Timelike, Utc};
use regex::Regex;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::map::Entry;
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;
use validator::{Validate, ValidateArgs, ValidateLength, ValidationError, ValidationErrors};

pub const FIELDS: [&str; 5] = ["event_id", "event_type", "occurred_at", "source", "payload"];
/// The one definition of a valid event type (schema file names follow it too).
pub const EVENT_TYPE_PATTERN: &str = "^[a-z][a-z0-9_.]{0,63}$";
static EVENT_TYPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(EVENT_TYPE_PATTERN).expect("the event type pattern compiles"));
const MAX_EVENT_ID_CHARS: usize = 128;

pub fn is_valid_event_type(event_type: &str) -> bool {
    EVENT_TYPE.is_match(event_type)
}

pub fn is_valid_event_id(event_id: &str) -> bool {
    (1..=MAX_EVENT_ID_CHARS).contains(&event_id.chars().count())
}

/// One event's envelope, borrowed from its JSON text. Field rules map onto the contract's codes;
/// `null` counts as absent.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
#[validate(context = Window)]
pub struct Envelope<'a> {
    /// Absent when the client sent none: the validator assigns one.
    #[serde(borrow, default)]
    #[validate(length(
        min = 1,
        max = 128,
        code = "envelope.invalid_event_id",
        message = "event_id must be 1 to 128 characters"
    ))]
    pub event_id: Spanned<'a>,
    #[serde(borrow)]
    #[validate(
        required(code = "envelope.missing_field", message = "event_type is required"),
        regex(
            path = *EVENT_TYPE,
            code = "envelope.invalid_event_type",
            message = "event_type must match ^[a-z][a-z0-9_.]{0,63}$"
        )
    )]
    pub event_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    #[validate(
        required(code = "envelope.missing_field", message = "occurred_at is required"),
        custom(function = "occurred_at_rule", use_context)
    )]
    pub occurred_at: Option<OccurredAt<'a>>,
    #[serde(borrow)]
    #[validate(length(
        max = 256,
        code = "envelope.invalid_source",
        message = "source must be at most 256 characters"
    ))]
    pub source: Option<Cow<'a, str>>,
    #[validate(required(code = "envelope.missing_field", message = "payload is required"))]
    pub payload: Option<Payload>,
}

/// The required fields of an envelope that passed [`Envelope::check`].
#[derive(Debug, PartialEq)]
pub struct Checked<'e> {
    pub event_type: &'e str,
    pub payload: &'e Value,
}

/// Why an event's text is not an envelope: the reasons, and whether the text is JSON (kept as
/// such in the error bucket) or not (kept as a line of text).
#[derive(Debug)]
pub struct Unreadable {
    pub errors: Vec<ErrorDetail>,
    pub is_json: bool,
}

impl<'a> Envelope<'a> {
    /// Reads one event's JSON text (already trimmed). What serde refuses is diagnosed on a
    /// second, slower pass: the first structural problem, with its path.
    pub fn read(text: &'a [u8]) -> Result<Self, Unreadable> {
        if text.first() != Some(&b'{') {
            return Err(match serde_json::from_slice::<IgnoredAny>(text) {
                Ok(_) => refused(ErrorDetail::new(
                    "",
                    codes::EVENT_NOT_OBJECT,
                    "an event must be a JSON object",
                )),
                Err(error) => malformed(&error),
            });
        }
        serde_json::from_slice(text).map_err(|_| diagnose(text))
    }

    /// The field rules: every broken one is reported, in field order. `Ok` carries what the
    /// payload check needs.
    pub fn check(&self, window: &Window) -> Result<Checked<'_>, Vec<ErrorDetail>> {
        self.validate_with_args(window)
            .map_err(|errors| details(&errors))?;
        match (&self.event_type, &self.payload) {
            (Some(event_type), Some(payload)) => Ok(Checked {
                event_type,
                payload: &payload.0,
            }),
            _ => unreachable!("`required` holds for both"),
        }
    }

    /// The client's id when it is a valid one: what results and error records name the event by.
    pub fn client_event_id(&self) -> Option<&str> {
        self.event_id.value.as_deref().filter(|id| is_valid_event_id(id))
    }

    /// `occurred_at` in its canonical form, when it parses.
    pub fn canonical_occurred_at(&self) -> Option<String> {
        self.occurred_at.as_ref()?.instant.ok().map(canonical)
    }
}

/// The client's id of an event whose envelope could not be read, when it has a valid one.
pub fn client_event_id(text: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly<'a> {
        #[serde(borrow)]
        event_id: Option<Cow<'a, str>>,
    }
    let id = serde_json::from_slice::<IdOnly>(text).ok()?.event_id?;
    is_valid_event_id(&id).then(|| id.into_owned())
}

/// A string field together with its JSON text in the event, so that the Kinesis record can
/// rewrite the value in place (the canonical `occurred_at`; an id for `"event_id": null`).
#[derive(Debug, Default)]
pub struct Spanned<'a> {
    /// The value as it stands in the event's text, quotes and escapes included; `""` if absent.
    pub json: &'a str,
    /// `None` for `null` and for an absent field.
    pub value: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Spanned<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = <&'de RawValue>::deserialize(deserializer)?.get();
        let value = match json.as_bytes()[0] {
            b'n' => None,
            // Raw values are checked JSON: a string without escapes is its text between quotes.
            b'"' if !json.contains('\\') => Some(Cow::Borrowed(&json[1..json.len() - 1])),
            b'"' => Some(Cow::Owned(serde_json::from_str(json).map_err(de::Error::custom)?)),
            _ => return Err(de::Error::invalid_type(unexpected(json), &"a string")),
        };
        Ok(Self { json, value })
    }
}

impl Serialize for Spanned<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl ValidateLength<u64> for Spanned<'_> {
    fn length(&self) -> Option<u64> {
        self.value.as_deref().map(|value| value.chars().count() as u64)
    }
}

/// `occurred_at` as sent, and the instant it names, parsed once as it is read.
#[derive(Debug)]
pub struct OccurredAt<'a> {
    pub text: Spanned<'a>,
    pub instant: Result<DateTime<Utc>, &'static str>,
}

impl<'de: 'a, 'a> Deserialize<'de> for OccurredAt<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Spanned::deserialize(deserializer)?;
        let instant = parse_occurred_at(text.value.as_deref().unwrap_or_default());
        Ok(Self { text, instant })
    }
}

impl Serialize for OccurredAt<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(serializer)
    }
}

/// What a JSON text that is not a string is, for a type error.
fn unexpected(json: &str) -> Unexpected<'_> {
    match json.as_bytes()[0] {
        b't' => Unexpected::Bool(true),
        b'f' => Unexpected::Bool(false),
        b'[' => Unexpected::Seq,
        b'{' => Unexpected::Map,
        _ => Unexpected::Other("a number"),
    }
}

fn kind(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(value) => Unexpected::Bool(*value),
        Value::Number(_) => Unexpected::Other("a number"),
        Value::String(_) => Unexpected::Other("a string"),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// The payload, parsed for its schema. A key repeated in any object is refused: `Value` would
/// keep the last one silently, while the record (the client's text) carries both.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Payload(pub Value);

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_any(UniqueKeys)? {
            object @ Value::Object(_) => Ok(Payload(object)),
            other => Err(de::Error::invalid_type(kind(&other), &"an object")),
        }
    }
}

const REPEATED_KEY: &str = "a key is repeated in one object";

/// Builds a `Value` like serde_json's own visitor, refusing repeated keys.
struct UniqueKeys;

struct UniqueValue(Value);

impl<'de> Deserialize<'de> for UniqueValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeys).map(UniqueValue)
    }
}

/// Fails on the value of a repeated key, so that the error's path ends in that key.
struct RepeatedKey;

impl<'de> DeserializeSeed<'de> for RepeatedKey {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, _: D) -> Result<Value, D::Error> {
        Err(de::Error::custom(REPEATED_KEY))
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }
    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }
    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }
    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }
    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        while let Some(UniqueValue(value)) = seq.next_element()? {
            values.push(value);
        }
        Ok(Value::Array(values))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match object.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(map.next_value::<UniqueValue>()?.0);
                }
                Entry::Occupied(_) => return map.next_value_seed(RepeatedKey),
            }
        }
        Ok(Value::Object(object))
    }
}

/// When `occurred_at` may be: from `max_past_days` before the validator's clock to
/// `max_future_skew_seconds` after it, and always within the years Snowflake loads as written.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub now: DateTime<Utc>,
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
    pub limits: Limits,
}

/// The first day of the Gregorian calendar: Snowflake advises against earlier years.
static FLOOR: LazyLock<DateTime<Utc>> =
    LazyLock::new(|| date(1582, 10, 15).and_time(Default::default()).and_utc());
/// The last instant with a four-digit year.
static CEILING: LazyLock<DateTime<Utc>> = LazyLock::new(|| {
    date(9999, 12, 31)
        .and_hms_micro_opt(23, 59, 59, 999_999)
        .expect("a valid time")
        .and_utc()
});

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid date")
}

impl Window {
    pub fn new(now: DateTime<Utc>, limits: &Limits) -> Self {
        let past = i64::try_from(limits.max_past_days)
            .ok()
            .and_then(TimeDelta::try_days);
        let future = TimeDelta::try_seconds(limits.max_future_skew_seconds);
        Self {
            now,
            earliest: past
                .and_then(|past| now.checked_sub_signed(past))
                .map_or(*FLOOR, |at| at.max(*FLOOR)),
            latest: future
                .and_then(|future| now.checked_add_signed(future))
                .map_or(*CEILING, |at| at.min(*CEILING)),
            limits: *limits,
        }
    }
}

/// RFC 3339 with an explicit offset (`Z`, `z`, `±hh:mm`), as a UTC instant. A leap second
/// (`:60`) is refused: Snowflake does not load one.
pub fn parse_occurred_at(raw: &str) -> Result<DateTime<Utc>, &'static str> {
    let parsed =
        DateTime::parse_from_rfc3339(raw).map_err(|_| "is not an RFC 3339 timestamp with an offset")?;
    if parsed.nanosecond() >= 1_000_000_000 {
        return Err("is a leap second (:60), which is not loaded; send :59.999999");
    }
    Ok(parsed.to_utc())
}

/// The one form `occurred_at` is stored in: UTC, microseconds, `Z` (`2026-11-26T10:00:00.000000Z`).
/// Finer digits are truncated. Written digit by digit: this runs for nearly every event.
pub fn canonical(at: DateTime<Utc>) -> String {
    let (date, time) = (at.date_naive(), at.time());
    let Some(year) = u32::try_from(date.year()).ok().filter(|year| *year <= 9999) else {
        return at.to_rfc3339_opts(SecondsFormat::Micros, true);
    };
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    let fields = [
        (0, 4, year),
        (5, 2, date.month()),
        (8, 2, date.day()),
        (11, 2, time.hour()),
        (14, 2, time.minute()),
        (17, 2, time.second()),
        (20, 6, time.nanosecond() / 1000),
    ];
    for (start, width, mut value) in fields {
        for digit in text[start..start + width].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    String::from_utf8(text.to_vec()).expect("ASCII digits")
}

fn occurred_at_rule(occurred_at: &OccurredAt<'_>, window: &Window) -> Result<(), ValidationError> {
    let raw = occurred_at.text.value.as_deref().unwrap_or_default();
    let fail = |code, message: String| Err(ValidationError::new(code).with_message(message.into()));
    match occurred_at.instant {
        Err(reason) => fail(
            codes::INVALID_TIMESTAMP,
            format!("occurred_at {} {reason}", echo(raw)),
        ),
        Ok(at) if at > window.latest => fail(
            codes::OCCURRED_AT_IN_FUTURE,
            format!(
                "occurred_at {} is more than {} s after the validator's clock ({})",
                echo(raw),
                window.limits.max_future_skew_seconds,
                window.now.to_rfc3339_opts(SecondsFormat::Millis, true)
            ),
        ),
        Ok(at) if at < window.earliest => fail(
            codes::OCCURRED_AT_TOO_OLD,
            format!(
                "occurred_at {} is before {}, {} days before the validator's clock",
                echo(raw),
                window.earliest.to_rfc3339_opts(SecondsFormat::Secs, true),
                window.limits.max_past_days
            ),
        ),
        Ok(_) => Ok(()),
    }
}

/// `validator`'s errors as the contract's, in field order.
fn details(errors: &ValidationErrors) -> Vec<ErrorDetail> {
    let by_field = errors.field_errors();
    FIELDS
        .iter()
        .filter_map(|field| Some((field, by_field.get(*field)?)))
        .flat_map(|(field, errors)| {
            errors.iter().map(|error| {
                let message = error.message.as_deref().unwrap_or_default();
                ErrorDetail::new(pointer(field), error.code.as_ref(), message)
            })
        })
        .collect()
}

fn refused(error: ErrorDetail) -> Unreadable {
    Unreadable {
        errors: vec![error],
        is_json: true,
    }
}

fn malformed(error: &serde_json::Error) -> Unreadable {
    Unreadable {
        errors: vec![ErrorDetail::new(
            "",
            codes::EVENT_MALFORMED_JSON,
            bounded(format_args!("not valid JSON: {error}"), MAX_MESSAGE_BYTES),
        )],
        is_json: false,
    }
}

/// The first thing serde refused in `text`, as a contract error. serde names the kind of a
/// refusal only in its message, whose wording is serde's own and fixed (`unknown field`,
/// `duplicate field`, `invalid type`); serde_path_to_error says where.
fn diagnose(text: &[u8]) -> Unreadable {
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let error = match serde_path_to_error::deserialize::<_, Envelope>(&mut deserializer) {
        // Readable as a struct, refused as a whole: characters after the object.
        Ok(_) => {
            return match deserializer.end() {
                Err(error) => malformed(&error),
                Ok(()) => refused(ErrorDetail::new(
                    "",
                    codes::INVALID_TYPE,
                    "the event cannot be read",
                )),
            }
        }
        Err(error) => error,
    };
    // A JSON syntax error anywhere in the event outranks what serde met first.
    if let Err(syntax) = serde_json::from_slice::<IgnoredAny>(text) {
        return malformed(&syntax);
    }
    if error.inner().classify() != serde_json::error::Category::Data {
        return malformed(error.inner());
    }
    let path = json_pointer(error.path());
    let inner = error.into_inner();
    let position = format!(" at line {} column {}", inner.line(), inner.column());
    let message = bounded(&inner, MAX_MESSAGE_BYTES);
    let message = message.strip_suffix(&position).unwrap_or(&message);
    let detail = if message.starts_with("unknown field") {
        let field = path.rsplit('/').next().unwrap_or_default();
        ErrorDetail::new(
            &path,
            codes::UNKNOWN_FIELD,
            format!(
                "{} is not an envelope field; put it inside payload",
                echo(&unescape(field))
            ),
        )
    } else if message.starts_with("duplicate field") {
        let field = FIELDS
            .iter()
            .find(|field| message.contains(&format!("`{field}`")))
            .unwrap_or(&"");
        ErrorDetail::new(
            pointer(field),
            codes::DUPLICATE_FIELD,
            format!("{field} appears more than once"),
        )
    } else if message == REPEATED_KEY {
        ErrorDetail::new(
            &path,
            codes::PAYLOAD_DUPLICATE_KEY,
            "this key appears more than once in its object",
        )
    } else {
        let field = path.trim_start_matches('/');
        ErrorDetail::new(&path, codes::INVALID_TYPE, format!("{field}: {message}"))
    };
    refused(detail)
}

/// A JSON Pointer to a top-level field.
fn pointer(field: &str) -> String {
    format!("/{}", field.replace('~', "~0").replace('/', "~1"))
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|segment| match segment {
            Segment::Seq { index } => format!("/{index}"),
            Segment::Map { key } => pointer(key),
            Segment::Enum { variant } => pointer(variant),
            Segment::Unknown => "/?".to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-26T10:00:00Z".parse().unwrap()
    }

    fn window() -> Window {
        Window::new(now(), &Limits::default())
    }

    /// `path code` of every reason an event's text is refused for.
    fn codes(text: &str) -> Vec<String> {
        let errors = match Envelope::read(text.as_bytes()) {
            Err(unreadable) => unreadable.errors,
            Ok(envelope) => envelope.check(&window()).err().unwrap_or_default(),
        };
        errors
            .into_iter()
            .map(|e| format!("{} {}", e.path, e.code))
            .collect()
    }

    #[test]
    fn a_valid_envelope() {
        let text = br#"{"event_id": "a", "event_type": "page_view", "occurred_at": "2026-11-26T09:00:00+01:00", "source": "web", "payload": {}}"#;
        let envelope = Envelope::read(text).unwrap();
        assert_eq!(envelope.check(&window()).unwrap().event_type, "page_view");
        assert_eq!(envelope.client_event_id(), Some("a"));
        assert_eq!(envelope.event_type.as_deref(), Some("page_view"));
        assert_eq!(
            envelope.occurred_at.as_ref().unwrap().text.json,
            "\"2026-11-26T09:00:00+01:00\""
        );
        assert_eq!(
            envelope.canonical_occurred_at().as_deref(),
            Some("2026-11-26T08:00:00.000000Z")
        );
        let no_id = br#"{"event_id": null, "event_type": "x", "occurred_at": "2026-11-26T10:04:59Z", "source": null, "payload": {}}"#;
        let envelope = Envelope::read(no_id).unwrap();
        assert!(envelope.check(&window()).is_ok());
        assert_eq!(
            (envelope.event_id.json, envelope.client_event_id()),
            ("null", None)
        );
    }

    #[test]
    fn every_rule_that_fails_is_reported_in_field_order() {
        assert_eq!(
            codes(
                r#"{"event_id": "", "event_type": "Bad", "occurred_at": "2026-11-26 10:00", "source": "SOURCE_x_300_____________________________________________________________________________________________________________________________________________________________________________________________________________________________________________________________", "payload": {}}"#
            ),
            vec![
                "/event_id envelope.invalid_event_id",
                "/event_type envelope.invalid_event_type",
                "/occurred_at envelope.invalid_timestamp",
                "/source envelope.invalid_source",
            ]
        );
        assert_eq!(
            codes(r#"{"payload": null}"#),
            vec![
                "/event_type envelope.missing_field",
                "/occurred_at envelope.missing_field",
                "/payload envelope.missing_field"
            ]
        );
    }

    #[test]
    fn structural_problems_are_refused_by_serde_one_at_a_time() {
        let valid = r#""event_type": "a", "occurred_at": "2026-11-26T10:00:00Z", "payload": {}"#;
        assert_eq!(
            codes(&format!(r#"{{{valid}, "extra": 1, "more": 2}}"#)),
            vec!["/extra envelope.unknown_field"]
        );
        assert_eq!(
            codes(&format!(r#"{{{valid}, "a/b~c": 1}}"#)),
            vec!["/a~1b~0c envelope.unknown_field"]
        );
        assert_eq!(
            codes(&format!(r#"{{{valid}, "source": 3}}"#)),
            vec!["/source envelope.invalid_type"]
        );
        assert_eq!(
            codes(&format!(r#"{{{valid}, "event_id": 3}}"#)),
            vec!["/event_id envelope.invalid_type"]
        );
        assert_eq!(
            codes(r#"{"event_type": "a", "occurred_at": 1, "payload": {}}"#),
            vec!["/occurred_at envelope.invalid_type"]
        );
        assert_eq!(
            codes(r#"{"event_type": "a", "occurred_at": "2026-11-26T10:00:00Z", "payload": []}"#),
            vec!["/payload envelope.invalid_type"]
        );
        assert_eq!(
            codes(r#"{"event_type": "a", "occurred_at": "2026-11-26T10:00:00Z", "payload": "x"}"#),
            vec!["/payload envelope.invalid_type"]
        );
        assert_eq!(
            codes(&format!(r#"{{{valid}, "payload": {{}}}}"#)),
            vec!["/payload envelope.duplicate_key"]
        );
        assert_eq!(
            codes(&format!(r#"{{"event_id": null, {valid}, "event_id": "x"}}"#)),
            vec!["/event_id envelope.duplicate_key"]
        );
        assert_eq!(codes("[1]"), vec![" event.not_object"]);
        assert_eq!(codes("{oops"), vec![" event.malformed_json"]);
        assert_eq!(
            codes(&format!(r#"{{{valid}}} trailing"#)),
            vec![" event.malformed_json"]
        );
        assert_eq!(
            codes(r#"{"extra": 1, oops}"#),
            vec![" event.malformed_json"],
            "bad JSON outranks"
        );
    }

    #[test]
    fn repeated_keys_in_the_payload_are_refused_with_their_path() {
        let event = |payload: &str| {
            format!(r#"{{"event_type": "a", "occurred_at": "2026-11-26T10:00:00Z", "payload": {payload}}}"#)
        };
        assert_eq!(
            codes(&event(r#"{"a": 1, "a": 2}"#)),
            vec!["/payload/a payload.duplicate_key"]
        );
        assert_eq!(
            codes(&event(r#"{"a": [0, {"b": 1, "c": {}, "b": 2}]}"#)),
            vec!["/payload/a/1/b payload.duplicate_key"]
        );
        assert_eq!(
            codes(&event(r#"{"\u0061": 1, "a": 2}"#)),
            vec!["/payload/a payload.duplicate_key"],
            "keys compare unescaped"
        );
        assert!(
            codes(&event(r#"{"a": {"x": 1}, "b": {"x": 1}}"#)).is_empty(),
            "siblings may share keys"
        );
    }

    #[test]
    fn timestamps_become_one_canonical_utc_form() {
        let canonical_of = |raw: &str| parse_occurred_at(raw).map(canonical);
        assert_eq!(
            canonical_of("2026-11-26t17:16:55z").unwrap(),
            "2026-11-26T17:16:55.000000Z"
        );
        assert_eq!(
            canonical_of("2026-11-26T17:16:55+23:59").unwrap(),
            "2026-11-25T17:17:55.000000Z"
        );
        assert_eq!(
            canonical_of("2026-11-26T00:30:00.5-01:00").unwrap(),
            "2026-11-26T01:30:00.500000Z"
        );
        assert_eq!(
            canonical_of("2026-11-26T17:16:55.1234567890123456789Z").unwrap(),
            "2026-11-26T17:16:55.123456Z",
            "digits past the microsecond are truncated"
        );
        assert!(canonical_of("2026-12-31T23:59:60Z")
            .unwrap_err()
            .contains("leap second"));
        assert!(
            canonical_of("2026-11-26T10:00:00").is_err(),
            "an offset is required"
        );
        assert!(canonical_of("2026-11-26T10:00:00+24:00").is_err());
        let odd = |raw: &str| canonical(DateTime::parse_from_rfc3339(raw).unwrap().to_utc());
        assert_eq!(
            odd("0000-01-01T00:00:00+01:00"),
            "-0001-12-31T23:00:00.000000Z",
            "out of four digits"
        );
        assert_eq!(odd("0001-01-01T00:00:00.000009Z"), "0001-01-01T00:00:00.000009Z");
    }

    #[test]
    fn timestamps_must_fall_in_the_window() {
        let event = |ts: &str| format!(r#"{{"event_type": "a", "occurred_at": "{ts}", "payload": {{}}}}"#);
        assert_eq!(
            codes(&event("2026-11-26T10:00:00")),
            vec!["/occurred_at envelope.invalid_timestamp"]
        );
        assert_eq!(
            codes(&event("2026-12-31T23:59:60Z")),
            vec!["/occurred_at envelope.invalid_timestamp"]
        );
        assert_eq!(
            codes(&event("2026-11-26T10:05:01Z")),
            vec!["/occurred_at envelope.occurred_at_in_future"]
        );
        assert!(codes(&event("2026-11-26T10:05:00Z")).is_empty());
        let days = Limits::default().max_past_days as i64;
        let oldest = now() - TimeDelta::days(days);
        assert!(codes(&event(&canonical(oldest))).is_empty());
        assert_eq!(
            codes(&event(&canonical(oldest - TimeDelta::microseconds(1)))),
            vec!["/occurred_at envelope.occurred_at_too_old"]
        );
        assert_eq!(
            codes(&event("0000-01-01T00:00:00Z")),
            vec!["/occurred_at envelope.occurred_at_too_old"]
        );
    }

    #[test]
    fn huge_windows_stay_within_loadable_years() {
        let limits = Limits {
            max_past_days: u64::MAX,
            max_future_skew_seconds: i64::MAX,
            ..Limits::default()
        };
        let window = Window::new(now(), &limits);
        assert_eq!((window.earliest, window.latest), (*FLOOR, *CEILING));
        assert_eq!(canonical(window.latest), "9999-12-31T23:59:59.999999Z");
    }

    #[test]
    fn limits_on_lengths_count_characters() {
        let id = "é".repeat(128);
        assert!(codes(&format!(r#"{{"event_id": "{id}", "event_type": "a", "occurred_at": "2026-11-26T10:00:00Z", "payload": {{}}}}"#)).is_empty());
        assert!(is_valid_event_id(&id) && !is_valid_event_id(&format!("{id}x")) && !is_valid_event_id(""));
    }

    #[test]
    fn echoed_values_are_cut() {
        let long = "x".repeat(1 << 20);
        let text = format!(r#"{{"event_type": "a", "occurred_at": "{long}", "payload": {{}}, "{long}": 1}}"#);
        let errors = Envelope::read(text.as_bytes()).unwrap_err().errors;
        assert_eq!(errors[0].code, "envelope.unknown_field");
        assert!(
            errors[0].message.len() < 300 && errors[0].path.len() < 300,
            "{errors:?}"
        );
        let text = format!(r#"{{"event_type": "a", "occurred_at": "{long}", "payload": {{}}}}"#);
        let errors = Envelope::read(text.as_bytes())
            .unwrap()
            .check(&window())
            .unwrap_err();
        assert!(errors[0].message.len() < 300, "{errors:?}");
    }

    #[test]
    fn escaped_strings_are_read() {
        let text = br#"{"event_id": "a\"b", "event_type": "a", "occurred_at": "2026-11-26T10:00:00\u005a", "payload": {}}"#;
        let envelope = Envelope::read(text).unwrap();
        assert_eq!(envelope.client_event_id(), Some("a\"b"));
        assert!(envelope.check(&window()).is_ok());
        assert_eq!(
            client_event_id(br#"{"event_id": "a", "extra": {"x": 1, "x": 2}}"#).as_deref(),
            Some("a")
        );
        assert_eq!(client_event_id(br#"{"event_id": ""}"#), None);
    }

    #[test]
    fn event_type_rule() {
        assert!(is_valid_event_type("a"));
        assert!(is_valid_event_type("order.placed_v2"));
        assert!(is_valid_event_type(&format!("a{}", "b".repeat(63))));
        assert!(!is_valid_event_type(&format!("a{}", "b".repeat(64))));
        assert!(!is_valid_event_type("1abc"));
        assert!(!is_valid_event_type("a-b"));
        assert!(!is_valid_event_type("a\n"));
        assert!(!is_valid_event_type(""));
    }
}
