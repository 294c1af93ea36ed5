//! The pure alert policy: which [`Transition`]s become desktop notifications and sounds, and with what text.
//!
//! Rules (all time is passed in, nothing here sleeps or reads a clock):
//! - **One notification per kind per batch.** A batch is what one poll found. Three jobs breaking together
//!   make one "3 jobs broke" notification naming them (at most [`MAX_NAMES`] names, then "and N more");
//!   broke, still failing, fixed, server lost and server back each get at most one notification per batch.
//! - **At most one sound per batch**: "broke" wins over "fixed". Other kinds have no sound.
//! - **Flapping is rate-limited** per job (and per server for outages): at most [`RateLimit::max`] alerts
//!   about one subject in any sliding [`RateLimit::window`]. Further changes of that subject are suppressed
//!   and counted; the next alert about it, once the window allows one again, says how many were not shown.
//!   Only alerts that are actually delivered (shown or played) count against the limit.
//! - **Switches**: `[alerts]` per-kind switches pick which changes alert at all; `notifications` and
//!   `sounds` pick the channels. A runtime pause (the tray's "Pause notifications for 1 hour") silences
//!   notifications only; quiet hours silence both.
//! - Nothing is invented: an empty batch (such as the engine's start-up) gives nothing.
//! - **Names are hostile** (they come from the server): each is shown with its control characters made
//!   visible and cut to [`text::MAX_NAME`] ([`text::short`]), so titles, bodies and the log lines about
//!   them are plain, bounded text. Markup is escaped where it matters, at the daemon
//!   (`super::notify`).
//! - **Someone is on it**: a job acknowledged at that moment ([`crate::ack`]) alerts nothing when it breaks
//!   or fails again ([`crate::ack::without_acknowledged`], applied by the engine); its fix still alerts (and ends the acknowledgement).
//! - **Who broke it**: a job's line names who is behind the build when the server said
//!   ([`crate::model::Blame`]): "Build #12 of api on ci: failure — Mona: Fix the login test (#412)" alone,
//!   "api #12 (Mona)" in a list. That text comes from the server too: made visible and cut to
//!   [`MAX_BLAME`] (the name alone to [`text::MAX_NAME`]).
//! - **Flaky jobs** ([`crate::flaky`]): a flaky job's breaks, fixes and further failures make no
//!   notification and no sound of their own. They are held for one digest, "3 flaky jobs: api (4
//!   flips), …", a notification without sound, at most one every [`DIGEST_EVERY`]: the first as soon as a
//!   change is held, each next one a day after the previous one ([`AlertPolicy::digest`], which the
//!   worker asks after every batch and every minute). A change is held when its kind's switch is on; the
//!   digest waits out a pause and quiet hours, and is dropped while notifications are off.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::config::Alerts;
use crate::flaky::FlakySet;
use crate::model::{Blame, JobId, JobState, ServerState, Transition};
use crate::text;

/// The most job names one notification lists before "and N more".
pub const MAX_NAMES: usize = 5;

/// The most characters (the ellipsis included) of "who: what" in a notification.
pub const MAX_BLAME: usize = 100;

/// The least time between two digests of flaky jobs' changes.
pub const DIGEST_EVERY: Duration = Duration::from_secs(24 * 3600);

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    ServerLost,
    Broke,
    StillFailing,
    Fixed,
    ServerRecovered,
    /// The daily digest of flaky jobs' changes.
    FlakyDigest,
}

/// The two sounds (built in, or the user's files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SoundKind {
    Broke,
    Fixed,
}

/// One decided alert: a notification to show (if `notify`) and a sound to play (if `sound`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub kind: AlertKind,
    pub title: String,
    pub body: String,
    /// What clicking the notification opens: the build page (the first one for several jobs).
    pub url: Option<String>,
    /// Show a desktop notification.
    pub notify: bool,
    pub sound: Option<SoundKind>,
    /// The jobs the alert names, in its order (empty for servers): the sound of the first one with a
    /// slot sound is played ([`crate::config::Config::slot_sound`]).
    pub jobs: Vec<JobId>,
}

/// The time context of one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    pub now: Instant,
    /// Local time of day in minutes after midnight (0–1439), for quiet hours.
    pub minute_of_day: u16,
    /// Notifications are paused until then (the tray's pause); sounds are not.
    pub paused_until: Option<Instant>,
}

impl Moment {
    pub fn paused(&self) -> bool {
        self.paused_until.is_some_and(|until| self.now < until)
    }
}

/// The flapping limit: at most `max` alerts per job (or server) in any sliding `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: usize,
    pub window: Duration,
}

impl Default for RateLimit {
    /// 3 alerts per job in 30 minutes.
    fn default() -> Self {
        Self {
            max: 3,
            window: Duration::from_secs(30 * 60),
        }
    }
}

/// A change that was not alerted because its subject is flapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    /// The job (`server:path`) or `server <name>`.
    pub subject: String,
    /// True for the first suppressed change since the subject last alerted: worth one log line.
    pub first: bool,
    /// When an alert about the subject is allowed again (if nothing else happens).
    pub until: Instant,
}

/// What [`AlertPolicy::decide`] found in one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub alerts: Vec<Alert>,
    pub suppressed: Vec<Suppressed>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Job(JobId),
    Server(String),
}

impl Subject {
    /// For log lines: hidden controls made visible, the full name kept.
    fn label(&self) -> String {
        match self {
            Subject::Job(id) => text::visible(&id.to_string()).into_owned(),
            Subject::Server(name) => format!("server {}", text::visible(name)),
        }
    }
}

