//! Structured JSON logs for the Lambdas. CloudWatch stamps each line, so no timestamp here;
//! the level comes from `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls), default INFO.

use tracing_subscriber::filter::LevelFilter;

pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();
}
