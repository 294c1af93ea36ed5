//! Flaky jobs: which jobs flip between failure and success often enough to be called flaky. Pure (time is
//! passed in, as epoch milliseconds), except [`History::load`] and [`History::save`], which the engine's
//! thread calls for `flaky.json` in the state folder ([`crate::state::state_file`]).
//!
//! Rules:
//! - **What counts.** Each job keeps the finished builds the engine saw, by build number (a poll may skip
//!   builds; the same number seen twice is one build, its latest result kept). A failed or unstable
//!   build counts as *failed*, a successful one as *passed*; aborted and not-built builds are left out
//!   (a cancelled build says nothing about the code), as are builds without a number.
//! - **A flip** is a change between failed and passed from one build to the next one seen (by number);
//!   it happens when the later build was seen.
//! - **Flaky** is a job with at least [`Rule::flips`] flips within the last [`Rule::window`] (default 3
//!   in 24 h, `[alerts] flaky_flips` and `flaky_window`). It keeps the flag until it stays green for a
//!   whole window: its last build passed and no build failed since the window began.
//! - **Bounded.** At most [`MAX_BUILDS`] builds per job (the oldest go first) and [`MAX_JOBS`] jobs (the
//!   one seen least recently goes first); a job that is not flaky and saw no build for two windows is
//!   forgotten. Build numbers come from a server: any `u64`, compared, never summed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Alerts;
pub use crate::model::flaky::{FlakyJob, FlakySet, LAST_SHOWN, Outcome, Seen};
use crate::model::{JobId, JobState, Transition};
use crate::state::Unusable;

/// The most builds remembered per job.
pub const MAX_BUILDS: usize = 32;
/// The most jobs remembered.
pub const MAX_JOBS: usize = 2000;
/// The biggest `flaky.json` read (about what [`MAX_JOBS`] × [`MAX_BUILDS`] takes, twice over).
pub const MAX_FILE: u64 = 16 << 20;

/// The flaky rule: `flips` flips within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub flips: u32,
    pub window: Duration,
}

impl Rule {
    /// The rule `[alerts]` sets.
    pub fn of(alerts: &Alerts) -> Rule {
        Rule {
            flips: alerts.flaky_flips.0,
            window: alerts.flaky_window.0,
        }
    }

    fn window_ms(self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX)
    }
}

impl Default for Rule {
    fn default() -> Self {
        Rule::of(&Alerts::default())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct JobHistory {
    /// By number, oldest first, each number once.
    builds: Vec<Seen>,
    flagged: bool,
}

impl JobHistory {
    fn record(&mut self, seen: Seen) {
        match self.builds.binary_search_by_key(&seen.number, |b| b.number) {
            Ok(i) => {
                if let Some(b) = self.builds.get_mut(i) {
                    b.outcome = seen.outcome;
                }
            }
            Err(i) => self.builds.insert(i, seen),
        }
        if self.builds.len() > MAX_BUILDS {
            let extra = self.builds.len() - MAX_BUILDS;
            self.builds.drain(..extra);
        }
    }

    fn flips(&self, now_ms: i64, rule: Rule) -> u32 {
        let since = now_ms.saturating_sub(rule.window_ms());
        let flips = self
            .builds
            .windows(2)
            .filter(|w| matches!(w, [a, b] if a.outcome != b.outcome && b.at_ms >= since))
            .count();
        u32::try_from(flips).unwrap_or(u32::MAX)
    }

    /// Green for the whole window: the last build passed and none failed since the window began.
    fn green_for_window(&self, now_ms: i64, rule: Rule) -> bool {
        let since = now_ms.saturating_sub(rule.window_ms());
        let last_passed = self
            .builds
            .last()
            .is_some_and(|b| b.outcome == Outcome::Passed);
        // The first pass after the last failure (or the first build at all) starts the green spell.
        let green_from = self
            .builds
            .iter()
            .rposition(|b| b.outcome == Outcome::Failed)
            .map_or(0, |i| i + 1);
        let green_since = self.builds.get(green_from).map(|b| b.at_ms);
        last_passed && green_since.is_some_and(|t| t <= since)
    }

    fn newest_at(&self) -> i64 {
        self.builds
            .iter()
            .map(|b| b.at_ms)
            .max()
            .unwrap_or(i64::MIN)
    }
}

/// Every job's recent builds and flags. See the module docs for the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    jobs: BTreeMap<JobId, JobHistory>,
}

/// Reading or writing `flaky.json` failed.
#[derive(Debug, thiserror::Error)]
pub enum FlakyError {
    #[error("cannot read the flaky-job history {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the flaky-job history {path} is not valid ({why}); it was moved to {aside} and ledtogo \
         starts a new one (delete the old one when you do not need it)"
    )]
    Corrupt {
        path: PathBuf,
        aside: PathBuf,
        why: String,
    },
    #[error(
        "the flaky-job history {path} is not valid ({why}) and could not be moved aside ({source}); \
         delete it, ledtogo writes it anew"
    )]
    CorruptStuck {
        path: PathBuf,
        why: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot keep the flaky-job history in {path}: {source} (is the state folder writable?); \
         it lives on in memory until ledtogo stops"
    )]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `flaky.json` as written.
