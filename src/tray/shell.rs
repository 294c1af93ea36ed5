//! The tray icon on screen: one GTK thread per process that owns every `TrayIcon` (tray-icon's default
//! libappindicator backend needs `gtk::init()` and a GTK main loop on the thread that owns the icon, and
//! `TrayIcon` is `!Send`), fed through a channel by [`Tray`] handles usable from any thread.
//!
//! - GTK can be initialised on one thread only, once per process, so the thread is started on the first
//!   [`Tray::spawn`] and kept. It runs `gtk::main()` only while at least one icon exists: the last
//!   [`Tray::stop`] (or drop) quits the loop and the thread waits, asleep, for a next icon.
//! - Updates are picked up by a 100 ms glib timeout while the loop runs; only changed models are sent.
//! - Menu clicks: muda has one process-wide event handler (settable once); this module installs it on the
//!   GTK thread and routes each click to the owning tray's `on_action`. **Do not call
//!   `MenuEvent::set_event_handler` elsewhere** in the app.
//! - No tray is not an error: without a display, without `libayatana-appindicator3.so.1` (whose absence
//!   makes `TrayIconBuilder::build()` panic, so it is looked for first and the build runs under
//!   `catch_unwind`), or when GTK refuses to start, one warning is logged and every [`Tray`] is a working
//!   no-op ([`Tray::available`] is false). An appindicator with no StatusNotifier host and no XEmbed tray
//!   shows nothing and cannot be detected; the window stays reachable either way.
//! - The libappindicator backend ignores tooltips, so the summary is also the first (disabled) menu line.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gtk::glib;
use parking_lot::Mutex;
use thiserror::Error;
use tray_icon::menu::{
    CheckMenuItem, IconMenuItem, IsMenuItem, Menu, MenuEvent, MenuId, MenuItem, PredefinedMenuItem,
};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use super::icon::render_icon;
use super::view::TrayState;
use super::{MenuEntry, TrayAction, TrayModel, menu_entries};
use crate::model::JobState;

/// The icon is drawn at this size; panels scale it down.
pub const ICON_SIZE: u32 = 64;
/// The small state icons beside problem jobs in the menu.
const MENU_ICON_SIZE: u32 = 16;
/// How often the GTK thread looks for updates while an icon is shown.
const POLL: Duration = Duration::from_millis(100);
/// How long [`Tray::spawn`] waits for the GTK thread.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The shared libraries tray-icon's backend loads at run time, in its order.
pub const APPINDICATOR_LIBS: [&str; 3] = [
    "libayatana-appindicator3.so.1",
    "libappindicator3.so.1",
    "libayatana-appindicator3.so",
];

/// Why there is no tray icon.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum TrayError {
    #[error("no display (neither DISPLAY nor WAYLAND_DISPLAY is set)")]
    NoDisplay,
    #[error("libayatana-appindicator3.so.1 not found (install libayatana-appindicator3-1)")]
    NoLibrary,
    #[error("GTK could not start: {0}")]
    Gtk(String),
    #[error("the tray icon could not be created: {0}")]
    Build(String),
    #[error("the tray thread could not start: {0}")]
    Thread(String),
    #[error("the tray thread did not answer")]
    NoAnswer,
}

type ActionFn = Arc<dyn Fn(TrayAction) + Send + Sync>;

enum Command {
    Add {
        id: u64,
        on_action: ActionFn,
        model: TrayModel,
        reply: SyncSender<Result<(), TrayError>>,
    },
    Update {
        id: u64,
        model: TrayModel,
    },
    Remove {
        id: u64,
    },
}

/// The GTK thread's inbox, or why there is none. Decided once per process.
static HOST: OnceLock<Result<Sender<Command>, TrayError>> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A tray icon, or a no-op stand-in when the desktop has no tray. Cheap to clone (clones share the icon);
/// the icon goes away on [`Tray::stop`] or when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Tray {
    inner: Option<Arc<Handle>>,
}

