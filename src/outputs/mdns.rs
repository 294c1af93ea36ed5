//! Finding Wi-Fi strips: WLED boards announce themselves as `_wled._tcp` over mDNS (multicast DNS on the
//! local network). A [`Browser`] listens for those announcements and keeps a typed list of what it found
//! ([`FoundStrip`]: name, host, port, addresses and the `port = "wled://HOST"` value for the config);
//! [`browse_for`] is a short search (`ledtogo ports`) and [`Discovery`] the window's worker, which browses
//! only while the Device tab asks for it and costs nothing (no thread, no packet) otherwise.
//!
//! Everything here comes from the network and is hostile: names are shown through [`crate::text`], the
//! list and each strip's addresses are capped, and the config value is built only from a well-formed host
//! name or an address, never from the raw text.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mdns_sd::{Receiver, RecvTimeoutError, ScopedIp, ServiceDaemon, ServiceEvent};
use parking_lot::Mutex;

use crate::text;

/// The service WLED (and the firmware built on it) announces.
pub const SERVICE_TYPE: &str = "_wled._tcp.local.";

/// The mDNS port (RFC 6762).
pub const MDNS_PORT: u16 = mdns_sd::MDNS_PORT;

/// The most strips kept: a network (or a hostile responder) announcing more gets the first ones listed.
pub const MAX_STRIPS: usize = 64;

/// The most addresses kept per strip.
pub const MAX_ADDRESSES: usize = 8;

/// WLED's web server port: a strip on another port gets it written into its `wled://HOST:PORT` value.
pub const WLED_HTTP_PORT: u16 = 80;

/// How long `ledtogo ports` listens for announcements.
pub const SHORT_BROWSE: Duration = Duration::from_secs(2);

/// What an empty list means and what to check.
pub const EMPTY_ADVICE: &str = "WLED announces itself over mDNS; make sure this computer and the strip \
                                are on the same network";

const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);

/// A WLED strip found on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundStrip {
    /// The announced instance name, for display ([`text::short`]).
    pub name: String,
    /// The announced host name without its final dot (`wled-desk.local`), for display.
    pub host: String,
    /// Its web server's port (WLED: 80).
    pub port: u16,
    /// Its addresses, IPv4 first, at most [`MAX_ADDRESSES`].
    pub addresses: Vec<IpAddr>,
    /// What `[strip] port` is set to for it: `wled://HOST` (the `.local` host name when it is a
    /// well-formed one, else an address), with `:PORT` when the port is not 80.
    pub target: String,
}

impl FoundStrip {
    /// A strip from what mDNS resolved for one instance (`fullname` is `NAME._wled._tcp.local.`), or
    /// `None` when there is nothing to reach it by (no usable host name nor address).
    pub fn of(
        fullname: &str,
        host: &str,
        port: u16,
        addresses: impl IntoIterator<Item = IpAddr>,
    ) -> Option<FoundStrip> {
        let host = host.strip_suffix('.').unwrap_or(host);
        let mut addresses: Vec<IpAddr> = addresses
            .into_iter()
            .filter(|a| !a.is_unspecified() && !a.is_multicast())
            .collect();
        addresses.sort_by_key(|a| (a.is_ipv6(), *a));
        addresses.dedup();
        addresses.truncate(MAX_ADDRESSES);
        let reach = if is_local_host_name(host) {
            host.to_ascii_lowercase()
        } else {
            let v4 = addresses.iter().find(|a| a.is_ipv4());
            // A link-local IPv6 address needs its interface (`%eth0`), which a URL cannot carry.
            let v6 = addresses.iter().find(|a| match a {
                IpAddr::V6(v6) => !v6.is_unicast_link_local(),
                IpAddr::V4(_) => false,
            });
            match v4.or(v6)? {
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(a) => format!("[{a}]"),
            }
        };
        let target = match port {
            WLED_HTTP_PORT | 0 => format!("wled://{reach}"),
            port => format!("wled://{reach}:{port}"),
        };
        let instance = instance_name(fullname);
        let name = if instance.trim().is_empty() {
            host
        } else {
            &instance
        };
        Some(FoundStrip {
            name: text::short(name),
            host: text::short(host),
            port,
            addresses,
            target,
        })
    }
}

