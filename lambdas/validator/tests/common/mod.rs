//! Builds an `App` whose Kinesis and S3 clients are aws-smithy-mocks clients, so tests drive the
//! real SDK request/response path and the real retry loop. Rules answer from the request, with
//! a call counter, so each test scripts what Kinesis does on the n-th call.

#![allow(dead_code)] // each test binary uses its own subset

use aws_sdk_kinesis::operation::put_records::{PutRecordsError, PutRecordsInput, PutRecordsOutput};
use aws_sdk_kinesis::types::PutRecordsResultEntry;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_smithy_mocks::{mock, mock_client, MockResponse, Rule, RuleMode};
use rtstream_core::kinesis::Backoff;
use rtstream_core::metrics::{EmfOutput, EventTypes};
use rtstream_core::schema::SchemaRegistry;
use rtstream_core::{DeliveryMode, Limits, Validator};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use validator::app::Metrics;
use validator::error_store::ErrorStore;
use validator::stream::StreamWriter;
use validator::App;

pub const STREAM: &str = "rtstream-events";
pub const BUCKET: &str = "rtstream-errors";
pub const NAMESPACE: &str = "rtstream-test";

pub fn limits() -> Limits {
    Limits {
        put_deadline_ms: 400,
        ..Limits::default()
    }
}

pub fn app(kinesis: Rule, s3: Rule) -> App {
    app_emitting(kinesis, s3, Emitted::default())
}

/// The app, its EMF lines written to `emitted`.
pub fn app_emitting(kinesis: Rule, s3: Rule, emitted: Emitted) -> App {
    let schemas =
        SchemaRegistry::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")).unwrap();
    let fast = Backoff {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(20),
    };
    App {
        metrics: Metrics {
            namespace: NAMESPACE.into(),
            event_types: EventTypes::of(&schemas),
            output: EmfOutput::new(emitted),
        },
        validator: Validator::new(limits(), schemas),
        stream: StreamWriter::new(
            mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [&kinesis]),
            STREAM.into(),
            limits(),
            fast,
        ),
        errors: ErrorStore::new(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&s3]),
            BUCKET.into(),
            "errors/".into(),
        ),
        packing_target: DeliveryMode::default().packing_target(),
    }
}

/// `app`, writing one event per record (the delivery modes that do not pack).
pub fn unpacked(app: App) -> App {
    App {
        packing_target: None,
        ..app
    }
}

/// What the mocked Kinesis saw: one entry per PutRecords call, the partition keys in it.
pub type Calls = Arc<Mutex<Vec<Vec<String>>>>;

type KinesisResponse = MockResponse<PutRecordsOutput, PutRecordsError>;

/// A Kinesis whose answer to call `n` (0-based) is `script(n, partition_keys)`.
pub fn kinesis(
    calls: Calls,
    script: impl Fn(usize, &[String]) -> KinesisResponse + Send + Sync + 'static,
) -> Rule {
    mock!(aws_sdk_kinesis::Client::put_records)
        .match_requests(|request| request.stream_name() == Some(STREAM))
        .then_compute_response(move |request: &PutRecordsInput| {
            let keys: Vec<String> = request
                .records()
                .iter()
                .map(|entry| entry.partition_key().unwrap_or_default().to_string())
                .collect();
            let call = {
                let mut calls = calls.lock().unwrap();
                calls.push(keys.clone());
                calls.len() - 1
            };
            script(call, &keys)
        })
}

/// A PutRecords answer in which the records whose partition key satisfies `refuse` are throttled.
pub fn answer(keys: &[String], refuse: impl Fn(&str) -> bool) -> KinesisResponse {
    answer_with(keys, |key| {
        refuse(key).then_some("ProvisionedThroughputExceededException")
    })
}

/// A PutRecords answer refusing the records for which `refusal` names an error code.
pub fn answer_with(keys: &[String], refusal: impl Fn(&str) -> Option<&'static str>) -> KinesisResponse {
    let mut failed = 0;
    let entries = keys
        .iter()
        .enumerate()
        .map(|(position, key)| {
            if let Some(code) = refusal(key) {
                failed += 1;
                PutRecordsResultEntry::builder()
                    .error_code(code)
                    .error_message(format!("{code} for shard shardId-000000000000"))
                    .build()
            } else {
                PutRecordsResultEntry::builder()
                    .sequence_number(format!("4959{position:020}"))
                    .shard_id("shardId-000000000000")
                    .build()
            }
        })
        .collect();
    MockResponse::Output(
        PutRecordsOutput::builder()
            .set_records(Some(entries))
            .failed_record_count(failed)
            .build()
            .unwrap(),
    )
}

pub fn accept_all(_call: usize, keys: &[String]) -> KinesisResponse {
    answer(keys, |_| false)
}

/// What the mocked S3 stored: `(key, body)` per PutObject.
pub type Objects = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

pub fn s3_stores(objects: Objects) -> Rule {
    mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|request| request.bucket() == Some(BUCKET))
        .then_compute_output(move |request| {
            let body = request.body().bytes().expect("in-memory body").to_vec();
            objects
                .lock()
                .unwrap()
                .push((request.key().unwrap().to_string(), body));
            PutObjectOutput::builder().build()
        })
}

pub fn s3_unavailable() -> Rule {
    mock!(aws_sdk_s3::Client::put_object).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(503).unwrap(),
            aws_smithy_types::body::SdkBody::from("<Error><Code>SlowDown</Code></Error>"),
        )
    })
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

pub fn ndjson_lines(body: &[u8]) -> Vec<serde_json::Value> {
    body.split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect()
}

/// The data of every record Kinesis was sent, in order.
pub type Records = Arc<Mutex<Vec<Vec<u8>>>>;

pub fn kinesis_keeping(records: Records) -> Rule {
    mock!(aws_sdk_kinesis::Client::put_records).then_compute_output(move |request| {
        let mut records = records.lock().unwrap();
        let entries = request
            .records()
            .iter()
            .map(|entry| {
                records.push(entry.data().as_ref().to_vec());
                PutRecordsResultEntry::builder()
                    .sequence_number(format!("4959{:020}", records.len()))
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

/// What the app wrote as metrics: EMF documents, one per line.
pub use rtstream_core::metrics::Emitted;
