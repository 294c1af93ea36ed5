//! The shared golden vectors (`firmware/protocol/golden-vectors.txt`, owned by the firmware):
//! for every vector the Rust codec must produce exactly its bytes from its meaning (encode) and
//! find exactly its meaning in its bytes (decode). The firmware's C++ tests read the same file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use ledtogo::color::Rgb;
use ledtogo::outputs::serial::protocol::{
    ADX_MAGIC, Boot, ByeAction, Command, DecodeError, Decoder, DeviceMessage, Direction, FwVersion,
    HELLO_LINE, Info, Item, LinkState, MAX_PAYLOAD, ProtocolError, Reply, ReplyBody, Request,
    Stats, Status, encode_ada, encode_ext,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    H2d,
    D2h,
}

#[derive(Debug)]
struct Vector {
    line: usize,
    name: String,
    dir: Dir,
    bytes: Vec<u8>,
    kind: String,
    fields: BTreeMap<String, String>,
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2)
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!(
            "HEX {s:?} is not lowercase hex with an even length"
        ));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

/// Parses the vector file format of the protocol contract. Errors name the line.
fn parse_vectors(text: &str) -> Result<Vec<Vector>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim_end();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = trimmed.split(' ').collect();
        if parts.len() < 4 {
            return Err(format!(
                "line {line}: expected NAME DIR HEX KIND, got {trimmed:?}"
            ));
        }
        let dir = match parts[1] {
            "h2d" => Dir::H2d,
            "d2h" => Dir::D2h,
            other => return Err(format!("line {line}: DIR {other:?} is neither h2d nor d2h")),
        };
        let bytes = parse_hex(parts[2]).map_err(|e| format!("line {line}: {e}"))?;
        let mut fields = BTreeMap::new();
        for kv in &parts[4..] {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("line {line}: field {kv:?} is not key=value"))?;
            if fields.insert(k.to_owned(), v.to_owned()).is_some() {
                return Err(format!("line {line}: key {k:?} appears twice"));
            }
        }
        out.push(Vector {
            line,
            name: parts[0].to_owned(),
            dir,
            bytes,
            kind: parts[3].to_owned(),
            fields,
        });
    }
    Ok(out)
}

/// Takes fields out of a vector so that unknown leftovers can be reported.
struct Fields<'a> {
    v: &'a Vector,
    left: BTreeMap<String, String>,
}

impl<'a> Fields<'a> {
    fn new(v: &'a Vector) -> Self {
        Fields {
            v,
            left: v.fields.clone(),
        }
    }

    fn str(&mut self, key: &str) -> String {
        self.left
            .remove(key)
            .unwrap_or_else(|| panic!("line {} ({}): missing key {key}", self.v.line, self.v.name))
    }

    fn opt(&mut self, key: &str) -> Option<String> {
        self.left.remove(key)
    }

    fn num(&mut self, key: &str) -> u32 {
        let s = self.str(key);
        parse_num(&s).unwrap_or_else(|| panic!("line {}: {key}={s} is not a number", self.v.line))
    }

    fn u8(&mut self, key: &str) -> u8 {
        u8::try_from(self.num(key)).expect("fits u8")
    }

    fn u16(&mut self, key: &str) -> u16 {
        u16::try_from(self.num(key)).expect("fits u16")
    }

    fn hex32(&mut self, key: &str) -> u32 {
        let s = self.str(key);
        u32::from_str_radix(&s, 16)
            .unwrap_or_else(|_| panic!("line {}: {key}={s} is not hex", self.v.line))
    }

    fn flag(&mut self, key: &str) -> bool {
        match self.num(key) {
            0 => false,
            1 => true,
            n => panic!("line {}: {key}={n} is not 0 or 1", self.v.line),
        }
    }

    fn fw(&mut self) -> FwVersion {
        let s = self.str("fw");
        let p: Vec<u8> = s.split('.').map(|x| x.parse().unwrap()).collect();
        assert_eq!(p.len(), 3, "line {}: fw={s}", self.v.line);
        FwVersion {
            major: p[0],
            minor: p[1],
            patch: p[2],
        }
    }

    fn leds(&mut self, key: &str) -> Vec<Rgb> {
        self.str(key).split(',').map(rgb).collect()
    }

    /// The command: a v1 name, or `0xHH` for an opcode v1 does not define.
    fn cmd(&mut self) -> u8 {
        let s = self.str("cmd");
        match s.strip_prefix("0x") {
            Some(h) => u8::from_str_radix(h, 16).unwrap(),
            None => Command::from_name(&s)
                .unwrap_or_else(|| panic!("line {}: unknown cmd name {s}", self.v.line))
                .code(),
        }
    }

    fn done(self) {
        assert!(
            self.left.is_empty(),
            "line {} ({}): keys not understood: {:?}",
            self.v.line,
            self.v.name,
            self.left
        );
    }
}

