//! `rtstream-replay errors|processing-failed [options]`: see `docs/operations.md`, "Replay".
//! Prints a JSON summary on stdout; exits 0 when every valid event was sent, 1 when some could
//! not be or an object could not be read (run again), 2 when the replay could not run (a JSON
//! error on stdout says why).

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use replay::plan::{Filters, Source};
use replay::run::{Replay, DEFAULT_MAX_RECORDS_PER_SECOND};
use replay::settings::{location, name};
use replay::state::State;
use replay::ReplayError;
use rtstream_core::kinesis::Backoff;
use rtstream_core::schema::SchemaRegistry;
use rtstream_core::{Limits, Validator, PIPELINE};
use rtstream_validator::app::{s3_client, sdk_config};
use rtstream_validator::stream::StreamWriter;
use serde_json::json;
use std::fs::OpenOptions;
use std::io::BufWriter;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "rtstream-replay",
    about = "Re-drive stored records into the event stream, validated with the current schemas.",
    long_about = "Re-drive stored records into the event stream, validated with the current schemas. \
                  AWS endpoint, region and static credentials come from the standard environment \
                  variables (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, ...; empty counts as \
                  unset). A run that outlives its credentials resumes from its --state-file."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rejected events of the error bucket (errors/dt=…/): valid ones go on, the rest are reported.
    Errors(Options),
    /// Events of the records the transformer failed (processing-failed/…/dt=…/), back into the
    /// stream: already accepted, so only checked to be loadable (see --revalidate).
    ProcessingFailed(Options),
}

#[derive(Args)]
struct Options {
    /// First dt= partition to replay (YYYY-MM-DD, inclusive).
    #[arg(long)]
    from: Option<NaiveDate>,
    /// Last dt= partition to replay (YYYY-MM-DD, inclusive).
    #[arg(long)]
    to: Option<NaiveDate>,
    /// Only events of this event_type (repeatable).
    #[arg(long = "event-type", value_name = "TYPE")]
    event_types: Vec<String>,
    /// Only records stored for this reason (errors[].code or Firehose errorCode; repeatable).
    #[arg(long = "code", value_name = "CODE")]
    codes: Vec<String>,
    /// Validate and report, but send nothing and record nothing in the state file.
    #[arg(long)]
    dry_run: bool,
    /// Records each event sent and each object finished: running the same command again (after
    /// a crash or another schema fix) never sends an event twice and checks again only the rest.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Where this run lists the events still invalid, one JSON line each.
    #[arg(long, default_value = "replay-report.ndjson")]
    report: PathBuf,
    /// processing-failed: check each event against today's schemas too (by default an event
    /// the validator accepted is only checked to be loadable, never dropped for a schema
    /// tightened since); names an event without an event_id.
    #[arg(long)]
    revalidate: bool,
    /// At most this many records a second into the stream (a shard takes 1,000 records/s and
    /// 1 MiB/s, shared with the live traffic).
    #[arg(long, default_value_t = DEFAULT_MAX_RECORDS_PER_SECOND)]
    max_records_per_second: NonZeroU32,
    /// The JSON Schemas to validate with (default: $RTSTREAM_SCHEMA_DIR, else ./schemas).
    #[arg(long)]
    schema_dir: Option<PathBuf>,
    /// The environment's name prefix, for the names in config/pipeline.json.
    #[arg(long)]
    name_prefix: Option<String>,
    /// The bucket to read (default: the error bucket, or the data bucket for processing-failed).
    #[arg(long)]
    bucket: Option<String>,
    /// The key prefix to read (default: config/pipeline.json prefixes).
    #[arg(long)]
    prefix: Option<String>,
    /// The Kinesis stream to send to (default: config/pipeline.json names.stream).
    #[arg(long)]
    stream: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let (source, options) = match Cli::parse().command {
        Command::Errors(options) => (Source::Errors, options),
        Command::ProcessingFailed(options) => (Source::ProcessingFailed, options),
    };
    match replay(source, options).await {
        Ok(counts) => {
            println!("{}", json!({ "counts": counts }));
            if counts.incomplete() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            println!(
                "{}",
                json!({"error": {"code": error.code(), "message": error.to_string()}})
            );
            ExitCode::from(2)
        }
    }
}

async fn replay(source: Source, options: Options) -> Result<replay::run::Counts, ReplayError> {
    // Empty is unset, as for the Lambdas.
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let config = |error: String| ReplayError::Config(error);
    if let (Some(from), Some(to)) = (options.from, options.to) {
        if from > to {
            return Err(config(format!("--from {from} is after --to {to}")));
        }
    }
    let name_prefix = options.name_prefix.as_deref();
    let (bucket_name, default_prefix) = location(source);
    let schema_dir = options
        .schema_dir
        .or_else(|| PIPELINE.lookup(&env, "schema_dir").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("schemas"));
    let schemas = SchemaRegistry::load_dir(&schema_dir).map_err(|error| config(error.to_string()))?;
    let limits = Limits::from_env(env).map_err(|error| config(error.to_string()))?;
    let sdk = sdk_config(env).map_err(config)?;
    let s3 = s3_client(&sdk);
    let stream_name = match options.stream {
        Some(stream) => stream,
        None => name("stream", name_prefix)?,
    };
    let replay = Replay {
        source,
        bucket: match options.bucket {
            Some(bucket) => bucket,
            None => name(bucket_name, name_prefix)?,
        },
        prefix: options.prefix.unwrap_or_else(|| default_prefix.to_owned()),
        filters: Filters {
            from: options.from,
            to: options.to,
            event_types: options.event_types,
            codes: options.codes,
        },
        validator: Validator::new(limits, schemas),
        revalidate: options.revalidate,
        max_records_per_second: options.max_records_per_second,
        s3,
        stream: (!options.dry_run).then(|| {
            StreamWriter::new(
                aws_sdk_kinesis::Client::new(&sdk),
                stream_name,
                limits,
                Backoff::default(),
            )
        }),
    };
    let mut state = match &options.state_file {
        Some(path) => State::open(path, &replay.identity(), options.dry_run)?,
        None => State::none(),
    };
    // Every event still invalid is checked again by every run: the report is this run's.
    let report = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&options.report)?;
    let progress = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} objects · {msg} [{elapsed}]")
            .expect("a valid template"),
    );
    let counts = replay
        .run(&mut state, &mut BufWriter::new(report), &progress)
        .await?;
    progress.finish();
    Ok(counts)
}
