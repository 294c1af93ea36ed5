//! The relay's rich feed (`GET /api/json` of a ledtogo `[export]`): what one ledtogo saw of each of its
//! servers, exactly, so a desk reading the relay (`kind = "ledtogo"`) loses nothing a direct poll would
//! show: unstable, aborted, not built and disabled stay apart (cctray folds them into Failure/Unknown),
//! a job of a server the relay cannot reach arrives stale with the reason, and "who broke it" comes along.
//!
//! Both sides live here so they cannot drift: [`Feed::of`] writes the feed from a snapshot (the relay),
//! [`Feed::parse`] reads one (the desk) and [`Feed::servers`] turns it back into model values. The JSON
//! is versioned ([`FORMAT`]); values a newer relay adds are read as `unknown`, never as an error.
//!
//! Each server carries its acknowledgements ("I'm on it", [`crate::ack`]) by job path, so every desk
//! shows who is on what; a desk's own go to the relay as `POST /ack` (the `export` module). It carries
//! the jobs the relay flags flaky too, with their flips and last builds: the relay has watched them
//! longest, so a desk that just started shows the same flags (and digests their alerts).
//!
//! Everything read here came over the network: [`Feed::parse`] caps the counts and lengths, and a URL
//! is kept only when it is a web page address without credentials in it ([`crate::weburl::is_web_url`]),
//! on both sides.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ack::Ack;
use crate::model::flaky::{self, FlakyJob, Outcome, Seen};
use crate::model::{Blame, Build, Job, JobId, JobState, ServerState, Snapshot};
use crate::weburl;

/// The feed format this version writes and reads.
pub const FORMAT: u32 = 1;
/// The most servers a feed may list.
pub const MAX_SERVERS: usize = 256;
/// The most jobs a feed may list, all servers together.
pub const MAX_JOBS: usize = 100_000;
/// The most segments in a job's path (folders nest, but not this deep).
pub const MAX_DEPTH: usize = 32;
/// Text values (names, reasons, blame) longer than this are cut.
pub const MAX_TEXT: usize = 1024;
/// The most acknowledgements a feed may list, all servers together.
pub const MAX_ACKS: usize = 10_000;
/// The most flaky jobs a feed may list, all servers together.
pub const MAX_FLAKY: usize = 10_000;

/// The whole feed: `{"ledtogo": 1, "servers": […]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feed {
    /// The format version ([`FORMAT`]).
    pub ledtogo: u32,
    pub servers: Vec<FeedServer>,
}

/// One server as the relay sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedServer {
    /// The server's name in the relay's config.
    pub name: String,
    pub state: WireServerState,
    /// Why the server is not fine (for `unreachable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The server's version as it reports it (Jenkins' `X-Jenkins`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Whether the relay has had one good answer from it (before that, `jobs` is empty).
    #[serde(default)]
    pub seen_ok: bool,
    #[serde(default)]
    pub jobs: Vec<FeedJob>,
    /// Who is on which of its jobs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acks: Vec<FeedAck>,
    /// Which of its jobs the relay flags flaky ([`crate::flaky`]): the relay has watched them longest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flaky: Vec<FeedFlaky>,
}

/// A job the relay flags flaky, with its flips and last builds (see [`FlakyJob`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedFlaky {
    pub path: Vec<String>,
    /// Flips within the relay's window.
    pub flips: u32,
    /// The last builds the relay saw, newest first (at most [`flaky::LAST_SHOWN`] are kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last: Vec<FeedSeen>,
}

/// One finished build of a flaky job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedSeen {
    pub number: u64,
    /// When the relay saw it, epoch milliseconds.
    pub at_ms: i64,
    /// Failed (failure or unstable), else passed.
    pub failed: bool,
}

/// One acknowledgement: someone is on the job at `path` (see [`crate::ack::Ack`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedAck {
    pub path: Vec<String>,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Unix seconds.
    pub made_at: i64,
    /// Unix seconds.
    pub until: i64,
}

