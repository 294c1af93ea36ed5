//! The engine: the worker that ties everything together. It runs the pollers, keeps the latest snapshot,
//! turns snapshot changes into transitions, renders frames (animated while jobs build) and pushes them to
//! the strips, and reloads the config file when it changes. Readers (the window, the tray) take the latest
//! published state; nothing here waits for them.
//!
//! A poll whose answer did not change ([`Found::Same`]: the same bytes as the server's last good answer)
//! costs nothing here: no copy of the snapshot, no diff, no publication, no frame.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::ack::{self, AckRequest, Acks};
use crate::color::Rgb;
use crate::config::Config;
use crate::flaky::{self, FlakySet};
use crate::frame::{self, Overlay};
use crate::model::{ServerState, Snapshot, Transition, transitions};
use crate::outputs::Output;
use crate::outputs::{DeviceStatus, StripOutput};
use crate::poller::{Found, Polled, Poller};
use crate::state::Files;
use crate::text;

/// Frames per second while something animates (a building job pulses).
pub const ANIMATION_FPS: u32 = 25;
/// How often the config file is checked for changes.
pub const RELOAD_CHECK: Duration = Duration::from_secs(1);
/// How often the flaky flags are looked at again when no build finishes (flips age out of the window,
/// a green spell ends a flag).
pub const FLAKY_CHECK: Duration = Duration::from_secs(60);

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// A file, reloaded when it changes on disk. The initial config is given (already validated).
    File { path: PathBuf, initial: Config },
    /// A fixed config (demo mode).
    Fixed(Config),
}

/// One poll's transitions and the config in use when they were seen: the alert worker applies this
/// config's `[alerts]` to the batch (a reload takes effect from the next batch, with no polling).
#[derive(Debug, Clone)]
pub struct Batch {
    pub transitions: Vec<Transition>,
    pub config: Arc<Config>,
    /// The jobs flaky after this batch's builds were counted ([`crate::flaky`]): their breaks and fixes
    /// go into the daily digest.
    pub flaky: FlakySet,
}

/// Hooks for whoever displays the engine's state.
#[derive(Default)]
pub struct Observers {
    /// Called after every published change (new snapshot, new frame, new config): e.g. a repaint request.
    pub on_change: Option<Box<dyn Fn() + Send + Sync>>,
    /// Receives each batch of transitions (one batch per poll) with the config in use, for notifications
    /// and sounds.
    pub transitions: Option<Sender<Batch>>,
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("on_change", &self.on_change.is_some())
            .field("transitions", &self.transitions.is_some())
            .finish()
    }
}

/// The latest state, as published to readers.
#[derive(Debug, Clone)]
pub struct Published {
    pub snapshot: Arc<Snapshot>,
    pub frame: Arc<Vec<Rgb>>,
    pub config: Arc<Config>,
    /// The last config reload error, if the file on disk is currently invalid.
    pub config_error: Option<String>,
    /// The LED strip (serial device or network strip), as its worker last reported it.
    pub device: DeviceStatus,
}

/// See [`Engine::published_handle`].
#[derive(Debug, Clone)]
pub struct PublishedHandle(std::sync::Weak<Mutex<Published>>);

impl PublishedHandle {
    /// The config in use, or `None` when the engine has stopped.
    pub fn config(&self) -> Option<Arc<Config>> {
        let published = self.0.upgrade()?;
        let config = published.lock().config.clone();
        Some(config)
    }

    /// Everything published now, or `None` when the engine has stopped.
    pub fn published(&self) -> Option<Published> {
        let published = self.0.upgrade()?;
        let now = published.lock().clone();
        Some(now)
    }
}

/// What someone asks of the acknowledgements ("I'm on it"), from the command line, the window or the tray.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckCommand {
    /// Acknowledge a failing job (checked against the snapshot: [`ack::acknowledge`]).
    Make(AckRequest),
    /// Nobody is on it any more.
    Clear { job: String, server: Option<String> },
    /// Who is on what, one line each.
    List,
}

/// The engine's answer to an [`AckCommand`]: what to tell the person, or why it was refused.
pub type AckAnswer = Result<String, String>;

