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
//!   no-op ([`Tray::available`] is false).
//! - An icon nobody shows: the GTK thread looks for a tray host while an icon exists (at once, every
//!   [`HOST_CHECK`], and when the watcher or its hosts come or go): the StatusNotifierWatcher's
//!   `IsStatusNotifierHostRegistered` on the session bus, or, with no watcher at all, the owner of the X
//!   selection `_NET_SYSTEM_TRAY_S<screen>` (an XEmbed tray; libappindicator falls back to one only when
//!   there is no watcher). [`Tray::host_present`] reads the answer without blocking; the log says
//!   [`NO_HOST_HELP`](super::NO_HOST_HELP) once. A host that appears later shows the icon by itself.
//! - One menu per icon, for its whole life: a new model changes texts, check marks and job icons in
//!   place and inserts or removes only the lines that come or go ([`menu_changes`]). `set_menu` is never
//!   called again: libappindicator re-registers the item with the watcher on each `set_menu` (GNOME's
//!   extension then rebuilds the indicator) and new GTK items get new dbusmenu ids, so a click on an id
//!   the host read a moment earlier would be lost. A new state icon is a new PNG path (`NewIcon`), which
//!   does not re-register.
//! - The icon PNGs libappindicator needs go to a private per-process folder,
//!   `$XDG_RUNTIME_DIR/ledtogo/tray-<pid>-XXXXXX` (else `ledtogo-tray-<pid>-XXXXXX` in the temp folder),
//!   removed with the last icon ([`Tray::stop`] waits for that, so it is gone when the app exits).
//! - Title and tooltip: tray-icon's libappindicator backend has no tooltip and its `set_title` is the
//!   AppIndicator *label* (text beside the icon in GNOME's and XFCE's panels), not the item's `Title`;
//!   `Title` is the GLib application name, set to "ledtogo" here. The summary is the first (disabled)
//!   menu line. tray-icon exposes no "needs attention" status (only Active/Passive), so failures show in
//!   the icon only.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gtk::gio;
use gtk::glib;
use gtk::glib::ToVariant as _;
use parking_lot::Mutex;
use thiserror::Error;
use tray_icon::menu::{
    CheckMenuItem, IconMenuItem, IsMenuItem, Menu, MenuEvent, MenuId, MenuItem, PredefinedMenuItem,
};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use super::icon::render_icon;
use super::view::TrayState;
use super::{LineKind, MenuEntry, TrayAction, TrayModel, menu_changes, menu_entries};
use crate::model::JobState;

/// The icon is drawn at this size; panels scale it down.
pub const ICON_SIZE: u32 = 64;
/// The small state icons beside problem jobs in the menu.
const MENU_ICON_SIZE: u32 = 16;
/// How often the GTK thread looks for updates while an icon is shown.
const POLL: Duration = Duration::from_millis(100);
/// How long [`Tray::spawn`] waits for the GTK thread.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`Tray::stop`] waits for the icon and its files to go.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the GTK thread looks for a tray host besides the watcher's signals.
pub const HOST_CHECK: Duration = Duration::from_secs(2);
/// The application name: the item's `Title` on the bus.
const APP_NAME: &str = "ledtogo";
const WATCHER: &str = "org.kde.StatusNotifierWatcher";
const WATCHER_PATH: &str = "/StatusNotifierWatcher";

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
    #[error("cannot create a private folder for the tray icon's files in {dir}: {reason}")]
    IconDir { dir: String, reason: String },
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
        /// Answered once the icon (and, with the last icon, its folder) is gone.
        done: Option<SyncSender<()>>,
    },
}

