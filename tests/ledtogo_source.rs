//! A desk reading the office relay (`kind = "ledtogo"`), end to end: a loopback relay serving real feed
//! bytes (written by the library's `Feed::of` from what its Jenkins client read of a simulated Jenkins),
//! the real binary (`--headless --print-frames`, `ledtogo jobs --kind ledtogo`) and the engine in
//! process. A desk on the relay shows what a direct poll shows, never asks the Jenkins itself, keeps a
//! relayed outage stale, and refuses hostile answers with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc;
use std::time::Duration;

use ledtogo::color::Rgb;
use ledtogo::config::Config;
use ledtogo::engine::{ConfigSource, Engine, Observers};
use ledtogo::model::{JobId, JobState, ServerState, Transition};
use ledtogo::outputs::VirtualStrip;
use ledtogo::sim::{Mode, SimItem, SimJenkins, SimJob};

mod support;
use support::frames::{Frames, shown};
use support::relay::{Body, FakeRelay, jenkins_jobs, snapshot};
use support::{ledtogo, wait_until};

const LIMIT: Duration = Duration::from_secs(20);

/// success, unstable, failure, aborted, and a job building after a success.
fn five_states() -> SimJenkins {
    let sim = SimJenkins::start(vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimItem::folder(
            "team-a",
            vec![SimJob::new("web", Some(JobState::Unstable)).into()],
        ),
        SimJob::new("db", Some(JobState::Failure)).into(),
        SimJob::new("old", Some(JobState::Aborted)).into(),
        SimJob::new("deploy", Some(JobState::Success)).into(),
    ])
    .unwrap();
    assert!(sim.start_build("deploy"));
    sim
}

const FIVE: [&str; 5] = ["api", "team-a/web", "db", "old", "deploy"];

fn slots(server: &str) -> String {
    FIVE.iter()
        .enumerate()
        .map(|(led, job)| {
            format!("[[slots]]\nled = {led}\nserver = \"{server}\"\njob = \"{job}\"\n")
        })
        .collect()
}

fn write_config(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!("poll_seconds = 1\n[strip]\nport = \"none\"\nleds = 6\n{text}"),
    )
    .unwrap();
    path
}

fn greenish(c: Rgb) -> bool {
    c.g > c.r && c.g > c.b
}

#[test]
fn a_desk_on_the_relay_shows_the_colours_of_a_direct_poll_and_never_asks_the_jenkins() {
    let sim = five_states();
    let office = jenkins_jobs("office", sim.url());
    let nightly = jenkins_jobs("lab", sim.url())
        .into_iter()
        .find(|j| j.id.path == ["api"])
        .unwrap();
    let relay = FakeRelay::start(&snapshot(vec![
        ("office", ServerState::Ok, office),
        (
            "lab",
            ServerState::Unreachable("connection refused".into()),
            vec![nightly],
        ),
    ]));
    let polled_by_the_relay = sim.requests();
    let c = ledtogo::config::Colors::default();
    let want = [
        shown(c.success),
        shown(c.unstable),
        shown(c.failure),
        shown(c.aborted),
    ];

    let dir = tempfile::tempdir().unwrap();
    let desk = write_config(
        &dir,
        &format!(
            "[[servers]]\nname = \"relay\"\nkind = \"ledtogo\"\nurl = \"{url}\"\nupstream = \"office\"\n\
             [[servers]]\nname = \"lab\"\nkind = \"ledtogo\"\nurl = \"{url}\"\nupstream = \"lab\"\n\
             {}[[slots]]\nled = 5\nserver = \"lab\"\njob = \"api\"\n",
            slots("relay"),
            url = relay.url()
        ),
    );
    let frames = Frames::start(&desk);
    let seen = frames.wait_until(|f| f[..4] == want && f[5] == shown(c.stale));
    let first = seen.unwrap_or_else(|| panic!("desk frames: {}", frames.last()));
    assert!(
        greenish(first[4]),
        "building after a success: {:?}",
        first[4]
    );
    let pulse = frames.wait_until(|f| f[..4] == want && f[4] != first[4]);
    assert!(
        pulse.is_some_and(|f| greenish(f[4])),
        "the building job pulses green"
    );
    assert_eq!(
        sim.requests(),
        polled_by_the_relay,
        "the Jenkins sees only the relay's polls"
    );
    drop(frames);

    let dir = tempfile::tempdir().unwrap();
    let direct = write_config(
        &dir,
        &format!(
            "[[servers]]\nname = \"office\"\nurl = \"{}\"\n{}",
            sim.url(),
            slots("office")
        ),
    );
    let frames = Frames::start(&direct);
    let direct_first = frames.wait_until(|f| f[..4] == want);
    assert!(
        direct_first.is_some_and(|f| greenish(f[4]) && f[5] == Rgb::OFF),
        "the direct poll shows the same colours: {}",
        frames.last()
    );
}

