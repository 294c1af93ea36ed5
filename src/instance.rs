//! One ledtogo per config file: a lock file in the user's runtime folder (`$XDG_RUNTIME_DIR/ledtogo/`,
//! else a private folder in the temp folder) taken with an OS file lock, so two instances never open
//! the same port, double every notification or show two tray icons. The lock dies with its process.
//!
//! The desktop app also listens on a local socket next to the lock: a second desktop start asks the
//! running one to show its window and exits.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use thiserror::Error;

/// Why this instance cannot run.
#[derive(Debug, Error)]
pub enum InstanceError {
    #[error(
        "another ledtogo (pid {pid}) is already running with {config}: stop it first, or pass another --config"
    )]
    Running { pid: String, config: String },
    #[error("cannot use the lock file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The held lock; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    socket: PathBuf,
}

/// The folder the locks live in, made private (0700) if it is ours to make.
fn lock_dir() -> std::io::Result<PathBuf> {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(runtime) => PathBuf::from(runtime).join("ledtogo"),
        None => std::env::temp_dir().join(format!("ledtogo-{}", user_id())),
    };
    std::fs::create_dir_all(&dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

/// Who we run as, for the name of the fallback folder (the owner of this process on Linux).
#[cfg(unix)]
fn user_id() -> String {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").map_or_else(|_| "user".to_owned(), |m| m.uid().to_string())
}

#[cfg(not(unix))]
fn user_id() -> String {
    std::env::var("USERNAME").unwrap_or_else(|_| "user".to_owned())
}

/// A name for `config` that is the same for every spelling of its path.
fn key(config: &Path) -> String {
    let absolute = match (config.parent(), config.file_name()) {
        (Some(dir), Some(name)) if !dir.as_os_str().is_empty() => {
            std::fs::canonicalize(dir).map_or_else(|_| config.to_path_buf(), |d| d.join(name))
        }
        _ => std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf()),
    };
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    format!(
        "{:08x}",
        crc.checksum(absolute.to_string_lossy().as_bytes())
    )
}

impl InstanceLock {
    /// Takes the lock for `config`. Another instance holding it is [`InstanceError::Running`], naming
    /// its pid and config.
    pub fn acquire(config: &Path) -> Result<Self, InstanceError> {
        let dir = lock_dir().map_err(|source| InstanceError::Io {
            path: std::env::temp_dir().display().to_string(),
            source,
        })?;
        Self::acquire_in(&dir, config, Duration::ZERO)
    }

    /// [`InstanceLock::acquire`] in `dir`, waiting up to `wait` for another holder to let go.
    fn acquire_in(dir: &Path, config: &Path, wait: Duration) -> Result<Self, InstanceError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| InstanceError::Io { path, source }
        };
        let name = key(config);
        let path = dir.join(format!("{name}.lock"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    file.read_to_string(&mut text).ok();
                    let mut lines = text.lines();
                    return Err(InstanceError::Running {
                        pid: lines.next().unwrap_or("?").to_owned(),
                        config: lines.next().unwrap_or("?").to_owned(),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
            }
        }
        let note = format!("{}\n{}\n", std::process::id(), config.display());
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(note.as_bytes()))
            .map_err(io(&path))?;
        Ok(Self {
            _file: file,
            socket: dir.join(format!("{name}.sock")),
        })
    }

    /// Listens for "show" requests from later desktop starts and calls `show` for each (on a thread
    /// of its own). Nothing listens when the socket cannot be made; that is logged.
    #[cfg(unix)]
    pub fn listen(&self, show: impl Fn() + Send + 'static) {
        use std::os::unix::net::UnixListener;
        // We hold the lock, so a socket file left here is from an instance that is gone.
        std::fs::remove_file(&self.socket).ok();
        let listener = match UnixListener::bind(&self.socket) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(
                    "a second start will not bring this window up: cannot listen on {}: {e}",
                    self.socket.display()
                );
                return;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("instance".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let mut line = String::new();
                    let mut reader = BufReader::new(&stream).take(64);
                    if reader.read_line(&mut line).is_ok() && line.trim() == "show" {
                        tracing::info!("another start asked for the window: showing it");
                        show();
                        (&stream).write_all(b"ok\n").ok();
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("a second start will not bring this window up: no thread: {e}");
        }
    }

    #[cfg(not(unix))]
    pub fn listen(&self, _show: impl Fn() + Send + 'static) {}
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        std::fs::remove_file(&self.socket).ok();
    }
}

/// Asks the desktop instance running with `config` to show its window. True when it said it did;
/// false when nothing answers (it runs headless, or has no socket).
#[cfg(unix)]
pub fn ask_to_show(config: &Path) -> bool {
    use std::os::unix::net::UnixStream;
    let Ok(dir) = lock_dir() else {
        return false;
    };
    let Ok(mut stream) = UnixStream::connect(dir.join(format!("{}.sock", key(config)))) else {
        return false;
    };
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    if stream.write_all(b"show\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).is_ok() && answer.trim() == "ok"
}

#[cfg(not(unix))]
pub fn ask_to_show(_config: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_second_instance_of_one_config_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let first = InstanceLock::acquire_in(dir.path(), &config, Duration::ZERO).unwrap();
        match InstanceLock::acquire_in(dir.path(), &config, Duration::from_millis(200)) {
            Err(InstanceError::Running { pid, config: shown }) => {
                assert_eq!(pid, std::process::id().to_string());
                assert_eq!(shown, config.display().to_string());
            }
            other => panic!("expected the second to be refused, got {other:?}"),
        }
        let other = dir.path().join("other.toml");
        assert!(InstanceLock::acquire_in(dir.path(), &other, Duration::ZERO).is_ok());
        drop(first);
        assert!(
            InstanceLock::acquire_in(dir.path(), &config, Duration::ZERO).is_ok(),
            "free again once the first is gone"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_waiting_successor_gets_the_lock_when_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let first = InstanceLock::acquire_in(dir.path(), &config, Duration::ZERO).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
        });
        assert!(InstanceLock::acquire_in(dir.path(), &config, Duration::from_secs(10)).is_ok());
        release.join().unwrap();
    }

    #[test]
    fn one_path_one_key_however_it_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("config.toml");
        let b = dir.path().join(".").join("config.toml");
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&dir.path().join("other.toml")));
    }
}
