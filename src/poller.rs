//! One polling thread per source: fetch, report, wait. The wait adapts: shorter while jobs build, longer
//! after a quiet spell, an exponential back-off with jitter while the server fails, and never before the
//! time a rate-limited server asked for. The poller knows sources only by the [`Source`] trait.
//!
//! "Who broke it": after a poll, for each job whose change since the last poll is a break
//! ([`model::wants_blame`]) and whose listing did not say who is behind the build, the poller asks the
//! source's [`Source::blame`] (Jenkins: one follow-up request), at most [`MAX_BLAME_PER_POLL`] times per
//! poll, before it reports the poll: the transitions the engine finds then carry the blame. The answer
//! is kept per build and put back on the job in the following polls (the hover text and the tray keep
//! it), so each build is asked about once; a steady poll asks nothing.
//!
//! An unchanged answer: the poller passes the digest of its last successful poll to
//! [`Source::fetch_since`], and an answer with the same bytes is reported as [`Found::Same`], without
//! jobs: no blame lookup, no comparison, no copy of the job list (the engine then skips the snapshot,
//! the diff and the frame). A failed poll forgets the digest, so the poll after an outage is a full one.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::backoff::Backoff;
use crate::config::{ServerConfig, TokenSource};
use crate::model::{self, Blame, Job};
use crate::sources::credentials::{self, Credentials};
use crate::sources::{self, Fetch, Listing, Source, SourceError};

/// The longest wait between two attempts on a failing server.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Never poll faster than this, whatever the configuration says.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// An idle source (nothing building, nothing changed) for this long is polled more slowly.
pub const IDLE_AFTER: Duration = Duration::from_secs(300);
/// The slow idle interval never exceeds this (unless the base interval itself is longer).
pub const MAX_IDLE_INTERVAL: Duration = Duration::from_secs(60);

/// The most "who broke it" questions one poll asks (a mass breakage names who broke the first few).
pub const MAX_BLAME_PER_POLL: usize = 8;

/// What a poller reports after each attempt.
#[derive(Debug)]
pub struct Polled {
    pub server: String,
    /// Which poller generation sent this (results of pollers replaced by a config reload are dropped).
    pub generation: u64,
    pub result: Result<Found, SourceError>,
}

/// What a successful poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The jobs as listed (with "who broke it" filled in).
    Jobs(Listing),
    /// The server answered the same bytes as on the poller's last successful poll: the jobs it
    /// reported then still stand, and nothing needs comparing.
    Same { requests: usize },
}

/// How long to wait before the next poll.
///
/// - failing: `base · 2^(failures−1)` with ±20 % jitter so many clients do not hammer a recovering
///   server in step, capped at [`MAX_BACKOFF`] (see [`Backoff`]);
/// - building: half the base interval (at least [`MIN_INTERVAL`]);
/// - idle for [`IDLE_AFTER`]: three times the base, at most [`MAX_IDLE_INTERVAL`] (never below the base).
pub fn next_delay(base: Duration, failures: u32, building: bool, idle_for: Duration) -> Duration {
    let base = base.max(MIN_INTERVAL);
    if failures > 0 {
        let backoff = Backoff {
            first: base,
            max: MAX_BACKOFF.max(base),
            jitter: 0.2,
        };
        return backoff.delay(failures).max(MIN_INTERVAL);
    }
    if building {
        return (base / 2).max(MIN_INTERVAL);
    }
    if idle_for >= IDLE_AFTER {
        return (base * 3).min(MAX_IDLE_INTERVAL).max(base);
    }
    base
}

/// [`next_delay`] for a server whose rate limit allows no poll sooner than `floor` (see
/// [`sources::min_interval`]): the base is at least the floor, and so is every delay, building or not.
pub fn paced_delay(
    base: Duration,
    floor: Duration,
    failures: u32,
    building: bool,
    idle_for: Duration,
) -> Duration {
    next_delay(base.max(floor), failures, building, idle_for).max(floor)
}

/// `delay`, stretched so the next poll is not before `retry_at` (when a rate-limited server said so).
pub fn not_before(delay: Duration, retry_at: Option<SystemTime>, now: SystemTime) -> Duration {
    match retry_at.and_then(|at| at.duration_since(now).ok()) {
        Some(wait) => delay.max(wait),
        None => delay,
    }
}

