//! The strip views: the LED slots the user maps jobs onto (drop targets, drag sources, context menus) and
//! the mirror, which paints the engine's frame (the one the device receives) as the eye sees the strip.

use egui::{Color32, CornerRadius, Frame, Key, RichText, Sense, Stroke, Ui, Vec2};

use crate::color::Rgb;
use crate::config::Config;
use crate::frame::{self, LedState};
use crate::model::{JobId, Severity, Snapshot, Target};

use super::look;

/// What is being dragged: something from the job tree, or an LED slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DragItem {
    Target(Target),
    Led(usize),
}

/// What the user did on the strip; the app turns it into config edits or engine calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripAction {
    Assign {
        led: usize,
        target: Target,
    },
    Move {
        from: usize,
        to: usize,
    },
    Clear(usize),
    Tube {
        led: usize,
        on: bool,
    },
    Identify(usize),
    Open(String),
    /// Show the LED's own sounds (in the Alerts tab).
    Sounds(usize),
    /// Remove the LED's own sounds: the `[alerts]` ones play for it again.
    ClearSounds(usize),
    /// *I'm on it…*: open the acknowledgement form for this failing job.
    AckForm(JobId),
    /// *Not on it any more*.
    Unack(JobId),
}

/// The "I'm on it" entries of a job's context menu: *I'm on it…* for a failing or unstable job nobody
/// is on, *Not on it any more* (saying who) for an acknowledged one; nothing for a job that is fine.
pub fn ack_menu(ui: &mut Ui, snapshot: &Snapshot, id: &JobId, actions: &mut Vec<StripAction>) {
    if let Some(ack) = snapshot.acks.get(id) {
        ui.label(RichText::new(ack.on_it()).small().italics());
        if ui.button("Not on it any more").clicked() {
            actions.push(StripAction::Unack(id.clone()));
            ui.close();
        }
    } else if snapshot.job(id).is_some_and(|j| j.state.is_broken())
        && ui.button("I'm on it…").clicked()
    {
        actions.push(StripAction::AckForm(id.clone()));
        ui.close();
    }
}

const SLOT: Vec2 = Vec2::new(78.0, 84.0);

/// The short label of what an LED shows: the one naming rule of the printed labels
/// ([`crate::labels::led_name`]), except that a job the server lists shows its display name, and a free
/// LED a dash.
pub fn slot_label(config: &Config, snapshot: &Snapshot, led: usize) -> String {
    if !config.aggregate.leds.contains(&led)
        && let Some(Target::Job(id)) = config.slot(led).map(|s| &s.target)
        && let Some(job) = snapshot.job(id)
    {
        return crate::text::visible(&job.display_name).into_owned();
    }
    let name = crate::labels::led_name(config, led);
    if name.is_empty() {
        "—".to_owned()
    } else {
        crate::text::visible(&name).into_owned()
    }
}

/// An LED in words, for its hover text and the mirror's accessibility label: what it shows and its state
/// ("api — failure, building", "api — success, building: 62 %, about 3 min left", "api — failure,
/// someone is on it", "tube — success", "free").
pub fn led_words(config: &Config, snapshot: &Snapshot, led: usize) -> String {
    let state = frame::led_states(snapshot, config)
        .get(led)
        .copied()
        .unwrap_or(LedState::Off);
    let what = slot_label(config, snapshot, led);
    match state {
        LedState::Off => "free".to_owned(),
        LedState::Missing => format!("{what} — not listed by the server"),
        LedState::Shown(agg) => {
            let state = match agg.severity {
                Severity::NoJobs => "no jobs",
                Severity::Disabled => "disabled",
                Severity::NotBuilt => "not built",
                Severity::Success => "success",
                Severity::Aborted => "aborted",
                Severity::Unknown => "unknown",
                Severity::Stale => "server not reachable",
                Severity::Unstable => "unstable",
                Severity::Failure => "failure",
            };
            let building = match (agg.building, agg.eta) {
                (true, Some(eta)) => format!(", building: {}", eta.at(crate::clock::epoch_ms())),
                (true, None) => ", building".to_owned(),
                (false, _) => String::new(),
            };
            let on_it = if agg.acknowledged
                && matches!(agg.severity, Severity::Failure | Severity::Unstable)
            {
                ", someone is on it"
            } else {
                ""
            };
            format!("{what} — {state}{building}{on_it}")
        }
    }
}

