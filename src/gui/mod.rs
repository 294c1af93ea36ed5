//! The desktop app (feature `gui`): the engine and the config editor on worker threads, the tray icon on
//! its own GTK thread, notifications and sounds on theirs, and the eframe window that only draws.

pub mod alerts_tab;
pub mod app;
pub mod desk;
pub mod forms;
pub mod jobs;
pub mod login;
pub mod look;
pub mod secret_text;
pub mod strip;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak, mpsc};
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::alerts::{AlertWorker, Notifier, SoundSink};
use crate::config::Config;
use crate::engine::{ConfigSource, Engine, Observers, PublishedHandle};
use crate::export::Export;
use crate::outputs::Output;
use crate::settings::{Editor, TokenStore};
use crate::state::Files;
use crate::tray::{self, Tray, TrayAction, TrayModel};

pub use app::App;
pub use desk::{Change, ConfigPlace, CurrentDesk, Desk, Opener, SharedDesk, Waker};

use desk::{DeskParts, Handover};

/// What plays notifications and sounds (`None`: no alerts, as in the UI tests).
pub type AlertOutputs = Option<(Box<dyn Notifier>, Box<dyn SoundSink>)>;

/// Starts the engine, the config editor, the alert worker and the desktop feeder for a file, wired to
/// wake the window. `files` is where a desk on the user's file keeps its acknowledgements and flaky-job
/// history (the app: [`Files::user`]; UI tests: temporary files or none); the demo's desk keeps them in
/// memory.
pub fn start_desk(
    place: ConfigPlace,
    initial: Config,
    strips: Vec<Box<dyn Output>>,
    opener: Opener,
    outputs: AlertOutputs,
    files: Files,
) -> Result<SharedDesk> {
    let (alerts, transitions) = match outputs {
        Some((notifier, sound)) => {
            let (tx, rx) = mpsc::channel();
            let handle = AlertWorker::spawn(rx, notifier, sound)
                .context("cannot start the alert threads")?;
            (Some(handle), Some(tx))
        }
        None => (None, None),
    };
    let handover = Handover {
        waker: Waker::default(),
        opener: Arc::from(opener),
        alerts,
        transitions,
        current: CurrentDesk::default(),
        files,
    };
    build_desk(place, initial, strips, handover)
}

/// The engine, the editor and the feeder of a desk around what it shares with its predecessor.
fn build_desk(
    place: ConfigPlace,
    initial: Config,
    strips: Vec<Box<dyn Output>>,
    handover: Handover,
) -> Result<SharedDesk> {
    let (feed_tx, feed_rx) = mpsc::sync_channel::<()>(1);
    let wake = handover.waker.clone();
    let feed = feed_tx.clone();
    // The window tells state changes from animation frames by what the engine published (set once the
    // engine runs; before that there is no window to wake).
    let handle: Arc<OnceLock<PublishedHandle>> = Arc::default();
    let published = handle.clone();
    let observers = Observers {
        on_change: Some(Box::new(move || {
            let change = match published.get().and_then(PublishedHandle::published) {
                Some(p) => wake.published(&p),
                None => {
                    wake.wake();
                    Change::State
                }
            };
            // The tray shows states, not frames.
            if change == Change::State {
                feed.try_send(()).ok();
            }
        })),
        transitions: handover.transitions.clone(),
    };
    let path = place.path().clone();
    let files = match &place {
        ConfigPlace::User(_) => handover.files.clone(),
        ConfigPlace::Demo { .. } => Files::default(),
    };
    let engine = Engine::start_remembering(
        ConfigSource::File {
            path: path.clone(),
            initial,
        },
        strips,
        observers,
        files,
    )
    .context("cannot start the engine threads")?;
    handle.set(engine.published_handle()).ok();
    let export = Export::start(engine.published_handle(), engine.acks())
        .context("cannot start the relay thread")?;
    let reload = engine.reloader();
    let wake = handover.waker.clone();
    // A token typed in the demo belongs to its scratch folder, removed on exit, not to the keyring.
    let tokens = match &place {
        ConfigPlace::Demo { .. } => TokenStore::Files,
        ConfigPlace::User(_) => TokenStore::Keyring,
    };
    let editor = Editor::spawn_with(path, tokens, move |saved| {
        if saved {
            reload();
        }
        wake.wake();
    })
    .context("cannot start the config editor thread")?;
    let current = handover.current.clone();
    let desk = Arc::new(Desk::new(DeskParts {
        engine,
        export,
        editor,
        place,
        handover,
        feed: feed_tx,
    }));
    current.set(&desk);
    spawn_feeder(Arc::downgrade(&desk), feed_rx)?;
    Ok(desk)
}

