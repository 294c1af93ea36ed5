//! GitLab pipelines: the latest pipeline of each ref of each configured project is a job. One GET per
//! project per poll through [`crate::sources::http`], `PRIVATE-TOKEN` auth, the project's full path
//! URL-encoded as its id (`/api/v4/projects/group%2Fsub%2Fproject/pipelines`), every value hostile.
//!
//! `GET /api/v4/projects/:id/pipelines?per_page=100&order_by=id&sort=desc` lists the newest pipelines
//! first; the pipelines of one ref map to a job:
//!
//! | job                | from                                                                       |
//! |--------------------|----------------------------------------------------------------------------|
//! | path               | the project's levels, then the ref as one level (`release%2F1.2`)          |
//! | display name       | the ref                                                                    |
//! | url                | the latest pipeline's `web_url` (http(s) only)                             |
//! | state              | the latest *finished* pipeline's `status`: `success` → success, `failed` → |
//! |                    | failure, `canceled`/`canceling` → aborted, `skipped`/`manual`/`scheduled`  |
//! |                    | → not built, anything else → unknown                                       |
//! | building           | the latest pipeline is `created`, `waiting_for_resource`, `preparing`,     |
//! |                    | `pending` or `running`                                                     |
//! | `last_build.number`| the finished pipeline's `iid` (per project, it only grows); while a newer  |
//! |                    | one runs, that plus one, as Jenkins' `lastBuild` is the running build: the |
//! |                    | engine takes "the number before" as the finished one, and that is the     |
//! |                    | finished pipeline's own `iid` (the running one's may be higher: iids count |
//! |                    | the pipelines of every ref)                                                |
//! | `last_build.url`   | the finished pipeline's `web_url`                                          |
//! | timestamp          | the latest pipeline's `created_at`                                         |
//! | `estimated_ms`     | while one runs, how long the finished one took (`created_at` to           |
//! |                    | `updated_at`): the running pipeline's progress                             |
//! | `last_build.blame` | on a break, the commit's author and title (below)                          |
//!
//! **One page per poll.** Only the latest pipelines per ref matter, and they are among the newest, so
//! the first 100 (the most GitLab gives per page) are read and no further pages: a ref whose latest
//! pipeline is older than the project's 100 newest pipelines is not listed (a slot on it shows the job
//! as missing). That keeps a poll at one request per project.
//!
//! **Who broke it.** The pipeline list names nobody. When a ref's latest finished pipeline is `failed`
//! and is not the one seen on the last poll, one more request, `GET
//! /projects/:id/repository/commits/:sha`, gives the commit's `author_name` (who) and `title` (what):
//! one request for both, where the single pipeline's `user` (who pushed or pressed "Run") would need a
//! second one for the title. The answer is kept per pipeline, so the next polls ask nothing; the first
//! poll after start asks nothing either (no alerts are made then). When that request fails, the
//! pipeline has no blame (one warning in the log) and it is not asked again.
//!
//! **Conditional requests.** When GitLab sends an `ETag`, the next poll sends `If-None-Match`, and a
//! 304 reuses that project's jobs.
//!
//! Errors: 401 is "token rejected", 403 "authentication needed", 404 names the project (a wrong path,
//! or a private project without a token that has `read_api`), 429 is rate limiting until `Retry-After`.
//! One failing project fails the poll, naming it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Read;

use parking_lot::Mutex;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};

use crate::config::kinds::encode_level;
use crate::model::{Blame, Build, Job, JobId, JobState, split_full_name};
use crate::sources::http::{self, Accept, Fetched, Get, HttpClient, HttpSettings};
use crate::sources::{Listing, Source, SourceError};

/// Pipelines asked for per poll and project (GitLab's largest page).
pub const PER_PAGE: usize = 100;
/// Pipelines read from one answer at most, whatever the server sends (the rest is skipped unread).
pub const MAX_PIPELINES: usize = 1_000;
/// Refs, names and titles are cut to this many characters.
const MAX_VALUE: usize = 1_000;

