//! CloudWatch metrics as Embedded Metric Format (EMF) documents: JSON log lines that CloudWatch
//! Logs turns into metrics, so the Lambdas publish them without an API call
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//!
//! Names, namespace and dimensions are `config/pipeline.json` `metrics`, which the alarms read
//! too. Every metric is published without dimensions and, where `by_dimension` lists one, per
//! that dimension as well; dimension values are bounded (schema file names or `_default`, the
//! documented codes, seven body formats). `docs/operations.md` lists the metrics.

use crate::body::{self, BodyFormat};
use crate::config::ConfigError;
use crate::schema::{SchemaRegistry, DEFAULT_SCHEMA};
use crate::validator::{Outcome, RequestBody};
use crate::PIPELINE;
use flate2::bufread::GzDecoder;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::{Read, Write};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// EMF: a directive lists at most 100 metrics (this module keeps to 100 per document).
pub const MAX_METRICS_PER_DOCUMENT: usize = 100;
/// EMF: a dimension set names at most 30 dimensions (each set here names at most one).
pub const MAX_DIMENSIONS_PER_SET: usize = 30;
/// CloudWatch: namespaces, metric and dimension names are at most 255 characters.
const MAX_NAME_BYTES: usize = 255;
/// CloudWatch: a dimension value is at most 1024 characters.
const MAX_DIMENSION_VALUE_BYTES: usize = 1024;
/// How much of a gzip body is inflated to tell an array from an object.
const FORMAT_PEEK_BYTES: u64 = 4096;

/// `config/pipeline.json` `metrics`.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsConfig {
    /// `{prefix}` stands for the environment's name prefix.
    pub namespace: String,
    pub validator: ValidatorMetricNames,
    pub transformer: TransformerMetricNames,
    pub dimensions: DimensionNames,
    /// Metric name -> the dimensions it is also published per.
    pub by_dimension: HashMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorMetricNames {
    pub events_accepted: String,
    pub events_rejected: String,
    pub events_failed: String,
    pub rejections: String,
    pub requests: String,
    pub request_bytes: String,
    pub put_records_calls: String,
    pub records_refused: String,
    pub put_retries: String,
    pub kinesis_time: String,
    pub error_store_time: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformerMetricNames {
    pub records_ok: String,
    pub records_processing_failed: String,
    pub events_delivered: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionNames {
    pub event_type: String,
    pub code: String,
    pub format: String,
}

impl MetricsConfig {
    /// The dimensions `metric` is published per, besides none.
    pub fn dimensions_of(&self, metric: &str) -> &[String] {
        self.by_dimension.get(metric).map_or(&[], Vec::as_slice)
    }
}

/// The namespace from the environment (`lambda_env.metrics_namespace`), by default the
/// configured one with `{prefix}` as `name_prefix`, as Terraform and the local stack expand it.
pub fn namespace_from_env<F: Fn(&str) -> Option<String>>(lookup: &F) -> Result<String, ConfigError> {
    let namespace = PIPELINE.lookup(lookup, "metrics_namespace").unwrap_or_else(|| {
        PIPELINE
            .metrics
            .namespace
            .replace("{prefix}", &PIPELINE.name_prefix)
    });
    check_namespace(&namespace)
        .map_err(|error| ConfigError(format!("{}: {error}", PIPELINE.env_name("metrics_namespace"))))?;
    Ok(namespace)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Bytes,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Bytes => "Bytes",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// Why a metric cannot be published as asked (a bug or a bad configuration, never client input:
/// every dimension value is from a bounded set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmfError {
    Namespace(String),
    Name(String),
    DimensionValue { dimension: String, value: String },
    MissingDimension { metric: String, dimension: String },
    NotFinite { metric: String },
}

impl fmt::Display for EmfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmfError::Namespace(namespace) => write!(
                f,
                "namespace {namespace:?} must be 1-{MAX_NAME_BYTES} of A-Z a-z 0-9 . - _ / # : and space, not starting with AWS/"
            ),
            EmfError::Name(name) => write!(
                f,
                "metric or dimension name {name:?} must be 1-{MAX_NAME_BYTES} printable ASCII characters, not blank, not starting with ':', not _aws"
            ),
            EmfError::DimensionValue { dimension, value } => write!(
                f,
                "dimension {dimension} value {value:?} must be 1-{MAX_DIMENSION_VALUE_BYTES} printable ASCII characters, not blank"
            ),
            EmfError::MissingDimension { metric, dimension } => write!(
                f,
                "metric {metric} is published per {dimension} (config/pipeline.json by_dimension) but no {dimension} was given"
            ),
            EmfError::NotFinite { metric } => write!(f, "metric {metric} has a value that is not a finite number"),
        }
    }
}

impl std::error::Error for EmfError {}

fn check_namespace(namespace: &str) -> Result<(), EmfError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c);
    if (1..=MAX_NAME_BYTES).contains(&namespace.len())
        && namespace.chars().all(allowed)
        && !namespace.trim().is_empty()
        && !namespace.starts_with("AWS/")
    {
        Ok(())
    } else {
        Err(EmfError::Namespace(namespace.to_string()))
    }
}

fn is_printable_ascii(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len())
        && text.bytes().all(|byte| (b' '..=b'~').contains(&byte))
        && !text.trim().is_empty()
}

