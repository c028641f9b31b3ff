//! The API Gateway adapter: `lambda_http` requests in, JSON responses out.

use crate::App;
use lambda_http::http::{header, HeaderMap};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use rtstream_core::response::Reply;
use rtstream_core::validator::RequestBody;

/// A header as text; a header that is not ASCII reads as an unsupported value, not as absent.
fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers
        .get(name)
        .map(|value| value.to_str().unwrap_or("\u{fffd}"))
}

pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let request_id = request
        .lambda_context_ref()
        .map(|context| context.request_id.clone())
        .unwrap_or_else(fallback_request_id);
    let headers = request.headers();
    let body = RequestBody {
        content_type: header_text(headers, header::CONTENT_TYPE),
        content_encoding: header_text(headers, header::CONTENT_ENCODING),
        body: request.body().as_ref(),
    };
    let reply = app.process(&request_id, body, chrono::Utc::now()).await;
    Ok(to_response(&reply)?)
}

/// Without a Lambda context (never in Lambda, only in odd local runs) a time-based id still
/// names the error object uniquely.
fn fallback_request_id() -> String {
    format!(
        "local-{}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}

pub fn to_response(reply: &Reply) -> Result<Response<Body>, lambda_http::http::Error> {
    let mut response = Response::builder()
        .status(reply.status)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(seconds) = reply.retry_after {
        response = response.header(header::RETRY_AFTER, seconds);
    }
    response.body(Body::from(reply.body.clone()))
}
