//! Packing, over any mix of event types and sizes: every valid event is in exactly one record,
//! a record holds one type in request order, its lines are the events' own values, and it stays
//! within the target unless it is one event larger than the target on its own.

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use rtstream_core::config::KINESIS_MAX_RECORD_BYTES;
use rtstream_core::packing::pack;
use rtstream_core::schema::SchemaRegistry;
use rtstream_core::validator::{Outcome, RequestBody};
use rtstream_core::{Limits, Validator, PIPELINE};
use serde_json::Value;
use std::path::Path;

fn now() -> DateTime<Utc> {
    "2026-11-26T18:00:00Z".parse().unwrap()
}

fn validator() -> Validator {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    Validator::new(Limits::default(), SchemaRegistry::load_dir(&dir).unwrap())
}

/// A request of events `(type, payload padding, pretty)`: ids `e-<n>`, the client's line breaks
/// and indentation in the records when `pretty`.
fn outcomes(events: &[(u8, usize, bool)]) -> Vec<Outcome> {
    let texts: Vec<String> = events
        .iter()
        .enumerate()
        .map(|(n, &(kind, padding, pretty))| {
            let event = match kind % 3 {
                0 => serde_json::json!({"event_id": format!("e-{n}"), "event_type": "page_view", "occurred_at": "2026-11-26T17:00:00Z", "payload": {"url": "x".repeat(padding)}}),
                1 => serde_json::json!({"event_id": format!("e-{n}"), "event_type": "order_placed", "occurred_at": "2026-11-26T17:00:00Z", "payload": {"order_id": "x".repeat(padding), "amount": 1.50, "currency": "EUR"}}),
                _ => serde_json::json!({"event_id": format!("e-{n}"), "event_type": "page_view", "payload": {}}),
            };
            if pretty { serde_json::to_string_pretty(&event) } else { serde_json::to_string(&event) }.unwrap()
        })
        .collect();
    let body = format!("[{}]", texts.join(",\n"));
    let request = RequestBody {
        content_type: Some("application/json"),
        content_encoding: None,
        body: body.as_bytes(),
    };
    validator().validate_request(request, now()).unwrap()
}

fn check(outcomes: &[Outcome], target: usize) -> Vec<Vec<usize>> {
    let records = pack(outcomes, Some(target));
    let mut seen: Vec<usize> = Vec::new();
    for record in &records {
        let raw_lines: Vec<&[u8]> = record.data.split(|byte| *byte == b'\n').collect();
        let lines: Vec<Value> = raw_lines
            .iter()
            .map(|line| serde_json::from_slice(line).expect("each line is one event"))
            .collect();
        assert_eq!(lines.len(), record.events.len());
        let first = &outcomes[record.events[0]];
        assert_eq!(
            Some(record.partition_key),
            first.event_id(),
            "the first event's id"
        );
        for ((line, raw_line), &index) in lines.iter().zip(&raw_lines).zip(&record.events) {
            let Outcome::Valid {
                record: text,
                event_type,
                ..
            } = &outcomes[index]
            else {
                panic!("a rejected event was packed")
            };
            let one_line: Vec<u8> = text
                .iter()
                .copied()
                .filter(|byte| !matches!(byte, b'\n' | b'\r'))
                .collect();
            assert_eq!(
                *raw_line,
                one_line.as_slice(),
                "the validator's text but for its line breaks"
            );
            assert_eq!(
                line,
                &serde_json::from_slice::<Value>(text).unwrap(),
                "the event's own values"
            );
            assert_eq!(
                Some(event_type.as_str()),
                first.event_type(),
                "one type per record"
            );
        }
        assert!(
            record.events.windows(2).all(|pair| pair[0] < pair[1]),
            "request order"
        );
        assert!(
            record.size() <= target || record.events.len() == 1,
            "{} bytes past the target {target} with {} events",
            record.size(),
            record.events.len()
        );
        assert!(record.size() <= KINESIS_MAX_RECORD_BYTES);
        seen.extend(&record.events);
    }
    seen.sort_unstable();
    let valid: Vec<usize> = (0..outcomes.len())
        .filter(|&index| matches!(outcomes[index], Outcome::Valid { .. }))
        .collect();
    assert_eq!(seen, valid, "every valid event exactly once");
    records.into_iter().map(|record| record.events).collect()
}

#[test]
fn the_configured_target_packs_small_events_and_leaves_a_large_one_alone() {
    let target = PIPELINE.packing.target_record_bytes;
    // 0..3 and 5..8: small page views; 4: a page view larger than the target; 8: an order.
    let mut events = vec![(0, 10, false); 9];
    events[4] = (0, target, false);
    events[8] = (1, 10, true);
    let outcomes = outcomes(&events);
    let records = check(&outcomes, target);
    assert_eq!(records, vec![vec![0, 1, 2, 3, 5, 6, 7], vec![4], vec![8]]);
}

#[test]
fn a_record_is_filled_to_the_target_and_no_further() {
    let outcomes = outcomes(&[(0, 10, false); 3]);
    let records = pack(&outcomes, None);
    let sizes: Vec<usize> = records.iter().map(|record| record.size()).collect();
    // Exactly two events' room, newline included, holds two; one byte less holds one.
    let two = sizes[0] + 1 + records[1].data.len();
    assert_eq!(check(&outcomes, two), vec![vec![0, 1], vec![2]]);
    assert_eq!(check(&outcomes, two - 1), vec![vec![0], vec![1], vec![2]]);
}

#[test]
fn without_a_target_every_event_is_its_own_record_as_the_validator_built_it() {
    let outcomes = outcomes(&[(0, 10, true), (1, 10, false), (0, 10, false)]);
    let records = pack(&outcomes, None);
    assert_eq!(records.len(), 3);
    for (record, outcome) in records.iter().zip(&outcomes) {
        let Outcome::Valid {
            record: text,
            event_id,
            ..
        } = outcome
        else {
            panic!()
        };
        assert_eq!(
            (record.data.as_ref(), record.partition_key),
            (text.as_slice(), event_id.as_str())
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_request_packs_within_the_rules(
        events in prop::collection::vec((0u8..3, prop_oneof![0usize..50, 50usize..3000], any::<bool>()), 1..60),
        target in prop_oneof![Just(PIPELINE.packing.target_record_bytes), 100usize..8000],
    ) {
        check(&outcomes(&events), target);
    }
}