#[derive(Debug, Default)]
struct History {
    /// When alerts about the subject were delivered, oldest first, within the window.
    sent: VecDeque<Instant>,
    /// Changes suppressed since the last delivered alert.
    suppressed: u32,
}

/// The alert policy with its memory (the flapping history, the flaky digest). Pure: feed it batches and
/// moments.
#[derive(Debug, Default)]
pub struct AlertPolicy {
    limit: RateLimit,
    history: HashMap<Subject, History>,
    digest: Digest,
}

/// Flaky jobs' changes held for the next digest.
#[derive(Debug, Default)]
struct Digest {
    /// Job → (its name, flips as last known).
    held: BTreeMap<JobId, (String, u32)>,
    last_sent: Option<Instant>,
}

/// One line of a notification: a job or a server, plus what the rate limiter held back before it.
#[derive(Debug)]
struct Entry {
    name: String,
    detail: String,
    url: Option<String>,
    build: Option<u64>,
    job: Option<JobId>,
    /// Who is behind the build: "who: what" ([`MAX_BLAME`]) and the name alone ([`text::short`]).
    blame: Option<(String, String)>,
    held_back: u32,
}

impl AlertPolicy {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            history: HashMap::new(),
            digest: Digest::default(),
        }
    }

    /// Decides what one batch of transitions (one poll) alerts, with no job flaky. See the module docs
    /// for the rules.
    pub fn decide(&mut self, batch: &[Transition], at: &Moment, settings: &Alerts) -> Decision {
        self.decide_with_flaky(batch, &FlakySet::new(), at, settings)
    }

    /// [`decide`](Self::decide) with the `flaky` jobs' changes held for the [`digest`](Self::digest).
    pub fn decide_with_flaky(
        &mut self,
        batch: &[Transition],
        flaky: &FlakySet,
        at: &Moment,
        settings: &Alerts,
    ) -> Decision {
        for (id, (_, flips)) in &mut self.digest.held {
            if let Some(f) = flaky.get(id) {
                *flips = f.flips;
            }
        }
        for t in batch {
            let Some((kind, Subject::Job(id), entry)) = describe(t) else {
                continue;
            };
            let switch = match kind {
                AlertKind::Broke => settings.broke,
                AlertKind::Fixed => settings.fixed,
                AlertKind::StillFailing => settings.still_failing,
                _ => false,
            };
            if let Some(f) = flaky.get(&id).filter(|_| switch) {
                self.digest.held.insert(id, (entry.name, f.flips));
            }
        }
        let batch: Vec<&Transition> = batch
            .iter()
            .filter(|t| !flaky_job(t).is_some_and(|id| flaky.contains_key(id)))
            .collect();
        self.decide_now(&batch, at, settings)
    }

    /// The digest of the flaky jobs' changes held so far, when one is due (see the module docs); the
    /// held changes are then forgotten.
    pub fn digest(&mut self, at: &Moment, settings: &Alerts) -> Option<Alert> {
        if !settings.notifications {
            self.digest.held.clear();
            return None;
        }
        let quiet = settings
            .quiet_hours
            .is_some_and(|q| q.contains(at.minute_of_day));
        let due = self
            .digest
            .last_sent
            .is_none_or(|t| at.now.saturating_duration_since(t) >= DIGEST_EVERY);
        if self.digest.held.is_empty() || !due || quiet || at.paused() {
            return None;
        }
        self.digest.last_sent = Some(at.now);
        let held = std::mem::take(&mut self.digest.held);
        let n = held.len();
        let mut body = String::new();
        for (i, (name, flips)) in held.values().take(MAX_NAMES).enumerate() {
            if i > 0 {
                body.push_str(", ");
            }
            let s = if *flips == 1 { "" } else { "s" };
            let _ = write!(body, "{name} ({flips} flip{s})");
        }
        if n > MAX_NAMES {
            let _ = write!(body, ", and {} more", n - MAX_NAMES);
        }
        Some(Alert {
            kind: AlertKind::FlakyDigest,
            title: if n == 1 {
                "1 flaky job".to_owned()
            } else {
                format!("{n} flaky jobs")
            },
            body,
            url: None,
            notify: true,
            sound: None,
            jobs: held.into_keys().collect(),
        })
    }

    fn decide_now(&mut self, batch: &[&Transition], at: &Moment, settings: &Alerts) -> Decision {
        let quiet = settings
            .quiet_hours
            .is_some_and(|q| q.contains(at.minute_of_day));
        let notify = settings.notifications && !at.paused() && !quiet;
        let sound = settings.sounds && !quiet;
        self.forget_old(at.now);
        let mut decision = Decision::default();
        if !notify && !sound {
            return decision;
        }
        let wanted = |kind: AlertKind| {
            let switch = match kind {
                AlertKind::Broke => settings.broke,
                AlertKind::Fixed => settings.fixed,
                AlertKind::StillFailing => settings.still_failing,
                AlertKind::ServerLost | AlertKind::ServerRecovered => settings.server_outages,
                AlertKind::FlakyDigest => false,
            };
            switch && (notify || (sound && sound_of(kind).is_some()))
        };

        let mut groups: Vec<(AlertKind, Vec<Entry>)> = Vec::new();
        for &t in batch {
            let Some((kind, subject, entry)) = describe(t) else {
                continue;
            };
            if !wanted(kind) {
                continue;
            }
            match self.admit(&subject, at.now) {
                Ok(held_back) => {
                    let entry = Entry { held_back, ..entry };
                    match groups.iter_mut().find(|(k, _)| *k == kind) {
                        Some((_, entries)) => entries.push(entry),
                        None => groups.push((kind, vec![entry])),
                    }
                }
                Err(s) => decision.suppressed.push(s),
            }
        }
        groups.sort_by_key(|(kind, _)| *kind);
        let batch_sound = if sound {
            [SoundKind::Broke, SoundKind::Fixed]
                .into_iter()
                .find(|s| groups.iter().any(|(k, _)| sound_of(*k) == Some(*s)))
        } else {
            None
        };
        for (kind, entries) in groups {
            let (title, body) = text(kind, &entries);
            let sound = batch_sound.filter(|s| sound_of(kind) == Some(*s));
            if !notify && sound.is_none() {
                continue;
            }
            decision.alerts.push(Alert {
                kind,
                title,
                body,
                url: entries.iter().find_map(|e| e.url.clone()),
                notify,
                sound,
                jobs: entries.iter().filter_map(|e| e.job.clone()).collect(),
            });
        }
        decision
    }

    /// Lets an alert about `subject` through (returning how many were held back before it) or holds it
    /// back because the subject already alerted `max` times within the window.
    fn admit(&mut self, subject: &Subject, now: Instant) -> Result<u32, Suppressed> {
        let window = self.limit.window;
        let history = self.history.entry(subject.clone()).or_default();
        while history
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            history.sent.pop_front();
        }
        if history.sent.len() >= self.limit.max {
            history.suppressed += 1;
            let oldest = history.sent.front().copied().unwrap_or(now);
            return Err(Suppressed {
                subject: subject.label(),
                first: history.suppressed == 1,
                until: oldest + window,
            });
        }
        history.sent.push_back(now);
        Ok(std::mem::take(&mut history.suppressed))
    }

    /// Drops the history of subjects that have been quiet for a whole window (bounded memory).
    fn forget_old(&mut self, now: Instant) {
        let window = self.limit.window;
        self.history.retain(|_, h| {
            h.suppressed > 0
                || h.sent
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
        });
    }
}

