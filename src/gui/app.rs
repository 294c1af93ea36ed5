//! The main window: the mirror on top, the job tree on the left, and tabs for the strip (drag jobs onto
//! LEDs), servers, device and alerts. It reads the engine's published state each frame and turns user
//! actions into config edits and engine calls; it never blocks and owns no settings of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{Color32, RichText, Ui};

use crate::autostart::{Autostart, AutostartError};
use crate::config::AggregateScope;
use crate::engine::Published;
use crate::settings::{Edit, EditValue, LedState};
use crate::tray;

use super::desk::{ConfigPlace, SharedDesk};
use super::forms::{DeviceTab, Pending, ServersTab, Task};
use super::jobs::{Filter, JobTree};
use super::look;
use super::strip::{self, DragItem, StripAction};

/// The tabs of the main area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Strip,
    Servers,
    Device,
    Alerts,
}

/// The last mapping change (assign, move or swap, clear, tube), to take back with Undo or Ctrl+Z.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Undo {
    /// The LEDs it changed, as they were before.
    before: Vec<LedState>,
    /// What the change dropped ("Replaced web on LED 3"), shown with an Undo button; `None` for a
    /// change that lost nothing (a move, a swap, a free LED assigned), which Ctrl+Z still takes back.
    note: Option<String>,
}

/// The window's state: what the user is looking at, never settings (those live in the config file).
#[derive(Debug)]
pub struct App {
    desk: SharedDesk,
    published: Published,
    tree: JobTree,
    pub filter: Filter,
    pub tab: Tab,
    pub selected: Option<usize>,
    servers: ServersTab,
    device: DeviceTab,
    alerts: super::alerts_tab::AlertsTab,
    /// *Start ledtogo at login* (drawn at the end of the Alerts tab; kept across a switch of desks).
    login: super::login::LoginSection,
    /// `--in-tray`: hide the window in the first frame.
    hide_at_start: bool,
    /// The compact always-on-top mirror window is open.
    pub mirror_window: bool,
    /// The overall state (as the tray shows it), recomputed when the snapshot or config changes.
    view: tray::TrayView,
    /// The window title last sent (sent again only when it changes).
    title: String,
    /// Leaving the demo (creating the user's config, starting a desk on it), done off the UI thread.
    leaving: Pending<Result<SharedDesk, String>>,
    /// The user's config the window switched to from the demo (a note says so until dismissed).
    switched_to: Option<std::path::PathBuf>,
    /// The "no tray icon on this desktop" note was dismissed.
    no_tray_seen: bool,
    /// One level of undo for the strip's mappings.
    undo: Option<Undo>,
    /// *Print labels…*: the strip's density picked, and the sheet being written off the UI thread.
    labels: LabelsSection,
    /// *I'm on it…*: the small form open for a failing job.
    ack_form: Option<AckForm>,
}

/// The durations *I'm on it…* offers: a label and at most how long (`None`: until fixed, at most 24 h).
pub const ACK_DURATIONS: [(&str, Option<u64>); 4] = [
    ("until fixed", None),
    ("1 h", Some(3600)),
    ("4 h", Some(4 * 3600)),
    ("24 h", Some(24 * 3600)),
];

/// The *I'm on it…* form: the job, an optional note, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AckForm {
    job: crate::model::JobId,
    note: String,
    /// An index into [`ACK_DURATIONS`].
    duration: usize,
}

/// The LEDs per metre *Print labels…* offers, the first the default.
const DENSITIES: [&str; 3] = ["60", "30", "144"];

/// Opens a file ledtogo wrote (the labels) in the desktop's viewer; it must not block the UI thread.
pub type FileOpener = Arc<dyn Fn(&Path) + Send + Sync>;

/// *Print labels…* in the Strip tab.
struct LabelsSection {
    density: &'static str,
    writing: Pending<Result<PathBuf, String>>,
    open: FileOpener,
}

