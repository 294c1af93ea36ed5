//! The engine end to end, in process: simulated Jenkins servers on loopback → pollers → snapshot →
//! transitions → frames on a virtual strip, plus live config reload.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc;
use std::time::Duration;

use ledtogo::color::Rgb;
use ledtogo::config::Config;
use ledtogo::engine::{Batch, ConfigSource, Engine, Observers};
use ledtogo::model::{JobId, JobState, ServerState, Transition};
use ledtogo::outputs::VirtualStrip;
use ledtogo::sim::{Mode, SimJenkins, SimJob};

mod support;
use support::wait_until;

const LIMIT: Duration = Duration::from_secs(20);

fn config_for(servers: &[(&str, &str)], slots: &str) -> Config {
    let mut text = String::from(
        "poll_seconds = 1\ntimeout_seconds = 1\n[strip]\nport = \"none\"\nleds = 4\nbrightness = 1.0\ngamma = 1.0\n",
    );
    for (name, url) in servers {
        text.push_str(&format!(
            "[[servers]]\nname = \"{name}\"\nurl = \"{url}\"\n"
        ));
    }
    text.push_str(slots);
    Config::parse(&text, None).unwrap()
}

fn jobs() -> Vec<ledtogo::sim::SimItem> {
    vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimJob::new("web", Some(JobState::Success)).into(),
    ]
}

#[test]
fn a_hanging_server_times_out_while_the_other_keeps_updating() {
    let good = SimJenkins::start(jobs()).unwrap();
    let hung = SimJenkins::start(jobs()).unwrap();
    hung.set_mode(Mode::Hang);
    let config = config_for(
        &[("good", good.url()), ("hung", hung.url())],
        "[[slots]]\nled = 0\nserver = \"good\"\njob = \"api\"\n[[slots]]\nled = 1\nserver = \"hung\"\njob = \"api\"\n",
    );
    let colors = config.colors.clone();
    let strip = VirtualStrip::new();
    let engine = Engine::start(
        ConfigSource::Fixed(config),
        vec![Box::new(strip.clone())],
        Observers::default(),
    )
    .unwrap();

    assert!(wait_until(LIMIT, || strip.latest().first() == Some(&colors.success)));
    // The good server keeps updating while the other one hangs.
    for result in [JobState::Failure, JobState::Success, JobState::Failure] {
        good.finish_build("api", result);
        let want = colors.of(result);
        assert!(
            wait_until(LIMIT, || strip.latest().first() == Some(&want)),
            "LED 0 should turn {result} although server `hung` never answers"
        );
    }
    assert!(wait_until(LIMIT, || matches!(
        &engine.snapshot().servers["hung"].state,
        ServerState::Unreachable(r) if r.contains("timed out")
    )));
    assert_eq!(
        strip.latest()[1],
        colors.stale,
        "the hung server's job is stale, never green"
    );
}

#[test]
fn an_outage_is_one_event_jobs_go_stale_and_recovery_is_one_more() {
    let sim = SimJenkins::start(jobs()).unwrap();
    let config = config_for(
        &[("ci", sim.url())],
        "[[slots]]\nled = 0\njob = \"api\"\n[[slots]]\nled = 1\njob = \"web\"\n",
    );
    let colors = config.colors.clone();
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
    assert!(wait_until(LIMIT, || engine.snapshot().servers["ci"].seen_ok));

    sim.set_mode(Mode::Status(503));
    assert!(wait_until(LIMIT, || strip.latest()[..2]
        == [colors.stale, colors.stale]));
    let snap = engine.snapshot();
    assert_eq!(
        snap.status(&JobId::new("ci", "api")).unwrap().state,
        JobState::Success,
        "last known state kept"
    );
    assert!(snap.status(&JobId::new("ci", "api")).unwrap().stale);

    sim.set_mode(Mode::Normal);
    assert!(wait_until(LIMIT, || strip.latest()[..2]
        == [colors.success, colors.success]));
    let batches: Vec<Batch> = rx.try_iter().collect();
    let all: Vec<&Transition> = batches.iter().flat_map(|b| &b.transitions).collect();
    assert_eq!(
        all,
        vec![
            &Transition::ServerLost {
                server: "ci".into(),
                state: ServerState::Unreachable("HTTP 503".into())
            },
            &Transition::ServerRecovered {
                server: "ci".into()
            }
        ],
        "nothing on start-up, one event per outage and recovery, no job storm"
    );
    drop(engine);
}

