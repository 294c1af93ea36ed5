//! One open serial connection to a LED device: waiting for its hello, the HELLO handshake,
//! stop-and-wait requests with timeout and retries, and writing legacy Ada frames.
//!
//! Used by the worker thread and by [`super::discovery::probe`]; never shared between threads.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serialport::{ClearBuffer, SerialPort};

use super::protocol::{
    self, Boot, Command, Decoder, DeviceMessage, Direction, Info, PROTO_VERSION, ProtocolError,
    Reply, Request, Status,
};
use crate::color::Rgb;

/// How long to wait for `Ada\n` or BOOT after opening (covers the Uno bootloader).
pub const HELLO_WAIT: Duration = Duration::from_secs(3);
/// How long to wait for the reply to one HELLO attempt.
pub const HELLO_REPLY_TIMEOUT: Duration = Duration::from_millis(500);
/// HELLO attempts before a port counts as "not ledtogo".
pub const HELLO_ATTEMPTS: u32 = 3;
/// Base reply timeout of a request (show time and transmit time are added).
pub const REPLY_TIMEOUT: Duration = Duration::from_millis(250);
/// Attempts per request: the first one plus three retries.
pub const REQUEST_ATTEMPTS: u32 = 4;
/// Longest single blocking read, so the owner can react to commands.
pub const READ_SLICE: Duration = Duration::from_millis(20);
/// How long a board that answered nothing gets to answer `v` with `WLED <build>`.
pub const WLED_REPLY_TIMEOUT: Duration = Duration::from_millis(500);
/// What WLED's serial handler answers to `v` (`Serial.print("WLED"); Serial.write(' ');
/// Serial.println(VERSION)`), before the build number.
pub const WLED_REPLY_PREFIX: &[u8] = b"WLED ";

/// What went wrong on a link. Every variant names the port.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(
        "cannot open serial port {port}: {source} (is it plugged in and not used by another program?)"
    )]
    Open {
        port: String,
        #[source]
        source: serialport::Error,
    },
    #[error("serial port {port} failed during {action}: {source} (unplugged?)")]
    Io {
        port: String,
        action: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("serial port {port} was closed by the other side (unplugged?)")]
    Closed { port: String },
    #[error("no reply to {command} from {port} after {attempts} attempts")]
    NoReply {
        port: String,
        command: Command,
        attempts: u32,
    },
    #[error("{port} rejected {command}: {status}")]
    Rejected {
        port: String,
        command: Command,
        status: Status,
    },
    #[error("{port} sent a malformed reply to {command}: {source}")]
    BadReply {
        port: String,
        command: Command,
        #[source]
        source: ProtocolError,
    },
    #[error("the device on {port} {why}")]
    SessionLost { port: String, why: &'static str },
    #[error("{port} speaks protocol {proto}, this host speaks {PROTO_VERSION}")]
    Version { port: String, proto: u8 },
    #[error("cancelled")]
    Cancelled,
}

/// What the handshake found on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// A ledtogo device answered HELLO.
    Ledtogo(Info),
    /// The port said `Ada\n` but never answered HELLO: a stock Adalight firmware.
    Legacy,
    /// Neither `Ada\n` nor a reply. `noise` counts the bytes that made no sense.
    Silent { noise: usize },
}

