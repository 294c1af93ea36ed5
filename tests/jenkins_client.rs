//! The Jenkins client against a real HTTP server on loopback (the simulator, and raw sockets for the
//! pathological cases): one request for everything, encoding, auth, and every way an answer can be wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use ledtogo::config::Root;
use ledtogo::model::{Blame, JobState, ServerState};
use ledtogo::sim::{BuildChanges, Mode, SimItem, SimJenkins, SimJob};
use ledtogo::sources::jenkins::{Client, Settings};
use ledtogo::sources::{Credentials, Source as _, SourceError};

fn client(url: &str) -> Client {
    let mut s = Settings::new("ci", url);
    s.http.request_timeout = Duration::from_secs(5);
    Client::new(s).unwrap()
}

fn nested(depth: usize, leaf: SimJob) -> SimItem {
    let mut item = SimItem::Job(leaf);
    for level in (1..=depth).rev() {
        item = SimItem::folder(&format!("level{level}"), vec![item]);
    }
    item
}

fn state_of(jobs: &[ledtogo::model::Job], path: &str) -> (JobState, bool) {
    let j = jobs
        .iter()
        .find(|j| j.id.full_name() == path)
        .unwrap_or_else(|| panic!("{path} not listed"));
    (j.state, j.building)
}

#[test]
fn one_request_lists_jobs_in_folders_five_levels_deep() {
    let sim = SimJenkins::start(vec![
        nested(5, SimJob::new("deep-job", Some(JobState::Failure))),
        SimJob::new("top", Some(JobState::Success)).into(),
    ])
    .unwrap();
    let fetched = client(sim.url()).fetch().unwrap();
    assert_eq!(fetched.requests, 1);
    assert_eq!(sim.requests(), 1);
    assert_eq!(
        state_of(&fetched.jobs, "level1/level2/level3/level4/level5/deep-job"),
        (JobState::Failure, false)
    );
    assert_eq!(state_of(&fetched.jobs, "top"), (JobState::Success, false));
    assert_eq!(fetched.version.as_deref(), Some("2.500-sim"));
}

#[test]
fn folders_deeper_than_the_query_get_one_follow_up_request_each() {
    let sim = SimJenkins::start(vec![nested(
        9,
        SimJob::new("very-deep", Some(JobState::Unstable)),
    )])
    .unwrap();
    let fetched = client(sim.url()).fetch().unwrap();
    assert_eq!(
        fetched.requests, 2,
        "one for the tree, one for the cut-off folder"
    );
    let path = (1..=9)
        .map(|l| format!("level{l}"))
        .collect::<Vec<_>>()
        .join("/")
        + "/very-deep";
    assert_eq!(state_of(&fetched.jobs, &path), (JobState::Unstable, false));
    let job = fetched
        .jobs
        .iter()
        .find(|j| j.id.full_name() == path)
        .unwrap();
    assert!(job.url.starts_with(sim.url()) && job.url.ends_with("/job/very-deep/"));
}

#[test]
fn multibranch_and_organization_folders_keep_encoded_names_and_show_decoded_ones() {
    let sim = SimJenkins::start(vec![SimItem::organization(
        "acme",
        vec![SimItem::multibranch(
            "shop",
            vec![
                SimJob::branch("feature/login", Some(JobState::Unstable)),
                SimJob::branch("main", Some(JobState::Success)),
            ],
        )],
    )])
    .unwrap();
    let fetched = client(sim.url()).fetch().unwrap();
    let branch = fetched
        .jobs
        .iter()
        .find(|j| j.id.full_name() == "acme/shop/feature%2Flogin")
        .expect("branch listed under its encoded name");
    assert_eq!(branch.display_name, "feature/login");
    assert_eq!(branch.state, JobState::Unstable);
    assert!(
        branch
            .url
            .ends_with("/job/acme/job/shop/job/feature%252Flogin/"),
        "{}",
        branch.url
    );
}

