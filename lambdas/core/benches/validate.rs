//! The validator core over real-sized events, against the ceiling of merely parsing the same
//! bytes with serde_json. Each request is handled as the Lambda handles it, but for the I/O:
//! validated, packed into Kinesis records (the default delivery mode's packing) and answered
//! (the capped reply). `scripts/bench` runs it beside the Python reference and prints ratios.
//!
//! Usage: cargo bench -p rtstream-core --bench validate -- EVENTS.ndjson SECONDS

use rtstream_core::config::DeliveryMode;
use rtstream_core::packing::pack;
use rtstream_core::response::batch_reply;
use rtstream_core::schema::SchemaRegistry;
use rtstream_core::validator::{Outcome, RequestBody};
use rtstream_core::{Limits, Validator};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runs `pass` (which handles `events_per_pass` events) until `budget` is spent; events/s.
fn rate(budget: Duration, events_per_pass: usize, mut pass: impl FnMut()) -> f64 {
    pass(); // warm-up
    let started = Instant::now();
    let mut passes = 0u64;
    while started.elapsed() < budget {
        pass();
        passes += 1;
    }
    (passes as f64 * events_per_pass as f64) / started.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|arg| arg != "--bench").collect();
    let events_path = PathBuf::from(args.first().expect("usage: validate EVENTS.ndjson [SECONDS]"));
    let seconds: f64 = args
        .get(1)
        .map_or(3.0, |s| s.parse().expect("SECONDS is a number"));
    let budget = Duration::from_secs_f64(seconds);

    let text = std::fs::read(&events_path).expect("events file");
    let events: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .collect();
    let schemas =
        SchemaRegistry::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")).unwrap();
    let limits = Limits::default();
    let validator = Validator::new(limits, schemas);
    let batches: Vec<Vec<u8>> = events
        .chunks(limits.max_batch_events)
        .map(|chunk| {
            let mut body = b"[".to_vec();
            body.extend(chunk.join(&b","[..]));
            body.push(b']');
            body
        })
        .collect();
    // The validator's clock is the latest occurred_at of the events: the generated events are
    // fixed in time, and measured against today's clock they would age out of max_past_days.
    let now = events
        .iter()
        .filter_map(|event| {
            let event: serde_json::Value = serde_json::from_slice(event).ok()?;
            event["occurred_at"]
                .as_str()?
                .parse::<chrono::DateTime<chrono::Utc>>()
                .ok()
        })
        .max()
        .expect("events with an occurred_at");
    let json = |body| RequestBody {
        content_type: Some("application/json"),
        content_encoding: None,
        body,
    };

    let accepted = events
        .iter()
        .filter(|event| {
            matches!(
                validator.validate_request(json(event), now).unwrap()[0],
                Outcome::Valid { .. }
            )
        })
        .count();
    let mean_bytes = events.iter().map(|e| e.len()).sum::<usize>() as f64 / events.len() as f64;
    println!(
        "events={} mean_event_bytes={mean_bytes:.1} accepted={accepted}",
        events.len()
    );

    let parse_ceiling = rate(budget, events.len(), || {
        for event in &events {
            black_box(serde_json::from_slice::<serde_json::Value>(event).unwrap());
        }
    });
    let packing_target = DeliveryMode::default().packing_target();
    let handle = |body| {
        let outcomes = validator.validate_request(json(body), now).unwrap();
        let records = pack(&outcomes, packing_target);
        let accepted: Vec<bool> = outcomes
            .iter()
            .map(|outcome| matches!(outcome, Outcome::Valid { .. }))
            .collect();
        black_box(&records);
        black_box(batch_reply("bench", &outcomes, &accepted, None));
    };
    let single = rate(budget, events.len(), || {
        for event in &events {
            handle(event);
        }
    });
    let batch = rate(budget, events.len(), || {
        for body in &batches {
            handle(body);
        }
    });
    println!("parse_ceiling_events_per_sec={parse_ceiling:.0}");
    println!("validator_single_events_per_sec={single:.0}");
    println!("validator_batch_events_per_sec={batch:.0}");
}
