//! One request's journey: validate, keep the rejections, write the rest, answer.

use crate::error_store::ErrorStore;
use crate::stream::{put_deadline, PendingRecord, StreamWriter};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_kinesis::config::BehaviorVersion;
use aws_smithy_async::rt::sleep::default_async_sleep;
use aws_types::region::Region;
use aws_types::sdk_config::{RetryConfig, TimeoutConfig};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use aws_types::SdkConfig;
use chrono::{DateTime, Utc};
use rtstream_core::error::codes;
use rtstream_core::kinesis::Backoff;
use rtstream_core::metrics::{namespace_from_env, EmfOutput, EventTypes, RequestMetrics};
use rtstream_core::packing::pack;
use rtstream_core::response::{self, Reply, WriteFailure};
use rtstream_core::schema::SchemaRegistry;
use rtstream_core::validator::RequestBody;
use rtstream_core::{DeliveryMode, Limits, Validator, PIPELINE};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{error, info, warn};

pub struct App {
    pub validator: Validator,
    pub stream: StreamWriter,
    pub errors: ErrorStore,
    pub metrics: Metrics,
    /// Packs events into records of up to this many bytes, or writes one event per record
    /// (`rtstream_core::packing`; `None` in the delivery modes that map one record to one row).
    pub packing_target: Option<usize>,
}

/// Where each request's metrics go (`config/pipeline.json` `metrics`, as EMF log lines).
pub struct Metrics {
    pub namespace: String,
    /// The `EventType` dimension's values: the schemas' event types, and `_default`.
    pub event_types: EventTypes,
    pub output: EmfOutput,
}

/// Everything the validator reads from its environment (names in `config/pipeline.json`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub stream_name: String,
    pub error_bucket: String,
    pub error_prefix: String,
    pub schema_dir: PathBuf,
    pub limits: Limits,
    pub metrics_namespace: String,
    /// Decides whether events are packed (`config/pipeline.json` `delivery_modes.*.packs`).
    pub delivery_mode: DeliveryMode,
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
            metrics_namespace: namespace_from_env(&lookup).map_err(|error| error.to_string())?,
            delivery_mode: DeliveryMode::from_env(&lookup, PIPELINE.env_name("delivery_mode"))
                .map_err(|error| error.to_string())?,
        })
    }
}

impl App {
    /// Builds the app from settings and SDK configuration: schemas compiled, clients created,
    /// once per container.
    pub fn new(settings: Settings, sdk_config: &SdkConfig) -> Result<Self, String> {
        let schemas = SchemaRegistry::load_dir(&settings.schema_dir).map_err(|error| error.to_string())?;
        Ok(Self {
            metrics: Metrics {
                namespace: settings.metrics_namespace,
                event_types: EventTypes::of(&schemas),
                output: EmfOutput::stdout(),
            },
            validator: Validator::new(settings.limits, schemas),
            stream: StreamWriter::new(
                aws_sdk_kinesis::Client::new(sdk_config),
                settings.stream_name,
                settings.limits,
                Backoff::default(),
            ),
            errors: ErrorStore::new(
                s3_client(sdk_config),
                settings.error_bucket,
                settings.error_prefix,
            ),
            packing_target: settings.delivery_mode.packing_target(),
        })
    }

    /// Handles one request and emits its metrics. `received_at` is the validator's clock when
    /// the request arrived.
    pub async fn process(
        &self,
        request_id: &str,
        request: RequestBody<'_>,
        received_at: DateTime<Utc>,
    ) -> Reply {
        let mut metrics = RequestMetrics::new(&request);
        let reply = self.respond(request_id, request, received_at, &mut metrics).await;
        self.emit(request_id, &metrics, received_at);
        reply
    }

    async fn respond(
        &self,
        request_id: &str,
        request: RequestBody<'_>,
        received_at: DateTime<Utc>,
        metrics: &mut RequestMetrics,
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
                metrics.body_refused(body_error.code);
                if body_error.keeps_raw_body() {
                    let record =
                        response::body_error_record(request_id, received_at, &body_error, request.body);
                    if let Err(reply) = self
                        .keep_rejections(request_id, received_at, record, deadline, metrics)
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
                .keep_rejections(request_id, received_at, records, deadline, metrics)
                .await
                .is_err()
            {
                let nothing = vec![false; outcomes.len()];
                metrics.events(&outcomes, &nothing, &self.metrics.event_types);
                return response::batch_reply(
                    request_id,
                    &outcomes,
                    &nothing,
                    Some(WriteFailure::ErrorStore),
                );
            }
        }

        // Each record knows its events, so Kinesis' answer for a record lands on all of them: a
        // packed record refused is retried whole, and unwritten at the deadline fails them all.
        let packed = pack(&outcomes, self.packing_target);
        let records: Vec<PendingRecord> = packed
            .iter()
            .map(|record| PendingRecord {
                partition_key: record.partition_key,
                data: &record.data,
            })
            .collect();
        let written = self.stream.write(&records, deadline).await;
        metrics.put_records(written.stats);
        let mut accepted = vec![false; outcomes.len()];
        for (record, written) in packed.iter().zip(written.acknowledged) {
            for &index in &record.events {
                accepted[index] = written;
            }
        }

        metrics.events(&outcomes, &accepted, &self.metrics.event_types);
        let reply = response::batch_reply(request_id, &outcomes, &accepted, None);
        log_summary(request_id, reply.status, metrics);
        reply
    }

