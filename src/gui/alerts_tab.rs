//! The Alerts tab: desktop notifications and sounds, per kind, custom sound files and quiet hours — all
//! written to the `[alerts]` table of the config file — plus the runtime "pause notifications", and each
//! LED slot's own sounds (`sound_broke` / `sound_fixed` in its `[[slots]]` entry).

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{RichText, Ui};
use parking_lot::Mutex;

use crate::alerts::{Listen, SoundKind};

use crate::config::{Config, QuietHours, resolve_path};
use crate::settings::{Edit, EditValue};

use super::desk::Desk;

/// Text fields being typed in (applied when confirmed).
#[derive(Debug, Default)]
pub struct AlertsTab {
    sound_broke: Option<String>,
    sound_fixed: Option<String>,
    /// The slots' sound fields being typed in, by LED and key.
    slot_sounds: BTreeMap<(usize, &'static str), Option<String>>,
    /// Opens "Sounds per LED" once (the strip's context menu asked for an LED's sounds).
    show_led: Option<usize>,
    quiet: Option<String>,
    flaky_flips: Option<String>,
    flaky_window: Option<String>,
    /// Why the last typed value was refused.
    problem: Option<String>,
    /// Sound files being checked on a worker thread (setting, text as typed), and the finished checks.
    checking: Vec<(SoundKey, String)>,
    checked: Arc<Mutex<Vec<Checked>>>,
}

/// Which sound setting a typed path is for: `key` in `[alerts]` (`led` is `None`) or in the slot of `led`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SoundKey {
    led: Option<usize>,
    key: &'static str,
}

impl SoundKey {
    fn global(key: &'static str) -> Self {
        Self { led: None, key }
    }

    fn set(self, desk: &Desk, value: Option<EditValue>) {
        match self.led {
            None => set(desk, self.key, value),
            Some(led) => desk.edit(Edit::SetSlotValue {
                led,
                key: self.key.into(),
                value,
            }),
        }
    }
}

/// A finished check of a sound file typed for `key`.
#[derive(Debug)]
struct Checked {
    key: SoundKey,
    text: String,
    result: Result<(), String>,
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

/// The file `text` names, read the way the config reads it (`~/` is the home folder, a relative path is
/// relative to the folder of `config_file`).
fn sound_path(text: &str, config_file: Option<&Path>) -> PathBuf {
    resolve_path(text, config_file.and_then(Path::parent))
}

/// Whether the sound file `text` names can be played ([`crate::alerts::check_sound_file`]); the error
/// starts with the text as typed. Reads the file: call it off the UI thread.
fn check_sound(text: &str, config_file: Option<&Path>) -> Result<(), String> {
    let path = sound_path(text, config_file);
    crate::alerts::check_sound_file(&path).map_err(|e| {
        let e = e
            .strip_prefix(&format!("{}: ", path.display()))
            .unwrap_or(&e)
            .to_owned();
        if path.as_os_str() == text {
            format!("{text}: {e}")
        } else {
            format!("{text} ({}): {e}", path.display())
        }
    })
}

impl AlertsTab {
    /// Checks the sound file typed for `key` on a worker thread; the result is applied in [`show`](Self::show).
    fn check_later(&mut self, desk: &Desk, key: SoundKey, text: &str, config_file: Option<&Path>) {
        let (text, config_file) = (text.to_owned(), config_file.map(Path::to_path_buf));
        let (done, waker) = (self.checked.clone(), desk.waker.clone());
        self.checking.push((key, text.clone()));
        let spawned = std::thread::Builder::new()
            .name("sound-check".into())
            .spawn(move || {
                let result = check_sound(&text, config_file.as_deref());
                done.lock().push(Checked { key, text, result });
                waker.wake();
            });
        if let Err(e) = spawned {
            self.checking.retain(|(k, _)| *k != key);
            self.problem = Some(format!("cannot check the sound file: {e}"));
        }
    }

