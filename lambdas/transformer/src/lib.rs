//! The Firehose transformer Lambda: every Kinesis record becomes one NDJSON line with `_ingest`
//! metadata and `event_type`/`dt` partition keys; anything else is `ProcessingFailed`, never
//! dropped, so Firehose keeps it under `processing-failed/`.

use aws_lambda_events::firehose::{
    KinesisFirehoseEvent, KinesisFirehoseEventRecord, KinesisFirehoseResponse, KinesisFirehoseResponseRecord,
};
use rtstream_core::firehose::{transform, Provenance};
use std::collections::HashMap;
use tracing::{info, warn};

pub const OK: &str = "Ok";
pub const PROCESSING_FAILED: &str = "ProcessingFailed";
/// Lambda's synchronous response limit is 6 MB; base64 and JSON framing come on top of the data,
/// so records past this much data are failed (and kept by Firehose) rather than the whole batch.
pub const RESPONSE_DATA_BUDGET: usize = 4 * 1024 * 1024;

pub fn handle(event: KinesisFirehoseEvent) -> KinesisFirehoseResponse {
    let mut budget = RESPONSE_DATA_BUDGET;
    let mut failures = 0usize;
    let records = event
        .records
        .into_iter()
        .map(|record| {
            let response = transform_record(record, &mut budget);
            if response.result.as_deref() != Some(OK) {
                failures += 1;
            }
            response
        })
        .collect::<Vec<_>>();
    info!(
        records = records.len(),
        processing_failed = failures,
        "batch transformed"
    );
    let mut response = KinesisFirehoseResponse::default();
    response.records = records;
    response
}

fn transform_record(record: KinesisFirehoseEventRecord, budget: &mut usize) -> KinesisFirehoseResponseRecord {
    let kinesis = record.kinesis_firehose_record_metadata.as_ref();
    let provenance = Provenance {
        firehose_record_id: record.record_id.as_deref(),
        arrived_at: kinesis
            .map(|metadata| metadata.approximate_arrival_timestamp.0)
            .unwrap_or(record.approximate_arrival_timestamp.0),
        kinesis_sequence_number: kinesis.and_then(|metadata| metadata.sequence_number.as_deref()),
        kinesis_shard_id: kinesis.and_then(|metadata| metadata.shard_id.as_deref()),
        kinesis_partition_key: kinesis.and_then(|metadata| metadata.partition_key.as_deref()),
    };
    let mut response = KinesisFirehoseResponseRecord::default();
    response.record_id = record.record_id.clone();
    let outcome = transform(&record.data.0, &provenance).and_then(|transformed| {
        match budget.checked_sub(transformed.line.len()) {
            Some(left) => {
                *budget = left;
                Ok(transformed)
            }
            None => Err("the invocation's response budget is used up".to_string()),
        }
    });
    match outcome {
        Ok(transformed) => {
            response.result = Some(OK.to_string());
            response.data.0 = transformed.line;
            response.metadata.partition_keys = HashMap::from([
                ("event_type".to_string(), transformed.event_type),
                ("dt".to_string(), transformed.dt),
            ]);
        }
        Err(reason) => {
            warn!(record_id = ?record.record_id, reason, "record failed processing");
            response.result = Some(PROCESSING_FAILED.to_string());
            // Firehose keeps the original record (as `rawData`) under the processing-failed
            // prefix whatever we return, so returning nothing keeps the response small.
        }
    }
    response
}