impl std::fmt::Display for FoundStrip {
    /// `desk  wled-desk.local:80  192.168.1.20  → port = "wled://wled-desk.local"`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}  {}:{}", self.name, self.host, self.port)?;
        let addresses: Vec<String> = self.addresses.iter().map(IpAddr::to_string).collect();
        if !addresses.is_empty() {
            write!(f, "  {}", addresses.join(" "))?;
        }
        write!(f, "  → port = \"{}\"", self.target)
    }
}

/// The instance part of `NAME._wled._tcp.local.`, its DNS escapes (`\.`, `\\`, `\DDD`) undone (bytes
/// that are not UTF-8 become "�").
fn instance_name(fullname: &str) -> String {
    let suffix = format!(".{SERVICE_TYPE}");
    // ASCII lowercasing keeps every byte where it was.
    let raw = if fullname.to_ascii_lowercase().ends_with(&suffix) {
        &fullname[..fullname.len() - suffix.len()]
    } else {
        fullname
    };
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let digits = bytes
            .get(i..i + 3)
            .filter(|d| d.iter().all(u8::is_ascii_digit));
        let value = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| d.parse::<u8>().ok());
        if let Some(value) = value {
            out.push(value);
            i += 3;
        } else if let Some(&next) = bytes.get(i) {
            out.push(next);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `host` is a well-formed mDNS host name: `.local`, labels of letters, digits and hyphens
/// (none at either end), each 1 to 63 characters, 253 in all.
fn is_local_host_name(host: &str) -> bool {
    let lower = host.to_ascii_lowercase();
    lower.len() <= 253
        && lower.ends_with(".local")
        && lower.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Why the network cannot be searched.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error(
        "cannot search the network for Wi-Fi strips: no network interface takes mDNS multicast \
         (IPv4: {v4}; IPv6: {v6}); connect this computer to the network the strip is on"
    )]
    NoMulticast { v4: String, v6: String },
    #[error(
        "cannot search the network for Wi-Fi strips: UDP port {port} (mDNS) refused us: {reason}; \
         another program may hold it exclusively, or a firewall forbids it"
    )]
    PortRefused { port: u16, reason: String },
    #[error("cannot start the mDNS browser for Wi-Fi strips: {0}")]
    Daemon(String),
    #[error("the mDNS browser for Wi-Fi strips stopped; the search starts again shortly")]
    Stopped,
}

/// Listens for WLED announcements and keeps what they say; the mDNS daemon's thread stops when this
/// is dropped.
pub struct Browser {
    daemon: ServiceDaemon,
    events: Receiver<ServiceEvent>,
    found: BTreeMap<String, FoundStrip>,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("found", &self.found.len())
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts browsing on the mDNS port.
    pub fn start() -> Result<Browser, DiscoveryError> {
        Self::start_on(MDNS_PORT)
    }

    /// Starts browsing on `port` (another port than 5353 only to keep tests apart from the network).
    pub fn start_on(port: u16) -> Result<Browser, DiscoveryError> {
        // The daemon drops socket errors silently; the same sockets opened here first say what fails.
        check_network(port)?;
        let daemon = ServiceDaemon::new_with_port(port)
            .map_err(|e| DiscoveryError::Daemon(e.to_string()))?;
        let events = match daemon.browse(SERVICE_TYPE) {
            Ok(events) => events,
            Err(e) => {
                stop(&daemon);
                return Err(DiscoveryError::Daemon(e.to_string()));
            }
        };
        Ok(Browser {
            daemon,
            events,
            found: BTreeMap::new(),
        })
    }