fn check_name(name: &str) -> Result<(), EmfError> {
    if is_printable_ascii(name, MAX_NAME_BYTES) && !name.starts_with(':') && name != "_aws" {
        Ok(())
    } else {
        Err(EmfError::Name(name.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Datum {
    unit: Unit,
    value: f64,
}

/// The metrics of one invocation, as EMF documents. Values added to the same metric under the
/// same dimension values are summed.
#[derive(Debug, Clone)]
pub struct Emf<'c> {
    config: &'c MetricsConfig,
    namespace: String,
    timestamp_ms: i64,
    /// Metric values by the dimension values they are published under (none: only without
    /// dimensions), in a stable order.
    groups: BTreeMap<Vec<(String, String)>, BTreeMap<String, Datum>>,
}

impl<'c> Emf<'c> {
    pub fn new(config: &'c MetricsConfig, namespace: &str, timestamp_ms: i64) -> Result<Self, EmfError> {
        check_namespace(namespace)?;
        Ok(Self {
            config,
            namespace: namespace.to_string(),
            timestamp_ms,
            groups: BTreeMap::new(),
        })
    }

    /// Adds `value` to `metric`, published without dimensions and per each dimension that
    /// `by_dimension` lists for it, valued from `context` (dimension name, value); dimensions
    /// of `context` that the configuration does not list for `metric` are ignored.
    pub fn add(
        &mut self,
        metric: &str,
        unit: Unit,
        value: f64,
        context: &[(&str, &str)],
    ) -> Result<(), EmfError> {
        let dimensions = self
            .config
            .dimensions_of(metric)
            .iter()
            .map(|dimension| {
                let value = context
                    .iter()
                    .find(|(name, _)| name == dimension)
                    .map(|(_, value)| *value)
                    .ok_or_else(|| EmfError::MissingDimension {
                        metric: metric.to_string(),
                        dimension: dimension.clone(),
                    })?;
                check_name(dimension)?;
                if !is_printable_ascii(value, MAX_DIMENSION_VALUE_BYTES) {
                    return Err(EmfError::DimensionValue {
                        dimension: dimension.clone(),
                        value: value.to_string(),
                    });
                }
                Ok((dimension.clone(), value.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.put(dimensions, metric, unit, value)
    }

    /// Adds `value` to `metric` without dimensions only: the zero of a per-dimension metric in
    /// an invocation that had nothing to split, so every invocation publishes every count.
    pub fn add_total(&mut self, metric: &str, unit: Unit, value: f64) -> Result<(), EmfError> {
        self.put(Vec::new(), metric, unit, value)
    }

    fn put(
        &mut self,
        dimensions: Vec<(String, String)>,
        metric: &str,
        unit: Unit,
        value: f64,
    ) -> Result<(), EmfError> {
        check_name(metric)?;
        if !value.is_finite() {
            return Err(EmfError::NotFinite {
                metric: metric.to_string(),
            });
        }
        let datum = self
            .groups
            .entry(dimensions)
            .or_default()
            .entry(metric.to_string())
            .or_insert(Datum { unit, value: 0.0 });
        datum.value += value;
        Ok(())
    }

    /// The EMF documents, as few as the spec allows: each holds one directive per group of
    /// dimension values, and groups share a document unless they name the same dimension
    /// (a member has one value) or it would exceed [`MAX_METRICS_PER_DOCUMENT`].
    pub fn documents(&self) -> Vec<Value> {
        #[derive(Default)]
        struct Document<'a> {
            keys: BTreeSet<&'a str>,
            members: Map<String, Value>,
            directives: Vec<Value>,
            metrics: usize,
        }
        let mut documents: Vec<Document> = Vec::new();
        for (dimensions, metrics) in &self.groups {
            let metrics: Vec<_> = metrics.iter().collect();
            for chunk in metrics.chunks(MAX_METRICS_PER_DOCUMENT) {
                let keys: Vec<&str> = dimensions
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .chain(chunk.iter().map(|(name, _)| name.as_str()))
                    .collect();
                let fits = |document: &&mut Document| {
                    document.metrics + chunk.len() <= MAX_METRICS_PER_DOCUMENT
                        && keys.iter().all(|key| !document.keys.contains(key))
                };
                let index = match documents.iter_mut().position(|document| fits(&document)) {
                    Some(index) => index,
                    None => {
                        documents.push(Document::default());
                        documents.len() - 1
                    }
                };
                let document = &mut documents[index];
                for (name, value) in dimensions {
                    document.members.insert(name.clone(), Value::from(value.as_str()));
                }
                for (name, datum) in chunk {
                    document.members.insert((*name).clone(), number(datum.value));
                }
                let dimension_sets: Vec<Vec<&str>> = std::iter::once(Vec::new())
                    .chain(dimensions.iter().map(|(name, _)| vec![name.as_str()]))
                    .collect();
                let definitions: Vec<Value> = chunk
                    .iter()
                    .map(|(name, datum)| json!({"Name": name, "Unit": datum.unit.as_str()}))
                    .collect();
                document.directives.push(json!({
                    "Namespace": self.namespace,
                    "Dimensions": dimension_sets,
                    "Metrics": definitions,
                }));
                document.metrics += chunk.len();
                document.keys.extend(keys);
            }
        }
        documents
            .into_iter()
            .map(|document| {
                let mut members = document.members;
                members.insert(
                    "_aws".to_string(),
                    json!({"Timestamp": self.timestamp_ms, "CloudWatchMetrics": document.directives}),
                );
                Value::Object(members)
            })
            .collect()
    }
}

/// Whole numbers as JSON integers (counts read as counts), the rest as they are.
fn number(value: f64) -> Value {
    const EXACT: f64 = (1u64 << 53) as f64;
    if value.fract() == 0.0 && value.abs() < EXACT {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

/// Where EMF lines go: stdout in Lambda (CloudWatch Logs reads them from the function's log),
/// anything else in tests.
pub struct EmfOutput(Mutex<Box<dyn Write + Send>>);

impl EmfOutput {
    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }

    pub fn new(writer: impl Write + Send + 'static) -> Self {
        Self(Mutex::new(Box::new(writer)))
    }

    /// Writes each document as one line in a single write: the tracing formatter writes its
    /// lines whole to the same stdout, so no log line can land inside a document.
    pub fn emit(&self, emf: &Emf<'_>) -> std::io::Result<()> {
        let mut out = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for document in emf.documents() {
            let mut line = serde_json::to_vec(&document)?;
            line.push(b'\n');
            out.write_all(&line)?;
        }
        out.flush()
    }
}

/// The event types that are `EventType` values: those with a schema file of their own; every
/// other type (and an event whose type could not be read) counts as `_default`, the rule of
/// [`crate::firehose::partition_event_type`], so there is one value per schema file, plus one.
#[derive(Debug, Clone)]
pub struct EventTypes(Vec<String>);

impl EventTypes {
    pub fn of(schemas: &SchemaRegistry) -> Self {
        let mut types: Vec<String> = schemas.event_types().map(str::to_owned).collect();
        types.sort_unstable();
        Self(types)
    }

    pub fn label(&self, event_type: Option<&str>) -> &str {
        self.name(self.index(event_type))
    }

    /// The label as a number below [`EventTypes::count`], so counting per label needs no map.
    fn index(&self, event_type: Option<&str>) -> usize {
        event_type
            .and_then(|event_type| {
                self.0
                    .binary_search_by(|known| known.as_str().cmp(event_type))
                    .ok()
            })
            .unwrap_or(self.0.len())
    }

    fn name(&self, index: usize) -> &str {
        self.0.get(index).map_or(DEFAULT_SCHEMA, String::as_str)
    }

    /// How many labels there are: the schemas' event types and `_default`.
    fn count(&self) -> usize {
        self.0.len() + 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyShape {
    Object,
    Array,
    Ndjson,
}

/// How a request body was sent: the `Format` dimension, one of `json`, `array`, `ndjson`, each
/// with or without `+gzip`, or `unsupported` (a content type or encoding the contract refuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFormat(Option<(BodyShape, bool)>);

impl RequestFormat {
    pub fn of(request: &RequestBody<'_>) -> Self {
        let Ok(format) = body::body_format(request.content_type) else {
            return Self(None);
        };
        let encoding = request.content_encoding.map(str::trim).unwrap_or("");
        let gzip = encoding.eq_ignore_ascii_case("gzip");
        if !gzip && !encoding.is_empty() && !encoding.eq_ignore_ascii_case("identity") {
            return Self(None);
        }
        let shape = match format {
            BodyFormat::Ndjson => BodyShape::Ndjson,
            BodyFormat::Json if first_significant_byte(request.body, gzip) == Some(b'[') => BodyShape::Array,
            BodyFormat::Json => BodyShape::Object,
        };
        Self(Some((shape, gzip)))
    }

    pub fn label(self) -> &'static str {
        match self.0 {
            None => "unsupported",
            Some((BodyShape::Object, false)) => "json",
            Some((BodyShape::Array, false)) => "array",
            Some((BodyShape::Ndjson, false)) => "ndjson",
            Some((BodyShape::Object, true)) => "json+gzip",
            Some((BodyShape::Array, true)) => "array+gzip",
            Some((BodyShape::Ndjson, true)) => "ndjson+gzip",
        }
    }
}

/// The body's first byte that is not whitespace; of a gzip body, only as much is inflated as
/// finding it takes (at most [`FORMAT_PEEK_BYTES`]).
fn first_significant_byte(body: &[u8], gzip: bool) -> Option<u8> {
    if !gzip {
        return body.iter().copied().find(|byte| !byte.is_ascii_whitespace());
    }
    let mut inflated = GzDecoder::new(body).take(FORMAT_PEEK_BYTES);
    let mut buffer = [0u8; 64];
    loop {
        match inflated.read(&mut buffer) {
            Ok(0) | Err(_) => return None,
            Ok(read) => {
                if let Some(&byte) = buffer[..read].iter().find(|byte| !byte.is_ascii_whitespace()) {
                    return Some(byte);
                }
            }
        }
    }
}

/// What happened to a request's events, as its reply counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventCounts {
    pub accepted: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// The PutRecords work of one request, counted by the validator's stream writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutStats {
    /// PutRecords calls made, retries included.
    pub calls: u64,
    /// Records a call did not take (per record or with the whole call), each time.
    pub records_refused: u64,
    /// Rounds of calls after the first (each after a backoff).
    pub retries: u64,
    /// From the first call to the last answer, backoff included.
    pub time: Duration,
}

/// The metrics of one validator request.
#[derive(Debug, Clone)]
pub struct RequestMetrics {
    format: RequestFormat,
    request_bytes: usize,
    events: BTreeMap<String, EventCounts>,
    rejections: BTreeMap<String, u64>,
    put: Option<PutStats>,
    error_store_time: Option<Duration>,
}

fn add_one(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(count) => *count += 1,
        None => {
            counts.insert(key.to_owned(), 1);
        }
    }
}

impl RequestMetrics {
    pub fn new(request: &RequestBody<'_>) -> Self {
        Self {
            format: RequestFormat::of(request),
            request_bytes: request.body.len(),
            events: BTreeMap::new(),
            rejections: BTreeMap::new(),
            put: None,
            error_store_time: None,
        }
    }

    /// The body was refused as a whole, with `code`.
    pub fn body_refused(&mut self, code: &str) {
        add_one(&mut self.rejections, code);
    }

    /// Counts the events as the reply does: rejected, accepted when `accepted[i]`, else failed.
    /// A rejected event counts once under each distinct code among its reasons.
    pub fn events(&mut self, outcomes: &[Outcome], accepted: &[bool], event_types: &EventTypes) {
        let mut by_label = vec![None::<EventCounts>; event_types.count()];
        for (outcome, &is_accepted) in outcomes.iter().zip(accepted) {
            let counts =
                by_label[event_types.index(outcome.event_type())].get_or_insert_with(EventCounts::default);
            match outcome {
                Outcome::Rejected { errors, .. } => {
                    counts.rejected += 1;
                    let mut codes: Vec<&str> = errors.iter().map(|error| error.code.as_str()).collect();
                    codes.sort_unstable();
                    codes.dedup();
                    for code in codes {
                        add_one(&mut self.rejections, code);
                    }
                }
                Outcome::Valid { .. } if is_accepted => counts.accepted += 1,
                Outcome::Valid { .. } => counts.failed += 1,
            }
        }
        for (index, counts) in by_label.into_iter().enumerate() {
            let Some(counts) = counts else { continue };
            let total = self.events.entry(event_types.name(index).to_owned()).or_default();
            total.accepted += counts.accepted;
            total.rejected += counts.rejected;
            total.failed += counts.failed;
        }
    }

    pub fn put_records(&mut self, stats: PutStats) {
        self.put = Some(stats);
    }

    /// Time spent storing rejections (once per request at most).
    pub fn error_store(&mut self, time: Duration) {
        *self.error_store_time.get_or_insert(Duration::ZERO) += time;
    }

    pub fn totals(&self) -> EventCounts {
        self.events
            .values()
            .fold(EventCounts::default(), |total, counts| EventCounts {
                accepted: total.accepted + counts.accepted,
                rejected: total.rejected + counts.rejected,
                failed: total.failed + counts.failed,
            })
    }

    /// The distinct rejection codes of the request, sorted.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.rejections.keys().map(String::as_str)
    }

    pub fn emf<'c>(
        &self,
        config: &'c MetricsConfig,
        namespace: &str,
        timestamp_ms: i64,
    ) -> Result<Emf<'c>, EmfError> {
        let names = &config.validator;
        let dimensions = &config.dimensions;
        let mut emf = Emf::new(config, namespace, timestamp_ms)?;
        let format = [(dimensions.format.as_str(), self.format.label())];
        emf.add(&names.requests, Unit::Count, 1.0, &format)?;
        emf.add(
            &names.request_bytes,
            Unit::Bytes,
            self.request_bytes as f64,
            &format,
        )?;
        let events = [
            &names.events_accepted,
            &names.events_rejected,
            &names.events_failed,
        ];
        if self.events.is_empty() {
            for metric in events {
                emf.add_total(metric, Unit::Count, 0.0)?;
            }
        }
        for (event_type, counts) in &self.events {
            let context = [(dimensions.event_type.as_str(), event_type.as_str())];
            for (metric, count) in events
                .into_iter()
                .zip([counts.accepted, counts.rejected, counts.failed])
            {
                emf.add(metric, Unit::Count, count as f64, &context)?;
            }
        }
        if self.rejections.is_empty() {
            emf.add_total(&names.rejections, Unit::Count, 0.0)?;
        }
        for (code, count) in &self.rejections {
            emf.add(
                &names.rejections,
                Unit::Count,
                *count as f64,
                &[(dimensions.code.as_str(), code.as_str())],
            )?;
        }
        let put = self.put.unwrap_or_default();
        emf.add(&names.put_records_calls, Unit::Count, put.calls as f64, &[])?;
        emf.add(
            &names.records_refused,
            Unit::Count,
            put.records_refused as f64,
            &[],
        )?;
        emf.add(&names.put_retries, Unit::Count, put.retries as f64, &[])?;
        // Times only when the call was made: a request with nothing to write is not a fast write.
        if let Some(put) = self.put.filter(|put| put.calls > 0) {
            emf.add(
                &names.kinesis_time,
                Unit::Milliseconds,
                milliseconds(put.time),
                &[],
            )?;
        }
        if let Some(time) = self.error_store_time {
            emf.add(
                &names.error_store_time,
                Unit::Milliseconds,
                milliseconds(time),
                &[],
            )?;
        }
        Ok(emf)
    }
}

/// To the microsecond: finer is noise, and the line stays short.
fn milliseconds(time: Duration) -> f64 {
    time.as_micros() as f64 / 1000.0
}

/// The metrics of one transformer batch: records answered `Ok` and the events they carry (a
/// packed record holds several), per partition event type (already bounded by
/// [`crate::firehose::partition_event_type`]), and records answered `ProcessingFailed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchMetrics {
    ok: BTreeMap<String, u64>,
    events: BTreeMap<String, u64>,
    processing_failed: u64,
}

impl BatchMetrics {
    /// A record answered `Ok`, carrying `events` events of `partition_event_type`.
    pub fn ok(&mut self, partition_event_type: &str, events: usize) {
        add_one(&mut self.ok, partition_event_type);
        *self.events.entry(partition_event_type.to_owned()).or_default() += events as u64;
    }

    pub fn processing_failed(&mut self) {
        self.processing_failed += 1;
    }

    pub fn emf<'c>(
        &self,
        config: &'c MetricsConfig,
        namespace: &str,
        timestamp_ms: i64,
    ) -> Result<Emf<'c>, EmfError> {
        let names = &config.transformer;
        let mut emf = Emf::new(config, namespace, timestamp_ms)?;
        if self.ok.is_empty() {
            emf.add_total(&names.records_ok, Unit::Count, 0.0)?;
        }
        if self.events.is_empty() {
            emf.add_total(&names.events_delivered, Unit::Count, 0.0)?;
        }
        for (event_type, count) in &self.ok {
            let context = [(config.dimensions.event_type.as_str(), event_type.as_str())];
            emf.add(&names.records_ok, Unit::Count, *count as f64, &context)?;
            let events = self.events.get(event_type).copied().unwrap_or_default();
            emf.add(&names.events_delivered, Unit::Count, events as f64, &context)?;
        }
        emf.add(
            &names.records_processing_failed,
            Unit::Count,
            self.processing_failed as f64,
            &[],
        )?;
        Ok(emf)
    }
}

