//! The thread-safe side of the desktop app: the engine, the config editor, and the actions the window and
//! the tray both trigger (open a page, refresh, quit). Worker threads call into it; the window only reads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, SyncSender};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::alerts::AlertHandle;
use crate::config::Config;
use crate::engine::{Batch, Engine, Published};
use crate::export::Export;
use crate::model::Snapshot;
use crate::outputs::serial::DeviceStatus;
use crate::settings::{Edit, Editor};
use crate::tray::Tray;

/// How web pages are opened (the system browser; a recorder in tests).
pub type Opener = Box<dyn Fn(&str) + Send + Sync>;

/// The desk the app runs on now: the demo's until "Create my config", then the user's. The tray, the
/// instance lock ("show the window") and the signal handler act through it, so they follow the switch.
#[derive(Debug, Clone, Default)]
pub struct CurrentDesk(Arc<RwLock<Weak<Desk>>>);

impl CurrentDesk {
    /// The desk now, unless the app is shutting down.
    pub fn get(&self) -> Option<SharedDesk> {
        self.0.read().upgrade()
    }

    pub fn set(&self, desk: &SharedDesk) {
        *self.0.write() = Arc::downgrade(desk);
    }
}

/// What outlives one desk when the app switches from the demo to the user's config: the window's waker,
/// the browser opener, the alert worker (its pause carries over) and its inbox, and the current-desk cell.
#[derive(Clone)]
pub struct Handover {
    pub waker: Waker,
    pub opener: Arc<dyn Fn(&str) + Send + Sync>,
    pub alerts: Option<AlertHandle>,
    /// Where the engine sends transitions (the alert worker's inbox).
    pub transitions: Option<Sender<Batch>>,
    pub current: CurrentDesk,
    /// Where a desk on the user's file keeps its acknowledgements and flaky-job history; the demo's desk
    /// keeps them in memory.
    pub files: crate::state::Files,
}

impl std::fmt::Debug for Handover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handover")
            .field("alerts", &self.alerts.is_some())
            .finish_non_exhaustive()
    }
}

/// What a desk is made of (see `gui::start_desk`).
#[derive(Debug)]
pub struct DeskParts {
    pub engine: Engine,
    /// The relay on this desk's engine (serving while the config has `[export] listen`).
    pub export: Export,
    pub editor: Editor,
    pub place: ConfigPlace,
    pub handover: Handover,
    /// Nudges the desktop feeder.
    pub feed: SyncSender<()>,
}

/// How often the window repaints while only the frame changes (a building job's pulse): about 12 times a
/// second, which reads as smooth for a two-second pulse. The device keeps the engine's own rate.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(80);

/// Whether the main window can be seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    #[default]
    Shown,
    /// Minimised or covered by other windows: nothing painted is seen, but its title and task bar icon are.
    Covered,
    /// Hidden in the tray: nothing of it is seen.
    Hidden,
}

/// What changed in what the window shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The jobs, the config, the device, an edit's result…: everything but the LEDs' colours.
    State,
    /// Only the frame (an animation step).
    Frame,
}

/// What the window does about a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repaint {
    /// Repaint now (egui then runs a second pass so layouts settle).
    Now,
    /// One pass after this delay (zero: as soon as possible).
    Once { after: Duration },
    /// Nothing: it would not be seen, or a repaint is already due.
    Not,
}

/// The window's repaint rule, in one place: state changes repaint at once (also while minimised or
/// covered, so the title and the task bar icon follow); frame-only changes repaint at most once per
/// [`FRAME_INTERVAL`] and only while the window is shown; nothing while it is hidden in the tray.
/// Pure: the caller gives the clock.
#[derive(Debug)]
pub struct RepaintPlan {
    /// When the latest frame repaint was, or the pending one will be.
    frame_due: Option<Instant>,
    /// The least time between two frame repaints: [`FRAME_INTERVAL`], or longer when the
    /// [`CpuBudget`] says frames cost too much here (a software renderer).
    interval: Duration,
}

impl Default for RepaintPlan {
    fn default() -> Self {
        RepaintPlan {
            frame_due: None,
            interval: FRAME_INTERVAL,
        }
    }
}

/// The share of one core the window's animation may use, all of the process included.
pub const CPU_BUDGET: f64 = 0.04;
/// The animation never slows below this (a pulse still shows).
pub const MAX_FRAME_INTERVAL: Duration = Duration::from_millis(1000);

