//! One request's journey: validate, keep the rejections, write the rest, answer.

use crate::error_store::ErrorStore;
use crate::stream::{put_deadline, PendingRecord, StreamWriter};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_kinesis::config::BehaviorVersion;
use aws_smithy_async::rt::sleep::default_async_sleep;
use aws_types::region::Region;
use aws_types::sdk_config::{RetryConfig, TimeoutConfig};
use aws_types::SdkConfig;
use chrono::{DateTime, Utc};
use rtstream_core::error::codes;
use rtstream_core::kinesis::Backoff;
use rtstream_core::response::{self, Reply, WriteFailure};
use rtstream_core::schema::SchemaRegistry;
use rtstream_core::validator::{Outcome, RequestBody};
use rtstream_core::{Limits, Validator, PIPELINE};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{error, info};

pub struct App {
    pub validator: Validator,
    pub stream: StreamWriter,
    pub errors: ErrorStore,
}

/// Everything the validator reads from its environment (names in `config/pipeline.json`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub stream_name: String,
    pub error_bucket: String,
    pub error_prefix: String,
    pub schema_dir: PathBuf,
    pub limits: Limits,
}

impl Settings {
    pub fn from_env<F: Fn(&str) -> Option<String>>(lookup: F) -> Result<Self, String> {
        let required = |setting: &str| {
            PIPELINE
                .lookup(&lookup, setting)
                .ok_or_else(|| format!("{} must be set", PIPELINE.env_name(setting)))
        };
        // The zip ships `schemas/` beside the bootstrap binary, in the task root.
        let schema_dir = PIPELINE
            .lookup(&lookup, "schema_dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(lookup("LAMBDA_TASK_ROOT").unwrap_or_else(|| ".".to_string())).join("schemas")
            });
        Ok(Self {
            stream_name: required("stream_name")?,
            error_bucket: required("error_bucket")?,
            error_prefix: PIPELINE
                .lookup(&lookup, "error_prefix")
                .unwrap_or_else(|| PIPELINE.prefixes.errors.clone()),
            schema_dir,
            limits: Limits::from_env(&lookup).map_err(|error| error.to_string())?,
        })
    }
}

impl App {
    /// Builds the app from settings and SDK configuration: schemas compiled, clients created,
    /// once per container.
    pub fn new(settings: Settings, sdk_config: &SdkConfig) -> Result<Self, String> {
        let schemas = SchemaRegistry::load_dir(&settings.schema_dir).map_err(|error| error.to_string())?;
        Ok(Self {
            validator: Validator::new(settings.limits, schemas),
            stream: StreamWriter::new(
                aws_sdk_kinesis::Client::new(sdk_config),
                settings.stream_name,
                settings.limits,
                Backoff::default(),
            ),
            errors: ErrorStore::new(
                aws_sdk_s3::Client::from_conf(
                    aws_sdk_s3::config::Builder::from(sdk_config)
                        // Emulators (the local stack) serve buckets by path, not by host name.
                        .force_path_style(sdk_config.endpoint_url().is_some())
                        .build(),
                ),
                settings.error_bucket,
                settings.error_prefix,
            ),
        })
    }

    /// Handles one request. `received_at` is the validator's clock when the request arrived.
    pub async fn process(
        &self,
        request_id: &str,
        request: RequestBody<'_>,
        received_at: DateTime<Utc>,
    ) -> Reply {
        let deadline = put_deadline(&self.validator.limits);
        let outcomes = match self.validator.validate_request(request, received_at) {
            Ok(outcomes) => outcomes,
            Err(body_error) => {
                info!(
                    request_id,
                    status = body_error.status,
                    code = body_error.code,
                    "body refused"
                );
                if body_error.keeps_raw_body() {
                    let record =
                        response::body_error_record(request_id, received_at, &body_error, request.body);
                    if let Err(reply) = self
                        .keep_rejections(request_id, received_at, record, deadline)
                        .await
                    {
                        return reply;
                    }
                }
                return response::body_error_reply(request_id, &body_error);
            }
        };

        // Rejections are stored before anything is accepted: if they cannot be kept, the client
        // is told to retry the whole request, and nothing it sent is in the stream twice.
        if let Some(records) = response::rejection_records(request_id, received_at, &outcomes) {
            if self
                .keep_rejections(request_id, received_at, records, deadline)
                .await
                .is_err()
            {
                let nothing = vec![false; outcomes.len()];
                return response::batch_reply(
                    request_id,
                    &outcomes,
                    &nothing,
                    Some(WriteFailure::ErrorStore),
                );
            }
        }

        // Which outcome each record came from, so Kinesis' answers land on the right events.
        let (origins, records): (Vec<usize>, Vec<PendingRecord>) = outcomes
            .iter()
            .enumerate()
            .filter_map(|(index, outcome)| match outcome {
                Outcome::Valid { event_id, record } => Some((
                    index,
                    PendingRecord {
                        partition_key: event_id,
                        data: record,
                    },
                )),
                Outcome::Rejected { .. } => None,
            })
            .unzip();
        let written = self.stream.put_all(&records, deadline).await;
        let mut accepted = vec![false; outcomes.len()];
        for (index, written) in origins.into_iter().zip(written) {
            accepted[index] = written;
        }

        let reply = response::batch_reply(request_id, &outcomes, &accepted, None);
        log_summary(request_id, &outcomes, &reply);
        reply
    }

