//! File helpers for the config: where it lives by default, atomic writes that keep the old file's
//! permissions, and private token files.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Where the config lives unless `--config` says otherwise (`~/.config/ledtogo/config.toml` on Linux).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "ledtogo").map(|d| d.config_dir().join("config.toml"))
}

/// Whether every user of the machine may read the file at `path` (unix: the "others" read bit; always
/// `false` elsewhere and for a file that cannot be read).
pub fn world_readable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Writes `bytes` to `path` so that readers see the old or the new file, never a half-written one, and
/// so that the new file survives a power cut once this returns.
///
/// The bytes go to a temporary file with an unpredictable name in the target's folder; it gets the old
/// file's permissions (a private config stays private), is synced, renamed over the old file, and then
/// the folder is synced so the rename itself is on disk. When `path` is a symlink (a config kept in a
/// dotfiles repository), the file it points to is replaced and the link stays a link. On any error the
/// old file is untouched and the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, bytes, NewFile::Shared)
}

/// Writes `bytes` atomically like [`write_atomic`], readable by the owner only (mode 0600) whatever the
/// file it replaces allowed: a config file ledtogo creates.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, bytes, NewFile::Private)
}

/// Writes a secret (an API token) atomically, readable by the owner only (mode 0600), also when the
/// file it replaces was more open.
pub fn write_secret(path: &Path, secret: &str) -> io::Result<()> {
    let mut text = secret.trim().to_owned();
    text.push('\n');
    replace(path, text.as_bytes(), NewFile::Private)
}

/// The permissions of a file that did not exist before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewFile {
    /// As `File::create` makes it (0666 less the umask); a replaced file's permissions are kept.
    Shared,
    /// Owner only (0600), always.
    Private,
}

/// Linux's limit; a longer chain is a loop.
const MAX_SYMLINKS: usize = 40;

fn replace(path: &Path, bytes: &[u8], new_file: NewFile) -> io::Result<()> {
    let target = follow_links(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| context(&e, "cannot create the folder", &dir))?;
    let old = match std::fs::metadata(&target) {
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(context(&e, "cannot read", &target)),
    };

    let name = target
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // Created with the final mode (less the umask), so the temporary file is never more open
        // than the file it replaces.
        let mode = match (&old, new_file) {
            (_, NewFile::Private) => 0o600,
            (Some(p), NewFile::Shared) => p.mode() & 0o777,
            (None, NewFile::Shared) => 0o666,
        };
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = new_file;
    let mut tmp = builder
        .tempfile_in(&dir)
        .map_err(|e| context(&e, "cannot create a temporary file in", &dir))?;
    // From here on, dropping `tmp` on an error removes the temporary file.
    if let (Some(permissions), NewFile::Shared) = (old, new_file) {
        // Exactly the old permissions: the umask may have narrowed them above.
        tmp.as_file()
            .set_permissions(permissions)
            .map_err(|e| context(&e, "cannot set the permissions of", tmp.path()))?;
    }
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| context(&e, "cannot write", tmp.path()))?;
    tmp.persist(&target)
        .map_err(|e| context(&e.error, "cannot replace", &target))?;
    // The new file is in place: a folder that cannot be synced (some file systems refuse) makes the
    // rename less durable, not the save a failure.
    if let Err(e) = sync_folder(&dir) {
        tracing::debug!(
            "saved {}, but cannot sync {}: {e}",
            target.display(),
            dir.display()
        );
    }
    Ok(())
}

