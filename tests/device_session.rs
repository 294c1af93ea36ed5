//! End-to-end: the device worker against the emulated ledtogo device on a real pty —
//! handshake, frame delivery, chunking, keepalive, identify, clean close.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledtogo::color::{Correction, Rgb};
use ledtogo::config::PortChoice;
use ledtogo::outputs::serial::protocol::ByeAction;
use ledtogo::outputs::serial::{Device, DeviceSettings, DeviceStatus, ProbeOutcome, probe};
use support::emulator::{Emulator, EmulatorOptions};

const WAIT: Duration = Duration::from_secs(20);

fn settings(emu: &Emulator, leds: usize) -> DeviceSettings {
    DeviceSettings {
        port: PortChoice::Path(emu.path().to_path_buf()),
        baud: 115_200,
        leds,
    }
}

fn frame(leds: usize, seed: u8) -> Vec<Rgb> {
    (0..leds)
        .map(|i| Rgb::new(seed.wrapping_add(i as u8), 255 - i as u8, seed ^ 0x5A))
        .collect()
}

#[test]
fn handshake_reports_the_devices_identity() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(
        dir.path().join("tty"),
        EmulatorOptions {
            device_id: 0xCAFE_F00D,
            ..EmulatorOptions::default()
        },
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let device = Device::spawn(settings(&emu, 16), move |s| {
        seen2.lock().unwrap().push(s.clone());
    });
    let status = device
        .wait_status(WAIT, DeviceStatus::is_connected)
        .expect("connects");
    assert_eq!(
        status,
        DeviceStatus::Connected {
            port: emu.path().display().to_string(),
            firmware: "1.0.0".into(),
            leds: 16,
            device_id: 0xCAFE_F00D,
        }
    );
    assert_eq!(seen.lock().unwrap().first(), Some(&DeviceStatus::Searching));
    assert_eq!(seen.lock().unwrap().last(), Some(&status));
    assert!(
        emu.wait_until(WAIT, |s| s.session && s.hellos == 1)
            .is_some()
    );
    device.close();
    let state = emu
        .wait_until(WAIT, |s| !s.byes.is_empty())
        .expect("BYE arrives");
    assert_eq!(state.byes, vec![ByeAction::GoStale]);
}

#[test]
fn the_emulator_receives_exactly_the_frame() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(dir.path().join("tty"), EmulatorOptions::default()).unwrap();
    let device = Device::spawn(settings(&emu, 16), |_| {});
    let f = frame(16, 7);
    device.show(f.clone());
    assert!(device.wait_delivered(WAIT));
    assert_eq!(emu.state().shown, f);
    // A change of one LED is sent and shown; the rest stays.
    let mut g = f.clone();
    g[9] = Rgb::new(1, 2, 3);
    device.show(g.clone());
    assert!(device.wait_delivered(WAIT));
    assert_eq!(emu.state().shown, g);
}

#[test]
fn a_long_strip_goes_in_chunks_with_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(dir.path().join("tty"), EmulatorOptions::default()).unwrap();
    // The device boots with 16 LEDs; the host sets 100 and sends 4 chunks (31+31+31+7).
    let device = Device::spawn(settings(&emu, 100), |_| {});
    let status = device
        .wait_status(WAIT, DeviceStatus::is_connected)
        .unwrap();
    assert!(
        matches!(status, DeviceStatus::Connected { leds: 100, .. }),
        "{status}"
    );
    let f = frame(100, 40);
    device.show(f.clone());
    assert!(device.wait_delivered(WAIT));
    let state = emu.state();
    assert_eq!(state.led_count, 100);
    assert_eq!(state.shown, f);
    assert_eq!(state.set_pixels, 4);
    assert_eq!(state.shows, 1, "only the last chunk commits");
}

#[test]
fn frames_are_padded_or_cut_to_the_strip_length() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(dir.path().join("tty"), EmulatorOptions::default()).unwrap();
    let device = Device::spawn(settings(&emu, 16), |_| {});
    device.show(frame(4, 1));
    assert!(device.wait_delivered(WAIT));
    let mut expected = frame(4, 1);
    expected.resize(16, Rgb::OFF);
    assert_eq!(emu.state().shown, expected);
    device.show(frame(20, 2));
    assert!(device.wait_delivered(WAIT));
    assert_eq!(emu.state().shown, frame(20, 2)[..16].to_vec());
}