/// Commands to a poller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Poll now instead of waiting.
    Refresh,
    /// Hand this acknowledgement to the source ([`Source::send_ack`]: a relay's `POST /ack`), then poll.
    SendAck(crate::ack::Request),
}

/// A running poller. Dropping it stops the thread after its current request (which has a timeout).
#[derive(Debug)]
pub struct Poller {
    commands: Sender<Command>,
    _thread: JoinHandle<()>,
}

impl Poller {
    /// Starts polling `server` every `base` (adapted as above), each request limited to `timeout`, and
    /// hands each result to `out`, which returns false once nobody listens any more (the poller then
    /// stops). The token is looked up before every poll, so a rotated one applies at the next poll; a
    /// missing one is reported on every attempt.
    pub fn spawn(
        server: ServerConfig,
        timeout: Duration,
        base: Duration,
        generation: u64,
        out: impl Fn(Polled) -> bool + Send + 'static,
    ) -> std::io::Result<Poller> {
        let (commands, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("poll {}", server.name))
            .spawn(move || {
                let mut source = CurrentSource::new(server, timeout);
                run(&mut source, base, generation, &out, &rx);
            })?;
        Ok(Poller {
            commands,
            _thread: thread,
        })
    }

    pub fn refresh(&self) {
        // A poller that already stopped has nothing to refresh.
        self.commands.send(Command::Refresh).ok();
    }

    /// Sends an acknowledgement made here to where the jobs come from (on the poller's thread, which
    /// owns the source and its credentials), then polls; a failure is logged there.
    pub fn send_ack(&self, request: crate::ack::Request) {
        self.commands.send(Command::SendAck(request)).ok();
    }
}

/// How often the token is looked up again while a server refuses it.
pub const CREDENTIALS_CHECK: Duration = Duration::from_secs(2);

/// A server's source, rebuilt when its credentials change (and kept otherwise, with its connections).
#[derive(Debug)]
struct CurrentSource {
    server: ServerConfig,
    timeout: Duration,
    open: Option<(Option<Credentials>, Box<dyn Source>)>,
    /// The server refused the credentials of the last poll.
    refused: bool,
}

impl CurrentSource {
    fn new(server: ServerConfig, timeout: Duration) -> Self {
        Self {
            server,
            timeout,
            open: None,
            refused: false,
        }
    }

    /// Whether to look the token up before this poll: always for a file or variable (a cheap read, so
    /// an edited token file applies at the next poll), for the keyring only while the server refuses
    /// the one in use (a keyring asks over D-Bus, and a locked one may prompt the user).
    fn look_up_now(&self) -> bool {
        self.open.is_none() || self.refused || self.server.token != TokenSource::Keyring
    }

    /// Whether the token found now differs from the one the last poll used.
    fn credentials_changed(&self) -> bool {
        let now = credentials::lookup(&self.server).ok();
        match &self.open {
            Some((used, _)) => now.as_ref() != Some(used),
            None => now.is_some(),
        }
    }

    /// One poll with the token as it is now; `since` is the digest of the last successful one.
    fn fetch(&mut self, since: Option<u64>) -> Result<Fetch, SourceError> {
        let result = self.fetch_once(since);
        self.refused = matches!(
            result,
            Err(SourceError::AuthNeeded { .. }
                | SourceError::TokenRejected { .. }
                | SourceError::Setup(_))
        );
        result
    }

    fn fetch_once(&mut self, since: Option<u64>) -> Result<Fetch, SourceError> {
        let wanted = match (&self.open, self.look_up_now()) {
            (Some((used, _)), false) => used.clone(),
            _ => credentials::lookup(&self.server).map_err(|e| {
                self.open = None;
                SourceError::Setup(e.to_string())
            })?,
        };
        let source = match self.open.take() {
            Some((used, source)) if used == wanted => source,
            _ => sources::open_with(&self.server, self.timeout, wanted.clone())?,
        };
        let result = source.fetch_since(since);
        self.open = Some((wanted, source));
        result
    }
}