/// A server's state on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireServerState {
    Connecting,
    Ok,
    Unreachable,
    AuthNeeded,
    TokenRejected,
    /// A state a newer relay knows and this version does not.
    #[serde(other)]
    Unknown,
}

/// One job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedJob {
    /// The full name path, segments as the server names them (`["team-a", "web"]`).
    pub path: Vec<String>,
    pub display_name: String,
    /// The job page; empty when the relay had none it would pass on.
    #[serde(default)]
    pub url: String,
    pub state: WireJobState,
    #[serde(default)]
    pub building: bool,
    /// True when the relay's last poll of the server failed: the state is the last known one.
    #[serde(default)]
    pub stale: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_build: Option<FeedBuild>,
}

/// A job's last build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedBuild {
    pub number: u64,
    /// `None` while it runs.
    #[serde(default)]
    pub result: Option<WireJobState>,
    #[serde(default)]
    pub building: bool,
    /// Start time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_ms: Option<i64>,
    /// How long the build is expected to take, milliseconds (build progress on the desks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blame: Option<FeedBlame>,
}

/// Who is behind a build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedBlame {
    pub who: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
}

/// A job state on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireJobState {
    Success,
    Unstable,
    Failure,
    Aborted,
    NotBuilt,
    Disabled,
    #[serde(other)]
    Unknown,
}

impl From<JobState> for WireJobState {
    fn from(state: JobState) -> Self {
        match state {
            JobState::Success => WireJobState::Success,
            JobState::Unstable => WireJobState::Unstable,
            JobState::Failure => WireJobState::Failure,
            JobState::Aborted => WireJobState::Aborted,
            JobState::NotBuilt => WireJobState::NotBuilt,
            JobState::Disabled => WireJobState::Disabled,
            JobState::Unknown => WireJobState::Unknown,
        }
    }
}

impl From<WireJobState> for JobState {
    fn from(state: WireJobState) -> Self {
        match state {
            WireJobState::Success => JobState::Success,
            WireJobState::Unstable => JobState::Unstable,
            WireJobState::Failure => JobState::Failure,
            WireJobState::Aborted => JobState::Aborted,
            WireJobState::NotBuilt => JobState::NotBuilt,
            WireJobState::Disabled => JobState::Disabled,
            WireJobState::Unknown => JobState::Unknown,
        }
    }
}

/// Why a feed cannot be read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FeedError {
    #[error("not a ledtogo feed: {0}")]
    Json(String),
    #[error(
        "the relay speaks feed format {found}, this ledtogo reads format {FORMAT}: {}",
        if *found > FORMAT {
            "update this ledtogo (the desk) to the relay's version"
        } else {
            "update the relay's ledtogo to this version"
        }
    )]
    Format { found: u32 },
    #[error("the feed lists more than {limit} {what}")]
    TooMany { what: &'static str, limit: usize },
}

/// One server of a feed, back as model values (the desk side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayedServer {
    pub name: String,
    /// The relay's view of the server: `Ok`, or why its jobs are the last known ones.
    pub state: ServerState,
    pub version: Option<String>,
    pub seen_ok: bool,
    /// Its jobs, with their ids on the relay's server name.
    pub jobs: Vec<Job>,
    /// Who is on which of them, ids on the relay's server name, texts capped ([`Ack::capped`]).
    pub acks: Vec<Ack>,
    /// Its jobs the relay flags flaky, ids on the relay's server name.
    pub flaky: Vec<(JobId, FlakyJob)>,
}

