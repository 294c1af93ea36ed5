//! GitHub Actions: one `GET /repos/{owner}/{repo}/actions/runs?per_page=100` per configured repository
//! per poll, through [`crate::sources::http`] with the token as `Authorization: Bearer …`.
//!
//! A job is the latest run of one workflow on one branch: its path is `[owner, repo, workflow, branch]`
//! (the workflow and the branch through [`encode_level`], so `feature/x` stays one level), its name
//! `workflow · branch`. The runs come newest first; the first page of 100 holds the latest run of every
//! workflow and branch that ran recently, which is what a strip shows, so no further page is read (a
//! branch whose last run is older than the newest 100 runs of its repository is not listed).
//!
//! | run field                          | job                                                           |
//! |------------------------------------|---------------------------------------------------------------|
//! | `name`, `head_branch`              | the path (runs without a branch are left out)                 |
//! | `status` of the latest run         | `queued`, `waiting`, `in_progress`, `requested`, `pending` →  |
//! |                                    | building (the LED pulses the last result's colour)            |
//! | `conclusion` of the latest         | `success`, `neutral` → success; `failure`, `timed_out`,       |
//! | `completed` run                    | `startup_failure` → failure; `cancelled` → aborted;           |
//! |                                    | `action_required` → not built; any other value → unknown;     |
//! |                                    | `skipped` and `stale` runs did not run and are passed over    |
//! |                                    | (the run before them shows); no completed run → not built     |
//! | `run_number` of the latest run     | the build number (the running run's while one runs)           |
//! | `run_started_at` (`created_at`)    | the build's start time                                        |
//! | `updated_at` − `run_started_at` of | while a run runs, its expected duration (build progress)      |
//! | the run whose result shows         |                                                               |
//! | `html_url`                         | the job's page (the latest run), the build's page (the run    |
//! |                                    | whose result shows)                                           |
//! | `actor`, `head_commit.message`     | who broke it: the login (else `triggering_actor`, else the    |
//! |                                    | commit's author) and the commit's first line, of the run     |
//! |                                    | whose result shows                                            |
//!
//! **Conditional requests.** Each repository's `ETag` is kept with the jobs it gave, and sent back as
//! `If-None-Match`: an unchanged repository answers 304, which GitHub does not count against the rate
//! limit, and its jobs are reused.
//!
//! **Rate limits.** A 403/429 with `x-ratelimit-remaining: 0` or a `Retry-After` stops the poll at that
//! repository with [`SourceError::RateLimited`]: the poller asks nothing until the reset time and the
//! server shows "rate limited until …" (its jobs stay as they were, not failing). The interval itself
//! never spends more than this server's share of the token's budget: see [`min_interval`].
//!
//! **A repository that fails** (404: a wrong name or a token that cannot see it; 401; a bad answer)
//! fails the whole poll with a message naming the repository, so a missing repository never silently
//! vanishes from the strip; the other repositories' jobs stay as they were, stale, until it is fixed.

use std::collections::HashMap;
use std::io::Read;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Deserialize;

use crate::config::kinds::encode_level;
use crate::model::{Blame, Build, Job, JobId, JobState};
use crate::sources::http::{self, Accept, HttpClient, HttpSettings, Tagged};
use crate::sources::{Listing, Source, SourceError};

/// A token's requests per hour on github.com (a personal access token or a GitHub App's installation).
pub const HOURLY_BUDGET: u32 = 5_000;
/// The share of [`HOURLY_BUDGET`] ledtogo allows itself: the same token is often used by other tools
/// (the `gh` CLI, an editor), so polling leaves a fifth of it to them.
pub const BUDGET_SHARE: f64 = 0.8;
/// Runs asked for per repository and poll (GitHub's largest page).
pub const PER_PAGE: usize = 100;
/// Server texts (names, messages, logins) are cut to this many characters.
const MAX_VALUE: usize = 500;
/// Runs beyond this many in one answer are ignored (GitHub sends at most [`PER_PAGE`]).
const MAX_RUNS: usize = 1_000;

