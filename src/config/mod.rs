//! The TOML configuration: schema, validation with file/line/column messages, token lookup, the default
//! path, and atomic, comment-preserving saves.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use crate::color::{Correction, Rgb};
use crate::model::{JobId, JobState, Target, split_full_name};

/// A configuration problem, with where it is.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

/// Where the config lives unless `--config` says otherwise (`~/.config/ledtogo/config.toml` on Linux).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "ledtogo").map(|d| d.config_dir().join("config.toml"))
}

// ---------------------------------------------------------------------------------------------------
// The file as written (serde), with spans for the values validation talks about.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    poll_seconds: Option<Spanned<f64>>,
    timeout_seconds: Option<Spanned<f64>>,
    #[serde(default)]
    servers: Vec<RawServer>,
    strip: Option<RawStrip>,
    #[serde(default)]
    slots: Vec<RawSlot>,
    aggregate: Option<RawAggregate>,
    colors: Option<RawColors>,
    alerts: Option<Alerts>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    name: Spanned<String>,
    url: Spanned<String>,
    user: Option<String>,
    token_env: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    folder: Option<String>,
    view: Option<Spanned<String>>,
    poll_seconds: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStrip {
    port: Option<String>,
    baud: Option<Spanned<u32>>,
    leds: Option<Spanned<i64>>,
    brightness: Option<Spanned<f64>>,
    gamma: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlot {
    led: Spanned<i64>,
    server: Option<Spanned<String>>,
    job: Option<Spanned<String>>,
    folder: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAggregate {
    leds: Spanned<Vec<Spanned<i64>>>,
    scope: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColors {
    success: Option<Spanned<String>>,
    unstable: Option<Spanned<String>>,
    failure: Option<Spanned<String>>,
    aborted: Option<Spanned<String>>,
    not_built: Option<Spanned<String>>,
    disabled: Option<Spanned<String>>,
    unknown: Option<Spanned<String>>,
    stale: Option<Spanned<String>>,
    missing: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------------
// The validated configuration.

/// The `[alerts]` section: desktop notifications and sounds for job and server changes.
///
/// `notifications` and `sounds` switch the two channels; `broke`, `fixed`, `still_failing` and
/// `server_outages` pick which changes alert at all (through both channels). `quiet_hours` silences both.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alerts {
    /// Master switch for desktop notifications.
    pub notifications: bool,
    /// Master switch for sounds (the tray's mute toggles it).
    pub sounds: bool,
    /// A job went from fine to failing or unstable.
    pub broke: bool,
    /// A broken job succeeded again.
    pub fixed: bool,
    /// Another build of a broken job failed (off by default: noisy).
    pub still_failing: bool,
    /// A server stopped answering, and when it is back.
    pub server_outages: bool,
    /// Local time range with no notifications and no sounds, e.g. `"22:00-07:00"` (may wrap midnight).
    pub quiet_hours: Option<QuietHours>,
    /// A sound file (wav, ogg, flac, mp3) played instead of the built-in "broke" sound.
    pub sound_broke: Option<PathBuf>,
    /// A sound file played instead of the built-in "fixed" sound.
    pub sound_fixed: Option<PathBuf>,
}

impl Default for Alerts {
    fn default() -> Self {
        Self {
            notifications: true,
            sounds: true,
            broke: true,
            fixed: true,
            still_failing: false,
            server_outages: true,
            quiet_hours: None,
            sound_broke: None,
            sound_fixed: None,
        }
    }
}

impl Alerts {
    /// Resolves the sound paths like other paths in the file: `~/` is the home folder and relative
    /// paths are relative to the config file's folder.
    fn resolved(mut self, base: Option<&Path>) -> Self {
        for p in [&mut self.sound_broke, &mut self.sound_fixed]
            .into_iter()
            .flatten()
        {
            *p = resolve_path(&p.to_string_lossy(), base);
        }
        self
    }
}

/// A daily time range in local time, `"HH:MM-HH:MM"`; the end is exclusive and may be before the start
/// (the range then wraps midnight: `"22:00-07:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct QuietHours {
    /// Minutes after midnight, 0–1439.
    pub start: u16,
    /// Minutes after midnight, 0–1439; exclusive.
    pub end: u16,
}

impl QuietHours {
    /// Whether `minute_of_day` (0–1439, local time) falls in the range.
    pub fn contains(self, minute_of_day: u16) -> bool {
        if self.start <= self.end {
            (self.start..self.end).contains(&minute_of_day)
        } else {
            minute_of_day >= self.start || minute_of_day < self.end
        }
    }
}

impl std::str::FromStr for QuietHours {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "quiet_hours {text:?} is not a time range like \"22:00-07:00\" (24-hour HH:MM-HH:MM, local time)"
            )
        };
        let minutes = |hm: &str| -> Option<u16> {
            let (h, m) = hm.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60 && !hm.contains('+')).then_some(h * 60 + m)
        };
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        let (start, end) = (
            minutes(start).ok_or_else(bad)?,
            minutes(end).ok_or_else(bad)?,
        );
        if start == end {
            return Err(format!(
                "quiet_hours {text:?} starts and ends at the same time (leave it out for no quiet hours)"
            ));
        }
        Ok(Self { start, end })
    }
}

