//! The polling client: one nested `tree=` request per source (plus one per folder deeper than the query),
//! pre-emptive Basic auth, verified TLS with an optional CA file, timeouts, and strict answer checks.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use thiserror::Error;

use crate::jenkins::parse::{self, Context};
use crate::jenkins::tree;
use crate::model::{Job, ServerState};

/// What part of a server to watch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Root {
    /// Every job of the server.
    #[default]
    All,
    /// Every job below a folder (full name path).
    Folder(Vec<String>),
    /// The jobs of a view (nested views as a path).
    View(Vec<String>),
}

/// User name and API token, sent pre-emptively on every request.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token, not even in debug logs.
        write!(
            f,
            "Credentials {{ user: {:?}, token: <hidden> }}",
            self.user
        )
    }
}

/// One Jenkins source as the client needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    /// Base URL, ending in `/`.
    pub base: String,
    pub root: Root,
    pub credentials: Option<Credentials>,
    /// PEM file with the CA certificate(s) to trust for this server (self-signed Jenkins).
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// Limit for a whole request, including reading the answer.
    pub request_timeout: Duration,
}

impl Source {
    pub fn new(name: impl Into<String>, url: &str) -> Self {
        Self {
            name: name.into(),
            base: tree::normalize_base(url),
            root: Root::All,
            credentials: None,
            ca_file: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
        }
    }

    fn root_url(&self) -> String {
        match &self.root {
            Root::All => self.base.clone(),
            Root::Folder(path) => tree::job_url(&self.base, path),
            Root::View(path) => tree::view_url(&self.base, path),
        }
    }

    /// The path the root's own children hang under (a view's jobs carry their `fullName`).
    fn root_path(&self) -> Vec<String> {
        match &self.root {
            Root::Folder(path) => path.clone(),
            Root::All | Root::View(_) => Vec::new(),
        }
    }
}

/// Why a poll failed. Each maps to a [`ServerState`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FetchError {
    #[error(
        "{url}: authentication needed (HTTP 403): configure `user` and an API token for this server"
    )]
    AuthNeeded { url: String },
    #[error("{url}: token rejected (HTTP 401): check the user name and API token")]
    TokenRejected { url: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error(
        "{url}: answered {content_type:?} instead of JSON (a login page or proxy in the way? check the URL)"
    )]
    NotJson { url: String, content_type: String },
    #[error("{url}: the answer is not valid Jenkins JSON: {reason}")]
    BadJson { url: String, reason: String },
    #[error("{url}: {reason}")]
    Network { url: String, reason: String },
    #[error("cannot use CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    /// The server entry cannot be used as configured (e.g. its token is missing).
    #[error("{reason}")]
    Setup { reason: String },
}

impl FetchError {
    /// The server state this failure puts the server in.
    pub fn server_state(&self) -> ServerState {
        match self {
            FetchError::AuthNeeded { .. } => ServerState::AuthNeeded,
            FetchError::TokenRejected { .. } => ServerState::TokenRejected,
            FetchError::Status { status, .. } => ServerState::Unreachable(format!("HTTP {status}")),
            FetchError::NotJson { content_type, .. } => {
                ServerState::Unreachable(format!("answered {content_type} instead of JSON"))
            }
            FetchError::BadJson { reason, .. } => {
                ServerState::Unreachable(format!("invalid JSON: {reason}"))
            }
            FetchError::Network { reason, .. } => ServerState::Unreachable(reason.clone()),
            FetchError::CaFile { reason, .. } => {
                ServerState::Unreachable(format!("CA file: {reason}"))
            }
            FetchError::Setup { reason } => ServerState::Unreachable(reason.clone()),
        }
    }
}

/// The result of one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub jobs: Vec<Job>,
    /// The `X-Jenkins` version header.
    pub version: Option<String>,
    /// How many HTTP requests the poll took (1 unless folders are nested deeper than the query).
    pub requests: usize,
}

/// A client for one source. Cheap to keep; reuses connections between polls.
#[derive(Debug)]
pub struct Client {
    source: Source,
    agent: ureq::Agent,
    auth_header: Option<String>,
}

