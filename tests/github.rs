//! The GitHub Actions source against a fake GitHub API on loopback (tests/support/github.rs): runs to
//! jobs, the bearer token, 304s to `If-None-Match`, rate limits, a missing repository, names with
//! spaces and unicode; and the binary end to end (`check`, `--headless --print-frames`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ledtogo::config::Colors;
use ledtogo::model::{Blame, Job, JobState, ServerState};
use ledtogo::sources::github::{Client, Settings};
use ledtogo::sources::http::HttpSettings;
use ledtogo::sources::{Credentials, Source as _, SourceError};

mod support;
use support::frames::{Frames, shown};
use support::github::{FakeGitHub, FakeRun};
use support::ledtogo;

fn client(fake: &FakeGitHub, repos: &[&str], token: Option<&str>) -> Client {
    Client::new(Settings {
        name: "gh".into(),
        base: fake.url().into(),
        repos: repos.iter().map(|r| (*r).to_owned()).collect(),
        http: HttpSettings::new(Duration::from_secs(5))
            .credentials(token.map(|t| Credentials::new("", t))),
    })
    .unwrap()
}

fn job<'a>(jobs: &'a [Job], path: &[&str]) -> &'a Job {
    jobs.iter()
        .find(|j| j.id.path == path)
        .unwrap_or_else(|| panic!("{path:?} not in {jobs:#?}"))
}

fn acme_api() -> Vec<FakeRun> {
    vec![
        FakeRun::running("CI", "main", 43, "in_progress"),
        FakeRun::completed("CI", "main", 42, "failure").by("octocat", "Break the build\n\nOops"),
        FakeRun::completed("CI", "main", 41, "success"),
        FakeRun::completed("Build & test ✓", "feature/ü", 7, "cancelled"),
        FakeRun::completed("Nightly", "main", 3, "exploded"),
    ]
}

#[test]
fn each_repo_takes_one_request_with_the_bearer_token_and_its_runs_become_jobs() {
    let fake = FakeGitHub::start();
    fake.require_token("ghp_secret");
    fake.set_runs("acme/api", acme_api());
    fake.set_runs(
        "acme/web",
        vec![FakeRun::completed("Deploy", "main", 5, "success")],
    );
    let listing = client(&fake, &["acme/api", "acme/web"], Some("ghp_secret"))
        .fetch()
        .unwrap();
    assert_eq!(listing.requests, 2);
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/repos/acme/api/actions/runs?per_page=100");
    assert_eq!(seen[1].path, "/repos/acme/web/actions/runs?per_page=100");
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer ghp_secret"));
    assert_eq!(seen[0].if_none_match, None, "nothing to compare with yet");

    let jobs = &listing.jobs;
    assert_eq!(jobs.len(), 4);
    let main = job(jobs, &["acme", "api", "CI", "main"]);
    assert_eq!(main.display_name, "CI · main");
    assert_eq!(main.state, JobState::Failure, "the last finished run");
    assert!(main.building, "run 43 is in progress");
    let build = main.last_build.as_ref().unwrap();
    assert_eq!(build.number, 43);
    assert_eq!(
        build.url.as_deref(),
        Some("https://github.com/acme/api/actions/runs/30433042"),
        "the run that failed"
    );
    assert_eq!(
        build.blame,
        Some(Blame {
            who: "octocat".into(),
            what: Some("Break the build".into())
        })
    );
    assert_eq!(
        main.url,
        "https://github.com/acme/api/actions/runs/30433043"
    );

    let unicode = job(jobs, &["acme", "api", "Build & test ✓", "feature%2Fü"]);
    assert_eq!(unicode.display_name, "Build & test ✓ · feature/ü");
    assert_eq!(unicode.state, JobState::Aborted, "cancelled");
    assert_eq!(
        unicode.id.readable_name(),
        "acme/api/Build & test ✓/feature/ü"
    );

    let nightly = job(jobs, &["acme", "api", "Nightly", "main"]);
    assert_eq!(
        nightly.state,
        JobState::Unknown,
        "a conclusion GitHub may add one day"
    );
    assert_eq!(
        job(jobs, &["acme", "web", "Deploy", "main"]).state,
        JobState::Success
    );
}

#[test]
fn a_wrong_token_is_rejected_as_such() {
    let fake = FakeGitHub::start();
    fake.require_token("ghp_right");
    fake.set_runs("acme/api", acme_api());
    let err = client(&fake, &["acme/api"], Some("ghp_wrong"))
        .fetch()
        .unwrap_err();
    assert!(matches!(err, SourceError::TokenRejected { .. }), "{err:?}");
    assert_eq!(err.server_state(), ServerState::TokenRejected);
    let err = client(&fake, &["acme/api"], None).fetch().unwrap_err();
    assert!(
        matches!(err, SourceError::TokenRejected { .. }),
        "no token: {err:?}"
    );
}

