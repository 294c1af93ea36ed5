//! The fault matrix: each fault injected with real parts (loopback servers, raw sockets, the simulated
//! Jenkins, a small tmpfs), and what the user then sees asserted: the frame, the server state, the
//! alerts, and that nothing is lost (the config file byte for byte).
//!
//! | fault | test |
//! |---|---|
//! | connection refused, DNS failure | `refused_and_unknown_hosts_are_stale_with_one_outage_each` |
//! | accepts and never answers; a 1 byte/s body | `a_hang_and_a_trickle_hit_the_deadline_while_others_update` |
//! | 500 / 502 / 503 with Retry-After | `server_errors_are_unreachable_and_retry_after_is_honoured` |
//! | HTML at 200, wrong content type, redirect to a login page | `login_pages_and_other_content_are_not_a_json_api` |
//! | truncated JSON, garbage, invalid UTF-8, wrong types | `broken_answers_are_parse_errors_and_nothing_panics` |
//! | a redirect to another host | `tests/jenkins_client.rs`: `credentials_follow_a_redirect_on_the_same_host_only` |
//! | 403 anonymous, 401 wrong token | `auth_needed_and_token_rejected_are_server_states_not_failures` |
//! | a job deleted or renamed | `a_deleted_or_renamed_job_shows_missing_and_its_slot_stays` |
//! | network down then back | `an_outage_and_its_recovery_are_one_notification_each` |
//! | USB unplug/replug, reset mid-session, silent device, garbage | `tests/device_faults.rs` |
//! | host stops sending | `tests/device_firmware_sim.rs`: the firmware's stale pattern |
//! | config: invalid TOML, wrong types | `an_invalid_config_edit_is_reported_and_the_last_good_one_runs` |
//! | config: read-only folder, disk full on save | `a_save_onto_a_full_or_read_only_disk_fails_clearly_and_keeps_the_file` |
//! | two instances | `tests/instances.rs` |
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ledtogo::alerts::{Alert, AlertKind, AlertWorker, Notifier, NotifyError, SoundError};
use ledtogo::alerts::{SoundKind, SoundSink};
use ledtogo::config::Config;
use ledtogo::engine::{Batch, ConfigSource, Engine, Observers};
use ledtogo::model::{JobState, ServerState, Transition};
use ledtogo::outputs::VirtualStrip;
use ledtogo::settings::{Edit, EditValue, Editor};
use ledtogo::sim::{Mode, SimItem, SimJenkins, SimJob};

mod support;
use support::wait_until;

const LIMIT: Duration = Duration::from_secs(20);

/// A config polling `servers` (name, URL) every second, LED i showing job `api` of server i.
fn config_text(servers: &[(&str, &str)], timeout: f64) -> String {
    let mut text = format!(
        "poll_seconds = 1\ntimeout_seconds = {timeout}\n[strip]\nport = \"none\"\nleds = {}\nbrightness = 1.0\ngamma = 1.0\n",
        servers.len().max(1)
    );
    for (i, (name, url)) in servers.iter().enumerate() {
        text.push_str(&format!(
            "[[servers]]\nname = \"{name}\"\nurl = \"{url}\"\n[[slots]]\nled = {i}\nserver = \"{name}\"\njob = \"api\"\n"
        ));
    }
    text
}

struct Rig {
    engine: Engine,
    strip: VirtualStrip,
    batches: mpsc::Receiver<Batch>,
    config: Config,
}

fn start(text: &str) -> Rig {
    let config = Config::parse(text, None).unwrap();
    let strip = VirtualStrip::new();
    let (tx, batches) = mpsc::channel();
    let engine = Engine::start(
        ConfigSource::Fixed(config.clone()),
        vec![Box::new(strip.clone())],
        Observers {
            transitions: Some(tx),
            ..Observers::default()
        },
    )
    .unwrap();
    Rig {
        engine,
        strip,
        batches,
        config,
    }
}

impl Rig {
    fn state(&self, server: &str) -> ServerState {
        self.engine.snapshot().servers[server].state.clone()
    }

    fn wait_unreachable(&self, server: &str, reason: &str) {
        assert!(
            wait_until(LIMIT, || matches!(
                self.state(server),
                ServerState::Unreachable(r) if r.contains(reason)
            )),
            "{server} should be unreachable with {reason:?}, is {:?}",
            self.state(server)
        );
    }

    /// All transitions so far.
    fn transitions(&self) -> Vec<Transition> {
        self.batches
            .try_iter()
            .flat_map(|b| b.transitions)
            .collect()
    }
}

fn jobs() -> Vec<SimItem> {
    vec![SimJob::new("api", Some(JobState::Success)).into()]
}

