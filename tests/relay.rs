//! The office relay end to end: a headless ledtogo (the real binary) polls a simulated Jenkins and
//! serves `[export]`; desks (the real binary, `kind = "cctray"`) and a cctray client (an XML parser
//! checking the cctray spec) read it over loopback HTTP, and the Jenkins sees only the relay's polls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ledtogo::color::Rgb;
use ledtogo::config::Colors;
use ledtogo::model::JobState;
use ledtogo::sim::{Mode, SimItem, SimJenkins, SimJob};
use ledtogo::sources::ledtogo::feed::{Feed, WireJobState, WireServerState};

mod support;
use support::frames::{parse_frame, shown};
use support::{KillOnDrop, ledtogo, ledtogo_in, lines_of, private_runtime_dir, wait_until};

/// The office's jobs: a folder with a green, a red and an unstable job, and a green job to build.
fn office() -> SimJenkins {
    SimJenkins::start(vec![
        SimItem::folder(
            "team-a",
            vec![
                SimJob::new("web", Some(JobState::Success)).into(),
                SimJob::new("api", Some(JobState::Failure)).into(),
                SimJob::new("qa", Some(JobState::Unstable)).into(),
            ],
        ),
        SimJob::new("deploy", Some(JobState::Success)).into(),
    ])
    .unwrap()
}

/// The four slots every strip in these tests has: the same job names through the relay as direct.
const SLOTS: &str = "[strip]\nport = \"none\"\nleds = 4\n\
                     [[slots]]\nled = 0\njob = \"team-a/web\"\n\
                     [[slots]]\nled = 1\njob = \"team-a/api\"\n\
                     [[slots]]\nled = 2\njob = \"team-a/qa\"\n\
                     [[slots]]\nled = 3\njob = \"deploy\"\n";

/// A headless ledtogo with `--print-frames` and its log, killed on drop.
struct Ledtogo {
    frames: Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
    config: std::path::PathBuf,
    /// Its runtime folder: `ledtogo ack` given the same one reaches it.
    runtime: std::path::PathBuf,
    _dir: tempfile::TempDir,
    child: KillOnDrop,
}

impl Ledtogo {
    fn start(config: &str, env: &[(&str, &str)]) -> Ledtogo {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        let runtime = private_runtime_dir();
        let mut cmd = ledtogo_in(&runtime);
        cmd.args(["--headless", "--print-frames", "--config"])
            .arg(&path)
            .env("RUST_LOG", "info,ledtogo::engine=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let frames = lines_of(&mut child);
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                lines.lock().unwrap().push(line);
            }
        });
        Ledtogo {
            frames,
            log,
            config: path,
            runtime,
            _dir: dir,
            child: KillOnDrop(child),
        }
    }

    /// The relay's address (`127.0.0.1:PORT`) from its log line "relay: serving http://…/cc.xml".
    fn relay_addr(&self) -> String {
        let mut addr = None;
        let found = wait_until(Duration::from_secs(20), || {
            addr = self.log.lock().unwrap().iter().find_map(|l| {
                let rest = l.split("relay: serving http://").nth(1)?;
                Some(rest.split('/').next()?.to_owned())
            });
            addr.is_some()
        });
        assert!(
            found,
            "no relay line in the log: {:?}",
            self.log.lock().unwrap()
        );
        addr.unwrap()
    }

    /// Waits (up to 20 s) for a frame that `want` accepts; the frames seen meanwhile on failure.
    fn wait_for(&self, mut want: impl FnMut(&[Rgb]) -> bool) -> Result<Vec<Rgb>, Vec<String>> {
        let end = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.frames.recv_timeout(left) {
                Ok(line) => {
                    let frame = parse_frame(&line);
                    if want(&frame) {
                        return Ok(frame);
                    }
                    seen.push(line);
                }
                Err(_) => break,
            }
        }
        Err(seen.split_off(seen.len().saturating_sub(5)))
    }

    /// Waits for a frame whose LED `led` `want` accepts; fails the test with `what` otherwise.
    fn shows_led(&self, led: usize, want: impl Fn(Rgb) -> bool, what: &str) {
        if let Err(seen) = self.wait_for(|f| f.get(led).is_some_and(|&px| want(px))) {
            panic!("{what}: last frames {seen:?}");
        }
    }

    /// Waits for exactly `want`; fails the test with `what` and the last frames seen.
    fn shows(&self, want: &[Rgb], what: &str) {
        if let Err(seen) = self.wait_for(|f| f == want) {
            panic!("{what}: wanted {want:?}, last frames {seen:?}");
        }
    }

    /// The Jenkins requests the relay's polls made, as its debug log counts them ("polled … requests=N").
    fn polled_requests(&self) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("polled"))
            .filter_map(|l| {
                l.split("requests=")
                    .nth(1)?
                    .split(' ')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .sum()
    }

    /// The log lines containing `text`.
    fn logged(&self, text: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(text))
            .count()
    }

    fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// `ledtogo ack ARGS` against this instance, retried (up to 20 s) until it succeeds when `retry`.
    fn ack(&self, args: &[&str], retry: bool) -> std::process::Output {
        let run = || {
            ledtogo_in(&self.runtime)
                .arg("ack")
                .args(args)
                .arg("--config")
                .arg(&self.config)
                .output()
                .unwrap()
        };
        let mut out = run();
        if retry {
            wait_until(Duration::from_secs(20), || {
                out = run();
                out.status.success()
            });
        }
        out
    }
}

