//! The desktop app (feature `gui`): the engine and the config editor on worker threads, the tray icon on
//! its own GTK thread, notifications and sounds on theirs, and the eframe window that only draws.

pub mod alerts_tab;
pub mod app;
pub mod desk;
pub mod forms;
pub mod jobs;
pub mod look;
pub mod strip;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result};

use crate::config::Config;
use crate::engine::{ConfigSource, Engine, Observers};
use crate::settings::Editor;
use crate::strip::Strip;

pub use app::App;
pub use desk::{ConfigPlace, Desk, Opener, SharedDesk, Waker};

/// Starts the engine and the config editor for a file, wired to wake the window.
pub fn start_desk(
    place: ConfigPlace,
    initial: Config,
    strips: Vec<Box<dyn Strip>>,
    observers: Observers,
    opener: Opener,
) -> Result<SharedDesk> {
    let waker = Waker::default();
    let on_change = observers.on_change;
    let wake = waker.clone();
    let observers = Observers {
        on_change: Some(Box::new(move || {
            wake.wake();
            if let Some(f) = &on_change {
                f();
            }
        })),
        transitions: observers.transitions,
    };
    let path = place.path().clone();
    let engine = Engine::start(
        ConfigSource::File {
            path: path.clone(),
            initial,
        },
        strips,
        observers,
    )
    .context("cannot start the engine threads")?;
    let reload = engine.reloader();
    let wake = waker.clone();
    let editor = Editor::spawn(path, move |saved| {
        if saved {
            reload();
        }
        wake.wake();
    })
    .context("cannot start the config editor thread")?;
    Ok(Arc::new(Desk::new(engine, editor, place, waker, opener)))
}

/// The demo's config, written to a scratch file so the window can edit it like a real one.
#[derive(Debug)]
pub struct DemoScratch {
    pub dir: PathBuf,
    pub path: PathBuf,
}

impl DemoScratch {
    pub fn write(text: &str) -> Result<DemoScratch> {
        let dir = std::env::temp_dir().join(format!("ledtogo-demo-{}", std::process::id()));
        let path = dir.join("config.toml");
        crate::config::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("cannot write the demo config to {}", path.display()))?;
        Ok(DemoScratch { dir, path })
    }
}

impl Drop for DemoScratch {
    fn drop(&mut self) {
        // Best effort: a leftover scratch folder in the temp dir is harmless.
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// Options of the native window.
pub fn native_options() -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("ledtogo")
            .with_app_id("ledtogo")
            .with_inner_size([1000.0, 640.0])
            .with_min_inner_size([640.0, 400.0]),
        ..eframe::NativeOptions::default()
    }
}

/// Runs the window until the user quits. `desk` keeps running the strip while the window is hidden.
pub fn run_window(desk: SharedDesk) -> Result<()> {
    eframe::run_native(
        "ledtogo",
        native_options(),
        Box::new(move |cc| Ok(Box::new(App::new(&cc.egui_ctx, desk)))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
