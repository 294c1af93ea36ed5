//! The ledtogo serial protocol v1 ("Ada + Adx"): byte layouts, encoders, typed decoders and a
//! byte-at-a-time stream decoder that resynchronises after garbage.
//!
//! Pure code, no I/O. The contract is `firmware/PROTOCOL.md` (protocol v1); the golden vectors in
//! `firmware/protocol/golden-vectors.txt` pin every layout byte for byte.

use std::collections::VecDeque;
use std::fmt;

use crc::{CRC_16_IBM_3740, Crc};

use crate::color::Rgb;

/// Magic of a legacy Adalight frame (host → device).
pub const ADA_MAGIC: [u8; 3] = *b"Ada";
/// Magic of an extended request (host → device).
pub const ADX_MAGIC: [u8; 3] = *b"Adx";
/// Magic of an extended reply or event (device → host).
pub const ADY_MAGIC: [u8; 3] = *b"Ady";
/// The line a device prints at boot and every second while no session is live.
pub const HELLO_LINE: [u8; 4] = *b"Ada\n";
/// The protocol version this host speaks.
pub const PROTO_VERSION: u8 = 1;
/// The largest request payload a v1 device accepts.
pub const MAX_PAYLOAD: usize = 96;
/// Pixels per SET_PIXELS request: (96 − 3) / 3.
pub const MAX_PIXELS_PER_CHUNK: usize = (MAX_PAYLOAD - 3) / 3;
/// Bytes an extended frame adds around its payload (magic, header, CRC).
pub const EXT_OVERHEAD: usize = 9;
/// A reply carries `cmd | REPLY_FLAG`.
pub const REPLY_FLAG: u8 = 0x80;
/// Sequence number of unsolicited events.
pub const EVENT_SEQ: u8 = 0;

/// Config key: active LED count (1..led_max).
pub const CONFIG_LED_COUNT: u8 = 1;
/// Config key: brightness cap (0–255).
pub const CONFIG_BRIGHTNESS: u8 = 2;
/// Config key: power limit in mA.
pub const CONFIG_POWER_LIMIT_MA: u8 = 3;
/// Config key: seconds without a valid frame before the stale pattern (1–10).
pub const CONFIG_STALE_AFTER_S: u8 = 4;

const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);

/// CRC-16/IBM-3740 (poly 0x1021, init 0xFFFF, no reflection, xorout 0).
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

/// The header check byte of an extended frame.
pub fn header_check(seq: u8, cmd: u8, len: u8) -> u8 {
    seq ^ cmd ^ len ^ 0x55
}

/// A payload that does not match the layout of its command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("unknown command 0x{0:02x}")]
    UnknownCommand(u8),
    #[error("{command}: payload is {got} bytes, expected {expected}")]
    PayloadLength {
        command: &'static str,
        expected: &'static str,
        got: usize,
    },
    #[error("{command}: field {field} has invalid value {value}")]
    BadValue {
        command: &'static str,
        field: &'static str,
        value: u32,
    },
    #[error("frame with cmd 0x{cmd:02x} and seq {seq} is neither a reply nor an event")]
    NotAReply { seq: u8, cmd: u8 },
    #[error("{command} reply carries no status byte")]
    MissingStatus { command: &'static str },
    #[error("payload of {0} bytes does not fit an extended frame (max 255)")]
    PayloadTooLong(usize),
    #[error("an Ada frame carries 1 to 65536 LEDs, got {0}")]
    AdaLedCount(usize),
    #[error("sequence number 0 is reserved for events")]
    ZeroSeq,
}

/// Request and event opcodes of protocol v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Hello,
    Ping,
    Bye,
    SetPixels,
    Fill,
    Commit,
    SetConfig,
    SaveConfig,
    Identify,
    GetStats,
    /// Event sent once after boot (seq 0).
    Boot,
}

impl Command {
    pub const ALL: [Command; 11] = [
        Command::Hello,
        Command::Ping,
        Command::Bye,
        Command::SetPixels,
        Command::Fill,
        Command::Commit,
        Command::SetConfig,
        Command::SaveConfig,
        Command::Identify,
        Command::GetStats,
        Command::Boot,
    ];

    pub fn code(self) -> u8 {
        match self {
            Command::Hello => 0x01,
            Command::Ping => 0x02,
            Command::Bye => 0x03,
            Command::SetPixels => 0x10,
            Command::Fill => 0x12,
            Command::Commit => 0x13,
            Command::SetConfig => 0x21,
            Command::SaveConfig => 0x22,
            Command::Identify => 0x30,
            Command::GetStats => 0x31,
            Command::Boot => 0xE0,
        }
    }

    pub fn from_code(code: u8) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The lowercase name used in the golden vectors (`set_pixels`, `boot`, …).
    pub fn name(self) -> &'static str {
        match self {
            Command::Hello => "hello",
            Command::Ping => "ping",
            Command::Bye => "bye",
            Command::SetPixels => "set_pixels",
            Command::Fill => "fill",
            Command::Commit => "commit",
            Command::SetConfig => "set_config",
            Command::SaveConfig => "save_config",
            Command::Identify => "identify",
            Command::GetStats => "get_stats",
            Command::Boot => "boot",
        }
    }

    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The status byte every reply starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    CrcError,
    UnknownCmd,
    BadLength,
    BadArg,
    Busy,
    EepromError,
    /// A code this host does not know (a newer device).
    Other(u8),
}

