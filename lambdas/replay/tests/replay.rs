//! Replay against aws-smithy-mocks S3 and Kinesis clients: the real SDK request path, the
//! validator's real Kinesis writer and its packing, and schemas from a directory, as the CLI
//! runs them.

use aws_sdk_kinesis::operation::put_records::PutRecordsOutput;
use aws_sdk_kinesis::types::PutRecordsResultEntry;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::Object;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use indicatif::ProgressBar;
use replay::plan::{Filters, Source};
use replay::run::{Counts, Replay};
use replay::state::State;
use replay::ReplayError;
use rtstream_core::envelope::Window;
use rtstream_core::kinesis::Backoff;
use rtstream_core::packing::pack;
use rtstream_core::schema::SchemaRegistry;
use rtstream_core::validator::replay_event_id;
use rtstream_core::{Limits, Validator};
use rtstream_validator::stream::StreamWriter;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BUCKET: &str = "rtstream-errors";
const STREAM: &str = "rtstream-events";
const RECEIVED_AT: &str = "2026-11-26T10:00:01.123Z";
/// An event type the shipped schemas do not know: rejected until `signup.json` is added.
const SIGNUP: &str =
    r#"{"event_type":"signup","occurred_at":"2026-11-26T09:59:00Z","payload":{"plan":"pro"}}"#;

/// Stored objects by key, as S3 lists them (in key order).
type Bucket = BTreeMap<String, Vec<u8>>;
/// What Kinesis was sent: (partition key, data) per record, in order.
type Sent = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

fn s3(bucket: &Bucket, reads: Arc<Mutex<Vec<String>>>) -> aws_sdk_s3::Client {
    let listed = bucket.clone();
    let list = mock!(aws_sdk_s3::Client::list_objects_v2).then_compute_output(move |request| {
        let start_after = request.start_after().unwrap_or_default().to_owned();
        let prefix = request.prefix().unwrap_or_default().to_owned();
        ListObjectsV2Output::builder()
            .set_contents(Some(
                listed
                    .keys()
                    .filter(|key| key.starts_with(&prefix) && key.as_str() > start_after.as_str())
                    .map(|key| Object::builder().key(key).build())
                    .collect(),
            ))
            .build()
    });
    let stored = bucket.clone();
    let get = mock!(aws_sdk_s3::Client::get_object).then_compute_output(move |request| {
        let key = request.key().unwrap().to_owned();
        reads.lock().unwrap().push(key.clone());
        GetObjectOutput::builder()
            .body(ByteStream::from(stored[&key].clone()))
            .build()
    });
    mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&list, &get])
}

/// A Kinesis that throttles, always, the records whose partition key `refuse` names.
fn kinesis(sent: Sent, refuse: impl Fn(&str) -> bool + Send + Sync + 'static) -> Rule {
    mock!(aws_sdk_kinesis::Client::put_records)
        .match_requests(|request| request.stream_name() == Some(STREAM))
        .then_compute_output(move |request| {
            let entries = request
                .records()
                .iter()
                .map(|entry| {
                    let key = entry.partition_key().unwrap().to_owned();
                    if refuse(&key) {
                        return PutRecordsResultEntry::builder()
                            .error_code("ProvisionedThroughputExceededException")
                            .error_message("slow down")
                            .build();
                    }
                    sent.lock().unwrap().push((key, entry.data().as_ref().to_vec()));
                    PutRecordsResultEntry::builder()
                        .sequence_number("49590000000000000000")
                        .shard_id("shardId-000000000000")
                        .build()
                })
                .collect();
            PutRecordsOutput::builder()
                .set_records(Some(entries))
                .build()
                .unwrap()
        })
}

/// The shipped schemas plus `extra` (replacing a shipped one of the same name).
fn schemas_with(extra: &[(&str, Value)]) -> SchemaRegistry {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let mut schemas: Vec<(String, Value)> = std::fs::read_dir(shipped)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            (
                name,
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap(),
            )
        })
        .filter(|(name, _)| !extra.iter().any(|(replaced, _)| replaced == name))
        .collect();
    schemas.extend(
        extra
            .iter()
            .map(|(name, schema)| (name.to_string(), schema.clone())),
    );
    SchemaRegistry::from_schemas(schemas).unwrap()
}