/// An in-memory EMF output whose clones share one buffer: give one to the code under test
/// (`EmfOutput::new`), read what it emitted through another. For the tests of the crates that
/// emit them.
#[cfg(any(test, feature = "test-util"))]
#[derive(Clone, Default)]
pub struct Emitted(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(any(test, feature = "test-util"))]
impl std::io::Write for Emitted {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Emitted {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("not poisoned").clone()).expect("EMF is UTF-8")
    }

    /// Every line, parsed: each must be one JSON document.
    pub fn documents(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON document per line"))
            .collect()
    }
}

/// What is wrong with `document` as an EMF document, by the specification's required fields and
/// limits: empty when nothing. For the tests of the crates that emit them.
#[cfg(any(test, feature = "test-util"))]
pub fn emf_violations(document: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut problem = |text: String| found.push(text);
    let Some(root) = document.as_object() else {
        return vec!["the document is not a JSON object".into()];
    };
    let Some(aws) = root.get("_aws").and_then(Value::as_object) else {
        return vec!["no _aws object".into()];
    };
    if !aws.get("Timestamp").is_some_and(|t| t.is_i64() || t.is_u64()) {
        problem("_aws.Timestamp is not a whole number of milliseconds".into());
    }
    let Some(directives) = aws.get("CloudWatchMetrics").and_then(Value::as_array) else {
        return vec!["_aws.CloudWatchMetrics is not an array".into()];
    };
    for directive in directives {
        if directive["Namespace"]
            .as_str()
            .map(check_namespace)
            .is_none_or(|checked| checked.is_err())
        {
            problem(format!("bad Namespace in {directive}"));
        }
        match directive["Dimensions"].as_array() {
            None => problem(format!("Dimensions is not an array in {directive}")),
            Some(sets) => {
                for set in sets {
                    let Some(keys) = set.as_array() else {
                        problem(format!("a dimension set is not an array: {set}"));
                        continue;
                    };
                    if keys.len() > MAX_DIMENSIONS_PER_SET {
                        problem(format!("more than {MAX_DIMENSIONS_PER_SET} dimensions in {set}"));
                    }
                    for key in keys {
                        if !key
                            .as_str()
                            .and_then(|key| root.get(key))
                            .is_some_and(Value::is_string)
                        {
                            problem(format!("dimension {key} is not a string member of the root"));
                        }
                    }
                }
            }
        }
        match directive["Metrics"].as_array() {
            None => problem(format!("Metrics is not an array in {directive}")),
            Some(metrics) => {
                if metrics.len() > MAX_METRICS_PER_DOCUMENT {
                    problem(format!(
                        "more than {MAX_METRICS_PER_DOCUMENT} metrics in a directive"
                    ));
                }
                for metric in metrics {
                    let name = metric["Name"].as_str().unwrap_or_default();
                    if check_name(name).is_err() {
                        problem(format!("bad metric Name in {metric}"));
                    }
                    if !metric["Unit"].is_string() {
                        problem(format!("metric {name} has no Unit"));
                    }
                    let value = root.get(name);
                    let values_ok = match value {
                        Some(Value::Number(_)) => true,
                        Some(Value::Array(values)) => {
                            values.len() <= 100 && values.iter().all(Value::is_number)
                        }
                        _ => false,
                    };
                    if !values_ok {
                        problem(format!(
                            "metric {name} has no numeric value in the root: {value:?}"
                        ));
                    }
                }
            }
        }
    }
    found
}

