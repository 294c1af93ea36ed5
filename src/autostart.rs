//! Start at login: the XDG autostart entry `ledtogo.desktop` that Linux and BSD desktops (GNOME, KDE,
//! Xfce, …) run when the user logs in. The window's *Start ledtogo at login* writes or removes it.
//!
//! An [`Autostart`] is the folder the entry goes in (`$XDG_CONFIG_HOME/autostart`, else
//! `~/.config/autostart`; tests give it a temporary folder). The entry is ours when it has the marker line
//! `X-ledtogo-Autostart=1`: a `ledtogo.desktop` written by someone else (copied from the applications menu,
//! or by the desktop's own startup settings) is never overwritten or removed, the caller is told instead.
//! Writes are atomic (a temporary file in the folder, then a rename).
//!
//! The `Exec=` line follows the Desktop Entry specification's rules: an argument with a reserved
//! character (a space, a quote, `$`, `\` …) is double-quoted with `"`, `` ` ``, `$` and `\` escaped, `%`
//! is doubled (it starts field codes), and then the value is escaped as a string (`\` again). So a path
//! such as `/opt/my "ci" $tools/ledtogo` starts the same binary at login.

use std::ffi::OsString;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

/// The entry's file name in the autostart folder.
pub const FILE_NAME: &str = "ledtogo.desktop";

/// The key (with the value `1`) that marks an entry as written by ledtogo.
pub const MARKER: &str = "X-ledtogo-Autostart";

/// Where the packages install the binary; an entry for it says plain `ledtogo` (found on `PATH`).
pub const PACKAGED_BINARY: &str = "/usr/bin/ledtogo";

/// The most bytes read of an entry: ours is a few hundred; anything bigger is not ours.
const MAX_ENTRY: u64 = 64 * 1024;

/// Why the autostart entry could not be read, written or removed.
#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error(
        "{} was not written by ledtogo (it has no {MARKER}=1 line), so ledtogo leaves it alone: remove it \
         yourself, or change it in your desktop's startup settings",
        path.display()
    )]
    NotOurs { path: PathBuf },
    #[error("cannot read {}: {source}; check its permissions", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "cannot create the autostart folder {}: {source}; check that its parent folder is writable",
        path.display()
    )]
    CreateFolder { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}; check that its folder is writable", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot remove {}: {source}; check that its folder is writable", path.display())]
    Remove { path: PathBuf, source: io::Error },
    #[error(
        "the {what} {} cannot be written into a desktop entry ({why}); move it to a path without control \
         characters",
        path.display()
    )]
    Unrepresentable {
        what: &'static str,
        path: PathBuf,
        why: &'static str,
    },
    #[error("cannot tell where ledtogo runs from: {0}; start it by its full path")]
    NoBinary(io::Error),
    #[error(
        "cannot find the home folder (HOME is not set): start at login needs ~/.config/autostart"
    )]
    NoHome,
    #[error("{0}")]
    Unsupported(&'static str),
}

/// What the autostart folder holds for ledtogo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutostartState {
    /// No entry, or ours turned off (`Hidden=true`, `X-GNOME-Autostart-enabled=false`).
    Off,
    /// Our entry: ledtogo starts at login.
    On,
    /// A `ledtogo.desktop` someone else wrote: left alone.
    NotOurs,
}

/// The autostart folder ledtogo's entry goes in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Autostart {
    folder: PathBuf,
}

impl Autostart {
    /// The entry in `folder` (created when the entry is first written).
    pub fn in_folder(folder: impl Into<PathBuf>) -> Autostart {
        Autostart {
            folder: folder.into(),
        }
    }