#[test]
fn a_short_build_between_polls_is_reported_by_its_number() {
    let sim = SimJenkins::start(jobs()).unwrap();
    sim.finish_build("api", JobState::Failure);
    let config = config_for(&[("ci", sim.url())], "[[slots]]\nled = 0\njob = \"api\"\n");
    let (tx, rx) = mpsc::channel();
    let engine = Engine::start(
        ConfigSource::Fixed(config),
        vec![],
        Observers {
            transitions: Some(tx),
            ..Observers::default()
        },
    )
    .unwrap();
    assert!(wait_until(LIMIT, || engine.snapshot().servers["ci"].seen_ok));
    // A whole build (started and failed again) between two polls: the colour never changed.
    sim.finish_build("api", JobState::Failure);
    let got = rx.recv_timeout(LIMIT).unwrap().transitions;
    assert!(
        matches!(
            got.as_slice(),
            [Transition::StillFailing { build: Some(3), .. }]
        ),
        "{got:?}"
    );
}

#[test]
fn editing_the_config_file_applies_it_and_a_bad_edit_keeps_the_last_good_one() {
    let sim = SimJenkins::start(jobs()).unwrap();
    sim.finish_build("web", JobState::Failure);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = |led: usize| {
        format!(
            "poll_seconds = 1\n[[servers]]\nname = \"ci\"\nurl = \"{}\"\n[strip]\nport = \"none\"\nleds = 3\nbrightness = 1.0\ngamma = 1.0\n[[slots]]\nled = {led}\njob = \"web\"\n",
            sim.url()
        )
    };
    std::fs::write(&path, text(0)).unwrap();
    let initial = Config::load(&path).unwrap();
    let failure = initial.colors.failure;
    let strip = VirtualStrip::new();
    let engine = Engine::start(
        ConfigSource::File {
            path: path.clone(),
            initial,
        },
        vec![Box::new(strip.clone())],
        Observers::default(),
    )
    .unwrap();
    assert!(wait_until(LIMIT, || strip.latest()
        == vec![failure, Rgb::OFF, Rgb::OFF]));

    std::fs::write(&path, text(2)).unwrap();
    assert!(
        wait_until(LIMIT, || strip.latest()
            == vec![Rgb::OFF, Rgb::OFF, failure]),
        "the edit moved the job to LED 2"
    );

    std::fs::write(&path, text(7)).unwrap();
    assert!(wait_until(LIMIT, || engine
        .published()
        .config_error
        .is_some()));
    let err = engine.published().config_error.unwrap();
    assert!(
        err.contains("config.toml:") && err.contains("LED 7 is beyond the strip"),
        "{err}"
    );
    assert_eq!(
        strip.latest(),
        vec![Rgb::OFF, Rgb::OFF, failure],
        "last good config kept"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text(7),
        "the user's file is never overwritten"
    );
}

