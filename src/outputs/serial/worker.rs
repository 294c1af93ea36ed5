//! The device worker: one thread owns the serial port, keeps the strip showing the latest frame
//! and reconnects with backoff when anything goes wrong. [`Device`] is its handle.
//!
//! Per connection: open (resets an Uno) → wait for `Ada\n`/BOOT → HELLO → set the LED count →
//! full frame → then only changes, plus PING every second while idle. A stock Adalight board gets
//! Ada frames, re-sent every second; so does a WLED board on a configured port (it answers neither
//! `Ada\n` nor HELLO, but `v` with its build number). Unplug, reset, silence and garbage end the connection; the
//! worker reports it through `on_status`, backs off (250 ms doubling to 5 s) and starts over, and
//! re-sends the whole frame once connected again.
//!
//! A configured path is always tried. `port = "auto"` lists the ports each round and probes only
//! what [`discovery::plan_probes`] picks: never a port another process holds, a port that is not a
//! LED device once per plug-in, the last ledtogo device (remembered in the state folder) first.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::discovery::{self, AutoDiscovery, PortReport, ProbeMemory};
use super::link::{Handshake, Link, LinkError, READ_SLICE};
use super::protocol::{
    ByeAction, CONFIG_LED_COUNT, Info, LinkState, MAX_PIXELS_PER_CHUNK, ReplyBody, Request,
};

use crate::backoff::Backoff;
use crate::color::Rgb;
use crate::config::{PortChoice, StripConfig};
use crate::outputs::mailbox::Mailbox;
use crate::outputs::status::{DeviceStatus, Search, Tried};

/// Default link speed of the firmware.
pub const DEFAULT_BAUD: u32 = 115_200;
/// Interval of PING (ledtogo) or frame re-send (legacy) while nothing changes.
pub const KEEPALIVE: Duration = Duration::from_secs(1);
/// Reconnect delays: from 250 ms, doubling after each failed attempt, up to 5 s.
pub const RECONNECT: Backoff = Backoff {
    first: Duration::from_millis(250),
    max: Duration::from_secs(5),
    jitter: 0.0,
};

/// How to reach the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSettings {
    pub port: PortChoice,
    pub baud: u32,
    /// Number of LEDs on the strip (frames are this long). 0 keeps the device's own count.
    pub leds: usize,
}

impl From<&StripConfig> for DeviceSettings {
    /// What the serial worker needs from `[strip]`.
    fn from(strip: &StripConfig) -> Self {
        DeviceSettings {
            port: strip.port.clone(),
            baud: strip.baud,
            leds: strip.leds,
        }
    }
}

