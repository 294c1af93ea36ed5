//! The one place an HTTP agent is built and a request is made, for every kind of source: verified TLS
//! (web PKI roots plus an optional CA file), timeouts, the proxy from the environment (`HTTPS_PROXY`,
//! `NO_PROXY`…), a response size cap, credentials sent up front, the redirect policy (credentials follow
//! a redirect only to the same host), and `Retry-After`.
//!
//! Every request asks for gzip (`Accept-Encoding: gzip`; Jenkins, GitHub and GitLab serve it): a
//! 10,000-job Jenkins answer is about a tenth the size on the wire. The size cap applies to the answer
//! as decompressed, so a small compressed body cannot expand into gigabytes (a "gzip bomb").

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use secrecy::ExposeSecret as _;

use super::SourceError;
use super::credentials::{Credentials, Secret};

/// Upper bound for one answer, decompressed (a server with thousands of jobs is a few MB).
pub const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// Redirects followed before giving up (a moved Jenkins, http → https).
pub const MAX_REDIRECTS: u32 = 5;
/// A rate-limited server asked to wait at most this long, whatever it says.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// The wait when a server says "too many requests" without saying for how long.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The connection timeout never exceeds this, however long a request may take.
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a token goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthStyle {
    /// `Authorization: Basic base64(user:token)` (Jenkins, cctray feeds).
    #[default]
    Basic,
    /// `Authorization: Bearer token` (GitHub).
    Bearer,
    /// `PRIVATE-TOKEN: token` (GitLab).
    PrivateToken,
}

/// How to reach a server.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Sent pre-emptively on every request, as `auth` says.
    pub credentials: Option<Credentials>,
    pub auth: AuthStyle,
    /// PEM file with CA certificate(s) to trust in addition to the web PKI (a self-signed server).
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// Limit for a whole request, including reading the answer.
    pub request_timeout: Duration,
    /// Through the proxy the environment names (`HTTPS_PROXY`…); off for a device on the local
    /// network (a WLED board), which a company proxy cannot reach.
    pub use_proxy: bool,
}

impl HttpSettings {
    /// Anonymous, web PKI only; requests may take `timeout` (connecting at most [`MAX_CONNECT_TIMEOUT`]).
    pub fn new(timeout: Duration) -> Self {
        Self {
            credentials: None,
            auth: AuthStyle::Basic,
            ca_file: None,
            connect_timeout: timeout.min(MAX_CONNECT_TIMEOUT),
            request_timeout: timeout,
            use_proxy: true,
        }
    }

    /// Never through a proxy: for a device on the local network.
    pub fn direct(mut self) -> Self {
        self.use_proxy = false;
        self
    }

    pub fn credentials(mut self, credentials: Option<Credentials>) -> Self {
        self.credentials = credentials;
        self
    }

    pub fn auth(mut self, auth: AuthStyle) -> Self {
        self.auth = auth;
        self
    }

    pub fn ca_file(mut self, ca_file: Option<PathBuf>) -> Self {
        self.ca_file = ca_file;
        self
    }
}

/// An agent for one server. Cheap to keep; reuses connections between polls.
pub struct HttpClient {
    agent: ureq::Agent,
    /// The auth header's name and value.
    authorization: Option<(&'static str, Secret)>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<hidden>"),
            )
            .finish_non_exhaustive()
    }
}

/// A parsed answer and the response headers a source may need.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub value: T,
    headers: Vec<(String, String)>,
}

impl<T> Answer<T> {
    /// A response header (name in lower case), when it was sent as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The response headers an [`Answer`] keeps (the rest are dropped unread).
const KEPT_HEADERS: [&str; 8] = [
    "x-jenkins",
    "etag",
    "link",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit-remaining",
    "x-total-pages",
];

/// What an answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// `application/json` (Jenkins, GitHub, GitLab).
    Json,
    /// `application/xml`, `text/xml` or `…+xml` (cctray feeds).
    Xml,
}

impl Accept {
    fn header(self) -> &'static str {
        match self {
            Accept::Json => "application/json",
            Accept::Xml => "application/xml, text/xml;q=0.9",
        }
    }

    fn matches(self, content_type: &str) -> bool {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match self {
            Accept::Json => media == "application/json" || media.ends_with("+json"),
            Accept::Xml => {
                media == "application/xml" || media == "text/xml" || media.ends_with("+xml")
            }
        }
    }
}

/// One GET: the URL, what the answer must be, and the `ETag` of the last answer (a conditional request).
#[derive(Debug, Clone, Copy)]
pub struct Get<'a> {
    pub url: &'a str,
    pub accept: Accept,
    pub if_none_match: Option<&'a str>,
}