#[derive(Debug)]
struct Handle {
    id: u64,
    tx: Sender<Command>,
    /// The last model sent, so unchanged updates cost nothing.
    last: Mutex<TrayModel>,
    stopped: AtomicBool,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            // The GTK thread may be gone with the process; nothing to do then.
            let _ = self.tx.send(Command::Remove { id: self.id });
        }
    }
}

impl Tray {
    /// Shows a tray icon (the "no jobs" icon until the first [`Tray::update`]). `on_action` runs on the GTK
    /// thread for each menu click: keep it short (send on a channel, `request_repaint()`).
    ///
    /// Never fails: without a tray it logs one warning (per process) and returns a no-op [`Tray`].
    pub fn spawn(on_action: impl Fn(TrayAction) + Send + Sync + 'static) -> Tray {
        match Self::try_spawn(Arc::new(on_action)) {
            Ok(tray) => tray,
            Err(e) => {
                tracing::debug!("no tray icon: {e}");
                Tray::disabled()
            }
        }
    }

    fn try_spawn(on_action: ActionFn) -> Result<Tray, TrayError> {
        let host = HOST.get_or_init(|| {
            let host = start_host();
            if let Err(e) = &host {
                tracing::warn!(
                    "no tray icon: {e}. A tray needs a display, libayatana-appindicator3-1 and a \
                     StatusNotifier host or XEmbed tray; the window stays reachable"
                );
            }
            host
        });
        let tx = host.clone()?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = mpsc::sync_channel(1);
        tx.send(Command::Add {
            id,
            on_action,
            model: TrayModel::default(),
            reply,
        })
        .map_err(|_| TrayError::NoAnswer)?;
        match answer.recv_timeout(START_TIMEOUT) {
            Ok(Ok(())) => Ok(Tray {
                inner: Some(Arc::new(Handle {
                    id,
                    tx,
                    last: Mutex::new(TrayModel::default()),
                    stopped: AtomicBool::new(false),
                })),
            }),
            Ok(Err(e)) => {
                tracing::warn!("no tray icon: {e}; the window stays reachable");
                Err(e)
            }
            Err(_) => Err(TrayError::NoAnswer),
        }
    }

    /// A tray that shows nothing (for `--no-tray`, or when there is no tray).
    pub fn disabled() -> Tray {
        Tray { inner: None }
    }

    /// True when an icon was created (it may still be invisible without a StatusNotifier host).
    pub fn available(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|h| !h.stopped.load(Ordering::SeqCst))
    }

    /// Shows `model`. Cheap when nothing changed (nothing is sent); callable from any thread.
    pub fn update(&self, model: TrayModel) {
        let Some(h) = &self.inner else { return };
        if h.stopped.load(Ordering::SeqCst) {
            return;
        }
        let mut last = h.last.lock();
        if *last == model {
            return;
        }
        *last = model.clone();
        drop(last);
        let _ = h.tx.send(Command::Update { id: h.id, model });
    }

    /// Removes the icon (for every clone); the GTK loop ends with the last icon. Idempotent.
    pub fn stop(&self) {
        if let Some(h) = &self.inner
            && !h.stopped.swap(true, Ordering::SeqCst)
        {
            let _ = h.tx.send(Command::Remove { id: h.id });
        }
    }
}

/// The first of [`APPINDICATOR_LIBS`] found in `dirs`.
pub fn find_library(dirs: &[PathBuf]) -> Option<PathBuf> {
    APPINDICATOR_LIBS
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|p| p.exists())
}

/// Where the dynamic loader looks: `LD_LIBRARY_PATH`, then the usual system folders (with multiarch ones).
fn library_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for base in ["/usr/local/lib", "/usr/lib", "/lib", "/usr/lib64", "/lib64"] {
        let base = Path::new(base);
        dirs.push(base.to_path_buf());
        if let Ok(entries) = std::fs::read_dir(base) {
            dirs.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.to_string_lossy().ends_with("-linux-gnu")),
            );
        }
    }
    dirs
}