/// The GTK thread's inbox, or why there is none. Decided once per process.
static HOST: OnceLock<Result<Sender<Command>, TrayError>> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Whether a tray host shows the icons: written by the GTK thread's host check.
static HOST_PRESENT: AtomicBool = AtomicBool::new(false);
/// Set once the first host check has finished.
static HOST_CHECKED: AtomicBool = AtomicBool::new(false);
/// Set by the watcher's signals: look for a host on the next tick.
static RECHECK: AtomicBool = AtomicBool::new(false);

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
            let _ = self.tx.send(Command::Remove {
                id: self.id,
                done: None,
            });
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

    /// True when an icon was created (it may still be invisible without a tray host: see
    /// [`Tray::host_present`]).
    pub fn available(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|h| !h.stopped.load(Ordering::SeqCst))
    }

    /// True when the icon is up and a tray host shows it (a StatusNotifier host, or an XEmbed tray
    /// when there is no StatusNotifierWatcher). Never blocks: the GTK thread keeps the answer current
    /// (within [`HOST_CHECK`], at once when the watcher signals a change). False until the first check.
    pub fn host_present(&self) -> bool {
        self.available() && HOST_PRESENT.load(Ordering::SeqCst)
    }

    /// Whether [`Tray::host_present`] is an answer yet: the first check has run, or there is no icon to
    /// check for (a no-op tray).
    pub fn host_known(&self) -> bool {
        !self.available() || HOST_CHECKED.load(Ordering::SeqCst)
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

    /// Removes the icon (for every clone); the GTK loop ends with the last icon. Idempotent. Waits (up
    /// to [`STOP_TIMEOUT`]) until the icon and, with the last icon, its files are gone, so nothing is
    /// left behind when the app exits next; do not call it from `on_action` (it would only time out).
    pub fn stop(&self) {
        if let Some(h) = &self.inner
            && !h.stopped.swap(true, Ordering::SeqCst)
        {
            let (done, gone) = mpsc::sync_channel(1);
            let sent = h.tx.send(Command::Remove {
                id: h.id,
                done: Some(done),
            });
            if sent.is_ok() && gone.recv_timeout(STOP_TIMEOUT).is_err() {
                tracing::debug!("the tray thread did not confirm the icon's removal");
            }
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

/// One line of the menu on screen: what it shows, and muda's item for it.
struct Line {
    entry: MenuEntry,
    item: LineItem,
}

enum LineItem {
    Plain(MenuItem),
    Job(IconMenuItem),
    Check(CheckMenuItem),
    Separator(PredefinedMenuItem),
}

fn menu_id(tray: u64, key: &str) -> MenuId {
    MenuId::new(format!("ledtogo-{tray}-{key}"))
}

impl Line {
    fn new(tray: u64, entry: &MenuEntry) -> Line {
        let item = match entry {
            MenuEntry::Separator => LineItem::Separator(PredefinedMenuItem::separator()),
            MenuEntry::Item {
                key,
                text,
                action,
                job_state: Some(state),
            } => LineItem::Job(IconMenuItem::with_id(
                menu_id(tray, key),
                text,
                action.is_some(),
                job_icon(*state),
                None,
            )),
            MenuEntry::Item {
                key, text, action, ..
            } => LineItem::Plain(MenuItem::with_id(
                menu_id(tray, key),
                text,
                action.is_some(),
                None,
            )),
            MenuEntry::Check {
                key, text, checked, ..
            } => LineItem::Check(CheckMenuItem::with_id(
                menu_id(tray, key),
                text,
                true,
                *checked,
                None,
            )),
        };
        Line {
            entry: entry.clone(),
            item,
        }
    }

    fn item(&self) -> &dyn IsMenuItem {
        match &self.item {
            LineItem::Plain(i) => i,
            LineItem::Job(i) => i,
            LineItem::Check(i) => i,
            LineItem::Separator(i) => i,
        }
    }

    /// Shows `new` (a line of the same key and kind) in place; `index` is the line's place in `menu`.
    fn update(&mut self, menu: &Menu, index: usize, new: &MenuEntry) {
        match (&self.item, &self.entry, new) {
            (
                LineItem::Plain(item),
                MenuEntry::Item {
                    text: was,
                    action: had,
                    ..
                },
                MenuEntry::Item { text, action, .. },
            ) => {
                if was != text {
                    item.set_text(text);
                }
                if had.is_some() != action.is_some() {
                    item.set_enabled(action.is_some());
                }
            }
            (
                LineItem::Job(item),
                MenuEntry::Item {
                    text: was,
                    action: had,
                    job_state: was_state,
                    ..
                },
                MenuEntry::Item {
                    text,
                    action,
                    job_state,
                    ..
                },
            ) => {
                if was != text {
                    item.set_text(text);
                    // muda's set_text does not reach GTK for an item with an icon (its child is a box,
                    // not a label): set the label itself, which the menu exporter watches.
                    set_box_label(menu, index, text);
                }
                if had.is_some() != action.is_some() {
                    item.set_enabled(action.is_some());
                }
                if was_state != job_state {
                    item.set_icon(job_state.and_then(job_icon));
                }
            }
            (
                LineItem::Check(item),
                MenuEntry::Check { text: was, .. },
                MenuEntry::Check { text, checked, .. },
            ) => {
                if was != text {
                    item.set_text(text);
                }
                if item.is_checked() != *checked {
                    item.set_checked(*checked);
                }
            }
            _ => {}
        }
        self.entry = new.clone();
    }
}

/// Sets the text of the GTK label inside the `index`-th item of `menu`'s GTK menu.
fn set_box_label(menu: &Menu, index: usize, text: &str) {
    use gtk::prelude::{Cast as _, ContainerExt as _, LabelExt as _};
    use tray_icon::menu::ContextMenu as _;

    fn find_label(widget: &gtk::Widget) -> Option<gtk::Label> {
        if let Some(label) = widget.downcast_ref::<gtk::Label>() {
            return Some(label.clone());
        }
        widget
            .downcast_ref::<gtk::Container>()?
            .children()
            .iter()
            .find_map(find_label)
    }
    let children = menu.gtk_context_menu().children();
    match children.get(index).and_then(find_label) {
        // Without mnemonics: muda's `&&` is a plain `&`.
        Some(label) => label.set_text(&text.replace("&&", "&")),
        None => tracing::debug!("tray menu line {index} has no label to update"),
    }
}

/// One icon as the GTK thread holds it.
struct Shown {
    icon: TrayIcon,
    on_action: ActionFn,
    model: TrayModel,
    /// The one menu of this icon, and its lines as on screen (may lag `model` while the menu is open).
    menu: Menu,
    lines: Vec<Line>,
    /// `model` has not reached the menu yet.
    dirty: bool,
    routes: HashMap<MenuId, TrayAction>,
    /// The menu is popped up (XEmbed trays): no line comes or goes until it closes (a line would move
    /// under the user's pointer and the click would hit its neighbour).
    open: Rc<Cell<bool>>,
}

impl Shown {
    fn entries(&self) -> Vec<MenuEntry> {
        self.lines.iter().map(|l| l.entry.clone()).collect()
    }
}

thread_local! {
    /// Every icon, by tray id. Only ever touched on the GTK thread.
    static ICONS: RefCell<HashMap<u64, Shown>> = RefCell::new(HashMap::new());
    /// The icons' PNG folder while there are icons.
    static ICON_DIR: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
    static HOSTS: RefCell<HostCheck> = RefCell::new(HostCheck::default());
}

fn gtk_thread(rx: Receiver<Command>, ready: &SyncSender<Result<(), TrayError>>) {
    // The item's `Title` on the bus (libappindicator falls back to the application name).
    glib::set_application_name(APP_NAME);
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
                        let gone = ICONS.with(|icons| std::mem::take(&mut *icons.borrow_mut()));
                        drop(gone);
                        ICON_DIR.with(|dir| dir.borrow_mut().take());
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
                host_tick();
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
            if result.is_err() && no_icons() {
                ICON_DIR.with(|dir| dir.borrow_mut().take());
            }
            let _ = reply.send(result);
        }
        Command::Update { id, model } => ICONS.with(|icons| {
            if let Some(shown) = icons.borrow_mut().get_mut(&id) {
                show(id, shown, model);
            }
        }),
        Command::Remove { id, done } => {
            // Dropped outside the borrow: TrayIcon's Drop talks to GTK (and removes its PNG).
            let gone = ICONS.with(|icons| icons.borrow_mut().remove(&id));
            drop(gone);
            if no_icons() {
                ICON_DIR.with(|dir| dir.borrow_mut().take());
            }
            if let Some(done) = done {
                let _ = done.send(());
            }
        }
    }
}

/// The icons' PNG folder (made on first use): private, per process, removed with the last icon.
fn icon_dir() -> Result<PathBuf, TrayError> {
    ICON_DIR.with(|dir| {
        let mut dir = dir.borrow_mut();
        if dir.is_none() {
            *dir = Some(make_icon_dir(
                std::env::var_os("XDG_RUNTIME_DIR")
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
                    .as_deref(),
            )?);
        }
        Ok(dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default())
    })
}

/// `<runtime>/ledtogo/tray-<pid>-XXXXXX`, else `ledtogo-tray-<pid>-XXXXXX` in the temp folder; mode 700.
fn make_icon_dir(runtime: Option<&Path>) -> Result<tempfile::TempDir, TrayError> {
    let pid = std::process::id();
    let private = |prefix: String, parent: &Path| {
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        builder.tempdir_in(parent)
    };
    if let Some(runtime) = runtime {
        let parent = runtime.join("ledtogo");
        match std::fs::create_dir_all(&parent)
            .and_then(|()| private(format!("tray-{pid}-"), &parent))
        {
            Ok(dir) => return Ok(dir),
            Err(e) => tracing::debug!(
                "no icon folder in {}: {e}; using the temp folder",
                parent.display()
            ),
        }
    }
    let temp = std::env::temp_dir();
    private(format!("ledtogo-tray-{pid}-"), &temp).map_err(|e| TrayError::IconDir {
        dir: temp.display().to_string(),
        reason: e.to_string(),
    })
}

fn create(id: u64, on_action: ActionFn, model: TrayModel) -> Result<(), TrayError> {
    let dir = icon_dir()?;
    let menu = Menu::new();
    let mut lines = Vec::new();
    for entry in menu_entries(&model) {
        let line = Line::new(id, &entry);
        match menu.append(line.item()) {
            Ok(()) => lines.push(line),
            Err(e) => tracing::debug!("tray menu line skipped: {e}"),
        }
    }
    let open = Rc::new(Cell::new(false));
    watch_open(&menu, &open);
    let icon = state_icon(model.view.state, ICON_SIZE)?;
    let tooltip = model.view.tooltip.clone();
    let for_icon = menu.clone();
    let built = catch_unwind(AssertUnwindSafe(move || {
        TrayIconBuilder::new()
            .with_id(format!("ledtogo-{id}"))
            .with_icon(icon)
            .with_tooltip(tooltip)
            .with_temp_dir_path(dir)
            .with_menu(Box::new(for_icon))
            .build()
    }));
    let icon = match built {
        Ok(Ok(icon)) => icon,
        Ok(Err(e)) => return Err(TrayError::Build(e.to_string())),
        Err(p) => return Err(TrayError::Build(panic_text(&p))),
    };
    let mut shown = Shown {
        icon,
        on_action,
        model,
        menu,
        lines,
        dirty: false,
        routes: HashMap::new(),
        open,
    };
    shown.routes = routes(id, &shown.lines);
    ICONS.with(|icons| icons.borrow_mut().insert(id, shown));
    // Look for a tray host on the next tick.
    RECHECK.store(true, Ordering::SeqCst);
    Ok(())
}

/// Applies a new model: the icon when the state changed (a new PNG path: `NewIcon`), then the menu.
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
        // A no-op with libappindicator; other backends show it.
        let _ = shown.icon.set_tooltip(Some(&model.view.tooltip));
    }
    shown.model = model;
    shown.dirty = true;
    refresh_menu(id, shown);
}

