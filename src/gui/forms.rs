//! The settings tabs: CI servers of every kind (add, edit, remove, test the connection) and the LED device
//! (port, the Wi-Fi strips found on the network, LED count, brightness, status, test pattern). Network and
//! port work runs on worker threads; each change becomes one [`Edit`] of the config file.

use std::sync::Arc;
use std::time::Duration;

use egui::{Color32, RichText, Ui};
use parking_lot::Mutex;

use crate::config::{
    BuildingLook, Config, PortChoice, Root, ServerConfig, ServerEntry, ServerKind, TokenSetting,
    TokenSource, kinds,
};
use crate::model::{ServerState, Snapshot};
use crate::outputs::mdns::{self, Discovery, Found};
use crate::outputs::serial::DeviceStatus;
use crate::outputs::serial::discovery::{self, PortReport};
use crate::settings::{Edit, EditValue};
use crate::sources::jenkins::tree::normalize_base;
use crate::sources::{self, Credentials, Secret};
use crate::weburl::check_server_url;

use super::desk::Desk;
use super::secret_text::SecretText;

/// Background work whose result the window shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task<T> {
    Running,
    Done(T),
}

/// A result another thread fills in; the window only reads it.
#[derive(Debug)]
pub struct Pending<T>(Arc<Mutex<Option<Task<T>>>>);

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending(Arc::new(Mutex::new(None)))
    }
}

impl<T: Clone + Send + 'static> Pending<T> {
    pub fn get(&self) -> Option<Task<T>> {
        self.0.lock().clone()
    }

    /// The finished result, if there is one.
    pub fn done(&self) -> Option<T> {
        match self.get() {
            Some(Task::Done(v)) => Some(v),
            _ => None,
        }
    }

    fn set(&self, value: Option<Task<T>>) {
        *self.0.lock() = value;
    }

    /// Runs `work` on a new thread; its result lands here and the window is woken.
    pub fn run(&self, waker: super::desk::Waker, work: impl FnOnce() -> T + Send + 'static) {
        self.set(Some(Task::Running));
        let slot = self.0.clone();
        let spawned = std::thread::Builder::new()
            .name("ui-task".into())
            .spawn(move || {
                let value = Some(Task::Done(work()));
                *slot.lock() = value;
                waker.wake();
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a background task: {e}");
            self.set(None);
        }
    }
}

/// A server being added or edited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerDraft {
    /// The name it had when editing began (`None`: a new server).
    pub old_name: Option<String>,
    pub name: String,
    /// The kind picked (its repos/projects are in `list` while editing).
    pub kind: ServerKind,
    /// GitHub repositories or GitLab projects, separated by commas, spaces or new lines.
    pub list: String,
    /// The relay's server a ledtogo relay entry shows (empty: all of them).
    pub upstream: String,
    pub url: String,
    pub user: String,
    /// A new token; empty keeps the current one.
    pub token: SecretText,
    pub has_token: bool,
    /// The user typed in the form or pressed Save: from then on its problem is shown.
    pub touched: bool,
}

impl ServerDraft {
    /// What is wrong with the draft, if anything (shown under the form once it is touched; Save is
    /// disabled meanwhile).
    pub fn problem(&self, config: &Config) -> Option<String> {
        let name = self.name.trim();
        if name.is_empty() {
            return Some("give the server a name".into());
        }
        let taken = config
            .servers
            .iter()
            .any(|s| s.name == name && self.old_name.as_deref() != Some(name));
        if taken {
            return Some(format!("a server named {name:?} already exists"));
        }
        if let Err(e) = check_server_url(&self.url) {
            return Some(e);
        }
        if let Err(e) = self.kind_with_list() {
            return Some(e);
        }
        let token_alone = matches!(
            self.kind,
            ServerKind::GitHub { .. } | ServerKind::GitLab { .. }
        );
        if !self.token.is_blank() && self.user.trim().is_empty() && !token_alone {
            return Some("a token needs a user name".into());
        }
        None
    }

    /// The kind with the repositories or projects typed in `list`, each checked.
    pub fn kind_with_list(&self) -> Result<ServerKind, String> {
        let items: Vec<String> = self
            .list
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(|i| i.trim().trim_matches('/'))
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .collect();
        let checked = |check: fn(&str) -> Result<(), String>, what: &str| {
            if items.is_empty() {
                return Err(format!("name at least one {what}"));
            }
            items.iter().try_for_each(|i| check(i))?;
            Ok(items.clone())
        };
        Ok(match &self.kind {
            ServerKind::Jenkins => ServerKind::Jenkins,
            ServerKind::Cctray => ServerKind::Cctray,
            ServerKind::GitHub { .. } => ServerKind::GitHub {
                repos: checked(kinds::check_repo, "repository (OWNER/REPO)")?,
            },
            ServerKind::GitLab { .. } => ServerKind::GitLab {
                projects: checked(kinds::check_project, "project (GROUP/PROJECT)")?,
            },
            ServerKind::Ledtogo { .. } => ServerKind::Ledtogo {
                upstream: Some(self.upstream.trim().to_owned()).filter(|u| !u.is_empty()),
            },
        })
    }