fn sound_of(kind: AlertKind) -> Option<SoundKind> {
    match kind {
        AlertKind::Broke => Some(SoundKind::Broke),
        AlertKind::Fixed => Some(SoundKind::Fixed),
        AlertKind::StillFailing
        | AlertKind::ServerLost
        | AlertKind::ServerRecovered
        | AlertKind::FlakyDigest => None,
    }
}

/// The job a break, fix or further failure is about (the changes a flaky job's digest takes).
fn flaky_job(t: &Transition) -> Option<&JobId> {
    match t {
        Transition::Broke { job, .. }
        | Transition::Fixed { job, .. }
        | Transition::StillFailing { job, .. } => Some(job),
        _ => None,
    }
}

fn job_entry(
    job: &JobId,
    display_name: &str,
    build: Option<u64>,
    url: Option<&String>,
    state: JobState,
    blame: Option<&Blame>,
) -> Entry {
    let name = if display_name.is_empty() {
        text::short(&job.readable_name())
    } else {
        text::short(display_name)
    };
    let number = build.map_or_else(String::new, |n| format!(" #{n}"));
    Entry {
        name,
        detail: format!(
            "Build{number} of {} on {}: {state}",
            text::short(&job.readable_name()),
            text::short(&job.server)
        ),
        url: url.cloned(),
        build,
        job: Some(job.clone()),
        blame: blame.map(|b| {
            (
                text::truncate(&text::visible(&b.describe()), MAX_BLAME).into_owned(),
                text::short(&b.who),
            )
        }),
        held_back: 0,
    }
}

/// The kind, the rate-limit subject and the notification line of a transition that can alert.
fn describe(t: &Transition) -> Option<(AlertKind, Subject, Entry)> {
    let job = |kind, job: &JobId, entry| Some((kind, Subject::Job(job.clone()), entry));
    let server = |kind, name: &str, detail: String| {
        Some((
            kind,
            Subject::Server(name.to_owned()),
            Entry {
                name: text::short(name),
                detail: text::visible(&detail).into_owned(),
                url: None,
                build: None,
                job: None,
                blame: None,
                held_back: 0,
            },
        ))
    };
    match t {
        Transition::Broke {
            job: id,
            display_name,
            state,
            build,
            url,
            blame,
        } => job(
            AlertKind::Broke,
            id,
            job_entry(
                id,
                display_name,
                *build,
                url.as_ref(),
                *state,
                blame.as_ref(),
            ),
        ),
        Transition::StillFailing {
            job: id,
            display_name,
            state,
            build,
            url,
            blame,
        } => job(
            AlertKind::StillFailing,
            id,
            job_entry(
                id,
                display_name,
                *build,
                url.as_ref(),
                *state,
                blame.as_ref(),
            ),
        ),
        Transition::Fixed {
            job: id,
            display_name,
            build,
            url,
            blame,
        } => job(
            AlertKind::Fixed,
            id,
            job_entry(
                id,
                display_name,
                *build,
                url.as_ref(),
                JobState::Success,
                blame.as_ref(),
            ),
        ),
        Transition::ServerLost {
            server: name,
            state,
        } => server(AlertKind::ServerLost, name, describe_outage(state)),
        Transition::ServerRecovered { server: name } => server(
            AlertKind::ServerRecovered,
            name,
            "It answers again; job states are current.".to_owned(),
        ),
        Transition::StartedBuilding { .. }
        | Transition::Appeared { .. }
        | Transition::Disappeared { .. } => None,
    }
}