    /// The user's autostart folder: `$XDG_CONFIG_HOME/autostart` when that is set (to an absolute path),
    /// else `~/.config/autostart`. Off Linux and BSD there is none: the error says what to do there.
    pub fn for_user() -> Result<Autostart, AutostartError> {
        if cfg!(target_os = "macos") {
            return Err(AutostartError::Unsupported(
                "start at login is not built in on macOS: add ledtogo in System Settings → General → Login Items",
            ));
        }
        if cfg!(windows) {
            return Err(AutostartError::Unsupported(
                "start at login is not built in on Windows: put a shortcut to ledtogo.exe in the folder that \
                 Win+R `shell:startup` opens",
            ));
        }
        let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
        folder_for(std::env::var_os("XDG_CONFIG_HOME"), home)
            .map(Autostart::in_folder)
            .ok_or(AutostartError::NoHome)
    }

    /// The folder.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The entry's path.
    pub fn file(&self) -> PathBuf {
        self.folder.join(FILE_NAME)
    }

    /// What the folder holds for ledtogo (reads the entry).
    pub fn state(&self) -> Result<AutostartState, AutostartError> {
        let path = self.file();
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(AutostartState::Off),
            Err(source) => return Err(AutostartError::Read { path, source }),
        };
        let mut bytes = Vec::new();
        file.take(MAX_ENTRY + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| AutostartError::Read {
                path: path.clone(),
                source,
            })?;
        if bytes.len() as u64 > MAX_ENTRY {
            return Ok(AutostartState::NotOurs);
        }
        Ok(read_entry(&String::from_utf8_lossy(&bytes)))
    }

    /// Whether ledtogo starts at login: the entry is there, ours and not turned off.
    pub fn is_enabled(&self) -> Result<bool, AutostartError> {
        Ok(self.state()? == AutostartState::On)
    }

    /// Writes the entry that starts `exec` at login (with `--config CONFIG` when given; a relative
    /// `config` is made absolute, the session does not start in this folder). Creates the folder when
    /// missing; replaces only an entry of ours.
    pub fn enable(&self, exec: &Path, config: Option<&Path>) -> Result<(), AutostartError> {
        let config: Option<PathBuf> =
            config.map(|c| std::path::absolute(c).unwrap_or_else(|_| c.to_path_buf()));
        let text = entry(exec, config.as_deref())?;
        if self.state()? == AutostartState::NotOurs {
            return Err(AutostartError::NotOurs { path: self.file() });
        }
        std::fs::create_dir_all(&self.folder).map_err(|source| AutostartError::CreateFolder {
            path: self.folder.clone(),
            source,
        })?;
        let path = self.file();
        let write = |source| AutostartError::Write {
            path: path.clone(),
            source,
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".ledtogo-autostart-")
            .tempfile_in(&self.folder)
            .map_err(write)?;
        tmp.write_all(text.as_bytes()).map_err(write)?;
        tmp.as_file().sync_all().map_err(write)?;
        tmp.persist(&path).map_err(|e| write(e.error))?;
        Ok(())
    }

    /// Removes our entry; no entry is fine, someone else's is left alone (an error).
    pub fn disable(&self) -> Result<(), AutostartError> {
        let path = self.file();
        match self.state()? {
            AutostartState::NotOurs => Err(AutostartError::NotOurs { path }),
            AutostartState::On | AutostartState::Off => match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(source) => Err(AutostartError::Remove { path, source }),
            },
        }
    }
}

/// The autostart folder for a `XDG_CONFIG_HOME` value and a home folder (the XDG Base Directory rule: a
/// relative or empty `XDG_CONFIG_HOME` is ignored).
fn folder_for(xdg_config_home: Option<OsString>, home: Option<PathBuf>) -> Option<PathBuf> {
    match xdg_config_home.map(PathBuf::from) {
        Some(config) if config.is_absolute() => Some(config.join("autostart")),
        _ => home.map(|h| h.join(".config").join("autostart")),
    }
}

/// The binary running now, by its absolute path. On Linux a binary replaced by an upgrade while running
/// reads as `PATH (deleted)`: the new one at `PATH` is what should start at login.
pub fn running_binary() -> Result<PathBuf, AutostartError> {
    std::env::current_exe()
        .map(undeleted)
        .map_err(AutostartError::NoBinary)
}