fn parse_num(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn rgb(s: &str) -> Rgb {
    let b = parse_hex(s).unwrap();
    assert_eq!(b.len(), 3, "colour {s}");
    Rgb::new(b[0], b[1], b[2])
}

fn request(f: &mut Fields, cmd: u8) -> Option<Request> {
    Some(match Command::from_code(cmd)? {
        Command::Hello => Request::Hello {
            proto_max: f.u8("proto_max"),
            flags: f.u8("flags"),
        },
        Command::Ping => Request::Ping,
        Command::Bye => Request::Bye {
            action: ByeAction::from_code(f.u8("action")).expect("known action"),
        },
        Command::SetPixels => Request::SetPixels {
            start: f.u16("start"),
            commit: f.flag("commit"),
            leds: f.leds("leds"),
        },
        Command::Fill => Request::Fill {
            start: f.u16("start"),
            count: f.u16("count"),
            rgb: rgb(&f.str("rgb")),
            commit: f.flag("commit"),
        },
        Command::Commit => Request::Commit,
        Command::SetConfig => Request::SetConfig {
            key: f.u8("key"),
            value: f.num("value"),
        },
        Command::SaveConfig => Request::SaveConfig,
        Command::Identify => Request::Identify {
            seconds: f.u8("seconds"),
        },
        Command::GetStats => Request::GetStats,
        Command::Boot => panic!("boot is not a request"),
    })
}

fn reply(f: &mut Fields, seq: u8, cmd: u8) -> Reply {
    let status_name = f.str("status");
    let status = Status::from_name(&status_name)
        .unwrap_or_else(|| panic!("line {}: unknown status {status_name}", f.v.line));
    let body = match (status, Command::from_code(cmd)) {
        (Status::Ok, Some(Command::Hello)) => ReplyBody::Info(Info {
            proto: f.u8("proto"),
            fw: f.fw(),
            device_id: f.hex32("id"),
            led_count: f.u16("leds"),
            led_max: f.u16("max"),
            max_payload: f.u8("max_payload"),
            capabilities: f.u16("caps"),
            colour_order: f.u8("order"),
            reset_cause: f.u8("reset"),
            brightness: f.u8("brightness"),
            power_limit_ma: f.u16("power_ma"),
            stale_after_s: f.u16("stale_s"),
            show_us: f.u16("show_us"),
        }),
        (Status::Ok, Some(Command::Ping)) => ReplyBody::Ping {
            uptime_ms: f.num("uptime_ms"),
            state: LinkState::from_code(f.u8("state")),
        },
        (Status::Ok, Some(Command::SetConfig)) => ReplyBody::Config {
            key: f.u8("key"),
            value: f.num("value"),
        },
        (Status::Ok, Some(Command::GetStats)) => ReplyBody::Stats(Stats {
            rx_ok: f.u16("rx_ok"),
            crc_err: f.u16("crc_err"),
            hdr_err: f.u16("hdr_err"),
            len_err: f.u16("len_err"),
            stale_events: f.u16("stale_events"),
        }),
        _ => ReplyBody::Empty,
    };
    Reply {
        seq,
        cmd,
        status,
        body,
    }
}

/// Checks one vector both ways; returns a description of what was checked.
fn check(v: &Vector) {
    let ctx = format!("line {} ({})", v.line, v.name);
    let mut f = Fields::new(v);
    match (v.kind.as_str(), v.dir) {
        ("hello_line", Dir::D2h) => {
            assert_eq!(v.bytes, HELLO_LINE, "{ctx}: encode");
            let items = Decoder::new(Direction::DeviceToHost).feed(&v.bytes);
            assert_eq!(items, vec![Ok(Item::HelloLine)], "{ctx}: decode");
        }
        ("ada", Dir::H2d) => {
            let leds = f.leds("leds");
            assert_eq!(encode_ada(&leds).unwrap(), v.bytes, "{ctx}: encode");
            let items = Decoder::new(Direction::HostToDevice).feed(&v.bytes);
            assert_eq!(items, vec![Ok(Item::Ada(leds))], "{ctx}: decode");
        }
        ("adx", Dir::H2d) => {
            let seq = f.u8("seq");
            let cmd = f.cmd();
            let req = request(&mut f, cmd);
            let encoded = match &req {
                Some(r) => r.encode(seq).unwrap(),
                None => encode_ext(ADX_MAGIC, seq, cmd, &[]).unwrap(),
            };
            assert_eq!(encoded, v.bytes, "{ctx}: encode");
            let items = Decoder::with_max_payload(Direction::HostToDevice, MAX_PAYLOAD as u8)
                .feed(&v.bytes);
            let [Ok(Item::Ext(frame))] = items.as_slice() else {
                panic!("{ctx}: decoded to {items:?}");
            };
            assert_eq!((frame.seq, frame.cmd), (seq, cmd), "{ctx}: decode header");
            match req {
                Some(r) => assert_eq!(Request::decode(frame.cmd, &frame.payload), Ok(r), "{ctx}"),
                None => assert_eq!(
                    Request::decode(frame.cmd, &frame.payload),
                    Err(ProtocolError::UnknownCommand(cmd)),
                    "{ctx}"
                ),
            }
        }
        ("ady", Dir::D2h) => {
            let seq = f.u8("seq");
            let cmd = f.cmd();
            let (encoded, meaning) = if cmd == Command::Boot.code() {
                assert_eq!(seq, 0, "{ctx}: events have seq 0");
                if let Some(s) = f.opt("status") {
                    assert_eq!(s, "ok", "{ctx}: BOOT status");
                }
                let boot = Boot {
                    reset_cause: f.u8("reset"),
                    proto: f.u8("proto"),
                    fw: f.fw(),
                };
                (boot.encode().unwrap(), DeviceMessage::Boot(boot))
            } else {
                let r = reply(&mut f, seq, cmd);
                (r.encode().unwrap(), DeviceMessage::Reply(r))
            };
            assert_eq!(encoded, v.bytes, "{ctx}: encode");
            let items = Decoder::new(Direction::DeviceToHost).feed(&v.bytes);
            let [Ok(item)] = items.as_slice() else {
                panic!("{ctx}: decoded to {items:?}");
            };
            assert_eq!(
                DeviceMessage::from_item(item.clone()),
                Ok(meaning),
                "{ctx}: decode"
            );
        }
        ("invalid", Dir::H2d) => {
            let reason = f.str("reason");
            let results = Decoder::with_max_payload(Direction::HostToDevice, MAX_PAYLOAD as u8)
                .feed(&v.bytes);
            assert!(
                results.iter().all(|r| r.is_err()),
                "{ctx}: a parser accepted invalid bytes: {results:?}"
            );
            let matches_reason = |e: &DecodeError| match reason.as_str() {
                "crc" => matches!(e, DecodeError::Crc { .. }),
                "header" => matches!(
                    e,
                    DecodeError::HeaderCheck { .. } | DecodeError::AdaHeaderCheck { .. }
                ),
                "length" => matches!(e, DecodeError::TooLong { .. }),
                other => panic!("{ctx}: unknown reason {other}"),
            };
            assert!(
                results
                    .iter()
                    .any(|r| r.as_ref().is_err_and(matches_reason)),
                "{ctx}: expected a {reason} error, got {results:?}"
            );
        }
        (kind, dir) => panic!("{ctx}: unknown KIND {kind} for {dir:?}"),
    }
    f.done();
}

fn check_all(vectors: &[Vector]) {
    for (i, v) in vectors.iter().enumerate() {
        check(v);
        if let Some(base) = v.name.strip_suffix("_reply") {
            let prev = i
                .checked_sub(1)
                .map(|p| &vectors[p])
                .unwrap_or_else(|| panic!("line {}: a reply needs a request before it", v.line));
            assert_eq!(
                prev.name, base,
                "line {}: reply follows {}",
                v.line, prev.name
            );
            assert_eq!((prev.dir, v.dir), (Dir::H2d, Dir::D2h), "line {}", v.line);
        }
    }
}

#[test]
fn golden_vectors_encode_and_decode_both_ways() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/protocol/golden-vectors.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the golden vectors {}: {e}", path.display()));
    let vectors = parse_vectors(&text).unwrap();
    for kind in ["hello_line", "ada", "adx", "ady", "invalid"] {
        assert!(
            vectors.iter().any(|v| v.kind == kind),
            "no vector of kind {kind} in {}",
            path.display()
        );
    }
    check_all(&vectors);
}