/// The hover text of an LED slot (built only while it is hovered).
fn slot_details(config: &Config, snapshot: &Snapshot, led: usize) -> String {
    let mut text = format!("LED {led}: {}\n", led_words(config, snapshot, led));
    if config.aggregate.leds.contains(&led) {
        text.push_str("Part of the tube: the worst state of ");
        text.push_str(match config.aggregate.scope {
            crate::config::AggregateScope::Mapped => "the mapped jobs",
            crate::config::AggregateScope::All => "every job",
        });
        return text;
    }
    let Some(target) = config.slot(led).map(|s| &s.target) else {
        text.push_str("Free: drag a job, folder or server here");
        return text;
    };
    let server = snapshot.servers.get(target.server());
    match target {
        Target::Job(id) => match snapshot.job(id) {
            Some(job) => text.push_str(&look::job_details(job)),
            None => return text + &look::missing_job_text(id, server),
        },
        target => text.push_str(&crate::text::visible(&target.to_string())),
    }
    if let Some(stale) = look::stale_text(server) {
        text.push('\n');
        text.push_str(&stale);
    }
    text
}

/// Shows `text()` as the hover text of `response`, building it only while hovered.
pub fn lazy_hover(response: egui::Response, text: impl FnOnce() -> String) -> egui::Response {
    response.on_hover_ui(|ui| {
        ui.set_max_width(ui.spacing().tooltip_width);
        ui.label(text());
    })
}

/// The URL a slot opens on double-click.
fn slot_url(config: &Config, snapshot: &Snapshot, led: usize) -> Option<String> {
    match &config.slot(led)?.target {
        Target::Job(id) => snapshot.job(id).map(|j| j.url.clone()),
        _ => None,
    }
}

/// Draws the LED slots, wrapped to the width. `frame` is the engine's frame (one colour per LED).
pub fn slots(
    ui: &mut Ui,
    config: &Config,
    snapshot: &Snapshot,
    frame: &[Rgb],
    selected: &mut Option<usize>,
) -> Vec<StripAction> {
    let mut actions = Vec::new();
    // Rows of as many slots as fit (nested frames cannot be wrapped by egui's own wrapping layout).
    let gap = 6.0;
    let per_row = (((ui.available_width() + gap) / (SLOT.x + 8.0 + gap)).floor() as usize).max(1);
    ui.spacing_mut().item_spacing = Vec2::new(gap, gap);
    let leds: Vec<usize> = (0..config.strip.leds).collect();
    for row in leds.chunks(per_row) {
        ui.horizontal(|ui| {
            for &led in row {
                slot(ui, config, snapshot, frame, led, selected, &mut actions);
            }
        });
    }
    if let Some(led) = *selected
        && !ui.ctx().egui_wants_keyboard_input()
        && ui.input(|i| i.key_pressed(Key::Delete) || i.key_pressed(Key::Backspace))
        && config.slot(led).is_some()
    {
        actions.push(StripAction::Clear(led));
    }
    actions
}