    /// A draft of an existing server entry.
    fn of(server: &ServerConfig) -> ServerDraft {
        let list = match &server.kind {
            ServerKind::GitHub { repos } => repos.join(", "),
            ServerKind::GitLab { projects } => projects.join(", "),
            ServerKind::Jenkins | ServerKind::Cctray | ServerKind::Ledtogo { .. } => String::new(),
        };
        let (kind, upstream) = match &server.kind {
            // The repositories, projects and upstream are edited in their own fields; the kind box
            // compares kinds without them (so it shows the entry's kind as the selected one).
            ServerKind::Ledtogo { upstream } => (
                ServerKind::Ledtogo { upstream: None },
                upstream.clone().unwrap_or_default(),
            ),
            ServerKind::GitHub { .. } => (ServerKind::GitHub { repos: Vec::new() }, String::new()),
            ServerKind::GitLab { .. } => (
                ServerKind::GitLab {
                    projects: Vec::new(),
                },
                String::new(),
            ),
            kind => (kind.clone(), String::new()),
        };
        ServerDraft {
            old_name: Some(server.name.clone()),
            name: server.name.clone(),
            kind,
            list,
            upstream,
            url: server.url.clone(),
            user: server.user.clone().unwrap_or_default(),
            token: SecretText::default(),
            has_token: server.token != TokenSource::None,
            touched: false,
        }
    }

    /// The server as the draft would save it, and the typed token to test it with (`None`: the
    /// entry's own token, looked up when the test runs).
    fn connection(&self, config: &Config) -> (ServerConfig, Option<Credentials>) {
        let existing = self
            .old_name
            .as_deref()
            .and_then(|old| config.servers.iter().find(|s| s.name == old));
        let mut server = existing.cloned().unwrap_or_else(|| ServerConfig {
            name: String::new(),
            kind: ServerKind::Jenkins,
            url: String::new(),
            user: None,
            token: TokenSource::None,
            ca_file: None,
            root: Root::All,
            poll: None,
        });
        server.name = self.name.trim().to_owned();
        server.kind = self.kind_with_list().unwrap_or_else(|_| self.kind.clone());
        if server.kind != ServerKind::Jenkins {
            server.root = Root::All;
        }
        server.url = self.url.trim().to_owned();
        server.user = Some(self.user.trim().to_owned()).filter(|u| !u.is_empty());
        let typed =
            (!self.token.is_blank()).then(|| Credentials::new(&self.user, self.token.expose()));
        (server, typed)
    }
}

/// The Servers tab's state.
#[derive(Debug, Default)]
pub struct ServersTab {
    pub draft: Option<ServerDraft>,
    test: Pending<Result<String, String>>,
    confirm_remove: Option<String>,
}