/// A loopback server that answers every connection with `answer` (after reading the request) and
/// counts the connections.
fn answering(answer: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for mut sock in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 8192];
            sock.set_read_timeout(Some(Duration::from_secs(2))).ok();
            let _ = sock.read(&mut buf);
            sock.write_all(answer).ok();
        }
    });
    (url, count)
}

#[test]
fn refused_and_unknown_hosts_are_stale_with_one_outage_each() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/", l.local_addr().unwrap().port())
    };
    let rig = start(&config_text(
        &[
            ("gone", &closed),
            ("nowhere", "http://ledtogo-no-such-host.invalid/"),
        ],
        2.0,
    ));
    rig.wait_unreachable("gone", "refused");
    rig.wait_unreachable("nowhere", "");
    let stale = rig.config.colors.stale;
    assert!(wait_until(LIMIT, || rig.strip.latest() == [stale, stale]));
    // Several polls later: still one outage event per server, no per-job or per-poll flood.
    std::thread::sleep(Duration::from_secs(4));
    let lost: Vec<_> = rig
        .transitions()
        .into_iter()
        .filter(|t| matches!(t, Transition::ServerLost { .. }))
        .collect();
    assert!(lost.len() <= 2, "one event per server: {lost:?}");
    assert_ne!(
        rig.strip.latest()[0],
        rig.config.colors.success,
        "never green"
    );
}

#[test]
fn a_hang_and_a_trickle_hit_the_deadline_while_others_update() {
    let good = SimJenkins::start(jobs()).unwrap();
    let hung = SimJenkins::start(jobs()).unwrap();
    hung.set_mode(Mode::Hang);
    // A server that sends its headers, then one byte a second.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let trickle = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    std::thread::spawn(move || {
        for mut sock in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let _ = sock.read(&mut buf);
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{";
                if sock.write_all(head.as_bytes()).is_err() {
                    return;
                }
                while sock.write_all(b" ").is_ok() {
                    std::thread::sleep(Duration::from_secs(1));
                }
            });
        }
    });
    let rig = start(&config_text(
        &[
            ("good", good.url()),
            ("hung", hung.url()),
            ("slow", &trickle),
        ],
        2.0,
    ));
    let colors = rig.config.colors.clone();
    assert!(wait_until(LIMIT, || rig.strip.latest().first()
        == Some(&colors.success)));
    good.finish_build("api", JobState::Failure);
    assert!(
        wait_until(LIMIT, || rig.strip.latest().first()
            == Some(&colors.failure)),
        "the good server keeps updating"
    );
    rig.wait_unreachable("hung", "timed out");
    rig.wait_unreachable("slow", "timed out");
    // No thread is stuck: the engine stops promptly although two servers never finish an answer.
    let stopping = Instant::now();
    rig.engine.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "{:?}",
        stopping.elapsed()
    );
}

#[test]
fn server_errors_are_unreachable_and_retry_after_is_honoured() {
    let (e500, _) =
        answering(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let (e502, _) =
        answering(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let (e503, asked) = answering(
        b"HTTP/1.1 503 Busy\r\nRetry-After: 4\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let rig = start(&config_text(
        &[("a", &e500), ("b", &e502), ("c", &e503)],
        2.0,
    ));
    rig.wait_unreachable("a", "HTTP 500");
    rig.wait_unreachable("b", "HTTP 502");
    rig.wait_unreachable("c", "rate limited");
    let first = asked.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        asked.load(Ordering::SeqCst),
        first,
        "not asked again before its Retry-After (polling is every second)"
    );
    assert!(wait_until(Duration::from_secs(10), || asked
        .load(Ordering::SeqCst)
        > first));
}

