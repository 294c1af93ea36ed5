//! WLED-like receivers for the end-to-end tests (not part of the app), each on a real loopback socket or
//! pseudo-terminal:
//! - [`DdpReceiver`]: a UDP socket that decodes DDP packets on its own (header per the 3waylabs spec,
//!   as WLED's `handleDDPPacket` reads it) and shows a frame when the push packet arrives;
//! - [`WledHttp`]: WLED's JSON API, `GET /json/info`, answering whatever body it is given;
//! - [`WledUsb`]: WLED's serial handler on a pty: Adalight frames (`Ada`, count hi/lo, checksum, RGB…),
//!   and `WLED <build>\r\n` in answer to `v`; never `Ada\n`, never a reply to anything else.

use std::io::{Read as _, Write as _};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ledtogo::color::Rgb;

/// One DDP packet as received, decoded from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub flags: u8,
    pub sequence: u8,
    pub data_type: u8,
    pub destination: u8,
    pub offset: u32,
    pub data: Vec<u8>,
    pub at: Instant,
}

impl Packet {
    pub fn push(&self) -> bool {
        self.flags & 0x01 != 0
    }

    fn decode(bytes: &[u8], at: Instant) -> Result<Packet, String> {
        if bytes.len() < 10 {
            return Err(format!("{} bytes: shorter than a DDP header", bytes.len()));
        }
        let length = usize::from(u16::from_be_bytes([bytes[8], bytes[9]]));
        if bytes.len() != 10 + length {
            return Err(format!(
                "header says {length} data bytes, the packet has {}",
                bytes.len() - 10
            ));
        }
        Ok(Packet {
            flags: bytes[0],
            sequence: bytes[1],
            data_type: bytes[2],
            destination: bytes[3],
            offset: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            data: bytes[10..].to_vec(),
            at,
        })
    }
}

#[derive(Debug, Default)]
struct Seen {
    packets: Vec<Packet>,
    /// The pixels as pushed, one entry per push.
    frames: Vec<(Instant, Vec<Rgb>)>,
    staging: Vec<u8>,
    errors: Vec<String>,
}

/// A DDP receiver on a loopback UDP port.
pub struct DdpReceiver {
    pub port: u16,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl DdpReceiver {
    /// Listens on `ip:port` (port 0: any free one).
    pub fn start(ip: &str, port: u16) -> DdpReceiver {
        let socket = UdpSocket::bind((ip, port)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, halt) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            while !halt.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((n, _)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let at = Instant::now();
                let mut seen = s.lock().unwrap();
                match Packet::decode(&buf[..n], at) {
                    Ok(p) => {
                        let end = p.offset as usize + p.data.len();
                        if seen.staging.len() < end {
                            seen.staging.resize(end, 0);
                        }
                        seen.staging[p.offset as usize..end].copy_from_slice(&p.data);
                        if p.push() {
                            let pixels = seen
                                .staging
                                .chunks(3)
                                .map(|c| Rgb::new(c[0], c[1], *c.get(2).unwrap_or(&0)))
                                .collect();
                            seen.frames.push((at, pixels));
                        }
                        seen.packets.push(p);
                    }
                    Err(e) => seen.errors.push(e),
                }
            }
        });
        DdpReceiver { port, seen, stop }
    }

    pub fn packets(&self) -> Vec<Packet> {
        self.seen.lock().unwrap().packets.clone()
    }

    /// Every pushed frame, with when its push arrived.
    pub fn frames(&self) -> Vec<(Instant, Vec<Rgb>)> {
        self.seen.lock().unwrap().frames.clone()
    }

    /// Packets that were not DDP.
    pub fn errors(&self) -> Vec<String> {
        self.seen.lock().unwrap().errors.clone()
    }

    /// Waits up to `limit` for a pushed frame that starts with `want`.
    pub fn wait_for(&self, limit: Duration, want: &[Rgb]) -> bool {
        super::wait_until(limit, || {
            self.frames()
                .iter()
                .any(|(_, f)| f.len() >= want.len() && f[..want.len()] == *want)
        })
    }
}