impl ServersTab {
    pub fn show(&mut self, ui: &mut Ui, desk: &Desk, config: &Config, snapshot: &Snapshot) {
        ui.heading("CI servers");
        if let Some(notice) = desk.editor.state().last_notice {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(notice).color(Color32::from_rgb(200, 130, 0)));
                if ui.small_button("Dismiss").clicked() {
                    desk.editor.dismiss_notice();
                }
            });
        }
        if config.servers.is_empty() {
            ui.label("No server yet.");
        }
        egui::Grid::new("servers")
            .num_columns(3)
            .striped(true)
            .show(ui, |ui| {
                for server in &config.servers {
                    ui.label(RichText::new(&server.name).strong());
                    let state = snapshot.servers.get(&server.name);
                    let line = match state {
                        Some(s) if s.state.is_ok() && server.kind == ServerKind::Jenkins => {
                            format!(
                                "{} · Jenkins {} · {} jobs",
                                server.url,
                                s.version.as_deref().unwrap_or("?"),
                                s.jobs.len()
                            )
                        }
                        Some(s) if s.state.is_ok() => format!(
                            "{} · {} · {} jobs",
                            server.url,
                            server.kind.label(),
                            s.jobs.len()
                        ),
                        Some(s) => format!("{} · {}", server.url, s.state),
                        None => server.url.clone(),
                    };
                    let floor = sources::min_interval(&server.kind);
                    let line = if floor.is_zero() {
                        line
                    } else {
                        format!(
                            "{line} · at most one poll every {} s (the token's hourly budget)",
                            floor.as_secs()
                        )
                    };
                    ui.label(line);
                    ui.horizontal(|ui| {
                        if ui.button("Edit").clicked() {
                            self.draft = Some(ServerDraft::of(server));
                            self.test.set(None);
                        }
                        if self.confirm_remove.as_deref() == Some(&server.name) {
                            let leds = config
                                .slots
                                .iter()
                                .filter(|s| s.target.server() == server.name)
                                .count();
                            if ui
                                .button(format!("Really remove (clears {leds} LEDs)"))
                                .clicked()
                            {
                                desk.edit(Edit::RemoveServer(server.name.clone()));
                                self.confirm_remove = None;
                            }
                            if ui.button("Keep").clicked() {
                                self.confirm_remove = None;
                            }
                        } else if ui.button("Remove").clicked() {
                            self.confirm_remove = Some(server.name.clone());
                        }
                    });
                    ui.end_row();
                }
            });
        if self.draft.is_none() && ui.button("Add a server").clicked() {
            let mut n = 1;
            let mut name = "jenkins".to_owned();
            while config.servers.iter().any(|s| s.name == name) {
                n += 1;
                name = format!("jenkins-{n}");
            }
            self.draft = Some(ServerDraft {
                name,
                url: "https://".into(),
                ..ServerDraft::default()
            });
            self.test.set(None);
        }
        if self.draft.is_some() {
            ui.separator();
            self.form(ui, desk, config);
        }
    }

    fn form(&mut self, ui: &mut Ui, desk: &Desk, config: &Config) {
        let Some(draft) = &mut self.draft else {
            return;
        };
        ui.heading(if draft.old_name.is_some() {
            "Edit server"
        } else {
            "New server"
        });
        let mut typed = false;
        egui::Grid::new("server-form")
            .num_columns(2)
            .show(ui, |ui| {
                let l = ui.label("Name");
                typed |= ui
                    .add(egui::TextEdit::singleline(&mut draft.name).desired_width(320.0))
                    .labelled_by(l.id)
                    .changed();
                ui.end_row();
                let l = ui.label("Kind");
                let before = draft.kind.clone();
                egui::ComboBox::from_id_salt("server-kind")
                    .selected_text(draft.kind.label())
                    .show_ui(ui, |ui| {
                        for kind in [
                            ServerKind::Jenkins,
                            ServerKind::Cctray,
                            ServerKind::GitHub { repos: Vec::new() },
                            ServerKind::GitLab {
                                projects: Vec::new(),
                            },
                            ServerKind::Ledtogo { upstream: None },
                        ] {
                            let label = kind.label();
                            ui.selectable_value(&mut draft.kind, kind, label);
                        }
                    })
                    .response
                    .labelled_by(l.id);
                if draft.kind != before {
                    typed = true;
                    // A new kind's own address, unless the user typed one.
                    let untyped = ["", "https://"].contains(&draft.url.trim())
                        || [before.default_url()].contains(&Some(draft.url.trim()));
                    if untyped {
                        draft.url = draft.kind.default_url().unwrap_or("https://").to_owned();
                    }
                }
                ui.end_row();
                let l = ui.label("URL");
                typed |= ui
                    .add(
                        egui::TextEdit::singleline(&mut draft.url)
                            .hint_text(match draft.kind {
                                ServerKind::Jenkins => "https://ci.example.com/jenkins/",
                                ServerKind::Cctray => "https://gocd.example.com/go/cctray.xml",
                                ServerKind::GitHub { .. } => "https://api.github.com/",
                                ServerKind::GitLab { .. } => "https://gitlab.com/",
                                ServerKind::Ledtogo { .. } => "http://pi:8765/",
                            })
                            .desired_width(320.0),
                    )
                    .labelled_by(l.id)
                    .changed();
                ui.end_row();
                let list_label = match draft.kind {
                    ServerKind::GitHub { .. } => Some(("Repositories", "acme/api, acme/web")),
                    ServerKind::GitLab { .. } => Some(("Projects", "group/project, group/sub/app")),
                    ServerKind::Jenkins | ServerKind::Cctray | ServerKind::Ledtogo { .. } => None,
                };
                if let Some((label, hint)) = list_label {
                    let l = ui.label(label);
                    typed |= ui
                        .add(
                            egui::TextEdit::singleline(&mut draft.list)
                                .hint_text(format!("e.g. {hint}"))
                                .desired_width(320.0),
                        )
                        .labelled_by(l.id)
                        .changed();
                    ui.end_row();
                }
                if matches!(draft.kind, ServerKind::Ledtogo { .. }) {
                    let l = ui.label("Upstream");
                    typed |= ui
                        .add(
                            egui::TextEdit::singleline(&mut draft.upstream)
                                .hint_text("one of the relay's servers (empty: all of them)")
                                .desired_width(320.0),
                        )
                        .labelled_by(l.id)
                        .changed();
                    ui.end_row();
                }
                let l = ui.label("User");
                typed |= ui
                    .add(egui::TextEdit::singleline(&mut draft.user).desired_width(320.0))
                    .labelled_by(l.id)
                    .changed();
                ui.end_row();
                let l = ui.label("API token");
                typed |= ui
                    .add(
                        egui::TextEdit::singleline(&mut draft.token)
                            .password(true)
                            .hint_text(match (&draft.kind, draft.has_token) {
                                (_, true) => "leave empty to keep the current token",
                                (ServerKind::Jenkins, false) => {
                                    "from Jenkins: your user > Security > API Token"
                                }
                                (ServerKind::Cctray, false) => "the feed's password or token",
                                (ServerKind::GitHub { .. }, false) => {
                                    "a fine-grained token with Actions: read (no user needed)"
                                }
                                (ServerKind::GitLab { .. }, false) => {
                                    "a token with the read_api scope (no user needed)"
                                }
                                (ServerKind::Ledtogo { .. }, false) => {
                                    "the relay's [export] token, with its user (if it asks for one)"
                                }
                            })
                            .desired_width(320.0),
                    )
                    .labelled_by(l.id)
                    .changed();
                ui.end_row();
            });
        draft.touched |= typed;
        let problem = draft.problem(config);
        if let Some(p) = problem.as_ref().filter(|_| draft.touched) {
            ui.label(RichText::new(p).color(ui.visuals().error_fg_color));
        }
        let testing = self.test.get() == Some(Task::Running);
        let mut save = false;
        let mut cancel = false;
        ui.horizontal(|ui| {
            let url_ok = check_server_url(&draft.url).is_ok();
            if ui
                .add_enabled(url_ok && !testing, egui::Button::new("Test connection"))
                .clicked()
            {
                let (server, typed) = draft.connection(config);
                let timeout = config.timeout.min(Duration::from_secs(15));
                self.test.run(desk.waker.clone(), move || {
                    test_connection(&server, typed, timeout)
                });
            }
            // Untouched, Save is offered and says what is missing; touched, it waits for a valid form.
            save = ui
                .add_enabled(
                    problem.is_none() || !draft.touched,
                    egui::Button::new("Save"),
                )
                .clicked();
            cancel = ui.button("Cancel").clicked();
        });
        match self.test.get() {
            Some(Task::Done(Ok(line))) => {
                ui.label(RichText::new(line).color(Color32::from_rgb(0, 170, 60)));
            }
            Some(Task::Running) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Testing the connection…");
                });
            }
            Some(Task::Done(Err(e))) => {
                ui.label(RichText::new(e).color(ui.visuals().error_fg_color));
            }
            None => {}
        }
        if save && problem.is_some() {
            draft.touched = true;
            ui.ctx().request_repaint();
        } else if save {
            let entry = ServerEntry {
                name: draft.name.trim().to_owned(),
                kind: draft
                    .kind_with_list()
                    .unwrap_or_else(|_| draft.kind.clone()),
                url: draft.url.trim().to_owned(),
                user: Some(draft.user.trim().to_owned()).filter(|u| !u.is_empty()),
                token: TokenSetting::Keep,
            };
            let token = (!draft.token.is_blank()).then(|| Secret::new(draft.token.expose().trim()));
            desk.edit(Edit::SaveServer {
                old_name: draft.old_name.clone(),
                entry,
                token,
            });
            self.draft = None;
        } else if cancel {
            self.draft = None;
        }
    }
}

