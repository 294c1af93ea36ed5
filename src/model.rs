//! The pure model: job states, server states, snapshots, aggregates and transitions.
//!
//! Nothing here does I/O. The poller turns Jenkins answers into [`ServerSnapshot`]s, the engine keeps the
//! latest [`Snapshot`], and [`transitions`] compares two snapshots to find what alerts care about.

pub mod acks;
pub mod flaky;
pub mod progress;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// The result a job shows, from its Jenkins `color` (the last *finished* build while a new one runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    Success,
    Unstable,
    Failure,
    Aborted,
    NotBuilt,
    Disabled,
    Unknown,
}

impl JobState {
    /// Parses a Jenkins `color` value: `red`, `blue_anime`, … Returns the state and whether a build runs.
    /// Values this version does not know (a plugin's colour, an old `green`) map to [`JobState::Unknown`].
    pub fn from_color(color: &str) -> (JobState, bool) {
        let (base, building) = match color.strip_suffix("_anime") {
            Some(base) => (base, true),
            None => (color, false),
        };
        let state = match base {
            "blue" => JobState::Success,
            "yellow" => JobState::Unstable,
            "red" => JobState::Failure,
            "aborted" => JobState::Aborted,
            "notbuilt" => JobState::NotBuilt,
            "disabled" => JobState::Disabled,
            _ => JobState::Unknown,
        };
        (state, building)
    }

    /// Parses a build `result` (`SUCCESS`, `UNSTABLE`, …); `None` for anything else.
    pub fn from_result(result: &str) -> Option<JobState> {
        Some(match result {
            "SUCCESS" => JobState::Success,
            "UNSTABLE" => JobState::Unstable,
            "FAILURE" => JobState::Failure,
            "ABORTED" => JobState::Aborted,
            "NOT_BUILT" => JobState::NotBuilt,
            _ => return None,
        })
    }

    /// True for the states that count as "broken" for alerts.
    pub fn is_broken(self) -> bool {
        matches!(self, JobState::Failure | JobState::Unstable)
    }

    pub fn label(self) -> &'static str {
        match self {
            JobState::Success => "success",
            JobState::Unstable => "unstable",
            JobState::Failure => "failure",
            JobState::Aborted => "aborted",
            JobState::NotBuilt => "not built",
            JobState::Disabled => "disabled",
            JobState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A job's identity: the server (source) name plus the full name path, segments exactly as Jenkins names
/// them (multibranch branches keep their `%2F`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId {
    pub server: String,
    pub path: Vec<String>,
}

impl JobId {
    pub fn new(server: impl Into<String>, full_name: &str) -> Self {
        Self {
            server: server.into(),
            path: split_full_name(full_name),
        }
    }

    /// The Jenkins `fullName`: segments joined with `/`.
    pub fn full_name(&self) -> String {
        self.path.join("/")
    }

    /// The full name for people: segments percent-decoded (`repo/feature%2Fx` → `repo/feature/x`).
    pub fn readable_name(&self) -> String {
        self.path
            .iter()
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.server, self.full_name())
    }
}

/// Splits a `fullName` like `team-a/api` into its segments, ignoring empty ones (a stray `/`).
pub fn split_full_name(full_name: &str) -> Vec<String> {
    full_name
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The last build as Jenkins reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub number: u64,
    /// `None` while running (or for an unknown value).
    pub result: Option<JobState>,
    pub building: bool,
    /// Start time, epoch milliseconds.
    pub timestamp_ms: Option<i64>,
    /// How long this build is expected to take, milliseconds (Jenkins' `estimatedDuration`; GitHub and
    /// GitLab: how long the run before it took): with `timestamp_ms`, a running build's progress
    /// ([`progress::Eta`]). `None` when the server gives none.
    pub estimated_ms: Option<u64>,
    /// The page of the finished build whose result the job shows, when the server gives it (GitHub's
    /// run, GitLab's pipeline, a cctray `webUrl`); Jenkins' is `{job url}{number}/`.
    pub url: Option<String>,
    /// Who is behind the build `url` names (the finished one whose result the job shows) and with what
    /// change: GitHub's actor and head commit, GitLab's user and commit, for Jenkins the poller's one
    /// follow-up request when the job breaks (the sources' `Source::blame`); cctray names nobody.
    pub blame: Option<Blame>,
}

/// Who is behind a build: a person and the first line of their change ("Mona: Fix the login test").
/// Both come from a server: shown through `text::visible`/escaping like every server text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blame {
    pub who: String,
    pub what: Option<String>,
}

impl Blame {
    /// `who: what` (or `who`), on one line.
    pub fn describe(&self) -> String {
        match self.what.as_deref().and_then(|w| w.lines().next()) {
            Some(what) if !what.trim().is_empty() => format!("{}: {}", self.who, what.trim()),
            _ => self.who.clone(),
        }
    }
}

