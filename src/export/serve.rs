//! The relay's HTTP/1.1, just what a read-only feed needs and bounded against slow or hostile clients:
//! one request per connection (`Connection: close`), the request head capped at [`MAX_HEAD`] bytes and
//! read within [`HEAD_DEADLINE`], no request body read but the one of `POST /ack` ([`read_body`]: its
//! declared length, at most a cap, by the same deadline), every write under a timeout.
//!
//! tiny_http (which the tests' servers use) reads header lines of any length, sets no socket timeouts
//! and starts a thread per connection without a bound, so the relay does not serve through it.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// The most bytes of a request line plus headers; more is answered 431.
pub const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request head, in all.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// How long one write of the answer may block.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A request head: the method, the path (query dropped) and the headers, names lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first header named `name` (lower case), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why no request head could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// The head is longer than [`MAX_HEAD`]: answer 431.
    TooLarge,
    /// Not an HTTP/1.x request: answer 400.
    Malformed,
    /// The client went away or was too slow: close without an answer.
    Gone,
}

/// Reads one request head from `stream` (a socket with no read timeout of its own is given one per
/// read, so the whole head arrives by `deadline` or not at all). Bytes after the head are never read.
pub fn read_head(
    stream: &mut (impl Read + ?Sized),
    set_timeout: &mut dyn FnMut(Duration) -> std::io::Result<()>,
    deadline: Instant,
) -> Result<Head, HeadError> {
    read_head_and_more(stream, set_timeout, deadline).map(|(head, _)| head)
}

/// [`read_head`], plus the bytes read after the head (the start of a body).
pub fn read_head_and_more(
    stream: &mut (impl Read + ?Sized),
    set_timeout: &mut dyn FnMut(Duration) -> std::io::Result<()>,
    deadline: Instant,
) -> Result<(Head, Vec<u8>), HeadError> {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let end = loop {
        if let Some(end) = head_end(&buf) {
            break end;
        }
        if buf.len() >= MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(HeadError::Gone)?;
        set_timeout(left).map_err(|_| HeadError::Gone)?;
        let want = chunk.len().min(MAX_HEAD + 4 - buf.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) | Err(_) => return Err(HeadError::Gone),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    if end > MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    let body_at = if buf[end..].starts_with(b"\r\n\r\n") {
        end + 4
    } else {
        end + 2
    };
    let head = parse_head(&buf[..end])?;
    Ok((head, buf.get(body_at..).unwrap_or_default().to_vec()))
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// No `Content-Length` (chunked bodies are not taken): answer 411.
    NoLength,
    /// Longer than allowed: answer 413.
    TooLarge,
    /// The client went away or was too slow: close without an answer.
    Gone,
}

/// Reads the body `head` declares (`Content-Length`, at most `max` bytes), `start` being what came with
/// the head, by `deadline`.
pub fn read_body(
    stream: &mut (impl Read + ?Sized),
    set_timeout: &mut dyn FnMut(Duration) -> std::io::Result<()>,
    deadline: Instant,
    head: &Head,
    start: Vec<u8>,
    max: usize,
) -> Result<Vec<u8>, BodyError> {
    if head.header("transfer-encoding").is_some() {
        return Err(BodyError::NoLength);
    }
    let length: usize = head
        .header("content-length")
        .ok_or(BodyError::NoLength)?
        .parse()
        .map_err(|_| BodyError::NoLength)?;
    if length > max || start.len() > max {
        return Err(BodyError::TooLarge);
    }
    let mut body = start;
    let mut chunk = [0u8; 1024];
    while body.len() < length {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(BodyError::Gone)?;
        set_timeout(left).map_err(|_| BodyError::Gone)?;
        let want = chunk.len().min(length - body.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) | Err(_) => return Err(BodyError::Gone),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(length);
    Ok(body)
}

/// Where the head ends (the index of its blank line) in `buf`, if it is all there.
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = buf.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn parse_head(bytes: &[u8]) -> Result<Head, HeadError> {
    let text = std::str::from_utf8(bytes).map_err(|_| HeadError::Malformed)?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request = lines.next().ok_or(HeadError::Malformed)?;
    let mut parts = request.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed);
    };
    if !version.starts_with("HTTP/1.")
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
    {
        return Err(HeadError::Malformed);
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or(HeadError::Malformed)?;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(HeadError::Malformed);
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    Ok(Head {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
    })
}

/// An answer: status, headers (besides the length and `Connection: close`) and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: std::sync::Arc<[u8]>,
}

