//! The `transformer_record` target: a whole Firehose batch through the transformer's
//! `handle_within`, checked against the response Firehose must get: every record id answered
//! once and in order, the serialised response within its budget, and every `Ok` base64 NDJSON,
//! a line per JSON value of the record (same values, same number text) plus its `_ingest`.
//!
//! Input: one budget byte, then records separated by 0xFF bytes (never part of UTF-8 JSON).
//! - budget byte below 0x80: Lambda's full response limit; from 0x80: `(byte - 0x80) * 64`
//!   bytes, so that records past the budget are exercised too.
//! - each record: one flag byte, then its data. Bit 0: Kinesis metadata present; bit 1: no
//!   record id; bits 2–7: the arrival day and millisecond (arrivals around midnight UTC).

use crate::json_text::number_tokens;
use aws_lambda_events::encodings::MillisecondTimestamp;
use aws_lambda_events::firehose::{
    KinesisFirehoseEvent, KinesisFirehoseEventRecord, KinesisFirehoseRecordMetadata, KinesisFirehoseResponse,
    KinesisFirehoseResponseRecord,
};
use base64::Engine;
use rtstream_core::firehose::{transform, Provenance, INGEST_FIELD};
use rtstream_core::schema::DEFAULT_SCHEMA;
use serde_json::Value;
use transformer::{
    handle_within, serialized_len, LAMBDA_RESPONSE_LIMIT_BYTES, OK, PROCESSING_FAILED, SCHEMA_EVENT_TYPES,
};

pub fn check(input: &[u8]) {
    let Some((&budget, batch)) = input.split_first() else {
        return;
    };
    let limit = match budget {
        0..0x80 => LAMBDA_RESPONSE_LIMIT_BYTES,
        small => usize::from(small - 0x80) * 64,
    };
    let records: Vec<KinesisFirehoseEventRecord> = batch
        .split(|byte| *byte == 0xff)
        .enumerate()
        .filter_map(|(index, chunk)| Some(record(index, *chunk.first()?, &chunk[1..])))
        .collect();
    let mut event = KinesisFirehoseEvent::default();
    event.records = records.clone();

    let response = handle_within(event, limit);
    let json = serde_json::to_vec(&response).expect("a response serialises");
    assert_eq!(
        json.len(),
        serialized_len(&response),
        "the budget counts the real size"
    );
    assert!(
        json.len() <= limit.max(all_failed_len(&response)),
        "a response of {} bytes over a budget of {limit}",
        json.len()
    );
    let answers: Value = serde_json::from_slice(&json).expect("a response is JSON");
    let answers = answers["records"].as_array().expect("records");
    assert_eq!(answers.len(), records.len(), "one answer per record");
    for ((record, answer), typed) in records.iter().zip(answers).zip(&response.records) {
        assert_eq!(
            typed.record_id, record.record_id,
            "answers in the order of the records"
        );
        let transformable = transform(&record.data.0, &Provenance::default(), SCHEMA_EVENT_TYPES).is_ok();
        match answer["result"].as_str() {
            Some(OK) => assert_line(record, answer),
            Some(PROCESSING_FAILED) => {
                assert!(typed.data.0.is_empty(), "a failed answer carries no data");
                assert!(
                    !transformable || limit < LAMBDA_RESPONSE_LIMIT_BYTES,
                    "an event failed processing within the full budget"
                );
            }
            other => panic!("result {other:?}"),
        }
    }
}

fn record(index: usize, flags: u8, data: &[u8]) -> KinesisFirehoseEventRecord {
    let variant = u32::from(flags >> 2);
    let arrived = MillisecondTimestamp(
        format!(
            "2026-11-{:02}T23:59:59.{:03}Z",
            1 + variant % 28,
            990 + variant % 10
        )
        .parse()
        .expect("a valid timestamp"),
    );
    let mut record = KinesisFirehoseEventRecord::default();
    record.record_id = (flags & 0b10 == 0).then(|| format!("4962{index:052}000000"));
    record.approximate_arrival_timestamp = arrived.clone();
    record.data.0 = data.to_vec();
    if flags & 0b1 != 0 {
        let mut metadata = KinesisFirehoseRecordMetadata::default();
        metadata.shard_id = Some("shardId-000000000000".to_string());
        metadata.partition_key = Some(format!("key-{index}"));
        metadata.sequence_number = Some(format!("4962{index:052}"));
        metadata.approximate_arrival_timestamp = arrived;
        record.kinesis_firehose_record_metadata = Some(metadata);
    }
    record
}

/// The floor of any budget: the response with every record `ProcessingFailed`.
fn all_failed_len(response: &KinesisFirehoseResponse) -> usize {
    let mut floor = KinesisFirehoseResponse::default();
    floor.records = response
        .records
        .iter()
        .map(|answer| {
            let mut failed = KinesisFirehoseResponseRecord::default();
            failed.record_id = answer.record_id.clone();
            failed.result = Some(PROCESSING_FAILED.to_string());
            failed
        })
        .collect();
    serialized_len(&floor)
}

/// An `Ok` answer: base64 of NDJSON lines, one per JSON value of the record (the validator packs
/// several events of one type in a record), each that value plus the record's one `_ingest`, under
/// partition keys from the schema files and the arrival date.
fn assert_line(record: &KinesisFirehoseEventRecord, answer: &Value) {
    let data = answer["data"].as_str().expect("Ok data is a string");
    let text = base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("Ok data is base64");
    assert_eq!(text.last(), Some(&b'\n'), "whole lines");
    // Around the record, ASCII whitespace (form feeds too) is not part of any event.
    let sent_text = record.data.0.trim_ascii();
    let sent: Vec<Value> = serde_json::Deserializer::from_slice(sent_text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("an Ok record is JSON");
    let lines: Vec<&[u8]> = text[..text.len() - 1].split(|byte| *byte == b'\n').collect();
    assert_eq!(lines.len(), sent.len(), "one line per event of the record");
    assert_eq!(
        number_tokens(&text),
        number_tokens(sent_text),
        "a number's text changed"
    );
    let mut ingests = Vec::new();
    for (line, sent) in lines.into_iter().zip(&sent) {
        let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(line) else {
            panic!("a line that is not a JSON object")
        };
        ingests.push(fields.remove(INGEST_FIELD).expect("the line has _ingest"));
        assert_eq!(&Value::Object(fields), sent, "the line holds the event's values");
    }
    assert!(
        ingests.iter().all(|ingest| *ingest == ingests[0]),
        "the lines of a record share its _ingest"
    );
    let ingest = &ingests[0];

    let arrived = record.approximate_arrival_timestamp.0;
    let received_at = arrived.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    assert_eq!(ingest["received_at"], received_at.as_str());
    assert_eq!(ingest["firehose_record_id"].as_str(), record.record_id.as_deref());
    let metadata = record.kinesis_firehose_record_metadata.as_ref();
    let sequence_number = metadata.and_then(|metadata| metadata.sequence_number.as_deref());
    assert_eq!(ingest["kinesis_sequence_number"].as_str(), sequence_number);

    let keys = &answer["metadata"]["partitionKeys"];
    assert_eq!(keys["dt"], arrived.format("%Y-%m-%d").to_string().as_str());
    let event_type = sent[0]["event_type"].as_str().expect("an Ok event_type");
    let expected = if SCHEMA_EVENT_TYPES.contains(&event_type) {
        event_type
    } else {
        DEFAULT_SCHEMA
    };
    assert_eq!(keys["event_type"], expected, "a partition a client cannot choose");
}