impl CurrentSource {
    /// [`Source::send_ack`] on the source in use; before the first poll there is none to send with.
    fn send_ack(&self, request: &crate::ack::Request) -> Result<Option<String>, SourceError> {
        match &self.open {
            Some((_, source)) => source.send_ack(request),
            None => Err(SourceError::Setup(
                "not connected yet: acknowledge again after the first poll".to_owned(),
            )),
        }
    }

    /// Who is behind `job`'s finished build, asked of the source in use (nobody before the first poll).
    fn blame(&self, job: &Job) -> Result<Option<Blame>, SourceError> {
        match &self.open {
            Some((_, source)) => source.blame(job),
            None => Ok(None),
        }
    }
}

/// "Who broke it", kept per job for its finished build: asked once per build, put back on every poll.
#[derive(Debug, Default)]
struct Blames {
    /// Job path → the finished build's number and who is behind it (`None`: nobody, or the question
    /// failed; not asked again).
    known: HashMap<Vec<String>, (u64, Option<Blame>)>,
}

impl Blames {
    /// Fills [`model::Build::blame`] of `jobs` (this poll) where the source did not: the known answer
    /// for the same finished build, else, for a job whose change since `prev` (the last poll's jobs) is
    /// a break, `ask`'s (at most [`MAX_BLAME_PER_POLL`] questions). Returns how many were asked.
    fn fill(
        &mut self,
        prev: Option<&[Job]>,
        jobs: &mut [Job],
        mut ask: impl FnMut(&Job) -> Result<Option<Blame>, SourceError>,
    ) -> usize {
        let prev: HashMap<&[String], &Job> = prev
            .unwrap_or_default()
            .iter()
            .map(|j| (j.id.path.as_slice(), j))
            .collect();
        let mut known = HashMap::new();
        let mut asked = 0;
        for job in jobs.iter_mut() {
            let Some(number) = model::finished_build(job) else {
                continue;
            };
            if job.last_build.as_ref().is_some_and(|b| b.blame.is_some()) {
                continue; // the listing said
            }
            let blame = match self.known.remove(&job.id.path) {
                Some((n, blame)) if n == number => blame,
                _ => {
                    let breaks = prev
                        .get(job.id.path.as_slice())
                        .is_some_and(|before| model::wants_blame(before, job));
                    if !breaks {
                        continue;
                    }
                    if asked == MAX_BLAME_PER_POLL {
                        tracing::debug!(
                            "more jobs broke: not asking who broke {}",
                            crate::text::visible(&job.id.to_string())
                        );
                        continue;
                    }
                    asked += 1;
                    ask(job).unwrap_or_else(|e| {
                        tracing::warn!(
                            "cannot tell who broke {} (alerting without a name): {}",
                            crate::text::visible(&job.id.to_string()),
                            crate::text::visible(&e.to_string())
                        );
                        None
                    })
                }
            };
            if let Some(build) = &mut job.last_build {
                build.blame.clone_from(&blame);
            }
            known.insert(job.id.path.clone(), (number, blame));
        }
        // Jobs gone from the listing, and builds superseded, are forgotten.
        self.known = known;
        asked
    }
}