/// What stays as is in a project id: RFC 3986's unreserved characters (so `/` becomes `%2F`).
const PROJECT_ID: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One GitLab server entry as the client needs it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    /// The GitLab address with a trailing slash (`https://gitlab.com/`, `https://host/gitlab/`).
    pub base: String,
    /// Full project paths (`group/sub/project`).
    pub projects: Vec<String>,
    /// Its auth style is set to `PRIVATE-TOKEN` by [`Client::new`].
    pub http: HttpSettings,
}

/// A client for one GitLab server. Keeps, per project, the last answer's `ETag` and jobs, the finished
/// pipeline seen per ref and who broke which pipeline.
#[derive(Debug)]
pub struct Client {
    settings: Settings,
    http: HttpClient,
    cache: Mutex<HashMap<String, ProjectCache>>,
}

#[derive(Debug, Default)]
struct ProjectCache {
    etag: Option<String>,
    jobs: Vec<Job>,
    /// Ref → id of its latest finished pipeline on the last poll.
    finished: HashMap<String, u64>,
    /// Pipeline id → who broke it (`None`: asked, and no answer).
    blames: HashMap<u64, Option<Blame>>,
}

impl Client {
    pub fn new(mut settings: Settings) -> Result<Self, SourceError> {
        settings.http.auth = http::AuthStyle::PrivateToken;
        settings.base = crate::sources::jenkins::tree::normalize_base(&settings.base);
        let http = HttpClient::new(&settings.http)?;
        Ok(Self {
            settings,
            http,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// `{base}api/v4/projects/{url-encoded path}`.
    fn project_url(&self, project: &str) -> String {
        format!(
            "{}api/v4/projects/{}",
            self.settings.base,
            utf8_percent_encode(project, PROJECT_ID)
        )
    }

    /// One project's jobs and the requests they took.
    fn project(&self, project: &str) -> Result<(Vec<Job>, usize), SourceError> {
        let url = format!(
            "{}/pipelines?per_page={PER_PAGE}&order_by=id&sort=desc",
            self.project_url(project)
        );
        let shown = http::without_query(&url);
        let etag = self.cache.lock().get(project).and_then(|c| c.etag.clone());
        let get = Get {
            url: &url,
            accept: Accept::Json,
            if_none_match: etag.as_deref(),
        };
        let fetched = self
            .http
            .get(get, |body| read_pipelines(&shown, body))
            .map_err(|e| self.project_error(project, e))?;
        let (pipelines, etag) = match fetched {
            Fetched::NotModified(_) => {
                let jobs = self
                    .cache
                    .lock()
                    .get(project)
                    .map(|c| c.jobs.clone())
                    .unwrap_or_default();
                return Ok((jobs, 1));
            }
            Fetched::Fresh(answer) => {
                let etag = answer.header("etag").map(str::to_owned);
                (answer.value, etag)
            }
        };
        let refs = latest_per_ref(pipelines);

        // Who broke it: asked once per newly failed pipeline, never on the first poll.
        let (seen, mut blames) = match self.cache.lock().remove(project) {
            Some(c) => (Some(c.finished), c.blames),
            None => (None, HashMap::new()),
        };
        let mut requests = 1;
        for (git_ref, r) in &refs {
            let Some(done) = r.finished.as_ref().filter(|p| p.status == "failed") else {
                continue;
            };
            let Some(seen) = &seen else { continue };
            if blames.contains_key(&done.id) || seen.get(git_ref) == Some(&done.id) {
                continue;
            }
            requests += 1;
            blames.insert(done.id, self.blame(project, done));
        }
        let finished: HashMap<String, u64> = refs
            .iter()
            .filter_map(|(git_ref, r)| r.finished.as_ref().map(|p| (git_ref.clone(), p.id)))
            .collect();
        let current: HashSet<u64> = finished.values().copied().collect();
        blames.retain(|id, _| current.contains(id));

        let levels = split_full_name(project);
        let jobs: Vec<Job> = refs
            .into_iter()
            .map(|(git_ref, r)| {
                let blame = r
                    .finished
                    .as_ref()
                    .and_then(|p| blames.get(&p.id).cloned().flatten());
                r.into_job(&self.settings.name, &levels, &git_ref, blame)
            })
            .collect();
        self.cache.lock().insert(
            project.to_owned(),
            ProjectCache {
                etag,
                jobs: jobs.clone(),
                finished,
                blames,
            },
        );
        Ok((jobs, requests))
    }

    /// A failed request for `project`'s pipelines, with a 404 explained.
    fn project_error(&self, project: &str, e: SourceError) -> SourceError {
        match e {
            SourceError::Status { url, status: 404 } => SourceError::Setup(format!(
                "server {:?}: GitLab project {project:?} not found ({url}, HTTP 404): check \
                 `projects` and that the token has read_api",
                self.settings.name
            )),
            other => other,
        }
    }

    /// The commit's author and title for the failed `pipeline` (one request); `None` when it fails.
    fn blame(&self, project: &str, pipeline: &Pipeline) -> Option<Blame> {
        let sha = pipeline.sha.as_deref().filter(|s| is_sha(s))?;
        let url = format!("{}/repository/commits/{sha}", self.project_url(project));
        let answer = self.http.get_json(&url, |body| read_commit(&url, body));
        match answer {
            Ok(answer) => answer.value,
            Err(e) => {
                tracing::warn!(
                    "server {}: who broke pipeline {} of {project} is not known: {e}",
                    crate::text::visible(&self.settings.name),
                    pipeline.id
                );
                None
            }
        }
    }
}

impl Source for Client {
    fn fetch(&self) -> Result<Listing, SourceError> {
        let mut jobs = Vec::new();
        let mut requests = 0;
        for project in &self.settings.projects {
            let (mut more, n) = self.project(project)?;
            jobs.append(&mut more);
            requests += n;
        }
        Ok(Listing {
            jobs,
            version: None,
            requests,
            rate_left: None,
            upstream: None,
            relayed: Vec::new(),
        })
    }
}

/// A commit id as GitLab writes it: hex, 7 to 64 characters (SHA-1 or SHA-256).
fn is_sha(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One pipeline of the list, as far as it is used.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pipeline {
    pub id: u64,
    /// The project-wide number (older GitLab versions leave it out: the id is used then).
    #[serde(default)]
    pub iid: Option<u64>,
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(default)]
    pub sha: Option<String>,
    pub status: String,
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    /// About when a finished pipeline ended (its last change): with `created_at`, how long it took.
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Pipeline {
    fn number(&self) -> u64 {
        self.iid.unwrap_or(self.id)
    }

    /// How long a finished pipeline took, milliseconds (`created_at` to `updated_at`); `None` when a
    /// time is missing or unreadable or the span is not positive.
    fn took_ms(&self) -> Option<u64> {
        super::span_ms(self.created_at.as_deref(), self.updated_at.as_deref())
    }
}

/// Whether a pipeline with this status is still to finish.
pub fn is_running(status: &str) -> bool {
    matches!(
        status,
        "created" | "waiting_for_resource" | "preparing" | "pending" | "running"
    )
}

/// A finished pipeline's status as a job state.
pub fn state_of(status: &str) -> JobState {
    match status {
        "success" => JobState::Success,
        "failed" => JobState::Failure,
        "canceled" | "canceling" => JobState::Aborted,
        "skipped" | "manual" | "scheduled" => JobState::NotBuilt,
        _ => JobState::Unknown,
    }
}

/// A JSON array of pipelines, of which the first [`MAX_PIPELINES`] are kept.
#[derive(Debug)]
struct Pipelines(Vec<Pipeline>);

impl<'de> Deserialize<'de> for Pipelines {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Capped;
        impl<'de> Visitor<'de> for Capped {
            type Value = Pipelines;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array of pipelines")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pipelines, A::Error> {
                let mut out = Vec::new();
                loop {
                    if out.len() < MAX_PIPELINES {
                        match seq.next_element::<Pipeline>()? {
                            Some(p) => out.push(p),
                            None => break,
                        }
                    } else if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                }
                Ok(Pipelines(out))
            }
        }
        d.deserialize_seq(Capped)
    }
}

/// Reads a pipeline list from `body` (fetched from `url`), as a stream.
pub fn read_pipelines(url: &str, body: &mut dyn Read) -> Result<Vec<Pipeline>, SourceError> {
    let Pipelines(list) = read_json(url, body, "GitLab pipeline list")?;
    Ok(list)
}

fn read_json<T: serde::de::DeserializeOwned>(
    url: &str,
    body: &mut dyn Read,
    what: &'static str,
) -> Result<T, SourceError> {
    serde_json::from_reader(std::io::BufReader::new(body)).map_err(|e| {
        if e.is_io() {
            http::body_error(url, &std::io::Error::from(e))
        } else {
            SourceError::BadAnswer {
                url: http::without_query(url),
                what,
                reason: e.to_string(),
            }
        }
    })
}

/// A commit's author and title as blame (`None` without an author).
fn read_commit(url: &str, body: &mut dyn Read) -> Result<Option<Blame>, SourceError> {
    #[derive(Deserialize)]
    struct Commit {
        #[serde(default)]
        author_name: Option<String>,
        #[serde(default)]
        title: Option<String>,
    }
    let commit: Commit = read_json(url, body, "GitLab commit")?;
    let cut = |s: String| {
        let s = s.trim();
        (!s.is_empty()).then(|| crate::text::truncate(s, MAX_VALUE).into_owned())
    };
    Ok(commit.author_name.and_then(cut).map(|who| Blame {
        who,
        what: commit.title.and_then(cut),
    }))
}

/// The pipelines of one ref that make its job: the latest, and the latest finished.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RefPipelines {
    latest: Pipeline,
    finished: Option<Pipeline>,
}

/// The latest and latest finished pipeline of each ref (by id: newest first, whatever the order sent).
fn latest_per_ref(mut pipelines: Vec<Pipeline>) -> BTreeMap<String, RefPipelines> {
    pipelines.sort_by_key(|p| std::cmp::Reverse(p.id));
    let mut refs: BTreeMap<String, RefPipelines> = BTreeMap::new();
    for mut p in pipelines {
        let git_ref = crate::text::truncate(p.git_ref.trim(), MAX_VALUE).into_owned();
        if git_ref.is_empty() {
            continue;
        }
        p.web_url = p.web_url.filter(|u| crate::weburl::is_web_url(u));
        let done = !is_running(&p.status);
        match refs.get_mut(&git_ref) {
            None => {
                let finished = done.then(|| p.clone());
                refs.insert(
                    git_ref,
                    RefPipelines {
                        latest: p,
                        finished,
                    },
                );
            }
            Some(r) if r.finished.is_none() && done => r.finished = Some(p),
            Some(_) => {}
        }
    }
    refs
}

impl RefPipelines {
    fn into_job(
        self,
        server: &str,
        project: &[String],
        git_ref: &str,
        blame: Option<Blame>,
    ) -> Job {
        let building = is_running(&self.latest.status);
        let state = self
            .finished
            .as_ref()
            .map_or(JobState::NotBuilt, |p| state_of(&p.status));
        let done = self.finished.as_ref().map_or(0, Pipeline::number);
        let number = if building {
            done.saturating_add(1)
        } else {
            done
        };
        let mut path = project.to_vec();
        path.push(encode_level(git_ref));
        let url = self.latest.web_url.clone().unwrap_or_default();
        let timestamp_ms = self
            .latest
            .created_at
            .as_deref()
            .and_then(super::epoch_ms_of);
        let estimated_ms = self
            .finished
            .as_ref()
            .filter(|_| building)
            .and_then(Pipeline::took_ms);
        let last_build = Some(Build {
            number,
            result: (!building && state != JobState::Unknown).then_some(state),
            building,
            timestamp_ms,
            estimated_ms,
            url: self.finished.and_then(|p| p.web_url),
            blame: blame.filter(|_| state == JobState::Failure),
        });
        Job {
            id: JobId {
                server: server.to_owned(),
                path,
            },
            display_name: git_ref.to_owned(),
            url,
            state,
            building,
            last_build,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A list answer in the shape of GitLab's API documentation (fields this client ignores included).
    const LIST: &str = r#"[
      {"id": 1207, "iid": 58, "project_id": 31, "sha": "2e7a1d0c9b8f", "ref": "main",
       "status": "running", "source": "push", "created_at": "2026-11-30T09:20:00.000Z",
       "updated_at": "2026-11-30T09:21:00.000Z", "web_url": "https://gitlab.example.com/group/sub/project/-/pipelines/1207"},
      {"id": 1206, "iid": 57, "project_id": 31, "sha": "9c1f0e5a7d3b", "ref": "release/1.2",
       "status": "success", "source": "push", "created_at": "2026-11-30T09:10:00.000Z",
       "updated_at": "2026-11-30T09:15:00.000Z", "web_url": "https://gitlab.example.com/group/sub/project/-/pipelines/1206"},
      {"id": 1203, "iid": 54, "project_id": 31, "sha": "4b2d8e6f1a0c", "ref": "main",
       "status": "failed", "source": "push", "created_at": "2026-11-30T08:50:00.000Z",
       "updated_at": "2026-11-30T08:55:00.000Z", "web_url": "https://gitlab.example.com/group/sub/project/-/pipelines/1203"},
      {"id": 1201, "iid": 52, "project_id": 31, "sha": "7f3e2d1c0b9a", "ref": "main",
       "status": "success", "source": "push", "created_at": "2026-11-30T08:30:00.000Z",
       "updated_at": "2026-11-30T08:35:00.000Z", "web_url": "https://gitlab.example.com/group/sub/project/-/pipelines/1201"},
      {"id": 1200, "iid": 51, "project_id": 31, "sha": "0a9b8c7d6e5f", "ref": "fix-ü",
       "status": "waiting_for_callback", "source": "web", "created_at": "yesterday",
       "updated_at": null, "web_url": "javascript:alert(1)"}
    ]"#;

    fn jobs(text: &str) -> Vec<Job> {
        let pipelines = read_pipelines("https://gl/", &mut text.as_bytes()).unwrap();
        let project = split_full_name("group/sub/project");
        latest_per_ref(pipelines)
            .into_iter()
            .map(|(r, p)| p.into_job("lab", &project, &r, None))
            .collect()
    }

    fn job<'a>(jobs: &'a [Job], name: &str) -> &'a Job {
        jobs.iter().find(|j| j.display_name == name).unwrap()
    }

