//! Defaults come from `config/pipeline.json`, the file Terraform and the local stack read too,
//! so a limit is defined once. Environment variables (named in that file) override them.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::LazyLock;

const PIPELINE_JSON: &str = include_str!("../../../config/pipeline.json");
/// Kinesis' hard limit on one record (data plus partition key): a service quota, not a setting.
pub const KINESIS_MAX_RECORD_BYTES: usize = 1 << 20;

/// The parsed `config/pipeline.json`: the single source of truth for names, prefixes and limits.
pub static PIPELINE: LazyLock<PipelineConfig> = LazyLock::new(|| {
    serde_json::from_str(PIPELINE_JSON).expect("config/pipeline.json is valid (checked by tests)")
});

#[derive(Debug, Clone, Deserialize)]
pub struct PipelineConfig {
    /// What `{prefix}` in a name stands for when the environment does not say otherwise.
    pub name_prefix: String,
    pub prefixes: Prefixes,
    pub limits: Limits,
    /// Names of the environment variables that configure the validator, by setting.
    pub lambda_env: HashMap<String, String>,
    /// The CloudWatch metrics the Lambdas emit (`crate::metrics`).
    pub metrics: crate::metrics::MetricsConfig,
    pub packing: Packing,
    pub delivery_modes: DeliveryModes,
}

/// How the validator packs events into Kinesis records (`crate::packing`).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Packing {
    /// The largest packed record, data plus partition key, in bytes.
    pub target_record_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryModes {
    /// The environment variable that names the mode on the transformer.
    pub transformer_env: String,
    pub modes: HashMap<String, ModeSettings>,
}

/// The settings of one delivery mode the Lambdas read (Terraform and the local stack read the rest).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ModeSettings {
    /// Whether the validator packs several events into one record in this mode.
    pub packs: bool,
}

/// How Firehose delivers to Snowflake (`config/pipeline.json` `delivery_modes`): it decides the
/// transformer's output and whether the validator packs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryMode {
    /// NDJSON lines with `event_type`/`dt` partition keys (dynamic partitioning).
    #[default]
    Snowpipe,
    /// The same lines without partition keys (no dynamic partitioning).
    SnowpipeFresh,
    /// One object per record keyed by `EVENTS`' column names (Firehose's `JSON_MAPPING`).
    SnowpipeStreaming,
}

impl DeliveryMode {
    pub const ALL: [DeliveryMode; 3] = [Self::Snowpipe, Self::SnowpipeFresh, Self::SnowpipeStreaming];

