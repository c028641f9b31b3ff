//! Whatever bytes arrive, the validator answers 202 or a 4xx, and never panics.

mod common;

use common::*;
use proptest::prelude::*;
use rtstream_core::validator::RequestBody;

fn content_types() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(vec![
        None,
        Some("application/json"),
        Some("application/x-ndjson"),
        Some("text/plain"),
        Some("application/json; charset=utf-8"),
    ])
}

fn encodings() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(vec![None, Some("gzip"), Some("identity"), Some("br")])
}

/// Bytes that are sometimes JSON-ish, so the parser gets past its first byte often.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        "[\\[{\"a-z0-9:,\\]} \n]{0,256}".prop_map(String::into_bytes),
        Just(
            br#"{"event_type":"page_view","occurred_at":"2026-01-01T00:00:00Z","payload":{"url":"x"}}"#
                .to_vec()
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_body_gets_a_202_or_a_4xx(body in bodies(), content_type in content_types(), content_encoding in encodings()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = app(kinesis(Calls::default(), accept_all), s3_stores(Objects::default()));
        let request = RequestBody { content_type, content_encoding, body: &body };

        let reply = runtime.block_on(app.process("prop", request, chrono::Utc::now()));

        prop_assert!(reply.status == 202 || (400..500).contains(&reply.status), "{} {}", reply.status, reply.body);
        let body = reply.json();
        prop_assert_eq!(body["request_id"].as_str(), Some("prop"));
        if reply.status == 202 {
            let results = body["results"].as_array().unwrap();
            let counted = body["accepted"].as_u64().unwrap() + body["rejected"].as_u64().unwrap();
            prop_assert_eq!(counted as usize, results.len());
        } else {
            prop_assert!(body["error"]["code"].as_str().is_some_and(|code| !code.is_empty()));
        }
    }
}