#[test]
fn login_pages_and_other_content_are_not_a_json_api() {
    let html = SimJenkins::start(jobs()).unwrap();
    html.set_mode(Mode::Html200);
    let (text, _) = answering(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    );
    // A redirect to a login page on the same server, which answers HTML.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let login = format!("http://127.0.0.1:{port}/");
    std::thread::spawn(move || {
        for mut sock in listener.incoming().flatten() {
            let mut buf = [0u8; 8192];
            let n = sock.read(&mut buf).unwrap_or(0);
            let answer = if String::from_utf8_lossy(&buf[..n]).starts_with("GET /login") {
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\nConnection: close\r\n\r\n<html></html>".to_owned()
            } else {
                format!(
                    "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/login\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            };
            sock.write_all(answer.as_bytes()).ok();
        }
    });
    let rig = start(&config_text(
        &[("sso", html.url()), ("plain", &text), ("login", &login)],
        2.0,
    ));
    for server in ["sso", "plain", "login"] {
        rig.wait_unreachable(server, "not a JSON API answer");
    }
}

#[test]
fn broken_answers_are_parse_errors_and_nothing_panics() {
    let cut = SimJenkins::start(jobs()).unwrap();
    cut.set_mode(Mode::Truncated);
    let json = |body: &'static str| -> &'static [u8] {
        Box::leak(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
            .into_boxed_slice(),
        )
    };
    let (garbage, _) = answering(json("\u{1}\u{2} not json"));
    let (wrong, _) = answering(json("{\"jobs\": 5}"));
    let bad_utf8: &'static [u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\nConnection: close\r\n\r\n{\"jobs\":[{\"name\":\"\xff\xfe\"}]}";
    let (utf8, _) = answering(bad_utf8);
    let good = SimJenkins::start(jobs()).unwrap();
    let rig = start(&config_text(
        &[
            ("cut", cut.url()),
            ("garbage", &garbage),
            ("wrong", &wrong),
            ("utf8", &utf8),
            ("good", good.url()),
        ],
        2.0,
    ));
    for server in ["cut", "garbage", "wrong", "utf8"] {
        rig.wait_unreachable(server, "invalid");
    }
    let colors = rig.config.colors.clone();
    good.finish_build("api", JobState::Unstable);
    assert!(
        wait_until(LIMIT, || rig.strip.latest().get(4)
            == Some(&colors.unstable)),
        "the engine lives on"
    );
}

#[test]
fn auth_needed_and_token_rejected_are_server_states_not_failures() {
    let sim = SimJenkins::start(vec![SimJob::new("api", Some(JobState::Failure)).into()]).unwrap();
    sim.set_auth("alice", "right");
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("wrong.token");
    std::fs::write(&token, "wrong\n").unwrap();
    let url = sim.url();
    let text = format!(
        "poll_seconds = 1\ntimeout_seconds = 2\n[strip]\nport = \"none\"\nleds = 2\nbrightness = 1.0\ngamma = 1.0\n\
         [[servers]]\nname = \"anon\"\nurl = \"{url}\"\n\
         [[servers]]\nname = \"wrong\"\nurl = \"{url}\"\nuser = \"alice\"\ntoken_file = \"{}\"\n\
         [[slots]]\nled = 0\nserver = \"anon\"\njob = \"api\"\n[[slots]]\nled = 1\nserver = \"wrong\"\njob = \"api\"\n",
        token.display()
    );
    let rig = start(&text);
    assert!(wait_until(LIMIT, || rig.state("anon") == ServerState::AuthNeeded));
    assert!(wait_until(LIMIT, || rig.state("wrong") == ServerState::TokenRejected));
    let colors = rig.config.colors.clone();
    assert!(wait_until(LIMIT, || rig.strip.latest() == [colors.stale, colors.stale]));
    assert!(
        rig.transitions()
            .iter()
            .all(|t| !matches!(t, Transition::Broke { .. })),
        "never reported as failing jobs"
    );
}

#[test]
fn a_deleted_or_renamed_job_shows_missing_and_its_slot_stays() {
    let sim = SimJenkins::start(vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimJob::new("web", Some(JobState::Success)).into(),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = format!(
        "poll_seconds = 1\n[strip]\nport = \"none\"\nleds = 2\nbrightness = 1.0\ngamma = 1.0\n\
         [[servers]]\nname = \"ci\"\nurl = \"{}\"\n[[slots]]\nled = 0\njob = \"api\"\n[[slots]]\nled = 1\njob = \"web\"\n",
        sim.url()
    );
    std::fs::write(&path, &text).unwrap();
    let initial = Config::load(&path).unwrap();
    let colors = initial.colors.clone();
    let strip = VirtualStrip::new();
    let engine = Engine::start(
        ConfigSource::File {
            path: path.clone(),
            initial,
        },
        vec![Box::new(strip.clone())],
        Observers::default(),
    )
    .unwrap();
    assert!(wait_until(LIMIT, || strip.latest() == [colors.success, colors.success]));
    {
        let mut state = sim.state();
        state.items.retain(|i| i.name() != "api");
        if let Some(SimItem::Job(web)) = state.items.iter_mut().find(|i| i.name() == "web") {
            web.name = "web-renamed".into();
        }
    }
    assert!(wait_until(LIMIT, || strip.latest() == [colors.missing, colors.missing]));
    drop(engine);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "the slots stay in the file"
    );
}

struct Recorder(mpsc::Sender<Alert>);

impl Notifier for Recorder {
    fn show(&mut self, alert: &Alert) -> Result<(), NotifyError> {
        self.0.send(alert.clone()).ok();
        Ok(())
    }
}

struct Silent;

impl SoundSink for Silent {
    fn play(&mut self, _: SoundKind, _: Option<&Path>) -> Result<(), SoundError> {
        Ok(())
    }
}

#[test]
fn an_outage_and_its_recovery_are_one_notification_each() {
    let sim = SimJenkins::start(vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimJob::new("web", Some(JobState::Failure)).into(),
        SimJob::new("docs", Some(JobState::Success)).into(),
    ])
    .unwrap();
    let config = Config::parse(&config_text(&[("ci", sim.url())], 1.0), None).unwrap();
    let (tx, rx) = mpsc::channel();
    let (shown_tx, shown) = mpsc::channel();
    let _alerts = AlertWorker::spawn(rx, Box::new(Recorder(shown_tx)), Box::new(Silent)).unwrap();
    let engine = Engine::start(
        ConfigSource::Fixed(config),
        vec![],
        Observers {
            transitions: Some(tx),
            ..Observers::default()
        },
    )
    .unwrap();
    assert!(wait_until(LIMIT, || engine.snapshot().servers["ci"].seen_ok));
    sim.set_mode(Mode::Status(503));
    assert!(wait_until(LIMIT, || !engine.snapshot().servers["ci"]
        .state
        .is_ok()));
    std::thread::sleep(Duration::from_secs(3));
    sim.set_mode(Mode::Normal);
    assert!(wait_until(LIMIT, || engine.snapshot().servers["ci"]
        .state
        .is_ok()));
    std::thread::sleep(Duration::from_secs(2));
    let alerts: Vec<Alert> = shown.try_iter().collect();
    let kinds: Vec<AlertKind> = alerts.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [AlertKind::ServerLost, AlertKind::ServerRecovered],
        "one down and one back, no per-job flood: {alerts:#?}"
    );
}

