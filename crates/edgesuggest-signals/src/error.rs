//! The one error type of the crate: each variant carries what is needed to say what went wrong
//! and how to fix it.

use std::path::PathBuf;

/// Why an aggregation (or one of its steps) failed. A failed run writes nothing.
#[derive(Debug, thiserror::Error)]
pub enum SignalsError {
    /// A file could not be opened, read or written.
    /// Its message holds what the operating system said, so it has no `source()`: a chain
    /// printed whole (`{:#}`) would say it twice.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file (or directory) concerned.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// A Parquet file is unreadable, lacks a column, has a column of the wrong type, or could
    /// not be written. The message names the file and the column.
    #[error("{0}")]
    Parquet(String),
    /// More bad lines than `--max-errors` allows.
    #[error(
        "{bad} bad line(s), more than --max-errors {max}; nothing was written and the state is \
         unchanged. Fix the lines reported above, or pass --max-errors {bad} to skip them"
    )]
    TooManyBadLines {
        /// Bad lines seen.
        bad: u64,
        /// The limit.
        max: u64,
    },
    /// A line of the exclude file is not a valid rule.
    #[error("{path}:{line}: {message}")]
    Exclude {
        /// The exclude file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong (the regex error).
        message: String,
    },
    /// An option value is out of its range.
    #[error("invalid {option} {value}: {expected}")]
    Option {
        /// The option, e.g. `--hysteresis`.
        option: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// The state was made with another half-life.
    #[error(
        "the state in {dir} was built with --half-life {recorded} ms, this run asks for \
         {requested} ms; decayed sums cannot be converted: use the same half-life, or start a \
         new state directory"
    )]
    HalfLife {
        /// The state directory.
        dir: PathBuf,
        /// Half-life recorded in the state.
        recorded: u64,
        /// Half-life asked for.
        requested: u64,
    },
    /// The state file is not one this build can read.
    #[error("{path}: {message}")]
    State {
        /// The state file.
        path: PathBuf,
        /// Why it cannot be used, and what to do.
        message: String,
    },
    /// Another run holds the state's lock.
    #[error(
        "{path} is locked: another `edgesuggest aggregate` is using this state; wait for it to \
         finish (two runs must never share a state)"
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// `report`: more bad lines than `--max-errors` allows.
    #[error(
        "{bad} bad line(s), more than --max-errors {max}; no report was made. Fix the lines \
         reported above, or pass --max-errors {bad} to skip them"
    )]
    BadReportLines {
        /// Bad lines seen.
        bad: u64,
        /// The limit.
        max: u64,
    },
    /// `report`: no event of the experiment (with an arm) in the inputs.
    #[error(
        "no events of experiment {experiment:?} with a \"variant\" in the inputs ({other} of \
         other experiments or none, {no_variant} of it without \"variant\"); experiments \
         seen: {seen}. Check --experiment and the inputs"
    )]
    NoExperimentEvents {
        /// The experiment asked for.
        experiment: String,
        /// Events of other experiments (or of none).
        other: u64,
        /// Events of the experiment without `variant`.
        no_variant: u64,
        /// A few experiment names seen instead.
        seen: String,
    },
    /// `report`: the control arm named has no events and is not configured.
    #[error(
        "control arm {control:?} is not among the arms of the experiment ({arms}); pass one of \
         them with --control"
    )]
    UnknownControl {
        /// The arm asked for.
        control: String,
        /// The arms there are.
        arms: String,
    },
    /// `report`: `--config` describes another experiment than `--experiment`.
    #[error(
        "--config is for experiment {config:?}, but --experiment is {asked:?}; pass the \
         configuration of {asked:?} (or drop --experiment to use {config:?})"
    )]
    ExperimentMismatch {
        /// The configuration's experiment.
        config: String,
        /// The experiment asked for.
        asked: String,
    },
    /// An input this build cannot read yet, or that is not a file.
    #[error("{path}: {message}")]
    Input {
        /// The input.
        path: PathBuf,
        /// Why, and what to do.
        message: String,
    },
}

impl SignalsError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        SignalsError::Io {
            path: path.into(),
            error,
        }
    }
}