impl Status {
    const KNOWN: [Status; 7] = [
        Status::Ok,
        Status::CrcError,
        Status::UnknownCmd,
        Status::BadLength,
        Status::BadArg,
        Status::Busy,
        Status::EepromError,
    ];

    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0x00,
            Status::CrcError => 0x01,
            Status::UnknownCmd => 0x02,
            Status::BadLength => 0x03,
            Status::BadArg => 0x04,
            Status::Busy => 0x05,
            Status::EepromError => 0x06,
            Status::Other(code) => code,
        }
    }

    pub fn from_code(code: u8) -> Status {
        Status::KNOWN
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or(Status::Other(code))
    }

    /// The lowercase name used in the golden vectors (`ok`, `crc_error`, …).
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::CrcError => "crc_error",
            Status::UnknownCmd => "unknown_cmd",
            Status::BadLength => "bad_length",
            Status::BadArg => "bad_arg",
            Status::Busy => "busy",
            Status::EepromError => "eeprom_error",
            Status::Other(_) => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<Status> {
        Status::KNOWN.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Other(code) => write!(f, "status 0x{code:02x}"),
            known => f.write_str(known.name()),
        }
    }
}

/// What BYE asks the device to do with the LEDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByeAction {
    /// Show the stale pattern now.
    GoStale,
    /// Turn the strip off.
    Blank,
    /// Keep the colours, no watchdog.
    Keep,
}

impl ByeAction {
    pub fn code(self) -> u8 {
        match self {
            ByeAction::GoStale => 0,
            ByeAction::Blank => 1,
            ByeAction::Keep => 2,
        }
    }

    pub fn from_code(code: u8) -> Option<ByeAction> {
        match code {
            0 => Some(ByeAction::GoStale),
            1 => Some(ByeAction::Blank),
            2 => Some(ByeAction::Keep),
            _ => None,
        }
    }
}

/// A host → device request (the payload of an Adx frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Hello {
        proto_max: u8,
        flags: u8,
    },
    Ping,
    Bye {
        action: ByeAction,
    },
    SetPixels {
        start: u16,
        commit: bool,
        leds: Vec<Rgb>,
    },
    Fill {
        start: u16,
        count: u16,
        rgb: Rgb,
        commit: bool,
    },
    Commit,
    SetConfig {
        key: u8,
        value: u32,
    },
    SaveConfig,
    Identify {
        seconds: u8,
    },
    GetStats,
}

impl Request {
    pub fn command(&self) -> Command {
        match self {
            Request::Hello { .. } => Command::Hello,
            Request::Ping => Command::Ping,
            Request::Bye { .. } => Command::Bye,
            Request::SetPixels { .. } => Command::SetPixels,
            Request::Fill { .. } => Command::Fill,
            Request::Commit => Command::Commit,
            Request::SetConfig { .. } => Command::SetConfig,
            Request::SaveConfig => Command::SaveConfig,
            Request::Identify { .. } => Command::Identify,
            Request::GetStats => Command::GetStats,
        }
    }

    /// The payload bytes (without frame header and CRC).
    pub fn payload(&self) -> Vec<u8> {
        let mut p = Vec::new();
        match self {
            Request::Hello { proto_max, flags } => p.extend([*proto_max, *flags]),
            Request::Ping | Request::Commit | Request::SaveConfig | Request::GetStats => {}
            Request::Bye { action } => p.push(action.code()),
            Request::SetPixels {
                start,
                commit,
                leds,
            } => {
                p.extend(start.to_be_bytes());
                p.push(u8::from(*commit));
                push_rgbs(&mut p, leds);
            }
            Request::Fill {
                start,
                count,
                rgb,
                commit,
            } => {
                p.extend(start.to_be_bytes());
                p.extend(count.to_be_bytes());
                p.extend([rgb.r, rgb.g, rgb.b, u8::from(*commit)]);
            }
            Request::SetConfig { key, value } => {
                p.push(*key);
                p.extend(value.to_be_bytes());
            }
            Request::Identify { seconds } => p.push(*seconds),
        }
        p
    }

    /// The complete Adx frame with sequence number `seq` (1–255).
    pub fn encode(&self, seq: u8) -> Result<Vec<u8>, ProtocolError> {
        if seq == EVENT_SEQ {
            return Err(ProtocolError::ZeroSeq);
        }
        encode_ext(ADX_MAGIC, seq, self.command().code(), &self.payload())
    }

    /// Parses a request payload (what a device does after the CRC checked out).
    pub fn decode(cmd: u8, payload: &[u8]) -> Result<Request, ProtocolError> {
        let command = Command::from_code(cmd).ok_or(ProtocolError::UnknownCommand(cmd))?;
        let name = command.name();
        let exact = |n: usize, expected: &'static str| {
            if payload.len() == n {
                Ok(())
            } else {
                Err(ProtocolError::PayloadLength {
                    command: name,
                    expected,
                    got: payload.len(),
                })
            }
        };
        let request = match command {
            Command::Hello => {
                exact(2, "2")?;
                Request::Hello {
                    proto_max: payload[0],
                    flags: payload[1],
                }
            }
            Command::Ping => exact(0, "0").map(|()| Request::Ping)?,
            Command::Commit => exact(0, "0").map(|()| Request::Commit)?,
            Command::SaveConfig => exact(0, "0").map(|()| Request::SaveConfig)?,
            Command::GetStats => exact(0, "0").map(|()| Request::GetStats)?,
            Command::Bye => {
                exact(1, "1")?;
                let action = ByeAction::from_code(payload[0]).ok_or(ProtocolError::BadValue {
                    command: name,
                    field: "action",
                    value: payload[0].into(),
                })?;
                Request::Bye { action }
            }
            Command::SetPixels => {
                if payload.len() < 3 || !(payload.len() - 3).is_multiple_of(3) {
                    return Err(ProtocolError::PayloadLength {
                        command: name,
                        expected: "3 + 3·k",
                        got: payload.len(),
                    });
                }
                Request::SetPixels {
                    start: be16(&payload[0..2]),
                    commit: payload[2] & 1 != 0,
                    leds: rgbs(&payload[3..]),
                }
            }
            Command::Fill => {
                exact(8, "8")?;
                Request::Fill {
                    start: be16(&payload[0..2]),
                    count: be16(&payload[2..4]),
                    rgb: Rgb::new(payload[4], payload[5], payload[6]),
                    commit: payload[7] & 1 != 0,
                }
            }
            Command::SetConfig => {
                exact(5, "5")?;
                Request::SetConfig {
                    key: payload[0],
                    value: be32(&payload[1..5]),
                }
            }
            Command::Identify => {
                exact(1, "1")?;
                Request::Identify {
                    seconds: payload[0],
                }
            }
            Command::Boot => return Err(ProtocolError::UnknownCommand(cmd)),
        };
        Ok(request)
    }
}

