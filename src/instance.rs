//! One ledtogo per config file: a lock file in the user's runtime folder (`$XDG_RUNTIME_DIR/ledtogo/`,
//! else a private folder in the temp folder) taken with an OS file lock, so two instances never open
//! the same port, double every notification or show two tray icons. The lock dies with its process.
//!
//! The running instance (desktop or headless) also listens on a local socket next to the lock, for
//! [`Request`]s: a second desktop start asks it to show its window and exits; `ledtogo ack` asks it to
//! acknowledge a job. The protocol, one request per connection: the client writes one line,
//! `ledtogo/1 {json}` ([`PROTOCOL`], then the request as JSON; the bare line `show` is the original
//! form), at most [`MAX_REQUEST`] bytes; the instance answers `ok` or `error` on the first line, then the
//! text, and closes.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use thiserror::Error;

/// The first word of every request line: the protocol and its version.
pub const PROTOCOL: &str = "ledtogo/1";
/// The longest request line read (a note is at most a few hundred characters).
pub const MAX_REQUEST: u64 = 16 * 1024;
/// The longest answer read back.
const MAX_ANSWER: u64 = 1024 * 1024;
/// How long either side waits for the other.
const PATIENCE: Duration = Duration::from_secs(10);

pub use crate::ack::Request;

/// The instance's answer: the text to print, or why it refused.
pub type Answer = Result<String, String>;

/// Why a request did not get an answer.
#[derive(Debug, Error)]
pub enum AskError {
    #[error("no ledtogo is running with {config}")]
    NotRunning { config: String },
    #[error("the ledtogo running with {config} did not answer properly: {reason}")]
    Broken { config: String, reason: String },
}

/// Reads one request line; anything that is not one is refused with why.
fn parse_request(line: &str) -> Result<Request, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line == "show" {
        return Ok(Request::Show);
    }
    let Some(json) = line
        .strip_prefix(PROTOCOL)
        .and_then(|r| r.strip_prefix(' '))
    else {
        let word = line.split(' ').next().unwrap_or("");
        return Err(format!(
            "this ledtogo speaks {PROTOCOL}, not {:?}: run the same version of ledtogo",
            crate::text::truncate(&crate::text::visible(word), 40)
        ));
    };
    serde_json::from_str(json)
        .map_err(|e| format!("a request this ledtogo does not understand: {e}"))
}

/// The line that carries `request`.
fn request_line(request: &Request) -> String {
    match serde_json::to_string(request) {
        Ok(json) => format!("{PROTOCOL} {json}\n"),
        // A request of strings always serialises; say so to the server rather than panic.
        Err(_) => format!("{PROTOCOL} {{}}\n"),
    }
}

/// Serves one connection: one request, one answer.
#[cfg(unix)]
fn serve(stream: &std::os::unix::net::UnixStream, handle: &dyn Fn(Request) -> Answer) {
    stream.set_read_timeout(Some(PATIENCE)).ok();
    stream.set_write_timeout(Some(PATIENCE)).ok();
    let mut line = String::new();
    let mut reader = BufReader::new(stream).take(MAX_REQUEST);
    let answer = match reader.read_line(&mut line) {
        Ok(_) if !line.ends_with('\n') => Err(format!(
            "a request line must end with a newline, within {MAX_REQUEST} bytes"
        )),
        Ok(_) => parse_request(&line).and_then(handle),
        Err(e) => Err(format!("cannot read the request: {e}")),
    };
    let text = match answer {
        Ok(text) => format!("ok\n{text}\n"),
        Err(text) => format!("error\n{text}\n"),
    };
    let mut out = stream;
    out.write_all(text.as_bytes()).ok();
}

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

    /// Listens for [`Request`]s (a later desktop start's "show", `ledtogo ack`) and answers each with
    /// `handle`, one at a time on a thread of its own. Nothing listens when the socket cannot be made;
    /// that is logged.
    #[cfg(unix)]
    pub fn listen(&self, handle: impl Fn(Request) -> Answer + Send + 'static) {
        use std::os::unix::net::UnixListener;
        // We hold the lock, so a socket file left here is from an instance that is gone.
        std::fs::remove_file(&self.socket).ok();
        let listener = match UnixListener::bind(&self.socket) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(
                    "neither a second start nor `ledtogo ack` will reach this instance: cannot listen on {}: {e}",
                    self.socket.display()
                );
                return;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("instance".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    serve(&stream, &handle);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(
                "neither a second start nor `ledtogo ack` will reach this instance: no thread: {e}"
            );
        }
    }

    #[cfg(not(unix))]
    pub fn listen(&self, _handle: impl Fn(Request) -> Answer + Send + 'static) {}
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        std::fs::remove_file(&self.socket).ok();
    }
}

