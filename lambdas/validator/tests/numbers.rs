//! Numbers keep their exact text from the client's body to the line the transformer writes to
//! S3: the validator forwards the client's JSON text and the transformer copies it.

mod common;

use common::*;
use rtstream_core::firehose::{transform, Provenance};
use rtstream_core::validator::RequestBody;

#[tokio::test]
async fn a_number_arrives_in_s3_as_the_client_wrote_it() {
    let records = Records::default();
    let app = app(kinesis_keeping(records.clone()), s3_stores(Objects::default()));
    let occurred_at = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let body = format!(
        "[\n  {{\n    \"event_id\": \"n-1\",\n    \"event_type\": \"order_placed\",\n    \"occurred_at\": \"{occurred_at}\",\n    \"payload\": {{\"order_id\": \"17\", \"amount\": 12345678901234567890.123456789, \"currency\": \"EUR\", \"exp\": 1.0E+2}}\n  }},\n  {{\"event_type\": \"page_view\", \"occurred_at\": \"{occurred_at}\", \"payload\": {{\"url\": \"x\", \"n\": -0.000000000000000000001}}}}\n]"
    );

    let reply = app
        .process(
            "r1",
            RequestBody {
                content_type: Some("application/json"),
                content_encoding: None,
                body: body.as_bytes(),
            },
            chrono::Utc::now(),
        )
        .await;

    assert_eq!(reply.json()["accepted"], 2, "{}", reply.body);
    let records = records.lock().unwrap();
    let provenance = Provenance {
        arrived_at: chrono::Utc::now(),
        ..Default::default()
    };
    let lines: Vec<String> = records
        .iter()
        .map(|record| {
            String::from_utf8(transform(record, &provenance, &["order_placed"]).unwrap().line).unwrap()
        })
        .collect();
    assert!(
        lines[0].contains(r#""amount":12345678901234567890.123456789,"#)
            && lines[0].contains(r#""exp":1.0E+2}"#),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(r#""n":-0.000000000000000000001}"#),
        "{}",
        lines[1]
    );
}