impl TryFrom<String> for QuietHours {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

#[cfg(test)]
mod alerts_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn alerts(text: &str) -> Alerts {
        Config::parse(text, Some(Path::new("/etc/ledtogo/config.toml")))
            .unwrap()
            .alerts
    }

    #[test]
    fn alerts_default_to_broke_fixed_and_outages_with_sound() {
        let a = alerts("");
        assert_eq!(a, Alerts::default());
        assert!(a.notifications && a.sounds && a.broke && a.fixed && a.server_outages);
        assert!(!a.still_failing);
        assert_eq!(a.quiet_hours, None);
        assert_eq!(alerts("[alerts]\n"), Alerts::default());
    }

    #[test]
    fn every_alerts_field_is_read_and_sound_paths_are_resolved() {
        let a = alerts(
            "[alerts]\nnotifications = false\nsounds = false\nbroke = false\nfixed = false\n\
             still_failing = true\nserver_outages = false\nquiet_hours = \"22:30-07:00\"\n\
             sound_broke = \"sounds/broke.ogg\"\nsound_fixed = \"/usr/share/fixed.wav\"\n",
        );
        assert_eq!(
            a,
            Alerts {
                notifications: false,
                sounds: false,
                broke: false,
                fixed: false,
                still_failing: true,
                server_outages: false,
                quiet_hours: Some(QuietHours {
                    start: 22 * 60 + 30,
                    end: 7 * 60
                }),
                sound_broke: Some(PathBuf::from("/etc/ledtogo/sounds/broke.ogg")),
                sound_fixed: Some(PathBuf::from("/usr/share/fixed.wav")),
            }
        );
    }

    #[test]
    fn a_bad_quiet_hours_value_is_reported_at_its_line() {
        for bad in [
            "\"22-7\"",
            "\"25:00-07:00\"",
            "\"22:00\"",
            "\"22:00-07:60\"",
            "\"08:00-08:00\"",
            "\"\"",
        ] {
            let text = format!("[alerts]\nsounds = true\nquiet_hours = {bad}\n");
            match Config::parse(&text, Some(Path::new("/etc/ledtogo.toml"))) {
                Err(ConfigError::Invalid {
                    line,
                    column,
                    message,
                    ..
                }) => {
                    assert_eq!((line, column), (3, 15), "{bad}: {message}");
                    assert!(message.contains("quiet_hours"), "{message}");
                }
                other => panic!("{bad}: expected an invalid-config error, got {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_alerts_keys_are_refused() {
        let e = Config::parse("[alerts]\nsound = true\n", None).unwrap_err();
        assert!(e.to_string().contains("<config>:2:1"), "{e}");
    }

    #[test]
    fn quiet_hours_may_wrap_midnight() {
        let night: QuietHours = "22:00-07:00".parse().unwrap();
        assert_eq!(night.to_string(), "22:00-07:00");
        assert!(night.contains(22 * 60));
        assert!(night.contains(23 * 60 + 59));
        assert!(night.contains(0));
        assert!(night.contains(6 * 60 + 59));
        assert!(!night.contains(7 * 60), "the end is exclusive");
        assert!(!night.contains(12 * 60));
        assert!(!night.contains(21 * 60 + 59));
        let lunch: QuietHours = "12:00-13:30".parse().unwrap();
        assert!(lunch.contains(12 * 60) && lunch.contains(13 * 60 + 29));
        assert!(!lunch.contains(13 * 60 + 30) && !lunch.contains(11 * 60 + 59));
        assert_eq!(
            " 7:05 - 9:00".parse::<QuietHours>().unwrap().to_string(),
            "07:05-09:00"
        );
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StripConfig {
    pub port: PortChoice,
    pub baud: u32,
    pub leds: usize,
    /// 0.0–1.0, applied once, in the frame.
    pub brightness: f64,
    pub gamma: f64,
}

impl StripConfig {
    /// The colour correction every frame for this strip gets.
    pub fn correction(&self) -> Correction {
        Correction {
            brightness: self.brightness,
            gamma: self.gamma,
        }
    }
}

/// Which serial port drives the strip: `"auto"`, `"none"` or a device path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PortChoice {
    /// Probe the known USB-serial bridges and take the first LED device that answers.
    #[default]
    Auto,
    /// Exactly this port (a device node or a symlink to one).
    Path(PathBuf),
    /// No device: the strip is shown in the window only.
    None,
}

impl std::str::FromStr for PortChoice {
    type Err = std::convert::Infallible;

    /// `auto` (or nothing), `none`, or else a path: the same words in the file, the CLI and the window.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text.trim() {
            "auto" | "" => PortChoice::Auto,
            "none" => PortChoice::None,
            p => PortChoice::Path(PathBuf::from(p)),
        })
    }
}

impl fmt::Display for PortChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortChoice::Auto => f.write_str("auto"),
            PortChoice::None => f.write_str("none"),
            PortChoice::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

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

impl Root {
    /// The root for `--folder`/`folder = …` or `--view`/`view = …` (at most one of them is given).
    pub fn of(folder: Option<&str>, view: Option<&str>) -> Root {
        match (folder, view) {
            (Some(f), _) => Root::Folder(split_full_name(f)),
            (None, Some(v)) => Root::View(split_full_name(v)),
            (None, None) => Root::All,
        }
    }
}

impl Default for StripConfig {
    fn default() -> Self {
        Self {
            port: PortChoice::Auto,
            baud: 115_200,
            leds: 16,
            brightness: 0.5,
            gamma: 2.2,
        }
    }
}

/// How a server's token is found (never stored in the config itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    None,
    Env(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub name: String,
    pub url: String,
    pub user: Option<String>,
    pub token: TokenSource,
    pub ca_file: Option<PathBuf>,
    pub root: Root,
    /// Overrides the global poll interval.
    pub poll: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub led: usize,
    pub target: Target,
}

/// Which jobs the aggregate LEDs ("the tube") summarise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AggregateScope {
    /// The jobs and folders mapped to slots.
    #[default]
    Mapped,
    /// Every job of every server.
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AggregateConfig {
    pub leds: Vec<usize>,
    pub scope: AggregateScope,
}

/// The colour of each state, before brightness and gamma.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colors {
    pub success: Rgb,
    pub unstable: Rgb,
    pub failure: Rgb,
    pub aborted: Rgb,
    pub not_built: Rgb,
    pub disabled: Rgb,
    pub unknown: Rgb,
    /// Server unreachable or refusing us: never green.
    pub stale: Rgb,
    /// A slot whose job the server does not (or no longer) list.
    pub missing: Rgb,
}

