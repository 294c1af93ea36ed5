//! Edits of the config file made in the window: applied one at a time, on a worker thread, to the file as it
//! is on disk at that moment (so an edit made in a text editor meanwhile is kept), validated, and saved
//! atomically. The window never writes the file itself and keeps no settings of its own: the engine reloads
//! the saved file and publishes the new config, which the window then shows.
//!
//! A token typed in the window goes to the OS keyring (`token_keyring = true`); where no keyring service
//! answers (a headless machine, a bare session) it goes to a private `<name>.token` file (mode 600) next
//! to the config (`token_file`), and the saved edit says so. Once an edit is saved, what the window
//! stored for a server and no entry refers to any more is removed: its keyring entry, and its token file
//! when that is `<name>.token` in the config's folder (the name the window gives it); a token file
//! anywhere else, or one another entry still uses, is the user's and stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use secrecy::ExposeSecret;

use crate::config::{
    Config, ConfigDocument, ServerConfig, ServerEntry, TokenSetting, TokenSource, write_secret,
};
use crate::model::Target;
use crate::sources::credentials::{self, Secret};

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
    /// Puts each listed LED back the way it was (its mapping, whether it is part of the tube): the
    /// window's undo of its last mapping change. LEDs not listed are left alone.
    RestoreLeds(Vec<LedState>),
    /// Sets `key` in the `[[slots]]` entry of `led` (a slot's `sound_broke`, `sound_fixed`); `None` as
    /// value removes the key. An LED without a slot is an error.
    SetSlotValue {
        led: usize,
        key: String,
        value: Option<EditValue>,
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
    /// Adds or updates a server; a new token is stored in the OS keyring, or in a private file next to the
    /// config when no keyring answers ([`TokenStore`]).
    SaveServer {
        old_name: Option<String>,
        entry: ServerEntry,
        token: Option<Secret>,
    },
    /// Removes a server and the LEDs that show it, and the token the window stored for it.
    RemoveServer(String),
}

/// What one LED shows, as [`Edit::RestoreLeds`] puts it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedState {
    pub led: usize,
    /// The mapping (`None`: free, or a tube LED).
    pub target: Option<Target>,
    pub tube: bool,
}

impl LedState {
    /// What `led` shows in `config`.
    pub fn of(config: &Config, led: usize) -> LedState {
        LedState {
            led,
            target: config.slot(led).map(|s| s.target.clone()),
            tube: config.aggregate.leds.contains(&led),
        }
    }
}

/// Where the editor stores a token typed in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenStore {
    /// The OS keyring (`token_keyring = true`); a private token file next to the config when no keyring
    /// service answers.
    #[default]
    Keyring,
    /// Private token files only: the keyring is never touched (the demo's scratch config, tests).
    Files,
}

/// The config file an edit applies to, and where its tokens go.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub path: &'a Path,
    pub tokens: TokenStore,
}

impl Place<'_> {
    /// The config's folder: token files go here.
    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// The token file the window makes for the server `name`.
    fn token_file(&self, name: &str) -> PathBuf {
        self.dir().join(format!("{}.token", safe_file_name(name)))
    }
}

/// A saved edit: the new config, and what the user should know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub config: Config,
    /// E.g. that the token went to a file because no keyring answered.
    pub notice: Option<String>,
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

