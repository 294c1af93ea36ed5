//! The state folder: what ledtogo remembers between runs that is not configuration (the remembered LED
//! device, acknowledgements, flaky-job history: [`Files`]). `~/.local/state/ledtogo/` on Linux
//! (`$XDG_STATE_HOME/ledtogo`), the local data folder where the platform has no state folder. One rule
//! for every file in it: [`state_file`]. Files are written with `config::files::write_atomic`,
//! so a crash never leaves half a file.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// The state folder, or `None` when the platform gives no home folder to put it in.
pub fn state_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "ledtogo")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

/// The path of the state file `name` (e.g. `device.toml`) in [`state_dir`].
pub fn state_file(name: &str) -> Option<PathBuf> {
    state_dir().map(|dir| dir.join(name))
}

/// Where an engine keeps what it remembers between runs; `None` keeps that part in memory only (the
/// demo, tests). [`Files::default`] keeps everything in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Files {
    /// The acknowledgements (`ack`): `acks.json`.
    pub acks: Option<PathBuf>,
    /// The builds seen and the flaky flags (`flaky`): `flaky.json`.
    pub flaky: Option<PathBuf>,
}

impl Files {
    /// The user's files in [`state_dir`].
    pub fn user() -> Files {
        Files {
            acks: state_file("acks.json"),
            flaky: state_file("flaky.json"),
        }
    }
}

/// Why a state file could not be used ([`read_json`]); each caller words it for its own file.
#[derive(Debug)]
pub enum Unusable {
    /// The file is there but cannot be read.
    Read(std::io::Error),
    /// It is not what the caller writes (`reason`) and was moved to `aside`.
    Corrupt { reason: String, aside: PathBuf },
    /// It is not what the caller writes, and moving it aside failed too.
    Stuck {
        reason: String,
        error: std::io::Error,
    },
}

/// Reads the JSON state file `path` into `T`: `None` when there is none. A file over `max` bytes, not
/// JSON of `T`, or refused by `check` (its version) is moved aside to `<name>.bad`, so the next save
/// does not overwrite what someone may want to look at, and reported.
pub fn read_json<T: DeserializeOwned>(
    path: &Path,
    max: u64,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<Option<T>, Unusable> {
    let mut bytes = Vec::new();
    match std::fs::File::open(path) {
        Ok(f) => {
            f.take(max.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(Unusable::Read)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Unusable::Read(e)),
    }
    let parsed = if bytes.len() as u64 > max {
        Err(format!("larger than {max} bytes"))
    } else {
        serde_json::from_slice::<T>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|t| check(&t).map(|()| t))
    };
    match parsed {
        Ok(t) => Ok(Some(t)),
        Err(reason) => {
            let mut aside = path.as_os_str().to_owned();
            aside.push(".bad");
            let aside = PathBuf::from(aside);
            match std::fs::rename(path, &aside) {
                Ok(()) => Err(Unusable::Corrupt { reason, aside }),
                Err(error) => Err(Unusable::Stuck { reason, error }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn state_files_live_in_the_ledtogo_state_folder() {
        let path = state_file("device.toml").expect("the test machine has a home folder");
        assert_eq!(path.file_name().unwrap(), "device.toml");
        assert_eq!(path.parent(), state_dir().as_deref());
        assert!(
            path.parent().unwrap().ends_with("ledtogo"),
            "{}",
            path.display()
        );
    }

    #[test]
    fn the_users_files_are_in_the_state_folder_and_the_default_keeps_all_in_memory() {
        let user = Files::user();
        assert_eq!(user.acks, state_file("acks.json"));
        assert_eq!(user.flaky, state_file("flaky.json"));
        assert_eq!(
            Files::default(),
            Files {
                acks: None,
                flaky: None
            }
        );
    }
}
