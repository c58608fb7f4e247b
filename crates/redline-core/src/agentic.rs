//! Agentic-task metrics: how success degrades with task length, in human minutes and in steps
//! (the autonomy suite's curves), each bucket with its Wilson interval.

use serde::Serialize;

use crate::stats::wilson;

/// One scored task attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskAttempt {
    pub human_minutes: f64,
    pub steps: Option<u32>,
    pub success: bool,
}

/// Success in one length bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// e.g. `"4-15 min"` or `"3-5 steps"`.
    pub label: String,
    /// Inclusive lower, exclusive upper bound (`None`: unbounded).
    pub from: f64,
    pub to: Option<f64>,
    pub n: u64,
    pub successes: u64,
    pub rate: f64,
    pub interval: (f64, f64),
}

/// METR's task-length bands, in minutes.
const MINUTE_EDGES: [f64; 7] = [0.0, 1.0, 4.0, 15.0, 60.0, 240.0, 960.0];
const STEP_EDGES: [f64; 5] = [1.0, 3.0, 6.0, 11.0, 21.0];

/// Success rate per band of human minutes (<1, 1–4, 4–15, 15–60, 60–240, 240–960, ≥960);
/// empty bands are left out.
pub fn by_minutes(attempts: &[TaskAttempt], level: f64) -> Vec<Bucket> {
    buckets(
        attempts.iter().map(|a| (a.human_minutes, a.success)),
        &MINUTE_EDGES,
        "min",
        level,
    )
}

/// Success rate per band of steps (1–2, 3–5, 6–10, 11–20, ≥21), over attempts that say.
pub fn by_steps(attempts: &[TaskAttempt], level: f64) -> Vec<Bucket> {
    buckets(
        attempts
            .iter()
            .filter_map(|a| a.steps.map(|s| (f64::from(s), a.success))),
        &STEP_EDGES,
        "steps",
        level,
    )
}

fn buckets(values: impl Iterator<Item = (f64, bool)>, edges: &[f64], unit: &str, level: f64) -> Vec<Bucket> {
    let mut counts = vec![(0u64, 0u64); edges.len()];
    for (v, success) in values {
        // The last band whose lower edge is at or below v; values below the first edge go in it.
        let i = edges.iter().rposition(|e| v >= *e).unwrap_or(0);
        counts[i].0 += 1;
        counts[i].1 += u64::from(success);
    }
    counts
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| *n > 0)
        .map(|(i, &(n, successes))| {
            let from = edges[i];
            let to = edges.get(i + 1).copied();
            let show = |x: f64| format!("{x}");
            let label = match to {
                Some(t) if unit == "steps" => format!("{}-{} {unit}", show(from), show(t - 1.0)),
                Some(t) => format!("{}-{} {unit}", show(from), show(t)),
                None => format!("≥{} {unit}", show(from)),
            };
            Bucket {
                label,
                from,
                to,
                n,
                successes,
                rate: successes as f64 / n as f64,
                interval: wilson(successes as f64, n, level),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(minutes: f64, steps: Option<u32>, success: bool) -> TaskAttempt {
        TaskAttempt {
            human_minutes: minutes,
            steps,
            success,
        }
    }

    #[test]
    fn bands_by_minutes_and_steps() {
        let attempts = [
            at(0.5, Some(1), true),
            at(2.0, Some(2), true),
            at(3.0, Some(4), false),
            at(30.0, Some(12), false),
            at(30.0, None, true),
            at(2000.0, Some(40), false),
        ];
        let m = by_minutes(&attempts, 0.95);
        let labels: Vec<_> = m.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["0-1 min", "1-4 min", "15-60 min", "≥960 min"]);
        assert_eq!((m[1].n, m[1].successes), (2, 1));
        assert_eq!(m[1].rate, 0.5);
        assert_eq!((m[2].n, m[2].successes), (2, 1));
        let s = by_steps(&attempts, 0.95);
        let labels: Vec<_> = s.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["1-2 steps", "3-5 steps", "11-20 steps", "≥21 steps"]);
        assert_eq!(
            s.iter().map(|b| b.n).sum::<u64>(),
            5,
            "the attempt without steps is left out"
        );
    }

    proptest! {
        #[test]
        fn every_attempt_lands_in_one_band_and_intervals_hold_the_rate(
            raw in proptest::collection::vec((0.01f64..5000.0, any::<bool>()), 1..60)
        ) {
            let attempts: Vec<_> = raw.iter().map(|&(m, s)| at(m, None, s)).collect();
            let bands = by_minutes(&attempts, 0.95);
            prop_assert_eq!(bands.iter().map(|b| b.n).sum::<u64>(), attempts.len() as u64);
            prop_assert_eq!(
                bands.iter().map(|b| b.successes).sum::<u64>(),
                attempts.iter().filter(|a| a.success).count() as u64
            );
            for b in bands {
                prop_assert!(b.interval.0 <= b.rate + 1e-12 && b.rate <= b.interval.1 + 1e-12);
            }
        }
    }
}
