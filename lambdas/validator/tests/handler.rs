//! The Lambda handler on real API Gateway proxy events (REST v1 and HTTP API v2 fixtures).

mod common;

use common::*;
use lambda_http::Body;
use serde_json::Value;

fn body_json(body: &Body) -> Value {
    serde_json::from_slice(body.as_ref()).unwrap()
}

#[tokio::test]
async fn rest_api_mixed_batch_accepts_the_valid_and_keeps_the_rejected() {
    let calls = Calls::default();
    let objects = Objects::default();
    let app = app(kinesis(calls.clone(), accept_all), s3_stores(objects.clone()));
    let request = lambda_http::request::from_str(&fixture("apigw-rest-mixed-batch.json")).unwrap();

    let response = validator::http::handle(&app, request).await.unwrap();

    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = body_json(response.body());
    assert_eq!(
        (
            body["accepted"].as_u64(),
            body["rejected"].as_u64(),
            body["failed"].as_u64()
        ),
        (Some(2), Some(1), Some(0))
    );
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["event_id"], "pv-1");
    let assigned = results[1]["event_id"].as_str().unwrap();
    assert_eq!(assigned.len(), 36, "a UUID was assigned: {assigned}");
    assert_eq!(results[2]["status"], "rejected");
    assert_eq!(results[2]["errors"][0]["path"], "/payload/amount");
    assert_eq!(results[2]["errors"][0]["code"], "schema.minimum");

    // Kinesis got exactly the two valid events, keyed by event_id.
    assert_eq!(
        *calls.lock().unwrap(),
        vec![vec!["pv-1".to_string(), assigned.to_string()]]
    );
    // The rejection is in the error bucket with its reasons and the raw event.
    let objects = objects.lock().unwrap();
    assert_eq!(objects.len(), 1);
    let (key, ndjson) = &objects[0];
    let request_id = body["request_id"].as_str().unwrap();
    assert!(
        key.starts_with("errors/dt=") && key.ends_with(&format!("/{request_id}.ndjson")),
        "{key}"
    );
    let lines = ndjson_lines(ndjson);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["event_id"], "op-bad");
    assert_eq!(lines[0]["raw"]["payload"]["amount"], -3);
    assert_eq!(lines[0]["errors"][0]["code"], "schema.minimum");
}

#[tokio::test]
async fn http_api_gzip_ndjson_is_all_accepted() {
    let calls = Calls::default();
    let objects = Objects::default();
    let app = app(kinesis(calls.clone(), accept_all), s3_stores(objects.clone()));
    let request = lambda_http::request::from_str(&fixture("apigw-http-ndjson-gzip.json")).unwrap();

    let response = validator::http::handle(&app, request).await.unwrap();

    let body = body_json(response.body());
    assert_eq!(response.status(), 202, "{body}");
    assert_eq!(body["accepted"], 2);
    assert_eq!(calls.lock().unwrap()[0].len(), 2);
    assert!(
        objects.lock().unwrap().is_empty(),
        "nothing rejected, nothing stored"
    );
}

#[tokio::test]
async fn malformed_json_is_400_and_the_body_is_kept() {
    let calls = Calls::default();
    let objects = Objects::default();
    let app = app(kinesis(calls.clone(), accept_all), s3_stores(objects.clone()));
    let request = lambda_http::request::from_str(&fixture("apigw-rest-malformed.json")).unwrap();

    let response = validator::http::handle(&app, request).await.unwrap();

    assert_eq!(response.status(), 400);
    assert_eq!(body_json(response.body())["error"]["code"], "body.malformed_json");
    assert!(calls.lock().unwrap().is_empty());
    let lines = ndjson_lines(&objects.lock().unwrap()[0].1);
    assert_eq!(lines[0]["raw_body"], "{\"event_type\": \"page_view\",");
    assert_eq!(lines[0]["errors"][0]["code"], "body.malformed_json");
}

#[tokio::test]
async fn unsupported_content_type_is_415_and_not_stored() {
    let objects = Objects::default();
    let app = app(kinesis(Calls::default(), accept_all), s3_stores(objects.clone()));
    let mut fixture: Value = serde_json::from_str(&fixture("apigw-rest-mixed-batch.json")).unwrap();
    fixture["headers"]["Content-Type"] = "text/csv".into();
    fixture["multiValueHeaders"]["Content-Type"] = serde_json::json!(["text/csv"]);
    let request = lambda_http::request::from_str(&fixture.to_string()).unwrap();

    let response = validator::http::handle(&app, request).await.unwrap();

    assert_eq!(response.status(), 415);
    assert_eq!(
        body_json(response.body())["error"]["code"],
        "content_type.unsupported"
    );
    assert!(objects.lock().unwrap().is_empty());
}
