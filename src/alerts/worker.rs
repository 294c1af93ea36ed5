//! The alert worker: three threads between the engine's transition batches and the desktop.
//!
//! - `alerts` receives each batch, asks the [`AlertPolicy`] and hands the results on with `try_send`
//!   into two small bounded queues, so it never waits for the desktop: when a queue is full (a hung
//!   notification daemon can block `show()` for 40 s and more) the alert is dropped and counted.
//! - `alerts-notify` calls the [`Notifier`]; `alerts-sound` calls the [`SoundSink`] (and keeps its audio
//!   device open). A slow daemon never delays a sound and the other way round.
//! - A platform that is missing (no notification daemon, no audio device) is logged once at warn level;
//!   later failures go to debug, a recovery to info.
//!
//! The threads end when the sender of batches is dropped (queued alerts are still delivered).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TrySendError};

use parking_lot::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::policy::{Alert, AlertPolicy, Moment, RateLimit, SoundKind};
use super::{Notifier, NotifyError, SoundError, SoundSink};
use crate::config::{Alerts, Config};
use crate::engine::Batch;
use crate::model::JobId;

/// Notifications waiting for the notifier; more are dropped (and counted).
const NOTIFY_QUEUE: usize = 4;
/// Sounds waiting for the sound thread; more are dropped (and counted).
const SOUND_QUEUE: usize = 2;
/// How often the flaky jobs' digest is looked at when no batch comes (it may be due, or a pause over).
const DIGEST_CHECK: Duration = Duration::from_secs(60);

/// Starts the alert threads. See the module docs.
#[derive(Debug)]
pub struct AlertWorker;

impl AlertWorker {
    /// Starts the worker on `rx` (give the matching sender to the engine's `Observers::transitions`).
    /// Each batch is judged by its own config's `[alerts]`.
    pub fn spawn(
        rx: Receiver<Batch>,
        notifier: Box<dyn Notifier>,
        sound: Box<dyn SoundSink>,
    ) -> std::io::Result<AlertHandle> {
        Self::spawn_with(rx, notifier, sound, RateLimit::default())
    }

