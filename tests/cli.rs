//! The `ledtogo` binary end to end: `jobs`, `check`, and headless `--print-frames` against a simulated
//! Jenkins on loopback, and the demo.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ledtogo::color::Rgb;
use ledtogo::config::Colors;
use ledtogo::model::JobState;
use ledtogo::sim::{SimItem, SimJenkins, SimJob};

#[path = "support/gitlab.rs"]
mod gitlab_fake;
mod support;
use support::feed::Feed;
use support::frames::{Frames, parse_frame, shown};
use support::{KillOnDrop, ledtogo, lines_of};

#[test]
fn jobs_lists_a_nested_instance_in_one_request() {
    let sim = SimJenkins::start(vec![
        SimItem::folder(
            "a",
            vec![SimItem::folder(
                "b",
                vec![SimItem::folder(
                    "c",
                    vec![SimJob::new("deep", Some(JobState::Failure)).into()],
                )],
            )],
        ),
        SimItem::multibranch(
            "shop",
            vec![SimJob::branch("feature/x", Some(JobState::Unstable))],
        ),
    ])
    .unwrap();
    let out = ledtogo().args(["jobs", sim.url()]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("failure") && l.contains("a/b/c/deep")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("unstable") && l.contains("shop/feature%2Fx")),
        "{stdout}"
    );
    assert_eq!(sim.requests(), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 jobs in 1 request"));

    let out = ledtogo()
        .args(["jobs", sim.url(), "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let deep = list
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["path"] == "a/b/c/deep")
        .unwrap();
    assert_eq!(deep["state"], "failure");
    assert_eq!(deep["building"], false);
    assert!(
        deep["url"]
            .as_str()
            .unwrap()
            .ends_with("/job/a/job/b/job/c/job/deep/")
    );
}

#[test]
fn jobs_fails_clearly_on_auth_and_network_errors() {
    let sim = SimJenkins::start(vec![SimJob::new("x", None).into()]).unwrap();
    sim.set_auth("alice", "secret-token");
    let out = ledtogo().args(["jobs", sim.url()]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("authentication needed"), "{err}");

    let out = ledtogo()
        .args([
            "jobs",
            sim.url(),
            "--user",
            "alice",
            "--token-env",
            "LEDTOGO_TEST_TOKEN",
        ])
        .env("LEDTOGO_TEST_TOKEN", "not-it")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("token rejected"), "{err}");
    assert!(!err.contains("not-it"), "tokens are never printed: {err}");

    let out = ledtogo()
        .args([
            "jobs",
            sim.url(),
            "--user",
            "alice",
            "--token-env",
            "LEDTOGO_TEST_TOKEN",
        ])
        .env("LEDTOGO_TEST_TOKEN", "secret-token")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    drop(sim);
    let out = ledtogo()
        .args(["jobs", "http://127.0.0.1:9/", "--timeout", "3"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1:9"));

    let out = ledtogo().args(["jobs", "ci.example.com"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an http"));
}

/// A name as a hostile server could send it: a terminal retitle (ESC ] … BEL), a CSI (C1), a bidi override.
const HOSTILE: &str = "\x1b]0;evil\x07api\u{9b}2J\u{202E}gpj.exe";

fn has_hidden_controls(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
            || matches!(
                c,
                '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
            )
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

#[test]
fn jobs_never_prints_a_servers_control_characters_but_json_keeps_the_exact_name() {
    let sim = SimJenkins::start(vec![
        SimJob::new(HOSTILE, Some(JobState::Failure)).into(),
        SimJob::new("web", Some(JobState::Success)).into(),
    ])
    .unwrap();
    let out = ledtogo().args(["jobs", sim.url()]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    for (what, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!text.contains('\x1b'), "raw ESC on {what}: {text:?}");
        assert!(!text.contains('\x07'), "raw BEL on {what}: {text:?}");
        assert!(!has_hidden_controls(text), "{what}: {text:?}");
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("failure"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.contains("\u{FFFD}]0;evil\u{FFFD}api\u{FFFD}2J\u{FFFD}gpj.exe"),
        "the name stays recognisable: {line:?}"
    );
    assert_eq!(stdout.lines().count(), 2, "no forged lines: {stdout:?}");

    let out = ledtogo()
        .args(["jobs", sim.url(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!has_hidden_controls(&stdout), "{stdout:?}");
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["path"].as_str().unwrap())
        .collect();
    assert!(names.contains(&HOSTILE), "{names:?}");
    let hostile = list
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["path"] == HOSTILE)
        .unwrap();
    assert_eq!(hostile["display_name"], HOSTILE);
}

#[test]
fn check_shows_control_characters_in_a_slot_as_replacement_characters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[[servers]]\nname = \"office\"\nurl = \"https://ci.example.com/\"\n[strip]\nleds = 2\n\
         [[slots]]\nled = 1\njob = \"team/a\\u001b]0;x\\u0007\\u202e\"\n",
    )
    .unwrap();
    let out = ledtogo()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!has_hidden_controls(&stdout), "{stdout:?}");
    assert!(
        stdout.contains("LED   1  job office:team/a\u{FFFD}]0;x\u{FFFD}\u{FFFD}\n"),
        "{stdout:?}"
    );
}

#[test]
fn check_says_which_sound_files_play_and_names_a_missing_one_with_its_slot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let wav = dir.path().join("deploy.wav");
    std::fs::write(&wav, support::wav()).unwrap();
    std::fs::write(
        &path,
        "[[servers]]\nname = \"office\"\nurl = \"https://ci.example.com/\"\n[strip]\nleds = 4\n\
         [[slots]]\nled = 1\njob = \"deploy\"\nsound_broke = \"deploy.wav\"\n\
         sound_fixed = \"gone.ogg\"\n",
    )
    .unwrap();
    let out = ledtogo()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("LED 1 sound_broke: {} (plays)", wav.display())),
        "{stdout}"
    );
    let gone = dir.path().join("gone.ogg");
    assert!(
        stdout.contains(&format!(
            "LED 1 sound_fixed: CANNOT PLAY {}: No such file",
            gone.display()
        )),
        "{stdout}"
    );
}

