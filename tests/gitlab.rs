//! The GitLab source against a fake GitLab on loopback (`tests/support/gitlab.rs`): jobs per ref, the
//! statuses, the URL-encoded project id and `PRIVATE-TOKEN`, auth failures, 429 with `Retry-After`,
//! 304s, one page per poll, who broke it asked once per break; and the binary end to end
//! (`--headless --print-frames` with a `kind = "gitlab"` server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use ledtogo::color::Rgb;
use ledtogo::config::Colors;
use ledtogo::model::{Blame, Job, JobState};
use ledtogo::sources::gitlab::{Client, Settings};
use ledtogo::sources::http::HttpSettings;
use ledtogo::sources::{Credentials, Source, SourceError};

#[path = "support/gitlab.rs"]
mod fake;
mod support;

use fake::FakeGitLab;
use support::frames::{Frames, shown};

const PROJECT: &str = "group/sub/project";
const TOKEN: &str = "glpat-test-0123456789";

fn client(lab: &FakeGitLab, token: Option<&str>) -> Client {
    Client::new(Settings {
        name: "lab".into(),
        base: lab.url().to_owned(),
        projects: vec![PROJECT.into()],
        http: HttpSettings::new(Duration::from_secs(5))
            .credentials(token.map(|t| Credentials::new("", t))),
    })
    .unwrap()
}

fn job<'a>(jobs: &'a [Job], git_ref: &str) -> &'a Job {
    jobs.iter()
        .find(|j| j.display_name == git_ref)
        .unwrap_or_else(|| panic!("no job for {git_ref:?} in {jobs:#?}"))
}

#[test]
fn the_latest_pipeline_of_every_ref_is_a_job_with_its_state() {
    let lab = FakeGitLab::start();
    lab.require_token(TOKEN);
    // Ref → the statuses of its pipelines, oldest first.
    let refs: &[(&str, &[&str])] = &[
        ("main", &["failed", "success"]),
        ("release/1.2", &["success", "failed"]),
        ("fix-ü", &["canceled"]),
        ("skipped", &["skipped"]),
        ("manual", &["manual"]),
        ("scheduled", &["scheduled"]),
        ("running", &["failed", "running"]),
        ("pending", &["success", "pending"]),
        ("created", &["success", "created"]),
        ("waiting", &["success", "waiting_for_resource"]),
        ("preparing", &["success", "preparing"]),
        ("unknown", &["success", "waiting_for_a_miracle"]),
        // Git refuses spaces in ref names; a server sending one anyway still gets one job.
        ("v2.0 beta ✨", &["success"]),
    ];
    for (git_ref, statuses) in refs {
        for status in *statuses {
            lab.push(PROJECT, git_ref, status);
        }
    }
    let listing = client(&lab, Some(TOKEN)).fetch().unwrap();
    assert_eq!(listing.requests, 1, "one request per project");
    assert_eq!(
        lab.requests(),
        [
            "/gitlab/api/v4/projects/group%2Fsub%2Fproject/pipelines?per_page=100&order_by=id&sort=desc"
        ],
        "the URL-encoded path as the id"
    );
    let jobs = &listing.jobs;
    assert_eq!(jobs.len(), refs.len());
    for (git_ref, state, building) in [
        ("main", JobState::Success, false),
        ("release/1.2", JobState::Failure, false),
        ("fix-ü", JobState::Aborted, false),
        ("skipped", JobState::NotBuilt, false),
        ("manual", JobState::NotBuilt, false),
        ("scheduled", JobState::NotBuilt, false),
        ("running", JobState::Failure, true),
        ("pending", JobState::Success, true),
        ("created", JobState::Success, true),
        ("waiting", JobState::Success, true),
        ("preparing", JobState::Success, true),
        ("unknown", JobState::Unknown, false),
        ("v2.0 beta ✨", JobState::Success, false),
    ] {
        let j = job(jobs, git_ref);
        assert_eq!((j.state, j.building), (state, building), "{git_ref}");
    }
    let release = job(jobs, "release/1.2");
    assert_eq!(release.id.server, "lab");
    assert_eq!(
        release.id.path,
        ["group", "sub", "project", "release%2F1.2"]
    );
    assert_eq!(
        job(jobs, "fix-ü").id.path,
        ["group", "sub", "project", "fix-ü"]
    );
    let build = release.last_build.as_ref().unwrap();
    assert_eq!(build.number, 4, "the pipeline's iid");
    assert_eq!(build.result, Some(JobState::Failure));
    assert!(
        build
            .url
            .as_deref()
            .unwrap()
            .starts_with(&format!("{}group/sub/project/-/pipelines/", lab.url())),
        "{build:?}"
    );
    // While a pipeline runs, the number is one past the finished one's, so "the number before" names it.
    let running = job(jobs, "running").last_build.clone().unwrap();
    assert_eq!(running.number, 9 + 1, "{running:?}");
    assert_ne!(
        running.url.as_deref(),
        Some(job(jobs, "running").url.as_str())
    );
}

