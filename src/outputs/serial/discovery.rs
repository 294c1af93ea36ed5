//! Finding the LED device: list serial ports with their USB identity and a guess of the chip,
//! and probe one port with the real handshake to tell a ledtogo device from a stock Adalight
//! board or something else.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serialport::SerialPortType;

use super::link::{Handshake, Link, LinkError};
use super::protocol::Info;

/// The chip behind a serial port, guessed from its USB VID:PID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortKind {
    /// Arduino's own USB interface (VID 2341 or 2A03), e.g. the Uno's 16U2.
    Arduino,
    /// WCH CH340 / CH9102 bridge (clones).
    Ch34x,
    /// Silicon Labs CP210x bridge.
    Cp210x,
    /// FTDI FT232R / FT231X bridge.
    Ftdi,
    /// A USB serial device of another make.
    OtherUsb,
    /// A built-in, PCI or Bluetooth port, or one whose type is unknown.
    NotUsb,
}

impl PortKind {
    /// Classifies a USB VID:PID.
    pub fn from_usb(vid: u16, pid: u16) -> PortKind {
        match (vid, pid) {
            (0x2341 | 0x2A03, _) => PortKind::Arduino,
            (0x1A86, 0x7523 | 0x55D4) => PortKind::Ch34x,
            (0x10C4, 0xEA60) => PortKind::Cp210x,
            (0x0403, 0x6001 | 0x6015) => PortKind::Ftdi,
            _ => PortKind::OtherUsb,
        }
    }

    /// Whether boards with this chip are worth probing in "auto" mode.
    pub fn is_known_bridge(self) -> bool {
        !matches!(self, PortKind::OtherUsb | PortKind::NotUsb)
    }

    pub fn label(self) -> &'static str {
        match self {
            PortKind::Arduino => "Arduino USB",
            PortKind::Ch34x => "CH340/CH9102 USB-serial",
            PortKind::Cp210x => "CP210x USB-serial",
            PortKind::Ftdi => "FTDI USB-serial",
            PortKind::OtherUsb => "other USB device",
            PortKind::NotUsb => "not USB",
        }
    }
}

/// One serial port as the system lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortReport {
    pub path: String,
    pub vid: Option<u16>,
    pub pid: Option<u16>,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub kind: PortKind,
}

impl fmt::Display for PortReport {
    /// One line: `/dev/ttyACM0  2341:0043  Arduino USB  "Arduino Uno" serial 7553…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        match (self.vid, self.pid) {
            (Some(vid), Some(pid)) => write!(f, "  {vid:04x}:{pid:04x}")?,
            _ => write!(f, "  ----:----")?,
        }
        write!(f, "  {}", self.kind.label())?;
        let name = match (&self.manufacturer, &self.product) {
            (Some(m), Some(p)) => Some(format!("{m} {p}")),
            (Some(m), None) => Some(m.clone()),
            (None, Some(p)) => Some(p.clone()),
            (None, None) => None,
        };
        if let Some(name) = name {
            write!(f, "  {name:?}")?;
        }
        if let Some(serial) = &self.serial_number {
            write!(f, "  serial {serial}")?;
        }
        if self.kind.is_known_bridge() {
            write!(f, "  (candidate)")?;
        }
        Ok(())
    }
}

/// Listing the ports failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot list serial ports: {0}")]
pub struct ListError(#[from] serialport::Error);

/// Every serial port the system knows (pseudo-terminals are not listed), sorted by path.
pub fn list_ports() -> Result<Vec<PortReport>, ListError> {
    let mut ports: Vec<PortReport> = serialport::available_ports()?
        .into_iter()
        .map(|p| match p.port_type {
            SerialPortType::UsbPort(usb) => PortReport {
                path: p.port_name,
                vid: Some(usb.vid),
                pid: Some(usb.pid),
                serial_number: usb.serial_number,
                manufacturer: usb.manufacturer,
                product: usb.product,
                kind: PortKind::from_usb(usb.vid, usb.pid),
            },
            _ => PortReport {
                path: p.port_name,
                vid: None,
                pid: None,
                serial_number: None,
                manufacturer: None,
                product: None,
                kind: PortKind::NotUsb,
            },
        })
        .collect();
    ports.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(ports)
}

/// Ports worth probing in "auto" mode: known USB-serial bridges.
pub fn auto_candidates() -> Result<Vec<PortReport>, ListError> {
    Ok(list_ports()?
        .into_iter()
        .filter(|p| p.kind.is_known_bridge())
        .collect())
}

/// What answered on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// A ledtogo device: its INFO block.
    Ledtogo(Info),
    /// Said `Ada\n` but never answered HELLO: a stock Adalight firmware (frames only).
    LegacyAdalight,
    /// Neither `Ada\n` nor a reply within the handshake time.
    NotLed { noise_frames: usize },
}

