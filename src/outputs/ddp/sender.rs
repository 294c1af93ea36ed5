//! The DDP sender: one thread owns the UDP socket and keeps a network strip showing the latest frame.
//! [`Sender`] is its handle.
//!
//! Per connection: (`wled://`: ask `/json/info`) → resolve the host → send the latest frame at once,
//! each new one as it comes (a newer frame replaces one not sent yet: latest value, never a queue),
//! and the last one again every [`RESEND`] while nothing changes, since WLED leaves realtime mode 2.5 s
//! after the last packet and goes back to its own effect. A `wled://` board is asked again every
//! [`RECHECK`]. A failed lookup, answer or send is reported through `on_status` with the reason, and
//! the worker starts over (resolving the name again) after the back-off of [`BACKOFF`].

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::codec::{self, Sequence};
use super::wled;
use crate::backoff::Backoff;
use crate::color::Rgb;
use crate::config::{DDP_PORT, PortChoice, host_and_port};
use crate::outputs::mailbox::Mailbox;
use crate::outputs::status::{DeviceStatus, WledInfo};

/// How often the last frame is sent again while nothing changes (at least once a second: WLED's
/// realtime timeout is 2.5 s by default).
pub const RESEND: Duration = Duration::from_millis(800);
/// How often a `wled://` board is asked about itself again while streaming (its name, count, that it
/// is still there).
pub const RECHECK: Duration = Duration::from_secs(30);
/// The wait before starting over after a failure: from 1 s, doubling up to 30 s.
pub const BACKOFF: Backoff = Backoff {
    first: Duration::from_secs(1),
    max: Duration::from_secs(30),
    jitter: 0.1,
};

/// Where a network strip is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// DDP to `host:port`.
    Ddp { host: String, port: u16 },
    /// WLED's JSON API at `host:http_port`, DDP to `host:4048`.
    Wled { host: String, http_port: u16 },
}

impl Target {
    /// The network strip `port` names, if it names one.
    pub fn of(port: &PortChoice) -> Option<Target> {
        match port {
            PortChoice::Ddp { host, port } => Some(Target::Ddp {
                host: host.clone(),
                port: *port,
            }),
            PortChoice::Wled { host, http_port } => Some(Target::Wled {
                host: host.clone(),
                http_port: *http_port,
            }),
            _ => None,
        }
    }

    /// The host and the UDP port DDP goes to.
    pub fn ddp(&self) -> (&str, u16) {
        match self {
            Target::Ddp { host, port } => (host, *port),
            Target::Wled { host, .. } => (host, DDP_PORT),
        }
    }

    /// As the config writes it (`ddp://…`, `wled://…`), for statuses.
    pub fn label(&self) -> String {
        let port = match self {
            Target::Ddp { host, port } => PortChoice::Ddp {
                host: host.clone(),
                port: *port,
            },
            Target::Wled { host, http_port } => PortChoice::Wled {
                host: host.clone(),
                http_port: *http_port,
            },
        };
        port.to_string()
    }
}

/// The first address `host:port` resolves to (a blocking lookup: call it on a worker thread).
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    let shown = host_and_port(host, port);
    let mut addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot find {host}: {e} (check the name, or use its IP address)"))?;
    addrs
        .next()
        .ok_or_else(|| format!("{shown} resolves to no address (check the name)"))
}

/// The sender's own flag, beside the frame and status in the [`Mailbox`].
#[derive(Debug, Default)]
struct Control {
    stopped: bool,
}

type Shared = Mailbox<Control>;

/// Handle to the sender thread. Dropping it (or [`Sender::close`]) stops the thread without waiting
/// for it: a name lookup or a board's answer may take seconds, and the engine does not wait on the
/// network. A stopped sender never reports a status again.
#[derive(Debug)]
pub struct Sender {
    shared: Arc<Shared>,
}

impl Sender {
    /// Starts the sender for `target`; frames are `leds` long (the strip's `[strip] leds`, for the
    /// status's comparison with a WLED board's own count). `on_status` runs on the sender thread for
    /// every status change, before [`Sender::status`] reports it (keep it short).
    pub fn spawn(
        target: Target,
        leds: usize,
        on_status: impl Fn(&DeviceStatus) + Send + 'static,
    ) -> Sender {
        let shared = Arc::new(Shared::new(DeviceStatus::Searching, Control::default()));
        let worker_shared = Arc::clone(&shared);
        let label = target.label();
        let spawned = std::thread::Builder::new()
            .name("ledtogo-ddp".into())
            .spawn(move || {
                on_status(&DeviceStatus::Searching);
                Worker {
                    shared: worker_shared,
                    target,
                    leds,
                    on_status: Box::new(on_status),
                    failures: 0,
                }
                .run();
            });
        if let Err(e) = spawned {
            shared.lock().status = DeviceStatus::Error {
                port: Some(label),
                reason: format!("cannot start the network strip's thread: {e}"),
            };
        }
        Sender { shared }
    }

    /// Makes `frame` the frame to show. Never blocks: a newer frame replaces one not sent yet.
    pub fn show(&self, frame: Vec<Rgb>) {
        self.shared.show(frame);
    }

    /// The current status.
    pub fn status(&self) -> DeviceStatus {
        self.shared.status()
    }

    /// Waits until the last frame passed to [`Sender::show`] was sent. False on timeout.
    pub fn wait_delivered(&self, timeout: Duration) -> bool {
        self.shared.wait_delivered(timeout)
    }

