//! `[strip] port`: which strip the frames go to. The same words in the file, on the command line
//! (`--port`) and in the window's port field: `auto`, `none`, a serial device path, `ddp://HOST[:PORT]`
//! (a network strip speaking DDP over UDP, port 4048 by default) or `wled://HOST[:HTTP_PORT]` (a WLED
//! board: its JSON API on HTTP port 80 by default, then DDP to HOST:4048).
//!
//! Anything of the form `SCHEME://…` is a network strip; an unknown scheme, an empty host, a bad port
//! or a path after the host is refused with what to write instead.

use std::fmt;
use std::path::PathBuf;

/// The UDP port DDP receivers (WLED, ESPixelStick, xLights) listen on.
pub const DDP_PORT: u16 = 4048;
/// The HTTP port of WLED's JSON API.
pub const WLED_HTTP_PORT: u16 = 80;

/// Which strip the frames go to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PortChoice {
    /// Probe the known USB-serial bridges and take the first LED device that answers.
    #[default]
    Auto,
    /// Exactly this serial port (a device node or a symlink to one).
    Path(PathBuf),
    /// A network strip that takes DDP on UDP `host:port`.
    Ddp { host: String, port: u16 },
    /// A WLED board: its JSON API at `http://host:http_port/`, then DDP to `host:4048`.
    Wled { host: String, http_port: u16 },
    /// No device: the strip is shown in the window only.
    None,
}

impl PortChoice {
    /// Whether frames go over the network (DDP) rather than a serial port.
    pub fn is_network(&self) -> bool {
        matches!(self, PortChoice::Ddp { .. } | PortChoice::Wled { .. })
    }
}

/// Why a port value cannot be used. The message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error(
        "{text:?} has no host: write {scheme}://HOST[:PORT] (e.g. {scheme}://192.168.1.50 or \
         {scheme}://wled-desk.local)"
    )]
    NoHost { text: String, scheme: &'static str },
    #[error(
        "{text:?}: the port must be a number from 1 to 65535 ({scheme}://HOST[:PORT], {scheme} \
         uses {default} when it is left out)"
    )]
    BadPort {
        text: String,
        scheme: &'static str,
        default: u16,
    },
    #[error("{text:?}: nothing may follow the host and port (write {scheme}://HOST[:PORT])")]
    Path { text: String, scheme: &'static str },
    #[error(
        "{text:?}: {host:?} is not a host name or IP address (letters, digits, '-', '.' and '_'; \
         an IPv6 address in brackets: [fd00::5])"
    )]
    BadHost { text: String, host: String },
    #[error(
        "{text:?}: unknown scheme {scheme:?}: the port is a serial device path, \"auto\", \"none\", \
         ddp://HOST[:PORT] (a DDP network strip) or wled://HOST[:PORT] (a WLED board)"
    )]
    UnknownScheme { text: String, scheme: String },
}

impl std::str::FromStr for PortChoice {
    type Err = PortError;

    /// `auto` (or nothing), `none`, `ddp://HOST[:PORT]`, `wled://HOST[:PORT]`, or else a path.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        match text {
            "auto" | "" => return Ok(PortChoice::Auto),
            "none" => return Ok(PortChoice::None),
            _ => {}
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(PortChoice::Path(PathBuf::from(text)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "ddp" => {
                let (host, port) = host_port(text, rest, "ddp", DDP_PORT)?;
                Ok(PortChoice::Ddp { host, port })
            }
            "wled" => {
                let (host, http_port) = host_port(text, rest, "wled", WLED_HTTP_PORT)?;
                Ok(PortChoice::Wled { host, http_port })
            }
            _ => Err(PortError::UnknownScheme {
                text: text.to_owned(),
                scheme: format!("{scheme}://"),
            }),
        }
    }
}