/// Brings the menu to the model: in place, plus the lines that come or go (not while it is open).
fn refresh_menu(tray: u64, shown: &mut Shown) {
    if !shown.dirty {
        return;
    }
    let new = menu_entries(&shown.model);
    let changes = menu_changes(&shown.entries(), &new);
    if changes.is_structural() && shown.open.get() {
        return;
    }
    let at = changes.keep_front;
    for _ in 0..changes.remove {
        shown.menu.remove_at(at);
        shown.lines.remove(at);
    }
    let mut place = at;
    for entry in &new[changes.insert.clone()] {
        let line = Line::new(tray, entry);
        match shown.menu.insert(line.item(), place) {
            Ok(()) => {
                shown.lines.insert(place, line);
                place += 1;
            }
            Err(e) => tracing::debug!("tray menu line skipped: {e}"),
        }
    }
    let Shown { menu, lines, .. } = shown;
    for &i in &changes.update {
        // A line that failed to go in shifts the rest: only update what is the same line.
        if let Some(line) = lines.get_mut(i)
            && line.entry.kind() == new[i].kind()
            && line.entry.key() == new[i].key()
        {
            line.update(menu, i, &new[i]);
        }
    }
    // A check mark GTK flipped on a click the app then refused is put back.
    for (i, line) in lines.iter_mut().enumerate() {
        if line.entry.kind() == LineKind::Check
            && let LineItem::Check(item) = &line.item
            && let MenuEntry::Check { checked, .. } = line.entry
            && item.is_checked() != checked
        {
            let entry = line.entry.clone();
            line.update(menu, i, &entry);
        }
    }
    shown.routes = routes(tray, &shown.lines);
    shown.dirty = false;
}