/// One poll of `server` (with the `typed` token, else its own): "Jenkins 2.x, N jobs" or the exact
/// error.
fn test_connection(
    server: &ServerConfig,
    typed: Option<Credentials>,
    timeout: Duration,
) -> Result<String, String> {
    let source = match typed {
        Some(credentials) => sources::open_with(server, timeout, Some(credentials)),
        None => sources::open(server, timeout),
    }
    .map_err(|e| e.to_string())?;
    let listing = source.fetch().map_err(|e| e.to_string())?;
    Ok(connection_line(server, &listing))
}

/// `4870` as "4,870".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What *Test connection* says of a server that answered, per kind.
pub fn connection_line(server: &ServerConfig, listing: &sources::Listing) -> String {
    let jobs = listing.jobs.len();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    // Workflows (GitHub) are the distinct owner/repo/workflow prefixes of the jobs.
    let workflows = || {
        let mut w: Vec<&[String]> = listing
            .jobs
            .iter()
            .map(|j| j.id.path.get(..3).unwrap_or(&j.id.path))
            .collect();
        w.sort();
        w.dedup();
        w.len()
    };
    match &server.kind {
        ServerKind::Jenkins => format!(
            "Connected to {}: Jenkins {}, {}",
            normalize_base(&server.url),
            listing.version.as_deref().unwrap_or("(version not sent)"),
            plural(jobs, "job", "jobs")
        ),
        ServerKind::Cctray => format!(
            "Connected to {}: cctray feed, {}",
            server.url,
            plural(jobs, "project", "projects")
        ),
        ServerKind::GitHub { repos } => format!(
            "GitHub: {}, {}, {}{}",
            plural(repos.len(), "repo", "repos"),
            plural(workflows(), "workflow", "workflows"),
            plural(jobs, "branch", "branches"),
            listing
                .rate_left
                .map(|n| format!(", rate limit {} left", thousands(n)))
                .unwrap_or_default()
        ),
        ServerKind::GitLab { projects } => format!(
            "GitLab: {}, {}",
            plural(projects.len(), "project", "projects"),
            plural(jobs, "ref", "refs")
        ),
        ServerKind::Ledtogo { upstream } => {
            let servers: Vec<String> = listing
                .relayed
                .iter()
                .map(|r| {
                    let state = match &r.state {
                        ServerState::Ok => plural(r.jobs, "job", "jobs"),
                        ServerState::Connecting => "connecting".to_owned(),
                        ServerState::Unreachable(_) => "unreachable".to_owned(),
                        ServerState::AuthNeeded => "authentication needed".to_owned(),
                        ServerState::TokenRejected => "token rejected".to_owned(),
                    };
                    format!("{}: {state}", crate::text::short(&r.name))
                })
                .collect();
            let shown = upstream
                .as_ref()
                .map(|u| format!("; this entry shows {}", crate::text::short(u)))
                .unwrap_or_default();
            format!(
                "ledtogo relay: {} ({}){shown}",
                plural(listing.relayed.len(), "server", "servers"),
                servers.join(", ")
            )
        }
    }
}

