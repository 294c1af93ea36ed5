//! The tray shell in real processes: no display → a no-op tray; under Xvfb with an XEmbed tray (`trayer`)
//! the icon appears and its colour follows the state (checked on `import` screenshots).
//!
//! GTK is per process and the environment is process-global, so each scenario runs in a child process: this
//! test binary re-runs itself with `LEDTOGO_TRAY_CHILD` set, and the `child` test then plays the tray.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use ledtogo::tray::{Tray, TrayModel, TrayState, TrayView};

const CHILD: &str = "LEDTOGO_TRAY_CHILD";

fn model(state: TrayState) -> TrayModel {
    TrayModel {
        view: TrayView {
            state,
            tooltip: state.label().to_owned(),
            problems: vec![],
        },
        muted: false,
        paused: false,
    }
}

/// The child side: does nothing in a normal test run.
#[test]
fn child() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let tray = Tray::spawn(|action| println!("ACTION {action:?}"));
    match mode.as_str() {
        "no-display" => {
            assert!(!tray.available(), "no display, yet a tray");
            tray.update(model(TrayState::Failure));
            tray.stop();
            tray.update(model(TrayState::Success));
            println!("CHILD-OK");
        }
        "show" => {
            assert!(tray.available(), "a display and a tray, yet no icon");
            println!("READY");
            for line in std::io::stdin().lock().lines() {
                let line = line.unwrap();
                match line.trim() {
                    "failure" => tray.update(model(TrayState::Failure)),
                    "success" => tray.update(model(TrayState::Success)),
                    "quit" => break,
                    other => panic!("unknown command {other:?}"),
                }
                println!("DONE {}", line.trim());
            }
            tray.stop();
            println!("CHILD-OK");
        }
        other => panic!("unknown mode {other:?}"),
    }
}

fn child_command(mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .env("RUST_BACKTRACE", "0");
    cmd
}

#[test]
fn without_a_display_the_tray_is_a_quiet_no_op() {
    let out = child_command("no-display")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Kills what it holds when the test ends, pass or fail.
struct Reaper(Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn free_display() -> Option<u32> {
    (90..190).find(|n| {
        !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
    })
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const W: usize = 300;
const H: usize = 120;

/// Red-ish and green-ish pixel counts in the screen's bottom 50 rows (where trayer sits).
fn tray_colours(display: &str) -> (usize, usize) {
    let out = Command::new("import")
        .args([
            "-display", display, "-window", "root", "-depth", "8", "rgb:-",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "import failed");
    assert_eq!(out.stdout.len(), W * H * 3, "unexpected screenshot size");
    let mut red = 0;
    let mut green = 0;
    for p in out.stdout[(H - 50) * W * 3..].chunks_exact(3) {
        let [r, g, b] = [p[0], p[1], p[2]].map(i32::from);
        if r > 170 && g < 100 && b < 100 {
            red += 1;
        }
        if g > 120 && r < 100 && b < 110 && g > r + 50 {
            green += 1;
        }
    }
    (red, green)
}

struct Talk {
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Talk {
    fn expect(&self, marker: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("child never said {marker:?}"));
            if line.trim().ends_with(marker) {
                return;
            }
        }
    }

    fn say(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        self.expect(&format!("DONE {cmd}"));
    }
}

#[test]
fn under_xvfb_with_an_xembed_tray_the_icon_follows_the_state() {
    for tool in ["Xvfb", "trayer", "import"] {
        if !have(tool) {
            eprintln!("skipped: {tool} is not installed");
            return;
        }
    }
    if !Path::new("/usr/lib/x86_64-linux-gnu/libayatana-appindicator3.so.1").exists()
        && !Path::new("/lib/x86_64-linux-gnu/libayatana-appindicator3.so.1").exists()
    {
        eprintln!("skipped: libayatana-appindicator3-1 is not installed");
        return;
    }
    let Some(n) = free_display() else {
        eprintln!("skipped: no free X display number");
        return;
    };
    let display = format!(":{n}");
    let mut reaper = Reaper(Vec::new());
    reaper.0.push(
        Command::new("Xvfb")
            .args([
                &display,
                "-screen",
                "0",
                &format!("{W}x{H}x24"),
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("Xvfb", Duration::from_secs(10), || {
        Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
    });
    reaper.0.push(
        Command::new("trayer")
            .args([
                "--edge",
                "bottom",
                "--align",
                "left",
                "--widthtype",
                "pixel",
                "--width",
                "200",
                "--height",
                "40",
                "--SetDockType",
                "true",
                "--transparent",
                "false",
                "--tint",
                "0xffffff",
            ])
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(1500));

    let mut child = child_command("show")
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    reaper.0.push(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut talk = Talk { stdin, lines };
    talk.expect("READY");

    // Poll the screen: the icon shows up (and repaints) within a few seconds.
    let settle = |want_red: bool| {
        let start = Instant::now();
        loop {
            let (red, green) = tray_colours(&display);
            let ok = if want_red {
                red > 20 && green < 5
            } else {
                green > 20 && red < 5
            };
            if ok {
                return (red, green);
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "tray never turned {}: red {red}, green {green}",
                if want_red { "red" } else { "green" }
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    talk.say("failure");
    let (red, _) = settle(true);
    talk.say("success");
    let (_, green) = settle(false);
    eprintln!("tray pixels: {red} red after failure, {green} green after success");
    writeln!(talk.stdin, "quit").unwrap();
    talk.expect("CHILD-OK");
}
