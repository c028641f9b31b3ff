//! The Firehose transformer Lambda: every Kinesis record's events (one, or several packed one
//! per line) become NDJSON lines with the record's `_ingest` metadata, shaped for the delivery
//! mode (`rtstream_core::firehose::transform_record`: with `event_type`/`dt` partition keys, without,
//! or one `EVENTS` row); anything else is `ProcessingFailed`, never dropped, so Firehose keeps it
//! under `processing-failed/`.
//!
//! The response never exceeds Lambda's response limit: its exact serialised size (base64 data,
//! record ids, results, partition keys and all the JSON around them) is budgeted record by
//! record, and records that would not fit are `ProcessingFailed` too (Firehose keeps the
//! originals), rather than the whole invocation failing. `config/pipeline.json`'s
//! `processor_buffer_size_mib` is chosen so that this does not happen: see the
//! `worst_case_batches_fit` test and `docs/decisions.md`.

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::firehose::{
    KinesisFirehoseEvent, KinesisFirehoseEventRecord, KinesisFirehoseResponse, KinesisFirehoseResponseRecord,
    KinesisFirehoseResponseRecordMetadata,
};
use rtstream_core::firehose::{transform_record, Output, Provenance, RecordError};
use rtstream_core::metrics::{BatchMetrics, EmfOutput};
use rtstream_core::{DeliveryMode, PIPELINE};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::{error, info, warn};

include!(concat!(env!("OUT_DIR"), "/schema_event_types.rs"));

pub const OK: &str = "Ok";
pub const PROCESSING_FAILED: &str = "ProcessingFailed";
/// Lambda's limit on a synchronous invocation's response, in bytes (the figure Lambda's
/// "Response payload size exceeded maximum allowed payload size" error names).
pub const LAMBDA_RESPONSE_LIMIT_BYTES: usize = 6_291_556;
/// Firehose's default quota of active partitions per delivery stream; past it, records go to
/// the error prefix as `activePartitionExceeded`.
pub const FIREHOSE_ACTIVE_PARTITIONS: usize = 500;
/// Event types with a partition of their own. Each can be active for two dates at once (around
/// midnight UTC), `_default` is one more, and the error prefix needs a few: 2 × (200 + 1) plus
/// those stays below 500. More schema files need a quota increase first, then a larger bound.
pub const MAX_SCHEMA_PARTITIONS: usize = 200;

const _: () = assert!(
    SCHEMA_EVENT_TYPES.len() <= MAX_SCHEMA_PARTITIONS,
    "more schema files than MAX_SCHEMA_PARTITIONS: Firehose could exceed its active partitions"
);
const _: () = assert!(2 * (MAX_SCHEMA_PARTITIONS + 1) < FIREHOSE_ACTIVE_PARTITIONS);

/// Why a record was returned `ProcessingFailed`.
#[derive(Debug, thiserror::Error)]
pub enum RecordFailure {
    #[error(transparent)]
    NotAnEvent(#[from] RecordError),
    #[error("the response has {left} bytes of its budget left and this record needs {needed}")]
    OverBudget { needed: usize, left: usize },
}

/// The Lambda: transforms each batch and emits its metrics (`config/pipeline.json` `metrics`).
pub struct Transformer {
    namespace: String,
    output: EmfOutput,
    mode: DeliveryMode,
}

impl Transformer {
    pub fn new(namespace: String, output: EmfOutput, mode: DeliveryMode) -> Self {
        Self {
            namespace,
            output,
            mode,
        }
    }

    /// Transforms a batch and writes its EMF line(s); metrics that cannot be written are logged
    /// and never change the answer.
    pub fn handle(&self, event: KinesisFirehoseEvent) -> KinesisFirehoseResponse {
        let batch = transform_batch(event, LAMBDA_RESPONSE_LIMIT_BYTES, self.mode);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as i64);
        let emitted = batch
            .metrics
            .emf(&PIPELINE.metrics, &self.namespace, now_ms)
            .map_err(|error| error.to_string())
            .and_then(|emf| self.output.emit(&emf).map_err(|error| error.to_string()));
        if let Err(error) = emitted {
            warn!(error, "metrics not emitted");
        }
        batch.response
    }
}

/// A transformed batch: Firehose's answer, and what it counted.
#[derive(Debug)]
pub struct Batch {
    pub response: KinesisFirehoseResponse,
    pub metrics: BatchMetrics,
}

/// Firehose's answer to `event` in the default delivery mode (`snowpipe`), without metrics.
pub fn handle(event: KinesisFirehoseEvent) -> KinesisFirehoseResponse {
    handle_within(event, LAMBDA_RESPONSE_LIMIT_BYTES)
}

/// [`handle`] with a response budget of `limit` bytes.
pub fn handle_within(event: KinesisFirehoseEvent, limit: usize) -> KinesisFirehoseResponse {
    transform_batch(event, limit, DeliveryMode::default()).response
}

