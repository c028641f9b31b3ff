//! What `docs/event-contract.md` promises about every answer, checked the same way by the body
//! and envelope targets: documented codes, the caps, and the shape of stored records.

use chrono::{DateTime, Utc};
use rtstream_core::envelope::is_valid_event_id;
use rtstream_core::error::{
    ELLIPSIS, MAX_ERRORS_PER_EVENT, MAX_ERRORS_PER_REQUEST, MAX_MESSAGE_BYTES, MAX_PATH_BYTES,
};
use rtstream_core::response::{batch_reply, rejection_records};
use rtstream_core::schema::SchemaRegistry;
use rtstream_core::validator::{Outcome, RawEvent};
use rtstream_core::{ErrorDetail, Limits, Validator};
use serde::de::IgnoredAny;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;
use std::sync::LazyLock;

/// The contract as written: its tables name every code an answer may carry.
const CONTRACT: &str = include_str!("../../docs/event-contract.md");

/// "a 202/503 body stays under 4 MB for any body within `max_request_bytes`".
pub const MAX_REPLY_BYTES: usize = 4_000_000;

/// The validator's clock in every target: the fixtures' events are minutes before it.
pub fn now() -> DateTime<Utc> {
    "2026-11-26T10:00:00Z".parse().expect("a valid timestamp")
}

/// Whether `text` is JSON, by serde_json alone: UTF-8, then the syntax (IgnoredAny reads it
/// as the splitter does, with no depth limit and numbers of any size).
pub fn is_json(text: &[u8]) -> bool {
    std::str::from_utf8(text).is_ok_and(|text| serde_json::from_str::<IgnoredAny>(text).is_ok())
}

/// A validator over the repository's `schemas/`.
pub fn validator(limits: Limits) -> Validator {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("config/pipeline.json").is_file())
        .expect("the crate is inside the repository");
    let schemas = SchemaRegistry::load_dir(&root.join("schemas")).expect("the shipped schemas compile");
    Validator::new(limits, schemas)
}

/// Every backticked word in the contract's tables: codes, and `status` cells next to them.
static TABLE_WORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    CONTRACT
        .lines()
        .filter(|line| line.starts_with('|'))
        .flat_map(|line| line.split('`').skip(1).step_by(2))
        .collect()
});

/// `(status, code)` of the table of whole-body refusals: `| 400 | `body.empty` | … |`.
static BODY_ERRORS: LazyLock<HashSet<(u16, &'static str)>> = LazyLock::new(|| {
    CONTRACT
        .lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let status = cells.next()?.parse().ok()?;
            let code = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((status, code))
        })
        .collect()
});

/// An event's error code is in the contract's table (`schema.<keyword>` for any keyword).
pub fn assert_documented_code(code: &str) {
    let schema_keyword = code.strip_prefix("schema.").is_some_and(|keyword| {
        !keyword.is_empty()
            && keyword
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte == b'_')
    });
    assert!(
        TABLE_WORDS.contains(code) || (schema_keyword && TABLE_WORDS.contains("schema.<keyword>")),
        "undocumented error code {code:?}"
    );
}

/// A whole-body refusal has a status and code from the contract's table and a capped message.
pub fn assert_documented_body_error(status: u16, code: &str, message: &str) {
    assert!(
        BODY_ERRORS.contains(&(status, code)),
        "undocumented body error {status} {code:?}"
    );
    assert_capped(message, MAX_MESSAGE_BYTES, "message");
}

fn assert_capped(text: &str, max: usize, what: &str) {
    assert!(
        text.len() <= max + ELLIPSIS.len_utf8(),
        "{what} of {} bytes, past the cap of {max}: {text:?}",
        text.len()
    );
}

fn assert_error(error: &ErrorDetail) {
    assert_documented_code(&error.code);
    assert_capped(&error.path, MAX_PATH_BYTES, "path");
    assert_capped(&error.message, MAX_MESSAGE_BYTES, "message");
    assert!(
        error.path.is_empty() || error.path.starts_with('/'),
        "not a JSON Pointer: {:?}",
        error.path
    );
}

/// What holds for any outcome: a valid one is a JSON object under its id, within
/// `max_event_bytes` with its partition key; a rejected one has 1–20 documented, capped reasons,
/// a valid client id or none, and its raw JSON on one line.
pub fn assert_outcome(outcome: &Outcome, limits: &Limits) {
    match outcome {
        Outcome::Valid { event_id, record, .. } => {
            assert!(is_valid_event_id(event_id), "{event_id:?}");
            let stored: Value = serde_json::from_slice(record).expect("a stored record is JSON");
            assert_eq!(stored["event_id"], event_id.as_str(), "the record carries its id");
            assert!(
                record.len() + event_id.len() <= limits.max_event_bytes,
                "a record of {} bytes past max_event_bytes",
                record.len() + event_id.len()
            );
        }
        Outcome::Rejected {
            event_id,
            errors,
            raw,
            ..
        } => {
            assert!(
                (1..=MAX_ERRORS_PER_EVENT).contains(&errors.len()),
                "{} errors",
                errors.len()
            );
            errors.iter().for_each(assert_error);
            if let Some(id) = event_id {
                assert!(is_valid_event_id(id), "an invalid id reported: {id:?}");
            }
            if let RawEvent::Json(raw) = raw {
                assert!(!raw.get().contains('\n'), "raw JSON must fit one NDJSON line");
            }
        }
    }
}

/// What holds for a request's outcomes together: the reply lists one result per event, its
/// errors within the request cap, in under 4 MB; the error record has one line per rejection.
pub fn assert_request(outcomes: &[Outcome], limits: &Limits) {
    outcomes
        .iter()
        .for_each(|outcome| assert_outcome(outcome, limits));
    let rejected = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Rejected { .. }))
        .count();
    let errors: usize = outcomes
        .iter()
        .map(|outcome| match outcome {
            Outcome::Rejected { errors, .. } => errors.len(),
            Outcome::Valid { .. } => 0,
        })
        .sum();
    assert!(
        errors <= MAX_ERRORS_PER_REQUEST.max(rejected),
        "{errors} errors in one request"
    );

    let reply = batch_reply("fuzz", outcomes, &vec![true; outcomes.len()], None);
    assert_eq!(reply.status, 202);
    assert_eq!(
        reply.json()["results"].as_array().map(Vec::len),
        Some(outcomes.len())
    );
    let size = reply.body.len();
    assert!(size < MAX_REPLY_BYTES, "a reply of {size} bytes");

    // Lines are checked as JSON text: a kept event may hold numbers no f64 holds (`1e400`).
    let lines = rejection_records("fuzz", now(), outcomes).unwrap_or_default();
    let lines: Vec<&[u8]> = lines
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .collect();
    assert!(
        lines.iter().all(|line| is_json(line)),
        "an error record line is not JSON"
    );
    assert_eq!(lines.len(), rejected, "one error record line per rejected event");
}
