//! The office relay (`[export]`): one ledtogo polls each CI server once and serves what it sees to the
//! other desks and to cctray clients, read-only but for acknowledgements:
//!
//! - `GET /cc.xml`: every job of every server as a cctray feed ([`cctray`]);
//! - `GET /api/json`: the rich feed ([`crate::sources::ledtogo::feed`]) a `kind = "ledtogo"` desk reads;
//! - `GET /`: a short text naming the two;
//! - `POST /ack`: a desk's acknowledgement ("I'm on it", [`crate::ack`]) or its end, as JSON (the
//!   instance protocol's `{"op":"ack",…}` or `{"op":"clear",…}`, at most [`MAX_ACK_BODY`] bytes, with
//!   the same auth as the feeds), handed to the engine, which checks it like `ledtogo ack`: the answer
//!   is its text (200) or why it refused (409). The one thing a desk can change on the relay.
//!
//! Answers come from the engine's latest published snapshot ([`PublishedHandle`]): a request never makes
//! the engine do anything and the relay polls nothing itself. The bodies are built once per new snapshot
//! and carry an `ETag` (a hash of the body); a matching `If-None-Match` gets `304 Not Modified`. Only GET
//! and HEAD, and POST on exactly `/ack` (405 with `Allow` otherwise); with `user` and a token configured every request needs Basic
//! auth (401 with `WWW-Authenticate: Basic realm="ledtogo"`, the pair compared in constant time). Nothing
//! from the config but server names leaves: no server URL, no token, no cookie, no redirect.
//!
//! One thread ("export") follows the published config (a changed `listen` rebinds, changed auth applies to
//! the next request, no `[export]` stops listening; a bind error is logged once and retried at the next
//! config change), accepts connections and hands each to a short-lived thread, at most
//! [`MAX_CONNECTIONS`] at once (more are answered 503); [`serve`] bounds each one's time and size.

pub mod cctray;
pub mod serve;

use std::hash::{Hash as _, Hasher as _};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use parking_lot::Mutex;
use secrecy::ExposeSecret as _;

use crate::config::{Config, ExportConfig};
use crate::engine::{AckCommand, AckHandle, PublishedHandle};
use crate::model::Snapshot;
use crate::sources::credentials::{self, Credentials};
use crate::sources::ledtogo::feed::Feed;
use crate::text;

use serve::{Answer, Head, HeadError};

/// The most bytes of a `POST /ack` body (a note is at most a few hundred characters).
pub const MAX_ACK_BODY: usize = 4 * 1024;

/// The most connections served at once; more are answered 503 at once.
pub const MAX_CONNECTIONS: usize = 16;
/// How often the export thread looks for new connections (and a new config) while it listens.
const TICK: Duration = Duration::from_millis(50);
/// How often it looks for a new config while it does not (the engine checks the file once a second).
const IDLE: Duration = Duration::from_secs(1);

/// The running relay. Stops (and joins its thread) when dropped, or by itself once the engine stopped.
#[derive(Debug)]
pub struct Export {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Export {
    /// Starts the export thread on the engine's published state; it serves while the config has
    /// `[export] listen`. `acks` takes the desks' `POST /ack`.
    pub fn start(published: PublishedHandle, acks: AckHandle) -> std::io::Result<Export> {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            acks,
            published: published.clone(),
            auth: Mutex::new(Auth::Open),
            cache: Mutex::new(None),
            active: AtomicUsize::new(0),
        });
        let (busy, refused) = std::sync::mpsc::sync_channel(MAX_CONNECTIONS);
        std::thread::Builder::new()
            .name("export-busy".into())
            .spawn(move || {
                for stream in refused {
                    refuse(&stream);
                }
            })?;
        let mut relay = Relay {
            published,
            shared,
            busy,
            listener: None,
            config: None,
        };
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("export".into())
                .spawn(move || relay.run(&stop))?
        };
        Ok(Export {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let Some(t) = self.thread.take() else { return };
        t.thread().unpark();
        if t.join().is_err() {
            tracing::error!("the relay's thread panicked");
        }
    }
}

/// What the readers must send.
#[derive(Debug)]
enum Auth {
    /// No auth configured: anyone who reaches the port reads.
    Open,
    /// Basic auth with these.
    Basic(Credentials),
    /// Auth is configured but its token cannot be found: nobody reads (until the config changes).
    Locked,
}

/// What the connection threads share.
#[derive(Debug)]
struct Shared {
    acks: AckHandle,
    published: PublishedHandle,
    auth: Mutex<Auth>,
    cache: Mutex<Option<Arc<Bodies>>>,
    active: AtomicUsize,
}

