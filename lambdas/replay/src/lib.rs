//! `rtstream-replay`: sends rejected events (error bucket) and records the transformer failed
//! (`processing-failed/`) back into the stream, validated again by the validator's own code.
//! `plan` decides (no I/O), `state` makes a run resumable, `run` moves the bytes.

pub mod plan;
pub mod run;
pub mod settings;
pub mod state;

use rtstream_validator::stream::StreamError;

/// Why a replay stopped. Events that are still invalid and objects that cannot be read are not
/// errors: they go to the report.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("listing s3://{bucket}/{prefix}: {message}")]
    List {
        bucket: String,
        prefix: String,
        message: String,
    },
    #[error("state file {0}")]
    State(String),
    #[error("report: {0}")]
    Report(#[from] std::io::Error),
    /// Kinesis refused in a way another try would repeat (no such stream, access denied).
    #[error(transparent)]
    Stream(StreamError),
}

impl ReplayError {
    /// A stable, machine-readable name for the failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "replay.config",
            Self::List { .. } => "replay.list_failed",
            Self::State(_) => "replay.state",
            Self::Report(_) => "replay.report",
            Self::Stream(_) => "replay.stream_refused",
        }
    }
}