/// `exe` without the ` (deleted)` Linux adds to a replaced binary's path (a file really named so stays).
fn undeleted(exe: PathBuf) -> PathBuf {
    match exe.to_str().and_then(|t| t.strip_suffix(" (deleted)")) {
        Some(kept) if !exe.exists() => PathBuf::from(kept),
        _ => exe,
    }
}

/// How the entry reads: ours (on or off) or someone else's.
fn read_entry(text: &str) -> AutostartState {
    let (mut ours, mut off) = (false, false);
    let mut in_entry = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_entry = line == "[Desktop Entry]";
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !in_entry {
            continue;
        }
        match (key.trim(), value.trim()) {
            (MARKER, "1") => ours = true,
            ("Hidden", "true") | ("X-GNOME-Autostart-enabled", "false") => off = true,
            _ => {}
        }
    }
    match (ours, off) {
        (false, _) => AutostartState::NotOurs,
        (true, true) => AutostartState::Off,
        (true, false) => AutostartState::On,
    }
}

/// The whole entry that starts `exec` (with `--config CONFIG`) at login.
pub fn entry(exec: &Path, config: Option<&Path>) -> Result<String, AutostartError> {
    Ok(format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=ledtogo\n\
         Comment=CI job states on the LED strip, started at login\n\
         Icon=ledtogo\n\
         Exec={}\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n\
         {MARKER}=1\n",
        exec_line(exec, config)?
    ))
}

/// The `Exec=` value: the program (plain `ledtogo` for the packaged binary), `--in-tray` (at login the
/// app starts in the tray, its window hidden), then `--config CONFIG`.
pub fn exec_line(exec: &Path, config: Option<&Path>) -> Result<String, AutostartError> {
    let mut line = if exec == Path::new(PACKAGED_BINARY) {
        "ledtogo".to_owned()
    } else {
        exec_argument("program", exec)?
    };
    line.push_str(" --in-tray");
    if let Some(config) = config {
        line.push_str(" --config ");
        line.push_str(&exec_argument("config file", config)?);
    }
    Ok(line)
}

