//! A WLED-like mDNS responder for the discovery tests: mdns-sd's own daemon registers `_wled._tcp`
//! instances on this machine's network (multicast loops back to our browser on the same host) and
//! withdraws them with goodbye packets, as a strip does when it is switched off cleanly.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mdns_sd::{ServiceDaemon, ServiceInfo, UnregisterStatus};

/// Announces strips until dropped.
pub struct Responder {
    daemon: ServiceDaemon,
}

/// One announced strip.
#[derive(Debug, Clone)]
pub struct Announced {
    pub name: String,
    /// `NAME.local`, no final dot.
    pub host: String,
    pub address: IpAddr,
    pub port: u16,
    /// `NAME._wled._tcp.local.`
    pub fullname: String,
}

impl Responder {
    pub fn start() -> Responder {
        Responder {
            daemon: ServiceDaemon::new().unwrap(),
        }
    }

    /// Announces a strip with a name of its own (test runs side by side never see each other's) on
    /// host `NAME.local` at this machine's multicast address, web server on `port`.
    pub fn announce(&self, what: &str, port: u16) -> Announced {
        let name = unique(what);
        let host = format!("{name}.local");
        let address = IpAddr::V4(multicast_address());
        let info = ServiceInfo::new(
            "_wled._tcp.local.",
            &name,
            &format!("{host}."),
            address,
            port,
            &[("mac", "0123456789ab")][..],
        )
        .unwrap();
        let fullname = info.get_fullname().to_owned();
        self.daemon.register(info).unwrap();
        Announced {
            name,
            host,
            address,
            port,
            fullname,
        }
    }

    /// Withdraws a strip: goodbye packets (TTL 0), so browsers drop it at once.
    pub fn withdraw(&self, strip: &Announced) {
        let status = self.daemon.unregister(&strip.fullname).unwrap();
        assert!(matches!(
            status.recv_timeout(Duration::from_secs(10)).unwrap(),
            UnregisterStatus::OK
        ));
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Ok(done) = self.daemon.shutdown() {
            let _ = done.recv_timeout(Duration::from_secs(2));
        }
    }
}

/// `ledtogo-test-WHAT-PID-N`: a DNS label (letters, digits, hyphens) no other test run uses.
pub fn unique(what: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "ledtogo-test-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The IPv4 address this machine sends mDNS multicast from (the responder only announces addresses on
/// the subnet of an interface it answers on).
pub fn multicast_address() -> Ipv4Addr {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    socket
        .connect((Ipv4Addr::new(224, 0, 0, 251), 5353))
        .unwrap();
    match socket.local_addr().unwrap().ip() {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => unreachable!("an IPv4 socket"),
    }
}

/// The names of this process's threads (`/proc/self/task/*/comm`).
pub fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect()
}