impl Default for Colors {
    fn default() -> Self {
        Self {
            success: Rgb::new(0x00, 0xd0, 0x20),
            unstable: Rgb::new(0xff, 0xa0, 0x00),
            failure: Rgb::new(0xff, 0x00, 0x00),
            aborted: Rgb::new(0x80, 0x80, 0x80),
            not_built: Rgb::new(0x40, 0x40, 0x50),
            disabled: Rgb::new(0x18, 0x18, 0x18),
            unknown: Rgb::new(0xc0, 0xc0, 0xc0),
            stale: Rgb::new(0x80, 0x00, 0xff),
            missing: Rgb::new(0x30, 0x00, 0x60),
        }
    }
}

impl Colors {
    pub fn of(&self, state: JobState) -> Rgb {
        match state {
            JobState::Success => self.success,
            JobState::Unstable => self.unstable,
            JobState::Failure => self.failure,
            JobState::Aborted => self.aborted,
            JobState::NotBuilt => self.not_built,
            JobState::Disabled => self.disabled,
            JobState::Unknown => self.unknown,
        }
    }
}

/// The whole, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Base poll interval; polling goes faster while jobs build and slower when all is idle.
    pub poll: Duration,
    /// Limit for one request to a server.
    pub timeout: Duration,
    pub servers: Vec<ServerConfig>,
    pub strip: StripConfig,
    pub slots: Vec<Slot>,
    pub aggregate: AggregateConfig,
    pub colors: Colors,
    pub alerts: Alerts,
    /// The file this came from (relative token/CA paths are relative to its folder).
    pub path: Option<PathBuf>,
}

