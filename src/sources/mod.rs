//! Where job states come from: one module per kind of CI server, behind one trait.
//!
//! A [`Source`] fetches a [`Listing`] (every job with its state, last build, URL, display name and tree
//! position) or fails with a typed [`SourceError`]. The poller and the engine know only the trait;
//! [`open`] builds the right kind for a configured server. Every kind makes its HTTP requests through
//! [`http`] and finds its token through [`credentials`].
//!
//! A new kind of CI server is one new module here plus its config keys.

pub mod cctray;
pub mod credentials;
pub mod github;
pub mod gitlab;
pub mod http;
pub mod jenkins;
pub mod ledtogo;

use std::time::{Duration, SystemTime};

use thiserror::Error;

use crate::config::{ServerConfig, ServerKind};
use crate::model::{Blame, Job, ServerState};

pub use credentials::{Credentials, Secret};

/// One kind of CI server, as the poller uses it. Cheap to keep between polls (connections are reused).
pub trait Source: Send + std::fmt::Debug {
    /// One poll: every job the server lists under the configured root.
    fn fetch(&self) -> Result<Listing, SourceError>;

    /// Who is behind the finished build `job` shows ([`crate::model::finished_build`]), for a job that
    /// just broke: the poller asks at most once per build and never as part of the regular poll. Kinds
    /// whose listing says it (GitHub, GitLab) fill [`crate::model::Build::blame`] there and keep this
    /// default; cctray names nobody; Jenkins makes one follow-up request ([`jenkins::blame`]).
    fn blame(&self, _job: &Job) -> Result<Option<Blame>, SourceError> {
        Ok(None)
    }

    /// Hands an acknowledgement made on this desk (`Request::Ack` or `Request::Clear`, the job by its
    /// full name here) to where the jobs come from, and returns what that said: a ledtogo relay's
    /// `POST /ack`, so the whole office sees it. Other kinds have nowhere to send it (`Ok(None)`): it
    /// stays on this desk.
    fn send_ack(&self, _request: &crate::ack::Request) -> Result<Option<String>, SourceError> {
        Ok(None)
    }

    /// One poll that may find the answer unchanged: `since` is the [`Fetch::Fresh`] digest of the last
    /// poll, and an answer with the same bytes is [`Fetch::Same`] (no parsing, no jobs to compare).
    /// Kinds that make no digest (the default) always answer [`Fetch::Fresh`] without one.
    fn fetch_since(&self, since: Option<u64>) -> Result<Fetch, SourceError> {
        let _ = since;
        self.fetch().map(|listing| Fetch::Fresh {
            listing,
            digest: None,
        })
    }
}

/// What [`Source::fetch_since`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// The jobs, and a digest of the answer (its bytes and the server's version) when the kind makes one.
    Fresh {
        listing: Listing,
        digest: Option<u64>,
    },
    /// The same answer as the poll whose digest was given: its jobs still stand. `requests` is how many
    /// this poll took.
    Same { requests: usize },
}

/// A time from a server's API (RFC 3339: GitHub, GitLab, cctray) as epoch milliseconds.
pub fn epoch_ms_of(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// How long from `start` to `end` (API times), milliseconds: how long a finished run took. `None` when
/// either is missing or unreadable or the span is not positive.
pub fn span_ms(start: Option<&str>, end: Option<&str>) -> Option<u64> {
    let (start, end) = (epoch_ms_of(start?)?, epoch_ms_of(end?)?);
    u64::try_from(end.checked_sub(start)?)
        .ok()
        .filter(|&ms| ms > 0)
}

/// A fast 64-bit digest of `bytes`, continuing from `seed` (the digest of what came before, or 0), to
/// tell an answer the same as the last one. Not cryptographic: a server that forged a collision would
/// only hide a change of its own jobs. Two inputs of the same length that differ in one 8-byte word
/// never collide (each step is a bijection of the state).
pub fn digest(seed: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (seed ^ (bytes.len() as u64)).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h.rotate_left(23) ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    // Final mix (MurmurHash3's), so nearby inputs spread over all bits.
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h
}

/// The result of one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub jobs: Vec<Job>,
    /// The server's version, as it reports it (Jenkins: the `X-Jenkins` header).
    pub version: Option<String>,
    /// How many HTTP requests the poll took (the poller adds its "who broke it" questions).
    pub requests: usize,
    /// Requests left in the token's rate-limit window, when the server says (GitHub).
    pub rate_left: Option<u64>,
    /// A relay answered, but for a server it cannot reach (a `ledtogo` source): the jobs are the
    /// relay's last known ones and the server is in this state (never `Ok`), as a direct poll of
    /// that server would have found it. `None`: the jobs are current.
    pub upstream: Option<ServerState>,
    /// What a relay said of each of its servers (a `ledtogo` source; empty for the other kinds).
    pub relayed: Vec<Relayed>,
}

/// One of a relay's servers, as its feed described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relayed {
    pub name: String,
    /// The relay's own view of it.
    pub state: ServerState,
    pub jobs: usize,
    /// Who is on which of its jobs, by the desk's job ids (as the listing names the jobs); empty for a
    /// server the desk does not show (another `upstream`).
    pub acks: Vec<crate::ack::Ack>,
    /// Its jobs the relay flags flaky, by the desk's job ids; empty for a server the desk does not show.
    pub flaky: Vec<(crate::model::JobId, crate::model::flaky::FlakyJob)>,
}

