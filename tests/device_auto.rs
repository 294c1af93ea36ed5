//! End-to-end: `port = "auto"` against emulated boards on real ptys — a board that is not a LED
//! device is opened once per plug-in, a port another process holds is never opened, the last
//! ledtogo device is remembered and tried first.
//!
//! The system never lists ptys, so the worker gets its listing from the test ([`AutoDiscovery`]):
//! the ports are real, only the USB identity (chip, serial number) is the test's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use ledtogo::config::PortChoice;
use ledtogo::outputs::serial::discovery::load_remembered_serial;
use ledtogo::outputs::serial::{
    AutoDiscovery, Device, DeviceSettings, DeviceStatus, PortKind, PortReport,
};
use support::emulator::{Behaviour, Emulator, EmulatorOptions};

const WAIT: Duration = Duration::from_secs(30);

fn auto() -> DeviceSettings {
    DeviceSettings {
        port: PortChoice::Auto,
        baud: 115_200,
        leds: 16,
    }
}

fn emulator(dir: &tempfile::TempDir, name: &str, behaviour: Behaviour) -> Emulator {
    Emulator::start(
        dir.path().join(name),
        EmulatorOptions {
            behaviour,
            ..EmulatorOptions::default()
        },
    )
    .unwrap()
}

/// `emu` listed as an Arduino with USB serial number `serial`.
fn arduino(emu: &Emulator, serial: &str) -> PortReport {
    PortReport {
        path: emu.path().to_str().unwrap().to_owned(),
        vid: Some(0x2341),
        pid: Some(0x0043),
        serial_number: Some(serial.to_owned()),
        manufacturer: Some("Arduino (www.arduino.cc)".into()),
        product: None,
        kind: PortKind::Arduino,
    }
}

/// The ports the worker sees listed (the test plugs and unplugs them) and how often it looked.
#[derive(Clone, Default)]
struct Listing {
    ports: Arc<Mutex<Vec<PortReport>>>,
    rounds: Arc<Mutex<u64>>,
}

impl Listing {
    fn new(ports: Vec<PortReport>) -> Listing {
        let listing = Listing::default();
        listing.set(ports);
        listing
    }

    fn set(&self, ports: Vec<PortReport>) {
        *self.ports.lock() = ports;
    }

    fn discovery(&self, remembered: Option<PathBuf>) -> AutoDiscovery {
        let listing = self.clone();
        AutoDiscovery::new(
            move || {
                *listing.rounds.lock() += 1;
                Ok(listing.ports.lock().clone())
            },
            remembered,
        )
    }

    fn rounds(&self) -> u64 {
        *self.rounds.lock()
    }

