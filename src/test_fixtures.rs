//! Builders for the jobs and snapshots of unit tests, shared by the model, the frame and the tray.
//!
//! [`job`] is a finished job with build #1 and a page under `http://{server}.example/`; `.building()`,
//! `.running_since(start, estimate)`, `.numbered(n)` and `.at(url)` change that. [`server`] is a server that has answered before; [`ci`] and
//! [`ci_ok`] are snapshots of the one server `ci`, [`snapshot`] of several.

use crate::model::{Build, Job, JobId, JobState, ServerSnapshot, ServerState, Snapshot};

/// The job `path` (a full name: `team/api`) of `server`, showing `state`: its last build, #1, finished with
/// it. The display name is the last path segment.
pub(crate) fn job(server: &str, path: &str, state: JobState) -> Job {
    let id = JobId::new(server, path);
    Job {
        display_name: id.path.last().cloned().unwrap_or_default(),
        url: format!("http://{server}.example/job/{}/", id.path.join("/job/")),
        id,
        state,
        building: false,
        last_build: Some(Build {
            number: 1,
            result: Some(state),
            building: false,
            timestamp_ms: None,
            estimated_ms: None,
            url: None,
            blame: None,
        }),
    }
}

impl Job {
    /// The same job with a build running: `state` stays the last finished result, the running build has none.
    pub(crate) fn building(mut self) -> Job {
        self.building = true;
        if let Some(build) = &mut self.last_build {
            build.building = true;
            build.result = None;
        }
        self
    }

    /// The same job building since `started_ms` (epoch ms), expected to take `estimated_ms`.
    pub(crate) fn running_since(self, started_ms: i64, estimated_ms: u64) -> Job {
        let mut job = self.building();
        if let Some(build) = &mut job.last_build {
            build.timestamp_ms = Some(started_ms);
            build.estimated_ms = Some(estimated_ms);
        }
        job
    }

    /// The same job with its last build numbered `number`.
    pub(crate) fn numbered(mut self, number: u64) -> Job {
        if let Some(build) = &mut self.last_build {
            build.number = number;
        }
        self
    }

    /// The same job with its page at `url`.
    pub(crate) fn at(mut self, url: impl Into<String>) -> Job {
        self.url = url.into();
        self
    }
}

/// A server whose last poll ended in `state`, listing `jobs` (it has answered at least once before).
pub(crate) fn server(state: ServerState, jobs: Vec<Job>) -> ServerSnapshot {
    ServerSnapshot {
        state,
        jobs: jobs.into_iter().map(|j| (j.id.path.clone(), j)).collect(),
        seen_ok: true,
        version: None,
    }
}

/// A snapshot of these servers, by name.
pub(crate) fn snapshot<'a>(
    servers: impl IntoIterator<Item = (&'a str, ServerSnapshot)>,
) -> Snapshot {
    Snapshot {
        servers: servers
            .into_iter()
            .map(|(name, s)| (name.to_owned(), s))
            .collect(),
        ..Snapshot::default()
    }
}

/// A snapshot of the one server `ci`, in `state`, listing `jobs`.
pub(crate) fn ci(state: ServerState, jobs: Vec<Job>) -> Snapshot {
    snapshot([("ci", server(state, jobs))])
}

/// A snapshot of the one server `ci`, answering, listing `jobs`.
pub(crate) fn ci_ok(jobs: Vec<Job>) -> Snapshot {
    ci(ServerState::Ok, jobs)
}