fn engine_on(text: &str) -> (Engine, VirtualStrip, mpsc::Receiver<ledtogo::engine::Batch>) {
    let config = Config::parse(
        &format!(
            "poll_seconds = 1\ntimeout_seconds = 2\n[strip]\nport = \"none\"\nleds = 2\n\
             brightness = 1.0\ngamma = 1.0\n{text}[[slots]]\nled = 0\njob = \"api\"\n\
             [[slots]]\nled = 1\njob = \"web\"\n"
        ),
        None,
    )
    .unwrap();
    let strip = VirtualStrip::new();
    let (tx, rx) = mpsc::channel();
    let engine = Engine::start(
        ConfigSource::Fixed(config),
        vec![Box::new(strip.clone())],
        Observers {
            transitions: Some(tx),
            ..Observers::default()
        },
    )
    .unwrap();
    (engine, strip, rx)
}

/// A transition without the server's name and the reason's wording: what a user is told happened.
fn shape(t: &Transition) -> String {
    match t {
        Transition::ServerLost { .. } => "server lost".into(),
        Transition::ServerRecovered { .. } => "server back".into(),
        Transition::Broke {
            job, state, build, ..
        } => format!("{} broke ({state}) #{build:?}", job.full_name()),
        Transition::Fixed { job, build, .. } => format!("{} fixed #{build:?}", job.full_name()),
        other => format!("{other:?}"),
    }
}

#[test]
fn a_relayed_outage_gives_the_alerts_of_a_direct_one_and_no_storm_when_it_recovers() {
    let sim = SimJenkins::start(vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimJob::new("web", Some(JobState::Success)).into(),
    ])
    .unwrap();
    let before = jenkins_jobs("office", sim.url());
    let relay = FakeRelay::start(&snapshot(vec![("office", ServerState::Ok, before.clone())]));
    let (direct, direct_strip, direct_rx) = engine_on(&format!(
        "[[servers]]\nname = \"ci\"\nurl = \"{}\"\n",
        sim.url()
    ));
    let (desk, desk_strip, desk_rx) = engine_on(&format!(
        "[[servers]]\nname = \"relay\"\nkind = \"ledtogo\"\nurl = \"{}\"\n",
        relay.url()
    ));
    let colors = ledtogo::config::Colors::default();
    for strip in [&direct_strip, &desk_strip] {
        assert!(wait_until(LIMIT, || strip.latest()[..]
            == [colors.success, colors.success]));
    }

    // The Jenkins goes down: the direct desk gets 503s, the relay reports it down with the last jobs.
    sim.set_mode(Mode::Status(503));
    relay.set_snapshot(&snapshot(vec![(
        "office",
        ServerState::Unreachable("HTTP 503".into()),
        before,
    )]));
    for strip in [&direct_strip, &desk_strip] {
        assert!(wait_until(LIMIT, || strip.latest()[..] == [colors.stale, colors.stale]));
    }
    let status = desk.snapshot().status(&JobId::new("relay", "api")).unwrap();
    assert_eq!(
        status.state,
        JobState::Success,
        "the last known state is kept"
    );
    assert!(status.stale);
    assert_eq!(
        desk.snapshot().servers["relay"].state,
        ServerState::Unreachable("the relay's server 'office': HTTP 503".into())
    );

    // A build breaks during the outage; then the Jenkins is back.
    sim.finish_build("api", JobState::Failure);
    sim.set_mode(Mode::Normal);
    relay.set_snapshot(&snapshot(vec![(
        "office",
        ServerState::Ok,
        jenkins_jobs("office", sim.url()),
    )]));
    for strip in [&direct_strip, &desk_strip] {
        assert!(wait_until(LIMIT, || strip.latest()[..]
            == [colors.failure, colors.success]));
    }
    std::thread::sleep(Duration::from_millis(1500)); // a steady poll more on both: nothing new
    let shapes = |rx: &mpsc::Receiver<ledtogo::engine::Batch>| -> Vec<String> {
        rx.try_iter()
            .flat_map(|b| b.transitions)
            .map(|t| shape(&t))
            .collect()
    };
    let relayed = shapes(&desk_rx);
    assert_eq!(
        relayed,
        ["server lost", "server back", "api broke (failure) #Some(2)"],
        "one event per outage and recovery, the break found on recovery, no storm"
    );
    assert_eq!(shapes(&direct_rx), relayed, "the same as the direct desk's");
    drop((direct, desk));
}

