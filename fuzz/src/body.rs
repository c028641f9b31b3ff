//! The `body` target: a whole request through `Validator::validate_request` (content type,
//! content encoding with gzip members, size limits, splitting a JSON object, a JSON array or
//! NDJSON), against an oracle of how many events the body holds.
//!
//! Input: one flag byte, then the body.
//! - bits 0–1, `Content-Type`: none, `application/json; charset=utf-8`, `application/x-ndjson`,
//!   `text/plain` (unsupported).
//! - bits 2–3, `Content-Encoding`: none, `identity`, gzip made here (the body is split at each
//!   NUL byte and every part compressed as one member: `cat a.gz b.gz`), or gzip as given (the
//!   bytes inflated as they are).
//! - bit 4: small limits (256-byte requests, 4 events, 160-byte events) instead of the defaults.
//! - bit 5, with gzip made here: the last NUL-separated part follows the members uncompressed,
//!   as trailing garbage.

use crate::contract::{self, assert_documented_body_error, assert_request};
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use rtstream_core::body::BodyError;
use rtstream_core::error::MAX_GZIP_MEMBERS;
use rtstream_core::response::{body_error_record, body_error_reply};
use rtstream_core::validator::RequestBody;
use rtstream_core::{Limits, Validator};
use serde::de::IgnoredAny;
use serde_json::Value;
use std::cell::RefCell;
use std::sync::LazyLock;

static SMALL: LazyLock<Limits> = LazyLock::new(|| Limits {
    max_request_bytes: 256,
    max_batch_events: 4,
    max_event_bytes: 160,
    ..Limits::default()
});
static DEFAULT: LazyLock<Validator> = LazyLock::new(|| contract::validator(Limits::default()));
static SMALL_VALIDATOR: LazyLock<Validator> = LazyLock::new(|| contract::validator(*SMALL));

/// What the request must get: refused with this code, or one outcome per event.
#[derive(Debug, PartialEq)]
enum Expected {
    Refused(&'static str),
    Events(usize),
    /// An array that is not JSON: malformed, or too many events if the limit comes first.
    MalformedArray,
    /// Gzip as given, or garbage that could be a gzip member: only the documented codes and
    /// caps are checked.
    Unknown,
}

pub fn check(input: &[u8]) {
    let Some((&flags, body)) = input.split_first() else {
        return;
    };
    let content_type = [
        None,
        Some("application/json; charset=utf-8"),
        Some("application/x-ndjson"),
        Some("text/plain"),
    ][usize::from(flags & 0b11)];
    let validator = if flags & 0b1_0000 != 0 {
        &*SMALL_VALIDATOR
    } else {
        &*DEFAULT
    };
    let limits = &validator.limits;

    let (sent, content_encoding, expected) = match (flags >> 2) & 0b11 {
        0 => (body.to_vec(), None, events_in(body, content_type, limits)),
        1 => (
            body.to_vec(),
            Some("identity"),
            events_in(body, content_type, limits),
        ),
        2 => gzip_members(body, flags & 0b10_0000 != 0, content_type, limits),
        _ => (body.to_vec(), Some("gzip"), Expected::Unknown),
    };
    let expected = if content_type == Some("text/plain") {
        Expected::Refused("content_type.unsupported")
    } else {
        expected
    };

    let request = RequestBody {
        content_type,
        content_encoding,
        body: &sent,
    };
    match validator.validate_request(request, contract::now()) {
        Ok(outcomes) => {
            match expected {
                Expected::Events(count) => assert_eq!(outcomes.len(), count, "one outcome per event"),
                Expected::Refused(code) => panic!("accepted a body that must be refused with {code}"),
                Expected::MalformedArray => panic!("accepted an array that is not JSON"),
                Expected::Unknown => {}
            }
            assert!((1..=limits.max_batch_events).contains(&outcomes.len()));
            assert_request(&outcomes, limits);
        }
        Err(error) => {
            match expected {
                Expected::Refused(code) => assert_eq!(error.code, code, "{}", error.message),
                Expected::Events(count) => panic!("refused a body of {count} events: {error:?}"),
                Expected::MalformedArray => assert!(
                    matches!(error.code, "body.malformed_json" | "body.too_many_events"),
                    "{error:?}"
                ),
                Expected::Unknown => {}
            }
            assert_refusal(&error, &sent);
        }
    }
}

fn assert_refusal(error: &BodyError, sent: &[u8]) {
    assert_documented_body_error(error.status, error.code, &error.message);
    let reply = body_error_reply("fuzz", error);
    assert_eq!(reply.json()["error"]["code"], error.code);
    if error.keeps_raw_body() {
        let line: Value = serde_json::from_slice(&body_error_record("fuzz", contract::now(), error, sent))
            .expect("the error record of a body is JSON");
        assert_eq!(line["errors"][0]["code"], error.code);
    }
}

/// The body compressed here, one member per NUL-separated part (the last part left raw with
/// `garbage`), and what the contract says about it: members past 64 or trailing bytes are
/// `body.malformed_gzip`, unless the members inflate past the limit first.
fn gzip_members(
    body: &[u8],
    garbage: bool,
    content_type: Option<&str>,
    limits: &Limits,
) -> (Vec<u8>, Option<&'static str>, Expected) {
    let mut parts: Vec<&[u8]> = body.split(|byte| *byte == 0).collect();
    let trailing = if garbage {
        parts.pop().filter(|rest| !rest.is_empty())
    } else {
        None
    };
    let mut sent = Vec::new();
    for part in &parts {
        push_gzip_member(&mut sent, part);
    }
    sent.extend(trailing.unwrap_or_default());

    let read = &parts[..parts.len().min(MAX_GZIP_MEMBERS)];
    let inflated: usize = read.iter().map(|part| part.len()).sum();
    let expected = if inflated > limits.max_request_bytes {
        Expected::Refused("body.too_large")
    } else if parts.len() > MAX_GZIP_MEMBERS {
        Expected::Refused("body.malformed_gzip")
    } else {
        match trailing {
            // Garbage that starts like a gzip member could, in principle, be one.
            Some([0x1f, ..]) => Expected::Unknown,
            Some(_) => Expected::Refused("body.malformed_gzip"),
            None => events_in(&parts.concat(), content_type, limits),
        }
    };
    (sent, Some("gzip"), expected)
}

thread_local! {
    /// One deflater for every member: a new one costs a 300 KB allocation, most of an execution.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), false));
}

/// `data` as one gzip member (RFC 1952): header, deflate stream, CRC-32 and length.
fn push_gzip_member(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    DEFLATE.with_borrow_mut(|deflate| {
        deflate.reset();
        loop {
            out.reserve(data.len() + 64);
            let read = usize::try_from(deflate.total_in()).expect("a small input");
            let status = deflate
                .compress_vec(&data[read..], out, FlushCompress::Finish)
                .expect("deflating into a Vec");
            if status == Status::StreamEnd {
                break;
            }
        }
    });
    let mut crc = Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&crc.amount().to_le_bytes());
}

