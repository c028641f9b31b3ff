//! Payload schemas: `schemas/<event_type>.json`, plus `_default.json` for types without a file.
//! They are compiled once per container, so a broken schema fails the deploy, not a request.

use crate::envelope::{is_valid_event_type, EVENT_TYPE_PATTERN};
use crate::error::{bounded, MAX_ECHO_BYTES, MAX_ERRORS_PER_EVENT, MAX_MESSAGE_BYTES};
use crate::ErrorDetail;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

pub const DEFAULT_SCHEMA: &str = "_default";

pub struct SchemaRegistry {
    by_type: HashMap<String, jsonschema::Validator>,
    default: Option<jsonschema::Validator>,
}

#[derive(Debug)]
pub struct SchemaError(pub String);

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SchemaError {}

impl SchemaRegistry {
    /// Compiles every `*.json` file in `dir`. A file whose name is neither a valid event type nor
    /// `_default`, or that is not a valid schema, is an error: typos must not pass silently.
    pub fn load_dir(dir: &Path) -> Result<Self, SchemaError> {
        let entries = std::fs::read_dir(dir)
            .map_err(|error| SchemaError(format!("schema dir {}: {error}", dir.display())))?;
        let mut schemas = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|error| SchemaError(format!("schema dir {}: {error}", dir.display())))?
                .path();
            if path.extension().and_then(|ext| ext.to_str()) != Some("json") {
                continue;
            }
            let name = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .map_err(|error| SchemaError(format!("{}: {error}", path.display())))?;
            let schema = serde_json::from_str(&text)
                .map_err(|error| SchemaError(format!("{}: not JSON: {error}", path.display())))?;
            schemas.push((name.to_string(), schema));
        }
        Self::from_schemas(schemas)
    }

    /// Compiles `(event_type or "_default", schema)` pairs.
    pub fn from_schemas(schemas: impl IntoIterator<Item = (String, Value)>) -> Result<Self, SchemaError> {
        let mut registry = Self {
            by_type: HashMap::new(),
            default: None,
        };
        for (name, schema) in schemas {
            if name != DEFAULT_SCHEMA && !is_valid_event_type(&name) {
                return Err(SchemaError(format!(
                    "schema {name:?}: the file name must be an event type ({EVENT_TYPE_PATTERN}) or {DEFAULT_SCHEMA}"
                )));
            }
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .map_err(|error| SchemaError(format!("schema {name:?} does not compile: {error}")))?;
            if name == DEFAULT_SCHEMA {
                registry.default = Some(validator);
            } else {
                registry.by_type.insert(name, validator);
            }
        }
        Ok(registry)
    }

    pub fn event_types(&self) -> impl Iterator<Item = &str> {
        self.by_type.keys().map(String::as_str)
    }

    /// Checks `payload` against the schema for `event_type`; errors point into the event
    /// (`/payload/...`) and carry `schema.<keyword>` codes. At most [`MAX_ERRORS_PER_EVENT`],
    /// and a message quotes at most [`MAX_ECHO_BYTES`] of the offending value.
    pub fn check(&self, event_type: &str, payload: &Value) -> Result<(), Vec<ErrorDetail>> {
        let Some(validator) = self.by_type.get(event_type).or(self.default.as_ref()) else {
            return Err(vec![ErrorDetail::new(
                "/event_type",
                "schema.unknown_event_type",
                format!("no schema for event type {event_type:?}; add schemas/{event_type}.json"),
            )]);
        };
        if validator.is_valid(payload) {
            return Ok(());
        }
        Err(validator
            .iter_errors(payload)
            .take(MAX_ERRORS_PER_EVENT)
            .map(|error| {
                let value = bounded(error.instance(), MAX_ECHO_BYTES);
                ErrorDetail::new(
                    bounded(
                        format_args!("/payload{}", error.instance_path().as_str()),
                        MAX_MESSAGE_BYTES,
                    ),
                    schema_code(error.kind()),
                    bounded(error.masked_with(value), MAX_MESSAGE_BYTES),
                )
            })
            .collect())
    }
}