#[test]
fn a_wrong_token_is_rejected_and_a_missing_one_names_the_project_and_the_scope() {
    let lab = FakeGitLab::start();
    lab.require_token(TOKEN);
    lab.push(PROJECT, "main", "success");
    match client(&lab, Some("glpat-wrong")).fetch() {
        Err(SourceError::TokenRejected { url }) => {
            assert!(
                url.ends_with("/projects/group%2Fsub%2Fproject/pipelines"),
                "{url}"
            );
        }
        other => panic!("expected token rejected, got {other:?}"),
    }
    // GitLab answers 404 for a private project to a request without a token.
    let e = client(&lab, None).fetch().unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("\"group/sub/project\"")
            && message.contains("HTTP 404")
            && message.contains("`projects`")
            && message.contains("read_api"),
        "{message}"
    );
    assert!(!e.server_state().is_ok());
}

#[test]
fn too_many_requests_waits_as_long_as_retry_after_says() {
    let lab = FakeGitLab::start();
    lab.push(PROJECT, "main", "success");
    lab.rate_limit(Some(120));
    let before = SystemTime::now();
    let e = client(&lab, None).fetch().unwrap_err();
    let SourceError::RateLimited { status, until, .. } = e else {
        panic!("expected rate limited, got {e:?}");
    };
    assert_eq!(status, 429);
    let wait = until.duration_since(before).unwrap();
    assert!(
        (Duration::from_secs(119)..=Duration::from_secs(125)).contains(&wait),
        "{wait:?}"
    );
    assert_eq!(e.retry_at(), Some(until));
    lab.rate_limit(None);
    assert_eq!(
        client(&lab, None).fetch().unwrap().jobs.len(),
        1,
        "and recovers"
    );
}

#[test]
fn an_unchanged_list_is_not_modified_and_keeps_the_jobs() {
    let lab = FakeGitLab::start();
    lab.push(PROJECT, "main", "failed");
    lab.push(PROJECT, "release/1.2", "success");
    let client = client(&lab, None);
    let first = client.fetch().unwrap();
    let second = client.fetch().unwrap();
    assert_eq!(lab.not_modified(), 1, "If-None-Match sent, 304 answered");
    assert_eq!(second.jobs, first.jobs);
    assert_eq!(second.requests, 1);
    let id = lab.push(PROJECT, "main", "running");
    let third = client.fetch().unwrap();
    assert_eq!(lab.not_modified(), 1, "a changed list is sent again");
    assert!(job(&third.jobs, "main").building);
    lab.set_status(id, "success");
    let fourth = client.fetch().unwrap();
    assert_eq!(job(&fourth.jobs, "main").state, JobState::Success);
}

#[test]
fn who_broke_it_is_asked_once_on_a_break_and_not_on_the_next_polls() {
    let lab = FakeGitLab::start();
    lab.set_etags(false); // every poll gets a fresh answer: the blame must come from the cache
    lab.push(PROJECT, "main", "success");
    lab.push_by(
        PROJECT,
        "old-failure",
        "failed",
        "Nobody",
        "Was broken before",
    );
    let client = client(&lab, None);
    let first = client.fetch().unwrap();
    assert_eq!(
        lab.count("/repository/commits/"),
        0,
        "nothing asked at start"
    );
    assert_eq!(first.requests, 1);

    let broke = lab.push_by(
        PROJECT,
        "main",
        "running",
        "Grace Hopper",
        "Tidy the moth trap",
    );
    client.fetch().unwrap();
    assert_eq!(
        lab.count("/repository/commits/"),
        0,
        "a running pipeline broke nothing"
    );
    lab.set_status(broke, "failed");
    let second = client.fetch().unwrap();
    assert_eq!(
        lab.count("/repository/commits/"),
        1,
        "one follow-up on the break"
    );
    assert_eq!(second.requests, 2);
    let blame = Blame {
        who: "Grace Hopper".into(),
        what: Some("Tidy the moth trap".into()),
    };
    let main = job(&second.jobs, "main");
    assert_eq!(main.state, JobState::Failure);
    assert_eq!(main.last_build.as_ref().unwrap().blame, Some(blame.clone()));
    assert_eq!(
        job(&second.jobs, "old-failure")
            .last_build
            .as_ref()
            .unwrap()
            .blame,
        None,
        "broken before the first poll: not asked"
    );

    for _ in 0..3 {
        let again = client.fetch().unwrap();
        assert_eq!(again.requests, 1);
        assert_eq!(
            job(&again.jobs, "main").last_build.as_ref().unwrap().blame,
            Some(blame.clone()),
            "kept"
        );
    }
    assert_eq!(lab.count("/repository/commits/"), 1, "never asked again");

    // Fixed, and a fixed job names nobody.
    let fix = lab.push(PROJECT, "main", "success");
    let fixed = client.fetch().unwrap();
    assert_eq!(
        job(&fixed.jobs, "main").last_build.as_ref().unwrap().blame,
        None
    );
    assert_eq!(lab.count("/repository/commits/"), 1);
    assert!(fix > broke);
}

