//! Alerts end to end, in process: a simulated Jenkins → the engine → transition batches → the alert
//! worker → recording notifier and sound sink.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use ledtogo::alerts::{
    Alert, AlertKind, AlertWorker, Notifier, NotifyError, SoundError, SoundKind, SoundSink,
};
use ledtogo::config::Config;
use ledtogo::engine::{Batch, ConfigSource, Engine, Observers};
use ledtogo::model::{JobState, Transition};
use ledtogo::sim::{BuildChanges, SimJenkins, SimJob};

mod support;
use support::wait_until;

const LIMIT: Duration = Duration::from_secs(20);

struct Recorder(mpsc::Sender<Alert>);

impl Notifier for Recorder {
    fn show(&mut self, alert: &Alert) -> Result<(), NotifyError> {
        self.0.send(alert.clone()).ok();
        Ok(())
    }
}

struct Speaker(mpsc::Sender<SoundKind>);

impl SoundSink for Speaker {
    fn play(&mut self, kind: SoundKind, _: Option<&Path>) -> Result<(), SoundError> {
        self.0.send(kind).ok();
        Ok(())
    }
}

#[test]
fn jobs_breaking_and_getting_fixed_notify_once_per_poll_and_kind() {
    let sim = SimJenkins::start(vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimJob::new("web", Some(JobState::Success)).into(),
        SimJob::new("docs", Some(JobState::Success)).into(),
    ])
    .unwrap();
    let text = format!(
        "poll_seconds = 1\ntimeout_seconds = 1\n[strip]\nport = \"none\"\n[[servers]]\nname = \"ci\"\nurl = \"{}\"\n",
        sim.url()
    );
    let config = Config::parse(&text, None).unwrap();

    // The engine's batches go through the test (to see how they were cut) on to the worker.
    let (engine_tx, engine_rx) = mpsc::channel::<Batch>();
    let (worker_tx, worker_rx) = mpsc::channel();
    let (batches_tx, batches) = mpsc::channel();
    std::thread::spawn(move || {
        for batch in engine_rx {
            batches_tx.send(batch.transitions.clone()).ok();
            worker_tx.send(batch).ok();
        }
    });
    let (shown_tx, shown) = mpsc::channel();
    let (played_tx, played) = mpsc::channel();
    let handle = AlertWorker::spawn(
        worker_rx,
        Box::new(Recorder(shown_tx)),
        Box::new(Speaker(played_tx)),
    )
    .unwrap();
    let engine = Engine::start(
        ConfigSource::Fixed(config),
        vec![],
        Observers {
            transitions: Some(engine_tx),
            ..Observers::default()
        },
    )
    .unwrap();
    assert!(wait_until(LIMIT, || engine.snapshot().servers["ci"].seen_ok));

    for job in ["api", "web", "docs"] {
        sim.finish_build(job, JobState::Failure);
    }
    // Collect until all three breaks were seen (normally one poll; two if a poll fell in between).
    let mut broke_batches = 0;
    let mut broke_jobs = 0;
    while broke_jobs < 3 {
        let batch = batches.recv_timeout(LIMIT).unwrap();
        let n = batch
            .iter()
            .filter(|t| matches!(t, Transition::Broke { .. }))
            .count();
        broke_jobs += n;
        broke_batches += usize::from(n > 0);
    }
    let mut alerts = Vec::new();
    for _ in 0..broke_batches {
        alerts.push(shown.recv_timeout(LIMIT).unwrap());
    }
    assert!(alerts.iter().all(|a| a.kind == AlertKind::Broke));
    let text: String = alerts
        .iter()
        .map(|a| format!("{} {}\n", a.title, a.body))
        .collect();
    for job in ["api", "web", "docs"] {
        assert!(text.contains(job), "{text}");
    }
    if broke_batches == 1 {
        assert_eq!(alerts[0].title, "3 jobs broke", "{text}");
        assert!(
            alerts[0].body.contains(" #2"),
            "build numbers named: {text}"
        );
    }
    let url = alerts[0].url.clone().unwrap();
    assert!(url.starts_with(sim.url()) && url.ends_with("/2/"), "{url}");
    assert_eq!(played.recv_timeout(LIMIT).unwrap(), SoundKind::Broke);

    sim.finish_build("web", JobState::Success);
    let fixed = shown.recv_timeout(LIMIT).unwrap();
    assert_eq!(fixed.title, "web is fixed");
    assert!(fixed.body.contains("#3"), "{}", fixed.body);
    assert!(wait_until(LIMIT, || played
        .try_iter()
        .any(|k| k == SoundKind::Fixed)));
    assert_eq!(handle.stats().warnings, 0);
    drop(engine);
}

