//! The thread-safe side of the desktop app: the engine, the config editor, and the actions the window and
//! the tray both trigger (open a page, refresh, quit). Worker threads call into it; the window only reads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, SyncSender};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::{Mutex, RwLock};

use crate::alerts::AlertHandle;
use crate::engine::{Batch, Engine};
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
    pub editor: Editor,
    pub place: ConfigPlace,
    pub handover: Handover,
    /// Nudges the desktop feeder.
    pub feed: SyncSender<()>,
}

/// Wakes the window from any thread once it exists. While the window is hidden in the tray, state changes
/// do not wake it (nothing to draw); commands (show, quit) always do.
#[derive(Debug, Clone, Default)]
pub struct Waker {
    ctx: Arc<OnceLock<egui::Context>>,
    hidden: Arc<AtomicBool>,
}

impl Waker {
    /// Remembers the window's context (first call wins).
    pub fn set(&self, ctx: &egui::Context) {
        self.ctx.set(ctx.clone()).ok();
    }

    /// Asks for a redraw because something shown changed.
    pub fn wake(&self) {
        if self.hidden.load(Ordering::SeqCst) {
            return;
        }
        if let Some(ctx) = self.ctx.get() {
            ctx.request_repaint();
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
    pub engine: Engine,
    pub editor: Editor,
    pub place: ConfigPlace,
    pub waker: Waker,
    /// Notifications and sounds (`None` when the app runs without them, e.g. in UI tests).
    pub alerts: Option<AlertHandle>,
    opener: Arc<dyn Fn(&str) + Send + Sync>,
    transitions: Option<Sender<Batch>>,
    current: CurrentDesk,
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
            editor,
            place,
            handover:
                Handover {
                    waker,
                    opener,
                    alerts,
                    transitions,
                    current,
                },
            feed,
        } = parts;
        Desk {
            engine,
            editor,
            place,
            waker,
            alerts,
            opener,
            transitions,
            current,
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