    /// Waits until the worker has listed the ports `more` more times.
    fn wait_rounds(&self, more: u64) {
        let until = self.rounds() + more;
        let deadline = Instant::now() + WAIT;
        while self.rounds() < until {
            assert!(
                Instant::now() < deadline,
                "the worker stopped listing ports (stuck in a probe or a session?)"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_board_that_is_not_a_led_device_is_opened_once_per_plug_in() {
    let dir = tempfile::tempdir().unwrap();
    let printer = emulator(&dir, "ttyPrinter", Behaviour::Silent);
    let listing = Listing::new(vec![arduino(&printer, "PRINTER1")]);
    let device = Device::spawn_with(auto(), listing.discovery(None), |_| {});

    printer
        .wait_until(WAIT, |s| s.opens == 1 && !s.open)
        .expect("the board is probed once");
    listing.wait_rounds(4);
    assert_eq!(printer.state().opens, 1, "opened (reset) again");
    let DeviceStatus::NotFound(search) = device.status() else {
        panic!("{}", device.status());
    };
    assert_eq!(search.tried.len(), 1, "{search}");
    assert!(
        search.tried[0].why.starts_with("not a LED device"),
        "{search}"
    );

    // Unplugged (gone from the listing) and plugged back in: one more probe.
    listing.set(Vec::new());
    listing.wait_rounds(1);
    listing.set(vec![arduino(&printer, "PRINTER1")]);
    printer
        .wait_until(WAIT, |s| s.opens == 2 && !s.open)
        .expect("the replugged board is probed again");
    listing.wait_rounds(2);
    assert_eq!(printer.state().opens, 2);
    device.close();
}

#[test]
fn a_port_another_program_holds_is_left_alone_until_it_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let led = emulator(&dir, "ttyHeld", Behaviour::Ledtogo);
    // Another program (here: this test) has the port open.
    let holder = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(led.path())
        .unwrap();
    let listing = Listing::new(vec![arduino(&led, "LED1")]);
    let device = Device::spawn_with(auto(), listing.discovery(None), |_| {});

    listing.wait_rounds(4);
    let state = led.state();
    assert_eq!(state.hellos, 0, "the worker spoke to a held port");
    assert_eq!(state.opens, 1, "only the holder opened it");
    let DeviceStatus::NotFound(search) = device.status() else {
        panic!("{}", device.status());
    };
    assert_eq!(search.tried.len(), 1, "{search}");
    assert!(
        search.tried[0].why.starts_with("busy (held by "),
        "{search}"
    );

    drop(holder);
    let status = device
        .wait_status(WAIT, DeviceStatus::is_connected)
        .expect("connects once the port is free");
    assert!(matches!(status, DeviceStatus::Connected { .. }), "{status}");
    device.close();
}

#[test]
fn the_last_ledtogo_device_is_remembered_and_tried_before_other_boards() {
    let dir = tempfile::tempdir().unwrap();
    let remembered = dir.path().join("state").join("device.toml");
    // The other board sorts first by path.
    let other = emulator(&dir, "ttyA-other", Behaviour::Silent);
    let led = emulator(&dir, "ttyB-led", Behaviour::Ledtogo);
    let listing = Listing::new(vec![arduino(&other, "OTHER1"), arduino(&led, "LED42")]);

    // First run: nothing remembered, so the boards are probed in path order.
    let first = Device::spawn_with(auto(), listing.discovery(Some(remembered.clone())), |_| {});
    first
        .wait_status(WAIT, DeviceStatus::is_connected)
        .expect("finds the LED device");
    assert_eq!(other.state().opens, 1);
    assert_eq!(
        load_remembered_serial(&remembered).unwrap().as_deref(),
        Some("LED42")
    );
    first.close();

    // Next start: the remembered device first; the other board is not reset again.
    let second = Device::spawn_with(auto(), listing.discovery(Some(remembered)), |_| {});
    let status = second
        .wait_status(WAIT, DeviceStatus::is_connected)
        .expect("finds the LED device again");
    let DeviceStatus::Connected { port, .. } = status else {
        unreachable!()
    };
    assert_eq!(port, led.path().to_str().unwrap());
    assert_eq!(other.state().opens, 1, "the other board was opened again");
    second.close();
}

#[test]
fn a_search_that_finds_nothing_says_what_it_tried_why_and_what_to_do_and_counts_its_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let silent = emulator(&dir, "ttyA-silent", Behaviour::Silent);
    let mut gone = arduino(&silent, "GONE1");
    gone.path = dir.path().join("ttyB-gone").to_str().unwrap().to_owned();
    let listing = Listing::new(vec![arduino(&silent, "SILENT1"), gone.clone()]);
    let device = Device::spawn_with(auto(), listing.discovery(None), |_| {});

    let status = device
        .wait_status(WAIT, |s| matches!(s, DeviceStatus::NotFound(_)))
        .expect("a round ends with what it found");
    let DeviceStatus::NotFound(first) = status else {
        unreachable!()
    };
    let text = first.to_string();
    let silent_path = silent.path().to_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "No LED device found (tried {silent_path}: no LED device answers (no Ada line, no reply to HELLO), {}: ",
            gone.path
        )),
        "{text}"
    );
    assert!(
        text.ends_with(
            "). Plug the strip in, run `ledtogo ports`, check you are in the dialout group (or the group \
             that owns the port) and that no other program uses the port."
        ),
        "{text}"
    );

    listing.wait_rounds(2);
    let status = device
        .wait_status(
            WAIT,
            |s| matches!(s, DeviceStatus::NotFound(s) if s.round > first.round),
        )
        .expect("each search is published");
    let DeviceStatus::NotFound(later) = status else {
        unreachable!()
    };
    assert!(later.at >= first.at);
    assert!(
        later.tried[0]
            .why
            .starts_with("not a LED device (it did not answer when plugged in"),
        "not opened again, and the search says so: {later}"
    );
    assert_eq!(silent.state().opens, 1);

    listing.set(Vec::new());
    let status = device
        .wait_status(
            WAIT,
            |s| matches!(s, DeviceStatus::NotFound(s) if s.tried.is_empty()),
        )
        .expect("an empty listing is a search too");
    assert!(
        status
            .to_string()
            .starts_with("No LED device found (no USB serial port is plugged in). Plug"),
        "{status}"
    );
    device.close();
}