    /// [`AlertWorker::spawn`] with another flapping limit.
    pub fn spawn_with(
        rx: Receiver<Batch>,
        mut notifier: Box<dyn Notifier>,
        mut sound: Box<dyn SoundSink>,
        limit: RateLimit,
    ) -> std::io::Result<AlertHandle> {
        let shared = Arc::new(Shared {
            control: Mutex::new(Control {
                paused_until: None,
                status: AlertStatus::default(),
            }),
            stats: Counters::default(),
        });
        let (notify_tx, notify_rx) = std::sync::mpsc::sync_channel::<Alert>(NOTIFY_QUEUE);
        let (sound_tx, sound_rx) = std::sync::mpsc::sync_channel::<SoundRequest>(SOUND_QUEUE);
        let preview = sound_tx.clone();

        let s = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("alerts-notify".into())
            .spawn(move || {
                let mut log = FailureLog::default();
                for alert in notify_rx {
                    let shown = notifier.show(&alert);
                    s.lock().status.notifications_unavailable = shown
                        .as_ref()
                        .err()
                        .map(|NotifyError::Unavailable(why)| why.clone());
                    match shown {
                        Ok(()) => {
                            s.stats.notifications_shown.fetch_add(1, Ordering::Relaxed);
                            if let Report::Recovered { failures } = log.succeeded() {
                                tracing::info!(
                                    "desktop notifications work again (after {failures} failed)"
                                );
                            }
                        }
                        Err(e) => {
                            s.stats
                                .notification_failures
                                .fetch_add(1, Ordering::Relaxed);
                            s.report(log.failed(), &e, "without desktop notifications");
                        }
                    }
                }
            })?;

        let s = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("alerts-sound".into())
            .spawn(move || {
                let mut log = FailureLog::default();
                let mut bad_files: HashSet<PathBuf> = HashSet::new();
                for request in sound_rx {
                    let played = sound.play(request.kind, request.custom.as_deref());
                    {
                        let mut control = s.lock();
                        let status = &mut control.status;
                        match &played {
                            Err(SoundError::NoDevice(why)) => {
                                status.sounds_unavailable = Some(why.clone());
                            }
                            Ok(()) | Err(SoundError::BadFile { .. }) => {
                                status.sounds_unavailable = None;
                            }
                        }
                        if request.preview {
                            status.listen = Some(match &played {
                                Ok(()) => Listen::Played,
                                Err(e) => Listen::Failed(e.to_string()),
                            });
                        }
                    }
                    match played {
                        Ok(()) => {
                            s.stats.sounds_played.fetch_add(1, Ordering::Relaxed);
                            if let Some(path) = &request.custom {
                                bad_files.remove(path);
                            }
                            if let Report::Recovered { .. } = log.succeeded() {
                                tracing::info!("sound works again");
                            }
                        }
                        Err(e) => {
                            s.stats.sound_failures.fetch_add(1, Ordering::Relaxed);
                            match &e {
                                // Each bad file once (until it plays); the device works meanwhile.
                                SoundError::BadFile { path, .. } => {
                                    if let Report::Recovered { .. } = log.succeeded() {
                                        tracing::info!("sound works again");
                                    }
                                    if bad_files.insert(path.clone()) {
                                        s.stats.warnings.fetch_add(1, Ordering::Relaxed);
                                        tracing::warn!("{e}");
                                    } else {
                                        tracing::debug!("{e}");
                                    }
                                }
                                SoundError::NoDevice(_) => {
                                    s.report(log.failed(), &e, "without sounds");
                                }
                            }
                        }
                    }
                }
            })?;

        let s = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("alerts".into())
            .spawn(move || {
                let mut policy = AlertPolicy::new(limit);
                let mut backed_up = false;
                let mut config: Option<Arc<Config>> = None;
                let moment = || Moment {
                    now: Instant::now(),
                    minute_of_day: local_minute_of_day(),
                    paused_until: s.lock().paused_until,
                };
                let mut deliver = |alert: Alert, config: &Config| {
                    tracing::debug!(
                        "alert: {} ({}{})",
                        alert.title,
                        if alert.notify { "notify" } else { "no notification" },
                        alert.sound.map_or("", |_| ", sound")
                    );
                    if let Some(kind) = alert.sound {
                        let custom = custom_sound(config, kind, &alert.jobs);
                        let request = SoundRequest {
                            kind,
                            custom,
                            preview: false,
                        };
                        if sound_tx.try_send(request).is_err() {
                            s.stats.sounds_dropped.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!("sound dropped: the sound thread is busy");
                        }
                    }
                    if alert.notify {
                        match notify_tx.try_send(alert) {
                            Ok(()) => backed_up = false,
                            Err(TrySendError::Full(a) | TrySendError::Disconnected(a)) => {
                                s.stats
                                    .notifications_dropped
                                    .fetch_add(1, Ordering::Relaxed);
                                if backed_up {
                                    tracing::debug!("notification dropped: {}", a.title);
                                } else {
                                    backed_up = true;
                                    tracing::warn!(
                                        "the notification daemon is not keeping up; dropping notifications (first: {})",
                                        a.title
                                    );
                                }
                            }
                        }
                    }
                };
                loop {
                    match rx.recv_timeout(DIGEST_CHECK) {
                        Ok(batch) => {
                            s.stats.batches.fetch_add(1, Ordering::Relaxed);
                            let decision = policy.decide_with_flaky(
                                &batch.transitions,
                                &batch.flaky,
                                &moment(),
                                &batch.config.alerts,
                            );
                            for sup in &decision.suppressed {
                                s.stats.flapping_suppressed.fetch_add(1, Ordering::Relaxed);
                                if sup.first {
                                    tracing::info!(
                                        "{} is flapping: its alerts are held back for now",
                                        sup.subject
                                    );
                                } else {
                                    tracing::debug!("{}: alert held back (flapping)", sup.subject);
                                }
                            }
                            for alert in decision.alerts {
                                deliver(alert, &batch.config);
                            }
                            config = Some(batch.config);
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    if let Some(config) = &config
                        && let Some(digest) = policy.digest(&moment(), &config.alerts)
                    {
                        deliver(digest, config);
                    }
                }
            })?;
        Ok(AlertHandle { shared, preview })
    }
}

/// Controls a running [`AlertWorker`]: the notification pause, sound previews, statistics. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AlertHandle {
    shared: Arc<Shared>,
    /// The sound thread's queue, for [`AlertHandle::play_now`].
    preview: std::sync::mpsc::SyncSender<SoundRequest>,
}

impl AlertHandle {
    /// Shows no notifications until `until` (sounds still play; quiet hours and the mute switch are
    /// separate). A later call replaces the end.
    pub fn pause_notifications_until(&self, until: Instant) {
        self.shared.lock().paused_until = Some(until);
    }