#[test]
fn an_invalid_config_edit_is_reported_and_the_last_good_one_runs() {
    let sim = SimJenkins::start(jobs()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config_text(&[("ci", sim.url())], 2.0)).unwrap();
    let initial = Config::load(&path).unwrap();
    let engine = Engine::start(
        ConfigSource::File {
            path: path.clone(),
            initial: initial.clone(),
        },
        vec![],
        Observers::default(),
    )
    .unwrap();
    for (bad, position) in [
        ("poll_seconds = [1\n", ":1:"),
        ("poll_seconds = 1\n[strip]\nleds = \"many\"\n", ":3:"),
    ] {
        std::fs::write(&path, bad).unwrap();
        assert!(
            wait_until(LIMIT, || engine
                .published()
                .config_error
                .is_some_and(|e| e.contains(position))),
            "{bad:?} is reported with its position: {:?}",
            engine.published().config_error
        );
        assert_eq!(
            *engine.published().config,
            initial,
            "the last good config runs"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            bad,
            "the file is left as it is"
        );
    }
}

/// A 64 KiB tmpfs at `dir`, unmounted when dropped; `None` where mounting is not allowed.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &Path) -> Option<Self> {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(dir.to_path_buf()))
    }

    fn read_only(&self) {
        let status = std::process::Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        std::process::Command::new("umount")
            .arg(&self.0)
            .status()
            .ok();
    }
}

#[test]
fn a_save_onto_a_full_or_read_only_disk_fails_clearly_and_keeps_the_file() {
    for fault in ["full", "read-only"] {
        let dir = tempfile::tempdir().unwrap();
        let Some(disk) = SmallDisk::mount(dir.path()) else {
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
            return;
        };
        let path = dir.path().join("config.toml");
        let text = "# my config\npoll_seconds = 10\n[strip]\nport = \"none\"\n";
        std::fs::write(&path, text).unwrap();
        match fault {
            "full" => {
                // Fill the disk: what is left cannot hold a second copy of the config.
                let mut filler = std::fs::File::create(dir.path().join("filler")).unwrap();
                while filler.write_all(&[0u8; 512]).is_ok() {}
                filler.sync_all().ok();
            }
            _ => disk.read_only(),
        }
        let editor = Editor::spawn(path.clone(), |_| {}).unwrap();
        editor.send(Edit::SetValue {
            table: Some("alerts".into()),
            key: "quiet_hours".into(),
            value: Some(EditValue::Text("22:00-07:00".into())),
        });
        assert!(wait_until(LIMIT, || editor.state().pending == 0));
        let error = editor.state().last_error.unwrap_or_default();
        assert!(
            !error.is_empty() && (error.contains("space") || error.contains("Read-only")),
            "{fault}: the window shows why: {error:?}"
        );
        assert!(
            error.contains(&dir.path().display().to_string()),
            "names where: {error}"
        );
        drop(editor);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "{fault}: the old file is intact"
        );
        drop(disk);
    }
}
