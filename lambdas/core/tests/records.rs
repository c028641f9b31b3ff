//! Whatever valid-by-contract form an event is sent in (field order, whitespace, escapes, any
//! RFC 3339 spelling of `occurred_at`, an id present, `null` or absent), its Kinesis record is
//! that event with `occurred_at` canonical and an `event_id`, every other byte as sent.

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use proptest::prelude::*;
use rtstream_core::envelope::{self, Envelope};
use rtstream_core::schema::SchemaRegistry;
use rtstream_core::validator::{Outcome, RequestBody};
use rtstream_core::{Limits, Validator};
use serde_json::Value;
use std::path::Path;

fn now() -> DateTime<Utc> {
    "2026-11-26T18:00:00Z".parse().unwrap()
}

/// An instant in the window and one RFC 3339 spelling of it.
fn occurred_at() -> impl Strategy<Value = (DateTime<Utc>, String)> {
    let days = Limits::default().max_past_days as i64;
    (
        0..days * 86_400_000_000,
        -(24 * 60 - 1)..(24 * 60),
        0usize..=12,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(micros_ago, offset_minutes, digits, lower, zulu)| {
            let at = now() - Duration::days(days) + Duration::microseconds(micros_ago);
            let at = at.min(now());
            let offset = FixedOffset::east_opt(if zulu { 0 } else { offset_minutes * 60 }).unwrap();
            let local = at.with_timezone(&offset);
            let mut text = local.format("%Y-%m-%dT%H:%M:%S").to_string();
            if digits > 0 {
                let fraction = format!("{:06}", at.timestamp_subsec_micros());
                let fraction = format!("{fraction}{}", "0".repeat(digits.saturating_sub(6)));
                text.push('.');
                text.push_str(&fraction[..digits]);
            }
            text.push_str(&if zulu {
                "Z".to_string()
            } else {
                local.format("%:z").to_string()
            });
            if lower {
                text = text.to_lowercase();
            }
            // The instant the spelling names: digits past those sent are zero.
            let named = DateTime::parse_from_rfc3339(&text).unwrap().to_utc();
            (named, text)
        })
}

/// A JSON string literal for `text`, sometimes with every character escaped.
fn literal(text: &str, escape: bool) -> String {
    if escape {
        format!(
            "\"{}\"",
            text.chars()
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect::<String>()
        )
    } else {
        serde_json::to_string(text).unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_record_is_the_event_as_sent_with_the_two_edits(
        (instant, sent_at) in occurred_at(),
        id in prop_oneof![Just(None), Just(Some(None)), "[a-z0-9-]{1,20}".prop_map(|id| Some(Some(id)))],
        source in prop_oneof![Just(None), Just(Some(None)), "[ -~]{0,20}".prop_map(|s| Some(Some(s)))],
        number in prop_oneof![Just("12345678901234567890.123456789"), Just("-0.0"), Just("1E+300"), Just("1.50")],
        escape in any::<bool>(),
        space in prop_oneof![Just(""), Just(" "), Just("\n  "), Just("\t")],
        order in Just((0..5).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        let mut members = [
            Some(format!("\"event_type\":{space}{}", literal("page_view", escape))),
            Some(format!("\"occurred_at\":{space}{}", literal(&sent_at, escape))),
            Some(format!("\"payload\":{space}{{\"url\":{space}\"x\",{space}\"n\":{space}{number}}}")),
            id.as_ref().map(|id| format!("\"event_id\":{space}{}", id.as_deref().map_or("null".into(), |id| literal(id, escape)))),
            source.as_ref().map(|s| format!("\"source\":{space}{}", s.as_deref().map_or("null".into(), |s| literal(s, escape)))),
        ];
        let members: Vec<String> = order.iter().filter_map(|&i| members[i].take()).collect();
        let text = format!("{{{space}{}{space}}}", members.join(&format!(",{space}")));
        let schemas = SchemaRegistry::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")).unwrap();
        let validator = Validator::new(Limits::default(), schemas);
        let request = RequestBody { content_type: None, content_encoding: None, body: text.as_bytes() };

        let outcomes = validator.validate_request(request, now()).unwrap();

        let Outcome::Valid { event_id, record, .. } = &outcomes[0] else { panic!("{text}: {:?}", outcomes[0]) };
        let canonical = instant.to_rfc3339_opts(SecondsFormat::Micros, true);
        prop_assert_eq!(&envelope::canonical(instant), &canonical);
        // One copy of every field, as the envelope reads it.
        let read = Envelope::read(record).unwrap_or_else(|e| panic!("{}: {e:?}", String::from_utf8_lossy(record)));
        prop_assert_eq!(read.event_id.value.as_deref(), Some(event_id.as_str()));
        let parsed: Value = serde_json::from_slice(record).unwrap();
        let mut expected: Value = serde_json::from_str(&text).unwrap();
        expected["occurred_at"] = canonical.clone().into();
        expected["event_id"] = event_id.as_str().into();
        prop_assert_eq!(&parsed, &expected);
        // Every byte outside the two edits is as sent: numbers keep their digits.
        let record = String::from_utf8(record.clone()).unwrap();
        prop_assert!(record.contains(&format!("\"n\":{space}{number}}}")), "{}", record);
        if matches!(id, Some(Some(_))) {
            prop_assert_eq!(record.replace(&literal(&canonical, false), &literal(&sent_at, escape)), text);
        }
    }
}

/// A JSON value as text, some of them envelope-like, with repeated keys now and then.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        "-?[0-9]{1,25}(\\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?",
        "\"([ -!#-\\[\\]-~]|\\\\u00[0-7][0-9a-f]|\\\\n){0,12}\"",
        Just("\"2026-11-26T17:00:00Z\"".to_string()),
        Just("\"page_view\"".to_string()),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("event_id"),
            Just("event_type"),
            Just("occurred_at"),
            Just("source"),
            Just("payload"),
            Just("url"),
            Just("a")
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((key, inner), 0..6).prop_map(|members| {
                let members: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
                format!("{{{}}}", members.join(", "))
            }),
        ]
    })
}