/// A fresh answer, or "not modified" (304) to a conditional request.
#[derive(Debug, Clone)]
pub enum Fetched<T> {
    Fresh(Answer<T>),
    /// The answer to `If-None-Match` did not change; the headers (rate limit) are kept.
    NotModified(Answer<()>),
}

impl HttpClient {
    pub fn new(settings: &HttpSettings) -> Result<Self, SourceError> {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &settings.ca_file {
            tls = tls.root_certs(load_ca(path)?);
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.request_timeout))
            .user_agent(concat!("ledtogo/", env!("CARGO_PKG_VERSION")))
            .proxy(settings.use_proxy.then(ureq::Proxy::try_from_env).flatten())
            .max_redirects(MAX_REDIRECTS)
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .tls_config(tls.build())
            .build();
        Ok(Self {
            agent: config.new_agent(),
            authorization: settings
                .credentials
                .as_ref()
                .map(|c| c.header(settings.auth)),
        })
    }

    /// One GET that must answer 200 with JSON, whose body `read` parses as a stream (capped at
    /// [`MAX_BODY_BYTES`]; see [`body_error`] for the errors of reading it). See [`HttpClient::get`].
    pub fn get_json<T>(
        &self,
        url: &str,
        read: impl FnOnce(&mut dyn Read) -> Result<T, SourceError>,
    ) -> Result<Answer<T>, SourceError> {
        let get = Get {
            url,
            accept: Accept::Json,
            if_none_match: None,
        };
        match self.get(get, read)? {
            Fetched::Fresh(answer) => Ok(answer),
            // Only a conditional request may be answered 304.
            Fetched::NotModified(_) => Err(SourceError::Status {
                url: without_query(url),
                status: 304,
            }),
        }
    }

    /// One GET that must answer 200 with `get.accept`'s kind of data (or 304 to `If-None-Match`), whose
    /// body `read` parses as a stream. 401 and 403 are the auth errors; 429, a 403 with
    /// `x-ratelimit-remaining: 0` (GitHub) and a 503 with `Retry-After` are rate limiting, until
    /// `Retry-After` or `x-ratelimit-reset` (at most [`MAX_RETRY_AFTER`]); anything else that is not the
    /// data asked for is a failure naming the URL (without its query).
    pub fn get<T>(
        &self,
        get: Get<'_>,
        read: impl FnOnce(&mut dyn Read) -> Result<T, SourceError>,
    ) -> Result<Fetched<T>, SourceError> {
        let url = get.url;
        let mut req = self
            .agent
            .get(url)
            .header("Accept", get.accept.header())
            .header("Accept-Encoding", "gzip");
        if let Some((name, value)) = &self.authorization {
            req = req.header(*name, value.expose_secret());
        }
        if let Some(tag) = get.if_none_match {
            req = req.header("If-None-Match", tag);
        }
        let shown = without_query(url);
        let mut resp = req.call().map_err(|e| SourceError::Network {
            url: shown.clone(),
            reason: describe(&e),
        })?;
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let headers: Vec<(String, String)> = KEPT_HEADERS
            .iter()
            .filter_map(|name| header(name).map(|v| ((*name).to_owned(), v)))
            .collect();
        let retry_after = header("retry-after");
        let exhausted = header("x-ratelimit-remaining").is_some_and(|r| r.trim() == "0");
        let now = SystemTime::now();
        match resp.status().as_u16() {
            200 => {}
            304 if get.if_none_match.is_some() => {
                return Ok(Fetched::NotModified(Answer { value: (), headers }));
            }
            401 => return Err(SourceError::TokenRejected { url: shown }),
            status @ (403 | 429) if exhausted => {
                let until = match retry_after.as_deref() {
                    Some(value) => retry_at(Some(value), now),
                    None => reset_at(header("x-ratelimit-reset").as_deref(), now),
                };
                return Err(SourceError::RateLimited {
                    url: shown,
                    status,
                    until,
                });
            }
            status @ (403 | 429 | 503) if status == 429 || retry_after.is_some() => {
                let until = retry_at(retry_after.as_deref(), now);
                return Err(SourceError::RateLimited {
                    url: shown,
                    status,
                    until,
                });
            }
            403 => {
                return Err(SourceError::AuthNeeded {
                    url: shown,
                    status: 403,
                });
            }
            status => return Err(SourceError::Status { url: shown, status }),
        }
        let content_type = header("content-type").unwrap_or_default();
        if !get.accept.matches(&content_type) {
            let content_type = if content_type.is_empty() {
                "no content type".to_owned()
            } else {
                content_type
            };
            return Err(match get.accept {
                Accept::Json => SourceError::NotJson {
                    url: shown,
                    content_type,
                },
                Accept::Xml => SourceError::NotXml {
                    url: shown,
                    content_type,
                },
            });
        }
        // A declared size beyond the cap is refused before reading a byte of it.
        let length = header("content-length").and_then(|l| l.trim().parse::<u64>().ok());
        if length.is_some_and(|l| l > MAX_BODY_BYTES) {
            return Err(too_large(&shown));
        }
        // An uncompressed body's declared size is what a reader of the whole body reserves.
        let hint = match header("content-encoding") {
            None => length.and_then(|l| usize::try_from(l).ok()).unwrap_or(0),
            Some(_) => 0,
        };
        // ureq's limit counts the bytes on the wire; `Capped` counts them decompressed.
        let mut body = Capped {
            inner: resp.body_mut().with_config().limit(MAX_BODY_BYTES).reader(),
            read: 0,
            hint,
        };
        let value = read(&mut body)?;
        Ok(Fetched::Fresh(Answer { value, headers }))
    }

    /// One GET that must answer 200 with JSON, its whole body read into memory (capped at
    /// [`MAX_BODY_BYTES`] decompressed), for a parser that borrows from it. See [`HttpClient::get`].
    pub fn get_json_body(&self, url: &str) -> Result<Answer<Vec<u8>>, SourceError> {
        self.get_json(url, |body| {
            let mut bytes = Vec::new();
            body.read_to_end(&mut bytes)
                .map_err(|e| body_error(url, &e))?;
            Ok(bytes)
        })
    }
}