    /// Ends a pause now.
    pub fn resume_notifications(&self) {
        self.shared.lock().paused_until = None;
    }

    /// The end of the current pause; `None` when notifications are not paused (or the pause is over).
    pub fn paused_until(&self) -> Option<Instant> {
        let now = Instant::now();
        self.shared.lock().paused_until.filter(|until| now < *until)
    }

    /// Plays the sound of `kind` now, as `settings` configure it (the user's file or the built-in one),
    /// whatever the switches say: the Alerts tab's "Play" button. Never blocks; dropped when sounds are
    /// already queued.
    /// What became of it shows in [`AlertHandle::status`]'s `listen`.
    pub fn play_now(&self, kind: SoundKind, settings: &Alerts) {
        self.play_file_now(kind, global_sound(settings, kind));
    }

    /// Plays `custom` (the built-in sound of `kind` when `None`) now, like [`play_now`](Self::play_now):
    /// a slot's own sound, from its context menu.
    pub fn play_file_now(&self, kind: SoundKind, custom: Option<PathBuf>) {
        self.shared.lock().status.listen = Some(Listen::Playing);
        let request = SoundRequest {
            kind,
            custom,
            preview: true,
        };
        if self.preview.try_send(request).is_err() {
            self.shared.lock().status.listen = Some(Listen::Busy);
            self.shared
                .stats
                .sounds_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether notifications and sounds worked the last time they were tried, and what the last
    /// *Listen* came to.
    pub fn status(&self) -> AlertStatus {
        self.shared.lock().status.clone()
    }

    pub fn stats(&self) -> AlertStats {
        let c = &self.shared.stats;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        AlertStats {
            batches: get(&c.batches),
            notifications_shown: get(&c.notifications_shown),
            notification_failures: get(&c.notification_failures),
            notifications_dropped: get(&c.notifications_dropped),
            sounds_played: get(&c.sounds_played),
            sound_failures: get(&c.sound_failures),
            sounds_dropped: get(&c.sounds_dropped),
            flapping_suppressed: get(&c.flapping_suppressed),
            warnings: get(&c.warnings),
        }
    }
}

/// What the worker has done so far (for tests and diagnostics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertStats {
    /// Batches of transitions received.
    pub batches: u64,
    pub notifications_shown: u64,
    pub notification_failures: u64,
    /// Dropped because the notifier was still busy with earlier ones.
    pub notifications_dropped: u64,
    pub sounds_played: u64,
    pub sound_failures: u64,
    pub sounds_dropped: u64,
    /// Changes held back by the flapping limit.
    pub flapping_suppressed: u64,
    /// Platform problems logged at warn level (missing daemon or device, each bad sound file once).
    pub warnings: u64,
}

/// Whether the platform parts work, as far as the worker knows (from the last attempt of each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertStatus {
    /// Why the last notification could not be shown; `None` when it was (or none was tried yet).
    pub notifications_unavailable: Option<String>,
    /// Why the last sound found no audio device; `None` when it played (or none was tried yet).
    pub sounds_unavailable: Option<String>,
    /// What the last [`AlertHandle::play_now`] came to.
    pub listen: Option<Listen>,
}

/// What a *Listen* came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// Queued or playing.
    Playing,
    /// Handed to the audio device.
    Played,
    /// Another sound was still queued: nothing was played.
    Busy,
    /// No audio device, or the sound file could not be used (the error says which).
    Failed(String),
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Playing => f.write_str("playing…"),
            Listen::Played => f.write_str("played"),
            Listen::Busy => f.write_str("not played: another sound is still queued"),
            Listen::Failed(why) => f.write_str(why),
        }
    }
}

#[derive(Debug)]
struct SoundRequest {
    kind: SoundKind,
    custom: Option<PathBuf>,
    /// Asked for by [`AlertHandle::play_now`]: its result goes to [`AlertStatus::listen`].
    preview: bool,
}

/// The user's file for a sound of `kind`, if one is configured.
/// The `[alerts]` sound file of `kind` (`None`: the built-in sound).
fn global_sound(settings: &Alerts, kind: SoundKind) -> Option<PathBuf> {
    match kind {
        SoundKind::Broke => settings.sound_broke.clone(),
        SoundKind::Fixed => settings.sound_fixed.clone(),
    }
}

