//! The error bucket: one NDJSON object per request that had rejections.

use aws_sdk_s3::primitives::ByteStream;

pub struct ErrorStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl ErrorStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: String, prefix: String) -> Self {
        Self {
            client,
            bucket,
            prefix,
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Stores `ndjson` under `key`; the error says why it could not be kept.
    pub async fn put(&self, key: &str, ndjson: Vec<u8>) -> Result<(), String> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/x-ndjson")
            .body(ByteStream::from(ndjson))
            .send()
            .await
            .map(drop)
            .map_err(|error| aws_sdk_s3::error::DisplayErrorContext(error).to_string())
    }
}
