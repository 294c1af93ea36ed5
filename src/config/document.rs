//! The comment-keeping config editor: `ConfigDocument` opens the user's file with `toml_edit`, changes
//! it key by key for the window (slots, servers, strip, alerts…) and saves it validated and atomically;
//! `ServerEntry` is a server as the settings form edits it.

use std::path::{Path, PathBuf};

use super::files::write_atomic;
use super::{Config, ConfigError, line_col};
use crate::model::Target;

/// A server as the settings form edits it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerEntry {
    pub name: String,
    /// The kind with its own keys (`repos`, `projects`, `upstream`), written as `kind = "…"`.
    pub kind: super::ServerKind,
    pub url: String,
    pub user: Option<String>,
    /// Where the token is stored.
    pub token: TokenSetting,
}

/// Where a server entry's token is stored, as the settings editor writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TokenSetting {
    /// As the entry has it now (`token_env`, `token_file`, `token_keyring` or none).
    #[default]
    Keep,
    /// `token_file = "…"`.
    File(PathBuf),
    /// `token_keyring = true`: the OS keyring entry of the URL and user.
    Keyring,
}

/// A config file opened for editing: the user's text with its comments, changed key by key.
#[derive(Debug, Clone)]
pub struct ConfigDocument {
    doc: toml_edit::DocumentMut,
}

