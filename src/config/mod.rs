//! The TOML configuration: the schema as written (serde, with spans), its validation into `Config`
//! with file:line:column messages, the `[alerts]`, `[strip]`, `[colors]`, slot and server sections, and
//! the starter and example texts. The editor, quiet hours and file helpers live in the submodules and
//! are re-exported here.

mod document;
pub mod duration;
mod files;
mod keys;
pub mod kinds;
mod port;
mod quiet_hours;

pub use document::{ConfigDocument, ServerEntry, TokenSetting};
pub use duration::{FlakyFlips, FlakyWindow, format_duration, parse_duration};
pub use files::{default_path, world_readable, write_atomic, write_private, write_secret};
pub use keys::{KnownTable, known_keys};
pub use kinds::ServerKind;
pub use port::{DDP_PORT, PortChoice, PortError, WLED_HTTP_PORT, host_and_port};
pub use quiet_hours::QuietHours;

use std::collections::{BTreeMap, BTreeSet};
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
    export: Option<RawExport>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    name: Spanned<String>,
    kind: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    repos: Option<Spanned<Vec<Spanned<String>>>>,
    projects: Option<Spanned<Vec<Spanned<String>>>>,
    upstream: Option<Spanned<String>>,
    user: Option<String>,
    token_env: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    token_keyring: Option<Spanned<bool>>,
    ca_file: Option<Spanned<String>>,
    folder: Option<String>,
    view: Option<Spanned<String>>,
    poll_seconds: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStrip {
    port: Option<Spanned<String>>,
    baud: Option<Spanned<u32>>,
    leds: Option<Spanned<i64>>,
    brightness: Option<Spanned<f64>>,
    gamma: Option<Spanned<f64>>,
    building: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlot {
    led: Spanned<i64>,
    server: Option<Spanned<String>>,
    job: Option<Spanned<String>>,
    folder: Option<Spanned<String>>,
    sound_broke: Option<Spanned<String>>,
    sound_fixed: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAggregate {
    leds: Spanned<Vec<Spanned<i64>>>,
    scope: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExport {
    listen: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
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
    /// How many changes between failure and success within `flaky_window` make a job flaky.
    pub flaky_flips: FlakyFlips,
    /// The time within which flips count; a flaky job green for this long loses the flag.
    pub flaky_window: FlakyWindow,
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
            flaky_flips: FlakyFlips::default(),
            flaky_window: FlakyWindow::default(),
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
                flaky_flips: FlakyFlips(3),
                flaky_window: FlakyWindow(Duration::from_secs(86_400)),
            }
        );
    }

    #[test]
    fn the_flaky_rule_is_read_from_flips_and_a_window_in_hours_minutes_or_days() {
        let a = alerts("[alerts]\nflaky_flips = 4\nflaky_window = \"2d\"\n");
        assert_eq!(a.flaky_flips, FlakyFlips(4));
        assert_eq!(a.flaky_window, FlakyWindow(Duration::from_secs(2 * 86_400)));
        assert_eq!(
            alerts("[alerts]\nflaky_window = \"90m\"\n")
                .flaky_window
                .to_string(),
            "1h30m"
        );
    }

    #[test]
    fn a_bad_flaky_rule_is_reported_at_its_value_with_what_to_write() {
        for (line, expected) in [
            (
                "flaky_flips = 1",
                "flaky_flips = 1 is out of range: between 2 and 100",
            ),
            ("flaky_flips = 100000", "between 2 and 100"),
            (
                "flaky_window = \"24\"",
                "flaky_window: \"24\" is not a duration like \"24h\"",
            ),
            ("flaky_window = \"1m\"", "between \"10m\" and \"30d\""),
            ("flaky_window = \"31d\"", "between \"10m\" and \"30d\""),
        ] {
            let text = format!("[alerts]\nsounds = true\n{line}\n");
            match Config::parse(&text, Some(Path::new("/etc/ledtogo.toml"))) {
                Err(ConfigError::Invalid {
                    line: 3,
                    column,
                    message,
                    ..
                }) => {
                    assert_eq!(column, line.find('=').unwrap() + 3, "{line}: {message}");
                    assert!(message.contains(expected), "{line}: {message}");
                }
                other => panic!("{line}: expected an error at line 3, got {other:?}"),
            }
        }
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct StripConfig {
    pub port: PortChoice,
    pub baud: u32,
    pub leds: usize,
    /// 0.0–1.0, applied once, in the frame.
    pub brightness: f64,
    pub gamma: f64,
    /// How a building LED shows that it builds.
    pub building: BuildingLook,
}

/// `[strip] building`: how a building job's LED moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildingLook {
    /// Its colour pulses between dim and full (`"pulse"`).
    #[default]
    Pulse,
    /// Its colour rises from dim to full as the build nears its estimate (`"progress"`); a build with
    /// no estimate, or past it, pulses.
    Progress,
}

impl BuildingLook {
    /// The value as the config writes it.
    pub fn name(self) -> &'static str {
        match self {
            BuildingLook::Pulse => "pulse",
            BuildingLook::Progress => "progress",
        }
    }
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
            building: BuildingLook::Pulse,
        }
    }
}

