//! The machine-readable error shape shared by every response and error record.

use serde::Serialize;

/// One reason an event (or a body) was refused: a JSON Pointer into the event, a stable code
/// from `docs/event-contract.md`, and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDetail {
    pub path: String,
    pub code: String,
    pub message: String,
}

impl ErrorDetail {
    pub fn new(path: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Codes used in more than one place; the full list lives in `docs/event-contract.md`.
pub mod codes {
    pub const WRITE_FAILED: &str = "write.failed";
    pub const ERROR_STORE_FAILED: &str = "error_store.failed";
}