    /// One EMF line per dimension value group; metrics that cannot be written are logged, and
    /// never change the answer.
    fn emit(&self, request_id: &str, metrics: &RequestMetrics, received_at: DateTime<Utc>) {
        let emitted = metrics
            .emf(
                &PIPELINE.metrics,
                &self.metrics.namespace,
                received_at.timestamp_millis(),
            )
            .map_err(|error| error.to_string())
            .and_then(|emf| self.metrics.output.emit(&emf).map_err(|error| error.to_string()));
        if let Err(error) = emitted {
            warn!(request_id, error, "metrics not emitted");
        }
    }

    /// Stores rejection records; the put deadline bounds it too, so the whole request stays
    /// inside the Lambda and API Gateway timeouts.
    async fn keep_rejections(
        &self,
        request_id: &str,
        received_at: DateTime<Utc>,
        ndjson: Vec<u8>,
        deadline: Instant,
        metrics: &mut RequestMetrics,
    ) -> Result<(), Reply> {
        let key = response::error_object_key(self.errors.prefix(), received_at, request_id);
        let stored = self.errors.put(&key, ndjson, deadline).await;
        metrics.error_store(stored.time);
        stored.result.map_err(|cause| {
            error!(request_id, key, error = %cause, "could not store rejections");
            response::server_error_reply(
                request_id,
                codes::ERROR_STORE_FAILED,
                "the request could not be recorded; retry it",
            )
        })
    }
}

/// Counts and reasons only: payloads never reach the logs.
fn log_summary(request_id: &str, status: u16, metrics: &RequestMetrics) {
    let totals = metrics.totals();
    let reasons: Vec<&str> = metrics.codes().collect();
    info!(
        request_id,
        status,
        accepted = totals.accepted,
        rejected = totals.rejected,
        failed = totals.failed,
        reasons = ?reasons,
        "request handled"
    );
}

/// SDK configuration from the standard AWS environment: `AWS_REGION`, the credentials Lambda
/// puts in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, and the endpoint
/// overrides of the local stack: `AWS_ENDPOINT_URL`, and `AWS_ENDPOINT_URL_KINESIS` /
/// `AWS_ENDPOINT_URL_S3` for one service, which win over it. aws-config would add the whole provider chain (profiles, SSO, STS, IMDS)
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
    // As every AWS SDK: AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true switches both kinds off.
    let ignore_endpoints =
        lookup("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if !ignore_endpoints {
        config.set_endpoint_url(lookup("AWS_ENDPOINT_URL"));
        let per_service: HashMap<String, String> = SERVICE_IDS
            .iter()
            .map(|service_id| service_endpoint_variable(service_id))
            .filter_map(|variable| lookup(&variable).map(|url| (variable, url)))
            .collect();
        // The generated clients ask this for their own AWS_ENDPOINT_URL_<SERVICE> before falling
        // back to the shared endpoint, as they would ask aws-config's environment loader.
        config.set_service_config(Some(ServiceEndpoints(per_service)));
    }
    Ok(config.build())
}

/// The SDK service ids of the services the validator calls.
const SERVICE_IDS: [&str; 2] = ["Kinesis", "S3"];

/// `AWS_ENDPOINT_URL_<SERVICE ID>`, spelt as the AWS SDKs' shared configuration spells it.
fn service_endpoint_variable(service_id: &str) -> String {
    format!("AWS_ENDPOINT_URL_{}", service_id.to_uppercase().replace(' ', "_"))
}

#[derive(Debug)]
struct ServiceEndpoints(HashMap<String, String>);

impl LoadServiceConfig for ServiceEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        (key.env() == "AWS_ENDPOINT_URL")
            .then(|| self.0.get(&service_endpoint_variable(key.service_id())).cloned())
            .flatten()
    }
}

