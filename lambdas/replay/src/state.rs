//! The resume file: what a run has done, so that running the same command again (after a crash,
//! a failed send, or another schema fix) never sends an event twice and skips what is finished.
//! Its first line is the run's identity (source, bucket, prefix, filters): a later run must have
//! the same one, since an object finished under other filters may hold events this run would
//! take. Then one JSON line per fact, appended and synced:
//! - `{"sent": key, "line": n, "record_line": m}`: Kinesis acknowledged that event: never sent
//!   again;
//! - `{"invalid": key, "line": n, "record_line": m, "codes": [...]}`: still refused then (for
//!   the record: a later run validates it again);
//! - `{"done": key}`: every event of the object was sent (or left out by the filters): the
//!   object is not read again.

use crate::plan::Position;
use crate::ReplayError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Entry {
    Done {
        done: String,
    },
    Sent {
        sent: String,
        #[serde(flatten)]
        at: Position,
    },
    Invalid {
        invalid: String,
        #[serde(flatten)]
        at: Position,
        codes: Vec<String>,
    },
}

pub struct State {
    path: PathBuf,
    done: HashSet<String>,
    sent: HashSet<(String, Position)>,
    /// Where facts are appended; `None` keeps the file as it is (a dry run, or no file).
    file: Option<File>,
}

impl State {
    /// Opens (or creates) the state file at `path` for a run named by `identity`. With
    /// `read_only`, what is there is honoured but nothing is written.
    pub fn open(path: &Path, identity: &Value, read_only: bool) -> Result<Self, ReplayError> {
        let io = |error: std::io::Error| ReplayError::State(format!("{}: {error}", path.display()));
        let mut state = Self {
            path: path.to_owned(),
            ..Self::none()
        };
        let existing = match File::open(path) {
            Ok(file) => Some(file),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(io(error)),
        };
        let mut has_identity = false;
        if let Some(file) = existing {
            for (number, line) in BufReader::new(file).lines().enumerate() {
                let line = line.map_err(io)?;
                if line.trim().is_empty() {
                    continue;
                }
                let bad =
                    |what: &str| ReplayError::State(format!("{}:{}: {what}", path.display(), number + 1));
                if number == 0 {
                    let recorded: Value =
                        serde_json::from_str(&line).map_err(|_| bad("not a replay state file"))?;
                    if &recorded != identity {
                        return Err(bad(&format!(
                            "made by another replay ({recorded}); this one is {identity}: use another --state-file"
                        )));
                    }
                    has_identity = true;
                    continue;
                }
                // A line cut short by a crash while it was written names nothing: that work is
                // redone (an event whose `sent` line was cut is sent again, under its same id).
                match serde_json::from_str::<Entry>(&line) {
                    Ok(Entry::Done { done }) => {
                        state.done.insert(done);
                    }
                    Ok(Entry::Sent { sent, at }) => {
                        state.sent.insert((sent, at));
                    }
                    Ok(Entry::Invalid { .. }) | Err(_) => {}
                }
            }
        }
        if !read_only {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(io)?;
            if !has_identity {
                writeln!(file, "{identity}").map_err(io)?;
            }
            state.file = Some(file);
        }
        Ok(state)
    }

    /// No state file: everything is replayed and nothing is recorded.
    pub fn none() -> Self {
        Self {
            path: PathBuf::new(),
            done: HashSet::new(),
            sent: HashSet::new(),
            file: None,
        }
    }

    pub fn is_done(&self, key: &str) -> bool {
        self.done.contains(key)
    }

    /// Whether an earlier run had the event at `at` of `key` acknowledged.
    pub fn is_sent(&self, key: &str, at: Position) -> bool {
        self.sent.contains(&(key.to_owned(), at))
    }

    /// Records the events at `positions` of `key` as acknowledged, durably before anything else.
    pub fn mark_sent(
        &mut self,
        key: &str,
        positions: impl IntoIterator<Item = Position>,
    ) -> Result<(), ReplayError> {
        let entries: Vec<Entry> = positions
            .into_iter()
            .map(|at| Entry::Sent {
                sent: key.to_owned(),
                at,
            })
            .collect();
        self.append(&entries)?;
        for entry in entries {
            if let Entry::Sent { sent, at } = entry {
                self.sent.insert((sent, at));
            }
        }
        Ok(())
    }

    /// Records the events still invalid, with their codes (validated again by a later run).
    pub fn mark_invalid(
        &mut self,
        key: &str,
        invalid: impl IntoIterator<Item = (Position, Vec<String>)>,
    ) -> Result<(), ReplayError> {
        let entries: Vec<Entry> = invalid
            .into_iter()
            .map(|(at, codes)| Entry::Invalid {
                invalid: key.to_owned(),
                at,
                codes,
            })
            .collect();
        self.append(&entries)
    }

    /// Records `key` as finished, durably before the next object starts.
    pub fn mark_done(&mut self, key: &str) -> Result<(), ReplayError> {
        self.append(&[Entry::Done { done: key.to_owned() }])?;
        self.done.insert(key.to_owned());
        Ok(())
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), ReplayError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        if entries.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        for entry in entries {
            serde_json::to_writer(&mut lines, entry).expect("a state entry serialises");
            lines.push(b'\n');
        }
        file.write_all(&lines)
            .and_then(|()| file.sync_data())
            .map_err(|error| ReplayError::State(format!("{}: {error}", self.path.display())))
    }
}