#[test]
fn check_prints_the_led_map_or_the_error_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[[servers]]\nname = \"office\"\nurl = \"https://ci.example.com/\"\n[strip]\nleds = 4\n\
         [[slots]]\nled = 1\njob = \"team/api\"\n[aggregate]\nleds = [3]\n",
    )
    .unwrap();
    let out = ledtogo()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("LED   0  off"), "{stdout}");
    assert!(stdout.contains("LED   1  job office:team/api"), "{stdout}");
    assert!(stdout.contains("LED   3  aggregate"), "{stdout}");

    std::fs::write(&path, "[strip]\nleds = 4\ncolour = \"red\"\n").unwrap();
    let out = ledtogo()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3:1:", path.display())) && err.contains("colour"),
        "{err}"
    );
}

#[test]
fn headless_print_frames_shows_a_job_flipped_to_failure_within_one_poll() {
    let sim = SimJenkins::start(vec![
        SimItem::folder(
            "team",
            vec![SimJob::new("api", Some(JobState::Success)).into()],
        ),
        SimJob::new("web", Some(JobState::Success)).into(),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "poll_seconds = 1\n[[servers]]\nname = \"ci\"\nurl = \"{}\"\n[strip]\nport = \"none\"\nleds = 3\n\
             [[slots]]\nled = 0\njob = \"team/api\"\n[[slots]]\nled = 1\njob = \"web\"\n",
            sim.url()
        ),
    )
    .unwrap();
    let frames = Frames::start(&path);
    let c = Colors::default();
    assert!(frames.wait_for(&[shown(c.success), shown(c.success), Rgb::OFF]));
    let flipped = Instant::now();
    sim.finish_build("team/api", JobState::Failure);
    assert!(frames.wait_for(&[shown(c.failure), shown(c.success), Rgb::OFF]));
    // Within one poll interval (1 s) plus scheduling slack on a busy machine.
    assert!(
        flipped.elapsed() < Duration::from_secs(10),
        "{:?}",
        flipped.elapsed()
    );
}