impl From<Handshake> for ProbeOutcome {
    fn from(h: Handshake) -> ProbeOutcome {
        match h {
            Handshake::Ledtogo(info) => ProbeOutcome::Ledtogo(info),
            Handshake::Legacy => ProbeOutcome::LegacyAdalight,
            Handshake::Silent { noise } => ProbeOutcome::NotLed {
                noise_frames: noise,
            },
        }
    }
}

impl fmt::Display for ProbeOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeOutcome::Ledtogo(info) => write!(
                f,
                "ledtogo device: firmware {}, protocol {}, id {:08x}, {} of max {} LEDs, show {} µs",
                info.fw, info.proto, info.device_id, info.led_count, info.led_max, info.show_us
            ),
            ProbeOutcome::LegacyAdalight => {
                write!(
                    f,
                    "stock Adalight board (says Ada, ignores the extended protocol)"
                )
            }
            ProbeOutcome::NotLed { noise_frames: 0 } => {
                write!(
                    f,
                    "not a LED device (silent: no Ada line, no reply to HELLO)"
                )
            }
            ProbeOutcome::NotLed { noise_frames } => write!(
                f,
                "not a LED device (no Ada line, no reply to HELLO, {noise_frames} undecodable frames)"
            ),
        }
    }
}

/// Opens `path` (resetting an Uno), waits up to 3 s for its hello, sends HELLO and classifies
/// what answered. Takes up to about 5 s on a silent port. The port is closed again afterwards
/// without BYE, so the device stays in whatever state the probe left it (a live session ends by
/// its own watchdog).
pub fn probe(path: &str, baud: u32) -> Result<ProbeOutcome, LinkError> {
    let mut link = Link::open(path, baud, Arc::new(AtomicBool::new(false)))?;
    Ok(link.handshake()?.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn known_bridges_are_recognised_by_vid_and_pid() {
        assert_eq!(PortKind::from_usb(0x2341, 0x0043), PortKind::Arduino);
        assert_eq!(PortKind::from_usb(0x2341, 0x0001), PortKind::Arduino);
        assert_eq!(PortKind::from_usb(0x2341, 0x0243), PortKind::Arduino);
        assert_eq!(PortKind::from_usb(0x2A03, 0x0043), PortKind::Arduino);
        assert_eq!(PortKind::from_usb(0x1A86, 0x7523), PortKind::Ch34x);
        assert_eq!(PortKind::from_usb(0x1A86, 0x55D4), PortKind::Ch34x);
        assert_eq!(PortKind::from_usb(0x10C4, 0xEA60), PortKind::Cp210x);
        assert_eq!(PortKind::from_usb(0x0403, 0x6001), PortKind::Ftdi);
        assert_eq!(PortKind::from_usb(0x0403, 0x6015), PortKind::Ftdi);
        assert_eq!(PortKind::from_usb(0x1A86, 0x5523), PortKind::OtherUsb);
        assert_eq!(PortKind::from_usb(0x046D, 0xC52B), PortKind::OtherUsb);
        assert!(PortKind::Ch34x.is_known_bridge());
        assert!(!PortKind::OtherUsb.is_known_bridge());
        assert!(!PortKind::NotUsb.is_known_bridge());
    }

    #[test]
    fn a_port_report_is_one_readable_line() {
        let report = PortReport {
            path: "/dev/ttyACM0".into(),
            vid: Some(0x2341),
            pid: Some(0x0043),
            serial_number: Some("75533353".into()),
            manufacturer: Some("Arduino (www.arduino.cc)".into()),
            product: None,
            kind: PortKind::Arduino,
        };
        assert_eq!(
            report.to_string(),
            "/dev/ttyACM0  2341:0043  Arduino USB  \"Arduino (www.arduino.cc)\"  serial 75533353  (candidate)"
        );
        let plain = PortReport {
            path: "/dev/ttyS0".into(),
            vid: None,
            pid: None,
            serial_number: None,
            manufacturer: None,
            product: None,
            kind: PortKind::NotUsb,
        };
        assert_eq!(plain.to_string(), "/dev/ttyS0  ----:----  not USB");
    }

    #[test]
    fn listing_ports_works_on_this_machine() {
        // Whatever the machine has (often nothing): every entry must have a path and a kind that
        // matches its VID:PID.
        for port in list_ports().unwrap() {
            assert!(!port.path.is_empty());
            if let (Some(vid), Some(pid)) = (port.vid, port.pid) {
                assert_eq!(port.kind, PortKind::from_usb(vid, pid));
            } else {
                assert_eq!(port.kind, PortKind::NotUsb);
            }
        }
    }
}
