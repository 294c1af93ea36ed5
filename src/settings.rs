//! Edits of the config file made in the window: applied one at a time, on a worker thread, to the file as it
//! is on disk at that moment (so an edit made in a text editor meanwhile is kept), validated, and saved
//! atomically. The window never writes the file itself and keeps no settings of its own: the engine reloads
//! the saved file and publishes the new config, which the window then shows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use parking_lot::Mutex;

use crate::config::{Config, ConfigDocument, ServerEntry, write_secret};
use crate::model::Target;

/// One change the user made.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Shows `target` on `led` (a tube LED stops being part of the tube).
    SetSlot {
        led: usize,
        target: Target,
    },
    ClearSlot(usize),
    /// Moves the mapping of `from` to `to`; when `to` is mapped too, the two swap.
    MoveSlot {
        from: usize,
        to: usize,
    },
    /// Adds `led` to the aggregate "tube" (clearing its mapping) or removes it.
    SetTube {
        led: usize,
        on: bool,
    },
    /// Sets `key` in `[table]` (top level for `None`); `None` as value removes the key.
    SetValue {
        table: Option<String>,
        key: String,
        value: Option<EditValue>,
    },
    /// Flips the switch `key` in `[table]` as it is in the file at that moment (`default` when it is not
    /// there), so quick toggles in a row never read a stale value (the tray's "Mute sounds").
    ToggleBool {
        table: Option<String>,
        key: String,
        default: bool,
    },
    /// Adds or updates a server; a new token is stored in a private file next to the config.
    SaveServer {
        old_name: Option<String>,
        entry: ServerEntry,
        token: Option<String>,
    },
    /// Removes a server and the LEDs that show it.
    RemoveServer(String),
}

/// A value for [`Edit::SetValue`].
#[derive(Debug, Clone, PartialEq)]
pub enum EditValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<String>),
}

impl From<EditValue> for toml_edit::Value {
    fn from(v: EditValue) -> Self {
        match v {
            EditValue::Bool(b) => b.into(),
            EditValue::Int(i) => i.into(),
            EditValue::Float(f) => f.into(),
            EditValue::Text(t) => t.into(),
            EditValue::List(items) => toml_edit::Value::Array(items.iter().collect()),
        }
    }
}

/// The tube's LEDs without `led`.
fn tube_without(config: &Config, led: usize) -> Vec<usize> {
    let tube = config.aggregate.leds.iter().copied();
    tube.filter(|l| *l != led).collect()
}

/// Applies `edit` to `doc`. `config_dir` is where token files go. The result is not validated here:
/// [`ConfigDocument::save`] refuses an invalid file.
pub fn apply(doc: &mut ConfigDocument, edit: &Edit, config_dir: &Path) -> Result<(), String> {
    let current = || Config::parse(&doc.text(), None).map_err(|e| e.to_string());
    match edit {
        Edit::SetSlot { led, target } => {
            let config = current()?;
            if config.aggregate.leds.contains(led) {
                doc.set_aggregate_leds(&tube_without(&config, *led));
            }
            doc.set_slot(*led, target);
        }
        Edit::ClearSlot(led) => {
            doc.clear_slot(*led);
        }
        Edit::MoveSlot { from, to } => {
            if from == to {
                return Ok(());
            }
            let config = current()?;
            let Some(moving) = config.slot(*from).map(|s| s.target.clone()) else {
                return Err(format!("LED {from} shows nothing to move"));
            };
            match config.slot(*to).map(|s| s.target.clone()) {
                Some(other) => doc.set_slot(*from, &other),
                None => {
                    doc.clear_slot(*from);
                }
            }
            if config.aggregate.leds.contains(to) {
                let rest: Vec<usize> = config
                    .aggregate
                    .leds
                    .iter()
                    .map(|&l| if l == *to { *from } else { l })
                    .collect();
                doc.set_aggregate_leds(&rest);
            }
            doc.set_slot(*to, &moving);
        }
        Edit::SetTube { led, on } => {
            let config = current()?;
            let mut leds = tube_without(&config, *led);
            if *on {
                leds.push(*led);
                doc.clear_slot(*led);
            }
            doc.set_aggregate_leds(&leds);
        }
        Edit::SetValue { table, key, value } => match value {
            Some(v) => doc.set_value(table.as_deref(), key, v.clone().into()),
            None => {
                doc.remove_value(table.as_deref(), key);
            }
        },
        Edit::ToggleBool {
            table,
            key,
            default,
        } => {
            let on = match doc.value(table.as_deref(), key) {
                None => *default,
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| format!("`{key}` is not true or false; nothing was changed"))?,
            };
            doc.set_value(table.as_deref(), key, (!on).into());
        }
        Edit::SaveServer {
            old_name,
            entry,
            token,
        } => {
            let mut entry = entry.clone();
            if let Some(token) = token.as_deref().filter(|t| !t.trim().is_empty()) {
                let file = config_dir.join(format!("{}.token", safe_file_name(&entry.name)));
                write_secret(&file, token)
                    .map_err(|e| format!("cannot store the token in {}: {e}", file.display()))?;
                entry.token_file = Some(file);
            }
            doc.save_server(old_name.as_deref(), &entry);
        }
        Edit::RemoveServer(name) => {
            doc.remove_server(name);
        }
    }
    Ok(())
}

