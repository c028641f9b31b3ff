//! Turning request bytes into event candidates: content type, content encoding, size limits,
//! and the three body shapes (one object, a JSON array, NDJSON).

use crate::error::{bounded, echo, MAX_GZIP_MEMBERS, MAX_MESSAGE_BYTES};
use crate::Limits;
use flate2::bufread::GzDecoder;
use serde::de::{self, Deserializer as _, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::io::Read;

/// A refusal of the whole body (4xx); see the status table in `docs/event-contract.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl BodyError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// Only unreadable bodies are worth keeping in the error bucket: 413 bodies are too large to
    /// keep and 415 bodies are of a type we do not read; the client learns about both at once.
    pub fn keeps_raw_body(&self) -> bool {
        self.status == 400
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Ndjson,
}

/// The JSON text of one event before validation: an element of the array, the body itself, or
/// an NDJSON line (which may still turn out not to be JSON). Borrowed from the body, so splitting
/// allocates nothing and each event is parsed once, close in memory to its neighbours.
pub type Candidate<'a> = &'a [u8];

/// The body format for a `Content-Type` header. A missing header is read as JSON, which is what
/// curl and most SDKs mean when they forget it.
pub fn body_format(content_type: Option<&str>) -> Result<BodyFormat, BodyError> {
    let Some(content_type) = content_type else {
        return Ok(BodyFormat::Json);
    };
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        Ok(BodyFormat::Json)
    } else if [
        "application/x-ndjson",
        "application/jsonl",
        "application/x-jsonlines",
    ]
    .iter()
    .any(|accepted| media_type.eq_ignore_ascii_case(accepted))
    {
        Ok(BodyFormat::Ndjson)
    } else {
        Err(BodyError::new(
            415,
            "content_type.unsupported",
            format!(
                "content type {} is not supported; use application/json or application/x-ndjson",
                echo(media_type)
            ),
        ))
    }
}

/// The body after `Content-Encoding` is undone, within `max_request_bytes`.
pub fn decode<'a>(
    body: &'a [u8],
    content_encoding: Option<&str>,
    limits: &Limits,
) -> Result<std::borrow::Cow<'a, [u8]>, BodyError> {
    let too_large = || {
        BodyError::new(
            413,
            "body.too_large",
            format!(
                "the decoded body is larger than {} bytes",
                limits.max_request_bytes
            ),
        )
    };
    let encoding = content_encoding.map(str::trim).unwrap_or("");
    if encoding.is_empty() || encoding.eq_ignore_ascii_case("identity") {
        if body.len() > limits.max_request_bytes {
            return Err(too_large());
        }
        return Ok(std::borrow::Cow::Borrowed(body));
    }
    if !encoding.eq_ignore_ascii_case("gzip") {
        return Err(BodyError::new(
            415,
            "content_encoding.unsupported",
            format!(
                "content encoding {} is not supported; use gzip or none",
                echo(encoding)
            ),
        ));
    }
    // Every member is read (`cat a.gz b.gz` is one valid body), up to MAX_GZIP_MEMBERS (each
    // costs a header parse and an inflater, even an empty one), and bytes after the last one
    // must be another member: trailing garbage is refused, not ignored. One byte past the
    // limit is read so an oversized body is detected without inflating all of it.
    let malformed = |detail: String| {
        BodyError::new(
            400,
            "body.malformed_gzip",
            format!("the body is not gzip from its first byte to its last: {detail}"),
        )
    };
    let mut decoded = Vec::with_capacity(body.len().saturating_mul(4).min(limits.max_request_bytes));
    let mut rest = body;
    let mut members = 0;
    while !rest.is_empty() && decoded.len() <= limits.max_request_bytes {
        members += 1;
        if members > MAX_GZIP_MEMBERS {
            return Err(malformed(format!("more than {MAX_GZIP_MEMBERS} gzip members")));
        }
        let budget = (limits.max_request_bytes + 1 - decoded.len()) as u64;
        let mut member = GzDecoder::new(rest);
        member
            .by_ref()
            .take(budget)
            .read_to_end(&mut decoded)
            .map_err(|error| malformed(error.to_string()))?;
        rest = member.into_inner();
    }
    if decoded.len() > limits.max_request_bytes {
        return Err(too_large());
    }
    Ok(std::borrow::Cow::Owned(decoded))
}