#[test]
fn a_rotated_token_applies_at_the_next_poll_without_a_restart() {
    let sim = SimJenkins::start(jobs()).unwrap();
    sim.set_auth("alice", "new-token");
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("ci.token");
    std::fs::write(&token, "old-token\n").unwrap();
    let text = format!(
        "poll_seconds = 1\ntimeout_seconds = 1\n[strip]\nport = \"none\"\nleds = 4\n\
         [[servers]]\nname = \"ci\"\nurl = \"{}\"\nuser = \"alice\"\ntoken_file = \"{}\"\n\
         [[slots]]\nled = 0\njob = \"api\"\n",
        sim.url(),
        token.display()
    );
    let engine = Engine::start(
        ConfigSource::Fixed(Config::parse(&text, None).unwrap()),
        Vec::new(),
        Observers::default(),
    )
    .unwrap();
    assert!(wait_until(LIMIT, || engine.snapshot().servers["ci"].state
        == ServerState::TokenRejected));
    // Let the back-off grow a little, then rotate the token in its file (the config is unchanged).
    std::thread::sleep(Duration::from_secs(3));
    std::fs::write(&token, "new-token\n").unwrap();
    assert!(
        wait_until(Duration::from_secs(8), || engine.snapshot().servers["ci"]
            .state
            .is_ok()),
        "the new token is used: {:?}",
        engine.snapshot().servers["ci"].state
    );
}

#[test]
fn a_rejected_token_keeps_the_last_listed_jobs_stale_also_after_the_user_points_at_another_token() {
    let sim = SimJenkins::start(jobs()).unwrap();
    sim.set_auth("alice", "good");
    let dir = tempfile::tempdir().unwrap();
    let (good, wrong) = (
        dir.path().join("good.token"),
        dir.path().join("wrong.token"),
    );
    std::fs::write(&good, "good\n").unwrap();
    std::fs::write(&wrong, "wrong\n").unwrap();
    let path = dir.path().join("config.toml");
    let text = |token: &std::path::Path| {
        format!(
            "poll_seconds = 1\ntimeout_seconds = 1\n[strip]\nport = \"none\"\nleds = 4\nbrightness = 1.0\n\
             gamma = 1.0\n[[servers]]\nname = \"ci\"\nurl = \"{}\"\nuser = \"alice\"\ntoken_file = \"{}\"\n\
             [[slots]]\nled = 0\njob = \"api\"\n",
            sim.url(),
            token.display()
        )
    };
    std::fs::write(&path, text(&good)).unwrap();
    let initial = Config::load(&path).unwrap();
    let colors = initial.colors.clone();
    let strip = VirtualStrip::new();
    let engine = Engine::start(
        ConfigSource::File {
            path: path.clone(),
            initial,
        },
        vec![Box::new(strip.clone())],
        Observers::default(),
    )
    .unwrap();
    assert!(wait_until(LIMIT, || strip.latest().first() == Some(&colors.success)));
    let listed = |engine: &Engine| -> Vec<String> {
        let snap = engine.snapshot();
        snap.servers["ci"]
            .jobs
            .values()
            .map(|j| j.id.to_string())
            .collect()
    };

    // The server stops taking the token.
    sim.set_auth("alice", "rotated");
    assert!(wait_until(LIMIT, || engine.snapshot().servers["ci"].state
        == ServerState::TokenRejected));
    assert_eq!(
        listed(&engine),
        ["ci:api", "ci:web"],
        "the last listed jobs stay"
    );
    assert!(
        engine
            .snapshot()
            .status(&JobId::new("ci", "api"))
            .unwrap()
            .stale
    );
    assert!(wait_until(LIMIT, || strip.latest()[0] == colors.stale));

    // The user points the server at another token, which the server refuses as well: a new poller.
    std::fs::write(&path, text(&wrong)).unwrap();
    assert!(wait_until(LIMIT, || engine.published().config.servers[0]
        .token
        == ledtogo::config::TokenSource::File(wrong.clone())));
    assert!(wait_until(LIMIT, || engine.snapshot().servers["ci"].state
        == ServerState::TokenRejected));
    assert_eq!(
        listed(&engine),
        ["ci:api", "ci:web"],
        "a new token for the same server keeps its last known jobs"
    );
    let api = engine.snapshot().status(&JobId::new("ci", "api")).unwrap();
    assert_eq!((api.state, api.stale), (JobState::Success, true));
    assert_eq!(strip.latest()[0], colors.stale);
}