/// Firmware version `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FwVersion {
    pub major: u8,
    pub minor: u8,
    pub patch: u8,
}

impl fmt::Display for FwVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The INFO block a device answers HELLO with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Info {
    pub proto: u8,
    pub fw: FwVersion,
    pub device_id: u32,
    pub led_count: u16,
    pub led_max: u16,
    pub max_payload: u8,
    pub capabilities: u16,
    pub colour_order: u8,
    pub reset_cause: u8,
    pub brightness: u8,
    pub power_limit_ma: u16,
    pub stale_after_s: u16,
    pub show_us: u16,
}

impl Info {
    /// Size of the v1 INFO block (after the status byte).
    pub const LEN: usize = 24;

    /// Parses an INFO block; trailing bytes from newer firmware are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Info, ProtocolError> {
        if bytes.len() < Info::LEN {
            return Err(ProtocolError::PayloadLength {
                command: "hello",
                expected: "at least 24 (INFO)",
                got: bytes.len(),
            });
        }
        Ok(Info {
            proto: bytes[0],
            fw: FwVersion {
                major: bytes[1],
                minor: bytes[2],
                patch: bytes[3],
            },
            device_id: be32(&bytes[4..8]),
            led_count: be16(&bytes[8..10]),
            led_max: be16(&bytes[10..12]),
            max_payload: bytes[12],
            capabilities: be16(&bytes[13..15]),
            colour_order: bytes[15],
            reset_cause: bytes[16],
            brightness: bytes[17],
            power_limit_ma: be16(&bytes[18..20]),
            stale_after_s: be16(&bytes[20..22]),
            show_us: be16(&bytes[22..24]),
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(Info::LEN);
        b.push(self.proto);
        b.extend([self.fw.major, self.fw.minor, self.fw.patch]);
        b.extend(self.device_id.to_be_bytes());
        b.extend(self.led_count.to_be_bytes());
        b.extend(self.led_max.to_be_bytes());
        b.push(self.max_payload);
        b.extend(self.capabilities.to_be_bytes());
        b.extend([self.colour_order, self.reset_cause, self.brightness]);
        b.extend(self.power_limit_ma.to_be_bytes());
        b.extend(self.stale_after_s.to_be_bytes());
        b.extend(self.show_us.to_be_bytes());
        b
    }
}

/// The device's watchdog state as reported by PING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    Live,
    Stale,
    Off,
    Other(u8),
}

impl LinkState {
    pub fn code(self) -> u8 {
        match self {
            LinkState::Live => 0,
            LinkState::Stale => 1,
            LinkState::Off => 2,
            LinkState::Other(c) => c,
        }
    }

    pub fn from_code(code: u8) -> LinkState {
        match code {
            0 => LinkState::Live,
            1 => LinkState::Stale,
            2 => LinkState::Off,
            c => LinkState::Other(c),
        }
    }
}

/// GET_STATS counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub rx_ok: u16,
    pub crc_err: u16,
    pub hdr_err: u16,
    pub len_err: u16,
    pub stale_events: u16,
}

/// What follows the status byte of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyBody {
    /// Status only (every non-OK reply, and OK replies of commands without data).
    Empty,
    Info(Info),
    Ping {
        uptime_ms: u32,
        state: LinkState,
    },
    Config {
        key: u8,
        value: u32,
    },
    Stats(Stats),
}

/// A device → host reply to request `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub seq: u8,
    /// The request's opcode (the wire carries `cmd | 0x80`). Kept raw: a device answers
    /// opcodes it does not know with UNKNOWN_CMD.
    pub cmd: u8,
    pub status: Status,
    pub body: ReplyBody,
}

impl Reply {
    /// The request's command, if this host knows the opcode.
    pub fn command(&self) -> Option<Command> {
        Command::from_code(self.cmd)
    }

    pub fn payload(&self) -> Vec<u8> {
        let mut p = vec![self.status.code()];
        match &self.body {
            ReplyBody::Empty => {}
            ReplyBody::Info(info) => p.extend(info.to_bytes()),
            ReplyBody::Ping { uptime_ms, state } => {
                p.extend(uptime_ms.to_be_bytes());
                p.push(state.code());
            }
            ReplyBody::Config { key, value } => {
                p.push(*key);
                p.extend(value.to_be_bytes());
            }
            ReplyBody::Stats(s) => {
                for v in [s.rx_ok, s.crc_err, s.hdr_err, s.len_err, s.stale_events] {
                    p.extend(v.to_be_bytes());
                }
            }
        }
        p
    }

    pub fn encode(&self) -> Result<Vec<u8>, ProtocolError> {
        encode_ext(ADY_MAGIC, self.seq, self.cmd | REPLY_FLAG, &self.payload())
    }

