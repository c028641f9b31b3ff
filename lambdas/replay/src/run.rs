//! A replay run: list the stored objects, decide each event (`plan`), send the valid ones with
//! the validator's Kinesis writer at a bounded rate, report the rest, and record progress
//! (`state`) event by event, so that a big object can finish across runs.

use crate::plan::{Decision, Filters, Invalid, Planner, Position, Source};
use crate::state::State;
use crate::ReplayError;
use aws_sdk_s3::error::DisplayErrorContext;
use indicatif::ProgressBar;
use rtstream_core::Validator;
use rtstream_validator::stream::{put_deadline, PendingRecord, StreamError, StreamWriter};
use serde::Serialize;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::num::NonZeroU32;
use std::time::Duration;
use tokio::time::Instant;

/// Kinesis takes 1,000 records/s (and 1 MiB/s) per shard: half a shard leaves the live traffic
/// room on the smallest stream.
pub const DEFAULT_MAX_RECORDS_PER_SECOND: NonZeroU32 = NonZeroU32::new(500).unwrap();

pub struct Replay {
    pub source: Source,
    pub bucket: String,
    pub prefix: String,
    pub filters: Filters,
    pub validator: Validator,
    /// Processing-failed events get today's schema checks too (`plan::Planner::revalidate`).
    pub revalidate: bool,
    pub max_records_per_second: NonZeroU32,
    pub s3: aws_sdk_s3::Client,
    /// Where valid events go; `None` is a dry run: nothing is sent and nothing recorded.
    pub stream: Option<StreamWriter>,
}

/// Where still-invalid events are listed: each object's lines are durable before its progress
/// is recorded, so an interrupted run never has an object's events recorded but not reported.
pub trait Report: Write {
    fn sync(&mut self) -> std::io::Result<()>;
}

impl Report for BufWriter<File> {
    fn sync(&mut self) -> std::io::Result<()> {
        self.flush()?;
        self.get_ref().sync_data()
    }
}

impl Report for Vec<u8> {
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a run did: objects read or skipped, then what became of their events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Objects in the date range.
    pub objects: u64,
    /// Objects an earlier run with the same state file finished: not read again.
    pub objects_skipped: u64,
    /// Objects that could not be read (in the report as `replay.unreadable_object`).
    pub objects_unreadable: u64,
    /// Events read (a packed processing-failed record counts each of its events).
    pub read: u64,
    /// Events an earlier run with the same state file had acknowledged: not sent again.
    pub already_sent: u64,
    /// Events the filters left out.
    pub skipped: u64,
    /// Events valid now (in a dry run, what would be sent).
    pub valid: u64,
    /// Valid events Kinesis acknowledged.
    pub sent: u64,
    /// Valid events Kinesis did not take before their batch's deadline: run again to send them.
    pub failed: u64,
    /// Events still refused, each in the report.
    pub still_invalid: u64,
}

impl Counts {
    pub fn summary(&self) -> String {
        format!(
            "read {} · sent {} · still invalid {} · skipped {} · failed {} · unreadable objects {}",
            self.read, self.sent, self.still_invalid, self.skipped, self.failed, self.objects_unreadable
        )
    }

    /// Whether something is left that another run could do (exit 1).
    pub fn incomplete(&self) -> bool {
        self.failed > 0 || self.objects_unreadable > 0
    }
}

/// Spaces PutRecords calls so that records go out at most at `per_second`.
struct Pace {
    per_second: NonZeroU32,
    next: Instant,
}

impl Pace {
    async fn take(&mut self, records: usize) {
        tokio::time::sleep_until(self.next).await;
        let now = Instant::now();
        self.next =
            self.next.max(now) + Duration::from_secs_f64(records as f64 / f64::from(self.per_second.get()));
    }
}

impl Replay {
    /// What names this run in a state file: a state file is only resumed by the same replay.
    pub fn identity(&self) -> Value {
        json!({
            "source": self.source,
            "bucket": self.bucket,
            "prefix": self.prefix,
            "filters": self.filters,
        })
    }

    /// Replays every object in range that `state` does not list as done, writing still-invalid
    /// events to `report` (NDJSON) and counts to `progress`.
    pub async fn run(
        &self,
        state: &mut State,
        report: &mut impl Report,
        progress: &ProgressBar,
    ) -> Result<Counts, ReplayError> {
        let keys = self.list().await?;
        let mut counts = Counts {
            objects: keys.len() as u64,
            ..Counts::default()
        };
        let mut pace = Pace {
            per_second: self.max_records_per_second,
            next: Instant::now(),
        };
        progress.set_length(counts.objects);
        for key in keys {
            if state.is_done(&key) {
                counts.objects_skipped += 1;
            } else if self
                .replay_object(&key, state, report, &mut counts, &mut pace)
                .await?
            {
                state.mark_done(&key)?;
            }
            progress.inc(1);
            progress.set_message(counts.summary());
        }
        report.sync()?;
        Ok(counts)
    }