/// Leaves the demo for the user's own config, in this process (whatever started ledtogo keeps it, with
/// its D-Bus session): creates the file from the starter text unless it exists, then starts a desk on it
/// that takes over the window, the tray and the alert worker. The demo's desk stops when the window lets
/// go of it. The demo's LED mappings are not carried over (they name the simulated server's jobs).
///
/// Runs off the UI thread (it writes a file and starts threads).
pub fn leave_demo(demo: &Desk) -> std::result::Result<SharedDesk, String> {
    let ConfigPlace::Demo { user, .. } = &demo.place else {
        return Err("ledtogo is not running the demo".into());
    };
    if !user.exists() {
        crate::config::write_private(user, crate::config::STARTER.as_bytes()).map_err(|e| {
            format!(
                "cannot create {}: {e}; check that its folder is writable",
                user.display()
            )
        })?;
    }
    // A file that does not load still opens (as at start): the window shows its error and runs on the
    // defaults until it is fixed; the file is left as it is.
    let initial = match Config::load(user) {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("{e}; using default settings until it is fixed");
            Config::parse("", Some(user)).map_err(|e| e.to_string())?
        }
    };
    let next = build_desk(
        ConfigPlace::User(user.clone()),
        initial,
        Vec::new(),
        demo.handover(),
    )
    .map_err(|e| format!("cannot switch to {}: {e:#}", user.display()))?;
    next.pretend_tray(demo.pretends_tray());
    if let Some(tray) = demo.tray() {
        next.attach_tray(tray.clone());
    }
    tracing::info!("left the demo: using {}", user.display());
    Ok(next)
}

/// The tray's state for what the engine publishes now.
pub fn tray_model(desk: &Desk) -> TrayModel {
    let p = desk.engine.published();
    TrayModel {
        view: tray::tray_view(&p.snapshot, &p.config),
        muted: !p.config.alerts.sounds,
        paused: desk.notifications_paused(),
    }
}