/// The oracle: how `docs/event-contract.md` reads a decoded body, with serde_json alone (not
/// the validator's splitter) deciding what is JSON and how many elements an array has.
fn events_in(decoded: &[u8], content_type: Option<&str>, limits: &Limits) -> Expected {
    if decoded.len() > limits.max_request_bytes {
        return Expected::Refused("body.too_large");
    }
    let count = |events: usize| match events {
        0 => Expected::Refused("body.empty"),
        n if n > limits.max_batch_events => Expected::Refused("body.too_many_events"),
        n => Expected::Events(n),
    };
    if content_type == Some("application/x-ndjson") {
        let lines = decoded.split(|byte| *byte == b'\n');
        return count(lines.filter(|line| !line.trim_ascii().is_empty()).count());
    }
    // An object body is its one event, trimmed of ASCII whitespace (form feeds too) as every
    // event is; any other body is read as JSON whole.
    let trimmed = decoded.trim_ascii();
    let json_whitespace_only = decoded.iter().all(|byte| b" \t\n\r".contains(byte));
    match (trimmed.first(), contract::is_json(decoded)) {
        (Some(b'['), true) => {
            count(serde_json::from_slice::<Vec<IgnoredAny>>(decoded).map_or(0, |events| events.len()))
        }
        (Some(b'{'), _) if contract::is_json(trimmed) => Expected::Events(1),
        // Past max_event_bytes the event is rejected before it is parsed.
        (Some(b'{'), _) if trimmed.len() > limits.max_event_bytes => Expected::Events(1),
        (Some(b'{'), _) => Expected::Refused("body.malformed_json"),
        (_, true) => Expected::Refused("body.not_object_or_array"),
        // The splitter stops one event past the limit, without reading the rest.
        (Some(b'['), false) => Expected::MalformedArray,
        (_, false) if json_whitespace_only => Expected::Refused("body.empty"),
        (_, false) => Expected::Refused("body.malformed_json"),
    }
}