/// Which action each item id stands for.
fn routes(tray: u64, lines: &[Line]) -> HashMap<MenuId, TrayAction> {
    lines
        .iter()
        .filter_map(|line| match &line.entry {
            MenuEntry::Item {
                key,
                action: Some(action),
                ..
            }
            | MenuEntry::Check { key, action, .. } => Some((menu_id(tray, key), action.clone())),
            _ => None,
        })
        .collect()
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

// ---------------------------------------------------------------------------------------------------
// Is there a tray host? (GTK thread)

#[derive(Default)]
struct HostCheck {
    /// The session bus, once connected.
    bus: Option<gio::DBusConnection>,
    /// There is no session bus (not asked again: glib may try to start one each time).
    no_bus: bool,
    /// The X display, for an XEmbed tray.
    x11: Option<XTray>,
    /// A check is under way.
    busy: bool,
    ticks: u32,
    /// The last answer, and whether the help was logged.
    last: Option<bool>,
    helped: bool,
}

/// Called every [`POLL`]: starts a check when one is due.
fn host_tick() {
    let every = (HOST_CHECK.as_millis() / POLL.as_millis()).max(1);
    let due = HOSTS.with(|h| {
        let mut h = h.borrow_mut();
        h.ticks = h.ticks.wrapping_add(1);
        let due =
            !h.busy && (RECHECK.swap(false, Ordering::SeqCst) || u128::from(h.ticks) % every == 0);
        h.busy |= due;
        due
    });
    if !due {
        return;
    }
    let (bus, no_bus) = HOSTS.with(|h| {
        let h = h.borrow();
        (h.bus.clone(), h.no_bus)
    });
    match bus {
        Some(bus) => ask_watcher(&bus),
        None if no_bus => host_found(None),
        None => gio::bus_get(
            gio::BusType::Session,
            None::<&gio::Cancellable>,
            |result| match result {
                Ok(bus) => {
                    follow_watcher(&bus);
                    HOSTS.with(|h| h.borrow_mut().bus = Some(bus.clone()));
                    ask_watcher(&bus);
                }
                Err(e) => {
                    tracing::debug!("no session bus to look for a StatusNotifier host on: {e}");
                    HOSTS.with(|h| h.borrow_mut().no_bus = true);
                    host_found(None);
                }
            },
        ),
    }
}

/// Checks again as soon as the watcher comes or goes or its hosts change.
fn follow_watcher(bus: &gio::DBusConnection) {
    let recheck =
        |_: &gio::DBusConnection, _: &str, _: &str, _: &str, _: &str, _: &glib::Variant| {
            RECHECK.store(true, Ordering::SeqCst);
        };
    bus.signal_subscribe(
        Some("org.freedesktop.DBus"),
        Some("org.freedesktop.DBus"),
        Some("NameOwnerChanged"),
        Some("/org/freedesktop/DBus"),
        Some(WATCHER),
        gio::DBusSignalFlags::NONE,
        recheck,
    );
    bus.signal_subscribe(
        None,
        Some(WATCHER),
        None,
        Some(WATCHER_PATH),
        None,
        gio::DBusSignalFlags::NONE,
        recheck,
    );
}

/// Asks the watcher whether a host is registered; no watcher → the XEmbed check.
fn ask_watcher(bus: &gio::DBusConnection) {
    bus.call(
        Some(WATCHER),
        WATCHER_PATH,
        "org.freedesktop.DBus.Properties",
        "Get",
        Some(&(WATCHER, "IsStatusNotifierHostRegistered").to_variant()),
        glib::VariantTy::new("(v)").ok(),
        gio::DBusCallFlags::NO_AUTO_START,
        2000,
        None::<&gio::Cancellable>,
        |result| {
            let hosts = match result {
                // A watcher that answers something else has no host we can count on.
                Ok(reply) => Some(
                    reply
                        .child_value(0)
                        .as_variant()
                        .and_then(|v| v.get::<bool>())
                        .unwrap_or(false),
                ),
                Err(e) => {
                    tracing::debug!("no StatusNotifierWatcher: {e}");
                    None
                }
            };
            host_found(hosts);
        },
    );
}

/// Concludes a check: `watcher` is whether the StatusNotifierWatcher has a host, `None` without a
/// watcher (libappindicator then uses an XEmbed tray if there is one).
fn host_found(watcher: Option<bool>) {
    let present = match watcher {
        Some(hosts) => hosts,
        None => HOSTS.with(|h| h.borrow_mut().xembed()),
    };
    HOST_PRESENT.store(present, Ordering::SeqCst);
    HOST_CHECKED.store(true, Ordering::SeqCst);
    HOSTS.with(|h| {
        let mut h = h.borrow_mut();
        h.busy = false;
        if h.last == Some(present) {
            return;
        }
        h.last = Some(present);
        let how = if watcher.is_some() {
            "a StatusNotifier host"
        } else {
            "an XEmbed tray"
        };
        if present {
            tracing::info!("tray icon shown by {how}");
        } else if !h.helped {
            h.helped = true;
            tracing::info!("{}", super::NO_HOST_HELP);
        } else {
            tracing::info!("the tray host went away: the icon is not shown");
        }
    });
}

impl HostCheck {
    /// Whether an XEmbed tray manager owns `_NET_SYSTEM_TRAY_S<screen>` on `$DISPLAY`.
    fn xembed(&mut self) -> bool {
        if self.x11.is_none() {
            if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
                return false;
            }
            self.x11 = XTray::connect();
        }
        match self.x11.as_ref().map(XTray::owned) {
            Some(Ok(owned)) => owned,
            Some(Err(e)) => {
                tracing::debug!("XEmbed tray check failed: {e}");
                self.x11 = None;
                false
            }
            None => false,
        }
    }
}