pub const MAX_LEDS: usize = 1024;

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            message: format!("cannot read the config file: {e}"),
        })?;
        Self::parse(&text, Some(path))
    }

    /// Validates config text; `path` names the file in messages and anchors relative paths.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Config, ConfigError> {
        let shown = path.map_or_else(|| "<config>".to_owned(), |p| p.display().to_string());
        let err = |span: Option<Range<usize>>, message: String| {
            let (line, column) = span.map_or((1, 1), |s| line_col(text, s.start));
            ConfigError::Invalid {
                path: shown.clone(),
                line,
                column,
                message,
            }
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| err(e.span(), e.message().to_owned()))?;
        let base_dir = path.and_then(Path::parent).map(Path::to_path_buf);
        let resolve = |p: &str| resolve_path(p, base_dir.as_deref());

        let seconds = |v: &Option<Spanned<f64>>, default: f64, min: f64, what: &str| match v {
            None => Ok(Duration::from_secs_f64(default)),
            Some(s) if *s.get_ref() >= min && *s.get_ref() <= 86_400.0 => {
                Ok(Duration::from_secs_f64(*s.get_ref()))
            }
            Some(s) => Err(err(
                Some(s.span()),
                format!("{what} must be between {min} and 86400 seconds"),
            )),
        };
        let poll = seconds(&raw.poll_seconds, 10.0, 1.0, "poll_seconds")?;
        let timeout = seconds(&raw.timeout_seconds, 20.0, 0.1, "timeout_seconds")?;

        let mut servers = Vec::new();
        let mut names = BTreeSet::new();
        for s in &raw.servers {
            let name = s.name.get_ref().trim();
            if name.is_empty() {
                return Err(err(Some(s.name.span()), "server name is empty".into()));
            }
            if !names.insert(name.to_owned()) {
                return Err(err(
                    Some(s.name.span()),
                    format!("a server named {name:?} is already defined"),
                ));
            }
            let url = s.url.get_ref().trim();
            if let Err(e) = crate::weburl::check_server_url(url) {
                return Err(err(Some(s.url.span()), format!("server {name:?}: {e}")));
            }
            let token = match (&s.token_env, &s.token_file) {
                (Some(_), Some(f)) => {
                    return Err(err(
                        Some(f.span()),
                        "use either token_env or token_file, not both".into(),
                    ));
                }
                (Some(e), None) => TokenSource::Env(e.get_ref().clone()),
                (None, Some(f)) => TokenSource::File(resolve(f.get_ref())),
                (None, None) => TokenSource::None,
            };
            if let (Some(_), Some(v)) = (&s.folder, &s.view) {
                return Err(err(
                    Some(v.span()),
                    "use either folder or view for a server, not both".into(),
                ));
            }
            let root = Root::of(
                s.folder.as_deref(),
                s.view.as_ref().map(|v| v.get_ref().as_str()),
            );
            servers.push(ServerConfig {
                name: name.to_owned(),
                url: url.to_owned(),
                user: s.user.clone().filter(|u| !u.is_empty()),
                token,
                ca_file: s.ca_file.as_ref().map(|c| resolve(c.get_ref())),
                root,
                poll: s
                    .poll_seconds
                    .as_ref()
                    .map(|_| seconds(&s.poll_seconds, 10.0, 1.0, "poll_seconds"))
                    .transpose()?,
            });
        }

        let mut strip = StripConfig::default();
        if let Some(rs) = &raw.strip {
            if let Some(port) = &rs.port {
                strip.port = port.parse().unwrap_or_default();
            }
            if let Some(b) = &rs.baud {
                if *b.get_ref() < 300 {
                    return Err(err(Some(b.span()), "baud must be at least 300".into()));
                }
                strip.baud = *b.get_ref();
            }
            if let Some(l) = &rs.leds {
                strip.leds = usize::try_from(*l.get_ref())
                    .ok()
                    .filter(|n| (1..=MAX_LEDS).contains(n))
                    .ok_or_else(|| {
                        err(
                            Some(l.span()),
                            format!("leds must be between 1 and {MAX_LEDS}"),
                        )
                    })?;
            }
            if let Some(b) = &rs.brightness {
                if !(0.0..=1.0).contains(b.get_ref()) {
                    return Err(err(
                        Some(b.span()),
                        "brightness must be between 0.0 and 1.0".into(),
                    ));
                }
                strip.brightness = *b.get_ref();
            }
            if let Some(g) = &rs.gamma {
                if !(0.5..=4.0).contains(g.get_ref()) {
                    return Err(err(
                        Some(g.span()),
                        "gamma must be between 0.5 and 4.0".into(),
                    ));
                }
                strip.gamma = *g.get_ref();
            }
        }

        let led_index = |v: &Spanned<i64>| {
            usize::try_from(*v.get_ref())
                .ok()
                .filter(|n| *n < strip.leds)
                .ok_or_else(|| {
                    err(
                        Some(v.span()),
                        format!(
                            "LED {} is beyond the strip: [strip] leds = {}, so LEDs are numbered 0 to {}",
                            v.get_ref(),
                            strip.leds,
                            strip.leds - 1
                        ),
                    )
                })
        };

        let mut slots = Vec::new();
        let mut used: BTreeMap<usize, Range<usize>> = BTreeMap::new();
        for s in &raw.slots {
            let led = led_index(&s.led)?;
            if used.insert(led, s.led.span()).is_some() {
                return Err(err(
                    Some(s.led.span()),
                    format!("LED {led} is mapped twice"),
                ));
            }
            let server = match &s.server {
                Some(name) if names.contains(name.get_ref().trim()) => {
                    name.get_ref().trim().to_owned()
                }
                Some(name) => {
                    return Err(err(
                        Some(name.span()),
                        format!(
                            "slot for LED {led} names server {:?}, which is not defined (servers: {})",
                            name.get_ref(),
                            list(&names)
                        ),
                    ));
                }
                None if names.len() == 1 => names.iter().next().cloned().unwrap_or_default(),
                None => {
                    return Err(err(
                        Some(s.led.span()),
                        format!(
                            "slot for LED {led} must say which server (`server = \"…\"`): there are {} servers",
                            names.len()
                        ),
                    ));
                }
            };
            let target = match (&s.job, &s.folder) {
                (Some(_), Some(f)) => {
                    return Err(err(
                        Some(f.span()),
                        "a slot shows either a job or a folder, not both".into(),
                    ));
                }
                (Some(j), None) => {
                    let path = split_full_name(j.get_ref());
                    if path.is_empty() {
                        return Err(err(Some(j.span()), "job name is empty".into()));
                    }
                    Target::Job(JobId { server, path })
                }
                (None, Some(f)) => Target::Folder {
                    server,
                    path: split_full_name(f.get_ref()),
                },
                (None, None) => Target::Server(server),
            };
            slots.push(Slot { led, target });
        }

        let mut aggregate = AggregateConfig::default();
        if let Some(a) = &raw.aggregate {
            for l in a.leds.get_ref() {
                let led = led_index(l)?;
                if used.contains_key(&led) {
                    return Err(err(
                        Some(l.span()),
                        format!("LED {led} is both a slot and part of the aggregate"),
                    ));
                }
                if !aggregate.leds.contains(&led) {
                    aggregate.leds.push(led);
                }
            }
            if let Some(scope) = &a.scope {
                aggregate.scope = match scope.get_ref().as_str() {
                    "mapped" => AggregateScope::Mapped,
                    "all" => AggregateScope::All,
                    other => {
                        return Err(err(
                            Some(scope.span()),
                            format!("scope {other:?} is not one of \"mapped\", \"all\""),
                        ));
                    }
                };
            }
        }

        let mut colors = Colors::default();
        if let Some(c) = &raw.colors {
            let fields: [(&Option<Spanned<String>>, &mut Rgb); 9] = [
                (&c.success, &mut colors.success),
                (&c.unstable, &mut colors.unstable),
                (&c.failure, &mut colors.failure),
                (&c.aborted, &mut colors.aborted),
                (&c.not_built, &mut colors.not_built),
                (&c.disabled, &mut colors.disabled),
                (&c.unknown, &mut colors.unknown),
                (&c.stale, &mut colors.stale),
                (&c.missing, &mut colors.missing),
            ];
            for (raw, slot) in fields {
                if let Some(v) = raw {
                    *slot = Rgb::parse_hex(v.get_ref()).ok_or_else(|| {
                        err(
                            Some(v.span()),
                            format!("colour {:?} is not of the form \"#rrggbb\"", v.get_ref()),
                        )
                    })?;
                }
            }
        }

        Ok(Config {
            poll,
            timeout,
            servers,
            strip,
            slots,
            aggregate,
            colors,
            alerts: raw.alerts.unwrap_or_default().resolved(base_dir.as_deref()),
            path: path.map(Path::to_path_buf),
        })
    }

    /// The slot on `led`, if any.
    pub fn slot(&self, led: usize) -> Option<&Slot> {
        self.slots.iter().find(|s| s.led == led)
    }
}

