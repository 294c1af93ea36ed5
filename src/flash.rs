//! `ledtogo flash`: uploads the bundled firmware to an Arduino Uno with avrdude (the Uno's bootloader
//! protocol, `-c arduino -b 115200`), then checks with a handshake that the new firmware answers.
//!
//! Finding the image and the port, and building the command line, are pure functions; [`upload`]
//! runs avrdude and turns its known failures (no bootloader, busy port, permission) into distinct
//! errors that say what to do.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

use crate::outputs::serial::discovery::{self, Holder, PortReport};
use crate::outputs::serial::{self, ProbeOutcome};
use crate::text;

/// Where the Debian package puts the firmware image.
pub const INSTALLED_HEX: &str = "/usr/share/ledtogo/firmware/ledtogo.hex";
/// The Uno's bootloader speed (optiboot).
pub const BOOTLOADER_BAUD: u32 = 115_200;
/// Most of avrdude's output passed on in an error.
const MAX_OUTPUT: usize = 4000;

/// Where `make -C firmware` puts the image in this source tree.
pub fn repo_hex() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/build/ledtogo.hex")
}

/// The places looked at for an image when `--hex` is not given, in order.
pub fn default_images() -> Vec<PathBuf> {
    vec![PathBuf::from(INSTALLED_HEX), repo_hex()]
}

/// Why `ledtogo flash` could not flash, or could not confirm it.
#[derive(Debug, Error)]
pub enum FlashError {
    #[error(
        "no firmware image found (looked at {}): build it with `make -C firmware` (needs gcc-avr, \
         avr-libc, arduino-core-avr), install the ledtogo package, or pass --hex FILE",
        list_paths(.looked)
    )]
    NoImage { looked: Vec<PathBuf> },
    #[error("cannot use --hex {}: {source}", .path.display())]
    BadHex {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "--hex {}: avrdude cannot take a file name with a ':' in it; copy or link the image elsewhere",
        .0.display()
    )]
    ColonInHex(PathBuf),
    #[error("cannot list the serial ports: {0}; pass --port PATH")]
    List(#[from] serial::ListError),
    #[error(
        "no Arduino-like USB serial board found{}: plug the Uno in, or pass --port PATH",
        listed_suffix(.listed)
    )]
    NoPort { listed: Vec<String> },
    #[error(
        "several USB serial boards found ({}): pass --port with the one to flash",
        .0.join(", ")
    )]
    SeveralPorts(Vec<String>),
    #[error(
        "the port {0} does not exist: is the board plugged in? (`ledtogo ports` lists the ports)"
    )]
    PortMissing(String),
    #[error("avrdude is not installed (not found on PATH): install it: sudo apt install avrdude")]
    AvrdudeMissing,
    #[error(
        "the port {port} is in use by {holder}: stop it first (a running ledtogo: quit it, or \
         `systemctl stop ledtogo` / `systemctl --user stop ledtogo`), then flash again"
    )]
    PortBusy { port: String, holder: Holder },
    #[error(
        "the port {port} is busy: another program holds it (a running ledtogo: stop it first), \
         then flash again\navrdude said:\n{output}"
    )]
    Busy { port: String, output: String },
    #[error(
        "no permission to open {port}: add yourself to the dialout group (sudo adduser $USER \
         dialout, then log out and in) or install the ledtogo package's udev rule\navrdude said:\n{output}"
    )]
    PermissionDenied { port: String, output: String },
    #[error(
        "no bootloader answered on {port}: is it an Uno (or a clone with its bootloader)? Check the \
         USB cable and the port, press the board's reset button and flash again\navrdude said:\n{output}"
    )]
    NotInSync { port: String, output: String },
    #[error("avrdude failed ({status}) flashing {port}\navrdude said:\n{output}")]
    AvrdudeFailed {
        port: String,
        status: String,
        output: String,
    },
    #[error("cannot run avrdude ({}): {source}", .program.display())]
    Run {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "flashed {port}, but no ledtogo firmware answered afterwards ({outcome}): press reset \
         and try `ledtogo ports --probe {port}`"
    )]
    NoAnswer { port: String, outcome: String },
    #[error(
        "flashed {port}, but the handshake failed: {source}; try `ledtogo ports --probe {port}`"
    )]
    Handshake {
        port: String,
        #[source]
        source: serial::LinkError,
    },
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn listed_suffix(listed: &[String]) -> String {
    if listed.is_empty() {
        " (no serial ports at all)".to_owned()
    } else {
        format!(" (other ports: {})", listed.join(", "))
    }
}