#[test]
fn the_demo_prints_changing_frames_headless() {
    let mut child = ledtogo()
        .args(["--demo", "--headless", "--print-frames"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut child);
    let _guard = KillOnDrop(child);
    let mut distinct = std::collections::BTreeSet::new();
    let end = Instant::now() + Duration::from_secs(30);
    while distinct.len() < 5 {
        let Some(left) = end.checked_duration_since(Instant::now()) else {
            break;
        };
        let Ok(line) = lines.recv_timeout(left) else {
            break;
        };
        assert_eq!(parse_frame(&line).len(), 16, "{line}");
        distinct.insert(line);
    }
    assert!(
        distinct.len() >= 5,
        "the demo's frames change: {distinct:?}"
    );
}

#[test]
fn without_any_config_the_app_runs_the_demo() {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledtogo"))
        .args(["--headless", "--print-frames"])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut child);
    let _guard = KillOnDrop(child);
    let first = lines.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(parse_frame(&first).len(), 16, "the demo strip has 16 LEDs");
    assert!(
        !home.path().join("config/ledtogo/config.toml").exists(),
        "nothing is written"
    );
}

#[test]
fn test_pattern_port_none_means_none_as_in_the_config() {
    // `none` is the same word on the command line as in `[strip] port`: nothing to open, not a file
    // called "none" (run in an empty folder, so a file by that name cannot be what answers).
    let dir = tempfile::tempdir().unwrap();
    let out = ledtogo()
        .current_dir(dir.path())
        .args(["test-pattern", "--port", "none"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--port none: nothing to test"), "{err}");
    assert!(!err.contains("No such file"), "{err}");
}

fn gocd(lint: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<Projects>\n\
         <Project name=\"build-linux :: test :: unit\" activity=\"Sleeping\" lastBuildStatus=\"Success\" \
         lastBuildLabel=\"7\" webUrl=\"http://gocd.example/unit\"/>\n\
         <Project name=\"build-linux :: test :: lint ü\" activity=\"Sleeping\" lastBuildStatus=\"{lint}\" \
         lastBuildLabel=\"{}\" webUrl=\"http://gocd.example/lint\"/>\n</Projects>\n",
        if lint == "Success" { 3 } else { 4 }
    )
}

#[test]
fn jobs_lists_a_cctray_feed_with_its_levels_and_sends_basic_auth() {
    let feed = Feed::start(&gocd("Failure"), "application/xml; charset=utf-8");
    let out = ledtogo()
        .args(["jobs", &feed.url, "--kind", "cctray", "--user", "bob"])
        .args(["--token-env", "LEDTOGO_TEST_FEED_TOKEN", "--json"])
        .env("LEDTOGO_TEST_FEED_TOKEN", "s3cret")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["build-linux/test/unit", "build-linux/test/lint ü"],
        "levels at ' :: '"
    );
    let states: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        [JobState::Success.label(), JobState::Failure.label()]
    );
    assert_eq!(list[1]["url"], "http://gocd.example/lint");
    assert_eq!(list[1]["last_build"]["number"], 4);
    assert_eq!(
        feed.auth.lock().unwrap().as_slice(),
        [Some("Basic Ym9iOnMzY3JldA==".to_owned())],
        "one request, Basic auth up front"
    );
}