/// The shipped schemas plus `signup.json`: the schema fix replay is for.
fn fixed_schemas() -> SchemaRegistry {
    schemas_with(&[("signup", json!({"type": "object", "required": ["plan"]}))])
}

struct Setup {
    source: Source,
    bucket: Bucket,
    filters: Filters,
    dry_run: bool,
    refuse: fn(&str) -> bool,
    schemas: fn() -> SchemaRegistry,
    revalidate: bool,
    max_records_per_second: u32,
}

impl Setup {
    fn errors(bucket: Bucket) -> Self {
        Self {
            source: Source::Errors,
            bucket,
            filters: Filters::default(),
            dry_run: false,
            refuse: |_| false,
            schemas: fixed_schemas,
            revalidate: false,
            max_records_per_second: 10_000,
        }
    }

    fn processing_failed(bucket: Bucket) -> Self {
        Self {
            source: Source::ProcessingFailed,
            ..Self::errors(bucket)
        }
    }
}

/// One run's outcome.
struct Ran {
    counts: Result<Counts, ReplayError>,
    sent: Vec<(String, Vec<u8>)>,
    reads: Vec<String>,
    report: Vec<Value>,
}

async fn run(setup: &Setup, state: &mut State) -> Ran {
    let sent = Sent::default();
    let reads = Arc::new(Mutex::new(Vec::new()));
    let limits = Limits {
        put_deadline_ms: 300,
        ..Limits::default()
    };
    let fast = Backoff {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(20),
    };
    let refuse = setup.refuse;
    let replay = Replay {
        source: setup.source,
        bucket: BUCKET.into(),
        prefix: match setup.source {
            Source::Errors => "errors/".into(),
            Source::ProcessingFailed => "processing-failed/".into(),
        },
        filters: setup.filters.clone(),
        validator: Validator::new(limits, (setup.schemas)()),
        revalidate: setup.revalidate,
        max_records_per_second: NonZeroU32::new(setup.max_records_per_second).unwrap(),
        s3: s3(&setup.bucket, reads.clone()),
        stream: (!setup.dry_run).then(|| {
            StreamWriter::new(
                mock_client!(
                    aws_sdk_kinesis,
                    RuleMode::MatchAny,
                    [&kinesis(sent.clone(), refuse)]
                ),
                STREAM.into(),
                limits,
                fast,
            )
        }),
    };
    let mut report = Vec::new();
    let counts = replay.run(state, &mut report, &ProgressBar::hidden()).await;
    report.flush().unwrap();
    let report = report
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect();
    let sent = sent.lock().unwrap().clone();
    let reads = reads.lock().unwrap().clone();
    Ran {
        counts,
        sent,
        reads,
        report,
    }
}

fn received_at() -> DateTime<Utc> {
    RECEIVED_AT.parse().unwrap()
}

/// An error-bucket line for event `index` of `request_id`, as the validator writes them.
fn error_line(request_id: &str, index: usize, raw: &str, code: &str) -> String {
    let event_id = serde_json::from_str::<Value>(raw)
        .ok()
        .and_then(|event| event.get("event_id").cloned())
        .unwrap_or(Value::Null);
    json!({
        "request_id": request_id,
        "received_at": RECEIVED_AT,
        "index": index,
        "event_id": event_id,
        "errors": [{"path": "/event_type", "code": code, "message": "…"}],
        "raw": serde_json::from_str::<Value>(raw).unwrap(),
    })
    .to_string()
}

fn ndjson(lines: &[String]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|line| format!("{line}\n").into_bytes())
        .collect()
}

