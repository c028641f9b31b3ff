//! The validator Lambda: API Gateway `POST /events` -> Kinesis, rejections -> the error bucket.
//! All decisions are made by `rtstream_core`; this crate only moves bytes to and from AWS.

pub mod app;
pub mod aws_error;
pub mod error_store;
pub mod http;
pub mod stream;

pub use app::App;
