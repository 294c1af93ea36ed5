//! One ledtogo per config file: a second headless start on the same config says who runs and exits
//! non-zero; another config runs side by side; a second desktop start brings the first one's window up
//! and exits 0 (under Xvfb when it is installed; otherwise that part says SKIPPED).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use ledtogo::model::JobState;
use ledtogo::sim::{SimJenkins, SimJob};

mod support;
#[cfg(feature = "gui")]
#[path = "support/xdisplay.rs"]
mod xdisplay;
use support::{KillOnDrop, ledtogo_in, lines_of, private_runtime_dir};

fn config(dir: &Path, name: &str, url: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "poll_seconds = 1\n[[servers]]\nname = \"ci\"\nurl = \"{url}\"\n[strip]\nport = \"none\"\nleds = 2\n\
             [[slots]]\nled = 0\njob = \"api\"\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_second_headless_start_on_one_config_is_refused_and_another_config_runs() {
    let sim = SimJenkins::start(vec![SimJob::new("api", Some(JobState::Success)).into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runtime = private_runtime_dir();
    let a = config(dir.path(), "a.toml", sim.url());
    let b = config(dir.path(), "b.toml", sim.url());
    let before = std::fs::read(&a).unwrap();

    let mut first = ledtogo_in(&runtime)
        .args(["--headless", "--print-frames", "--config"])
        .arg(&a)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let frames = lines_of(&mut first);
    let first = KillOnDrop(first);
    frames
        .recv_timeout(Duration::from_secs(20))
        .expect("the first one runs");

    let second = ledtogo_in(&runtime)
        .args(["--headless", "--config"])
        .arg(&a)
        .output()
        .unwrap();
    assert!(!second.status.success(), "the second start is refused");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("already running")
            && err.contains(&first.0.id().to_string())
            && err.contains("a.toml"),
        "names the running one: {err}"
    );

    let mut other = ledtogo_in(&runtime)
        .args(["--headless", "--print-frames", "--config"])
        .arg(&b)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let other_frames = lines_of(&mut other);
    let _other = KillOnDrop(other);
    other_frames
        .recv_timeout(Duration::from_secs(20))
        .expect("another config runs beside it");
    assert_eq!(
        std::fs::read(&a).unwrap(),
        before,
        "the config is untouched"
    );
}

/// The desktop part, with the window build only.
#[cfg(feature = "gui")]
mod desktop {
    use std::io::{BufRead as _, BufReader};
    use std::process::Command;
    use std::sync::mpsc;

    use super::*;
    use support::{have, wait_until};

    #[test]
    fn a_second_desktop_start_shows_the_first_window_and_exits() {
        if !have("Xvfb") {
            eprintln!("SKIPPED: Xvfb is not installed (./dev test installs it)");
            return;
        }
        let n = crate::xdisplay::free_display(400..700).unwrap();
        let display = format!(":{n}");
        let _x = KillOnDrop(
            Command::new("Xvfb")
                .args([&display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        assert!(wait_until(Duration::from_secs(10), || Path::new(&format!(
            "/tmp/.X11-unix/X{n}"
        ))
        .exists()));
        let sim =
            SimJenkins::start(vec![SimJob::new("api", Some(JobState::Success)).into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let runtime = private_runtime_dir();
        let path = config(dir.path(), "desk.toml", sim.url());

        let mut first = ledtogo_in(&runtime)
            .args(["--no-tray", "--config"])
            .arg(&path)
            .env("DISPLAY", &display)
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = first.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(log).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let _first = KillOnDrop(first);
        let saw = |want: &str| {
            let end = std::time::Instant::now() + Duration::from_secs(30);
            while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
                match rx.recv_timeout(left) {
                    Ok(line) if line.contains(want) => return true,
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
            false
        };
        assert!(saw("using"), "the first desktop start runs");
        // Give it a moment to open its window and its socket.
        assert!(wait_until(Duration::from_secs(20), || std::fs::read_dir(
            runtime.join("ledtogo")
        )
        .is_ok_and(
            |mut d| d.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sock")))
        )));

        let second = ledtogo_in(&runtime)
            .args(["--no-tray", "--config"])
            .arg(&path)
            .env("DISPLAY", &display)
            .output()
            .unwrap();
        assert!(
            second.status.success(),
            "{}",
            String::from_utf8_lossy(&second.stderr)
        );
        assert!(
            String::from_utf8_lossy(&second.stderr).contains("showing its window"),
            "{}",
            String::from_utf8_lossy(&second.stderr)
        );
        assert!(saw("asked for the window"), "the first one was asked");
    }
}