    /// Parses the reply to opcode `cmd` from its payload. Non-OK replies carry no body; OK
    /// replies must carry the command's fields, trailing bytes are ignored.
    pub fn decode(seq: u8, cmd: u8, payload: &[u8]) -> Result<Reply, ProtocolError> {
        let command = Command::from_code(cmd);
        let name = command.map_or("reply", Command::name);
        let (&status, rest) = payload
            .split_first()
            .ok_or(ProtocolError::MissingStatus { command: name })?;
        let status = Status::from_code(status);
        let short = |expected: &'static str| ProtocolError::PayloadLength {
            command: name,
            expected,
            got: payload.len(),
        };
        let body = if status != Status::Ok {
            ReplyBody::Empty
        } else {
            match command {
                None => ReplyBody::Empty,
                Some(command) => Self::decode_body(command, rest, short)?,
            }
        };
        Ok(Reply {
            seq,
            cmd,
            status,
            body,
        })
    }

    fn decode_body(
        command: Command,
        rest: &[u8],
        short: impl Fn(&'static str) -> ProtocolError,
    ) -> Result<ReplyBody, ProtocolError> {
        Ok(match command {
            Command::Hello => ReplyBody::Info(Info::parse(rest)?),
            Command::Ping => {
                if rest.len() < 5 {
                    return Err(short("at least 6"));
                }
                ReplyBody::Ping {
                    uptime_ms: be32(&rest[0..4]),
                    state: LinkState::from_code(rest[4]),
                }
            }
            Command::SetConfig => {
                if rest.len() < 5 {
                    return Err(short("at least 6"));
                }
                ReplyBody::Config {
                    key: rest[0],
                    value: be32(&rest[1..5]),
                }
            }
            Command::GetStats => {
                if rest.len() < 10 {
                    return Err(short("at least 11"));
                }
                ReplyBody::Stats(Stats {
                    rx_ok: be16(&rest[0..2]),
                    crc_err: be16(&rest[2..4]),
                    hdr_err: be16(&rest[4..6]),
                    len_err: be16(&rest[6..8]),
                    stale_events: be16(&rest[8..10]),
                })
            }
            _ => ReplyBody::Empty,
        })
    }
}

/// The BOOT event: the device just (re)started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Boot {
    /// MCUSR bits (bit0 power-on, bit1 external, bit2 brown-out, bit3 watchdog).
    pub reset_cause: u8,
    pub proto: u8,
    pub fw: FwVersion,
}

impl Boot {
    pub fn payload(&self) -> Vec<u8> {
        vec![
            Status::Ok.code(),
            self.reset_cause,
            self.proto,
            self.fw.major,
            self.fw.minor,
            self.fw.patch,
        ]
    }

    pub fn encode(&self) -> Result<Vec<u8>, ProtocolError> {
        encode_ext(ADY_MAGIC, EVENT_SEQ, Command::Boot.code(), &self.payload())
    }

    pub fn decode(payload: &[u8]) -> Result<Boot, ProtocolError> {
        if payload.len() < 6 {
            return Err(ProtocolError::PayloadLength {
                command: "boot",
                expected: "at least 6",
                got: payload.len(),
            });
        }
        Ok(Boot {
            reset_cause: payload[1],
            proto: payload[2],
            fw: FwVersion {
                major: payload[3],
                minor: payload[4],
                patch: payload[5],
            },
        })
    }
}

/// Something meaningful the device said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceMessage {
    /// The `Ada\n` line (boot, or the idle heartbeat).
    HelloLine,
    Reply(Reply),
    Boot(Boot),
}

impl DeviceMessage {
    /// Interprets a decoded device → host item.
    pub fn from_item(item: Item) -> Result<DeviceMessage, ProtocolError> {
        match item {
            Item::HelloLine => Ok(DeviceMessage::HelloLine),
            Item::Ada(_) => Err(ProtocolError::NotAReply { seq: 0, cmd: b'a' }),
            Item::Ext(frame) => DeviceMessage::from_frame(&frame),
        }
    }

    pub fn from_frame(frame: &ExtFrame) -> Result<DeviceMessage, ProtocolError> {
        if frame.seq == EVENT_SEQ {
            return match Command::from_code(frame.cmd) {
                Some(Command::Boot) => Ok(DeviceMessage::Boot(Boot::decode(&frame.payload)?)),
                _ => Err(ProtocolError::UnknownCommand(frame.cmd)),
            };
        }
        if frame.cmd & REPLY_FLAG == 0 {
            return Err(ProtocolError::NotAReply {
                seq: frame.seq,
                cmd: frame.cmd,
            });
        }
        Ok(DeviceMessage::Reply(Reply::decode(
            frame.seq,
            frame.cmd & !REPLY_FLAG,
            &frame.payload,
        )?))
    }
}

/// Encodes a legacy Adalight frame for `leds` (1 to 65536 LEDs).
pub fn encode_ada(leds: &[Rgb]) -> Result<Vec<u8>, ProtocolError> {
    if leds.is_empty() || leds.len() > 65536 {
        return Err(ProtocolError::AdaLedCount(leds.len()));
    }
    let n = (leds.len() - 1) as u16;
    let [hi, lo] = n.to_be_bytes();
    let mut out = Vec::with_capacity(6 + 3 * leds.len());
    out.extend(ADA_MAGIC);
    out.extend([hi, lo, hi ^ lo ^ 0x55]);
    push_rgbs(&mut out, leds);
    Ok(out)
}

/// Encodes an extended frame: magic, seq, cmd, len, hchk, payload, CRC (big-endian).
pub fn encode_ext(
    magic: [u8; 3],
    seq: u8,
    cmd: u8,
    payload: &[u8],
) -> Result<Vec<u8>, ProtocolError> {
    let len =
        u8::try_from(payload.len()).map_err(|_| ProtocolError::PayloadTooLong(payload.len()))?;
    let mut out = Vec::with_capacity(EXT_OVERHEAD + payload.len());
    out.extend(magic);
    out.extend([seq, cmd, len, header_check(seq, cmd, len)]);
    out.extend_from_slice(payload);
    let crc = crc16(&out);
    out.extend(crc.to_be_bytes());
    Ok(out)
}

/// An extended frame whose header check and CRC were valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtFrame {
    pub seq: u8,
    pub cmd: u8,
    pub payload: Vec<u8>,
}

/// One complete item found in a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `Ada\n` (device → host only).
    HelloLine,
    /// A legacy Adalight frame (host → device only), LED colours as sent.
    Ada(Vec<Rgb>),
    /// An Adx (host → device) or Ady (device → host) frame.
    Ext(ExtFrame),
}

