//! "I'm on it": acknowledgements of failing jobs, their one rule and their file.
//!
//! Someone acknowledges a failing or unstable job ([`acknowledge`]): its LED calms down (see
//! [`crate::frame`]), its notifications and sounds stop, and the tray and the window say who is on it.
//! The rule ([`settle`], pure, time passed in as Unix seconds):
//! - an acknowledgement lasts until the job is fixed (its state is success again on a server that
//!   answers), at most [`MAX_FOR`] (24 h); `--for 2h` ([`parse_for`]) shortens it, never lengthens it;
//! - a fix clears it, so the next failure alerts again; so does its expiry.
//!
//! Acknowledgements are not configuration: the engine keeps them in the state folder
//! ([`crate::state::state_file`] `acks.json`), written atomically on every change and read at start
//! ([`load`]); a file that cannot be read back is reported with its path and set aside (renamed to
//! `acks.json.bad`), never silently dropped. Who and the note come from people (or a relay): they are
//! capped here ([`MAX_BY`], [`MAX_NOTE`]) and shown through [`crate::text`].

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::acks::cap;
pub use crate::model::acks::{Ack, Acks, MAX_BY, MAX_FOR, MAX_NOTE};
use crate::model::{JobId, JobState, Snapshot, Transition};
use crate::state::Unusable;
use crate::text;

/// The most bytes of `acks.json` read back (a few hundred acknowledgements fit many times over).
pub const MAX_FILE: u64 = 1024 * 1024;

/// Why an acknowledgement was refused, or its file could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AckError {
    #[error("no job {job:?}{}: see `ledtogo check` or the window's job tree for the names", on_server(.server))]
    UnknownJob { job: String, server: Option<String> },
    #[error("{job:?} is a job of several servers ({}): say which with --server", .servers.join(", "))]
    Ambiguous { job: String, servers: Vec<String> },
    #[error("{job} is {state}, not failing or unstable: only a broken job can be acknowledged")]
    NotFailing { job: String, state: JobState },
    #[error("nobody is on {job:?}{}: `ledtogo ack --list` shows who is on what", on_server(.server))]
    NotAcknowledged { job: String, server: Option<String> },
    #[error(
        "--for {0:?} is not a duration like 30m, 2h or 1h30m (at most 24h; leave it out for \"until fixed\")"
    )]
    BadDuration(String),
    #[error("--by needs a name (who is on it)")]
    NoName,
}

fn on_server(server: &Option<String>) -> String {
    server
        .as_deref()
        .map(|s| format!(" on server {s:?}"))
        .unwrap_or_default()
}

/// `30m`, `2h`, `1h30m`, `90s`, `1d` as a duration (the config's notation,
/// [`crate::config::duration::parse_duration`]); at least a second. Longer than [`MAX_FOR`] is fine
/// here: [`acknowledge`] caps it.
pub fn parse_for(text: &str) -> Result<Duration, AckError> {
    match crate::config::duration::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(AckError::BadDuration(text.to_owned())),
    }
}

/// What a client asks of the running instance (through the instance socket), and
/// what a desk forwards to its relay (`POST /ack`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Bring the window up (the desktop app; a headless one refuses).
    Show,
    /// "I'm on it": acknowledge a failing job.
    Ack(AckRequest),
    /// Nobody is on the job any more.
    Clear {
        job: String,
        #[serde(default)]
        server: Option<String>,
    },
    /// Who is on what.
    List,
}

/// What someone asks for: "I'm on `job`" (its full name, or readable name; on `server` if given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRequest {
    pub job: String,
    #[serde(default)]
    pub server: Option<String>,
    /// How long at most, seconds (capped at [`MAX_FOR`]); `None`: until fixed, at most 24 h.
    #[serde(default)]
    pub for_secs: Option<u64>,
    #[serde(default)]
    pub note: Option<String>,
    pub by: String,
}