fn describe_outage(state: &ServerState) -> String {
    let mut s = state.to_string();
    if let Some(first) = s.get(..1) {
        let upper = first.to_uppercase();
        s.replace_range(..1, &upper);
    }
    s
}

fn held_back_note(n: u32) -> String {
    match n {
        0 => String::new(),
        1 => " (flapping: 1 earlier change not shown)".to_owned(),
        n => format!(" (flapping: {n} earlier changes not shown)"),
    }
}

/// Title and body of the one notification for `entries` of one kind.
fn text(kind: AlertKind, entries: &[Entry]) -> (String, String) {
    if let [one] = entries {
        let title = match kind {
            AlertKind::Broke => format!("{} broke", one.name),
            AlertKind::StillFailing => format!("{} is still failing", one.name),
            AlertKind::Fixed => format!("{} is fixed", one.name),
            AlertKind::ServerLost => format!("Lost Jenkins server {}", one.name),
            AlertKind::ServerRecovered => format!("Jenkins server {} is back", one.name),
            AlertKind::FlakyDigest => format!("1 flaky job: {}", one.name),
        };
        let blame = one
            .blame
            .as_ref()
            .map_or_else(String::new, |(line, _)| format!(" — {line}"));
        return (
            title,
            format!("{}{blame}{}", one.detail, held_back_note(one.held_back)),
        );
    }
    let n = entries.len();
    let title = match kind {
        AlertKind::Broke => format!("{n} jobs broke"),
        AlertKind::StillFailing => format!("{n} jobs still failing"),
        AlertKind::Fixed => format!("{n} jobs fixed"),
        AlertKind::ServerLost => format!("Lost {n} Jenkins servers"),
        AlertKind::ServerRecovered => format!("{n} Jenkins servers are back"),
        AlertKind::FlakyDigest => format!("{n} flaky jobs"),
    };
    let mut body = String::new();
    for (i, e) in entries.iter().take(MAX_NAMES).enumerate() {
        if i > 0 {
            body.push_str(if kind == AlertKind::ServerLost {
                "; "
            } else {
                ", "
            });
        }
        body.push_str(&e.name);
        if let Some(b) = e.build {
            let _ = write!(body, " #{b}");
        }
        if let Some((_, who)) = &e.blame {
            let _ = write!(body, " ({who})");
        }
        if kind == AlertKind::ServerLost {
            let _ = write!(body, ": {}", e.detail);
        }
        if e.held_back > 0 {
            let _ = write!(body, " (+{} not shown)", e.held_back);
        }
    }
    if n > MAX_NAMES {
        let _ = write!(body, ", and {} more", n - MAX_NAMES);
    }
    (title, body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::ack::without_acknowledged;
    use crate::config::QuietHours;

    #[test]
    fn an_acknowledged_job_alerts_nothing_until_fixed_or_expired_and_its_fix_still_alerts() {
        let mut acks = crate::ack::Acks::default();
        acks.insert(crate::ack::Ack {
            job: JobId::new("ci", "api"),
            by: "alice".into(),
            note: None,
            made_at: 1000,
            until: 2000,
        });
        let batch = vec![still("api", 8), broke("web", 3), fixed("lint", 4)];
        let kept = without_acknowledged(batch.clone(), &acks, 1500);
        assert_eq!(kept, vec![broke("web", 3), fixed("lint", 4)]);
        assert_eq!(
            without_acknowledged(batch.clone(), &acks, 2000),
            batch,
            "expired: it alerts again"
        );
        let fix = vec![fixed("api", 9)];
        assert_eq!(without_acknowledged(fix.clone(), &acks, 1500), fix);
        let mut s = Setup::new();
        let alerts = s.decide(0, &kept);
        assert!(alerts.iter().all(|a| !a.body.contains("api")), "{alerts:?}");
    }

    fn broke(name: &str, build: u64) -> Transition {
        Transition::Broke {
            job: JobId::new("ci", name),
            display_name: name.to_owned(),
            state: JobState::Failure,
            build: Some(build),
            url: Some(format!("http://ci/job/{name}/{build}/")),
            blame: None,
        }
    }

    fn fixed(name: &str, build: u64) -> Transition {
        Transition::Fixed {
            job: JobId::new("ci", name),
            display_name: name.to_owned(),
            build: Some(build),
            url: Some(format!("http://ci/job/{name}/{build}/")),
            blame: None,
        }
    }

    fn still(name: &str, build: u64) -> Transition {
        Transition::StillFailing {
            job: JobId::new("ci", name),
            display_name: name.to_owned(),
            state: JobState::Unstable,
            build: Some(build),
            url: None,
            blame: None,
        }
    }

    struct Setup {
        policy: AlertPolicy,
        start: Instant,
        settings: Alerts,
    }

    impl Setup {
        fn new() -> Self {
            Self {
                policy: AlertPolicy::default(),
                start: Instant::now(),
                settings: Alerts::default(),
            }
        }

        fn at(&self, seconds: u64, minute_of_day: u16) -> Moment {
            Moment {
                now: self.start + Duration::from_secs(seconds),
                minute_of_day,
                paused_until: None,
            }
        }

        /// Decides at `seconds` after the start, at noon.
        fn decide(&mut self, seconds: u64, batch: &[Transition]) -> Vec<Alert> {
            let at = self.at(seconds, 12 * 60);
            self.policy.decide(batch, &at, &self.settings).alerts
        }
    }

    #[test]
    fn nothing_in_gives_nothing_out() {
        let mut s = Setup::new();
        assert_eq!(s.decide(0, &[]), vec![]);
        let quiet = [
            Transition::StartedBuilding {
                job: JobId::new("ci", "a"),
                display_name: "a".into(),
                build: Some(1),
            },
            Transition::Appeared {
                job: JobId::new("ci", "b"),
            },
            Transition::Disappeared {
                job: JobId::new("ci", "c"),
            },
        ];
        assert_eq!(s.decide(1, &quiet), vec![]);
    }

    #[test]
    fn one_broken_job_names_job_and_build_and_links_the_build() {
        let mut s = Setup::new();
        let alerts = s.decide(0, &[broke("api", 12)]);
        assert_eq!(
            alerts,
            vec![Alert {
                kind: AlertKind::Broke,
                title: "api broke".into(),
                body: "Build #12 of api on ci: failure".into(),
                url: Some("http://ci/job/api/12/".into()),
                notify: true,
                sound: Some(SoundKind::Broke),
                jobs: vec![JobId::new("ci", "api")],
            }]
        );
    }

    fn flaky_set(jobs: &[(&str, u32)]) -> FlakySet {
        jobs.iter()
            .map(|(name, flips)| {
                let job = crate::flaky::FlakyJob {
                    flips: *flips,
                    last: Vec::new(),
                };
                (JobId::new("ci", name), job)
            })
            .collect()
    }

    impl Setup {
        fn decide_flaky(
            &mut self,
            seconds: u64,
            batch: &[Transition],
            flaky: &FlakySet,
        ) -> Vec<Alert> {
            let at = self.at(seconds, 12 * 60);
            self.policy
                .decide_with_flaky(batch, flaky, &at, &self.settings)
                .alerts
        }

        fn digest(&mut self, seconds: u64) -> Option<Alert> {
            let at = self.at(seconds, 12 * 60);
            self.policy.digest(&at, &self.settings)
        }
    }

    #[test]
    fn a_flaky_jobs_breaks_and_fixes_make_no_alert_of_their_own_but_one_digest() {
        let mut s = Setup::new();
        let flaky = flaky_set(&[("api", 4), ("web", 3)]);
        let alerts = s.decide_flaky(
            0,
            &[broke("api", 7), broke("db", 3), fixed("web", 9)],
            &flaky,
        );
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(
            alerts[0].title, "db broke",
            "the job that is not flaky alerts as ever"
        );
        let digest = s.digest(0).expect("the first digest goes at once");
        assert_eq!(digest.kind, AlertKind::FlakyDigest);
        assert_eq!(digest.title, "2 flaky jobs");
        assert_eq!(digest.body, "api (4 flips), web (3 flips)");
        assert_eq!(digest.sound, None, "a digest makes no sound");
        assert!(digest.notify);
        assert_eq!(
            digest.jobs,
            [JobId::new("ci", "api"), JobId::new("ci", "web")]
        );
        assert_eq!(s.digest(60), None, "nothing held since");
    }

    #[test]
    fn the_digest_comes_at_most_once_a_day_and_names_the_latest_flip_counts() {
        let mut s = Setup::new();
        let day = DIGEST_EVERY.as_secs();
        s.decide_flaky(0, &[broke("api", 7)], &flaky_set(&[("api", 3)]));
        assert!(s.digest(0).is_some());
        s.decide_flaky(600, &[fixed("api", 8)], &flaky_set(&[("api", 4)]));
        s.decide_flaky(1200, &[broke("api", 9)], &flaky_set(&[("api", 5)]));
        assert_eq!(
            s.digest(1200),
            None,
            "a digest went out less than a day ago"
        );
        assert_eq!(s.digest(day - 1), None);
        s.decide_flaky(day - 1, &[], &flaky_set(&[("api", 6)]));
        let digest = s.digest(day).expect("a day later");
        assert_eq!(digest.title, "1 flaky job");
        assert_eq!(
            digest.body, "api (6 flips)",
            "one line per job, its flips now"
        );
    }

    #[test]
    fn the_digest_waits_out_quiet_hours_and_a_pause_and_follows_the_switches() {
        let mut s = Setup::new();
        s.settings.quiet_hours = Some(QuietHours {
            start: 11 * 60,
            end: 13 * 60,
        });
        s.decide_flaky(0, &[broke("api", 7)], &flaky_set(&[("api", 3)]));
        assert_eq!(s.digest(0), None, "noon is quiet");
        s.settings.quiet_hours = None;
        let paused = Moment {
            paused_until: Some(s.start + Duration::from_secs(3600)),
            ..s.at(0, 12 * 60)
        };
        assert_eq!(s.policy.digest(&paused, &s.settings), None, "paused");
        assert!(s.digest(3600).is_some(), "held until both are over");

        let mut s = Setup::new();
        s.settings.fixed = false;
        s.decide_flaky(0, &[fixed("api", 8)], &flaky_set(&[("api", 3)]));
        assert_eq!(s.digest(0), None, "fixes do not alert: nothing held");
        s.settings.notifications = false;
        s.decide_flaky(0, &[broke("api", 9)], &flaky_set(&[("api", 3)]));
        assert_eq!(s.digest(0), None);
        s.settings.notifications = true;
        assert_eq!(s.digest(0), None, "dropped while notifications were off");
    }

    #[test]
    fn a_long_digest_names_a_few_jobs_and_counts_the_rest() {
        let mut s = Setup::new();
        let names: Vec<String> = (0..8).map(|i| format!("j{i}")).collect();
        let flaky: Vec<(&str, u32)> = names.iter().map(|n| (n.as_str(), 3)).collect();
        let batch: Vec<Transition> = names.iter().map(|n| broke(n, 1)).collect();
        assert!(s.decide_flaky(0, &batch, &flaky_set(&flaky)).is_empty());
        let digest = s.digest(0).unwrap();
        assert_eq!(digest.title, "8 flaky jobs");
        assert!(
            digest.body.ends_with("j4 (3 flips), and 3 more"),
            "{}",
            digest.body
        );
    }

    /// `t` (a break, a fix or a still failing build) with `who` and `what` behind it.
    fn by(mut t: Transition, who: &str, what: &str) -> Transition {
        if let Transition::Broke { blame, .. }
        | Transition::Fixed { blame, .. }
        | Transition::StillFailing { blame, .. } = &mut t
        {
            *blame = Some(Blame {
                who: who.into(),
                what: Some(what.into()),
            });
        }
        t
    }

    #[test]
    fn a_broken_job_says_who_is_behind_the_build() {
        let mut s = Setup::new();
        let alerts = s.decide(
            0,
            &[by(broke("api", 12), "Mona", "Fix the login test (#412)")],
        );
        assert_eq!(alerts[0].title, "api broke");
        assert_eq!(
            alerts[0].body,
            "Build #12 of api on ci: failure — Mona: Fix the login test (#412)"
        );
        let alerts = s.decide(
            1,
            &[by(
                fixed("web", 4),
                "Hubot",
                "Revert the flaky change\n\nLong text",
            )],
        );
        assert_eq!(
            alerts[0].body, "Build #4 of web on ci: success — Hubot: Revert the flaky change",
            "the first line of the change"
        );
    }

    #[test]
    fn a_list_of_jobs_names_who_is_behind_each_build() {
        let mut s = Setup::new();
        let alerts = s.decide(
            0,
            &[
                by(broke("api", 12), "Mona", "Fix the login test"),
                broke("web", 7),
            ],
        );
        assert_eq!(alerts[0].title, "2 jobs broke");
        assert_eq!(alerts[0].body, "api #12 (Mona), web #7");
    }

    #[test]
    fn a_hostile_blame_is_made_visible_and_cut() {
        let mut s = Setup::new();
        let who = "Mallory\u{202E}\x1b[2J";
        let what = format!("<b>{}</b>", "x".repeat(500));
        let alerts = s.decide(0, &[by(broke("api", 12), who, &what)]);
        let body = &alerts[0].body;
        let (_, blame) = body.split_once(" — ").unwrap();
        assert!(
            blame.starts_with("Mallory\u{FFFD}\u{FFFD}[2J: <b>xxx"),
            "{body}"
        );
        assert_eq!(blame.chars().count(), MAX_BLAME, "{body}");
        assert!(blame.ends_with(text::ELLIPSIS), "{body}");
        assert!(!body.chars().any(text::is_hidden_control), "{body:?}");
        let alerts = s.decide(
            1,
            &[by(broke("a", 1), &"M".repeat(500), "x"), broke("b", 1)],
        );
        let who_shown = alerts[0].body.split_once('(').unwrap().1;
        assert_eq!(
            who_shown.split_once(')').unwrap().0.chars().count(),
            text::MAX_NAME,
            "a name in a list is cut like a job name"
        );
    }

    #[test]
    fn three_jobs_breaking_in_one_batch_make_one_notification_naming_all() {
        let mut s = Setup::new();
        let alerts = s.decide(0, &[broke("api", 12), broke("web", 7), broke("docs", 3)]);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.title, "3 jobs broke");
        assert_eq!(a.body, "api #12, web #7, docs #3");
        assert_eq!(a.url.as_deref(), Some("http://ci/job/api/12/"));
        assert_eq!(a.sound, Some(SoundKind::Broke));
    }

    #[test]
    fn a_big_batch_lists_a_few_names_and_counts_the_rest() {
        let mut s = Setup::new();
        let batch: Vec<_> = (0..8).map(|i| broke(&format!("job{i}"), i + 1)).collect();
        let alerts = s.decide(0, &batch);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].title, "8 jobs broke");
        assert_eq!(
            alerts[0].body,
            "job0 #1, job1 #2, job2 #3, job3 #4, job4 #5, and 3 more"
        );
    }

    #[test]
    fn broke_and_fixed_in_one_batch_are_one_notification_each_and_one_sound() {
        let mut s = Setup::new();
        s.settings.still_failing = true;
        let alerts = s.decide(
            0,
            &[
                fixed("web", 8),
                broke("api", 12),
                still("docs", 4),
                broke("cli", 2),
            ],
        );
        let kinds: Vec<_> = alerts.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            vec![AlertKind::Broke, AlertKind::StillFailing, AlertKind::Fixed]
        );
        assert_eq!(alerts[0].title, "2 jobs broke");
        assert_eq!(alerts[1].title, "docs is still failing");
        assert_eq!(alerts[1].url, None);
        assert_eq!(alerts[2].title, "web is fixed");
        assert_eq!(alerts[2].body, "Build #8 of web on ci: success");
        let sounds: Vec<_> = alerts.iter().filter_map(|a| a.sound).collect();
        assert_eq!(sounds, vec![SoundKind::Broke], "one sound per batch");
    }

    #[test]
    fn only_fixed_plays_the_fixed_sound() {
        let mut s = Setup::new();
        let alerts = s.decide(0, &[fixed("web", 8)]);
        assert_eq!(alerts[0].sound, Some(SoundKind::Fixed));
    }

    #[test]
    fn a_server_outage_is_one_notification_and_its_recovery_one_more() {
        let mut s = Setup::new();
        let lost = s.decide(
            0,
            &[Transition::ServerLost {
                server: "ci".into(),
                state: ServerState::Unreachable("connection refused".into()),
            }],
        );
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].kind, AlertKind::ServerLost);
        assert_eq!(lost[0].title, "Lost Jenkins server ci");
        assert_eq!(lost[0].body, "Unreachable: connection refused");
        assert_eq!(lost[0].sound, None);
        let back = s.decide(
            60,
            &[Transition::ServerRecovered {
                server: "ci".into(),
            }],
        );
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].title, "Jenkins server ci is back");
        let two = s.decide(
            120,
            &[
                Transition::ServerLost {
                    server: "a".into(),
                    state: ServerState::TokenRejected,
                },
                Transition::ServerLost {
                    server: "b".into(),
                    state: ServerState::Unreachable("timeout".into()),
                },
            ],
        );
        assert_eq!(two.len(), 1);
        assert_eq!(two[0].title, "Lost 2 Jenkins servers");
        assert!(
            two[0].body.starts_with("a: Token rejected"),
            "{}",
            two[0].body
        );
        assert!(two[0].body.ends_with("; b: Unreachable: timeout"));
    }

    #[test]
    fn a_flapping_job_alerts_at_most_max_times_per_window_then_again_after_it() {
        let mut s = Setup::new();
        let limit = RateLimit::default();
        let mut shown = 0;
        let mut suppressed = Vec::new();
        // Broke/fixed every minute for 20 minutes: well within the 30-minute window.
        for minute in 0..20 {
            let t = if minute % 2 == 0 {
                broke("api", minute + 1)
            } else {
                fixed("api", minute + 1)
            };
            let at = s.at(minute * 60, 12 * 60);
            let d = s.policy.decide(&[t], &at, &s.settings);
            shown += d.alerts.len();
            suppressed.extend(d.suppressed);
        }
        assert_eq!(shown, limit.max);
        assert_eq!(suppressed.len(), 20 - limit.max);
        assert!(suppressed[0].first && suppressed[1..].iter().all(|s| !s.first));
        assert_eq!(suppressed[0].subject, "ci:api");
        assert_eq!(suppressed[0].until, s.start + limit.window);
        // Other jobs are not affected.
        assert_eq!(s.decide(20 * 60, &[broke("web", 1)]).len(), 1);
        // 30 minutes after the first alert, one slot is free again: the alert counts what was held back.
        let again = s.decide(30 * 60, &[broke("api", 31)]);
        assert_eq!(again.len(), 1);
        assert_eq!(
            again[0].body,
            "Build #31 of api on ci: failure (flapping: 17 earlier changes not shown)"
        );
        // The two other slots are still taken (alerts at 1 and 2 minutes): held back until then.
        assert_eq!(s.decide(30 * 60 + 10, &[fixed("api", 32)]), vec![]);
        assert_eq!(s.decide(31 * 60, &[broke("api", 33)]).len(), 1);
    }

    #[test]
    fn a_flapping_job_in_a_batch_is_counted_in_the_combined_notification() {
        let mut s = Setup::new();
        s.policy = AlertPolicy::new(RateLimit {
            max: 1,
            window: Duration::from_secs(600),
        });
        assert_eq!(s.decide(0, &[broke("api", 1)]).len(), 1);
        assert_eq!(s.decide(60, &[fixed("api", 2)]), vec![]);
        let a = s.decide(600, &[broke("api", 3), broke("web", 9)]);
        assert_eq!(a[0].body, "api #3 (+1 not shown), web #9");
    }

    #[test]
    fn an_outage_storm_is_rate_limited_per_server() {
        let mut s = Setup::new();
        let mut shown = 0;
        for i in 0..10 {
            let t = if i % 2 == 0 {
                Transition::ServerLost {
                    server: "ci".into(),
                    state: ServerState::Unreachable("x".into()),
                }
            } else {
                Transition::ServerRecovered {
                    server: "ci".into(),
                }
            };
            shown += s.decide(i * 10, &[t]).len();
        }
        assert_eq!(shown, RateLimit::default().max);
    }

    #[test]
    fn per_kind_switches_silence_their_kind_only() {
        let mut s = Setup::new();
        let batch = [
            broke("api", 1),
            fixed("web", 2),
            still("docs", 3),
            Transition::ServerRecovered {
                server: "other".into(),
            },
        ];
        let kinds = |s: &mut Setup, t: u64| -> Vec<AlertKind> {
            s.decide(t, &batch).iter().map(|a| a.kind).collect()
        };
        assert_eq!(
            kinds(&mut s, 0),
            vec![
                AlertKind::Broke,
                AlertKind::Fixed,
                AlertKind::ServerRecovered
            ],
            "still failing is off by default"
        );
        s.settings.broke = false;
        s.settings.server_outages = false;
        s.settings.still_failing = true;
        let a = s.decide(1, &batch);
        let got: Vec<_> = a.iter().map(|a| a.kind).collect();
        assert_eq!(got, vec![AlertKind::StillFailing, AlertKind::Fixed]);
        assert_eq!(a[1].sound, Some(SoundKind::Fixed));
        s.settings.fixed = false;
        s.settings.still_failing = false;
        assert_eq!(s.decide(2, &batch), vec![]);
    }

    #[test]
    fn master_switches_pick_the_channels() {
        let mut s = Setup::new();
        s.settings.sounds = false;
        let a = s.decide(0, &[broke("api", 1)]);
        assert!(a[0].notify);
        assert_eq!(a[0].sound, None);

        s.settings.sounds = true;
        s.settings.notifications = false;
        let a = s.decide(1, &[broke("web", 1), still("docs", 2)]);
        assert_eq!(a.len(), 1, "{a:?}");
        assert!(!a[0].notify);
        assert_eq!(a[0].sound, Some(SoundKind::Broke));
        // A server outage has no sound: with notifications off there is nothing to do.
        let lost = Transition::ServerLost {
            server: "ci".into(),
            state: ServerState::AuthNeeded,
        };
        assert_eq!(s.decide(2, std::slice::from_ref(&lost)), vec![]);

        s.settings.sounds = false;
        assert_eq!(s.decide(3, &[broke("cli", 1), lost]), vec![]);
    }

    #[test]
    fn a_pause_silences_notifications_until_it_ends_but_not_sounds() {
        let mut s = Setup::new();
        let until = s.start + Duration::from_secs(3600);
        let mut at = s.at(60, 12 * 60);
        at.paused_until = Some(until);
        let a = s.policy.decide(&[broke("api", 1)], &at, &s.settings);
        assert_eq!(a.alerts.len(), 1);
        assert!(!a.alerts[0].notify);
        assert_eq!(a.alerts[0].sound, Some(SoundKind::Broke));

        s.settings.sounds = false;
        assert_eq!(
            s.policy.decide(&[broke("web", 1)], &at, &s.settings).alerts,
            vec![]
        );
        let mut later = s.at(3600, 12 * 60);
        later.paused_until = Some(until);
        let a = s.policy.decide(&[broke("docs", 1)], &later, &s.settings);
        assert!(a.alerts[0].notify, "the pause is over at `until`");
    }

    #[test]
    fn quiet_hours_silence_notifications_and_sounds_even_across_midnight() {
        let mut s = Setup::new();
        s.settings.quiet_hours = Some("22:00-07:00".parse::<QuietHours>().unwrap());
        for (minute, silent) in [
            (21 * 60 + 59, false),
            (22 * 60, true),
            (23 * 60 + 30, true),
            (0, true),
            (3 * 60, true),
            (6 * 60 + 59, true),
            (7 * 60, false),
            (12 * 60, false),
        ] {
            let at = s.at(u64::from(minute) * 100, minute);
            let name = format!("job-{minute}");
            let d = s.policy.decide(&[broke(&name, 1)], &at, &s.settings);
            assert_eq!(d.alerts.is_empty(), silent, "at minute {minute}");
        }
    }

    #[test]
    fn silenced_alerts_do_not_count_against_the_flapping_limit() {
        let mut s = Setup::new();
        s.settings.notifications = false;
        s.settings.sounds = false;
        for i in 0..10 {
            assert_eq!(s.decide(i, &[broke("api", i + 1)]), vec![]);
        }
        s.settings = Alerts::default();
        assert_eq!(s.decide(20, &[fixed("api", 20)]).len(), 1);
    }

    #[test]
    fn old_history_is_forgotten() {
        let mut s = Setup::new();
        for i in 0..100 {
            s.decide(i, &[broke(&format!("job{i}"), 1)]);
        }
        assert_eq!(s.policy.history.len(), 100);
        s.decide(100 + 30 * 60, &[]);
        assert_eq!(s.policy.history.len(), 0);
    }

    #[test]
    fn a_hostile_job_name_is_shown_visible_and_cut_in_title_body_and_flapping_subject() {
        let mut s = Setup::new();
        s.policy = AlertPolicy::new(RateLimit {
            max: 1,
            window: Duration::from_secs(600),
        });
        let hostile = format!("\x1b]0;evil\x07\u{202E}{}", "n".repeat(500));
        let alerts = s.decide(0, &[broke(&hostile, 1)]);
        let a = &alerts[0];
        // Ten characters before the n's, the ellipsis last.
        let shown = format!(
            "\u{FFFD}]0;evil\u{FFFD}\u{FFFD}{}…",
            "n".repeat(text::MAX_NAME - 11)
        );
        assert_eq!(a.title, format!("{shown} broke"));
        assert_eq!(a.body, format!("Build #1 of {shown} on ci: failure"));
        let two = s.decide(1, &[broke("web", 1), fixed(&hostile, 2)]);
        assert!(two.iter().all(|a| !a.title.contains('\x1b')));
        let d = s
            .policy
            .decide(&[broke(&hostile, 3)], &s.at(2, 12 * 60), &s.settings);
        let subject = &d.suppressed[0].subject;
        assert!(
            subject.starts_with("ci:\u{FFFD}]0;evil\u{FFFD}\u{FFFD}nnn"),
            "{subject}"
        );
        assert!(!subject.chars().any(text::is_hidden_control));
    }

    #[test]
    fn several_hostile_names_in_one_notification_are_each_cut() {
        let mut s = Setup::new();
        let long = "x".repeat(500);
        let alerts = s.decide(0, &[broke(&long, 1), broke("a\nforged line", 2)]);
        let cut = format!("{}…", "x".repeat(text::MAX_NAME - 1));
        assert_eq!(alerts[0].body, format!("{cut} #1, a\u{FFFD}forged line #2"));
    }

    #[test]
    fn markup_in_a_name_stays_plain_text_in_the_alert() {
        // The alert is plain text (logs show it as is); `notify` escapes it for the daemon.
        let mut s = Setup::new();
        let a = s.decide(0, &[broke("<b>x</b>", 1)]);
        assert_eq!(a[0].title, "<b>x</b> broke");
        assert_eq!(a[0].body, "Build #1 of <b>x</b> on ci: failure");
    }
}