impl std::fmt::Debug for LabelsSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelsSection")
            .field("density", &self.density)
            .field("writing", &self.writing)
            .finish_non_exhaustive()
    }
}

impl Default for LabelsSection {
    fn default() -> Self {
        LabelsSection {
            density: DENSITIES[0],
            writing: Pending::default(),
            open: Arc::new(open_in_viewer),
        }
    }
}

/// Opens `path` with the desktop's opener on a thread of its own.
fn open_in_viewer(path: &Path) {
    let owned = path.to_owned();
    let spawned = std::thread::Builder::new()
        .name("open-file".into())
        .spawn(move || crate::alerts::notify::open_file(&owned));
    if let Err(e) = spawned {
        tracing::warn!(
            "cannot open {}: no thread for the opener: {e}",
            path.display()
        );
    }
}

/// Writes the label sheet of `config` at `pitch` to `path` (on a worker thread); the absolute path
/// written, or what failed.
fn write_labels(
    config: &crate::config::Config,
    pitch: crate::labels::Pitch,
    path: &Path,
) -> Result<PathBuf, String> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let svg = crate::labels::svg(config, pitch);
    crate::config::write_atomic(&path, svg.as_bytes())
        .map_err(|e| format!("Cannot write the labels to {}: {e}", path.display()))?;
    Ok(path)
}

impl App {
    pub fn new(ctx: &egui::Context, desk: SharedDesk) -> App {
        desk.waker.set(ctx);
        let published = desk.engine.published();
        let view = tray::tray_view(&published.snapshot, &published.config);
        App {
            desk,
            published,
            tree: JobTree::default(),
            filter: Filter::default(),
            tab: Tab::default(),
            selected: None,
            servers: ServersTab::default(),
            device: DeviceTab::default(),
            alerts: super::alerts_tab::AlertsTab::default(),
            login: super::login::LoginSection::default(),
            hide_at_start: false,
            mirror_window: false,
            view,
            title: String::new(),
            leaving: Pending::default(),
            switched_to: None,
            no_tray_seen: false,
            undo: None,
            labels: LabelsSection::default(),
            ack_form: None,
        }
    }

    /// Opens the written labels with `open` instead of the desktop's viewer (tests record it).
    pub fn with_file_opener(mut self, open: FileOpener) -> App {
        self.labels.open = open;
        self
    }

    /// Offers *Start ledtogo at login* for `autostart` (the user's autostart folder; tests give a
    /// temporary one), or says why this system has none. Without it the window does not offer it.
    pub fn with_autostart(mut self, autostart: Result<Autostart, AutostartError>) -> App {
        self.login = super::login::LoginSection::new(autostart, &self.desk.waker);
        self
    }

    /// `hidden`: the window hides itself to the tray in its first frame (`--in-tray`; eframe shows every
    /// window once it has painted it, so it cannot be created hidden). The tray's *Open ledtogo* or a
    /// second start shows it.
    pub fn hidden_at_start(mut self, hidden: bool) -> App {
        self.hide_at_start = hidden;
        if hidden {
            self.desk.waker.set_hidden(true);
        }
        self
    }

    /// Takes the desk on the user's config over from the demo's: the window now shows and edits it. The
    /// demo's desk (engine, simulator, scratch folder) stops on its own thread.
    fn switch_to(&mut self, next: SharedDesk) {
        let old = std::mem::replace(&mut self.desk, next);
        if let ConfigPlace::User(path) = &self.desk.place {
            self.switched_to = Some(path.clone());
        }
        self.leaving = Pending::default();
        self.tree = JobTree::default();
        self.selected = None;
        self.undo = None;
        self.labels.writing = Pending::default();
        self.servers = ServersTab::default();
        self.device = DeviceTab::default();
        self.alerts = super::alerts_tab::AlertsTab::default();
        let stopping = std::thread::Builder::new()
            .name("demo-stop".into())
            .spawn(move || drop(old));
        if let Err(e) = stopping {
            // Stopping it here is the same work, only on this thread.
            tracing::debug!("no thread to stop the demo on ({e}): stopping it now");
        }
    }