    #[test]
    fn the_latest_pipeline_of_each_ref_is_a_job_showing_the_latest_finished_one() {
        let jobs = jobs(LIST);
        assert_eq!(jobs.len(), 3, "one job per ref");
        let main = job(&jobs, "main");
        assert_eq!(main.id.path, ["group", "sub", "project", "main"]);
        assert_eq!(
            main.state,
            JobState::Failure,
            "the latest finished pipeline"
        );
        assert!(main.building, "a newer pipeline runs");
        assert_eq!(
            main.url,
            "https://gitlab.example.com/group/sub/project/-/pipelines/1207"
        );
        let build = main.last_build.as_ref().unwrap();
        assert_eq!(build.number, 55, "the finished iid, plus one while running");
        assert_eq!(build.result, None, "running");
        assert_eq!(
            build.url.as_deref(),
            Some("https://gitlab.example.com/group/sub/project/-/pipelines/1203"),
            "the finished pipeline's page"
        );
        assert_eq!(build.timestamp_ms, Some(1_796_030_400_000));
        assert_eq!(
            build.estimated_ms,
            Some(5 * 60_000),
            "the running pipeline is expected to take as long as the finished #54 (08:50 to 08:55)"
        );

        let release = job(&jobs, "release/1.2");
        assert_eq!(
            release.id.path,
            ["group", "sub", "project", "release%2F1.2"]
        );
        assert_eq!(release.state, JobState::Success);
        assert!(!release.building);
        assert_eq!(release.last_build.as_ref().unwrap().number, 57);
        assert_eq!(
            release.last_build.as_ref().unwrap().estimated_ms,
            None,
            "nothing runs: no estimate"
        );

        let fix = job(&jobs, "fix-ü");
        assert_eq!(
            fix.state,
            JobState::Unknown,
            "a status this version does not know"
        );
        assert!(!fix.building);
        assert_eq!(fix.url, "", "a javascript: link is dropped");
        assert_eq!(fix.last_build.as_ref().unwrap().timestamp_ms, None);
    }

