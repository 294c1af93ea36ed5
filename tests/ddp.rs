//! WLED strips end to end: the real `ledtogo` binary, headless, against a simulated Jenkins, driving a
//! DDP receiver on loopback (`ddp://`), a WLED JSON API plus DDP receiver (`wled://`), and a WLED board
//! on a pty (Adalight on a named serial port); and the DDP sender's error statuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ledtogo::color::Rgb;
use ledtogo::config::Colors;
use ledtogo::model::JobState;
use ledtogo::outputs::DeviceStatus;
use ledtogo::outputs::ddp::{Sender, Target};
use ledtogo::sim::{SimJenkins, SimJob};
use support::frames::shown;
use support::wled::{DdpReceiver, InfoAnswer, WledHttp, WledUsb};
use support::{KillOnDrop, ledtogo, wait_until};

const WAIT: Duration = Duration::from_secs(20);

/// `ledtogo --headless --config PATH` with its log (stderr) collected; killed on drop.
struct Headless {
    log: Arc<Mutex<String>>,
    _child: KillOnDrop,
}

impl Headless {
    fn start(config: &Path) -> Headless {
        let mut child = ledtogo()
            .args(["--headless", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { return };
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Headless {
            log,
            _child: KillOnDrop(child),
        }
    }

    fn wait_log(&self, needle: &str) -> bool {
        wait_until(WAIT, || self.log.lock().unwrap().contains(needle))
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// A config polling `sim` every second, with `strip` as its `[strip]` body and `slots` appended.
fn write_config(
    dir: &tempfile::TempDir,
    sim: &SimJenkins,
    strip: &str,
    slots: &str,
) -> std::path::PathBuf {
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "poll_seconds = 1\n[[servers]]\nname = \"ci\"\nurl = \"{}\"\n[strip]\n{strip}\n{slots}",
            sim.url()
        ),
    )
    .unwrap();
    path
}

fn two_jobs() -> SimJenkins {
    SimJenkins::start(vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimJob::new("web", Some(JobState::Failure)).into(),
    ])
    .unwrap()
}

const SLOTS: &str = "[[slots]]\nled = 0\njob = \"api\"\n[[slots]]\nled = 2\njob = \"web\"\n";

#[test]
fn a_ddp_strip_shows_each_jobs_colour_at_its_offset_and_pushes_the_frame() {
    let sim = two_jobs();
    let receiver = DdpReceiver::start("127.0.0.1", 0);
    let dir = tempfile::tempdir().unwrap();
    let strip = format!("port = \"ddp://127.0.0.1:{}\"\nleds = 3", receiver.port);
    let app = Headless::start(&write_config(&dir, &sim, &strip, SLOTS));
    let c = Colors::default();
    let want = [shown(c.success), Rgb::OFF, shown(c.failure)];
    assert!(
        receiver.wait_for(WAIT, &want),
        "frames: {:?}\nlog:\n{}",
        receiver.frames().last(),
        app.log()
    );
    let packet = receiver
        .packets()
        .into_iter()
        .find(|p| {
            p.data[..]
                == [
                    want[0].r, want[0].g, want[0].b, 0, 0, 0, want[2].r, want[2].g, want[2].b,
                ]
        })
        .expect("a packet with the frame");
    assert_eq!(packet.flags, 0x41, "version 1, push");
    assert_eq!(packet.data_type, 0x0B, "RGB, 8 bits a channel");
    assert_eq!(packet.destination, 1, "the default output device");
    assert_eq!(packet.offset, 0);
    assert!((1..=15).contains(&packet.sequence));
    assert!(receiver.errors().is_empty(), "{:?}", receiver.errors());
    assert!(
        app.wait_log(&format!("streaming to 127.0.0.1:{} (DDP)", receiver.port)),
        "{}",
        app.log()
    );

    sim.finish_build("api", JobState::Failure);
    assert!(
        receiver.wait_for(WAIT, &[shown(c.failure), Rgb::OFF, shown(c.failure)]),
        "the broken job turns red on the strip"
    );
}

#[test]
fn a_strip_longer_than_one_packet_spans_several_and_pushes_only_the_last() {
    let sim = two_jobs();
    let receiver = DdpReceiver::start("127.0.0.1", 0);
    let dir = tempfile::tempdir().unwrap();
    let strip = format!("port = \"ddp://127.0.0.1:{}\"\nleds = 600", receiver.port);
    let slots = "[[slots]]\nled = 0\njob = \"api\"\n[[slots]]\nled = 599\njob = \"web\"\n";
    let _app = Headless::start(&write_config(&dir, &sim, &strip, slots));
    let c = Colors::default();
    assert!(wait_until(WAIT, || receiver.frames().iter().any(
        |(_, f)| { f.len() == 600 && f[0] == shown(c.success) && f[599] == shown(c.failure) }
    )));
    let packets = receiver.packets();
    let first = packets
        .iter()
        .position(|p| {
            p.offset == 0
                && p.data[..3] == [shown(c.success).r, shown(c.success).g, shown(c.success).b]
        })
        .unwrap();
    let (a, b) = (&packets[first], &packets[first + 1]);
    assert_eq!((a.offset, a.data.len(), a.push()), (0, 1440, false));
    assert_eq!((b.offset, b.data.len(), b.push()), (1440, 360, true));
    assert_eq!(b.sequence, a.sequence % 15 + 1, "the next sequence number");
    let last = shown(c.failure);
    assert_eq!(
        b.data[357..],
        [last.r, last.g, last.b],
        "LED 599 ends the frame"
    );
}

#[test]
fn an_idle_strip_gets_its_frame_again_at_least_once_a_second() {
    let sim = two_jobs();
    let receiver = DdpReceiver::start("127.0.0.1", 0);
    let dir = tempfile::tempdir().unwrap();
    let strip = format!("port = \"ddp://127.0.0.1:{}\"\nleds = 3", receiver.port);
    let _app = Headless::start(&write_config(&dir, &sim, &strip, SLOTS));
    let c = Colors::default();
    let want = [shown(c.success), Rgb::OFF, shown(c.failure)];
    assert!(receiver.wait_for(WAIT, &want));
    // Nothing changes from here on: every push is the same frame again.
    let from = Instant::now();
    std::thread::sleep(Duration::from_millis(3500));
    let pushes: Vec<Instant> = receiver
        .frames()
        .into_iter()
        .filter(|(at, f)| *at >= from && f[..] == want)
        .map(|(at, _)| at)
        .collect();
    assert!(pushes.len() >= 2, "{} re-sends in 3.5 s", pushes.len());
    let mut gaps: Vec<Duration> = pushes.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.push(pushes[0] - from);
    let longest = gaps.iter().max().unwrap();
    assert!(
        *longest <= Duration::from_millis(2200),
        "WLED leaves realtime mode after 2.5 s of silence: longest gap {longest:?}"
    );
}

#[test]
fn a_wled_board_says_who_it_is_and_gets_the_frame_over_ddp() {
    // A loopback address of its own, so the DDP receiver can own WLED's port 4048 on it.
    let ip = "127.0.0.23";
    let receiver = DdpReceiver::start(ip, 4048);
    let api = WledHttp::start(ip, InfoAnswer::wled("desk", 3));
    let sim = two_jobs();
    let dir = tempfile::tempdir().unwrap();
    let strip = format!("port = \"wled://{ip}:{}\"\nleds = 3", api.port);
    let app = Headless::start(&write_config(&dir, &sim, &strip, SLOTS));
    let c = Colors::default();
    assert!(
        receiver.wait_for(WAIT, &[shown(c.success), Rgb::OFF, shown(c.failure)]),
        "{}",
        app.log()
    );
    assert!(
        app.wait_log("WLED 0.15.0 'desk', 3 LEDs; streaming to 127.0.0.23:4048 (DDP)"),
        "{}",
        app.log()
    );
    assert!(
        api.requests
            .lock()
            .unwrap()
            .iter()
            .all(|u| u == "/json/info")
    );

    let out = ledtogo()
        .args([
            "ports",
            "--no-probe",
            "--probe",
            &format!("wled://{ip}:{}", api.port),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("WLED 0.15.0 'desk', 3 LEDs"), "{stdout}");
}

#[test]
fn a_wled_board_with_another_led_count_is_streamed_to_and_the_status_says_the_fix() {
    let ip = "127.0.0.24";
    let receiver = DdpReceiver::start(ip, 4048);
    let api = WledHttp::start(ip, InfoAnswer::wled("hall", 60));
    let sim = two_jobs();
    let dir = tempfile::tempdir().unwrap();
    let strip = format!("port = \"wled://{ip}:{}\"\nleds = 3", api.port);
    let app = Headless::start(&write_config(&dir, &sim, &strip, SLOTS));
    assert!(
        app.wait_log("[strip] leds = 3 but the board has 60: set leds = 60"),
        "{}",
        app.log()
    );
    assert!(wait_until(WAIT, || !receiver.frames().is_empty()));
}

#[test]
fn a_reload_moves_the_strip_between_none_and_the_network_and_a_stopped_sender_stays_silent() {
    let sim = two_jobs();
    let receiver = DdpReceiver::start("127.0.0.1", 0);
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, &sim, "port = \"none\"\nleds = 3", SLOTS);
    let app = Headless::start(&path);
    assert!(app.wait_log("LED device disabled"), "{}", app.log());
    let strip = format!("port = \"ddp://127.0.0.1:{}\"\nleds = 3", receiver.port);
    write_config(&dir, &sim, &strip, SLOTS);
    let c = Colors::default();
    assert!(
        receiver.wait_for(WAIT, &[shown(c.success), Rgb::OFF, shown(c.failure)]),
        "{}",
        app.log()
    );
    write_config(&dir, &sim, "port = \"none\"\nleds = 3", SLOTS);
    assert!(wait_until(WAIT, || app
        .log()
        .matches("LED device disabled")
        .count()
        >= 2));
    std::thread::sleep(Duration::from_millis(300));
    let before = receiver.packets().len();
    std::thread::sleep(Duration::from_millis(2000));
    assert_eq!(
        receiver.packets().len(),
        before,
        "nothing is sent after the switch"
    );
}

#[test]
fn a_wled_board_on_usb_takes_adalight_frames_on_a_named_port() {
    let board = WledUsb::start();
    let sim = two_jobs();
    let dir = tempfile::tempdir().unwrap();
    let strip = format!("port = \"{}\"\nleds = 3", board.path.display());
    let app = Headless::start(&write_config(&dir, &sim, &strip, SLOTS));
    let c = Colors::default();
    let want = vec![shown(c.success), Rgb::OFF, shown(c.failure)];
    assert!(
        wait_until(WAIT, || board.frames().contains(&want)),
        "frames: {:?}\nlog:\n{}",
        board.frames().last(),
        app.log()
    );
    assert!(board.versions_asked() >= 1, "asked who it is");
    assert!(
        app.wait_log(&format!(
            "WLED board on {} (build 2412100), driven as Adalight",
            board.path.display()
        )),
        "{}",
        app.log()
    );
}

/// What a sender for `target` reports first as an error.
fn first_error(target: Target) -> String {
    let sender = Sender::spawn(target, 3, |_| {});
    sender.show(vec![Rgb::OFF; 3]);
    let status = sender
        .wait_status(WAIT, |s| matches!(s, DeviceStatus::Error { .. }))
        .expect("an error status");
    status.to_string()
}

#[test]
fn a_wled_api_that_answers_html_is_refused_with_its_content_type() {
    let ip = "127.0.0.25";
    let api = WledHttp::start(
        ip,
        InfoAnswer {
            content_type: "text/html",
            body: b"<html>login</html>".to_vec(),
        },
    );
    let line = first_error(Target::Wled {
        host: ip.into(),
        http_port: api.port,
    });
    assert!(line.contains("not a JSON API answer"), "{line}");
    assert!(line.contains("text/html"), "{line}");
    assert!(line.contains("is it a WLED board?"), "{line}");
    assert!(line.ends_with("; retrying"), "{line}");
}

#[test]
fn a_wled_api_answer_larger_than_64_kb_is_refused() {
    let ip = "127.0.0.26";
    let big = format!(
        r#"{{"ver":"0.15.0","leds":{{"count":3}},"name":"{}"}}"#,
        "x".repeat(100_000)
    );
    let api = WledHttp::start(
        ip,
        InfoAnswer {
            content_type: "application/json",
            body: big.into_bytes(),
        },
    );
    let line = first_error(Target::Wled {
        host: ip.into(),
        http_port: api.port,
    });
    assert!(line.contains("larger than 64 KB"), "{line}");
}

#[test]
fn a_wled_board_that_refuses_the_connection_is_an_error_and_asked_again() {
    // A port that was free a moment ago: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.27:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sender = Sender::spawn(
        Target::Wled {
            host: "127.0.0.27".into(),
            http_port: port,
        },
        3,
        |_| {},
    );
    let status = sender
        .wait_status(WAIT, |s| matches!(s, DeviceStatus::Error { .. }))
        .unwrap();
    let line = status.to_string();
    assert!(line.contains("connection refused"), "{line}");
    assert!(line.contains("wled://127.0.0.27"), "names the port: {line}");
    // Once it answers, the sender asks again by itself and streams.
    let receiver = DdpReceiver::start("127.0.0.27", 4048);
    let server = tiny_http::Server::http(("127.0.0.27", port)).unwrap();
    let answer = InfoAnswer::wled("late", 3);
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let ct = tiny_http::Header::from_bytes("Content-Type", answer.content_type).unwrap();
            req.respond(tiny_http::Response::from_data(answer.body.clone()).with_header(ct))
                .ok();
        }
    });
    sender.show(vec![Rgb::new(1, 2, 3); 3]);
    let status = sender
        .wait_status(WAIT, |s| matches!(s, DeviceStatus::Streaming { .. }))
        .expect("recovers after the back-off");
    assert!(
        status.to_string().starts_with("WLED 0.15.0 'late', 3 LEDs"),
        "{status}"
    );
    assert!(receiver.wait_for(WAIT, &[Rgb::new(1, 2, 3); 3]));
}