/// How a server's token is found (never stored in the config itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    None,
    Env(String),
    File(PathBuf),
    /// `token_keyring = true`: the OS keyring entry of the server's URL and user (see
    /// [`crate::sources::credentials::keyring_account`]).
    Keyring,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub name: String,
    /// Jenkins, cctray, GitHub or GitLab, with that kind's own keys.
    pub kind: ServerKind,
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
    /// This slot's "broke" sound file, instead of `[alerts] sound_broke` for the jobs behind it
    /// (resolved like every path; see [`Config::slot_sound`] for which slot wins).
    pub sound_broke: Option<PathBuf>,
    /// This slot's "fixed" sound file, instead of `[alerts] sound_fixed`.
    pub sound_fixed: Option<PathBuf>,
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

/// The `[export]` section: this ledtogo relays what it polls to other desks and cctray clients
/// (`GET /cc.xml`, `GET /api/json`; see [`crate::export`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    /// Where to listen (`0.0.0.0:8765` for the office, `127.0.0.1:8765` for this machine only; port 0
    /// lets the OS choose, the log names the port).
    pub listen: std::net::SocketAddr,
    /// Basic auth the readers must send, if any.
    pub auth: Option<ExportAuth>,
}

/// The user and where the token of the relay's readers is (the same token rules as a server's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportAuth {
    pub user: String,
    /// [`TokenSource::Env`] or [`TokenSource::File`].
    pub token: TokenSource,
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
    /// The relay (`[export]`); `None`: this ledtogo serves nothing.
    pub export: Option<ExportConfig>,
    /// The file this came from (relative token/CA paths are relative to its folder).
    pub path: Option<PathBuf>,
}

pub const MAX_LEDS: usize = 1024;

