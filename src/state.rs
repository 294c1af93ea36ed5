//! The state folder: what ledtogo remembers between runs that is not configuration (the remembered LED
//! device, acknowledgements, flaky-job history). `~/.local/state/ledtogo/` on Linux
//! (`$XDG_STATE_HOME/ledtogo`), the local data folder where the platform has no state folder. One rule
//! for every file in it: [`state_file`]. Files are written with [`crate::config::files::write_atomic`],
//! so a crash never leaves half a file.

use std::path::PathBuf;

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
}