/// The most bytes of a POST's answer read (a line of text).
pub const MAX_POST_ANSWER: u64 = 16 * 1024;

impl HttpClient {
    /// One POST of the JSON `body` (a desk's acknowledgement to its relay): the status and the answer's
    /// text, read up to [`MAX_POST_ANSWER`] bytes, hidden controls made visible. 401 is
    /// [`SourceError::TokenRejected`], 403 [`SourceError::AuthNeeded`]; no redirect is followed with a
    /// body (ureq turns a POST into a GET on 301–303, which the caller sees as an odd status).
    pub fn post_json(&self, url: &str, body: &[u8]) -> Result<(u16, String), SourceError> {
        let mut req = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .header("Accept", "text/plain");
        if let Some((name, value)) = &self.authorization {
            req = req.header(*name, value.expose_secret());
        }
        let shown = without_query(url);
        let mut resp = req.send(body).map_err(|e| SourceError::Network {
            url: shown.clone(),
            reason: describe(&e),
        })?;
        let status = resp.status().as_u16();
        match status {
            401 => return Err(SourceError::TokenRejected { url: shown }),
            403 => {
                return Err(SourceError::AuthNeeded {
                    url: shown,
                    status: 403,
                });
            }
            _ => {}
        }
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_POST_ANSWER)
            .read_to_string()
            .unwrap_or_default();
        Ok((status, crate::text::visible(text.trim()).into_owned()))
    }
}

/// An answer's body, decompressed, failing once it exceeds [`MAX_BODY_BYTES`] (with the error
/// [`body_error`] reads as "too large").
struct Capped<R> {
    inner: R,
    read: u64,
    /// The body's declared size when it is sent uncompressed (at most [`MAX_BODY_BYTES`]), else 0.
    hint: usize,
}

impl<R: Read> Read for Capped<R> {
    /// Reserves the declared size first, so a body read whole is not copied as its buffer grows.
    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        buf.reserve(std::mem::take(&mut self.hint));
        Read::by_ref(self).take(u64::MAX).read_to_end(buf)
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        if self.read > MAX_BODY_BYTES {
            return Err(std::io::Error::other(ureq::Error::BodyExceedsLimit(
                MAX_BODY_BYTES,
            )));
        }
        Ok(n)
    }
}

/// What a conditional GET keeps between polls: the last fresh answer's value and its `ETag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged<T> {
    pub etag: String,
    pub value: T,
}