/// The Device tab's state.
#[derive(Debug, Default)]
pub struct DeviceTab {
    /// The listed ports, and the local time the listing ended.
    ports: Pending<(Result<Vec<PortReport>, String>, String)>,
    custom: String,
    leds: Option<usize>,
    brightness: Option<f64>,
    /// What the last *Test pattern* click did, when there is something to say.
    pattern_note: Option<String>,
    /// The search for Wi-Fi strips, started when the tab is first shown; it browses while the tab is
    /// shown and for a while after, and stops with the tab (a new desk, the window closed).
    wifi: Option<Discovery>,
}

/// The Device tab's Wi-Fi strips (WLED, found over mDNS): each one a choice showing its name and host,
/// marked when `current` is its `port` value; returns the value of the one clicked.
pub fn wifi_strips(ui: &mut Ui, found: &Found, current: &str) -> Option<String> {
    let mut picked = None;
    ui.label(RichText::new("Wi-Fi strips").strong());
    if let Some(problem) = &found.problem {
        ui.label(RichText::new(problem).color(ui.visuals().error_fg_color));
    } else if found.strips.is_empty() {
        ui.label(RichText::new(format!("searching… ({})", mdns::EMPTY_ADVICE)).weak());
    }
    for strip in found.strips.iter() {
        let addresses: Vec<String> = strip.addresses.iter().map(|a| a.to_string()).collect();
        let text = format!("{} · {}", strip.name, strip.host);
        let hover = format!(
            "Use it: port = \"{}\"\n{}:{} {}",
            strip.target,
            strip.host,
            strip.port,
            addresses.join(" ")
        );
        if ui
            .selectable_label(current == strip.target, text)
            .on_hover_text(hover)
            .clicked()
        {
            picked = Some(strip.target.clone());
        }
    }
    picked
}

/// What *Rescan* found: the ports, or why they could not be listed, and when.
fn listing_line(ports: &Result<Vec<PortReport>, String>, at: &str) -> String {
    match ports {
        Ok(ports) if ports.is_empty() => format!("Ports listed at {at}: none found"),
        Ok(ports) => {
            let names: Vec<&str> = ports.iter().map(|p| p.path.as_str()).collect();
            format!(
                "Ports listed at {at}: {} found ({})",
                ports.len(),
                names.join(", ")
            )
        }
        Err(e) => format!("Ports listed at {at}: {e}"),
    }
}