    pub fn desk(&self) -> &SharedDesk {
        &self.desk
    }

    /// The state this frame draws (refreshed in `logic`).
    pub fn published(&self) -> &Published {
        &self.published
    }

    fn apply(&mut self, action: StripAction) {
        let config = self.published.config.clone();
        let before = |leds: &[usize]| leds.iter().map(|&l| LedState::of(&config, l)).collect();
        let what = |led: usize| strip::slot_label(&config, &self.published.snapshot, led);
        let (edit, undo) = match action {
            StripAction::Assign { led, target } => {
                let old = config.slot(led).map(|s| &s.target);
                if old == Some(&target) {
                    return;
                }
                let note = old.map(|_| format!("Replaced {} on LED {led}", what(led)));
                let undo = Undo {
                    before: before(&[led]),
                    note,
                };
                (Edit::SetSlot { led, target }, undo)
            }
            StripAction::Move { from, to } => {
                self.selected = Some(to);
                let undo = Undo {
                    before: before(&[from, to]),
                    note: None,
                };
                (Edit::MoveSlot { from, to }, undo)
            }
            StripAction::Clear(led) => {
                if config.slot(led).is_none() {
                    return;
                }
                let undo = Undo {
                    before: before(&[led]),
                    note: Some(format!("Cleared {} from LED {led}", what(led))),
                };
                (Edit::ClearSlot(led), undo)
            }
            StripAction::Tube { led, on } => {
                let note = (on && config.slot(led).is_some())
                    .then(|| format!("LED {led} joined the tube; it showed {}", what(led)));
                let undo = Undo {
                    before: before(&[led]),
                    note,
                };
                (Edit::SetTube { led, on }, undo)
            }
            StripAction::Identify(led) => {
                self.desk.engine.identify(led);
                return;
            }
            StripAction::Open(url) => {
                self.desk.open_url(&url);
                return;
            }
            StripAction::AckForm(job) => {
                self.ack_form = Some(AckForm {
                    job,
                    note: String::new(),
                    duration: 0,
                });
                return;
            }
            StripAction::Unack(job) => {
                self.desk.unacknowledge(&job);
                return;
            }
            StripAction::Sounds(led) => {
                self.tab = Tab::Alerts;
                self.alerts.show_sounds_of(led);
                return;
            }
            StripAction::ClearSounds(led) => {
                for key in ["sound_broke", "sound_fixed"] {
                    self.desk.edit(Edit::SetSlotValue {
                        led,
                        key: key.into(),
                        value: None,
                    });
                }
                return;
            }
        };
        self.desk.edit(edit);
        self.undo = Some(undo);
    }

    /// Takes back the last mapping change.
    fn undo(&mut self) {
        if let Some(undo) = self.undo.take() {
            self.desk.edit(Edit::RestoreLeds(undo.before));
        }
    }

    fn header(&mut self, ui: &mut Ui) {
        let p = &self.published;
        // The right side first; the status text gets what is left, cut to one line (in full on hover).
        egui::Sides::new().shrink_left().truncate().show(
            ui,
            |ui| {
                ui.heading("ledtogo");
                let [r, g, b] = self.view.state.color();
                look::dot(ui, Color32::from_rgb(r, g, b), 12.0);
                ui.add(egui::Label::new(RichText::new(&self.view.tooltip).strong()).truncate());
            },
            |ui| {
                if ui
                    .button("Refresh")
                    .on_hover_text("Poll every server now")
                    .clicked()
                {
                    self.desk.engine.refresh();
                }
                ui.toggle_value(&mut self.mirror_window, "Mirror window")
                    .on_hover_text("A small always-on-top window with the strip");
                let device = &p.device;
                let color = if device.is_connected() {
                    Color32::from_rgb(0, 170, 60)
                } else {
                    ui.visuals().weak_text_color()
                };
                ui.label(RichText::new(short_device(device)).color(color))
                    .on_hover_text(device.to_string());
            },
        );
        strip::mirror(ui, &p.frame, &p.config, &p.snapshot, 18.0);
    }

