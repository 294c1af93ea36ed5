//! One polling thread per source: fetch, report, wait. The wait adapts: shorter while jobs build, longer
//! after a quiet spell, an exponential back-off with jitter while the server fails, and never before the
//! time a rate-limited server asked for. The poller knows sources only by the [`Source`] trait.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::backoff::Backoff;
use crate::config::{ServerConfig, TokenSource};
use crate::sources::credentials::{self, Credentials};
use crate::sources::{self, Listing, Source, SourceError};

/// The longest wait between two attempts on a failing server.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Never poll faster than this, whatever the configuration says.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// An idle source (nothing building, nothing changed) for this long is polled more slowly.
pub const IDLE_AFTER: Duration = Duration::from_secs(300);
/// The slow idle interval never exceeds this (unless the base interval itself is longer).
pub const MAX_IDLE_INTERVAL: Duration = Duration::from_secs(60);

/// What a poller reports after each attempt.
#[derive(Debug)]
pub struct Polled {
    pub server: String,
    /// Which poller generation sent this (results of pollers replaced by a config reload are dropped).
    pub generation: u64,
    pub result: Result<Listing, SourceError>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Poll now instead of waiting.
    Refresh,
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

    /// One poll with the token as it is now.
    fn fetch(&mut self) -> Result<Listing, SourceError> {
        let result = self.fetch_once();
        self.refused = matches!(
            result,
            Err(SourceError::AuthNeeded { .. }
                | SourceError::TokenRejected { .. }
                | SourceError::Setup(_))
        );
        result
    }

    fn fetch_once(&mut self) -> Result<Listing, SourceError> {
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
        let result = source.fetch();
        self.open = Some((wanted, source));
        result
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
    loop {
        let result = source.fetch();
        let retry_at = result.as_ref().err().and_then(SourceError::retry_at);
        let refused = source.refused;
        let building = match &result {
            Ok(f) => {
                failures = 0;
                if last_jobs.as_ref() != Some(&f.jobs) {
                    last_change = Instant::now();
                    last_jobs = Some(f.jobs.clone());
                }
                f.jobs.iter().any(|j| j.building)
            }
            Err(_) => {
                failures = failures.saturating_add(1);
                false
            }
        };
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
    use super::*;

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
