//! End-to-end with the real firmware: `make -C firmware all sim` builds the Uno image and the
//! simavr harness, the harness runs the ELF behind a pty, the Rust device worker connects
//! through that pty, and the test reads what the WS2812 pin actually sent (FRAME lines).
//!
//! Needs gcc-avr, avr-libc, arduino-core-avr and libsimavr-dev; fails (does not skip) without.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ledtogo::color::{Correction, Rgb};
use ledtogo::config::PortChoice;
use ledtogo::outputs::serial::{Device, DeviceSettings, DeviceStatus};

mod support;

/// Firmware default (board.h / contract): no valid frame for 5 s → stale pattern.
const STALE_AFTER_S: u64 = 5;
const WAIT: Duration = Duration::from_secs(30);

/// The tests share one build directory; run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware")
}

fn build_firmware() {
    let out = Command::new("make")
        .arg("-C")
        .arg(firmware_dir())
        .args(["all", "sim"])
        .output()
        .expect("cannot run make (is it installed?)");
    assert!(
        out.status.success(),
        "`make -C firmware all sim` failed ({}); it needs gcc-avr, avr-libc, arduino-core-avr \
         and libsimavr-dev.\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One decoded WS2812 frame.
#[derive(Debug, Clone)]
struct SimFrame {
    t_ms: u64,
    leds: Vec<Rgb>,
}

fn parse_frame(line: &str) -> Option<SimFrame> {
    let mut words = line.split_whitespace();
    if words.next()? != "FRAME" {
        return None;
    }
    let mut t_ms = None;
    let mut n = None;
    let mut leds = Vec::new();
    for w in words {
        if let Some(v) = w.strip_prefix("t_ms=") {
            t_ms = v.parse().ok();
        } else if let Some(v) = w.strip_prefix("n=") {
            n = v.parse::<usize>().ok();
        } else if w.len() == 6 && !w.contains('=') {
            let v = u32::from_str_radix(w, 16).ok()?;
            leds.push(Rgb::new((v >> 16) as u8, (v >> 8) as u8, v as u8));
        }
    }
    assert_eq!(Some(leds.len()), n, "FRAME line with a wrong count: {line}");
    Some(SimFrame { t_ms: t_ms?, leds })
}

/// The running harness; killed on drop whatever happens in the test.
struct Sim {
    child: Child,
    _stdin: ChildStdin,
    lines: Receiver<String>,
    link: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sim {
    fn start() -> Sim {
        Sim::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("tty");
        let fw = firmware_dir();
        let mut child = Command::new(fw.join("build/ledtogo-sim"))
            .arg(fw.join("build/ledtogo.elf"))
            .arg("--link")
            .arg(&link)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start firmware/build/ledtogo-sim");
        let stdin = child.stdin.take().unwrap();
        let lines = support::lines_of(&mut child);
        let mut sim = Sim {
            child,
            _stdin: stdin,
            lines,
            link,
            _dir: dir,
        };
        let ready = sim
            .next_line_matching(WAIT, |l| l.starts_with("READY"))
            .expect("the harness prints READY");
        assert_eq!(ready, format!("READY {}", sim.link.display()));
        sim
    }

    fn next_line_matching(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(line) if pred(&line) => return Some(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => panic!("the harness exited"),
            }
        }
    }

    /// The first FRAME satisfying `pred` within `timeout`.
    fn frame_matching(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&SimFrame) -> bool,
    ) -> Option<SimFrame> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.next_line_matching(left, |l| l.starts_with("FRAME "))?;
            let frame = parse_frame(&line).expect("parsable FRAME line");
            if pred(&frame) {
                return Some(frame);
            }
        }
    }

    fn settings(&self) -> DeviceSettings {
        self.settings_for(16)
    }

    fn settings_for(&self, leds: usize) -> DeviceSettings {
        DeviceSettings {
            port: PortChoice::Path(self.link.clone()),
            baud: 115_200,
            leds,
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Colours well inside the firmware's 450 mA budget, so the power limit leaves them alone.
fn frame(seed: u8) -> Vec<Rgb> {
    (0..16u8)
        .map(|i| {
            Rgb::new(
                seed.wrapping_add(i * 5) % 90,
                (i * 7) % 90,
                (90 - i * 3) % 90,
            )
        })
        .collect()
}

/// The contract's stale pattern: every LED (A, A*3/8, 0) with A in 8..=48.
fn is_stale_pattern(leds: &[Rgb]) -> bool {
    let a = leds[0].r;
    (8..=48).contains(&a) && leds.iter().all(|c| *c == Rgb::new(a, a * 3 / 8, 0))
}

#[test]
fn the_firmware_shows_the_frame_goes_stale_without_the_host_and_comes_back() {
    let _guard = serial();
    build_firmware();
    let mut sim = Sim::start();

    let device = Device::spawn(sim.settings(), |_| {});
    let status = device
        .wait_status(WAIT, DeviceStatus::is_connected)
        .unwrap_or_else(|| panic!("no connection to the simulated Uno: {}", device.status()));
    let DeviceStatus::Connected { leds, firmware, .. } = &status else {
        panic!("expected a ledtogo session, got {status}");
    };
    assert_eq!((*leds, firmware.as_str()), (16, "1.0.0"));

    let a = frame(10);
    device.show(a.clone());
    assert!(device.wait_delivered(WAIT), "{}", device.status());
    sim.frame_matching(WAIT, |f| f.leds == a)
        .expect("the WS2812 pin carries the frame");

    let b = frame(40);
    device.show(b.clone());
    assert!(device.wait_delivered(WAIT));
    let shown = sim
        .frame_matching(WAIT, |f| f.leds == b)
        .expect("the WS2812 pin carries the changed frame");

    // The host dies: no BYE, the port closes.
    device.abandon();
    let stale = sim
        .frame_matching(WAIT, |f| is_stale_pattern(&f.leds))
        .expect("the stale pattern appears");
    let after_ms = stale.t_ms - shown.t_ms;
    assert!(
        after_ms <= (STALE_AFTER_S + 2) * 1000,
        "stale pattern {after_ms} ms (simulated) after the last frame"
    );
    assert!(
        after_ms >= (STALE_AFTER_S - 1) * 1000,
        "stale too early: {after_ms} ms"
    );

    // A new host connects (opening resets the Uno) and the frame is back.
    let device = Device::spawn(sim.settings(), |_| {});
    device
        .wait_status(WAIT, DeviceStatus::is_connected)
        .unwrap_or_else(|| panic!("no reconnection: {}", device.status()));
    device.show(b.clone());
    assert!(device.wait_delivered(WAIT));
    sim.frame_matching(WAIT, |f| f.leds == b)
        .expect("the frame is back after reconnecting");
    device.close();
}

#[test]
fn the_test_pattern_runs_on_the_simulated_board() {
    let _guard = serial();
    build_firmware();
    let mut sim = Sim::start();
    let mut steps = Vec::new();
    ledtogo::outputs::serial::test_pattern(sim.settings(), Correction::NONE, |s| {
        steps.push(s.to_owned());
    })
    .expect("test pattern");
    assert_eq!(steps.last().map(String::as_str), Some("off"));
    // Every LED was lit alone at some point, in order, and the strip ended black.
    let mut frames = Vec::new();
    while let Some(f) = sim.frame_matching(Duration::from_secs(2), |_| true) {
        frames.push(f.leds);
    }
    let mut next = 0;
    for f in &frames {
        let lit: Vec<usize> = (0..f.len()).filter(|&i| f[i] != Rgb::OFF).collect();
        if lit == [next] {
            next += 1;
        }
    }
    assert_eq!(next, 16, "LEDs lit one by one: {next} of 16");
    assert!(
        frames.iter().any(|f| f.iter().all(|c| *c != Rgb::OFF)),
        "no rainbow frame"
    );
    assert_eq!(frames.last().unwrap(), &vec![Rgb::OFF; 16]);
}

#[test]
fn chunked_frames_survive_the_unos_tiny_receive_fifo() {
    // --drop-rx-while-cli drops bytes that arrive while show() has interrupts off, like a real
    // Uno. Stop-and-wait (reply only after show) must never lose a byte: every frame of a
    // 60-LED strip (two SET_PIXELS chunks each) arrives exactly.
    let _guard = serial();
    build_firmware();
    let mut sim = Sim::start_with(&["--drop-rx-while-cli"]);
    let device = Device::spawn(sim.settings_for(60), |_| {});
    let status = device
        .wait_status(WAIT, DeviceStatus::is_connected)
        .unwrap_or_else(|| panic!("no connection: {}", device.status()));
    assert!(
        matches!(status, DeviceStatus::Connected { leds: 60, .. }),
        "{status}"
    );
    for seed in 0..8u8 {
        // At most 20 per channel: 60 LEDs stay inside the 450 mA budget.
        let f: Vec<Rgb> = (0..60u8)
            .map(|i| {
                Rgb::new(
                    (seed * 3 + i) % 21,
                    i.wrapping_mul(7) % 21,
                    (seed + 2 * i) % 21,
                )
            })
            .collect();
        device.show(f.clone());
        assert!(
            device.wait_delivered(WAIT),
            "frame {seed}: {}",
            device.status()
        );
        sim.frame_matching(WAIT, |s| s.leds == f)
            .unwrap_or_else(|| panic!("frame {seed} never reached the LEDs"));
    }
    assert!(device.status().is_connected());
    device.close();
}

/// The whole product path with the real firmware: a (simulated) Jenkins job changes, headless
/// `ledtogo` polls it, renders the frame and drives the simulated Uno, whose WS2812 pin carries it.
#[test]
fn headless_ledtogo_drives_the_simulated_board_from_jenkins() {
    use ledtogo::config::Colors;
    use ledtogo::model::JobState;
    use ledtogo::sim::{SimJenkins, SimJob};

    let _guard = serial();
    build_firmware();
    let mut sim = Sim::start();
    let jenkins = SimJenkins::start(vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimJob::new("web", Some(JobState::Success)).into(),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "poll_seconds = 1\n[[servers]]\nname = \"ci\"\nurl = \"{}\"\n\
             [strip]\nport = \"{}\"\nleds = 16\nbrightness = 0.5\n\
             [[slots]]\nled = 0\njob = \"api\"\n[[slots]]\nled = 1\njob = \"web\"\n\
             [aggregate]\nleds = [15]\n",
            jenkins.url(),
            sim.link.display()
        ),
    )
    .unwrap();
    let app = support::ledtogo()
        .args(["--headless", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let _app = support::KillOnDrop(app);

    let c = Colors::default();
    let strip = Correction {
        brightness: 0.5,
        gamma: 2.2,
    };
    let shown = |rgb| strip.apply(rgb);
    let expect = |led0: Rgb, tube: Rgb| {
        let mut f = vec![Rgb::OFF; 16];
        f[0] = led0;
        f[1] = shown(c.success);
        f[15] = tube;
        f
    };
    let all_green = expect(shown(c.success), shown(c.success));
    sim.frame_matching(WAIT, |f| f.leds == all_green)
        .expect("the board shows both jobs green and the tube green");
    jenkins.finish_build("api", JobState::Failure);
    let broken = expect(shown(c.failure), shown(c.failure));
    sim.frame_matching(WAIT, |f| f.leds == broken)
        .expect("the failed job and the tube turn red on the board");
}

/// `ledtogo ports --probe` and `ledtogo test-pattern` against the simulated board.
#[test]
fn the_ports_and_test_pattern_commands_work_against_the_simulated_board() {
    let _guard = serial();
    build_firmware();
    let mut sim = Sim::start();
    let out = support::ledtogo()
        .args(["ports", "--no-probe", "--probe"])
        .arg(&sim.link)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(&format!(
            "{}  → ledtogo device: firmware 1.0.0",
            sim.link.display()
        )),
        "{stdout}"
    );
    let out = support::ledtogo()
        .args(["test-pattern", "--port"])
        .arg(&sim.link)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("test pattern done on connected"));
    // The rainbow reached the LEDs: a frame with every LED lit.
    sim.frame_matching(WAIT, |f| f.leds.iter().all(|c| *c != Rgb::OFF))
        .expect("a rainbow frame on the WS2812 pin");
}