impl Config {
    /// Reads and validates a config file. A config file or token file that others may read is named in
    /// a warning, once per file and process (the file is reloaded on every change).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            message: format!("cannot read the config file: {e}"),
        })?;
        let config = Self::parse(&text, Some(path))?;
        static WARNED: parking_lot::Mutex<BTreeSet<PathBuf>> =
            parking_lot::Mutex::new(BTreeSet::new());
        for warning in config.readable_by_others(&mut WARNED.lock()) {
            tracing::warn!("{warning}");
        }
        Ok(config)
    }

    /// A warning for each file of this config (the config file itself and token files) that every user
    /// of the machine may read and that is not in `warned` yet; those are added to `warned`.
    pub fn readable_by_others(&self, warned: &mut BTreeSet<PathBuf>) -> Vec<String> {
        let export_token = self
            .export
            .as_ref()
            .and_then(|e| e.auth.as_ref())
            .map(|a| &a.token);
        let tokens = self
            .servers
            .iter()
            .map(|s| &s.token)
            .chain(export_token)
            .filter_map(|token| match token {
                TokenSource::File(f) => Some((f.as_path(), "token file")),
                _ => None,
            });
        let config_file = self.path.as_deref().map(|p| (p, "config file"));
        config_file
            .into_iter()
            .chain(tokens)
            .filter(|(file, _)| files::world_readable(file) && warned.insert(file.to_path_buf()))
            .map(|(file, what)| {
                format!(
                    "the {what} {} can be read by every user of this machine; make it private with \
                     `chmod 600 {}`",
                    file.display(),
                    file.display()
                )
            })
            .collect()
    }

    /// The kind of the server named `server` (Jenkins for a name not defined).
    pub fn kind_of(&self, server: &str) -> ServerKind {
        self.servers
            .iter()
            .find(|s| s.name == server)
            .map(|s| s.kind.clone())
            .unwrap_or_default()
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
        // A key whose value is one of a few words (`[strip] building`, `[aggregate] scope`).
        let one_of = |key: &str, value: &Spanned<String>, choices: &[&str]| {
            let word = value.get_ref().as_str();
            choices.iter().position(|c| *c == word).ok_or_else(|| {
                let listed: Vec<String> = choices.iter().map(|c| format!("{c:?}")).collect();
                err(
                    Some(value.span()),
                    format!("{key} {word:?} is not one of {}", listed.join(", ")),
                )
            })
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| err(e.span(), e.message().to_owned()))?;
        let base_dir = path.and_then(Path::parent).map(Path::to_path_buf);
        let resolve = |p: &str| resolve_path(p, base_dir.as_deref());

        // `kind = …` with the keys only that kind has: repos (github), projects (gitlab), upstream
        // (ledtogo).
        let server_kind = |name: &str, s: &RawServer| -> Result<ServerKind, ConfigError> {
            let list = |key: &str,
                        items: &Option<Spanned<Vec<Spanned<String>>>>,
                        check: fn(&str) -> Result<(), String>|
             -> Result<Vec<String>, ConfigError> {
                let Some(items) = items else {
                    return Err(err(
                        Some(s.name.span()),
                        format!("server {name:?} needs `{key} = [\"…\"]`: the ones to watch"),
                    ));
                };
                if items.get_ref().is_empty() {
                    return Err(err(
                        Some(items.span()),
                        format!("server {name:?}: `{key}` is empty: name at least one"),
                    ));
                }
                let mut out: Vec<String> = Vec::new();
                for item in items.get_ref() {
                    let text = item.get_ref().trim().trim_matches('/');
                    check(text)
                        .map_err(|e| err(Some(item.span()), format!("server {name:?}: {e}")))?;
                    if !out.iter().any(|o| o == text) {
                        out.push(text.to_owned());
                    }
                }
                Ok(out)
            };
            let only = |key: &str, present: Option<Range<usize>>, kind: &str| match present {
                Some(span) => Err(err(
                    Some(span),
                    format!("server {name:?}: `{key}` is for kind = \"{kind}\" servers"),
                )),
                None => Ok(()),
            };
            let kind_name = s.kind.as_ref().map_or("jenkins", |k| k.get_ref().trim());
            let repos_span = s.repos.as_ref().map(Spanned::span);
            let projects_span = s.projects.as_ref().map(Spanned::span);
            let upstream_span = s.upstream.as_ref().map(Spanned::span);
            let kind = match kind_name {
                "jenkins" => ServerKind::Jenkins,
                "cctray" => ServerKind::Cctray,
                "github" => ServerKind::GitHub {
                    repos: list("repos", &s.repos, kinds::check_repo)?,
                },
                "gitlab" => ServerKind::GitLab {
                    projects: list("projects", &s.projects, kinds::check_project)?,
                },
                "ledtogo" => ServerKind::Ledtogo {
                    upstream: match &s.upstream {
                        Some(u) => {
                            kinds::check_upstream(u.get_ref()).map_err(|e| {
                                err(Some(u.span()), format!("server {name:?}: {e}"))
                            })?;
                            Some(u.get_ref().trim().to_owned())
                        }
                        None => None,
                    },
                },
                other => {
                    return Err(err(
                        s.kind.as_ref().map(Spanned::span),
                        format!(
                            "server {name:?}: unknown kind {other:?}: use \"jenkins\" (the default), \
                             \"cctray\", \"github\", \"gitlab\" or \"ledtogo\" (another ledtogo's relay)"
                        ),
                    ));
                }
            };
            if !matches!(kind, ServerKind::GitHub { .. }) {
                only("repos", repos_span, "github")?;
            }
            if !matches!(kind, ServerKind::GitLab { .. }) {
                only("projects", projects_span, "gitlab")?;
            }
            if !matches!(kind, ServerKind::Ledtogo { .. }) {
                only("upstream", upstream_span, "ledtogo")?;
            }
            Ok(kind)
        };

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
            let kind = server_kind(name, s)?;
            let url = match (&s.url, kind.default_url()) {
                (Some(u), _) => {
                    let url = u.get_ref().trim();
                    if let Err(e) = crate::weburl::check_server_url(url) {
                        return Err(err(Some(u.span()), format!("server {name:?}: {e}")));
                    }
                    url
                }
                (None, Some(default)) => default,
                (None, None) => {
                    return Err(err(
                        Some(s.name.span()),
                        format!(
                            "server {name:?} needs `url = \"…\"` (the {} address)",
                            kind.label()
                        ),
                    ));
                }
            };
            let keyring = s.token_keyring.as_ref().filter(|k| *k.get_ref());
            let token = match (&s.token_env, &s.token_file, keyring) {
                (Some(_), Some(f), _) => {
                    return Err(err(
                        Some(f.span()),
                        "use either token_env or token_file, not both".into(),
                    ));
                }
                (Some(_), None, Some(k)) | (None, Some(_), Some(k)) => {
                    return Err(err(
                        Some(k.span()),
                        "use one of token_env, token_file and token_keyring, not two".into(),
                    ));
                }
                (Some(e), None, None) => TokenSource::Env(e.get_ref().clone()),
                (None, Some(f), None) => TokenSource::File(resolve(f.get_ref())),
                (None, None, Some(k)) => {
                    if s.user.as_deref().is_none_or(|u| u.trim().is_empty()) {
                        return Err(err(
                            Some(k.span()),
                            format!(
                                "server {name:?}: token_keyring needs `user` (the keyring entry is \
                                 keyed by the server URL and the user)"
                            ),
                        ));
                    }
                    TokenSource::Keyring
                }
                (None, None, None) => TokenSource::None,
            };
            if kind != ServerKind::Jenkins
                && let Some(span) = s
                    .view
                    .as_ref()
                    .map(Spanned::span)
                    .or_else(|| s.folder.as_ref().map(|_| s.name.span()))
            {
                return Err(err(
                    Some(span),
                    format!(
                        "server {name:?}: folder and view are Jenkins keys; a {} server lists all of \
                         its jobs (map a level of its tree onto an LED instead)",
                        kind.label()
                    ),
                ));
            }
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
                kind,
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
                strip.port = port
                    .get_ref()
                    .parse()
                    .map_err(|e: PortError| err(Some(port.span()), format!("strip.port: {e}")))?;
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
            if let Some(b) = &rs.building {
                let looks = [BuildingLook::Pulse, BuildingLook::Progress];
                strip.building = looks[one_of("building", b, &looks.map(BuildingLook::name))?];
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

        let kind_of = |server: &str| {
            servers
                .iter()
                .find(|s| s.name == server)
                .map(|s| s.kind.clone())
                .unwrap_or_default()
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
                    let path = kind_of(&server).split_name(j.get_ref());
                    if path.is_empty() {
                        return Err(err(Some(j.span()), "job name is empty".into()));
                    }
                    Target::Job(JobId { server, path })
                }
                (None, Some(f)) => Target::Folder {
                    path: kind_of(&server).split_name(f.get_ref()),
                    server,
                },
                (None, None) => Target::Server(server),
            };
            let sound = |key: &str, v: &Option<Spanned<String>>| match v {
                Some(p) if p.get_ref().trim().is_empty() => Err(err(
                    Some(p.span()),
                    format!(
                        "slot for LED {led}: `{key}` is empty: name a sound file (wav, ogg, flac or \
                         mp3), or leave the key out for the one in [alerts]"
                    ),
                )),
                Some(p) => Ok(Some(resolve(p.get_ref().trim()))),
                None => Ok(None),
            };
            slots.push(Slot {
                led,
                target,
                sound_broke: sound("sound_broke", &s.sound_broke)?,
                sound_fixed: sound("sound_fixed", &s.sound_fixed)?,
            });
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
                let scopes = [AggregateScope::Mapped, AggregateScope::All];
                aggregate.scope = scopes[one_of("scope", scope, &["mapped", "all"])?];
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

        let export = match &raw.export {
            None => None,
            Some(e) => export(e, &err, &resolve)?,
        };

        Ok(Config {
            poll,
            timeout,
            servers,
            strip,
            slots,
            aggregate,
            colors,
            alerts: raw.alerts.unwrap_or_default().resolved(base_dir.as_deref()),
            export,
            path: path.map(Path::to_path_buf),
        })
    }

    /// The slot on `led`, if any.
    pub fn slot(&self, led: usize) -> Option<&Slot> {
        self.slots.iter().find(|s| s.led == led)
    }

    /// The sound file a slot sets for `job` (`pick` chooses the slot's `sound_broke` or `sound_fixed`),
    /// or `None` when no slot behind which the job is sets one (then `[alerts]` decides). A job behind
    /// several slots that set one takes the most specific slot's: its own job slot, then the deepest
    /// folder, then its whole server; among equals the lowest LED.
    pub fn slot_sound(
        &self,
        job: &JobId,
        pick: impl Fn(&Slot) -> Option<&PathBuf>,
    ) -> Option<&Path> {
        self.slots
            .iter()
            .filter_map(|slot| {
                let rank = match &slot.target {
                    Target::Job(id) if id == job => 0,
                    Target::Folder { server, path }
                        if *server == job.server && job.path.starts_with(path) =>
                    {
                        usize::MAX / 2 - path.len()
                    }
                    Target::Server(server) if *server == job.server => usize::MAX,
                    _ => return None,
                };
                Some(((rank, slot.led), pick(slot)?))
            })
            .min_by_key(|(key, _)| *key)
            .map(|(_, path)| path.as_path())
    }
}

