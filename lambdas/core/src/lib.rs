//! The rtstream event contract, with no I/O: request bodies in, validated Kinesis records,
//! error records and API responses out; Kinesis records in, Firehose NDJSON lines out.
//!
//! The Lambdas in `lambdas/validator` and `lambdas/transformer` are thin adapters around this
//! crate, so everything here is testable without AWS. `docs/event-contract.md` is the prose
//! version of what this crate enforces.

pub mod body;
pub mod config;
pub mod envelope;
pub mod error;
pub mod firehose;
mod json_text;
pub mod kinesis;
#[cfg(feature = "logging")]
pub mod logging;
pub mod metrics;
pub mod packing;
pub mod response;
pub mod schema;
pub mod validator;

pub use config::{DeliveryMode, Limits, PipelineConfig, PIPELINE};
pub use error::ErrorDetail;
pub use validator::Validator;
