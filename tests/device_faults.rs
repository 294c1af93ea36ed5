//! End-to-end: the device worker against misbehaving emulated devices on real ptys — unplug
//! and replug, reset mid-session, a stock Adalight board, a silent port, garbage, a crashed host.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledtogo::color::Rgb;
use ledtogo::config::PortChoice;
use ledtogo::outputs::serial::{Device, DeviceSettings, DeviceStatus, ProbeOutcome, probe};
use support::emulator::{Behaviour, Emulator, EmulatorOptions};

const WAIT: Duration = Duration::from_secs(20);

fn settings(emu: &Emulator) -> DeviceSettings {
    DeviceSettings {
        port: PortChoice::Path(emu.path().to_path_buf()),
        baud: 115_200,
        leds: 16,
    }
}

fn emulator(dir: &tempfile::TempDir, behaviour: Behaviour) -> Emulator {
    Emulator::start(
        dir.path().join("ttyLED"),
        EmulatorOptions {
            behaviour,
            ..EmulatorOptions::default()
        },
    )
    .unwrap()
}

fn frame(seed: u8) -> Vec<Rgb> {
    (0..16u8)
        .map(|i| Rgb::new(seed ^ i, i.wrapping_mul(13), 200 - i))
        .collect()
}

/// Records every status the worker reports.
fn recorder() -> (
    Arc<Mutex<Vec<DeviceStatus>>>,
    impl Fn(&DeviceStatus) + Send + 'static,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    (seen, move |s: &DeviceStatus| {
        sink.lock().unwrap().push(s.clone());
    })
}

#[test]
fn unplug_is_reported_and_replug_reconnects_and_resends_the_whole_frame() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&dir, Behaviour::Ledtogo);
    let (seen, on_status) = recorder();
    let device = Device::spawn(settings(&emu), on_status);
    device.show(frame(1));
    assert!(device.wait_delivered(WAIT));
    assert_eq!(emu.state().shown, frame(1));

    emu.unplug();
    let status = device
        .wait_status(WAIT, |s| matches!(s, DeviceStatus::Error { .. }))
        .expect("the unplug is reported");
    let DeviceStatus::Error { port, reason } = &status else {
        unreachable!()
    };
    assert_eq!(port.as_deref(), Some(emu.path().to_str().unwrap()));
    assert!(!reason.is_empty());

    // While unplugged the engine keeps drawing; the latest frame must win after the replug.
    device.show(frame(2));
    device.show(frame(3));
    emu.replug();
    let state = emu
        .wait_until(WAIT, |s| s.opens == 2 && s.shown == frame(3))
        .expect("reconnects and re-sends the frame");
    assert_eq!(state.hellos, 2);
    assert!(
        device
            .wait_status(WAIT, DeviceStatus::is_connected)
            .is_some()
    );
    let seen = seen.lock().unwrap();
    let first_error = seen
        .iter()
        .position(|s| matches!(s, DeviceStatus::Error { .. }))
        .unwrap();
    assert!(
        seen[first_error..].iter().any(DeviceStatus::is_connected),
        "{seen:?}"
    );
}

#[test]
fn an_unchanged_frame_is_resent_after_a_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&dir, Behaviour::Ledtogo);
    let device = Device::spawn(settings(&emu), |_| {});
    device.show(frame(4));
    assert!(device.wait_delivered(WAIT));
    emu.unplug();
    device
        .wait_status(WAIT, |s| matches!(s, DeviceStatus::Error { .. }))
        .unwrap();
    emu.replug();
    // The new "board" booted dark; the host must push the frame without being asked.
    let state = emu
        .wait_until(WAIT, |s| {
            s.opens == 2 && s.shows >= 1 && s.shown == frame(4)
        })
        .expect("full frame after reconnect");
    assert_eq!(state.hellos, 2);
}

#[test]
fn a_device_reset_mid_session_gets_a_new_hello_and_the_whole_frame() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&dir, Behaviour::Ledtogo);
    let device = Device::spawn(settings(&emu), |_| {});
    device.show(frame(5));
    assert!(device.wait_delivered(WAIT));
    let before = emu.state();
    assert_eq!(before.boots, 1);

    emu.reset();
    let state = emu
        .wait_until(WAIT, |s| {
            s.boots == 2 && s.hellos == 2 && s.shown == frame(5)
        })
        .expect("re-HELLO and full re-send after the BOOT event");
    assert_eq!(state.opens, 1, "the port stays open");
    assert!(state.session);
}

#[test]
fn a_device_that_went_stale_is_greeted_again() {
    // A device whose watchdog ended the session says Ada again while the host still thinks it
    // is in session: the host must say HELLO again and re-send the frame.
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&dir, Behaviour::Ledtogo);
    let device = Device::spawn(settings(&emu), |_| {});
    device.show(frame(6));
    assert!(device.wait_delivered(WAIT));
    emu.send_raw(b"Ada\n".to_vec());
    let state = emu
        .wait_until(WAIT, |s| s.hellos == 2 && s.set_pixels >= 2)
        .expect("HELLO again after Ada mid-session");
    assert_eq!(state.shown, frame(6));
}

