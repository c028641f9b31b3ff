//! The transformer on Firehose (Kinesis source) invocation payloads: lines, partition keys and
//! the response budget.

use aws_lambda_events::encodings::MillisecondTimestamp;
use aws_lambda_events::firehose::{
    KinesisFirehoseEvent, KinesisFirehoseEventRecord, KinesisFirehoseRecordMetadata, KinesisFirehoseResponse,
};
use proptest::prelude::*;
use rtstream_core::metrics::{emf_datapoints, emf_sum};
use rtstream_core::{DeliveryMode, PIPELINE};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use transformer::{
    handle, handle_within, transform_batch, Answer, LAMBDA_RESPONSE_LIMIT_BYTES, OK, PROCESSING_FAILED,
};

fn fixture() -> KinesisFirehoseEvent {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/firehose-kinesis-source.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pipeline() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/pipeline.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A Kinesis-sourced record as Firehose sends it: ids as long as real ones (a 56-digit sequence
/// number; the record id is that plus a 6-digit subsequence).
fn record(n: usize, data: Vec<u8>) -> KinesisFirehoseEventRecord {
    let sequence_number = format!("4962{n:052}");
    let mut metadata = KinesisFirehoseRecordMetadata::default();
    metadata.shard_id = Some("shardId-000000000000".to_string());
    metadata.partition_key = Some("e".to_string());
    metadata.sequence_number = Some(sequence_number.clone());
    metadata.approximate_arrival_timestamp =
        MillisecondTimestamp("2026-11-26T10:00:01.123Z".parse().unwrap());
    let mut record = KinesisFirehoseEventRecord::default();
    record.record_id = Some(format!("{sequence_number}000000"));
    record.approximate_arrival_timestamp = metadata.approximate_arrival_timestamp.clone();
    record.data.0 = data;
    record.kinesis_firehose_record_metadata = Some(metadata);
    record
}

fn event(records: Vec<KinesisFirehoseEventRecord>) -> KinesisFirehoseEvent {
    let mut event = fixture();
    event.records = records;
    event
}

fn results(response: &KinesisFirehoseResponse) -> (usize, usize) {
    let ok = response
        .records
        .iter()
        .filter(|r| r.result.as_deref() == Some(OK))
        .count();
    (ok, response.records.len() - ok)
}

#[test]
fn events_become_partitioned_ndjson_and_garbage_fails_processing() {
    let event = fixture();
    let originals: Vec<Vec<u8>> = event.records.iter().map(|record| record.data.0.clone()).collect();

    let response = handle(event);

    assert_eq!(response.records.len(), 3, "one answer per record");
    let first = &response.records[0];
    assert_eq!(first.result.as_deref(), Some(OK));
    assert!(first.data.0.ends_with(b"\n"));
    let line: Value = serde_json::from_slice(&first.data.0).unwrap();
    assert_eq!(line["event_id"], "pv-1");
    // aws_lambda_events reads the epoch milliseconds through a float: allow its rounding.
    assert!(
        line["_ingest"]["received_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-26T10:00:01.12"),
        "{line}"
    );
    assert_eq!(
        line["_ingest"]["kinesis_sequence_number"].as_str().unwrap().len(),
        56
    );
    assert_eq!(first.metadata.partition_keys["event_type"], "page_view");
    assert_eq!(first.metadata.partition_keys["dt"], "2026-11-26");

    let second = &response.records[1];
    assert_eq!(
        second.metadata.partition_keys["dt"], "2026-11-26",
        "the arrival date, not occurred_at's (2026-11-26T01:30Z)"
    );

    let third = &response.records[2];
    assert_eq!(third.result.as_deref(), Some(PROCESSING_FAILED));
    assert!(
        third.data.0.is_empty(),
        "Firehose keeps the original bytes itself"
    );
    assert!(!originals[2].is_empty());
    assert!(response.records.iter().all(|record| record.record_id.is_some()));
}

#[test]
fn numbers_arrive_with_their_exact_text() {
    let data = br#"{"event_id":"n-1","event_type":"order_placed","occurred_at":"2026-11-26T10:00:00Z","payload":{"order_id":"17","amount":12345678901234567890.123456789,"currency":"EUR"}}"#;

    let response = handle(event(vec![record(1, data.to_vec())]));

    let line = std::str::from_utf8(&response.records[0].data.0).unwrap();
    assert!(
        line.contains(r#""amount":12345678901234567890.123456789,"#),
        "{line}"
    );
}

#[test]
fn the_partition_keys_are_the_ones_the_configured_prefix_uses() {
    let template = pipeline()["firehose"]["events_prefix_template"]
        .as_str()
        .unwrap()
        .to_string();
    let used: BTreeSet<&str> = template
        .split("!{partitionKeyFromLambda:")
        .skip(1)
        .map(|rest| rest.split('}').next().unwrap())
        .collect();

    let response = handle(fixture());

    let returned: BTreeSet<&str> = response.records[0]
        .metadata
        .partition_keys
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(used, returned, "{template}");
    // Nothing else in the prefix may vary per record: only Firehose's own timestamp could.
    assert!(!template.contains("partitionKeyFromQuery"), "{template}");
}

/// The smallest record the transformer answers `Ok` (one-letter id and type, no payload), whose
/// answer is mostly record ids, `_ingest` and framing: about ten times its size.
fn tiny(n: usize) -> Vec<u8> {
    format!(
        r#"{{"event_id":"{}","event_type":"a","occurred_at":"2026-11-26T10:00:00Z"}}"#,
        n % 10
    )
    .into_bytes()
}

/// A record of exactly `size` bytes whose line's length is 1 more than a multiple of 3, the
/// worst case for base64 padding.
fn padded(size: usize) -> Vec<u8> {
    let head = br#"{"event_id":"e","event_type":"page_view","occurred_at":"2026-11-26T10:00:00Z","payload":{"url":""#;
    let mut data = head.to_vec();
    data.resize(size - 3, b'x');
    data.extend_from_slice(b"\"}}");
    data
}

/// Batches of `batch_bytes` of record data, the mixes that make the answer largest.
fn worst_case_batches(batch_bytes: usize) -> Vec<(&'static str, Vec<KinesisFirehoseEventRecord>)> {
    let fill = |make: &dyn Fn(usize) -> Vec<u8>| {
        let mut records = Vec::new();
        let mut size = 0;
        loop {
            let data = make(records.len());
            if size + data.len() > batch_bytes {
                break records;
            }
            size += data.len();
            records.push(record(records.len(), data));
        }
    };
    // The line is the record plus a fixed-size `_ingest`: find a record size whose line leaves
    // one byte over a multiple of 3 (two bytes of base64 padding for one byte of data).
    let small = (200..)
        .map(padded)
        .find(|data| transformer_line_len(data) % 3 == 1)
        .unwrap();
    let mut tiny_then_big = fill(&tiny);
    // Firehose's buffer size is a hint: allow one record of the largest kind past it.
    tiny_then_big.push(record(tiny_then_big.len(), padded(1 << 20)));
    vec![
        ("tiny records", fill(&tiny)),
        ("tiny events packed to the packing target", fill(&tiny_packed)),
        ("small records, worst base64 padding", fill(&|_| small.clone())),
        (
            "the largest records that fit",
            fill(&|_| padded(batch_bytes.min(1 << 20))),
        ),
        ("tiny records and one 1 MiB record past the hint", tiny_then_big),
    ]
}

/// The smallest events packed as the validator packs them: as many as the packing target holds.
fn tiny_packed(n: usize) -> Vec<u8> {
    let target = PIPELINE.packing.target_record_bytes;
    let key = 1; // the first event's one-letter id
    let mut data = tiny(n);
    loop {
        let next = tiny(n + 1);
        if data.len() + 1 + next.len() + key > target {
            break data;
        }
        data.push(b'\n');
        data.extend_from_slice(&next);
    }
}

fn transformer_line_len(data: &[u8]) -> usize {
    handle(event(vec![record(0, data.to_vec())])).records[0]
        .data
        .0
        .len()
}

#[test]
fn worst_case_batches_fit_at_the_configured_processor_buffer_size() {
    let config = pipeline();
    for mode in DeliveryMode::ALL {
        // A mode's own processor buffer size, else the firehose block's (config delivery_modes).
        let mib = config["delivery_modes"]["modes"][mode.name()]["processor_buffer_size_mib"]
            .as_f64()
            .or(config["firehose"]["processor_buffer_size_mib"].as_f64())
            .unwrap();
        let batch_bytes = (mib * (1 << 20) as f64) as usize;
        for (mix, records) in worst_case_batches(batch_bytes) {
            let packed = mix.contains("packed");
            if packed && mode.packing_target().is_none() {
                continue; // the validator does not pack in this mode
            }
            let count = records.len();
            let response = transform_batch(event(records), LAMBDA_RESPONSE_LIMIT_BYTES, mode).response;

            let size = serde_json::to_vec(&response).unwrap().len();
            assert!(
                size <= LAMBDA_RESPONSE_LIMIT_BYTES,
                "{mode:?}, {mix}: {size} bytes for {count} records"
            );
            assert_eq!(
                results(&response),
                (count, 0),
                "{mode:?}, {mix}: every record fits in the answer ({size} bytes)"
            );
            eprintln!("{mode:?}, {mix}: {count} records, {size} bytes");
        }
    }
}

/// Lambda's limit on a synchronous invocation's request, which bounds what Firehose can send.
const LAMBDA_REQUEST_LIMIT_BYTES: usize = 6_291_456;

#[test]
fn records_past_the_response_budget_fail_processing_and_the_rest_fit() {
    // The largest invocation Firehose could send, in the costliest records to answer.
    let per_record = serde_json::to_vec(&record(0, tiny(0))).unwrap().len() + 1;
    let count = (LAMBDA_REQUEST_LIMIT_BYTES - 1024) / per_record;
    let records: Vec<_> = (0..count).map(|n| record(n, tiny(n))).collect();
    assert!(serde_json::to_vec(&event(records.clone())).unwrap().len() <= LAMBDA_REQUEST_LIMIT_BYTES);

    let response = handle(event(records));

    let size = serde_json::to_vec(&response).unwrap().len();
    assert!(size <= LAMBDA_RESPONSE_LIMIT_BYTES, "{size}");
    let (ok, failed) = results(&response);
    assert!(ok > 0 && failed > 0, "{ok} ok, {failed} failed");
    let one_more = serde_json::to_vec(&response.records[0]).unwrap().len();
    assert!(
        size + one_more > LAMBDA_RESPONSE_LIMIT_BYTES,
        "the budget is used, not wasted: {size}"
    );
    let first_failure = response
        .records
        .iter()
        .position(|r| r.result.as_deref() == Some(PROCESSING_FAILED))
        .unwrap();
    assert!(
        response.records[first_failure..]
            .iter()
            .all(|r| r.result.as_deref() == Some(PROCESSING_FAILED) && r.data.0.is_empty()),
        "with equal records, the ones past the budget fail"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_answer_never_exceeds_its_budget(
        sizes in prop::collection::vec(prop_oneof![Just(0usize), Just(1usize), 2usize..400, 400usize..20_000], 1..200),
        limit in 2_000usize..400_000,
        mode in prop::sample::select(DeliveryMode::ALL.to_vec()),
    ) {
        let records: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(n, &size)| record(n, match size { 0 => b"not an event".to_vec(), 1 => tiny_packed(n), s if s < 200 => tiny(n), s => padded(s) }))
            .collect();
        let count = records.len();
        let floor = handle_within(event(records.clone()), 0);
        let floor_size = serde_json::to_vec(&floor).unwrap().len();
        prop_assert_eq!(results(&floor), (0, count));

        let batch = transform_batch(event(records), limit, mode);
        let response = batch.response;

        let size = serde_json::to_vec(&response).unwrap().len();
        prop_assert!(size <= limit.max(floor_size), "{} > {}", size, limit);
        // The metrics count the answers, past-the-budget failures included.
        let (ok, failed) = results(&response);
        let points = emf_datapoints(&batch.metrics.emf(&PIPELINE.metrics, "t", 0).unwrap().documents());
        prop_assert_eq!(emf_sum(&points, "RecordsOk", ""), ok as f64);
        prop_assert_eq!(emf_sum(&points, "RecordsProcessingFailed", ""), failed as f64);
        prop_assert_eq!(response.records.len(), count);
        for (answer, n) in response.records.iter().zip(0..) {
            prop_assert_eq!(answer.record_id.clone(), record(n, vec![]).record_id);
        }
    }
}

fn order_line(id: &str, amount: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","event_type":"order_placed","occurred_at":"2026-11-26T10:00:00.000000Z","payload":{{"order_id":"{id}","amount":{amount},"currency":"EUR"}}}}"#
    )
}

fn packed(lines: &[String]) -> Vec<u8> {
    lines.join("\n").into_bytes()
}

fn one(data: Vec<u8>, mode: DeliveryMode) -> aws_lambda_events::firehose::KinesisFirehoseResponseRecord {
    transform_batch(event(vec![record(7, data)]), LAMBDA_RESPONSE_LIMIT_BYTES, mode)
        .response
        .records
        .remove(0)
}

fn lines_of(data: &[u8]) -> Vec<Value> {
    assert!(data.ends_with(b"\n"), "whole lines");
    data.split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect()
}

#[test]
fn a_packed_record_becomes_one_line_per_event_with_the_records_ingest() {
    let events = [
        order_line("o-1", "12345678901234567890.123456789"),
        order_line("o-2", "1.50"),
        order_line("o-3", "-0.0"),
    ];

    let answer = one(packed(&events), DeliveryMode::Snowpipe);

    assert_eq!(answer.result.as_deref(), Some(OK));
    let text = std::str::from_utf8(&answer.data.0).unwrap();
    for amount in ["12345678901234567890.123456789,", "1.50,", "-0.0,"] {
        assert!(text.contains(&format!(r#""amount":{amount}"#)), "{text}");
    }
    let mut lines = lines_of(&answer.data.0);
    assert_eq!(lines.len(), 3);
    let ingests: Vec<Value> = lines
        .iter_mut()
        .map(|line| line.as_object_mut().unwrap().remove("_ingest").unwrap())
        .collect();
    assert!(ingests.iter().all(|ingest| *ingest == ingests[0]), "{ingests:?}");
    assert_eq!(
        ingests[0]["firehose_record_id"].as_str(),
        record(7, vec![]).record_id.as_deref()
    );
    for (line, sent) in lines.iter().zip(&events) {
        assert_eq!(*line, serde_json::from_str::<Value>(sent).unwrap());
    }
    assert_eq!(answer.metadata.partition_keys["event_type"], "order_placed");
}

#[test]
fn a_packed_record_with_one_bad_line_fails_whole() {
    let bad = r#"{"event_type":"order_placed","occurred_at":"2026-11-26T10:00:00Z","payload":{}}"#;
    let page_view =
        r#"{"event_id":"p","event_type":"page_view","occurred_at":"2026-11-26T10:00:00Z","payload":{}}"#;
    for data in [
        packed(&[order_line("o-1", "1"), bad.to_string(), order_line("o-3", "1")]),
        packed(&[order_line("o-1", "1"), "{oops".to_string()]),
        // Two partitions cannot share one record's partition keys.
        packed(&[order_line("o-1", "1"), page_view.to_string()]),
    ] {
        let answer = one(data.clone(), DeliveryMode::Snowpipe);
        assert_eq!(
            (answer.result.as_deref(), answer.data.0.len()),
            (Some(PROCESSING_FAILED), 0),
            "{}",
            String::from_utf8_lossy(&data)
        );
    }
    let mixed = packed(&[order_line("o-1", "1"), page_view.to_string()]);
    assert_eq!(
        one(mixed, DeliveryMode::SnowpipeFresh).result.as_deref(),
        Some(OK),
        "without partition keys, types may share a record"
    );
}

/// `EVENTS`' columns, read from `snowflake/table.sql`.
fn table_columns() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../snowflake/table.sql");
    let sql = std::fs::read_to_string(path).unwrap();
    let sql = &sql[sql.find("CREATE TABLE").unwrap()..];
    let body = &sql[sql.find('(').unwrap() + 1..sql.rfind(')').unwrap()];
    body.split(',')
        .map(|column| column.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[test]
fn each_delivery_mode_shapes_the_record_for_its_destination() {
    let sent = r#"{"event_id":"o-1","event_type":"order_placed","source":"shop","occurred_at":"2026-11-26T09:00:00.000000Z","payload":{"order_id":"1","amount":12345678901234567890.123456789,"currency":"EUR"}}"#;
    let snowpipe = one(sent.as_bytes().to_vec(), DeliveryMode::Snowpipe);
    let fresh = one(sent.as_bytes().to_vec(), DeliveryMode::SnowpipeFresh);
    let streaming = one(sent.as_bytes().to_vec(), DeliveryMode::SnowpipeStreaming);

    // snowpipe_fresh: today's lines, no partition keys, and no metadata on the wire at all.
    assert_eq!(fresh.data.0, snowpipe.data.0);
    assert_eq!(
        snowpipe.metadata.partition_keys.keys().collect::<BTreeSet<_>>(),
        BTreeSet::from([&"dt".to_string(), &"event_type".to_string()])
    );
    assert!(fresh.metadata.partition_keys.is_empty());
    let mut response = KinesisFirehoseResponse::default();
    response.records = vec![snowpipe.clone(), fresh.clone()];
    let wire: Value = serde_json::to_value(Answer(response.clone())).unwrap();
    assert_eq!(
        wire["records"][0]["metadata"]["partitionKeys"]["event_type"],
        "order_placed"
    );
    assert!(wire["records"][1].get("metadata").is_none(), "{wire}");
    assert!(
        serde_json::to_vec(&Answer(response.clone())).unwrap().len()
            <= serde_json::to_vec(&response).unwrap().len(),
        "never more than the budget counted"
    );

    // snowpipe_streaming: one object keyed by EVENTS' columns (LOADED_AT is the loader's).
    let line = &lines_of(&snowpipe.data.0)[0];
    let text = std::str::from_utf8(&streaming.data.0).unwrap();
    assert!(text.ends_with("}\n") && text.matches('\n').count() == 1, "{text}");
    let row: serde_json::Map<String, Value> = serde_json::from_str(text).unwrap();
    let mut columns = table_columns();
    assert_eq!(columns.pop().as_deref(), Some("LOADED_AT"), "{columns:?}");
    assert_eq!(row.keys().cloned().collect::<Vec<_>>().len(), columns.len());
    assert_eq!(
        row.keys().cloned().collect::<BTreeSet<_>>(),
        columns.iter().cloned().collect::<BTreeSet<_>>()
    );
    assert_eq!(row["EVENT_ID"], "o-1");
    assert_eq!(row["EVENT_TYPE"], "order_placed");
    assert_eq!(row["SOURCE"], "shop");
    assert_eq!(row["OCCURRED_AT"], "2026-11-26T09:00:00.000000Z");
    assert_eq!(row["PAYLOAD"], line["payload"]);
    assert!(
        text.contains(r#""amount":12345678901234567890.123456789,"#),
        "{text}"
    );
    assert_eq!(row["INGEST"], line["_ingest"], "today's _ingest");
    assert_eq!(row["RECEIVED_AT"], line["_ingest"]["received_at"]);
    let metadata = record(7, vec![]).kinesis_firehose_record_metadata.unwrap();
    assert_eq!(
        row["FILE_NAME"],
        format!(
            "kinesis/{}/{}",
            metadata.shard_id.unwrap(),
            metadata.sequence_number.unwrap()
        )
    );
    assert_eq!(row["FILE_ROW_NUMBER"], 1);
    assert!(streaming.metadata.partition_keys.is_empty());

    // No source: NULL, like today's load of an absent $1:source.
    let sourceless = order_line("o-2", "1");
    let row: Value = serde_json::from_slice(
        &one(sourceless.into_bytes(), DeliveryMode::SnowpipeStreaming)
            .data
            .0,
    )
    .unwrap();
    assert!(row["SOURCE"].is_null());
    // A packed record cannot be one row: it fails, kept whole for a replay (which does not pack).
    let packed_answer = one(
        packed(&[order_line("o-1", "1"), order_line("o-2", "1")]),
        DeliveryMode::SnowpipeStreaming,
    );
    assert_eq!(packed_answer.result.as_deref(), Some(PROCESSING_FAILED));
}