/// One argument of an `Exec=` value, quoted and escaped so the desktop passes exactly `path`.
fn exec_argument(what: &'static str, path: &Path) -> Result<String, AutostartError> {
    let unrepresentable = |why| AutostartError::Unrepresentable {
        what,
        path: path.to_path_buf(),
        why,
    };
    let text = path
        .to_str()
        .ok_or_else(|| unrepresentable("it is not UTF-8 text"))?;
    if text.is_empty() {
        return Err(unrepresentable("it is empty"));
    }
    if text.chars().any(char::is_control) {
        return Err(unrepresentable("it holds a control character"));
    }
    // The quoting rule: reserved characters need the argument in double quotes, where `"`, `` ` ``, `$`
    // and `\` take a backslash.
    const RESERVED: &str = " \t\n\"'\\><~|&;$*?#()`";
    let quoted = if text.chars().any(|c| RESERVED.contains(c)) {
        let mut q = String::with_capacity(text.len() + 2);
        q.push('"');
        for c in text.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    } else {
        text.to_owned()
    };
    // `%` starts a field code (`%f`, `%u` …); a literal one is `%%`. Then the string rule, which comes
    // first when the desktop reads the value: a backslash is written `\\`.
    Ok(quoted.replace('%', "%%").replace('\\', "\\\\"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn exec_of(exec: &str, config: Option<&str>) -> String {
        exec_line(Path::new(exec), config.map(Path::new)).unwrap()
    }

    #[test]
    fn plain_paths_stay_plain_and_the_packaged_binary_is_found_on_the_path() {
        assert_eq!(exec_of("/usr/bin/ledtogo", None), "ledtogo --in-tray");
        assert_eq!(
            exec_of("/usr/bin/ledtogo", Some("/home/al/ci.toml")),
            "ledtogo --in-tray --config /home/al/ci.toml"
        );
        assert_eq!(
            exec_of("/home/al/.cargo/bin/ledtogo", None),
            "/home/al/.cargo/bin/ledtogo --in-tray"
        );
    }

    #[test]
    fn spaces_quotes_dollars_backslashes_and_percents_are_quoted_and_escaped_per_the_exec_rules() {
        assert_eq!(
            exec_of("/opt/my tools/ledtogo", Some("/home/al/my ci.toml")),
            r#""/opt/my tools/ledtogo" --in-tray --config "/home/al/my ci.toml""#
        );
        // In quotes `"` and `$` take a backslash, which the string rule then doubles; `%` is doubled.
        assert_eq!(
            exec_of(r#"/opt/"ci" $x/ledtogo"#, Some("/home/al/100%.toml")),
            r#""/opt/\\"ci\\" \\$x/ledtogo" --in-tray --config /home/al/100%%.toml"#
        );
        // A literal backslash in a quoted argument is four.
        assert_eq!(
            exec_of(r"/opt/a\b/ledtogo", None),
            r#""/opt/a\\\\b/ledtogo" --in-tray"#
        );
        assert_eq!(
            exec_of("/opt/it's/ledtogo", None),
            r#""/opt/it's/ledtogo" --in-tray"#
        );
    }

    #[test]
    fn a_path_the_entry_cannot_hold_is_refused_with_the_reason() {
        let e = exec_line(Path::new("/opt/a\nb/ledtogo"), None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the program /opt/a\nb/ledtogo cannot be written into a desktop entry (it holds a control character)"),
            "{e}"
        );
        let e = exec_line(Path::new("/usr/bin/ledtogo"), Some(Path::new(""))).unwrap_err();
        assert!(e.to_string().contains("config file"), "{e}");
    }

    #[test]
    fn a_binary_replaced_while_running_is_named_by_the_path_of_its_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("ledtogo");
        assert_eq!(undeleted(dir.path().join("ledtogo (deleted)")), exe);
        assert_eq!(undeleted(exe.clone()), exe);
        // A file really named so is left as it is.
        let odd = dir.path().join("odd (deleted)");
        std::fs::write(&odd, "").unwrap();
        assert_eq!(undeleted(odd.clone()), odd);
    }

    #[test]
    fn the_folder_is_xdg_config_home_when_absolute_else_dot_config_in_the_home_folder() {
        let home = Some(PathBuf::from("/home/al"));
        assert_eq!(
            folder_for(Some("/cfg".into()), home.clone()),
            Some(PathBuf::from("/cfg/autostart"))
        );
        assert_eq!(
            folder_for(Some("relative".into()), home.clone()),
            Some(PathBuf::from("/home/al/.config/autostart"))
        );
        assert_eq!(
            folder_for(Some("".into()), home.clone()),
            Some(PathBuf::from("/home/al/.config/autostart"))
        );
        assert_eq!(
            folder_for(None, home),
            Some(PathBuf::from("/home/al/.config/autostart"))
        );
        assert_eq!(folder_for(None, None), None);
    }

    #[test]
    fn enabling_creates_the_folder_and_writes_our_entry_and_disabling_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let autostart = Autostart::in_folder(dir.path().join("config/autostart"));
        assert_eq!(autostart.state().unwrap(), AutostartState::Off);
        autostart
            .enable(Path::new("/opt/ledtogo"), Some(Path::new("/srv/ci.toml")))
            .unwrap();
        assert!(autostart.is_enabled().unwrap());
        let text = std::fs::read_to_string(autostart.file()).unwrap();
        assert!(
            text.contains("\nExec=/opt/ledtogo --in-tray --config /srv/ci.toml\n"),
            "{text}"
        );
        assert!(text.contains("\nX-ledtogo-Autostart=1\n"), "{text}");
        // Enabling again replaces our own entry.
        autostart
            .enable(Path::new("/usr/bin/ledtogo"), None)
            .unwrap();
        let text = std::fs::read_to_string(autostart.file()).unwrap();
        assert!(text.contains("\nExec=ledtogo --in-tray\n"), "{text}");
        autostart.disable().unwrap();
        assert!(!autostart.file().exists());
        assert_eq!(autostart.state().unwrap(), AutostartState::Off);
        // Nothing to remove is not an error; no temporary file is left behind.
        autostart.disable().unwrap();
        assert_eq!(std::fs::read_dir(autostart.folder()).unwrap().count(), 0);
    }

    #[test]
    fn a_relative_config_path_is_written_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let autostart = Autostart::in_folder(dir.path());
        autostart
            .enable(Path::new("/opt/ledtogo"), Some(Path::new("ci.toml")))
            .unwrap();
        let text = std::fs::read_to_string(autostart.file()).unwrap();
        let cwd = std::env::current_dir().unwrap().join("ci.toml");
        let want = exec_line(Path::new("/opt/ledtogo"), Some(&cwd)).unwrap();
        assert!(text.contains(&format!("\nExec={want}\n")), "{text}");
    }

    #[test]
    fn an_entry_turned_off_by_the_desktop_reads_as_off_and_is_still_ours() {
        let dir = tempfile::tempdir().unwrap();
        let autostart = Autostart::in_folder(dir.path());
        for off in ["Hidden=true", "X-GNOME-Autostart-enabled=false"] {
            let text = entry(Path::new("/opt/ledtogo"), None)
                .unwrap()
                .replace("X-GNOME-Autostart-enabled=true", off);
            std::fs::write(autostart.file(), text).unwrap();
            assert_eq!(autostart.state().unwrap(), AutostartState::Off, "{off}");
            assert!(!autostart.is_enabled().unwrap());
            autostart.enable(Path::new("/opt/ledtogo"), None).unwrap();
            assert!(autostart.is_enabled().unwrap(), "{off}");
        }
    }

    #[test]
    fn an_entry_someone_else_wrote_is_neither_replaced_nor_removed() {
        let dir = tempfile::tempdir().unwrap();
        let autostart = Autostart::in_folder(dir.path());
        let theirs = "[Desktop Entry]\nType=Application\nName=ledtogo\nExec=ledtogo --demo\n\
                      [Other]\nX-ledtogo-Autostart=1\n";
        std::fs::write(autostart.file(), theirs).unwrap();
        assert_eq!(autostart.state().unwrap(), AutostartState::NotOurs);
        assert!(!autostart.is_enabled().unwrap());
        let e = autostart
            .enable(Path::new("/opt/ledtogo"), None)
            .unwrap_err();
        assert!(matches!(e, AutostartError::NotOurs { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("ledtogo.desktop was not written by ledtogo"),
            "{e}"
        );
        let e = autostart.disable().unwrap_err();
        assert!(matches!(e, AutostartError::NotOurs { .. }), "{e}");
        assert_eq!(std::fs::read_to_string(autostart.file()).unwrap(), theirs);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_huge_file_is_not_ours() {
        let dir = tempfile::tempdir().unwrap();
        let autostart = Autostart::in_folder(dir.path());
        let mut text = entry(Path::new("/opt/ledtogo"), None).unwrap();
        text.push_str(&"# padding\n".repeat(10_000));
        std::fs::write(autostart.file(), text).unwrap();
        assert_eq!(autostart.state().unwrap(), AutostartState::NotOurs);
    }

    #[test]
    fn the_written_entry_passes_desktop_file_validate() {
        let dir = tempfile::tempdir().unwrap();
        let autostart = Autostart::in_folder(dir.path());
        autostart
            .enable(
                Path::new(r#"/opt/my "ci" $tools\x/ledtogo"#),
                Some(Path::new("/home/al/100% ci.toml")),
            )
            .unwrap();
        let out = std::process::Command::new("desktop-file-validate")
            .arg(autostart.file())
            .output()
            .expect("desktop-file-validate runs (Debian package desktop-file-utils, in ./dev TEST_PKGS)");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{said}");
        assert!(said.trim().is_empty(), "no warning or hint: {said}");
    }
}