    /// Replays one object; whether all of it is done (every event acknowledged, now or before,
    /// or left out by the filters).
    async fn replay_object(
        &self,
        key: &str,
        state: &mut State,
        report: &mut impl Report,
        counts: &mut Counts,
        pace: &mut Pace,
    ) -> Result<bool, ReplayError> {
        let body = match self.read(key).await {
            Ok(body) => body,
            Err(message) => {
                counts.objects_unreadable += 1;
                write_line(report, &Invalid::unreadable_object(key, message))?;
                report.sync()?;
                return Ok(false);
            }
        };
        let planner = Planner {
            source: self.source,
            filters: &self.filters,
            validator: &self.validator,
            revalidate: self.revalidate,
        };
        let planned = planner.plan_object(key, &body);
        counts.read += planned.len() as u64;
        let mut to_send: Vec<(Position, &str, &[u8])> = Vec::new();
        let mut invalid = Vec::new();
        for item in &planned {
            if state.is_sent(key, item.at) {
                counts.already_sent += 1;
                continue;
            }
            match &item.decision {
                Decision::Send { event_id, record, .. } => to_send.push((item.at, event_id, record)),
                Decision::StillInvalid(reason) => {
                    counts.still_invalid += 1;
                    write_line(report, reason)?;
                    let codes = reason.errors.iter().map(|error| error.code.clone()).collect();
                    invalid.push((item.at, codes));
                }
                Decision::Filtered => counts.skipped += 1,
            }
        }
        counts.valid += to_send.len() as u64;
        // Reported before recorded: an interrupted run loses no report line.
        report.sync()?;
        let Some(stream) = &self.stream else {
            return Ok(false);
        };
        let none_invalid = invalid.is_empty();
        state.mark_invalid(key, invalid)?;
        let limits = &self.validator.limits;
        let batch = limits
            .kinesis_max_records_per_call
            .min(self.max_records_per_second.get() as usize)
            .max(1);
        let mut all_sent = true;
        for chunk in to_send.chunks(batch) {
            let records: Vec<PendingRecord> = chunk
                .iter()
                .map(|&(_, partition_key, data)| PendingRecord { partition_key, data })
                .collect();
            pace.take(records.len()).await;
            // Each batch has the whole put deadline: a big object is never cut short by one.
            let written = stream.write(&records, put_deadline(limits)).await;
            if let Some(error @ (StreamError::Permanent(_) | StreamError::Entry(_))) = written.error {
                return Err(ReplayError::Stream(error));
            }
            let acknowledged: Vec<Position> = chunk
                .iter()
                .zip(&written.acknowledged)
                .filter(|(_, &acknowledged)| acknowledged)
                .map(|(&(at, _, _), _)| at)
                .collect();
            counts.sent += acknowledged.len() as u64;
            counts.failed += (chunk.len() - acknowledged.len()) as u64;
            all_sent &= acknowledged.len() == chunk.len();
            state.mark_sent(key, acknowledged)?;
        }
        Ok(all_sent && none_invalid)
    }

    /// The keys under the prefix in the date range, in S3's (lexicographic, so date) order.
    async fn list(&self) -> Result<Vec<String>, ReplayError> {
        // Error-bucket keys start with their date: the listing can begin at the first one.
        let start_after = match (self.source, self.filters.from) {
            (Source::Errors, Some(from)) => Some(format!("{}dt={}", self.prefix, from.format("%Y-%m-%d"))),
            _ => None,
        };
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .set_start_after(start_after)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| ReplayError::List {
                bucket: self.bucket.clone(),
                prefix: self.prefix.clone(),
                message: DisplayErrorContext(&error).to_string(),
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key())
                    .filter(|key| self.filters.takes_key(key))
                    .map(str::to_owned),
            );
        }
        Ok(keys)
    }

    /// The object's NDJSON text, or why it cannot be read.
    async fn read(&self, key: &str) -> Result<Vec<u8>, String> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| {
                format!(
                    "reading s3://{}/{key}: {}",
                    self.bucket,
                    DisplayErrorContext(&error)
                )
            })?;
        let body = object
            .body
            .collect()
            .await
            .map_err(|error| format!("reading s3://{}/{key}: {error}", self.bucket))?;
        crate::plan::ndjson_text(body.into_bytes().to_vec())
            .map_err(|error| format!("s3://{}/{key} is not valid gzip: {error}", self.bucket))
    }
}

fn write_line(report: &mut impl Write, line: &Invalid) -> Result<(), ReplayError> {
    serde_json::to_writer(&mut *report, line).map_err(std::io::Error::from)?;
    report.write_all(b"\n")?;
    Ok(())
}