/// The event candidates of a decoded body, in request order. Splitting stops at the first
/// event past `max_batch_events`: the rest of the body is not even parsed.
pub fn split<'a>(
    body: &'a [u8],
    format: BodyFormat,
    limits: &Limits,
) -> Result<Vec<Candidate<'a>>, BodyError> {
    let most = limits.max_batch_events;
    let candidates = match format {
        BodyFormat::Json => split_json(body, most)?,
        BodyFormat::Ndjson => split_ndjson(body).take(most + 1).collect(),
    };
    if candidates.is_empty() {
        return Err(BodyError::new(400, "body.empty", "the body holds no events"));
    }
    if candidates.len() > most {
        return Err(too_many_events(most));
    }
    Ok(candidates)
}

fn too_many_events(most: usize) -> BodyError {
    BodyError::new(
        413,
        "body.too_many_events",
        format!("more than {most} events in one request"),
    )
}

fn split_json(body: &[u8], most: usize) -> Result<Vec<Candidate<'_>>, BodyError> {
    let malformed = |error: serde_json::Error| {
        let code = if error.is_eof() && body.iter().all(u8::is_ascii_whitespace) {
            "body.empty"
        } else {
            "body.malformed_json"
        };
        BodyError::new(
            400,
            code,
            bounded(format_args!("body is not valid JSON: {error}"), MAX_MESSAGE_BYTES),
        )
    };
    match body.iter().find(|byte| !byte.is_ascii_whitespace()) {
        // The raw values are checked JSON: only their bytes are kept, parsing happens per event.
        Some(b'[') => {
            let mut items = Vec::new();
            let mut deserializer = serde_json::Deserializer::from_slice(body);
            let read = deserializer
                .deserialize_seq(Elements {
                    items: &mut items,
                    most,
                })
                .and_then(|()| deserializer.end());
            match read {
                Err(_) if items.len() > most => Err(too_many_events(most)),
                Err(error) => Err(malformed(error)),
                Ok(()) => Ok(items),
            }
        }
        // One event: parsed once, as an event (see `malformed_object`).
        Some(b'{') => Ok(vec![body.trim_ascii()]),
        // Borrowed as `&RawValue`, the text must be UTF-8 too (IgnoredAny would skip invalid
        // UTF-8 in a string: found by fuzzing), as it must for the array's elements.
        _ => match serde_json::from_slice::<&RawValue>(body) {
            Err(error) => Err(malformed(error)),
            Ok(_) => Err(BodyError::new(
                400,
                "body.not_object_or_array",
                "the body must be an event object or an array of events",
            )),
        },
    }
}

/// A JSON body that is one object is split unparsed (parsing it as a whole first would double
/// the work of the one-event request): when its event turns out not to be JSON, the body is
/// refused as malformed, exactly as an unreadable array is.
pub fn malformed_object(event_error: &str) -> BodyError {
    BodyError::new(400, "body.malformed_json", format!("body is {event_error}"))
}

/// The elements of a JSON array as raw text, reading no further than one past `most`.
struct Elements<'a, 'b> {
    items: &'b mut Vec<Candidate<'a>>,
    most: usize,
}

impl<'a> Visitor<'a> for Elements<'a, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<&'a RawValue>()? {
            self.items.push(item.get().as_bytes());
            if self.items.len() > self.most {
                return Err(de::Error::custom("too many events"));
            }
        }
        Ok(())
    }
}