impl Answer {
    /// A short plain-text answer.
    pub fn text(status: u16, text: &str) -> Answer {
        Answer {
            status,
            headers: vec![("Content-Type", "text/plain; charset=utf-8".to_owned())],
            body: text.as_bytes().into(),
        }
    }

    /// `with` one more header.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }
}

/// Writes `answer`; for a HEAD request (`head_only`) without the body, its length still given.
/// 304 carries no body either.
pub fn write_answer(
    stream: &mut (impl Write + ?Sized),
    answer: &Answer,
    head_only: bool,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", answer.status, reason(answer.status));
    for (name, value) in &answer.headers {
        // Values are ours (no line breaks), but a stray one must never split the header.
        let value: String = value.chars().filter(|c| !c.is_control()).collect();
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let with_body = answer.status != 304;
    if with_body {
        head.push_str(&format!("Content-Length: {}\r\n", answer.body.len()));
    }
    head.push_str("Connection: close\r\nX-Content-Type-Options: nosniff\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    if with_body && !head_only {
        stream.write_all(&answer.body)?;
    }
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn read(bytes: &[u8]) -> Result<Head, HeadError> {
        let mut stream = bytes;
        read_head(
            &mut stream,
            &mut |_| Ok(()),
            Instant::now() + Duration::from_secs(5),
        )
    }

    #[test]
    fn a_request_head_gives_method_path_and_headers_and_the_body_is_not_read() {
        let head =
            read(b"GET /cc.xml?x=1 HTTP/1.1\r\nHost: pi\r\nIf-None-Match:  \"abc\" \r\n\r\nBODY")
                .unwrap();
        assert_eq!(head.method, "GET");
        assert_eq!(head.path, "/cc.xml");
        assert_eq!(head.header("if-none-match"), Some("\"abc\""));
        assert_eq!(head.header("host"), Some("pi"));
        let bare = read(b"HEAD /api/json HTTP/1.0\n\n").unwrap();
        assert_eq!(
            (bare.method.as_str(), bare.path.as_str()),
            ("HEAD", "/api/json")
        );
    }

    #[test]
    fn an_oversized_or_broken_or_unfinished_head_is_refused() {
        let mut huge = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD * 4));
        assert_eq!(read(&huge), Err(HeadError::TooLarge));
        assert_eq!(read(b"\x16\x03\x01 tls\r\n\r\n"), Err(HeadError::Malformed));
        assert_eq!(
            read(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"),
            Err(HeadError::Malformed)
        );
        assert_eq!(read(b"GET / HTTP/2\r\n\r\n"), Err(HeadError::Malformed));
        assert_eq!(read(b"GET / HTTP/1.1\r\nHost: a"), Err(HeadError::Gone));
    }

    #[test]
    fn a_client_past_the_deadline_is_let_go() {
        let mut stream: &[u8] = b"GET / HTTP/1.1\r\n";
        let past = Instant::now();
        assert_eq!(
            read_head(&mut stream, &mut |_| Ok(()), past),
            Err(HeadError::Gone)
        );
    }

    #[test]
    fn answers_carry_their_length_close_the_connection_and_head_leaves_the_body_out() {
        let answer = Answer::text(200, "hello").with("ETag", "\"1\"");
        let mut out = Vec::new();
        write_answer(&mut out, &answer, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("\r\nETag: \"1\"\r\n"), "{text}");
        assert!(text.contains("\r\nContent-Length: 5\r\n"), "{text}");
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nhello"), "{text}");
        let mut out = Vec::new();
        write_answer(&mut out, &answer, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("Content-Length: 5") && text.ends_with("\r\n\r\n"),
            "{text}"
        );
        let mut out = Vec::new();
        let injected = Answer::text(304, "").with("ETag", "\"1\"\r\nSet-Cookie: x");
        write_answer(&mut out, &injected, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("\r\nSet-Cookie"), "{text}");
        assert!(!text.contains("Content-Length"), "{text}");
    }
}
