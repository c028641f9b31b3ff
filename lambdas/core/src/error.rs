//! The machine-readable error shape shared by every response and error record, and the caps
//! that keep what one request can make us write bounded (`docs/event-contract.md`, "Caps").

use serde::Serialize;
use std::fmt::{self, Display, Write};

/// Reasons listed for one event; enough to fix it.
pub const MAX_ERRORS_PER_EVENT: usize = 20;
/// Reasons listed for a whole request in all; the first reason of each rejected event is kept
/// even past it.
pub const MAX_ERRORS_PER_REQUEST: usize = 1000;
/// How much of a client's value a message quotes.
pub const MAX_ECHO_BYTES: usize = 128;
/// Gzip members one body may hold (`cat a.gz b.gz`): each costs a header and an inflater.
pub const MAX_GZIP_MEMBERS: usize = 64;
/// The longest message and path (a pointer through client-chosen keys) an error carries.
pub const MAX_MESSAGE_BYTES: usize = 256;
pub const MAX_PATH_BYTES: usize = 256;
/// What marks a truncated text.
pub const ELLIPSIS: char = '…';

/// One reason an event (or a body) was refused: a JSON Pointer into the event, a stable code
/// from `docs/event-contract.md`, and a human message. Path and message are cut to
/// [`MAX_PATH_BYTES`] and [`MAX_MESSAGE_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDetail {
    pub path: String,
    pub code: String,
    pub message: String,
}

impl ErrorDetail {
    pub fn new(path: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: truncated(path.into(), MAX_PATH_BYTES),
            code: code.into(),
            message: truncated(message.into(), MAX_MESSAGE_BYTES),
        }
    }
}

/// `text` cut to at most `max` bytes (on a character boundary) plus [`ELLIPSIS`] when longer.
pub fn truncated(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push(ELLIPSIS);
    }
    text
}

/// `value` formatted, but never more than `max` bytes of it (plus [`ELLIPSIS`]): formatting
/// stops there, so a megabyte value costs no more than a short one.
pub fn bounded(value: impl Display, max: usize) -> String {
    struct Bounded {
        text: String,
        max: usize,
    }
    impl Write for Bounded {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let room = self.max - self.text.len();
            if s.len() <= room {
                self.text.push_str(s);
                return Ok(());
            }
            let mut cut = room;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.text.push_str(&s[..cut]);
            Err(fmt::Error)
        }
    }
    let mut out = Bounded {
        text: String::new(),
        max,
    };
    if write!(out, "{value}").is_err() {
        out.text.push(ELLIPSIS);
    }
    out.text
}

/// A client's string as a message quotes it: in double quotes, at most [`MAX_ECHO_BYTES`].
pub fn echo(value: &str) -> String {
    struct Quoted<'a>(&'a str);
    impl Display for Quoted<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }
    bounded(Quoted(value), MAX_ECHO_BYTES)
}

/// Codes used in more than one place; the full list lives in `docs/event-contract.md`.
pub mod codes {
    pub const WRITE_FAILED: &str = "write.failed";
    pub const ERROR_STORE_FAILED: &str = "error_store.failed";
    pub const EVENT_NOT_OBJECT: &str = "event.not_object";
    pub const EVENT_MALFORMED_JSON: &str = "event.malformed_json";
    pub const EVENT_TOO_LARGE: &str = "event.too_large";
    pub const MISSING_FIELD: &str = "envelope.missing_field";
    pub const UNKNOWN_FIELD: &str = "envelope.unknown_field";
    pub const DUPLICATE_FIELD: &str = "envelope.duplicate_key";
    pub const INVALID_TYPE: &str = "envelope.invalid_type";
    pub const INVALID_EVENT_ID: &str = "envelope.invalid_event_id";
    pub const INVALID_EVENT_TYPE: &str = "envelope.invalid_event_type";
    pub const INVALID_TIMESTAMP: &str = "envelope.invalid_timestamp";
    pub const OCCURRED_AT_IN_FUTURE: &str = "envelope.occurred_at_in_future";
    pub const OCCURRED_AT_TOO_OLD: &str = "envelope.occurred_at_too_old";
    pub const INVALID_SOURCE: &str = "envelope.invalid_source";
    pub const PAYLOAD_DUPLICATE_KEY: &str = "payload.duplicate_key";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        assert_eq!(truncated("abc".into(), 3), "abc");
        assert_eq!(truncated("abcd".into(), 3), "abc…");
        assert_eq!(truncated("aé".into(), 2), "a…", "é is two bytes");
        let detail = ErrorDetail::new("/".repeat(1000), "c", "m".repeat(1000));
        assert_eq!(detail.path.len(), MAX_PATH_BYTES + ELLIPSIS.len_utf8());
        assert_eq!(detail.message.len(), MAX_MESSAGE_BYTES + ELLIPSIS.len_utf8());
    }

    #[test]
    fn bounded_formatting_stops_at_the_limit() {
        assert_eq!(bounded(12345, 10), "12345");
        assert_eq!(bounded(12345, 3), "123…");
        assert_eq!(bounded("ééé", 3), "é…");
        let big = serde_json::json!({"s": "x".repeat(1 << 20)});
        assert_eq!(bounded(&big, 8), "{\"s\":\"xx…");
    }

    #[test]
    fn echoes_are_quoted_and_short() {
        assert_eq!(echo("a\"b"), "\"a\\\"b\"");
        let long = echo(&"x".repeat(1 << 20));
        assert!(long.starts_with("\"xxx") && long.ends_with('…'));
        assert_eq!(long.len(), MAX_ECHO_BYTES + ELLIPSIS.len_utf8());
    }
}