fn with_id(id: &str, event: &str) -> String {
    event.replacen('{', &format!(r#"{{"event_id":"{id}","#), 1)
}

/// Request r-1 on 2026-11-26: two signups (one without an id), a negative order, an NDJSON line
/// that is not JSON and, in request r-2, a body refused as a whole.
fn error_bucket() -> Bucket {
    let negative = r#"{"event_id":"o-1","event_type":"order_placed","occurred_at":"2026-11-26T09:59:00Z","payload":{"order_id":"1","amount":-1,"currency":"EUR"}}"#;
    let unreadable = json!({"request_id": "r-1", "received_at": RECEIVED_AT, "index": 3, "event_id": null,
        "errors": [{"path": "", "code": "event.malformed_json", "message": "…"}], "raw_line": "{oops"});
    let body = json!({"request_id": "r-2", "received_at": RECEIVED_AT, "index": null, "event_id": null,
        "errors": [{"path": "", "code": "body.malformed_json", "message": "…"}], "raw_body": "[{"});
    Bucket::from([
        (
            "errors/dt=2026-11-26/r-1.ndjson".into(),
            ndjson(&[
                error_line("r-1", 0, SIGNUP, "schema.unknown_event_type"),
                error_line("r-1", 1, &with_id("s-1", SIGNUP), "schema.unknown_event_type"),
                error_line("r-1", 2, negative, "schema.minimum"),
                unreadable.to_string(),
            ]),
        ),
        (
            "errors/dt=2026-11-26/r-2.ndjson".into(),
            ndjson(&[body.to_string()]),
        ),
    ])
}

fn codes(report: &[Value]) -> Vec<&str> {
    report
        .iter()
        .map(|line| line["errors"][0]["code"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn now_valid_events_are_sent_and_the_rest_reported_with_their_reasons() {
    let ran = run(&Setup::errors(error_bucket()), &mut State::none()).await;
    let counts = ran.counts.unwrap();
    assert_eq!(
        (
            counts.objects,
            counts.read,
            counts.valid,
            counts.sent,
            counts.still_invalid,
            counts.failed
        ),
        (2, 5, 2, 2, 3, 0)
    );
    let assigned = replay_event_id("r-1", 0, received_at());
    let keys: Vec<&str> = ran.sent.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, [assigned.as_str(), "s-1"]);
    let record: Value = serde_json::from_slice(&ran.sent[0].1).unwrap();
    assert_eq!(
        record["event_id"],
        assigned.as_str(),
        "the id is in the record too"
    );
    assert_eq!(
        record["occurred_at"], "2026-11-26T09:59:00.000000Z",
        "canonical, as the validator writes it"
    );
    assert_eq!(record["payload"]["plan"], "pro");
    assert_eq!(
        codes(&ran.report),
        ["schema.minimum", "event.malformed_json", "replay.whole_body"]
    );
    assert_eq!(ran.report[0]["key"], "errors/dt=2026-11-26/r-1.ndjson");
    assert_eq!(
        (
            &ran.report[0]["line"],
            &ran.report[0]["index"],
            &ran.report[0]["event_id"]
        ),
        (&json!(2), &json!(2), &json!("o-1"))
    );
    assert_eq!(ran.report[0]["errors"][0]["path"], "/payload/amount");
}

#[tokio::test]
async fn replaying_twice_sends_the_same_ids() {
    let setup = Setup::errors(error_bucket());
    let first = run(&setup, &mut State::none()).await;
    let second = run(&setup, &mut State::none()).await;
    assert_eq!(first.sent.len(), 2);
    assert_eq!(first.sent, second.sent, "same partition keys, same bytes");
}

#[tokio::test]
async fn events_are_checked_in_the_occurred_at_window_of_their_arrival() {
    // 40 days after it arrived, the event is still in time: replay judges it as it was then.
    let late = r#"{"event_id":"late-1","event_type":"signup","occurred_at":"2026-10-20T10:00:00Z","payload":{"plan":"pro"}}"#;
    let mut old = error_line("r-3", 0, late, "schema.unknown_event_type");
    old = old.replace(RECEIVED_AT, "2026-10-20T10:00:05.000Z");
    let setup = Setup::errors(Bucket::from([(
        "errors/dt=2026-10-20/r-3.ndjson".into(),
        ndjson(&[old]),
    )]));
    let ran = run(&setup, &mut State::none()).await;
    assert_eq!(ran.sent.len(), 1, "{:?}", ran.report);
}

#[tokio::test]
async fn filters_pick_dates_event_types_and_codes() {
    let mut bucket = error_bucket();
    bucket.insert(
        "errors/dt=2026-11-25/r-0.ndjson".into(),
        ndjson(&[error_line(
            "r-0",
            0,
            &with_id("s-0", SIGNUP),
            "schema.unknown_event_type",
        )]),
    );
    bucket.insert(
        "errors/dt=2026-11-27/r-9.ndjson".into(),
        ndjson(&[error_line(
            "r-9",
            0,
            &with_id("s-9", SIGNUP),
            "schema.unknown_event_type",
        )]),
    );
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d);
    let mut setup = Setup::errors(bucket);
    setup.filters = Filters {
        from: day(26),
        to: day(26),
        ..Filters::default()
    };
    let ran = run(&setup, &mut State::none()).await;
    assert!(
        ran.reads.iter().all(|key| key.contains("dt=2026-11-26/")),
        "other days are not read: {:?}",
        ran.reads
    );
    assert_eq!(ran.sent.len(), 2);

    setup.filters = Filters {
        codes: vec!["schema.minimum".into()],
        ..Filters::default()
    };
    let ran = run(&setup, &mut State::none()).await;
    let counts = ran.counts.unwrap();
    assert!(ran.sent.is_empty());
    assert_eq!((counts.still_invalid, counts.skipped), (1, 6));
    assert_eq!(codes(&ran.report), ["schema.minimum"]);

    setup.filters = Filters {
        event_types: vec!["signup".into()],
        from: day(27),
        ..Filters::default()
    };
    let ran = run(&setup, &mut State::none()).await;
    let keys: Vec<&str> = ran.sent.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["s-9"]);
    assert!(ran.report.is_empty());
}

#[tokio::test]
async fn a_dry_run_sends_and_records_nothing() {
    let path = scratch("dry-run.state");
    let mut setup = Setup::errors(error_bucket());
    setup.dry_run = true;
    let identity = json!({"run": "dry"});
    let ran = run(&setup, &mut State::open(&path, &identity, true).unwrap()).await;
    let counts = ran.counts.unwrap();
    assert_eq!((counts.valid, counts.sent, counts.still_invalid), (2, 0, 3));
    assert!(ran.sent.is_empty());
    assert_eq!(ran.report.len(), 3, "the report says what is still invalid");
    assert!(!path.exists(), "a dry run leaves no state");
}

#[tokio::test]
async fn a_run_resumes_where_the_last_one_stopped() {
    let path = scratch("resume.state");
    let mut bucket = error_bucket();
    bucket.insert(
        "errors/dt=2026-11-27/r-9.ndjson".into(),
        ndjson(&[error_line(
            "r-9",
            0,
            &with_id("s-9", SIGNUP),
            "schema.unknown_event_type",
        )]),
    );
    let mut setup = Setup::errors(bucket);
    setup.refuse = |key| key == "s-9";
    let identity = json!({"run": "resume"});
    let first = run(&setup, &mut State::open(&path, &identity, false).unwrap()).await;
    let counts = first.counts.unwrap();
    assert_eq!(
        (counts.sent, counts.failed),
        (2, 1),
        "s-9 throttled until the deadline"
    );

    setup.refuse = |_| false;
    let second = run(&setup, &mut State::open(&path, &identity, false).unwrap()).await;
    let counts = second.counts.unwrap();
    let keys: Vec<&str> = second.sent.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["s-9"], "events sent before are never sent again");
    assert_eq!(
        (counts.already_sent, counts.still_invalid, counts.failed),
        (2, 3, 0),
        "the still-invalid ones are checked again"
    );
    assert_eq!(second.report.len(), 3, "the report is this run's");

    let third = run(&setup, &mut State::open(&path, &identity, false).unwrap()).await;
    assert!(third.sent.is_empty());
    assert!(
        !third
            .reads
            .contains(&"errors/dt=2026-11-27/r-9.ndjson".to_owned()),
        "an object all sent is not read again: {:?}",
        third.reads
    );
    assert_eq!(third.counts.unwrap().objects_skipped, 1);

    let other = State::open(&path, &json!({"run": "another"}), false);
    assert!(
        matches!(&other, Err(ReplayError::State(message)) if message.contains("another --state-file")),
        "a state file is only resumed by the same replay"
    );
}

#[tokio::test]
async fn after_another_schema_fix_the_same_state_file_sends_only_what_is_newly_valid() {
    let path = scratch("second-fix.state");
    let identity = json!({"run": "second-fix"});
    let mut setup = Setup::errors(error_bucket());
    let first = run(&setup, &mut State::open(&path, &identity, false).unwrap()).await;
    assert_eq!(first.sent.len(), 2, "the signups");
    // The second fix: negative amounts are allowed now.
    setup.schemas = || {
        schemas_with(&[
            ("signup", json!({"type": "object", "required": ["plan"]})),
            ("order_placed", json!({"type": "object"})),
        ])
    };
    let second = run(&setup, &mut State::open(&path, &identity, false).unwrap()).await;
    let keys: Vec<&str> = second.sent.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["o-1"], "the signups are not sent a second time");
    let counts = second.counts.unwrap();
    assert_eq!((counts.already_sent, counts.still_invalid), (2, 2));
    let lines = std::fs::read_to_string(&path).unwrap();
    assert!(
        lines.contains(r#""invalid":"errors/dt=2026-11-26/r-1.ndjson","line":2,"record_line":null,"codes":["schema.minimum"]"#),
        "the state file says why an event was still invalid: {lines}"
    );
}

fn b64(data: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A line of Firehose's error output for the Kinesis record `data`.
fn failed_line(data: impl AsRef<[u8]>) -> String {
    let arrived = received_at().timestamp_millis();
    json!({"attemptsMade": 1, "arrivalTimestamp": arrived, "errorCode": "Lambda.ProcessingFailed",
        "errorMessage": "…", "attemptEndingTimestamp": arrived + 900, "rawData": b64(data),
        "lambdaArn": "arn:aws:lambda:us-east-1:000000000000:function:rtstream-transformer"})
    .to_string()
}

const FAILED_KEY: &str =
    "processing-failed/processing-failed/dt=2026-11-26/rtstream-delivery-1-2026-11-26-10-00-01-x";

#[tokio::test]
async fn processing_failed_records_go_back_into_the_stream() {
    let arrived = received_at();
    let page_view =
        r#"{"event_type":"page_view","occurred_at":"2026-11-26T09:59:00Z","payload":{"url":"https://x"}}"#;
    let text = ndjson(&[
        failed_line(page_view),
        failed_line(with_id("p-1", page_view)),
        failed_line("nope"),
    ]);
    let mut gzipped = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzipped.write_all(&text).unwrap();
    let mut setup = Setup::processing_failed(Bucket::from([
        (FAILED_KEY.to_owned(), text.clone()),
        (format!("{FAILED_KEY}.gz"), gzipped.finish().unwrap()),
    ]));
    setup.revalidate = true;
    let ran = run(&setup, &mut State::none()).await;
    let counts = ran.counts.unwrap();
    assert_eq!((counts.read, counts.sent, counts.still_invalid), (6, 4, 2));
    let keys: Vec<&str> = ran.sent.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys[..2],
        [replay_event_id(&b64(page_view), 0, arrived).as_str(), "p-1"]
    );
    assert_eq!(
        keys[..2],
        keys[2..],
        "a record Firehose failed twice is one event"
    );
    assert_eq!(codes(&ran.report), ["event.malformed_json"; 2]);
    assert_eq!(ran.report[0]["line"], 2);

    let again = run(&setup, &mut State::none()).await;
    assert_eq!(
        ran.sent, again.sent,
        "a record without an id is named alike every time"
    );

    // Without --revalidate, an event with no id is not sent: the transformer cannot load it.
    setup.revalidate = false;
    let light = run(&setup, &mut State::none()).await;
    let keys: Vec<&str> = light.sent.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["p-1", "p-1"]);
    assert_eq!(
        codes(&light.report),
        [
            "replay.not_loadable",
            "event.malformed_json",
            "replay.not_loadable",
            "event.malformed_json"
        ]
    );
}

