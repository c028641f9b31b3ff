//! Bucket, stream and prefix names: `config/pipeline.json` (embedded, as the Lambdas embed it),
//! with `{prefix}` the environment's name prefix, each overridable on the command line.

use crate::plan::Source;
use crate::ReplayError;
use rtstream_core::PIPELINE;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::LazyLock;

const PIPELINE_JSON: &str = include_str!("../../../config/pipeline.json");

/// The `names` of `config/pipeline.json` (templates, `{prefix}` not yet expanded).
static NAMES: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    #[derive(Deserialize)]
    struct Names {
        names: HashMap<String, String>,
    }
    serde_json::from_str::<Names>(PIPELINE_JSON)
        .expect("config/pipeline.json is valid (checked by tests)")
        .names
});

/// `names.<key>` for the environment whose name prefix is `name_prefix` (the config's own
/// when `None`).
pub fn name(key: &str, name_prefix: Option<&str>) -> Result<String, ReplayError> {
    let template = NAMES
        .get(key)
        .ok_or_else(|| ReplayError::Config(format!("config/pipeline.json names has no {key:?}")))?;
    Ok(template.replace("{prefix}", name_prefix.unwrap_or(&PIPELINE.name_prefix)))
}

/// Where `source`'s objects are by default: the bucket's `names` key and the key prefix.
pub fn location(source: Source) -> (&'static str, &'static str) {
    match source {
        Source::Errors => ("error_bucket", &PIPELINE.prefixes.errors),
        // Firehose writes its error output into the delivery bucket.
        Source::ProcessingFailed => ("data_bucket", &PIPELINE.prefixes.processing_failed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_pipeline_files_with_the_prefix_expanded() {
        let file: serde_json::Value = serde_json::from_str(PIPELINE_JSON).unwrap();
        let stream = file["names"]["stream"].as_str().unwrap();
        assert_eq!(
            name("stream", None).unwrap(),
            stream.replace("{prefix}", file["name_prefix"].as_str().unwrap())
        );
        let bucket = file["names"]["error_bucket"].as_str().unwrap();
        assert_eq!(
            name("error_bucket", Some("rt-dev")).unwrap(),
            bucket.replace("{prefix}", "rt-dev")
        );
        assert!(name("nope", None).is_err());
        assert_eq!(location(Source::ProcessingFailed).1, "processing-failed/");
    }
}