/// The two feeds of one snapshot, built once.
#[derive(Debug)]
struct Bodies {
    snapshot: Arc<Snapshot>,
    cc: Body,
    json: Body,
}

#[derive(Debug)]
struct Body {
    bytes: Arc<[u8]>,
    etag: String,
}

impl Body {
    fn new(bytes: Vec<u8>) -> Body {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        Body {
            etag: format!("\"{:016x}\"", hasher.finish()),
            bytes: bytes.into(),
        }
    }
}

impl Bodies {
    fn of(snapshot: Arc<Snapshot>) -> Bodies {
        let cc = cctray::write(&snapshot).into_bytes();
        // serde_json leaves DEL, C1 and bidi controls raw: escaped, they read back the same.
        let json = String::from_utf8(Feed::of(&snapshot).to_json()).unwrap_or_default();
        let json = text::json_escape_hidden(&json).into_owned().into_bytes();
        Bodies {
            cc: Body::new(cc),
            json: Body::new(json),
            snapshot,
        }
    }
}

/// The export thread's own state.
struct Relay {
    published: PublishedHandle,
    shared: Arc<Shared>,
    /// Connections beyond [`MAX_CONNECTIONS`], to be answered 503 (the thread ends with the relay's).
    busy: std::sync::mpsc::SyncSender<TcpStream>,
    /// The listening socket and the `listen` it was bound for.
    listener: Option<(SocketAddr, TcpListener)>,
    /// The config last applied.
    config: Option<Arc<Config>>,
}

impl Relay {
    fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            let Some(config) = self.published.config() else {
                return; // the engine stopped
            };
            if !self
                .config
                .as_ref()
                .is_some_and(|c| Arc::ptr_eq(c, &config))
            {
                self.apply(config.export.as_ref());
                self.config = Some(config);
            }
            self.accept_all();
            std::thread::park_timeout(if self.listener.is_some() { TICK } else { IDLE });
        }
    }

    /// Follows a new config: auth now, and the socket when `listen` changed.
    fn apply(&mut self, export: Option<&ExportConfig>) {
        let auth = match export.and_then(|e| e.auth.as_ref()) {
            None => Auth::Open,
            Some(a) => match credentials::export_lookup(a) {
                Ok(c) => Auth::Basic(c),
                Err(e) => {
                    tracing::error!(
                        "relay: {e}; every reader is refused (401) until it is fixed and the config \
                         saved again"
                    );
                    Auth::Locked
                }
            },
        };
        let who = match &auth {
            Auth::Open => "no auth".to_owned(),
            Auth::Basic(c) => format!("Basic auth as {}", text::visible(&c.user)),
            Auth::Locked => "Basic auth, token missing".to_owned(),
        };
        *self.shared.auth.lock() = auth;
        let wanted = export.map(|e| e.listen);
        if self.listener.as_ref().map(|l| l.0) == wanted {
            return;
        }
        if let Some((_, old)) = self.listener.take() {
            let shown = old
                .local_addr()
                .map_or_else(|_| "?".into(), |a| a.to_string());
            tracing::info!("relay: stopped listening on {shown}");
        }
        let Some(addr) = wanted else { return };
        match bind(addr) {
            Ok(listener) => {
                let shown = listener.local_addr().unwrap_or(addr);
                tracing::info!("relay: serving http://{shown}/cc.xml and /api/json ({who})");
                self.listener = Some((addr, listener));
            }
            Err(e) => tracing::error!("relay: cannot listen on {addr}: {e}; {}", bind_hint(&e)),
        }
    }

    fn accept_all(&self) {
        let Some((_, listener)) = &self.listener else {
            return;
        };
        loop {
            match listener.accept() {
                Ok((stream, _)) => self.dispatch(stream),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // Out of file descriptors and the like: try again at the next tick.
                Err(e) => {
                    tracing::debug!("relay: accept: {e}");
                    return;
                }
            }
        }
    }

    /// Serves `stream` on a thread of its own, or answers 503 when [`MAX_CONNECTIONS`] are busy.
    fn dispatch(&self, stream: TcpStream) {
        let slot = Slot::take(&self.shared);
        let Some(slot) = slot else {
            // Told to come back by the one refusing thread; when even its queue is full, closed.
            self.busy.try_send(stream).ok();
            return;
        };
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("export-client".into())
            .spawn(move || {
                let _slot = slot;
                serve_one(&shared, &stream);
            });
        if let Err(e) = spawned {
            tracing::debug!("relay: cannot start a thread for a reader: {e}");
        }
    }
}

/// One of the [`MAX_CONNECTIONS`]; given back when dropped.
struct Slot(Arc<Shared>);