/// The job `name` (a full name like `team/api`, or its readable form) names on `server` (any server
/// when `None`, which must then be only one).
pub fn resolve(snapshot: &Snapshot, name: &str, server: Option<&str>) -> Result<JobId, AckError> {
    let wanted = crate::model::split_full_name(name);
    let mut found: Vec<JobId> = Vec::new();
    for (server_name, s) in &snapshot.servers {
        if server.is_some_and(|want| want != server_name) {
            continue;
        }
        if let Some(job) = s.jobs.get(&wanted) {
            found.push(job.id.clone());
        } else if let Some(job) = s
            .jobs
            .values()
            .find(|j| j.id.readable_name() == name.trim())
        {
            found.push(job.id.clone());
        }
    }
    match found.len() {
        0 => Err(AckError::UnknownJob {
            job: name.to_owned(),
            server: server.map(str::to_owned),
        }),
        1 => Ok(found.remove(0)),
        _ => Err(AckError::Ambiguous {
            job: name.to_owned(),
            servers: found.into_iter().map(|id| id.server).collect(),
        }),
    }
}

/// Checks `request` against `snapshot` at `now` and makes the acknowledgement: the job must be listed
/// and failing or unstable; `by` is capped to [`MAX_BY`], the note to [`MAX_NOTE`], the duration to
/// [`MAX_FOR`].
pub fn acknowledge(snapshot: &Snapshot, request: &AckRequest, now: i64) -> Result<Ack, AckError> {
    let id = resolve(snapshot, &request.job, request.server.as_deref())?;
    let state = snapshot.job(&id).map_or(JobState::Unknown, |j| j.state);
    if !state.is_broken() {
        return Err(AckError::NotFailing {
            job: text::visible(&id.to_string()).into_owned(),
            state,
        });
    }
    let by = cap(&request.by, MAX_BY);
    if by.is_empty() {
        return Err(AckError::NoName);
    }
    let secs = request
        .for_secs
        .unwrap_or(MAX_FOR.as_secs())
        .clamp(1, MAX_FOR.as_secs());
    Ok(Ack::capped(
        id,
        &by,
        request.note.as_deref(),
        now,
        now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)),
    ))
}

/// The acknowledgement `name` (on `server`) names among `acks`: by full or readable name, so one for a
/// job the server no longer lists can still be cleared.
pub fn find<'a>(acks: &'a Acks, name: &str, server: Option<&str>) -> Result<&'a Ack, AckError> {
    let wanted = crate::model::split_full_name(name);
    let mut found: Vec<&Ack> = acks
        .iter()
        .filter(|a| server.is_none_or(|s| s == a.job.server))
        .filter(|a| a.job.path == wanted || a.job.readable_name() == name.trim())
        .collect();
    match found.len() {
        0 => Err(AckError::NotAcknowledged {
            job: name.to_owned(),
            server: server.map(str::to_owned),
        }),
        1 => Ok(found.remove(0)),
        _ => Err(AckError::Ambiguous {
            job: name.to_owned(),
            servers: found.into_iter().map(|a| a.job.server.clone()).collect(),
        }),
    }
}

/// Why an acknowledgement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The job's state is success again.
    Fixed,
    /// Its time ran out.
    Expired,
}

/// The rule, applied at `now`: removes from `acks` every acknowledgement whose job is fixed (success on
/// a server whose last poll succeeded) or whose time ran out, and returns them with why. A job that is
/// still broken, not listed right now or on a server that does not answer keeps its acknowledgement
/// until it expires.
pub fn settle(acks: &mut Acks, snapshot: &Snapshot, now: i64) -> Vec<(Ack, Ended)> {
    let ended: Vec<(JobId, Ended)> = acks
        .iter()
        .filter_map(|ack| {
            let fixed = snapshot.servers.get(&ack.job.server).is_some_and(|s| {
                s.state.is_ok()
                    && s.jobs
                        .get(&ack.job.path)
                        .is_some_and(|j| j.state == JobState::Success)
            });
            if fixed {
                Some((ack.job.clone(), Ended::Fixed))
            } else if !ack.active(now) {
                Some((ack.job.clone(), Ended::Expired))
            } else {
                None
            }
        })
        .collect();
    ended
        .into_iter()
        .filter_map(|(id, why)| acks.remove(&id).map(|a| (a, why)))
        .collect()
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    crate::clock::epoch_ms() / 1000
}

