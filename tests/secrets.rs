//! Tokens never reach the log: every subcommand and the headless app, at `RUST_LOG=trace`, against a
//! simulated Jenkins that wants a token. Neither the token, nor its base64, nor the `user:token` base64
//! of the Basic auth header may appear on stdout or stderr.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use ledtogo::model::JobState;
use ledtogo::sim::{SimJenkins, SimJob};

mod support;
use support::{KillOnDrop, ledtogo};

const USER: &str = "alice";
const TOKEN: &str = "s3cr3t-t0ken-4b9e";

/// The ways the token could show up in a log.
fn forms_of_the_token() -> [String; 3] {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    [
        TOKEN.to_owned(),
        b64(TOKEN),
        b64(&format!("{USER}:{TOKEN}")),
    ]
}

/// A line of a wire dump: eight groups of four hex digits (16 bytes), as HTTP libraries trace them.
fn is_wire_dump(line: &str) -> bool {
    let groups: Vec<&str> = line.split(' ').collect();
    groups.windows(8).any(|w| {
        w.iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
    })
}

fn assert_no_token(what: &str, output: &str) {
    for form in forms_of_the_token() {
        assert!(
            !output.contains(&form),
            "{what} printed the token as {form:?}:\n{output}"
        );
    }
    let dump: Vec<&str> = output.lines().filter(|l| is_wire_dump(l)).collect();
    assert!(dump.is_empty(), "{what} dumped request bytes: {dump:#?}");
}

fn traced(mut cmd: Command) -> Command {
    cmd.env("RUST_LOG", "trace")
        .env("LEDTOGO_TEST_TOKEN", TOKEN);
    cmd
}

fn run(what: &str, cmd: Command) -> String {
    let out = traced(cmd).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_token(what, &text);
    text
}

#[test]
fn no_log_level_shows_a_token() {
    let sim = SimJenkins::start(vec![SimJob::new("api", Some(JobState::Failure)).into()]).unwrap();
    sim.set_auth(USER, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ci.token"), format!("{TOKEN}\n")).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "poll_seconds = 1\n[[servers]]\nname = \"ci\"\nurl = \"{}\"\nuser = \"{USER}\"\n\
             token_file = \"ci.token\"\n[strip]\nport = \"none\"\nleds = 2\n[[slots]]\nled = 0\njob = \"api\"\n",
            sim.url()
        ),
    )
    .unwrap();

    let mut jobs = ledtogo();
    jobs.args([
        "jobs",
        sim.url(),
        "--user",
        USER,
        "--token-env",
        "LEDTOGO_TEST_TOKEN",
    ]);
    let text = run("ledtogo jobs", jobs);
    assert!(text.contains("failure"), "the listing worked: {text}");

    let mut check = ledtogo();
    check.arg("check").arg("--config").arg(&config);
    run("ledtogo check", check);

    let mut ports = ledtogo();
    ports.args(["ports", "--no-probe"]);
    run("ledtogo ports", ports);

    // The headless app polls with the token for a few seconds, then is stopped.
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let child = traced({
        let mut c = ledtogo();
        c.args(["--headless", "--print-frames", "--config"])
            .arg(&config);
        c
    })
    .stdout(std::fs::File::create(&out_path).unwrap())
    .stderr(std::fs::File::create(&err_path).unwrap())
    .spawn()
    .unwrap();
    let guard = KillOnDrop(child);
    let polled = support::wait_until(Duration::from_secs(20), || sim.requests() >= 3);
    drop(guard);
    let text =
        std::fs::read_to_string(&out_path).unwrap() + &std::fs::read_to_string(&err_path).unwrap();
    assert!(polled, "the app polled: {text}");
    assert_no_token("the headless app", &text);
    assert!(text.contains("polled"), "the app logged its polls: {text}");
}