#[test]
fn the_relays_server_refusing_its_token_shows_stale_naming_the_relays_config_and_polls_on() {
    let sim = SimJenkins::start(vec![SimJob::new("api", Some(JobState::Success)).into()]).unwrap();
    let relay = FakeRelay::start(&snapshot(vec![(
        "office",
        ServerState::TokenRejected,
        jenkins_jobs("office", sim.url()),
    )]));
    let (desk, strip, _rx) = engine_on(&format!(
        "[[servers]]\nname = \"relay\"\nkind = \"ledtogo\"\nurl = \"{}\"\n",
        relay.url()
    ));
    let colors = ledtogo::config::Colors::default();
    let refused = ServerState::Unreachable(
        "the relay's server 'office': token rejected (fix the relay's config)".into(),
    );
    assert!(
        wait_until(LIMIT, || desk.snapshot().servers["relay"].state == refused),
        "never the desk's own \"set a token\": {:?}",
        desk.snapshot().servers["relay"].state
    );
    assert_eq!(strip.latest()[0], colors.stale);
    let before = relay.seen().len();
    std::thread::sleep(Duration::from_millis(3500));
    let polls = relay.seen().len() - before;
    assert!(
        polls >= 3,
        "an answer, not a failure: polled every second, no back-off ({polls} polls in 3.5 s)"
    );
}

#[test]
fn an_unchanged_feed_is_a_304_and_the_last_listing_is_reused() {
    let sim = SimJenkins::start(vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimJob::new("web", Some(JobState::Unstable)).into(),
    ])
    .unwrap();
    let relay = FakeRelay::start(&snapshot(vec![(
        "office",
        ServerState::Ok,
        jenkins_jobs("office", sim.url()),
    )]));
    let (_desk, strip, _rx) = engine_on(&format!(
        "[[servers]]\nname = \"relay\"\nkind = \"ledtogo\"\nurl = \"{}\"\n",
        relay.url()
    ));
    let colors = ledtogo::config::Colors::default();
    let want = [colors.success, colors.unstable];
    assert!(wait_until(LIMIT, || relay.seen().len() >= 4));
    assert_eq!(strip.latest(), want, "the reused listing keeps the colours");
    let seen = relay.seen();
    assert_eq!(
        (seen[0].status, seen[0].if_none_match.as_deref()),
        (200, None)
    );
    for later in &seen[1..] {
        assert_eq!(later.path, "/api/json");
        assert_eq!(later.if_none_match.as_deref(), Some("\"feed-1\""));
        assert_eq!(later.status, 304);
    }

    sim.finish_build("web", JobState::Success);
    relay.set_snapshot(&snapshot(vec![(
        "office",
        ServerState::Ok,
        jenkins_jobs("office", sim.url()),
    )]));
    assert!(wait_until(LIMIT, || strip.latest() == [colors.success, colors.success]));
    assert!(
        relay
            .seen()
            .iter()
            .any(|s| s.status == 200 && s.if_none_match.is_some())
    );
}