impl Feed {
    /// The feed of everything in `snapshot` (the relay side): servers by name, jobs by path.
    pub fn of(snapshot: &Snapshot) -> Feed {
        let servers = snapshot
            .servers
            .iter()
            .map(|(name, server)| {
                let stale = server.stale();
                let (state, reason) = match &server.state {
                    ServerState::Connecting => (WireServerState::Connecting, None),
                    ServerState::Ok => (WireServerState::Ok, None),
                    ServerState::Unreachable(reason) => {
                        (WireServerState::Unreachable, Some(reason.clone()))
                    }
                    ServerState::AuthNeeded => (WireServerState::AuthNeeded, None),
                    ServerState::TokenRejected => (WireServerState::TokenRejected, None),
                };
                FeedServer {
                    name: name.clone(),
                    state,
                    reason,
                    version: server.version.clone(),
                    seen_ok: server.seen_ok,
                    jobs: server
                        .jobs
                        .values()
                        .map(|job| FeedJob::of(job, stale))
                        .collect(),
                    acks: snapshot
                        .acks
                        .iter()
                        .filter(|a| a.job.server == *name)
                        .map(|a| FeedAck {
                            path: a.job.path.clone(),
                            by: a.by.clone(),
                            note: a.note.clone(),
                            made_at: a.made_at,
                            until: a.until,
                        })
                        .collect(),
                    flaky: snapshot
                        .flaky
                        .iter()
                        .filter(|(id, _)| id.server == *name)
                        .map(|(id, job)| FeedFlaky {
                            path: id.path.clone(),
                            flips: job.flips,
                            last: job
                                .last
                                .iter()
                                .map(|seen| FeedSeen {
                                    number: seen.number,
                                    at_ms: seen.at_ms,
                                    failed: seen.outcome == Outcome::Failed,
                                })
                                .collect(),
                        })
                        .collect(),
                }
            })
            .collect();
        Feed {
            ledtogo: FORMAT,
            servers,
        }
    }

    /// Reads a feed from the bytes of an answer (the desk side), with the caps applied: too many
    /// servers or jobs is an error, over-long texts are cut, paths deeper than [`MAX_DEPTH`] and jobs
    /// with an empty path are dropped, URLs that are not plain web addresses are dropped.
    pub fn parse(bytes: &[u8]) -> Result<Feed, FeedError> {
        #[derive(Deserialize)]
        struct Version {
            ledtogo: u32,
        }
        let mut feed: Feed = match serde_json::from_slice::<Feed>(bytes) {
            Ok(feed) if feed.ledtogo == FORMAT => feed,
            Ok(feed) => {
                return Err(FeedError::Format {
                    found: feed.ledtogo,
                });
            }
            // Another format may not fit this one's shape: name the version when there is one.
            Err(e) => {
                return Err(match serde_json::from_slice::<Version>(bytes) {
                    Ok(v) if v.ledtogo != FORMAT => FeedError::Format { found: v.ledtogo },
                    _ => FeedError::Json(e.to_string()),
                });
            }
        };
        if feed.servers.len() > MAX_SERVERS {
            return Err(FeedError::TooMany {
                what: "servers",
                limit: MAX_SERVERS,
            });
        }
        let jobs: usize = feed.servers.iter().map(|s| s.jobs.len()).sum();
        if jobs > MAX_JOBS {
            return Err(FeedError::TooMany {
                what: "jobs",
                limit: MAX_JOBS,
            });
        }
        let acks: usize = feed.servers.iter().map(|s| s.acks.len()).sum();
        if acks > MAX_ACKS {
            return Err(FeedError::TooMany {
                what: "acknowledgements",
                limit: MAX_ACKS,
            });
        }
        let flaky: usize = feed.servers.iter().map(|s| s.flaky.len()).sum();
        if flaky > MAX_FLAKY {
            return Err(FeedError::TooMany {
                what: "flaky jobs",
                limit: MAX_FLAKY,
            });
        }
        for server in &mut feed.servers {
            server
                .acks
                .retain(|a| !a.path.is_empty() && a.path.len() <= MAX_DEPTH);
            server
                .flaky
                .retain(|f| !f.path.is_empty() && f.path.len() <= MAX_DEPTH);
            for f in &mut server.flaky {
                f.path.iter_mut().for_each(cap);
                f.last.truncate(flaky::LAST_SHOWN);
            }
            for ack in &mut server.acks {
                ack.path.iter_mut().for_each(cap);
            }
            cap(&mut server.name);
            cap_opt(&mut server.reason);
            cap_opt(&mut server.version);
            server
                .jobs
                .retain(|j| !j.path.is_empty() && j.path.len() <= MAX_DEPTH);
            for job in &mut server.jobs {
                job.path.iter_mut().for_each(cap);
                cap(&mut job.display_name);
                if !weburl::is_web_url(&job.url) {
                    job.url.clear();
                }
                if let Some(build) = &mut job.last_build {
                    build.url = build.url.take().filter(|u| weburl::is_web_url(u));
                    if let Some(blame) = &mut build.blame {
                        cap(&mut blame.who);
                        cap_opt(&mut blame.what);
                    }
                }
            }
        }
        Ok(feed)
    }