impl Default for DeviceSettings {
    fn default() -> Self {
        DeviceSettings {
            port: PortChoice::Auto,
            baud: DEFAULT_BAUD,
            leds: 16,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Bye(ByeAction),
    /// Drop the port without a word, as a crash would.
    Abandon,
}

/// The device worker's own requests, beside the frame and status in the [`Mailbox`].
#[derive(Debug, Default)]
struct Control {
    identify: Option<u8>,
    stop: Option<Stop>,
}

#[derive(Debug)]
struct Shared {
    mail: Mailbox<Control>,
    cancel: Arc<AtomicBool>,
}

/// Handle to the device worker thread. Dropping it sends BYE(go stale) and joins the thread.
#[derive(Debug)]
pub struct Device {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Device {
    /// Starts the worker. `on_status` runs on the worker thread for every status change, just
    /// before [`Device::status`] reports it (keep it short: store the status, wake the UI).
    /// `port = "auto"` looks at the system's ports ([`AutoDiscovery::system`]).
    pub fn spawn(
        settings: DeviceSettings,
        on_status: impl Fn(&DeviceStatus) + Send + 'static,
    ) -> Device {
        Device::spawn_with(settings, AutoDiscovery::system(), on_status)
    }

    /// [`Device::spawn`] with auto mode's ports and memory taken from `discovery`.
    pub fn spawn_with(
        settings: DeviceSettings,
        discovery: AutoDiscovery,
        on_status: impl Fn(&DeviceStatus) + Send + 'static,
    ) -> Device {
        let initial = match settings.port {
            PortChoice::None => DeviceStatus::Disabled,
            _ => DeviceStatus::Searching,
        };
        let shared = Arc::new(Shared {
            mail: Mailbox::new(initial.clone(), Control::default()),
            cancel: Arc::new(AtomicBool::new(false)),
        });
        let worker_shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("ledtogo-device".into())
            .spawn(move || {
                on_status(&initial);
                let mut worker = Worker {
                    shared: worker_shared,
                    settings,
                    on_status: Box::new(on_status),
                    failures: 0,
                    sent_gen: 0,
                    auto: AutoState {
                        discovery,
                        memory: ProbeMemory::default(),
                        remembered: None,
                        loaded: false,
                        list_failed: false,
                        rounds: 0,
                    },
                };
                worker.run();
            });
        let thread = match spawned {
            Ok(handle) => Some(handle),
            Err(e) => {
                shared.mail.lock().status = DeviceStatus::Error {
                    port: None,
                    reason: format!("cannot start the device thread: {e}"),
                };
                None
            }
        };
        Device { shared, thread }
    }

    /// Makes `frame` the frame to show. Never blocks on the device: a newer frame replaces one
    /// that was not sent yet.
    pub fn show(&self, frame: Vec<Rgb>) {
        self.shared.mail.show(frame);
    }

    /// Asks the device to blink the whole strip for `seconds` (ledtogo devices only).
    pub fn identify(&self, seconds: u8) {
        self.shared.mail.lock().control.identify = Some(seconds);
        self.shared.mail.notify();
    }

    /// The current status.
    pub fn status(&self) -> DeviceStatus {
        self.shared.mail.status()
    }

    /// Waits until the last frame passed to [`Device::show`] has reached the device
    /// (acknowledged by a ledtogo device, written to a legacy board). False on timeout.
    pub fn wait_delivered(&self, timeout: Duration) -> bool {
        self.shared.mail.wait_delivered(timeout)
    }

    /// Waits until the status satisfies `pred`; returns it, or `None` on timeout.
    pub fn wait_status(
        &self,
        timeout: Duration,
        pred: impl Fn(&DeviceStatus) -> bool,
    ) -> Option<DeviceStatus> {
        self.shared.mail.wait_status(timeout, pred)
    }

    /// Ends the session with BYE(go stale) and joins the worker.
    pub fn close(self) {
        self.close_with(ByeAction::GoStale);
    }

    /// Ends the session with BYE(`action`) and joins the worker.
    pub fn close_with(mut self, action: ByeAction) {
        self.stop(Stop::Bye(action));
    }

    /// Stops the worker and closes the port WITHOUT BYE: to the device this looks exactly like
    /// a crashed host, so its watchdog shows the stale pattern after `stale_after_s`. For tests
    /// and diagnostics.
    pub fn abandon(mut self) {
        self.stop(Stop::Abandon);
    }

    fn stop(&mut self, how: Stop) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.shared.mail.lock().control.stop = Some(how);
        self.shared.cancel.store(true, Ordering::SeqCst);
        self.shared.mail.notify();
        if thread.join().is_err() {
            tracing::error!("the device thread panicked");
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.stop(Stop::Bye(ByeAction::GoStale));
    }
}

struct Stopped;

/// Why a connection attempt or session ended.
enum Ended {
    Stopped,
    /// Opening the port or the handshake failed: what is on the port is still unknown. `opened`:
    /// the port was open (and its board reset) when it failed.
    ProbeFailed {
        port: String,
        error: LinkError,
        opened: bool,
    },
    /// A LED device answered, and its session ended with `error`.
    Lost {
        port: String,
        error: LinkError,
    },
    NotLed {
        port: String,
        noise: usize,
    },
}

/// What a round of connection attempts came to.
enum Round {
    Stopped,
    /// Nothing to show for it: report `status`, back off and try again.
    Wait(DeviceStatus),
}

struct Worker {
    shared: Arc<Shared>,
    settings: DeviceSettings,
    on_status: Box<dyn Fn(&DeviceStatus) + Send>,
    /// Failed connection rounds in a row.
    failures: u32,
    sent_gen: u64,
    auto: AutoState,
}

/// What `port = "auto"` keeps between rounds.
struct AutoState {
    discovery: AutoDiscovery,
    memory: ProbeMemory,
    /// The USB serial number of the last ledtogo device (tried first); read when the worker starts.
    remembered: Option<String>,
    loaded: bool,
    /// Listing the ports failed last round (said once until it works again).
    list_failed: bool,
    /// Search rounds so far.
    rounds: u64,
}

impl Worker {
    fn run(&mut self) {
        loop {
            if self.stop_requested().is_some() {
                return;
            }
            let round = match self.settings.port.clone() {
                PortChoice::None => {
                    self.set_status(DeviceStatus::Disabled);
                    self.sleep(Duration::MAX);
                    continue;
                }
                PortChoice::Path(p) => self.explicit_round(&p.to_string_lossy()),
                PortChoice::Auto => self.auto_round(),
                // The strip output runs the DDP sender for these; a serial worker has nothing to open.
                port @ (PortChoice::Ddp { .. } | PortChoice::Wled { .. }) => {
                    self.set_status(DeviceStatus::Error {
                        port: Some(port.to_string()),
                        reason:
                            "a network strip, not a serial port (outputs::StripOutput drives it)"
                                .to_owned(),
                    });
                    self.sleep(Duration::MAX);
                    continue;
                }
            };
            match round {
                Round::Stopped => return,
                Round::Wait(status) => {
                    self.set_status(status);
                    self.failures = self.failures.saturating_add(1);
                    self.sleep(RECONNECT.delay(self.failures));
                }
            }
        }
    }

    /// A configured path: always tried, every failure said.
    fn explicit_round(&mut self, path: &str) -> Round {
        let (port, reason) = match self.connect(path, None) {
            Ended::Stopped => return Round::Stopped,
            Ended::ProbeFailed { port, error, .. } | Ended::Lost { port, error } => {
                tracing::warn!(port, error = %error, "LED device connection failed");
                (port, error.to_string())
            }
            Ended::NotLed { port, noise } => {
                let reason = not_led_reason(noise);
                tracing::info!(port, reason, "not a LED device");
                (port, reason)
            }
        };
        Round::Wait(DeviceStatus::Error {
            port: Some(port),
            reason,
        })
    }

    /// `port = "auto"`: probes the ports [`discovery::plan_probes`] picks, one line said per port
    /// and plug-in; a port that is not a LED device is not opened again until it is unplugged.
    fn auto_round(&mut self) -> Round {
        if !self.auto.loaded {
            self.auto.loaded = true;
            if let Some(path) = self.auto.discovery.remembered_path() {
                match discovery::load_remembered_serial(path) {
                    Ok(serial) => self.auto.remembered = serial,
                    Err(e) => tracing::warn!(error = %e, "auto mode tries no device first"),
                }
            }
        }
        self.auto.rounds = self.auto.rounds.saturating_add(1);
        let mut list_error = None;
        let listed = match self.auto.discovery.list() {
            Ok(listed) => {
                self.auto.list_failed = false;
                listed
            }
            Err(e) => {
                if !self.auto.list_failed {
                    tracing::warn!(error = %e, "auto mode cannot list ports; retrying quietly");
                }
                self.auto.list_failed = true;
                list_error = Some(e.to_string());
                Vec::new()
            }
        };
        let remembered = self.auto.remembered.clone();
        let to_check = discovery::ports_to_check(&listed, &self.auto.memory, remembered.as_deref());
        let held = held_or_none(&to_check);
        let plan = discovery::plan_probes(&listed, &self.auto.memory, remembered.as_deref(), &held);
        self.auto.memory = plan.memory;
        for (port, holder) in &plan.newly_held {
            tracing::info!(
                port = port.path,
                holder = %holder,
                "another program has this port open; auto mode leaves it alone while it is held"
            );
        }
        // What this round finds about each port it looks at, in listing order.
        let mut tried: Vec<Tried> = Vec::new();
        let mut note = |port: &str, why: String| match tried.iter_mut().find(|t| t.port == port) {
            Some(t) => t.why = why,
            None => tried.push(Tried {
                port: port.to_owned(),
                why,
            }),
        };
        for port in &listed {
            if let Some(holder) = held.get(&port.path) {
                note(&port.path, format!("busy (held by {holder})"));
            } else if to_check.contains(&port.path.as_str()) {
                note(&port.path, "not probed".to_owned());
            } else if self.auto.memory.is_not_led(port) {
                note(
                    &port.path,
                    "not a LED device (it did not answer when plugged in; replug it to try again)"
                        .to_owned(),
                );
            }
        }
        for port in &plan.probe {
            // The probes before this one took seconds: look again right before opening.
            if let Some(holder) = held_or_none(&[port.path.as_str()]).values().next() {
                note(&port.path, format!("busy (held by {holder})"));
                continue;
            }
            match self.connect(&port.path, Some(port)) {
                Ended::Stopped => return Round::Stopped,
                Ended::NotLed { port: path, noise } => {
                    tracing::info!(
                        port = path,
                        reason = not_led_reason(noise),
                        "not a LED device; auto mode does not open it again until it is replugged"
                    );
                    self.auto.memory.not_led(port);
                    note(&path, not_led_reason(noise));
                }
                Ended::ProbeFailed {
                    port: path,
                    error,
                    opened: true,
                } => {
                    // Something answered, but not so that this host can use it: opening it again
                    // would only reset it again.
                    tracing::warn!(
                        port = path,
                        error = %error,
                        "cannot talk to the device on this port; auto mode does not open it again \
                         until it is replugged"
                    );
                    self.auto.memory.not_led(port);
                    note(&path, error.to_string());
                }
                Ended::ProbeFailed {
                    port: path,
                    error,
                    opened: false,
                } => {
                    if self.auto.memory.failed(port) {
                        tracing::warn!(
                            port = path,
                            error = %error,
                            "cannot open this port; auto mode keeps trying it quietly"
                        );
                    }
                    note(&path, open_failure(&error));
                }
                Ended::Lost { port: path, error } => {
                    tracing::warn!(port = path, error = %error, "LED device connection failed");
                    // Hours may have passed: list the ports and look for holders anew.
                    return Round::Wait(DeviceStatus::Error {
                        port: Some(path),
                        reason: error.to_string(),
                    });
                }
            }
        }
        Round::Wait(DeviceStatus::NotFound(Search {
            tried,
            list_error,
            round: self.auto.rounds,
            at: SystemTime::now(),
        }))
    }

    /// Remembers the USB serial number of the ledtogo device on `port` (auto mode), so that it is
    /// tried first next time.
    fn remember(&mut self, port: &PortReport) {
        let Some(serial) = &port.serial_number else {
            return;
        };
        if self.auto.remembered.as_ref() == Some(serial) {
            return;
        }
        self.auto.remembered = Some(serial.clone());
        if let Some(path) = self.auto.discovery.remembered_path() {
            match discovery::save_remembered_serial(path, serial) {
                Ok(()) => tracing::debug!(port = port.path, "remembered the LED device"),
                Err(e) => tracing::warn!(error = %e, "the LED device is not remembered"),
            }
        }
    }

    /// Opens `path`, does the handshake and runs the session until it ends. `listed` is the port
    /// as auto mode found it (`None` for a configured path).
    fn connect(&mut self, path: &str, listed: Option<&PortReport>) -> Ended {
        let mut link = match Link::open(path, self.settings.baud, Arc::clone(&self.shared.cancel)) {
            Ok(link) => link,
            Err(error) => {
                return Ended::ProbeFailed {
                    port: path.to_owned(),
                    error,
                    opened: false,
                };
            }
        };
        let result = match link.handshake() {
            Ok(Handshake::Ledtogo(info)) => {
                self.failures = 0;
                if let Some(port) = listed {
                    self.auto.memory.answered(port);
                    self.remember(port);
                }
                self.session(&mut link, info)
            }
            Ok(Handshake::Legacy) => {
                self.failures = 0;
                if let Some(port) = listed {
                    self.auto.memory.answered(port);
                }
                let status = DeviceStatus::Legacy {
                    port: link.name().to_owned(),
                };
                self.legacy(&mut link, status)
            }
            // A configured port that answered nothing may be a WLED board on USB: it never says `Ada`
            // but takes Adalight frames, and says who it is when asked `v`. Auto mode never asks (a
            // WLED board on USB may be in use over Wi-Fi): it has to be named.
            Ok(Handshake::Silent { noise }) if listed.is_none() => match link.wled_build() {
                Ok(Some(build)) => {
                    self.failures = 0;
                    let status = DeviceStatus::WledSerial {
                        port: link.name().to_owned(),
                        build,
                    };
                    self.legacy(&mut link, status)
                }
                Ok(None) => {
                    return Ended::NotLed {
                        port: path.to_owned(),
                        noise,
                    };
                }
                Err(LinkError::Cancelled) => return Ended::Stopped,
                Err(error) => {
                    return Ended::ProbeFailed {
                        port: path.to_owned(),
                        error,
                        opened: true,
                    };
                }
            },
            Ok(Handshake::Silent { noise }) => {
                return Ended::NotLed {
                    port: path.to_owned(),
                    noise,
                };
            }
            Err(LinkError::Cancelled) => return Ended::Stopped,
            Err(error) => {
                return Ended::ProbeFailed {
                    port: path.to_owned(),
                    error,
                    opened: true,
                };
            }
        };
        match result {
            Ok(Stopped) | Err(LinkError::Cancelled) => Ended::Stopped,
            Err(error) => Ended::Lost {
                port: path.to_owned(),
                error,
            },
        }
    }

    fn stop_requested(&self) -> Option<Stop> {
        self.shared.mail.lock().control.stop
    }

    /// Reports a changed status: `on_status` first, then [`Device::status`] and waiters see it
    /// (so whoever sees a status knows the callback for it has run).
    fn set_status(&self, status: DeviceStatus) {
        let again = match (&self.shared.mail.lock().status, &status) {
            (old, new) if old == new => return,
            (DeviceStatus::NotFound(old), DeviceStatus::NotFound(new)) => old.same_finding(new),
            _ => false,
        };
        // A search that finds the same as the last one is published (its round and time) but not logged.
        if !again {
            tracing::info!(%status, "LED device status");
        }
        (self.on_status)(&status);
        self.shared.mail.lock().status = status;
        self.shared.mail.notify();
    }

    /// Sleeps up to `how_long`, waking early when asked to stop.
    fn sleep(&self, how_long: Duration) {
        let deadline = Instant::now().checked_add(how_long);
        drop(
            self.shared
                .mail
                .wait_while(self.shared.mail.lock(), deadline, |i| {
                    i.control.stop.is_none()
                }),
        );
    }

    /// The frame to show if it changed since it was last sent (or `force`).
    fn pending_frame(&self, force: bool) -> Option<(u64, Arc<Vec<Rgb>>)> {
        let inner = self.shared.mail.lock();
        let frame = inner.frame.as_ref()?;
        (force || inner.frame_gen != self.sent_gen).then(|| (inner.frame_gen, Arc::clone(frame)))
    }

    fn delivered(&mut self, generation: u64) {
        self.sent_gen = generation;
        self.shared.mail.delivered(generation);
    }

    fn take_identify(&self) -> Option<u8> {
        self.shared.mail.lock().control.identify.take()
    }

    /// Applies the strip length to the device; returns the LED count in effect.
    fn configure(&self, link: &mut Link, info: &Info) -> Result<usize, LinkError> {
        let wanted = self.settings.leds;
        if wanted == 0 || wanted == usize::from(info.led_count) {
            return Ok(usize::from(info.led_count));
        }
        let value = wanted.min(usize::from(info.led_max)) as u32;
        match link.request(&Request::SetConfig {
            key: CONFIG_LED_COUNT,
            value,
        }) {
            Ok(reply) => match reply.body {
                ReplyBody::Config { value, .. } => Ok(value as usize),
                _ => Ok(value as usize),
            },
            Err(LinkError::Rejected { status, .. }) => {
                tracing::warn!(port = link.name(), %status, wanted, "device refused the LED count");
                Ok(usize::from(info.led_count))
            }
            Err(e) => Err(e),
        }
    }

    fn connected_status(link: &Link, info: &Info, leds: usize) -> DeviceStatus {
        DeviceStatus::Connected {
            port: link.name().to_owned(),
            firmware: info.fw.to_string(),
            leds: u16::try_from(leds).unwrap_or(u16::MAX),
            device_id: info.device_id,
        }
    }

    fn session(&mut self, link: &mut Link, info: Info) -> Result<Stopped, LinkError> {
        let mut info = info;
        let mut led_count = self.configure(link, &info)?;
        let chunk =
            (usize::from(info.max_payload).saturating_sub(3) / 3).clamp(1, MAX_PIXELS_PER_CHUNK);
        // What the device shows; None forces a full frame.
        let mut shown: Option<Vec<Rgb>> = None;
        let mut last_tx = Instant::now();
        self.set_status(Self::connected_status(link, &info, led_count));
        loop {
            if let Some(stop) = self.stop_requested() {
                if let Stop::Bye(action) = stop {
                    self.shared.cancel.store(false, Ordering::SeqCst);
                    if let Err(e) = link.request(&Request::Bye { action }) {
                        tracing::info!(port = link.name(), error = %e, "BYE not acknowledged");
                    }
                }
                return Ok(Stopped);
            }
            match self.session_step(link, led_count, chunk, &mut shown, &mut last_tx) {
                Ok(()) => {}
                Err(LinkError::SessionLost { port, why }) => {
                    tracing::info!(port, why, "session lost; saying HELLO again");
                    match link.hello()? {
                        Handshake::Ledtogo(new_info) => {
                            info = new_info;
                            led_count = self.configure(link, &info)?;
                            shown = None;
                            last_tx = Instant::now();
                            self.set_status(Self::connected_status(link, &info, led_count));
                        }
                        Handshake::Legacy | Handshake::Silent { .. } => {
                            return Err(LinkError::NoReply {
                                port: link.name().to_owned(),
                                command: super::protocol::Command::Hello,
                                attempts: super::link::HELLO_ATTEMPTS,
                            });
                        }
                    }
                }
                Err(LinkError::Cancelled) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn session_step(
        &mut self,
        link: &mut Link,
        led_count: usize,
        chunk: usize,
        shown: &mut Option<Vec<Rgb>>,
        last_tx: &mut Instant,
    ) -> Result<(), LinkError> {
        if let Some(seconds) = self.take_identify() {
            match link.request(&Request::Identify { seconds }) {
                Ok(_) => {}
                Err(LinkError::Rejected { status, .. }) => {
                    tracing::warn!(port = link.name(), %status, "IDENTIFY refused");
                }
                Err(e) => return Err(e),
            }
            *last_tx = Instant::now();
        }
        if let Some((generation, frame)) = self.pending_frame(shown.is_none()) {
            let target = fit(&frame, led_count);
            send_frame(link, &target, shown.as_deref(), chunk)?;
            *shown = Some(target);
            *last_tx = Instant::now();
            self.delivered(generation);
        }
        if last_tx.elapsed() >= KEEPALIVE {
            let reply = link.request(&Request::Ping)?;
            *last_tx = Instant::now();
            if let ReplyBody::Ping { state, .. } = reply.body
                && state != LinkState::Live
            {
                return Err(LinkError::SessionLost {
                    port: link.name().to_owned(),
                    why: "reports it is no longer live",
                });
            }
        }
        link.idle(READ_SLICE, true)
    }

    /// Adalight frames only (a stock Adalight board, a WLED board on USB), reported as `status`; the
    /// frame is re-sent every [`KEEPALIVE`] (WLED leaves realtime mode after 2.5 s without one).
    fn legacy(&mut self, link: &mut Link, status: DeviceStatus) -> Result<Stopped, LinkError> {
        self.set_status(status);
        let mut last_write: Option<Instant> = None;
        loop {
            if self.stop_requested().is_some() {
                return Ok(Stopped);
            }
            if self.take_identify().is_some() {
                tracing::warn!(
                    port = link.name(),
                    "a stock Adalight board cannot identify itself"
                );
            }
            let due = last_write.is_none_or(|t| t.elapsed() >= KEEPALIVE);
            if let Some((generation, frame)) = self.pending_frame(due) {
                let target = if self.settings.leds > 0 {
                    fit(&frame, self.settings.leds)
                } else {
                    frame.to_vec()
                };
                if !target.is_empty() {
                    link.write_ada(&target)?;
                    last_write = Some(Instant::now());
                }
                self.delivered(generation);
            }
            match link.idle(READ_SLICE, false) {
                Ok(()) | Err(LinkError::Cancelled) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Why a port that answered nothing is not a LED device.
fn not_led_reason(noise: usize) -> String {
    if noise == 0 {
        "no LED device answers (no Ada line, no reply to HELLO)".to_owned()
    } else {
        format!("no LED device answers: {noise} frames of garbage, no reply to HELLO")
    }
}

/// Why a port could not be opened, in a few words: "permission denied", "busy", or the system's own.
fn open_failure(error: &LinkError) -> String {
    let LinkError::Open { source, .. } = error else {
        return error.to_string();
    };
    match source.kind() {
        serialport::ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => {
            "permission denied".to_owned()
        }
        serialport::ErrorKind::NoDevice => "gone (unplugged?)".to_owned(),
        _ if source.description.contains("busy") => "busy".to_owned(),
        _ => format!("cannot open it: {}", source.description),
    }
}

/// [`discovery::held_ports`]; when `/proc` cannot be read, nothing counts as held (debug log:
/// it would be the same every round).
fn held_or_none(paths: &[&str]) -> HashMap<String, discovery::Holder> {
    discovery::held_ports(paths).unwrap_or_else(|e| {
        tracing::debug!(error = %e, "cannot look for processes holding serial ports");
        HashMap::new()
    })
}

/// `frame` cut or padded with black to `len` LEDs.
fn fit(frame: &[Rgb], len: usize) -> Vec<Rgb> {
    let mut out: Vec<Rgb> = frame.iter().copied().take(len).collect();
    out.resize(len, Rgb::OFF);
    out
}

/// Sends the LEDs that differ from `shown` (all of them if `shown` is None) as SET_PIXELS
/// chunks, committing with the last one.
fn send_frame(
    link: &mut Link,
    target: &[Rgb],
    shown: Option<&[Rgb]>,
    chunk: usize,
) -> Result<(), LinkError> {
    let range = match shown {
        Some(old) if old.len() == target.len() => {
            let first = target.iter().zip(old).position(|(a, b)| a != b);
            let last = target.iter().zip(old).rposition(|(a, b)| a != b);
            match (first, last) {
                (Some(first), Some(last)) => first..last + 1,
                _ => return Ok(()),
            }
        }
        _ => 0..target.len(),
    };
    let mut start = range.start;
    while start < range.end {
        let end = (start + chunk).min(range.end);
        let request = Request::SetPixels {
            start: u16::try_from(start).unwrap_or(u16::MAX),
            commit: end == range.end,
            leds: target[start..end].to_vec(),
        };
        match link.request(&request) {
            Ok(_) => {}
            Err(LinkError::Rejected { status, .. }) => {
                tracing::warn!(port = link.name(), %status, start, "SET_PIXELS refused");
            }
            Err(e) => return Err(e),
        }
        start = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn fit_pads_with_black_and_truncates() {
        let red = Rgb::new(255, 0, 0);
        assert_eq!(fit(&[red], 3), vec![red, Rgb::OFF, Rgb::OFF]);
        assert_eq!(fit(&[red, red, red], 2), vec![red, red]);
    }

    #[test]
    fn status_lines_are_human_readable() {
        let status = DeviceStatus::Connected {
            port: "/dev/ttyACM0".into(),
            firmware: "1.0.0".into(),
            leds: 16,
            device_id: 0xBEEF,
        };
        assert_eq!(
            status.to_string(),
            "connected on /dev/ttyACM0: ledtogo firmware 1.0.0, 16 LEDs, id 0000beef"
        );
        let err = DeviceStatus::Error {
            port: Some("/dev/ttyUSB0".into()),
            reason: "no reply to ping".into(),
        };
        assert_eq!(
            err.to_string(),
            "LED device on /dev/ttyUSB0: no reply to ping; retrying"
        );
        assert_eq!(DeviceStatus::Disabled.to_string(), "LED device disabled");
    }
}
