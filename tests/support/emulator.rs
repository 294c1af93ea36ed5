//! A LED device emulator on a real pseudo-terminal, for the end-to-end tests (not part of the app).
//!
//! It plays the device side of protocol v1 behind a symlink path (like a udev name), so the
//! host opens it exactly like a USB serial port:
//! - it "boots" when the host opens the port (after `boot_delay`, as an Uno's bootloader would)
//!   and then says `Ada\n` (+ BOOT) and repeats `Ada\n` every second outside a session;
//! - [`Behaviour`] picks a ledtogo device, a stock Adalight board, a silent port, or a port
//!   that only sends garbage;
//! - [`Emulator::unplug`] closes the pty and removes the symlink, [`Emulator::replug`] makes a
//!   new pty at the same path, [`Emulator::reset`] reboots the device without closing the port.
//!
//! What the strip would show is recorded in [`EmulatorState`]; tests wait on it with
//! [`Emulator::wait_until`].

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::pty::Master;

use ledtogo::color::Rgb;
use ledtogo::outputs::serial::protocol::{
    ADY_MAGIC, Boot, ByeAction, CONFIG_BRIGHTNESS, CONFIG_LED_COUNT, CONFIG_POWER_LIMIT_MA,
    CONFIG_STALE_AFTER_S, Command, DecodeError, Decoder, Direction, FwVersion, HELLO_LINE, Info,
    Item, LinkState, MAX_PAYLOAD, ProtocolError, REPLY_FLAG, Reply, ReplyBody, Request, Stats,
    Status, encode_ext,
};

/// What kind of device sits behind the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Speaks protocol v1 like the ledtogo firmware.
    Ledtogo,
    /// A stock Adalight firmware: says `Ada\n`, takes Ada frames, ignores Adx.
    StockAdalight,
    /// Never sends a byte.
    Silent,
    /// Sends only random bytes (a GPS, a modem, a wrong baud rate).
    Garbage,
}

/// How the emulated device behaves.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    pub behaviour: Behaviour,
    pub led_count: u16,
    pub led_max: u16,
    pub device_id: u32,
    pub fw: FwVersion,
    /// Time from the host opening the port to the first `Ada\n` (the Uno bootloader).
    pub boot_delay: Duration,
    pub stale_after: Duration,
    /// Random bytes before every reply and between heartbeats (ledtogo only): the host must
    /// resynchronise.
    pub noise: bool,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            behaviour: Behaviour::Ledtogo,
            led_count: 16,
            led_max: 150,
            device_id: 0x1ED7_060A,
            fw: FwVersion {
                major: 1,
                minor: 0,
                patch: 0,
            },
            boot_delay: Duration::from_millis(200),
            stale_after: Duration::from_secs(5),
            noise: false,
        }
    }
}

/// What the emulated device saw and shows. A snapshot; see [`Emulator::state`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmulatorState {
    /// The host has the port open.
    pub open: bool,
    /// Times the host opened the port.
    pub opens: u64,
    /// Boots (opens and resets).
    pub boots: u64,
    /// A ledtogo session is live.
    pub session: bool,
    /// The watchdog fired (no valid frame for `stale_after`), or BYE(go stale) arrived.
    pub stale: bool,
    pub led_count: u16,
    /// What the strip shows.
    pub shown: Vec<Rgb>,
    /// Times the strip was updated (commit or Ada frame).
    pub shows: u64,
    /// Every frame shown, oldest first (at most the last 1000).
    pub history: Vec<Vec<Rgb>>,
    pub hellos: u64,
    pub pings: u64,
    pub set_pixels: u64,
    pub ada_frames: u64,
    pub byes: Vec<ByeAction>,
    pub identifies: Vec<u8>,
    /// Requests, CRC failures and header failures seen.
    pub requests: u64,
    pub crc_errors: u64,
    pub header_errors: u64,
    /// Bytes sent to the host that were deliberately garbage.
    pub noise_bytes: u64,
}

