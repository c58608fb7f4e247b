//! Evals: what to ask ([`EvalSpec`], datasets, templates), how to judge the answers (scorers),
//! and the async [`runner`] that asks a model with bounded concurrency, retries and resume.
//!
//! ```no_run
//! # fn demo() -> Result<(), redline_eval::EvalError> {
//! let eval = redline_eval::Eval::load("suites/examples/arithmetic.toml".as_ref())?;
//! let scan = eval.scan_dataset(None)?;   // validates every row before anything runs
//! println!("{} samples, dataset sha256 {}", scan.samples, scan.sha256);
//! # Ok(()) }
//! ```

pub mod agent;
mod agent_sample;
mod dataset;
mod error;
pub mod games;
mod games_sample;
mod record;
pub mod refusal;
pub mod rubric;
pub mod runner;
mod scorer;
mod spec;
mod suite;
pub mod task;
mod template;
pub mod transform;

pub use dataset::{DatasetReader, DatasetScan, Sample, SampleInput};
pub use error::{DatasetError, EvalError};
pub use record::{SampleError, SampleRecord, ScoreRecord, Unscored};
pub use runner::{
    run_eval, Counters, EarlyStop, ErrorThreshold, ResponseCache, RunError, RunSettings, RunSummary,
    SequentialReport, SequentialTest,
};
pub use scorer::Scorer;
pub use spec::{DatasetFormat, Eval, EvalSpec, FieldMap, SolverKind};
pub use suite::Suite;