fn relay_of_two() -> FakeRelay {
    let sim = SimJenkins::start(vec![
        SimItem::folder(
            "team-a",
            vec![SimJob::new("web", Some(JobState::Unstable)).into()],
        ),
        SimJob::new("nightly", Some(JobState::Failure)).into(),
    ])
    .unwrap();
    let mut office = jenkins_jobs("office", sim.url());
    let lab = jenkins_jobs("lab", sim.url());
    office.retain(|j| j.id.path[0] == "team-a");
    let lab: Vec<_> = lab
        .into_iter()
        .filter(|j| j.id.path == ["nightly"])
        .collect();
    FakeRelay::start(&snapshot(vec![
        ("office", ServerState::Ok, office),
        ("lab", ServerState::Ok, lab),
    ]))
}

/// `ledtogo jobs RELAY --kind ledtogo ARGS… --json`: the listed paths, or the error text.
fn jobs(relay: &FakeRelay, args: &[&str], env: &[(&str, &str)]) -> Result<Vec<String>, String> {
    let mut cmd = ledtogo();
    cmd.args(["jobs", relay.url(), "--kind", "ledtogo", "--json"])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Ok(list
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            format!(
                "{} {}",
                j["path"].as_str().unwrap(),
                j["state"].as_str().unwrap()
            )
        })
        .collect())
}

#[test]
fn jobs_of_several_relayed_servers_are_prefixed_and_an_upstream_selects_one() {
    let relay = relay_of_two();
    let unstable = JobState::Unstable.label();
    let failure = JobState::Failure.label();
    assert_eq!(
        jobs(&relay, &[], &[]).unwrap(),
        [
            format!("lab/nightly {failure}"),
            format!("office/team-a/web {unstable}")
        ]
    );
    assert_eq!(
        jobs(&relay, &["--upstream", "office"], &[]).unwrap(),
        [format!("team-a/web {unstable}")],
        "the selected server's jobs keep their paths"
    );
    let e = jobs(&relay, &["--upstream", "offcie"], &[]).unwrap_err();
    assert!(
        e.contains("has no server \"offcie\"; it has \"lab\", \"office\""),
        "{e}"
    );
    let e = jobs(&relay, &["--upstream", "lab", "--repo", "a/b"], &[]).unwrap_err();
    assert!(e.contains("--repo is for"), "{e}");
}

#[test]
fn a_relay_that_wants_basic_auth_gets_it_and_a_missing_or_wrong_token_is_named() {
    let relay = relay_of_two();
    relay.require_basic("office", "s3cret");
    let args = [
        "--user",
        "office",
        "--token-env",
        "LEDTOGO_TEST_RELAY_TOKEN",
    ];
    let listed = jobs(&relay, &args, &[("LEDTOGO_TEST_RELAY_TOKEN", "s3cret")]).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        relay.seen().last().unwrap().authorization.as_deref(),
        Some("Basic b2ZmaWNlOnMzY3JldA=="),
        "Basic auth up front"
    );
    let e = jobs(&relay, &[], &[]).unwrap_err();
    assert!(
        e.contains("authentication needed") && e.contains("/api/json"),
        "no token sent: {e}"
    );
    let e = jobs(&relay, &args, &[("LEDTOGO_TEST_RELAY_TOKEN", "wrong")]).unwrap_err();
    assert!(e.contains("token rejected"), "{e}");
    assert!(!e.contains("wrong"), "the token is never printed: {e}");
}

