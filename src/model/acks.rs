//! Acknowledgements as data ("I'm on it", `ack` has the rule, the store and the requests):
//! who is on which job, until when, with what note. Part of the model because the snapshot carries
//! them to the frame, the window and the tray.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::JobId;
use crate::text;

/// The longest an acknowledgement lasts, and the default: "until fixed, at most 24 h".
pub const MAX_FOR: Duration = Duration::from_secs(24 * 3600);
/// The most characters kept of who is on it.
pub const MAX_BY: usize = 40;
/// The most characters kept of the note.
pub const MAX_NOTE: usize = 200;
/// One acknowledgement: `by` is on `job` since `made_at`, until it is fixed or `until` passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub job: JobId,
    pub by: String,
    pub note: Option<String>,
    /// Unix seconds.
    pub made_at: i64,
    /// Unix seconds; the acknowledgement ends then if the job is not fixed before.
    pub until: i64,
}

impl Ack {
    /// Whether it still holds at `now` (Unix seconds), fix or not.
    pub fn active(&self, now: i64) -> bool {
        now < self.until
    }

    /// "on it: alice (looking at the flaky test)", on one line, hidden controls made visible, the name
    /// and the note cut to their caps: for the tray, the window and the CLI.
    pub fn on_it(&self) -> String {
        let by = text::truncate(&text::visible(&self.by), MAX_BY).into_owned();
        match self
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            Some(note) => format!(
                "on it: {by} ({})",
                text::truncate(&text::visible(note), MAX_NOTE)
            ),
            None => format!("on it: {by}"),
        }
    }

    /// "until fixed, at most 3 h 20 min more" at `now`.
    pub fn remaining(&self, now: i64) -> String {
        let left = u64::try_from(self.until.saturating_sub(now)).unwrap_or(0);
        format!("until fixed, at most {} more", human(left))
    }
}

/// "3 h 20 min", "12 min", "40 s".
fn human(secs: u64) -> String {
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    match (h, m) {
        (0, 0) => format!("{secs} s"),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Every acknowledgement, one per job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acks(BTreeMap<JobId, Ack>);

impl Acks {
    pub fn get(&self, job: &JobId) -> Option<&Ack> {
        self.0.get(job)
    }

    /// The acknowledgement of `job` if it holds at `now`.
    pub fn active(&self, job: &JobId, now: i64) -> Option<&Ack> {
        self.0.get(job).filter(|a| a.active(now))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Ack> {
        self.0.values()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `ack`, replacing the job's earlier one.
    pub fn insert(&mut self, ack: Ack) {
        self.0.insert(ack.job.clone(), ack);
    }

    pub fn remove(&mut self, job: &JobId) -> Option<Ack> {
        self.0.remove(job)
    }

    /// Makes `acks` the acknowledgements of `server`'s jobs (a relay's word for the jobs it relays);
    /// true when that changed anything. Acknowledgements of jobs of other servers are ignored.
    pub fn replace_server(&mut self, server: &str, acks: Vec<Ack>) -> bool {
        let before: Vec<Ack> = self
            .iter()
            .filter(|a| a.job.server == server)
            .cloned()
            .collect();
        let after: Vec<Ack> = {
            let mut kept: BTreeMap<JobId, Ack> = BTreeMap::new();
            for a in acks.into_iter().filter(|a| a.job.server == server) {
                kept.insert(a.job.clone(), a);
            }
            kept.into_values().collect()
        };
        if before == after {
            return false;
        }
        self.0.retain(|id, _| id.server != server);
        for a in after {
            self.insert(a);
        }
        true
    }
}

impl Ack {
    /// An acknowledgement from a file or a relay (hostile): `by` and the note capped to one line of
    /// [`MAX_BY`] and [`MAX_NOTE`] characters, `until` to at most [`MAX_FOR`] after `made_at`.
    pub fn capped(job: JobId, by: &str, note: Option<&str>, made_at: i64, until: i64) -> Ack {
        let most = i64::try_from(MAX_FOR.as_secs()).unwrap_or(i64::MAX);
        Ack {
            job,
            by: cap(by, MAX_BY),
            note: note.map(|n| cap(n, MAX_NOTE)).filter(|n| !n.is_empty()),
            made_at,
            until: until.min(made_at.saturating_add(most)),
        }
    }
}

/// Trimmed, on one line (controls and line breaks become spaces), at most `max` characters.
pub(crate) fn cap(text: &str, max: usize) -> String {
    let one_line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text::truncate(one_line.trim(), max).into_owned()
}