#[test]
fn an_unchanged_repo_answers_304_to_its_etag_and_keeps_its_jobs() {
    let fake = FakeGitHub::start();
    fake.set_runs("acme/api", acme_api());
    let client = client(&fake, &["acme/api"], None);
    let first = client.fetch().unwrap();
    let second = client.fetch().unwrap();
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1].if_none_match.as_deref(),
        Some("W/\"acme-api-1\""),
        "the ETag of the first answer"
    );
    assert_eq!(second.jobs, first.jobs, "the 304 reuses the jobs");
    assert_eq!(second.requests, 1);
    assert_eq!(
        first.rate_left,
        Some(4998),
        "the budget left, as GitHub says"
    );
    assert_eq!(second.rate_left, Some(4999), "a 304 costs nothing");

    // A change gives a fresh answer with a new ETag.
    let mut runs = acme_api();
    runs.insert(0, FakeRun::completed("CI", "main", 44, "success"));
    fake.set_runs("acme/api", runs);
    let third = client.fetch().unwrap();
    let main = job(&third.jobs, &["acme", "api", "CI", "main"]);
    assert_eq!(main.state, JobState::Success);
    assert!(!main.building);
    let fourth = client.fetch().unwrap();
    assert_eq!(fourth.jobs, third.jobs);
    assert_eq!(
        fake.seen()[3].if_none_match.as_deref(),
        Some("W/\"acme-api-2\"")
    );
}

#[test]
fn a_spent_budget_is_rate_limited_until_the_reset_without_asking_further() {
    let fake = FakeGitHub::start();
    fake.set_runs("acme/api", acme_api());
    fake.set_runs("acme/web", acme_api());
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    fake.spend_budget_until(reset);
    let err = client(&fake, &["acme/api", "acme/web"], None)
        .fetch()
        .unwrap_err();
    let until = UNIX_EPOCH + Duration::from_secs(reset);
    assert!(
        matches!(err, SourceError::RateLimited { status: 403, until: u, .. } if u == until),
        "{err:?}"
    );
    assert_eq!(err.retry_at(), Some(until), "the poller waits until then");
    let ServerState::Unreachable(shown) = err.server_state() else {
        panic!("{:?}", err.server_state());
    };
    assert!(shown.starts_with("rate limited until "), "{shown}");
    assert_eq!(fake.seen().len(), 1, "the second repo is not asked");
}

#[test]
fn a_missing_repo_fails_the_poll_and_names_itself() {
    let fake = FakeGitHub::start();
    fake.set_runs("acme/api", acme_api());
    let err = client(&fake, &["acme/api", "acme/nope"], None)
        .fetch()
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("acme/nope") && message.contains("`repos`"),
        "{message}"
    );
    let ServerState::Unreachable(shown) = err.server_state() else {
        panic!("{:?}", err.server_state());
    };
    assert!(shown.contains("acme/nope"), "{shown}");
}

fn config_for(fake: &FakeGitHub, dir: &std::path::Path, poll: u32) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "poll_seconds = {poll}\n[[servers]]\nname = \"gh\"\nkind = \"github\"\nurl = \"{}\"\n\
             repos = [\"acme/api\", \"acme/web\"]\ntoken_env = \"LEDTOGO_TEST_GH_TOKEN\"\n\
             [strip]\nport = \"none\"\nleds = 3\n\
             [[slots]]\nled = 0\njob = \"acme/api/CI/main\"\n\
             [[slots]]\nled = 1\njob = \"acme/api/Build & test ✓/feature/ü\"\n\
             [[slots]]\nled = 2\njob = \"acme/web/Deploy/main\"\n",
            fake.url()
        ),
    )
    .unwrap();
    path
}

#[test]
fn check_says_how_often_the_budget_allows_polling() {
    let fake = FakeGitHub::start();
    let dir = tempfile::tempdir().unwrap();
    let path = config_for(&fake, dir.path(), 1);
    let out = ledtogo()
        .args(["check", "--config"])
        .arg(&path)
        .env("LEDTOGO_TEST_GH_TOKEN", "ghp_x")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "gh: 2 repos → at most one poll every 2 s (GitHub's 5,000 requests/h budget, 80 % of it \
             for ledtogo, so poll_seconds = 1 is raised to it)"
        ),
        "{stdout}"
    );
    assert!(fake.seen().is_empty(), "check asks no server");
}

#[test]
fn headless_print_frames_shows_a_failed_workflow_run() {
    let fake = FakeGitHub::start();
    fake.require_token("ghp_e2e");
    fake.set_runs(
        "acme/api",
        vec![
            FakeRun::completed("CI", "main", 42, "failure"),
            FakeRun::completed("Build & test ✓", "feature/ü", 7, "success"),
        ],
    );
    fake.set_runs(
        "acme/web",
        vec![FakeRun::completed("Deploy", "main", 5, "success")],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = config_for(&fake, dir.path(), 10);
    let frames = Frames::start_with(&path, &[("LEDTOGO_TEST_GH_TOKEN", "ghp_e2e")]);
    let c = Colors::default();
    let want = [shown(c.failure), shown(c.success), shown(c.success)];
    assert!(
        frames.wait_for(&want),
        "no frame showed the failure; the last was {:?}",
        frames.last()
    );
    assert!(
        fake.seen()
            .iter()
            .all(|s| s.authorization.as_deref() == Some("Bearer ghp_e2e"))
    );
}
