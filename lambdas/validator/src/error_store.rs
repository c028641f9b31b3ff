//! The error bucket: one NDJSON object per request that had rejections. Throttling (`SlowDown`),
//! 5xx and timeouts are retried with backoff until the put deadline; a refusal another try
//! would get again (AccessDenied, NoSuchBucket, a disabled KMS key) fails at once.

use crate::aws_error::AwsFailure;
use aws_sdk_s3::primitives::ByteStream;
use rtstream_core::kinesis::Backoff;
use std::time::Duration;
use tokio::time::{sleep, timeout_at, Instant};
use tracing::warn;

/// Why rejections could not be kept.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErrorStoreError {
    #[error("S3 refused the error record and retrying cannot help: {0}")]
    Permanent(AwsFailure),
    #[error("the put deadline passed before the error record was stored (last failure: {})", last.as_ref().map_or_else(|| "none, the call was still running".to_string(), ToString::to_string))]
    Deadline { last: Option<AwsFailure> },
}

/// What [`ErrorStore::put`] achieved, and how long it took (for the metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub result: Result<(), ErrorStoreError>,
    /// From the first attempt to the last answer, backoff included.
    pub time: Duration,
}

pub struct ErrorStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    backoff: Backoff,
}

impl ErrorStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: String, prefix: String) -> Self {
        Self {
            client,
            bucket,
            prefix,
            backoff: Backoff::default(),
        }
    }

    /// The same store, waiting `backoff` between attempts.
    pub fn with_backoff(self, backoff: Backoff) -> Self {
        Self { backoff, ..self }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Stores `ndjson` under `key`, retrying until `deadline` while retrying can help.
    pub async fn put(&self, key: &str, ndjson: Vec<u8>, deadline: Instant) -> Stored {
        let started = Instant::now();
        let result = self.put_retrying(key, ndjson, deadline).await;
        Stored {
            result,
            time: started.elapsed(),
        }
    }

    async fn put_retrying(
        &self,
        key: &str,
        ndjson: Vec<u8>,
        deadline: Instant,
    ) -> Result<(), ErrorStoreError> {
        let mut rng = fastrand::Rng::new();
        let mut last = None;
        for attempt in 0.. {
            let failure = match timeout_at(deadline, self.put_once(key, ndjson.clone())).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(failure)) if !failure.is_retryable() => {
                    return Err(ErrorStoreError::Permanent(failure))
                }
                Ok(Err(failure)) => failure,
                Err(_) => return Err(ErrorStoreError::Deadline { last }),
            };
            warn!(attempt, key, error = %failure, "PutObject failed; retrying");
            last = Some(failure);
            let delay = self.backoff.delay(attempt, &mut rng);
            if Instant::now() + delay >= deadline {
                break;
            }
            sleep(delay).await;
        }
        Err(ErrorStoreError::Deadline { last })
    }

    async fn put_once(&self, key: &str, ndjson: Vec<u8>) -> Result<(), AwsFailure> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/x-ndjson")
            .body(ByteStream::from(ndjson))
            .send()
            .await
            .map(drop)
            .map_err(AwsFailure::from_sdk)
    }
}