    /// Waits up to `timeout` for announcements (and takes every one already there); `true` when the
    /// list changed.
    pub fn wait(&mut self, timeout: Duration) -> Result<bool, DiscoveryError> {
        let mut changed = match self.events.recv_timeout(timeout) {
            Ok(event) => self.apply(event),
            Err(RecvTimeoutError::Timeout) => return Ok(false),
            Err(RecvTimeoutError::Disconnected) => return Err(DiscoveryError::Stopped),
        };
        while let Ok(event) = self.events.try_recv() {
            changed |= self.apply(event);
        }
        Ok(changed)
    }

    /// The strips found, by name.
    pub fn strips(&self) -> Vec<FoundStrip> {
        let mut strips: Vec<FoundStrip> = self.found.values().cloned().collect();
        strips.sort_by(|a, b| (&a.name, &a.target).cmp(&(&b.name, &b.target)));
        strips
    }

    fn apply(&mut self, event: ServiceEvent) -> bool {
        match event {
            ServiceEvent::ServiceResolved(service) => {
                if !service.ty_domain.eq_ignore_ascii_case(SERVICE_TYPE) {
                    return false;
                }
                let addresses = service.addresses.iter().map(ScopedIp::to_ip_addr);
                let strip =
                    FoundStrip::of(&service.fullname, &service.host, service.port, addresses);
                found_update(&mut self.found, service.fullname.clone(), strip)
            }
            ServiceEvent::ServiceRemoved(_, fullname) => self.found.remove(&fullname).is_some(),
            _ => false,
        }
    }
}

/// Puts `strip` (or its absence) under `key`, keeping at most [`MAX_STRIPS`]; `true` when that changed
/// the list.
fn found_update(
    found: &mut BTreeMap<String, FoundStrip>,
    key: String,
    strip: Option<FoundStrip>,
) -> bool {
    match strip {
        None => found.remove(&key).is_some(),
        Some(strip) => {
            if found.get(&key) == Some(&strip) {
                return false;
            }
            if !found.contains_key(&key) && found.len() >= MAX_STRIPS {
                return false;
            }
            found.insert(key, strip);
            true
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        stop(&self.daemon);
    }
}

/// Stops the daemon and waits (briefly) for its thread to end.
fn stop(daemon: &ServiceDaemon) {
    if let Ok(done) = daemon.shutdown() {
        // An answer or a closed channel both mean the thread is ending; only a hang is waited out.
        let _ = done.recv_timeout(Duration::from_secs(1));
    }
}

/// Opens the sockets the daemon opens (reusable, on `port`, in the mDNS group) and closes them again:
/// an error names what is missing. One of IPv4 and IPv6 working is enough.
fn check_network(port: u16) -> Result<(), DiscoveryError> {
    let v4 = open_group(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
    if v4.is_ok() {
        return Ok(());
    }
    let v6 = open_group(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)));
    match (v4, v6) {
        (_, Ok(())) => Ok(()),
        (Err(Refused::Bind(e)), _) => Err(DiscoveryError::PortRefused {
            port,
            reason: e.to_string(),
        }),
        (Err(Refused::Join(v4)), Err(v6)) => Err(DiscoveryError::NoMulticast {
            v4: v4.to_string(),
            v6: v6.to_string(),
        }),
        (Ok(()), _) => Ok(()),
    }
}

#[derive(Debug)]
enum Refused {
    Bind(std::io::Error),
    Join(std::io::Error),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Bind(e) => write!(f, "cannot listen: {e}"),
            Refused::Join(e) => write!(f, "cannot join the multicast group: {e}"),
        }
    }
}

fn open_group(addr: SocketAddr) -> Result<(), Refused> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(Refused::Bind)?;
    socket.set_reuse_address(true).map_err(Refused::Bind)?;
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    socket.set_reuse_port(true).map_err(Refused::Bind)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(Refused::Bind)?;
    }
    socket.bind(&addr.into()).map_err(Refused::Bind)?;
    match addr {
        SocketAddr::V4(_) => socket.join_multicast_v4(&GROUP_V4, &Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => socket.join_multicast_v6(&GROUP_V6, 0),
    }
    .map_err(Refused::Join)
}