#[test]
fn a_ddp_host_that_does_not_resolve_is_an_error_naming_it() {
    let line = first_error(Target::Ddp {
        host: "no-such-strip.invalid".into(),
        port: 4048,
    });
    assert!(line.contains("cannot find no-such-strip.invalid"), "{line}");
    assert!(line.contains("ddp://no-such-strip.invalid"), "{line}");
}

#[test]
fn the_test_pattern_runs_on_a_ddp_strip_and_leaves_it_dark() {
    let receiver = DdpReceiver::start("127.0.0.1", 0);
    let port = format!("ddp://127.0.0.1:{}", receiver.port);
    let out = ledtogo()
        .args(["test-pattern", "--port", &port, "--leds", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "test pattern done on streaming to 127.0.0.1:{} (DDP)",
            receiver.port
        )),
        "{stdout}"
    );
    let frames: Vec<Vec<Rgb>> = receiver.frames().into_iter().map(|(_, f)| f).collect();
    for led in 0..3 {
        assert!(
            frames.iter().any(|f| f
                .iter()
                .enumerate()
                .all(|(i, c)| (i == led) != (*c == Rgb::OFF))),
            "LED {led} alone lit at some point"
        );
    }
    assert_eq!(
        frames.last().unwrap(),
        &vec![Rgb::OFF; 3],
        "dark at the end"
    );
}

#[test]
fn a_wled_board_on_the_local_network_is_asked_directly_even_with_a_proxy_in_the_environment() {
    let ip = "127.0.0.29";
    let api = WledHttp::start(ip, InfoAnswer::wled("lab", 8));
    // A company proxy that cannot reach the strip (here: nothing listens on it at all).
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let out = ledtogo()
        .args(["ports", "--no-probe", "--no-network", "--probe"])
        .arg(format!("wled://{ip}:{}", api.port))
        .env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env("ALL_PROXY", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("WLED 0.15.0 'lab', 8 LEDs"), "{stdout}");
}