#[test]
fn a_break_asks_jenkins_who_broke_it_once_and_the_notification_says() {
    let sim = SimJenkins::start(vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimJob::new("web", Some(JobState::Success)).into(),
    ])
    .unwrap();
    let text = format!(
        "poll_seconds = 1\ntimeout_seconds = 1\n[strip]\nport = \"none\"\n[[servers]]\nname = \"ci\"\nurl = \"{}\"\n",
        sim.url()
    );
    let config = Config::parse(&text, None).unwrap();
    let (tx, rx) = mpsc::channel::<Batch>();
    let (shown_tx, shown) = mpsc::channel();
    let (played_tx, _played) = mpsc::channel();
    let _worker = AlertWorker::spawn(
        rx,
        Box::new(Recorder(shown_tx)),
        Box::new(Speaker(played_tx)),
    )
    .unwrap();
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
    let polls = sim.requests();
    assert!(wait_until(LIMIT, || sim.requests() >= polls + 2));
    assert_eq!(sim.build_requests(), 0, "steady polls ask nothing more");

    sim.finish_build("web", JobState::Success); // a new good build: nothing to ask
    sim.finish_build_with(
        "api",
        JobState::Failure,
        BuildChanges::by(
            "Mona Lisa",
            "Fix the login test (#412)\n\nThe token expired.",
        ),
    );
    let alert = shown.recv_timeout(LIMIT).unwrap();
    assert_eq!(alert.kind, AlertKind::Broke);
    assert_eq!(alert.title, "api broke");
    assert_eq!(
        alert.body,
        "Build #2 of api on ci: failure — Mona Lisa: Fix the login test (#412)"
    );
    let polls = sim.requests();
    assert!(wait_until(LIMIT, || sim.requests() >= polls + 3));
    assert_eq!(
        sim.build_requests(),
        1,
        "one follow-up for the broken build, none for the good one or the polls after"
    );
    let snapshot = engine.snapshot();
    let api = &snapshot.servers["ci"].jobs[&vec!["api".to_owned()]];
    assert_eq!(
        api.last_build
            .as_ref()
            .unwrap()
            .blame
            .as_ref()
            .map(|b| b.describe()),
        Some("Mona Lisa: Fix the login test (#412)".to_owned()),
        "the answer stays on the job for the window and the tray"
    );
    assert!(shown.try_recv().is_err(), "one notification");
    drop(engine);
}

/// A notifier like one with no notification daemon on the bus.
struct NoDaemon;

impl Notifier for NoDaemon {
    fn show(&mut self, _: &Alert) -> Result<(), NotifyError> {
        Err(NotifyError::Unavailable(
            "org.freedesktop.Notifications was not provided by any .service files".into(),
        ))
    }
}

#[test]
fn the_worker_says_which_platform_parts_work_and_what_a_listen_came_to() {
    let (tx, rx) = mpsc::channel::<Batch>();
    // The machine's own audio output: on a machine without a sound card it fails (skipped where it plays).
    let handle =
        AlertWorker::spawn(rx, Box::new(NoDaemon), ledtogo::alerts::default_sound()).unwrap();
    assert_eq!(
        handle.status(),
        ledtogo::alerts::AlertStatus::default(),
        "nothing tried yet"
    );

    let config = Config::parse("[alerts]\nbroke = true\n", None).unwrap();
    tx.send(Batch {
        transitions: vec![Transition::Broke {
            job: ledtogo::model::JobId::new("ci", "api"),
            display_name: "api".into(),
            state: JobState::Failure,
            build: Some(3),
            url: None,
            blame: None,
        }],
        config: std::sync::Arc::new(config.clone()),
        flaky: Default::default(),
    })
    .unwrap();
    assert!(wait_until(LIMIT, || handle
        .status()
        .notifications_unavailable
        .is_some()));
    assert_eq!(
        handle.status().notifications_unavailable.as_deref(),
        Some("org.freedesktop.Notifications was not provided by any .service files")
    );

    handle.play_now(SoundKind::Broke, &config.alerts);
    assert!(wait_until(LIMIT, || !matches!(
        handle.status().listen,
        Some(ledtogo::alerts::Listen::Playing)
    )));
    let status = handle.status();
    if status.listen == Some(ledtogo::alerts::Listen::Played) {
        return; // this machine has a sound card
    }
    let Some(ledtogo::alerts::Listen::Failed(why)) = &status.listen else {
        panic!("{status:?}");
    };
    if cfg!(feature = "sound") {
        assert!(why.starts_with("no audio output: "), "{why}");
        assert!(status.sounds_unavailable.is_some(), "{status:?}");
    }
}