#[test]
fn an_idle_session_is_kept_alive_with_pings_and_no_frames() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(
        dir.path().join("tty"),
        EmulatorOptions {
            stale_after: Duration::from_secs(3),
            ..EmulatorOptions::default()
        },
    )
    .unwrap();
    let device = Device::spawn(settings(&emu, 16), |_| {});
    device.show(frame(16, 3));
    assert!(device.wait_delivered(WAIT));
    let after_frame = emu.state();
    // Several pings must arrive while nothing changes, and the device must never go stale
    // even though its watchdog is 3 s.
    let state = emu
        .wait_until(WAIT, |s| s.pings >= after_frame.pings + 4)
        .expect("pings keep coming");
    assert!(!state.stale, "the watchdog fired during keepalive");
    assert!(state.session);
    assert_eq!(
        state.shows, after_frame.shows,
        "unchanged frames are not re-sent"
    );
    assert_eq!(state.hellos, 1);
}

#[test]
fn the_same_frame_twice_is_sent_once() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(dir.path().join("tty"), EmulatorOptions::default()).unwrap();
    let device = Device::spawn(settings(&emu, 16), |_| {});
    device.show(frame(16, 9));
    assert!(device.wait_delivered(WAIT));
    let before = emu.state().set_pixels;
    device.show(frame(16, 9));
    assert!(device.wait_delivered(WAIT));
    assert_eq!(emu.state().set_pixels, before);
}

#[test]
fn identify_reaches_the_device() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(dir.path().join("tty"), EmulatorOptions::default()).unwrap();
    let device = Device::spawn(settings(&emu, 16), |_| {});
    device
        .wait_status(WAIT, DeviceStatus::is_connected)
        .unwrap();
    device.identify(3);
    let state = emu.wait_until(WAIT, |s| !s.identifies.is_empty()).unwrap();
    assert_eq!(state.identifies, vec![3]);
}

#[test]
fn probe_tells_what_answers() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(dir.path().join("tty"), EmulatorOptions::default()).unwrap();
    let outcome = probe(emu.path().to_str().unwrap(), 115_200).unwrap();
    let ProbeOutcome::Ledtogo(info) = &outcome else {
        panic!("{outcome}");
    };
    assert_eq!(info.led_count, 16);
    assert_eq!(info.max_payload, 96);
    assert!(
        outcome
            .to_string()
            .starts_with("ledtogo device: firmware 1.0.0"),
        "{outcome}"
    );
}

#[test]
fn disabled_port_stays_disabled() {
    let device = Device::spawn(
        DeviceSettings {
            port: PortChoice::None,
            ..DeviceSettings::default()
        },
        |_| {},
    );
    assert_eq!(device.status(), DeviceStatus::Disabled);
    device.show(frame(3, 0));
    assert!(!device.wait_delivered(Duration::from_millis(200)));
    device.close();
}

#[test]
fn test_pattern_lights_each_led_then_a_rainbow_then_off() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(dir.path().join("tty"), EmulatorOptions::default()).unwrap();
    let mut steps = Vec::new();
    let status = ledtogo::outputs::serial::test_pattern(settings(&emu, 8), Correction::NONE, |s| {
        steps.push(s.to_owned());
    })
    .expect("pattern runs");
    assert!(status.is_connected());
    assert_eq!(steps[0], "connecting");
    assert_eq!(steps[1], status.to_string());
    assert_eq!(steps[2], "LED 1 of 8");
    assert_eq!(steps[9], "LED 8 of 8");
    assert_eq!(&steps[10..], ["rainbow", "off"]);

    let state = emu.wait_until(WAIT, |s| !s.byes.is_empty()).unwrap();
    assert_eq!(state.byes, vec![ByeAction::Blank]);
    // The device showed each LED alone, in order, then changing colours, then black.
    for (i, shown) in state.history[..8].iter().enumerate() {
        let lit: Vec<usize> = (0..8).filter(|&k| shown[k] != Rgb::OFF).collect();
        assert_eq!(lit, vec![i], "step {i}: {shown:?}");
    }
    let black = vec![Rgb::OFF; 8];
    let end = state.history.iter().rposition(|f| *f != black).unwrap() + 1;
    let rainbow = &state.history[8..end];
    assert!(rainbow.len() >= 20, "{} rainbow frames", rainbow.len());
    assert!(rainbow.iter().all(|f| f.iter().all(|c| *c != Rgb::OFF)));
    assert_ne!(rainbow[0], rainbow[rainbow.len() - 1]);
    assert_eq!(state.history.last().unwrap(), &black);
    assert_eq!(state.shown, black);
}

#[test]
fn test_pattern_without_a_device_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent");
    let err = ledtogo::outputs::serial::test_pattern(
        DeviceSettings {
            port: PortChoice::Path(path.clone()),
            baud: 115_200,
            leds: 4,
        },
        Correction::NONE,
        |_| {},
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("no LED device connected within"), "{text}");
    assert!(text.contains(path.to_str().unwrap()), "{text}");
}