/// The shortest interval between two polls of a GitHub server with `repos` repositories that stays
/// within [`BUDGET_SHARE`] of the token's [`HOURLY_BUDGET`]: one request per repository per poll, so
/// `ceil(3600 s · repos / (5000 · 0.8))` — 1 s for one repository, 2 s for two, 9 s for ten. The
/// poller never goes faster, not even while a run is in progress (304 answers would cost nothing, but
/// the budget is kept for the worst case, when every repository changed).
pub fn min_interval(repos: usize) -> Duration {
    let per_hour = f64::from(HOURLY_BUDGET) * BUDGET_SHARE;
    let seconds = (3600.0 * repos as f64 / per_hour).ceil();
    Duration::from_secs_f64(seconds.max(0.0))
}

/// One GitHub server as the client needs it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    /// The API's base: `https://api.github.com/`, or GitHub Enterprise's `https://HOST/api/v3/`.
    pub base: String,
    /// `OWNER/REPO` each (checked by the config).
    pub repos: Vec<String>,
    /// Its credentials are sent as a bearer token.
    pub http: HttpSettings,
}

/// A client for one GitHub server. Keeps each repository's last `ETag` and the jobs it gave.
#[derive(Debug)]
pub struct Client {
    settings: Settings,
    http: HttpClient,
    /// Each repository's last fresh jobs and their `ETag` ([`HttpClient::get_cached`]).
    cache: Mutex<HashMap<String, Tagged<Vec<Job>>>>,
}

