//! A stand-in for the office relay's `GET /api/json` on loopback (tiny_http), serving real feed bytes
//! written by [`Feed::of`] from a snapshot: a strong `ETag` per version and 304 to a matching
//! `If-None-Match`, optional Basic auth (401 with `WWW-Authenticate` otherwise), and raw answers for
//! the hostile cases (a login page, a huge declared body, another format version). It records every
//! request. [`snapshot_of`] builds the relay's snapshot from what the library's own Jenkins client
//! reads of a [`ledtogo::sim::SimJenkins`], so a desk on this relay and a desk polling the same
//! Jenkins directly can be compared.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ledtogo::model::{Job, ServerSnapshot, ServerState, Snapshot};
use ledtogo::sources::ledtogo::feed::Feed;
use parking_lot::Mutex;

/// One request the relay received, and the status it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
    pub if_none_match: Option<String>,
    pub status: u16,
}

/// What the relay answers besides its feed.
#[derive(Debug, Clone)]
pub enum Body {
    /// The feed of the snapshot set last.
    Feed,
    /// These bytes with this content type, status 200.
    Raw(Vec<u8>, &'static str),
    /// A JSON answer that declares this many bytes and sends spaces (no client should read them).
    Declared(u64),
}

#[derive(Debug)]
struct State {
    feed: Vec<u8>,
    version: u64,
    body: Body,
    /// The `Authorization` header the relay wants, when it wants one.
    auth: Option<String>,
    seen: Vec<Seen>,
}

/// The relay. Dropping it stops the server.
pub struct FakeRelay {
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    url: String,
    thread: Option<JoinHandle<()>>,
}

impl FakeRelay {
    /// A relay whose feed is `snapshot`'s.
    pub fn start(snapshot: &Snapshot) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            feed: Feed::of(snapshot).to_json(),
            version: 1,
            body: Body::Feed,
            auth: None,
            seen: Vec::new(),
        }));
        let thread = {
            let (server, state) = (server.clone(), state.clone());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    answer(&state, request);
                }
            })
        };
        Self {
            state,
            server,
            url: format!("http://127.0.0.1:{port}/"),
            thread: Some(thread),
        }
    }

    /// The relay's address, as a desk's `url = …` names it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Serves `snapshot`'s feed from now on (a new `ETag`).
    pub fn set_snapshot(&self, snapshot: &Snapshot) {
        let mut state = self.state.lock();
        state.feed = Feed::of(snapshot).to_json();
        state.version += 1;
        state.body = Body::Feed;
    }

    /// Answers `body` from now on.
    pub fn set_body(&self, body: Body) {
        self.state.lock().body = body;
    }

    /// Wants `Authorization: Basic base64(user:token)` from now on.
    pub fn require_basic(&self, user: &str, token: &str) {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
        self.state.lock().auth = Some(format!("Basic {encoded}"));
    }

    /// The requests so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().seen.clone()
    }
}

impl Drop for FakeRelay {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap()
}

fn answer(state: &Mutex<State>, request: tiny_http::Request) {
    let get = |name: &'static str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let (authorization, if_none_match) = (get("Authorization"), get("If-None-Match"));
    let mut state = state.lock();
    let etag = format!("\"feed-{}\"", state.version);
    let json = header("Content-Type", "application/json");
    let (status, response) = if state.auth.is_some() && authorization != state.auth {
        let body = b"{\"error\": \"authentication needed\"}".to_vec();
        (
            401,
            tiny_http::Response::from_data(body)
                .with_status_code(401)
                .with_header(header("WWW-Authenticate", "Basic realm=\"ledtogo\""))
                .with_header(json)
                .boxed(),
        )
    } else if request.url() != "/api/json" {
        (
            404,
            tiny_http::Response::from_data(b"{}".to_vec())
                .with_status_code(404)
                .with_header(json)
                .boxed(),
        )
    } else {
        match &state.body {
            Body::Feed if if_none_match.as_deref() == Some(etag.as_str()) => (
                304,
                tiny_http::Response::from_data(Vec::new())
                    .with_status_code(304)
                    .with_header(header("ETag", &etag))
                    .boxed(),
            ),
            Body::Feed => (
                200,
                tiny_http::Response::from_data(state.feed.clone())
                    .with_header(json)
                    .with_header(header("ETag", &etag))
                    .boxed(),
            ),
            Body::Raw(bytes, content_type) => (
                200,
                tiny_http::Response::from_data(bytes.clone())
                    .with_header(header("Content-Type", content_type))
                    .boxed(),
            ),
            Body::Declared(length) => (
                200,
                tiny_http::Response::new(
                    tiny_http::StatusCode(200),
                    vec![json],
                    std::io::Read::take(std::io::repeat(b' '), *length),
                    Some(usize::try_from(*length).unwrap()),
                    None,
                )
                .boxed(),
            ),
        }
    };
    state.seen.push(Seen {
        path: request.url().to_owned(),
        authorization,
        if_none_match,
        status,
    });
    drop(state);
    request.respond(response).ok();
}

/// A relay's snapshot of servers by name: each in its state, with its jobs (ids on that name) and
/// seen ok before.
pub fn snapshot(servers: Vec<(&str, ServerState, Vec<Job>)>) -> Snapshot {
    let mut snapshot = Snapshot::default();
    for (name, state, jobs) in servers {
        let mut server = ServerSnapshot::new();
        server.state = state;
        server.seen_ok = true;
        server.jobs = jobs.into_iter().map(|j| (j.id.path.clone(), j)).collect();
        snapshot.servers.insert(name.to_owned(), server);
    }
    snapshot
}

/// The jobs the library's Jenkins client reads from `url` (one real poll), with ids on `name`: what
/// a relay polling that Jenkins as `name` has in its snapshot.
pub fn jenkins_jobs(name: &str, url: &str) -> Vec<Job> {
    let text = format!("[[servers]]\nname = \"{name}\"\nurl = \"{url}\"\n");
    let config = ledtogo::config::Config::parse(&text, None).unwrap();
    let source = ledtogo::sources::open(&config.servers[0], Duration::from_secs(5)).unwrap();
    source.fetch().unwrap().jobs
}