/// Who runs this: the OS user name (`USER`, `LOGNAME`, `USERNAME`), else "someone".
pub fn default_by() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|n| n.trim().to_owned())
        .find(|n| !n.is_empty())
        .unwrap_or_else(|| "someone".to_owned())
}

/// One acknowledgement as `acks.json` (and the relay's feed) writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAck {
    pub server: String,
    /// The full name path, segments joined with `/` as the server names them.
    pub job: String,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub made_at: i64,
    pub until: i64,
}

impl From<&Ack> for StoredAck {
    fn from(a: &Ack) -> Self {
        Self {
            server: a.job.server.clone(),
            job: a.job.full_name(),
            by: a.by.clone(),
            note: a.note.clone(),
            made_at: a.made_at,
            until: a.until,
        }
    }
}

impl StoredAck {
    /// The acknowledgement, its texts capped (the file or a relay may say anything).
    pub fn to_ack(&self) -> Ack {
        Ack::capped(
            JobId::new(self.server.clone(), &self.job),
            &self.by,
            self.note.as_deref(),
            self.made_at,
            self.until,
        )
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    acks: Vec<StoredAck>,
}

const FILE_VERSION: u32 = 1;

/// Why `acks.json` could not be used.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot read the acknowledgements in {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the acknowledgements in {path} cannot be read back ({reason}); the file was set aside as {aside} and ledtogo starts with none"
    )]
    Corrupt {
        path: String,
        reason: String,
        aside: String,
    },
    #[error(
        "the acknowledgements in {path} cannot be read back ({reason}), and setting the file aside failed too ({error}): move it away by hand"
    )]
    CorruptStuck {
        path: String,
        reason: String,
        error: String,
    },
    #[error("cannot save the acknowledgements to {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Reads `path`: none when it does not exist; a file that is not what [`save`] writes is renamed to
/// `<name>.bad` and reported ([`StoreError::Corrupt`]), the caller starting with none.
pub fn load(path: &Path) -> Result<Acks, StoreError> {
    let shown = || path.display().to_string();
    let read = crate::state::read_json::<File>(path, MAX_FILE, |f| {
        if f.version == FILE_VERSION {
            Ok(())
        } else {
            Err(format!(
                "version {} is not {FILE_VERSION}: written by another ledtogo",
                f.version
            ))
        }
    });
    match read {
        Ok(None) => Ok(Acks::default()),
        Ok(Some(file)) => {
            let mut acks = Acks::default();
            for stored in &file.acks {
                acks.insert(stored.to_ack());
            }
            Ok(acks)
        }
        Err(Unusable::Read(source)) => Err(StoreError::Read {
            path: shown(),
            source,
        }),
        Err(Unusable::Corrupt { reason, aside }) => Err(StoreError::Corrupt {
            path: shown(),
            reason,
            aside: aside.display().to_string(),
        }),
        Err(Unusable::Stuck { reason, error }) => Err(StoreError::CorruptStuck {
            path: shown(),
            reason,
            error: error.to_string(),
        }),
    }
}