    fn banners(&mut self, ui: &mut Ui) {
        let error = ui.visuals().error_fg_color;
        if let Some(e) = &self.published.config_error {
            ui.label(
                RichText::new(format!(
                    "The config file has an error; ledtogo keeps the last settings that loaded (the defaults if \
                     none did) until it is fixed; changes made here are refused until then.\n{e}"
                ))
                .color(error),
            );
        }
        let state = self.desk.editor.state();
        if let Some(e) = &state.last_error {
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("Change not saved: {e}")).color(error));
                if ui.small_button("Dismiss").clicked() {
                    self.desk.editor.dismiss_error();
                }
            });
        }
        if let ConfigPlace::Demo { user, .. } = &self.desk.place {
            let blue = Color32::from_rgb(0, 140, 200);
            ui.horizontal_wrapped(|ui| {
                ui.label(
                    RichText::new(
                        "Demo mode: a simulated Jenkins whose jobs break and get fixed; try dragging jobs \
                         onto LEDs. Changes here go to a scratch copy.",
                    )
                    .color(blue),
                );
                let exists = user.exists();
                let text = if exists {
                    "Use my config"
                } else {
                    "Create my config"
                };
                // Once: a second click must not start a second desk.
                let idle = self.leaving.get().is_none()
                    || matches!(self.leaving.done(), Some(Err(_)));
                if ui
                    .add_enabled(idle, egui::Button::new(text))
                    .on_hover_text(format!(
                        "{} {} and switch to it. The demo's LED mappings are not carried over: they \
                         show the simulated server's jobs.",
                        if exists { "Use" } else { "Create" },
                        user.display()
                    ))
                    .clicked()
                {
                    let desk = self.desk.clone();
                    self.leaving
                        .run(self.desk.waker.clone(), move || super::leave_demo(&desk));
                }
            });
            if let Some(Err(e)) = &self.leaving.done() {
                ui.label(RichText::new(e).color(error));
            }
        }
        // A tray icon was made but no panel shows it (stock GNOME): closing the window then quits.
        if !self.no_tray_seen
            && self.desk.tray().is_some_and(tray::Tray::host_known)
            && !self.desk.has_tray()
        {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!(
                    "No tray icon: {}. Closing this window quits ledtogo; the icon appears once a tray \
                     is there.",
                    tray::NO_HOST_HELP.replacen("no tray", "nothing", 1)
                ));
                self.no_tray_seen = ui.small_button("Dismiss").clicked();
            });
        }
        if let Some(path) = &self.switched_to {
            let mut dismissed = false;
            ui.horizontal_wrapped(|ui| {
                ui.label(format!(
                    "Now using {}. Add your CI server in the Servers tab, then drag its jobs onto LEDs; \
                     the demo's LED mappings were not carried over.",
                    path.display()
                ));
                dismissed = ui.small_button("Dismiss").clicked();
            });
            if dismissed {
                self.switched_to = None;
            }
        }
    }

    fn jobs_panel(&mut self, ui: &mut Ui) {
        ui.heading("Jobs");
        ui.horizontal(|ui| {
            let l = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter.text)
                    .hint_text("name or folder")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(l.id);
        });
        ui.checkbox(&mut self.filter.failing_only, "Failing only");
        let snapshot = self.published.snapshot.clone();
        let config = self.published.config.clone();
        super::jobs::flaky_list(ui, &snapshot, &config);
        ui.separator();
        // Job names are cut to the panel's width; what cannot be cut (a folder or server heading) scrolls
        // sideways: the panel keeps the width the user gave it.
        egui::ScrollArea::both()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                let mut acks = Vec::new();
                if let Some(url) = self
                    .tree
                    .show(ui, &snapshot, &config, &self.filter, &mut acks)
                {
                    self.desk.open_url(&url);
                }
                for a in acks {
                    self.apply(a);
                }
            });
    }

    /// The *I'm on it…* form, while open: a note and a duration; *I'm on it* hands it to the engine
    /// (through the desk, without waiting), *Cancel* closes it.
    fn ack_window(&mut self, ctx: &egui::Context) {
        let Some(form) = &mut self.ack_form else {
            return;
        };
        let mut done = false;
        let mut confirmed = None;
        let name = crate::text::short(&form.job.readable_name());
        egui::Window::new("Acknowledge a failure")
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label(format!("Tell everyone you are on {name}: its LED calms down and its alerts stop until it is fixed."));
                ui.horizontal(|ui| {
                    let l = ui.label("Note");
                    ui.add(
                        egui::TextEdit::singleline(&mut form.note)
                            .hint_text("optional: what you are doing about it")
                            .char_limit(crate::ack::MAX_NOTE),
                    )
                    .labelled_by(l.id);
                });
                ui.horizontal(|ui| {
                    ui.label("For");
                    for (i, (label, _)) in ACK_DURATIONS.iter().enumerate() {
                        ui.radio_value(&mut form.duration, i, *label);
                    }
                });
                ui.horizontal(|ui| {
                    if ui.button("I'm on it").clicked() {
                        confirmed = Some(form.clone());
                        done = true;
                    }
                    if ui.button("Cancel").clicked() {
                        done = true;
                    }
                });
            });
        if let Some(form) = confirmed {
            let note = Some(form.note.trim().to_owned()).filter(|n| !n.is_empty());
            let for_secs = ACK_DURATIONS.get(form.duration).and_then(|d| d.1);
            self.desk.acknowledge(&form.job, note, for_secs);
        }
        if done {
            self.ack_form = None;
        }
    }

    fn strip_tab(&mut self, ui: &mut Ui) {
        let config = self.published.config.clone();
        let snapshot = self.published.snapshot.clone();
        let frame = self.published.frame.clone();
        ui.label(
            "Drag a job, folder or server from the list onto an LED. Drag an LED onto another to move or \
             swap, or out of the strip to clear it. Right-click an LED for more.",
        );
        ui.add_space(4.0);
        let actions = strip::slots(ui, &config, &snapshot, &frame, &mut self.selected);
        for a in actions {
            self.apply(a);
        }
        // Ctrl+Z in a text field is that field's own undo.
        if self.undo.is_some()
            && !ui.ctx().egui_wants_keyboard_input()
            && ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Z))
        {
            self.undo();
        }
        if let Some(note) = self.undo.as_ref().and_then(|u| u.note.clone()) {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!("{note} —"));
                if ui
                    .small_button("Undo")
                    .on_hover_text("Put it back (Ctrl+Z)")
                    .clicked()
                {
                    self.undo();
                }
            });
        }
        self.labels_row(ui, &config);
        ui.add_space(8.0);
        if let Some(led) = self.selected.filter(|l| *l < config.strip.leds) {
            ui.separator();
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("LED {led}")).strong());
                ui.label(strip::slot_label(&config, &snapshot, led));
            });
            ui.horizontal(|ui| {
                if ui
                    .button("Identify")
                    .on_hover_text("Blink this LED on the strip")
                    .clicked()
                {
                    self.desk.engine.identify(led);
                }
                if config.slot(led).is_some() && ui.button("Clear").clicked() {
                    self.apply(StripAction::Clear(led));
                }
                let mut tube = config.aggregate.leds.contains(&led);
                if ui.checkbox(&mut tube, "Part of the tube").changed() {
                    self.apply(StripAction::Tube { led, on: tube });
                }
            });
        }
        ui.separator();
        ui.horizontal(|ui| {
            ui.label("The tube shows the worst state of");
            let mut scope = config.aggregate.scope;
            ui.radio_value(&mut scope, AggregateScope::Mapped, "the mapped jobs");
            ui.radio_value(&mut scope, AggregateScope::All, "every job");
            if scope != config.aggregate.scope {
                let text = match scope {
                    AggregateScope::Mapped => "mapped",
                    AggregateScope::All => "all",
                };
                self.desk.edit(Edit::SetValue {
                    table: Some("aggregate".into()),
                    key: "scope".into(),
                    value: Some(EditValue::Text(text.into())),
                });
            }
        });
    }

    /// *Print labels…* with the strip's density, then where the sheet went (and *Open*) or what failed.
    fn labels_row(&mut self, ui: &mut Ui, config: &Arc<crate::config::Config>) {
        let section = &mut self.labels;
        ui.horizontal_wrapped(|ui| {
            let running = matches!(section.writing.get(), Some(Task::Running));
            let target = self
                .desk
                .place
                .path()
                .parent()
                .unwrap_or(Path::new("."))
                .join("ledtogo-labels.svg");
            let clicked = ui
                .add_enabled(!running, egui::Button::new("Print labels…"))
                .on_hover_text(format!(
                    "Write {}: each LED's job name at the strip's LED spacing, with cut marks, true size                      on A4 landscape",
                    target.display()
                ))
                .clicked();
            let l = ui.label("for a strip of");
            egui::ComboBox::from_id_salt("labels-density")
                .selected_text(format!("{} LEDs/m", section.density))
                .show_ui(ui, |ui| {
                    for d in DENSITIES {
                        ui.selectable_value(&mut section.density, d, format!("{d} LEDs/m"));
                    }
                })
                .response
                .labelled_by(l.id);
            if clicked {
                let config = config.clone();
                let density = section.density;
                section.writing.run(self.desk.waker.clone(), move || {
                    let pitch = crate::labels::Pitch::density(density).map_err(|e| e.to_string())?;
                    write_labels(&config, pitch, &target)
                });
            }
            match section.writing.get() {
                Some(Task::Running) => {
                    ui.spinner();
                }
                Some(Task::Done(Ok(path))) => {
                    ui.label(format!("Labels written to {}", path.display()));
                    if ui
                        .small_button("Open")
                        .on_hover_text("Open the labels in the desktop's viewer, to print them at 100 %")
                        .clicked()
                    {
                        (section.open)(&path);
                    }
                }
                Some(Task::Done(Err(e))) => {
                    ui.label(RichText::new(e).color(ui.visuals().error_fg_color));
                }
                None => {}
            }
        });
    }

    /// Draws the whole window into `ui`.
    pub fn draw(&mut self, ui: &mut Ui) {
        egui::Panel::top("header").show(ui, |ui| {
            self.header(ui);
            self.banners(ui);
        });
        egui::Panel::left("jobs")
            .resizable(true)
            .default_size(270.0)
            .size_range(180.0..=600.0)
            .show(ui, |ui| self.jobs_panel(ui));
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.tab, Tab::Strip, "Strip");
                ui.selectable_value(&mut self.tab, Tab::Servers, "Servers");
                ui.selectable_value(&mut self.tab, Tab::Device, "Device");
                ui.selectable_value(&mut self.tab, Tab::Alerts, "Alerts");
            });
            ui.separator();
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    let config = self.published.config.clone();
                    match self.tab {
                        Tab::Strip => self.strip_tab(ui),
                        Tab::Servers => {
                            let snapshot = self.published.snapshot.clone();
                            self.servers.show(ui, &self.desk, &config, &snapshot);
                        }
                        Tab::Device => {
                            let device = self.published.device.clone();
                            self.device.show(ui, &self.desk, &config, &device);
                        }
                        Tab::Alerts => {
                            self.alerts.show(ui, &self.desk, &config);
                            self.login.show(ui, &self.desk);
                        }
                    }
                });
        });
        // An LED dragged out of the strip and released anywhere else: clear it.
        if ui.input(|i| i.pointer.any_released())
            && let Some(item) = egui::DragAndDrop::take_payload::<DragItem>(ui.ctx())
            && let DragItem::Led(led) = *item
        {
            self.apply(StripAction::Clear(led));
        }
    }

    fn mirror_viewport(&mut self, ctx: &egui::Context) {
        if !self.mirror_window {
            return;
        }
        let Published {
            frame,
            config,
            snapshot,
            ..
        } = self.published.clone();
        let leds = frame.len().max(1) as f32;
        let width = (leds * 23.0 + 24.0).clamp(160.0, 900.0);
        let mut open = true;
        ctx.show_viewport_immediate(
            egui::ViewportId::from_hash_of("ledtogo-mirror"),
            egui::ViewportBuilder::default()
                .with_title("ledtogo mirror")
                .with_inner_size([width, 48.0])
                .with_always_on_top(),
            |ui, _class| {
                egui::CentralPanel::default().show(ui, |ui| {
                    strip::mirror(ui, &frame, &config, &snapshot, 16.0);
                });
                if ui.input(|i| i.viewport().close_requested()) {
                    open = false;
                }
            },
        );
        self.mirror_window = open;
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if std::mem::take(&mut self.hide_at_start) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Visible(false));
        }
        if let Some(Ok(next)) = self.leaving.done() {
            self.switch_to(next);
        }
        let published = self.desk.engine.published();
        let same = Arc::ptr_eq(&published.snapshot, &self.published.snapshot)
            && Arc::ptr_eq(&published.config, &self.published.config);
        self.published = published;
        if !same {
            let p = &self.published;
            let view = tray::tray_view(&p.snapshot, &p.config);
            if view.state != self.view.state {
                // The task bar shows the state too: the window icon is the tray icon.
                ctx.send_viewport_cmd(egui::ViewportCommand::Icon(Some(Arc::new(
                    super::window_icon(view.state),
                ))));
            }
            self.view = view;
        }
        if ctx.input(|i| i.viewport().close_requested())
            && !self.desk.is_quitting()
            && self.desk.has_tray()
        {
            // Closing hides to the tray; "Quit" in the tray menu really quits.
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            ctx.send_viewport_cmd(egui::ViewportCommand::Visible(false));
            self.desk.waker.set_hidden(true);
        }
        // Minimised or covered, eframe skips painting; the waker then skips the animation's wakes too
        // (state changes still come: the title and the task bar icon show them), unless the mirror
        // window is open. Being seen again is a window event, which repaints.
        let covered = ctx.input(|i| {
            let v = i.viewport();
            v.minimized == Some(true) || v.occluded == Some(true)
        });
        self.desk.waker.set_covered(covered);
        self.desk.waker.set_mirror_open(self.mirror_window);
        let title = format!("ledtogo — {}", self.view.tooltip);
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
        let ctx = ui.ctx().clone();
        self.ack_window(&ctx);
        self.mirror_viewport(&ctx);
    }
}

fn short_device(d: &crate::outputs::serial::DeviceStatus) -> String {
    use crate::outputs::serial::DeviceStatus as D;
    match d {
        D::Disabled => "no device (mirror only)".into(),
        D::Searching => "looking for the device…".into(),
        D::Connected { port, .. } => format!("strip on {port}"),
        D::Legacy { port } => format!("Adalight strip on {port}"),
        D::Error { .. } => "device error".into(),
        D::NotFound(_) => "no device found".into(),
        D::WledSerial { port, .. } => format!("WLED strip on {port}"),
        D::Streaming { wled: Some(w), .. } => format!("WLED '{}' (Wi-Fi)", w.name),
        D::Streaming { to, .. } => format!("strip at {to} (DDP)"),
    }
}
