//! PutRecords with partial-failure retry: an event counts as accepted only once Kinesis has
//! returned a sequence number for it. Throttling, 5xx and timeouts are retried with backoff
//! until the put deadline; a refusal that another try would get again (AccessDenied, no such
//! stream, a disabled KMS key, ...) ends the write at once.

use crate::aws_error::AwsFailure;
use aws_sdk_kinesis::error::BuildError;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use rtstream_core::kinesis::{plan_calls, record_size, Backoff};
use rtstream_core::metrics::PutStats;
use rtstream_core::Limits;
use std::time::Duration;
use tokio::time::{sleep, timeout_at, Instant};
use tracing::{error, warn};

/// One valid event on its way to Kinesis.
#[derive(Debug, Clone, Copy)]
pub struct PendingRecord<'a> {
    pub partition_key: &'a str,
    pub data: &'a [u8],
}

/// Why some records were not written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StreamError {
    /// Kinesis refused in a way another try would repeat: nothing more was attempted.
    #[error("Kinesis refused the records and retrying cannot help: {0}")]
    Permanent(AwsFailure),
    /// Retryable failures lasted until the put deadline.
    #[error("the put deadline passed with records unwritten (last failure: {})", last.as_ref().map_or_else(|| "none, the call was still running".to_string(), ToString::to_string))]
    Deadline { last: Option<AwsFailure> },
    /// A PutRecords entry could not be built (a bug: never retried).
    #[error("a PutRecords entry could not be built: {0}")]
    Entry(String),
}

impl From<BuildError> for StreamError {
    fn from(error: BuildError) -> Self {
        Self::Entry(error.to_string())
    }
}

/// What [`StreamWriter::write`] achieved: per record, whether Kinesis acknowledged it, why
/// the others were not written, and what it took (for the metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub acknowledged: Vec<bool>,
    /// `None` exactly when every record was acknowledged.
    pub error: Option<StreamError>,
    pub stats: PutStats,
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

    /// Writes `records`, retrying the ones Kinesis refuses for a retryable reason until
    /// `deadline`, and stopping at the first refusal that is not.
    pub async fn write(&self, records: &[PendingRecord<'_>], deadline: Instant) -> Written {
        let started = Instant::now();
        let mut stats = PutStats::default();
        let (acknowledged, error) = self.write_counting(records, deadline, &mut stats).await;
        stats.time = started.elapsed();
        Written {
            acknowledged,
            error,
            stats,
        }
    }

    /// [`StreamWriter::write`], counting calls, refused records and retries into `stats`.
    async fn write_counting(
        &self,
        records: &[PendingRecord<'_>],
        deadline: Instant,
        stats: &mut PutStats,
    ) -> (Vec<bool>, Option<StreamError>) {
        let mut acknowledged = vec![false; records.len()];
        let mut pending: Vec<usize> = (0..records.len()).collect();
        let mut rng = fastrand::Rng::new();
        let mut last = None;
        let mut attempt = 0;
        let error = loop {
            if pending.is_empty() {
                break None;
            }
            let sizes = pending
                .iter()
                .map(|&i| (i, record_size(records[i].data, records[i].partition_key)));
            let mut refused = Vec::new();
            for call in plan_calls(sizes, &self.limits) {
                stats.calls += 1;
                let answers = match timeout_at(deadline, self.put_call(records, &call)).await {
                    Ok(Ok(answers)) => answers,
                    // Built from a retryable failure, `put_call` answers per record instead.
                    Ok(Err(error)) => {
                        log_unwritable(attempt, &error, call.len());
                        stats.records_refused += call.len() as u64;
                        return (acknowledged, Some(error));
                    }
                    Err(_) => {
                        warn!(
                            attempt,
                            records = call.len(),
                            "PutRecords call reached the put deadline"
                        );
                        return (acknowledged, Some(StreamError::Deadline { last }));
                    }
                };
                // Every answer of the call is read before a permanent refusal ends the write:
                // records Kinesis took after it are acknowledged, not reported as failed.
                let mut permanent = None;
                for (&index, answer) in call.iter().zip(answers) {
                    match answer {
                        Ok(()) => acknowledged[index] = true,
                        Err(failure) if !failure.is_retryable() => {
                            stats.records_refused += 1;
                            permanent.get_or_insert(failure);
                        }
                        Err(failure) => {
                            stats.records_refused += 1;
                            refused.push(index);
                            last = Some(failure);
                        }
                    }
                }
                if let Some(failure) = permanent {
                    let error = StreamError::Permanent(failure);
                    log_unwritable(attempt, &error, 1);
                    return (acknowledged, Some(error));
                }
            }
            pending = refused;
            if pending.is_empty() {
                break None;
            }
            let delay = self.backoff.delay(attempt, &mut rng);
            if Instant::now() + delay >= deadline {
                warn!(
                    attempt,
                    unwritten = pending.len(),
                    last_failure = ?last.as_ref().map(ToString::to_string),
                    "giving up at the put deadline"
                );
                break Some(StreamError::Deadline { last });
            }
            sleep(delay).await;
            attempt += 1;
            stats.retries += 1;
        };
        (acknowledged, error)
    }

    /// One PutRecords call; per record of `call`, acknowledged or why not. A retryable failure
    /// of the whole call is that answer for each of its records; any other is `Err`.
    async fn put_call(
        &self,
        records: &[PendingRecord<'_>],
        call: &[usize],
    ) -> Result<Vec<Result<(), AwsFailure>>, StreamError> {
        let entries = call
            .iter()
            .map(|&index| {
                PutRecordsRequestEntry::builder()
                    .partition_key(records[index].partition_key)
                    .data(Blob::new(records[index].data))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = match self
            .client
            .put_records()
            .stream_name(&self.stream_name)
            .set_records(Some(entries))
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                let failure = AwsFailure::from_sdk(error);
                if !failure.is_retryable() {
                    return Err(StreamError::Permanent(failure));
                }
                warn!(records = call.len(), error = %failure, "PutRecords call failed");
                return Ok(vec![Err(failure); call.len()]);
            }
        };
        let results = output.records();
        let mut refused_codes = Vec::new();
        let answers = (0..call.len())
            .map(|position| match results.get(position) {
                Some(result) if result.sequence_number().is_some_and(|s| !s.is_empty()) => Ok(()),
                Some(result) => {
                    let failure = AwsFailure::from_record(result.error_code(), result.error_message());
                    refused_codes.extend(failure.code.clone());
                    Err(failure)
                }
                // A response with fewer results than records proves nothing about the rest.
                None => Err(AwsFailure::from_record(
                    Some("InternalFailure"),
                    Some("PutRecords answered fewer records than it was sent"),
                )),
            })
            .collect();
        if !refused_codes.is_empty() {
            refused_codes.sort_unstable();
            refused_codes.dedup();
            warn!(refused = output.failed_record_count().unwrap_or_default(), codes = ?refused_codes, "PutRecords partial failure");
        }
        Ok(answers)
    }
}

fn log_unwritable(attempt: u32, error: &StreamError, records: usize) {
    let (code, status) = match error {
        StreamError::Permanent(failure) => (failure.code.as_deref(), failure.status),
        _ => (None, None),
    };
    error!(
        attempt,
        records,
        code,
        status,
        error = %error,
        "Kinesis cannot take these records and retrying cannot fix it: giving up at once"
    );
}

/// How long the validator may spend writing, from the configured `put_deadline_ms`.
pub fn put_deadline(limits: &Limits) -> Instant {
    Instant::now() + Duration::from_millis(limits.put_deadline_ms)
}
