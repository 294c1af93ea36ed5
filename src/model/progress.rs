//! Build progress: how far a running build is, from when it started and how long it is expected to take
//! (Jenkins' `estimatedDuration`; GitHub and GitLab: how long the run before it took). Pure: the time
//! is passed in, so the frame, the window and the tray all say the same for the same moment.
//!
//! Everything here comes from a server: a start in the future (clock skew) reads as just started, an
//! absurd estimate is capped at [`MAX_EXPECTED_MS`], and no arithmetic overflows.

use std::fmt;

use crate::model::Job;

/// The longest estimate believed (a week): beyond it the number is noise, and the build shows no
/// progress (it pulses, as one without an estimate).
pub const MAX_EXPECTED_MS: u64 = 7 * 24 * 3_600_000;

/// A running build's schedule: when it started and how long it should take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eta {
    /// Start time, epoch milliseconds (the server's clock).
    pub started_ms: i64,
    /// The expected duration, 1 ms to [`MAX_EXPECTED_MS`].
    pub expected_ms: u64,
}

impl Eta {
    /// The schedule of `job`'s running build: `None` unless it builds now, its running build has a
    /// start time and the server gave an estimate that can be believed.
    pub fn of(job: &Job) -> Option<Eta> {
        let build = job.last_build.as_ref()?;
        if !job.building || !build.building {
            return None;
        }
        Eta::new(build.timestamp_ms?, build.estimated_ms?)
    }

    /// A schedule from a start time and an expected duration; `None` for no estimate (0) or one past
    /// [`MAX_EXPECTED_MS`].
    pub fn new(started_ms: i64, expected_ms: u64) -> Option<Eta> {
        (1..=MAX_EXPECTED_MS).contains(&expected_ms).then_some(Eta {
            started_ms,
            expected_ms,
        })
    }

    /// When the build should be done, epoch milliseconds.
    pub fn due_ms(self) -> i64 {
        self.started_ms
            .saturating_add(i64::try_from(self.expected_ms).unwrap_or(i64::MAX))
    }

    /// How far along the build is at `now_ms`: 0.0 at its start (or before it: skew), 1.0 from its
    /// estimate on.
    pub fn fraction(self, now_ms: i64) -> f64 {
        let elapsed = now_ms.saturating_sub(self.started_ms).max(0);
        (elapsed as f64 / self.expected_ms as f64).clamp(0.0, 1.0)
    }

    /// Where the build is at `now_ms`, in words' terms.
    pub fn at(self, now_ms: i64) -> Progress {
        let due = self.due_ms();
        if now_ms > due {
            return Progress::Overdue {
                by_ms: u64::try_from(now_ms.saturating_sub(due)).unwrap_or(u64::MAX),
            };
        }
        let fraction = self.fraction(now_ms);
        Progress::Running {
            // Never "100 %" while it still runs.
            percent: ((fraction * 100.0).floor() as u8).min(99),
            left_ms: u64::try_from(due.saturating_sub(now_ms)).unwrap_or(0),
        }
    }

    /// Of two schedules, the one due last: a group of builds is "almost done" only when all are.
    pub fn later(self, other: Eta) -> Eta {
        if other.due_ms() > self.due_ms() {
            other
        } else {
            self
        }
    }
}

/// A running build's progress at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Not yet at its estimate: `percent` 0–99 of it done, `left_ms` to go.
    Running { percent: u8, left_ms: u64 },
    /// Past its estimate by `by_ms`.
    Overdue { by_ms: u64 },
}

impl fmt::Display for Progress {
    /// "62 %, about 3 min left", "95 %, less than a minute left", "overdue by 2 min".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Progress::Running { percent, left_ms } => {
                write!(f, "{percent} %, ")?;
                if left_ms < 60_000 {
                    write!(f, "less than a minute left")
                } else {
                    write!(f, "about {} left", minutes(left_ms))
                }
            }
            Progress::Overdue { by_ms } if by_ms < 60_000 => write!(f, "just overdue"),
            Progress::Overdue { by_ms } => write!(f, "overdue by {}", minutes(by_ms)),
        }
    }
}