impl HttpClient {
    /// The one rule for conditional requests: a GET that sends the `ETag` of `last` (the previous
    /// fresh answer, when it had one) as `If-None-Match`. A fresh answer replaces `last` (and clears it
    /// when it has no `ETag`); a 304 answers with `last`'s value again (its headers are the 304's). A
    /// 304 to a request that sent no `ETag` is an error, and a failed request leaves `last` as it was.
    pub fn get_cached<T: Clone>(
        &self,
        url: &str,
        accept: Accept,
        last: &mut Option<Tagged<T>>,
        read: impl FnOnce(&mut dyn Read) -> Result<T, SourceError>,
    ) -> Result<Answer<T>, SourceError> {
        let get = Get {
            url,
            accept,
            if_none_match: last.as_ref().map(|t| t.etag.as_str()),
        };
        match self.get(get, read)? {
            Fetched::NotModified(answer) => match last {
                Some(kept) => Ok(Answer {
                    value: kept.value.clone(),
                    headers: answer.headers,
                }),
                None => Err(SourceError::Status {
                    url: without_query(url),
                    status: 304,
                }),
            },
            Fetched::Fresh(answer) => {
                *last = answer
                    .header("etag")
                    .filter(|tag| !tag.is_empty())
                    .map(|etag| Tagged {
                        etag: etag.to_owned(),
                        value: answer.value.clone(),
                    });
                Ok(answer)
            }
        }
    }
}

/// When a rate limit's window resets: `x-ratelimit-reset` is epoch seconds; at most
/// [`MAX_RETRY_AFTER`] ahead, and [`DEFAULT_RETRY_AFTER`] when absent or unreadable.
pub fn reset_at(value: Option<&str>, now: SystemTime) -> SystemTime {
    let at = value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs.min(u64::from(u32::MAX))));
    match at {
        Some(at) if at <= now => now,
        Some(at) => at.min(now + MAX_RETRY_AFTER),
        None => now + DEFAULT_RETRY_AFTER,
    }
}

/// The error for a body that could not be read from `url` (the connection broke, a timeout, or the
/// answer is larger than [`MAX_BODY_BYTES`]).
pub fn body_error(url: &str, e: &std::io::Error) -> SourceError {
    let reason = match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
    {
        Some(ureq::Error::BodyExceedsLimit(_)) => return too_large(url),
        Some(other) => format!("reading the answer failed: {}", describe(other)),
        None => format!("reading the answer failed: {e}"),
    };
    SourceError::Network {
        url: without_query(url),
        reason,
    }
}

fn too_large(url: &str) -> SourceError {
    SourceError::Network {
        url: without_query(url),
        reason: format!(
            "the answer is larger than {} MB, the most ledtogo reads (a folder or view as the \
             server's root makes it smaller)",
            MAX_BODY_BYTES / (1024 * 1024)
        ),
    }
}

/// A URL as it appears in messages: without its query (long `tree=` specs, tokens in some APIs).
pub fn without_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_owned()
}

/// When to ask again after a `Retry-After` of `value` (delay seconds or an HTTP date) received at
/// `now`: never before `now`, never later than [`MAX_RETRY_AFTER`]; missing or unreadable means
/// [`DEFAULT_RETRY_AFTER`].
pub fn retry_at(value: Option<&str>, now: SystemTime) -> SystemTime {
    let wait = match value.map(str::trim) {
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            Duration::from_secs(v.parse().unwrap_or(u64::MAX))
        }
        Some(v) => match httpdate::parse_http_date(v) {
            Ok(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
            Err(_) => DEFAULT_RETRY_AFTER,
        },
        None => DEFAULT_RETRY_AFTER,
    };
    now + wait.min(MAX_RETRY_AFTER)
}

/// A time as the user reads it in a message: local `HH:MM:SS`.
pub fn describe_time(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(t)
        .format("%H:%M:%S")
        .to_string()
}

/// A short, human reason for a transport error.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found (DNS)".to_owned(),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::TooManyRedirects => {
            format!("more than {MAX_REDIRECTS} redirects (check the URL)")
        }
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::TimedOut => "timed out".to_owned(),
            _ => io.to_string(),
        },
        other => other.to_string(),
    }
}

