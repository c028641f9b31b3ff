use aws_lambda_events::firehose::KinesisFirehoseEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use rtstream_core::metrics::{namespace_from_env, EmfOutput};
use rtstream_core::{DeliveryMode, PIPELINE};
use transformer::{Answer, Transformer};

#[tokio::main]
async fn main() -> Result<(), Error> {
    rtstream_core::logging::init();
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    // An unknown mode stops the cold start with the reason: never a silent default.
    let mode = DeliveryMode::from_env(env, &PIPELINE.delivery_modes.transformer_env)?;
    let transformer = Transformer::new(namespace_from_env(&env)?, EmfOutput::stdout(), mode);
    // The transformer lives in this frame for as long as the runtime serves requests.
    let transformer = &transformer;
    run(service_fn(
        move |event: LambdaEvent<KinesisFirehoseEvent>| async move {
            Ok::<_, Error>(Answer(transformer.handle(event.payload)))
        },
    ))
    .await
}