#[test]
fn a_folder_root_is_requested_with_the_branch_encoded_once_more() {
    // Requesting a folder whose path contains a %2F name only works if the client encodes `%` again.
    let sim = SimJenkins::start(vec![SimItem::multibranch(
        "shop",
        vec![SimJob::branch("feature/x", Some(JobState::Failure))],
    )])
    .unwrap();
    let mut s = Settings::new("ci", sim.url());
    s.root = Root::Folder(vec!["shop".into()]);
    let fetched = Client::new(s).unwrap().fetch().unwrap();
    assert_eq!(
        state_of(&fetched.jobs, "shop/feature%2Fx"),
        (JobState::Failure, false)
    );
}

#[test]
fn matrix_configurations_views_unicode_spaces_disabled_and_never_built() {
    let sim = SimJenkins::start(vec![
        SimJob::matrix(
            "compat",
            &[("jdk=17", JobState::Success), ("jdk=21", JobState::Failure)],
        )
        .into(),
        SimJob::new("nightly release", Some(JobState::Success)).into(),
        SimJob::new("Dokumentation Ü", None).into(),
        SimJob::new("legacy", Some(JobState::Success))
            .disabled()
            .into(),
        SimItem::folder(
            "team",
            vec![SimJob::new("api", Some(JobState::Aborted)).into()],
        ),
    ])
    .unwrap();
    sim.state().views.insert(
        "Release Jobs".into(),
        vec!["nightly release".into(), "team/api".into()],
    );

    let all = client(sim.url()).fetch().unwrap();
    assert_eq!(state_of(&all.jobs, "compat"), (JobState::Failure, false));
    assert_eq!(
        state_of(&all.jobs, "compat/jdk=21"),
        (JobState::Failure, false)
    );
    assert_eq!(
        state_of(&all.jobs, "compat/jdk=17"),
        (JobState::Success, false)
    );
    assert_eq!(
        state_of(&all.jobs, "nightly release"),
        (JobState::Success, false)
    );
    assert_eq!(
        state_of(&all.jobs, "Dokumentation Ü"),
        (JobState::NotBuilt, false)
    );
    assert_eq!(state_of(&all.jobs, "legacy"), (JobState::Disabled, false));
    let docs = all
        .jobs
        .iter()
        .find(|j| j.id.full_name() == "Dokumentation Ü")
        .unwrap();
    assert!(docs.last_build.is_none());
    assert!(
        docs.url.ends_with("/job/Dokumentation%20%C3%9C/"),
        "{}",
        docs.url
    );

    let mut s = Settings::new("ci", sim.url());
    s.root = Root::View(vec!["Release Jobs".into()]);
    let view = Client::new(s).unwrap().fetch().unwrap();
    let mut names: Vec<String> = view.jobs.iter().map(|j| j.id.full_name()).collect();
    names.sort();
    assert_eq!(names, vec!["nightly release", "team/api"]);
    assert_eq!(state_of(&view.jobs, "team/api"), (JobState::Aborted, false));
}

#[test]
fn anime_colours_mean_building_with_the_last_finished_result() {
    let sim = SimJenkins::start(vec![SimJob::new("a", Some(JobState::Failure)).into()]).unwrap();
    assert!(sim.start_build("a"));
    let fetched = client(sim.url()).fetch().unwrap();
    assert_eq!(state_of(&fetched.jobs, "a"), (JobState::Failure, true));
    let build = fetched.jobs[0].last_build.as_ref().unwrap();
    assert!(build.building);
    assert_eq!(build.number, 2);
    assert_eq!(build.result, None);
}

fn job_of(jobs: &[ledtogo::model::Job], path: &str) -> ledtogo::model::Job {
    jobs.iter()
        .find(|j| j.id.full_name() == path)
        .cloned()
        .unwrap_or_else(|| panic!("{path} not listed"))
}