    #[test]
    fn every_documented_status_has_its_state() {
        for (status, state) in [
            ("success", JobState::Success),
            ("failed", JobState::Failure),
            ("canceled", JobState::Aborted),
            ("skipped", JobState::NotBuilt),
            ("manual", JobState::NotBuilt),
            ("scheduled", JobState::NotBuilt),
            ("brand_new_status", JobState::Unknown),
        ] {
            assert_eq!(state_of(status), state, "{status}");
            assert!(!is_running(status), "{status}");
        }
        for status in [
            "created",
            "waiting_for_resource",
            "preparing",
            "pending",
            "running",
        ] {
            assert!(is_running(status), "{status}");
        }
    }

    #[test]
    fn a_ref_with_only_running_pipelines_is_not_built_yet() {
        let jobs = jobs(
            r#"[{"id": 9, "iid": 3, "ref": "new", "status": "pending", "web_url": "https://gl/p/9"}]"#,
        );
        assert_eq!(jobs[0].state, JobState::NotBuilt);
        assert!(jobs[0].building);
        assert_eq!(jobs[0].last_build.as_ref().unwrap().number, 1);
        assert_eq!(jobs[0].last_build.as_ref().unwrap().url, None);
    }

    #[test]
    fn answers_that_are_not_a_pipeline_list_say_why() {
        for (text, want) in [
            (r#"{"message": "404 Project Not Found"}"#, "a JSON array"),
            (
                r#"[{"id": "x", "ref": "main", "status": "success"}]"#,
                "invalid type",
            ),
            (r#"[{"id": 1, "ref": "main"}]"#, "status"),
            (r#"[{"id": 1, "ref": "main", "status": "success""#, "EOF"),
        ] {
            match read_pipelines("https://gl/api?x", &mut text.as_bytes()) {
                Err(SourceError::BadAnswer { url, reason, .. }) => {
                    assert_eq!(url, "https://gl/api");
                    assert!(reason.contains(want), "{text}: {reason}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_huge_list_is_read_up_to_the_cap() {
        let one = r#"{"id": 1, "ref": "main", "status": "success"}"#;
        let text = format!("[{}]", vec![one; MAX_PIPELINES + 500].join(","));
        let list = read_pipelines("https://gl/", &mut text.as_bytes()).unwrap();
        assert_eq!(list.len(), MAX_PIPELINES);
    }

    #[test]
    fn a_commit_is_blame_with_its_author_and_title_cut_to_size() {
        let text = format!(
            r#"{{"id": "4b2d8e6f1a0c", "title": "Fix the login test", "author_name": "{}",
                "message": "Fix the login test\n\nlong text"}}"#,
            "Jürgen ".repeat(500)
        );
        let blame = read_commit("https://gl/", &mut text.as_bytes())
            .unwrap()
            .unwrap();
        assert!(blame.who.starts_with("Jürgen"));
        assert!(blame.who.chars().count() <= MAX_VALUE);
        assert_eq!(blame.what.as_deref(), Some("Fix the login test"));
        let nobody = read_commit("https://gl/", &mut r#"{"title": "x"}"#.as_bytes()).unwrap();
        assert_eq!(nobody, None, "no author, no blame");
    }

    #[test]
    fn project_ids_are_the_url_encoded_path_and_shas_are_checked() {
        let client = Client::new(Settings {
            name: "lab".into(),
            base: "https://gitlab.example.com/gitlab".into(),
            projects: vec![],
            http: HttpSettings::new(std::time::Duration::from_secs(1)),
        })
        .unwrap();
        assert_eq!(
            client.project_url("group/sub.x/pröject_1"),
            "https://gitlab.example.com/gitlab/api/v4/projects/group%2Fsub.x%2Fpr%C3%B6ject_1"
        );
        assert!(is_sha("4b2d8e6f1a0c"));
        assert!(!is_sha("../../x"));
        assert!(!is_sha("abc"));
    }
}