    /// Waits until the status satisfies `pred`; returns it, or `None` on timeout.
    pub fn wait_status(
        &self,
        timeout: Duration,
        pred: impl Fn(&DeviceStatus) -> bool,
    ) -> Option<DeviceStatus> {
        self.shared.wait_status(timeout, pred)
    }

    /// Stops the sender: nothing is sent after this returns, and no status is reported.
    pub fn close(self) {
        drop(self);
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.shared.lock().control.stopped = true;
        self.shared.notify();
    }
}

struct Stopped;

struct Worker {
    shared: Arc<Shared>,
    target: Target,
    leds: usize,
    on_status: Box<dyn Fn(&DeviceStatus) + Send>,
    /// Failed attempts in a row.
    failures: u32,
}

impl Worker {
    fn run(&mut self) {
        loop {
            let reason = match self.attempt() {
                Ok(Stopped) => return,
                Err(reason) => reason,
            };
            self.set_status(DeviceStatus::Error {
                port: Some(self.target.label()),
                reason,
            });
            self.failures = self.failures.saturating_add(1);
            let deadline = Instant::now().checked_add(BACKOFF.delay(self.failures));
            let inner = self
                .shared
                .wait_while(self.shared.lock(), deadline, |i| !i.control.stopped);
            if inner.control.stopped {
                return;
            }
        }
    }

    fn stopped(&self) -> bool {
        self.shared.lock().control.stopped
    }

    /// Reports a changed status, unless the sender was stopped (a replaced sender says nothing more).
    fn set_status(&self, status: DeviceStatus) {
        let mut inner = self.shared.lock();
        if inner.control.stopped || inner.status == status {
            return;
        }
        tracing::info!(%status, "LED device status");
        (self.on_status)(&status);
        inner.status = status;
        drop(inner);
        self.shared.notify();
    }

    /// Asks the board (`wled://`), resolves the host and streams until stopped or something fails.
    fn attempt(&mut self) -> Result<Stopped, String> {
        let info = match &self.target {
            Target::Wled { host, http_port } => Some(ask(host, *http_port)?),
            Target::Ddp { .. } => None,
        };
        if self.stopped() {
            return Ok(Stopped);
        }
        let (host, port) = self.target.ddp();
        let addr = resolve(host, port)?;
        let local: SocketAddr = if addr.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local)
            .map_err(|e| format!("cannot open a UDP socket for {addr}: {e}"))?;
        self.stream(&socket, addr, info)
    }

    fn stream(
        &mut self,
        socket: &UdpSocket,
        addr: SocketAddr,
        mut info: Option<WledInfo>,
    ) -> Result<Stopped, String> {
        let mut sequence = Sequence::default();
        let mut sent_gen = 0;
        let mut last_send: Option<Instant> = None;
        let mut next_check = Instant::now() + RECHECK;
        // From here frames can go out: say where (DDP has no answer to wait for).
        self.set_status(self.streaming(addr, info.clone()));
        let mut sent_once = false;
        loop {
            let resend_at = last_send.map(|t| t + RESEND);
            let wake = match (resend_at, info.is_some()) {
                (Some(r), true) => Some(r.min(next_check)),
                (Some(r), false) => Some(r),
                (None, true) => Some(next_check),
                (None, false) => None,
            };
            let inner = self.shared.wait_while(self.shared.lock(), wake, |i| {
                !i.control.stopped && i.frame_gen == sent_gen
            });
            if inner.control.stopped {
                return Ok(Stopped);
            }
            let now = Instant::now();
            // Before asking the board again, the frame goes out, so the gap stays under WLED's timeout.
            let check_due = info.is_some() && now >= next_check;
            let due = check_due || resend_at.is_some_and(|r| now >= r);
            let pending = inner
                .frame
                .as_ref()
                .filter(|_| due || inner.frame_gen != sent_gen)
                .map(|f| (inner.frame_gen, Arc::clone(f)));
            drop(inner);
            if let Some((generation, frame)) = pending {
                for packet in codec::packets(&frame, &mut sequence) {
                    socket
                        .send_to(&packet, addr)
                        .map_err(|e| format!("sending to {addr} failed: {e}"))?;
                }
                last_send = Some(Instant::now());
                sent_gen = generation;
                self.shared.delivered(generation);
                if !sent_once {
                    sent_once = true;
                    self.failures = 0;
                }
            }
            if let (true, Target::Wled { host, http_port }) = (check_due, &self.target) {
                // Asking takes at most INFO_TIMEOUT (2 s), and the frame went out just before.
                let fresh = ask(host, *http_port)?;
                next_check = Instant::now() + RECHECK;
                if info.as_ref() != Some(&fresh) {
                    info = Some(fresh);
                    self.set_status(self.streaming(addr, info.clone()));
                }
            }
        }
    }

    fn streaming(&self, addr: SocketAddr, wled: Option<WledInfo>) -> DeviceStatus {
        DeviceStatus::Streaming {
            to: addr.to_string(),
            wled,
            leds: self.leds,
        }
    }
}

/// [`wled::ask`], its failure as a status reason with what to check.
fn ask(host: &str, http_port: u16) -> Result<WledInfo, String> {
    wled::ask(host, http_port).map_err(|e| format!("{e}; {}", wled::advice(&e)))
}