/// The file a write to `path` replaces: `path` itself or, when it is a symlink, the end of the link
/// chain (which may not exist yet). Renaming onto the link would turn it into a plain file.
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut target = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&target)
                    .map_err(|e| context(&e, "cannot read the symlink", &target))?;
                // A relative link is relative to the folder holding it (an absolute one replaces all).
                target = match target.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            // Not a link, or nothing there (yet): this is the file to write.
            _ => return Ok(target),
        }
    }
    Err(io::Error::other(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

/// Makes a rename in `dir` durable (the new directory entry is on disk).
#[cfg(unix)]
fn sync_folder(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_folder(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// `e` with what was being done and to which path, keeping its kind.
fn context(e: &io::Error, doing: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{doing} {}: {e}", path.display()))
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

    #[cfg(unix)]
    #[test]
    fn a_rewritten_token_file_is_made_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("office.token");
        std::fs::write(&token, "old\n").unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_secret(&token, "new").unwrap();
        let mode = std::fs::metadata(&token).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&token).unwrap(), "new\n");
    }

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        write_atomic(&path, b"poll_seconds = 10\n").unwrap();
        write_atomic(&path, b"poll_seconds = 20\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "poll_seconds = 20\n"
        );
        assert_eq!(names(dir.path()), ["config.toml"]);
        let nested = dir.path().join("a/b/config.toml");
        write_atomic(&nested, b"x = 1\n").unwrap();
        assert_eq!(std::fs::read_to_string(&nested).unwrap(), "x = 1\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_gets_the_usual_permissions_and_a_new_secret_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let usual = dir.path().join("usual");
        std::fs::File::create(&usual).unwrap();
        let path = dir.path().join("config.toml");
        write_atomic(&path, b"x = 1\n").unwrap();
        assert_eq!(
            mode(&path),
            mode(&usual),
            "as File::create makes it (0666 less the umask)"
        );
        let token = dir.path().join("office.token");
        write_secret(&token, "s3cret").unwrap();
        assert_eq!(mode(&token), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&path, b"x = 2\n").unwrap();
        assert_eq!(mode(&path), 0o600, "a private config stays private");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_config_is_written_through_the_link() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let dotfiles = dir.path().join("dotfiles");
        let config = dir.path().join("config/ledtogo");
        std::fs::create_dir_all(&dotfiles).unwrap();
        std::fs::create_dir_all(&config).unwrap();
        let real = dotfiles.join("ledtogo.toml");
        std::fs::write(&real, "poll_seconds = 10\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        // A chain: config.toml -> (relative) ../../dotfiles/current.toml -> (absolute) ledtogo.toml.
        let middle = dotfiles.join("current.toml");
        std::os::unix::fs::symlink(&real, &middle).unwrap();
        let link = config.join("config.toml");
        std::os::unix::fs::symlink("../../dotfiles/current.toml", &link).unwrap();

        write_atomic(&link, b"poll_seconds = 20\n").unwrap();

        for l in [&link, &middle] {
            let meta = std::fs::symlink_metadata(l).unwrap();
            assert!(
                meta.file_type().is_symlink(),
                "{} is still a symlink",
                l.display()
            );
        }
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("../../dotfiles/current.toml")
        );
        assert_eq!(std::fs::read_link(&middle).unwrap(), real);
        assert_eq!(
            std::fs::read_to_string(&real).unwrap(),
            "poll_seconds = 20\n"
        );
        assert_eq!(
            std::fs::read_to_string(&link).unwrap(),
            "poll_seconds = 20\n"
        );
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "the real file keeps its permissions");
        assert_eq!(names(&config), ["config.toml"]);
        assert_eq!(names(&dotfiles), ["current.toml", "ledtogo.toml"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_symlink_creates_its_target_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("config.toml");
        std::os::unix::fs::symlink("real.toml", &link).unwrap();
        write_atomic(&link, b"x = 1\n").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("real.toml")).unwrap(),
            "x = 1\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let e = write_atomic(&a, b"x = 1\n").unwrap_err();
        assert!(e.to_string().contains("symbolic links"), "{e}");
        assert_eq!(names(dir.path()), ["a.toml", "b.toml"]);
    }

    #[test]
    fn a_write_below_a_regular_file_fails_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-folder");
        std::fs::write(&blocker, "original\n").unwrap();
        let path = blocker.join("config.toml");
        let e = write_atomic(&path, b"x = 1\n").unwrap_err();
        assert!(
            e.to_string().contains(&blocker.display().to_string()),
            "the error names the path: {e}"
        );
        let e = write_secret(&path, "s3cret").unwrap_err();
        assert!(
            e.to_string().contains(&blocker.display().to_string()),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "original\n");
        assert_eq!(names(dir.path()), ["not-a-folder"]);
    }

    #[test]
    fn a_failed_rename_leaves_the_original_and_no_temporary_file() {
        // A folder where the file should be: the temporary file is written, the rename fails.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), "original\n").unwrap();
        let e = write_atomic(&path, b"x = 1\n").unwrap_err();
        assert!(
            e.to_string().contains(&path.display().to_string()),
            "the error names the path: {e}"
        );
        assert_eq!(
            std::fs::read_to_string(path.join("keep")).unwrap(),
            "original\n"
        );
        assert_eq!(
            names(dir.path()),
            ["config.toml"],
            "no temporary file is left"
        );
    }
}