/// Why a poll failed. Each maps to a [`ServerState`]; messages name the URL and what to do.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SourceError {
    #[error(
        "{url}: authentication needed (HTTP {status}): configure an API token for this server (with `user` for Jenkins, cctray feeds and ledtogo relays)"
    )]
    AuthNeeded { url: String, status: u16 },
    #[error("{url}: token rejected (HTTP 401): check the user name and API token")]
    TokenRejected { url: String },
    #[error("{url}: rate limited (HTTP {status}): retrying after {}", http::describe_time(*until))]
    RateLimited {
        url: String,
        status: u16,
        until: SystemTime,
    },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error(
        "{url}: not a JSON API answer: {content_type:?} (a login page or proxy in the way? check the URL)"
    )]
    NotJson { url: String, content_type: String },
    #[error(
        "{url}: not a cctray XML feed: {content_type:?} (a login page or proxy in the way? check the URL)"
    )]
    NotXml { url: String, content_type: String },
    #[error("{url}: the answer is not valid {what}: {reason}")]
    BadAnswer {
        url: String,
        what: &'static str,
        reason: String,
    },
    #[error("{url}: {reason}")]
    Network { url: String, reason: String },
    #[error("cannot use CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    /// The server entry cannot be used as configured (e.g. its token is missing).
    #[error("{0}")]
    Setup(String),
}

impl SourceError {
    /// The server state this failure puts the server in.
    pub fn server_state(&self) -> ServerState {
        match self {
            SourceError::AuthNeeded { .. } => ServerState::AuthNeeded,
            SourceError::TokenRejected { .. } => ServerState::TokenRejected,
            SourceError::RateLimited { until, .. } => ServerState::Unreachable(format!(
                "rate limited until {}",
                http::describe_time(*until)
            )),
            SourceError::Status { status, .. } => {
                ServerState::Unreachable(format!("HTTP {status}"))
            }
            SourceError::NotJson { content_type, .. } => {
                ServerState::Unreachable(format!("not a JSON API answer ({content_type})"))
            }
            SourceError::NotXml { content_type, .. } => {
                ServerState::Unreachable(format!("not a cctray XML feed ({content_type})"))
            }
            SourceError::BadAnswer { what, reason, .. } => {
                ServerState::Unreachable(format!("invalid {what}: {reason}"))
            }
            SourceError::Network { reason, .. } => ServerState::Unreachable(reason.clone()),
            SourceError::CaFile { reason, .. } => {
                ServerState::Unreachable(format!("CA file: {reason}"))
            }
            SourceError::Setup(reason) => ServerState::Unreachable(reason.clone()),
        }
    }

    /// The earliest time the server wants to be asked again, when it said so.
    pub fn retry_at(&self) -> Option<SystemTime> {
        match self {
            SourceError::RateLimited { until, .. } => Some(*until),
            _ => None,
        }
    }
}

/// The shortest interval between two polls that the kind's rate limit allows for this entry (GitHub:
/// its share of the token's hourly budget, see [`github::min_interval`]); zero when it sets none.
pub fn min_interval(kind: &ServerKind) -> Duration {
    match kind {
        ServerKind::GitHub { repos } => github::min_interval(repos.len()),
        _ => Duration::ZERO,
    }
}

/// Builds the source for a configured server, with its token looked up now.
pub fn open(server: &ServerConfig, timeout: Duration) -> Result<Box<dyn Source>, SourceError> {
    let credentials = credentials::lookup(server).map_err(|e| SourceError::Setup(e.to_string()))?;
    open_with(server, timeout, credentials)
}

/// Like [`open`], with the credentials given (the settings form tests a token before it is saved).
pub fn open_with(
    server: &ServerConfig,
    timeout: Duration,
    credentials: Option<Credentials>,
) -> Result<Box<dyn Source>, SourceError> {
    let settings = http::HttpSettings::new(timeout)
        .credentials(credentials)
        .ca_file(server.ca_file.clone());
    Ok(match &server.kind {
        ServerKind::Jenkins => Box::new(jenkins::Client::new(jenkins::Settings {
            name: server.name.clone(),
            base: jenkins::tree::normalize_base(&server.url),
            root: server.root.clone(),
            http: settings,
        })?),
        ServerKind::Cctray => Box::new(cctray::Client::new(cctray::Settings {
            name: server.name.clone(),
            url: server.url.clone(),
            http: settings,
        })?),
        ServerKind::GitLab { projects } => Box::new(gitlab::Client::new(gitlab::Settings {
            name: server.name.clone(),
            base: server.url.clone(),
            projects: projects.clone(),
            http: settings,
        })?),
        ServerKind::GitHub { repos } => Box::new(github::Client::new(github::Settings {
            name: server.name.clone(),
            base: server.url.clone(),
            repos: repos.clone(),
            http: settings,
        })?),
        ServerKind::Ledtogo { upstream } => Box::new(ledtogo::Client::new(ledtogo::Settings {
            name: server.name.clone(),
            url: server.url.clone(),
            upstream: upstream.clone(),
            http: settings,
        })?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_tells_any_changed_byte_and_any_length_apart() {
        let body = br#"{"jobs":[{"name":"api","color":"blue"},{"name":"web","color":"red"}]}"#;
        assert_eq!(digest(0, body), digest(0, body));
        let mut changed = body.to_vec();
        for i in 0..changed.len() {
            changed[i] ^= 1;
            assert_ne!(digest(0, &changed), digest(0, body), "byte {i}");
            changed[i] ^= 1;
        }
        assert_ne!(
            digest(0, b"a"),
            digest(0, b"a\0"),
            "zero padding is not the same"
        );
        assert_ne!(digest(0, b""), digest(1, b""), "the seed counts");
        assert_ne!(
            digest(digest(0, b"ab"), b"c"),
            digest(digest(0, b"a"), b"bc"),
            "where one part ends counts"
        );
    }
}
