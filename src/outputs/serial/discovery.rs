//! Finding the LED device: list serial ports with their USB identity and a guess of the chip,
//! and probe one port with the real handshake to tell a ledtogo device from a stock Adalight
//! board or something else.
//!
//! Opening a port resets the board behind it (DTR), so `port = "auto"` is careful about which
//! ports it opens: [`plan_probes`] (pure) picks them from the listing, what was learnt before
//! ([`ProbeMemory`]: a port that is not a LED device is probed once per plug-in), the device that
//! was ledtogo last time ([`load_remembered_serial`], tried first) and the ports another process
//! holds ([`held_ports`], never opened).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serialport::SerialPortType;

use super::link::{Handshake, Link, LinkError};
use super::protocol::Info;

/// A USB serial chip that boards for LED strips use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownUsb {
    pub vid: u16,
    /// `None`: every product of the vendor.
    pub pid: Option<u16>,
    pub kind: PortKind,
}

/// The USB serial chips "auto" probes. The packages' udev rule (`packaging/linux/70-ledtogo.rules`) gives
/// the logged-in user exactly these; `tests/packaging.rs` holds the two lists together.
pub const KNOWN_USB_SERIAL: [KnownUsb; 7] = [
    KnownUsb {
        vid: 0x2341,
        pid: None,
        kind: PortKind::Arduino,
    },
    KnownUsb {
        vid: 0x2A03,
        pid: None,
        kind: PortKind::Arduino,
    },
    KnownUsb {
        vid: 0x1A86,
        pid: Some(0x7523),
        kind: PortKind::Ch34x,
    },
    KnownUsb {
        vid: 0x1A86,
        pid: Some(0x55D4),
        kind: PortKind::Ch34x,
    },
    KnownUsb {
        vid: 0x10C4,
        pid: Some(0xEA60),
        kind: PortKind::Cp210x,
    },
    KnownUsb {
        vid: 0x0403,
        pid: Some(0x6001),
        kind: PortKind::Ftdi,
    },
    KnownUsb {
        vid: 0x0403,
        pid: Some(0x6015),
        kind: PortKind::Ftdi,
    },
];

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
        KNOWN_USB_SERIAL
            .iter()
            .find(|known| known.vid == vid && known.pid.is_none_or(|p| p == pid))
            .map_or(PortKind::OtherUsb, |known| known.kind)
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

/// A listed port as auto mode remembers it: its path and USB serial number. Another board on the
/// same path, or the same board on another path, is another port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortKey {
    pub path: String,
    pub serial_number: Option<String>,
}

impl PortKey {
    pub fn of(port: &PortReport) -> PortKey {
        PortKey {
            path: port.path.clone(),
            serial_number: port.serial_number.clone(),
        }
    }
}

/// What auto mode has learnt about the listed ports. Everything about a port is forgotten once it
/// leaves the listing (unplugged), so it is probed again when it comes back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeMemory {
    /// Probed, and not a LED device (or not one this host can talk to): not opened again.
    not_led: HashSet<PortKey>,
    /// Skipped because another process held it, and said so.
    said_held: HashSet<PortKey>,
    /// Could not be opened, and said so; such a port is retried (a failed open resets nothing).
    said_failed: HashSet<PortKey>,
}

impl ProbeMemory {
    /// `port` was probed and is not a LED device (or not one this host can talk to): it is not
    /// opened again while it stays listed.
    pub fn not_led(&mut self, port: &PortReport) {
        self.not_led.insert(PortKey::of(port));
    }

    /// Whether `port` is known not to be a LED device.
    pub fn is_not_led(&self, port: &PortReport) -> bool {
        self.not_led.contains(&PortKey::of(port))
    }

    /// Notes that opening `port` failed; true the first time in this plug-in (say it then).
    pub fn failed(&mut self, port: &PortReport) -> bool {
        self.said_failed.insert(PortKey::of(port))
    }