fn list(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        "none defined".to_owned()
    } else {
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A path as written in the config file: `~/` is the home folder; a relative path is relative to `base`
/// (the config file's folder) when there is one.
pub(crate) fn resolve_path(p: &str, base: Option<&Path>) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(dirs) = directories::BaseDirs::new()
    {
        return dirs.home_dir().join(rest);
    }
    let path = PathBuf::from(p);
    match base {
        Some(b) if path.is_relative() => b.join(path),
        _ => path,
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.chars().count(), |i| before[i + 1..].chars().count())
        + 1;
    (line, column)
}

// ---------------------------------------------------------------------------------------------------
// Editing and saving (the GUI edits through this; comments and unknown formatting survive).

/// A server as the settings form edits it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerEntry {
    pub name: String,
    pub url: String,
    pub user: Option<String>,
    /// Where the token is stored; `None` keeps the entry's current token setting.
    pub token_file: Option<PathBuf>,
}

/// A config file opened for editing: the user's text with its comments, changed key by key.
#[derive(Debug, Clone)]
pub struct ConfigDocument {
    doc: toml_edit::DocumentMut,
}

impl ConfigDocument {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let doc = text
            .parse::<toml_edit::DocumentMut>()
            .map_err(|e| ConfigError::Invalid {
                path: "<config>".into(),
                line: e.span().map_or(1, |s| line_col(text, s.start).0),
                column: e.span().map_or(1, |s| line_col(text, s.start).1),
                message: e.message().to_owned(),
            })?;
        Ok(Self { doc })
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            message: format!("cannot read the config file: {e}"),
        })?;
        Self::parse(&text).map_err(|e| with_path(e, path))
    }

    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// Maps `led` to `target`, replacing whatever was on it.
    pub fn set_slot(&mut self, led: usize, target: &Target) {
        let mut table = toml_edit::Table::new();
        table.insert(
            "led",
            toml_edit::value(i64::try_from(led).unwrap_or(i64::MAX)),
        );
        let (server, key, path) = match target {
            Target::Job(id) => (&id.server, Some("job"), id.full_name()),
            Target::Folder { server, path } => (server, Some("folder"), path.join("/")),
            Target::Server(server) => (server, None, String::new()),
        };
        table.insert("server", toml_edit::value(server.as_str()));
        if let Some(key) = key {
            table.insert(key, toml_edit::value(path));
        }
        let slots = self.slots_mut();
        let wanted = i64::try_from(led).ok();
        let existing = slots
            .iter()
            .position(|t| t.get("led").and_then(toml_edit::Item::as_integer) == wanted);
        match existing.and_then(|i| slots.get_mut(i)) {
            Some(existing) => *existing = table,
            None => slots.push(table),
        }
    }

    /// Removes the mapping of `led`. Returns whether there was one.
    pub fn clear_slot(&mut self, led: usize) -> bool {
        let slots = self.slots_mut();
        let before = slots.len();
        slots.retain(|t| {
            t.get("led").and_then(toml_edit::Item::as_integer) != i64::try_from(led).ok()
        });
        slots.len() != before
    }

    fn slots_mut(&mut self) -> &mut toml_edit::ArrayOfTables {
        self.array_mut("slots")
    }

    /// Sets `key` in `[table]` (or at the top level for `None`), keeping the key's comments.
    pub fn set_value(&mut self, table: Option<&str>, key: &str, value: toml_edit::Value) {
        let target = self.table_mut(table);
        match target.get_mut(key).and_then(toml_edit::Item::as_value_mut) {
            Some(existing) => {
                // Keep the comment after the old value (e.g. `brightness = 0.5   # 0.0 – 1.0`).
                let decor = existing.decor().clone();
                *existing = value;
                *existing.decor_mut() = decor;
            }
            None => {
                target.insert(key, toml_edit::Item::Value(value));
            }
        }
    }

    /// The value of `key` in `[table]` (top level for `None`), if it is there.
    pub fn value(&self, table: Option<&str>, key: &str) -> Option<&toml_edit::Value> {
        let table = match table {
            None => self.doc.as_table() as &dyn toml_edit::TableLike,
            Some(name) => self.doc.get(name)?.as_table_like()?,
        };
        table.get(key)?.as_value()
    }

    /// Removes `key` from `[table]`. Returns whether it was there.
    pub fn remove_value(&mut self, table: Option<&str>, key: &str) -> bool {
        self.table_mut(table).remove(key).is_some()
    }

    fn table_mut(&mut self, table: Option<&str>) -> &mut toml_edit::Table {
        let Some(name) = table else {
            return self.doc.as_table_mut();
        };
        if !self.doc.get(name).is_some_and(toml_edit::Item::is_table) {
            self.doc.insert(name, toml_edit::table());
        }
        match self.doc[name].as_table_mut() {
            Some(t) => t,
            None => unreachable!("`{name}` was just made a table"),
        }
    }

    /// Sets the aggregate ("tube") LEDs, sorted.
    pub fn set_aggregate_leds(&mut self, leds: &[usize]) {
        let mut sorted = leds.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let array: toml_edit::Array = sorted
            .iter()
            .map(|&l| i64::try_from(l).unwrap_or(i64::MAX))
            .collect();
        self.set_value(Some("aggregate"), "leds", toml_edit::Value::Array(array));
    }

    /// Adds a server, or updates the one named `old_name` (renaming it in the slots that name it).
    /// Keys the form does not show (`ca_file`, `folder`, `poll_seconds`…) are kept.
    pub fn save_server(&mut self, old_name: Option<&str>, server: &ServerEntry) {
        let servers = self.array_mut("servers");
        let index = old_name.and_then(|old| {
            servers
                .iter()
                .position(|t| t.get("name").and_then(toml_edit::Item::as_str) == Some(old))
        });
        let table = match index {
            Some(i) => match servers.get_mut(i) {
                Some(t) => t,
                None => unreachable!("index {i} was just found"),
            },
            None => {
                servers.push(toml_edit::Table::new());
                let last = servers.len() - 1;
                match servers.get_mut(last) {
                    Some(t) => t,
                    None => unreachable!("a table was just pushed"),
                }
            }
        };
        table.insert("name", toml_edit::value(server.name.as_str()));
        table.insert("url", toml_edit::value(server.url.as_str()));
        match server.user.as_deref().filter(|u| !u.is_empty()) {
            Some(user) => {
                table.insert("user", toml_edit::value(user));
            }
            None => {
                table.remove("user");
            }
        }
        if let Some(file) = &server.token_file {
            table.remove("token_env");
            table.insert("token_file", toml_edit::value(file.display().to_string()));
        }
        if let Some(old) = old_name.filter(|old| *old != server.name) {
            for slot in self.array_mut("slots").iter_mut() {
                if slot.get("server").and_then(toml_edit::Item::as_str) == Some(old) {
                    slot.insert("server", toml_edit::value(server.name.as_str()));
                }
            }
        }
    }

    /// Removes a server and the slots that show it. Returns how many slots went with it.
    pub fn remove_server(&mut self, name: &str) -> usize {
        let servers = self.array_mut("servers");
        let before = servers.len();
        servers.retain(|t| t.get("name").and_then(toml_edit::Item::as_str) != Some(name));
        // Slots may leave `server` out when there is one server: those belonged to it.
        let was_only = before == 1 && servers.is_empty();
        let slots = self.array_mut("slots");
        let before = slots.len();
        slots.retain(
            |t| match t.get("server").and_then(toml_edit::Item::as_str) {
                Some(s) => s != name,
                None => !was_only,
            },
        );
        before - slots.len()
    }

    fn array_mut(&mut self, name: &str) -> &mut toml_edit::ArrayOfTables {
        if self
            .doc
            .get(name)
            .and_then(toml_edit::Item::as_array_of_tables)
            .is_none()
        {
            self.doc.insert(
                name,
                toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()),
            );
        }
        match self.doc[name].as_array_of_tables_mut() {
            Some(a) => a,
            None => unreachable!("`{name}` was just made an array of tables"),
        }
    }

    /// Validates the edited text and writes it atomically: a temporary file in the same folder, synced,
    /// then renamed over the old one. An invalid result is refused and the file is left untouched.
    pub fn save(&self, path: &Path) -> Result<Config, ConfigError> {
        let text = self.text();
        let config = Config::parse(&text, Some(path))?;
        write_atomic(path, text.as_bytes()).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            message: format!("cannot save the config: {e}"),
        })?;
        Ok(config)
    }
}

