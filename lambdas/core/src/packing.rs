//! Packing: several valid events of one request and one event type in one Kinesis record, as
//! NDJSON, so that a record fills the 5 KB Firehose bills per record (and the 1 KB increments of
//! Kinesis on-demand) instead of paying a whole increment for a 300-byte event. See
//! `docs/decisions.md`, "Packing".
//!
//! A record is the events' JSON texts, one per line, in request order: each as the validator
//! built it but for its line breaks, which valid JSON has only between tokens (a string holds
//! them escaped), so removing them changes no value. Its partition key is its first event's id. Its size, data plus partition key as Kinesis
//! counts it, stays within the target, except for an event that is larger on its own: it goes
//! alone (never past Kinesis' 1 MiB, which the validator's event limit already guarantees).
//! Events of one type only, because the transformer gives a record one set of partition keys.

use crate::validator::Outcome;
use std::borrow::Cow;

/// One Kinesis record on its way: its data, partition key, and the events (indices of the
/// request's outcomes) it carries, so Kinesis' answer for it is the answer for each of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedRecord<'a> {
    pub partition_key: &'a str,
    pub data: Cow<'a, [u8]>,
    pub events: Vec<usize>,
}

impl PackedRecord<'_> {
    /// The record's size as Kinesis counts it: data plus partition key.
    pub fn size(&self) -> usize {
        crate::kinesis::record_size(&self.data, self.partition_key)
    }
}

/// The records for the valid events of `outcomes`: with `target` (bytes), packed as described in
/// the module documentation; without, one record per event, its text as the validator built it.
/// Records are in the order of their first event.
pub fn pack(outcomes: &[Outcome], target: Option<usize>) -> Vec<PackedRecord<'_>> {
    let valid = outcomes
        .iter()
        .enumerate()
        .filter_map(|(index, outcome)| match outcome {
            Outcome::Valid {
                event_id,
                event_type,
                record,
            } => Some((index, event_id.as_str(), event_type.as_str(), record.as_slice())),
            Outcome::Rejected { .. } => None,
        });
    let Some(target) = target else {
        return valid
            .map(|(index, event_id, _, record)| PackedRecord {
                partition_key: event_id,
                data: Cow::Borrowed(record),
                events: vec![index],
            })
            .collect();
    };
    let mut records: Vec<PackedRecord<'_>> = Vec::new();
    // The record each event type is filling; a request has few types, so a list beats a map.
    let mut filling: Vec<(&str, usize)> = Vec::new();
    for (index, event_id, event_type, text) in valid {
        let line = one_line(text);
        let open = filling.iter_mut().find(|(open_type, _)| *open_type == event_type);
        match open {
            Some((_, open)) if records[*open].size() + 1 + line.len() <= target => {
                let record = &mut records[*open];
                let data = record.data.to_mut();
                data.push(b'\n');
                data.extend_from_slice(&line);
                record.events.push(index);
            }
            _ => {
                // An event that fills the target alone leaves the type's open record open.
                if crate::kinesis::record_size(&line, event_id) < target {
                    match open {
                        Some((_, open)) => *open = records.len(),
                        None => filling.push((event_type, records.len())),
                    }
                }
                // Borrowed until a second event joins: a record of one event is its text.
                records.push(PackedRecord {
                    partition_key: event_id,
                    data: line,
                    events: vec![index],
                });
            }
        }
    }
    records
}

/// Valid JSON `text` without its line breaks (`\n`, `\r`), which can only be whitespace between
/// tokens. Most events have none (the validator stores them compact): then `text` itself.
fn one_line(text: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr2(b'\n', b'\r', text).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = memchr::memchr2(b'\n', b'\r', rest) {
        out.extend_from_slice(&rest[..position]);
        rest = &rest[position + 1..];
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}