/// One job as of one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    /// Decoded, human name (Jenkins `displayName`, falling back to the name).
    pub display_name: String,
    /// The job page in a browser.
    pub url: String,
    /// The last finished result (from `color`).
    pub state: JobState,
    pub building: bool,
    pub last_build: Option<Build>,
}

/// Whether a source could be read on its last poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerState {
    /// Never polled yet.
    Connecting,
    Ok,
    /// Network error, timeout, HTTP error or an answer that is not Jenkins JSON.
    Unreachable(String),
    /// Jenkins answered 403 to a request without (valid) credentials.
    AuthNeeded,
    /// Jenkins answered 401: the user/token pair was refused.
    TokenRejected,
}

impl ServerState {
    pub fn is_ok(&self) -> bool {
        matches!(self, ServerState::Ok)
    }
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerState::Connecting => f.write_str("connecting"),
            ServerState::Ok => f.write_str("ok"),
            ServerState::Unreachable(reason) => write!(f, "unreachable: {reason}"),
            ServerState::AuthNeeded => {
                f.write_str("authentication needed (set `user` and a token for this server)")
            }
            ServerState::TokenRejected => {
                f.write_str("token rejected (check the user name and API token)")
            }
        }
    }
}

/// Everything known about one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSnapshot {
    pub state: ServerState,
    /// The last known jobs, by full name path. Kept through outages and refusals (then shown stale) and
    /// through a [`restart`](Self::restart).
    pub jobs: BTreeMap<Vec<String>, Job>,
    /// True once one poll has succeeded: before that there is nothing to compare against.
    pub seen_ok: bool,
    /// `X-Jenkins` header of the last good answer.
    pub version: Option<String>,
}

impl ServerSnapshot {
    pub fn new() -> Self {
        Self {
            state: ServerState::Connecting,
            jobs: BTreeMap::new(),
            seen_ok: false,
            version: None,
        }
    }

    /// Jobs are stale whenever the last poll did not succeed.
    pub fn stale(&self) -> bool {
        !self.state.is_ok()
    }

    /// Starts over for a new poller of the same jobs (its token or interval changed): the last known jobs
    /// stay, stale until the new poller's first answer, and there is nothing to compare that answer
    /// against (no transitions from what the old settings saw).
    pub fn restart(&mut self) {
        self.state = ServerState::Connecting;
        self.seen_ok = false;
    }
}

impl Default for ServerSnapshot {
    fn default() -> Self {
        Self::new()
    }
}

/// Every source's latest state: what the frame, the tray and the window are drawn from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub servers: BTreeMap<String, ServerSnapshot>,
    /// Who is on which failing job ("I'm on it"): kept by the engine, live ones only (see `ack`).
    pub acks: acks::Acks,
    /// The jobs flagged flaky now (`flaky`), kept by the engine from the builds it saw.
    pub flaky: flaky::FlakySet,
}

/// A job's state as shown: the last result plus the two overlays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobStatus {
    pub state: JobState,
    pub building: bool,
    pub stale: bool,
    /// Someone is on it (`ack`): its LED calms down; it still counts as broken.
    pub acknowledged: bool,
    /// Flagged flaky ([`Snapshot::flaky`]).
    pub flaky: bool,
    /// The running build's schedule, when it has one ([`progress::Eta::of`]).
    pub eta: Option<progress::Eta>,
}

impl Snapshot {
    pub fn job(&self, id: &JobId) -> Option<&Job> {
        self.servers.get(&id.server)?.jobs.get(&id.path)
    }

    pub fn status(&self, id: &JobId) -> Option<JobStatus> {
        let server = self.servers.get(&id.server)?;
        let job = server.jobs.get(&id.path)?;
        Some(JobStatus {
            state: job.state,
            building: job.building,
            stale: server.stale(),
            acknowledged: self.acks.get(id).is_some(),
            flaky: self.flaky.contains_key(id),
            eta: progress::Eta::of(job),
        })
    }

    /// The jobs `target` covers, in path order. This is the one rule for every LED, the tube and the tray:
    /// - [`Target::Job`]: the job with exactly that path, if its server lists it;
    /// - [`Target::Folder`]: every job of the server under the folder, by whole segments (`f` covers `f/x`
    ///   and `f/g/y`, not `fx`);
    /// - [`Target::Server`]: every job of the server.
    ///
    /// A server the snapshot does not know covers nothing.
    pub fn jobs_of(&self, target: &Target) -> impl Iterator<Item = &Job> {
        let jobs = self.servers.get(target.server()).map(|s| &s.jobs);
        let (exact, under) = match target {
            Target::Job(id) => (jobs.and_then(|jobs| jobs.get(&id.path)), None),
            Target::Folder { path, .. } => (None, jobs.map(|jobs| (jobs, path.as_slice()))),
            Target::Server(_) => (None, jobs.map(|jobs| (jobs, &[][..]))),
        };
        let under = under.into_iter().flat_map(|(jobs, prefix)| {
            jobs.iter()
                .filter(move |(path, _)| path.starts_with(prefix))
                .map(|(_, job)| job)
        });
        exact.into_iter().chain(under)
    }

