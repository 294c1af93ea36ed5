//! The thread-safe side of the desktop app: the engine, the config editor, and the actions the window and
//! the tray both trigger (open a page, refresh, quit). Worker threads call into it; the window only reads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::engine::Engine;
use crate::settings::{Edit, Editor};

/// How web pages are opened (the system browser; a recorder in tests).
pub type Opener = Box<dyn Fn(&str) + Send + Sync>;

/// Wakes the window from any thread once it exists.
#[derive(Debug, Clone, Default)]
pub struct Waker(Arc<OnceLock<egui::Context>>);

impl Waker {
    /// Remembers the window's context (first call wins).
    pub fn set(&self, ctx: &egui::Context) {
        self.0.set(ctx.clone()).ok();
    }

    pub fn wake(&self) {
        if let Some(ctx) = self.0.get() {
            ctx.request_repaint();
        }
    }

    /// Sends a command to the main window and wakes it.
    pub fn command(&self, cmd: egui::ViewportCommand) {
        if let Some(ctx) = self.0.get() {
            ctx.send_viewport_cmd_to(egui::ViewportId::ROOT, cmd);
            ctx.request_repaint();
        }
    }
}

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
    opener: Opener,
    quitting: AtomicBool,
    tray: AtomicBool,
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
    pub fn new(
        engine: Engine,
        editor: Editor,
        place: ConfigPlace,
        waker: Waker,
        opener: Opener,
    ) -> Self {
        Desk {
            engine,
            editor,
            place,
            waker,
            opener,
            quitting: AtomicBool::new(false),
            tray: AtomicBool::new(false),
        }
    }

    pub fn open_url(&self, url: &str) {
        (self.opener)(url);
    }

    pub fn edit(&self, edit: Edit) {
        self.editor.send(edit);
    }

    /// Shows the main window and brings it to the front.
    pub fn show_window(&self) {
        self.waker.command(egui::ViewportCommand::Visible(true));
        self.waker.command(egui::ViewportCommand::Minimized(false));
        self.waker.command(egui::ViewportCommand::Focus);
    }

    /// Quits the app (the window's close then really closes).
    pub fn quit(&self) {
        self.quitting.store(true, Ordering::SeqCst);
        self.waker.command(egui::ViewportCommand::Close);
    }

    /// Whether a tray icon is up (closing the window then hides it instead of quitting).
    pub fn has_tray(&self) -> bool {
        self.tray.load(Ordering::SeqCst)
    }

    pub fn set_tray(&self, up: bool) {
        self.tray.store(up, Ordering::SeqCst);
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
        .spawn(move || {
            #[cfg(target_os = "macos")]
            let mut cmd = std::process::Command::new("open");
            #[cfg(target_os = "windows")]
            let mut cmd = {
                let mut c = std::process::Command::new("cmd");
                c.args(["/C", "start", ""]);
                c
            };
            #[cfg(not(any(target_os = "macos", target_os = "windows")))]
            let mut cmd = std::process::Command::new("xdg-open");
            match cmd.arg(&url).status() {
                Ok(s) if s.success() => {}
                Ok(s) => tracing::warn!("cannot open {url}: the browser launcher exited with {s}"),
                Err(e) => tracing::warn!("cannot open {url}: cannot run the browser launcher: {e}"),
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot open a page: no thread for the browser launcher: {e}");
    }
}

/// A shared desk.
pub type SharedDesk = Arc<Desk>;