/// A server name made safe as a file name.
fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    if trimmed.is_empty() {
        "server".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Loads the file, applies the edit, validates and saves atomically.
pub fn apply_to_file(path: &Path, edit: &Edit) -> Result<Config, String> {
    let mut doc = match ConfigDocument::load(path) {
        Ok(d) => d,
        Err(e) => return Err(format!("{e} — fix the file first; nothing was changed")),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    apply(&mut doc, edit, dir)?;
    doc.save(path)
        .map_err(|e| format!("not saved: {e}; the file is unchanged"))
}

/// What the editor has done so far, for the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditorState {
    /// Edits sent but not applied yet.
    pub pending: usize,
    /// Edits saved since start.
    pub saved: u64,
    /// Why the last edit was refused, if it was.
    pub last_error: Option<String>,
}

/// The worker that owns writing the config file.
#[derive(Debug)]
pub struct Editor {
    path: PathBuf,
    tx: Option<Sender<Edit>>,
    state: Arc<Mutex<EditorState>>,
    thread: Option<JoinHandle<()>>,
}

impl Editor {
    /// Starts the worker for the file at `path`. `after` runs after each edit (saved or refused), on the
    /// worker: e.g. ask the engine to reload now and the window to repaint.
    pub fn spawn(path: PathBuf, after: impl Fn(bool) + Send + 'static) -> std::io::Result<Editor> {
        let (tx, rx) = mpsc::channel();
        let state = Arc::new(Mutex::new(EditorState::default()));
        let thread = {
            let (path, state) = (path.clone(), state.clone());
            std::thread::Builder::new()
                .name("config-editor".into())
                .spawn(move || run(&path, &rx, &state, &after))?
        };
        Ok(Editor {
            path,
            tx: Some(tx),
            state,
            thread: Some(thread),
        })
    }

    /// The file being edited.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues an edit; never blocks.
    pub fn send(&self, edit: Edit) {
        update(&self.state, |s| s.pending += 1);
        if let Some(tx) = &self.tx
            && tx.send(edit).is_err()
        {
            update(&self.state, |s| {
                s.pending = s.pending.saturating_sub(1);
                s.last_error = Some("the config editor has stopped; restart ledtogo".into());
            });
        }
    }

    pub fn state(&self) -> EditorState {
        self.state.lock().clone()
    }

    /// Forgets the last error (the user dismissed it).
    pub fn dismiss_error(&self) {
        update(&self.state, |s| s.last_error = None);
    }
}

impl Drop for Editor {
    fn drop(&mut self) {
        // Closing the channel ends the worker after the queued edits; wait so none is lost.
        self.tx = None;
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("the config editor thread panicked");
        }
    }
}

fn update(state: &Mutex<EditorState>, f: impl FnOnce(&mut EditorState)) {
    f(&mut state.lock());
}