/// The relay: a headless ledtogo polling `sim` with `[export]` on an OS-chosen loopback port.
fn relay(sim: &SimJenkins, export_extra: &str, env: &[(&str, &str)]) -> (Ledtogo, String) {
    let relay = Ledtogo::start(
        &format!(
            "poll_seconds = 1\n[[servers]]\nname = \"office\"\nurl = \"{}\"\n{SLOTS}\
             [export]\nlisten = \"127.0.0.1:0\"\n{export_extra}",
            sim.url()
        ),
        env,
    );
    let addr = relay.relay_addr();
    (relay, addr)
}

/// A desk reading the relay's `/cc.xml` with `kind = "cctray"`, no CI credentials of its own.
fn desk(addr: &str, auth: &str, env: &[(&str, &str)]) -> Ledtogo {
    Ledtogo::start(
        &format!(
            "poll_seconds = 1\n[[servers]]\nname = \"relay\"\nkind = \"cctray\"\n\
             url = \"http://{addr}/cc.xml\"\n{auth}{SLOTS}"
        ),
        env,
    )
}

/// One HTTP answer, read to the end (the relay closes every connection after its answer).
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// Sends `raw` (a whole request) to `addr` and reads the answer.
fn exchange(addr: &str, raw: &[u8]) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    stream.write_all(raw)?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(&bytes)));
    let head = String::from_utf8(bytes[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    Ok(Reply {
        status,
        headers,
        body: bytes[split + 4..].to_vec(),
    })
}

/// `METHOD path` with `headers`.
fn call(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (n, v) in headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    exchange(addr, raw.as_bytes()).unwrap()
}

fn get(addr: &str, path: &str) -> Reply {
    call(addr, "GET", path, &[])
}

fn basic(user: &str, token: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    )
}

/// The relay's rich feed, once its first poll is in.
fn polled_feed(addr: &str, headers: &[(&str, &str)]) -> Feed {
    let mut feed = None;
    let polled = wait_until(Duration::from_secs(20), || {
        let reply = call(addr, "GET", "/api/json", headers);
        feed = Feed::parse(&reply.body).ok();
        feed.as_ref()
            .is_some_and(|f| f.servers.iter().all(|s| s.state == WireServerState::Ok))
    });
    assert!(polled, "the relay never polled: {feed:?}");
    feed.unwrap()
}