impl ConfigDocument {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let doc = text
            .parse::<toml_edit::DocumentMut>()
            .map_err(|e| ConfigError::Invalid {
                path: "<config>".into(),
                line: e.span().map_or(1, |s| line_col(text, s.start).0),
                column: e.span().map_or(1, |s| line_col(text, s.start).1),
                message: e.message().to_owned(),
            })?;
        Ok(Self { doc })
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            message: format!("cannot read the config file: {e}"),
        })?;
        Self::parse(&text).map_err(|e| with_path(e, path))
    }

    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// Maps `led` to `target` (of a server of `kind`, which says how its names are written),
    /// replacing whatever was on it. The slot's own settings (`sound_broke`, `sound_fixed`) follow their
    /// job: they come from an entry that already maps `target` (this LED's first, else another LED's),
    /// and the replaced job's go with it.
    pub fn set_slot(&mut self, led: usize, target: &Target, kind: &super::ServerKind) {
        let extras = self.slot_extras(led, target, kind);
        self.put_slot(led, target, kind, extras);
    }

    /// [`ConfigDocument::set_slot`] for several LEDs at once, each entry's settings taken from the
    /// document as it was before any of them changed (putting back two swapped LEDs keeps both jobs'
    /// settings).
    pub fn set_slots(&mut self, slots: &[(usize, Target, super::ServerKind)]) {
        let extras: Vec<_> = slots
            .iter()
            .map(|(led, target, kind)| self.slot_extras(*led, target, kind))
            .collect();
        for ((led, target, kind), extras) in slots.iter().zip(extras) {
            self.put_slot(*led, target, kind, extras);
        }
    }

    /// Moves the `[[slots]]` entry of `from` to `to` whole (its comments and settings too); an entry on
    /// `to` moves to `from` (a swap). Returns false when `from` has no entry.
    pub fn move_slot(&mut self, from: usize, to: usize) -> bool {
        let (from_led, to_led) = (
            i64::try_from(from).unwrap_or(i64::MAX),
            i64::try_from(to).unwrap_or(i64::MAX),
        );
        let slots = self.slots_mut();
        let led_of = |t: &toml_edit::Table| t.get("led").and_then(toml_edit::Item::as_integer);
        let Some(moving) = slots.iter().position(|t| led_of(t) == Some(from_led)) else {
            return false;
        };
        let other = slots.iter().position(|t| led_of(t) == Some(to_led));
        if let Some(t) = slots.get_mut(moving) {
            set_led(t, to_led);
        }
        if let Some(t) = other.and_then(|i| slots.get_mut(i)) {
            set_led(t, from_led);
        }
        true
    }

    /// The keys of the entry mapping `target` other than what says where and what (`led`, `server`,
    /// `job`, `folder`): the entry on `led` when it maps `target`, else the first other one that does.
    fn slot_extras(
        &mut self,
        led: usize,
        target: &Target,
        kind: &super::ServerKind,
    ) -> Vec<(String, toml_edit::Item)> {
        let wanted = slot_keys(target, kind);
        let led = i64::try_from(led).ok();
        let slots = self.slots_mut();
        let maps = |t: &toml_edit::Table| {
            let text = |k: &str| {
                t.get(k)
                    .and_then(toml_edit::Item::as_str)
                    .map(str::to_owned)
            };
            // An entry without `server` names the config's only server.
            text("server").is_none_or(|s| s == wanted.0)
                && match &wanted.1 {
                    Some((key, path)) => text(key).as_deref() == Some(path.as_str()),
                    None => t.get("job").is_none() && t.get("folder").is_none(),
                }
        };
        let on_led = slots
            .iter()
            .find(|t| t.get("led").and_then(toml_edit::Item::as_integer) == led)
            .filter(|t| maps(t));
        let Some(entry) = on_led.or_else(|| slots.iter().find(|t| maps(t))) else {
            return Vec::new();
        };
        entry
            .iter()
            .filter(|(k, _)| !matches!(*k, "led" | "server" | "job" | "folder"))
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    }

    /// Writes the entry of `led` for `target` with `extras`, replacing the one on `led`.
    fn put_slot(
        &mut self,
        led: usize,
        target: &Target,
        kind: &super::ServerKind,
        extras: Vec<(String, toml_edit::Item)>,
    ) {
        let mut table = toml_edit::Table::new();
        table.insert(
            "led",
            toml_edit::value(i64::try_from(led).unwrap_or(i64::MAX)),
        );
        let (server, what) = slot_keys(target, kind);
        table.insert("server", toml_edit::value(server));
        if let Some((key, path)) = what {
            table.insert(key, toml_edit::value(path));
        }
        for (key, value) in extras {
            table.insert(&key, value);
        }
        let slots = self.slots_mut();
        let wanted = i64::try_from(led).ok();
        let existing = slots
            .iter()
            .position(|t| t.get("led").and_then(toml_edit::Item::as_integer) == wanted);
        match existing.and_then(|i| slots.get_mut(i)) {
            Some(existing) => *existing = table,
            None => slots.push(table),
        }
    }

    /// Removes the mapping of `led`. Returns whether there was one.
    pub fn clear_slot(&mut self, led: usize) -> bool {
        let slots = self.slots_mut();
        let before = slots.len();
        slots.retain(|t| {
            t.get("led").and_then(toml_edit::Item::as_integer) != i64::try_from(led).ok()
        });
        slots.len() != before
    }

    /// Sets `key` in the `[[slots]]` entry of `led` (removes it for `None`), keeping the entry's other keys
    /// and comments. Returns false when no entry maps `led`.
    pub fn set_slot_value(
        &mut self,
        led: usize,
        key: &str,
        value: Option<toml_edit::Value>,
    ) -> bool {
        let wanted = i64::try_from(led).ok();
        let slots = self.slots_mut();
        let Some(slot) = slots
            .iter_mut()
            .find(|t| t.get("led").and_then(toml_edit::Item::as_integer) == wanted)
        else {
            return false;
        };
        match value {
            Some(v) => {
                slot.insert(key, toml_edit::Item::Value(v));
            }
            None => {
                slot.remove(key);
            }
        }
        true
    }

    fn slots_mut(&mut self) -> &mut toml_edit::ArrayOfTables {
        self.array_mut("slots")
    }

    /// Sets `key` in `[table]` (or at the top level for `None`), keeping the key's comments.
    pub fn set_value(&mut self, table: Option<&str>, key: &str, value: toml_edit::Value) {
        let target = self.table_mut(table);
        match target.get_mut(key).and_then(toml_edit::Item::as_value_mut) {
            Some(existing) => {
                // Keep the comment after the old value (e.g. `brightness = 0.5   # 0.0 – 1.0`).
                let decor = existing.decor().clone();
                *existing = value;
                *existing.decor_mut() = decor;
            }
            None => {
                target.insert(key, toml_edit::Item::Value(value));
            }
        }
    }

    /// The value of `key` in `[table]` (top level for `None`), if it is there.
    pub fn value(&self, table: Option<&str>, key: &str) -> Option<&toml_edit::Value> {
        let table = match table {
            None => self.doc.as_table() as &dyn toml_edit::TableLike,
            Some(name) => self.doc.get(name)?.as_table_like()?,
        };
        table.get(key)?.as_value()
    }

    /// Removes `key` from `[table]`. Returns whether it was there.
    pub fn remove_value(&mut self, table: Option<&str>, key: &str) -> bool {
        self.table_mut(table).remove(key).is_some()
    }

    fn table_mut(&mut self, table: Option<&str>) -> &mut toml_edit::Table {
        let Some(name) = table else {
            return self.doc.as_table_mut();
        };
        if !self.doc.get(name).is_some_and(toml_edit::Item::is_table) {
            self.doc.insert(name, toml_edit::table());
        }
        match self.doc[name].as_table_mut() {
            Some(t) => t,
            None => unreachable!("`{name}` was just made a table"),
        }
    }

    /// Sets the aggregate ("tube") LEDs, sorted.
    pub fn set_aggregate_leds(&mut self, leds: &[usize]) {
        let mut sorted = leds.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let array: toml_edit::Array = sorted
            .iter()
            .map(|&l| i64::try_from(l).unwrap_or(i64::MAX))
            .collect();
        self.set_value(Some("aggregate"), "leds", toml_edit::Value::Array(array));
    }

    /// Adds a server, or updates the one named `old_name` (renaming it in the slots that name it).
    /// Keys the form does not show (`ca_file`, `folder`, `poll_seconds`…) are kept.
    pub fn save_server(&mut self, old_name: Option<&str>, server: &ServerEntry) {
        let servers = self.array_mut("servers");
        let index = old_name.and_then(|old| {
            servers
                .iter()
                .position(|t| t.get("name").and_then(toml_edit::Item::as_str) == Some(old))
        });
        let table = match index {
            Some(i) => match servers.get_mut(i) {
                Some(t) => t,
                None => unreachable!("index {i} was just found"),
            },
            None => {
                servers.push(toml_edit::Table::new());
                let last = servers.len() - 1;
                match servers.get_mut(last) {
                    Some(t) => t,
                    None => unreachable!("a table was just pushed"),
                }
            }
        };
        table.insert("name", toml_edit::value(server.name.as_str()));
        let list = |items: &[String]| {
            let mut array = toml_edit::Array::new();
            for item in items {
                array.push(item.as_str());
            }
            toml_edit::value(array)
        };
        match &server.kind {
            super::ServerKind::Jenkins => {
                table.remove("kind");
            }
            kind => {
                table.insert("kind", toml_edit::value(kind.name()));
            }
        }
        match &server.kind {
            super::ServerKind::GitHub { repos } => {
                table.insert("repos", list(repos));
            }
            _ => {
                table.remove("repos");
            }
        }
        match &server.kind {
            super::ServerKind::GitLab { projects } => {
                table.insert("projects", list(projects));
            }
            _ => {
                table.remove("projects");
            }
        }
        match &server.kind {
            super::ServerKind::Ledtogo {
                upstream: Some(upstream),
            } => {
                table.insert("upstream", toml_edit::value(upstream.as_str()));
            }
            _ => {
                table.remove("upstream");
            }
        }
        if server.kind != super::ServerKind::Jenkins {
            // Jenkins-only keys would make the entry invalid.
            table.remove("folder");
            table.remove("view");
        }
        table.insert("url", toml_edit::value(server.url.as_str()));
        match server.user.as_deref().filter(|u| !u.is_empty()) {
            Some(user) => {
                table.insert("user", toml_edit::value(user));
            }
            None => {
                table.remove("user");
            }
        }
        match &server.token {
            TokenSetting::Keep => {}
            TokenSetting::File(file) => {
                table.remove("token_env");
                table.remove("token_keyring");
                table.insert("token_file", toml_edit::value(file.display().to_string()));
            }
            TokenSetting::Keyring => {
                table.remove("token_env");
                table.remove("token_file");
                table.insert("token_keyring", toml_edit::value(true));
            }
        }
        if let Some(old) = old_name.filter(|old| *old != server.name) {
            for slot in self.array_mut("slots").iter_mut() {
                if slot.get("server").and_then(toml_edit::Item::as_str) == Some(old) {
                    slot.insert("server", toml_edit::value(server.name.as_str()));
                }
            }
        }
    }

    /// Removes a server and the slots that show it. Returns how many slots went with it.
    pub fn remove_server(&mut self, name: &str) -> usize {
        let servers = self.array_mut("servers");
        let before = servers.len();
        servers.retain(|t| t.get("name").and_then(toml_edit::Item::as_str) != Some(name));
        // Slots may leave `server` out when there is one server: those belonged to it.
        let was_only = before == 1 && servers.is_empty();
        let slots = self.array_mut("slots");
        let before = slots.len();
        slots.retain(
            |t| match t.get("server").and_then(toml_edit::Item::as_str) {
                Some(s) => s != name,
                None => !was_only,
            },
        );
        before - slots.len()
    }

    fn array_mut(&mut self, name: &str) -> &mut toml_edit::ArrayOfTables {
        if self
            .doc
            .get(name)
            .and_then(toml_edit::Item::as_array_of_tables)
            .is_none()
        {
            self.doc.insert(
                name,
                toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()),
            );
        }
        match self.doc[name].as_array_of_tables_mut() {
            Some(a) => a,
            None => unreachable!("`{name}` was just made an array of tables"),
        }
    }

    /// Validates the edited text and writes it atomically with [`write_atomic`](super::write_atomic)
    /// (through a symlink, keeping the file's permissions). An invalid result is refused and the file
    /// is left untouched.
    pub fn save(&self, path: &Path) -> Result<Config, ConfigError> {
        let text = self.text();
        let config = Config::parse(&text, Some(path))?;
        write_atomic(path, text.as_bytes()).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            message: format!("cannot save the config: {e}"),
        })?;
        Ok(config)
    }
}