#[test]
fn hostile_answers_are_refused_with_the_reason_and_what_to_do() {
    let relay = relay_of_two();
    relay.set_body(Body::Raw(
        b"<html><body>Sign in</body></html>".to_vec(),
        "text/html",
    ));
    let e = jobs(&relay, &[], &[]).unwrap_err();
    assert!(
        e.contains("not a JSON API answer") && e.contains("text/html"),
        "{e}"
    );

    relay.set_body(Body::Raw(b"{\"jobs\": []}".to_vec(), "application/json"));
    let e = jobs(&relay, &[], &[]).unwrap_err();
    assert!(
        e.contains("not a ledtogo feed") && e.contains("ledtogo `[export]`? check the URL"),
        "{e}"
    );

    relay.set_body(Body::Raw(
        b"{\"ledtogo\": 2, \"servers\": {\"new\": \"shape\"}}".to_vec(),
        "application/json",
    ));
    let e = jobs(&relay, &[], &[]).unwrap_err();
    assert!(
        e.contains("feed format 2") && e.contains("update this ledtogo (the desk)"),
        "{e}"
    );

    relay.set_body(Body::Declared(100 * 1024 * 1024));
    let e = jobs(&relay, &[], &[]).unwrap_err();
    assert!(e.contains("larger than 64 MB"), "{e}");
}

#[test]
fn check_says_what_a_relay_entry_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        &dir,
        "[[servers]]\nname = \"relay\"\nkind = \"ledtogo\"\nurl = \"http://pi:8765\"\n\
         [[servers]]\nname = \"office\"\nkind = \"ledtogo\"\nurl = \"http://pi:8765/\"\nupstream = \"office\"\n",
    );
    let out = ledtogo()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("server relay: ledtogo relay http://pi:8765"),
        "{text}"
    );
    assert!(
        text.contains("relay: reads http://pi:8765/api/json, every server the relay polls"),
        "{text}"
    );
    assert!(
        text.contains("office: reads http://pi:8765/api/json, the relay's server \"office\" only"),
        "{text}"
    );
}

#[test]
fn the_relays_flaky_flags_show_on_the_desk_blinking_and_a_cleared_flag_goes_there_too() {
    let sim = SimJenkins::start(vec![
        SimJob::new("api", Some(JobState::Failure)).into(),
        SimJob::new("web", Some(JobState::Success)).into(),
    ])
    .unwrap();
    let jobs = jenkins_jobs("office", sim.url());
    let mut flagged = snapshot(vec![("office", ServerState::Ok, jobs.clone())]);
    let flaky = ledtogo::model::flaky::FlakyJob {
        flips: 4,
        last: Vec::new(),
    };
    flagged
        .flaky
        .insert(JobId::new("office", "api"), flaky.clone());
    let relay = FakeRelay::start(&flagged);
    let (desk, strip, _rx) = engine_on(&format!(
        "[[servers]]\nname = \"relay\"\nkind = \"ledtogo\"\nurl = \"{}\"\n",
        relay.url()
    ));
    let id = JobId::new("relay", "api");
    assert!(
        wait_until(LIMIT, || desk.snapshot().flaky.get(&id) == Some(&flaky)),
        "the desk flags the relay's flaky job, on its own id: {:?}",
        desk.snapshot().flaky
    );
    let colors = ledtogo::config::Colors::default();
    // A flaky red LED blinks amber for a quarter second every 3 s.
    assert!(
        wait_until(LIMIT, || strip.latest().first() == Some(&colors.unstable)),
        "LED 0 never blinked"
    );
    assert!(wait_until(LIMIT, || strip.latest().first() == Some(&colors.failure)));

    relay.set_snapshot(&snapshot(vec![("office", ServerState::Ok, jobs)]));
    assert!(
        wait_until(LIMIT, || desk.snapshot().flaky.is_empty()),
        "the relay cleared the flag"
    );
}