/// Why bytes in a stream were rejected. The decoder has already resynchronised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error(
        "extended frame header check failed (seq {seq}, cmd 0x{cmd:02x}, len {len}, hchk 0x{hchk:02x})"
    )]
    HeaderCheck { seq: u8, cmd: u8, len: u8, hchk: u8 },
    #[error("Ada frame header check failed (hi 0x{hi:02x}, lo 0x{lo:02x}, chk 0x{chk:02x})")]
    AdaHeaderCheck { hi: u8, lo: u8, chk: u8 },
    #[error(
        "CRC mismatch in frame seq {seq} cmd 0x{cmd:02x}: computed 0x{computed:04x}, received 0x{received:04x}"
    )]
    Crc {
        seq: u8,
        cmd: u8,
        computed: u16,
        received: u16,
    },
    #[error(
        "frame seq {seq} cmd 0x{cmd:02x} announces {len} payload bytes, more than the maximum {max}"
    )]
    TooLong { seq: u8, cmd: u8, len: u8, max: u8 },
}

/// Which side of the link a [`Decoder`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Bytes the device sends: `Ada\n` lines and Ady frames.
    DeviceToHost,
    /// Bytes the host sends: Ada frames and Adx frames.
    HostToDevice,
}

#[derive(Debug)]
enum State {
    Hunt(u8),
    HelloNewline,
    AdaHeader,
    AdaData { remaining: usize },
    ExtHeader,
    ExtBody { len: usize },
    Drain { remaining: usize },
}

/// A byte-at-a-time decoder that hunts for magics like an Adalight firmware and resumes hunting
/// right after the magic when a header check or CRC fails, so garbage never costs a real frame.
#[derive(Debug)]
pub struct Decoder {
    direction: Direction,
    max_payload: u8,
    state: State,
    /// The bytes of the candidate frame, from its magic on (not used for Ada pixel data).
    buf: Vec<u8>,
    leds: Vec<Rgb>,
    pending: VecDeque<u8>,
    too_long: Option<DecodeError>,
}

impl Decoder {
    /// A decoder accepting payloads up to 255 bytes.
    pub fn new(direction: Direction) -> Decoder {
        Decoder::with_max_payload(direction, u8::MAX)
    }

    /// A decoder that rejects (after draining) extended frames longer than `max_payload`, as a
    /// device does.
    pub fn with_max_payload(direction: Direction, max_payload: u8) -> Decoder {
        Decoder {
            direction,
            max_payload,
            state: State::Hunt(0),
            buf: Vec::with_capacity(EXT_OVERHEAD + 255),
            leds: Vec::new(),
            pending: VecDeque::new(),
            too_long: None,
        }
    }

    /// Forgets any partial frame.
    pub fn reset(&mut self) {
        self.state = State::Hunt(0);
        self.buf.clear();
        self.leds.clear();
        self.pending.clear();
        self.too_long = None;
    }

    /// Whether the decoder is between frames.
    pub fn is_hunting(&self) -> bool {
        matches!(self.state, State::Hunt(_))
    }

    /// Decodes all of `bytes`.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Item, DecodeError>> {
        let mut out = Vec::new();
        for &b in bytes {
            self.push(b, &mut out);
        }
        out
    }

    /// Decodes one byte, appending any finished items or errors to `out`.
    pub fn push(&mut self, byte: u8, out: &mut Vec<Result<Item, DecodeError>>) {
        self.pending.push_back(byte);
        while let Some(b) = self.pending.pop_front() {
            self.step(b, out);
        }
    }

    fn ext_magic(&self) -> u8 {
        match self.direction {
            Direction::DeviceToHost => ADY_MAGIC[2],
            Direction::HostToDevice => ADX_MAGIC[2],
        }
    }

    /// Gives up on the candidate frame and hunts again from the byte after its magic.
    fn resync(&mut self) {
        for &b in self.buf[3..].iter().rev() {
            self.pending.push_front(b);
        }
        self.buf.clear();
        self.state = State::Hunt(0);
    }

    fn step(&mut self, b: u8, out: &mut Vec<Result<Item, DecodeError>>) {
        match self.state {
            State::Hunt(matched) => {
                self.state = match (matched, b) {
                    (_, b'A') => State::Hunt(1),
                    (1, b'd') => State::Hunt(2),
                    (2, b'a') => {
                        self.buf.clear();
                        self.buf.extend(ADA_MAGIC);
                        match self.direction {
                            Direction::DeviceToHost => State::HelloNewline,
                            Direction::HostToDevice => State::AdaHeader,
                        }
                    }
                    (2, x) if x == self.ext_magic() => {
                        self.buf.clear();
                        self.buf.extend([b'A', b'd', x]);
                        State::ExtHeader
                    }
                    _ => State::Hunt(0),
                };
            }
            State::HelloNewline => {
                if b == b'\n' {
                    self.buf.clear();
                    self.state = State::Hunt(0);
                    out.push(Ok(Item::HelloLine));
                } else {
                    self.buf.push(b);
                    self.resync();
                }
            }
            State::AdaHeader => {
                self.buf.push(b);
                if self.buf.len() == 6 {
                    let (hi, lo, chk) = (self.buf[3], self.buf[4], self.buf[5]);
                    if hi ^ lo ^ 0x55 != chk {
                        out.push(Err(DecodeError::AdaHeaderCheck { hi, lo, chk }));
                        self.resync();
                    } else {
                        let count = usize::from(u16::from_be_bytes([hi, lo])) + 1;
                        self.buf.clear();
                        self.leds.clear();
                        self.leds.reserve(count);
                        self.state = State::AdaData {
                            remaining: 3 * count,
                        };
                    }
                }
            }
            State::AdaData { remaining } => {
                self.buf.push(b);
                if self.buf.len() == 3 {
                    self.leds
                        .push(Rgb::new(self.buf[0], self.buf[1], self.buf[2]));
                    self.buf.clear();
                }
                if remaining == 1 {
                    self.state = State::Hunt(0);
                    out.push(Ok(Item::Ada(std::mem::take(&mut self.leds))));
                } else {
                    self.state = State::AdaData {
                        remaining: remaining - 1,
                    };
                }
            }
            State::ExtHeader => {
                self.buf.push(b);
                if self.buf.len() == 7 {
                    let (seq, cmd, len, hchk) =
                        (self.buf[3], self.buf[4], self.buf[5], self.buf[6]);
                    if header_check(seq, cmd, len) != hchk {
                        out.push(Err(DecodeError::HeaderCheck {
                            seq,
                            cmd,
                            len,
                            hchk,
                        }));
                        self.resync();
                    } else if len > self.max_payload {
                        self.buf.clear();
                        self.too_long = Some(DecodeError::TooLong {
                            seq,
                            cmd,
                            len,
                            max: self.max_payload,
                        });
                        self.state = State::Drain {
                            remaining: usize::from(len) + 2,
                        };
                    } else {
                        self.state = State::ExtBody {
                            len: usize::from(len),
                        };
                    }
                }
            }
            State::ExtBody { len } => {
                self.buf.push(b);
                if self.buf.len() == 7 + len + 2 {
                    let received = u16::from_be_bytes([self.buf[7 + len], self.buf[8 + len]]);
                    let computed = crc16(&self.buf[..7 + len]);
                    let (seq, cmd) = (self.buf[3], self.buf[4]);
                    if computed == received {
                        let payload = self.buf[7..7 + len].to_vec();
                        self.buf.clear();
                        self.state = State::Hunt(0);
                        out.push(Ok(Item::Ext(ExtFrame { seq, cmd, payload })));
                    } else {
                        out.push(Err(DecodeError::Crc {
                            seq,
                            cmd,
                            computed,
                            received,
                        }));
                        self.resync();
                    }
                }
            }
            State::Drain { remaining } => {
                if remaining <= 1 {
                    self.state = State::Hunt(0);
                    if let Some(err) = self.too_long.take() {
                        out.push(Err(err));
                    }
                } else {
                    self.state = State::Drain {
                        remaining: remaining - 1,
                    };
                }
            }
        }
    }
}