    /// The targets `scope` stands for: its own, or one [`Target::Server`] per known server for
    /// [`Scope::All`]. The jobs it covers are the [`jobs_of`](Self::jobs_of) each.
    pub fn targets_in<'t>(&self, scope: &Scope<'t>) -> Vec<Cow<'t, Target>> {
        match scope {
            Scope::All => self
                .servers
                .keys()
                .map(|name| Cow::Owned(Target::Server(name.clone())))
                .collect(),
            Scope::Targets(targets) => targets.iter().map(|&t| Cow::Borrowed(t)).collect(),
        }
    }
}

/// Which jobs an aggregate (the tube, the tray) covers; see [`Snapshot::targets_in`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every job of every server.
    All,
    /// The jobs behind these targets (a job behind two of them is behind both).
    Targets(Vec<&'a Target>),
}

/// How bad a state is, for aggregates and the tray icon. The derived order **is** the documented order,
/// best first:
///
/// `NoJobs < Disabled < NotBuilt < Success < Aborted < Unknown < Stale < Unstable < Failure`
///
/// A stale job (its server is unreachable or refuses us) ranks above every "fine" state, so an aggregate
/// containing it never looks like success; a known failure elsewhere still wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    NoJobs,
    Disabled,
    NotBuilt,
    Success,
    Aborted,
    Unknown,
    Stale,
    Unstable,
    Failure,
}

impl Severity {
    pub fn of(status: JobStatus) -> Severity {
        if status.stale {
            return Severity::Stale;
        }
        match status.state {
            JobState::Success => Severity::Success,
            JobState::Unstable => Severity::Unstable,
            JobState::Failure => Severity::Failure,
            JobState::Aborted => Severity::Aborted,
            JobState::NotBuilt => Severity::NotBuilt,
            JobState::Disabled => Severity::Disabled,
            JobState::Unknown => Severity::Unknown,
        }
    }
}

/// The worst state of a set of jobs, plus whether any of them is building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregate {
    pub severity: Severity,
    pub building: bool,
    pub count: usize,
    /// Every job at the worst severity is acknowledged (someone is on each of them).
    pub acknowledged: bool,
    /// Every job at the worst severity is flaky: "it is only the flaky ones" (false with no jobs).
    pub flaky: bool,
    /// The schedule of the building jobs' build due last, when every building job has one (a group
    /// is "almost done" only when all its builds are); `None` when nothing builds or one builds with
    /// no estimate.
    pub eta: Option<progress::Eta>,
}

impl Aggregate {
    pub fn of(statuses: impl IntoIterator<Item = JobStatus>) -> Aggregate {
        let start = Aggregate {
            severity: Severity::NoJobs,
            building: false,
            count: 0,
            acknowledged: false,
            flaky: false,
            eta: None,
        };
        // The second value: a building job without a schedule was seen (no group schedule then).
        let (agg, unscheduled) =
            statuses
                .into_iter()
                .fold((start, false), |(acc, unscheduled), s| {
                    let severity = Severity::of(s);
                    let unscheduled = unscheduled || (s.building && s.eta.is_none());
                    let eta = match (acc.eta, s.eta.filter(|_| s.building)) {
                        (Some(a), Some(b)) => Some(a.later(b)),
                        (a, b) => a.or(b),
                    };
                    let agg = Aggregate {
                        severity: acc.severity.max(severity),
                        building: acc.building || s.building,
                        count: acc.count + 1,
                        acknowledged: match severity.cmp(&acc.severity) {
                            std::cmp::Ordering::Greater => s.acknowledged,
                            std::cmp::Ordering::Equal => acc.acknowledged && s.acknowledged,
                            std::cmp::Ordering::Less => acc.acknowledged,
                        },
                        flaky: match severity.cmp(&acc.severity) {
                            std::cmp::Ordering::Greater => s.flaky,
                            std::cmp::Ordering::Equal => acc.flaky && s.flaky,
                            std::cmp::Ordering::Less => acc.flaky,
                        },
                        eta,
                    };
                    (agg, unscheduled)
                });
        Aggregate {
            eta: agg.eta.filter(|_| !unscheduled),
            ..agg
        }
    }
}