fn run(path: &Path, rx: &Receiver<Edit>, state: &Mutex<EditorState>, after: &dyn Fn(bool)) {
    for edit in rx {
        let result = apply_to_file(path, &edit);
        let ok = result.is_ok();
        match result {
            Ok(_) => tracing::debug!("{}: saved {edit:?}", path.display()),
            Err(ref e) => tracing::warn!("{}: {e}", path.display()),
        }
        update(state, |s| {
            s.pending = s.pending.saturating_sub(1);
            match result {
                Ok(_) => {
                    s.saved += 1;
                    s.last_error = None;
                }
                Err(e) => s.last_error = Some(e),
            }
        });
        after(ok);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::JobId;

    const BASE: &str = "[[servers]]\nname = \"ci\"\nurl = \"http://127.0.0.1:1/\"\n\n[strip]\nleds = 8\n\n\
                        [aggregate]\nleds = [6, 7]\n\n[[slots]]\nled = 0\njob = \"api\"\n\n\
                        [[slots]]\nled = 1\njob = \"web\"\n";

    fn edited(edit: &Edit) -> Result<Config, String> {
        let mut doc = ConfigDocument::parse(BASE).unwrap();
        let dir = tempfile::tempdir().unwrap();
        apply(&mut doc, edit, dir.path())?;
        Config::parse(&doc.text(), None).map_err(|e| e.to_string())
    }

    fn job(path: &str) -> Target {
        Target::Job(JobId::new("ci", path))
    }

    fn target_of(config: &Config, led: usize) -> Option<Target> {
        config.slot(led).map(|s| s.target.clone())
    }

    #[test]
    fn moving_onto_a_free_led_moves_the_mapping() {
        let c = edited(&Edit::MoveSlot { from: 0, to: 3 }).unwrap();
        assert_eq!(target_of(&c, 0), None);
        assert_eq!(target_of(&c, 3), Some(job("api")));
    }

    #[test]
    fn moving_onto_a_mapped_led_swaps_the_two() {
        let c = edited(&Edit::MoveSlot { from: 0, to: 1 }).unwrap();
        assert_eq!(target_of(&c, 0), Some(job("web")));
        assert_eq!(target_of(&c, 1), Some(job("api")));
    }

    #[test]
    fn moving_onto_a_tube_led_swaps_the_tube_led_too() {
        let c = edited(&Edit::MoveSlot { from: 0, to: 6 }).unwrap();
        assert_eq!(target_of(&c, 6), Some(job("api")));
        assert_eq!(c.aggregate.leds, [0, 7]);
    }

    #[test]
    fn assigning_a_tube_led_takes_it_out_of_the_tube() {
        let c = edited(&Edit::SetSlot {
            led: 7,
            target: Target::Folder {
                server: "ci".into(),
                path: vec!["team".into()],
            },
        })
        .unwrap();
        assert_eq!(c.aggregate.leds, [6]);
        assert!(matches!(target_of(&c, 7), Some(Target::Folder { .. })));
    }

    #[test]
    fn adding_a_mapped_led_to_the_tube_clears_its_mapping() {
        let c = edited(&Edit::SetTube { led: 1, on: true }).unwrap();
        assert_eq!(c.aggregate.leds, [1, 6, 7]);
        assert_eq!(target_of(&c, 1), None);
        let c = edited(&Edit::SetTube { led: 6, on: false }).unwrap();
        assert_eq!(c.aggregate.leds, [7]);
    }

    #[test]
    fn moving_an_empty_led_is_refused() {
        let e = edited(&Edit::MoveSlot { from: 4, to: 5 }).unwrap_err();
        assert!(e.contains("LED 4 shows nothing"), "{e}");
    }

    #[test]
    fn a_new_token_goes_to_a_private_file_named_after_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let mut doc = ConfigDocument::parse(BASE).unwrap();
        let entry = ServerEntry {
            name: "ci/../x".into(),
            url: "http://127.0.0.1:1/".into(),
            user: Some("bob".into()),
            token_file: None,
        };
        let edit = Edit::SaveServer {
            old_name: Some("ci".into()),
            entry,
            token: Some("abc123".into()),
        };
        apply(&mut doc, &edit, dir.path()).unwrap();
        let file = dir.path().join("ci_.._x.token");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "abc123\n");
        assert!(doc.text().contains("ci_.._x.token"), "{}", doc.text());
    }

    #[test]
    fn the_editor_saves_in_order_and_refuses_an_invalid_result() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, BASE).unwrap();
        let (tx, rx) = mpsc::channel();
        let editor = Editor::spawn(path.clone(), move |ok| tx.send(ok).unwrap()).unwrap();
        editor.send(Edit::ClearSlot(1));
        editor.send(Edit::SetSlot {
            led: 20,
            target: job("late"),
        });
        assert!(rx.recv().unwrap());
        assert!(!rx.recv().unwrap());
        let state = editor.state();
        assert_eq!((state.saved, state.pending), (1, 0));
        let err = state.last_error.unwrap();
        assert!(err.contains("LED 20 is beyond the strip"), "{err}");
        let saved = Config::load(&path).unwrap();
        assert_eq!(
            saved.slots.len(),
            1,
            "the first edit is saved, the second is not"
        );
    }

    #[test]
    fn two_toggles_in_a_row_bring_the_file_back_to_where_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let toggle = || Edit::ToggleBool {
            table: Some("alerts".into()),
            key: "sounds".into(),
            default: true,
        };
        for (text, start) in [
            (BASE.to_owned(), true),
            (format!("{BASE}\n[alerts]\nsounds = false   # shh\n"), false),
        ] {
            std::fs::write(&path, &text).unwrap();
            let (tx, rx) = mpsc::channel();
            let editor = Editor::spawn(path.clone(), move |ok| tx.send(ok).unwrap()).unwrap();
            editor.send(toggle());
            editor.send(toggle());
            assert!(rx.recv().unwrap() && rx.recv().unwrap());
            assert_eq!(Config::load(&path).unwrap().alerts.sounds, start, "{text}");
            editor.send(toggle());
            assert!(rx.recv().unwrap());
            let after = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                Config::load(&path).unwrap().alerts.sounds,
                !start,
                "{after}"
            );
            if !start {
                assert!(
                    after.contains("sounds = true   # shh"),
                    "comment kept: {after}"
                );
            }
        }
    }

    #[test]
    fn toggling_a_value_that_is_not_a_switch_is_refused() {
        let mut doc = ConfigDocument::parse("[alerts]\nsounds = \"loud\"\n").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let edit = Edit::ToggleBool {
            table: Some("alerts".into()),
            key: "sounds".into(),
            default: true,
        };
        let e = apply(&mut doc, &edit, dir.path()).unwrap_err();
        assert!(e.contains("not true or false"), "{e}");
        assert_eq!(doc.text(), "[alerts]\nsounds = \"loud\"\n");
    }

    #[test]
    fn an_invalid_file_on_disk_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[strip\nleds = 8\n").unwrap();
        let e = apply_to_file(&path, &Edit::ClearSlot(0)).unwrap_err();
        assert!(e.contains("fix the file first"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[strip\nleds = 8\n"
        );
    }
}