/// Keeps the animation within [`CPU_BUDGET`]: on a software renderer a frame can cost ~17 ms of CPU, so
/// 12 frames a second would be a fifth of a core. Fed the process's CPU use every few seconds, it
/// stretches the frame interval by half while the use is over the budget and shrinks it back towards
/// [`FRAME_INTERVAL`] while the use is well under it. Pure.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuBudget {
    interval: Duration,
}

impl Default for CpuBudget {
    fn default() -> Self {
        CpuBudget {
            interval: FRAME_INTERVAL,
        }
    }
}

impl CpuBudget {
    /// The frame interval after a sample of `used` (a share of one core, 0.2 = 20 %).
    pub fn adjust(&mut self, used: f64) -> Duration {
        if used > CPU_BUDGET {
            self.interval = self.interval.mul_f64(1.5).min(MAX_FRAME_INTERVAL);
        } else if used < CPU_BUDGET / 2.0 {
            self.interval = self.interval.div_f64(1.25).max(FRAME_INTERVAL);
        }
        self.interval
    }
}

/// The process's CPU time (user + system) from `/proc/self/stat`, in seconds. Linux counts it in
/// `USER_HZ` ticks, 100 a second on every architecture it runs on.
#[cfg(target_os = "linux")]
fn process_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    cpu_seconds_of_stat(&text)
}