/// What *Test pattern* does while no device is connected.
fn pattern_note(status: &DeviceStatus) -> Option<String> {
    match status {
        s if s.is_connected() => None,
        DeviceStatus::Disabled => {
            Some("port = \"none\": the pattern runs in the mirror only".to_owned())
        }
        _ => Some("no device: the pattern runs in the mirror only".to_owned()),
    }
}

impl DeviceTab {
    pub fn show(&mut self, ui: &mut Ui, desk: &Desk, config: &Config, status: &DeviceStatus) {
        ui.heading("LED device");
        let color = match status {
            DeviceStatus::Streaming {
                wled: Some(info),
                leds,
                ..
            } if info.leds != *leds => ui.visuals().warn_fg_color,
            s if s.is_connected() => Color32::from_rgb(0, 170, 60),
            DeviceStatus::Error { .. } => ui.visuals().error_fg_color,
            DeviceStatus::NotFound(_) => ui.visuals().warn_fg_color,
            _ => ui.visuals().weak_text_color(),
        };
        ui.label(RichText::new(status.to_string()).color(color));
        if let DeviceStatus::NotFound(search) = status {
            let at = chrono::DateTime::<chrono::Local>::from(search.at).format("%H:%M:%S");
            ui.label(
                RichText::new(format!(
                    "Search {} ended at {at}; searching again shortly.",
                    search.round
                ))
                .small(),
            );
        }
        if let DeviceStatus::Connected {
            firmware,
            leds,
            device_id,
            ..
        } = status
        {
            ui.label(format!(
                "Firmware {firmware} · {leds} LEDs · device id {device_id:08x}"
            ));
        }
        ui.add_space(6.0);
        if self.ports.get().is_none() {
            self.scan(desk);
        }
        let set_port = |value: &str| Edit::SetValue {
            table: Some("strip".into()),
            key: "port".into(),
            value: Some(EditValue::Text(value.to_owned())),
        };
        egui::Grid::new("device-form")
            .num_columns(2)
            .show(ui, |ui| {
                let l = ui.label("Port");
                ui.horizontal(|ui| {
                    let current = config.strip.port.to_string();
                    egui::ComboBox::from_id_salt("port")
                        .selected_text(current.clone())
                        .width(260.0)
                        .show_ui(ui, |ui| {
                            if ui
                                .selectable_label(current == "auto", "auto (find the device)")
                                .clicked()
                            {
                                desk.edit(set_port("auto"));
                            }
                            if ui
                                .selectable_label(current == "none", "none (mirror only)")
                                .clicked()
                            {
                                desk.edit(set_port("none"));
                            }
                            if let Some((Ok(ports), _)) = self.ports.done() {
                                for p in ports {
                                    let text = format!("{} · {}", p.path, p.kind.label());
                                    if ui.selectable_label(current == p.path, text).clicked() {
                                        desk.edit(set_port(&p.path));
                                    }
                                }
                            }
                        })
                        .response
                        .labelled_by(l.id);
                    let scanning = matches!(self.ports.get(), Some(Task::Running));
                    if ui
                        .add_enabled(!scanning, egui::Button::new("Rescan"))
                        .on_hover_text("List the serial ports again")
                        .clicked()
                    {
                        self.scan(desk);
                    }
                });
                ui.end_row();
                let l = ui.label("Other port");
                let typed = self.custom.trim().parse::<PortChoice>();
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut self.custom)
                            .hint_text("/dev/ttyUSB0, wled://HOST or ddp://HOST")
                            .desired_width(260.0),
                    )
                    .labelled_by(l.id)
                    .on_hover_text(
                        "A serial port, a WLED board on Wi-Fi (wled://HOST) or any DDP receiver \
                         (ddp://HOST[:PORT])",
                    );
                    let usable = !self.custom.trim().is_empty() && typed.is_ok();
                    if ui.add_enabled(usable, egui::Button::new("Use")).clicked() {
                        // The canonical spelling (a host in lower case, no default port).
                        if let Ok(port) = &typed {
                            desk.edit(set_port(&port.to_string()));
                        }
                    }
                });
                ui.end_row();
                if let Err(e) = &typed {
                    ui.label("");
                    ui.label(RichText::new(e.to_string()).color(ui.visuals().error_fg_color));
                    ui.end_row();
                }
                let l = ui.label("LEDs");
                let leds = self.leds.get_or_insert(config.strip.leds);
                let r = ui
                    .add(egui::DragValue::new(leds).range(1..=crate::config::MAX_LEDS))
                    .labelled_by(l.id);
                if settled(&r) && *leds != config.strip.leds {
                    desk.edit(Edit::SetValue {
                        table: Some("strip".into()),
                        key: "leds".into(),
                        value: Some(EditValue::Int(i64::try_from(*leds).unwrap_or(16))),
                    });
                }
                if !r.has_focus() && !r.dragged() && !r.changed() {
                    self.leds = None;
                }
                ui.end_row();
                let l = ui.label("Brightness");
                let brightness = self.brightness.get_or_insert(config.strip.brightness);
                let r = ui
                    .add(egui::Slider::new(brightness, 0.0..=1.0).fixed_decimals(2))
                    .labelled_by(l.id);
                if settled(&r) && (*brightness - config.strip.brightness).abs() > 1e-6 {
                    desk.edit(Edit::SetValue {
                        table: Some("strip".into()),
                        key: "brightness".into(),
                        value: Some(EditValue::Float((*brightness * 100.0).round() / 100.0)),
                    });
                }
                if !r.has_focus() && !r.dragged() && !r.changed() {
                    self.brightness = None;
                }
                ui.end_row();
                let l = ui.label("Building LEDs");
                let mut look = config.strip.building;
                egui::ComboBox::from_id_salt("strip-building")
                    .selected_text(building_look_text(look))
                    .show_ui(ui, |ui| {
                        for choice in [BuildingLook::Pulse, BuildingLook::Progress] {
                            ui.selectable_value(&mut look, choice, building_look_text(choice));
                        }
                    })
                    .response
                    .labelled_by(l.id)
                    .on_hover_text(
                        "Pulse: a building LED pulses. Progress: it brightens from dim to full as \
                         the build nears its expected duration (Jenkins' estimate, or how long the \
                         run before took), and pulses when there is none or it is overdue",
                    );
                if look != config.strip.building {
                    desk.edit(Edit::SetValue {
                        table: Some("strip".into()),
                        key: "building".into(),
                        value: match look {
                            BuildingLook::Pulse => None,
                            BuildingLook::Progress => Some(EditValue::Text(look.name().into())),
                        },
                    });
                }
                ui.end_row();
            });
        match self.ports.get() {
            Some(Task::Done((ports, at))) => {
                let line = listing_line(&ports, &at);
                let color = if ports.is_err() {
                    ui.visuals().error_fg_color
                } else {
                    ui.visuals().weak_text_color()
                };
                ui.label(RichText::new(line).color(color));
            }
            Some(Task::Running) => {
                ui.label(RichText::new("Listing the ports…").weak());
            }
            None => {}
        }
        let wifi = self.wifi.get_or_insert_with(|| {
            let waker = desk.waker.clone();
            Discovery::new(Arc::new(move || waker.wake()))
        });
        wifi.want();
        let found = wifi.found();
        ui.add_space(6.0);
        if let Some(target) = wifi_strips(ui, &found, &config.strip.port.to_string()) {
            desk.edit(set_port(&target));
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui
                .button("Test pattern")
                .on_hover_text("Each LED in turn, then a rainbow; the mirror shows it too")
                .clicked()
            {
                desk.engine.test_pattern();
                self.pattern_note = pattern_note(status);
            }
            if status.is_connected() {
                self.pattern_note = None;
            }
            if let Some(note) = &self.pattern_note {
                ui.label(RichText::new(note).weak());
            }
        });
    }

    fn scan(&self, desk: &Desk) {
        self.ports.run(desk.waker.clone(), || {
            let ports = discovery::list_ports().map_err(|e| e.to_string());
            let at = chrono::Local::now().format("%H:%M:%S").to_string();
            (ports, at)
        });
    }
}