#[test]
fn who_broke_a_build_is_one_request_for_freestyle_jobs_and_pipelines_and_never_in_the_poll() {
    let sim = SimJenkins::start(vec![
        SimJob::new("api", Some(JobState::Success)).into(),
        SimItem::folder(
            "team",
            vec![SimJob::pipeline("web app", Some(JobState::Success)).into()],
        ),
        SimJob::new("nightly", Some(JobState::Success)).into(),
    ])
    .unwrap();
    sim.finish_build_with(
        "api",
        JobState::Failure,
        BuildChanges::by(
            "Mona Lisa",
            "Fix the login test (#412)\n\nThe token expired.",
        ),
    );
    sim.finish_build_with(
        "team/web app",
        JobState::Unstable,
        BuildChanges {
            culprits: vec!["Hubot".into()],
            changes: vec![("Hubot".into(), "Bump the version".into())],
        },
    );
    sim.finish_build("nightly", JobState::Failure); // a timer started it: no changes
    let client = client(sim.url());
    let listing = client.fetch().unwrap();
    assert_eq!((listing.requests, sim.requests()), (1, 1));
    assert_eq!(sim.build_requests(), 0, "the poll never asks for changes");
    let api = job_of(&listing.jobs, "api");
    assert_eq!(api.last_build.as_ref().unwrap().blame, None);

    assert_eq!(
        client.blame(&api).unwrap(),
        Some(Blame {
            who: "Mona Lisa".into(),
            what: Some("Fix the login test (#412)".into()),
        })
    );
    assert_eq!(sim.build_requests(), 1, "one request for the build");
    assert_eq!(
        client
            .blame(&job_of(&listing.jobs, "team/web app"))
            .unwrap(),
        Some(Blame {
            who: "Hubot".into(),
            what: Some("Bump the version".into()),
        }),
        "a pipeline's changeSets, its name encoded in the build URL"
    );
    assert_eq!(
        client.blame(&job_of(&listing.jobs, "nightly")).unwrap(),
        None
    );
    assert_eq!(sim.build_requests(), 3);
    assert_eq!(sim.requests(), 4);
}

#[test]
fn who_broke_it_asks_about_the_finished_build_while_the_next_one_runs() {
    let sim = SimJenkins::start(vec![SimJob::new("api", Some(JobState::Success)).into()]).unwrap();
    sim.finish_build_with(
        "api",
        JobState::Failure,
        BuildChanges::by("Mona Lisa", "Fix the login test"),
    );
    sim.start_build("api");
    let client = client(sim.url());
    let api = job_of(&client.fetch().unwrap().jobs, "api");
    assert!(api.building);
    assert_eq!(api.last_build.as_ref().unwrap().number, 3);
    assert_eq!(
        client.blame(&api).unwrap().map(|b| b.who),
        Some("Mona Lisa".into()),
        "#2, whose result the job shows, not the running #3"
    );
}

#[test]
fn a_build_page_that_is_not_json_is_an_error_naming_the_build() {
    let sim = SimJenkins::start(vec![SimJob::new("api", Some(JobState::Failure)).into()]).unwrap();
    let client = client(sim.url());
    let api = job_of(&client.fetch().unwrap().jobs, "api");
    sim.set_mode(Mode::Html200);
    let err = client.blame(&api).unwrap_err();
    assert!(
        matches!(&err, SourceError::NotJson { url, .. } if url == &format!("{}job/api/1/api/json", sim.url())),
        "{err:?}"
    );
}

#[test]
fn credentials_are_sent_pre_emptively_and_403_401_are_told_apart() {
    let sim = SimJenkins::start(vec![SimJob::new("a", Some(JobState::Success)).into()]).unwrap();
    sim.set_auth("alice", "right-token");

    let anonymous = client(sim.url()).fetch().unwrap_err();
    assert!(
        matches!(anonymous, SourceError::AuthNeeded { .. }),
        "{anonymous}"
    );
    assert_eq!(anonymous.server_state(), ServerState::AuthNeeded);

    let mut s = Settings::new("ci", sim.url());
    s.http.credentials = Some(Credentials::new("alice", "wrong"));
    let rejected = Client::new(s.clone()).unwrap().fetch().unwrap_err();
    assert!(
        matches!(rejected, SourceError::TokenRejected { .. }),
        "{rejected}"
    );
    assert_eq!(rejected.server_state(), ServerState::TokenRejected);
    assert!(
        !rejected.to_string().contains("wrong"),
        "the token never appears in messages"
    );

    s.http.credentials = Some(Credentials::new("alice", "right-token"));
    let ok = Client::new(s).unwrap().fetch().unwrap();
    assert_eq!(
        ok.requests, 1,
        "no challenge round trip: auth is pre-emptive"
    );
    assert_eq!(sim.requests(), 3);
}