/// Applies `edit` to `doc`, the file at `place`; a typed token is stored now. Returns what the user should
/// know (a token that went to a file instead of the keyring). The result is not validated here:
/// [`ConfigDocument::save`] refuses an invalid file.
pub fn apply(
    doc: &mut ConfigDocument,
    edit: &Edit,
    place: Place,
) -> Result<Option<String>, String> {
    let current = || Config::parse(&doc.text(), Some(place.path)).map_err(|e| e.to_string());
    let mut notice = None;
    match edit {
        Edit::SetSlot { led, target } => {
            let config = current()?;
            if config.aggregate.leds.contains(led) {
                doc.set_aggregate_leds(&tube_without(&config, *led));
            }
            doc.set_slot(*led, target, &config.kind_of(target.server()));
        }
        Edit::ClearSlot(led) => {
            doc.clear_slot(*led);
        }
        Edit::MoveSlot { from, to } => {
            if from == to {
                return Ok(None);
            }
            let config = current()?;
            if config.slot(*from).is_none() {
                return Err(format!("LED {from} shows nothing to move"));
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
            // The entries move whole: comments and a slot's own sounds go with their job.
            doc.move_slot(*from, *to);
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
        Edit::RestoreLeds(leds) => {
            let config = current()?;
            let mut tube: Vec<usize> = config
                .aggregate
                .leds
                .iter()
                .copied()
                .filter(|l| !leds.iter().any(|s| s.led == *l))
                .collect();
            tube.extend(leds.iter().filter(|s| s.tube).map(|s| s.led));
            tube.sort_unstable();
            let mut before = config.aggregate.leds.clone();
            before.sort_unstable();
            if tube != before {
                doc.set_aggregate_leds(&tube);
            }
            let mapped: Vec<_> = leds
                .iter()
                .filter_map(|s| {
                    let target = s.target.clone()?;
                    let kind = config.kind_of(target.server());
                    Some((s.led, target, kind))
                })
                .collect();
            doc.set_slots(&mapped);
            for state in leds.iter().filter(|s| s.target.is_none()) {
                doc.clear_slot(state.led);
            }
        }
        Edit::SetSlotValue { led, key, value } => {
            if !doc.set_slot_value(*led, key, value.clone().map(Into::into)) {
                return Err(format!(
                    "LED {led} shows nothing: map a job onto it first, then set its `{key}`"
                ));
            }
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
            match token
                .as_ref()
                .map(ExposeSecret::expose_secret)
                .filter(|t| !t.trim().is_empty())
            {
                Some(token) => {
                    let (setting, said) = store_token(&entry, token, place)?;
                    entry.token = setting;
                    notice = said;
                }
                None if place.tokens == TokenStore::Keyring => {
                    let config = current()?;
                    let before = old_name
                        .as_deref()
                        .and_then(|old| config.servers.iter().find(|s| s.name == old));
                    if let Some(before) = before {
                        move_keyring_entry(before, &entry)?;
                    }
                }
                None => {}
            }
            doc.save_server(old_name.as_deref(), &entry);
        }
        Edit::RemoveServer(name) => {
            doc.remove_server(name);
        }
    }
    Ok(notice)
}

/// Stores a typed token for `entry`: in the keyring, else in the server's private token file. Returns
/// the entry's new token setting and, after a fallback, why the keyring was not used.
fn store_token(
    entry: &ServerEntry,
    token: &str,
    place: Place,
) -> Result<(TokenSetting, Option<String>), String> {
    let refused = match (place.tokens, entry.user.as_deref()) {
        (TokenStore::Keyring, Some(user)) => {
            match credentials::keyring_store(&entry.url, user, token) {
                Ok(()) => return Ok((TokenSetting::Keyring, None)),
                Err(e) => Some(e),
            }
        }
        // No user, no keyring entry: the config refuses a token without a user anyway.
        _ => None,
    };
    let file = place.token_file(&entry.name);
    write_secret(&file, token)
        .map_err(|e| format!("cannot store the token in {}: {e}", file.display()))?;
    let notice = refused.map(|e| {
        format!(
            "{e}: the token of server {:?} is stored in {} (readable by you only) instead of the keyring",
            entry.name,
            file.display()
        )
    });
    Ok((TokenSetting::File(file), notice))
}

/// The keyring account of a server entry's token, when the keyring holds it.
fn keyring_account(server: &ServerConfig) -> Option<String> {
    match (&server.token, &server.user) {
        (TokenSource::Keyring, Some(user)) => Some(credentials::keyring_account(&server.url, user)),
        _ => None,
    }
}

/// A server whose token is in the keyring keeps it when its URL or user changes: the token is copied to
/// the new account (the old one is removed after the save, when no entry uses it).
fn move_keyring_entry(before: &ServerConfig, entry: &ServerEntry) -> Result<(), String> {
    let (Some(old), Some(user)) = (keyring_account(before), entry.user.as_deref()) else {
        return Ok(());
    };
    if credentials::keyring_account(&entry.url, user) == old {
        return Ok(());
    }
    let Some(old_user) = before.user.as_deref() else {
        return Ok(());
    };
    let cannot = |e: credentials::KeyringError| {
        format!(
            "cannot move the token of server {:?} in the keyring to the new URL or user: {e}; nothing was \
             changed (type the token again to store it anew)",
            before.name
        )
    };
    let token = credentials::keyring_read(&before.url, old_user).map_err(cannot)?;
    credentials::keyring_store(&entry.url, user, token.expose_secret()).map_err(cannot)
}

/// Removes what the window stored for the servers of `before` and no server of `after` uses: keyring
/// entries, and token files named `<name>.token` in the config's folder. Returns what could not be
/// removed.
fn remove_leftovers(before: &Config, after: &Config, place: Place) -> Vec<String> {
    let mut problems = Vec::new();
    for server in &before.servers {
        match &server.token {
            TokenSource::File(file) if *file == place.token_file(&server.name) => {
                if after.servers.iter().any(|s| s.token == server.token) {
                    continue;
                }
                match std::fs::remove_file(file) {
                    Ok(()) => tracing::debug!("removed the token file {}", file.display()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => problems.push(format!(
                        "cannot remove the token file {} that server {:?} used: {e}; delete it by hand",
                        file.display(),
                        server.name
                    )),
                }
            }
            TokenSource::Keyring if place.tokens == TokenStore::Keyring => {
                let (Some(account), Some(user)) = (keyring_account(server), &server.user) else {
                    continue;
                };
                if after
                    .servers
                    .iter()
                    .any(|s| keyring_account(s).as_ref() == Some(&account))
                {
                    continue;
                }
                match credentials::keyring_delete(&server.url, user) {
                    Ok(_) => tracing::debug!("removed the keyring entry {account}"),
                    Err(e) => problems.push(format!(
                        "cannot remove the token that server {:?} used from the keyring: {e}; delete it \
                         with your keyring's tool (service \"{}\", account {account})",
                        server.name,
                        credentials::KEYRING_SERVICE
                    )),
                }
            }
            _ => {}
        }
    }
    problems
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

/// Loads the file, applies the edit, validates and saves atomically; then removes the tokens the edit
/// left unused.
pub fn apply_to_file(place: Place, edit: &Edit) -> Result<Saved, String> {
    let mut doc = match ConfigDocument::load(place.path) {
        Ok(d) => d,
        Err(e) => return Err(format!("{e} — fix the file first; nothing was changed")),
    };
    let before = Config::parse(&doc.text(), Some(place.path)).ok();
    let mut notices: Vec<String> = apply(&mut doc, edit, place)?.into_iter().collect();
    let config = doc
        .save(place.path)
        .map_err(|e| format!("not saved: {e}; the file is unchanged"))?;
    if let Some(before) = &before {
        notices.extend(remove_leftovers(before, &config, place));
    }
    let notice = (!notices.is_empty()).then(|| notices.join("; "));
    Ok(Saved { config, notice })
}

/// What the editor has done so far, for the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditorState {
    /// Edits sent but not applied yet.
    pub pending: usize,
    /// Edits saved since start.
    pub saved: u64,
    /// Why the last edit was refused, if it was; an edit refused because the file did not load is
    /// forgotten once the file loads again (fixed in a text editor).
    pub last_error: Option<String>,
    /// What the last saved edit that had something to say said (a token stored in a file because no
    /// keyring answered), until dismissed.
    pub last_notice: Option<String>,
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
    /// Starts the worker for the file at `path`, storing typed tokens in the OS keyring. `after` runs
    /// after each edit (saved or refused), on the worker: e.g. ask the engine to reload now and the
    /// window to repaint.
    pub fn spawn(path: PathBuf, after: impl Fn(bool) + Send + 'static) -> std::io::Result<Editor> {
        Self::spawn_with(path, TokenStore::Keyring, after)
    }

    /// Like [`Editor::spawn`], with typed tokens going to `tokens`.
    pub fn spawn_with(
        path: PathBuf,
        tokens: TokenStore,
        after: impl Fn(bool) + Send + 'static,
    ) -> std::io::Result<Editor> {
        let (tx, rx) = mpsc::channel();
        let state = Arc::new(Mutex::new(EditorState::default()));
        let thread = {
            let (path, state) = (path.clone(), state.clone());
            std::thread::Builder::new()
                .name("config-editor".into())
                .spawn(move || {
                    let place = Place {
                        path: &path,
                        tokens,
                    };
                    run(place, &rx, &state, &after);
                })?
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

    /// Forgets the last notice (the user dismissed it).
    pub fn dismiss_notice(&self) {
        update(&self.state, |s| s.last_notice = None);
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

/// How often the editor looks at a config file that refused an edit because it did not load, so the
/// "Change not saved" line goes once the file is fixed (in a text editor, with no new edit).
pub const BROKEN_FILE_RECHECK: Duration = Duration::from_secs(1);

fn run(place: Place, rx: &Receiver<Edit>, state: &Mutex<EditorState>, after: &dyn Fn(bool)) {
    let path = place.path;
    // The last edit was refused while the file on disk did not load: its error lasts until it loads.
    let mut broken_file = false;
    loop {
        let edit = match rx.recv_timeout(BROKEN_FILE_RECHECK) {
            Ok(edit) => edit,
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                if broken_file && Config::load(path).is_ok() {
                    broken_file = false;
                    tracing::debug!(
                        "{}: loads again; the refused edit's error is cleared",
                        path.display()
                    );
                    update(state, |s| s.last_error = None);
                    after(false);
                }
                continue;
            }
        };
        let result = apply_to_file(place, &edit);
        let ok = result.is_ok();
        broken_file = !ok && Config::load(path).is_err();
        match &result {
            Ok(Saved {
                notice: Some(notice),
                ..
            }) => tracing::warn!("{}: saved; {notice}", path.display()),
            Ok(_) => tracing::debug!("{}: saved {edit:?}", path.display()),
            Err(e) => tracing::warn!("{}: {e}", path.display()),
        }
        update(state, |s| {
            s.pending = s.pending.saturating_sub(1);
            match result {
                Ok(saved) => {
                    s.saved += 1;
                    s.last_error = None;
                    if saved.notice.is_some() {
                        s.last_notice = saved.notice;
                    }
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

    /// The config file `config.toml` in `dir`, whose tokens go to files only.
    fn place(dir: &Path) -> (PathBuf, TokenStore) {
        (dir.join("config.toml"), TokenStore::Files)
    }

    fn edited(edit: &Edit) -> Result<Config, String> {
        applied(BASE, edit).map(|(_, config)| config)
    }

    /// `edit` applied to `text`: the document's text and the config it makes, or the edit's refusal.
    fn applied(text: &str, edit: &Edit) -> Result<(String, Config), String> {
        let mut doc = ConfigDocument::parse(text).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (path, tokens) = place(dir.path());
        apply(
            &mut doc,
            edit,
            Place {
                path: &path,
                tokens,
            },
        )?;
        let config = Config::parse(&doc.text(), None).map_err(|e| e.to_string())?;
        Ok((doc.text(), config))
    }

    fn job(path: &str) -> Target {
        Target::Job(JobId::new("ci", path))
    }

    fn target_of(config: &Config, led: usize) -> Option<Target> {
        config.slot(led).map(|s| s.target.clone())
    }

    #[test]
    fn a_slot_sound_is_set_on_its_slot_and_cleared_and_an_unmapped_led_is_refused() {
        let set = |led, value: Option<&str>| Edit::SetSlotValue {
            led,
            key: "sound_fixed".into(),
            value: value.map(|v| EditValue::Text(v.into())),
        };
        let c = edited(&set(1, Some("/s/web.wav"))).unwrap();
        assert_eq!(
            c.slot(1).unwrap().sound_fixed.as_deref(),
            Some(Path::new("/s/web.wav"))
        );
        assert_eq!(c.slot(0).unwrap().sound_fixed, None);
        assert_eq!(target_of(&c, 1), Some(job("web")), "the mapping stays");
        let c = edited(&set(1, None)).unwrap();
        assert_eq!(c.slot(1).unwrap().sound_fixed, None);
        let e = edited(&set(3, Some("/s/x.wav"))).unwrap_err();
        assert_eq!(
            e,
            "LED 3 shows nothing: map a job onto it first, then set its `sound_fixed`"
        );
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

    /// `edit` applied to `text`, as the document's text and the config it makes.
    fn edited_text(text: &str, edit: &Edit) -> (String, Config) {
        applied(text, edit).unwrap()
    }

    const WITH_SOUNDS: &str = "[[servers]]\nname = \"ci\"\nurl = \"http://127.0.0.1:1/\"\n\n\
                               [strip]\nleds = 8\n\n[[slots]]\nled = 0 # the API\njob = \"api\"\n\
                               sound_broke = \"/s/api-broke.wav\"\n\n[[slots]]\nled = 1\njob = \"web\"\n\
                               sound_fixed = \"/s/web-fixed.wav\"\n";

    fn sound_broke(c: &Config, led: usize) -> Option<&Path> {
        c.slot(led).and_then(|s| s.sound_broke.as_deref())
    }

    fn sound_fixed(c: &Config, led: usize) -> Option<&Path> {
        c.slot(led).and_then(|s| s.sound_fixed.as_deref())
    }

    #[test]
    fn a_moved_slot_takes_its_sounds_and_comment_along_and_a_swap_keeps_both() {
        let (text, c) = edited_text(WITH_SOUNDS, &Edit::MoveSlot { from: 0, to: 3 });
        assert_eq!(target_of(&c, 3), Some(job("api")));
        assert_eq!(sound_broke(&c, 3), Some(Path::new("/s/api-broke.wav")));
        assert!(text.contains("led = 3 # the API"), "{text}");
        assert_eq!(c.slot(0), None);

        let (_, c) = edited_text(WITH_SOUNDS, &Edit::MoveSlot { from: 0, to: 1 });
        assert_eq!(target_of(&c, 1), Some(job("api")));
        assert_eq!(sound_broke(&c, 1), Some(Path::new("/s/api-broke.wav")));
        assert_eq!(target_of(&c, 0), Some(job("web")));
        assert_eq!(sound_fixed(&c, 0), Some(Path::new("/s/web-fixed.wav")));
        assert_eq!(sound_broke(&c, 0), None, "web never had api's sound");
    }

    #[test]
    fn undoing_a_swap_puts_both_jobs_back_with_their_sounds() {
        let (swapped, _) = edited_text(WITH_SOUNDS, &Edit::MoveSlot { from: 0, to: 1 });
        let undo = Edit::RestoreLeds(vec![
            LedState {
                led: 0,
                target: Some(job("api")),
                tube: false,
            },
            LedState {
                led: 1,
                target: Some(job("web")),
                tube: false,
            },
        ]);
        let (_, c) = edited_text(&swapped, &undo);
        assert_eq!(target_of(&c, 0), Some(job("api")));
        assert_eq!(sound_broke(&c, 0), Some(Path::new("/s/api-broke.wav")));
        assert_eq!(target_of(&c, 1), Some(job("web")));
        assert_eq!(sound_fixed(&c, 1), Some(Path::new("/s/web-fixed.wav")));
    }

    #[test]
    fn a_job_dropped_onto_a_slot_does_not_inherit_the_replaced_jobs_sounds() {
        let (_, c) = edited_text(
            WITH_SOUNDS,
            &Edit::SetSlot {
                led: 0,
                target: job("deploy"),
            },
        );
        assert_eq!(target_of(&c, 0), Some(job("deploy")));
        assert_eq!(sound_broke(&c, 0), None);
        let (_, c) = edited_text(
            WITH_SOUNDS,
            &Edit::SetSlot {
                led: 0,
                target: job("api"),
            },
        );
        assert_eq!(
            sound_broke(&c, 0),
            Some(Path::new("/s/api-broke.wav")),
            "the same job set again keeps its sound"
        );
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
    fn restoring_leds_puts_back_their_mappings_and_tube_places_and_leaves_the_rest() {
        // As before "web" replaced "api" on LED 0 and LED 6 left the tube for a folder.
        let restore = Edit::RestoreLeds(vec![
            LedState {
                led: 0,
                target: Some(job("api")),
                tube: false,
            },
            LedState {
                led: 6,
                target: None,
                tube: true,
            },
            LedState {
                led: 3,
                target: None,
                tube: false,
            },
        ]);
        let mut doc = ConfigDocument::parse(&format!(
            "{BASE}\n[[slots]]\nled = 6\nfolder = \"team\"\n\n[[slots]]\nled = 3\njob = \"deploy\"\n"
        ))
        .unwrap();
        doc.set_slot(0, &job("web"), &crate::config::ServerKind::Jenkins);
        doc.set_aggregate_leds(&[7]);
        let dir = tempfile::tempdir().unwrap();
        let (path, tokens) = place(dir.path());
        apply(
            &mut doc,
            &restore,
            Place {
                path: &path,
                tokens,
            },
        )
        .unwrap();
        let c = Config::parse(&doc.text(), None).unwrap();
        assert_eq!(target_of(&c, 0), Some(job("api")));
        assert_eq!(target_of(&c, 6), None);
        assert_eq!(target_of(&c, 3), None);
        assert_eq!(target_of(&c, 1), Some(job("web")), "LED 1 was not listed");
        assert_eq!(c.aggregate.leds, [6, 7]);
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
            kind: crate::config::ServerKind::Jenkins,
            url: "http://127.0.0.1:1/".into(),
            user: Some("bob".into()),
            token: TokenSetting::Keep,
        };
        let edit = Edit::SaveServer {
            old_name: Some("ci".into()),
            entry,
            token: Some(Secret::new("abc123")),
        };
        let (path, tokens) = place(dir.path());
        let notice = apply(
            &mut doc,
            &edit,
            Place {
                path: &path,
                tokens,
            },
        )
        .unwrap();
        assert_eq!(notice, None, "files were asked for: no fallback to tell");
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
        let editor = Editor::spawn_with(path.clone(), TokenStore::Files, move |ok| {
            tx.send(ok).unwrap();
        })
        .unwrap();
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
    fn a_change_refused_by_a_broken_file_stops_being_reported_once_the_file_is_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, format!("{BASE}\n[strip\n")).unwrap(); // a syntax error
        let (tx, rx) = mpsc::channel();
        let editor = Editor::spawn_with(path.clone(), TokenStore::Files, move |ok| {
            tx.send(ok).ok();
        })
        .unwrap();
        editor.send(Edit::ClearSlot(1));
        assert!(!rx.recv().unwrap());
        let err = editor.state().last_error.unwrap();
        assert!(err.contains("fix the file first"), "{err}");

        // The user fixes the file in a text editor; no new edit comes from the window.
        std::fs::write(&path, BASE).unwrap();
        let deadline = std::time::Instant::now() + 10 * BROKEN_FILE_RECHECK;
        while editor.state().last_error.is_some() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(editor.state().last_error, None, "the file loads again");
        assert_eq!(editor.state().saved, 0, "nothing was saved meanwhile");
    }

    #[test]
    fn a_change_refused_for_itself_stays_reported_while_the_file_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, BASE).unwrap();
        let (tx, rx) = mpsc::channel();
        let editor = Editor::spawn_with(path.clone(), TokenStore::Files, move |ok| {
            tx.send(ok).ok();
        })
        .unwrap();
        editor.send(Edit::SetSlot {
            led: 20,
            target: job("late"),
        });
        assert!(!rx.recv().unwrap());
        std::thread::sleep(3 * BROKEN_FILE_RECHECK);
        let err = editor.state().last_error.unwrap();
        assert!(err.contains("LED 20 is beyond the strip"), "{err}");
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
            let editor = Editor::spawn_with(path.clone(), TokenStore::Files, move |ok| {
                tx.send(ok).unwrap();
            })
            .unwrap();
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
        let (path, tokens) = place(dir.path());
        let e = apply(
            &mut doc,
            &edit,
            Place {
                path: &path,
                tokens,
            },
        )
        .unwrap_err();
        assert!(e.contains("not true or false"), "{e}");
        assert_eq!(doc.text(), "[alerts]\nsounds = \"loud\"\n");
    }

    #[test]
    fn an_invalid_file_on_disk_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[strip\nleds = 8\n").unwrap();
        let place = Place {
            path: &path,
            tokens: TokenStore::Files,
        };
        let e = apply_to_file(place, &Edit::ClearSlot(0)).unwrap_err();
        assert!(e.contains("fix the file first"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[strip\nleds = 8\n"
        );
    }

    /// A config with servers `a` (a token file the window made), `b` (a token file of the user's, in
    /// the same folder) and `c` (the window-made `c.token`, which `d` uses too).
    fn servers_with_token_files(dir: &Path) -> String {
        for name in ["a.token", "mine.token", "c.token"] {
            write_secret(&dir.join(name), "s3cret").unwrap();
        }
        let server = |name: &str, file: &str| {
            format!(
                "[[servers]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:1/\"\nuser = \"bob\"\n\
                 token_file = \"{file}\"\n"
            )
        };
        let a = dir.join("a.token").display().to_string();
        [
            server("a", &a),
            server("b", "mine.token"),
            server("c", "c.token"),
            server("d", "c.token"),
        ]
        .concat()
    }

    #[test]
    fn removing_a_server_removes_the_token_file_the_window_made_for_it_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, servers_with_token_files(dir.path())).unwrap();
        let place = Place {
            path: &path,
            tokens: TokenStore::Files,
        };
        for name in ["a", "b", "c"] {
            let saved = apply_to_file(place, &Edit::RemoveServer(name.into())).unwrap();
            assert_eq!(saved.notice, None, "{name}");
        }
        assert!(
            !dir.path().join("a.token").exists(),
            "the window's a.token is gone"
        );
        assert!(
            dir.path().join("mine.token").exists(),
            "a token file of the user's own naming stays"
        );
        assert!(
            dir.path().join("c.token").exists(),
            "c.token stays while server d uses it"
        );
        apply_to_file(place, &Edit::RemoveServer("d".into())).unwrap();
        assert!(
            dir.path().join("c.token").exists(),
            "c.token was not made for d: it stays"
        );
        let saved = Config::load(&path).unwrap();
        assert!(saved.servers.is_empty());
    }

    #[test]
    fn a_new_token_replaces_the_token_file_the_window_made_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, servers_with_token_files(dir.path())).unwrap();
        let place = Place {
            path: &path,
            tokens: TokenStore::Files,
        };
        let edit = |old: &str, new: &str| Edit::SaveServer {
            old_name: Some(old.into()),
            entry: ServerEntry {
                name: new.into(),
                kind: crate::config::ServerKind::Jenkins,
                url: "http://127.0.0.1:1/".into(),
                user: Some("bob".into()),
                token: TokenSetting::Keep,
            },
            token: Some(Secret::new("fresh")),
        };
        apply_to_file(place, &edit("a", "renamed")).unwrap();
        assert!(!dir.path().join("a.token").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("renamed.token")).unwrap(),
            "fresh\n"
        );
        let config = Config::load(&path).unwrap();
        assert_eq!(
            config.servers[0].token,
            TokenSource::File(dir.path().join("renamed.token"))
        );
    }

    #[test]
    fn the_log_line_of_a_saved_server_hides_the_typed_token() {
        let edit = Edit::SaveServer {
            old_name: None,
            entry: ServerEntry {
                name: "ci".into(),
                kind: crate::config::ServerKind::Jenkins,
                url: "http://127.0.0.1:1/".into(),
                user: Some("bob".into()),
                token: TokenSetting::Keep,
            },
            token: Some(Secret::new("s3cret-typed")),
        };
        let line = format!("{edit:?}");
        assert!(
            line.contains("\"bob\"") && line.contains("<hidden>"),
            "{line}"
        );
        assert!(!line.contains("s3cret-typed"), "{line}");
    }
}