    /// A LED device answered on `port`: its next failure is news again.
    pub fn answered(&mut self, port: &PortReport) {
        self.said_failed.remove(&PortKey::of(port));
    }

    /// The same memory without the ports that are not in `listed` any more.
    fn keep_listed(&self, listed: &HashSet<PortKey>) -> ProbeMemory {
        let keep = |set: &HashSet<PortKey>| set.intersection(listed).cloned().collect();
        ProbeMemory {
            not_led: keep(&self.not_led),
            said_held: keep(&self.said_held),
            said_failed: keep(&self.said_failed),
        }
    }
}

/// A process that has a port open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// Its command name (`/proc/PID/comm`), empty when unknown.
    pub command: String,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.command.is_empty() {
            write!(f, "process {}", self.pid)
        } else {
            write!(f, "{} (process {})", self.command.escape_debug(), self.pid)
        }
    }
}

/// One round of auto mode: what to probe and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbePlan {
    /// The ports to probe, in order: the remembered ledtogo device first, then by path.
    pub probe: Vec<PortReport>,
    /// Ports skipped because a process holds them, not said before in this plug-in: say each once.
    pub newly_held: Vec<(PortReport, Holder)>,
    /// The memory for the next round.
    pub memory: ProbeMemory,
}

/// Whether auto mode looks at `port` at all: a known USB-serial bridge, or the remembered device
/// (whatever its chip).
fn is_candidate(port: &PortReport, remembered_serial: Option<&str>) -> bool {
    port.kind.is_known_bridge()
        || remembered_serial.is_some_and(|s| port.serial_number.as_deref() == Some(s))
}

/// The ports of `listed` that a round would probe unless they are held: the ones to look for in
/// [`held_ports`] before calling [`plan_probes`].
pub fn ports_to_check<'a>(
    listed: &'a [PortReport],
    memory: &ProbeMemory,
    remembered_serial: Option<&str>,
) -> Vec<&'a str> {
    listed
        .iter()
        .filter(|p| is_candidate(p, remembered_serial) && !memory.is_not_led(p))
        .map(|p| p.path.as_str())
        .collect()
}

/// Decides one round of auto mode (pure). From the `listed` ports it probes the candidates (known
/// USB-serial bridges, and the port whose USB serial number is `remembered_serial`) that are not
/// known to be something else (`memory`) and that no process holds (`held`, by path), the
/// remembered device first and the others in listing order. `memory` comes back without the
/// ports that left the listing and with the newly held ones noted as said.
pub fn plan_probes(
    listed: &[PortReport],
    memory: &ProbeMemory,
    remembered_serial: Option<&str>,
    held: &HashMap<String, Holder>,
) -> ProbePlan {
    let keys: HashSet<PortKey> = listed.iter().map(PortKey::of).collect();
    let mut memory = memory.keep_listed(&keys);
    let mut probe = Vec::new();
    let mut newly_held = Vec::new();
    for port in listed {
        if !is_candidate(port, remembered_serial) || memory.is_not_led(port) {
            continue;
        }
        if let Some(holder) = held.get(&port.path) {
            if memory.said_held.insert(PortKey::of(port)) {
                newly_held.push((port.clone(), holder.clone()));
            }
            continue;
        }
        probe.push(port.clone());
    }
    // Stable: the remembered device moves to the front, the rest keep the listing's order.
    probe.sort_by_key(|p| remembered_serial.is_none_or(|s| p.serial_number.as_deref() != Some(s)));
    ProbePlan {
        probe,
        newly_held,
        memory,
    }
}

