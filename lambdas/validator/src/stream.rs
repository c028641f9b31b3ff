//! PutRecords with partial-failure retry: an event counts as accepted only once Kinesis has
//! returned a sequence number for it.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use rtstream_core::kinesis::{plan_calls, record_size, Backoff};
use rtstream_core::Limits;
use std::time::Duration;
use tokio::time::{sleep, timeout_at, Instant};
use tracing::warn;

/// One valid event on its way to Kinesis.
#[derive(Debug, Clone, Copy)]
pub struct PendingRecord<'a> {
    pub partition_key: &'a str,
    pub data: &'a [u8],
}

pub struct StreamWriter {
    client: aws_sdk_kinesis::Client,
    stream_name: String,
    limits: Limits,
    backoff: Backoff,
}

impl StreamWriter {
    pub fn new(
        client: aws_sdk_kinesis::Client,
        stream_name: String,
        limits: Limits,
        backoff: Backoff,
    ) -> Self {
        Self {
            client,
            stream_name,
            limits,
            backoff,
        }
    }

    /// Writes `records`, retrying the ones Kinesis refuses until `deadline`. Returns, per record,
    /// whether Kinesis acknowledged it.
    pub async fn put_all(&self, records: &[PendingRecord<'_>], deadline: Instant) -> Vec<bool> {
        let mut acknowledged = vec![false; records.len()];
        let mut pending: Vec<usize> = (0..records.len()).collect();
        let mut rng = fastrand::Rng::new();
        let mut attempt = 0;
        while !pending.is_empty() {
            let sizes = pending
                .iter()
                .map(|&i| (i, record_size(records[i].data, records[i].partition_key)));
            let mut refused = Vec::new();
            for call in plan_calls(sizes, &self.limits) {
                match timeout_at(deadline, self.put_call(records, &call)).await {
                    Ok(Ok(sequenced)) => {
                        for (&index, has_sequence_number) in call.iter().zip(sequenced) {
                            if has_sequence_number {
                                acknowledged[index] = true;
                            } else {
                                refused.push(index);
                            }
                        }
                    }
                    Ok(Err(error)) => {
                        warn!(attempt, records = call.len(), error = %error, "PutRecords call failed");
                        refused.extend(call);
                    }
                    Err(_) => {
                        warn!(
                            attempt,
                            records = call.len(),
                            "PutRecords call reached the deadline"
                        );
                        refused.extend(call);
                    }
                }
            }
            pending = refused;
            if pending.is_empty() {
                break;
            }
            let delay = self.backoff.delay(attempt, &mut rng);
            if Instant::now() + delay >= deadline {
                warn!(
                    attempt,
                    unwritten = pending.len(),
                    "giving up at the put deadline"
                );
                break;
            }
            sleep(delay).await;
            attempt += 1;
        }
        acknowledged
    }

    /// One PutRecords call; per record of `call`, whether it got a sequence number.
    async fn put_call(&self, records: &[PendingRecord<'_>], call: &[usize]) -> Result<Vec<bool>, String> {
        let entries = call
            .iter()
            .map(|&index| {
                PutRecordsRequestEntry::builder()
                    .partition_key(records[index].partition_key)
                    .data(Blob::new(records[index].data))
                    .build()
                    .map_err(|error| error.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .put_records()
            .stream_name(&self.stream_name)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|error| aws_sdk_kinesis::error::DisplayErrorContext(error).to_string())?;
        let results = output.records();
        let mut refused_codes = Vec::new();
        let sequenced = (0..call.len())
            .map(|position| match results.get(position) {
                Some(result) if result.sequence_number().is_some_and(|s| !s.is_empty()) => true,
                Some(result) => {
                    refused_codes.push(result.error_code().unwrap_or("Unknown").to_string());
                    false
                }
                // A response with fewer results than records proves nothing about the rest.
                None => false,
            })
            .collect();
        if !refused_codes.is_empty() {
            refused_codes.sort_unstable();
            refused_codes.dedup();
            warn!(refused = output.failed_record_count().unwrap_or_default(), codes = ?refused_codes, "PutRecords partial failure");
        }
        Ok(sequenced)
    }
}

/// How long the validator may spend writing, from the configured `put_deadline_ms`.
pub fn put_deadline(limits: &Limits) -> Instant {
    Instant::now() + Duration::from_millis(limits.put_deadline_ms)
}