/// What changed between two snapshots, for notifications and sounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// A build finished broken after the job was fine.
    Broke {
        job: JobId,
        display_name: String,
        state: JobState,
        build: Option<u64>,
        /// The build's page (the job's page when the build number is unknown).
        url: Option<String>,
        /// Who is behind the build, when the server said ([`Build::blame`] of the job's last build).
        blame: Option<Blame>,
    },
    /// A build finished fine after the job was broken.
    Fixed {
        job: JobId,
        display_name: String,
        build: Option<u64>,
        /// The build's page (the job's page when the build number is unknown).
        url: Option<String>,
        /// Who is behind the build, when the server said ([`Build::blame`] of the job's last build).
        blame: Option<Blame>,
    },
    /// A new build finished and the job is still broken.
    StillFailing {
        job: JobId,
        display_name: String,
        state: JobState,
        build: Option<u64>,
        /// The build's page (the job's page when the build number is unknown).
        url: Option<String>,
        /// Who is behind the build, when the server said ([`Build::blame`] of the job's last build).
        blame: Option<Blame>,
    },
    StartedBuilding {
        job: JobId,
        display_name: String,
        build: Option<u64>,
    },
    Appeared {
        job: JobId,
    },
    Disappeared {
        job: JobId,
    },
    /// A source stopped answering (one event for the whole server, not one per job).
    ServerLost {
        server: String,
        state: ServerState,
    },
    ServerRecovered {
        server: String,
    },
}

/// Compares two snapshots. Rules:
/// - a server with no successful poll before `new` yields nothing for its jobs (no storm on start-up);
/// - a server going from ok to failing yields exactly one [`Transition::ServerLost`], none per job;
/// - a finished build is detected by its build number, so a build shorter than the poll interval is
///   still reported (`StillFailing` for red → red with a new number).
pub fn transitions(old: &Snapshot, new: &Snapshot) -> Vec<Transition> {
    let mut out = Vec::new();
    for (name, now) in &new.servers {
        let before = old.servers.get(name);
        let was_ok = before.is_some_and(|b| b.state.is_ok());
        match (&now.state, was_ok) {
            (ServerState::Ok, false) if before.is_some_and(|b| b.seen_ok) => {
                out.push(Transition::ServerRecovered {
                    server: name.clone(),
                });
            }
            (ServerState::Ok, _) | (ServerState::Connecting, _) => {}
            (state, true) => out.push(Transition::ServerLost {
                server: name.clone(),
                state: state.clone(),
            }),
            (_, false) => {}
        }
        let Some(before) = before.filter(|b| b.seen_ok) else {
            continue;
        };
        if !now.state.is_ok() {
            continue;
        }
        for (path, job) in &now.jobs {
            match before.jobs.get(path) {
                Some(prev) => job_transitions(prev, job, &mut out),
                None => out.push(Transition::Appeared {
                    job: job.id.clone(),
                }),
            }
        }
        for (path, prev) in &before.jobs {
            if !now.jobs.contains_key(path) {
                out.push(Transition::Disappeared {
                    job: prev.id.clone(),
                });
            }
        }
    }
    out
}

fn job_transitions(prev: &Job, now: &Job, out: &mut Vec<Transition>) {
    let prev_number = prev.last_build.as_ref().map(|b| b.number);
    let now_number = now.last_build.as_ref().map(|b| b.number);
    let new_build = now_number > prev_number;
    let display_name = || now.display_name.clone();

    if now.building && (!prev.building || new_build) {
        out.push(Transition::StartedBuilding {
            job: now.id.clone(),
            display_name: display_name(),
            build: now_number,
        });
    }
    // A build finished since the last poll: the shown result changed, or a new number came with a result.
    let finished = !now.building && (prev.building || new_build);
    let changed = prev.state != now.state;
    if !(finished || changed) {
        return;
    }
    let build = finished_build(now);
    let url = now
        .last_build
        .as_ref()
        .and_then(|b| b.url.clone())
        .or_else(|| build_url(&now.url, build));
    let blame = now.last_build.as_ref().and_then(|b| b.blame.clone());
    match (prev.state.is_broken(), now.state.is_broken()) {
        (false, true) => {
            out.push(Transition::Broke {
                job: now.id.clone(),
                display_name: display_name(),
                state: now.state,
                build,
                url,
                blame,
            });
        }
        (true, false) if now.state == JobState::Success => out.push(Transition::Fixed {
            job: now.id.clone(),
            display_name: display_name(),
            build,
            url,
            blame,
        }),
        (true, true) => out.push(Transition::StillFailing {
            job: now.id.clone(),
            display_name: display_name(),
            state: now.state,
            build,
            url,
            blame,
        }),
        _ => {}
    }
}

/// The number of the build whose result `job.state` shows: the last build's, or while a build runs (when
/// `color` is the previous result) the one before it. `None` without a build.
pub fn finished_build(job: &Job) -> Option<u64> {
    let number = job.last_build.as_ref().map(|b| b.number)?;
    Some(if job.building {
        number.saturating_sub(1)
    } else {
        number
    })
}

/// Whether the change from `prev` to `now` (one job, two polls) is a break worth asking "who broke it"
/// for: [`transitions`] would report it as [`Transition::Broke`] or [`Transition::StillFailing`] (a new
/// broken build). A steady job, a build starting or a fix never is.
pub fn wants_blame(prev: &Job, now: &Job) -> bool {
    let mut out = Vec::new();
    job_transitions(prev, now, &mut out);
    out.iter().any(|t| {
        matches!(
            t,
            Transition::Broke { .. } | Transition::StillFailing { .. }
        )
    })
}