/// Browses for `time` and returns what was found (`ledtogo ports`).
pub fn browse_for(time: Duration) -> Result<Vec<FoundStrip>, DiscoveryError> {
    let mut browser = Browser::start()?;
    let end = Instant::now() + time;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(browser.strips());
        }
        browser.wait(left)?;
    }
}

/// What the window shows: the strips found, or why the search does not run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub strips: Arc<Vec<FoundStrip>>,
    /// Why the network cannot be searched (the search retries while it is wanted).
    pub problem: Option<String>,
    /// A search runs.
    pub browsing: bool,
}

/// Told when what [`Discovery::found`] returns changed, or when the worker asks whether it is still
/// wanted (the window: a repaint).
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// How long the search goes on after the last [`Discovery::want`].
pub const LINGER: Duration = Duration::from_secs(60);
/// After [`LINGER`], the worker wakes the window once and waits this long for another `want`.
pub const GRACE: Duration = Duration::from_secs(3);
/// How often the worker looks whether it is still wanted.
const TICK: Duration = Duration::from_millis(500);
/// How soon a search that could not start is tried again.
const RETRY: Duration = Duration::from_secs(10);

/// The window's search for Wi-Fi strips: a worker thread that browses while [`want`](Self::want) is
/// called (every frame the Device tab is drawn) and for [`LINGER`] after, publishes the latest list and
/// wakes the window. Before the first `want`, and once the worker stopped, nothing runs: no thread, no
/// socket, no packet. Dropping it stops the worker.
pub struct Discovery {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Wake,
    port: u16,
    linger: Duration,
    grace: Duration,
}

#[derive(Debug, Default)]
struct State {
    found: Found,
    wanted_until: Option<Instant>,
    /// The worker runs.
    running: bool,
    /// The worker asked the window whether it is still wanted (after `wanted_until`).
    asked: bool,
    /// The handle was dropped.
    closed: bool,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("state", &*self.shared.state.lock())
            .finish_non_exhaustive()
    }
}

impl Discovery {
    /// A search on the mDNS port that runs [`LINGER`] after the last `want`.
    pub fn new(wake: Wake) -> Discovery {
        Discovery::with(wake, MDNS_PORT, LINGER, GRACE)
    }

    /// A search on `port` that runs `linger` after the last `want` and then `grace` more after asking.
    pub fn with(wake: Wake, port: u16, linger: Duration, grace: Duration) -> Discovery {
        Discovery {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                wake,
                port,
                linger,
                grace,
            }),
        }
    }

    /// The list is wanted now: starts the worker if it does not run. Cheap; never blocks.
    pub fn want(&self) {
        let mut state = self.shared.state.lock();
        state.wanted_until = Some(Instant::now() + self.shared.linger);
        state.asked = false;
        if state.running {
            return;
        }
        state.running = true;
        state.found.browsing = true;
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("wifi-strips".into())
            .spawn(move || run(&shared));
        if let Err(e) = spawned {
            state.running = false;
            state.found.browsing = false;
            state.found.problem = Some(format!(
                "cannot search the network for Wi-Fi strips (no thread: {e})"
            ));
        }
    }

    /// The latest list.
    pub fn found(&self) -> Found {
        self.shared.state.lock().found.clone()
    }

    /// Whether the worker runs.
    pub fn is_running(&self) -> bool {
        self.shared.state.lock().running
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.shared.state.lock().closed = true;
    }
}

impl Shared {
    /// Sets what the window shows; wakes it when that changed.
    fn publish(&self, change: impl FnOnce(&mut Found)) {
        let changed = {
            let mut state = self.state.lock();
            let before = state.found.clone();
            change(&mut state.found);
            state.found != before
        };
        if changed {
            (self.wake)();
        }
    }