/// Writes every acknowledgement to `path`, atomically.
pub fn save(path: &Path, acks: &Acks) -> Result<(), StoreError> {
    let file = File {
        version: FILE_VERSION,
        acks: acks.iter().map(StoredAck::from).collect(),
    };
    let mut text = serde_json::to_string_pretty(&file).map_err(|e| StoreError::Write {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    text.push('\n');
    crate::config::write_atomic(path, text.as_bytes()).map_err(|source| StoreError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// `batch` without the breaks and failures of jobs someone is on at `now` (Unix seconds): their
/// notifications and sounds stop until the job is fixed or the acknowledgement ends. Fixes, outages and
/// every other job's changes stay.
pub fn without_acknowledged(batch: Vec<Transition>, acks: &Acks, now: i64) -> Vec<Transition> {
    batch
        .into_iter()
        .filter(|t| match t {
            Transition::Broke { job, .. } | Transition::StillFailing { job, .. } => {
                acks.active(job, now).is_none()
            }
            _ => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::ServerState;
    use crate::test_fixtures::{ci, ci_ok, job, server, snapshot};

    const T0: i64 = 1_800_000_000;

    fn request(job: &str) -> AckRequest {
        AckRequest {
            job: job.to_owned(),
            server: None,
            for_secs: None,
            note: Some("looking at the flaky test".to_owned()),
            by: "alice".to_owned(),
        }
    }

    fn failing_api() -> Snapshot {
        ci_ok(vec![
            job("ci", "team/api", JobState::Failure),
            job("ci", "web", JobState::Success),
        ])
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_for("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_for("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_for("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_for("1d").unwrap(), Duration::from_secs(86_400));
        for bad in ["", "h", "45", "2x", "-1h", "0m", "1.5h"] {
            assert_eq!(
                parse_for(bad),
                Err(AckError::BadDuration(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_acknowledgement_lasts_until_fixed_at_most_a_day_and_for_caps_it() {
        let s = failing_api();
        let ack = acknowledge(&s, &request("team/api"), T0).unwrap();
        assert_eq!(ack.job, JobId::new("ci", "team/api"));
        assert_eq!(ack.by, "alice");
        assert_eq!(ack.until, T0 + 24 * 3600, "default: at most 24 h");
        let two_hours = AckRequest {
            for_secs: Some(7200),
            ..request("team/api")
        };
        assert_eq!(acknowledge(&s, &two_hours, T0).unwrap().until, T0 + 7200);
        let a_week = AckRequest {
            for_secs: Some(7 * 86_400),
            ..request("team/api")
        };
        assert_eq!(
            acknowledge(&s, &a_week, T0).unwrap().until,
            T0 + 24 * 3600,
            "never above 24 h"
        );
    }

    #[test]
    fn only_a_listed_broken_job_can_be_acknowledged() {
        let s = failing_api();
        assert_eq!(
            acknowledge(&s, &request("web"), T0),
            Err(AckError::NotFailing {
                job: "ci:web".into(),
                state: JobState::Success
            })
        );
        assert!(matches!(
            acknowledge(&s, &request("nope"), T0),
            Err(AckError::UnknownJob { .. })
        ));
        let elsewhere = AckRequest {
            server: Some("other".into()),
            ..request("team/api")
        };
        let err = acknowledge(&s, &elsewhere, T0).unwrap_err();
        assert!(err.to_string().contains("on server \"other\""), "{err}");
        let nobody = AckRequest {
            by: " \n".into(),
            ..request("team/api")
        };
        assert_eq!(acknowledge(&s, &nobody, T0), Err(AckError::NoName));
    }

    #[test]
    fn a_job_of_two_servers_needs_the_server_named() {
        let s = snapshot([
            (
                "ci",
                server(
                    ServerState::Ok,
                    vec![job("ci", "team/api", JobState::Failure)],
                ),
            ),
            (
                "lab",
                server(
                    ServerState::Ok,
                    vec![job("lab", "team/api", JobState::Failure)],
                ),
            ),
        ]);
        let err = acknowledge(&s, &request("team/api"), T0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"team/api\" is a job of several servers (ci, lab): say which with --server"
        );
        let on_lab = AckRequest {
            server: Some("lab".into()),
            ..request("team/api")
        };
        assert_eq!(
            acknowledge(&s, &on_lab, T0).unwrap().job,
            JobId::new("lab", "team/api")
        );
    }

    #[test]
    fn a_fix_or_the_end_of_its_time_clears_it_and_nothing_else_does() {
        let mut acks = Acks::default();
        acks.insert(acknowledge(&failing_api(), &request("team/api"), T0).unwrap());
        assert!(
            settle(&mut acks, &failing_api(), T0 + 3600).is_empty(),
            "still failing"
        );
        let unreachable = ci(
            ServerState::Unreachable("timeout".into()),
            vec![job("ci", "team/api", JobState::Success)],
        );
        assert!(
            settle(&mut acks, &unreachable, T0 + 3600).is_empty(),
            "a server that does not answer proves nothing"
        );
        let gone = ci_ok(vec![]);
        assert!(settle(&mut acks, &gone, T0 + 3600).is_empty());

        let fixed = ci_ok(vec![job("ci", "team/api", JobState::Success)]);
        let ended = settle(&mut acks, &fixed, T0 + 3600);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].1, Ended::Fixed);
        assert!(
            acks.is_empty(),
            "a fix clears it: the next failure alerts again"
        );

        acks.insert(acknowledge(&failing_api(), &request("team/api"), T0).unwrap());
        assert!(
            acks.active(&JobId::new("ci", "team/api"), T0 + 24 * 3600 - 1)
                .is_some()
        );
        let ended = settle(&mut acks, &failing_api(), T0 + 24 * 3600);
        assert_eq!(ended[0].1, Ended::Expired);
        assert!(acks.is_empty());
    }

    #[test]
    fn who_and_the_note_are_capped_to_one_plain_line() {
        let hostile = AckRequest {
            by: format!("mallory\n{}", "x".repeat(100)),
            note: Some(format!("\u{202E}evil\r\n{}", "y".repeat(500))),
            ..request("team/api")
        };
        let ack = acknowledge(&failing_api(), &hostile, T0).unwrap();
        assert_eq!(ack.by.chars().count(), MAX_BY);
        assert!(ack.by.starts_with("mallory x"));
        let note = ack.note.clone().unwrap();
        assert_eq!(note.chars().count(), MAX_NOTE);
        let shown = ack.on_it();
        assert!(!shown.chars().any(text::is_hidden_control), "{shown:?}");
        assert!(!shown.contains('\n'));
        let plain = acknowledge(&failing_api(), &request("team/api"), T0).unwrap();
        assert_eq!(plain.on_it(), "on it: alice (looking at the flaky test)");
        assert_eq!(
            plain.remaining(T0 + 3600 + 600),
            "until fixed, at most 22 h 50 min more"
        );
    }

    #[test]
    fn acknowledgements_survive_a_save_and_a_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("acks.json");
        assert_eq!(load(&path).unwrap(), Acks::default(), "no file: none");
        let mut acks = Acks::default();
        acks.insert(acknowledge(&failing_api(), &request("team/api"), T0).unwrap());
        save(&path, &acks).unwrap();
        assert_eq!(load(&path).unwrap(), acks);
    }

    #[test]
    fn a_corrupt_file_is_reported_with_its_path_and_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acks.json");
        std::fs::write(&path, "{\"version\": 1, \"acks\": [tru").unwrap();
        let err = load(&path).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        let aside = dir.path().join("acks.json.bad");
        assert!(text.contains(&aside.display().to_string()), "{text}");
        assert!(!path.exists());
        assert_eq!(
            std::fs::read_to_string(&aside).unwrap(),
            "{\"version\": 1, \"acks\": [tru",
            "kept, not dropped"
        );
        assert_eq!(load(&path).unwrap(), Acks::default());
    }

    #[test]
    fn a_stored_acknowledgement_never_lasts_more_than_a_day() {
        let stored = StoredAck {
            server: "ci".into(),
            job: "team/api".into(),
            by: "alice".into(),
            note: None,
            made_at: T0,
            until: i64::MAX,
        };
        assert_eq!(stored.to_ack().until, T0 + 24 * 3600);
    }

    #[test]
    fn an_acknowledgement_is_found_by_either_name() {
        let mut acks = Acks::default();
        let s = ci_ok(vec![job("ci", "repo/feature%2Fx", JobState::Failure)]);
        acks.insert(acknowledge(&s, &request("repo/feature/x"), T0).unwrap());
        assert!(find(&acks, "repo/feature%2Fx", None).is_ok());
        assert!(find(&acks, "repo/feature/x", Some("ci")).is_ok());
        assert!(matches!(
            find(&acks, "repo/feature/x", Some("lab")),
            Err(AckError::NotAcknowledged { .. })
        ));
    }
}