/// The S3 client for `sdk_config`. Emulators (the local stack) serve buckets by path, not by
/// host name, so an overridden endpoint means path-style requests.
pub fn s3_client(sdk_config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(s3_config(sdk_config).build())
}

fn s3_config(sdk_config: &SdkConfig) -> aws_sdk_s3::config::Builder {
    let s3_endpoint = ServiceConfigKey::builder()
        .service_id("S3")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .expect("every part of the key is set");
    let overridden = sdk_config.endpoint_url().is_some()
        || sdk_config
            .service_config()
            .and_then(|config| config.load_config(s3_endpoint))
            .is_some();
    aws_sdk_s3::config::Builder::from(sdk_config).force_path_style(overridden)
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
        assert_eq!(
            settings.metrics_namespace, PIPELINE.name_prefix,
            "{{prefix}} expanded by default"
        );
        let named = Settings::from_env(env(&[
            ("RTSTREAM_STREAM_NAME", "s"),
            ("RTSTREAM_ERROR_BUCKET", "b"),
            ("RTSTREAM_METRICS_NAMESPACE", "rtstream-dev"),
        ]))
        .unwrap();
        assert_eq!(named.metrics_namespace, "rtstream-dev");
        let missing = Settings::from_env(env(&[("RTSTREAM_STREAM_NAME", "s")])).unwrap_err();
        assert!(missing.contains("RTSTREAM_ERROR_BUCKET"), "{missing}");
        assert_eq!(
            settings.delivery_mode,
            DeliveryMode::Snowpipe,
            "unset: today's mode"
        );
        let streaming = Settings::from_env(env(&[
            ("RTSTREAM_STREAM_NAME", "s"),
            ("RTSTREAM_ERROR_BUCKET", "b"),
            ("RTSTREAM_DELIVERY_MODE", "snowpipe_streaming"),
        ]))
        .unwrap();
        assert_eq!(streaming.delivery_mode, DeliveryMode::SnowpipeStreaming);
        let unknown = Settings::from_env(env(&[
            ("RTSTREAM_STREAM_NAME", "s"),
            ("RTSTREAM_ERROR_BUCKET", "b"),
            ("RTSTREAM_DELIVERY_MODE", "kafka"),
        ]))
        .unwrap_err();
        assert!(
            unknown.contains("RTSTREAM_DELIVERY_MODE") && unknown.contains("kafka"),
            "{unknown}"
        );
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

    #[tokio::test]
    async fn a_service_endpoint_wins_over_the_shared_one_for_that_service_only() {
        use aws_smithy_http_client::test_util::capture_request;
        let sdk = sdk_config(env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:4568"),
        ]))
        .unwrap();
        let (http, kinesis_request) = capture_request(None);
        let kinesis = aws_sdk_kinesis::config::Builder::from(&sdk)
            .http_client(http)
            .build();
        let _ = aws_sdk_kinesis::Client::from_conf(kinesis)
            .list_streams()
            .send()
            .await;
        let (http, s3_request) = capture_request(None);
        let s3 = aws_sdk_s3::config::Builder::from(&sdk).http_client(http).build();
        let _ = aws_sdk_s3::Client::from_conf(s3).list_buckets().send().await;
        assert!(kinesis_request
            .expect_request()
            .uri()
            .starts_with("http://127.0.0.1:4568/"));
        assert!(s3_request
            .expect_request()
            .uri()
            .starts_with("http://127.0.0.1:4566/"));
    }

    /// The S3 request of `sdk`'s error-store client, captured.
    async fn error_store_put_uri(sdk: &SdkConfig) -> String {
        let (http, request) = aws_smithy_http_client::test_util::capture_request(None);
        let s3 = aws_sdk_s3::Client::from_conf(s3_config(sdk).http_client(http).build());
        let _ = s3.put_object().bucket("errors").key("k").send().await;
        request.expect_request().uri().to_owned()
    }

    #[tokio::test]
    async fn an_s3_endpoint_alone_is_used_path_style_and_can_be_ignored() {
        let base = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4566"),
        ];
        let local = sdk_config(env(&base)).unwrap();
        assert_eq!(
            error_store_put_uri(&local).await,
            "http://127.0.0.1:4566/errors/k?x-id=PutObject"
        );
        let ignoring = [&base[..], &[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]].concat();
        let aws = sdk_config(env(&ignoring)).unwrap();
        assert!(
            error_store_put_uri(&aws)
                .await
                .starts_with("https://errors.s3.eu-west-1.amazonaws.com/"),
            "AWS's own endpoint, virtual-hosted"
        );
    }
}