/// Keeps the tray icon in step with the engine, whether or not the window is drawn. Woken by the engine's changes (coalesced, at most 10 updates a second) and once a second
/// (a pause running out).
fn spawn_feeder(desk: Weak<Desk>, wake: mpsc::Receiver<()>) -> Result<()> {
    std::thread::Builder::new()
        .name("desk-feeder".into())
        .spawn(move || {
            loop {
                match wake.recv_timeout(Duration::from_secs(1)) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
                let Some(desk) = desk.upgrade() else {
                    return;
                };
                if let Some(tray) = desk.tray() {
                    tray.update(tray_model(&desk));
                }
                drop(desk);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
        .context("cannot start the desktop feeder thread")?;
    Ok(())
}

/// What a tray menu click does.
pub fn on_tray_action(desk: &Desk, action: TrayAction) {
    tracing::debug!("tray menu: {action:?}");
    match action {
        TrayAction::Open => desk.show_window(),
        TrayAction::OpenUrl(url) => desk.open_url(&url),
        TrayAction::ToggleMute => desk.toggle_mute(),
        TrayAction::PauseNotifications => desk.toggle_pause(),
        TrayAction::Refresh => desk.engine.refresh(),
        TrayAction::Acknowledge(job) => desk.acknowledge(&job, None, None),
        TrayAction::Unacknowledge(job) => desk.unacknowledge(&job),
        TrayAction::Quit => desk.quit(),
    }
}

/// Shows the tray icon for `desk` (a no-op stand-in when the desktop has none).
pub fn start_tray(desk: &SharedDesk) {
    let current = desk.current();
    let tray = Tray::spawn(move |action| {
        if let Some(desk) = current.get() {
            on_tray_action(&desk, action);
        }
    });
    if !tray.available() {
        tracing::info!("no tray icon: closing the window quits ledtogo");
    }
    // Without a tray host, the shell logs how to get one, and closing the window quits (`has_tray`).
    desk.attach_tray(tray);
}

/// The demo's config, written to a scratch file so the window can edit it like a real one. The folder
/// is private (mode 700) with an unpredictable name in the temp folder, and removed when this is dropped.
#[derive(Debug)]
pub struct DemoScratch {
    dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl DemoScratch {
    pub fn write(text: &str) -> Result<DemoScratch> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("ledtogo-demo-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            // Private: other users of the machine must not read or plant files in it.
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = builder.tempdir().with_context(|| {
            format!(
                "cannot create the demo's scratch folder in {}",
                std::env::temp_dir().display()
            )
        })?;
        let path = dir.path().join("config.toml");
        crate::config::write_private(&path, text.as_bytes())
            .with_context(|| format!("cannot write the demo config to {}", path.display()))?;
        Ok(DemoScratch { dir, path })
    }

    /// The scratch folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Options of the native window.
pub fn native_options() -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("ledtogo")
            .with_app_id("ledtogo")
            .with_inner_size([1000.0, 640.0])
            .with_min_inner_size([640.0, 400.0])
            .with_icon(window_icon(tray::TrayState::NoJobs)),
        // OpenGL: on a software renderer (Mesa's llvmpipe: VMs, remote desktops) a frame costs a fifth of
        // what wgpu's GL path costs (measured with benches/window_cpu.py), and every desktop has it.
        renderer: eframe::Renderer::Glow,
        ..eframe::NativeOptions::default()
    }
}

/// The window icon for a state: the tray's icon.
pub fn window_icon(state: tray::TrayState) -> egui::IconData {
    const SIZE: u32 = 64;
    egui::IconData {
        rgba: tray::render_icon(state, SIZE),
        width: SIZE,
        height: SIZE,
    }
}

/// Runs the window until the user quits. `desk` keeps running the strip while the window is hidden;
/// `hidden`: the window starts hidden (in the tray, `--in-tray`) until the tray's *Open ledtogo*.
pub fn run_window(desk: SharedDesk, hidden: bool) -> Result<()> {
    // The real window's animation stays within a CPU budget (UI tests measure the plain rate).
    desk::spawn_cpu_budget(&desk.waker);
    eframe::run_native(
        "ledtogo",
        native_options(),
        Box::new(move |cc| {
            let app = App::new(&cc.egui_ctx, desk)
                .with_autostart(crate::autostart::Autostart::for_user())
                .hidden_at_start(hidden);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_demo_scratch_folder_is_private_unpredictable_and_removed_on_drop() {
        let (a, b) = (
            DemoScratch::write("x = 1\n").unwrap(),
            DemoScratch::write("").unwrap(),
        );
        assert_ne!(
            a.dir(),
            b.dir(),
            "two scratch folders of one process differ"
        );
        let name = a.dir().file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("ledtogo-demo-")
                && name != format!("ledtogo-demo-{}", std::process::id()),
            "{name}"
        );
        assert_eq!(std::fs::read_to_string(&a.path).unwrap(), "x = 1\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(a.dir()), 0o700);
            assert_eq!(mode(&a.path), 0o600);
        }
        let dir = a.dir().to_path_buf();
        drop(a);
        assert!(!dir.exists(), "removed on drop");
        assert!(b.dir().exists());
    }
}