/// `schema.<keyword>` in snake case, so codes read like the rest of the contract. A `false`
/// subschema (as in `"additionalProperties": false`) says the value is not allowed there.
fn schema_code(kind: &jsonschema::error::ValidationErrorKind) -> String {
    match kind {
        jsonschema::error::ValidationErrorKind::FalseSchema => "schema.not_allowed".to_string(),
        other => format!("schema.{}", snake_case(other.keyword())),
    }
}

/// `additionalProperties` -> `additional_properties`.
fn snake_case(keyword: &str) -> String {
    let mut code = String::with_capacity(keyword.len() + 4);
    for character in keyword.chars().filter(|c| c.is_ascii_alphanumeric()) {
        if character.is_ascii_uppercase() {
            code.push('_');
        }
        code.push(character.to_ascii_lowercase());
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shipped() -> SchemaRegistry {
        SchemaRegistry::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")).unwrap()
    }

    #[test]
    fn the_shipped_schemas_compile_and_check() {
        let registry = shipped();
        let mut types: Vec<_> = registry.event_types().collect();
        types.sort();
        assert_eq!(types, ["order_placed", "page_view"]);
        assert!(registry
            .check("page_view", &json!({"url": "https://x", "extra": 1}))
            .is_ok());
        let errors = registry
            .check(
                "order_placed",
                &json!({"order_id": "o1", "amount": -1, "currency": "eur"}),
            )
            .unwrap_err();
        let found: Vec<_> = errors
            .iter()
            .map(|e| (e.path.as_str(), e.code.as_str()))
            .collect();
        assert!(
            found.contains(&("/payload/amount", "schema.minimum")),
            "{found:?}"
        );
        assert!(
            found.contains(&("/payload/currency", "schema.pattern")),
            "{found:?}"
        );
        let errors = registry.check("page_view", &json!({})).unwrap_err();
        assert_eq!(
            (errors[0].path.as_str(), errors[0].code.as_str()),
            ("/payload", "schema.required")
        );
    }

    #[test]
    fn unknown_types_need_a_default() {
        let registry = shipped();
        assert_eq!(
            registry.check("nope", &json!({})).unwrap_err()[0].code,
            "schema.unknown_event_type"
        );
        let with_default = SchemaRegistry::from_schemas([(
            "_default".to_string(),
            json!({"type": "object", "additionalProperties": false}),
        )])
        .unwrap();
        assert!(with_default.check("anything", &json!({})).is_ok());
        let errors = with_default.check("anything", &json!({"x": 1})).unwrap_err();
        assert_eq!(errors[0].code, "schema.not_allowed");
    }

    #[test]
    fn bad_schema_files_fail_loading() {
        assert!(SchemaRegistry::from_schemas([("Bad-Name".to_string(), json!({}))]).is_err());
        assert!(SchemaRegistry::from_schemas([("a".to_string(), json!({"type": 12}))]).is_err());
        assert!(SchemaRegistry::load_dir(Path::new("/nonexistent")).is_err());
    }

    #[test]
    fn messages_quote_a_bounded_part_of_the_value() {
        let registry = shipped();
        let currency = "e".repeat(1 << 20);
        let errors = registry
            .check(
                "order_placed",
                &json!({"order_id": "o1", "amount": 1, "currency": currency}),
            )
            .unwrap_err();
        let message = &errors[0].message;
        assert_eq!(errors[0].code, "schema.pattern");
        assert!(message.starts_with("\"eee") && message.len() < 300, "{message}");
        let errors = registry
            .check(
                "order_placed",
                &json!({"order_id": "o1", "amount": -1, "currency": "EUR"}),
            )
            .unwrap_err();
        assert_eq!(errors[0].message, "-1 is less than the minimum of 0");
    }

    #[test]
    fn codes_are_snake_case() {
        assert_eq!(snake_case("additionalProperties"), "additional_properties");
        assert_eq!(snake_case("$ref"), "ref");
        assert_eq!(snake_case("type"), "type");
    }
}