/// True when `ldconfig -p` lists one of [`APPINDICATOR_LIBS`] (a fallback for unusual library folders).
fn ldconfig_lists_library() -> bool {
    ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"]
        .iter()
        .find_map(|cmd| std::process::Command::new(cmd).arg("-p").output().ok())
        .is_some_and(|out| {
            let text = String::from_utf8_lossy(&out.stdout);
            APPINDICATOR_LIBS.iter().any(|lib| text.contains(lib))
        })
}

/// Checks the environment, then starts the GTK thread and waits until GTK is up.
fn start_host() -> Result<Sender<Command>, TrayError> {
    if !crate::desktop_env::display_in_env() {
        return Err(TrayError::NoDisplay);
    }
    if find_library(&library_dirs()).is_none() && !ldconfig_lists_library() {
        return Err(TrayError::NoLibrary);
    }
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("ledtogo-tray".into())
        .spawn(move || gtk_thread(rx, &ready_tx))
        .map_err(|e| TrayError::Thread(e.to_string()))?;
    match ready_rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(())) => Ok(tx),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(TrayError::NoAnswer),
    }
}

// ---------------------------------------------------------------------------------------------------
// The GTK thread.

/// One icon as the GTK thread holds it.
struct Shown {
    icon: TrayIcon,
    on_action: ActionFn,
    model: TrayModel,
    /// The lines the menu on screen was built from (may lag `model` while the menu is open).
    entries: Vec<MenuEntry>,
    routes: HashMap<MenuId, TrayAction>,
    /// The menu is popped up: it is not replaced until it closes (a replaced menu would vanish under
    /// the user's pointer and the click would be lost).
    open: Rc<Cell<bool>>,
}

thread_local! {
    /// Every icon, by tray id. Only ever touched on the GTK thread.
    static ICONS: RefCell<HashMap<u64, Shown>> = RefCell::new(HashMap::new());
}

fn gtk_thread(rx: Receiver<Command>, ready: &SyncSender<Result<(), TrayError>>) {
    // gtk-rs panics if GTK was initialised on another thread already.
    let init = catch_unwind(gtk::init)
        .map_err(|p| TrayError::Gtk(panic_text(&p)))
        .and_then(|r| r.map_err(|e| TrayError::Gtk(e.to_string())));
    if let Err(e) = init {
        let _ = ready.send(Err(e));
        return;
    }
    MenuEvent::set_event_handler(Some(|e: MenuEvent| route_menu_event(&e)));
    if ready.send(Ok(())).is_err() {
        return;
    }
    let rx = Rc::new(rx);
    loop {
        // No icon: no loop; sleep until the next command.
        let Ok(cmd) = rx.recv() else { return };
        apply(cmd);
        if no_icons() {
            continue;
        }
        let inbox = Rc::clone(&rx);
        glib::timeout_add_local(POLL, move || {
            loop {
                match inbox.try_recv() {
                    Ok(cmd) => apply(cmd),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        ICONS.with(|icons| icons.borrow_mut().clear());
                        break;
                    }
                }
            }
            // Menus that changed while they were open.
            ICONS.with(|icons| {
                for (id, shown) in icons.borrow_mut().iter_mut() {
                    refresh_menu(*id, shown);
                }
            });
            if no_icons() {
                gtk::main_quit();
                glib::ControlFlow::Break
            } else {
                glib::ControlFlow::Continue
            }
        });
        gtk::main();
    }
}

fn no_icons() -> bool {
    ICONS.with(|icons| icons.borrow().is_empty())
}

fn apply(cmd: Command) {
    match cmd {
        Command::Add {
            id,
            on_action,
            model,
            reply,
        } => {
            let result = create(id, on_action, model);
            let _ = reply.send(result);
        }
        Command::Update { id, model } => ICONS.with(|icons| {
            if let Some(shown) = icons.borrow_mut().get_mut(&id) {
                show(id, shown, model);
            }
        }),
        Command::Remove { id } => {
            // Dropped outside the borrow: TrayIcon's Drop talks to GTK.
            let gone = ICONS.with(|icons| icons.borrow_mut().remove(&id));
            drop(gone);
        }
    }
}

