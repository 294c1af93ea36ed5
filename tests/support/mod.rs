//! Helpers shared by the end-to-end tests: child processes that die with the test, line readers with
//! deadlines, and waiting for a condition instead of sleeping.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod emulator;
pub mod feed;
pub mod frames;
pub mod github;
pub mod pty;
pub mod relay;
pub mod wled;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The `ledtogo` binary under test, isolated from the developer's own config and with readable logs.
pub fn ledtogo() -> Command {
    ledtogo_in(&private_runtime_dir())
}

/// [`ledtogo`] with `runtime` as its `XDG_RUNTIME_DIR`, where the one-instance-per-config lock lives:
/// processes given the same folder see each other's locks. Its state folder (`XDG_STATE_HOME`, where
/// acknowledgements are kept) is `runtime/state`, so they share that too, and nothing else does.
pub fn ledtogo_in(runtime: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ledtogo"));
    c.env("HOME", env!("CARGO_TARGET_TMPDIR"))
        .env("XDG_CONFIG_HOME", env!("CARGO_TARGET_TMPDIR"))
        .env("XDG_RUNTIME_DIR", runtime)
        .env("XDG_STATE_HOME", runtime.join("state"))
        .env("RUST_LOG", "info");
    c
}

/// A runtime folder of its own for each started process, so tests running side by side never meet
/// each other's instance locks.
pub fn private_runtime_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "runtime-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A child process that is killed when the test ends, pass or fail.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Reads the child's stdout lines on a thread, so tests can wait for them with a deadline.
pub fn lines_of(child: &mut Child) -> Receiver<String> {
    let out = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits up to `limit` for `cond`, checking every 20 ms.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// Whether `tool` is on the PATH (tests that need Xvfb and friends say SKIPPED without them).
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A short mono 16-bit PCM WAV file (a tenth of a second of a click), for tests that need a real one.
pub fn wav() -> Vec<u8> {
    let data: Vec<u8> = (0..800)
        .map(|i| if i % 40 < 20 { 8000i16 } else { -8000 })
        .flat_map(i16::to_le_bytes)
        .collect();
    let len = u32::try_from(data.len()).unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16000u32.to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // bytes per frame
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&data);
    out
}