/// Asks the desktop instance running with `config` to show its window. True when it said it did;
/// false when nothing answers (it runs headless, or has no socket).
pub fn ask_to_show(config: &Path) -> bool {
    matches!(ask(config, &Request::Show), Ok(Ok(_)))
}

/// Sends `request` to the instance running with `config` and returns its answer.
/// [`AskError::NotRunning`] when none listens.
#[cfg(unix)]
pub fn ask(config: &Path, request: &Request) -> Result<Answer, AskError> {
    let not_running = || AskError::NotRunning {
        config: config.display().to_string(),
    };
    let dir = lock_dir().map_err(|_| not_running())?;
    ask_in(&dir, config, request)
}

#[cfg(unix)]
fn ask_in(dir: &Path, config: &Path, request: &Request) -> Result<Answer, AskError> {
    use std::os::unix::net::UnixStream;
    let broken = |reason: String| AskError::Broken {
        config: config.display().to_string(),
        reason,
    };
    let mut stream =
        UnixStream::connect(dir.join(format!("{}.sock", key(config)))).map_err(|_| {
            AskError::NotRunning {
                config: config.display().to_string(),
            }
        })?;
    stream.set_read_timeout(Some(PATIENCE)).ok();
    stream.set_write_timeout(Some(PATIENCE)).ok();
    stream
        .write_all(request_line(request).as_bytes())
        .map_err(|e| broken(format!("cannot send the request: {e}")))?;
    let mut text = String::new();
    BufReader::new(stream)
        .take(MAX_ANSWER)
        .read_to_string(&mut text)
        .map_err(|e| broken(format!("cannot read the answer: {e}")))?;
    let (status, rest) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    let rest = rest.strip_suffix('\n').unwrap_or(rest).to_owned();
    match status {
        "ok" => Ok(Ok(rest)),
        "error" => Ok(Err(rest)),
        other => Err(broken(format!(
            "its answer starts with {:?}, not ok or error",
            crate::text::truncate(&crate::text::visible(other), 40)
        ))),
    }
}

#[cfg(not(unix))]
pub fn ask(config: &Path, _request: &Request) -> Result<Answer, AskError> {
    Err(AskError::NotRunning {
        config: config.display().to_string(),
    })
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

    #[cfg(unix)]
    #[test]
    fn a_request_gets_its_answer_and_nothing_listening_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let request = Request::Clear {
            job: "team/api".into(),
            server: Some("ci".into()),
        };
        assert!(matches!(
            ask_in(dir.path(), &config, &request),
            Err(AskError::NotRunning { .. })
        ));
        let lock = InstanceLock::acquire_in(dir.path(), &config, Duration::ZERO).unwrap();
        lock.listen(|request| match request {
            Request::Clear { job, server } => {
                Ok(format!("cleared {job} on {server:?}\nsecond line"))
            }
            Request::List => Err("nobody is on any job".into()),
            other => Err(format!("unexpected {other:?}")),
        });
        assert_eq!(
            ask_in(dir.path(), &config, &request).unwrap(),
            Ok("cleared team/api on Some(\"ci\")\nsecond line".to_owned())
        );
        assert_eq!(
            ask_in(dir.path(), &config, &Request::List).unwrap(),
            Err("nobody is on any job".to_owned())
        );
    }

    #[test]
    fn a_request_line_of_another_protocol_or_garbage_is_refused_clearly() {
        assert_eq!(parse_request("show\n"), Ok(Request::Show));
        assert_eq!(
            parse_request(&request_line(&Request::List)),
            Ok(Request::List)
        );
        let err = parse_request("ledtogo/2 {\"op\":\"list\"}\n").unwrap_err();
        assert!(err.contains("speaks ledtogo/1, not \"ledtogo/2\""), "{err}");
        let err = parse_request("ledtogo/1 {\"op\":\"format_disk\"}\n").unwrap_err();
        assert!(err.contains("does not understand"), "{err}");
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