    /// Saves the sound files whose check passed and says why the others were refused.
    fn apply_checked(&mut self, desk: &Desk) {
        let finished: Vec<Checked> = std::mem::take(&mut *self.checked.lock());
        for c in finished {
            self.checking
                .retain(|(k, t)| !(*k == c.key && *t == c.text));
            match c.result {
                // Saved as typed: the config resolves it on every load, like the file's other paths.
                Ok(()) => c.key.set(desk, Some(EditValue::Text(c.text))),
                Err(e) => self.problem = Some(e),
            }
        }
    }

    /// Opens the sounds of `led` (the strip's context menu: *Sounds of this LED…*).
    pub fn show_sounds_of(&mut self, led: usize) {
        self.show_led = Some(led);
    }

    /// "Sounds per LED": each mapped slot's broke and fixed sound files, typed, checked off the UI
    /// thread and saved in its `[[slots]]` entry; an empty field removes the slot's own sound.
    fn slot_sounds(
        &mut self,
        ui: &mut Ui,
        desk: &Desk,
        config: &Config,
    ) -> Vec<(SoundKey, String)> {
        let set_here = config
            .slots
            .iter()
            .filter(|s| s.sound_broke.is_some() || s.sound_fixed.is_some())
            .count();
        let mut typed = Vec::new();
        let mut header = egui::CollapsingHeader::new(format!("Sounds per LED ({set_here} set)"))
            .id_salt("slot-sounds");
        if self.show_led.take().is_some() {
            header = header.open(Some(true));
            ui.scroll_to_cursor(Some(egui::Align::Center));
        }
        header.show(ui, |ui| {
            ui.label(
                "An LED's own sounds play for the jobs behind it instead of the ones above (a job \
                 behind several: its own job slot's, then the deepest folder's). Empty: the ones above.",
            );
            if config.slots.is_empty() {
                ui.label(RichText::new("No LED shows a job yet.").italics());
            }
            for slot in &config.slots {
                let name = crate::text::visible(&crate::labels::led_name(config, slot.led)).into_owned();
                ui.label(RichText::new(format!("LED {} — {name}", slot.led)).strong());
                for (key, current, what) in [
                    ("sound_broke", &slot.sound_broke, "broke"),
                    ("sound_fixed", &slot.sound_fixed, "fixed"),
                ] {
                    let saved = current
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    let draft = self.slot_sounds.entry((slot.led, key)).or_default();
                    let sound = SoundKey {
                        led: Some(slot.led),
                        key,
                    };
                    let outcome = field(
                        ui,
                        &format!("LED {} {what} sound", slot.led),
                        &format!("the {what} sound above"),
                        draft,
                        &saved,
                        |text| {
                            if text.is_empty() {
                                sound.set(desk, None);
                            } else {
                                typed.push((sound, text.to_owned()));
                            }
                            Ok(())
                        },
                    );
                    if let Some(Err(e)) = outcome {
                        self.problem = Some(e);
                    }
                }
            }
        });
        typed
    }
}

/// The line saying that a platform part does not work, if it does not.
fn unavailable(ui: &mut Ui, what: &str, why: Option<&String>) {
    if let Some(why) = why {
        let text = format!("{what} are unavailable: {}", crate::text::visible(why));
        ui.label(RichText::new(text).color(ui.visuals().warn_fg_color));
    }
}

impl AlertsTab {
    pub fn show(&mut self, ui: &mut Ui, desk: &Desk, config: &Config) {
        self.apply_checked(desk);
        let status = desk.alerts.as_ref().map(crate::alerts::AlertHandle::status);
        let a = &config.alerts;
        ui.heading("Notifications");
        unavailable(
            ui,
            "Notifications",
            status
                .as_ref()
                .and_then(|s| s.notifications_unavailable.as_ref()),
        );
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
        unavailable(
            ui,
            "Sounds",
            status
                .as_ref()
                .and_then(|s| s.sounds_unavailable.as_ref())
                .map(|why| format!("no audio device ({why})"))
                .as_ref(),
        );
        let path_of = |p: &Option<std::path::PathBuf>| {
            p.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        let config_file = config.path.as_deref();
        let hint = "built-in sound (or a .wav/.ogg/.flac/.mp3 path)";
        let typed: std::cell::RefCell<Vec<(SoundKey, String)>> = Default::default();
        let apply_path = |key: &'static str| {
            let typed = &typed;
            move |text: &str| {
                if text.is_empty() {
                    set(desk, key, None);
                } else {
                    typed
                        .borrow_mut()
                        .push((SoundKey::global(key), text.to_owned()));
                }
                Ok(())
            }
        };
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
        let mut typed = typed.into_inner();
        typed.extend(self.slot_sounds(ui, desk, config));
        for (key, text) in typed {
            self.check_later(desk, key, &text, config_file);
        }
        for (_, text) in &self.checking {
            ui.label(RichText::new(format!("Checking {text}…")).weak());
        }
        if let Some(alerts) = &desk.alerts {
            ui.horizontal(|ui| {
                ui.label("Listen:");
                if ui.button("Broke").clicked() {
                    alerts.play_now(SoundKind::Broke, a);
                }
                if ui.button("Fixed").clicked() {
                    alerts.play_now(SoundKind::Fixed, a);
                }
                match status.as_ref().and_then(|s| s.listen.as_ref()) {
                    Some(listen @ (Listen::Failed(_) | Listen::Busy)) => {
                        let text = crate::text::visible(&listen.to_string()).into_owned();
                        ui.label(RichText::new(text).color(ui.visuals().warn_fg_color));
                    }
                    Some(listen) => {
                        ui.label(RichText::new(listen.to_string()).weak());
                    }
                    None => {}
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

        ui.add_space(8.0);
        ui.heading("Flaky jobs");
        ui.label(
            "A job whose builds flip between failure and success this often is flaky: its LED \
             blinks, and its breaks and fixes come as one digest a day.",
        );
        let p4 = field(
            ui,
            "Flips",
            "3",
            &mut self.flaky_flips,
            &a.flaky_flips.0.to_string(),
            |text| {
                let n: i64 = text
                    .parse()
                    .map_err(|_| format!("flaky_flips {text:?} is not a whole number"))?;
                let flips = crate::config::FlakyFlips::try_from(n)?;
                set(
                    desk,
                    "flaky_flips",
                    Some(EditValue::Int(i64::from(flips.0))),
                );
                Ok(())
            },
        );
        let p5 = field(
            ui,
            "Within",
            "24h",
            &mut self.flaky_window,
            &a.flaky_window.to_string(),
            |text| {
                let window = crate::config::FlakyWindow::try_from(text.to_owned())?;
                set(
                    desk,
                    "flaky_window",
                    Some(EditValue::Text(window.to_string())),
                );
                Ok(())
            },
        );
        for outcome in [p1, p2, p3, p4, p5].into_iter().flatten() {
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
        let absolute = dir.path().join("broke.wav");
        assert_eq!(sound_path("broke.wav", Some(&config_file)), absolute);
        assert_eq!(sound_path(&absolute.to_string_lossy(), None), absolute);
        let e = check_sound("fixed.wav", Some(&config_file)).unwrap_err();
        assert!(e.starts_with("fixed.wav ("), "{e}");
        assert!(e.contains("fixed.wav): No such file"), "{e}");
        std::fs::write(&absolute, b"").unwrap();
        let e = check_sound("broke.wav", Some(&config_file)).unwrap_err();
        assert!(e.ends_with("broke.wav): the file is empty"), "{e}");

        // `~/` is the home folder.
        let Some(home) = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()) else {
            return;
        };
        assert_eq!(
            sound_path("~/a.ogg", Some(&config_file)),
            home.join("a.ogg")
        );
    }
}