/// A Kinesis record as the validator packs it: `events` of one request, valid, packed by
/// `rtstream_core::packing` at its configured target.
fn packed_record(events: &[String]) -> Vec<u8> {
    let validator = Validator::new(Limits::default(), fixed_schemas());
    let window = Window::new(received_at(), &validator.limits);
    let outcomes: Vec<_> = events
        .iter()
        .map(|event| validator.validate_event(event.as_bytes(), &window))
        .collect();
    let records = pack(
        &outcomes,
        Some(rtstream_core::PIPELINE.packing.target_record_bytes),
    );
    assert_eq!(records.len(), 1, "one packed record");
    records[0].data.to_vec()
}

fn page_view(id: &str, payload: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","event_type":"page_view","occurred_at":"2026-11-26T09:59:00Z","payload":{payload}}}"#
    )
}

#[tokio::test]
async fn each_event_of_a_packed_record_is_replayed_under_its_own_id() {
    let events: Vec<String> = (1..=3)
        .map(|n| page_view(&format!("pk-{n}"), r#"{"url":"https://x"}"#))
        .collect();
    let record = packed_record(&events);
    assert_eq!(
        record.iter().filter(|&&byte| byte == b'\n').count(),
        2,
        "three lines"
    );
    let mut broken = record.clone();
    broken.extend_from_slice(
        b"\n{\"event_type\":\"page_view\",\"occurred_at\":\"2026-11-26T09:59:00Z\",\"payload\":{}}",
    );
    let setup = Setup::processing_failed(Bucket::from([(
        FAILED_KEY.to_owned(),
        ndjson(&[failed_line(&record), failed_line(&broken)]),
    )]));
    let ran = run(&setup, &mut State::none()).await;
    let counts = ran.counts.unwrap();
    assert_eq!((counts.read, counts.sent, counts.still_invalid), (7, 6, 1));
    let keys: Vec<&str> = ran.sent.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["pk-1", "pk-2", "pk-3", "pk-1", "pk-2", "pk-3"]);
    for ((_, data), event) in ran.sent.iter().zip(events.iter().cycle()) {
        let sent: Value = serde_json::from_slice(data).unwrap();
        let expected: Value = serde_json::from_str(event).unwrap();
        assert_eq!(sent["payload"], expected["payload"]);
        assert_eq!(sent["event_id"], expected["event_id"], "one event per record");
    }
    let [invalid] = &ran.report[..] else {
        panic!("{:?}", ran.report)
    };
    assert_eq!(
        (&invalid["line"], &invalid["record_line"]),
        (&json!(1), &json!(3))
    );
    assert_eq!(invalid["errors"][0]["code"], "replay.not_loadable");

    // The event-type filter applies to each event, not to the record as one.
    let mut filtered = Setup::processing_failed(setup.bucket.clone());
    filtered.filters.event_types = vec!["order_placed".into()];
    let ran = run(&filtered, &mut State::none()).await;
    assert_eq!((ran.sent.len(), ran.counts.unwrap().skipped), (0, 7));

    // Progress is per event: a state file remembers which events of the record were sent.
    let path = scratch("packed.state");
    let identity = json!({"run": "packed"});
    let mut throttled = Setup::processing_failed(setup.bucket.clone());
    throttled.refuse = |key| key == "pk-2";
    let first = run(&throttled, &mut State::open(&path, &identity, false).unwrap()).await;
    assert_eq!(first.counts.unwrap().failed, 2);
    throttled.refuse = |_| false;
    let second = run(&throttled, &mut State::open(&path, &identity, false).unwrap()).await;
    let keys: Vec<&str> = second.sent.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["pk-2", "pk-2"]);
}