#[test]
fn a_page_that_is_not_a_cctray_feed_is_refused_with_the_reason() {
    let feed = Feed::start("<html><body>Sign in</body></html>", "text/html");
    let out = ledtogo()
        .args(["jobs", &feed.url, "--kind", "cctray"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a cctray XML feed"), "{stderr}");
    assert!(stderr.contains("text/html"), "{stderr}");
    let out = ledtogo()
        .args(["jobs", "--kind", "github"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("needs at least one --repo"), "{stderr}");
}

#[test]
fn headless_print_frames_shows_a_cctray_project_breaking_and_a_level_as_an_aggregate() {
    let feed = Feed::start(&gocd("Success"), "text/xml");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "poll_seconds = 1\n[[servers]]\nname = \"gocd\"\nkind = \"cctray\"\nurl = \"{}\"\n\
             [strip]\nport = \"none\"\nleds = 3\n\
             [[slots]]\nled = 0\njob = \"build-linux :: test :: lint ü\"\n\
             [[slots]]\nled = 1\nfolder = \"build-linux :: test\"\n",
            feed.url
        ),
    )
    .unwrap();
    let frames = Frames::start(&path);
    let c = Colors::default();
    assert!(frames.wait_for(&[shown(c.success), shown(c.success), Rgb::OFF]));
    *feed.xml.lock().unwrap() = gocd("Failure");
    assert!(
        frames.wait_for(&[shown(c.failure), shown(c.failure), Rgb::OFF]),
        "the project and the level holding it turn red"
    );
}

#[test]
fn one_strip_shows_a_server_of_every_kind_and_a_break_on_any_turns_its_led_red() {
    let jenkins =
        SimJenkins::start(vec![SimJob::new("api", Some(JobState::Success)).into()]).unwrap();
    let feed = Feed::start(&gocd("Success"), "application/xml");
    let github = support::github::FakeGitHub::start();
    github.set_runs(
        "acme/api",
        vec![support::github::FakeRun::completed(
            "CI", "main", 4, "success",
        )],
    );
    let gitlab = gitlab_fake::FakeGitLab::start();
    gitlab.push("group/project", "main", "success");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "poll_seconds = 1\n\
             [[servers]]\nname = \"ci\"\nurl = \"{}\"\n\
             [[servers]]\nname = \"gocd\"\nkind = \"cctray\"\nurl = \"{}\"\n\
             [[servers]]\nname = \"gh\"\nkind = \"github\"\nurl = \"{}\"\nrepos = [\"acme/api\"]\n\
             [[servers]]\nname = \"lab\"\nkind = \"gitlab\"\nurl = \"{}\"\nprojects = [\"group/project\"]\n\
             [strip]\nport = \"none\"\nleds = 4\n\
             [[slots]]\nled = 0\nserver = \"ci\"\njob = \"api\"\n\
             [[slots]]\nled = 1\nserver = \"gocd\"\njob = \"build-linux :: test :: lint ü\"\n\
             [[slots]]\nled = 2\nserver = \"gh\"\njob = \"acme/api/CI/main\"\n\
             [[slots]]\nled = 3\nserver = \"lab\"\njob = \"group/project/main\"\n",
            jenkins.url(),
            feed.url,
            github.url(),
            gitlab.url()
        ),
    )
    .unwrap();
    let frames = Frames::start(&path);
    let c = Colors::default();
    let (ok, bad) = (shown(c.success), shown(c.failure));
    assert!(
        frames.wait_for(&[ok, ok, ok, ok]),
        "every kind's job is green"
    );
    *feed.xml.lock().unwrap() = gocd("Failure");
    assert!(frames.wait_for(&[ok, bad, ok, ok]), "cctray");
    github.set_runs(
        "acme/api",
        vec![support::github::FakeRun::completed(
            "CI", "main", 5, "failure",
        )],
    );
    assert!(frames.wait_for(&[ok, bad, bad, ok]), "GitHub");
    gitlab.push("group/project", "main", "failed");
    assert!(frames.wait_for(&[ok, bad, bad, bad]), "GitLab");
    jenkins.finish_build("api", JobState::Failure);
    assert!(frames.wait_for(&[bad, bad, bad, bad]), "Jenkins");
}

#[test]
fn version_names_the_features_built_in_and_the_serial_protocol_spoken() {
    let out = ledtogo().arg("--version").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let features = match (cfg!(feature = "gui"), cfg!(feature = "sound")) {
        (true, true) => "gui, sound",
        (true, false) => "gui",
        (false, true) => "sound",
        (false, false) => "none",
    };
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "ledtogo {} (features: {features}; serial protocol {})\n",
            env!("CARGO_PKG_VERSION"),
            ledtogo::outputs::serial::protocol::PROTO_VERSION
        )
    );
}

/// A config file every user may read: `check` warns about it (a log line on stderr).
fn world_readable_config() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[strip]\nport = \"none\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    dir
}

#[test]
fn log_lines_carry_a_time_except_in_the_journal_which_stamps_them_itself() {
    let dir = world_readable_config();
    let config = dir.path().join("config.toml");
    let log = |journal: Option<&str>| {
        let mut cmd = ledtogo();
        cmd.arg("check")
            .arg("--config")
            .arg(&config)
            .env_remove("JOURNAL_STREAM");
        if let Some(stream) = journal {
            cmd.env("JOURNAL_STREAM", stream);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        stderr
            .lines()
            .find(|l| l.contains("can be read by every user"))
            .unwrap()
            .to_owned()
    };
    let terminal = log(None);
    assert!(
        terminal.starts_with("20") && terminal.contains("Z  WARN "),
        "{terminal}"
    );
    let journal = log(Some("8:123456"));
    assert!(
        journal.trim_start().starts_with("WARN the config file"),
        "{journal}"
    );
}