fn split_ndjson(body: &[u8]) -> impl Iterator<Item = Candidate<'_>> {
    body.split(|byte| *byte == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn limits() -> Limits {
        Limits::default()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn content_types() {
        assert_eq!(body_format(None), Ok(BodyFormat::Json));
        assert_eq!(
            body_format(Some("application/json; charset=utf-8")),
            Ok(BodyFormat::Json)
        );
        assert_eq!(body_format(Some("Application/X-NDJSON")), Ok(BodyFormat::Ndjson));
        let error = body_format(Some("text/plain")).unwrap_err();
        assert_eq!((error.status, error.code), (415, "content_type.unsupported"));
    }

    #[test]
    fn gzip_is_inflated_and_limited() {
        let body = gzip(br#"{"a":1}"#);
        assert_eq!(&*decode(&body, Some("gzip"), &limits()).unwrap(), br#"{"a":1}"#);
        let bomb = gzip(&vec![b' '; limits().max_request_bytes + 10]);
        assert_eq!(
            decode(&bomb, Some("GZIP"), &limits()).unwrap_err().code,
            "body.too_large"
        );
        assert_eq!(
            decode(b"nope", Some("gzip"), &limits()).unwrap_err().code,
            "body.malformed_gzip"
        );
        assert_eq!(decode(b"x", Some("br"), &limits()).unwrap_err().status, 415);
    }

    #[test]
    fn gzip_members_are_bounded() {
        // Each member costs a header and an inflater, even an empty one.
        let members = |count| gzip(b"").repeat(count);
        assert!(decode(&members(MAX_GZIP_MEMBERS), Some("gzip"), &limits()).is_ok());
        let error = decode(&members(MAX_GZIP_MEMBERS + 1), Some("gzip"), &limits()).unwrap_err();
        assert_eq!((error.status, error.code), (400, "body.malformed_gzip"));
        assert!(
            error.message.contains("more than 64 gzip members"),
            "{}",
            error.message
        );
    }

    #[test]
    fn every_gzip_member_is_read_and_trailing_bytes_are_refused() {
        // What `cat a.gz b.gz` makes: one body of two members.
        let body = [gzip(b"{\"a\":1}\n"), gzip(b"{\"b\":2}\n{\"c\":3}\n")].concat();
        let decoded = decode(&body, Some("gzip"), &limits()).unwrap();
        assert_eq!(&*decoded, b"{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
        assert_eq!(split(&decoded, BodyFormat::Ndjson, &limits()).unwrap().len(), 3);
        for trailing in [
            &b"x"[..],
            b"garbage after the stream",
            b"\0\0\0\0",
            &gzip(b"x")[..5],
        ] {
            let error = decode(
                &[gzip(b"{}"), trailing.to_vec()].concat(),
                Some("gzip"),
                &limits(),
            )
            .unwrap_err();
            assert_eq!(
                (error.status, error.code),
                (400, "body.malformed_gzip"),
                "{trailing:?}"
            );
        }
    }

    #[test]
    fn plain_bodies_over_the_limit_are_413() {
        let small = Limits {
            max_request_bytes: 4,
            ..limits()
        };
        assert_eq!(decode(b"12345", None, &small).unwrap_err().status, 413);
        assert!(decode(b"1234", Some("identity"), &small).is_ok());
    }

    #[test]
    fn json_shapes() {
        assert_eq!(
            split(br#"{"a":1}"#, BodyFormat::Json, &limits()).unwrap().len(),
            1
        );
        assert_eq!(
            split(br#"[{"a":1}, 2]"#, BodyFormat::Json, &limits())
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            split(b"[]", BodyFormat::Json, &limits()).unwrap_err().code,
            "body.empty"
        );
        assert_eq!(
            split(b"  ", BodyFormat::Json, &limits()).unwrap_err().code,
            "body.empty"
        );
        assert_eq!(
            split(b"[{", BodyFormat::Json, &limits()).unwrap_err().code,
            "body.malformed_json"
        );
        assert_eq!(
            split(b" {oops \n", BodyFormat::Json, &limits()).unwrap(),
            vec![&b"{oops"[..]],
            "an object is checked as an event"
        );
        assert_eq!(
            split(b"42", BodyFormat::Json, &limits()).unwrap_err().code,
            "body.not_object_or_array"
        );
    }

    #[test]
    fn ndjson_keeps_bad_lines_as_candidates() {
        let body = b"{\"a\":1}\r\n\n  \nnot json\n{\"b\":2}";
        let candidates = split(body, BodyFormat::Ndjson, &limits()).unwrap();
        assert_eq!(candidates, vec![&b"{\"a\":1}"[..], b"not json", b"{\"b\":2}"]);
    }

    #[test]
    fn array_elements_are_the_events_json_text() {
        let candidates = split(b" [ {\"a\": 1} , 2,\"x\"]", BodyFormat::Json, &limits()).unwrap();
        assert_eq!(candidates, vec![&b"{\"a\": 1}"[..], b"2", b"\"x\""]);
        assert_eq!(
            split(b"[{}, {]", BodyFormat::Json, &limits()).unwrap_err().code,
            "body.malformed_json"
        );
    }

    #[test]
    fn too_many_events() {
        let few = Limits {
            max_batch_events: 2,
            ..limits()
        };
        let error = split(b"[{},{},{}]", BodyFormat::Json, &few).unwrap_err();
        assert_eq!((error.status, error.code), (413, "body.too_many_events"));
        assert!(split(b"[{},{}]", BodyFormat::Json, &few).is_ok());
        assert_eq!(
            split(b"{}\n{}\n{}", BodyFormat::Ndjson, &few).unwrap_err().status,
            413
        );
    }

    #[test]
    fn splitting_stops_one_event_past_the_limit() {
        let few = Limits {
            max_batch_events: 2,
            ..limits()
        };
        // Whatever follows the third event is never read: not even its syntax.
        let error = split(b"[{},{},{}, this is not JSON", BodyFormat::Json, &few).unwrap_err();
        assert_eq!(error.code, "body.too_many_events");
        assert_eq!(
            split(b"[{},{}, oops", BodyFormat::Json, &few).unwrap_err().code,
            "body.malformed_json"
        );
    }
}
