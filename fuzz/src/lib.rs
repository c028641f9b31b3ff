//! Property checks for the rtstream fuzz targets, one module per target; each `check` takes the
//! fuzzer's bytes and panics when the contract of `docs/event-contract.md` is broken.
//!
//! Inputs are plain bytes with at most a flag byte in front (each module says its format), not
//! `arbitrary` structures: a saved input then means the same thing to the replay tests under
//! `lambdas/*/tests`, which include these modules by path and run on stable without any
//! fuzzing dependency.

pub mod body;
pub mod contract;
pub mod envelope_schema;
pub mod json_text;
pub mod replay;
pub mod transformer_record;