    /// The feed's servers as model values (the desk side). A server that is not fine keeps its jobs
    /// (the relay's last known ones) and says why in its state; a job the relay marks stale on a server
    /// it calls fine cannot be told apart and counts as its server's.
    pub fn servers(&self) -> Vec<RelayedServer> {
        self.servers
            .iter()
            .map(|server| RelayedServer {
                name: server.name.clone(),
                state: match server.state {
                    WireServerState::Ok => ServerState::Ok,
                    WireServerState::Connecting => ServerState::Connecting,
                    WireServerState::Unreachable => ServerState::Unreachable(
                        server
                            .reason
                            .clone()
                            .unwrap_or_else(|| "unreachable".to_owned()),
                    ),
                    WireServerState::AuthNeeded => ServerState::AuthNeeded,
                    WireServerState::TokenRejected => ServerState::TokenRejected,
                    WireServerState::Unknown => ServerState::Unreachable(
                        "a state this version does not know (update ledtogo)".to_owned(),
                    ),
                },
                version: server.version.clone(),
                seen_ok: server.seen_ok,
                jobs: server.jobs.iter().map(|j| j.to_job(&server.name)).collect(),
                acks: server
                    .acks
                    .iter()
                    .map(|a| {
                        let job = JobId {
                            server: server.name.clone(),
                            path: a.path.clone(),
                        };
                        Ack::capped(job, &a.by, a.note.as_deref(), a.made_at, a.until)
                    })
                    .collect(),
                flaky: server
                    .flaky
                    .iter()
                    .map(|f| {
                        let id = JobId {
                            server: server.name.clone(),
                            path: f.path.clone(),
                        };
                        let last = f
                            .last
                            .iter()
                            .map(|seen| Seen {
                                number: seen.number,
                                at_ms: seen.at_ms,
                                outcome: if seen.failed {
                                    Outcome::Failed
                                } else {
                                    Outcome::Passed
                                },
                            })
                            .collect();
                        (
                            id,
                            FlakyJob {
                                flips: f.flips,
                                last,
                            },
                        )
                    })
                    .collect(),
            })
            .collect()
    }