impl Client {
    pub fn new(settings: Settings) -> Result<Self, SourceError> {
        let http = HttpClient::new(&settings.http.clone().auth(http::AuthStyle::Bearer))?;
        Ok(Self {
            settings,
            http,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The URL of one repository's runs.
    pub fn runs_url(&self, repo: &str) -> String {
        format!(
            "{}/repos/{repo}/actions/runs?per_page={PER_PAGE}",
            self.settings.base.trim_end_matches('/')
        )
    }

    /// The jobs of one repository (from a fresh answer, or the cached ones on a 304), and the requests
    /// left in the token's window.
    fn fetch_repo(&self, repo: &str) -> Result<(Vec<Job>, Option<u64>), SourceError> {
        let url = self.runs_url(repo);
        let shown = http::without_query(&url);
        let mut last = self.cache.lock().remove(repo);
        let answer = self.http.get_cached(&url, Accept::Json, &mut last, |body| {
            read_runs(&shown, body).map(|runs| jobs_of(&self.settings.name, repo, runs))
        });
        if let Some(kept) = last {
            self.cache.lock().insert(repo.to_owned(), kept);
        }
        let answer = answer.map_err(|e| self.explain(repo, e))?;
        let rate_left = answer
            .header("x-ratelimit-remaining")
            .and_then(|v| v.trim().parse::<u64>().ok());
        Ok((answer.value, rate_left))
    }

    /// A repository's failure in words that name it and say what to do.
    fn explain(&self, repo: &str, e: SourceError) -> SourceError {
        match e {
            SourceError::Status { status: 404, .. } => SourceError::Setup(format!(
                "server {:?}: repository {repo} not found (HTTP 404): check its name in `repos`, \
                 and that the token can read it (a private repository needs the `repo` scope or \
                 Actions read access)",
                self.settings.name
            )),
            other => other,
        }
    }
}

impl Source for Client {
    fn fetch(&self) -> Result<Listing, SourceError> {
        let mut jobs = Vec::new();
        let mut requests = 0;
        let mut rate_left = None;
        for repo in &self.settings.repos {
            requests += 1;
            let (repo_jobs, left) = self.fetch_repo(repo)?;
            jobs.extend(repo_jobs);
            // The last answer's count is the newest.
            rate_left = left.or(rate_left);
        }
        Ok(Listing {
            jobs,
            version: None,
            requests,
            rate_left,
            upstream: None,
            relayed: Vec::new(),
        })
    }
}

/// The answer of `GET …/actions/runs` (the fields used; the others are skipped unread).
#[derive(Debug, Clone, Deserialize)]
pub struct Runs {
    pub workflow_runs: Vec<Run>,
}

/// One workflow run.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Run {
    /// The workflow's name.
    pub name: Option<String>,
    /// The workflow file, for a run whose workflow has no name.
    pub path: Option<String>,
    pub head_branch: Option<String>,
    pub run_number: Option<u64>,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
    pub run_started_at: Option<String>,
    /// For a completed run, about when it finished (the API has no end time of its own).
    pub updated_at: Option<String>,
    pub actor: Option<Account>,
    pub triggering_actor: Option<Account>,
    pub head_commit: Option<Commit>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Account {
    pub login: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Commit {
    pub message: Option<String>,
    pub author: Option<Person>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Person {
    pub name: Option<String>,
}

/// The answer read whole (a page of runs is a few hundred KB; the body is capped like every answer),
/// then parsed from memory: several times faster than parsing from the stream, and the fields not used
/// (most of each run) are skipped without being copied.
fn read_runs(url: &str, body: &mut dyn Read) -> Result<Runs, SourceError> {
    let mut bytes = Vec::new();
    body.read_to_end(&mut bytes)
        .map_err(|e| http::body_error(url, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| SourceError::BadAnswer {
        url: url.to_owned(),
        what: "GitHub workflow runs JSON",
        reason: e.to_string(),
    })
}

/// Whether a run's `status` means it is still to finish.
pub fn is_running(status: &str) -> bool {
    matches!(
        status,
        "queued" | "waiting" | "in_progress" | "requested" | "pending"
    )
}

/// A completed run's `conclusion` as a job state (`None`: the run did not run, `skipped` or `stale`,
/// and changes nothing).
pub fn state_of(conclusion: Option<&str>) -> Option<JobState> {
    Some(match conclusion? {
        "success" | "neutral" => JobState::Success,
        "failure" | "timed_out" | "startup_failure" => JobState::Failure,
        "cancelled" => JobState::Aborted,
        "action_required" => JobState::NotBuilt,
        "skipped" | "stale" => return None,
        _ => JobState::Unknown,
    })
}

fn cut(text: &str) -> String {
    crate::text::truncate(text.trim(), MAX_VALUE).into_owned()
}

impl Run {
    /// How long a completed run took, milliseconds: `run_started_at` (`created_at`) to `updated_at`;
    /// `None` when a time is missing or unreadable or the span is not positive.
    fn took_ms(&self) -> Option<u64> {
        let start = self
            .run_started_at
            .as_deref()
            .or(self.created_at.as_deref());
        super::span_ms(start, self.updated_at.as_deref())
    }

    fn completed(&self) -> bool {
        self.status.as_deref() == Some("completed")
    }

    fn running(&self) -> bool {
        self.status.as_deref().is_some_and(is_running)
    }

    /// The state a completed run shows (`None` for one that did not run, or is not completed).
    fn result(&self) -> Option<JobState> {
        if !self.completed() {
            return None;
        }
        match self.conclusion.as_deref() {
            None => Some(JobState::Unknown),
            some => state_of(some),
        }
    }

    fn workflow(&self) -> Option<String> {
        let name = self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let file = || {
            self.path
                .as_deref()
                .and_then(|p| p.rsplit('/').next())
                .map(str::trim)
                .filter(|n| !n.is_empty())
        };
        name.or_else(file).map(cut)
    }

    fn web_url(&self) -> Option<String> {
        self.html_url
            .as_deref()
            .filter(|u| u.len() <= 2_000 && crate::weburl::is_web_url(u))
            .map(str::to_owned)
    }

    fn blame(&self) -> Option<Blame> {
        let login = |a: &Option<Account>| {
            a.as_ref()
                .and_then(|a| a.login.as_deref())
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(cut)
        };
        let commit = self.head_commit.as_ref();
        let author = commit
            .and_then(|c| c.author.as_ref())
            .and_then(|a| a.name.as_deref())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(cut);
        let who = login(&self.actor)
            .or_else(|| login(&self.triggering_actor))
            .or(author)?;
        let what = commit
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
            .map(cut);
        Some(Blame { who, what })
    }
}

/// The jobs of one repository's runs: the latest run of each workflow on each branch, in the order of
/// their first appearance (newest first).
pub fn jobs_of(server: &str, repo: &str, runs: Runs) -> Vec<Job> {
    let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: HashMap<(String, String), Vec<Run>> = HashMap::new();
    for run in runs.workflow_runs.into_iter().take(MAX_RUNS) {
        let (Some(workflow), Some(branch)) = (
            run.workflow(),
            run.head_branch
                .as_deref()
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(cut),
        ) else {
            continue;
        };
        let key = (workflow, branch);
        let group = groups.entry(key.clone()).or_default();
        if group.is_empty() {
            order.push(key);
        }
        group.push(run);
    }
    order
        .into_iter()
        .filter_map(|key| {
            let runs = groups.remove(&key)?;
            Some(job_of(server, owner, name, &key.0, &key.1, &runs))
        })
        .collect()
}

/// The run with the highest number; the answer's own order (newest first) breaks ties (a re-run keeps
/// its number).
fn newest<'a>(runs: impl Iterator<Item = &'a Run>) -> Option<&'a Run> {
    let mut best: Option<&Run> = None;
    for run in runs {
        if best.is_none_or(|b| run.run_number.unwrap_or(0) > b.run_number.unwrap_or(0)) {
            best = Some(run);
        }
    }
    best
}

fn job_of(
    server: &str,
    owner: &str,
    repo: &str,
    workflow: &str,
    branch: &str,
    runs: &[Run],
) -> Job {
    // Runs that did not run (skipped, stale) change nothing, unless there is nothing else.
    let counted: Vec<&Run> = {
        let ran: Vec<&Run> = runs
            .iter()
            .filter(|r| !r.completed() || r.result().is_some())
            .collect();
        if ran.is_empty() {
            runs.iter().collect()
        } else {
            ran
        }
    };
    let latest = newest(counted.iter().copied());
    let shown = newest(counted.iter().copied().filter(|r| r.completed()));
    let building = latest.is_some_and(Run::running);
    let state = shown.and_then(Run::result).unwrap_or(JobState::NotBuilt);
    let url = latest
        .and_then(Run::web_url)
        .or_else(|| shown.and_then(Run::web_url))
        .unwrap_or_default();
    let last_build = latest.and_then(|run| {
        Some(Build {
            number: run.run_number?,
            result: run.result(),
            building,
            timestamp_ms: run
                .run_started_at
                .as_deref()
                .or(run.created_at.as_deref())
                .and_then(super::epoch_ms_of),
            estimated_ms: shown.filter(|_| building).and_then(Run::took_ms),
            url: shown.and_then(Run::web_url),
            blame: shown.or(latest).and_then(Run::blame),
        })
    });
    Job {
        id: JobId {
            server: server.to_owned(),
            path: vec![
                owner.to_owned(),
                repo.to_owned(),
                encode_level(workflow),
                encode_level(branch),
            ],
        },
        display_name: format!("{workflow} · {branch}"),
        url,
        state,
        building,
        last_build,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn runs(json: &str) -> Runs {
        serde_json::from_str(json).unwrap()
    }

    fn run(
        name: &str,
        branch: &str,
        number: u64,
        status: &str,
        conclusion: Option<&str>,
    ) -> String {
        serde_json::json!({
            "id": number * 1000,
            "name": name,
            "head_branch": branch,
            "run_number": number,
            "status": status,
            "conclusion": conclusion,
            "html_url": format!("https://github.com/acme/api/actions/runs/{}", number * 1000),
            "created_at": "2026-11-30T09:15:00Z",
            "run_started_at": "2026-11-30T09:15:30Z",
            // A completed run took 6 minutes (the API's last change of a run is about its end).
            "updated_at": "2026-11-30T09:21:30Z",
            "actor": {"login": format!("dev{number}")},
            "head_commit": {"message": format!("Change {number}\n\nDetails"), "author": {"name": "A"}}
        })
        .to_string()
    }

    fn answer(runs: &[String]) -> Runs {
        self::runs(&format!(
            "{{\"total_count\": {}, \"workflow_runs\": [{}]}}",
            runs.len(),
            runs.join(",")
        ))
    }

    #[test]
    fn the_budget_share_sets_the_shortest_interval() {
        assert_eq!(min_interval(0), Duration::ZERO);
        assert_eq!(min_interval(1), Duration::from_secs(1), "0.9 s rounded up");
        assert_eq!(min_interval(2), Duration::from_secs(2));
        assert_eq!(min_interval(10), Duration::from_secs(9));
        assert_eq!(min_interval(100), Duration::from_secs(90));
        // Polling every minimal interval stays within 80 % of 5,000 requests an hour.
        for repos in 1..200 {
            let polls_per_hour = 3600.0 / min_interval(repos).as_secs_f64();
            assert!(polls_per_hour * repos as f64 <= 4_000.0 + 1e-9, "{repos}");
        }
    }

    #[test]
    fn conclusions_map_to_states_and_unknown_ones_to_unknown() {
        let table = [
            ("success", Some(JobState::Success)),
            ("neutral", Some(JobState::Success)),
            ("failure", Some(JobState::Failure)),
            ("timed_out", Some(JobState::Failure)),
            ("startup_failure", Some(JobState::Failure)),
            ("cancelled", Some(JobState::Aborted)),
            ("action_required", Some(JobState::NotBuilt)),
            ("skipped", None),
            ("stale", None),
            ("exploded", Some(JobState::Unknown)),
        ];
        for (conclusion, want) in table {
            assert_eq!(state_of(Some(conclusion)), want, "{conclusion}");
        }
        for status in ["queued", "waiting", "in_progress", "requested", "pending"] {
            assert!(is_running(status), "{status}");
        }
        assert!(!is_running("completed"));
        assert!(!is_running("teleporting"), "an unknown status is not a run");
    }

    #[test]
    fn the_latest_run_per_workflow_and_branch_is_a_job() {
        let runs = answer(&[
            run("CI", "main", 12, "in_progress", None),
            run("CI", "feature/login", 11, "completed", Some("success")),
            run("CI", "main", 10, "completed", Some("failure")),
            run(
                "Build & test ✓",
                "feature/ü",
                4,
                "completed",
                Some("timed_out"),
            ),
            run("CI", "main", 9, "completed", Some("success")),
        ]);
        let jobs = jobs_of("gh", "acme/api", runs);
        assert_eq!(jobs.len(), 3);

        let main = &jobs[0];
        assert_eq!(main.id.path, ["acme", "api", "CI", "main"]);
        assert_eq!(main.display_name, "CI · main");
        assert_eq!(main.state, JobState::Failure, "the last completed run");
        assert!(main.building, "run 12 is in progress");
        assert_eq!(main.url, "https://github.com/acme/api/actions/runs/12000");
        let build = main.last_build.as_ref().unwrap();
        assert_eq!(build.number, 12, "the running run's number");
        assert_eq!(build.result, None);
        assert!(build.building);
        assert_eq!(build.timestamp_ms, Some(1_796_030_130_000));
        assert_eq!(
            build.estimated_ms,
            Some(6 * 60_000),
            "run 12 is expected to take as long as run 10, whose result shows"
        );
        assert_eq!(
            build.url.as_deref(),
            Some("https://github.com/acme/api/actions/runs/10000"),
            "the page of the run whose result shows"
        );
        let idle = jobs[1].last_build.as_ref().unwrap();
        assert_eq!(idle.estimated_ms, None, "nothing runs: no estimate");
        assert_eq!(
            build.blame,
            Some(Blame {
                who: "dev10".into(),
                what: Some("Change 10".into())
            }),
            "who broke it"
        );

        let login = &jobs[1];
        assert_eq!(login.id.path, ["acme", "api", "CI", "feature%2Flogin"]);
        assert_eq!(login.state, JobState::Success);
        assert!(!login.building);

        let unicode = &jobs[2];
        assert_eq!(
            unicode.id.path,
            ["acme", "api", "Build & test ✓", "feature%2Fü"]
        );
        assert_eq!(unicode.display_name, "Build & test ✓ · feature/ü");
        assert_eq!(unicode.state, JobState::Failure, "timed out");
        let kind = crate::config::ServerKind::GitHub {
            repos: vec!["acme/api".into()],
        };
        assert_eq!(
            kind.split_name("acme/api/Build & test ✓/feature/ü"),
            unicode.id.path,
            "a slot written the way people read it finds the job"
        );
    }

    #[test]
    fn skipped_runs_change_nothing_and_unknown_values_are_not_failures() {
        let jobs = jobs_of(
            "gh",
            "acme/api",
            answer(&[
                run("Deploy", "main", 8, "completed", Some("skipped")),
                run("Deploy", "main", 7, "completed", Some("success")),
                run("Lint", "main", 3, "completed", Some("skipped")),
                run("Docs", "main", 5, "teleporting", None),
                run("Docs", "main", 4, "completed", Some("exploded")),
                run("Nightly", "main", 1, "queued", None),
            ]),
        );
        let by_name = |n: &str| jobs.iter().find(|j| j.id.path[2] == n).unwrap();
        let deploy = by_name("Deploy");
        assert_eq!(deploy.state, JobState::Success);
        assert_eq!(
            deploy.last_build.as_ref().unwrap().number,
            7,
            "run 8 did not run"
        );
        assert_eq!(
            by_name("Lint").state,
            JobState::NotBuilt,
            "only skipped runs"
        );
        let docs = by_name("Docs");
        assert_eq!(docs.state, JobState::Unknown, "an unknown conclusion");
        assert!(!docs.building, "an unknown status is not a build");
        let nightly = by_name("Nightly");
        assert_eq!(nightly.state, JobState::NotBuilt, "never finished yet");
        assert!(nightly.building);
    }

    #[test]
    fn hostile_runs_are_cut_left_out_or_ignored() {
        let long = "x".repeat(10_000);
        let text = format!(
            r#"{{"workflow_runs": [
                {{"name": "{long}", "head_branch": "main", "run_number": 18446744073709551615,
                  "status": "completed", "conclusion": "failure", "html_url": "javascript:alert(1)",
                  "run_started_at": "yesterday", "actor": null, "triggering_actor": {{"login": " "}},
                  "head_commit": {{"message": "", "author": {{"name": "Eve"}}}}}},
                {{"name": "CI", "head_branch": null, "run_number": 2, "status": "completed"}},
                {{"name": null, "path": ".github/workflows/release.yml", "head_branch": "v1",
                  "status": "completed", "conclusion": null}}
            ]}}"#
        );
        let jobs = jobs_of("gh", "acme/api", runs(&text));
        assert_eq!(jobs.len(), 2, "the run without a branch is left out");
        assert!(jobs[0].id.path[2].chars().count() <= MAX_VALUE);
        assert_eq!(jobs[0].url, "", "a javascript: link is dropped");
        let build = jobs[0].last_build.as_ref().unwrap();
        assert_eq!(build.number, u64::MAX);
        assert_eq!(build.timestamp_ms, None);
        assert_eq!(build.url, None);
        assert_eq!(
            build.blame,
            Some(Blame {
                who: "Eve".into(),
                what: None
            }),
            "no login: the commit's author"
        );
        assert_eq!(jobs[1].id.path[2], "release.yml", "the workflow file");
        assert_eq!(
            jobs[1].state,
            JobState::Unknown,
            "completed without a conclusion"
        );
        assert_eq!(jobs[1].last_build, None, "no run number, no build");
        assert!(serde_json::from_str::<Runs>("{\"jobs\": []}").is_err());
    }
}