/// The Device tab's words for `[strip] building`.
fn building_look_text(look: BuildingLook) -> &'static str {
    match look {
        BuildingLook::Pulse => "Pulse",
        BuildingLook::Progress => "Brighten with progress",
    }
}

/// A value widget's change is final: typed and confirmed, or a drag released.
fn settled(r: &egui::Response) -> bool {
    r.drag_stopped() || r.lost_focus() || (r.changed() && !r.dragged() && !r.has_focus())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::JobId;

    fn listing(paths: &[&str], rate_left: Option<u64>) -> sources::Listing {
        sources::Listing {
            jobs: paths
                .iter()
                .map(|p| crate::model::Job {
                    id: JobId::new("gh", p),
                    display_name: (*p).to_owned(),
                    url: String::new(),
                    state: crate::model::JobState::Success,
                    building: false,
                    last_build: None,
                })
                .collect(),
            version: None,
            requests: 2,
            rate_left,
            upstream: None,
            relayed: Vec::new(),
        }
    }

    #[test]
    fn a_draft_of_a_github_or_gitlab_entry_selects_its_kind_in_the_box_and_keeps_its_list() {
        let config = Config::parse(
            "[[servers]]\nname = \"gh\"\nkind = \"github\"\nurl = \"https://api.github.com/\"\n\
             repos = [\"octo/app\", \"octo/lib\"]\n\
             [[servers]]\nname = \"gl\"\nkind = \"gitlab\"\nurl = \"https://gitlab.com/\"\n\
             projects = [\"team/web\"]\n",
            None,
        )
        .unwrap();
        let gh = ServerDraft::of(&config.servers[0]);
        assert_eq!(
            gh.kind,
            ServerKind::GitHub { repos: Vec::new() },
            "equal to the box's GitHub choice, so the box shows it selected"
        );
        assert_eq!(gh.list, "octo/app, octo/lib");
        assert_eq!(gh.kind_with_list().unwrap(), config.servers[0].kind);
        let gl = ServerDraft::of(&config.servers[1]);
        assert_eq!(
            gl.kind,
            ServerKind::GitLab {
                projects: Vec::new()
            }
        );
        assert_eq!(gl.kind_with_list().unwrap(), config.servers[1].kind);
    }

    fn wifi_found(problem: Option<&str>, strips: Vec<mdns::FoundStrip>) -> Found {
        Found {
            strips: Arc::new(strips),
            problem: problem.map(str::to_owned),
            browsing: true,
        }
    }

    /// Draws the Wi-Fi list of `found` with `current` as the port; what was clicked lands in the state.
    fn wifi_harness(
        found: Found,
        current: &'static str,
    ) -> egui_kittest::Harness<'static, Option<String>> {
        egui_kittest::Harness::new_ui_state(
            move |ui, picked: &mut Option<String>| {
                if let Some(target) = wifi_strips(ui, &found, current) {
                    *picked = Some(target);
                }
            },
            None,
        )
    }

    #[test]
    fn the_wifi_list_says_it_is_searching_or_why_it_cannot_and_a_click_picks_a_strips_value() {
        use egui_kittest::kittest::Queryable as _;
        let h = wifi_harness(wifi_found(None, Vec::new()), "auto");
        assert!(
            h.query_by_label_contains("searching… (WLED announces itself over mDNS; make sure this computer and the strip are on the same network)")
                .is_some()
        );

        let problem =
            "cannot search the network for Wi-Fi strips: no network interface takes mDNS multicast";
        let h = wifi_harness(wifi_found(Some(problem), Vec::new()), "auto");
        assert!(h.query_by_label(problem).is_some());
        assert!(h.query_by_label_contains("searching").is_none());

        let desk = mdns::FoundStrip::of(
            "desk._wled._tcp.local.",
            "wled-desk.local.",
            80,
            [std::net::IpAddr::from([192, 168, 1, 20])],
        )
        .unwrap();
        let mut h = wifi_harness(wifi_found(None, vec![desk]), "auto");
        assert!(h.query_by_label_contains("searching").is_none());
        h.get_by_label("desk · wled-desk.local").click();
        h.run();
        assert_eq!(h.state().as_deref(), Some("wled://wled-desk.local"));
    }

    #[test]
    fn the_connection_test_answers_in_each_kinds_terms() {
        let mut server = ServerDraft::default()
            .connection(&Config::parse("", None).unwrap())
            .0;
        server.kind = ServerKind::GitHub {
            repos: vec!["acme/api".into(), "acme/web".into()],
        };
        let found = listing(
            &[
                "acme/api/CI/main",
                "acme/api/CI/dev",
                "acme/web/Deploy/main",
            ],
            Some(4870),
        );
        assert_eq!(
            connection_line(&server, &found),
            "GitHub: 2 repos, 2 workflows, 3 branches, rate limit 4,870 left"
        );
        server.kind = ServerKind::GitLab {
            projects: vec!["group/app".into()],
        };
        assert_eq!(
            connection_line(&server, &listing(&["group/app/main"], None)),
            "GitLab: 1 project, 1 ref"
        );
        server.kind = ServerKind::Ledtogo { upstream: None };
        let mut relayed = listing(&["office/web"], None);
        relayed.relayed = vec![
            sources::Relayed {
                name: "office".into(),
                state: ServerState::Ok,
                jobs: 40,
                acks: Vec::new(),
                flaky: Vec::new(),
            },
            sources::Relayed {
                name: "lab".into(),
                state: ServerState::Unreachable("connection refused".into()),
                jobs: 3,
                acks: Vec::new(),
                flaky: Vec::new(),
            },
        ];
        assert_eq!(
            connection_line(&server, &relayed),
            "ledtogo relay: 2 servers (office: 40 jobs, lab: unreachable)"
        );
        server.kind = ServerKind::Ledtogo {
            upstream: Some("office".into()),
        };
        assert_eq!(
            connection_line(&server, &relayed),
            "ledtogo relay: 2 servers (office: 40 jobs, lab: unreachable); this entry shows office"
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