/// `HOST[:PORT]` (an IPv6 address in brackets), nothing after it but an optional `/`.
fn host_port(
    text: &str,
    rest: &str,
    scheme: &'static str,
    default: u16,
) -> Result<(String, u16), PortError> {
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#']) {
        return Err(PortError::Path {
            text: text.to_owned(),
            scheme,
        });
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Err(PortError::BadHost {
                text: text.to_owned(),
                host: rest.to_owned(),
            });
        };
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| PortError::BadHost {
                text: text.to_owned(),
                host: rest.to_owned(),
            })?),
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(PortError::BadHost {
                text: text.to_owned(),
                host: host.to_owned(),
            });
        }
        (host, port)
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(PortError::NoHost {
            text: text.to_owned(),
            scheme,
        });
    }
    let is_v6 = rest.starts_with('[');
    if !is_v6
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(PortError::BadHost {
            text: text.to_owned(),
            host: host.to_owned(),
        });
    }
    let port = match port {
        None => default,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| PortError::BadPort {
                text: text.to_owned(),
                scheme,
                default,
            })?,
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// `host:port` as a socket address is written (an IPv6 address in brackets).
pub fn host_and_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl fmt::Display for PortChoice {
    /// The words [`str::parse`] reads back; a default port is left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host_only = |host: &str| {
            if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_owned()
            }
        };
        match self {
            PortChoice::Auto => f.write_str("auto"),
            PortChoice::None => f.write_str("none"),
            PortChoice::Path(p) => write!(f, "{}", p.display()),
            PortChoice::Ddp { host, port } if *port == DDP_PORT => {
                write!(f, "ddp://{}", host_only(host))
            }
            PortChoice::Ddp { host, port } => write!(f, "ddp://{}", host_and_port(host, *port)),
            PortChoice::Wled { host, http_port } if *http_port == WLED_HTTP_PORT => {
                write!(f, "wled://{}", host_only(host))
            }
            PortChoice::Wled { host, http_port } => {
                write!(f, "wled://{}", host_and_port(host, *http_port))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn parse(text: &str) -> Result<PortChoice, PortError> {
        text.parse()
    }

    #[test]
    fn the_words_and_paths_keep_their_meaning() {
        assert_eq!(parse("auto").unwrap(), PortChoice::Auto);
        assert_eq!(parse("  ").unwrap(), PortChoice::Auto);
        assert_eq!(parse("none").unwrap(), PortChoice::None);
        assert_eq!(
            parse("/dev/ttyACM0").unwrap(),
            PortChoice::Path("/dev/ttyACM0".into())
        );
        assert_eq!(parse("COM3").unwrap(), PortChoice::Path("COM3".into()));
    }

    #[test]
    fn ddp_takes_port_4048_unless_told_otherwise() {
        assert_eq!(
            parse("ddp://192.0.2.5").unwrap(),
            PortChoice::Ddp {
                host: "192.0.2.5".into(),
                port: 4048
            }
        );
        assert_eq!(
            parse("DDP://Desk-Strip.local:4049/").unwrap(),
            PortChoice::Ddp {
                host: "desk-strip.local".into(),
                port: 4049
            }
        );
        assert_eq!(
            parse("ddp://[fd00::5]:5000").unwrap(),
            PortChoice::Ddp {
                host: "fd00::5".into(),
                port: 5000
            }
        );
    }

    #[test]
    fn wled_takes_http_port_80_unless_told_otherwise() {
        assert_eq!(
            parse("wled://wled-desk.local").unwrap(),
            PortChoice::Wled {
                host: "wled-desk.local".into(),
                http_port: 80
            }
        );
        assert_eq!(
            parse("wled://127.0.0.23:8080").unwrap(),
            PortChoice::Wled {
                host: "127.0.0.23".into(),
                http_port: 8080
            }
        );
    }

    #[test]
    fn every_choice_reads_back_from_what_it_displays() {
        for text in [
            "auto",
            "none",
            "/dev/ttyUSB0",
            "ddp://192.0.2.5",
            "ddp://192.0.2.5:4049",
            "ddp://[fd00::5]",
            "ddp://[fd00::5]:9",
            "wled://desk.local",
            "wled://desk.local:8080",
        ] {
            let choice = parse(text).unwrap();
            assert_eq!(choice.to_string(), text);
            assert_eq!(parse(&choice.to_string()).unwrap(), choice);
        }
        assert_eq!(
            parse("ddp://h:4048").unwrap().to_string(),
            "ddp://h",
            "the default port is left out"
        );
    }

    #[test]
    fn bad_network_ports_say_what_to_write() {
        let cases = [
            ("ddp://", "has no host"),
            ("wled://:80", "has no host"),
            ("ddp://host:abc", "from 1 to 65535"),
            ("ddp://host:0", "from 1 to 65535"),
            ("ddp://host:70000", "from 1 to 65535"),
            ("wled://host/json/info", "nothing may follow the host"),
            ("wled://host?x=1", "nothing may follow the host"),
            ("ddp://user@host", "not a host name"),
            ("ddp://[nonsense]", "not a host name"),
            ("xyz://host", "unknown scheme \"xyz://\""),
            ("http://wled.local", "wled://HOST[:PORT]"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
            assert!(e.contains(text.trim()), "{text}: names the value: {e}");
        }
    }
}