    /// The feed as JSON (the relay's answer body).
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing these plain structs cannot fail (no maps with non-string keys, no foreign types).
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl FeedJob {
    /// A model job on the wire; `stale` when its server's last poll failed.
    fn of(job: &Job, stale: bool) -> FeedJob {
        FeedJob {
            path: job.id.path.clone(),
            display_name: job.display_name.clone(),
            url: web_url(&job.url).unwrap_or_default(),
            state: job.state.into(),
            building: job.building,
            stale,
            last_build: job.last_build.as_ref().map(|b| FeedBuild {
                number: b.number,
                result: b.result.map(Into::into),
                building: b.building,
                timestamp_ms: b.timestamp_ms,
                estimated_ms: b.estimated_ms,
                url: b.url.as_deref().and_then(web_url),
                blame: b.blame.as_ref().map(|blame| FeedBlame {
                    who: blame.who.clone(),
                    what: blame.what.clone(),
                }),
            }),
        }
    }

    /// The model job, its id on `server`.
    fn to_job(&self, server: &str) -> Job {
        Job {
            id: JobId {
                server: server.to_owned(),
                path: self.path.clone(),
            },
            display_name: self.display_name.clone(),
            url: self.url.clone(),
            state: self.state.into(),
            building: self.building,
            last_build: self.last_build.as_ref().map(|b| Build {
                number: b.number,
                result: b.result.map(Into::into),
                building: b.building,
                timestamp_ms: b.timestamp_ms,
                estimated_ms: b.estimated_ms,
                url: b.url.clone(),
                blame: b.blame.as_ref().map(|blame| Blame {
                    who: blame.who.clone(),
                    what: blame.what.clone(),
                }),
            }),
        }
    }
}

/// `url` when it is a web page address without credentials (the one URL check), else `None`.
fn web_url(url: &str) -> Option<String> {
    weburl::is_web_url(url).then(|| url.to_owned())
}

fn cap(text: &mut String) {
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

fn cap_opt(text: &mut Option<String>) {
    if let Some(text) = text {
        cap(text);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::model::ServerSnapshot;

    fn job(server: &str, path: &str, state: JobState, building: bool) -> Job {
        Job {
            id: JobId::new(server, path),
            display_name: path.rsplit('/').next().unwrap().to_owned(),
            url: format!("https://ci.example.com/job/{path}/"),
            state,
            building,
            last_build: Some(Build {
                number: 42,
                result: (!building).then_some(state),
                building,
                timestamp_ms: Some(1_764_000_000_000),
                estimated_ms: building.then_some(300_000),
                url: Some(format!("https://ci.example.com/job/{path}/42/")),
                blame: (state == JobState::Failure).then(|| Blame {
                    who: "Mona".to_owned(),
                    what: Some("Fix the login test".to_owned()),
                }),
            }),
        }
    }

    fn snapshot() -> Snapshot {
        let mut office = ServerSnapshot::new();
        office.state = ServerState::Ok;
        office.seen_ok = true;
        office.version = Some("2.440".to_owned());
        for j in [
            job("office", "team-a/web", JobState::Unstable, false),
            job("office", "team-a/api", JobState::Failure, false),
            job("office", "deploy", JobState::Aborted, true),
            job("office", "old", JobState::Disabled, false),
            job("office", "new", JobState::NotBuilt, false),
        ] {
            office.jobs.insert(j.id.path.clone(), j);
        }
        let mut lab = ServerSnapshot::new();
        lab.state = ServerState::Unreachable("connection refused".to_owned());
        lab.seen_ok = true;
        let j = job("lab", "nightly", JobState::Success, false);
        lab.jobs.insert(j.id.path.clone(), j);
        let mut snapshot = Snapshot::default();
        snapshot.servers.insert("office".to_owned(), office);
        snapshot.servers.insert("lab".to_owned(), lab);
        snapshot
    }

    #[test]
    fn a_snapshot_read_back_from_its_feed_has_every_state_job_and_blame_exactly() {
        let snapshot = snapshot();
        let feed = Feed::parse(&Feed::of(&snapshot).to_json()).unwrap();
        let servers = feed.servers();
        assert_eq!(servers.len(), 2);
        for server in servers {
            let original = &snapshot.servers[&server.name];
            assert_eq!(server.state, original.state);
            assert_eq!(server.version, original.version);
            assert_eq!(server.seen_ok, original.seen_ok);
            let jobs: Vec<Job> = original.jobs.values().cloned().collect();
            assert_eq!(server.jobs, jobs, "server {}", server.name);
        }
    }

    #[test]
    fn acknowledgements_travel_with_their_server_and_come_back_capped() {
        let mut snapshot = snapshot();
        snapshot.acks.insert(Ack {
            job: JobId::new("office", "team-a/api"),
            by: "alice".into(),
            note: Some("looking at the flaky test".into()),
            made_at: 1_000,
            until: 2_000,
        });
        let feed = Feed::parse(&Feed::of(&snapshot).to_json()).unwrap();
        let servers = feed.servers();
        let office = servers.iter().find(|s| s.name == "office").unwrap();
        assert_eq!(
            office.acks,
            snapshot.acks.iter().cloned().collect::<Vec<_>>()
        );
        let lab = servers.iter().find(|s| s.name == "lab").unwrap();
        assert!(lab.acks.is_empty());

        let hostile = format!(
            "{{\"ledtogo\":1,\"servers\":[{{\"name\":\"office\",\"state\":\"ok\",\"acks\":[\
             {{\"path\":[\"api\"],\"by\":\"mallory\\n{}\",\"made_at\":0,\"until\":9999999999}},\
             {{\"path\":[],\"by\":\"nobody\",\"made_at\":0,\"until\":1}}]}}]}}",
            "x".repeat(5000)
        );
        let servers = Feed::parse(hostile.as_bytes()).unwrap().servers();
        let acks = &servers[0].acks;
        assert_eq!(acks.len(), 1, "an ack without a job is dropped");
        assert_eq!(acks[0].by.chars().count(), crate::ack::MAX_BY);
        assert!(!acks[0].by.contains('\n'));
        assert_eq!(acks[0].until, 24 * 3600, "never more than a day");
    }

    #[test]
    fn flaky_flags_travel_with_their_server_and_come_back_capped() {
        let mut snapshot = snapshot();
        let seen = |number, outcome| Seen {
            number,
            at_ms: 1_764_000_000_000 + i64::try_from(number).unwrap(),
            outcome,
        };
        let api = FlakyJob {
            flips: 3,
            last: vec![
                seen(9, Outcome::Failed),
                seen(8, Outcome::Passed),
                seen(7, Outcome::Failed),
            ],
        };
        snapshot
            .flaky
            .insert(JobId::new("office", "team-a/api"), api.clone());
        let feed = Feed::parse(&Feed::of(&snapshot).to_json()).unwrap();
        let servers = feed.servers();
        let office = servers.iter().find(|s| s.name == "office").unwrap();
        assert_eq!(
            office.flaky,
            vec![(JobId::new("office", "team-a/api"), api)]
        );
        let lab = servers.iter().find(|s| s.name == "lab").unwrap();
        assert!(lab.flaky.is_empty());

        let builds: Vec<String> = (0..50)
            .map(|n| format!("{{\"number\":{n},\"at_ms\":0,\"failed\":true}}"))
            .collect();
        let hostile = format!(
            "{{\"ledtogo\":1,\"servers\":[{{\"name\":\"office\",\"state\":\"ok\",\"flaky\":[\
             {{\"path\":[\"api\"],\"flips\":4,\"last\":[{}]}},{{\"path\":[],\"flips\":3}}]}}]}}",
            builds.join(",")
        );
        let servers = Feed::parse(hostile.as_bytes()).unwrap().servers();
        let flaky = &servers[0].flaky;
        assert_eq!(flaky.len(), 1, "a flag without a job is dropped");
        assert_eq!(flaky[0].1.flips, 4);
        assert_eq!(
            flaky[0].1.last.len(),
            flaky::LAST_SHOWN,
            "the last builds are capped"
        );
    }

    #[test]
    fn jobs_of_a_server_the_relay_cannot_reach_are_marked_stale_with_the_reason() {
        let feed = Feed::of(&snapshot());
        let lab = feed.servers.iter().find(|s| s.name == "lab").unwrap();
        assert_eq!(lab.state, WireServerState::Unreachable);
        assert_eq!(lab.reason.as_deref(), Some("connection refused"));
        assert!(lab.jobs.iter().all(|j| j.stale));
        let office = feed.servers.iter().find(|s| s.name == "office").unwrap();
        assert!(office.jobs.iter().all(|j| !j.stale));
    }

    #[test]
    fn the_feed_is_plain_json_with_readable_state_names() {
        let json = String::from_utf8(Feed::of(&snapshot()).to_json()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["ledtogo"], 1);
        let office = &value["servers"][1];
        assert_eq!(office["name"], "office");
        assert_eq!(office["state"], "ok");
        let states: Vec<&str> = office["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["state"].as_str().unwrap())
            .collect();
        assert_eq!(
            states,
            ["aborted", "not_built", "disabled", "failure", "unstable"]
        );
        assert_eq!(office["jobs"][3]["last_build"]["blame"]["who"], "Mona");
    }

    #[test]
    fn urls_with_credentials_or_odd_schemes_never_leave_the_relay() {
        let mut snapshot = snapshot();
        let office = snapshot.servers.get_mut("office").unwrap();
        let web = office.jobs.get_mut(&vec!["deploy".to_owned()]).unwrap();
        web.url = "https://alice:s3cret@ci.example.com/job/deploy/".to_owned();
        web.last_build.as_mut().unwrap().url = Some("file:///etc/passwd".to_owned());
        let json = String::from_utf8(Feed::of(&snapshot).to_json()).unwrap();
        assert!(
            !json.contains("s3cret") && !json.contains("alice"),
            "{json}"
        );
        assert!(!json.contains("file://"), "{json}");
    }

    #[test]
    fn a_hostile_feed_is_capped_and_cleaned_on_reading() {
        let long = "x".repeat(MAX_TEXT * 3);
        let deep: Vec<String> = (0..MAX_DEPTH + 1).map(|i| format!("f{i}")).collect();
        let json = serde_json::json!({
            "ledtogo": 1,
            "servers": [{
                "name": long,
                "state": "ok",
                "jobs": [
                    {"path": ["a"], "display_name": "a", "url": "javascript:alert(1)", "state": "success"},
                    {"path": [], "display_name": "no path", "state": "success"},
                    {"path": deep, "display_name": "too deep", "state": "success"},
                ]
            }]
        });
        let feed = Feed::parse(json.to_string().as_bytes()).unwrap();
        let server = &feed.servers[0];
        assert_eq!(server.name.len(), MAX_TEXT);
        assert_eq!(server.jobs.len(), 1, "only the job with a sane path stays");
        assert_eq!(server.jobs[0].url, "", "a script URL is dropped");
    }

    #[test]
    fn values_a_newer_relay_adds_read_as_unknown_and_extra_fields_are_ignored() {
        let json = br#"{"ledtogo": 1, "generated": "now", "servers": [{"name": "office",
            "state": "sleeping", "jobs": [{"path": ["web"], "display_name": "web", "state": "flaky",
            "eta": 3}]}]}"#;
        let feed = Feed::parse(json).unwrap();
        assert_eq!(feed.servers[0].state, WireServerState::Unknown);
        let server = &feed.servers()[0];
        assert!(matches!(server.state, ServerState::Unreachable(_)));
        assert_eq!(server.jobs[0].state, JobState::Unknown);
    }

    #[test]
    fn another_format_version_or_non_json_is_a_clear_error() {
        assert_eq!(
            Feed::parse(br#"{"ledtogo": 2, "servers": []}"#),
            Err(FeedError::Format { found: 2 })
        );
        let newer = Feed::parse(br#"{"ledtogo": 2, "servers": []}"#).unwrap_err();
        assert!(
            newer
                .to_string()
                .ends_with("update this ledtogo (the desk) to the relay's version"),
            "{newer}"
        );
        let older = Feed::parse(br#"{"ledtogo": 0, "servers": []}"#).unwrap_err();
        assert!(
            older
                .to_string()
                .ends_with("update the relay's ledtogo to this version"),
            "{older}"
        );
        let err = Feed::parse(b"<html>login</html>").unwrap_err();
        assert!(err.to_string().starts_with("not a ledtogo feed"), "{err}");
    }

    #[test]
    fn too_many_jobs_is_refused() {
        let jobs: Vec<serde_json::Value> = (0..=MAX_JOBS)
            .map(|i| serde_json::json!({"path": [i.to_string()], "display_name": "j", "state": "success"}))
            .collect();
        let json = serde_json::json!({"ledtogo": 1, "servers": [{"name": "s", "state": "ok", "jobs": jobs}]});
        assert_eq!(
            Feed::parse(json.to_string().as_bytes()),
            Err(FeedError::TooMany {
                what: "jobs",
                limit: MAX_JOBS
            })
        );
    }
}