#[test]
fn unchanged_answers_publish_nothing_and_a_change_after_them_still_shows() {
    let sim = SimJenkins::start(jobs()).unwrap();
    let config = config_for(&[("ci", sim.url())], "[[slots]]\nled = 0\njob = \"api\"\n");
    let colors = config.colors.clone();
    let strip = VirtualStrip::new();
    let published = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = published.clone();
    let engine = Engine::start(
        ConfigSource::Fixed(config),
        vec![Box::new(strip.clone())],
        Observers {
            on_change: Some(Box::new(move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })),
            ..Observers::default()
        },
    )
    .unwrap();
    assert!(wait_until(LIMIT, || strip.latest().first() == Some(&colors.success)));
    // Let the first poll's publications settle, then watch three polls of the same answer.
    std::thread::sleep(Duration::from_millis(300));
    let (snapshot, changes, requests) = (
        engine.snapshot(),
        published.load(std::sync::atomic::Ordering::SeqCst),
        sim.requests(),
    );
    assert!(wait_until(LIMIT, || sim.requests() >= requests + 3));
    assert!(
        std::sync::Arc::ptr_eq(&snapshot, &engine.snapshot()),
        "the same answer makes no new snapshot"
    );
    assert_eq!(
        published.load(std::sync::atomic::Ordering::SeqCst),
        changes,
        "nor any other publication (no diff, no frame)"
    );

    sim.finish_build("api", JobState::Failure);
    assert!(
        wait_until(LIMIT, || strip.latest().first() == Some(&colors.failure)),
        "the first changed answer after unchanged ones shows"
    );
    assert_eq!(
        engine.snapshot().servers["ci"].jobs[&vec!["api".to_owned()]].state,
        JobState::Failure
    );
}

#[test]
fn a_simulated_build_brightens_its_led_with_progress_steadily_and_its_success_sets_the_next_estimate()
 {
    let started = ledtogo::clock::epoch_ms() - 4 * 60_000;
    let mut api = SimJob::new("api", Some(JobState::Success));
    api.estimated_ms = Some(8 * 60_000);
    api.running = Some((2, started));
    let sim = SimJenkins::start(vec![api.into()]).unwrap();
    let mut config = config_for(&[("ci", sim.url())], "[[slots]]\nled = 0\njob = \"api\"\n");
    config.strip.building = ledtogo::config::BuildingLook::Progress;
    let green = config.colors.success;
    let strip = VirtualStrip::new();
    let engine = Engine::start(
        ConfigSource::Fixed(config),
        vec![Box::new(strip.clone())],
        Observers::default(),
    )
    .unwrap();

    // Halfway through its 8 minutes: 30 % + 70 % × ½ = 65 % of green (a little more as time passes).
    let led = || strip.latest().first().copied().unwrap_or(Rgb::OFF);
    assert!(
        wait_until(LIMIT, || (green.scaled(0.64).g..=green.scaled(0.70).g)
            .contains(&led().g)),
        "LED 0 is {:?}, not about 65 % of {green:?}",
        led()
    );
    // Steady: a pulse would sweep from 30 % to full within a second.
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(led().g);
        std::thread::sleep(Duration::from_millis(200));
    }
    let (low, high) = (seen.iter().min().unwrap(), seen.iter().max().unwrap());
    assert!(high - low <= 2, "the LED moved: {seen:?}");

    let id = JobId::new("ci", "api");
    let job = engine.snapshot().job(&id).cloned().unwrap();
    let eta = ledtogo::model::progress::Eta::of(&job).unwrap();
    assert_eq!((eta.started_ms, eta.expected_ms), (started, 8 * 60_000));
    assert_eq!(
        eta.at(started + 4 * 60_000).to_string(),
        "50 %, about 4 min left"
    );

    // The build passes: a steady full green, and the next build is expected to take as long as it did.
    sim.finish_build("api", JobState::Success);
    assert!(wait_until(LIMIT, || led() == green));
    let estimate = sim.state().job_mut("api").unwrap().estimated_ms.unwrap();
    assert!(
        (4 * 60_000..5 * 60_000).contains(&estimate),
        "the build took about 4 minutes: {estimate} ms"
    );
}