fn with_path(e: ConfigError, path: &Path) -> ConfigError {
    match e {
        ConfigError::Invalid {
            line,
            column,
            message,
            ..
        } => ConfigError::Invalid {
            path: path.display().to_string(),
            line,
            column,
            message,
        },
        other => other,
    }
}

/// Writes `bytes` to `path` so that readers see the old or the new file, never a half-written one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        // The new file keeps the old one's permissions (a private config stays private).
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: do not leave the temporary file behind; the write error is what matters.
        std::fs::remove_file(&tmp).ok();
    }
    result
}

/// Writes a secret (an API token) atomically, readable by the owner only.
pub fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    let mut text = secret.trim().to_owned();
    text.push('\n');
    if !path.exists() {
        // Create it private first, so the atomic write keeps the owner-only permissions.
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
        let f = std::fs::File::create(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        drop(f);
    }
    write_atomic(path, text.as_bytes())
}

/// A new user's first config: no server yet (the window's Servers tab adds one), a 16-LED strip found
/// automatically.
pub const STARTER: &str = "\
# ledtogo configuration. Every key is explained in packaging/config.example.toml.
# The ledtogo window edits this file and keeps your comments; ledtogo reloads it when you edit it.

poll_seconds = 10

[strip]
port = \"auto\"      # a device path (/dev/ttyACM0), \"auto\", or \"none\" (mirror only)
leds = 16
brightness = 0.5