#[test]
fn a_stock_adalight_board_gets_ada_frames_and_keepalive_resends() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&dir, Behaviour::StockAdalight);
    let device = Device::spawn(settings(&emu), |_| {});
    let status = device
        .wait_status(WAIT, DeviceStatus::is_connected)
        .unwrap();
    assert_eq!(
        status,
        DeviceStatus::Legacy {
            port: emu.path().display().to_string()
        }
    );
    assert!(status.to_string().contains("legacy Adalight"), "{status}");
    device.show(frame(7));
    let state = emu
        .wait_until(WAIT, |s| s.shown == frame(7))
        .expect("Ada frame arrives");
    // Nothing changes, yet the frame is written again at least every second.
    let later = emu
        .wait_until(WAIT, |s| s.ada_frames >= state.ada_frames + 3)
        .expect("keepalive re-sends");
    assert_eq!(later.shown, frame(7));
    assert_eq!(
        later.hellos, 0,
        "a stock board never sees an answered HELLO"
    );
    assert_eq!(later.set_pixels, 0);
}

#[test]
fn a_silent_port_is_an_error_and_closing_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&dir, Behaviour::Silent);
    let device = Device::spawn(settings(&emu), |_| {});
    let status = device
        .wait_status(WAIT, |s| matches!(s, DeviceStatus::Error { .. }))
        .expect("reported");
    assert!(
        status.to_string().contains("no LED device answers"),
        "{status}"
    );
    // Close in the middle of the next attempt: must return (the test would hang otherwise).
    device.show(frame(8));
    device.close();
}

#[test]
fn a_port_that_sends_only_garbage_is_not_taken_for_a_led_device() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&dir, Behaviour::Garbage);
    let device = Device::spawn(settings(&emu), |_| {});
    let status = device
        .wait_status(WAIT, |s| matches!(s, DeviceStatus::Error { .. }))
        .expect("reported");
    assert!(
        status.to_string().contains("no LED device answers"),
        "{status}"
    );
    assert!(emu.state().noise_bytes > 0);
}

#[test]
fn garbage_between_replies_is_skipped_and_frames_still_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(
        dir.path().join("ttyLED"),
        EmulatorOptions {
            noise: true,
            ..EmulatorOptions::default()
        },
    )
    .unwrap();
    let device = Device::spawn(settings(&emu), |_| {});
    for seed in 10..20 {
        device.show(frame(seed));
        assert!(device.wait_delivered(WAIT), "frame {seed}");
        assert_eq!(emu.state().shown, frame(seed));
    }
    let state = emu
        .wait_until(WAIT, |s| s.pings >= 2)
        .expect("pings answered");
    assert!(state.noise_bytes > 0);
    assert!(device.status().is_connected());
}

#[test]
fn a_host_that_vanishes_without_bye_leaves_the_device_to_its_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(
        dir.path().join("ttyLED"),
        EmulatorOptions {
            stale_after: Duration::from_secs(1),
            ..EmulatorOptions::default()
        },
    )
    .unwrap();
    let device = Device::spawn(settings(&emu), |_| {});
    device.show(frame(9));
    assert!(device.wait_delivered(WAIT));
    device.abandon();
    // Like a crash: the port closes, no BYE; the board keeps running and its watchdog fires.
    let state = emu
        .wait_until(WAIT, |s| !s.open && s.stale && !s.session)
        .expect("the device goes stale on its own");
    assert!(state.byes.is_empty(), "abandon must not say BYE");
    assert_eq!(
        state.shown,
        frame(9),
        "the last frame stays until the watchdog"
    );
}

#[test]
fn probe_recognises_legacy_and_silent_ports() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = emulator(&dir, Behaviour::StockAdalight);
    let outcome = probe(legacy.path().to_str().unwrap(), 115_200).unwrap();
    assert_eq!(outcome, ProbeOutcome::LegacyAdalight);
    drop(legacy);
    let silent = emulator(&dir, Behaviour::Silent);
    let outcome = probe(silent.path().to_str().unwrap(), 115_200).unwrap();
    assert_eq!(outcome, ProbeOutcome::NotLed { noise_frames: 0 });
    assert!(outcome.to_string().starts_with("not a LED device"));
}

#[test]
fn a_missing_port_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-tty");
    let device = Device::spawn(
        DeviceSettings {
            port: PortChoice::Path(path.clone()),
            baud: 115_200,
            leds: 16,
        },
        |_| {},
    );
    let status = device
        .wait_status(WAIT, |s| matches!(s, DeviceStatus::Error { .. }))
        .unwrap();
    let text = status.to_string();
    assert!(text.contains(path.to_str().unwrap()), "{text}");
    assert!(text.contains("cannot open serial port"), "{text}");
}