#[tokio::test]
async fn an_accepted_event_is_not_dropped_for_a_schema_tightened_since() {
    // Accepted when page_view did not require a url; today's schema does.
    let record = page_view("loose-1", r#"{"referrer":"r"}"#);
    let mut setup = Setup::processing_failed(Bucket::from([(
        FAILED_KEY.to_owned(),
        ndjson(&[failed_line(&record)]),
    )]));
    let ran = run(&setup, &mut State::none()).await;
    assert_eq!(
        ran.sent,
        [("loose-1".to_owned(), record.as_bytes().to_vec())],
        "sent as it was accepted"
    );
    setup.revalidate = true;
    let ran = run(&setup, &mut State::none()).await;
    assert!(ran.sent.is_empty());
    assert_eq!(codes(&ran.report), ["schema.required"]);
}

#[tokio::test]
async fn a_failed_snowflake_row_is_replayed_as_its_event() {
    let row = r#"{"EVENT_ID":"row-1","EVENT_TYPE":"page_view","OCCURRED_AT":"2026-11-26T09:59:00Z","RECEIVED_AT":"2026-11-26T10:00:01.123Z","SOURCE":null,"PAYLOAD":{"url":"https://x","n":1.50},"INGEST":{},"FILE_NAME":"kinesis/s/1","FILE_ROW_NUMBER":1}"#;
    let setup = Setup::processing_failed(Bucket::from([(
        FAILED_KEY.to_owned(),
        ndjson(&[failed_line(row)]),
    )]));
    let ran = run(&setup, &mut State::none()).await;
    assert_eq!(
        ran.sent,
        [(
            "row-1".to_owned(),
            br#"{"event_id":"row-1","event_type":"page_view","occurred_at":"2026-11-26T09:59:00Z","payload":{"url":"https://x","n":1.50}}"#.to_vec()
        )],
        "{:?}",
        ran.report
    );
}

#[tokio::test]
async fn replay_keeps_the_lambdas_verdict_on_bytes_it_no_longer_has() {
    let line = |extra: Value| {
        let mut line = json!({"request_id": "r-5", "received_at": RECEIVED_AT, "index": 0, "event_id": null});
        line.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        line.to_string()
    };
    let valid = with_id("w-1", SIGNUP);
    let setup = Setup::errors(Bucket::from([(
        "errors/dt=2026-11-26/r-5.ndjson".into(),
        ndjson(&[
            // Too large as sent (whitespace included); stored minified, it would fit.
            line(
                json!({"errors": [{"path": "", "code": "event.too_large", "message": "the event is 1048577 bytes (JSON text); the limit is 1048576"}],
                "raw": serde_json::from_str::<Value>(&valid).unwrap()}),
            ),
            // Invalid UTF-8 stored as text with U+FFFD (before raw_line_encoding).
            line(
                json!({"errors": [{"path": "", "code": "event.malformed_json", "message": "…"}],
                "raw_line": valid.replace("pro", "pr\u{FFFD}")}),
            ),
            // The same bytes stored as they were: rejected again, as the Lambda did.
            line(
                json!({"errors": [{"path": "", "code": "event.malformed_json", "message": "…"}],
                "raw_line": b64([valid.replace("pro", "pr").as_bytes(), &[0xff], b"\"}}"].concat()), "raw_line_encoding": "base64"}),
            ),
        ]),
    )]));
    let ran = run(&setup, &mut State::none()).await;
    assert!(ran.sent.is_empty(), "{:?}", ran.sent);
    assert_eq!(
        codes(&ran.report),
        ["event.too_large", "replay.altered_line", "event.malformed_json"]
    );
}

#[tokio::test]
async fn an_unreadable_object_is_reported_and_the_run_goes_on() {
    let mut bucket = error_bucket();
    bucket.insert(
        "errors/dt=2026-11-26/r-0.ndjson".into(),
        vec![0x1f, 0x8b, 0x08, 0, 1, 2, 3],
    );
    let ran = run(&Setup::errors(bucket), &mut State::none()).await;
    let counts = ran.counts.unwrap();
    assert_eq!((counts.objects_unreadable, counts.sent), (1, 2));
    assert!(counts.incomplete(), "exit 1: run again");
    assert_eq!(
        (
            ran.report[0]["key"].as_str(),
            ran.report[0]["errors"][0]["code"].as_str()
        ),
        (
            Some("errors/dt=2026-11-26/r-0.ndjson"),
            Some("replay.unreadable_object")
        )
    );
}

#[tokio::test]
async fn records_go_out_no_faster_than_the_rate() {
    let events: Vec<String> = (0..30)
        .map(|n| failed_line(page_view(&format!("r-{n}"), r#"{"url":"u"}"#)))
        .collect();
    let mut setup = Setup::processing_failed(Bucket::from([(FAILED_KEY.to_owned(), ndjson(&events))]));
    setup.max_records_per_second = 20;
    let started = Instant::now();
    let ran = run(&setup, &mut State::none()).await;
    let elapsed = started.elapsed();
    assert_eq!(ran.sent.len(), 30);
    assert!(
        elapsed >= Duration::from_millis(950),
        "30 records at 20/s take a second at least: {elapsed:?}"
    );
}

/// A fresh path in this test binary's scratch directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("replay-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}
