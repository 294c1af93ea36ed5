//! The job tree: every job of every server, grouped by folder, with its state colour, a text filter and a
//! "failing only" switch. Jobs, folders and whole servers are drag sources for the strip's LED slots.
//! Above it, the flaky jobs ([`flaky_list`]) with their flips and last builds.

use std::collections::BTreeMap;
use std::sync::Arc;

use egui::{Color32, RichText, Sense, Ui};

use crate::config::Config;
use crate::frame::{self, LedState};
use crate::model::{Aggregate, Job, ServerState, Snapshot, Target};

use super::look;
use super::strip::{self, DragItem};

/// A folder level of one server's jobs.
#[derive(Debug, Default)]
struct Node {
    folders: BTreeMap<String, Node>,
    jobs: Vec<Job>,
}

impl Node {
    fn insert(&mut self, job: &Job) {
        let mut node = self;
        let path = &job.id.path;
        for segment in path.iter().take(path.len().saturating_sub(1)) {
            node = node.folders.entry(segment.clone()).or_default();
        }
        node.jobs.push(job.clone());
    }

    /// Whether anything under this node passes the filter.
    fn any(&self, keep: &dyn Fn(&Job) -> bool) -> bool {
        self.jobs.iter().any(keep) || self.folders.values().any(|f| f.any(keep))
    }
}

/// The tree of every server, rebuilt only when the snapshot changes.
#[derive(Debug, Default)]
pub struct JobTree {
    built_from: Option<Arc<Snapshot>>,
    servers: BTreeMap<String, Node>,
}

/// The filter the user set.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filter {
    pub text: String,
    pub failing_only: bool,
}

impl Filter {
    pub fn keeps(&self, job: &Job) -> bool {
        if self.failing_only && !job.state.is_broken() {
            return false;
        }
        let needle = self.text.trim().to_lowercase();
        needle.is_empty()
            || job.display_name.to_lowercase().contains(&needle)
            || job.id.full_name().to_lowercase().contains(&needle)
    }

    fn active(&self) -> bool {
        self.failing_only || !self.text.trim().is_empty()
    }
}

impl JobTree {
    fn rebuild(&mut self, snapshot: &Arc<Snapshot>) {
        if self
            .built_from
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, snapshot))
        {
            return;
        }
        self.servers.clear();
        for (name, server) in &snapshot.servers {
            let node = self.servers.entry(name.clone()).or_default();
            for job in server.jobs.values() {
                node.insert(job);
            }
        }
        self.built_from = Some(snapshot.clone());
    }

    /// Draws the tree; returns the page a double-clicked job asked to open. A right-click on a job offers
    /// *I'm on it…* / *Not on it any more* ([`strip::ack_menu`]); those choices land in `acks`.
    pub fn show(
        &mut self,
        ui: &mut Ui,
        snapshot: &Arc<Snapshot>,
        config: &Config,
        filter: &Filter,
        acks: &mut Vec<strip::StripAction>,
    ) -> Option<String> {
        self.rebuild(snapshot);
        let mut open = None;
        if snapshot.servers.is_empty() {
            ui.label("No Jenkins server yet: add one in the Servers tab.");
        }
        let keep = |j: &Job| filter.keeps(j);
        for (name, node) in &self.servers {
            let Some(server) = snapshot.servers.get(name) else {
                continue;
            };
            let header = format!("{name} — {}", server_line(&server.state, node));
            let id = ui.scope_id().with(("server", name));
            egui::CollapsingHeader::new(RichText::new(header).strong())
                .id_salt(id)
                .default_open(true)
                .open(filter.active().then_some(true))
                .show(ui, |ui| {
                    let all = Target::Server(name.clone());
                    let color = led_color(snapshot, &all, config);
                    drag_row(
                        ui,
                        DragItem::Target(all),
                        &format!("All of {name}"),
                        color,
                        || {
                            format!(
                                "Drag onto an LED to show the worst state of every job of {name}"
                            )
                        },
                    );
                    let at = Place {
                        server: name,
                        snapshot,
                        config,
                    };
                    open = open
                        .take()
                        .or(show_node(ui, &at, &[], node, &keep, filter, acks));
                });
        }
        if filter.active() && !self.servers.values().any(|n| n.any(&keep)) {
            ui.label(RichText::new("No job matches the filter.").italics());
        }
        open
    }
}

/// The server header's state: its job count, or what went wrong (and that the jobs are the last known).
fn server_line(state: &ServerState, node: &Node) -> String {
    fn count(n: &Node) -> usize {
        n.jobs.len() + n.folders.values().map(count).sum::<usize>()
    }
    let said = || crate::text::visible(&state.to_string()).into_owned();
    match (state, count(node)) {
        (ServerState::Ok, n) => format!("{n} jobs"),
        (_, 0) => said(),
        (_, n) => format!("{} — {n} jobs, last known", said()),
    }
}

/// The colour of a row's dot: what the LED of `target` would show (a folder its worst job, a job of a
/// server that does not answer stale), without the building pulse or the acknowledged breathing.
fn led_color(snapshot: &Snapshot, target: &Target, config: &Config) -> Color32 {
    let state = match frame::target_state(snapshot, target) {
        LedState::Shown(agg) => LedState::Shown(Aggregate {
            building: false,
            acknowledged: false,
            ..agg
        }),
        other => other,
    };
    look::color(frame::base_color(state, config, frame::Clock::STILL))
}

/// The server a subtree belongs to, and what its rows are drawn from.
struct Place<'a> {
    server: &'a str,
    snapshot: &'a Snapshot,
    config: &'a Config,
}