#[derive(Debug)]
enum Control {
    Unplug,
    Replug,
    Reset,
    Send(Vec<u8>),
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<EmulatorState>,
    cv: Condvar,
    control: Mutex<VecDeque<Control>>,
    stop: Mutex<bool>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, EmulatorState> {
        self.state.lock()
    }

    fn update(&self, f: impl FnOnce(&mut EmulatorState)) {
        f(&mut self.state());
        self.cv.notify_all();
    }
}

/// An emulated device behind a symlink to a pty. Dropping it unplugs it.
#[derive(Debug)]
pub struct Emulator {
    link: PathBuf,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Creates a new pty and points `link` at its slave side (atomically replacing the old link).
fn plug(link: &Path) -> io::Result<Master> {
    // The host opens the slave by path; the emulator only keeps the master.
    let (master, slave_path) = super::pty::open()?;
    let tmp = link.with_extension("new-link");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&slave_path, &tmp)?;
    std::fs::rename(&tmp, link)?;
    Ok(master)
}

impl Emulator {
    /// Creates the pty, points `link` at it and starts the device thread.
    pub fn start(link: impl Into<PathBuf>, options: EmulatorOptions) -> io::Result<Emulator> {
        let link = link.into();
        let master = plug(&link)?;
        let shared = Arc::new(Shared::default());
        shared.update(|s| {
            s.led_count = options.led_count;
            s.shown = vec![Rgb::OFF; usize::from(options.led_count)];
        });
        let mut device = EmulatedDevice::new(options, Arc::clone(&shared), link.clone(), master);
        let thread = std::thread::Builder::new()
            .name("led-emulator".into())
            .spawn(move || device.run())?;
        Ok(Emulator {
            link,
            shared,
            thread: Some(thread),
        })
    }

    /// The path the host should open.
    pub fn path(&self) -> &Path {
        &self.link
    }

    /// A snapshot of what the device saw and shows.
    pub fn state(&self) -> EmulatorState {
        self.shared.state().clone()
    }

    /// Waits until `pred` holds; returns the state then, or `None` after `timeout`.
    pub fn wait_until(
        &self,
        timeout: Duration,
        pred: impl Fn(&EmulatorState) -> bool,
    ) -> Option<EmulatorState> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state();
        self.shared
            .cv
            .wait_while_until(&mut state, |s| !pred(s), deadline);
        pred(&state).then(|| state.clone())
    }

    fn control(&self, c: Control) {
        self.shared.control.lock().push_back(c);
    }

    /// Pulls the cable: the pty closes (the host's reads fail) and the path disappears.
    pub fn unplug(&self) {
        self.control(Control::Unplug);
    }

    /// Plugs it back in: a new pty at the same path.
    pub fn replug(&self) {
        self.control(Control::Replug);
    }

    /// Resets the device without closing the port (brown-out, reset button).
    pub fn reset(&self) {
        self.control(Control::Reset);
    }

    /// Sends raw bytes to the host.
    pub fn send_raw(&self, bytes: Vec<u8>) {
        self.control(Control::Send(bytes));
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        *self.shared.stop.lock() = true;
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("the emulator thread panicked");
        }
        let _ = std::fs::remove_file(&self.link);
    }
}

struct EmulatedDevice {
    opt: EmulatorOptions,
    shared: Arc<Shared>,
    link: PathBuf,
    master: Option<Master>,
    decoder: Decoder,
    open: bool,
    boot_at: Option<Instant>,
    booted: bool,
    session: bool,
    last_valid: Instant,
    last_heartbeat: Instant,
    started: Instant,
    led_count: u16,
    staging: Vec<Rgb>,
    stats: Stats,
    rng: fastrand::Rng,
}

impl EmulatedDevice {
    fn new(opt: EmulatorOptions, shared: Arc<Shared>, link: PathBuf, master: Master) -> Self {
        let now = Instant::now();
        EmulatedDevice {
            led_count: opt.led_count,
            staging: vec![Rgb::OFF; usize::from(opt.led_count)],
            opt,
            shared,
            link,
            master: Some(master),
            decoder: Decoder::with_max_payload(Direction::HostToDevice, MAX_PAYLOAD as u8),
            open: false,
            boot_at: None,
            booted: false,
            session: false,
            last_valid: now,
            last_heartbeat: now,
            started: now,
            stats: Stats::default(),
            rng: fastrand::Rng::with_seed(0x1ED),
        }
    }