/// An open port plus the decoder for what the device sends.
pub struct Link {
    port: Box<dyn SerialPort>,
    name: String,
    decoder: Decoder,
    inbox: VecDeque<DeviceMessage>,
    seq: u8,
    show_us: u32,
    baud: u32,
    saw_hello_line: bool,
    noise: usize,
    cancel: Arc<AtomicBool>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("port", &self.name)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// Opens `path` (which resets an Uno), raises DTR where the port supports it and clears
    /// stale input. `cancel` aborts long waits when set.
    pub fn open(path: &str, baud: u32, cancel: Arc<AtomicBool>) -> Result<Link, LinkError> {
        let port = serialport::new(path, baud)
            .timeout(READ_SLICE)
            .open()
            .map_err(|source| LinkError::Open {
                port: path.to_owned(),
                source,
            })?;
        let mut port = port;
        // Pseudo-terminals refuse modem control lines ("Not a typewriter"): not an error here.
        if let Err(e) = port.write_data_terminal_ready(true) {
            tracing::debug!(port = path, error = %e, "cannot raise DTR");
        }
        if let Err(e) = port.clear(ClearBuffer::Input) {
            tracing::debug!(port = path, error = %e, "cannot clear the input buffer");
        }
        Ok(Link {
            port,
            name: path.to_owned(),
            decoder: Decoder::new(Direction::DeviceToHost),
            inbox: VecDeque::new(),
            seq: 0,
            show_us: 0,
            baud: baud.max(1),
            saw_hello_line: false,
            noise: 0,
            cancel,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes received so far that were not part of any valid item.
    pub fn noise(&self) -> usize {
        self.noise
    }

    fn check_cancel(&self) -> Result<(), LinkError> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(LinkError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Reads whatever arrives within `wait` (at most one read slice) into the inbox.
    pub fn read_some(&mut self, wait: Duration) -> Result<(), LinkError> {
        let wait = wait.clamp(Duration::from_millis(1), READ_SLICE);
        if let Err(e) = self.port.set_timeout(wait) {
            tracing::debug!(port = %self.name, error = %e, "cannot set the read timeout");
        }
        let mut buf = [0u8; 256];
        let n = match self.port.read(&mut buf) {
            Ok(0) => {
                return Err(LinkError::Closed {
                    port: self.name.clone(),
                });
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(source) => {
                return Err(LinkError::Io {
                    port: self.name.clone(),
                    action: "read",
                    source,
                });
            }
        };
        let mut out = Vec::new();
        for &b in &buf[..n] {
            self.decoder.push(b, &mut out);
        }
        for result in out {
            match result {
                Ok(item) => match DeviceMessage::from_item(item) {
                    Ok(msg) => self.inbox.push_back(msg),
                    Err(e) => {
                        tracing::debug!(port = %self.name, error = %e, "ignoring a frame");
                    }
                },
                Err(e) => {
                    self.noise += 1;
                    tracing::debug!(port = %self.name, error = %e, "garbage from the device");
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8], action: &'static str) -> Result<(), LinkError> {
        self.port
            .write_all(bytes)
            .and_then(|()| self.port.flush())
            .map_err(|source| LinkError::Io {
                port: self.name.clone(),
                action,
                source,
            })
    }

    /// Waits up to `timeout` for `Ada\n` or a BOOT event. Returns whether one came.
    pub fn wait_hello(&mut self, timeout: Duration) -> Result<bool, LinkError> {
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(msg) = self.inbox.pop_front() {
                match msg {
                    DeviceMessage::HelloLine => {
                        self.saw_hello_line = true;
                        return Ok(true);
                    }
                    DeviceMessage::Boot(boot) => {
                        log_boot(&self.name, &boot);
                        return Ok(true);
                    }
                    DeviceMessage::Reply(_) => {}
                }
            }
            self.check_cancel()?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            self.read_some(deadline - now)?;
        }
    }

    /// Waits for the device's hello, then sends HELLO and classifies the port.
    pub fn handshake(&mut self) -> Result<Handshake, LinkError> {
        let greeted = self.wait_hello(HELLO_WAIT)?;
        if !greeted {
            tracing::debug!(port = %self.name, "no hello within {HELLO_WAIT:?}, sending HELLO anyway");
        }
        self.hello()
    }

    /// Sends HELLO (without waiting for the device's hello first) and classifies the port.
    pub fn hello(&mut self) -> Result<Handshake, LinkError> {
        let req = Request::Hello {
            proto_max: PROTO_VERSION,
            flags: 0,
        };
        match self.exchange(&req, HELLO_ATTEMPTS, Some(HELLO_REPLY_TIMEOUT), false) {
            Ok(reply) => match reply.body {
                protocol::ReplyBody::Info(info) => {
                    if info.proto < 1 {
                        return Err(LinkError::Version {
                            port: self.name.clone(),
                            proto: info.proto,
                        });
                    }
                    self.show_us = u32::from(info.show_us);
                    Ok(Handshake::Ledtogo(info))
                }
                _ => Err(LinkError::Rejected {
                    port: self.name.clone(),
                    command: Command::Hello,
                    status: reply.status,
                }),
            },
            Err(LinkError::NoReply { .. }) if self.saw_hello_line => Ok(Handshake::Legacy),
            Err(LinkError::NoReply { .. }) => Ok(Handshake::Silent { noise: self.noise }),
            Err(e) => Err(e),
        }
    }

    /// Sends a request in a live session and returns its OK reply. Non-OK replies become
    /// [`LinkError::Rejected`]; `Ada\n` or BOOT while waiting become [`LinkError::SessionLost`].
    pub fn request(&mut self, req: &Request) -> Result<Reply, LinkError> {
        let reply = self.exchange(req, REQUEST_ATTEMPTS, None, true)?;
        if reply.status == Status::Ok {
            Ok(reply)
        } else {
            Err(LinkError::Rejected {
                port: self.name.clone(),
                command: req.command(),
                status: reply.status,
            })
        }
    }

    fn next_seq(&mut self) -> u8 {
        self.seq = if self.seq == u8::MAX { 1 } else { self.seq + 1 };
        self.seq
    }

    /// Time to transmit `bytes` at the link's baud rate (10 bits per byte).
    fn tx_time(&self, bytes: usize) -> Duration {
        Duration::from_micros(bytes as u64 * 10_000_000 / u64::from(self.baud))
    }

    /// Stop-and-wait: send, wait for the reply with the same seq, re-send the same request on
    /// timeout or on CRC_ERROR/BUSY.
    fn exchange(
        &mut self,
        req: &Request,
        attempts: u32,
        timeout: Option<Duration>,
        in_session: bool,
    ) -> Result<Reply, LinkError> {
        let seq = self.next_seq();
        let command = req.command();
        let bytes = req.encode(seq).map_err(|source| LinkError::BadReply {
            port: self.name.clone(),
            command,
            source,
        })?;
        let timeout = timeout.unwrap_or_else(|| {
            REPLY_TIMEOUT
                + Duration::from_micros(u64::from(self.show_us))
                + self.tx_time(bytes.len() + protocol::EXT_OVERHEAD + 32)
        });
        for attempt in 1..=attempts {
            self.check_cancel()?;
            self.write(&bytes, "write")?;
            let deadline = Instant::now() + timeout;
            'wait: loop {
                while let Some(msg) = self.inbox.pop_front() {
                    match msg {
                        DeviceMessage::Reply(reply)
                            if reply.seq == seq && reply.cmd == command.code() =>
                        {
                            if matches!(reply.status, Status::CrcError | Status::Busy) {
                                tracing::debug!(port = %self.name, %command, attempt, status = %reply.status, "retrying");
                                break 'wait;
                            }
                            return Ok(reply);
                        }
                        DeviceMessage::Reply(other) => {
                            tracing::debug!(port = %self.name, seq = other.seq, "ignoring a late reply");
                        }
                        DeviceMessage::HelloLine => {
                            self.saw_hello_line = true;
                            if in_session {
                                return Err(LinkError::SessionLost {
                                    port: self.name.clone(),
                                    why: "ended the session (it said Ada again)",
                                });
                            }
                        }
                        DeviceMessage::Boot(boot) => {
                            log_boot(&self.name, &boot);
                            if in_session {
                                return Err(LinkError::SessionLost {
                                    port: self.name.clone(),
                                    why: "restarted (BOOT event)",
                                });
                            }
                        }
                    }
                }
                let now = Instant::now();
                if now >= deadline {
                    tracing::debug!(port = %self.name, %command, attempt, "reply timeout");
                    break;
                }
                self.check_cancel()?;
                self.read_some(deadline - now)?;
            }
        }
        Err(LinkError::NoReply {
            port: self.name.clone(),
            command,
            attempts,
        })
    }

    /// Reads for up to `wait` while idle in a session; `Ada\n` or BOOT mean the session is gone.
    pub fn idle(&mut self, wait: Duration, in_session: bool) -> Result<(), LinkError> {
        self.read_some(wait)?;
        while let Some(msg) = self.inbox.pop_front() {
            match msg {
                DeviceMessage::HelloLine if in_session => {
                    return Err(LinkError::SessionLost {
                        port: self.name.clone(),
                        why: "ended the session (it said Ada again)",
                    });
                }
                DeviceMessage::Boot(boot) if in_session => {
                    log_boot(&self.name, &boot);
                    return Err(LinkError::SessionLost {
                        port: self.name.clone(),
                        why: "restarted (BOOT event)",
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Asks a board that answered neither `Ada\n` nor HELLO whether it runs WLED: WLED answers the byte
    /// `v` with `WLED <build>\r\n` (its build number, `2412100`), and otherwise takes Adalight frames
    /// without ever saying `Ada`. Returns the build number, or `None` when no such line came within
    /// [`WLED_REPLY_TIMEOUT`]. At most 64 bytes are looked at; the build is digits only, at most 12.
    pub fn wled_build(&mut self) -> Result<Option<String>, LinkError> {
        self.write(b"v", "write")?;
        let deadline = Instant::now() + WLED_REPLY_TIMEOUT;
        let mut seen: Vec<u8> = Vec::new();
        let mut buf = [0u8; 64];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            self.check_cancel()?;
            if let Err(e) = self
                .port
                .set_timeout(left.clamp(Duration::from_millis(1), READ_SLICE))
            {
                tracing::debug!(port = %self.name, error = %e, "cannot set the read timeout");
            }
            match self.port.read(&mut buf) {
                Ok(0) => {
                    return Err(LinkError::Closed {
                        port: self.name.clone(),
                    });
                }
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) => {}
                Err(source) => {
                    return Err(LinkError::Io {
                        port: self.name.clone(),
                        action: "read",
                        source,
                    });
                }
            }
            if let Some(build) = wled_reply(&seen) {
                return Ok(Some(build));
            }
            if seen.len() > 64 {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// Writes one legacy Ada frame (no acknowledgement exists).
    pub fn write_ada(&mut self, leds: &[Rgb]) -> Result<(), LinkError> {
        let bytes = protocol::encode_ada(leds).map_err(|source| LinkError::BadReply {
            port: self.name.clone(),
            command: Command::SetPixels,
            source,
        })?;
        self.write(&bytes, "write")
    }
}

/// The build number in WLED's answer to `v` (`WLED 2412100\r\n`), once the whole line is there.
fn wled_reply(seen: &[u8]) -> Option<String> {
    let at = seen
        .windows(WLED_REPLY_PREFIX.len())
        .position(|w| w == WLED_REPLY_PREFIX)?;
    let rest = &seen[at + WLED_REPLY_PREFIX.len()..];
    let end = rest.iter().position(|b| *b == b'\r' || *b == b'\n')?;
    let build = &rest[..end];
    (!build.is_empty() && build.len() <= 12 && build.iter().all(u8::is_ascii_digit))
        .then(|| String::from_utf8_lossy(build).into_owned())
}

fn log_boot(port: &str, boot: &Boot) {
    tracing::info!(port, fw = %boot.fw, reset_cause = boot.reset_cause, "device booted");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn wleds_answer_to_v_gives_its_build_number() {
        assert_eq!(wled_reply(b"WLED 2412100\r\n").as_deref(), Some("2412100"));
        assert_eq!(
            wled_reply(b"\x00noise WLED 2412100\n").as_deref(),
            Some("2412100")
        );
        assert_eq!(wled_reply(b"WLED 24121"), None, "not the whole line yet");
        assert_eq!(wled_reply(b"WLED \x1b[2J\r\n"), None, "digits only");
        assert_eq!(wled_reply(b"WLED 1234567890123\r\n"), None, "too long");
        assert_eq!(wled_reply(b"Ada\n"), None);
    }

    /// The bytes WLED's serial handler acts on when it waits for a frame: `v`, `l`, `L`, `o`, `O`, `{`
    /// (JSON), `I` (Improv), the baud switches 0xB0–0xB7 and the TPM2 start 0xC9.
    fn wled_acts_on(b: u8) -> bool {
        b"vlLoO{I".contains(&b) || (0xB0..=0xB7).contains(&b) || b == 0xC9
    }

    #[test]
    fn the_first_hello_on_a_fresh_link_means_nothing_to_a_wled_board() {
        // A fresh link's HELLO has sequence number 1. After `Adx` WLED is back to waiting for a frame
        // (`x` is not `a`), so each later byte must be one it ignores: a 0xB5 would switch it to
        // 921600 baud and it would never understand the frames.
        let hello = Request::Hello {
            proto_max: PROTO_VERSION,
            flags: 0,
        }
        .encode(1)
        .unwrap();
        assert_eq!(&hello[..3], b"Adx");
        assert!(
            !hello[3..].iter().copied().any(wled_acts_on),
            "{hello:02x?}"
        );
    }
}