    /// The mode's name, as in `config/pipeline.json` and Terraform's `delivery_mode`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Snowpipe => "snowpipe",
            Self::SnowpipeFresh => "snowpipe_fresh",
            Self::SnowpipeStreaming => "snowpipe_streaming",
        }
    }

    /// The mode set in the environment variable `env_name`: absent or empty is today's default
    /// (`snowpipe`); anything else that is not a mode's name is an error, never a silent default.
    pub fn from_env<F>(lookup: F, env_name: &str) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let Some(raw) = lookup(env_name).filter(|value| !value.trim().is_empty()) else {
            return Ok(Self::default());
        };
        Self::ALL
            .into_iter()
            .find(|mode| mode.name() == raw.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|mode| mode.name()).collect();
                ConfigError(format!(
                    "{env_name} must be one of {}, got {raw:?}",
                    names.join(", ")
                ))
            })
    }

    /// The packing target of the mode: `Some(bytes)` when it packs, `None` for one event per record.
    pub fn packing_target(self) -> Option<usize> {
        let settings = PIPELINE
            .delivery_modes
            .modes
            .get(self.name())
            .unwrap_or_else(|| panic!("config/pipeline.json delivery_modes has no {:?}", self.name()));
        settings.packs.then_some(PIPELINE.packing.target_record_bytes)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Prefixes {
    pub events: String,
    pub processing_failed: String,
    pub errors: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Limits {
    pub max_event_bytes: usize,
    pub max_request_bytes: usize,
    pub max_batch_events: usize,
    pub max_future_skew_seconds: i64,
    /// How long ago `occurred_at` may be, in days.
    pub max_past_days: u64,
    pub kinesis_max_records_per_call: usize,
    pub kinesis_max_bytes_per_call: usize,
    pub put_deadline_ms: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl PipelineConfig {
    /// The environment variable name configured for `setting` (a key of `lambda_env`).
    pub fn env_name(&self, setting: &str) -> &str {
        self.lambda_env
            .get(setting)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("config/pipeline.json lambda_env has no {setting:?}"))
    }

    /// The value of setting `setting` in an environment given as a lookup function.
    pub fn lookup<F>(&self, lookup: &F, setting: &str) -> Option<String>
    where
        F: Fn(&str) -> Option<String>,
    {
        lookup(self.env_name(setting)).filter(|value| !value.trim().is_empty())
    }
}

impl Limits {
    /// The configured defaults overridden by whichever environment variables `lookup` returns.
    /// A value that is not a positive whole number is an error, not a silent default.
    pub fn from_env<F>(lookup: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let defaults = PIPELINE.limits;
        let read = |setting: &str, default: u64| -> Result<u64, ConfigError> {
            match PIPELINE.lookup(&lookup, setting) {
                None => Ok(default),
                Some(raw) => match raw.trim().parse::<u64>() {
                    Ok(value) if value > 0 => Ok(value),
                    _ => Err(ConfigError(format!(
                        "{} must be a positive whole number, got {raw:?}",
                        PIPELINE.env_name(setting)
                    ))),
                },
            }
        };
        let limits = Limits {
            max_event_bytes: read("max_event_bytes", defaults.max_event_bytes as u64)? as usize,
            max_request_bytes: read("max_request_bytes", defaults.max_request_bytes as u64)? as usize,
            max_batch_events: read("max_batch_events", defaults.max_batch_events as u64)? as usize,
            max_future_skew_seconds: read("max_future_skew_seconds", defaults.max_future_skew_seconds as u64)?
                as i64,
            max_past_days: read("max_past_days", defaults.max_past_days)?,
            put_deadline_ms: read("put_deadline_ms", defaults.put_deadline_ms)?,
            // Kinesis service quotas, not tunables.
            kinesis_max_records_per_call: defaults.kinesis_max_records_per_call,
            kinesis_max_bytes_per_call: defaults.kinesis_max_bytes_per_call,
        };
        if limits.max_event_bytes > KINESIS_MAX_RECORD_BYTES {
            return Err(ConfigError(format!(
                "{} cannot exceed Kinesis' 1 MiB record limit",
                PIPELINE.env_name("max_event_bytes")
            )));
        }
        Ok(limits)
    }
}

impl Default for Limits {
    fn default() -> Self {
        PIPELINE.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_pipeline_file() {
        let file: serde_json::Value = serde_json::from_str(PIPELINE_JSON).unwrap();
        let limits = Limits::from_env(|_| None).unwrap();
        assert_eq!(
            limits.max_event_bytes as u64,
            file["limits"]["max_event_bytes"].as_u64().unwrap()
        );
        assert_eq!(limits, PIPELINE.limits);
        for (setting, value) in file["limits"].as_object().unwrap() {
            assert!(
                PIPELINE.lambda_env.contains_key(setting) || setting.starts_with("kinesis_"),
                "{setting} is a limit but has no environment variable"
            );
            assert!(value.as_u64().is_some_and(|value| value > 0), "{setting}");
        }
    }

    #[test]
    fn the_delivery_modes_are_the_configured_ones_and_default_to_snowpipe() {
        let mut configured: Vec<&str> = PIPELINE.delivery_modes.modes.keys().map(String::as_str).collect();
        configured.sort_unstable();
        let mut known: Vec<&str> = DeliveryMode::ALL.iter().map(|mode| mode.name()).collect();
        known.sort_unstable();
        assert_eq!(configured, known);
        let env = PIPELINE.delivery_modes.transformer_env.as_str();
        assert_eq!(
            env,
            PIPELINE.env_name("delivery_mode"),
            "both Lambdas read the mode from one variable"
        );
        assert_eq!(DeliveryMode::from_env(|_| None, env), Ok(DeliveryMode::Snowpipe));
        assert_eq!(
            DeliveryMode::from_env(|_| Some(" ".into()), env),
            Ok(DeliveryMode::Snowpipe)
        );
        for mode in DeliveryMode::ALL {
            assert_eq!(
                DeliveryMode::from_env(|_| Some(mode.name().into()), env),
                Ok(mode)
            );
        }
        let error = DeliveryMode::from_env(|_| Some("snowpipe_turbo".into()), env).unwrap_err();
        assert!(
            error.0.contains(env)
                && error.0.contains("snowpipe_turbo")
                && error.0.contains("snowpipe_streaming"),
            "{error}"
        );
    }

    #[test]
    fn the_s3_modes_pack_within_kinesis_record_limit_and_streaming_does_not() {
        let target = PIPELINE.packing.target_record_bytes;
        assert!(target > 0 && target <= KINESIS_MAX_RECORD_BYTES);
        assert_eq!(DeliveryMode::Snowpipe.packing_target(), Some(target));
        assert_eq!(DeliveryMode::SnowpipeFresh.packing_target(), Some(target));
        assert_eq!(DeliveryMode::SnowpipeStreaming.packing_target(), None);
    }

    #[test]
    fn environment_overrides_and_rejects_garbage() {
        let limits =
            Limits::from_env(|name| (name == "RTSTREAM_MAX_BATCH_EVENTS").then(|| "20".to_string())).unwrap();
        assert_eq!(limits.max_batch_events, 20);
        let limits =
            Limits::from_env(|name| (name == "RTSTREAM_MAX_PAST_DAYS").then(|| "7".to_string())).unwrap();
        assert_eq!(limits.max_past_days, 7);
        let error =
            Limits::from_env(|name| (name == "RTSTREAM_MAX_REQUEST_BYTES").then(|| "lots".to_string()))
                .unwrap_err();
        assert!(error.0.contains("RTSTREAM_MAX_REQUEST_BYTES"), "{error}");
        assert!(Limits::from_env(|name| {
            (name == "RTSTREAM_MAX_EVENT_BYTES").then(|| "2000000".to_string())
        })
        .is_err());
    }
}