/// Transforms `event` for delivery `mode` with a response budget of `limit` bytes, counting the
/// answers.
pub fn transform_batch(event: KinesisFirehoseEvent, limit: usize, mode: DeliveryMode) -> Batch {
    let outcomes: Vec<(KinesisFirehoseResponseRecord, Result<Output, RecordError>)> = event
        .records
        .into_iter()
        .map(|record| {
            let outcome = transform_record(&record.data.0, &provenance(&record), SCHEMA_EVENT_TYPES, mode);
            (failed(record.record_id), outcome)
        })
        .collect();

    // Every record needs an answer, so the floor is the response with all of them failed (which
    // is smaller than the request Firehose could send); each `Ok` adds what it costs over that.
    let mut response = KinesisFirehoseResponse::default();
    response.records = outcomes.iter().map(|(failed, _)| failed.clone()).collect();
    let mut used = serialized_len(&response);
    let mut over_budget = 0usize;
    let mut not_events = 0usize;
    let mut metrics = BatchMetrics::default();
    for (answer, (failed, outcome)) in response.records.iter_mut().zip(outcomes) {
        match outcome {
            Ok(transformed) => {
                let (event_type, events) = (transformed.event_type.clone(), transformed.events);
                let ok = succeeded(failed.record_id.clone(), transformed);
                let needed = serialized_len(&ok) - serialized_len(&failed);
                if used + needed <= limit {
                    used += needed;
                    *answer = ok;
                    metrics.ok(&event_type, events);
                    continue;
                }
                over_budget += 1;
                if over_budget == 1 {
                    let failure = RecordFailure::OverBudget {
                        needed,
                        left: limit.saturating_sub(used),
                    };
                    warn!(record_id = ?failed.record_id, reason = %failure, "first record past the response budget");
                }
            }
            Err(reason) => {
                not_events += 1;
                let failure = RecordFailure::from(reason);
                warn!(record_id = ?failed.record_id, reason = %failure, "record failed processing");
            }
        }
        // A failed answer carries no data: Firehose keeps the original record (as `rawData`)
        // under the error output prefix whatever we return.
        metrics.processing_failed();
    }
    if over_budget > 0 {
        error!(
            over_budget,
            response_bytes = used,
            "records past the response budget were returned ProcessingFailed: they are under the \
             error output prefix and must be replayed (lower processor_buffer_size_mib)"
        );
    }
    info!(
        records = response.records.len(),
        processing_failed = over_budget + not_events,
        over_budget,
        response_bytes = used,
        "batch transformed"
    );
    Batch { response, metrics }
}

fn provenance(record: &KinesisFirehoseEventRecord) -> Provenance<'_> {
    let kinesis = record.kinesis_firehose_record_metadata.as_ref();
    Provenance {
        firehose_record_id: record.record_id.as_deref(),
        arrived_at: kinesis
            .map(|metadata| metadata.approximate_arrival_timestamp.0)
            .unwrap_or(record.approximate_arrival_timestamp.0),
        kinesis_sequence_number: kinesis.and_then(|metadata| metadata.sequence_number.as_deref()),
        kinesis_shard_id: kinesis.and_then(|metadata| metadata.shard_id.as_deref()),
        kinesis_partition_key: kinesis.and_then(|metadata| metadata.partition_key.as_deref()),
    }
}

fn failed(record_id: Option<String>) -> KinesisFirehoseResponseRecord {
    let mut answer = KinesisFirehoseResponseRecord::default();
    answer.record_id = record_id;
    answer.result = Some(PROCESSING_FAILED.to_string());
    answer
}

fn succeeded(record_id: Option<String>, output: Output) -> KinesisFirehoseResponseRecord {
    let mut answer = KinesisFirehoseResponseRecord::default();
    answer.record_id = record_id;
    answer.result = Some(OK.to_string());
    answer.data.0 = output.data;
    // Without dynamic partitioning the map stays empty, which serialises as no `partitionKeys`.
    if output.partitioned {
        answer.metadata.partition_keys = HashMap::from([
            ("event_type".to_string(), output.event_type),
            ("dt".to_string(), output.dt),
        ]);
    }
    answer
}

/// The response as the runtime sends it to Firehose: [`KinesisFirehoseResponse`]'s JSON, except
/// that a record without partition keys has no `metadata` at all (the delivery modes without
/// dynamic partitioning). Never larger than the response the budget counted.
pub struct Answer(pub KinesisFirehoseResponse);

impl Serialize for Answer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Record<'a> {
            record_id: &'a Option<String>,
            result: &'a Option<String>,
            data: &'a Base64Data,
            #[serde(skip_serializing_if = "Option::is_none")]
            metadata: Option<&'a KinesisFirehoseResponseRecordMetadata>,
        }
        #[derive(Serialize)]
        struct Records<'a> {
            records: Vec<Record<'a>>,
        }
        let records = self
            .0
            .records
            .iter()
            .map(|record| Record {
                record_id: &record.record_id,
                result: &record.result,
                data: &record.data,
                metadata: (!record.metadata.partition_keys.is_empty()).then_some(&record.metadata),
            })
            .collect();
        Records { records }.serialize(serializer)
    }
}

/// The length of `value` serialised by serde_json, as the runtime serialises the response,
/// without keeping the bytes.
pub fn serialized_len<T: Serialize>(value: &T) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).expect("a Firehose response always serialises");
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_types_are_the_shipped_schema_files_sorted() {
        assert!(SCHEMA_EVENT_TYPES.contains(&"page_view") && SCHEMA_EVENT_TYPES.contains(&"order_placed"));
        assert!(SCHEMA_EVENT_TYPES.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(!SCHEMA_EVENT_TYPES.iter().any(|name| name.starts_with('_')));
    }

    #[test]
    fn serialized_len_is_the_serialised_length() {
        let mut record = failed(Some("4962\"\\\u{1}".to_string()));
        assert_eq!(
            serialized_len(&record),
            serde_json::to_vec(&record).unwrap().len()
        );
        record.data.0 = vec![0xff; 1000];
        record
            .metadata
            .partition_keys
            .insert("dt".into(), "2026-11-26".into());
        assert_eq!(
            serialized_len(&record),
            serde_json::to_vec(&record).unwrap().len()
        );
    }
}
