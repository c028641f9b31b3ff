use lambda_http::{run, service_fn, Error};
use validator::app::{sdk_config, Settings};
use validator::{http, App};

#[tokio::main]
async fn main() -> Result<(), Error> {
    rtstream_core::logging::init();
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let app = App::new(Settings::from_env(env)?, &sdk_config(env)?)?;
    // The app lives in this frame for as long as the runtime serves requests.
    let app = &app;
    run(service_fn(move |request| http::handle(app, request))).await
}