impl Drop for DdpReceiver {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What [`WledHttp`] answers to `GET /json/info`.
#[derive(Debug, Clone)]
pub struct InfoAnswer {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl InfoAnswer {
    /// What a WLED 0.15.0 board named `name` with `leds` LEDs answers (trimmed).
    pub fn wled(name: &str, leds: usize) -> InfoAnswer {
        let body = format!(
            r#"{{"ver":"0.15.0","vid":2412100,"leds":{{"count":{leds},"pwr":0,"fps":0,"maxseg":32}},"str":false,"name":"{name}","udpport":21324,"live":false,"arch":"esp32"}}"#
        );
        InfoAnswer {
            content_type: "application/json",
            body: body.into_bytes(),
        }
    }
}

/// WLED's JSON API on loopback: answers `/json/info` with the answer it holds now, 404 otherwise.
pub struct WledHttp {
    pub port: u16,
    pub answer: Arc<Mutex<InfoAnswer>>,
    pub requests: Arc<Mutex<Vec<String>>>,
    server: Arc<tiny_http::Server>,
}

impl WledHttp {
    pub fn start(ip: &str, answer: InfoAnswer) -> WledHttp {
        let server = Arc::new(tiny_http::Server::http((ip, 0)).unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let answer = Arc::new(Mutex::new(answer));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (s, a, r) = (server.clone(), answer.clone(), requests.clone());
        std::thread::spawn(move || {
            for req in s.incoming_requests() {
                r.lock().unwrap().push(req.url().to_owned());
                if req.url() != "/json/info" {
                    req.respond(tiny_http::Response::empty(404)).ok();
                    continue;
                }
                let answer = a.lock().unwrap().clone();
                let ct =
                    tiny_http::Header::from_bytes("Content-Type", answer.content_type).unwrap();
                req.respond(tiny_http::Response::from_data(answer.body).with_header(ct))
                    .ok();
            }
        });
        WledHttp {
            port,
            answer,
            requests,
            server,
        }
    }
}

impl Drop for WledHttp {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// WLED's Adalight state machine, as `handleSerial` in WLED's `wled_serial.cpp` runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ada {
    A,
    D,
    SmallA,
    CountHi,
    CountLo { hi: u8 },
    Check { hi: u8, lo: u8 },
    Data,
}

/// A WLED board on USB: a pty whose slave path the host opens as `port = "/dev/pts/N"`.
pub struct WledUsb {
    pub path: PathBuf,
    frames: Arc<Mutex<Vec<Vec<Rgb>>>>,
    versions_asked: Arc<Mutex<u64>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl WledUsb {
    pub fn start() -> WledUsb {
        let (mut master, path) = super::pty::open().unwrap();
        let frames = Arc::new(Mutex::new(Vec::new()));
        let versions_asked = Arc::new(Mutex::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (f, v, halt) = (frames.clone(), versions_asked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut state = Ada::A;
            let mut count = 0usize;
            let mut pixels: Vec<u8> = Vec::new();
            let mut buf = [0u8; 1024];
            while !halt.load(std::sync::atomic::Ordering::Relaxed) {
                let n = match master.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                    Err(_) => {
                        // Nobody has the slave open yet (or any more).
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                for &b in &buf[..n] {
                    state = match state {
                        Ada::A if b == b'A' => Ada::D,
                        Ada::A if b == b'v' => {
                            *v.lock().unwrap() += 1;
                            master.write_all(b"WLED 2412100\r\n").ok();
                            Ada::A
                        }
                        Ada::A => Ada::A,
                        Ada::D if b == b'd' => Ada::SmallA,
                        Ada::SmallA if b == b'a' => Ada::CountHi,
                        Ada::D | Ada::SmallA => Ada::A,
                        Ada::CountHi => Ada::CountLo { hi: b },
                        Ada::CountLo { hi } => Ada::Check { hi, lo: b },
                        Ada::Check { hi, lo } if b == hi ^ lo ^ 0x55 => {
                            count = usize::from(u16::from_be_bytes([hi, lo])) + 1;
                            pixels.clear();
                            Ada::Data
                        }
                        Ada::Check { .. } => Ada::A,
                        Ada::Data => {
                            pixels.push(b);
                            if pixels.len() == 3 * count {
                                let frame = pixels
                                    .chunks(3)
                                    .map(|c| Rgb::new(c[0], c[1], c[2]))
                                    .collect();
                                f.lock().unwrap().push(frame);
                                Ada::A
                            } else {
                                Ada::Data
                            }
                        }
                    };
                }
            }
        });
        WledUsb {
            path,
            frames,
            versions_asked,
            stop,
        }
    }

    /// Every Adalight frame shown, oldest first.
    pub fn frames(&self) -> Vec<Vec<Rgb>> {
        self.frames.lock().unwrap().clone()
    }

    /// How often the host asked `v`.
    pub fn versions_asked(&self) -> u64 {
        *self.versions_asked.lock().unwrap()
    }
}

impl Drop for WledUsb {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