fn run(
    source: &mut CurrentSource,
    base: Duration,
    generation: u64,
    out: &impl Fn(Polled) -> bool,
    commands: &Receiver<Command>,
) {
    let server = source.server.name.clone();
    let floor = sources::min_interval(&source.server.kind);
    let mut failures = 0u32;
    let mut last_jobs = None;
    let mut last_change = Instant::now();
    let mut blames = Blames::default();
    let mut last_digest = None;
    let mut building = false;
    loop {
        let result = match source.fetch(last_digest) {
            Ok(Fetch::Fresh {
                mut listing,
                digest,
            }) => {
                let prev = last_jobs.as_deref();
                let asked = blames.fill(prev, &mut listing.jobs, |job| source.blame(job));
                listing.requests += asked;
                last_digest = digest;
                Ok(Found::Jobs(listing))
            }
            Ok(Fetch::Same { requests }) => Ok(Found::Same { requests }),
            Err(e) => {
                last_digest = None;
                Err(e)
            }
        };
        let retry_at = result.as_ref().err().and_then(SourceError::retry_at);
        let refused = source.refused;
        match &result {
            Ok(Found::Jobs(f)) => {
                failures = 0;
                if last_jobs.as_ref() != Some(&f.jobs) {
                    last_change = Instant::now();
                    last_jobs = Some(f.jobs.clone());
                }
                building = f.jobs.iter().any(|j| j.building);
            }
            // The same jobs as last time: still building if they were.
            Ok(Found::Same { .. }) => failures = 0,
            Err(_) => {
                failures = failures.saturating_add(1);
                building = false;
            }
        }
        let polled = Polled {
            server: server.clone(),
            generation,
            result,
        };
        if !out(polled) {
            return; // the engine is gone
        }
        let delay = not_before(
            paced_delay(base, floor, failures, building, last_change.elapsed()),
            retry_at,
            SystemTime::now(),
        );
        // While the server refuses us, a new token (saved in the window, or the token file edited)
        // is noticed within CREDENTIALS_CHECK instead of after the back-off.
        let deadline = Instant::now() + delay;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let slice = if refused {
                left.min(CREDENTIALS_CHECK)
            } else {
                left
            };
            match commands.recv_timeout(slice) {
                Ok(Command::Refresh) => break,
                Ok(Command::SendAck(request)) => {
                    match source.send_ack(&request) {
                        Ok(Some(answer)) => tracing::info!(server = %server, "relay: {answer}"),
                        Ok(None) => {}
                        Err(e) => tracing::warn!(
                            server = %server,
                            "the acknowledgement did not reach the relay (it is on this desk only): {}",
                            crate::text::visible(&e.to_string())
                        ),
                    }
                    break;
                }
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) if left <= slice => break,
                Err(RecvTimeoutError::Timeout) if source.credentials_changed() => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::JobState;
    use crate::test_fixtures as fixtures;

    #[test]
    fn the_same_answer_again_is_reported_as_the_same_and_a_change_after_it_in_full() {
        use crate::sim::{SimJenkins, SimJob};

        let sim =
            SimJenkins::start(vec![SimJob::new("api", Some(JobState::Success)).into()]).unwrap();
        let (poller, rx) = poll_sim(&sim);
        let next = || rx.recv_timeout(Duration::from_secs(10)).unwrap().result;
        let state_of_api = |found: Result<Found, SourceError>| match found {
            Ok(Found::Jobs(listing)) => listing.jobs[0].state,
            other => panic!("expected the jobs, got {other:?}"),
        };
        assert_eq!(state_of_api(next()), JobState::Success);
        poller.refresh();
        assert_eq!(next(), Ok(Found::Same { requests: 1 }));
        poller.refresh();
        assert_eq!(next(), Ok(Found::Same { requests: 1 }));
        assert_eq!(sim.requests(), 3, "each poll is still one request");

        sim.finish_build("api", JobState::Failure);
        poller.refresh();
        assert_eq!(state_of_api(next()), JobState::Failure);
        poller.refresh();
        assert_eq!(next(), Ok(Found::Same { requests: 1 }));
    }

    #[test]
    fn a_failed_poll_forgets_the_digest_so_the_next_good_one_lists_the_jobs() {
        use crate::sim::{Mode, SimJenkins, SimJob};

        let sim =
            SimJenkins::start(vec![SimJob::new("api", Some(JobState::Success)).into()]).unwrap();
        let (poller, rx) = poll_sim(&sim);
        let next = || rx.recv_timeout(Duration::from_secs(10)).unwrap().result;
        assert!(matches!(next(), Ok(Found::Jobs(_))));
        sim.set_mode(Mode::Status(503));
        poller.refresh();
        assert!(next().is_err());
        sim.set_mode(Mode::Normal);
        poller.refresh();
        assert!(
            matches!(next(), Ok(Found::Jobs(l)) if l.jobs.len() == 1),
            "the same bytes as before the outage, listed in full"
        );
    }

    /// A poller on `sim` (server "ci", a 5 s timeout, a 10 min interval: it polls once, then on refresh)
    /// and what it sends.
    fn poll_sim(sim: &crate::sim::SimJenkins) -> (Poller, mpsc::Receiver<Polled>) {
        use crate::config::{Root, ServerKind};
        let server = ServerConfig {
            name: "ci".to_owned(),
            kind: ServerKind::Jenkins,
            url: sim.url().to_owned(),
            user: None,
            token: TokenSource::None,
            ca_file: None,
            root: Root::All,
            poll: None,
        };
        let (tx, rx) = mpsc::channel();
        let poller = Poller::spawn(
            server,
            Duration::from_secs(5),
            Duration::from_secs(600),
            1,
            move |p| tx.send(p).is_ok(),
        )
        .unwrap();
        (poller, rx)
    }

    fn job(path: &str, state: JobState, number: u64) -> Job {
        fixtures::job("ci", path, state).numbered(number)
    }

    fn mona() -> Option<Blame> {
        Some(Blame {
            who: "Mona".into(),
            what: Some("Fix the login test".into()),
        })
    }

    fn blame_of(jobs: &[Job], i: usize) -> Option<Blame> {
        jobs[i].last_build.as_ref().unwrap().blame.clone()
    }

    /// One poll of `now` after `prev` through `blames`, answering every question with Mona; returns the
    /// jobs as reported and the jobs asked about.
    fn poll(blames: &mut Blames, prev: &[Job], now: Vec<Job>) -> (Vec<Job>, Vec<String>) {
        let mut jobs = now;
        let mut asked = Vec::new();
        let n = blames.fill(Some(prev), &mut jobs, |job| {
            asked.push(job.id.full_name());
            Ok(mona())
        });
        assert_eq!(n, asked.len());
        (jobs, asked)
    }

    #[test]
    fn a_break_is_asked_about_once_and_its_answer_stays_on_the_following_polls() {
        let mut blames = Blames::default();
        let first = vec![
            job("api", JobState::Success, 1),
            job("web", JobState::Success, 4),
        ];
        let (steady, asked) = poll(&mut blames, &first, first.clone());
        assert!(asked.is_empty(), "a steady poll asks nothing");
        assert_eq!(blame_of(&steady, 0), None);

        let broken = vec![
            job("api", JobState::Failure, 2),
            job("web", JobState::Success, 5),
        ];
        let (reported, asked) = poll(&mut blames, &steady, broken.clone());
        assert_eq!(
            asked,
            ["api"],
            "only the job that broke, not the new good build"
        );
        assert_eq!(blame_of(&reported, 0), mona());
        assert_eq!(blame_of(&reported, 1), None);

        let (again, asked) = poll(&mut blames, &reported, broken.clone());
        assert!(asked.is_empty(), "the same build is not asked about again");
        assert_eq!(blame_of(&again, 0), mona(), "its answer is kept");
        let rebuilding = vec![
            job("api", JobState::Failure, 3).building(),
            job("web", JobState::Success, 5),
        ];
        let (running, asked) = poll(&mut blames, &again, rebuilding);
        assert!(asked.is_empty());
        assert_eq!(
            blame_of(&running, 0),
            mona(),
            "#2 still shows while #3 runs"
        );

        let still = vec![
            job("api", JobState::Failure, 3),
            job("web", JobState::Success, 5),
        ];
        let (_, asked) = poll(&mut blames, &running, still.clone());
        assert_eq!(asked, ["api"], "a new broken build is asked about");
        let fixed = vec![
            job("api", JobState::Success, 4),
            job("web", JobState::Success, 5),
        ];
        let (reported, asked) = poll(&mut blames, &still, fixed);
        assert!(asked.is_empty(), "a fix is not asked about");
        assert_eq!(blame_of(&reported, 0), None, "the fixing build is not #3's");
    }

    #[test]
    fn a_blame_the_listing_gave_is_kept_and_never_asked_for() {
        let mut blames = Blames::default();
        let prev = vec![job("api", JobState::Success, 1)];
        let mut broken = job("api", JobState::Failure, 2);
        let hubot = Blame {
            who: "Hubot".into(),
            what: None,
        };
        broken.last_build.as_mut().unwrap().blame = Some(hubot.clone());
        let (reported, asked) = poll(&mut blames, &prev, vec![broken]);
        assert!(asked.is_empty());
        assert_eq!(blame_of(&reported, 0), Some(hubot));
    }

    #[test]
    fn a_first_poll_asks_nothing_and_a_failed_question_is_not_repeated() {
        let mut blames = Blames::default();
        let mut jobs = vec![job("api", JobState::Failure, 2)];
        let n = blames.fill(None, &mut jobs, |_| Ok(mona()));
        assert_eq!(
            n, 0,
            "nothing to compare with: no transitions, no questions"
        );

        let prev = vec![job("api", JobState::Success, 1)];
        let mut jobs = vec![job("api", JobState::Failure, 2)];
        let n = blames.fill(Some(&prev), &mut jobs, |_| {
            Err(SourceError::Status {
                url: "http://ci/job/api/2/".into(),
                status: 500,
            })
        });
        assert_eq!(n, 1);
        assert_eq!(blame_of(&jobs, 0), None);
        let before = jobs.clone();
        let n = blames.fill(Some(&before), &mut jobs, |_| Ok(mona()));
        assert_eq!(n, 0, "asked once per build, even when the answer failed");
    }

    #[test]
    fn a_mass_breakage_asks_about_the_first_few_jobs_only() {
        let mut blames = Blames::default();
        let names: Vec<String> = (0..MAX_BLAME_PER_POLL + 5)
            .map(|i| format!("j{i:02}"))
            .collect();
        let prev: Vec<Job> = names.iter().map(|n| job(n, JobState::Success, 1)).collect();
        let now: Vec<Job> = names.iter().map(|n| job(n, JobState::Failure, 2)).collect();
        let (reported, asked) = poll(&mut blames, &prev, now);
        assert_eq!(asked, names[..MAX_BLAME_PER_POLL]);
        assert_eq!(blame_of(&reported, MAX_BLAME_PER_POLL), None);
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_healthy_idle_server_is_polled_at_the_base_interval() {
        assert_eq!(next_delay(S(10), 0, false, S(0)), S(10));
    }

    #[test]
    fn polling_goes_faster_while_building_and_slower_when_idle() {
        assert_eq!(next_delay(S(10), 0, true, S(0)), S(5));
        assert_eq!(
            next_delay(S(1), 0, true, S(0)),
            S(1),
            "never below the floor"
        );
        assert_eq!(next_delay(S(10), 0, false, S(600)), S(30));
        assert_eq!(next_delay(S(30), 0, false, S(600)), S(60), "bounded");
        assert_eq!(
            next_delay(S(120), 0, false, S(600)),
            S(120),
            "never below the base"
        );
    }

    #[test]
    fn a_rate_limited_server_is_not_asked_before_it_said() {
        let now = SystemTime::UNIX_EPOCH + S(1_000_000);
        assert_eq!(not_before(S(10), Some(now + S(120)), now), S(120));
        assert_eq!(not_before(S(300), Some(now + S(120)), now), S(300));
        assert_eq!(not_before(S(10), Some(now - S(5)), now), S(10), "past");
        assert_eq!(not_before(S(10), None, now), S(10));
    }

    #[test]
    fn a_rate_limit_budget_is_a_floor_even_while_building() {
        assert_eq!(paced_delay(S(1), S(9), 0, false, S(0)), S(9), "the base");
        assert_eq!(paced_delay(S(10), S(9), 0, true, S(0)), S(9), "building");
        assert_eq!(paced_delay(S(30), S(9), 0, true, S(0)), S(15), "above it");
        assert_eq!(paced_delay(S(10), S(0), 0, true, S(0)), S(5), "no floor");
        for _ in 0..20 {
            assert!(paced_delay(S(9), S(9), 1, false, S(0)) >= S(9), "jitter");
        }
        let github = crate::config::ServerKind::GitHub {
            repos: vec!["acme/api".into(), "acme/web".into()],
        };
        assert_eq!(sources::min_interval(&github), S(2));
        assert_eq!(
            sources::min_interval(&crate::config::ServerKind::Jenkins),
            S(0)
        );
    }

    #[test]
    fn failures_back_off_exponentially_with_jitter_up_to_a_cap() {
        for _ in 0..50 {
            let d1 = next_delay(S(10), 1, false, S(0));
            assert!(d1 >= S(8) && d1 <= S(12), "{d1:?}");
            let d3 = next_delay(S(10), 3, false, S(0));
            assert!(d3 >= S(32) && d3 <= S(48), "{d3:?}");
            let d20 = next_delay(S(10), 20, false, S(0));
            assert!(
                d20 <= MAX_BACKOFF && d20 >= MAX_BACKOFF.mul_f64(0.8),
                "the documented cap holds, jitter included: {d20:?}"
            );
        }
    }
}