/// Every datapoint `documents` publish, sorted: (metric, its dimensions as `Name=value` joined
/// by commas, empty for none, value). For the tests of the crates that emit them.
#[cfg(any(test, feature = "test-util"))]
pub fn emf_datapoints(documents: &[Value]) -> Vec<(String, String, f64)> {
    let mut points = Vec::new();
    for document in documents {
        for directive in document["_aws"]["CloudWatchMetrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for metric in directive["Metrics"].as_array().into_iter().flatten() {
                let name = metric["Name"].as_str().unwrap_or_default();
                for set in directive["Dimensions"].as_array().into_iter().flatten() {
                    let dimensions: Vec<String> = set
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|key| {
                            let key = key.as_str().unwrap_or_default();
                            format!("{key}={}", document[key].as_str().unwrap_or_default())
                        })
                        .collect();
                    let value = document[name].as_f64().unwrap_or(f64::NAN);
                    points.push((name.to_string(), dimensions.join(","), value));
                }
            }
        }
    }
    points.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    points
}

/// The sum of `metric`'s datapoints published with exactly `dimensions` (see [`emf_datapoints`]),
/// what CloudWatch's Sum statistic would show for the invocation.
#[cfg(any(test, feature = "test-util"))]
pub fn emf_sum(points: &[(String, String, f64)], metric: &str, dimensions: &str) -> f64 {
    points
        .iter()
        .filter(|(name, dims, _)| name == metric && dims == dimensions)
        .map(|(_, _, value)| value)
        .sum()
}