fn create(id: u64, on_action: ActionFn, model: TrayModel) -> Result<(), TrayError> {
    let entries = menu_entries(&model);
    let (menu, routes) = build_menu(id, &entries);
    let open = Rc::new(Cell::new(false));
    watch_open(&menu, &open);
    let icon = state_icon(model.view.state, ICON_SIZE)?;
    let tooltip = model.view.tooltip.clone();
    let built = catch_unwind(AssertUnwindSafe(move || {
        TrayIconBuilder::new()
            .with_id(format!("ledtogo-{id}"))
            .with_icon(icon)
            .with_tooltip(tooltip)
            .with_menu(Box::new(menu))
            .build()
    }));
    let icon = match built {
        Ok(Ok(icon)) => icon,
        Ok(Err(e)) => return Err(TrayError::Build(e.to_string())),
        Err(p) => return Err(TrayError::Build(panic_text(&p))),
    };
    ICONS.with(|icons| {
        icons.borrow_mut().insert(
            id,
            Shown {
                icon,
                on_action,
                model,
                entries,
                routes,
                open,
            },
        )
    });
    Ok(())
}

/// Applies a new model: the icon when the state changed, the tooltip, the menu when its lines changed.
fn show(id: u64, shown: &mut Shown, model: TrayModel) {
    if model.view.state != shown.model.view.state {
        match state_icon(model.view.state, ICON_SIZE) {
            Ok(icon) => {
                if let Err(e) = shown.icon.set_icon(Some(icon)) {
                    tracing::debug!("tray icon not updated: {e}");
                }
            }
            Err(e) => tracing::debug!("{e}"),
        }
    }
    if model.view.tooltip != shown.model.view.tooltip {
        let _ = shown.icon.set_tooltip(Some(&model.view.tooltip));
    }
    shown.model = model;
    refresh_menu(id, shown);
}

/// Rebuilds the menu when its lines changed, unless it is open (then on a later tick, once closed).
fn refresh_menu(id: u64, shown: &mut Shown) {
    if shown.open.get() {
        return;
    }
    let entries = menu_entries(&shown.model);
    if entries != shown.entries {
        let (menu, routes) = build_menu(id, &entries);
        shown.open = Rc::new(Cell::new(false));
        watch_open(&menu, &shown.open);
        shown.icon.set_menu(Some(Box::new(menu)));
        shown.routes = routes;
        shown.entries = entries;
    }
}

/// Tracks whether `menu` is popped up. muda keeps one GTK menu per muda menu, the one the tray shows.
fn watch_open(menu: &Menu, open: &Rc<Cell<bool>>) {
    use gtk::prelude::WidgetExt as _;
    use tray_icon::menu::ContextMenu as _;
    let gtk_menu = menu.gtk_context_menu();
    let shown = Rc::clone(open);
    gtk_menu.connect_show(move |_| shown.set(true));
    let hidden = Rc::clone(open);
    gtk_menu.connect_hide(move |_| hidden.set(false));
}

fn state_icon(state: TrayState, size: u32) -> Result<Icon, TrayError> {
    Icon::from_rgba(render_icon(state, size), size, size)
        .map_err(|e| TrayError::Build(e.to_string()))
}

/// The muda menu for `entries`, and which action each item id stands for.
fn build_menu(tray: u64, entries: &[MenuEntry]) -> (Menu, HashMap<MenuId, TrayAction>) {
    let menu = Menu::new();
    let mut routes = HashMap::new();
    for entry in entries {
        let item: Box<dyn IsMenuItem> = match entry {
            MenuEntry::Separator => Box::new(PredefinedMenuItem::separator()),
            MenuEntry::Item {
                key,
                text,
                action,
                job_state,
            } => {
                let id = MenuId::new(format!("ledtogo-{tray}-{key}"));
                if let Some(a) = action {
                    routes.insert(id.clone(), a.clone());
                }
                let enabled = action.is_some();
                match job_state.and_then(job_icon) {
                    Some(icon) => {
                        Box::new(IconMenuItem::with_id(id, text, enabled, Some(icon), None))
                    }
                    None => Box::new(MenuItem::with_id(id, text, enabled, None)),
                }
            }
            MenuEntry::Check {
                key,
                text,
                checked,
                action,
            } => {
                let id = MenuId::new(format!("ledtogo-{tray}-{key}"));
                routes.insert(id.clone(), action.clone());
                Box::new(CheckMenuItem::with_id(id, text, true, *checked, None))
            }
        };
        if let Err(e) = menu.append(item.as_ref()) {
            tracing::debug!("tray menu item skipped: {e}");
        }
    }
    (menu, routes)
}