    /// Stores rejection records; the put deadline bounds it too, so the whole request stays
    /// inside the Lambda and API Gateway timeouts.
    async fn keep_rejections(
        &self,
        request_id: &str,
        received_at: DateTime<Utc>,
        ndjson: Vec<u8>,
        deadline: Instant,
    ) -> Result<(), Reply> {
        let key = response::error_object_key(self.errors.prefix(), received_at, request_id);
        let stored = self.errors.put(&key, ndjson, deadline).await;
        stored.map_err(|cause| {
            error!(request_id, key, error = %cause, "could not store rejections");
            response::server_error_reply(
                request_id,
                codes::ERROR_STORE_FAILED,
                "the request could not be recorded; retry it",
            )
        })
    }
}

/// Ids and reasons only: payloads never reach the logs.
fn log_summary(request_id: &str, outcomes: &[Outcome], reply: &Reply) {
    let mut reasons: Vec<&str> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Outcome::Rejected { errors, .. } => Some(errors.iter().map(|error| error.code.as_str())),
            Outcome::Valid { .. } => None,
        })
        .flatten()
        .collect();
    reasons.sort_unstable();
    reasons.dedup();
    info!(
        request_id,
        status = reply.status,
        accepted = reply.body["accepted"].as_u64(),
        rejected = reply.body["rejected"].as_u64(),
        failed = reply.body["failed"].as_u64(),
        reasons = ?reasons,
        "request handled"
    );
}

/// SDK configuration from the standard AWS environment: `AWS_REGION`, the credentials Lambda
/// puts in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, and `AWS_ENDPOINT_URL`
/// (the local stack). aws-config would add the whole provider chain (profiles, SSO, STS, IMDS)
/// that a Lambda never uses, and a third of the zip. TLS is rustls on ring; attempt timeouts sit
/// well inside the put deadline so one stuck connection cannot use it up.
pub fn sdk_config<F: Fn(&str) -> Option<String>>(lookup: F) -> Result<SdkConfig, String> {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let region = lookup("AWS_REGION")
        .or_else(|| lookup("AWS_DEFAULT_REGION"))
        .ok_or("AWS_REGION must be set")?;
    let credentials = Credentials::new(
        lookup("AWS_ACCESS_KEY_ID").ok_or("AWS_ACCESS_KEY_ID must be set")?,
        lookup("AWS_SECRET_ACCESS_KEY").ok_or("AWS_SECRET_ACCESS_KEY must be set")?,
        lookup("AWS_SESSION_TOKEN"),
        None,
        "lambda-environment",
    );
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .build();
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http_client)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard())
        .sleep_impl(default_async_sleep().ok_or("no async sleep implementation")?);
    config.set_endpoint_url(lookup("AWS_ENDPOINT_URL"));
    Ok(config.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn settings_come_from_the_configured_variable_names() {
        let settings = Settings::from_env(env(&[
            ("RTSTREAM_STREAM_NAME", "s"),
            ("RTSTREAM_ERROR_BUCKET", "b"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
            ("RTSTREAM_MAX_BATCH_EVENTS", "10"),
        ]))
        .unwrap();
        assert_eq!(
            (settings.stream_name.as_str(), settings.error_bucket.as_str()),
            ("s", "b")
        );
        assert_eq!(settings.error_prefix, PIPELINE.prefixes.errors);
        assert_eq!(settings.schema_dir, PathBuf::from("/var/task/schemas"));
        assert_eq!(settings.limits.max_batch_events, 10);
        let missing = Settings::from_env(env(&[("RTSTREAM_STREAM_NAME", "s")])).unwrap_err();
        assert!(missing.contains("RTSTREAM_ERROR_BUCKET"), "{missing}");
    }

    #[test]
    fn sdk_config_honours_the_endpoint_override() {
        let base = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ];
        let config = sdk_config(env(&base)).unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), None);
        let local = [&base[..], &[("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")]].concat();
        assert_eq!(
            sdk_config(env(&local)).unwrap().endpoint_url(),
            Some("http://127.0.0.1:4566")
        );
        assert!(sdk_config(env(&base[..1]))
            .unwrap_err()
            .contains("AWS_ACCESS_KEY_ID"));
    }
}