fn with_path(e: ConfigError, path: &Path) -> ConfigError {
    match e {
        ConfigError::Invalid {
            line,
            column,
            message,
            ..
        } => ConfigError::Invalid {
            path: path.display().to_string(),
            line,
            column,
            message,
        },
        other => other,
    }
}

/// How a `[[slots]]` entry names `target`: its `server`, and `job` or `folder` with the path as the
/// server's kind writes names (none for a whole server).
fn slot_keys(
    target: &Target,
    kind: &super::ServerKind,
) -> (String, Option<(&'static str, String)>) {
    match target {
        Target::Job(id) => (id.server.clone(), Some(("job", kind.name_text(&id.path)))),
        Target::Folder { server, path } => (server.clone(), Some(("folder", kind.name_text(path)))),
        Target::Server(server) => (server.clone(), None),
    }
}

/// Sets a `[[slots]]` entry's `led`, keeping the value's comment.
fn set_led(table: &mut toml_edit::Table, led: i64) {
    match table.get_mut("led").and_then(toml_edit::Item::as_value_mut) {
        Some(value) => {
            let decor = value.decor().clone();
            *value = led.into();
            *value.decor_mut() = decor;
        }
        None => {
            table.insert("led", toml_edit::value(led));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::{PortChoice, TokenSource};
    use crate::model::JobId;

    const ONE_SERVER: &str = "[[servers]]\nname = \"office\"\nurl = \"https://ci.example.com/\"\n";

    #[test]
    fn saving_is_atomic_and_keeps_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original =
            format!("# my strip\n{ONE_SERVER}\n[[slots]]\nled = 0 # the API\njob = \"api\"\n");
        std::fs::write(&path, &original).unwrap();
        let mut doc = ConfigDocument::load(&path).unwrap();
        doc.set_slot(
            3,
            &Target::Job(JobId::new("office", "team-a/web")),
            &crate::config::ServerKind::Jenkins,
        );
        assert!(doc.clear_slot(0));
        let saved = doc.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# my strip"), "{text}");
        assert!(text.contains("team-a/web"));
        assert_eq!(saved.slots.len(), 1);
        assert_eq!(saved.slots[0].led, 3);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no temporary file is left: {leftovers:?}"
        );
    }

    #[test]
    fn an_edit_that_makes_the_config_invalid_is_not_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original = format!("{ONE_SERVER}[strip]\nleds = 4\n");
        std::fs::write(&path, &original).unwrap();
        let mut doc = ConfigDocument::load(&path).unwrap();
        doc.set_slot(
            9,
            &Target::Server("office".into()),
            &crate::config::ServerKind::Jenkins,
        );
        let e = doc.save(&path).unwrap_err();
        assert!(e.to_string().contains("LED 9 is beyond the strip"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    }

    #[test]
    fn set_value_replaces_a_value_and_keeps_its_comment() {
        let text = "[strip]\nbrightness = 0.5   # 0.0 – 1.0\n";
        let mut doc = ConfigDocument::parse(text).unwrap();
        doc.set_value(Some("strip"), "brightness", 0.25.into());
        doc.set_value(Some("strip"), "port", "/dev/ttyACM0".into());
        doc.set_value(Some("alerts"), "sounds", false.into());
        let config = Config::parse(&doc.text(), None).unwrap();
        assert!(
            doc.text().contains("brightness = 0.25   # 0.0 – 1.0"),
            "{}",
            doc.text()
        );
        assert_eq!(config.strip.port, PortChoice::Path("/dev/ttyACM0".into()));
        assert!(!config.alerts.sounds);
        assert!(doc.remove_value(Some("strip"), "port"));
        assert_eq!(
            Config::parse(&doc.text(), None).unwrap().strip.port,
            PortChoice::Auto
        );
    }

    #[test]
    fn aggregate_leds_are_written_sorted_without_duplicates() {
        let mut doc = ConfigDocument::parse(ONE_SERVER).unwrap();
        doc.set_aggregate_leds(&[15, 3, 15, 7]);
        let config = Config::parse(&doc.text(), None).unwrap();
        assert_eq!(config.aggregate.leds, [3, 7, 15]);
    }

    #[test]
    fn renaming_a_server_renames_it_in_its_slots_and_keeps_other_keys() {
        let text = format!(
            "{ONE_SERVER}ca_file = \"/etc/ca.pem\"\n[[servers]]\nname = \"b\"\nurl = \"https://b.example.com/\"\n\
             [[slots]]\nled = 0\nserver = \"office\"\njob = \"api\"\n[[slots]]\nled = 1\nserver = \"b\"\njob = \"x\"\n"
        );
        let mut doc = ConfigDocument::parse(&text).unwrap();
        let entry = ServerEntry {
            name: "hq".into(),
            kind: crate::config::ServerKind::Jenkins,
            url: "https://hq.example.com/".into(),
            user: Some("alice".into()),
            token: TokenSetting::File("/home/alice/.config/ledtogo/hq.token".into()),
        };
        doc.save_server(Some("office"), &entry);
        let config = Config::parse(&doc.text(), None).unwrap();
        let hq = &config.servers[0];
        assert_eq!(
            (hq.name.as_str(), hq.url.as_str()),
            ("hq", "https://hq.example.com/")
        );
        assert_eq!(hq.user.as_deref(), Some("alice"));
        assert_eq!(
            hq.token,
            TokenSource::File("/home/alice/.config/ledtogo/hq.token".into())
        );
        assert_eq!(hq.ca_file, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(config.slots[0].target, Target::Job(JobId::new("hq", "api")));
        assert_eq!(config.slots[1].target, Target::Job(JobId::new("b", "x")));
    }

    #[test]
    fn a_token_in_the_keyring_replaces_the_other_token_keys() {
        let text = format!("{ONE_SERVER}user = \"alice\"\ntoken_file = \"office.token\"\n");
        let mut doc = ConfigDocument::parse(&text).unwrap();
        let entry = ServerEntry {
            name: "office".into(),
            kind: crate::config::ServerKind::Jenkins,
            url: "https://ci.example.com/".into(),
            user: Some("alice".into()),
            token: TokenSetting::Keyring,
        };
        doc.save_server(Some("office"), &entry);
        let saved = doc.text();
        assert!(saved.contains("token_keyring = true"), "{saved}");
        assert!(!saved.contains("token_file"), "{saved}");
        let config = Config::parse(&saved, None).unwrap();
        assert_eq!(config.servers[0].token, TokenSource::Keyring);
    }

    #[test]
    fn adding_a_server_appends_it() {
        let mut doc = ConfigDocument::parse("").unwrap();
        let entry = ServerEntry {
            name: "new".into(),
            kind: crate::config::ServerKind::Jenkins,
            url: "http://localhost:8080/".into(),
            ..ServerEntry::default()
        };
        doc.save_server(None, &entry);
        let config = Config::parse(&doc.text(), None).unwrap();
        assert_eq!(config.servers.len(), 1);
        assert_eq!(config.servers[0].token, TokenSource::None);
    }

    #[test]
    fn a_relay_entry_is_written_with_its_upstream_and_loses_it_as_another_kind() {
        let mut doc = ConfigDocument::parse(ONE_SERVER).unwrap();
        let mut entry = ServerEntry {
            name: "office".into(),
            kind: crate::config::ServerKind::Ledtogo {
                upstream: Some("lab".into()),
            },
            url: "http://pi:8765/".into(),
            user: Some("office".into()),
            token: TokenSetting::Keep,
        };
        doc.save_server(Some("office"), &entry);
        let saved = doc.text();
        assert!(saved.contains("kind = \"ledtogo\""), "{saved}");
        assert!(saved.contains("upstream = \"lab\""), "{saved}");
        let config = Config::parse(&saved, None).unwrap();
        assert_eq!(config.servers[0].kind, entry.kind);

        entry.kind = crate::config::ServerKind::Ledtogo { upstream: None };
        doc.save_server(Some("office"), &entry);
        assert!(!doc.text().contains("upstream"), "{}", doc.text());
        entry.kind = crate::config::ServerKind::Cctray;
        doc.save_server(Some("office"), &entry);
        let config = Config::parse(&doc.text(), None).unwrap();
        assert_eq!(config.servers[0].kind, crate::config::ServerKind::Cctray);
    }

    #[test]
    fn a_slot_key_is_set_and_removed_in_its_own_entry_only() {
        let mut doc = ConfigDocument::parse(
            "[[slots]]\nled = 0\njob = \"a\"  # the API\n\n[[slots]]\nled = 1\njob = \"b\"\n",
        )
        .unwrap();
        assert!(doc.set_slot_value(1, "sound_broke", Some("b.ogg".into())));
        assert!(!doc.set_slot_value(5, "sound_broke", Some("x.ogg".into())));
        assert_eq!(
            doc.text(),
            "[[slots]]\nled = 0\njob = \"a\"  # the API\n\n[[slots]]\nled = 1\njob = \"b\"\n\
             sound_broke = \"b.ogg\"\n"
        );
        assert!(doc.set_slot_value(1, "sound_broke", None));
        assert_eq!(
            doc.text(),
            "[[slots]]\nled = 0\njob = \"a\"  # the API\n\n[[slots]]\nled = 1\njob = \"b\"\n"
        );
    }

    #[test]
    fn removing_a_server_removes_its_slots() {
        let text = format!(
            "{ONE_SERVER}[[slots]]\nled = 0\njob = \"api\"\n[[slots]]\nled = 1\nserver = \"office\"\njob = \"web\"\n"
        );
        let mut doc = ConfigDocument::parse(&text).unwrap();
        assert_eq!(doc.remove_server("office"), 2);
        let config = Config::parse(&doc.text(), None).unwrap();
        assert!(config.servers.is_empty() && config.slots.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_saved_config_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, ONE_SERVER).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        ConfigDocument::load(&path).unwrap().save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }
}