/// `utime + stime` of a `/proc/PID/stat` line (the command name, in parentheses, may hold anything).
pub fn cpu_seconds_of_stat(text: &str) -> Option<f64> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime field 14 and stime field 15.
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// Samples the process's CPU use every few seconds and sets the window's frame interval by the
/// [`CpuBudget`]; ends with the waker.
pub fn spawn_cpu_budget(waker: &Waker) {
    #[cfg(target_os = "linux")]
    {
        const EVERY: Duration = Duration::from_secs(2);
        let state = Arc::downgrade(&waker.state);
        let spawned = std::thread::Builder::new()
            .name("cpu-budget".into())
            .spawn(move || {
                let mut budget = CpuBudget::default();
                let mut last = (Instant::now(), process_cpu_seconds());
                loop {
                    std::thread::sleep(EVERY);
                    let Some(state) = state.upgrade() else {
                        return;
                    };
                    let now = (Instant::now(), process_cpu_seconds());
                    if let (Some(before), Some(after)) = (last.1, now.1) {
                        let wall = now.0.duration_since(last.0).as_secs_f64().max(0.001);
                        let interval = budget.adjust((after - before).max(0.0) / wall);
                        state.lock().plan.interval = interval;
                    }
                    last = now;
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("no CPU budget for the window's animation (no thread: {e})");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = waker;
}

impl RepaintPlan {
    pub fn on(&mut self, change: Change, visibility: Visibility, now: Instant) -> Repaint {
        match (visibility, change) {
            (Visibility::Hidden, _) => Repaint::Not,
            (_, Change::State) => Repaint::Now,
            (Visibility::Covered, Change::Frame) => Repaint::Not,
            (Visibility::Shown, Change::Frame) => match self.frame_due {
                // The pending repaint draws the latest frame, this one included.
                Some(due) if due >= now => Repaint::Not,
                Some(due) if now < due + self.interval => {
                    let next = due + self.interval;
                    self.frame_due = Some(next);
                    Repaint::Once { after: next - now }
                }
                _ => {
                    self.frame_due = Some(now);
                    Repaint::Once {
                        after: Duration::ZERO,
                    }
                }
            },
        }
    }
}

/// What the window last heard the engine publish, but for the frame (to tell frame-only changes apart).
#[derive(Debug)]
struct Seen {
    snapshot: Arc<Snapshot>,
    config: Arc<Config>,
    config_error: Option<String>,
    device: DeviceStatus,
}

impl Seen {
    fn of(p: &Published) -> Seen {
        Seen {
            snapshot: p.snapshot.clone(),
            config: p.config.clone(),
            config_error: p.config_error.clone(),
            device: p.device.clone(),
        }
    }

    /// Whether `p` shows the same state (the `Arc`s are kept, so a pointer is never reused meanwhile).
    fn same(&self, p: &Published) -> bool {
        Arc::ptr_eq(&self.snapshot, &p.snapshot)
            && Arc::ptr_eq(&self.config, &p.config)
            && self.config_error == p.config_error
            && self.device == p.device
    }
}

#[derive(Debug, Default)]
struct WakeState {
    plan: RepaintPlan,
    seen: Option<Seen>,
}

/// Wakes the window from any thread once it exists, following the [`RepaintPlan`]: while the window is
/// hidden in the tray, changes do not wake it (nothing to draw); commands (show, quit) always do.
#[derive(Debug, Clone, Default)]
pub struct Waker {
    ctx: Arc<OnceLock<egui::Context>>,
    hidden: Arc<AtomicBool>,
    covered: Arc<AtomicBool>,
    mirror: Arc<AtomicBool>,
    state: Arc<Mutex<WakeState>>,
}

impl Waker {
    /// Remembers the window's context (first call wins).
    pub fn set(&self, ctx: &egui::Context) {
        self.ctx.set(ctx.clone()).ok();
    }

    /// Asks for a redraw because something shown changed.
    pub fn wake(&self) {
        self.changed(Change::State);
    }

    /// The engine published `p`: a redraw now when its state changed, a throttled one when only its frame
    /// did. Returns which it was.
    pub fn published(&self, p: &Published) -> Change {
        let change = {
            let mut state = self.state.lock();
            let same = state.seen.as_ref().is_some_and(|s| s.same(p));
            if !same {
                state.seen = Some(Seen::of(p));
            }
            if same { Change::Frame } else { Change::State }
        };
        self.changed(change);
        change
    }

    fn changed(&self, change: Change) {
        let repaint = self
            .state
            .lock()
            .plan
            .on(change, self.visibility(), Instant::now());
        let Some(ctx) = self.ctx.get() else {
            return;
        };
        match repaint {
            Repaint::Now => ctx.request_repaint(),
            // egui runs two passes for a zero delay; one is all a new frame needs.
            Repaint::Once { after } => {
                ctx.request_repaint_after(after.max(Duration::from_millis(1)));
            }
            Repaint::Not => {}
        }
    }

    /// Sends a command to the main window and wakes it.
    pub fn command(&self, cmd: egui::ViewportCommand) {
        if let Some(ctx) = self.ctx.get() {
            ctx.send_viewport_cmd_to(egui::ViewportId::ROOT, cmd);
            ctx.request_repaint();
        }
    }

    /// The window went to the tray (`true`) or came back.
    pub fn set_hidden(&self, hidden: bool) {
        self.hidden.store(hidden, Ordering::SeqCst);
    }

    pub fn is_hidden(&self) -> bool {
        self.hidden.load(Ordering::SeqCst)
    }

    /// The main window got minimised or covered (`true`), or can be seen again.
    pub fn set_covered(&self, covered: bool) {
        self.covered.store(covered, Ordering::SeqCst);
    }

    /// The always-on-top mirror window is open (it is seen whatever the main window does).
    pub fn set_mirror_open(&self, open: bool) {
        self.mirror.store(open, Ordering::SeqCst);
    }

    pub fn visibility(&self) -> Visibility {
        if self.mirror.load(Ordering::SeqCst) {
            Visibility::Shown
        } else if self.hidden.load(Ordering::SeqCst) {
            Visibility::Hidden
        } else if self.covered.load(Ordering::SeqCst) {
            Visibility::Covered
        } else {
            Visibility::Shown
        }
    }
}

/// How long "Pause notifications" lasts.
pub const PAUSE_FOR: std::time::Duration = std::time::Duration::from_secs(3600);

/// Where the app's config lives and whether it is the demo's scratch file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigPlace {
    /// The user's file.
    User(PathBuf),
    /// The demo's scratch copy (removed on exit); the user's file does not exist yet.
    Demo { scratch: PathBuf, user: PathBuf },
}

impl ConfigPlace {
    /// The file the engine reads and the editor writes.
    pub fn path(&self) -> &PathBuf {
        match self {
            ConfigPlace::User(p) | ConfigPlace::Demo { scratch: p, .. } => p,
        }
    }
}

/// Everything the window and the tray act on.
pub struct Desk {
    /// First, so it stops before the engine it serves from.
    _export: Export,
    pub engine: Engine,
    pub editor: Editor,
    pub place: ConfigPlace,
    pub waker: Waker,
    /// Notifications and sounds (`None` when the app runs without them, e.g. in UI tests).
    pub alerts: Option<AlertHandle>,
    opener: Arc<dyn Fn(&str) + Send + Sync>,
    transitions: Option<Sender<Batch>>,
    current: CurrentDesk,
    /// Handed over to a successor desk ([`Handover::files`]).
    files: crate::state::Files,
    /// The demo's simulator and scratch folder, kept while this desk runs the demo.
    demo: Mutex<Option<Box<dyn Send>>>,
    quitting: AtomicBool,
    tray: OnceLock<Tray>,
    /// Set while tests pretend a tray is there.
    tray_override: AtomicBool,
    /// Nudges the desktop feeder (the tray) to look at the state now.
    feed: SyncSender<()>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("place", &self.place)
            .field("quitting", &self.quitting)
            .finish_non_exhaustive()
    }
}

impl Desk {
    pub fn new(parts: DeskParts) -> Self {
        let DeskParts {
            engine,
            export,
            editor,
            place,
            handover:
                Handover {
                    waker,
                    opener,
                    alerts,
                    transitions,
                    current,
                    files,
                },
            feed,
        } = parts;
        Desk {
            _export: export,
            engine,
            editor,
            place,
            waker,
            alerts,
            opener,
            transitions,
            current,
            files,
            demo: Mutex::new(None),
            quitting: AtomicBool::new(false),
            tray: OnceLock::new(),
            tray_override: AtomicBool::new(false),
            feed,
        }
    }

    /// The cell that follows this desk and its successor.
    pub fn current(&self) -> CurrentDesk {
        self.current.clone()
    }

    /// What a successor desk reuses.
    pub fn handover(&self) -> Handover {
        Handover {
            waker: self.waker.clone(),
            opener: self.opener.clone(),
            alerts: self.alerts.clone(),
            transitions: self.transitions.clone(),
            current: self.current.clone(),
            files: self.files.clone(),
        }
    }

    /// Keeps the demo's parts (simulator, scratch folder) alive as long as this desk runs on them.
    pub fn hold_demo(&self, parts: Box<dyn Send>) {
        *self.demo.lock() = Some(parts);
    }

    /// Asks the feeder to update the tray now (never blocks).
    pub fn feed(&self) {
        self.feed.try_send(()).ok();
    }

    /// Keeps the tray icon (first call wins).
    pub fn attach_tray(&self, tray: Tray) {
        self.tray.set(tray).ok();
        self.feed();
    }

    pub fn tray(&self) -> Option<&Tray> {
        self.tray.get()
    }

    /// Whether notifications are paused (the tray's "Pause notifications for 1 hour").
    pub fn notifications_paused(&self) -> bool {
        self.alerts
            .as_ref()
            .is_some_and(|a| a.paused_until().is_some())
    }

    /// Pauses notifications for an hour, or resumes them when paused.
    pub fn toggle_pause(&self) {
        if let Some(a) = &self.alerts {
            if a.paused_until().is_some() {
                a.resume_notifications();
            } else {
                a.pause_notifications_until(std::time::Instant::now() + PAUSE_FOR);
            }
        }
        self.feed();
        self.waker.wake();
    }

    /// Flips the `sounds` switch in the config file (as the file has it when the edit is applied, so
    /// quick toggles in a row each count).
    pub fn toggle_mute(&self) {
        self.edit(Edit::ToggleBool {
            table: Some("alerts".into()),
            key: "sounds".into(),
            default: crate::config::Alerts::default().sounds,
        });
    }

    /// "I'm on it" for `job`, as this user, with an optional note, at most `for_secs` (`None`: until
    /// fixed, at most 24 h). Handed to the engine without waiting: the snapshot shows the outcome, and
    /// the engine logs a refusal.
    pub fn acknowledge(
        &self,
        job: &crate::model::JobId,
        note: Option<String>,
        for_secs: Option<u64>,
    ) {
        self.engine
            .acks()
            .send(crate::engine::AckCommand::Make(crate::ack::AckRequest {
                job: job.full_name(),
                server: Some(job.server.clone()),
                for_secs,
                note,
                by: crate::ack::default_by(),
            }));
    }

    /// Nobody is on `job` any more; handed to the engine without waiting.
    pub fn unacknowledge(&self, job: &crate::model::JobId) {
        self.engine.acks().send(crate::engine::AckCommand::Clear {
            job: job.full_name(),
            server: Some(job.server.clone()),
        });
    }

    pub fn open_url(&self, url: &str) {
        (self.opener)(url);
    }

    pub fn edit(&self, edit: Edit) {
        self.editor.send(edit);
    }

    /// Shows the main window and brings it to the front.
    pub fn show_window(&self) {
        self.waker.set_hidden(false);
        self.waker.command(egui::ViewportCommand::Visible(true));
        self.waker.command(egui::ViewportCommand::Minimized(false));
        self.waker.command(egui::ViewportCommand::Focus);
    }

    /// Whether a tray was pretended by a test (handed on to a successor desk).
    pub fn pretends_tray(&self) -> bool {
        self.tray_override.load(Ordering::SeqCst)
    }

    /// Quits the app (the window's close then really closes).
    pub fn quit(&self) {
        self.quitting.store(true, Ordering::SeqCst);
        self.waker.command(egui::ViewportCommand::Close);
    }

    /// Whether a tray icon is up and a tray host shows it (closing the window then hides it instead of
    /// quitting; with no host there would be no way back).
    pub fn has_tray(&self) -> bool {
        self.tray_override.load(Ordering::SeqCst) || self.tray.get().is_some_and(Tray::host_present)
    }

    /// For tests: behave as if a tray icon were up.
    pub fn pretend_tray(&self, up: bool) {
        self.tray_override.store(up, Ordering::SeqCst);
    }

    pub fn is_quitting(&self) -> bool {
        self.quitting.load(Ordering::SeqCst)
    }
}

/// Opens `url` in the system browser, on its own thread (a slow launcher never blocks the caller).
pub fn open_in_browser(url: &str) {
    let url = url.to_owned();
    let spawned = std::thread::Builder::new()
        .name("open-url".into())
        .spawn(move || crate::alerts::notify::open_url(&url));
    if let Err(e) = spawned {
        tracing::warn!("cannot open a page: no thread for the browser launcher: {e}");
    }
}

/// A shared desk.
pub type SharedDesk = Arc<Desk>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_animation_slows_while_the_process_is_over_its_cpu_budget_and_recovers() {
        let mut budget = CpuBudget::default();
        // A software renderer: 21 % of a core at 12 frames a second.
        let mut interval = FRAME_INTERVAL;
        for _ in 0..20 {
            // The use falls with the frame rate: the cost is per frame.
            let used = 0.21 * FRAME_INTERVAL.as_secs_f64() / interval.as_secs_f64();
            interval = budget.adjust(used);
        }
        let used = 0.21 * FRAME_INTERVAL.as_secs_f64() / interval.as_secs_f64();
        assert!(used <= CPU_BUDGET, "{used} at {interval:?}");
        assert!(interval < MAX_FRAME_INTERVAL, "still a pulse: {interval:?}");
        // A real GPU (or nothing animating): back to the full rate.
        for _ in 0..20 {
            interval = budget.adjust(0.005);
        }
        assert_eq!(interval, FRAME_INTERVAL);
        // However much it costs, a frame a second at least.
        for _ in 0..20 {
            interval = budget.adjust(0.9);
        }
        assert_eq!(interval, MAX_FRAME_INTERVAL);
    }

    #[test]
    fn cpu_time_is_read_after_the_command_name_whatever_it_holds() {
        let line = "4242 (ledtogo (a) b) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 75 0 0 20 0 9 0";
        assert_eq!(cpu_seconds_of_stat(line), Some(3.25));
        assert_eq!(cpu_seconds_of_stat("4242 (x) S 1"), None);
        assert_eq!(cpu_seconds_of_stat("garbage"), None);
    }

    #[test]
    fn a_stretched_interval_spaces_the_frame_repaints() {
        let mut plan = RepaintPlan {
            interval: Duration::from_millis(400),
            ..RepaintPlan::default()
        };
        let t0 = Instant::now();
        assert_eq!(
            plan.on(Change::Frame, Visibility::Shown, t0),
            Repaint::Once {
                after: Duration::ZERO
            }
        );
        assert_eq!(
            plan.on(
                Change::Frame,
                Visibility::Shown,
                t0 + Duration::from_millis(50)
            ),
            Repaint::Once {
                after: Duration::from_millis(350)
            }
        );
    }

    /// When each repaint the plan asks for happens, for changes at the given times.
    fn repaints(
        plan: &mut RepaintPlan,
        changes: impl IntoIterator<Item = (Instant, Change)>,
        visibility: Visibility,
    ) -> Vec<Instant> {
        changes
            .into_iter()
            .filter_map(|(at, change)| match plan.on(change, visibility, at) {
                Repaint::Now => Some(at),
                Repaint::Once { after } => Some(at + after),
                Repaint::Not => None,
            })
            .collect()
    }

    /// The engine's frames while a job builds: 25 a second for `secs` seconds.
    fn frames(t0: Instant, secs: u32) -> Vec<(Instant, Change)> {
        (0..secs * 25)
            .map(|i| (t0 + Duration::from_millis(u64::from(i) * 40), Change::Frame))
            .collect()
    }

    #[test]
    fn frames_at_the_engines_rate_repaint_the_window_about_twelve_times_a_second() {
        let t0 = Instant::now();
        let mut plan = RepaintPlan::default();
        let at = repaints(&mut plan, frames(t0, 4), Visibility::Shown);
        assert!(
            (48..=51).contains(&at.len()),
            "{} repaints in 4 s",
            at.len()
        );
        for pair in at.windows(2) {
            assert!(
                pair[1] - pair[0] >= FRAME_INTERVAL,
                "{:?}",
                pair[1] - pair[0]
            );
        }
        // The last frame (at 3.96 s) is on screen within one interval.
        let last = *at.last().unwrap();
        assert!(last >= t0 + Duration::from_millis(3960));
        assert!(last <= t0 + Duration::from_millis(3960) + FRAME_INTERVAL);
    }

    #[test]
    fn the_last_frame_of_an_animation_is_drawn_not_dropped() {
        let t0 = Instant::now();
        let mut plan = RepaintPlan::default();
        let at = repaints(
            &mut plan,
            [
                (t0, Change::Frame),
                (t0 + Duration::from_millis(30), Change::Frame),
            ],
            Visibility::Shown,
        );
        assert_eq!(at, [t0, t0 + FRAME_INTERVAL]);
    }

    #[test]
    fn a_state_change_repaints_at_once_between_frames_and_while_covered_but_not_while_hidden() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_millis(10);
        let mut plan = RepaintPlan::default();
        plan.on(Change::Frame, Visibility::Shown, t0);
        assert_eq!(
            plan.on(Change::State, Visibility::Shown, later),
            Repaint::Now
        );
        assert_eq!(
            plan.on(Change::State, Visibility::Covered, later),
            Repaint::Now
        );
        assert_eq!(
            plan.on(Change::State, Visibility::Hidden, later),
            Repaint::Not
        );
    }

    #[test]
    fn a_minimised_or_hidden_window_is_not_repainted_for_the_animation() {
        let t0 = Instant::now();
        for visibility in [Visibility::Covered, Visibility::Hidden] {
            let mut plan = RepaintPlan::default();
            let at = repaints(&mut plan, frames(t0, 2), visibility);
            assert!(at.is_empty(), "{visibility:?}: {at:?}");
        }
    }

    fn published(snapshot: Arc<Snapshot>, frame: Vec<crate::color::Rgb>) -> Published {
        Published {
            snapshot,
            frame: Arc::new(frame),
            config: Arc::new(Config::parse("", None).unwrap()),
            config_error: None,
            device: DeviceStatus::Disabled,
        }
    }

    #[test]
    fn the_waker_repaints_a_new_snapshot_at_once_and_new_frames_at_most_once_an_interval() {
        let ctx = egui::Context::default();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let record = requests.clone();
        ctx.set_repaint_observer(move |info| record.lock().push(info.delay));
        let waker = Waker::default();
        waker.set(&ctx);
        let snapshot = Arc::new(Snapshot::default());
        let first = published(snapshot.clone(), vec![crate::color::Rgb::OFF]);
        waker.published(&first);
        assert_eq!(*requests.lock(), [Duration::ZERO], "a new state: now");
        // The same state with new frames: the first one repaints once at once, the next one an interval
        // later, and the ones before that are drawn by that repaint.
        let mut next = first.clone();
        next.frame = Arc::new(vec![crate::color::Rgb::WHITE]);
        for _ in 0..3 {
            waker.published(&next);
        }
        let delays = requests.lock().clone();
        assert_eq!(delays.len(), 3, "{delays:?}");
        assert_eq!(delays[1], Duration::from_millis(1), "one pass, at once");
        assert!(
            delays[2] > Duration::from_millis(60) && delays[2] <= FRAME_INTERVAL,
            "{delays:?}"
        );
        // Hidden in the tray: nothing, not even for a new snapshot.
        waker.set_hidden(true);
        waker.published(&published(Arc::new(Snapshot::default()), vec![]));
        assert_eq!(requests.lock().len(), 3);
    }
}