/// The image to flash: `explicit` (which must be a readable file), else the first of `candidates`
/// that exists.
pub fn find_image(explicit: Option<&Path>, candidates: &[PathBuf]) -> Result<PathBuf, FlashError> {
    let image = match explicit {
        Some(path) => {
            std::fs::File::open(path).map_err(|source| FlashError::BadHex {
                path: path.to_owned(),
                source,
            })?;
            path.to_owned()
        }
        None => candidates
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .ok_or_else(|| FlashError::NoImage {
                looked: candidates.to_vec(),
            })?,
    };
    if image.as_os_str().to_string_lossy().contains(':') {
        return Err(FlashError::ColonInHex(image));
    }
    Ok(image)
}

/// The port to flash, when none was named: the one listed USB-serial bridge that looks like an
/// Uno's (Arduino, CH34x, CP210x, FTDI).
pub fn pick_port(listed: &[PortReport]) -> Result<String, FlashError> {
    let boards: Vec<&PortReport> = listed.iter().filter(|p| p.kind.is_known_bridge()).collect();
    match boards.as_slice() {
        [one] => Ok(one.path.clone()),
        [] => Err(FlashError::NoPort {
            listed: listed.iter().map(|p| text::short(&p.path)).collect(),
        }),
        several => Err(FlashError::SeveralPorts(
            several.iter().map(|p| p.to_string()).collect(),
        )),
    }
}

/// avrdude's arguments for writing `image` (Intel hex) to the Uno on `port`; `-D` leaves the
/// bootloader's chip erase to the write.
pub fn avrdude_args(port: &str, image: &Path) -> Vec<OsString> {
    let mut write = OsString::from("flash:w:");
    write.push(image);
    write.push(":i");
    let mut args: Vec<OsString> = ["-p", "atmega328p", "-c", "arduino", "-P"]
        .into_iter()
        .map(OsString::from)
        .collect();
    args.push(port.into());
    args.extend(["-b", "115200", "-D", "-U"].map(OsString::from));
    args.push(write);
    args
}

