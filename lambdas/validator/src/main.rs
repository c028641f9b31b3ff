use lambda_http::{run, service_fn, Error};
use validator::app::{sdk_config, Settings};
use validator::{http, App};

#[tokio::main]
async fn main() -> Result<(), Error> {
    rtstream_core::logging::init();
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let app = App::new(Settings::from_env(env)?, &sdk_config(env)?)?;
    // The app lives as long as the container; leaking it gives handlers a plain `&'static`.
    let app: &'static App = Box::leak(Box::new(app));
    run(service_fn(move |request| http::handle(app, request))).await
}