impl Slot {
    fn take(shared: &Arc<Shared>) -> Option<Slot> {
        let taken = shared
            .active
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_CONNECTIONS).then_some(n + 1)
            });
        taken.ok().map(|_| Slot(shared.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// What to do about a bind error.
fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        ErrorKind::AddrInUse => {
            "another program (or another ledtogo) uses that port: pick another port in [export] listen"
        }
        ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges: pick a port above 1024 (e.g. 8765) in [export] listen"
        }
        ErrorKind::AddrNotAvailable => {
            "this machine has no such address: use 0.0.0.0 (every network) or 127.0.0.1 in [export] listen"
        }
        _ => "check [export] listen",
    }
}

/// Reads one request from `stream` and answers it.
fn serve_one(shared: &Shared, stream: &TcpStream) {
    stream.set_nonblocking(false).ok();
    stream.set_write_timeout(Some(serve::WRITE_TIMEOUT)).ok();
    stream.set_nodelay(true).ok();
    let deadline = Instant::now() + serve::HEAD_DEADLINE;
    let mut set_timeout = |d: Duration| stream.set_read_timeout(Some(d));
    let (answer, head_only) =
        match serve::read_head_and_more(&mut &*stream, &mut set_timeout, deadline) {
            Ok((head, start)) if head.method == "POST" && head.path == "/ack" => {
                if !shared.authorized(head.header("authorization")) {
                    (unauthorized(), false)
                } else {
                    match serve::read_body(
                        &mut &*stream,
                        &mut set_timeout,
                        deadline,
                        &head,
                        start,
                        MAX_ACK_BODY,
                    ) {
                        Ok(body) => (shared.acknowledge(&body), false),
                        Err(serve::BodyError::NoLength) => (
                            Answer::text(
                                411,
                                "POST /ack needs a Content-Length (no chunked body)\n",
                            ),
                            false,
                        ),
                        Err(serve::BodyError::TooLarge) => (
                            Answer::text(
                                413,
                                &format!("an acknowledgement is at most {MAX_ACK_BODY} bytes\n"),
                            ),
                            false,
                        ),
                        Err(serve::BodyError::Gone) => return,
                    }
                }
            }
            Ok((head, _)) => (shared.answer(&head), head.method == "HEAD"),
            Err(HeadError::TooLarge) => {
                (Answer::text(431, "the request head is too large\n"), false)
            }
            Err(HeadError::Malformed) => (Answer::text(400, "not an HTTP/1.1 request\n"), false),
            Err(HeadError::Gone) => return,
        };
    if serve::write_answer(&mut &*stream, &answer, head_only).is_ok() {
        stream.shutdown(std::net::Shutdown::Write).ok();
        linger(stream, Duration::from_secs(1));
    }
}

/// Answers 503 to a connection that found every slot taken, without reading its request.
fn refuse(stream: &TcpStream) {
    stream.set_nonblocking(false).ok();
    stream.set_write_timeout(Some(Duration::from_secs(1))).ok();
    let busy = Answer::text(503, "the relay is busy; try again in a few seconds\n")
        .with("Retry-After", "5");
    if serve::write_answer(&mut &*stream, &busy, false).is_ok() {
        stream.shutdown(std::net::Shutdown::Write).ok();
        linger(stream, Duration::from_millis(250));
    }
}

