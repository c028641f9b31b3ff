//! How records are grouped into PutRecords calls and how long to wait between retries.

use crate::Limits;
use std::time::Duration;

/// A record's size as Kinesis counts it against the per-call limit: data plus partition key.
pub fn record_size(data: &[u8], partition_key: &str) -> usize {
    data.len() + partition_key.len()
}

/// Groups records (given as `(id, size)`, in order) into PutRecords calls of at most
/// `kinesis_max_records_per_call` records and `kinesis_max_bytes_per_call` bytes each.
pub fn plan_calls<I>(records: I, limits: &Limits) -> Vec<Vec<usize>>
where
    I: IntoIterator<Item = (usize, usize)>,
{
    let mut calls: Vec<Vec<usize>> = Vec::new();
    let mut call_bytes = 0;
    for (id, size) in records {
        let fits = calls.last().is_some_and(|call| {
            call.len() < limits.kinesis_max_records_per_call
                && call_bytes + size <= limits.kinesis_max_bytes_per_call
        });
        if !fits {
            calls.push(Vec::new());
            call_bytes = 0;
        }
        calls.last_mut().expect("a call was just pushed").push(id);
        call_bytes += size;
    }
    calls
}

/// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
/// Jitter"): spreads retries of throttled writers instead of synchronising them.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(50),
            cap: Duration::from_secs(2),
        }
    }
}

impl Backoff {
    /// The wait before retry number `attempt` (0 for the first retry).
    pub fn delay(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << attempt.min(16)).min(self.cap);
        ceiling.mul_f64(rng.f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_respect_both_limits() {
        let limits = Limits {
            kinesis_max_records_per_call: 3,
            kinesis_max_bytes_per_call: 100,
            ..Limits::default()
        };
        let calls = plan_calls([(0, 10), (1, 10), (2, 10), (3, 10), (4, 90), (5, 20)], &limits);
        assert_eq!(
            calls,
            vec![vec![0, 1, 2], vec![3, 4], vec![5]],
            "10 + 90 bytes fill a call exactly"
        );
        assert!(plan_calls(std::iter::empty(), &limits).is_empty());
    }

    #[test]
    fn five_hundred_records_per_call_by_default() {
        let calls = plan_calls((0..1001).map(|id| (id, 300)), &Limits::default());
        assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), vec![500, 500, 1]);
        let big = plan_calls((0..10).map(|id| (id, 1 << 20)), &Limits::default());
        assert_eq!(big.iter().map(Vec::len).collect::<Vec<_>>(), vec![5, 5]);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let backoff = Backoff::default();
        let mut rng = fastrand::Rng::with_seed(7);
        for attempt in 0..40 {
            let delay = backoff.delay(attempt, &mut rng);
            assert!(delay <= backoff.cap);
            assert!(delay <= backoff.base * 2u32.pow(attempt.min(16)));
        }
        let late: Duration = (0..100).map(|_| backoff.delay(10, &mut rng)).sum();
        let early: Duration = (0..100).map(|_| backoff.delay(0, &mut rng)).sum();
        assert!(late > early * 5, "{late:?} vs {early:?}");
    }
}