[alerts]
notifications = true
sounds = true
";

/// The documented example config (also in `packaging/config.example.toml`).
pub const EXAMPLE: &str = include_str!("../../packaging/config.example.toml");

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn invalid(text: &str) -> (usize, usize, String) {
        match Config::parse(text, Some(Path::new("/etc/ledtogo.toml"))) {
            Err(ConfigError::Invalid {
                line,
                column,
                message,
                path,
            }) => {
                assert_eq!(path, "/etc/ledtogo.toml");
                (line, column, message)
            }
            other => panic!("expected an invalid-config error, got {other:?}"),
        }
    }

    const ONE_SERVER: &str = "[[servers]]\nname = \"office\"\nurl = \"https://ci.example.com/\"\n";

    #[test]
    fn the_documented_example_is_valid() {
        let c = Config::parse(EXAMPLE, None).unwrap();
        assert_eq!(c.servers[0].name, "office");
        assert_eq!(c.strip.leds, 16);
        assert_eq!(c.aggregate.leds, vec![12, 13, 14, 15]);
        assert!(matches!(&c.slots[0].target, Target::Job(id) if id.full_name() == "team-a/api"));
    }

    #[test]
    fn an_empty_file_gives_defaults() {
        let c = Config::parse("", None).unwrap();
        assert_eq!(c.poll, Duration::from_secs(10));
        assert_eq!(c.strip, StripConfig::default());
        assert!(c.servers.is_empty());
    }

    #[test]
    fn unknown_keys_are_reported_with_their_position() {
        let (line, col, msg) = invalid("poll_seconds = 5\npoll_secs = 3\n");
        assert_eq!((line, col), (2, 1));
        assert!(msg.contains("poll_secs"), "{msg}");
    }

    #[test]
    fn wrong_types_are_reported_with_their_position() {
        let (line, col, msg) = invalid("[strip]\nleds = \"sixteen\"\n");
        assert_eq!((line, col), (2, 8));
        assert!(
            msg.contains("integer") || msg.contains("invalid type"),
            "{msg}"
        );
    }

    #[test]
    fn an_led_beyond_the_strip_is_reported() {
        let text = format!("{ONE_SERVER}[strip]\nleds = 8\n[[slots]]\nled = 8\njob = \"a\"\n");
        let (line, col, msg) = invalid(&text);
        assert_eq!((line, col), (7, 7));
        assert!(msg.contains("LED 8 is beyond the strip"), "{msg}");
    }

    #[test]
    fn a_slot_naming_an_unknown_server_is_reported() {
        let text = format!("{ONE_SERVER}[[slots]]\nled = 1\nserver = \"home\"\njob = \"a\"\n");
        let (line, _, msg) = invalid(&text);
        assert_eq!(line, 6);
        assert!(
            msg.contains("\"home\"") && msg.contains("\"office\""),
            "{msg}"
        );
    }

    #[test]
    fn a_slot_may_leave_out_the_server_when_there_is_one() {
        let text = format!("{ONE_SERVER}[[slots]]\nled = 1\nfolder = \"team-a\"\n");
        let c = Config::parse(&text, None).unwrap();
        assert_eq!(
            c.slots[0].target,
            Target::Folder {
                server: "office".into(),
                path: vec!["team-a".into()]
            }
        );
    }

    #[test]
    fn slot_and_aggregate_overlap_and_duplicates_are_reported() {
        let text =
            format!("{ONE_SERVER}[[slots]]\nled = 1\njob = \"a\"\n[aggregate]\nleds = [0, 1]\n");
        assert!(
            invalid(&text)
                .2
                .contains("both a slot and part of the aggregate")
        );
        let text = format!(
            "{ONE_SERVER}[[slots]]\nled = 1\njob = \"a\"\n[[slots]]\nled = 1\njob = \"b\"\n"
        );
        assert!(invalid(&text).2.contains("mapped twice"));
    }

    #[test]
    fn bad_values_are_reported() {
        assert!(
            invalid("[strip]\nbrightness = 1.5\n")
                .2
                .contains("brightness")
        );
        assert!(
            invalid("[colors]\nfailure = \"red\"\n")
                .2
                .contains("#rrggbb")
        );
        assert!(
            invalid("[[servers]]\nname = \"x\"\nurl = \"ci.example.com\"\n")
                .2
                .contains("http")
        );
        assert!(
            invalid(&format!("{ONE_SERVER}{ONE_SERVER}"))
                .2
                .contains("already defined")
        );
        assert!(invalid("poll_seconds = 0\n").2.contains("poll_seconds"));
    }

    #[test]
    fn saving_is_atomic_and_keeps_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original =
            format!("# my strip\n{ONE_SERVER}\n[[slots]]\nled = 0 # the API\njob = \"api\"\n");
        std::fs::write(&path, &original).unwrap();
        let mut doc = ConfigDocument::load(&path).unwrap();
        doc.set_slot(3, &Target::Job(JobId::new("office", "team-a/web")));
        assert!(doc.clear_slot(0));
        let saved = doc.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# my strip"), "{text}");
        assert!(text.contains("team-a/web"));
        assert_eq!(saved.slots.len(), 1);
        assert_eq!(saved.slots[0].led, 3);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no temporary file is left: {leftovers:?}"
        );
    }

    #[test]
    fn an_edit_that_makes_the_config_invalid_is_not_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original = format!("{ONE_SERVER}[strip]\nleds = 4\n");
        std::fs::write(&path, &original).unwrap();
        let mut doc = ConfigDocument::load(&path).unwrap();
        doc.set_slot(9, &Target::Server("office".into()));
        let e = doc.save(&path).unwrap_err();
        assert!(e.to_string().contains("LED 9 is beyond the strip"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    }

    #[test]
    fn set_value_replaces_a_value_and_keeps_its_comment() {
        let text = "[strip]\nbrightness = 0.5   # 0.0 – 1.0\n";
        let mut doc = ConfigDocument::parse(text).unwrap();
        doc.set_value(Some("strip"), "brightness", 0.25.into());
        doc.set_value(Some("strip"), "port", "/dev/ttyACM0".into());
        doc.set_value(Some("alerts"), "sounds", false.into());
        let config = Config::parse(&doc.text(), None).unwrap();
        assert!(
            doc.text().contains("brightness = 0.25   # 0.0 – 1.0"),
            "{}",
            doc.text()
        );
        assert_eq!(config.strip.port, PortChoice::Path("/dev/ttyACM0".into()));
        assert!(!config.alerts.sounds);
        assert!(doc.remove_value(Some("strip"), "port"));
        assert_eq!(
            Config::parse(&doc.text(), None).unwrap().strip.port,
            PortChoice::Auto
        );
    }

    #[test]
    fn aggregate_leds_are_written_sorted_without_duplicates() {
        let mut doc = ConfigDocument::parse(ONE_SERVER).unwrap();
        doc.set_aggregate_leds(&[15, 3, 15, 7]);
        let config = Config::parse(&doc.text(), None).unwrap();
        assert_eq!(config.aggregate.leds, [3, 7, 15]);
    }

    #[test]
    fn renaming_a_server_renames_it_in_its_slots_and_keeps_other_keys() {
        let text = format!(
            "{ONE_SERVER}ca_file = \"/etc/ca.pem\"\n[[servers]]\nname = \"b\"\nurl = \"https://b.example.com/\"\n\
             [[slots]]\nled = 0\nserver = \"office\"\njob = \"api\"\n[[slots]]\nled = 1\nserver = \"b\"\njob = \"x\"\n"
        );
        let mut doc = ConfigDocument::parse(&text).unwrap();
        let entry = ServerEntry {
            name: "hq".into(),
            url: "https://hq.example.com/".into(),
            user: Some("alice".into()),
            token_file: Some("/home/alice/.config/ledtogo/hq.token".into()),
        };
        doc.save_server(Some("office"), &entry);
        let config = Config::parse(&doc.text(), None).unwrap();
        let hq = &config.servers[0];
        assert_eq!(
            (hq.name.as_str(), hq.url.as_str()),
            ("hq", "https://hq.example.com/")
        );
        assert_eq!(hq.user.as_deref(), Some("alice"));
        assert_eq!(
            hq.token,
            TokenSource::File("/home/alice/.config/ledtogo/hq.token".into())
        );
        assert_eq!(hq.ca_file, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(config.slots[0].target, Target::Job(JobId::new("hq", "api")));
        assert_eq!(config.slots[1].target, Target::Job(JobId::new("b", "x")));
    }

    #[test]
    fn adding_a_server_appends_it() {
        let mut doc = ConfigDocument::parse("").unwrap();
        let entry = ServerEntry {
            name: "new".into(),
            url: "http://localhost:8080/".into(),
            ..ServerEntry::default()
        };
        doc.save_server(None, &entry);
        let config = Config::parse(&doc.text(), None).unwrap();
        assert_eq!(config.servers.len(), 1);
        assert_eq!(config.servers[0].token, TokenSource::None);
    }

    #[test]
    fn removing_a_server_removes_its_slots() {
        let text = format!(
            "{ONE_SERVER}[[slots]]\nled = 0\njob = \"api\"\n[[slots]]\nled = 1\nserver = \"office\"\njob = \"web\"\n"
        );
        let mut doc = ConfigDocument::parse(&text).unwrap();
        assert_eq!(doc.remove_server("office"), 2);
        let config = Config::parse(&doc.text(), None).unwrap();
        assert!(config.servers.is_empty() && config.slots.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_is_private_and_a_saved_config_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("sub/office.token");
        write_secret(&token, " s3cret \n").unwrap();
        assert_eq!(std::fs::read_to_string(&token).unwrap(), "s3cret\n");
        let mode = std::fs::metadata(&token).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let path = dir.path().join("config.toml");
        std::fs::write(&path, ONE_SERVER).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        ConfigDocument::load(&path).unwrap().save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn the_starter_config_is_valid_and_has_no_server() {
        let config = Config::parse(STARTER, None).unwrap();
        assert!(config.servers.is_empty() && config.slots.is_empty());
        assert_eq!(config.strip.leds, 16);
        assert_eq!(config.strip.port, PortChoice::Auto);
    }
}