/// A span of a minute or more to the nearest minute: "3 min", "1 h 5 min", "2 h".
fn minutes(ms: u64) -> String {
    let total = ms.saturating_add(30_000) / 60_000;
    match (total / 60, total % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::JobState;
    use crate::test_fixtures::job;

    const START: i64 = 1_764_000_000_000;
    const MIN: i64 = 60_000;

    fn eta(expected_min: i64) -> Eta {
        Eta::new(START, u64::try_from(expected_min * MIN).unwrap()).unwrap()
    }

    #[test]
    fn a_build_five_minutes_into_an_eight_minute_estimate_is_62_percent_with_about_3_min_left() {
        let p = eta(8).at(START + 5 * MIN);
        assert_eq!(
            p,
            Progress::Running {
                percent: 62,
                left_ms: 3 * 60_000
            }
        );
        assert_eq!(p.to_string(), "62 %, about 3 min left");
    }

    #[test]
    fn the_last_minute_and_the_time_past_the_estimate_read_as_people_say_them() {
        assert_eq!(
            eta(8).at(START + 7 * MIN + 40_000).to_string(),
            "95 %, less than a minute left"
        );
        assert_eq!(
            eta(8).at(START + 8 * MIN).to_string(),
            "99 %, less than a minute left"
        );
        assert_eq!(
            eta(8).at(START + 8 * MIN + 10_000).to_string(),
            "just overdue"
        );
        assert_eq!(eta(8).at(START + 10 * MIN).to_string(), "overdue by 2 min");
        assert_eq!(
            eta(8).at(START + 75 * MIN).to_string(),
            "overdue by 1 h 7 min"
        );
        assert_eq!(eta(180).at(START).to_string(), "0 %, about 3 h left");
    }

    #[test]
    fn the_fraction_rises_from_zero_to_one_and_a_start_in_the_future_is_zero() {
        let e = eta(10);
        assert_eq!(e.fraction(START - 5 * MIN), 0.0);
        assert_eq!(e.fraction(START), 0.0);
        assert!((e.fraction(START + 5 * MIN) - 0.5).abs() < 1e-9);
        assert_eq!(e.fraction(START + 30 * MIN), 1.0);
        assert_eq!(
            e.at(START - 5 * MIN),
            Progress::Running {
                percent: 0,
                left_ms: 15 * 60_000
            }
        );
    }

    #[test]
    fn no_estimate_an_absurd_one_or_extreme_times_give_no_schedule_and_never_overflow() {
        assert_eq!(Eta::new(START, 0), None);
        assert_eq!(Eta::new(START, MAX_EXPECTED_MS + 1), None);
        let late = Eta::new(i64::MAX - 5, MAX_EXPECTED_MS).unwrap();
        assert_eq!(late.due_ms(), i64::MAX);
        assert_eq!(late.fraction(i64::MIN), 0.0);
        let early = Eta::new(i64::MIN, 1).unwrap();
        assert_eq!(early.fraction(i64::MAX), 1.0);
        assert!(matches!(early.at(i64::MAX), Progress::Overdue { .. }));
    }

    #[test]
    fn only_a_running_build_with_a_start_and_an_estimate_has_a_schedule() {
        let mut running = job("ci", "api", JobState::Success).building();
        assert_eq!(Eta::of(&running), None, "no start time, no estimate");
        if let Some(b) = &mut running.last_build {
            b.timestamp_ms = Some(START);
            b.estimated_ms = Some(120_000);
        }
        assert_eq!(Eta::of(&running), Eta::new(START, 120_000));
        let mut done = running.clone();
        done.building = false;
        if let Some(b) = &mut done.last_build {
            b.building = false;
        }
        assert_eq!(Eta::of(&done), None, "a finished build has no progress");
    }

    #[test]
    fn of_two_schedules_the_later_one_is_kept() {
        let short = eta(2);
        let long = eta(20);
        assert_eq!(short.later(long), long);
        assert_eq!(long.later(short), long);
    }
}