/// How long [`AckHandle::ask`] waits for the engine.
pub const ACK_ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Sends [`AckCommand`]s to the engine from any thread (the instance socket, the window's desk, the tray).
#[derive(Debug, Clone)]
pub struct AckHandle(Sender<Msg>);

impl AckHandle {
    /// Sends `command` and forgets it; the engine logs a refusal (for the window and the tray, which show
    /// the outcome through the published snapshot).
    pub fn send(&self, command: AckCommand) {
        self.0.send(Msg::Ack(command, None)).ok();
    }

    /// Sends `command` and waits (at most [`ACK_ANSWER_WITHIN`]) for the answer. Blocks: never on the UI
    /// thread.
    pub fn ask(&self, command: AckCommand) -> AckAnswer {
        let (tx, rx) = mpsc::channel();
        if self.0.send(Msg::Ack(command, Some(tx))).is_err() {
            return Err("ledtogo is stopping: try again once it runs".to_owned());
        }
        rx.recv_timeout(ACK_ANSWER_WITHIN)
            .map_err(|_| "ledtogo did not answer within 5 s: see its log".to_owned())?
    }

    /// How an instance answers `request` from its socket: acknowledgements go to the engine, "show" is
    /// refused (a desktop app answers that one itself, before asking this). Blocks: never on the UI thread.
    pub fn answer(&self, request: ack::Request) -> AckAnswer {
        match request {
            ack::Request::Show => {
                Err("this ledtogo runs headless: it has no window to show".to_owned())
            }
            ack::Request::Ack(request) => self.ask(AckCommand::Make(request)),
            ack::Request::Clear { job, server } => self.ask(AckCommand::Clear { job, server }),
            ack::Request::List => self.ask(AckCommand::List),
        }
    }
}

enum Msg {
    Polled(Polled),
    Ack(AckCommand, Option<Sender<AckAnswer>>),
    Refresh,
    Reload,
    Overlay(Overlay),
    Stop,
}

/// A running engine. Stops (and joins its thread) when dropped.
#[derive(Debug)]
pub struct Engine {
    tx: Sender<Msg>,
    published: Arc<Mutex<Published>>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the engine with `outputs` besides the strip (serial or network, which it runs for `[strip]`
    /// itself, publishing its status), remembering nothing between runs (acknowledgements and the
    /// flaky-job history in memory only): the demo, tests.
    pub fn start(
        source: ConfigSource,
        outputs: Vec<Box<dyn Output>>,
        observers: Observers,
    ) -> std::io::Result<Engine> {
        Self::start_remembering(source, outputs, observers, Files::default())
    }

    /// [`Engine::start`] keeping the acknowledgements and the flaky-job history in `files` (the app:
    /// [`Files::user`]), loaded now and saved as they change.
    pub fn start_remembering(
        source: ConfigSource,
        outputs: Vec<Box<dyn Output>>,
        observers: Observers,
        files: Files,
    ) -> std::io::Result<Engine> {
        let Files {
            acks: acks_file,
            flaky: flaky_file,
        } = files;
        let config = Arc::new(match &source {
            ConfigSource::File { initial, .. } => initial.clone(),
            ConfigSource::Fixed(c) => c.clone(),
        });
        let acks = match acks_file.as_deref().map(ack::load) {
            Some(Ok(acks)) => acks,
            Some(Err(e)) => {
                tracing::warn!("{e}");
                Acks::default()
            }
            None => Acks::default(),
        };
        let snapshot = Arc::new(Snapshot {
            acks,
            ..Snapshot::default()
        });
        let published = Arc::new(Mutex::new(Published {
            snapshot: snapshot.clone(),
            frame: Arc::new(vec![Rgb::OFF; config.strip.leds]),
            config: config.clone(),
            config_error: None,
            device: DeviceStatus::Disabled,
        }));
        let (tx, rx) = mpsc::channel();
        let flaky = match &flaky_file {
            Some(path) => flaky::History::load(path).unwrap_or_else(|e| {
                tracing::warn!("{e}");
                flaky::History::default()
            }),
            None => flaky::History::default(),
        };
        let mut worker = Worker {
            source,
            config,
            snapshot,
            acks_file,
            pollers: BTreeMap::new(),
            generation: 0,
            inbox: tx.clone(),
            outputs,
            transitions: observers.transitions,
            on_change: observers.on_change.map(Arc::from),
            published: published.clone(),
            started: Instant::now(),
            last_frame: None,
            file_text: None,
            overlay: None,
            flaky,
            flaky_file,
            flaky_save_failed: false,
            relayed_flaky: BTreeMap::new(),
        };
        worker.file_text = worker.read_file();
        // The file may already be invalid (the caller fell back to defaults, or it changed since it was
        // read): say so from the start, as a later bad edit would be reported.
        if let (ConfigSource::File { path, .. }, Some(text)) = (&worker.source, &worker.file_text)
            && let Err(e) = Config::parse(text, Some(path))
        {
            let msg = e.to_string();
            worker.update_published(|p| p.config_error = Some(msg));
        }
        let on_change: Option<OnChange> = worker.on_change.clone();
        let weak = Arc::downgrade(&published);
        worker
            .outputs
            .push(Box::new(StripOutput::new(Arc::new(move |status| {
                if let Some(published) = weak.upgrade() {
                    publish(&published, on_change.as_ref(), |p| p.device = status);
                }
            }))));
        worker.refresh_flaky(false);
        worker.sync_pollers();
        worker.configure_outputs();
        let thread = std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || worker.run(&rx))?;
        Ok(Engine {
            tx,
            published,
            thread: Some(thread),
        })
    }

    /// The latest published state.
    pub fn published(&self) -> Published {
        self.published.lock().clone()
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.published().snapshot
    }

    pub fn frame(&self) -> Arc<Vec<Rgb>> {
        self.published().frame
    }

    /// A handle for acknowledging jobs ("I'm on it") from another thread.
    pub fn acks(&self) -> AckHandle {
        AckHandle(self.tx.clone())
    }

    /// Polls every server now.
    pub fn refresh(&self) {
        self.tx.send(Msg::Refresh).ok();
    }

    /// Checks the config file now (after a save) instead of at the next periodic check.
    pub fn reload_now(&self) {
        self.tx.send(Msg::Reload).ok();
    }

    /// A weak view of the published state for another thread; it reads `None` once the engine stopped.
    pub fn published_handle(&self) -> PublishedHandle {
        PublishedHandle(Arc::downgrade(&self.published))
    }

    /// A handle another thread can keep to ask for [`Engine::reload_now`] (e.g. the config editor).
    pub fn reloader(&self) -> impl Fn() + Send + Sync + 'static {
        let tx = self.tx.clone();
        move || {
            tx.send(Msg::Reload).ok();
        }
    }

    /// Blinks LED `led` (white, about twice a second) for [`frame::IDENTIFY_FOR`]; the mirror shows it too.
    pub fn identify(&self, led: usize) {
        self.tx.send(Msg::Overlay(Overlay::Identify { led })).ok();
    }

    /// Runs the test pattern over the strip (each LED in turn, then a rainbow), then the normal frame.
    pub fn test_pattern(&self) {
        self.tx.send(Msg::Overlay(Overlay::TestPattern)).ok();
    }

    /// Stops the engine and waits for its thread (pollers stop after their current request).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.tx.send(Msg::Stop).ok();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("the engine thread panicked");
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What a poller was started with; a change means a new poller.
#[derive(Debug, Clone, PartialEq)]
struct PollerKey {
    server: crate::config::ServerConfig,
    interval: Duration,
    timeout: Duration,
}

struct Worker {
    source: ConfigSource,
    /// The config in use (shared as is with readers and with each batch of transitions).
    config: Arc<Config>,
    /// The snapshot, shared with the published state until it changes: a change copies it once
    /// ([`Arc::make_mut`]) while readers keep the one they have, and publishing copies nothing.
    snapshot: Arc<Snapshot>,
    /// Where the acknowledgements (`snapshot.acks`) are saved on every change; `None`: in memory only.
    acks_file: Option<PathBuf>,
    /// Per server: the settings it polls with, the poller, and the poller's generation.
    pollers: BTreeMap<String, (PollerKey, Poller, u64)>,
    generation: u64,
    /// The engine's own inbox, for the pollers to report into.
    inbox: Sender<Msg>,
    outputs: Vec<Box<dyn Output>>,
    transitions: Option<Sender<Batch>>,
    on_change: Option<OnChange>,
    published: Arc<Mutex<Published>>,
    started: Instant,
    last_frame: Option<Vec<Rgb>>,
    /// The config file's text as last read, to notice edits (compared by content: mtimes can be coarse).
    file_text: Option<String>,
    /// A running overlay animation and when it started.
    overlay: Option<(Overlay, Instant)>,
    /// The builds seen and the flaky flags ([`crate::flaky`]), published as `snapshot.flaky`.
    flaky: flaky::History,
    flaky_file: Option<PathBuf>,
    /// Saving the history failed before (said once at warn level; later failures at debug).
    flaky_save_failed: bool,
    /// The jobs each relay (`kind = "ledtogo"`) flags flaky, by server name, desk ids: for a relayed
    /// server the relay's flags replace this engine's own (it has watched the jobs longest).
    relayed_flaky: BTreeMap<String, FlakySet>,
}

impl Worker {
    fn run(&mut self, rx: &Receiver<Msg>) {
        let mut next_reload_check = Instant::now() + RELOAD_CHECK;
        let mut next_flaky_check = Instant::now() + FLAKY_CHECK;
        self.render();
        loop {
            let animated = self.overlay.is_some() || frame::animated(&self.snapshot, &self.config);
            let tick = if animated {
                Duration::from_secs(1) / ANIMATION_FPS
            } else {
                Duration::from_secs(1)
            };
            // A poll that changed nothing renders nothing (the next tick does, if it animates).
            let mut render = true;
            match rx.recv_timeout(tick) {
                Ok(Msg::Polled(p)) => render = self.apply(p),
                Ok(Msg::Ack(command, reply)) => {
                    let answer = self.acknowledge(command);
                    match reply {
                        Some(reply) => {
                            reply.send(answer).ok();
                        }
                        None => match answer {
                            Ok(line) => tracing::info!("{}", text::visible(&line)),
                            Err(e) => tracing::warn!("{}", text::visible(&e)),
                        },
                    }
                }
                Ok(Msg::Refresh) => self.pollers.values().for_each(|p| p.1.refresh()),
                Ok(Msg::Reload) => {
                    next_reload_check = Instant::now() + RELOAD_CHECK;
                    self.check_reload();
                }
                Ok(Msg::Overlay(o)) => self.overlay = Some((o, Instant::now())),
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() >= next_reload_check {
                next_reload_check = Instant::now() + RELOAD_CHECK;
                self.check_reload();
            }
            if !self.snapshot.acks.is_empty() && self.settle_acks() {
                self.publish_snapshot();
                render = true;
            }
            if Instant::now() >= next_flaky_check {
                next_flaky_check = Instant::now() + FLAKY_CHECK;
                if self.refresh_flaky(false) {
                    self.publish_snapshot();
                    render = true;
                }
            }
            if render || self.last_frame.is_none() {
                self.render();
            }
        }
    }

    /// Starts a poller for every configured server that does not have one polling the same settings;
    /// stops pollers of removed or changed servers (a changed server starts over: no stale comparisons;
    /// its last jobs stay, stale, while its URL and root are the same).
    fn sync_pollers(&mut self) {
        let wanted: BTreeMap<String, PollerKey> = self
            .config
            .servers
            .iter()
            .map(|s| {
                let key = PollerKey {
                    server: s.clone(),
                    interval: s.poll.unwrap_or(self.config.poll),
                    timeout: self.config.timeout,
                };
                (s.name.clone(), key)
            })
            .collect();
        // A server whose settings changed starts over with a new poller; while it still points at the
        // same jobs (same URL and root: a new token, another interval) its last known jobs stay, stale.
        let mut restarted = Vec::new();
        self.pollers.retain(|name, (key, _, _)| {
            let same = wanted.get(name) == Some(key);
            if !same
                && wanted.get(name).is_some_and(|w| {
                    w.server.kind == key.server.kind
                        && w.server.url == key.server.url
                        && w.server.root == key.server.root
                })
            {
                restarted.push(name.clone());
            }
            same
        });
        Arc::make_mut(&mut self.snapshot)
            .servers
            .retain(|name, _| self.pollers.contains_key(name) || restarted.contains(name));
        // A relay removed or restarted: its flags come again with its next answer.
        self.relayed_flaky
            .retain(|name, _| self.pollers.contains_key(name) && !restarted.contains(name));
        for name in &restarted {
            if let Some(server) = Arc::make_mut(&mut self.snapshot).servers.get_mut(name) {
                server.restart();
            }
        }
        for (name, key) in wanted {
            if self.pollers.contains_key(&name) {
                continue;
            }
            self.generation += 1;
            Arc::make_mut(&mut self.snapshot)
                .servers
                .entry(name.clone())
                .or_default();
            match Poller::spawn(
                key.server.clone(),
                key.timeout,
                key.interval,
                self.generation,
                {
                    let inbox = self.inbox.clone();
                    move |p| inbox.send(Msg::Polled(p)).is_ok()
                },
            ) {
                Ok(p) => {
                    self.pollers.insert(name, (key, p, self.generation));
                }
                Err(e) => {
                    tracing::error!(server = %name, "cannot start a polling thread: {e}");
                }
            }
        }
        self.publish_snapshot();
    }

    /// Applies one poll's result; returns whether the snapshot may have changed (false: nothing to
    /// compare, publish or render).
    fn apply(&mut self, polled: Polled) -> bool {
        let current = self.pollers.get(&polled.server).map(|p| p.2);
        if current != Some(polled.generation) {
            return false; // from a poller replaced or removed by a config reload
        }
        let Some(server) = self.snapshot.servers.get(&polled.server) else {
            return false;
        };
        if let Ok(Found::Same { requests }) = &polled.result
            && server.state.is_ok()
        {
            // The same answer as the last good poll, which this snapshot shows: nothing changed.
            tracing::debug!(server = %polled.server, requests, "polled: unchanged");
            return false;
        }
        // The snapshot before this poll (shared, not copied: the change below copies it once).
        let old = Arc::clone(&self.snapshot);
        let relay = self.is_relay(&polled.server);
        let Some(server) = Arc::make_mut(&mut self.snapshot)
            .servers
            .get_mut(&polled.server)
        else {
            return false;
        };
        // A relay's acknowledgements and flaky flags of the jobs it relays: what the whole office sees.
        let mut relayed_acks = None;
        let mut relayed_flaky = None;
        match polled.result {
            Ok(Found::Same { requests }) => {
                // Back after a state that is not `Ok` with the answer of the last good poll: its jobs,
                // which the snapshot kept, are current again.
                server.seen_ok = true;
                server.state = ServerState::Ok;
                tracing::debug!(server = %polled.server, requests, "polled: unchanged, back");
            }
            Ok(Found::Jobs(fetched)) => {
                if relay {
                    relayed_acks = Some(
                        fetched
                            .relayed
                            .iter()
                            .flat_map(|r| r.acks.iter().cloned())
                            .collect::<Vec<_>>(),
                    );
                    relayed_flaky = Some(
                        fetched
                            .relayed
                            .iter()
                            .flat_map(|r| r.flaky.iter().cloned())
                            .collect::<FlakySet>(),
                    );
                }
                // A relay's answer for a server it cannot reach: its last known jobs, shown stale
                // as a direct poll's outage would (and when it has none yet, ours stay).
                let state = fetched.upstream.unwrap_or(ServerState::Ok);
                if !state.is_ok() && server.state != state {
                    tracing::warn!(server = %polled.server, "{}", text::visible(&state.to_string()));
                }
                if state.is_ok() || !fetched.jobs.is_empty() {
                    server.jobs = fetched
                        .jobs
                        .into_iter()
                        .map(|j| (j.id.path.clone(), j))
                        .collect();
                }
                server.seen_ok |= state.is_ok();
                server.state = state;
                server.version = fetched.version;
                tracing::debug!(server = %polled.server, requests = fetched.requests, jobs = server.jobs.len(), "polled");
            }
            Err(e) => {
                let state = e.server_state();
                if server.state != state {
                    tracing::warn!(server = %polled.server, "{}", text::visible(&e.to_string()));
                }
                server.state = state;
            }
        }
        if let Some(acks) = relayed_acks
            && Arc::make_mut(&mut self.snapshot)
                .acks
                .replace_server(&polled.server, acks)
        {
            self.save_acks();
        }
        if let Some(flaky) = relayed_flaky {
            self.relayed_flaky.insert(polled.server.clone(), flaky);
            let set = self.flaky_set();
            Arc::make_mut(&mut self.snapshot).flaky = set;
        }
        if old == self.snapshot {
            return false;
        }
        let changes = transitions(&old, &self.snapshot);
        for t in &changes {
            log_transition(t);
        }
        let recorded = self
            .flaky
            .record_transitions(&changes, crate::clock::epoch_ms());
        self.refresh_flaky(recorded);
        // Someone is on it: no notification, no sound, until it is fixed or the acknowledgement ends.
        let changes = ack::without_acknowledged(changes, &self.snapshot.acks, ack::now());
        self.settle_acks();
        if !changes.is_empty()
            && let Some(tx) = &self.transitions
        {
            tx.send(Batch {
                transitions: changes,
                config: self.config.clone(),
                flaky: self.snapshot.flaky.clone(),
            })
            .ok();
        }
        self.publish_snapshot();
        true
    }

    /// Applies the acknowledgement rule ([`ack::settle`]) now; true when one ended (then saved).
    fn settle_acks(&mut self) -> bool {
        // On a copy of the acknowledgements (small): the snapshot is copied only when one ends.
        let mut acks = self.snapshot.acks.clone();
        let ended = ack::settle(&mut acks, &self.snapshot, ack::now());
        if !ended.is_empty() {
            Arc::make_mut(&mut self.snapshot).acks = acks;
        }
        for (a, why) in &ended {
            let job = text::visible(&a.job.to_string()).into_owned();
            let by = text::visible(&a.by).into_owned();
            match why {
                ack::Ended::Fixed => tracing::info!("{job} is fixed: {by} is not on it any more"),
                ack::Ended::Expired => {
                    tracing::info!("{job}: {by}'s acknowledgement ran out; it alerts again");
                }
            }
        }
        if ended.is_empty() {
            return false;
        }
        self.save_acks();
        true
    }

    /// Whether `server` is a ledtogo relay (`kind = "ledtogo"`): its acknowledgements are the relay's.
    fn is_relay(&self, server: &str) -> bool {
        self.config.servers.iter().any(|s| {
            s.name == server && matches!(s.kind, crate::config::ServerKind::Ledtogo { .. })
        })
    }

    /// An acknowledgement made here of a relayed job goes to the relay too (`POST /ack`, on the
    /// relay's poller), so the whole office sees it.
    fn forward(&self, job: &crate::model::JobId, request: ack::Request) {
        if self.is_relay(&job.server)
            && let Some((_, poller, _)) = self.pollers.get(&job.server)
        {
            poller.send_ack(request);
        }
    }

    fn save_acks(&self) {
        if let Some(path) = &self.acks_file
            && let Err(e) = ack::save(path, &self.snapshot.acks)
        {
            tracing::error!("{e}: the acknowledgements will not survive a restart");
        }
    }

    /// Carries out one [`AckCommand`] and says what happened.
    fn acknowledge(&mut self, command: AckCommand) -> AckAnswer {
        let now = ack::now();
        let answer = match command {
            AckCommand::Make(request) => {
                let made =
                    ack::acknowledge(&self.snapshot, &request, now).map_err(|e| e.to_string())?;
                let line = format!(
                    "{}: {}, {}",
                    text::visible(&made.job.to_string()),
                    made.on_it(),
                    made.remaining(now)
                );
                self.forward(
                    &made.job,
                    ack::Request::Ack(AckRequest {
                        job: made.job.full_name(),
                        server: None,
                        ..request
                    }),
                );
                Arc::make_mut(&mut self.snapshot).acks.insert(made);
                line
            }
            AckCommand::Clear { job, server } => {
                let id = ack::find(&self.snapshot.acks, &job, server.as_deref())
                    .map_err(|e| e.to_string())?
                    .job
                    .clone();
                let removed = Arc::make_mut(&mut self.snapshot).acks.remove(&id);
                self.forward(
                    &id,
                    ack::Request::Clear {
                        job: id.full_name(),
                        server: None,
                    },
                );
                format!(
                    "{}: nobody is on it any more (was {})",
                    text::visible(&id.to_string()),
                    removed.map_or_else(String::new, |a| text::visible(&a.by).into_owned())
                )
            }
            AckCommand::List => {
                if self.snapshot.acks.is_empty() {
                    return Ok("nobody is on any job".to_owned());
                }
                let lines: Vec<String> = self
                    .snapshot
                    .acks
                    .iter()
                    .map(|a| {
                        format!(
                            "{}: {}, {}",
                            text::visible(&a.job.to_string()),
                            a.on_it(),
                            a.remaining(now)
                        )
                    })
                    .collect();
                return Ok(lines.join("\n"));
            }
        };
        self.save_acks();
        self.publish_snapshot();
        self.render();
        Ok(answer)
    }

    /// Updates the flaky flags for now and puts the flaky jobs of the configured servers into the
    /// snapshot; saves the history when builds were `recorded` or a flag changed. Returns whether the
    /// snapshot's flaky set changed (the caller publishes it).
    fn refresh_flaky(&mut self, recorded: bool) -> bool {
        let now = crate::clock::epoch_ms();
        let rule = flaky::Rule::of(&self.config.alerts);
        let flagged = self.flaky.update(now, rule);
        if (recorded || flagged)
            && let Some(path) = &self.flaky_file
        {
            match self.flaky.save(path) {
                Ok(()) => self.flaky_save_failed = false,
                Err(e) if self.flaky_save_failed => tracing::debug!("{e}"),
                Err(e) => {
                    self.flaky_save_failed = true;
                    tracing::warn!("{e}");
                }
            }
        }
        let set = self.flaky_set();
        if set == self.snapshot.flaky {
            return false;
        }
        Arc::make_mut(&mut self.snapshot).flaky = set;
        true
    }

    /// The flaky jobs now: this engine's own of its configured servers, a relay's own for a relayed one.
    fn flaky_set(&self) -> FlakySet {
        let now = crate::clock::epoch_ms();
        let rule = flaky::Rule::of(&self.config.alerts);
        let relayed =
            |server: &str| self.is_relay(server) && self.relayed_flaky.contains_key(server);
        let mut set = self.flaky.flaky(now, rule);
        set.retain(|id, _| {
            self.config.servers.iter().any(|s| s.name == id.server) && !relayed(&id.server)
        });
        for (server, flagged) in &self.relayed_flaky {
            if relayed(server) {
                set.extend(flagged.iter().map(|(id, job)| (id.clone(), job.clone())));
            }
        }
        set
    }

    fn publish_snapshot(&mut self) {
        let snapshot = Arc::clone(&self.snapshot);
        self.update_published(|p| p.snapshot = snapshot);
    }

    fn update_published(&self, f: impl FnOnce(&mut Published)) {
        publish(&self.published, self.on_change.as_ref(), f);
    }

    /// Hands the config to every output (the serial strip follows `[strip]`).
    fn configure_outputs(&mut self) {
        for output in &mut self.outputs {
            output.configure(&self.config);
        }
    }

    fn render(&mut self) {
        let clock = frame::Clock {
            t: self.started.elapsed(),
            now_ms: crate::clock::epoch_ms(),
        };
        let mut frame = frame::render(&self.snapshot, &self.config, clock);
        if let Some((overlay, since)) = self.overlay
            && !overlay.draw(&mut frame, since.elapsed(), self.config.strip.correction())
        {
            self.overlay = None;
        }
        if self.last_frame.as_ref() == Some(&frame) {
            return;
        }
        for output in &mut self.outputs {
            output.show(&frame);
        }
        let shared = Arc::new(frame.clone());
        self.last_frame = Some(frame);
        self.update_published(|p| p.frame = shared);
    }

    /// The config file's current text (`None` when unreadable or not file-backed).
    fn read_file(&self) -> Option<String> {
        let ConfigSource::File { path, .. } = &self.source else {
            return None;
        };
        std::fs::read_to_string(path).ok()
    }

    fn check_reload(&mut self) {
        let ConfigSource::File { path, .. } = &self.source else {
            return;
        };
        let path = path.clone();
        let text = self.read_file();
        if text == self.file_text {
            return;
        }
        self.file_text = text.clone();
        let Some(text) = text else {
            tracing::warn!(
                "{}: cannot read the config file any more; keeping the last good configuration",
                path.display()
            );
            return;
        };
        match Config::parse(&text, Some(&path)) {
            Ok(config) => {
                tracing::info!("{}: configuration reloaded", path.display());
                self.reconfigure(config);
                self.update_published(|p| p.config_error = None);
            }
            Err(e) => {
                tracing::error!("{e} (keeping the last good configuration)");
                let msg = e.to_string();
                self.update_published(|p| p.config_error = Some(msg));
            }
        }
    }

    fn reconfigure(&mut self, config: Config) {
        self.config = Arc::new(config);
        self.refresh_flaky(false);
        self.sync_pollers();
        self.configure_outputs();
        let shared = self.config.clone();
        self.update_published(|p| p.config = shared);
        self.last_frame = None;
    }
}

type OnChange = Arc<dyn Fn() + Send + Sync>;

/// Applies `f` to the published state and tells the observer.
fn publish(
    published: &Mutex<Published>,
    on_change: Option<&OnChange>,
    f: impl FnOnce(&mut Published),
) {
    f(&mut published.lock());
    if let Some(cb) = on_change {
        cb();
    }
}

fn log_transition(t: &Transition) {
    let (level, line) = transition_line(t);
    match level {
        tracing::Level::WARN => tracing::warn!("{line}"),
        tracing::Level::INFO => tracing::info!("{line}"),
        _ => tracing::debug!("{line}"),
    }
}

/// The log level and line of a transition. Job names and server errors come from the server: their
/// control characters are made visible ([`text::visible`]), so a name cannot forge lines or reorder text.
fn transition_line(t: &Transition) -> (tracing::Level, String) {
    use tracing::Level;
    let build = |b: &Option<u64>| b.map(|n| format!(" #{n}")).unwrap_or_default();
    let name = |job: &crate::model::JobId| text::visible(&job.to_string()).into_owned();
    match t {
        Transition::Broke {
            job,
            state,
            build: b,
            ..
        } => (
            Level::WARN,
            format!("{}{} broke ({state})", name(job), build(b)),
        ),
        Transition::Fixed { job, build: b, .. } => {
            (Level::INFO, format!("{}{} fixed", name(job), build(b)))
        }
        Transition::StillFailing {
            job,
            state,
            build: b,
            ..
        } => (
            Level::INFO,
            format!("{}{} still {state}", name(job), build(b)),
        ),
        Transition::StartedBuilding { job, build: b, .. } => (
            Level::DEBUG,
            format!("{}{} started building", name(job), build(b)),
        ),
        Transition::Appeared { job } => (Level::INFO, format!("{} appeared", name(job))),
        Transition::Disappeared { job } => (Level::INFO, format!("{} disappeared", name(job))),
        Transition::ServerLost { server, state } => (
            Level::DEBUG,
            text::visible(&format!("server {server}: {state}")).into_owned(),
        ),
        Transition::ServerRecovered { server } => (
            Level::INFO,
            format!("server {}: back", text::visible(server)),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::{JobId, JobState};

    #[test]
    fn a_hostile_job_name_cannot_forge_or_reorder_log_lines() {
        let hostile = "api\n2030-01-01 INFO all fixed\u{202E}\x1b[2J";
        let (level, line) = transition_line(&Transition::Broke {
            job: JobId::new("ci", hostile),
            display_name: hostile.to_owned(),
            state: JobState::Failure,
            build: Some(7),
            url: None,
            blame: None,
        });
        assert_eq!(level, tracing::Level::WARN);
        assert_eq!(
            line,
            "ci:api\u{FFFD}2030-01-01 INFO all fixed\u{FFFD}\u{FFFD}[2J #7 broke (failure)"
        );
        let (_, line) = transition_line(&Transition::ServerLost {
            server: "ci".into(),
            state: ServerState::Unreachable("bad answer: \u{202E}\r\nHTTP".into()),
        });
        assert!(!line.chars().any(text::is_hidden_control), "{line:?}");
        let (_, line) = transition_line(&Transition::Appeared {
            job: JobId::new("ci", "team/web"),
        });
        assert_eq!(line, "ci:team/web appeared", "ordinary names unchanged");
    }
}
