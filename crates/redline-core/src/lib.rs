//! Pure domain logic for Redline: statistics, epoch reducers, metric summaries, frameworks,
//! scorecards and gates, and the time-horizon estimator.
//!
//! Nothing here does I/O, reads a clock or touches global state, so the same inputs always
//! give the same numbers. Every estimate carries its `n` and its interval.
//!
//! ```
//! use redline_core::{summarize, Reducer};
//! // Three samples, two epochs each: per-sample scores in epoch order.
//! let per_sample = vec![vec![1.0, 1.0], vec![0.0, 1.0], vec![0.0, 0.0]];
//! let summary = summarize(per_sample.iter().map(|s| s.as_slice()), Reducer::Mean, 0.95).unwrap();
//! assert_eq!(summary.n, 3);
//! assert!((summary.value - 0.5).abs() < 1e-12);
//! ```

pub mod agentic;
pub mod cluster;
pub mod exact;
pub mod framework;
pub mod metric;
pub mod paired;
pub mod reduce;
pub mod safety;
pub mod scorecard;
pub mod sequential;
pub mod stats;
pub mod time_horizon;

pub use metric::{estimate, estimate_with, summarize, Estimate, IntervalMethod, MetricError, SMALL_SAMPLE};
pub use reduce::{Reducer, ReducerParseError};