    /// Whether the worker goes on. Past `wanted_until` it wakes the window once (a window still showing
    /// the tab wants it again); past the grace after that it stops, clearing the list.
    fn still_wanted(&self) -> bool {
        let now = Instant::now();
        let mut state = self.state.lock();
        let until = state.wanted_until.unwrap_or(now);
        if !state.closed && now < until {
            return true;
        }
        if !state.closed && !state.asked {
            state.asked = true;
            drop(state);
            (self.wake)();
            return true;
        }
        if !state.closed && now < until + self.grace {
            return true;
        }
        state.running = false;
        state.found = Found::default();
        false
    }

    /// Sleeps `time` in ticks while wanted; `false` once not wanted any more.
    fn idle(&self, time: Duration) -> bool {
        let end = Instant::now() + time;
        while Instant::now() < end {
            if !self.still_wanted() {
                return false;
            }
            std::thread::sleep(TICK.min(end.saturating_duration_since(Instant::now())));
        }
        true
    }
}

/// The worker: a browser while wanted; a search that cannot start (or stops) is retried every
/// [`RETRY`], its reason shown meanwhile.
fn run(shared: &Shared) {
    loop {
        match Browser::start_on(shared.port) {
            Ok(mut browser) => {
                shared.publish(|f| {
                    f.problem = None;
                    f.browsing = true;
                });
                let stopped = loop {
                    match browser.wait(TICK) {
                        Ok(true) => {
                            let strips = Arc::new(browser.strips());
                            shared.publish(|f| f.strips = strips);
                        }
                        Ok(false) => {}
                        Err(e) => break e,
                    }
                    if !shared.still_wanted() {
                        return;
                    }
                };
                shared.publish(|f| {
                    f.strips = Arc::default();
                    f.problem = Some(stopped.to_string());
                });
            }
            Err(e) => shared.publish(|f| f.problem = Some(e.to_string())),
        }
        if !shared.idle(RETRY) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::from(a)
    }

    #[test]
    fn a_resolved_strip_is_reached_by_its_local_host_name() {
        let strip = FoundStrip::of(
            "wled-desk._wled._tcp.local.",
            "wled-desk.local.",
            80,
            [v4([192, 168, 1, 20])],
        )
        .unwrap();
        assert_eq!(
            strip,
            FoundStrip {
                name: "wled-desk".into(),
                host: "wled-desk.local".into(),
                port: 80,
                addresses: vec![v4([192, 168, 1, 20])],
                target: "wled://wled-desk.local".into(),
            }
        );
        assert_eq!(
            strip.to_string(),
            "wled-desk  wled-desk.local:80  192.168.1.20  → port = \"wled://wled-desk.local\""
        );
    }

    #[test]
    fn another_web_port_is_part_of_the_value() {
        let strip = FoundStrip::of("a._wled._tcp.local.", "a.local.", 8080, [v4([10, 0, 0, 5])]);
        assert_eq!(strip.unwrap().target, "wled://a.local:8080");
    }

    #[test]
    fn a_malformed_host_name_falls_back_to_an_address_ipv4_first() {
        let v6: IpAddr = "2001:db8::7".parse().unwrap();
        let strip = FoundStrip::of(
            "x._wled._tcp.local.",
            "evil\"host\n.local.",
            80,
            [v6, v4([192, 168, 1, 9])],
        )
        .unwrap();
        assert_eq!(strip.target, "wled://192.168.1.9");
        assert_eq!(strip.addresses, vec![v4([192, 168, 1, 9]), v6]);
        assert_eq!(
            strip.host, "evil\"host\u{fffd}.local",
            "shown, controls visible"
        );

        let only_v6 = FoundStrip::of("x._wled._tcp.local.", "-bad.local.", 80, [v6]).unwrap();
        assert_eq!(only_v6.target, "wled://[2001:db8::7]");
        let not_local = FoundStrip::of("x._wled._tcp.local.", "wled.example.com.", 80, [v6]);
        assert_eq!(not_local.unwrap().target, "wled://[2001:db8::7]");
    }

    #[test]
    fn a_strip_with_no_usable_host_nor_address_is_not_listed() {
        let link_local: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(
            FoundStrip::of("x._wled._tcp.local.", "bad_host.local.", 80, [link_local]),
            None
        );
        assert_eq!(
            FoundStrip::of("x._wled._tcp.local.", "", 80, [IpAddr::from([0, 0, 0, 0])]),
            None
        );
    }

    #[test]
    fn names_from_the_network_are_unescaped_made_visible_and_cut() {
        let strip = FoundStrip::of(
            "Desk\\.left\\\\\u{202e}\x1b[2J._wled._tcp.local.",
            "desk.local.",
            80,
            [],
        )
        .unwrap();
        assert_eq!(strip.name, "Desk.left\\\u{fffd}\u{fffd}[2J");
        let long = format!("{}._wled._tcp.local.", "n".repeat(200));
        let strip = FoundStrip::of(&long, "desk.local.", 80, []).unwrap();
        assert_eq!(strip.name.chars().count(), text::MAX_NAME);
        assert!(strip.name.ends_with(text::ELLIPSIS));
        let utf8 = FoundStrip::of("Caf\\195\\169 \\255._wled._tcp.local.", "c.local.", 80, []);
        assert_eq!(utf8.unwrap().name, "Café \u{fffd}");
        let unnamed = FoundStrip::of("._wled._tcp.local.", "desk.local.", 80, []).unwrap();
        assert_eq!(unnamed.name, "desk.local", "no instance name: the host's");
    }

    #[test]
    fn addresses_are_deduplicated_sorted_and_capped() {
        let many: Vec<IpAddr> = (0..40u8).rev().map(|i| v4([10, 0, 0, i])).collect();
        let mut twice = many.clone();
        twice.extend(many);
        twice.push(IpAddr::from([224, 0, 0, 251]));
        let strip = FoundStrip::of("a._wled._tcp.local.", "a.local.", 80, twice).unwrap();
        assert_eq!(strip.addresses.len(), MAX_ADDRESSES);
        assert_eq!(strip.addresses[0], v4([10, 0, 0, 0]));
        assert!(strip.addresses.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn the_list_keeps_at_most_max_strips_and_an_update_replaces_its_entry() {
        let mut found = BTreeMap::new();
        let strip = |i: usize| {
            FoundStrip::of(&format!("s{i}._wled._tcp.local."), "s.local.", 80, []).unwrap()
        };
        for i in 0..MAX_STRIPS + 10 {
            found_update(&mut found, format!("s{i}"), Some(strip(i)));
        }
        assert_eq!(found.len(), MAX_STRIPS);
        assert!(!found.contains_key(&format!("s{}", MAX_STRIPS + 1)));
        let moved = FoundStrip::of("s0._wled._tcp.local.", "s0.local.", 80, []).unwrap();
        assert!(found_update(&mut found, "s0".into(), Some(moved.clone())));
        assert!(!found_update(&mut found, "s0".into(), Some(moved.clone())));
        assert_eq!(found["s0"], moved);
        assert!(found_update(&mut found, "s0".into(), None));
        assert_eq!(found.len(), MAX_STRIPS - 1);
    }

    #[test]
    fn a_well_formed_local_host_name_is_checked_label_by_label() {
        assert!(is_local_host_name("wled-desk.local"));
        assert!(is_local_host_name("A1.b-2.LOCAL"));
        for bad in [
            "wled.local.evil",
            "we led.local",
            "wled..local",
            "-wled.local",
            "wled-.local",
            "local",
            "wled.com",
            "wled/x.local",
            "wled:1.local",
        ] {
            assert!(!is_local_host_name(bad), "{bad}");
        }
        assert!(!is_local_host_name(&format!("{}.local", "a".repeat(64))));
    }
}