fn slot(
    ui: &mut Ui,
    config: &Config,
    snapshot: &Snapshot,
    frame: &[Rgb],
    led: usize,
    selected: &mut Option<usize>,
    actions: &mut Vec<StripAction>,
) {
    let shown = frame.get(led).copied().unwrap_or(Rgb::OFF);
    let label = slot_label(config, snapshot, led);
    let mapped = config.slot(led).is_some();
    let tube = config.aggregate.leds.contains(&led);
    let is_selected = *selected == Some(led);
    let zone = Frame::default()
        .inner_margin(4.0)
        .corner_radius(CornerRadius::same(6))
        .stroke(if is_selected {
            Stroke::new(2.0, ui.visuals().selection.stroke.color)
        } else {
            Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color)
        });
    let (inner, dropped) = ui.dnd_drop_zone::<DragItem, _>(zone, |ui| {
        ui.set_min_size(SLOT);
        ui.set_max_width(SLOT.x);
        ui.vertical_centered(|ui| {
            ui.label(RichText::new(format!("LED {led}")).small());
            look::dot(ui, look::color(config.strip.correction().undo(shown)), 28.0);
            let text = if tube {
                RichText::new(label.clone()).italics()
            } else {
                RichText::new(label.clone())
            };
            ui.add(egui::Label::new(text.small()).truncate().selectable(false));
        });
    });
    if let Some(item) = dropped {
        match &*item {
            DragItem::Target(target) => actions.push(StripAction::Assign {
                led,
                target: target.clone(),
            }),
            DragItem::Led(from) if *from != led => actions.push(StripAction::Move {
                from: *from,
                to: led,
            }),
            DragItem::Led(_) => {}
        }
        *selected = Some(led);
    }
    let sense = if mapped {
        Sense::click_and_drag()
    } else {
        Sense::click()
    };
    let response = ui.interact(
        inner.response.rect,
        egui::Id::unique(("led-slot", led)),
        sense,
    );
    let response = drag_source(ui, &response, DragItem::Led(led), |painter, at| {
        painter.circle_filled(at, 14.0, look::color(config.strip.correction().undo(shown)));
        painter.circle_stroke(at, 14.0, Stroke::new(2.0, Color32::WHITE));
    });
    let response = lazy_hover(response, || slot_details(config, snapshot, led));
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Button, true, format!("LED {led}: {label}"))
    });
    // A right-click selects too: the menu and the details below the strip are about the same LED.
    if response.clicked() || response.secondary_clicked() {
        *selected = Some(led);
    }
    if response.double_clicked()
        && let Some(url) = slot_url(config, snapshot, led)
    {
        actions.push(StripAction::Open(url));
    }
    response.context_menu(|ui| {
        if ui.button("Identify on the strip").clicked() {
            actions.push(StripAction::Identify(led));
            ui.close();
        }
        if let Some(url) = slot_url(config, snapshot, led)
            && ui.button("Open the job page").clicked()
        {
            actions.push(StripAction::Open(url));
            ui.close();
        }
        if let Some(Target::Job(id)) = config.slot(led).map(|s| &s.target) {
            ack_menu(ui, snapshot, id, actions);
        }
        let mut in_tube = tube;
        if ui.checkbox(&mut in_tube, "Part of the tube").changed() {
            actions.push(StripAction::Tube { led, on: in_tube });
            ui.close();
        }
        if mapped && ui.button("Sounds of this LED…").clicked() {
            actions.push(StripAction::Sounds(led));
            ui.close();
        }
        if config
            .slot(led)
            .is_some_and(|s| s.sound_broke.is_some() || s.sound_fixed.is_some())
            && ui.button("Use the usual sounds").clicked()
        {
            actions.push(StripAction::ClearSounds(led));
            ui.close();
        }
        if mapped && ui.button("Clear").clicked() {
            actions.push(StripAction::Clear(led));
            ui.close();
        }
    });
}

/// Makes `response` (sensing drags) a drag-and-drop source of `item`; while dragged, `ghost` paints a
/// preview under the pointer. Unlike `Ui::dnd_drag_source`, the widget keeps its clicks and double-clicks.
pub fn drag_source(
    ui: &Ui,
    response: &egui::Response,
    item: DragItem,
    ghost: impl FnOnce(&egui::Painter, egui::Pos2),
) -> egui::Response {
    if response.drag_started() {
        egui::DragAndDrop::set_payload(ui.ctx(), item);
    }
    if response.dragged()
        && let Some(at) = ui.ctx().pointer_interact_pos()
    {
        let layer = egui::LayerId::new(egui::Order::Tooltip, response.id.with("ghost"));
        ghost(&ui.ctx().layer_painter(layer), at);
        ui.ctx().set_cursor_icon(egui::CursorIcon::Grabbing);
    }
    response.clone()
}

/// Paints the frame as the strip shows it to the eye ([`look::perceived`]): one round LED per colour on a
/// dark strip, wrapped to the width. Each LED's accessibility label says its state, built only when asked.
pub fn mirror(ui: &mut Ui, frame: &[Rgb], config: &Config, snapshot: &Snapshot, diameter: f32) {
    let correction = config.strip.correction();
    Frame::default()
        .fill(Color32::from_rgb(18, 18, 22))
        .corner_radius(CornerRadius::same(4))
        .inner_margin(4.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing = Vec2::new(diameter * 0.3, 4.0);
                for (i, rgb) in frame.iter().enumerate() {
                    let (rect, response) =
                        ui.allocate_exact_size(Vec2::splat(diameter), Sense::hover());
                    ui.painter().circle_filled(
                        rect.center(),
                        diameter / 2.0,
                        look::perceived(correction, *rgb),
                    );
                    response.widget_info(|| {
                        egui::WidgetInfo::labeled(
                            egui::Role::Image,
                            true,
                            format!("mirror LED {i}: {}", led_words(config, snapshot, i)),
                        )
                    });
                    lazy_hover(response, || {
                        format!("LED {i}: {}", led_words(config, snapshot, i))
                    });
                }
                if frame.is_empty() {
                    ui.label(RichText::new("no LEDs").color(Color32::GRAY));
                }
            });
        });
}
