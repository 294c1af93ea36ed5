//! What the strip output is doing, as the engine publishes it (the window's Device tab, the status bar,
//! the headless log): the serial device's session or search, or the network strip frames stream to.
//! Shared by the serial worker ([`super::serial`]) and the DDP sender ([`super::ddp`]).

use std::fmt;
use std::time::SystemTime;

/// What the worker is doing, for the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStatus {
    /// No port configured.
    Disabled,
    /// Looking for a device (auto mode, nothing found yet) or connecting for the first time.
    Searching,
    /// A ledtogo device is in session.
    Connected {
        port: String,
        firmware: String,
        leds: u16,
        device_id: u32,
    },
    /// A stock Adalight board: frames only, no acknowledgements.
    Legacy { port: String },
    /// The last attempt failed; the worker retries with backoff.
    Error {
        port: Option<String>,
        reason: String,
    },
    /// `port = "auto"` searched and found no LED device; the worker searches again with backoff.
    NotFound(Search),
    /// A WLED board on a serial port (`port = "/dev/ttyUSB0"`): it never says `Ada`, but answers `v`
    /// with its build number; it takes Adalight frames (frames only, no acknowledgements).
    WledSerial { port: String, build: String },
    /// Frames go over the network as DDP (UDP) to `to` (an address, `192.0.2.5:4048`); `wled` is what
    /// the board said about itself (`wled://`), and `leds` the frame length `[strip] leds` gives. DDP
    /// has no answer: "streaming" says where the frames go, not that a strip shows them.
    Streaming {
        to: String,
        wled: Option<WledInfo>,
        leds: usize,
    },
}

/// What a WLED board says about itself in `GET /json/info`, as shown (control characters made visible,
/// cut to a sane length) and with the LED count saturated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WledInfo {
    /// `name`: the board's name (Config → User Interface → Server description).
    pub name: String,
    /// `ver`: the firmware version (`0.15.0`).
    pub version: String,
    /// `leds.count`: the LEDs it drives.
    pub leds: usize,
}

impl fmt::Display for WledInfo {
    /// `WLED 0.15.0 'desk', 60 LEDs`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WLED {} '{}', {} LED{}",
            self.version,
            self.name,
            self.leds,
            if self.leds == 1 { "" } else { "s" }
        )
    }
}

/// One search round of `port = "auto"` that found no LED device: what it looked at and why each is not it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The ports it looked at (the USB-serial bridges listed), in order, with why each is not the device.
    pub tried: Vec<Tried>,
    /// Why the ports could not be listed, when they could not.
    pub list_error: Option<String>,
    /// Which round this was since the worker started (1 for the first), and when it ended.
    pub round: u64,
    pub at: SystemTime,
}

/// A port a search looked at, and why it is not the LED device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    pub port: String,
    pub why: String,
}

impl Search {
    /// The same finding as `other`, whatever the round and time.
    pub(crate) fn same_finding(&self, other: &Search) -> bool {
        self.tried == other.tried && self.list_error == other.list_error
    }
}

/// What to do when no LED device is found.
pub const NOT_FOUND_ADVICE: &str = "Plug the strip in, run `ledtogo ports`, check you are in the dialout group (or \
     the group that owns the port) and that no other program uses the port.";

impl fmt::Display for Search {
    /// `No LED device found (tried /dev/ttyUSB0: no answer, …).` plus [`NOT_FOUND_ADVICE`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("No LED device found (")?;
        if let Some(e) = &self.list_error {
            write!(f, "cannot list the serial ports: {e}")?;
        } else if self.tried.is_empty() {
            f.write_str("no USB serial port is plugged in")?;
        } else {
            f.write_str("tried ")?;
            for (i, t) in self.tried.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                write!(f, "{sep}{}: {}", t.port, t.why)?;
            }
        }
        write!(f, "). {NOT_FOUND_ADVICE}")
    }
}

impl DeviceStatus {
    /// Whether frames reach a device right now.
    pub fn is_connected(&self) -> bool {
        matches!(
            self,
            DeviceStatus::Connected { .. }
                | DeviceStatus::Legacy { .. }
                | DeviceStatus::WledSerial { .. }
                | DeviceStatus::Streaming { .. }
        )
    }
}

impl fmt::Display for DeviceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceStatus::Disabled => write!(f, "LED device disabled"),
            DeviceStatus::Searching => write!(f, "looking for the LED device"),
            DeviceStatus::Connected {
                port,
                firmware,
                leds,
                device_id,
            } => write!(
                f,
                "connected on {port}: ledtogo firmware {firmware}, {leds} LEDs, id {device_id:08x}"
            ),
            DeviceStatus::Legacy { port } => {
                write!(
                    f,
                    "legacy Adalight board on {port} (frames only, no acknowledgements)"
                )
            }
            DeviceStatus::Error {
                port: Some(port),
                reason,
            } => write!(f, "LED device on {port}: {reason}; retrying"),
            DeviceStatus::Error { port: None, reason } => {
                write!(f, "LED device: {reason}; retrying")
            }
            DeviceStatus::NotFound(search) => search.fmt(f),
            DeviceStatus::WledSerial { port, build } => write!(
                f,
                "WLED board on {port} (build {build}), driven as Adalight (frames only)"
            ),
            DeviceStatus::Streaming { to, wled: None, .. } => {
                write!(f, "streaming to {to} (DDP)")
            }
            DeviceStatus::Streaming {
                to,
                wled: Some(info),
                leds,
            } => {
                write!(f, "{info}; streaming to {to} (DDP)")?;
                if *leds > 0 && info.leds != *leds {
                    write!(
                        f,
                        "; [strip] leds = {leds} but the board has {}: set leds = {} (the Device \
                         tab's LEDs) or the LED count in WLED (Config → LED Preferences)",
                        info.leds, info.leds
                    )?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn desk(leds: usize) -> WledInfo {
        WledInfo {
            name: "desk".into(),
            version: "0.15.0".into(),
            leds,
        }
    }

    #[test]
    fn a_network_strip_says_where_its_frames_go() {
        let plain = DeviceStatus::Streaming {
            to: "192.0.2.5:4048".into(),
            wled: None,
            leds: 16,
        };
        assert_eq!(plain.to_string(), "streaming to 192.0.2.5:4048 (DDP)");
        assert!(plain.is_connected());
        let wled = DeviceStatus::Streaming {
            to: "192.0.2.5:4048".into(),
            wled: Some(desk(60)),
            leds: 60,
        };
        assert_eq!(
            wled.to_string(),
            "WLED 0.15.0 'desk', 60 LEDs; streaming to 192.0.2.5:4048 (DDP)"
        );
    }

    #[test]
    fn a_wled_led_count_other_than_the_strips_says_the_fix() {
        let status = DeviceStatus::Streaming {
            to: "192.0.2.5:4048".into(),
            wled: Some(desk(60)),
            leds: 16,
        };
        let line = status.to_string();
        assert!(line.starts_with("WLED 0.15.0 'desk', 60 LEDs; "), "{line}");
        assert!(
            line.contains("[strip] leds = 16 but the board has 60: set leds = 60"),
            "{line}"
        );
    }
}