/// Which of `paths` some process (this one included) has open, with one holder each, found by
/// reading the links in `/proc/*/fd`. Each path's symlinks are resolved first, so a udev name
/// (`/dev/serial/by-id/…`) matches the device node it points to; a path that does not exist is not
/// held. Only the processes whose descriptors this user may read are seen (all of them as root).
/// Elsewhere than on Linux nothing is reported held.
pub fn held_ports(paths: &[&str]) -> io::Result<HashMap<String, Holder>> {
    let mut wanted: HashMap<PathBuf, Vec<&str>> = HashMap::new();
    for path in paths {
        if let Ok(real) = std::fs::canonicalize(path) {
            wanted.entry(real).or_default().push(path);
        }
    }
    if wanted.is_empty() || !cfg!(target_os = "linux") {
        return Ok(HashMap::new());
    }
    let mut held = HashMap::new();
    for process in std::fs::read_dir("/proc")? {
        let Ok(process) = process else { continue };
        let Some(pid) = process
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // Gone by now, or another user's: not ours to see.
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let Some(names) = wanted.get(&target) else {
                continue;
            };
            for name in names {
                held.entry((*name).to_owned()).or_insert_with(|| Holder {
                    pid,
                    command: std::fs::read_to_string(process.path().join("comm"))
                        .map(|c| c.trim_end().to_owned())
                        .unwrap_or_default(),
                });
            }
        }
    }
    Ok(held)
}

/// Where auto mode remembers the USB serial number of the last ledtogo device
/// (`~/.local/state/ledtogo/device.toml` on Linux; the local data folder where there is no state
/// folder).
pub fn remembered_device_path() -> Option<PathBuf> {
    crate::state::state_file("device.toml")
}

/// Reading or writing the remembered device failed.
#[derive(Debug, thiserror::Error)]
pub enum RememberError {
    #[error("cannot read the remembered LED device {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the remembered LED device {path} is not valid ({source}); delete it, ledtogo writes it anew"
    )]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error(
        "cannot remember the LED device in {path}: {source} (is its folder writable?); \
         auto mode then just does not try it first"
    )]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct RememberedDevice {
    serial_number: String,
}

/// The longest USB serial number taken from the file (USB string descriptors are shorter).
const MAX_SERIAL: usize = 255;

/// The remembered USB serial number in `path`; `None` when there is no file (or it is empty).
pub fn load_remembered_serial(path: &Path) -> Result<Option<String>, RememberError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RememberError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let device: RememberedDevice =
        toml::from_str(&text).map_err(|source| RememberError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    let serial = device.serial_number;
    Ok((!serial.is_empty() && serial.len() <= MAX_SERIAL).then_some(serial))
}

/// Remembers `serial` in `path` (atomically: a reader sees the old or the new file).
pub fn save_remembered_serial(path: &Path, serial: &str) -> Result<(), RememberError> {
    let device = RememberedDevice {
        serial_number: serial.to_owned(),
    };
    let body = toml::to_string(&device).map_err(|e| RememberError::Write {
        path: path.to_path_buf(),
        source: io::Error::other(e),
    })?;
    let text = format!(
        "# The USB serial number of the last ledtogo device; port = \"auto\" tries it first.\n{body}"
    );
    crate::config::write_atomic(path, text.as_bytes()).map_err(|source| RememberError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Where auto mode gets its ports from and keeps the remembered device: the system's listing and
/// the state folder ([`AutoDiscovery::system`]), or others (tests: ptys are never listed).
pub struct AutoDiscovery {
    list: Box<dyn FnMut() -> Result<Vec<PortReport>, ListError> + Send>,
    remembered: Option<PathBuf>,
}

impl fmt::Debug for AutoDiscovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutoDiscovery")
            .field("remembered", &self.remembered)
            .finish_non_exhaustive()
    }
}

impl AutoDiscovery {
    /// [`list_ports`] and [`remembered_device_path`].
    pub fn system() -> AutoDiscovery {
        AutoDiscovery::new(list_ports, remembered_device_path())
    }

    /// Ports from `list`; the remembered device in `remembered` (`None`: remember nothing).
    pub fn new(
        list: impl FnMut() -> Result<Vec<PortReport>, ListError> + Send + 'static,
        remembered: Option<PathBuf>,
    ) -> AutoDiscovery {
        AutoDiscovery {
            list: Box::new(list),
            remembered,
        }
    }