/// Mozilla's web PKI roots plus the CA certificates of the PEM file at `path`.
fn load_ca(path: &Path) -> Result<ureq::tls::RootCerts, SourceError> {
    let err = |reason: String| SourceError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::Certificate(c) = item.map_err(|e| err(e.to_string()))? {
            certs.push(c);
        }
    }
    if certs.is_empty() {
        return Err(err("no PEM certificate in the file".to_owned()));
    }
    let web = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| ureq::tls::Certificate::from_der(c.as_ref()));
    Ok(ureq::tls::RootCerts::from(web.chain(certs)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_rate_limit_reset_is_epoch_seconds_capped_at_an_hour() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            reset_at(Some("1700000600"), now),
            now + Duration::from_secs(600)
        );
        assert_eq!(reset_at(Some("1699999999"), now), now, "already past");
        assert_eq!(reset_at(Some("99999999999"), now), now + MAX_RETRY_AFTER);
        assert_eq!(reset_at(Some("soon"), now), now + DEFAULT_RETRY_AFTER);
        assert_eq!(reset_at(None, now), now + DEFAULT_RETRY_AFTER);
    }

    #[test]
    fn content_types_are_matched_by_media_type() {
        assert!(Accept::Json.matches("application/json; charset=utf-8"));
        assert!(Accept::Json.matches("application/vnd.api+json"));
        assert!(!Accept::Json.matches("text/html"));
        assert!(Accept::Xml.matches("text/xml;charset=UTF-8"));
        assert!(Accept::Xml.matches("Application/XML"));
        assert!(Accept::Xml.matches("application/rss+xml"));
        assert!(!Accept::Xml.matches("text/html; charset=utf-8"));
        assert!(!Accept::Xml.matches(""));
    }

    const NOW: fn() -> SystemTime = || SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);

    #[test]
    fn retry_after_reads_seconds_and_http_dates_and_is_capped() {
        let now = NOW();
        assert_eq!(retry_at(Some("120"), now), now + Duration::from_secs(120));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(retry_at(Some(&date), now), now + Duration::from_secs(30));
        assert_eq!(
            retry_at(Some("99999999999999999999999"), now),
            now + MAX_RETRY_AFTER
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(retry_at(Some(&past), now), now, "never in the past");
        assert_eq!(retry_at(None, now), now + DEFAULT_RETRY_AFTER);
        assert_eq!(retry_at(Some("soon"), now), now + DEFAULT_RETRY_AFTER);
    }

    #[test]
    fn a_ca_file_adds_to_the_web_roots() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("ca.pem");
        std::fs::write(
            &pem,
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUW0==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        match load_ca(&pem).unwrap() {
            ureq::tls::RootCerts::Specific(certs) => assert_eq!(
                certs.len(),
                webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() + 1,
                "the web PKI roots and the file's certificate"
            ),
            other => panic!("expected specific roots, got {other:?}"),
        }
    }

    #[test]
    fn a_body_beyond_the_cap_once_decompressed_reads_as_too_large() {
        let endless = std::io::repeat(b' ');
        let mut capped = Capped {
            inner: endless,
            read: 0,
            hint: 0,
        };
        let e = std::io::copy(&mut capped, &mut std::io::sink()).unwrap_err();
        assert!(
            capped.read > MAX_BODY_BYTES && capped.read <= MAX_BODY_BYTES + 64 * 1024,
            "stops one buffer past the cap: {}",
            capped.read
        );
        let shown = body_error("http://ci/api/json?tree=jobs", &e).to_string();
        assert!(shown.contains("larger than 64 MB"), "{shown}");
        let mut small = Capped {
            inner: &b"{\"jobs\": []}"[..],
            read: 0,
            hint: 0,
        };
        let mut text = String::new();
        small.read_to_string(&mut text).unwrap();
        assert_eq!(text, "{\"jobs\": []}");
    }

    #[test]
    fn a_whole_body_of_declared_size_is_read_into_one_reservation_and_still_capped() {
        let body = vec![b'x'; 100_000];
        let mut declared = Capped {
            inner: &body[..],
            read: 0,
            hint: body.len(),
        };
        let mut bytes = Vec::new();
        declared.read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes, body);
        assert_eq!(bytes.capacity(), body.len(), "reserved once, never grown");
        let mut lying = Capped {
            inner: std::io::repeat(b' '),
            read: 0,
            hint: 10,
        };
        let e = lying.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(
            body_error("http://ci/", &e)
                .to_string()
                .contains("larger than 64 MB")
        );
    }

    #[test]
    fn urls_in_messages_lose_their_query() {
        assert_eq!(
            without_query("https://ci/api/json?tree=jobs[name]"),
            "https://ci/api/json"
        );
        assert_eq!(without_query("https://ci/#x"), "https://ci/");
    }

    #[test]
    fn the_authorization_header_is_not_in_debug_output() {
        let settings = HttpSettings::new(Duration::from_secs(1))
            .credentials(Some(Credentials::new("alice", "s3cret")));
        let client = HttpClient::new(&settings).ok();
        let shown = format!("{client:?}");
        assert!(shown.contains("<hidden>"), "{shown}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("YWxpY2U6czNjcmV0"),
            "{shown}"
        );
    }
}