/// Asserts each `(metric, dimensions, sum)` of `expected` against [`emf_sum`], naming the one
/// that differs.
#[cfg(any(test, feature = "test-util"))]
pub fn assert_emf_sums(points: &[(String, String, f64)], expected: &[(&str, &str, f64)]) {
    for &(metric, dimensions, value) in expected {
        assert_eq!(
            emf_sum(points, metric, dimensions),
            value,
            "{metric} {dimensions}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorDetail;
    use crate::validator::RawEvent;

    const NAMESPACE: &str = "rtstream";
    const T: i64 = 1_764_150_000_000;

    fn config() -> &'static MetricsConfig {
        &PIPELINE.metrics
    }

    fn shipped_types() -> EventTypes {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        EventTypes::of(&SchemaRegistry::load_dir(&dir).unwrap())
    }

    fn valid(event_type: &str) -> Outcome {
        Outcome::Valid {
            event_id: "e".into(),
            event_type: event_type.into(),
            record: b"{}".to_vec(),
        }
    }

    fn rejected(event_type: Option<&str>, codes: &[&str]) -> Outcome {
        Outcome::Rejected {
            event_id: None,
            event_type: event_type.map(str::to_owned),
            errors: codes
                .iter()
                .map(|code| ErrorDetail::new("", *code, "m"))
                .collect(),
            raw: RawEvent::Line("x".into()),
        }
    }

    fn json_request(body: &[u8]) -> RequestBody<'_> {
        RequestBody {
            content_type: Some("application/json"),
            content_encoding: None,
            body,
        }
    }

    #[test]
    fn the_config_names_every_metric_once_and_only_dimensions_it_defines() {
        let names = config();
        let mut all = vec![
            &names.validator.events_accepted,
            &names.validator.events_rejected,
            &names.validator.events_failed,
            &names.validator.rejections,
            &names.validator.requests,
            &names.validator.request_bytes,
            &names.validator.put_records_calls,
            &names.validator.records_refused,
            &names.validator.put_retries,
            &names.validator.kinesis_time,
            &names.validator.error_store_time,
            &names.transformer.records_ok,
            &names.transformer.records_processing_failed,
            &names.transformer.events_delivered,
        ];
        for name in &all {
            check_name(name).unwrap();
        }
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "metric names are unique");
        let dimensions = [
            &names.dimensions.event_type,
            &names.dimensions.code,
            &names.dimensions.format,
        ];
        for (metric, by) in &names.by_dimension {
            assert!(all.contains(&metric), "{metric} in by_dimension is not a metric");
            assert!(by.len() < MAX_DIMENSIONS_PER_SET);
            assert!(
                by.iter().all(|dimension| dimensions.contains(&dimension)),
                "{metric}: {by:?}"
            );
        }
        let expanded = PIPELINE
            .metrics
            .namespace
            .replace("{prefix}", &PIPELINE.name_prefix);
        assert_eq!(namespace_from_env(&|_| None).unwrap(), expanded);
    }

    #[test]
    fn the_namespace_comes_from_the_environment_and_is_checked() {
        let set = |value: &'static str| {
            move |name: &str| (name == "RTSTREAM_METRICS_NAMESPACE").then(|| value.to_string())
        };
        assert_eq!(namespace_from_env(&set("rtstream-dev")).unwrap(), "rtstream-dev");
        let error = namespace_from_env(&set("AWS/Lambda")).unwrap_err();
        assert!(error.0.contains("RTSTREAM_METRICS_NAMESPACE"), "{error}");
        assert!(namespace_from_env(&set("a\u{e9}")).is_err());
        assert!(namespace_from_env(&set("n".repeat(256).leak())).is_err());
    }

    #[test]
    fn a_document_has_the_required_fields_and_values_for_every_metric() {
        let mut emf = Emf::new(config(), NAMESPACE, T).unwrap();
        emf.add("EventsAccepted", Unit::Count, 3.0, &[("EventType", "page_view")])
            .unwrap();
        emf.add(
            "KinesisTime",
            Unit::Milliseconds,
            1.25,
            &[("EventType", "ignored")],
        )
        .unwrap();
        let documents = emf.documents();
        assert_eq!(documents.len(), 1);
        let document = &documents[0];
        assert_eq!(emf_violations(document), Vec::<String>::new());
        assert_eq!(document["_aws"]["Timestamp"], T);
        assert_eq!(document["EventType"], "page_view");
        assert_eq!(document["EventsAccepted"], 3, "a count is a whole number");
        assert_eq!(document["KinesisTime"], 1.25);
        let directives = document["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        let by_type = directives
            .iter()
            .find(|directive| directive["Metrics"][0]["Name"] == "EventsAccepted")
            .unwrap();
        assert_eq!(by_type["Namespace"], NAMESPACE);
        assert_eq!(by_type["Dimensions"], json!([[], ["EventType"]]));
        assert_eq!(
            by_type["Metrics"],
            json!([{"Name": "EventsAccepted", "Unit": "Count"}])
        );
        let undimensioned = directives
            .iter()
            .find(|directive| directive["Metrics"][0]["Name"] == "KinesisTime")
            .unwrap();
        assert_eq!(
            undimensioned["Dimensions"],
            json!([[]]),
            "not in by_dimension: no dimension"
        );
        assert_eq!(undimensioned["Metrics"][0]["Unit"], "Milliseconds");
    }

    #[test]
    fn values_of_one_dimension_go_to_separate_documents_and_totals_add_up() {
        let mut emf = Emf::new(config(), NAMESPACE, T).unwrap();
        for (event_type, count) in [("page_view", 2.0), ("order_placed", 5.0), ("page_view", 1.0)] {
            emf.add("EventsAccepted", Unit::Count, count, &[("EventType", event_type)])
                .unwrap();
        }
        emf.add("Rejections", Unit::Count, 4.0, &[("Code", "schema.required")])
            .unwrap();
        let documents = emf.documents();
        assert_eq!(
            documents.len(),
            2,
            "one EventType value per document; Code shares one"
        );
        for document in &documents {
            assert_eq!(emf_violations(document), Vec::<String>::new(), "{document}");
        }
        let points = emf_datapoints(&documents);
        assert_eq!(emf_sum(&points, "EventsAccepted", ""), 8.0);
        assert_eq!(emf_sum(&points, "EventsAccepted", "EventType=page_view"), 3.0);
        assert_eq!(emf_sum(&points, "EventsAccepted", "EventType=order_placed"), 5.0);
        assert_eq!(emf_sum(&points, "Rejections", "Code=schema.required"), 4.0);
        assert_eq!(emf_sum(&points, "Rejections", ""), 4.0);
    }

    #[test]
    fn a_document_never_holds_more_than_100_metrics() {
        let mut emf = Emf::new(config(), NAMESPACE, T).unwrap();
        for index in 0..250 {
            emf.add(&format!("M{index:03}"), Unit::Count, index as f64, &[])
                .unwrap();
        }
        let documents = emf.documents();
        assert_eq!(documents.len(), 3);
        let mut seen = 0;
        for document in &documents {
            assert_eq!(emf_violations(document), Vec::<String>::new());
            let metrics = document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap();
            assert!(metrics.len() <= MAX_METRICS_PER_DOCUMENT);
            seen += metrics.len();
        }
        assert_eq!(seen, 250);
        assert_eq!(emf_sum(&emf_datapoints(&documents), "M249", ""), 249.0);
    }

    #[test]
    fn bad_names_values_and_missing_dimensions_are_errors() {
        assert!(matches!(Emf::new(config(), "", T), Err(EmfError::Namespace(_))));
        let mut emf = Emf::new(config(), NAMESPACE, T).unwrap();
        assert!(matches!(
            emf.add("EventsAccepted", Unit::Count, 1.0, &[]),
            Err(EmfError::MissingDimension { .. })
        ));
        assert!(matches!(
            emf.add("EventsAccepted", Unit::Count, 1.0, &[("EventType", " ")]),
            Err(EmfError::DimensionValue { .. })
        ));
        assert!(matches!(
            emf.add("EventsAccepted", Unit::Count, 1.0, &[("EventType", "\u{e9}")]),
            Err(EmfError::DimensionValue { .. })
        ));
        assert!(matches!(
            emf.add("_aws", Unit::Count, 1.0, &[]),
            Err(EmfError::Name(_))
        ));
        assert!(matches!(
            emf.add("X", Unit::Count, f64::NAN, &[]),
            Err(EmfError::NotFinite { .. })
        ));
        assert!(emf.documents().is_empty(), "nothing was added");
    }

    #[test]
    fn event_types_are_schema_names_or_default_like_partitions() {
        let types = shipped_types();
        let schema_types = ["order_placed", "page_view"];
        for event_type in ["page_view", "order_placed", "page_view2", "anything.else", ""] {
            assert_eq!(
                types.label(Some(event_type)),
                crate::firehose::partition_event_type(event_type, &schema_types)
            );
        }
        assert_eq!(types.label(None), DEFAULT_SCHEMA);
    }

    #[test]
    fn formats_name_the_shape_and_the_encoding() {
        let gzip = |text: &[u8]| {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut encoder, text).unwrap();
            encoder.finish().unwrap()
        };
        let format = |content_type: Option<&str>, content_encoding: Option<&str>, body: &[u8]| {
            RequestFormat::of(&RequestBody {
                content_type,
                content_encoding,
                body,
            })
            .label()
        };
        let json = Some("application/json");
        assert_eq!(format(json, None, b" {}"), "json");
        assert_eq!(format(None, None, b"\n [{}]"), "array");
        assert_eq!(
            format(
                Some("application/x-ndjson; charset=utf-8"),
                Some("identity"),
                b"{}"
            ),
            "ndjson"
        );
        assert_eq!(format(json, Some("GZIP"), &gzip(b"  \n[{}]")), "array+gzip");
        assert_eq!(format(json, Some("gzip"), &gzip(b"{}")), "json+gzip");
        assert_eq!(format(json, Some("gzip"), b"not gzip"), "json+gzip");
        assert_eq!(
            format(Some("application/x-ndjson"), Some("gzip"), &gzip(b"{}")),
            "ndjson+gzip"
        );
        assert_eq!(format(Some("text/plain"), None, b"{}"), "unsupported");
        assert_eq!(format(json, Some("br"), b"{}"), "unsupported");
    }

    #[test]
    fn request_metrics_count_what_the_reply_counts() {
        let body = br#"[{"a":1}]"#;
        let mut metrics = RequestMetrics::new(&json_request(body));
        let outcomes = [
            valid("page_view"),
            valid("page_view"),
            valid("made.up"),
            rejected(
                Some("order_placed"),
                &["schema.minimum", "schema.pattern", "schema.minimum"],
            ),
            rejected(None, &["event.malformed_json"]),
        ];
        metrics.events(&outcomes, &[true, false, true, false, false], &shipped_types());
        metrics.put_records(PutStats {
            calls: 3,
            records_refused: 2,
            retries: 1,
            time: Duration::from_micros(12_500),
        });
        metrics.error_store(Duration::from_millis(4));
        assert_eq!(
            metrics.totals(),
            EventCounts {
                accepted: 2,
                rejected: 2,
                failed: 1
            }
        );
        assert_eq!(
            metrics.codes().collect::<Vec<_>>(),
            ["event.malformed_json", "schema.minimum", "schema.pattern"]
        );
        let documents = metrics.emf(config(), NAMESPACE, T).unwrap().documents();
        assert_eq!(
            documents.len(),
            3,
            "three event types, one per document: {documents:?}"
        );
        for document in &documents {
            assert_eq!(emf_violations(document), Vec::<String>::new(), "{document}");
        }
        let points = emf_datapoints(&documents);
        let expected = [
            ("EventsAccepted", "", 2.0),
            ("EventsAccepted", "EventType=page_view", 1.0),
            ("EventsAccepted", "EventType=_default", 1.0),
            ("EventsAccepted", "EventType=order_placed", 0.0),
            ("EventsFailed", "", 1.0),
            ("EventsFailed", "EventType=page_view", 1.0),
            ("EventsRejected", "", 2.0),
            ("EventsRejected", "EventType=order_placed", 1.0),
            ("EventsRejected", "EventType=_default", 1.0),
            ("Rejections", "", 3.0),
            ("Rejections", "Code=schema.minimum", 1.0),
            ("Rejections", "Code=event.malformed_json", 1.0),
            ("Requests", "", 1.0),
            ("Requests", "Format=array", 1.0),
            ("RequestBytes", "", body.len() as f64),
            ("PutRecordsCalls", "", 3.0),
            ("RecordsRefused", "", 2.0),
            ("PutRetries", "", 1.0),
            ("KinesisTime", "", 12.5),
            ("ErrorStoreTime", "", 4.0),
        ];
        assert_emf_sums(&points, &expected);
        let published: BTreeSet<&str> = points.iter().map(|(name, _, _)| name.as_str()).collect();
        let by_dimension: BTreeSet<&str> = points
            .iter()
            .filter(|(_, dims, _)| !dims.is_empty())
            .map(|(name, _, _)| name.as_str())
            .collect();
        assert_eq!(published.len(), 11, "every validator metric: {published:?}");
        let configured: BTreeSet<&str> = config()
            .by_dimension
            .keys()
            .map(String::as_str)
            .filter(|name| published.contains(name))
            .collect();
        assert_eq!(by_dimension, configured, "split exactly as by_dimension says");
    }

    #[test]
    fn a_refused_body_publishes_zeros_for_its_events_and_no_times() {
        let mut metrics = RequestMetrics::new(&RequestBody {
            content_type: Some("text/csv"),
            content_encoding: None,
            body: b"a,b",
        });
        metrics.body_refused("content_type.unsupported");
        let documents = metrics.emf(config(), NAMESPACE, T).unwrap().documents();
        assert_eq!(documents.len(), 1);
        assert_eq!(emf_violations(&documents[0]), Vec::<String>::new());
        let points = emf_datapoints(&documents);
        for metric in [
            "EventsAccepted",
            "EventsRejected",
            "EventsFailed",
            "PutRecordsCalls",
        ] {
            assert_eq!(emf_sum(&points, metric, ""), 0.0, "{metric}");
        }
        assert_eq!(
            emf_sum(&points, "Rejections", "Code=content_type.unsupported"),
            1.0
        );
        assert_eq!(emf_sum(&points, "Requests", "Format=unsupported"), 1.0);
        assert!(!points
            .iter()
            .any(|(name, _, _)| name == "KinesisTime" || name == "ErrorStoreTime"));
    }

    #[test]
    fn batch_metrics_count_ok_per_type_and_failures() {
        let mut batch = BatchMetrics::default();
        for (event_type, events) in [("page_view", 3), ("_default", 1), ("page_view", 1)] {
            batch.ok(event_type, events);
        }
        batch.processing_failed();
        let documents = batch.emf(config(), NAMESPACE, T).unwrap().documents();
        assert_eq!(documents.len(), 2);
        let points = emf_datapoints(&documents);
        assert_eq!(emf_sum(&points, "RecordsOk", ""), 3.0);
        assert_eq!(emf_sum(&points, "RecordsOk", "EventType=page_view"), 2.0);
        assert_eq!(emf_sum(&points, "RecordsOk", "EventType=_default"), 1.0);
        assert_eq!(emf_sum(&points, "RecordsProcessingFailed", ""), 1.0);
        assert_eq!(
            emf_sum(&points, "EventsDelivered", ""),
            5.0,
            "events, not records"
        );
        assert_eq!(emf_sum(&points, "EventsDelivered", "EventType=page_view"), 4.0);
        assert_eq!(emf_sum(&points, "EventsDelivered", "EventType=_default"), 1.0);
        let empty = BatchMetrics::default()
            .emf(config(), NAMESPACE, T)
            .unwrap()
            .documents();
        assert_eq!(emf_sum(&emf_datapoints(&empty), "RecordsOk", ""), 0.0);
        assert_eq!(emf_sum(&emf_datapoints(&empty), "EventsDelivered", ""), 0.0);
    }

    #[test]
    fn output_writes_one_line_per_document() {
        let shared = Emitted::default();
        let output = EmfOutput::new(shared.clone());
        let mut batch = BatchMetrics::default();
        batch.ok("page_view", 1);
        batch.ok("order_placed", 2);
        let emf = batch.emf(config(), NAMESPACE, T).unwrap();
        output.emit(&emf).unwrap();
        assert!(shared.text().ends_with('\n'));
        assert_eq!(shared.documents(), emf.documents());
    }
}