    fn run(&mut self) {
        let mut buf = [0u8; 512];
        loop {
            if *self.shared.stop.lock() {
                return;
            }
            let controls: Vec<Control> = self.shared.control.lock().drain(..).collect();
            for c in controls {
                self.handle_control(c);
            }
            let Some(master) = self.master.as_mut() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            match master.read(&mut buf) {
                Ok(n) => {
                    self.opened();
                    if self.booted {
                        self.receive(&buf[..n]);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => self.opened(),
                Err(_) => {
                    // No process has the slave open (POLLHUP/EIO on the master).
                    self.closed();
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            self.timers();
        }
    }

    fn handle_control(&mut self, c: Control) {
        match c {
            Control::Unplug => {
                self.master = None;
                let _ = std::fs::remove_file(&self.link);
                self.closed();
                // No power without the cable.
                self.power_on();
                self.boot_at = None;
            }
            Control::Replug => match plug(&self.link) {
                Ok(master) => self.master = Some(master),
                Err(e) => tracing::error!(error = %e, "emulator cannot create a new pty"),
            },
            Control::Reset => {
                self.power_on();
                self.boot_at = Some(Instant::now() + self.opt.boot_delay);
            }
            Control::Send(bytes) => self.send(&bytes),
        }
    }

    fn opened(&mut self) {
        if !self.open {
            self.open = true;
            self.power_on();
            self.boot_at = Some(Instant::now() + self.opt.boot_delay);
            self.shared.update(|s| {
                s.open = true;
                s.opens += 1;
            });
        }
    }

    /// The host closed the port. Like a real board the device keeps running (its watchdog
    /// included); only the next open resets it.
    fn closed(&mut self) {
        if self.open {
            self.open = false;
            self.decoder.reset();
            self.shared.update(|s| s.open = false);
        }
    }

    /// The MCU restarts: LEDs dark, no session, parser empty.
    fn power_on(&mut self) {
        self.booted = false;
        self.session = false;
        self.decoder.reset();
        self.led_count = self.opt.led_count;
        self.staging = vec![Rgb::OFF; usize::from(self.led_count)];
        let leds = self.led_count;
        self.shared.update(|s| {
            s.session = false;
            s.stale = false;
            s.led_count = leds;
            s.shown = vec![Rgb::OFF; usize::from(leds)];
        });
    }

    fn timers(&mut self) {
        let now = Instant::now();
        if let Some(at) = self.boot_at
            && now >= at
        {
            self.boot_at = None;
            self.booted = true;
            self.started = now;
            self.last_valid = now;
            self.shared.update(|s| s.boots += 1);
            match self.opt.behaviour {
                Behaviour::Ledtogo => {
                    self.heartbeat();
                    let boot = Boot {
                        reset_cause: 0x02,
                        proto: 1,
                        fw: self.opt.fw,
                    };
                    if let Ok(bytes) = boot.encode() {
                        self.send(&bytes);
                    }
                }
                Behaviour::StockAdalight => self.heartbeat(),
                Behaviour::Silent | Behaviour::Garbage => {}
            }
        }
        if !self.booted {
            return;
        }
        match self.opt.behaviour {
            Behaviour::Ledtogo | Behaviour::StockAdalight => {
                if self.opt.behaviour == Behaviour::Ledtogo
                    && self.session
                    && now.duration_since(self.last_valid) >= self.opt.stale_after
                {
                    self.session = false;
                    self.shared.update(|s| {
                        s.session = false;
                        s.stale = true;
                    });
                }
                if !self.session
                    && now.duration_since(self.last_heartbeat) >= Duration::from_secs(1)
                {
                    self.heartbeat();
                }
            }
            Behaviour::Garbage => {
                if now.duration_since(self.last_heartbeat) >= Duration::from_millis(50) {
                    self.last_heartbeat = now;
                    self.noise(32);
                }
            }
            Behaviour::Silent => {}
        }
    }

    fn heartbeat(&mut self) {
        self.last_heartbeat = Instant::now();
        if self.opt.noise {
            self.noise(8);
        }
        self.send(&HELLO_LINE);
    }

    fn noise(&mut self, max: usize) {
        let n = self.rng.usize(1..=max);
        let bytes: Vec<u8> = (0..n).map(|_| self.rng.u8(..)).collect();
        self.shared.update(|s| s.noise_bytes += n as u64);
        self.send(&bytes);
    }

    fn send(&mut self, bytes: &[u8]) {
        if !self.open {
            return;
        }
        if let Some(master) = self.master.as_mut() {
            // A host that closed the port cannot hear us; that is fine.
            let _ = master.write_all(bytes);
        }
    }

    fn receive(&mut self, bytes: &[u8]) {
        let mut out = Vec::new();
        for &b in bytes {
            self.decoder.push(b, &mut out);
        }
        for result in out {
            match (self.opt.behaviour, result) {
                (Behaviour::Silent | Behaviour::Garbage, _) => {}
                (_, Ok(Item::Ada(leds))) => self.ada_frame(&leds),
                (Behaviour::StockAdalight, _) => {}
                (_, Ok(Item::Ext(frame))) => self.request(frame.seq, frame.cmd, &frame.payload),
                (_, Ok(Item::HelloLine)) => {}
                (_, Err(DecodeError::Crc { seq, cmd, .. })) => {
                    self.stats.crc_err += 1;
                    self.shared.update(|s| s.crc_errors += 1);
                    self.reply_status(seq, cmd, Status::CrcError);
                }
                (_, Err(DecodeError::TooLong { seq, cmd, .. })) => {
                    self.stats.len_err += 1;
                    self.reply_status(seq, cmd, Status::BadLength);
                }
                (_, Err(_)) => {
                    self.stats.hdr_err += 1;
                    self.shared.update(|s| s.header_errors += 1);
                }
            }
        }
    }

    fn valid_frame(&mut self) {
        self.last_valid = Instant::now();
        self.stats.rx_ok = self.stats.rx_ok.wrapping_add(1);
        self.shared.update(|s| s.stale = false);
    }

    fn show(&mut self, leds: Vec<Rgb>) {
        self.shared.update(|s| {
            s.shows += 1;
            s.history.push(leds.clone());
            if s.history.len() > 1000 {
                s.history.remove(0);
            }
            s.shown = leds;
        });
    }

    fn ada_frame(&mut self, leds: &[Rgb]) {
        self.valid_frame();
        let mut shown: Vec<Rgb> = leds.iter().copied().take(self.staging.len()).collect();
        shown.resize(self.staging.len(), Rgb::OFF);
        self.staging = shown.clone();
        self.shared.update(|s| s.ada_frames += 1);
        self.show(shown);
    }

    fn reply_status(&mut self, seq: u8, cmd: u8, status: Status) {
        if let Ok(bytes) = encode_ext(ADY_MAGIC, seq, cmd | REPLY_FLAG, &[status.code()]) {
            self.send(&bytes);
        }
    }

    fn reply(&mut self, seq: u8, command: Command, body: ReplyBody) {
        let reply = Reply {
            seq,
            cmd: command.code(),
            status: Status::Ok,
            body,
        };
        if let Ok(bytes) = reply.encode() {
            if self.opt.noise {
                self.noise(12);
            }
            self.send(&bytes);
        }
    }

    fn request(&mut self, seq: u8, cmd: u8, payload: &[u8]) {
        self.valid_frame();
        self.shared.update(|s| s.requests += 1);
        let request = match Request::decode(cmd, payload) {
            Ok(r) => r,
            Err(ProtocolError::UnknownCommand(_)) => {
                return self.reply_status(seq, cmd, Status::UnknownCmd);
            }
            Err(ProtocolError::PayloadLength { .. }) => {
                return self.reply_status(seq, cmd, Status::BadLength);
            }
            Err(_) => return self.reply_status(seq, cmd, Status::BadArg),
        };
        let command = request.command();
        let count = usize::from(self.led_count);
        match request {
            Request::Hello { .. } => {
                self.session = true;
                self.shared.update(|s| {
                    s.session = true;
                    s.hellos += 1;
                });
                let info = self.info();
                self.reply(seq, command, ReplyBody::Info(info));
            }
            Request::Ping => {
                self.shared.update(|s| s.pings += 1);
                let state = if self.session {
                    LinkState::Live
                } else {
                    LinkState::Stale
                };
                let uptime_ms = self.started.elapsed().as_millis() as u32;
                self.reply(seq, command, ReplyBody::Ping { uptime_ms, state });
            }
            Request::Bye { action } => {
                self.session = false;
                self.shared.update(|s| {
                    s.session = false;
                    s.byes.push(action);
                    s.stale = action == ByeAction::GoStale;
                });
                if action == ByeAction::Blank {
                    self.show(vec![Rgb::OFF; count]);
                }
                self.reply(seq, command, ReplyBody::Empty);
            }
            Request::SetPixels {
                start,
                commit,
                leds,
            } => {
                let start = usize::from(start);
                if start + leds.len() > count {
                    return self.reply_status(seq, cmd, Status::BadArg);
                }
                self.staging[start..start + leds.len()].copy_from_slice(&leds);
                self.shared.update(|s| s.set_pixels += 1);
                if commit {
                    self.show(self.staging.clone());
                }
                self.reply(seq, command, ReplyBody::Empty);
            }
            Request::Fill {
                start,
                count: n,
                rgb,
                commit,
            } => {
                let (start, n) = (usize::from(start), usize::from(n));
                if start + n > count {
                    return self.reply_status(seq, cmd, Status::BadArg);
                }
                self.staging[start..start + n].fill(rgb);
                if commit {
                    self.show(self.staging.clone());
                }
                self.reply(seq, command, ReplyBody::Empty);
            }
            Request::Commit => {
                self.show(self.staging.clone());
                self.reply(seq, command, ReplyBody::Empty);
            }
            Request::SetConfig { key, value } => {
                let applied = match key {
                    CONFIG_LED_COUNT => {
                        let n = value.clamp(1, u32::from(self.opt.led_max)) as u16;
                        self.led_count = n;
                        self.staging.resize(usize::from(n), Rgb::OFF);
                        self.shared.update(|s| {
                            s.led_count = n;
                            s.shown.resize(usize::from(n), Rgb::OFF);
                        });
                        u32::from(n)
                    }
                    CONFIG_BRIGHTNESS => value.min(255),
                    CONFIG_POWER_LIMIT_MA => value.min(2000),
                    CONFIG_STALE_AFTER_S => {
                        let s = value.clamp(1, 10);
                        self.opt.stale_after = Duration::from_secs(u64::from(s));
                        s
                    }
                    _ => return self.reply_status(seq, cmd, Status::BadArg),
                };
                self.reply(
                    seq,
                    command,
                    ReplyBody::Config {
                        key,
                        value: applied,
                    },
                );
            }
            Request::SaveConfig => self.reply(seq, command, ReplyBody::Empty),
            Request::Identify { seconds } => {
                self.shared.update(|s| s.identifies.push(seconds));
                self.reply(seq, command, ReplyBody::Empty);
            }
            Request::GetStats => self.reply(seq, command, ReplyBody::Stats(self.stats)),
        }
    }

    fn info(&self) -> Info {
        Info {
            proto: 1,
            fw: self.opt.fw,
            device_id: self.opt.device_id,
            led_count: self.led_count,
            led_max: self.opt.led_max,
            max_payload: MAX_PAYLOAD as u8,
            capabilities: 0x000F,
            colour_order: 2,
            reset_cause: 0x02,
            brightness: 255,
            power_limit_ma: 450,
            stale_after_s: self.opt.stale_after.as_secs() as u16,
            show_us: 30 * self.led_count + 300,
        }
    }
}
