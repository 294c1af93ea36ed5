//! "I'm on it" end to end: `ledtogo ack` against a running headless ledtogo polling a simulated Jenkins,
//! through the instance socket. The answer, the LED's calmer pattern, the state file, a restart, `--clear`,
//! a fix ending the acknowledgement, the refusals and the "none runs" error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use ledtogo::model::JobState;
use ledtogo::sim::{SimItem, SimJenkins, SimJob};

mod support;
use support::frames::parse_frame;
use support::{KillOnDrop, ledtogo_in, lines_of, private_runtime_dir, wait_until};

/// `team/api` on LED 0, `web` on LED 1, the tube on LED 2; full brightness, no gamma, so the frame's
/// numbers are the colours.
fn config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "poll_seconds = 1\n[[servers]]\nname = \"ci\"\nurl = \"{url}\"\n\
             [strip]\nport = \"none\"\nleds = 3\nbrightness = 1.0\ngamma = 1.0\n\
             [[slots]]\nled = 0\njob = \"team/api\"\n[[slots]]\nled = 1\njob = \"web\"\n\
             [aggregate]\nleds = [2]\n"
        ),
    )
    .unwrap();
    path
}

struct Instance {
    frames: Receiver<String>,
    _child: KillOnDrop,
}

fn start(runtime: &Path, config: &Path) -> Instance {
    let mut child = ledtogo_in(runtime)
        .args(["--headless", "--print-frames", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let frames = lines_of(&mut child);
    Instance {
        frames,
        _child: KillOnDrop(child),
    }
}

impl Instance {
    /// Waits (up to 20 s) for a frame whose LEDs `want` accepts.
    fn wait_frame(&self, mut want: impl FnMut(&[ledtogo::color::Rgb]) -> bool) -> bool {
        let end = Instant::now() + Duration::from_secs(20);
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.frames.recv_timeout(left) {
                Ok(line) if want(&parse_frame(&line)) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }
}

fn ack(runtime: &Path, config: &Path, args: &[&str]) -> Output {
    ledtogo_in(runtime)
        .arg("ack")
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `ledtogo ack …` once the instance answers (it may still be starting or before its first poll).
fn ack_when_up(runtime: &Path, config: &Path, args: &[&str]) -> Output {
    let mut last = None;
    wait_until(Duration::from_secs(20), || {
        let out = ack(runtime, config, args);
        let done = out.status.success();
        last = Some(out);
        done
    });
    last.unwrap()
}

#[test]
fn acknowledging_a_failing_job_calms_its_led_survives_a_restart_and_ends_with_clear_or_a_fix() {
    let sim = SimJenkins::start(vec![
        SimItem::folder(
            "team",
            vec![SimJob::new("api", Some(JobState::Failure)).into()],
        ),
        SimJob::new("web", Some(JobState::Success)).into(),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runtime = private_runtime_dir();
    let config = config(dir.path(), sim.url());
    let red = ledtogo::config::Colors::default().failure;

    let first = start(&runtime, &config);
    assert!(
        first.wait_frame(|f| f[0] == red),
        "the failing job shows red"
    );
    let out = ack_when_up(
        &runtime,
        &config,
        &[
            "team/api",
            "--by",
            "alice",
            "--note",
            "looking at the flaky test",
            "--for",
            "2h",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "ci:team/api: on it: alice (looking at the flaky test), until fixed, at most 2 h more\n"
    );
    assert!(
        first.wait_frame(|f| f[0] != red && f[0].r <= red.r / 2 + 1 && f[0].r > 0 && f[2] == red),
        "the LED breathes at half brightness at most; the tube stays red"
    );
    let stored = std::fs::read_to_string(runtime.join("state/ledtogo/acks.json")).unwrap();
    assert!(
        stored.contains("\"by\": \"alice\"") && stored.contains("\"job\": \"team/api\""),
        "{stored}"
    );

    let refused = ack(&runtime, &config, &["web", "--by", "bob"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("ci:web is success, not failing or unstable"),
        "{}",
        stderr(&refused)
    );
    let unknown = ack(&runtime, &config, &["team/nope"]);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("no job \"team/nope\""),
        "{}",
        stderr(&unknown)
    );

    drop(first);
    let second = start(&runtime, &config);
    let listed = ack_when_up(&runtime, &config, &["--list"]);
    assert!(
        stdout(&listed).starts_with("ci:team/api: on it: alice (looking at the flaky test)"),
        "survives a restart: {}",
        stdout(&listed)
    );
    assert!(second.wait_frame(|f| f[0] != red && f[0].r > 0 && f[2] == red));

    let cleared = ack(&runtime, &config, &["--clear", "team/api"]);
    assert!(cleared.status.success(), "{}", stderr(&cleared));
    assert_eq!(
        stdout(&cleared),
        "ci:team/api: nobody is on it any more (was alice)\n"
    );
    assert!(second.wait_frame(|f| f[0] == red), "red again");
    assert_eq!(
        stdout(&ack(&runtime, &config, &["--list"])),
        "nobody is on any job\n"
    );
    let again = ack(&runtime, &config, &["--clear", "team/api"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("nobody is on \"team/api\""),
        "{}",
        stderr(&again)
    );

    // A fix ends it: the next failure alerts again.
    assert!(
        ack(&runtime, &config, &["team/api", "--by", "carol"])
            .status
            .success()
    );
    sim.finish_build("team/api", JobState::Success);
    assert!(wait_until(Duration::from_secs(20), || {
        stdout(&ack(&runtime, &config, &["--list"])) == "nobody is on any job\n"
    }));
    let stored = std::fs::read_to_string(runtime.join("state/ledtogo/acks.json")).unwrap();
    assert!(!stored.contains("carol"), "{stored}");

    drop(second);
    let none = ack(&runtime, &config, &["team/api"]);
    assert!(!none.status.success());
    let err = stderr(&none);
    assert!(
        err.contains(&format!("no ledtogo is running with {}", config.display()))
            && err.contains("ledtogo --headless --config"),
        "{err}"
    );
}

#[test]
fn a_corrupt_acknowledgement_file_is_set_aside_and_reported_with_its_path() {
    let sim = SimJenkins::start(vec![SimJob::new("web", Some(JobState::Success)).into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runtime = private_runtime_dir();
    let config = config(dir.path(), sim.url());
    let state = runtime.join("state/ledtogo");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("acks.json"), "not json").unwrap();
    let mut child = ledtogo_in(&runtime)
        .args(["--headless", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let _child = KillOnDrop(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let path = state.join("acks.json").display().to_string();
    let end = Instant::now() + Duration::from_secs(20);
    let line = std::iter::from_fn(|| {
        rx.recv_timeout(end.saturating_duration_since(Instant::now()))
            .ok()
    })
    .find(|l| l.contains("acknowledgements"))
    .expect("a warning about the file within 20 s");
    assert!(line.contains(&path) && line.contains(".bad"), "{line}");
    assert_eq!(
        std::fs::read_to_string(state.join("acks.json.bad")).unwrap(),
        "not json"
    );
}