#[test]
fn html_at_200_server_errors_and_truncated_json_make_the_server_unreachable() {
    let sim = SimJenkins::start(vec![SimJob::new("a", Some(JobState::Success)).into()]).unwrap();
    let c = client(sim.url());

    sim.set_mode(Mode::Html200);
    let e = c.fetch().unwrap_err();
    assert!(matches!(e, SourceError::NotJson { .. }), "{e}");
    assert!(matches!(e.server_state(), ServerState::Unreachable(r) if r.contains("text/html")));

    sim.set_mode(Mode::Status(500));
    let e = c.fetch().unwrap_err();
    assert!(matches!(e, SourceError::Status { status: 500, .. }), "{e}");

    sim.set_mode(Mode::Truncated);
    let e = c.fetch().unwrap_err();
    assert!(matches!(e, SourceError::BadAnswer { .. }), "{e}");

    sim.set_mode(Mode::Normal);
    assert_eq!(c.fetch().unwrap().jobs.len(), 1, "recovers by itself");
}

#[test]
fn garbage_bodies_refused_connections_and_unknown_hosts_are_unreachable_with_a_reason() {
    // A server that answers 200 application/json with garbage.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let garbage = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf).unwrap();
        let body = "\u{1}\u{2}not json at all";
        write!(
            sock,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    let e = client(&format!("http://127.0.0.1:{port}/"))
        .fetch()
        .unwrap_err();
    assert!(matches!(e, SourceError::BadAnswer { .. }), "{e}");
    garbage.join().unwrap();

    // Nothing listens on this port any more.
    let e = client(&format!("http://127.0.0.1:{port}/"))
        .fetch()
        .unwrap_err();
    assert!(
        matches!(&e.server_state(), ServerState::Unreachable(r) if r.contains("refused") || r.contains("connect")),
        "{e}"
    );

    let e = client("http://ledtogo-no-such-host.invalid/")
        .fetch()
        .unwrap_err();
    assert!(
        matches!(e.server_state(), ServerState::Unreachable(_)),
        "{e}"
    );
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out() {
    let sim = SimJenkins::start(vec![SimJob::new("a", Some(JobState::Success)).into()]).unwrap();
    sim.set_mode(Mode::Hang);
    let mut s = Settings::new("ci", sim.url());
    s.http.request_timeout = Duration::from_millis(700);
    let started = Instant::now();
    let e = Client::new(s).unwrap().fetch().unwrap_err();
    assert!(
        matches!(&e.server_state(), ServerState::Unreachable(r) if r.contains("timed out")),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the timeout bounds the request"
    );
}

#[test]
fn a_ca_file_that_is_not_pem_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let mut s = Settings::new("ci", "https://ci.example.com/");
    s.http.ca_file = Some(ca.clone());
    let e = Client::new(s).unwrap_err();
    assert!(e.to_string().contains(&ca.display().to_string()), "{e}");
}

/// A loopback server answering each of `answers.len()` connections in turn with the given raw HTTP
/// response (`{port}` in it is replaced by the server's port); returns the port and the requests it got.
fn serve_raw(answers: Vec<String>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for answer in answers {
            let (mut sock, _) = listener.accept().unwrap();
            let mut buf = [0u8; 8192];
            let n = sock.read(&mut buf).unwrap();
            requests.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let answer = answer.replace("{port}", &port.to_string());
            sock.write_all(answer.as_bytes()).unwrap();
        }
        requests
    });
    (port, handle)
}

const JSON_OK: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"jobs\":[]}";

#[test]
fn a_rate_limited_server_is_asked_again_when_it_says() {
    let (port, server) = serve_raw(vec![
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_owned(),
    ]);
    let before = std::time::SystemTime::now();
    let e = client(&format!("http://127.0.0.1:{port}/"))
        .fetch()
        .unwrap_err();
    let SourceError::RateLimited { status, until, .. } = &e else {
        panic!("expected rate limiting, got {e}");
    };
    assert_eq!(*status, 429);
    let wait = until.duration_since(before).unwrap();
    assert!(
        wait >= Duration::from_secs(119) && wait <= Duration::from_secs(125),
        "{wait:?}"
    );
    assert_eq!(e.retry_at(), Some(*until));
    assert!(
        matches!(&e.server_state(), ServerState::Unreachable(r) if r.contains("rate limited")),
        "{e}"
    );
    server.join().unwrap();
}

