//! Finding Wi-Fi strips for real: a WLED-like responder (mdns-sd's daemon, tests/support/mdns.rs)
//! announces `_wled._tcp` instances on this machine's network, and our browser, the window's worker and
//! `ledtogo ports` find them through multicast looped back on the same host; a withdrawn strip (goodbye
//! packets) leaves the list. `ledtogo ports` in a network namespace without any network (`unshare -rn`)
//! says why it cannot search. The tests here run one at a time: they count this process's threads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mdns.rs"]
mod mdns;
mod support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ledtogo::outputs::mdns::{Browser, Discovery, FoundStrip};
use mdns::{Announced, Responder, thread_names};
use parking_lot::Mutex;
use support::{ledtogo, wait_until};

const LIMIT: Duration = Duration::from_secs(20);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn listed<'a>(strips: &'a [FoundStrip], strip: &Announced) -> Option<&'a FoundStrip> {
    strips.iter().find(|s| s.name == strip.name)
}

#[test]
fn the_browser_finds_an_announced_strip_with_its_host_port_and_address_and_drops_it_on_goodbye() {
    let _one = ONE_AT_A_TIME.lock();
    let responder = Responder::start();
    let desk = responder.announce("desk", 80);
    let shelf = responder.announce("shelf", 8080);
    let mut browser = Browser::start().unwrap();
    let found = wait_until(LIMIT, || {
        browser.wait(Duration::from_millis(100)).unwrap();
        let strips = browser.strips();
        listed(&strips, &desk).is_some() && listed(&strips, &shelf).is_some()
    });
    assert!(found, "not found: {:?}", browser.strips());
    let strips = browser.strips();
    assert_eq!(
        listed(&strips, &desk).unwrap(),
        &FoundStrip {
            name: desk.name.clone(),
            host: desk.host.clone(),
            port: 80,
            addresses: vec![desk.address],
            target: format!("wled://{}", desk.host),
        }
    );
    assert_eq!(
        listed(&strips, &shelf).unwrap().target,
        format!("wled://{}:8080", shelf.host)
    );

    responder.withdraw(&desk);
    let gone = wait_until(LIMIT, || {
        browser.wait(Duration::from_millis(100)).unwrap();
        listed(&browser.strips(), &desk).is_none()
    });
    assert!(gone, "still listed: {:?}", browser.strips());
    assert!(listed(&browser.strips(), &shelf).is_some());
}

#[test]
fn the_windows_worker_browses_only_while_wanted_and_wakes_the_window_with_each_change() {
    let _one = ONE_AT_A_TIME.lock();
    let responder = Responder::start();
    let daemons = || {
        thread_names()
            .iter()
            .filter(|n| *n == "mDNS_daemon")
            .count()
    };
    let workers = || {
        thread_names()
            .iter()
            .filter(|n| *n == "wifi-strips")
            .count()
    };
    // The responder's own daemon thread starts (and an earlier test's stops) in the background: count
    // once the number holds still.
    let settled = || {
        let mut last = daemons();
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let now = daemons();
            if now == last {
                return now;
            }
            last = now;
        }
    };
    let before = settled();
    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = wakes.clone();
    let discovery = Discovery::with(
        Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }),
        ledtogo::outputs::mdns::MDNS_PORT,
        Duration::from_secs(2),
        Duration::from_secs(1),
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        (workers(), settled(), discovery.is_running()),
        (0, before, false),
        "nothing runs before the list is wanted"
    );

    let strip = responder.announce("worker", 80);
    discovery.want();
    assert!(discovery.found().browsing);
    // Wanted again and again (a Device tab being drawn), it keeps browsing past the linger time.
    let found = wait_until(LIMIT, || {
        discovery.want();
        listed(&discovery.found().strips, &strip).is_some()
    });
    assert!(found, "{:?}", discovery.found());
    assert!(
        wakes.load(Ordering::SeqCst) >= 1,
        "a change wakes the window"
    );
    assert_eq!((workers(), daemons()), (1, before + 1));
    assert_eq!(discovery.found().problem, None);

    responder.withdraw(&strip);
    assert!(wait_until(LIMIT, || {
        discovery.want();
        listed(&discovery.found().strips, &strip).is_none()
    }));

    // No longer wanted: after the linger time it wakes the window once to ask, then stops, and nothing
    // of it is left: no thread, no mDNS daemon.
    let asked = wakes.load(Ordering::SeqCst);
    assert!(wait_until(LIMIT, || !discovery.is_running()));
    assert!(
        wakes.load(Ordering::SeqCst) > asked,
        "it asked before stopping"
    );
    assert!(wait_until(Duration::from_secs(3), || workers() == 0
        && daemons() == before));
    assert!(!discovery.found().browsing);

    // Wanted again, it starts again.
    discovery.want();
    assert!(discovery.is_running());
    drop(discovery);
    assert!(wait_until(LIMIT, || workers() == 0 && daemons() == before));
}

#[test]
fn ledtogo_ports_lists_an_announced_strip_with_the_value_for_the_config() {
    let _one = ONE_AT_A_TIME.lock();
    let responder = Responder::start();
    let strip = responder.announce("ports", 80);
    // Announced before the command starts: the responder answers its query.
    std::thread::sleep(Duration::from_millis(500));
    let out = ledtogo().args(["ports", "--no-probe"]).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let heading = stdout
        .lines()
        .position(|l| l.starts_with("Wi-Fi strips"))
        .unwrap_or_else(|| panic!("no Wi-Fi heading: {stdout}"));
    let line = stdout
        .lines()
        .skip(heading)
        .find(|l| l.contains(&strip.name))
        .unwrap_or_else(|| panic!("not listed: {stdout}"));
    assert_eq!(
        line,
        format!(
            "  {0}  {1}:80  {2}  → port = \"wled://{1}\"",
            strip.name, strip.host, strip.address
        )
    );

    let out = ledtogo()
        .args(["ports", "--no-probe", "--no-network"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("Wi-Fi"), "{stdout}");
}

#[test]
fn ledtogo_ports_without_a_network_says_why_it_cannot_search() {
    let _one = ONE_AT_A_TIME.lock();
    // A network namespace of its own with only a loopback that is down (user namespaces let any user
    // make one; without them this machine cannot run the test, and says so).
    let probe = Command::new("unshare").args(["-rn", "true"]).status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "`unshare -rn` does not work here (util-linux, user namespaces)"
    );
    let ledtogo = ledtogo();
    let out = Command::new("unshare")
        .args(["-rn", ledtogo.get_program().to_str().unwrap()])
        .args(["ports", "--no-probe"])
        .envs(ledtogo.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "Wi-Fi strips (WLED, announced over mDNS within 2 s):\n  cannot search the network for \
             Wi-Fi strips: no network interface takes mDNS multicast"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("connect this computer to the network the strip is on"),
        "{stdout}"
    );
}
