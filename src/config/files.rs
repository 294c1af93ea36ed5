//! File helpers for the config: where it lives by default, atomic writes that keep the old file's
//! permissions, and private token files.

use std::path::{Path, PathBuf};

/// Where the config lives unless `--config` says otherwise (`~/.config/ledtogo/config.toml` on Linux).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "ledtogo").map(|d| d.config_dir().join("config.toml"))
}

/// Writes `bytes` to `path` so that readers see the old or the new file, never a half-written one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        // The new file keeps the old one's permissions (a private config stays private).
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: do not leave the temporary file behind; the write error is what matters.
        std::fs::remove_file(&tmp).ok();
    }
    result
}

/// Writes a secret (an API token) atomically, readable by the owner only.
pub fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    let mut text = secret.trim().to_owned();
    text.push('\n');
    if !path.exists() {
        // Create it private first, so the atomic write keeps the owner-only permissions.
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
        let f = std::fs::File::create(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        drop(f);
    }
    write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_token_file_is_private_and_a_saved_config_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("sub/office.token");
        write_secret(&token, " s3cret \n").unwrap();
        assert_eq!(std::fs::read_to_string(&token).unwrap(), "s3cret\n");
        let mode = std::fs::metadata(&token).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "poll_seconds = 10\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"poll_seconds = 20\n").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "poll_seconds = 20\n"
        );
    }
}