#[test]
fn desks_on_the_relay_show_what_a_direct_poll_shows_and_the_jenkins_sees_only_the_relays_polls() {
    let sim = office();
    let (relay, addr) = relay(&sim, "", &[]);
    let desks = [desk(&addr, "", &[]), desk(&addr, "", &[])];
    let c = Colors::default();
    let (ok, bad, unstable) = (shown(c.success), shown(c.failure), shown(c.unstable));
    relay.shows(
        &[ok, bad, unstable, ok],
        "the relay polls the Jenkins directly",
    );
    for desk in &desks {
        desk.shows(
            &[ok, bad, bad, ok],
            "the same states through cctray, unstable as failure (cctray has no unstable)",
        );
    }

    sim.start_build("deploy");
    let pulsing = |frame: &[Rgb]| frame[..3] == [ok, bad, bad] && frame[3] != ok;
    for desk in &desks {
        desk.wait_for(pulsing)
            .expect("a build on the Jenkins pulses on the desks");
    }
    sim.finish_build("deploy", JobState::Failure);
    for desk in &desks {
        desk.shows(&[ok, bad, bad, bad], "and its failure arrives");
    }

    // The desks polled the relay every second all along; the Jenkins counted the relay's polls only.
    drop(desks);
    let relay_log = relay.log.clone();
    drop(relay);
    let polled = {
        let log = relay_log.lock().unwrap();
        let lines: Vec<&String> = log.iter().filter(|l| l.contains("polled")).collect();
        assert!(lines.len() >= 3, "{log:?}");
        lines
            .iter()
            .filter_map(|l| {
                l.split("requests=")
                    .nth(1)?
                    .split(' ')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .sum::<usize>()
    };
    let seen = sim.requests();
    assert!(
        seen == polled || seen == polled + 1,
        "the Jenkins saw {seen} requests, the relay made {polled} (one may have been cut off by its end)"
    );
}

/// A desk reading the relay's rich feed with `kind = "ledtogo"`, no CI credentials of its own.
fn ledtogo_desk(addr: &str) -> Ledtogo {
    Ledtogo::start(
        &format!(
            "poll_seconds = 1\n[[servers]]\nname = \"office\"\nkind = \"ledtogo\"\n\
             url = \"http://{addr}/\"\n{SLOTS}"
        ),
        &[],
    )
}

/// The Project names and statuses of the relay's `/cc.xml`, as a cctray client (an XML parser) reads it.
fn cctray_statuses(addr: &str) -> BTreeMap<String, String> {
    let xml = get(addr, "/cc.xml").text();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    doc.root_element()
        .children()
        .filter(|n| n.has_tag_name("Project"))
        .map(|n| {
            (
                n.attribute("name").unwrap().to_owned(),
                n.attribute("lastBuildStatus").unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn one_relay_serves_a_ledtogo_desk_exactly_a_cctray_desk_and_a_cctray_client_and_the_jenkins_sees_only_its_polls()
 {
    let sim = office();
    let (relay, addr) = relay(&sim, "", &[]);
    let exact = ledtogo_desk(&addr);
    let cctray = desk(&addr, "", &[]);
    let c = Colors::default();
    let (ok, bad, unstable) = (shown(c.success), shown(c.failure), shown(c.unstable));
    relay.shows(&[ok, bad, unstable, ok], "the relay polls the Jenkins");
    exact.shows(
        &[ok, bad, unstable, ok],
        "a ledtogo desk loses nothing through the relay: unstable stays unstable",
    );
    cctray.shows(
        &[ok, bad, bad, ok],
        "a cctray desk sees what cctray can carry",
    );
    let client = cctray_statuses(&addr);
    assert_eq!(
        client,
        BTreeMap::from(
            [
                ("deploy", "Success"),
                ("team-a/api", "Failure"),
                ("team-a/qa", "Failure"),
                ("team-a/web", "Success"),
            ]
            .map(|(n, s)| (n.to_owned(), s.to_owned()))
        ),
        "a cctray client reads every job by its full name"
    );

    sim.start_build("deploy");
    let pulsing = |frame: &[Rgb]| frame[..3] == [ok, bad, unstable] && frame[3] != ok;
    exact
        .wait_for(pulsing)
        .expect("a build on the Jenkins pulses on the ledtogo desk");
    sim.finish_build("deploy", JobState::Unstable);
    exact.shows(
        &[ok, bad, unstable, unstable],
        "and its result arrives exactly",
    );
    cctray.shows(&[ok, bad, bad, bad], "and as a failure through cctray");

    // The Jenkins goes down: the relay shows its jobs stale, and so does the ledtogo desk, never green.
    // (The relay's failed polls are not in its "polled" log lines: counted here, by the Jenkins.)
    let before_outage = sim.requests();
    sim.set_mode(Mode::Status(503));
    let stale = relay
        .wait_for(|f| f[0] == shown(c.stale))
        .expect("the relay marks the jobs stale");
    assert!(
        !stale.contains(&ok),
        "a stale strip never looks green: {stale:?}"
    );
    exact.shows(&stale, "the ledtogo desk shows the relay's stale frame");
    let unknown = wait_until(Duration::from_secs(20), || {
        cctray_statuses(&addr).values().all(|s| s == "Unknown")
    });
    assert!(unknown, "cctray readers see Unknown, not the last green");

    sim.set_mode(Mode::Normal);
    let outage = sim.requests() - before_outage;
    exact.shows(
        &[ok, bad, unstable, unstable],
        "and recovers with the relay",
    );

    drop((exact, cctray));
    let polled = relay.polled_requests();
    drop(relay);
    let seen = sim.requests();
    // Beside the outage's failed polls, the Jenkins saw the relay's logged polls, give or take a poll
    // at each switch of the mode and one in flight when the relay stopped; two desks polling every
    // second for the whole test would have made many more.
    let answered = seen - outage;
    assert!(
        (polled.saturating_sub(1)..=polled + 2).contains(&answered),
        "the Jenkins saw {seen} requests ({outage} during the outage), the relay logged {polled} polls: \
         the desks made none"
    );
}

#[test]
fn cc_xml_is_a_cctray_feed_by_the_spec_and_api_json_keeps_every_state() {
    let sim = office();
    sim.state().job_mut("deploy").unwrap().estimated_ms = Some(90_000);
    sim.start_build("deploy");
    let (_relay, addr) = relay(&sim, "", &[]);
    let feed = polled_feed(&addr, &[]);

    let reply = get(&addr, "/cc.xml");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    let xml = reply.text();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert!(root.has_tag_name("Projects"), "{xml}");
    let mut projects = BTreeMap::new();
    for p in root.children().filter(roxmltree::Node::is_element) {
        assert!(p.has_tag_name("Project"), "{xml}");
        let name = p.attribute("name").expect("name is required");
        let activity = p.attribute("activity").unwrap();
        assert!(
            ["Sleeping", "Building", "CheckingModifications"].contains(&activity),
            "{activity}"
        );
        let status = p.attribute("lastBuildStatus").unwrap();
        assert!(
            ["Success", "Failure", "Exception", "Unknown"].contains(&status),
            "{status}"
        );
        if let Some(time) = p.attribute("lastBuildTime") {
            assert!(time.ends_with('Z'), "{time}");
            chrono::DateTime::parse_from_rfc3339(time).unwrap();
        }
        let web = p.attribute("webUrl").unwrap();
        assert!(ledtogo::weburl::is_web_url(web), "{web}");
        projects.insert(
            name.to_owned(),
            (
                activity.to_owned(),
                status.to_owned(),
                p.attribute("lastBuildLabel").map(str::to_owned),
            ),
        );
    }
    let p = |name: &str| projects[name].clone();
    assert_eq!(
        p("team-a/web"),
        ("Sleeping".into(), "Success".into(), Some("1".into()))
    );
    assert_eq!(p("team-a/api").1, "Failure");
    assert_eq!(
        p("team-a/qa").1,
        "Failure",
        "unstable maps to Failure, as Jenkins' plugin does"
    );
    assert_eq!(
        p("deploy"),
        ("Building".into(), "Success".into(), Some("1".into())),
        "building, with the finished build's result and label"
    );
    assert!(
        root.children()
            .filter(roxmltree::Node::is_element)
            .filter(|n| n.attribute("name") != Some("deploy"))
            .all(|n| n.attribute("lastBuildTime").is_some()),
        "finished builds carry their time"
    );

    let reply = get(&addr, "/api/json");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let office = &feed.servers[0];
    assert_eq!(office.name, "office");
    let state = |path: &[&str]| {
        office
            .jobs
            .iter()
            .find(|j| j.path == path)
            .map(|j| (j.state, j.building))
            .unwrap()
    };
    assert_eq!(
        state(&["team-a", "qa"]),
        (WireJobState::Unstable, false),
        "exact, not folded"
    );
    assert_eq!(state(&["deploy"]), (WireJobState::Success, true));
    let deploy = office.jobs.iter().find(|j| j.path == ["deploy"]).unwrap();
    let running = deploy.last_build.as_ref().unwrap();
    assert!(running.building && running.timestamp_ms.is_some());
    assert_eq!(
        running.estimated_ms,
        Some(90_000),
        "the build's estimate goes on to the desks: they show its progress"
    );

    assert_eq!(get(&addr, "/").status, 200);
    assert!(get(&addr, "/").text().contains("/cc.xml"));
    assert_eq!(get(&addr, "/jenkins/api/json").status, 404);
}

#[test]
fn both_feeds_answer_304_to_their_own_etag_until_the_jobs_change() {
    let sim = office();
    let (_relay, addr) = relay(&sim, "", &[]);
    polled_feed(&addr, &[]);
    for path in ["/cc.xml", "/api/json"] {
        let first = get(&addr, path);
        let etag = first.header("etag").unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert_eq!(
            get(&addr, path).header("etag"),
            Some(etag.as_str()),
            "same jobs, same tag"
        );
        let again = call(&addr, "GET", path, &[("If-None-Match", &etag)]);
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        let other = call(&addr, "GET", path, &[("If-None-Match", "\"0000\"")]);
        assert_eq!(other.status, 200, "another tag gets the body");
        let head = call(&addr, "HEAD", path, &[]);
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty(), "HEAD has no body");
        assert_eq!(
            head.header("content-length"),
            Some(first.body.len().to_string().as_str())
        );
    }
    let tags = |addr: &str| {
        ["/cc.xml", "/api/json"].map(|p| get(addr, p).header("etag").unwrap().to_owned())
    };
    let before = tags(&addr);
    sim.finish_build("team-a/web", JobState::Failure);
    assert!(
        wait_until(Duration::from_secs(20), || {
            let now = tags(&addr);
            now[0] != before[0] && now[1] != before[1]
        }),
        "a new state gives both feeds a new tag"
    );
    let cc = call(&addr, "GET", "/cc.xml", &[("If-None-Match", &before[0])]);
    assert_eq!(cc.status, 200);
    assert!(
        cc.text()
            .contains("name=\"team-a/web\" activity=\"Sleeping\" lastBuildStatus=\"Failure\"")
    );
}

#[test]
fn with_auth_a_reader_needs_the_user_and_token_and_a_desk_with_them_reads_the_relay() {
    let sim = office();
    let env = [("LEDTOGO_TEST_RELAY_TOKEN", "r3lay-token")];
    let (_relay, addr) = relay(
        &sim,
        "user = \"office\"\ntoken_env = \"LEDTOGO_TEST_RELAY_TOKEN\"\n",
        &env,
    );
    for path in ["/cc.xml", "/api/json", "/"] {
        let none = get(&addr, path);
        assert_eq!(none.status, 401, "{path}");
        assert_eq!(
            none.header("www-authenticate"),
            Some("Basic realm=\"ledtogo\"")
        );
        assert!(!none.text().contains("team-a"), "nothing leaks");
        let wrong = call(
            &addr,
            "GET",
            path,
            &[("Authorization", &basic("office", "guess"))],
        );
        assert_eq!(wrong.status, 401);
        let other_user = call(
            &addr,
            "GET",
            path,
            &[("Authorization", &basic("alice", "r3lay-token"))],
        );
        assert_eq!(other_user.status, 401);
    }
    let right = basic("office", "r3lay-token");
    polled_feed(&addr, &[("Authorization", &right)]);
    assert_eq!(
        call(&addr, "GET", "/cc.xml", &[("Authorization", &right)]).status,
        200
    );

    let desk = desk(
        &addr,
        "user = \"office\"\ntoken_env = \"DESK_TOKEN\"\n",
        &[("DESK_TOKEN", "r3lay-token")],
    );
    let c = Colors::default();
    desk.shows(
        &[
            shown(c.success),
            shown(c.failure),
            shown(c.failure),
            shown(c.success),
        ],
        "a desk with the relay's user and token reads it",
    );
}

#[test]
fn when_the_jenkins_cannot_be_read_its_jobs_are_unknown_in_cc_xml_and_stale_in_api_json() {
    let sim = office();
    let (_relay, addr) = relay(&sim, "", &[]);
    polled_feed(&addr, &[]);
    sim.set_mode(Mode::Status(503));
    let all_unknown = wait_until(Duration::from_secs(20), || {
        let xml = get(&addr, "/cc.xml").text();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let statuses: Vec<&str> = doc
            .root_element()
            .children()
            .filter_map(|n| n.attribute("lastBuildStatus"))
            .collect();
        statuses.len() == 4 && statuses.iter().all(|s| *s == "Unknown")
    });
    assert!(
        all_unknown,
        "never the last green: {}",
        get(&addr, "/cc.xml").text()
    );
    let feed = Feed::parse(&get(&addr, "/api/json").body).unwrap();
    let office = &feed.servers[0];
    assert_eq!(office.state, WireServerState::Unreachable);
    assert_eq!(office.reason.as_deref(), Some("HTTP 503"));
    assert_eq!(office.jobs.len(), 4, "the last known jobs stay");
    assert!(office.jobs.iter().all(|j| j.stale), "{office:?}");
    let web = office
        .jobs
        .iter()
        .find(|j| j.path == ["team-a", "web"])
        .unwrap();
    assert_eq!(
        web.state,
        WireJobState::Success,
        "the rich feed keeps the last state, marked stale"
    );
}

/// A desk reading the relay's rich feed with the relay's user and token (`DESK_TOKEN`).
fn ledtogo_desk_with_auth(addr: &str) -> Ledtogo {
    Ledtogo::start(
        &format!(
            "poll_seconds = 1\n[[servers]]\nname = \"office\"\nkind = \"ledtogo\"\n\
             url = \"http://{addr}/\"\nuser = \"office\"\ntoken_env = \"DESK_TOKEN\"\n{SLOTS}"
        ),
        &[("DESK_TOKEN", "r3lay-token")],
    )
}

fn post(addr: &str, path: &str, auth: &str, body: &str) -> Reply {
    exchange(
        addr,
        format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap()
}

#[test]
fn an_acknowledgement_made_on_a_desk_reaches_the_relay_and_every_other_desk() {
    let sim = office();
    let env = [("LEDTOGO_TEST_RELAY_TOKEN", "r3lay-token")];
    let (_relay, addr) = relay(
        &sim,
        "user = \"office\"\ntoken_env = \"LEDTOGO_TEST_RELAY_TOKEN\"\n",
        &env,
    );
    let right = basic("office", "r3lay-token");
    polled_feed(&addr, &[("Authorization", &right)]);
    let (alice, bob) = (ledtogo_desk_with_auth(&addr), ledtogo_desk_with_auth(&addr));
    let bad = shown(Colors::default().failure);
    bob.shows_led(1, |px| px == bad, "bob's desk shows team-a/api failing");

    let made = alice.ack(
        &[
            "team-a/api",
            "--by",
            "alice",
            "--note",
            "looking at the flaky test",
        ],
        true,
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(
        String::from_utf8_lossy(&made.stdout)
            .starts_with("office:team-a/api: on it: alice (looking at the flaky test)"),
        "{}",
        String::from_utf8_lossy(&made.stdout)
    );
    // The relay has it (sent with the desk's Basic auth), so its feed carries it…
    assert!(wait_until(Duration::from_secs(20), || {
        let feed = Feed::parse(&call(&addr, "GET", "/api/json", &[("Authorization", &right)]).body);
        feed.is_ok_and(|f| f.servers[0].acks.iter().any(|a| a.by == "alice"))
    }));
    // …and another desk shows it: its LED calms down, its list names alice.
    bob.shows_led(1, |px| px != bad && px.r > 0, "bob's LED breathes");
    assert!(wait_until(Duration::from_secs(20), || {
        String::from_utf8_lossy(&bob.ack(&["--list"], false).stdout)
            .starts_with("office:team-a/api: on it: alice (looking at the flaky test)")
    }));

    // Ended on bob's desk: gone from the relay and from alice's.
    let cleared = bob.ack(&["--clear", "team-a/api"], false);
    assert!(
        cleared.status.success(),
        "{}",
        String::from_utf8_lossy(&cleared.stderr)
    );
    assert!(wait_until(Duration::from_secs(20), || {
        String::from_utf8_lossy(&alice.ack(&["--list"], false).stdout) == "nobody is on any job\n"
    }));

    // The relay takes POST on exactly /ack, with its auth, and checks what comes.
    let ack = r#"{"op":"ack","job":"team-a/api","by":"carol"}"#;
    assert_eq!(
        post(&addr, "/ack", &basic("office", "guess"), ack).status,
        401
    );
    assert_eq!(post(&addr, "/cc.xml", &right, ack).status, 405);
    let refused = post(
        &addr,
        "/ack",
        &right,
        r#"{"op":"ack","job":"team-a/web","by":"carol"}"#,
    );
    assert_eq!(refused.status, 409);
    assert!(refused.text().contains("not failing"), "{}", refused.text());
    assert_eq!(post(&addr, "/ack", &right, "{\"op\":").status, 400);
    assert_eq!(post(&addr, "/ack", &right, r#"{"op":"list"}"#).status, 400);
    let huge = format!(
        r#"{{"op":"ack","job":"team-a/api","by":"{}"}}"#,
        "x".repeat(10_000)
    );
    assert_eq!(post(&addr, "/ack", &right, &huge).status, 413);
    let chunked = exchange(
        &addr,
        format!(
            "POST /ack HTTP/1.1\r\nHost: x\r\nAuthorization: {right}\r\n\
             Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(chunked.status, 411);
    let ok = post(&addr, "/ack", &right, ack);
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(
        ok.text().starts_with("office:team-a/api: on it: carol"),
        "{}",
        ok.text()
    );
}

#[test]
fn a_post_a_huge_header_garbage_or_a_crowd_of_idle_clients_do_no_harm() {
    let sim = office();
    let (relay, addr) = relay(&sim, "", &[]);
    polled_feed(&addr, &[]);

    let post = exchange(
        &addr,
        b"POST /cc.xml HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    )
    .unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    assert_eq!(call(&addr, "DELETE", "/api/json", &[]).status, 405);

    let huge = "a".repeat(64 * 1024);
    let big = call(&addr, "GET", "/cc.xml", &[("X-Huge", &huge)]);
    assert_eq!(big.status, 431);
    let garbage = exchange(
        &addr,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    )
    .unwrap();
    assert_eq!(garbage.status, 400);

    // Idle connections hold at most the relay's cap of threads; the one after them is told to come back.
    let threads = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", relay.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .unwrap()
            .trim()
            .parse::<usize>()
            .unwrap()
    };
    let before = threads();
    let idle: Vec<TcpStream> = (0..ledtogo::export::MAX_CONNECTIONS + 20)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        threads() <= before + ledtogo::export::MAX_CONNECTIONS,
        "{} threads with {} idle clients (before: {before})",
        threads(),
        idle.len()
    );
    let busy = get(&addr, "/cc.xml");
    assert_eq!(busy.status, 503);
    assert_eq!(busy.header("retry-after"), Some("5"));
    drop(idle);
    assert!(
        wait_until(Duration::from_secs(5), || get(&addr, "/cc.xml").status
            == 200),
        "served again once they left"
    );
    assert!(relay.polled_requests() > 0, "the relay kept polling");
}

#[test]
fn the_relay_follows_config_edits_and_retries_a_port_it_could_not_have_after_the_next_edit() {
    let sim = office();
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = blocker.local_addr().unwrap().to_string();
    let config = |export: &str| {
        format!(
            "poll_seconds = 1\n[[servers]]\nname = \"office\"\nurl = \"{}\"\n{SLOTS}{export}",
            sim.url()
        )
    };
    let env = [("LEDTOGO_TEST_RELAY_TOKEN", "r3lay-token")];
    let relay = Ledtogo::start(&config(&format!("[export]\nlisten = \"{addr}\"\n")), &env);
    assert!(
        wait_until(Duration::from_secs(20), || relay
            .logged("relay: cannot listen on")
            == 1),
        "{:?}",
        relay.log.lock().unwrap()
    );
    assert!(relay.logged("uses that port") == 1, "says what to do");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        relay.logged("relay: cannot listen on"),
        1,
        "logged once, not per tick"
    );

    // The port is free now; the next edit of the config tries again.
    drop(blocker);
    let edit = |text: &str| std::fs::write(&relay.config, text).unwrap();
    edit(&config(&format!(
        "# port freed\n[export]\nlisten = \"{addr}\"\n"
    )));
    assert!(
        wait_until(Duration::from_secs(20), || relay
            .logged(&format!("relay: serving http://{addr}/cc.xml"))
            == 1),
        "{:?}",
        relay.log.lock().unwrap()
    );
    polled_feed(&addr, &[]);

    edit(&config(&format!(
        "[export]\nlisten = \"{addr}\"\nuser = \"office\"\ntoken_env = \"LEDTOGO_TEST_RELAY_TOKEN\"\n"
    )));
    // The relay restarts its listener for the new auth: a request in flight then may be reset.
    assert!(
        wait_until(Duration::from_secs(20), || exchange(
            &addr,
            format!("GET /cc.xml HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()
        )
        .is_ok_and(|r| r.status == 401)),
        "new auth applies without a restart"
    );
    let right = basic("office", "r3lay-token");
    assert_eq!(
        call(&addr, "GET", "/cc.xml", &[("Authorization", &right)]).status,
        200
    );

    edit(&config(""));
    assert!(
        wait_until(Duration::from_secs(20), || TcpStream::connect(&addr)
            .is_err()),
        "no [export]: nothing listens"
    );
}

#[test]
fn check_shows_where_the_relay_serves_and_whether_its_token_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[export]\nlisten = \"0.0.0.0:8765\"\nuser = \"office\"\ntoken_env = \"LEDTOGO_TEST_RELAY_TOKEN\"\n",
    )
    .unwrap();
    let check = |token: Option<&str>| {
        let mut cmd = ledtogo();
        cmd.args(["check", "--config"]).arg(&path);
        match token {
            Some(t) => cmd.env("LEDTOGO_TEST_RELAY_TOKEN", t),
            None => cmd.env_remove("LEDTOGO_TEST_RELAY_TOKEN"),
        };
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let found = check(Some("r3lay-token"));
    assert!(
        found.contains(
            "relay: serving http://0.0.0.0:8765/cc.xml and /api/json, Basic auth as office (token found)"
        ),
        "{found}"
    );
    assert!(!found.contains("r3lay-token"), "{found}");
    let missing = check(None);
    assert!(
        missing.contains("Basic auth as office (token MISSING: [export]: environment variable LEDTOGO_TEST_RELAY_TOKEN (token_env) is not set)"),
        "{missing}"
    );
}