/// Follow-up requests per poll are bounded so a pathological tree cannot turn one poll into thousands.
const MAX_REQUESTS_PER_POLL: usize = 200;
/// Upper bound for one answer (a server with thousands of jobs is a few MB).
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

impl Client {
    pub fn new(source: Source) -> Result<Self, FetchError> {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &source.ca_file {
            tls = tls.root_certs(load_ca(path)?);
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(source.connect_timeout))
            .timeout_global(Some(source.request_timeout))
            .user_agent(concat!("ledtogo/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build();
        let auth_header = source.credentials.as_ref().map(|c| {
            let raw = format!("{}:{}", c.user, c.token);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        });
        Ok(Self {
            source,
            agent: config.new_agent(),
            auth_header,
        })
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Polls the source: every job at any depth, in one request unless folders nest deeper than
    /// [`tree::LEVELS`].
    pub fn fetch(&self) -> Result<Fetched, FetchError> {
        let ctx = Context {
            server: &self.source.name,
            base: &self.source.base,
        };
        let mut jobs = Vec::new();
        let mut version = None;
        let mut requests = 0;
        let mut queue = VecDeque::from([(self.source.root_url(), self.source.root_path())]);
        while let Some((url, parent)) = queue.pop_front() {
            if requests >= MAX_REQUESTS_PER_POLL {
                tracing::warn!(
                    server = %self.source.name,
                    "folders nest too deep: stopped after {MAX_REQUESTS_PER_POLL} requests"
                );
                break;
            }
            requests += 1;
            let (value, v) = self.get_json(&tree::api_url(&url, tree::LEVELS))?;
            version = version.or(v);
            let listing =
                parse::listing(ctx, &value, &parent).map_err(|reason| FetchError::BadJson {
                    url: url.clone(),
                    reason,
                })?;
            jobs.extend(listing.jobs);
            for path in listing.truncated {
                queue.push_back((tree::job_url(&self.source.base, &path), path));
            }
        }
        Ok(Fetched {
            jobs,
            version,
            requests,
        })
    }

    /// One GET that must answer 200 with JSON. Returns the JSON and the `X-Jenkins` version.
    fn get_json(&self, url: &str) -> Result<(Value, Option<String>), FetchError> {
        let mut req = self
            .agent
            .get(url)
            .header("Accept", "application/json")
            .header("Accept-Encoding", "gzip");
        if let Some(auth) = &self.auth_header {
            req = req.header("Authorization", auth);
        }
        let shown = strip_query(url);
        let mut resp = req.call().map_err(|e| FetchError::Network {
            url: shown.clone(),
            reason: describe(&e),
        })?;
        match resp.status().as_u16() {
            200 => {}
            401 => return Err(FetchError::TokenRejected { url: shown }),
            403 => return Err(FetchError::AuthNeeded { url: shown }),
            status => return Err(FetchError::Status { url: shown, status }),
        }
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if !content_type
            .to_ascii_lowercase()
            .starts_with("application/json")
        {
            return Err(FetchError::NotJson {
                url: shown,
                content_type: if content_type.is_empty() {
                    "no content type".to_owned()
                } else {
                    content_type
                },
            });
        }
        let version = resp
            .headers()
            .get("x-jenkins")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|e| FetchError::Network {
                url: shown.clone(),
                reason: format!("reading the answer failed: {}", describe(&e)),
            })?;
        let value = serde_json::from_slice(&body).map_err(|e| FetchError::BadJson {
            url: shown,
            reason: e.to_string(),
        })?;
        Ok((value, version))
    }
}

fn strip_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

/// A short, human reason for a transport error.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found (DNS)".to_owned(),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::TimedOut => "timed out".to_owned(),
            _ => io.to_string(),
        },
        other => other.to_string(),
    }
}

fn load_ca(path: &PathBuf) -> Result<ureq::tls::RootCerts, FetchError> {
    let err = |reason: String| FetchError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item.map_err(|e| err(e.to_string()))? {
            ureq::tls::PemItem::Certificate(c) => certs.push(c),
            _ => continue,
        }
    }
    if certs.is_empty() {
        return Err(err("no PEM certificate in the file".to_owned()));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}