#[test]
fn vector_parser_reads_the_contract_format() {
    let text = "# comment\n\nping h2d 416478020200555b09 adx seq=2 cmd=ping\n\
                ping_reply d2h 416479028206d3000000051400d2e1 ady seq=2 cmd=ping status=ok uptime_ms=1300 state=0\n";
    let vectors = parse_vectors(text).unwrap();
    assert_eq!(vectors.len(), 2);
    assert_eq!(vectors[0].line, 3);
    assert_eq!(vectors[1].fields["uptime_ms"], "1300");
    check_all(&vectors);
}

#[test]
fn vector_parser_names_the_bad_line() {
    let err = parse_vectors("ok h2d 41 ada leds=000000\nbad x2y 00 ada\n").unwrap_err();
    assert_eq!(err, "line 2: DIR \"x2y\" is neither h2d nor d2h");
    let err = parse_vectors("odd h2d 4 ada\n").unwrap_err();
    assert!(err.starts_with("line 1: HEX"), "{err}");
}

#[test]
#[should_panic(expected = "keys not understood")]
fn a_vector_key_the_codec_ignores_is_an_error() {
    let v = parse_vectors("ping h2d 416478020200555b09 adx seq=2 cmd=ping extra=1\n").unwrap();
    check_all(&v);
}
