//! WLED's JSON API, as `wled://HOST` uses it: one `GET /json/info` (through the one HTTP agent,
//! [`crate::sources::http`]) for the board's name (`name`), firmware version (`ver`) and LED count
//! (`leds.count`). The answer is hostile like any server's: at most [`MAX_INFO_BYTES`], read leniently
//! (a field of the wrong type is "not there"), text made visible and cut, the count saturated.

use std::io::Read;
use std::time::Duration;

use serde::Deserialize;

use crate::config::host_and_port;
use crate::outputs::status::WledInfo;
use crate::sources::SourceError;
use crate::sources::http::{self, HttpClient, HttpSettings};
use crate::sources::jenkins::lenient::{Object, Scalar};
use crate::text;

/// How long asking a board may take (less than WLED's 2.5 s realtime timeout, so re-asking while
/// streaming never lets the strip fall back to its own effect).
pub const INFO_TIMEOUT: Duration = Duration::from_secs(2);
/// The most bytes of `/json/info` read (a real one is about 1 KB).
pub const MAX_INFO_BYTES: usize = 64 * 1024;
/// The most characters of a name or version kept.
const MAX_TEXT: usize = 40;

/// The URL of a board's `/json/info`.
pub fn info_url(host: &str, http_port: u16) -> String {
    format!("http://{}/json/info", host_and_port(host, http_port))
}

/// Asks the board at `host:http_port` about itself.
pub fn ask(host: &str, http_port: u16) -> Result<WledInfo, SourceError> {
    let url = info_url(host, http_port);
    let client = HttpClient::new(&HttpSettings::new(INFO_TIMEOUT).direct())?;
    let answer = client.get_json(&url, |body| read_info(&url, body))?;
    Ok(answer.value)
}

/// What to check when asking failed, after the error itself.
pub fn advice(e: &SourceError) -> &'static str {
    match e {
        SourceError::Network { .. } => {
            "is the board on, on this network and at this address? (its IP address always works)"
        }
        SourceError::NotJson { .. }
        | SourceError::BadAnswer { .. }
        | SourceError::Status { .. } => {
            "is it a WLED board? (a DDP receiver that is not WLED takes ddp://HOST)"
        }
        _ => "check the host",
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawInfo {
    name: Scalar,
    ver: Scalar,
    leds: Object<RawLeds>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawLeds {
    count: Scalar,
}

fn bad(url: &str, reason: String) -> SourceError {
    SourceError::BadAnswer {
        url: http::without_query(url),
        what: "WLED /json/info",
        reason,
    }
}

/// Reads a `/json/info` body (at most [`MAX_INFO_BYTES`]).
fn read_info(url: &str, body: &mut dyn Read) -> Result<WledInfo, SourceError> {
    let mut bytes = Vec::new();
    body.take(MAX_INFO_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| http::body_error(url, &e))?;
    if bytes.len() > MAX_INFO_BYTES {
        return Err(bad(
            url,
            format!(
                "larger than {} KB, which a WLED answer never is",
                MAX_INFO_BYTES / 1024
            ),
        ));
    }
    parse_info(&bytes).map_err(|reason| bad(url, reason))
}

/// The board's name, version and LED count from a `/json/info` body; why not, when they are not there.
pub fn parse_info(bytes: &[u8]) -> Result<WledInfo, String> {
    let Object(raw) =
        serde_json::from_slice::<Object<RawInfo>>(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let raw = raw.ok_or("not a JSON object")?;
    let version = raw
        .ver
        .as_str()
        .ok_or("no firmware version (`ver`): not a WLED board?")?;
    let count = raw.leds.0.map(|l| l.count).unwrap_or_default();
    let leds = match count {
        Scalar::Unsigned(n) => usize::try_from(n).unwrap_or(usize::MAX),
        Scalar::Signed(_) => 0,
        // `as` saturates: 1e300 is usize::MAX.
        Scalar::Float(f) if f >= 0.0 => f as usize,
        _ => return Err("no LED count (`leds.count`): not a WLED board?".to_owned()),
    };
    let shown = |s: &str| text::truncate(&text::visible(s), MAX_TEXT).into_owned();
    Ok(WledInfo {
        name: shown(raw.name.as_str().unwrap_or("")),
        version: shown(version),
        leds,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Trimmed from what WLED 0.15.0 answers.
    const DESK: &str = r#"{"ver":"0.15.0","vid":2412100,"cn":"Kōsen","release":"ESP32",
        "leds":{"count":60,"pwr":0,"fps":42,"maxpwr":850,"maxseg":32,"bootps":0},
        "str":false,"name":"desk","udpport":21324,"live":false,"arch":"esp32"}"#;

    #[test]
    fn a_wled_answer_gives_name_version_and_count() {
        let info = parse_info(DESK.as_bytes()).unwrap();
        assert_eq!(
            info,
            WledInfo {
                name: "desk".into(),
                version: "0.15.0".into(),
                leds: 60
            }
        );
        assert_eq!(info.to_string(), "WLED 0.15.0 'desk', 60 LEDs");
    }

    #[test]
    fn hostile_text_is_made_visible_and_cut() {
        let long = "x".repeat(500);
        let body = format!(
            r#"{{"ver":"0.15\u001b[2J","name":"de\nsk\u202e{long}","leds":{{"count":60}}}}"#
        );
        let info = parse_info(body.as_bytes()).unwrap();
        assert!(!info.name.chars().any(text::is_hidden_control), "{info:?}");
        assert!(!info.version.chars().any(text::is_hidden_control));
        assert!(info.name.chars().count() <= MAX_TEXT, "{}", info.name);
        assert!(
            info.name.starts_with("de\u{FFFD}sk\u{FFFD}x"),
            "{}",
            info.name
        );
    }

    #[test]
    fn counts_saturate_and_a_missing_count_or_version_is_not_wled() {
        let huge = parse_info(br#"{"ver":"1","leds":{"count":1e300}}"#).unwrap();
        assert_eq!(huge.leds, usize::MAX);
        let negative = parse_info(br#"{"ver":"1","leds":{"count":-5}}"#).unwrap();
        assert_eq!(negative.leds, 0);
        let e = parse_info(br#"{"ver":"1","leds":{"count":"sixty"}}"#).unwrap_err();
        assert!(e.contains("leds.count"), "{e}");
        let e = parse_info(br#"{"name":"desk","leds":{"count":60}}"#).unwrap_err();
        assert!(e.contains("`ver`"), "{e}");
        assert!(
            parse_info(b"[1,2]")
                .unwrap_err()
                .contains("not a JSON object")
        );
        assert!(parse_info(b"<html>").unwrap_err().starts_with("not JSON"));
    }

    #[test]
    fn an_ipv6_board_gets_a_bracketed_url() {
        assert_eq!(info_url("fd00::5", 80), "http://[fd00::5]:80/json/info");
        assert_eq!(
            info_url("desk.local", 8080),
            "http://desk.local:8080/json/info"
        );
    }
}