/// An event whose fields are often, but not always, valid, in any order, sometimes repeated.
fn envelope_text() -> impl Strategy<Value = String> {
    let member = |key: &'static str, values: Vec<&'static str>| {
        prop::option::weighted(0.95, prop::sample::select(values))
            .prop_map(move |value| value.map(|value| format!("\"{key}\": {value}")))
    };
    (
        member("event_id", vec!["\"e-1\"", "null", "\"\"", "7", "\"\\u0065\""]),
        member(
            "event_type",
            ["\"page_view\""; 6]
                .into_iter()
                .chain(["\"Bad\"", "null", "[]"])
                .collect(),
        ),
        member(
            "occurred_at",
            [
                "\"2026-11-26T17:00:00Z\"",
                "\"2026-11-26t17:00:00.123456789+05:30\"",
            ]
            .repeat(3)
            .into_iter()
            .chain(["\"2026-11-26T17:00:60Z\"", "\"1999-01-01T00:00:00Z\"", "{}"])
            .collect(),
        ),
        member("source", vec!["\"web\"", "null", "1", "\"\\n\""]),
        prop::option::weighted(
            0.9,
            prop_oneof![
                3 => prop::collection::vec(("[a-z]", json_text()), 0..4).prop_map(|members| {
                    let members: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
                    format!("{{{}}}", members.join(", "))
                }),
                1 => json_text(),
            ],
        ),
        prop::sample::select(vec!["", "", "", "", "\"extra\": 1", "\"source\": \"again\""]),
        Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
    )
        .prop_map(|(id, event_type, occurred_at, source, payload, extra, order)| {
            let payload = payload.map(|payload| format!("\"payload\": {payload}"));
            let extra = (!extra.is_empty()).then(|| extra.to_string());
            let mut members = [id, event_type, occurred_at, source, payload, extra];
            let members: Vec<String> = order.iter().filter_map(|&i| members[i].take()).collect();
            format!("{{{}}}", members.join(", "))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_json_gets_an_outcome_and_valid_records_read_back_canonical(text in prop_oneof![json_text(), envelope_text()]) {
        let schemas = SchemaRegistry::from_schemas([("_default".to_string(), serde_json::json!({}))]).unwrap();
        let validator = Validator::new(Limits::default(), schemas);
        let request = RequestBody { content_type: Some("application/x-ndjson"), content_encoding: None, body: text.as_bytes() };
        let Ok(outcomes) = validator.validate_request(request, now()) else { return Ok(()) };
        for outcome in &outcomes {
            match outcome {
                Outcome::Valid { event_id, record, .. } => {
                    let read = Envelope::read(record).unwrap();
                    prop_assert_eq!(read.event_id.value.as_deref(), Some(event_id.as_str()));
                    let at = read.occurred_at.as_ref().unwrap().text.value.as_deref().unwrap();
                    prop_assert_eq!(Some(at.to_string()), read.canonical_occurred_at());
                }
                Outcome::Rejected { errors, .. } => prop_assert!(!errors.is_empty()),
            }
        }
    }
}