#[test]
fn credentials_follow_a_redirect_on_the_same_host_only() {
    let with_auth = |url: &str| {
        let mut s = Settings::new("ci", url);
        s.http.credentials = Some(Credentials::new("alice", "s3cret"));
        s.http.request_timeout = Duration::from_secs(5);
        Client::new(s).unwrap()
    };
    // Same host: the moved Jenkins gets the credentials.
    let (port, server) = serve_raw(vec![
        "HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:{port}/moved/api/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_owned(),
        JSON_OK.to_owned(),
    ]);
    with_auth(&format!("http://127.0.0.1:{port}/"))
        .fetch()
        .unwrap();
    let requests = server.join().unwrap();
    assert!(
        requests[1].starts_with("GET /moved/api/json"),
        "{}",
        requests[1]
    );
    assert!(
        requests[1].contains("authorization: Basic")
            || requests[1].contains("Authorization: Basic")
    );

    // Another host: it never sees them.
    let (other, elsewhere) = serve_raw(vec![JSON_OK.to_owned()]);
    let (port, server) = serve_raw(vec![format!(
        "HTTP/1.1 302 Found\r\nLocation: http://localhost:{other}/api/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )]);
    with_auth(&format!("http://127.0.0.1:{port}/"))
        .fetch()
        .unwrap();
    server.join().unwrap();
    let seen = elsewhere.join().unwrap();
    assert!(
        !seen[0].to_ascii_lowercase().contains("authorization"),
        "{}",
        seen[0]
    );
}

#[test]
fn an_answer_beyond_the_size_cap_is_refused_with_a_clear_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf).unwrap();
        let size = ledtogo::sources::http::MAX_BODY_BYTES + 1024 * 1024;
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n{{\"jobs\": ["
        );
        sock.write_all(head.as_bytes()).unwrap();
        let blanks = vec![b' '; 1024 * 1024];
        // The client stops reading at the cap and hangs up: a write error then is expected.
        for _ in 0..=size / 1024 / 1024 {
            if sock.write_all(&blanks).is_err() {
                break;
            }
        }
    });
    let e = client(&format!("http://127.0.0.1:{port}/"))
        .fetch()
        .unwrap_err();
    assert!(
        matches!(&e.server_state(), ServerState::Unreachable(r) if r.contains("larger than 64 MB")),
        "{e}"
    );
    server.join().unwrap();
}

#[test]
fn answers_come_gzipped_and_one_that_inflates_beyond_the_cap_is_refused() {
    let sim = SimJenkins::start(ledtogo::sim::generated(2_000, 3)).unwrap();
    let fetched = client(sim.url()).fetch().unwrap();
    assert_eq!(fetched.jobs.len(), 2_000);
    let traffic = sim.traffic();
    assert_eq!(traffic.gzipped, 1, "the client asks for gzip: {traffic:?}");
    assert!(
        traffic.wire_bytes * 5 < traffic.plain_bytes,
        "at most a fifth on the wire: {traffic:?}"
    );

    // A small gzip body that inflates to more than the cap: refused while reading, not after.
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(b"{\"jobs\": [").unwrap();
    let blanks = vec![b' '; 1024 * 1024];
    for _ in 0..=ledtogo::sources::http::MAX_BODY_BYTES / (1024 * 1024) {
        bomb.write_all(&blanks).unwrap();
    }
    let bomb = bomb.finish().unwrap();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bomb.len()
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf).unwrap();
        sock.write_all(head.as_bytes()).unwrap();
        // The client hangs up at the cap: a write error then is expected.
        let _ = sock.write_all(&bomb);
    });
    let e = client(&format!("http://127.0.0.1:{port}/"))
        .fetch()
        .unwrap_err();
    assert!(
        matches!(&e.server_state(), ServerState::Unreachable(r) if r.contains("larger than 64 MB")),
        "{e}"
    );
    server.join().unwrap();
}