fn job_icon(state: JobState) -> Option<tray_icon::menu::Icon> {
    let s = match state {
        JobState::Failure => TrayState::Failure,
        JobState::Unstable => TrayState::Unstable,
        _ => return None,
    };
    tray_icon::menu::Icon::from_rgba(
        render_icon(s, MENU_ICON_SIZE),
        MENU_ICON_SIZE,
        MENU_ICON_SIZE,
    )
    .ok()
}

/// muda's process-wide handler; runs on the GTK thread (the menu's signals fire there).
fn route_menu_event(event: &MenuEvent) {
    let target = ICONS.with(|icons| {
        // A click cannot arrive while `apply` holds the map; if it ever did, drop it rather than panic.
        let icons = icons.try_borrow().ok()?;
        icons.values().find_map(|shown| {
            shown
                .routes
                .get(&event.id)
                .map(|a| (Arc::clone(&shown.on_action), a.clone()))
        })
    });
    if let Some((on_action, action)) = target {
        on_action(action);
    }
}

fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_handle_can_go_to_any_thread() {
        fn send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
        send_sync::<Tray>();
    }

    #[test]
    fn the_library_is_found_in_the_given_folders_only() {
        let empty = tempfile::tempdir().unwrap();
        let full = tempfile::tempdir().unwrap();
        std::fs::write(full.path().join("libappindicator3.so.1"), b"").unwrap();
        assert_eq!(find_library(&[empty.path().to_path_buf()]), None);
        assert_eq!(
            find_library(&[empty.path().to_path_buf(), full.path().to_path_buf()]),
            Some(full.path().join("libappindicator3.so.1"))
        );
    }

    #[test]
    fn a_disabled_tray_accepts_everything() {
        let tray = Tray::disabled();
        assert!(!tray.available());
        tray.update(TrayModel::default());
        tray.stop();
        tray.stop();
        let copy = tray.clone();
        drop(tray);
        copy.update(TrayModel::default());
    }

    #[test]
    fn spawn_never_panics_and_the_tray_works_or_is_a_no_op() {
        // With no display in the environment (CI), this is the no-tray path; with one, a real icon.
        let no_display = !crate::desktop_env::display_in_env();
        let tray = Tray::spawn(|_| {});
        if no_display {
            assert!(!tray.available());
        }
        let mut model = TrayModel::default();
        model.view.state = TrayState::Failure;
        tray.update(model.clone());
        tray.update(model);
        tray.stop();
        assert!(!tray.available());
        tray.update(TrayModel::default());
    }

    #[test]
    fn unchanged_models_are_not_sent() {
        let (tx, rx) = mpsc::channel();
        let tray = Tray {
            inner: Some(Arc::new(Handle {
                id: 7,
                tx,
                last: Mutex::new(TrayModel::default()),
                stopped: AtomicBool::new(false),
            })),
        };
        assert!(tray.available());
        tray.update(TrayModel::default());
        let m = TrayModel {
            muted: true,
            ..TrayModel::default()
        };
        tray.update(m.clone());
        tray.clone().update(m);
        let sent: Vec<&str> = rx
            .try_iter()
            .map(|c| match c {
                Command::Add { .. } => "add",
                Command::Update { .. } => "update",
                Command::Remove { .. } => "remove",
            })
            .collect();
        assert_eq!(sent, vec!["update"]);
        drop(tray);
        assert!(matches!(rx.try_recv(), Ok(Command::Remove { id: 7 })));
    }
}