fn show_node(
    ui: &mut Ui,
    at: &Place,
    path: &[String],
    node: &Node,
    keep: &dyn Fn(&Job) -> bool,
    filter: &Filter,
    acks: &mut Vec<strip::StripAction>,
) -> Option<String> {
    let server = at.server;
    let mut open = None;
    for (name, folder) in &node.folders {
        if !folder.any(keep) {
            continue;
        }
        let mut sub = path.to_vec();
        sub.push(name.clone());
        egui::CollapsingHeader::new(format!("{name}/"))
            .id_salt(ui.scope_id().with(("folder", server, &sub)))
            .default_open(path.is_empty())
            .open(filter.active().then_some(true))
            .show(ui, |ui| {
                let all = Target::Folder {
                    server: server.to_owned(),
                    path: sub.clone(),
                };
                let color = led_color(at.snapshot, &all, at.config);
                drag_row(
                    ui,
                    DragItem::Target(all),
                    &format!("All of {name}/"),
                    color,
                    || {
                        format!(
                            "Drag onto an LED to show the worst state of every job under {name}/"
                        )
                    },
                );
                if let Some(url) = show_node(ui, at, &sub, folder, keep, filter, acks) {
                    open = Some(url);
                }
            });
    }
    for job in node.jobs.iter().filter(|j| keep(j)) {
        let color = led_color(at.snapshot, &Target::Job(job.id.clone()), at.config);
        let mut text = crate::text::visible(&job.display_name).into_owned();
        if at.snapshot.flaky.contains_key(&job.id) {
            text.push_str("  (flaky)");
        }
        if job.building {
            match crate::model::progress::Eta::of(job) {
                Some(eta) => text.push_str(&format!(
                    "  (building: {})",
                    eta.at(crate::clock::epoch_ms())
                )),
                None => text.push_str("  (building)"),
            }
        }
        if let Some(ack) = at.snapshot.acks.get(&job.id) {
            text.push_str(&format!("  ({})", ack.on_it()));
        }
        let response = drag_row(
            ui,
            DragItem::Target(Target::Job(job.id.clone())),
            &text,
            color,
            || look::job_details(job),
        );
        if response.double_clicked() {
            open = Some(job.url.clone());
        }
        if job.state.is_broken() || at.snapshot.acks.get(&job.id).is_some() {
            response.context_menu(|ui| strip::ack_menu(ui, at.snapshot, &job.id, acks));
        }
    }
    open
}

/// A draggable row: a state dot and a name, and `hover()` as its hover text (built only while hovered).
/// Returns the row's response (for double clicks).
fn drag_row(
    ui: &mut Ui,
    item: DragItem,
    text: &str,
    color: Color32,
    hover: impl FnOnce() -> String,
) -> egui::Response {
    let row = ui.horizontal(|ui| {
        look::dot(ui, color, 10.0).widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Image, true, format!("dot of {text}"))
        });
        ui.add(egui::Label::new(text).selectable(false).truncate());
    });
    let id = egui::Id::unique(("drag-row", &item));
    let response = ui.interact(row.response.rect, id, Sense::click_and_drag());
    let label = text.to_owned();
    let response = strip::drag_source(ui, &response, item, |painter, at| {
        let galley =
            painter.layout_no_wrap(label, egui::FontId::proportional(14.0), Color32::WHITE);
        let rect = egui::Rect::from_min_size(at + egui::vec2(12.0, 4.0), galley.size()).expand(4.0);
        painter.rect_filled(rect, 4.0, Color32::from_rgba_unmultiplied(30, 30, 40, 230));
        painter.circle_filled(rect.left_center() - egui::vec2(8.0, 0.0), 5.0, color);
        painter.galley(rect.min + egui::vec2(4.0, 4.0), galley, Color32::WHITE);
    });
    if response.hovered() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::Grab);
    }
    strip::lazy_hover(response, hover)
}

/// The "Flaky jobs (N)" section: each flaky job ([`crate::flaky`]) with its flips within the window and
/// its last builds (number and result, newest first), or what makes a job flaky when none is.
pub fn flaky_list(ui: &mut Ui, snapshot: &Snapshot, config: &Config) {
    let flaky = &snapshot.flaky;
    egui::CollapsingHeader::new(format!("Flaky jobs ({})", flaky.len()))
        .id_salt("flaky-jobs")
        .show(ui, |ui| {
            if flaky.is_empty() {
                let alerts = &config.alerts;
                ui.label(
                    RichText::new(format!(
                        "No flaky jobs. A job is flaky when its builds flip between failure and \
                         success {} times within {}.",
                        alerts.flaky_flips.0, alerts.flaky_window
                    ))
                    .italics(),
                );
                return;
            }
            for (id, job) in flaky {
                let name = snapshot
                    .job(id)
                    .map_or_else(|| id.readable_name(), |j| j.display_name.clone());
                let s = if job.flips == 1 { "" } else { "s" };
                let line = format!(
                    "{} on {} — {} flip{s}",
                    crate::text::short(&name),
                    crate::text::short(&id.server),
                    job.flips
                );
                ui.add(egui::Label::new(RichText::new(line).strong()).truncate());
                let builds: Vec<String> = job
                    .last
                    .iter()
                    .map(|b| format!("#{} {}", b.number, b.outcome.label()))
                    .collect();
                ui.add(egui::Label::new(RichText::new(builds.join(", ")).small()).truncate());
            }
        });
}
