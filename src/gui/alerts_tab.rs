//! The Alerts tab: desktop notifications and sounds, per kind, custom sound files and quiet hours — all
//! written to the `[alerts]` table of the config file — plus the runtime "pause notifications".

use egui::{RichText, Ui};

use crate::alerts::SoundKind;
use std::path::Path;

use crate::config::{Config, QuietHours, resolve_path};
use crate::settings::{Edit, EditValue};

use super::desk::Desk;

/// Text fields being typed in (applied when confirmed).
#[derive(Debug, Default)]
pub struct AlertsTab {
    sound_broke: Option<String>,
    sound_fixed: Option<String>,
    quiet: Option<String>,
    /// Why the last typed value was refused.
    problem: Option<String>,
}

fn set(desk: &Desk, key: &str, value: Option<EditValue>) {
    desk.edit(Edit::SetValue {
        table: Some("alerts".into()),
        key: key.into(),
        value,
    });
}

fn switch(ui: &mut Ui, desk: &Desk, key: &str, current: bool, text: &str) {
    let mut on = current;
    if ui.checkbox(&mut on, text).changed() {
        set(desk, key, Some(EditValue::Bool(on)));
    }
}

/// A text field bound to a config value: shows the saved value until edited; Enter or leaving the field
/// applies it through `apply`, which may refuse with a message. Returns what applying gave, if it ran.
fn field(
    ui: &mut Ui,
    label: &str,
    hint: &str,
    draft: &mut Option<String>,
    saved: &str,
    apply: impl FnOnce(&str) -> Result<(), String>,
) -> Option<Result<(), String>> {
    let mut outcome = None;
    ui.horizontal(|ui| {
        let l = ui.label(label);
        let text = draft.get_or_insert_with(|| saved.to_owned());
        let r = ui
            .add(
                egui::TextEdit::singleline(text)
                    .hint_text(hint)
                    .desired_width(300.0),
            )
            .labelled_by(l.id);
        if r.lost_focus() {
            if text.trim() != saved {
                let result = apply(text.trim());
                let refused = result.is_err();
                outcome = Some(result);
                if refused {
                    return;
                }
            }
            *draft = None;
        }
    });
    outcome
}

/// Whether the sound file `text` names exists, read the way the config reads it (`~/` is the home
/// folder, a relative path is relative to the folder of `config_file`).
fn sound_file_exists(text: &str, config_file: Option<&Path>) -> Result<(), String> {
    let path = resolve_path(text, config_file.and_then(Path::parent));
    if path.is_file() {
        Ok(())
    } else if path.as_os_str() == text {
        Err(format!("{text}: no such file"))
    } else {
        Err(format!("{text}: no such file ({})", path.display()))
    }
}

impl AlertsTab {
    pub fn show(&mut self, ui: &mut Ui, desk: &Desk, config: &Config) {
        let a = &config.alerts;
        ui.heading("Notifications");
        switch(
            ui,
            desk,
            "notifications",
            a.notifications,
            "Desktop notifications",
        );
        ui.add_enabled_ui(a.notifications || a.sounds, |ui| {
            ui.label("Alert when");
            ui.indent("kinds", |ui| {
                switch(
                    ui,
                    desk,
                    "broke",
                    a.broke,
                    "a job breaks (failure or unstable)",
                );
                switch(ui, desk, "fixed", a.fixed, "a broken job is fixed");
                switch(
                    ui,
                    desk,
                    "still_failing",
                    a.still_failing,
                    "another build of a broken job fails",
                );
                switch(
                    ui,
                    desk,
                    "server_outages",
                    a.server_outages,
                    "a server stops answering, and when it is back",
                );
            });
        });
        if desk.alerts.is_some() {
            let paused = desk.notifications_paused();
            let text = if paused {
                "Resume notifications (paused for up to an hour)"
            } else {
                "Pause notifications for 1 hour"
            };
            if ui.button(text).clicked() {
                desk.toggle_pause();
            }
        }

        ui.add_space(8.0);
        ui.heading("Sounds");
        switch(
            ui,
            desk,
            "sounds",
            a.sounds,
            "Play a sound on break and fix",
        );
        let path_of = |p: &Option<std::path::PathBuf>| {
            p.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        let config_file = config.path.as_deref();
        let apply_path = |key: &'static str| {
            move |text: &str| {
                if text.is_empty() {
                    set(desk, key, None);
                } else {
                    sound_file_exists(text, config_file)?;
                    // Saved as typed: the config resolves it on every load, like the file's other paths.
                    set(desk, key, Some(EditValue::Text(text.to_owned())));
                }
                Ok(())
            }
        };
        let hint = "built-in sound (or a .wav/.ogg/.flac/.mp3 path)";
        let p1 = field(
            ui,
            "Broke sound",
            hint,
            &mut self.sound_broke,
            &path_of(&a.sound_broke),
            apply_path("sound_broke"),
        );
        let p2 = field(
            ui,
            "Fixed sound",
            hint,
            &mut self.sound_fixed,
            &path_of(&a.sound_fixed),
            apply_path("sound_fixed"),
        );
        if let Some(alerts) = &desk.alerts {
            ui.horizontal(|ui| {
                ui.label("Listen:");
                if ui.button("Broke").clicked() {
                    alerts.play_now(SoundKind::Broke, a);
                }
                if ui.button("Fixed").clicked() {
                    alerts.play_now(SoundKind::Fixed, a);
                }
            });
        }

        ui.add_space(8.0);
        ui.heading("Quiet hours");
        ui.label(
            "No notifications and no sounds in this time range (local time; may span midnight).",
        );
        let saved = a.quiet_hours.map(|q| q.to_string()).unwrap_or_default();
        let p3 = field(
            ui,
            "Time range",
            "e.g. 22:00-07:00",
            &mut self.quiet,
            &saved,
            |text| {
                if text.is_empty() {
                    set(desk, "quiet_hours", None);
                    return Ok(());
                }
                let q: QuietHours = text.parse()?;
                set(desk, "quiet_hours", Some(EditValue::Text(q.to_string())));
                Ok(())
            },
        );
        for outcome in [p1, p2, p3].into_iter().flatten() {
            self.problem = outcome.err();
        }
        if let Some(p) = &self.problem {
            ui.label(RichText::new(p).color(ui.visuals().error_fg_color));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn sound_paths_are_read_like_the_config_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let config_file = dir.path().join("config.toml");
        std::fs::write(dir.path().join("broke.wav"), b"RIFF").unwrap();
        assert!(sound_file_exists("broke.wav", Some(&config_file)).is_ok());
        let absolute = dir.path().join("broke.wav");
        assert!(sound_file_exists(&absolute.to_string_lossy(), None).is_ok());
        let e = sound_file_exists("fixed.wav", Some(&config_file)).unwrap_err();
        assert!(e.starts_with("fixed.wav: no such file ("), "{e}");

        // `~/` is the home folder (a scratch file there, removed when the test ends).
        let Some(home) = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()) else {
            return;
        };
        let Ok(in_home) = tempfile::Builder::new()
            .prefix(".ledtogo-test-")
            .suffix(".ogg")
            .tempfile_in(&home)
        else {
            return; // a read-only home: nothing to check against
        };
        let name = in_home.path().file_name().unwrap().to_string_lossy();
        assert!(sound_file_exists(&format!("~/{name}"), Some(&config_file)).is_ok());
    }
}