/// The command line as a shell would take it (for `--dry-run`).
pub fn command_line(program: &Path, args: &[OsString]) -> String {
    std::iter::once(program.as_os_str())
        .chain(args.iter().map(OsString::as_os_str))
        .map(|a| shell_quote(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+%,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", text::visible(word).replace('\'', r"'\''"))
    }
}

/// The `avrdude` program on `path` (a `PATH`-style list), if any.
pub fn find_avrdude(path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let name = if cfg!(windows) {
        "avrdude.exe"
    } else {
        "avrdude"
    };
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// What avrdude's failure output means.
fn classify_failure(port: &str, status: String, raw: &str) -> FlashError {
    let output = text::visible(&text::truncate(raw.trim_end(), MAX_OUTPUT)).into_owned();
    let port = port.to_owned();
    let lower = raw.to_ascii_lowercase();
    if lower.contains("permission denied") {
        FlashError::PermissionDenied { port, output }
    } else if lower.contains("resource busy") {
        FlashError::Busy { port, output }
    } else if lower.contains("not in sync") || lower.contains("programmer is not responding") {
        FlashError::NotInSync { port, output }
    } else {
        FlashError::AvrdudeFailed {
            port,
            status,
            output,
        }
    }
}

/// Checks that the port is there and free, then runs `avrdude` (its output kept for the errors).
pub fn upload(avrdude: &Path, port: &str, image: &Path) -> Result<(), FlashError> {
    if std::fs::metadata(port).is_err() {
        return Err(FlashError::PortMissing(port.to_owned()));
    }
    // Unreadable /proc: no holder known; avrdude then says "busy" itself.
    if let Ok(held) = discovery::held_ports(&[port])
        && let Some(holder) = held.get(port)
    {
        return Err(FlashError::PortBusy {
            port: port.to_owned(),
            holder: holder.clone(),
        });
    }
    let out = Command::new(avrdude)
        .args(avrdude_args(port, image))
        .output()
        .map_err(|source| FlashError::Run {
            program: avrdude.to_owned(),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    let mut raw = String::from_utf8_lossy(&out.stdout).into_owned();
    raw.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(classify_failure(port, out.status.to_string(), &raw))
}

/// The handshake after flashing: `ledtogo firmware 1.0.0 on /dev/ttyACM0, 16 LEDs`.
pub fn check(port: &str, baud: u32) -> Result<String, FlashError> {
    match serial::probe(port, baud) {
        Ok(ProbeOutcome::Ledtogo(info)) => Ok(format!(
            "ledtogo firmware {} on {}, {} LEDs",
            info.fw,
            text::visible(port),
            info.led_count
        )),
        Ok(other) => Err(FlashError::NoAnswer {
            port: port.to_owned(),
            outcome: other.to_string(),
        }),
        Err(source) => Err(FlashError::Handshake {
            port: port.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::outputs::serial::PortKind;

    fn port(path: &str, kind: PortKind) -> PortReport {
        PortReport {
            path: path.into(),
            vid: Some(0x2341),
            pid: Some(0x0043),
            serial_number: None,
            manufacturer: None,
            product: None,
            kind,
        }
    }

    #[test]
    fn the_command_line_is_the_unos_bootloader_protocol_writing_the_hex_image() {
        let args = avrdude_args(
            "/dev/ttyACM0",
            Path::new("/usr/share/ledtogo/firmware/ledtogo.hex"),
        );
        assert_eq!(
            command_line(Path::new("avrdude"), &args),
            "avrdude -p atmega328p -c arduino -P /dev/ttyACM0 -b 115200 -D \
             -U flash:w:/usr/share/ledtogo/firmware/ledtogo.hex:i"
        );
    }

    #[test]
    fn a_word_with_spaces_or_quotes_is_quoted_for_the_shell() {
        let args = avrdude_args("/dev/tty ACM0", Path::new("/tmp/it's.hex"));
        let line = command_line(Path::new("/usr/bin/avrdude"), &args);
        assert!(line.contains(" -P '/dev/tty ACM0' "), "{line}");
        assert!(line.ends_with(r" 'flash:w:/tmp/it'\''s.hex:i'"), "{line}");
    }

    #[test]
    fn the_first_existing_image_is_taken_and_none_names_every_place_looked_at() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("installed.hex");
        let built = dir.path().join("built.hex");
        let err = find_image(None, &[missing.clone(), built.clone()]).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
        assert!(message.contains(&built.display().to_string()), "{message}");
        assert!(message.contains("make -C firmware"), "{message}");
        std::fs::write(&built, ":00000001FF\n").unwrap();
        assert_eq!(find_image(None, &[missing, built.clone()]).unwrap(), built);
    }

    #[test]
    fn an_explicit_hex_must_be_readable_and_free_of_colons() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("absent.hex");
        assert!(matches!(
            find_image(Some(&absent), &[]),
            Err(FlashError::BadHex { .. })
        ));
        let colon = dir.path().join("a:b.hex");
        std::fs::write(&colon, ":00000001FF\n").unwrap();
        assert!(matches!(
            find_image(Some(&colon), &[]),
            Err(FlashError::ColonInHex(_))
        ));
    }

    #[test]
    fn the_one_usb_serial_bridge_is_the_port_and_several_ask_for_one() {
        let serial0 = port("/dev/ttyS0", PortKind::NotUsb);
        let uno = port("/dev/ttyACM0", PortKind::Arduino);
        let clone = port("/dev/ttyUSB0", PortKind::Ch34x);
        assert_eq!(
            pick_port(&[serial0.clone(), uno.clone()]).unwrap(),
            "/dev/ttyACM0"
        );
        let none = pick_port(std::slice::from_ref(&serial0))
            .unwrap_err()
            .to_string();
        assert!(
            none.contains("/dev/ttyS0") && none.contains("--port"),
            "{none}"
        );
        let several = pick_port(&[uno, clone]).unwrap_err().to_string();
        assert!(
            several.contains("/dev/ttyACM0") && several.contains("/dev/ttyUSB0"),
            "{several}"
        );
    }

    #[test]
    fn avrdudes_failures_are_told_apart_by_its_output() {
        let sync = "avrdude: stk500_recv(): programmer is not responding\n\
                    avrdude: stk500_getsync() attempt 1 of 10: not in sync: resp=0x00\n";
        assert!(matches!(
            classify_failure("/dev/ttyACM0", "exit status: 1".into(), sync),
            FlashError::NotInSync { .. }
        ));
        let perm = "avrdude: ser_open(): can't open device \"/dev/ttyACM0\": Permission denied\n";
        assert!(matches!(
            classify_failure("/dev/ttyACM0", "exit status: 1".into(), perm),
            FlashError::PermissionDenied { .. }
        ));
        let busy =
            "avrdude: ser_open(): can't open device \"/dev/ttyACM0\": Device or resource busy\n";
        assert!(matches!(
            classify_failure("/dev/ttyACM0", "exit status: 1".into(), busy),
            FlashError::Busy { .. }
        ));
        let other = classify_failure("/dev/ttyACM0", "exit status: 1".into(), "bad\x1b[2Jthing");
        let message = other.to_string();
        assert!(matches!(other, FlashError::AvrdudeFailed { .. }));
        assert!(!message.contains('\x1b'), "{message:?}");
    }
}