#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    jobs: Vec<FileJob>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileJob {
    server: String,
    path: Vec<String>,
    #[serde(default)]
    flaky: bool,
    builds: Vec<Seen>,
}

const FILE_VERSION: u32 = 1;

impl History {
    /// Records one finished build of `job` seen at `at_ms`.
    pub fn record(&mut self, job: &JobId, number: u64, outcome: Outcome, at_ms: i64) {
        if !self.jobs.contains_key(job) && self.jobs.len() >= MAX_JOBS {
            let oldest = self
                .jobs
                .iter()
                .min_by_key(|(_, h)| h.newest_at())
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.jobs.remove(&oldest);
            }
        }
        self.jobs.entry(job.clone()).or_default().record(Seen {
            number,
            at_ms,
            outcome,
        });
    }

    /// Records the finished builds one poll's transitions report (broke, still failing, fixed); returns
    /// whether any was recorded.
    pub fn record_transitions(&mut self, transitions: &[Transition], at_ms: i64) -> bool {
        let mut recorded = false;
        for t in transitions {
            let (job, state, build) = match t {
                Transition::Broke {
                    job, state, build, ..
                }
                | Transition::StillFailing {
                    job, state, build, ..
                } => (job, *state, *build),
                Transition::Fixed { job, build, .. } => (job, JobState::Success, *build),
                _ => continue,
            };
            if let (Some(number), Some(outcome)) = (build, Outcome::of(state)) {
                self.record(job, number, outcome, at_ms);
                recorded = true;
            }
        }
        recorded
    }

    /// Sets and clears the flags for `now_ms` and forgets what the rule no longer needs; returns whether
    /// a flag changed.
    pub fn update(&mut self, now_ms: i64, rule: Rule) -> bool {
        let mut changed = false;
        for h in self.jobs.values_mut() {
            let flaky = if h.flips(now_ms, rule) >= rule.flips {
                true
            } else {
                h.flagged && !h.green_for_window(now_ms, rule)
            };
            changed |= flaky != h.flagged;
            h.flagged = flaky;
        }
        let forget_before = now_ms.saturating_sub(rule.window_ms().saturating_mul(2));
        self.jobs
            .retain(|_, h| h.flagged || h.newest_at() >= forget_before);
        changed
    }

    /// The flaky jobs (as of the last [`update`](Self::update)) with their flips at `now_ms`.
    pub fn flaky(&self, now_ms: i64, rule: Rule) -> FlakySet {
        self.jobs
            .iter()
            .filter(|(_, h)| h.flagged)
            .map(|(id, h)| {
                let last = h.builds.iter().rev().take(LAST_SHOWN).copied().collect();
                (
                    id.clone(),
                    FlakyJob {
                        flips: h.flips(now_ms, rule),
                        last,
                    },
                )
            })
            .collect()
    }

    /// The history in `path`: empty when there is none; a file that cannot be read is an error; one
    /// that is not a valid history is moved aside (`flaky.json.bad`) and reported, and the history
    /// starts empty.
    pub fn load(path: &Path) -> Result<History, FlakyError> {
        let read = crate::state::read_json::<File>(path, MAX_FILE, |f| {
            if f.version == FILE_VERSION {
                Ok(())
            } else {
                Err(format!("version {}, not {FILE_VERSION}", f.version))
            }
        });
        match read {
            Ok(None) => Ok(History::default()),
            Ok(Some(file)) => Ok(History::from_file(file)),
            Err(Unusable::Read(source)) => Err(FlakyError::Read {
                path: path.to_path_buf(),
                source,
            }),
            Err(Unusable::Corrupt { reason, aside }) => Err(FlakyError::Corrupt {
                path: path.to_path_buf(),
                aside,
                why: reason,
            }),
            Err(Unusable::Stuck { reason, error }) => Err(FlakyError::CorruptStuck {
                path: path.to_path_buf(),
                why: reason,
                source: error,
            }),
        }
    }

    fn from_file(file: File) -> History {
        let mut history = History::default();
        for job in file.jobs.into_iter().take(MAX_JOBS) {
            let id = JobId {
                server: job.server,
                path: job.path,
            };
            let mut h = JobHistory {
                builds: Vec::new(),
                flagged: job.flaky,
            };
            for seen in job.builds {
                h.record(seen);
            }
            history.jobs.insert(id, h);
        }
        history
    }

    /// Writes the history to `path` atomically (a crash leaves the old file or the new one).
    pub fn save(&self, path: &Path) -> Result<(), FlakyError> {
        let file = File {
            version: FILE_VERSION,
            jobs: self
                .jobs
                .iter()
                .map(|(id, h)| FileJob {
                    server: id.server.clone(),
                    path: id.path.clone(),
                    flaky: h.flagged,
                    builds: h.builds.clone(),
                })
                .collect(),
        };
        let write = || -> std::io::Result<()> {
            let text = serde_json::to_string(&file).map_err(std::io::Error::other)?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            crate::config::write_atomic(path, text.as_bytes())
        };
        write().map_err(|source| FlakyError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn api() -> JobId {
        JobId::new("ci", "team/api")
    }

    /// Records `results` (`F` failed, `P` passed) as builds 1, 2, … of `job`, one an hour from `start`.
    fn builds(h: &mut History, job: &JobId, start: i64, results: &str) {
        for (i, c) in results.chars().enumerate() {
            let outcome = if c == 'F' {
                Outcome::Failed
            } else {
                Outcome::Passed
            };
            let i = i as i64;
            h.record(job, i as u64 + 1, outcome, start + i * HOUR);
        }
    }

    fn flaky_now(h: &mut History, now: i64) -> FlakySet {
        h.update(now, Rule::default());
        h.flaky(now, Rule::default())
    }

    #[test]
    fn three_flips_within_a_day_make_a_job_flaky_and_two_do_not() {
        let mut h = History::default();
        builds(&mut h, &api(), 0, "PFP");
        assert!(flaky_now(&mut h, 3 * HOUR).is_empty(), "two flips");
        h.record(&api(), 4, Outcome::Failed, 3 * HOUR);
        let set = flaky_now(&mut h, 3 * HOUR);
        let job = set.get(&api()).expect("three flips: flaky");
        assert_eq!(job.flips, 3);
        assert_eq!(
            job.last.iter().map(|b| b.number).collect::<Vec<_>>(),
            [4, 3, 2, 1],
            "newest first"
        );
        assert_eq!(job.last[0].outcome, Outcome::Failed);
    }

    #[test]
    fn flips_older_than_the_window_do_not_count() {
        let mut h = History::default();
        builds(&mut h, &api(), 0, "PFPF");
        // Builds 2–4 flipped at hours 1, 2 and 3: a day after hour 1, only two are left.
        assert!(flaky_now(&mut h, 24 * HOUR).contains_key(&api()));
        let mut fresh = History::default();
        builds(&mut fresh, &api(), 0, "PFPF");
        assert!(flaky_now(&mut fresh, 24 * HOUR + HOUR + 1).is_empty());
    }

    #[test]
    fn a_steadily_failing_or_passing_job_is_not_flaky() {
        let mut h = History::default();
        builds(&mut h, &api(), 0, "PFFFFFFF");
        builds(&mut h, &JobId::new("ci", "web"), 0, "PPPPPPPP");
        assert!(flaky_now(&mut h, 8 * HOUR).is_empty());
    }

    #[test]
    fn the_rule_takes_its_flips_and_window_from_the_config() {
        let mut h = History::default();
        builds(&mut h, &api(), 0, "PFPF");
        let strict = Rule {
            flips: 4,
            window: Duration::from_secs(24 * 3600),
        };
        h.update(4 * HOUR, strict);
        assert!(h.flaky(4 * HOUR, strict).is_empty(), "3 flips, 4 wanted");
        let short = Rule {
            flips: 2,
            window: Duration::from_secs(90 * 60),
        };
        h.update(3 * HOUR, short);
        assert_eq!(h.flaky(3 * HOUR, short)[&api()].flips, 2, "hours 2 and 3");
    }

    #[test]
    fn the_same_build_seen_twice_is_one_build_and_skipped_builds_do_not_matter() {
        let mut h = History::default();
        for (number, outcome) in [
            (10, Outcome::Passed),
            (10, Outcome::Passed),
            (12, Outcome::Failed),
            (12, Outcome::Failed),
            (15, Outcome::Passed),
            (15, Outcome::Passed),
        ] {
            h.record(&api(), number, outcome, HOUR);
        }
        assert!(
            flaky_now(&mut h, HOUR).is_empty(),
            "two flips, seen twice each"
        );
        h.record(&api(), 16, Outcome::Failed, HOUR);
        let set = flaky_now(&mut h, HOUR);
        assert_eq!(set[&api()].flips, 3);
        assert_eq!(set[&api()].last.len(), 4, "10, 12, 15, 16: each once");
    }

    #[test]
    fn a_late_report_of_an_older_build_takes_its_place_by_number() {
        let mut h = History::default();
        h.record(&api(), 3, Outcome::Failed, HOUR);
        h.record(&api(), 1, Outcome::Failed, HOUR);
        h.record(&api(), 2, Outcome::Passed, HOUR);
        // By number: F P F — two flips, not one.
        let two = Rule {
            flips: 2,
            ..Rule::default()
        };
        h.update(HOUR, two);
        assert_eq!(h.flaky(HOUR, two)[&api()].flips, 2);
    }

    #[test]
    fn a_flaky_job_keeps_the_flag_until_it_stays_green_for_the_window() {
        let mut h = History::default();
        builds(&mut h, &api(), 0, "PFPFP"); // 4 flips, last pass at hour 4
        assert!(flaky_now(&mut h, 4 * HOUR).contains_key(&api()));
        // Failing again a little later: still flaky (no green spell), though the flips age.
        h.record(&api(), 6, Outcome::Failed, 10 * HOUR);
        assert!(flaky_now(&mut h, 30 * HOUR).contains_key(&api()));
        h.record(&api(), 7, Outcome::Passed, 31 * HOUR);
        h.record(&api(), 8, Outcome::Passed, 40 * HOUR);
        assert!(
            flaky_now(&mut h, 31 * HOUR + 23 * HOUR).contains_key(&api()),
            "green for 23 h only"
        );
        let set = flaky_now(&mut h, 31 * HOUR + 24 * HOUR);
        assert!(set.is_empty(), "green for a whole day: {set:?}");
    }

    #[test]
    fn unstable_counts_as_failed_and_aborted_is_left_out() {
        assert_eq!(Outcome::of(JobState::Unstable), Some(Outcome::Failed));
        assert_eq!(Outcome::of(JobState::Failure), Some(Outcome::Failed));
        assert_eq!(Outcome::of(JobState::Success), Some(Outcome::Passed));
        assert_eq!(Outcome::of(JobState::Aborted), None);
        assert_eq!(Outcome::of(JobState::NotBuilt), None);
    }

    #[test]
    fn transitions_with_a_build_number_are_recorded() {
        let t = |build: Option<u64>, state: JobState| Transition::Broke {
            job: api(),
            display_name: "api".into(),
            state,
            build,
            url: None,
            blame: None,
        };
        let fixed = |build| Transition::Fixed {
            job: api(),
            display_name: "api".into(),
            build: Some(build),
            url: None,
            blame: None,
        };
        let mut h = History::default();
        assert!(!h.record_transitions(&[t(None, JobState::Failure)], 0));
        assert!(h.record_transitions(&[t(Some(1), JobState::Unstable)], 0));
        assert!(h.record_transitions(&[fixed(2)], HOUR));
        assert!(h.record_transitions(&[t(Some(3), JobState::Failure)], 2 * HOUR));
        assert!(h.record_transitions(&[fixed(4)], 3 * HOUR));
        assert_eq!(flaky_now(&mut h, 3 * HOUR)[&api()].flips, 3);
    }

    #[test]
    fn history_is_bounded_per_job_and_in_jobs_and_hostile_numbers_are_just_numbers() {
        let mut h = History::default();
        for n in 0..(MAX_BUILDS as u64 + 10) {
            h.record(&api(), u64::MAX - n, Outcome::Passed, 0);
        }
        assert_eq!(h.jobs[&api()].builds.len(), MAX_BUILDS);
        assert_eq!(
            h.jobs[&api()].builds.last().unwrap().number,
            u64::MAX,
            "the newest numbers stay"
        );
        for i in 0..(MAX_JOBS as i64 + 5) {
            h.record(&JobId::new("ci", &format!("j{i}")), 1, Outcome::Failed, i);
        }
        assert_eq!(h.jobs.len(), MAX_JOBS);
        assert!(!h.jobs.contains_key(&api()), "seen least recently: gone");
    }

    #[test]
    fn a_quiet_job_that_is_not_flaky_is_forgotten_after_two_windows() {
        let mut h = History::default();
        builds(&mut h, &api(), 0, "PF");
        h.update(48 * HOUR, Rule::default());
        assert!(h.jobs.contains_key(&api()));
        h.update(50 * HOUR, Rule::default());
        assert!(!h.jobs.contains_key(&api()));
    }

    #[test]
    fn the_history_survives_a_restart_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("flaky.json");
        let mut h = History::default();
        builds(&mut h, &api(), 0, "PFPF");
        h.update(3 * HOUR, Rule::default());
        h.save(&path).unwrap();
        let back = History::load(&path).unwrap();
        assert_eq!(back, h);
        assert!(back.flaky(3 * HOUR, Rule::default()).contains_key(&api()));
        assert_eq!(
            History::load(&dir.path().join("none.json")).unwrap(),
            History::default()
        );
    }

    #[test]
    fn a_corrupt_file_is_reported_with_its_path_and_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flaky.json");
        std::fs::write(&path, "{\"version\": 1, \"jobs\": [oops").unwrap();
        let e = History::load(&path).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains("flaky.json.bad"),
            "{msg}"
        );
        assert!(!path.exists());
        assert!(dir.path().join("flaky.json.bad").exists());
        assert_eq!(History::load(&path).unwrap(), History::default());
        std::fs::write(&path, "{\"version\": 9, \"jobs\": []}").unwrap();
        assert!(
            History::load(&path)
                .unwrap_err()
                .to_string()
                .contains("version 9")
        );
    }
}
