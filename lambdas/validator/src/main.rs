use lambda_http::{run, service_fn, Error};
use validator::app::{load_sdk_config, Settings};
use validator::{http, App};

#[tokio::main]
async fn main() -> Result<(), Error> {
    rtstream_core::logging::init();
    let settings = Settings::from_env(|name| std::env::var(name).ok())?;
    let app = App::new(settings, &load_sdk_config().await)?;
    // The app lives as long as the container; leaking it gives handlers a plain `&'static`.
    let app: &'static App = Box::leak(Box::new(app));
    run(service_fn(move |request| http::handle(app, request))).await
}