/// The sound file an alert about `jobs` plays for `kind`: the slot sound of the first job that has one
/// ([`Config::slot_sound`]: a job behind several slots takes its most specific slot's), else the
/// `[alerts]` one.
fn custom_sound(config: &Config, kind: SoundKind, jobs: &[JobId]) -> Option<PathBuf> {
    jobs.iter()
        .find_map(|job| {
            config.slot_sound(job, |slot| match kind {
                SoundKind::Broke => slot.sound_broke.as_ref(),
                SoundKind::Fixed => slot.sound_fixed.as_ref(),
            })
        })
        .map(std::path::Path::to_path_buf)
        .or_else(|| global_sound(&config.alerts, kind))
}

#[derive(Debug)]
struct Control {
    paused_until: Option<Instant>,
    status: AlertStatus,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    notifications_shown: AtomicU64,
    notification_failures: AtomicU64,
    notifications_dropped: AtomicU64,
    sounds_played: AtomicU64,
    sound_failures: AtomicU64,
    sounds_dropped: AtomicU64,
    flapping_suppressed: AtomicU64,
    warnings: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    control: Mutex<Control>,
    stats: Counters,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Control> {
        self.control.lock()
    }

    /// Logs a platform failure as its [`Report`] says: once loudly, then quietly.
    fn report(&self, report: Report, e: &dyn std::fmt::Display, consequence: &str) {
        match report {
            Report::FirstFailure => {
                self.stats.warnings.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("{e}; ledtogo carries on {consequence} (logged once)");
            }
            Report::FailedAgain => tracing::info!("{e}; carrying on {consequence}"),
            Report::Quiet | Report::Recovered { .. } => tracing::debug!("{e}"),
        }
    }
}

/// What a success or failure of a platform call is worth logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    /// Nothing new (a success while working, another failure while failing).
    Quiet,
    /// The first failure ever: warn.
    FirstFailure,
    /// Failing again after having recovered: info.
    FailedAgain,
    /// Working again after `failures` failures: info.
    Recovered { failures: u64 },
}

/// Turns a stream of successes and failures into few log lines.
#[derive(Debug, Default)]
struct FailureLog {
    failing: bool,
    ever_failed: bool,
    failures: u64,
}

impl FailureLog {
    fn failed(&mut self) -> Report {
        self.failures += 1;
        if self.failing {
            return Report::Quiet;
        }
        self.failing = true;
        if std::mem::replace(&mut self.ever_failed, true) {
            Report::FailedAgain
        } else {
            Report::FirstFailure
        }
    }

    fn succeeded(&mut self) -> Report {
        if !self.failing {
            return Report::Quiet;
        }
        self.failing = false;
        Report::Recovered {
            failures: std::mem::take(&mut self.failures),
        }
    }
}