/// A build's page: `{job_url}{number}/`; the job's page without a number; `None` without a job URL.
pub fn build_url(job_url: &str, build: Option<u64>) -> Option<String> {
    if job_url.is_empty() {
        return None;
    }
    let slash = if job_url.ends_with('/') { "" } else { "/" };
    Some(match build {
        Some(n) => format!("{job_url}{slash}{n}/"),
        None => job_url.to_owned(),
    })
}

/// What an LED shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Job(JobId),
    /// The worst state of every job under a folder.
    Folder {
        server: String,
        path: Vec<String>,
    },
    /// The worst state of every job of a server (or of the view the server entry points at).
    Server(String),
}

impl Target {
    /// The server the target belongs to.
    pub fn server(&self) -> &str {
        match self {
            Target::Job(id) => &id.server,
            Target::Folder { server, .. } | Target::Server(server) => server,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Job(id) => write!(f, "job {id}"),
            Target::Folder { server, path } => write!(f, "folder {server}:{}/", path.join("/")),
            Target::Server(server) => write!(f, "all of {server}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::test_fixtures::{self as fixtures, ci_ok};

    #[test]
    fn a_readable_name_decodes_branch_names() {
        let id = JobId::new("ci", "repo/feature%2Flogin");
        assert_eq!(id.full_name(), "repo/feature%2Flogin");
        assert_eq!(id.readable_name(), "repo/feature/login");
    }

    /// Job `path` of `ci` whose last build is #`number`, its page at `http://ci/job/{path}/`.
    fn job(path: &str, state: JobState, building: bool, number: u64) -> Job {
        let job = fixtures::job("ci", path, state)
            .numbered(number)
            .at(format!("http://ci/job/{path}/"));
        if building { job.building() } else { job }
    }

    #[test]
    fn colors_map_to_states_and_anime_means_building() {
        assert_eq!(JobState::from_color("blue"), (JobState::Success, false));
        assert_eq!(JobState::from_color("red_anime"), (JobState::Failure, true));
        assert_eq!(JobState::from_color("yellow"), (JobState::Unstable, false));
        assert_eq!(
            JobState::from_color("aborted_anime"),
            (JobState::Aborted, true)
        );
        assert_eq!(
            JobState::from_color("notbuilt"),
            (JobState::NotBuilt, false)
        );
        assert_eq!(
            JobState::from_color("disabled_anime"),
            (JobState::Disabled, true)
        );
        assert_eq!(JobState::from_color("grey"), (JobState::Unknown, false));
        assert_eq!(JobState::from_color("green"), (JobState::Unknown, false));
        assert_eq!(JobState::from_color(""), (JobState::Unknown, false));
    }

    #[test]
    fn aggregate_order_puts_failure_over_unstable_over_stale_over_success() {
        let s = |state, stale| JobStatus {
            state,
            building: false,
            stale,
            acknowledged: false,
            flaky: false,
            eta: None,
        };
        let agg = |v: Vec<JobStatus>| Aggregate::of(v).severity;
        assert_eq!(agg(vec![]), Severity::NoJobs);
        assert_eq!(agg(vec![s(JobState::Success, false)]), Severity::Success);
        assert_eq!(
            agg(vec![
                s(JobState::Success, false),
                s(JobState::Success, true)
            ]),
            Severity::Stale,
            "stale must never look like success"
        );
        assert_eq!(
            agg(vec![
                s(JobState::Unstable, false),
                s(JobState::Success, true)
            ]),
            Severity::Unstable
        );
        assert_eq!(
            agg(vec![
                s(JobState::Unstable, false),
                s(JobState::Failure, false)
            ]),
            Severity::Failure
        );
        assert_eq!(
            agg(vec![
                s(JobState::Disabled, false),
                s(JobState::NotBuilt, false)
            ]),
            Severity::NotBuilt
        );
        assert_eq!(
            agg(vec![
                s(JobState::Aborted, false),
                s(JobState::Success, false)
            ]),
            Severity::Aborted
        );
    }

    #[test]
    fn an_aggregate_is_flaky_when_every_job_at_its_worst_state_is_flaky() {
        let s = |state, flaky| JobStatus {
            state,
            building: false,
            stale: false,
            acknowledged: false,
            flaky,
            eta: None,
        };
        let flaky = |v: Vec<JobStatus>| Aggregate::of(v).flaky;
        assert!(!flaky(vec![]));
        assert!(flaky(vec![s(JobState::Failure, true)]));
        assert!(flaky(vec![
            s(JobState::Failure, true),
            s(JobState::Success, false)
        ]));
        assert!(
            !flaky(vec![
                s(JobState::Failure, true),
                s(JobState::Failure, false)
            ]),
            "a real failure besides the flaky one"
        );
        assert!(
            !flaky(vec![
                s(JobState::Success, true),
                s(JobState::Failure, false)
            ]),
            "the worst job is not the flaky one"
        );
    }

    #[test]
    fn aggregate_is_building_when_any_job_builds() {
        let a = Aggregate::of(vec![
            JobStatus {
                state: JobState::Success,
                building: true,
                stale: false,
                acknowledged: false,
                flaky: false,
                eta: None,
            },
            JobStatus {
                state: JobState::Failure,
                building: false,
                stale: false,
                acknowledged: false,
                flaky: false,
                eta: None,
            },
        ]);
        assert_eq!(a.severity, Severity::Failure);
        assert!(a.building);
        assert_eq!(a.count, 2);
    }

    #[test]
    fn first_poll_after_start_reports_no_transitions() {
        let before = fixtures::snapshot([("ci", ServerSnapshot::new())]); // never answered yet
        let after = ci_ok(vec![
            job("a", JobState::Failure, false, 3),
            job("b", JobState::Success, true, 9),
        ]);
        assert_eq!(transitions(&before, &after), vec![]);
        assert_eq!(transitions(&Snapshot::default(), &after), vec![]);
    }

    #[test]
    fn success_to_failure_is_broke_and_back_is_fixed() {
        let a = ci_ok(vec![job("a", JobState::Success, false, 1)]);
        let b = ci_ok(vec![job("a", JobState::Failure, false, 2)]);
        assert_eq!(
            transitions(&a, &b),
            vec![Transition::Broke {
                job: JobId::new("ci", "a"),
                display_name: "a".into(),
                state: JobState::Failure,
                build: Some(2),
                url: Some("http://ci/job/a/2/".into()),
                blame: None
            }]
        );
        let c = ci_ok(vec![job("a", JobState::Success, false, 3)]);
        assert_eq!(
            transitions(&b, &c),
            vec![Transition::Fixed {
                job: JobId::new("ci", "a"),
                display_name: "a".into(),
                build: Some(3),
                url: Some("http://ci/job/a/3/".into()),
                blame: None
            }]
        );
    }

    #[test]
    fn success_to_unstable_is_broke() {
        let a = ci_ok(vec![job("a", JobState::Success, false, 1)]);
        let b = ci_ok(vec![job("a", JobState::Unstable, false, 2)]);
        assert!(matches!(
            transitions(&a, &b).as_slice(),
            [Transition::Broke {
                state: JobState::Unstable,
                ..
            }]
        ));
    }

    #[test]
    fn a_build_shorter_than_the_poll_interval_is_seen_by_its_number() {
        // #5 failed; #6 ran and failed again entirely between two polls: still failing, reported.
        let a = ci_ok(vec![job("a", JobState::Failure, false, 5)]);
        let b = ci_ok(vec![job("a", JobState::Failure, false, 6)]);
        assert_eq!(
            transitions(&a, &b),
            vec![Transition::StillFailing {
                job: JobId::new("ci", "a"),
                display_name: "a".into(),
                state: JobState::Failure,
                build: Some(6),
                url: Some("http://ci/job/a/6/".into()),
                blame: None
            }]
        );
        // The same build number and state again: nothing happened.
        assert_eq!(transitions(&b, &b), vec![]);
    }

    #[test]
    fn a_build_that_started_and_a_build_that_finished_are_both_reported() {
        let a = ci_ok(vec![job("a", JobState::Success, false, 1)]);
        let running = ci_ok(vec![job("a", JobState::Success, true, 2)]);
        assert_eq!(
            transitions(&a, &running),
            vec![Transition::StartedBuilding {
                job: JobId::new("ci", "a"),
                display_name: "a".into(),
                build: Some(2)
            }]
        );
        let done = ci_ok(vec![job("a", JobState::Failure, false, 2)]);
        assert!(matches!(
            transitions(&running, &done).as_slice(),
            [Transition::Broke { build: Some(2), .. }]
        ));
    }

    #[test]
    fn a_finished_build_seen_while_the_next_one_runs_names_the_finished_build() {
        // #2 failed and #3 started, both between two polls: colour is red_anime, lastBuild is #3.
        let a = ci_ok(vec![job("a", JobState::Success, false, 1)]);
        let b = ci_ok(vec![job("a", JobState::Failure, true, 3)]);
        let t = transitions(&a, &b);
        assert!(t.contains(&Transition::Broke {
            job: JobId::new("ci", "a"),
            display_name: "a".into(),
            state: JobState::Failure,
            build: Some(2),
            url: Some("http://ci/job/a/2/".into()),
            blame: None
        }));
        assert!(
            t.iter()
                .any(|t| matches!(t, Transition::StartedBuilding { .. }))
        );
    }

    /// `job` with its last build blamed on `who`, for `what`.
    fn blamed(mut job: Job, who: &str, what: &str) -> Job {
        if let Some(build) = &mut job.last_build {
            build.blame = Some(Blame {
                who: who.into(),
                what: Some(what.into()),
            });
        }
        job
    }

    #[test]
    fn a_break_a_still_failing_build_and_a_fix_carry_who_is_behind_the_build() {
        let mona = || {
            Some(Blame {
                who: "Mona".into(),
                what: Some("Fix the login test (#412)".into()),
            })
        };
        let a = ci_ok(vec![job("a", JobState::Success, false, 1)]);
        let b = ci_ok(vec![blamed(
            job("a", JobState::Failure, false, 2),
            "Mona",
            "Fix the login test (#412)",
        )]);
        assert!(matches!(
            transitions(&a, &b).as_slice(),
            [Transition::Broke { blame, .. }] if *blame == mona()
        ));
        let c = ci_ok(vec![blamed(
            job("a", JobState::Failure, false, 3),
            "Mona",
            "Fix the login test (#412)",
        )]);
        assert!(matches!(
            transitions(&b, &c).as_slice(),
            [Transition::StillFailing { blame, .. }] if *blame == mona()
        ));
        let d = ci_ok(vec![blamed(
            job("a", JobState::Success, false, 4),
            "Mona",
            "Fix the login test (#412)",
        )]);
        assert!(matches!(
            transitions(&c, &d).as_slice(),
            [Transition::Fixed { blame, .. }] if *blame == mona()
        ));
    }

    #[test]
    fn who_broke_it_is_wanted_for_a_break_or_a_new_broken_build_only() {
        let ok = |n| job("a", JobState::Success, false, n);
        let red = |n| job("a", JobState::Failure, false, n);
        let yellow = |n| job("a", JobState::Unstable, false, n);
        assert!(wants_blame(&ok(1), &red(2)), "broke");
        assert!(wants_blame(&ok(1), &yellow(2)), "broke (unstable)");
        assert!(
            wants_blame(&ok(1), &job("a", JobState::Failure, true, 3)),
            "broke, seen while the next build runs"
        );
        assert!(wants_blame(&red(2), &red(3)), "still failing, a new build");
        assert!(
            !wants_blame(&red(2), &red(2)),
            "the same broken build again"
        );
        assert!(!wants_blame(&ok(1), &ok(1)), "steady");
        assert!(!wants_blame(&ok(1), &ok(2)), "a new good build");
        assert!(!wants_blame(&red(2), &ok(3)), "fixed");
        assert!(
            !wants_blame(&red(2), &job("a", JobState::Failure, true, 3)),
            "a rebuild starting is not a new broken build"
        );
    }

    #[test]
    fn the_finished_build_is_the_one_before_a_running_one() {
        assert_eq!(
            finished_build(&job("a", JobState::Failure, false, 7)),
            Some(7)
        );
        assert_eq!(
            finished_build(&job("a", JobState::Failure, true, 7)),
            Some(6)
        );
        let never = Job {
            last_build: None,
            ..job("a", JobState::NotBuilt, false, 1)
        };
        assert_eq!(finished_build(&never), None);
    }

    #[test]
    fn an_outage_is_one_server_event_and_no_job_storm() {
        let a = ci_ok(vec![
            job("a", JobState::Success, false, 1),
            job("b", JobState::Failure, false, 1),
        ]);
        let mut down = a.clone();
        down.servers.get_mut("ci").unwrap().state =
            ServerState::Unreachable("connection refused".into());
        assert_eq!(
            transitions(&a, &down),
            vec![Transition::ServerLost {
                server: "ci".into(),
                state: ServerState::Unreachable("connection refused".into())
            }]
        );
        // Still down on the next poll: nothing new.
        assert_eq!(transitions(&down, &down), vec![]);
        // Back with the same jobs: one recovery event, no job events.
        assert_eq!(
            transitions(&down, &a),
            vec![Transition::ServerRecovered {
                server: "ci".into()
            }]
        );
    }

    #[test]
    fn jobs_appearing_and_disappearing_are_reported() {
        let a = ci_ok(vec![job("a", JobState::Success, false, 1)]);
        let b = ci_ok(vec![job("b", JobState::Success, false, 1)]);
        assert_eq!(
            transitions(&a, &b),
            vec![
                Transition::Appeared {
                    job: JobId::new("ci", "b")
                },
                Transition::Disappeared {
                    job: JobId::new("ci", "a")
                }
            ]
        );
    }

    #[test]
    fn build_urls_join_the_job_url_and_the_number() {
        assert_eq!(
            build_url("http://ci/job/a/", Some(7)).as_deref(),
            Some("http://ci/job/a/7/")
        );
        assert_eq!(
            build_url("http://ci/job/a", Some(7)).as_deref(),
            Some("http://ci/job/a/7/")
        );
        assert_eq!(
            build_url("http://ci/job/a/", None).as_deref(),
            Some("http://ci/job/a/")
        );
        assert_eq!(build_url("", Some(7)), None);
    }

    #[test]
    fn stale_jobs_keep_their_state_but_are_marked_stale() {
        let mut s = ci_ok(vec![job("a", JobState::Success, false, 1)]);
        s.servers.get_mut("ci").unwrap().state = ServerState::AuthNeeded;
        let st = s.status(&JobId::new("ci", "a")).unwrap();
        assert_eq!(st.state, JobState::Success);
        assert!(st.stale);
        assert_eq!(Severity::of(st), Severity::Stale);
    }

    #[test]
    fn a_restarted_server_keeps_its_jobs_stale_and_its_next_answer_reports_nothing() {
        let before = ci_ok(vec![job("a", JobState::Success, false, 1)]);
        let mut restarted = before.clone();
        restarted.servers.get_mut("ci").unwrap().restart();
        let st = restarted.status(&JobId::new("ci", "a")).unwrap();
        assert_eq!((st.state, st.stale), (JobState::Success, true));
        assert_eq!(transitions(&before, &restarted), vec![]);
        let answered = ci_ok(vec![job("a", JobState::Failure, false, 2)]);
        assert_eq!(
            transitions(&restarted, &answered),
            vec![],
            "no comparison with what the old settings saw"
        );
    }

    /// `ci` lists `api`, `f/x`, `f/g/y` and `fx`; `old` is unreachable and still lists `api`.
    fn two_servers() -> Snapshot {
        let ci = [
            ("api", JobState::Success),
            ("f/x", JobState::Failure),
            ("f/g/y", JobState::Unstable),
            ("fx", JobState::Success),
        ];
        fixtures::snapshot([
            (
                "ci",
                fixtures::server(
                    ServerState::Ok,
                    ci.iter()
                        .map(|&(p, st)| fixtures::job("ci", p, st))
                        .collect(),
                ),
            ),
            (
                "old",
                fixtures::server(
                    ServerState::Unreachable("refused".into()),
                    vec![fixtures::job("old", "api", JobState::Success)],
                ),
            ),
        ])
    }

    fn folder(server: &str, path: &str) -> Target {
        Target::Folder {
            server: server.into(),
            path: split_full_name(path),
        }
    }

    #[test]
    fn a_target_covers_its_job_its_folder_by_whole_segments_or_its_whole_server() {
        let s = two_servers();
        let covered = |target: &Target| -> Vec<String> {
            s.jobs_of(target).map(|j| j.id.to_string()).collect()
        };
        let none: Vec<String> = vec![];

        assert_eq!(covered(&Target::Job(JobId::new("ci", "api"))), ["ci:api"]);
        assert_eq!(
            covered(&Target::Job(JobId::new("old", "api"))),
            ["old:api"],
            "a stale server still lists its last jobs"
        );
        assert_eq!(covered(&Target::Job(JobId::new("ci", "gone"))), none);
        assert_eq!(
            covered(&Target::Job(JobId::new("ci", "f"))),
            none,
            "a folder is not a job"
        );

        assert_eq!(
            covered(&folder("ci", "f")),
            ["ci:f/g/y", "ci:f/x"],
            "whole segments: not fx"
        );
        assert_eq!(covered(&folder("ci", "nothing")), none);

        assert_eq!(
            covered(&Target::Server("ci".into())),
            ["ci:api", "ci:f/g/y", "ci:f/x", "ci:fx"]
        );
        assert_eq!(covered(&Target::Server("old".into())), ["old:api"]);
        assert_eq!(
            covered(&Target::Server("nowhere".into())),
            none,
            "a server the snapshot does not know covers nothing"
        );
    }

    #[test]
    fn a_scope_stands_for_its_own_targets_or_for_every_server() {
        let s = two_servers();
        let covered = |scope: &Scope| -> Vec<String> {
            s.targets_in(scope)
                .iter()
                .flat_map(|t| s.jobs_of(t))
                .map(|j| j.id.to_string())
                .collect()
        };
        let api = Target::Job(JobId::new("ci", "api"));
        let f = folder("ci", "f");

        let mapped = Scope::Targets(vec![&api, &f, &api]);
        assert_eq!(
            s.targets_in(&mapped),
            [Cow::Borrowed(&api), Cow::Borrowed(&f), Cow::Borrowed(&api)]
        );
        assert_eq!(
            covered(&mapped),
            ["ci:api", "ci:f/g/y", "ci:f/x", "ci:api"],
            "a job behind two targets is behind both"
        );

        assert_eq!(
            s.targets_in(&Scope::All),
            [
                Cow::<Target>::Owned(Target::Server("ci".into())),
                Cow::Owned(Target::Server("old".into()))
            ]
        );
        assert_eq!(
            covered(&Scope::All),
            ["ci:api", "ci:f/g/y", "ci:f/x", "ci:fx", "old:api"]
        );
        assert!(Snapshot::default().targets_in(&Scope::All).is_empty());
    }
}