/// The `[export]` section validated: `listen` an `IP:PORT`, and a user with exactly one token source
/// or neither. Without `listen` there is no export (and then no other key is allowed).
fn export(
    raw: &RawExport,
    err: &dyn Fn(Option<Range<usize>>, String) -> ConfigError,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<Option<ExportConfig>, ConfigError> {
    let user = raw.user.as_ref().filter(|u| !u.get_ref().trim().is_empty());
    let token = match (&raw.token_env, &raw.token_file) {
        (Some(_), Some(f)) => {
            return Err(err(
                Some(f.span()),
                "export: use either token_env or token_file, not both".into(),
            ));
        }
        (Some(e), None) => Some((TokenSource::Env(e.get_ref().trim().to_owned()), e.span())),
        (None, Some(f)) => Some((TokenSource::File(resolve(f.get_ref().trim())), f.span())),
        (None, None) => None,
    };
    let Some(listen) = &raw.listen else {
        let stray = user
            .map(Spanned::span)
            .or_else(|| token.as_ref().map(|t| t.1.clone()));
        return match stray {
            Some(span) => Err(err(
                Some(span),
                "export: auth without `listen`: add listen = \"0.0.0.0:8765\" (the office) or \
                 \"127.0.0.1:8765\" (this machine only), or remove the [export] section"
                    .into(),
            )),
            None => Ok(None),
        };
    };
    let text = listen.get_ref().trim();
    let addr: std::net::SocketAddr = text.parse().map_err(|_| {
        err(
            Some(listen.span()),
            format!(
                "export.listen {text:?} is not an IP address and port: use e.g. \"0.0.0.0:8765\" \
                 (every network of this machine), \"127.0.0.1:8765\" (this machine only) or \
                 \"[::]:8765\""
            ),
        )
    })?;
    let auth = match (user, token) {
        (None, None) => None,
        (Some(u), Some((token, _))) => Some(ExportAuth {
            user: u.get_ref().trim().to_owned(),
            token,
        }),
        (Some(u), None) => {
            return Err(err(
                Some(u.span()),
                "export.user needs a token for the readers: add token_env = \"VAR\" or \
                 token_file = \"PATH\""
                    .into(),
            ));
        }
        (None, Some((_, span))) => {
            return Err(err(
                Some(span),
                "export: a token needs `user` (readers send Basic auth: user and token)".into(),
            ));
        }
    };
    Ok(Some(ExportConfig { listen: addr, auth }))
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

/// A new user's first config: no server yet (the window's Servers tab adds one), a 16-LED strip found
/// automatically.
pub const STARTER: &str = "\
# ledtogo configuration. Every key is explained in docs/config.md of ledtogo's source (a commented
# example: packaging/config.example.toml).
# The ledtogo window edits this file and keeps your comments; ledtogo reloads it when you edit it.

poll_seconds = 10

[strip]
port = \"auto\"      # a device path (/dev/ttyACM0), \"auto\", \"none\" (mirror only), ddp://HOST or wled://HOST
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
    fn a_word_key_reads_its_words_and_a_wrong_one_is_named_with_the_choices_at_its_line() {
        let c = Config::parse("[strip]\nbuilding = \"progress\"\n", None).unwrap();
        assert_eq!(c.strip.building, BuildingLook::Progress);
        assert_eq!(
            Config::parse("", None).unwrap().strip.building,
            BuildingLook::Pulse
        );
        let e = Config::parse("[strip]\nleds = 4\nbuilding = \"blink\"\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(":3:")
                && e.contains("building \"blink\" is not one of \"pulse\", \"progress\""),
            "{e}"
        );
        let e = Config::parse("[aggregate]\nleds = [0]\nscope = \"some\"\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("scope \"some\" is not one of \"mapped\", \"all\""),
            "{e}"
        );
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
    fn a_slot_sound_overrides_the_global_one_and_the_most_specific_slot_wins() {
        let c = Config::parse(
            "[[servers]]\nname = \"ci\"\nurl = \"http://ci.example/\"\n\
             [alerts]\nsound_broke = \"/s/global.ogg\"\n\
             [[slots]]\nled = 0\nsound_broke = \"/s/server.ogg\"\n\
             [[slots]]\nled = 1\nfolder = \"team\"\nsound_broke = \"sounds/team.ogg\"\n\
             [[slots]]\nled = 2\njob = \"team/deploy\"\nsound_broke = \"/s/deploy.ogg\"\n\
             sound_fixed = \"/s/deployed.ogg\"\n\
             [[slots]]\nled = 3\njob = \"team/lint\"\n",
            Some(Path::new("/etc/ledtogo/config.toml")),
        )
        .unwrap();
        let broke = |job: &str| c.slot_sound(&JobId::new("ci", job), |s| s.sound_broke.as_ref());
        let fixed = |job: &str| c.slot_sound(&JobId::new("ci", job), |s| s.sound_fixed.as_ref());
        assert_eq!(broke("team/deploy"), Some(Path::new("/s/deploy.ogg")));
        assert_eq!(fixed("team/deploy"), Some(Path::new("/s/deployed.ogg")));
        assert_eq!(
            broke("team/lint"),
            Some(Path::new("/etc/ledtogo/sounds/team.ogg")),
            "its own slot sets none: the folder's, resolved next to the config"
        );
        assert_eq!(
            fixed("team/lint"),
            None,
            "no slot sets one: [alerts] decides"
        );
        assert_eq!(broke("web"), Some(Path::new("/s/server.ogg")));
        assert_eq!(
            c.slot_sound(&JobId::new("other", "web"), |s| s.sound_broke.as_ref()),
            None
        );
    }

    #[test]
    fn an_empty_slot_sound_is_reported_at_its_value() {
        let (line, column, message) = invalid(
            "[[servers]]\nname = \"ci\"\nurl = \"http://ci.example/\"\n\
             [[slots]]\nled = 0\njob = \"a\"\nsound_fixed = \" \"\n",
        );
        assert_eq!((line, column), (7, 15), "{message}");
        assert!(
            message.contains("slot for LED 0: `sound_fixed` is empty"),
            "{message}"
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
    fn a_bad_network_port_is_reported_at_strip_port() {
        let (line, col, msg) = invalid("[strip]\nleds = 8\nport = \"ddp://:4048\"\n");
        assert_eq!((line, col), (3, 8));
        assert!(msg.starts_with("strip.port: "), "{msg}");
        assert!(msg.contains("ddp://HOST[:PORT]"), "{msg}");
        let (_, _, msg) = invalid("[strip]\nport = \"xyz://desk\"\n");
        assert!(msg.contains("unknown scheme"), "{msg}");
        let c = Config::parse("[strip]\nport = \"wled://desk.local\"\n", None).unwrap();
        assert_eq!(
            c.strip.port,
            PortChoice::Wled {
                host: "desk.local".into(),
                http_port: WLED_HTTP_PORT
            }
        );
    }

    #[test]
    fn the_starter_config_is_valid_and_has_no_server() {
        let config = Config::parse(STARTER, None).unwrap();
        assert!(config.servers.is_empty() && config.slots.is_empty());
        assert_eq!(config.strip.leds, 16);
        assert_eq!(config.strip.port, PortChoice::Auto);
    }

    #[test]
    fn token_keyring_names_the_keyring_and_needs_a_user_and_no_other_token() {
        let server = "[[servers]]\nname = \"office\"\nurl = \"https://ci.example.com/\"\n";
        let c = Config::parse(
            &format!("{server}user = \"alice\"\ntoken_keyring = true\n"),
            None,
        )
        .unwrap();
        assert_eq!(c.servers[0].token, TokenSource::Keyring);
        let c = Config::parse(&format!("{server}token_keyring = false\n"), None).unwrap();
        assert_eq!(c.servers[0].token, TokenSource::None, "false is no keyring");
        let (line, col, msg) = invalid(&format!("{server}token_keyring = true\n"));
        assert_eq!((line, col), (4, 17));
        assert!(msg.contains("needs `user`"), "{msg}");
        let (line, _, msg) = invalid(&format!(
            "{server}user = \"alice\"\ntoken_env = \"T\"\ntoken_keyring = true\n"
        ));
        assert_eq!(line, 6);
        assert!(msg.contains("not two"), "{msg}");
    }

    #[cfg(unix)]
    #[test]
    fn a_config_or_token_file_others_may_read_is_named_once_with_the_fix() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let (path, token) = (
            dir.path().join("config.toml"),
            dir.path().join("office.token"),
        );
        let text = "[[servers]]\nname = \"office\"\nurl = \"https://ci.example.com/\"\nuser = \"a\"\n\
                    token_file = \"office.token\"\n";
        std::fs::write(&path, text).unwrap();
        std::fs::write(&token, "s3cret\n").unwrap();
        for (file, mode) in [(&path, 0o644), (&token, 0o604)] {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let config = Config::parse(text, Some(&path)).unwrap();
        let mut warned = BTreeSet::new();
        let warnings = config.readable_by_others(&mut warned);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let shown = path.display().to_string();
        assert!(
            warnings[0].contains(&format!("config file {shown}"))
                && warnings[0].contains(&format!("chmod 600 {shown}")),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains(&format!("chmod 600 {}", token.display())),
            "{warnings:?}"
        );
        assert!(
            config.readable_by_others(&mut warned).is_empty(),
            "once per file"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(config.readable_by_others(&mut BTreeSet::new()).is_empty());
    }

    #[test]
    fn export_reads_listen_and_the_readers_user_and_token() {
        let c = Config::parse("[export]\nlisten = \"0.0.0.0:8765\"\n", None).unwrap();
        assert_eq!(
            c.export,
            Some(ExportConfig {
                listen: "0.0.0.0:8765".parse().unwrap(),
                auth: None
            })
        );
        let c = Config::parse(
            "[export]\nlisten = \"127.0.0.1:0\"\nuser = \"office\"\ntoken_file = \"relay.token\"\n",
            Some(Path::new("/etc/ledtogo/config.toml")),
        )
        .unwrap();
        let export = c.export.unwrap();
        assert_eq!(export.listen.port(), 0, "the OS picks the port");
        assert_eq!(
            export.auth,
            Some(ExportAuth {
                user: "office".into(),
                token: TokenSource::File(PathBuf::from("/etc/ledtogo/relay.token"))
            }),
            "the token file is relative to the config's folder"
        );
        let c = Config::parse(
            "[export]\nlisten = \"[::]:8765\"\nuser = \"o\"\ntoken_env = \"T\"\n",
            None,
        )
        .unwrap();
        assert_eq!(
            c.export.unwrap().auth.unwrap().token,
            TokenSource::Env("T".into())
        );
        assert_eq!(
            Config::parse("", None).unwrap().export,
            None,
            "absent: no export"
        );
        assert_eq!(Config::parse("[export]\n", None).unwrap().export, None);
    }

    #[test]
    fn a_bad_export_is_reported_at_its_key() {
        let (line, col, msg) = invalid("[export]\nlisten = \"pi:8765\"\n");
        assert_eq!((line, col), (2, 10));
        assert!(msg.contains("export.listen \"pi:8765\""), "{msg}");
        assert!(msg.contains("0.0.0.0:8765"), "says what works: {msg}");
        let (line, _, msg) = invalid("[export]\nlisten = \"0.0.0.0:99999\"\n");
        assert_eq!(line, 2);
        assert!(msg.contains("export.listen"), "{msg}");
        let (line, col, msg) = invalid("[export]\nlisten = \"0.0.0.0:8765\"\nuser = \"office\"\n");
        assert_eq!((line, col), (3, 8));
        assert!(msg.contains("needs a token"), "{msg}");
        let (line, _, msg) = invalid("[export]\nlisten = \"0.0.0.0:8765\"\ntoken_env = \"T\"\n");
        assert_eq!(line, 3);
        assert!(msg.contains("needs `user`"), "{msg}");
        let (line, _, msg) = invalid(
            "[export]\nlisten = \"0.0.0.0:8765\"\nuser = \"o\"\ntoken_env = \"T\"\ntoken_file = \"f\"\n",
        );
        assert_eq!(line, 5);
        assert!(msg.contains("not both"), "{msg}");
        let (line, _, msg) = invalid("[export]\nuser = \"o\"\ntoken_env = \"T\"\n");
        assert_eq!(line, 2);
        assert!(msg.contains("without `listen`"), "{msg}");
        let (line, _, msg) = invalid("[export]\nlisten = \"0.0.0.0:8765\"\nport = 1\n");
        assert_eq!(line, 3);
        assert!(msg.contains("port"), "unknown keys are refused: {msg}");
    }

    #[test]
    fn servers_of_every_kind_with_their_own_keys_and_job_names() {
        let text = "[[servers]]\nname = \"gocd\"\nkind = \"cctray\"\nurl = \"https://gocd.example.com/go/cctray.xml\"\n\
                    user = \"bob\"\ntoken_env = \"GOCD_TOKEN\"\n\n\
                    [[servers]]\nname = \"gh\"\nkind = \"github\"\nrepos = [\"acme/api\", \"acme/web\", \"acme/api\"]\n\
                    token_env = \"GITHUB_TOKEN\"\n\n\
                    [[servers]]\nname = \"lab\"\nkind = \"gitlab\"\nurl = \"https://gitlab.example.com/\"\n\
                    projects = [\"group/sub/project\"]\n\n\
                    [[servers]]\nname = \"ci\"\nurl = \"https://ci.example.com/\"\n\n\
                    [[slots]]\nled = 0\nserver = \"gocd\"\njob = \"build-linux :: test :: unit\"\n\
                    [[slots]]\nled = 1\nserver = \"gh\"\njob = \"acme/api/CI/feature/login\"\n\
                    [[slots]]\nled = 2\nserver = \"lab\"\njob = \"group/sub/project/main\"\n\
                    [[slots]]\nled = 3\nserver = \"gocd\"\nfolder = \"build-linux :: test\"\n";
        let c = Config::parse(text, None).unwrap();
        assert_eq!(c.servers[0].kind, ServerKind::Cctray);
        assert_eq!(
            c.servers[1].kind,
            ServerKind::GitHub {
                repos: vec!["acme/api".into(), "acme/web".into()]
            },
            "a repo named twice is watched once"
        );
        assert_eq!(c.servers[1].url, "https://api.github.com/", "the default");
        assert_eq!(
            c.servers[2].kind,
            ServerKind::GitLab {
                projects: vec!["group/sub/project".into()]
            }
        );
        assert_eq!(c.servers[3].kind, ServerKind::Jenkins, "the default kind");
        let job = |led: usize| match &c.slots[led].target {
            Target::Job(id) => id.path.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(job(0), ["build-linux", "test", "unit"]);
        assert_eq!(job(1), ["acme", "api", "CI", "feature%2Flogin"]);
        assert_eq!(job(2), ["group", "sub", "project", "main"]);
        assert_eq!(
            c.slots[3].target,
            Target::Folder {
                server: "gocd".into(),
                path: vec!["build-linux".into(), "test".into()]
            }
        );
    }

    #[test]
    fn a_server_kind_without_its_keys_or_with_another_kinds_keys_is_refused() {
        let (line, _, message) = invalid("[[servers]]\nname = \"gh\"\nkind = \"github\"\n");
        assert_eq!(line, 2);
        assert!(message.contains("needs `repos = [\"…\"]`"), "{message}");
        let (line, _, message) = invalid(
            "[[servers]]\nname = \"x\"\nkind = \"gitlab\"\nprojects = [\"group/p\"]\nrepos = [\"a/b\"]\n",
        );
        assert_eq!(line, 5);
        assert!(
            message.contains("`repos` is for kind = \"github\""),
            "{message}"
        );
        let (line, _, message) =
            invalid("[[servers]]\nname = \"x\"\nkind = \"travis\"\nurl = \"https://t.example/\"\n");
        assert_eq!(line, 3);
        assert!(message.contains("unknown kind \"travis\""), "{message}");
        assert!(message.contains("\"cctray\""), "{message}");
        let (_, _, message) = invalid("[[servers]]\nname = \"feed\"\nkind = \"cctray\"\n");
        assert!(message.contains("needs `url"), "{message}");
        let (line, _, message) = invalid(
            "[[servers]]\nname = \"gh\"\nkind = \"github\"\nrepos = [\"acme/api\", \"acme\"]\n",
        );
        assert_eq!(line, 4);
        assert!(message.contains("OWNER/REPO"), "{message}");
        let (_, _, message) = invalid(
            "[[servers]]\nname = \"f\"\nkind = \"cctray\"\nurl = \"https://x.example/cc.xml\"\nview = \"v\"\n",
        );
        assert!(message.contains("Jenkins keys"), "{message}");
    }

    #[test]
    fn a_ledtogo_relay_entry_with_or_without_upstream() {
        let text = "[[servers]]\nname = \"relay\"\nkind = \"ledtogo\"\nurl = \"http://pi:8765/\"\n\
                    user = \"office\"\ntoken_env = \"LEDTOGO_EXPORT_TOKEN\"\n\n\
                    [[servers]]\nname = \"office\"\nkind = \"ledtogo\"\nurl = \"http://pi:8765/\"\n\
                    upstream = \" office \"\n\n\
                    [[slots]]\nled = 0\nserver = \"relay\"\njob = \"office/team-a/web\"\n";
        let c = Config::parse(text, None).unwrap();
        assert_eq!(c.servers[0].kind, ServerKind::Ledtogo { upstream: None });
        assert_eq!(c.servers[0].user.as_deref(), Some("office"));
        assert_eq!(
            c.servers[1].kind,
            ServerKind::Ledtogo {
                upstream: Some("office".into())
            }
        );
        assert_eq!(
            c.slots[0].target,
            Target::Job(crate::model::JobId::new("relay", "office/team-a/web"))
        );

        let (line, _, message) = invalid(
            "[[servers]]\nname = \"r\"\nkind = \"ledtogo\"\nurl = \"http://pi:8765/\"\nupstream = \"\"\n",
        );
        assert_eq!(line, 5);
        assert!(message.contains("`upstream` is empty"), "{message}");
        let (line, _, message) = invalid(
            "[[servers]]\nname = \"ci\"\nurl = \"https://ci.example.com/\"\nupstream = \"office\"\n",
        );
        assert_eq!(line, 4);
        assert!(
            message.contains("`upstream` is for kind = \"ledtogo\""),
            "{message}"
        );
        let (_, _, message) = invalid("[[servers]]\nname = \"r\"\nkind = \"ledtogo\"\n");
        assert!(message.contains("needs `url"), "{message}");
        assert!(message.contains("ledtogo relay"), "{message}");
    }
}