/// Local time of day in minutes, for quiet hours.
fn local_minute_of_day() -> u16 {
    use chrono::Timelike as _;
    let t = chrono::Local::now().time();
    u16::try_from(t.hour() * 60 + t.minute()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::alerts::NotifyError;
    use crate::config::Config;
    use crate::model::{JobId, JobState, Transition};
    use std::path::Path;
    use std::sync::mpsc;
    use std::time::Duration;

    fn broke(name: &str, build: u64) -> Vec<Transition> {
        vec![Transition::Broke {
            job: JobId::new("ci", name),
            display_name: name.to_owned(),
            state: JobState::Failure,
            build: Some(build),
            url: None,
            blame: None,
        }]
    }

    fn config_with(alerts: Alerts) -> Arc<Config> {
        Arc::new(Config {
            alerts,
            ..Config::parse("", None).unwrap()
        })
    }

    /// The engine's end: sends each batch with the config in use, as the engine does.
    struct Feed {
        tx: mpsc::Sender<Batch>,
        config: Arc<Config>,
    }

    impl Feed {
        fn send(&self, transitions: Vec<Transition>) {
            self.tx
                .send(Batch {
                    transitions,
                    config: self.config.clone(),
                    flaky: Default::default(),
                })
                .unwrap();
        }

        /// A config reload: the batches from now on carry `settings`.
        fn reload(&mut self, settings: Alerts) {
            self.config = config_with(settings);
        }
    }

    fn feed(settings: Alerts) -> (Feed, mpsc::Receiver<Batch>) {
        let (tx, rx) = mpsc::channel();
        let config = config_with(settings);
        (Feed { tx, config }, rx)
    }

    /// Records what it was asked to show.
    struct Recorder(mpsc::Sender<String>);

    impl Notifier for Recorder {
        fn show(&mut self, alert: &Alert) -> Result<(), NotifyError> {
            self.0.send(alert.title.clone()).ok();
            Ok(())
        }
    }

    /// Blocks in `show()` until the test lets it go, like a daemon that never answers.
    struct Hung(mpsc::Receiver<()>);

    impl Notifier for Hung {
        fn show(&mut self, _: &Alert) -> Result<(), NotifyError> {
            self.0.recv().ok();
            Err(NotifyError::Unavailable("NoReply".into()))
        }
    }

    struct Failing;

    impl Notifier for Failing {
        fn show(&mut self, _: &Alert) -> Result<(), NotifyError> {
            Err(NotifyError::Unavailable("no session bus".into()))
        }
    }

    /// Records sounds; fails for files named `bad*`.
    struct Speaker(mpsc::Sender<(SoundKind, Option<PathBuf>)>);

    impl SoundSink for Speaker {
        fn play(&mut self, kind: SoundKind, custom: Option<&Path>) -> Result<(), SoundError> {
            self.0.send((kind, custom.map(Path::to_path_buf))).ok();
            match custom {
                Some(p) if p.to_string_lossy().contains("bad") => Err(SoundError::BadFile {
                    path: p.to_path_buf(),
                    reason: "not audio".into(),
                }),
                _ => Ok(()),
            }
        }
    }

    struct NoDevice;

    impl SoundSink for NoDevice {
        fn play(&mut self, _: SoundKind, _: Option<&Path>) -> Result<(), SoundError> {
            Err(SoundError::NoDevice("DeviceNotAvailable".into()))
        }
    }

    fn wait_for(handle: &AlertHandle, done: impl Fn(&AlertStats) -> bool) -> AlertStats {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = handle.stats();
            if done(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "timed out: {s:?}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// A worker with a recording notifier and speaker, and the ends to drive and watch it.
    struct Rig {
        tx: Feed,
        shown: mpsc::Receiver<String>,
        played: mpsc::Receiver<(SoundKind, Option<PathBuf>)>,
        handle: AlertHandle,
    }

    fn rig(settings: Alerts) -> Rig {
        let (tx, rx) = feed(settings);
        let (shown_tx, shown) = mpsc::channel();
        let (played_tx, played) = mpsc::channel();
        let handle = AlertWorker::spawn(
            rx,
            Box::new(Recorder(shown_tx)),
            Box::new(Speaker(played_tx)),
        )
        .unwrap();
        Rig {
            tx,
            shown,
            played,
            handle,
        }
    }

    #[test]
    fn batches_become_notifications_and_sounds() {
        let settings = Alerts {
            sound_fixed: Some(PathBuf::from("/sounds/fixed.wav")),
            ..Alerts::default()
        };
        let Rig {
            tx,
            shown,
            played,
            handle,
        } = rig(settings);
        tx.send(vec![]);
        tx.send(broke("api", 3));
        let t = shown.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(t, "api broke");
        assert_eq!(
            played.recv_timeout(Duration::from_secs(5)).unwrap(),
            (SoundKind::Broke, None)
        );
        tx.send(vec![Transition::Fixed {
            job: JobId::new("ci", "api"),
            display_name: "api".into(),
            build: Some(4),
            url: None,
            blame: None,
        }]);
        assert_eq!(
            played.recv_timeout(Duration::from_secs(5)).unwrap(),
            (SoundKind::Fixed, Some(PathBuf::from("/sounds/fixed.wav")))
        );
        let s = wait_for(&handle, |s| s.notifications_shown == 2);
        assert_eq!(s.batches, 3);
        assert_eq!(s.warnings, 0);
    }

    #[test]
    fn a_hung_notifier_never_blocks_the_sender_nor_the_sounds() {
        let (tx, rx) = feed(Alerts::default());
        let (release, hung) = mpsc::channel();
        let (played_tx, played) = mpsc::channel();
        let handle =
            AlertWorker::spawn(rx, Box::new(Hung(hung)), Box::new(Speaker(played_tx))).unwrap();
        let started = Instant::now();
        for i in 0..50 {
            tx.send(broke(&format!("job{i}"), 1));
        }
        // A send that waited for the notifier would wait forever (it never returns before the
        // release below): the bound only has to be far from forever, on a loaded machine too.
        assert!(started.elapsed() < Duration::from_secs(10));
        // Sounds go on while the notifier hangs (some may be dropped: the queue is small).
        played.recv_timeout(Duration::from_secs(5)).unwrap();
        let s = wait_for(&handle, |s| s.batches == 50);
        // One in show(), NOTIFY_QUEUE queued, the rest dropped.
        assert!(
            s.notifications_dropped >= 50 - 1 - NOTIFY_QUEUE as u64,
            "{s:?}"
        );
        assert_eq!(s.notifications_shown + s.notification_failures, 0);
        drop(release);
        let s = wait_for(&handle, |s| s.notification_failures >= 1);
        assert_eq!(s.warnings, 1);
    }

    #[test]
    fn missing_platforms_are_logged_once_and_the_worker_keeps_going() {
        let (tx, rx) = feed(Alerts::default());
        let handle = AlertWorker::spawn(rx, Box::new(Failing), Box::new(NoDevice)).unwrap();
        for i in 0..5 {
            tx.send(broke(&format!("job{i}"), 1));
            wait_for(&handle, |s| {
                s.notification_failures > i && s.sound_failures + s.sounds_dropped > i
            });
        }
        let s = handle.stats();
        assert_eq!(s.notification_failures, 5);
        assert_eq!(s.warnings, 2, "one for notifications, one for sound: {s:?}");
    }

    #[test]
    fn a_bad_sound_file_is_reported_once_per_file() {
        let settings = Alerts {
            notifications: false,
            sound_broke: Some(PathBuf::from("/sounds/bad.ogg")),
            ..Alerts::default()
        };
        let Rig {
            tx,
            shown: _shown,
            played,
            handle,
        } = rig(settings);
        for i in 0..3 {
            tx.send(broke(&format!("job{i}"), 1));
            played.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        let s = wait_for(&handle, |s| s.sound_failures == 3);
        assert_eq!(s.warnings, 1);
        assert_eq!(s.notifications_shown, 0);
    }

    #[test]
    fn play_now_plays_the_configured_sound_even_when_muted() {
        let settings = Alerts {
            sounds: false,
            sound_fixed: Some(PathBuf::from("/sounds/fixed.wav")),
            ..Alerts::default()
        };
        let Rig {
            tx: _tx,
            shown: _shown,
            played,
            handle,
        } = rig(settings.clone());
        handle.play_now(SoundKind::Fixed, &settings);
        assert_eq!(
            played.recv_timeout(Duration::from_secs(5)).unwrap(),
            (SoundKind::Fixed, Some(PathBuf::from("/sounds/fixed.wav")))
        );
        handle.play_now(SoundKind::Broke, &settings);
        assert_eq!(
            played.recv_timeout(Duration::from_secs(5)).unwrap(),
            (SoundKind::Broke, None)
        );
    }

    #[test]
    fn reloaded_settings_and_the_pause_apply_from_the_next_batch() {
        let (mut tx, rx) = feed(Alerts::default());
        let (shown_tx, shown) = mpsc::channel();
        let handle = AlertWorker::spawn(
            rx,
            Box::new(Recorder(shown_tx)),
            Box::new(super::super::LogSound),
        )
        .unwrap();
        assert_eq!(handle.paused_until(), None);
        let until = Instant::now() + Duration::from_secs(3600);
        handle.pause_notifications_until(until);
        assert_eq!(handle.paused_until(), Some(until));
        tx.send(broke("a", 1));
        wait_for(&handle, |s| s.batches == 1 && s.sounds_played == 1);
        handle.resume_notifications();
        assert_eq!(handle.paused_until(), None);
        tx.reload(Alerts {
            broke: false,
            ..Alerts::default()
        });
        tx.send(broke("b", 1));
        wait_for(&handle, |s| s.batches == 2);
        tx.reload(Alerts::default());
        tx.send(broke("c", 1));
        assert_eq!(
            shown.recv_timeout(Duration::from_secs(5)).unwrap(),
            "c broke"
        );
        assert!(shown.try_recv().is_err());
        // A pause that is over reads as no pause.
        handle.pause_notifications_until(Instant::now());
        assert_eq!(handle.paused_until(), None);
    }

    #[test]
    fn a_reload_that_mutes_sounds_silences_the_very_next_batch() {
        let Rig {
            mut tx,
            shown,
            played,
            handle,
        } = rig(Alerts::default());
        tx.send(broke("a", 1));
        assert_eq!(
            played.recv_timeout(Duration::from_secs(5)).unwrap(),
            (SoundKind::Broke, None)
        );
        assert_eq!(
            shown.recv_timeout(Duration::from_secs(5)).unwrap(),
            "a broke"
        );
        tx.reload(Alerts {
            sounds: false,
            ..Alerts::default()
        });
        tx.send(broke("b", 1));
        assert_eq!(
            shown.recv_timeout(Duration::from_secs(5)).unwrap(),
            "b broke",
            "notifications still on"
        );
        // Sounds on again: the next sound heard is this fix's (sounds come in order), not b's break.
        tx.reload(Alerts::default());
        tx.send(vec![Transition::Fixed {
            job: JobId::new("ci", "a"),
            display_name: "a".into(),
            build: Some(2),
            url: None,
            blame: None,
        }]);
        assert_eq!(
            played.recv_timeout(Duration::from_secs(5)).unwrap(),
            (SoundKind::Fixed, None)
        );
        let s = wait_for(&handle, |s| s.batches == 3 && s.sounds_played == 2);
        assert_eq!(s.sounds_dropped, 0);
    }

    #[test]
    fn a_slot_sound_plays_for_the_job_behind_the_slot_and_the_global_one_for_the_rest() {
        let Rig {
            tx, played, shown, ..
        } = rig(Alerts::default());
        let config = Arc::new(
            Config::parse(
                "[[servers]]\nname = \"ci\"\nurl = \"http://ci.example/\"\n\
                 [alerts]\nsound_broke = \"/s/global.ogg\"\n\
                 [[slots]]\nled = 0\njob = \"deploy\"\nsound_broke = \"/s/deploy.ogg\"\n\
                 [[slots]]\nled = 1\njob = \"lint\"\n",
                None,
            )
            .unwrap(),
        );
        let send = |transitions| {
            tx.tx
                .send(Batch {
                    transitions,
                    config: config.clone(),
                    flaky: Default::default(),
                })
                .unwrap();
        };
        send(broke("deploy", 3));
        assert_eq!(
            played.recv_timeout(Duration::from_secs(5)).unwrap(),
            (SoundKind::Broke, Some(PathBuf::from("/s/deploy.ogg")))
        );
        send(broke("lint", 3));
        assert_eq!(
            played.recv_timeout(Duration::from_secs(5)).unwrap(),
            (SoundKind::Broke, Some(PathBuf::from("/s/global.ogg")))
        );
        let mut both = broke("lint", 4);
        both.extend(broke("deploy", 4));
        send(both);
        assert_eq!(
            played.recv_timeout(Duration::from_secs(5)).unwrap(),
            (SoundKind::Broke, Some(PathBuf::from("/s/deploy.ogg"))),
            "of several jobs, the first one with a slot sound"
        );
        assert_eq!(
            shown.recv_timeout(Duration::from_secs(5)).unwrap(),
            "deploy broke"
        );
    }

    #[test]
    fn a_flaky_jobs_break_becomes_a_silent_digest_notification() {
        let Rig {
            tx,
            shown,
            played,
            handle,
        } = rig(Alerts::default());
        let flaky = [(
            JobId::new("ci", "api"),
            crate::flaky::FlakyJob {
                flips: 4,
                last: Vec::new(),
            },
        )]
        .into_iter()
        .collect();
        tx.tx
            .send(Batch {
                transitions: broke("api", 9),
                config: tx.config.clone(),
                flaky,
            })
            .unwrap();
        assert_eq!(
            shown.recv_timeout(Duration::from_secs(5)).unwrap(),
            "1 flaky job"
        );
        let s = wait_for(&handle, |s| s.notifications_shown == 1);
        assert_eq!(s.sounds_played, 0);
        assert!(played.try_recv().is_err(), "no sound for a flaky job");
    }

    #[test]
    fn the_failure_log_reports_once_per_outage() {
        let mut log = FailureLog::default();
        assert_eq!(log.succeeded(), Report::Quiet);
        assert_eq!(log.failed(), Report::FirstFailure);
        assert_eq!(log.failed(), Report::Quiet);
        assert_eq!(log.failed(), Report::Quiet);
        assert_eq!(log.succeeded(), Report::Recovered { failures: 3 });
        assert_eq!(log.succeeded(), Report::Quiet);
        assert_eq!(log.failed(), Report::FailedAgain);
        assert_eq!(log.failed(), Report::Quiet);
    }
}