fn push_rgbs(out: &mut Vec<u8>, leds: &[Rgb]) {
    for led in leds {
        out.extend([led.r, led.g, led.b]);
    }
}

fn rgbs(bytes: &[u8]) -> Vec<Rgb> {
    bytes
        .chunks_exact(3)
        .map(|c| Rgb::new(c[0], c[1], c[2]))
        .collect()
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn sample_info() -> Info {
        Info {
            proto: 1,
            fw: FwVersion {
                major: 1,
                minor: 0,
                patch: 0,
            },
            device_id: 0x3F9A_2C1B,
            led_count: 60,
            led_max: 150,
            max_payload: 96,
            capabilities: 0x000F,
            colour_order: 2,
            reset_cause: 1,
            brightness: 255,
            power_limit_ma: 450,
            stale_after_s: 5,
            show_us: 2100,
        }
    }

    #[test]
    fn crc_matches_the_catalogue_check_value() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn ping_request_encodes_like_the_worked_example() {
        assert_eq!(
            Request::Ping.encode(2).unwrap(),
            hex("41 64 78 02 02 00 55 5B 09")
        );
    }

    #[test]
    fn set_config_request_encodes_like_the_worked_example() {
        let req = Request::SetConfig {
            key: CONFIG_POWER_LIMIT_MA,
            value: 400,
        };
        assert_eq!(
            req.encode(5).unwrap(),
            hex("41 64 78 05 21 05 74 03 00 00 01 90 5F 59")
        );
    }

    #[test]
    fn sequence_zero_is_refused_for_requests() {
        assert_eq!(Request::Ping.encode(0), Err(ProtocolError::ZeroSeq));
    }

    #[test]
    fn ada_frame_has_count_minus_one_and_check_byte() {
        let leds = [Rgb::new(1, 2, 3), Rgb::new(4, 5, 6)];
        assert_eq!(
            encode_ada(&leds).unwrap(),
            vec![0x41, 0x64, 0x61, 0x00, 0x01, 0x54, 1, 2, 3, 4, 5, 6]
        );
        assert_eq!(encode_ada(&[]), Err(ProtocolError::AdaLedCount(0)));
    }

    #[test]
    fn every_request_round_trips_through_encode_and_decode() {
        let requests = [
            Request::Hello {
                proto_max: 1,
                flags: 0,
            },
            Request::Ping,
            Request::Bye {
                action: ByeAction::Blank,
            },
            Request::SetPixels {
                start: 300,
                commit: true,
                leds: vec![Rgb::new(255, 0, 7); 31],
            },
            Request::Fill {
                start: 2,
                count: 5,
                rgb: Rgb::new(9, 8, 7),
                commit: false,
            },
            Request::Commit,
            Request::SetConfig {
                key: 4,
                value: 0x0102_0304,
            },
            Request::SaveConfig,
            Request::Identify { seconds: 3 },
            Request::GetStats,
        ];
        for (i, req) in requests.into_iter().enumerate() {
            let seq = i as u8 + 1;
            let bytes = req.encode(seq).unwrap();
            let items = Decoder::new(Direction::HostToDevice).feed(&bytes);
            let [Ok(Item::Ext(frame))] = items.as_slice() else {
                panic!("{req:?} decoded to {items:?}");
            };
            assert_eq!(frame.seq, seq);
            assert_eq!(Request::decode(frame.cmd, &frame.payload).unwrap(), req);
        }
    }

    #[test]
    fn a_full_set_pixels_chunk_fits_the_device_payload_limit() {
        let req = Request::SetPixels {
            start: 0,
            commit: true,
            leds: vec![Rgb::OFF; MAX_PIXELS_PER_CHUNK],
        };
        assert_eq!(req.payload().len(), 96);
    }

    #[test]
    fn request_decode_names_the_command_and_the_wrong_length() {
        let err = Request::decode(Command::Hello.code(), &[1]).unwrap_err();
        assert_eq!(err.to_string(), "hello: payload is 1 bytes, expected 2");
        assert_eq!(
            Request::decode(0x7F, &[]),
            Err(ProtocolError::UnknownCommand(0x7F))
        );
        assert!(matches!(
            Request::decode(Command::Bye.code(), &[9]),
            Err(ProtocolError::BadValue {
                field: "action",
                ..
            })
        ));
    }

    #[test]
    fn info_reply_round_trips_and_ignores_trailing_bytes() {
        let reply = Reply {
            seq: 1,
            cmd: Command::Hello.code(),
            status: Status::Ok,
            body: ReplyBody::Info(sample_info()),
        };
        let mut payload = reply.payload();
        assert_eq!(payload.len(), 25);
        payload.extend([0xAA, 0xBB, 0xCC]);
        let bytes = encode_ext(ADY_MAGIC, 1, 0x81, &payload).unwrap();
        let items = Decoder::new(Direction::DeviceToHost).feed(&bytes);
        let [Ok(item)] = items.as_slice() else {
            panic!("{items:?}");
        };
        assert_eq!(
            DeviceMessage::from_item(item.clone()).unwrap(),
            DeviceMessage::Reply(reply)
        );
    }

    #[test]
    fn a_short_info_block_is_an_error_naming_hello() {
        let err = Reply::decode(1, Command::Hello.code(), &[0, 1, 2]).unwrap_err();
        assert!(err.to_string().contains("hello"), "{err}");
    }

    #[test]
    fn error_replies_carry_only_the_status() {
        let reply = Reply::decode(7, Command::SetPixels.code(), &[0x04]).unwrap();
        assert_eq!(reply.status, Status::BadArg);
        assert_eq!(reply.body, ReplyBody::Empty);
        let unknown = Reply::decode(7, Command::Ping.code(), &[0x42]).unwrap();
        assert_eq!(unknown.status, Status::Other(0x42));
    }

    #[test]
    fn ping_stats_and_config_replies_round_trip() {
        let replies = [
            Reply {
                seq: 3,
                cmd: Command::Ping.code(),
                status: Status::Ok,
                body: ReplyBody::Ping {
                    uptime_ms: 123_456,
                    state: LinkState::Stale,
                },
            },
            Reply {
                seq: 4,
                cmd: Command::GetStats.code(),
                status: Status::Ok,
                body: ReplyBody::Stats(Stats {
                    rx_ok: 1,
                    crc_err: 2,
                    hdr_err: 3,
                    len_err: 4,
                    stale_events: 5,
                }),
            },
            Reply {
                seq: 5,
                cmd: Command::SetConfig.code(),
                status: Status::Ok,
                body: ReplyBody::Config { key: 1, value: 150 },
            },
        ];
        for reply in replies {
            let items = Decoder::new(Direction::DeviceToHost).feed(&reply.encode().unwrap());
            let [Ok(Item::Ext(frame))] = items.as_slice() else {
                panic!("{items:?}");
            };
            assert_eq!(
                DeviceMessage::from_frame(frame).unwrap(),
                DeviceMessage::Reply(reply)
            );
        }
    }

    #[test]
    fn boot_event_round_trips() {
        let boot = Boot {
            reset_cause: 0x02,
            proto: 1,
            fw: FwVersion {
                major: 0,
                minor: 3,
                patch: 1,
            },
        };
        let items = Decoder::new(Direction::DeviceToHost).feed(&boot.encode().unwrap());
        let [Ok(Item::Ext(frame))] = items.as_slice() else {
            panic!("{items:?}");
        };
        assert_eq!(
            DeviceMessage::from_frame(frame).unwrap(),
            DeviceMessage::Boot(boot)
        );
    }

    #[test]
    fn decoder_finds_frames_between_garbage_and_false_magics() {
        let ping = Reply {
            seq: 9,
            cmd: Command::Ping.code(),
            status: Status::Ok,
            body: ReplyBody::Ping {
                uptime_ms: 1,
                state: LinkState::Live,
            },
        };
        let mut stream = b"xxAAdAd\x00Ada!Ad".to_vec();
        stream.extend(b"Ady\x01\x02\x03\x04"); // false header: bad check byte
        stream.extend(HELLO_LINE);
        stream.extend(b"AAd");
        stream.extend(ping.encode().unwrap());
        stream.extend(b"\xff\x00A");
        let results = Decoder::new(Direction::DeviceToHost).feed(&stream);
        let items: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(items.len(), 2, "{results:?}");
        assert_eq!(items[0], &Item::HelloLine);
        assert_eq!(
            DeviceMessage::from_item(items[1].clone()).unwrap(),
            DeviceMessage::Reply(ping)
        );
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(DecodeError::HeaderCheck { .. })))
        );
    }

    #[test]
    fn decoder_recovers_a_frame_hidden_after_a_corrupted_one() {
        // A frame whose CRC is wrong must not swallow the good frame that follows its magic.
        let good = Request::Ping.encode(4).unwrap();
        let mut bad = Request::Identify { seconds: 1 }.encode(3).unwrap();
        let last = bad.len() - 1;
        bad[last] ^= 0xFF;
        let mut stream = bad.clone();
        stream.extend(&good);
        let results = Decoder::new(Direction::HostToDevice).feed(&stream);
        assert!(matches!(
            results[0],
            Err(DecodeError::Crc {
                seq: 3,
                cmd: 0x30,
                ..
            })
        ));
        assert_eq!(
            results[1..],
            [Ok(Item::Ext(ExtFrame {
                seq: 4,
                cmd: 0x02,
                payload: vec![]
            }))]
        );
    }

    #[test]
    fn decoder_survives_every_single_byte_corruption() {
        let frame = Request::SetPixels {
            start: 0,
            commit: true,
            leds: vec![Rgb::new(1, 2, 3), Rgb::new(4, 5, 6)],
        }
        .encode(7)
        .unwrap();
        let next = Request::Ping.encode(8).unwrap();
        for i in 0..frame.len() {
            for flip in [0x01, 0x80, 0xFF] {
                let mut stream = frame.clone();
                stream[i] ^= flip;
                stream.extend(&next);
                let items: Vec<_> = Decoder::new(Direction::HostToDevice)
                    .feed(&stream)
                    .into_iter()
                    .filter_map(Result::ok)
                    .collect();
                let ok_frames: Vec<_> = items
                    .iter()
                    .filter_map(|i| match i {
                        Item::Ext(f) => Some(f.seq),
                        _ => None,
                    })
                    .collect();
                assert!(!ok_frames.contains(&7), "corrupt byte {i} accepted");
                assert!(
                    ok_frames.contains(&8),
                    "byte {i} ^ {flip:#x} lost the next frame"
                );
            }
        }
    }

    #[test]
    fn a_reply_behind_a_false_header_is_found_once_that_header_s_body_has_passed() {
        // From fuzz/ (serial_decoder): "Ady" + the first 4 bytes of a seq-9 reply ("Ady\x09") is a
        // header that passes its check (seq 0x41, cmd 0x64, len 121). The decoder waits for that
        // body, so the real reply comes out only when 123 more bytes have arrived, not before.
        let reply = encode_ext(ADY_MAGIC, 9, 0x82, &[0, 1, 2, 3, 4, 0]).unwrap();
        let mut decoder = Decoder::new(Direction::DeviceToHost);
        let mut stream = b"AAdy".to_vec();
        stream.extend(&reply);
        assert_eq!(decoder.feed(&stream), vec![]);
        assert!(!decoder.is_hunting());
        let rest = 121 + 2 - (reply.len() - 4);
        let results = decoder.feed(&vec![0; rest]);
        assert!(
            matches!(
                results[0],
                Err(DecodeError::Crc {
                    seq: 0x41,
                    cmd: 0x64,
                    ..
                })
            ),
            "{results:?}"
        );
        let [Ok(Item::Ext(frame))] = &results[1..] else {
            panic!("{results:?}");
        };
        assert_eq!((frame.seq, frame.cmd), (9, 0x82));
    }

    #[test]
    fn device_side_decoder_drains_oversized_frames_then_reports_them() {
        let payload = vec![0u8; 97];
        let mut stream = encode_ext(ADX_MAGIC, 6, 0x10, &payload).unwrap();
        stream.extend(Request::Ping.encode(7).unwrap());
        let results = Decoder::with_max_payload(Direction::HostToDevice, 96).feed(&stream);
        assert_eq!(
            results[0],
            Err(DecodeError::TooLong {
                seq: 6,
                cmd: 0x10,
                len: 97,
                max: 96
            })
        );
        assert!(matches!(&results[1], Ok(Item::Ext(f)) if f.seq == 7));
        assert_eq!(results.len(), 2);
    }

    #[test]
    fn ada_frames_decode_on_the_device_side() {
        let leds: Vec<Rgb> = (0..40).map(|i| Rgb::new(i, 255 - i, b'A')).collect();
        let mut stream = b"Adb".to_vec();
        stream.extend(encode_ada(&leds).unwrap());
        let results = Decoder::new(Direction::HostToDevice).feed(&stream);
        assert_eq!(results, vec![Ok(Item::Ada(leds))]);
    }

    #[test]
    fn ada_header_check_failure_resumes_hunting() {
        let mut stream = vec![b'A', b'd', b'a', 0, 1, 0];
        stream.extend(encode_ada(&[Rgb::new(1, 1, 1)]).unwrap());
        let results = Decoder::new(Direction::HostToDevice).feed(&stream);
        assert!(matches!(
            results[0],
            Err(DecodeError::AdaHeaderCheck { .. })
        ));
        assert_eq!(results[1], Ok(Item::Ada(vec![Rgb::new(1, 1, 1)])));
    }
    #[test]
    fn random_bytes_never_panic_and_every_frame_between_them_is_found() {
        // Fuzz-style: 3000 valid frames, each behind 0-80 random bytes, delivered in random chunks.
        // Whatever the garbage, the decoder must not panic and must find every real frame, in order.
        let mut rng = fastrand::Rng::with_seed(0x01ed_7060);
        for (direction, magic) in [
            (Direction::HostToDevice, *b"Adx"),
            (Direction::DeviceToHost, *b"Ady"),
        ] {
            let mut stream = Vec::new();
            let mut sent = Vec::new();
            for i in 0..3000u32 {
                stream.extend((0..rng.usize(0..80)).map(|_| rng.u8(..)));
                let seq = u8::try_from(i % 255 + 1).unwrap();
                let payload: Vec<u8> = (0..rng.usize(0..40)).map(|_| rng.u8(..)).collect();
                stream.extend(encode_ext(magic, seq, 0x10, &payload).unwrap());
                sent.push((seq, payload));
            }
            let mut decoder = Decoder::new(direction);
            let mut found = Vec::new();
            let mut rest = stream.as_slice();
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(rng.usize(1..=64).min(rest.len()));
                rest = tail;
                for item in decoder.feed(chunk).into_iter().flatten() {
                    if let Item::Ext(f) = item {
                        found.push((f.seq, f.payload));
                    }
                }
            }
            let mut want = sent.iter();
            let mut next = want.next();
            for f in &found {
                if Some(f) == next {
                    next = want.next();
                }
            }
            assert_eq!(
                next, None,
                "{direction:?}: a real frame was lost in the garbage"
            );
        }
    }
}
