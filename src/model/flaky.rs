//! Flaky jobs as data (`flaky` has the rule and the history): the builds seen and the jobs
//! flagged now. Part of the model because the snapshot carries the flaky set to the frame, the window,
//! the tray and the alerts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{JobId, JobState};

/// The most builds a flaky job lists as its last ones ([`FlakyJob::last`]).
pub const LAST_SHOWN: usize = 6;
/// A finished build's result as the flaky rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Failed,
    Passed,
}

impl Outcome {
    /// Failure and unstable fail, success passes; other states do not count.
    pub fn of(state: JobState) -> Option<Outcome> {
        match state {
            JobState::Failure | JobState::Unstable => Some(Outcome::Failed),
            JobState::Success => Some(Outcome::Passed),
            JobState::Aborted | JobState::NotBuilt | JobState::Disabled | JobState::Unknown => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Failed => "failed",
            Outcome::Passed => "passed",
        }
    }
}

/// One finished build: its number, when the engine saw it (epoch ms) and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub number: u64,
    pub at_ms: i64,
    pub outcome: Outcome,
}

/// A job flagged flaky, as the window, the tray, the alerts and the frame see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlakyJob {
    /// Flips within the window now.
    pub flips: u32,
    /// The last builds seen, newest first (at most [`LAST_SHOWN`]).
    pub last: Vec<Seen>,
}

/// Every flaky job now.
pub type FlakySet = BTreeMap<JobId, FlakyJob>;