struct XTray {
    conn: x11rb::rust_connection::RustConnection,
    selection: u32,
}

impl XTray {
    fn connect() -> Option<XTray> {
        use x11rb::protocol::xproto::ConnectionExt as _;
        let (conn, screen) = x11rb::connect(None)
            .map_err(|e| tracing::debug!("no X display for the XEmbed tray check: {e}"))
            .ok()?;
        let name = format!("_NET_SYSTEM_TRAY_S{screen}");
        let selection = conn
            .intern_atom(false, name.as_bytes())
            .ok()?
            .reply()
            .ok()?
            .atom;
        Some(XTray { conn, selection })
    }

    fn owned(&self) -> Result<bool, x11rb::errors::ReplyError> {
        use x11rb::protocol::xproto::ConnectionExt as _;
        let owner = self
            .conn
            .get_selection_owner(self.selection)?
            .reply()?
            .owner;
        Ok(owner != x11rb::NONE)
    }
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
    fn icon_files_go_to_a_private_per_process_folder_in_the_runtime_dir_and_go_with_it() {
        let runtime = tempfile::tempdir().unwrap();
        let dir = make_icon_dir(Some(runtime.path())).unwrap();
        let path = dir.path().to_path_buf();
        assert_eq!(
            path.parent(),
            Some(runtime.path().join("ledtogo").as_path())
        );
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(&format!("tray-{}-", std::process::id())),
            "{name}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        std::fs::write(path.join("tray-icon-ledtogo-1-0.png"), b"png").unwrap();
        drop(dir);
        assert!(!path.exists(), "the folder outlived its icons");
        assert!(runtime.path().join("ledtogo").exists());
    }

    #[test]
    fn without_a_runtime_dir_icon_files_go_to_a_private_temp_folder() {
        let dir = make_icon_dir(None).unwrap();
        assert_eq!(dir.path().parent(), Some(std::env::temp_dir().as_path()));
        let name = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with(&format!("ledtogo-tray-{}-", std::process::id())),
            "{name}"
        );
    }

    #[test]
    fn a_disabled_tray_accepts_everything() {
        let tray = Tray::disabled();
        assert!(!tray.available());
        assert!(!tray.host_present());
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
        assert!(matches!(
            rx.try_recv(),
            Ok(Command::Remove { id: 7, done: None })
        ));
    }
}
