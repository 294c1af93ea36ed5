//! The *Desktop* section (at the end of the Alerts tab): *Start ledtogo at login*, which writes or
//! removes the XDG autostart entry ([`crate::autostart`]). The file work runs on a worker thread; the
//! checkbox shows what was read at start and after each change, and an error under it.

use std::path::PathBuf;

use egui::{RichText, Ui};

use crate::autostart::{Autostart, AutostartError, AutostartState};

use super::desk::{ConfigPlace, Desk, Waker};
use super::forms::{Pending, Task};

/// What the last read (or change) of the autostart folder found.
#[derive(Debug, Clone, Default)]
struct Seen {
    /// `None` until read, or when it could not be read.
    state: Option<AutostartState>,
    /// What failed, the path, what to do.
    problem: Option<String>,
}

/// The section's state: the autostart folder it manages and the last thing seen there.
#[derive(Debug, Default)]
pub struct LoginSection {
    /// `None`: not offered (an embedding without it); `Err`: why this system has none.
    autostart: Option<Result<Autostart, String>>,
    seen: Pending<Seen>,
    /// The last finished read or change.
    shown: Seen,
    /// What the checkbox was set to while the change runs (shown until it finishes).
    wanted: Option<bool>,
}

impl LoginSection {
    /// The section for `autostart`, reading what it holds now (on a worker thread).
    pub fn new(autostart: Result<Autostart, AutostartError>, waker: &Waker) -> LoginSection {
        let section = LoginSection {
            autostart: Some(autostart.map_err(|e| e.to_string())),
            ..LoginSection::default()
        };
        if let Some(Ok(autostart)) = &section.autostart {
            let autostart = autostart.clone();
            section
                .seen
                .run(waker.clone(), move || seen(&autostart, Ok(())));
        }
        section
    }

    pub fn show(&mut self, ui: &mut Ui, desk: &Desk) {
        let Some(autostart) = &self.autostart else {
            return;
        };
        ui.add_space(8.0);
        ui.heading("Desktop");
        let autostart = match autostart {
            Ok(a) => a.clone(),
            Err(why) => {
                ui.label(RichText::new(crate::text::visible(why)).weak());
                return;
            }
        };
        let task = self.seen.get();
        if let Some(Task::Done(seen)) = &task {
            self.shown = seen.clone();
            self.wanted = None;
        }
        let busy = matches!(task, Some(Task::Running));
        let state = self.shown.state;
        let mut on = self.wanted.unwrap_or(state == Some(AutostartState::On));
        let usable = !busy && matches!(state, Some(AutostartState::On | AutostartState::Off));
        let file = autostart.file();
        let changed = ui
            .add_enabled(
                usable,
                egui::Checkbox::new(&mut on, "Start ledtogo at login"),
            )
            .on_hover_text(format!(
                "Writes or removes {}",
                crate::text::visible(&file.display().to_string())
            ))
            .changed();
        if changed {
            self.wanted = Some(on);
            let user = user_config(desk);
            self.seen.run(desk.waker.clone(), move || {
                let done = if on {
                    enable(&autostart, &user)
                } else {
                    autostart.disable()
                };
                seen(&autostart, done)
            });
        }
        if state == Some(AutostartState::NotOurs) {
            let text = AutostartError::NotOurs { path: file }.to_string();
            ui.label(RichText::new(crate::text::visible(&text)).color(ui.visuals().warn_fg_color));
        }
        if let Some(problem) = &self.shown.problem {
            ui.label(
                RichText::new(crate::text::visible(problem)).color(ui.visuals().error_fg_color),
            );
        }
    }
}

/// The user's config file of this desk (the demo's is where the user's would go).
fn user_config(desk: &Desk) -> PathBuf {
    match &desk.place {
        ConfigPlace::User(path) | ConfigPlace::Demo { user: path, .. } => path.clone(),
    }
}

/// Writes the entry for the running binary; `--config` only when the app runs on a file other than the
/// default one (the login session then finds it too). Reads files: call it off the UI thread.
fn enable(autostart: &Autostart, user: &std::path::Path) -> Result<(), AutostartError> {
    let exec = crate::autostart::running_binary()?;
    let explicit = crate::config::default_path().as_deref() != Some(user);
    autostart.enable(&exec, explicit.then_some(user))
}

/// What the folder holds after `done` (the change's own error first).
fn seen(autostart: &Autostart, done: Result<(), AutostartError>) -> Seen {
    let (state, read) = match autostart.state() {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let problem = match done {
        // The window says a foreign entry is there on its own line.
        Err(AutostartError::NotOurs { .. }) => read,
        Err(e) => Some(e.to_string()),
        Ok(()) => read,
    };
    Seen { state, problem }
}