    /// The ports listed now.
    pub fn list(&mut self) -> Result<Vec<PortReport>, ListError> {
        (self.list)()
    }

    /// Where the remembered device is kept, if anywhere.
    pub fn remembered_path(&self) -> Option<&Path> {
        self.remembered.as_deref()
    }
}

/// What answered on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// A ledtogo device: its INFO block.
    Ledtogo(Info),
    /// Said `Ada\n` but never answered HELLO: a stock Adalight firmware (frames only).
    LegacyAdalight,
    /// Neither `Ada\n` nor a reply to HELLO, but `WLED <build>` to `v`: a WLED board on USB, which
    /// takes Adalight frames on a configured port.
    Wled { build: String },
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
            ProbeOutcome::Wled { build } => write!(
                f,
                "WLED board (build {build}): takes Adalight frames when its port is named in the \
                 config (port = \"PATH\"; auto mode leaves it alone)"
            ),
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
/// what answered; a port silent to both is asked `v` (a WLED board answers with its build). Takes up
/// to about 5.5 s on a silent port. The port is closed again afterwards without BYE, so the device
/// stays in whatever state the probe left it (a live session ends by its own watchdog).
pub fn probe(path: &str, baud: u32) -> Result<ProbeOutcome, LinkError> {
    let mut link = Link::open(path, baud, Arc::new(AtomicBool::new(false)))?;
    let handshake = link.handshake()?;
    if let Handshake::Silent { .. } = handshake
        && let Some(build) = link.wled_build()?
    {
        return Ok(ProbeOutcome::Wled { build });
    }
    Ok(handshake.into())
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

    fn usb(path: &str, serial: Option<&str>, kind: PortKind) -> PortReport {
        PortReport {
            path: path.into(),
            vid: Some(0x2341),
            pid: Some(0x0043),
            serial_number: serial.map(Into::into),
            manufacturer: None,
            product: None,
            kind,
        }
    }

    fn paths(ports: &[PortReport]) -> Vec<&str> {
        ports.iter().map(|p| p.path.as_str()).collect()
    }

    fn nothing_held() -> HashMap<String, Holder> {
        HashMap::new()
    }

    #[test]
    fn a_port_that_is_not_a_led_device_is_probed_once_while_it_stays_plugged_in() {
        let printer = usb("/dev/ttyACM0", Some("PRINTER1"), PortKind::Arduino);
        let listed = vec![printer.clone()];
        let first = plan_probes(&listed, &ProbeMemory::default(), None, &nothing_held());
        assert_eq!(paths(&first.probe), ["/dev/ttyACM0"]);

        let mut memory = first.memory;
        memory.not_led(&printer);
        for _ in 0..3 {
            let next = plan_probes(&listed, &memory, None, &nothing_held());
            assert!(next.probe.is_empty(), "probed again: {:?}", next.probe);
            memory = next.memory;
        }
    }

    #[test]
    fn a_port_is_probed_again_after_it_was_unplugged_and_plugged_back_in() {
        let board = usb("/dev/ttyUSB0", Some("A50285BI"), PortKind::Ftdi);
        let mut memory = ProbeMemory::default();
        memory.not_led(&board);
        let unplugged = plan_probes(&[], &memory, None, &nothing_held());
        assert_eq!(unplugged.memory, ProbeMemory::default());
        let back = plan_probes(&[board], &unplugged.memory, None, &nothing_held());
        assert_eq!(paths(&back.probe), ["/dev/ttyUSB0"]);
    }

    #[test]
    fn another_board_on_the_same_path_is_probed() {
        let first = usb("/dev/ttyUSB0", Some("OLD"), PortKind::Ch34x);
        let mut memory = ProbeMemory::default();
        memory.not_led(&first);
        let swapped = usb("/dev/ttyUSB0", Some("NEW"), PortKind::Ch34x);
        let plan = plan_probes(&[swapped], &memory, None, &nothing_held());
        assert_eq!(paths(&plan.probe), ["/dev/ttyUSB0"]);
        assert_eq!(
            plan.memory,
            ProbeMemory::default(),
            "the old board is forgotten"
        );
    }

    #[test]
    fn boards_without_a_serial_number_are_told_apart_by_path() {
        let a = usb("/dev/ttyUSB0", None, PortKind::Ch34x);
        let b = usb("/dev/ttyUSB1", None, PortKind::Ch34x);
        let mut memory = ProbeMemory::default();
        memory.not_led(&a);
        let plan = plan_probes(&[a, b], &memory, None, &nothing_held());
        assert_eq!(paths(&plan.probe), ["/dev/ttyUSB1"]);
    }

    #[test]
    fn the_remembered_ledtogo_device_is_probed_first_then_the_rest_by_path() {
        let listed = vec![
            usb("/dev/ttyACM0", Some("PRINTER1"), PortKind::Arduino),
            usb("/dev/ttyACM1", Some("OTHER"), PortKind::Arduino),
            usb("/dev/ttyUSB3", Some("LED42"), PortKind::Ch34x),
        ];
        let plan = plan_probes(
            &listed,
            &ProbeMemory::default(),
            Some("LED42"),
            &nothing_held(),
        );
        assert_eq!(
            paths(&plan.probe),
            ["/dev/ttyUSB3", "/dev/ttyACM0", "/dev/ttyACM1"]
        );
        let none_remembered = plan_probes(&listed, &ProbeMemory::default(), None, &nothing_held());
        assert_eq!(
            paths(&none_remembered.probe),
            ["/dev/ttyACM0", "/dev/ttyACM1", "/dev/ttyUSB3"]
        );
    }

    #[test]
    fn only_known_bridges_and_the_remembered_device_are_candidates() {
        let listed = vec![
            usb("/dev/ttyACM0", Some("MODEM"), PortKind::OtherUsb),
            usb("/dev/ttyACM1", Some("LED42"), PortKind::OtherUsb),
            PortReport {
                path: "/dev/ttyS0".into(),
                vid: None,
                pid: None,
                serial_number: None,
                manufacturer: None,
                product: None,
                kind: PortKind::NotUsb,
            },
        ];
        let plan = plan_probes(
            &listed,
            &ProbeMemory::default(),
            Some("LED42"),
            &nothing_held(),
        );
        assert_eq!(paths(&plan.probe), ["/dev/ttyACM1"]);
        assert_eq!(
            ports_to_check(&listed, &ProbeMemory::default(), Some("LED42")),
            ["/dev/ttyACM1"]
        );
        assert!(ports_to_check(&listed, &ProbeMemory::default(), None).is_empty());
    }

    #[test]
    fn a_held_port_is_never_probed_and_said_once_per_plug_in() {
        let printer = usb("/dev/ttyACM0", Some("PRINTER1"), PortKind::Arduino);
        let free = usb("/dev/ttyUSB0", Some("LED1"), PortKind::Ch34x);
        let listed = vec![printer.clone(), free];
        let octoprint = Holder {
            pid: 4242,
            command: "octoprint".into(),
        };
        let held = HashMap::from([("/dev/ttyACM0".to_owned(), octoprint.clone())]);

        let first = plan_probes(&listed, &ProbeMemory::default(), None, &held);
        assert_eq!(paths(&first.probe), ["/dev/ttyUSB0"]);
        assert_eq!(first.newly_held, vec![(printer.clone(), octoprint)]);

        let second = plan_probes(&listed, &first.memory, None, &held);
        assert_eq!(paths(&second.probe), ["/dev/ttyUSB0"]);
        assert!(second.newly_held.is_empty(), "said again");

        // Released: probed like any other port.
        let released = plan_probes(&listed, &second.memory, None, &nothing_held());
        assert_eq!(paths(&released.probe), ["/dev/ttyACM0", "/dev/ttyUSB0"]);
    }

    #[test]
    fn failures_and_holds_are_news_again_after_a_replug() {
        let board = usb("/dev/ttyACM0", Some("X"), PortKind::Arduino);
        let held = HashMap::from([(
            "/dev/ttyACM0".to_owned(),
            Holder {
                pid: 1,
                command: String::new(),
            },
        )]);
        let listed = std::slice::from_ref(&board);
        let mut memory = plan_probes(listed, &ProbeMemory::default(), None, &held).memory;
        assert!(memory.failed(&board), "the first failure is news");
        assert!(!memory.failed(&board), "the second is not");
        let unplugged = plan_probes(&[], &memory, None, &nothing_held()).memory;
        let mut back = plan_probes(listed, &unplugged, None, &held);
        assert_eq!(back.newly_held.len(), 1);
        assert!(back.memory.failed(&board));
        back.memory.answered(&board);
        assert!(
            back.memory.failed(&board),
            "news again after the device answered"
        );
    }

    #[test]
    fn a_holder_is_named_by_command_and_pid() {
        let holder = Holder {
            pid: 4242,
            command: "octoprint".into(),
        };
        assert_eq!(holder.to_string(), "octoprint (process 4242)");
        let unnamed = Holder {
            pid: 7,
            command: String::new(),
        };
        assert_eq!(unnamed.to_string(), "process 7");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pty_this_process_holds_open_is_held_and_an_unopened_one_is_not() {
        use serialport::{SerialPort as _, TTYPort};

        // Both sides open: the slave's path is held by this process.
        let (_held_master, held_slave) = TTYPort::pair().unwrap();
        let held_path = held_slave.name().unwrap();
        // Only the master open: nobody holds the slave's path.
        let (_free_master, free_slave) = TTYPort::pair().unwrap();
        let free_path = free_slave.name().unwrap();
        drop(free_slave);
        // A udev-style symlink to the held one.
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("ttyLED");
        std::os::unix::fs::symlink(&held_path, &link).unwrap();
        let link = link.to_str().unwrap().to_owned();
        let missing = dir.path().join("gone").to_str().unwrap().to_owned();

        let held = held_ports(&[&held_path, &free_path, &link, &missing]).unwrap();
        let me = std::process::id();
        assert_eq!(held.get(&held_path).map(|h| h.pid), Some(me), "{held:?}");
        assert_eq!(held.get(&link).map(|h| h.pid), Some(me), "{held:?}");
        assert!(!held.contains_key(&free_path), "{held:?}");
        assert!(!held.contains_key(&missing), "{held:?}");
        assert_eq!(held.len(), 2);
        assert!(!held[&held_path].command.is_empty());
    }

    #[test]
    fn the_remembered_device_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("device.toml");
        assert_eq!(load_remembered_serial(&path).unwrap(), None);
        save_remembered_serial(&path, "7553\"335'3").unwrap();
        assert_eq!(
            load_remembered_serial(&path).unwrap().as_deref(),
            Some("7553\"335'3")
        );
        save_remembered_serial(&path, "LED42").unwrap();
        assert_eq!(
            load_remembered_serial(&path).unwrap().as_deref(),
            Some("LED42")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# "), "{text}");
        assert!(text.contains("serial_number = \"LED42\""), "{text}");
    }

    #[test]
    fn a_damaged_remembered_device_file_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.toml");
        std::fs::write(&path, "serial_number = [").unwrap();
        let err = load_remembered_serial(&path).unwrap_err();
        assert!(matches!(err, RememberError::Parse { .. }));
        assert!(err.to_string().contains("delete it"), "{err}");
        std::fs::write(&path, "serial_number = \"\"\n").unwrap();
        assert_eq!(load_remembered_serial(&path).unwrap(), None);
    }

    #[test]
    fn the_remembered_device_lives_in_the_state_folder() {
        let path = remembered_device_path().unwrap();
        assert!(path.ends_with("ledtogo/device.toml"), "{}", path.display());
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