#[test]
fn one_page_of_the_newest_hundred_pipelines_is_read_per_poll() {
    let lab = FakeGitLab::start();
    lab.push(PROJECT, "stale-branch", "failed");
    for _ in 0..120 {
        lab.push(PROJECT, "main", "success");
    }
    let listing = client(&lab, None).fetch().unwrap();
    assert_eq!(lab.requests().len(), 1, "no second page");
    assert_eq!(listing.jobs.len(), 1, "{:?}", listing.jobs);
    assert_eq!(listing.jobs[0].display_name, "main");
    assert_eq!(listing.jobs[0].last_build.as_ref().unwrap().number, 121);
}

#[test]
fn headless_print_frames_shows_a_gitlab_ref_that_broke() {
    let lab = FakeGitLab::start();
    lab.require_token(TOKEN);
    lab.push(PROJECT, "main", "success");
    lab.push(PROJECT, "release/1.2", "success");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "poll_seconds = 1\n[[servers]]\nname = \"lab\"\nkind = \"gitlab\"\nurl = \"{}\"\n\
             projects = [\"{PROJECT}\"]\ntoken_env = \"LEDTOGO_TEST_GITLAB_TOKEN\"\n\
             [strip]\nport = \"none\"\nleds = 3\n\
             [[slots]]\nled = 0\njob = \"group/sub/project/main\"\n\
             [[slots]]\nled = 1\njob = \"group/sub/project/release/1.2\"\n",
            lab.url()
        ),
    )
    .unwrap();
    let frames = Frames::start_with(&path, &[("LEDTOGO_TEST_GITLAB_TOKEN", TOKEN)]);
    let c = Colors::default();
    let wait_for = |want: &[Rgb]| {
        if frames.wait_for(want) {
            Ok(())
        } else {
            Err(frames.last())
        }
    };
    wait_for(&[shown(c.success), shown(c.success), Rgb::OFF]).unwrap();
    lab.push(PROJECT, "main", "failed");
    wait_for(&[shown(c.failure), shown(c.success), Rgb::OFF]).unwrap();
    assert!(
        lab.requests()
            .iter()
            .all(|r| r.starts_with("/gitlab/api/v4/projects/group%2Fsub%2Fproject/")),
        "{:?}",
        lab.requests()
    );
}

#[test]
fn each_project_is_one_request_and_a_missing_one_fails_the_poll_by_name() {
    let lab = FakeGitLab::start();
    lab.push(PROJECT, "main", "success");
    lab.push("tools/übersetzer", "main", "failed");
    let client = |projects: &[&str]| {
        Client::new(Settings {
            name: "lab".into(),
            base: lab.url().to_owned(),
            projects: projects.iter().map(|p| (*p).to_owned()).collect(),
            http: HttpSettings::new(Duration::from_secs(5)),
        })
        .unwrap()
    };
    let listing = client(&[PROJECT, "tools/übersetzer"]).fetch().unwrap();
    assert_eq!(listing.requests, 2);
    let paths: Vec<String> = listing.jobs.iter().map(|j| j.id.path.join("/")).collect();
    assert_eq!(paths, ["group/sub/project/main", "tools/übersetzer/main"]);
    assert!(
        lab.requests()
            .iter()
            .any(|r| r.contains("/projects/tools%2F%C3%BCbersetzer/pipelines")),
        "{:?}",
        lab.requests()
    );
    let message = client(&[PROJECT, "group/typo"])
        .fetch()
        .unwrap_err()
        .to_string();
    assert!(message.contains("\"group/typo\" not found"), "{message}");
}
