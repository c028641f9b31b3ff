//! What a failed AWS call means for the request: worth another try (throttling, 5xx, timeouts,
//! lost connections) or not (access denied, no such stream or bucket, a disabled or missing KMS
//! key, an invalid request), in which case the request fails at once instead of retrying the
//! same refusal until the put deadline.

use aws_sdk_kinesis::config::http::HttpResponse;
use aws_sdk_kinesis::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::fmt;

/// Error codes that mean "slow down": the AWS SDKs' throttling list plus Kinesis' KMS one.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "KMSThrottlingException",
];
/// Error codes of a service-side fault, whatever the HTTP status says.
const SERVER: &[&str] = &[
    "InternalFailure",
    "InternalFailureException",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];
const TIMEOUT: &[&str] = &["RequestTimeout", "RequestTimeoutException"];
/// Error codes of a refusal that another try would get again.
const PERMANENT: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "ResourceNotFoundException",
    "NoSuchBucket",
    "KMSAccessDeniedException",
    "KMSDisabledException",
    "KMSInvalidStateException",
    "KMSNotFoundException",
    "KMSOptInRequired",
    "InvalidArgumentException",
    "ValidationException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Throttled (Kinesis shard or KMS limits, S3 `SlowDown`): retried with backoff.
    Throttled,
    /// A 5xx or an internal failure: retried with backoff.
    ServerError,
    /// The attempt timed out (SDK attempt timeout or the service's own): retried.
    Timeout,
    /// The connection failed or the response could not be read: retried.
    Network,
    /// Any other refusal (AccessDenied, ResourceNotFound, KMS key disabled or in an invalid
    /// state, validation errors): the same call would be refused again, so it is not retried.
    Permanent,
}

impl FailureKind {
    pub fn is_retryable(self) -> bool {
        self != Self::Permanent
    }

    /// The kind an AWS error code names, when it names one. Codes outside these lists are
    /// judged by the HTTP status (see [`AwsFailure::from_sdk`]).
    pub fn of_code(code: &str) -> Option<Self> {
        if THROTTLING.contains(&code) {
            Some(Self::Throttled)
        } else if SERVER.contains(&code) {
            Some(Self::ServerError)
        } else if TIMEOUT.contains(&code) {
            Some(Self::Timeout)
        } else if PERMANENT.contains(&code) {
            Some(Self::Permanent)
        } else {
            None
        }
    }

    fn of_status(status: u16) -> Self {
        match status {
            429 => Self::Throttled,
            500.. => Self::ServerError,
            _ => Self::Permanent,
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Throttled => "throttled",
            Self::ServerError => "server error",
            Self::Timeout => "timed out",
            Self::Network => "network error",
            Self::Permanent => "not retryable",
        })
    }
}

/// One failed AWS call (or one record refused inside a call), classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}{}{}: {message}", code.as_deref().map(|code| format!(", {code}")).unwrap_or_default(), status.map(|status| format!(", HTTP {status}")).unwrap_or_default())]
pub struct AwsFailure {
    pub kind: FailureKind,
    pub code: Option<String>,
    pub status: Option<u16>,
    pub message: String,
}

impl AwsFailure {
    /// Classifies an SDK error (Kinesis and S3 share the type): the error code decides when it
    /// names throttling, a server fault or a timeout; otherwise a 5xx or 429 is retryable and any
    /// other refusal is not.
    pub fn from_sdk<E>(error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = error.raw_response().map(|response| response.status().as_u16());
        let code = error.code().map(str::to_owned);
        let kind = match &error {
            SdkError::TimeoutError(_) => FailureKind::Timeout,
            SdkError::DispatchFailure(failure) if failure.is_timeout() => FailureKind::Timeout,
            SdkError::DispatchFailure(failure) if failure.is_user() => FailureKind::Permanent,
            SdkError::DispatchFailure(_) => FailureKind::Network,
            SdkError::ResponseError(_) => FailureKind::Network,
            SdkError::ServiceError(_) => code
                .as_deref()
                .and_then(FailureKind::of_code)
                .or(status.map(FailureKind::of_status))
                .unwrap_or(FailureKind::Permanent),
            // The request could not be built: a bug, which another try would repeat.
            _ => FailureKind::Permanent,
        };
        Self {
            kind,
            code,
            status,
            message: DisplayErrorContext(&error).to_string(),
        }
    }

    /// A record PutRecords refused inside a successful call. The API documents only
    /// `ProvisionedThroughputExceededException` and `InternalFailure` there, both retryable;
    /// a code outside the lists is retried too (it refused one record, not the call).
    pub fn from_record(code: Option<&str>, message: Option<&str>) -> Self {
        let code = code.unwrap_or("Unknown");
        Self {
            kind: FailureKind::of_code(code).unwrap_or(FailureKind::ServerError),
            code: Some(code.to_owned()),
            status: None,
            message: message.unwrap_or("refused").to_owned(),
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_their_kind() {
        for code in [
            "ProvisionedThroughputExceededException",
            "KMSThrottlingException",
            "SlowDown",
        ] {
            assert_eq!(FailureKind::of_code(code), Some(FailureKind::Throttled), "{code}");
        }
        assert_eq!(
            FailureKind::of_code("InternalFailure"),
            Some(FailureKind::ServerError)
        );
        assert_eq!(FailureKind::of_code("RequestTimeout"), Some(FailureKind::Timeout));
        for code in [
            "AccessDenied",
            "AccessDeniedException",
            "ResourceNotFoundException",
            "KMSDisabledException",
            "KMSInvalidStateException",
            "ValidationException",
        ] {
            assert_eq!(FailureKind::of_code(code), Some(FailureKind::Permanent), "{code}");
        }
        assert_eq!(
            FailureKind::of_code("SomethingNew"),
            None,
            "judged by the HTTP status"
        );
        assert_eq!(FailureKind::of_status(400), FailureKind::Permanent);
        assert_eq!(FailureKind::of_status(403), FailureKind::Permanent);
        assert_eq!(FailureKind::of_status(429), FailureKind::Throttled);
        assert_eq!(FailureKind::of_status(503), FailureKind::ServerError);
    }

    #[test]
    fn record_refusals_are_retried_unless_they_say_otherwise() {
        let throttled = AwsFailure::from_record(
            Some("ProvisionedThroughputExceededException"),
            Some("Rate exceeded"),
        );
        assert_eq!(throttled.kind, FailureKind::Throttled);
        assert!(AwsFailure::from_record(None, None).is_retryable());
        assert!(!AwsFailure::from_record(Some("KMSAccessDeniedException"), None).is_retryable());
        assert_eq!(
            throttled.to_string(),
            "throttled, ProvisionedThroughputExceededException: Rate exceeded"
        );
    }
}