/// Reads and drops what the client still sends (a body the relay never reads) for a moment, up to a
/// cap and for at most `most`, so closing does not reset the connection before the client has read the
/// answer.
fn linger(mut stream: &TcpStream, most: Duration) {
    use std::io::Read as _;
    const MAX_DRAIN: usize = 256 * 1024;
    let end = Instant::now() + most;
    let mut left = MAX_DRAIN;
    let mut buf = [0u8; 4096];
    while left > 0 {
        let Some(wait) = end
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        else {
            return;
        };
        if stream.set_read_timeout(Some(wait)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// 401, asking for Basic auth.
fn unauthorized() -> Answer {
    Answer::text(401, "this relay needs a user and token (Basic auth)\n")
        .with("WWW-Authenticate", "Basic realm=\"ledtogo\"")
}

impl Shared {
    /// The answer to a `POST /ack` whose `body` was read: hostile JSON, checked here for its shape and
    /// by the engine for its sense.
    fn acknowledge(&self, body: &[u8]) -> Answer {
        use crate::ack::Request;
        let request: Request = match serde_json::from_slice(body) {
            Ok(r) => r,
            Err(e) => {
                let why = text::truncate(&text::visible(&e.to_string()), 200).into_owned();
                return Answer::text(400, &format!("not an acknowledgement: {why}\n"));
            }
        };
        let command = match request {
            Request::Ack(a) => AckCommand::Make(a),
            Request::Clear { job, server } => AckCommand::Clear { job, server },
            Request::Show | Request::List => {
                return Answer::text(
                    400,
                    "POST /ack takes {\"op\": \"ack\"} or {\"op\": \"clear\"}\n",
                );
            }
        };
        match self.acks.ask(command) {
            Ok(line) => Answer::text(200, &format!("{line}\n")),
            Err(why) => Answer::text(409, &format!("{why}\n")),
        }
    }

    /// The answer to `head`.
    fn answer(&self, head: &Head) -> Answer {
        if head.method == "POST" {
            return Answer::text(
                405,
                "the relay is read-only but for POST /ack: GET or HEAD\n",
            )
            .with("Allow", "GET, HEAD");
        }
        if head.method != "GET" && head.method != "HEAD" {
            return Answer::text(405, "the relay is read-only: GET or HEAD\n")
                .with("Allow", "GET, HEAD");
        }
        if !self.authorized(head.header("authorization")) {
            return unauthorized();
        }
        let pick: fn(&Bodies) -> &Body = match head.path.as_str() {
            "/cc.xml" => |b| &b.cc,
            "/api/json" => |b| &b.json,
            "/" => return Answer::text(200, INDEX),
            _ => {
                return Answer::text(404, "not here: the relay serves /cc.xml and /api/json\n");
            }
        };
        let content_type = if head.path == "/cc.xml" {
            cctray::CONTENT_TYPE
        } else {
            "application/json"
        };
        let Some(bodies) = self.bodies() else {
            return Answer::text(503, "ledtogo is stopping\n");
        };
        let body = pick(&bodies);
        if head
            .header("if-none-match")
            .is_some_and(|tags| etag_matches(tags, &body.etag))
        {
            return Answer {
                status: 304,
                headers: vec![("ETag", body.etag.clone())],
                body: Arc::from(&[][..]),
            };
        }
        Answer {
            status: 200,
            headers: vec![
                ("Content-Type", content_type.to_owned()),
                ("ETag", body.etag.clone()),
                ("Cache-Control", "no-cache".to_owned()),
            ],
            body: body.bytes.clone(),
        }
    }

    /// Whether `header` (the request's `Authorization`) is what the config asks for.
    fn authorized(&self, header: Option<&str>) -> bool {
        let expected = match &*self.auth.lock() {
            Auth::Open => return true,
            Auth::Locked => return false,
            Auth::Basic(c) => format!("{}:{}", c.user, c.token.expose_secret()),
        };
        let Some((scheme, encoded)) = header.and_then(|h| h.split_once(' ')) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let given = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .unwrap_or_default();
        constant_time_eq(&given, expected.as_bytes())
    }

    /// The feeds of the latest snapshot, built now when it is new; `None` once the engine stopped.
    fn bodies(&self) -> Option<Arc<Bodies>> {
        let snapshot = self.published.published()?.snapshot;
        let mut cache = self.cache.lock();
        if let Some(bodies) = cache.as_ref()
            && Arc::ptr_eq(&bodies.snapshot, &snapshot)
        {
            return Some(bodies.clone());
        }
        let bodies = Arc::new(Bodies::of(snapshot));
        *cache = Some(bodies.clone());
        Some(bodies)
    }
}

const INDEX: &str = "ledtogo relay\n\n\
/cc.xml    every job of every server as a cctray feed (CCMenu, BuildNotify, Nevergreen, kind = \"cctray\")\n\
/api/json  the rich feed for ledtogo desks (kind = \"ledtogo\")\n";

/// Whether an `If-None-Match` value names `etag` (weak comparison, as RFC 9110 asks for it; `*`
/// matches any).
fn etag_matches(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// `a == b` in a time that depends only on the lengths, not on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn etags_match_exactly_weakly_or_by_star_and_lists_are_read() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("W/\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", \"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
        assert!(!etag_matches("abc", "\"abc\""), "unquoted is another tag");
    }

    #[test]
    fn the_constant_time_comparison_is_equality() {
        assert!(constant_time_eq(b"office:s3cret", b"office:s3cret"));
        assert!(!constant_time_eq(b"office:s3cres", b"office:s3cret"));
        assert!(!constant_time_eq(b"office:s3cre", b"office:s3cret"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn a_body_s_etag_is_a_quoted_hash_that_follows_the_content() {
        let a = Body::new(b"<Projects/>".to_vec());
        let b = Body::new(b"<Projects/>".to_vec());
        let c = Body::new(b"<Projects></Projects>".to_vec());
        assert_eq!(a.etag, b.etag);
        assert_ne!(a.etag, c.etag);
        assert!(a.etag.starts_with('"') && a.etag.ends_with('"') && a.etag.len() == 18);
    }
}
