use aws_lambda_events::firehose::{KinesisFirehoseEvent, KinesisFirehoseResponse};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

async fn handler(event: LambdaEvent<KinesisFirehoseEvent>) -> Result<KinesisFirehoseResponse, Error> {
    Ok(transformer::handle(event.payload))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    rtstream_core::logging::init();
    run(service_fn(handler)).await
}
