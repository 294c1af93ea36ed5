//! The command line: arguments (clap) and the subcommands that are not the long-running app.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};

use crate::config::{
    AggregateScope, Config, PortChoice, Root, ServerConfig, ServerKind, TokenSource,
};
use crate::model::Job;
use crate::outputs::ddp;
use crate::outputs::mdns::{self, DiscoveryError, FoundStrip};
use crate::outputs::serial::{self, DeviceSettings};
use crate::text;

/// ledtogo — Jenkins job states on a USB LED strip, a tray icon and a window.
#[derive(Debug, Parser)]
#[command(name = "ledtogo", about)]
pub struct Cli {
    /// Config file (default: ~/.config/ledtogo/config.toml; without one, the demo runs).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Run without a window: poll, drive the strip, log transitions.
    #[arg(long)]
    pub headless: bool,
    /// Run the demo: an embedded simulated Jenkins whose jobs build, break and get fixed.
    #[arg(long)]
    pub demo: bool,
    /// Print each new frame on stdout as one line of hex colours (`ff0000 00ff00 …`).
    #[arg(long)]
    pub print_frames: bool,
    /// No tray icon: closing the window quits.
    #[arg(long)]
    pub no_tray: bool,
    /// Start with the window hidden, in the tray (the "Start at login" entry uses it); the window opens
    /// anyway when no panel shows the tray icon.
    #[arg(long, conflicts_with = "no_tray")]
    pub in_tray: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every job of a CI server (one request per Jenkins, feed, repo or project), with state,
    /// building flag and URL.
    Jobs {
        /// The server's URL: a Jenkins base URL (https://ci.example.com/jenkins/), a cctray feed
        /// (https://gocd.example.com/go/cctray.xml), a GitHub/GitLab API base (default for those:
        /// https://api.github.com/, https://gitlab.com/), or a ledtogo relay (http://pi:8765/).
        url: Option<String>,
        /// What kind of server it is.
        #[arg(long, value_enum, default_value_t = KindArg::Jenkins)]
        kind: KindArg,
        /// A GitHub repository (OWNER/REPO) or GitLab project (GROUP/PROJECT) to list; repeatable.
        #[arg(long = "repo", value_name = "REPO", alias = "project")]
        repos: Vec<String>,
        /// Only this one of a ledtogo relay's servers (its jobs keep their paths).
        #[arg(long, value_name = "SERVER")]
        upstream: Option<String>,
        /// User name for Basic auth (Jenkins, cctray, ledtogo relay; with --token-env).
        #[arg(long)]
        user: Option<String>,
        /// Environment variable holding the API token.
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
        /// Only the jobs below this folder (full name path; Jenkins).
        #[arg(long, conflicts_with = "view")]
        folder: Option<String>,
        /// Only the jobs of this view (Jenkins).
        #[arg(long)]
        view: Option<String>,
        /// Request timeout in seconds.
        #[arg(long, default_value_t = 20.0)]
        timeout: f64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate the config and print the LED map.
    Check,
    /// "I'm on it": acknowledge a failing job on the running ledtogo (for --config), so its LED calms
    /// down and its notifications stop until it is fixed (at most 24 h); --clear, --list.
    Ack(AckArgs),
    /// Write printable labels for the strip (SVG, true size): each LED's short job name in a cell at the
    /// strip's LED pitch, with cut marks, in rows that fit A4 landscape.
    Labels {
        /// The LED pitch in mm (`16.6mm` or `16.6`, between 3 and 200); default: 60 LEDs/m (16.67 mm).
        #[arg(long, value_name = "MM", conflicts_with = "density")]
        pitch: Option<crate::labels::Pitch>,
        /// The strip's LEDs per metre instead of --pitch: 60 (16.67 mm), 30 (33.33 mm) or 144 (6.94 mm).
        #[arg(long, value_name = "PER_METRE", value_parser = crate::labels::Pitch::density)]
        density: Option<crate::labels::Pitch>,
        /// Where the SVG goes (`-`: standard output).
        #[arg(long, value_name = "FILE", default_value = "labels.svg")]
        out: PathBuf,
    },
    /// List serial ports (VID:PID, serial number) and probe the USB-serial bridges for a ledtogo or
    /// Adalight board (probing opens the port, which resets an Uno); then list the Wi-Fi strips (WLED)
    /// that announce themselves on the network within about 2 s.
    Ports {
        /// Also probe this port: a pseudo-terminal (which the system does not list), or a network strip
        /// (wled://HOST asks the board who it is; ddp://HOST resolves the name).
        #[arg(long = "probe", value_name = "PORT")]
        probe: Vec<String>,
        /// Only list; do not open any port.
        #[arg(long)]
        no_probe: bool,
        /// Do not search the network for Wi-Fi strips (mDNS).
        #[arg(long)]
        no_network: bool,
        #[arg(long, default_value_t = serial::DEFAULT_BAUD)]
        baud: u32,
    },
    /// Light each LED in turn, then a rainbow, to check the wiring and the LED count.
    TestPattern {
        /// The port: a device path, `auto`, ddp://HOST[:PORT] or wled://HOST (default: the config's
        /// `[strip] port`, else auto).
        #[arg(long)]
        port: Option<PortChoice>,
        /// LED count (default: the config's, else the device's own).
        #[arg(long)]
        leds: Option<usize>,
        #[arg(long)]
        baud: Option<u32>,
    },
    /// Upload the ledtogo firmware to an Arduino Uno with avrdude, then check that it answers.
    Flash {
        /// The Uno's serial port (default: the config's `[strip] port` if it is a path, else the
        /// one USB serial board plugged in).
        #[arg(long, value_name = "PATH")]
        port: Option<String>,
        /// The firmware image, Intel hex (default: /usr/share/ledtogo/firmware/ledtogo.hex, else
        /// this source tree's firmware/build/ledtogo.hex).
        #[arg(long, value_name = "FILE")]
        hex: Option<PathBuf>,
        /// Print the avrdude command line instead of running it.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `--for`'s parser ([`crate::ack::parse_for`]), for clap.
fn parse_for(text: &str) -> Result<std::time::Duration, String> {
    crate::ack::parse_for(text).map_err(|e| e.to_string())
}

/// The parts of `ledtogo ack`'s command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct AckArgs {
    /// The job: its full name (`team/api/main`) as `ledtogo check` and the window name it.
    #[arg(required_unless_present = "list", conflicts_with = "list")]
    pub job: Option<String>,
    /// The server the job is on (needed when several list a job of that name).
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// How long at most: 30m, 2h, 1h30m (never more than 24h; default: until fixed, at most 24h).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_for, conflicts_with = "clear")]
    pub for_: Option<std::time::Duration>,
    /// What you are doing about it (shown in the tray and the window).
    #[arg(long, value_name = "TEXT", conflicts_with = "clear")]
    pub note: Option<String>,
    /// Who is on it (default: your user name).
    #[arg(long, value_name = "NAME", conflicts_with = "clear")]
    pub by: Option<String>,
    /// Nobody is on the job any more.
    #[arg(long)]
    pub clear: bool,
    /// Who is on what.
    #[arg(long, conflicts_with_all = ["clear", "server"])]
    pub list: bool,
}

/// `ledtogo ack`: asks the instance running with `config` and returns what it answered. None running,
/// or a refusal (an unknown job, a job that is not failing), is an error saying so.
pub fn ack(config: &Path, args: &AckArgs) -> Result<String> {
    use crate::instance::{AskError, Request, ask};
    let job = || args.job.clone().unwrap_or_default();
    let request = if args.list {
        Request::List
    } else if args.clear {
        Request::Clear {
            job: job(),
            server: args.server.clone(),
        }
    } else {
        Request::Ack(crate::ack::AckRequest {
            job: job(),
            server: args.server.clone(),
            for_secs: args.for_.map(|d| d.as_secs()),
            note: args.note.clone(),
            by: args.by.clone().unwrap_or_else(crate::ack::default_by),
        })
    };
    match ask(config, &request) {
        Ok(Ok(text)) => Ok(format!("{text}\n")),
        Ok(Err(refused)) => bail!("{refused}"),
        Err(AskError::NotRunning { config }) => bail!(
            "no ledtogo is running with {config}: start it first (`ledtogo --headless --config {config}`, \
             or the desktop app), then acknowledge again"
        ),
        Err(e) => Err(e.into()),
    }
}

/// What `ledtogo --version` says after the name: the version, the cargo features built in and the
/// serial protocol version spoken (`0.1.0 (features: gui, sound; serial protocol 1)`).
pub fn version_text() -> String {
    let features: Vec<&str> = [
        ("gui", cfg!(feature = "gui")),
        ("sound", cfg!(feature = "sound")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let features = if features.is_empty() {
        "none".to_owned()
    } else {
        features.join(", ")
    };
    format!(
        "{} (features: {features}; serial protocol {})",
        env!("CARGO_PKG_VERSION"),
        serial::protocol::PROTO_VERSION
    )
}

/// The command line definition with [`version_text`] as its `--version`.
pub fn command() -> clap::Command {
    use clap::CommandFactory as _;
    // Built once per process, at startup; clap keeps `&'static str`s.
    let version: &'static str = Box::leak(version_text().into_boxed_str());
    Cli::command().version(version)
}

/// Parses the process's arguments (exits with clap's message on bad ones, and for --help/--version).
pub fn parse() -> Cli {
    use clap::FromArgMatches as _;
    Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit())
}

/// `ledtogo ports`: one line per port; probed ports get what answered.
pub fn ports(extra: &[String], probe: bool, baud: u32) -> Result<String> {
    let mut out = String::new();
    let listed = serial::list_ports()?;
    if listed.is_empty() && extra.is_empty() {
        out.push_str("no serial ports found\n");
    }
    for port in &listed {
        write!(out, "{port}").ok();
        if probe && port.kind.is_known_bridge() {
            write!(out, "  → {}", probe_line(&port.path, baud)).ok();
        }
        out.push('\n');
    }
    for path in extra {
        writeln!(out, "{path}  → {}", probe_line(path, baud)).ok();
    }
    Ok(out)
}

/// `ledtogo ports`' Wi-Fi part: what a short mDNS search found, with the `port = …` value for each.
pub fn wifi_strips(found: &Result<Vec<FoundStrip>, DiscoveryError>) -> String {
    let mut out = format!(
        "Wi-Fi strips (WLED, announced over mDNS within {} s):\n",
        mdns::SHORT_BROWSE.as_secs()
    );
    match found {
        Ok(strips) if strips.is_empty() => {
            writeln!(out, "  none found ({})", mdns::EMPTY_ADVICE).ok();
        }
        Ok(strips) => {
            for strip in strips {
                writeln!(out, "  {strip}").ok();
            }
        }
        Err(e) => {
            writeln!(out, "  {e}").ok();
        }
    }
    out
}

fn probe_line(path: &str, baud: u32) -> String {
    match path.parse::<PortChoice>() {
        Err(e) => return format!("cannot probe: {e}"),
        Ok(port) => {
            if let Some(target) = ddp::Target::of(&port) {
                return ddp::probe(&target).unwrap_or_else(|e| format!("cannot probe: {e}"));
            }
        }
    }
    match serial::probe(path, baud) {
        Ok(outcome) => outcome.to_string(),
        Err(e) => format!("cannot probe: {e}"),
    }
}

/// `ledtogo test-pattern`: settings from the flags, then the config file (if any), then defaults.
pub fn test_pattern(
    config: Option<&Config>,
    port: Option<PortChoice>,
    leds: Option<usize>,
    baud: Option<u32>,
) -> Result<String> {
    let strip = config.map(|c| c.strip.clone()).unwrap_or_default();
    let mut settings = match config {
        Some(c) => DeviceSettings::from(&c.strip),
        // No config: the device's own LED count.
        None => DeviceSettings {
            leds: 0,
            ..DeviceSettings::default()
        },
    };
    match port {
        Some(PortChoice::None) => {
            bail!(
                "--port none: nothing to test; pass --port PATH, --port auto or --port ddp://HOST"
            )
        }
        Some(port) => settings.port = port,
        None if settings.port == PortChoice::None => {
            bail!(
                "the config says `port = \"none\"`: pass --port PATH (or --port auto, --port ddp://HOST)"
            )
        }
        None => {}
    }
    if let Some(n) = leds {
        if !(1..=crate::config::MAX_LEDS).contains(&n) {
            bail!("--leds must be between 1 and {}", crate::config::MAX_LEDS);
        }
        settings.leds = n;
    }
    if let Some(b) = baud {
        settings.baud = b;
    }
    let status = serial::test_pattern(settings, strip.correction(), |step| {
        tracing::info!("test pattern: {step}");
    })?;
    Ok(format!("test pattern done on {status}\n"))
}

/// `ledtogo flash`: the image, the port, avrdude, then the handshake with the new firmware.
pub fn flash(
    config: Option<&Config>,
    port: Option<String>,
    hex: Option<&Path>,
    dry_run: bool,
) -> Result<String> {
    let image = crate::flash::find_image(hex, &crate::flash::default_images())?;
    let port = match (port, config.map(|c| &c.strip.port)) {
        (Some(port), _) => port,
        (None, Some(PortChoice::Path(path))) => path.to_string_lossy().into_owned(),
        (None, _) => crate::flash::pick_port(&serial::list_ports()?)?,
    };
    let avrdude = crate::flash::find_avrdude(std::env::var_os("PATH").as_deref());
    if dry_run {
        let program = avrdude.unwrap_or_else(|| PathBuf::from("avrdude"));
        let args = crate::flash::avrdude_args(&port, &image);
        return Ok(format!("{}\n", crate::flash::command_line(&program, &args)));
    }
    let avrdude = avrdude.ok_or(crate::flash::FlashError::AvrdudeMissing)?;
    tracing::info!(
        "flashing {} to {} with {}",
        image.display(),
        text::visible(&port),
        avrdude.display()
    );
    crate::flash::upload(&avrdude, &port, &image)?;
    let baud = config.map_or(serial::DEFAULT_BAUD, |c| c.strip.baud);
    Ok(format!("{}\n", crate::flash::check(&port, baud)?))
}

fn kind_name(kind: KindArg) -> &'static str {
    match kind {
        KindArg::Jenkins => "jenkins",
        KindArg::Cctray => "cctray",
        KindArg::Github => "github",
        KindArg::Gitlab => "gitlab",
        KindArg::Ledtogo => "ledtogo",
    }
}

/// `--kind` of `ledtogo jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KindArg {
    Jenkins,
    Cctray,
    Github,
    Gitlab,
    Ledtogo,
}

/// What `ledtogo jobs` asks.
#[derive(Debug, Clone)]
pub struct JobsQuery {
    pub url: Option<String>,
    pub kind: KindArg,
    pub repos: Vec<String>,
    pub upstream: Option<String>,
    pub user: Option<String>,
    pub token_env: Option<String>,
    pub root: Root,
    pub timeout: f64,
    pub json: bool,
}

/// `ledtogo jobs`: prints the jobs; errors (auth, network, not the kind of server asked for) become a
/// non-zero exit.
pub fn jobs(query: JobsQuery) -> Result<String> {
    let JobsQuery {
        url,
        kind,
        repos,
        upstream,
        user,
        token_env,
        root,
        timeout,
        json,
    } = query;
    let check_all = |check: fn(&str) -> std::result::Result<(), String>| -> Result<Vec<String>> {
        if repos.is_empty() {
            bail!("--kind {} needs at least one --repo", kind_name(kind));
        }
        for r in &repos {
            if let Err(e) = check(r) {
                bail!("--repo {e}");
            }
        }
        Ok(repos.clone())
    };
    if upstream.is_some() && kind != KindArg::Ledtogo {
        bail!("--upstream is for --kind ledtogo (a ledtogo relay)");
    }
    let kind = match kind {
        KindArg::Jenkins | KindArg::Cctray | KindArg::Ledtogo if !repos.is_empty() => {
            bail!("--repo is for --kind github or gitlab")
        }
        KindArg::Jenkins => ServerKind::Jenkins,
        KindArg::Cctray => ServerKind::Cctray,
        KindArg::Github => ServerKind::GitHub {
            repos: check_all(crate::config::kinds::check_repo)?,
        },
        KindArg::Gitlab => ServerKind::GitLab {
            projects: check_all(crate::config::kinds::check_project)?,
        },
        KindArg::Ledtogo => ServerKind::Ledtogo {
            upstream: match upstream {
                Some(u) => {
                    if let Err(e) = crate::config::kinds::check_upstream(&u) {
                        bail!("--upstream: {e}");
                    }
                    Some(u.trim().to_owned())
                }
                None => None,
            },
        },
    };
    if kind != ServerKind::Jenkins && root != Root::All {
        bail!("--folder and --view are for Jenkins servers");
    }
    let url = match (url, kind.default_url()) {
        (Some(url), _) => url,
        (None, Some(default)) => default.to_owned(),
        (None, None) => bail!("give the {} URL", kind.label()),
    };
    if let Err(e) = crate::weburl::check_server_url(&url) {
        bail!("{url:?} is not an http(s) server URL: {e}");
    }
    if !(0.1..=3600.0).contains(&timeout) {
        bail!("--timeout must be between 0.1 and 3600 seconds");
    }
    let token_alone = matches!(kind, ServerKind::GitHub { .. } | ServerKind::GitLab { .. });
    let token = match (&user, token_env) {
        (Some(_), Some(var)) => TokenSource::Env(var),
        (None, Some(var)) if token_alone => TokenSource::Env(var),
        (None, Some(_)) => bail!("--token-env needs --user"),
        (Some(_), None) => bail!("--user needs --token-env (the variable holding the API token)"),
        (None, None) => TokenSource::None,
    };
    let server = ServerConfig {
        name: "cli".to_owned(),
        kind,
        url: url.trim().to_owned(),
        user,
        token,
        ca_file: None,
        root,
        poll: None,
    };
    let source = crate::sources::open(&server, std::time::Duration::from_secs_f64(timeout))?;
    let listing = source.fetch()?;
    for relayed in &listing.relayed {
        tracing::info!(
            "the relay's server {}: {}, {} jobs",
            text::visible(&relayed.name),
            text::visible(&relayed.state.to_string()),
            relayed.jobs
        );
    }
    if let Some(state) = &listing.upstream {
        tracing::warn!(
            "{}: these are the relay's last known states",
            text::visible(&state.to_string())
        );
    }
    tracing::info!(
        "{} jobs in {} request{}",
        listing.jobs.len(),
        listing.requests,
        if listing.requests == 1 { "" } else { "s" }
    );
    if json {
        let list: Vec<JobOut<'_>> = listing.jobs.iter().map(job_json).collect();
        let json = serde_json::to_string_pretty(&list)?;
        return Ok(text::json_escape_hidden(&json).into_owned() + "\n");
    }
    Ok(job_table(&listing.jobs))
}

/// A job as `ledtogo jobs --json` prints it (borrowing from the listing: no copy of it is built).
#[derive(serde::Serialize)]
struct JobOut<'a> {
    path: String,
    display_name: &'a str,
    state: &'static str,
    building: bool,
    url: &'a str,
    last_build: Option<BuildOut>,
}

#[derive(serde::Serialize)]
struct BuildOut {
    number: u64,
    result: Option<&'static str>,
    building: bool,
    timestamp_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    estimated_ms: Option<u64>,
}

fn job_json(job: &Job) -> JobOut<'_> {
    JobOut {
        path: job.id.full_name(),
        display_name: &job.display_name,
        state: job.state.label(),
        building: job.building,
        url: &job.url,
        last_build: job.last_build.as_ref().map(|b| BuildOut {
            number: b.number,
            result: b.result.map(|r| r.label()),
            building: b.building,
            timestamp_ms: b.timestamp_ms,
            estimated_ms: b.estimated_ms,
        }),
    }
}

/// One line per job: state, building, full name, URL. The names and URLs come from the server: hidden
/// controls are shown as "�" ([`text::visible`]), never sent to the terminal (`--json` keeps them exact).
fn job_table(jobs: &[Job]) -> String {
    // Two passes over the jobs with one scratch name, so a listing of thousands of jobs costs no string
    // per row: the first measures the name column and the table, the second writes into a table
    // reserved at its size.
    let mut name = String::new();
    let (mut width, mut size) = (0, 0);
    for j in jobs {
        full_name_into(&mut name, j);
        let shown = text::visible(&name);
        width = width.max(char_count(&shown));
        // state, building flag, name, link (padding comes on top, counted below)
        size += 9 + 1 + 8 + 1 + shown.len() + 1 + text::visible(&j.url).len() + 1;
    }
    let mut out = String::with_capacity(size + width * jobs.len());
    let pad = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(' ', n));
    for j in jobs {
        full_name_into(&mut name, j);
        let shown = text::visible(&name);
        let (state, building) = (j.state.label(), if j.building { "building" } else { "" });
        out.push_str(state);
        pad(&mut out, 9usize.saturating_sub(state.len()) + 1);
        out.push_str(building);
        pad(&mut out, 8 - building.len() + 1);
        out.push_str(&shown);
        pad(&mut out, width - char_count(&shown) + 1);
        out.push_str(&text::visible(&j.url));
        out.push('\n');
    }
    out
}

/// Characters in `s` (its length when it is ASCII).
fn char_count(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// `j`'s full name (its path joined with `/`) into `buf`, replacing what it held.
fn full_name_into(buf: &mut String, j: &Job) {
    buf.clear();
    for (i, seg) in j.id.path.iter().enumerate() {
        if i > 0 {
            buf.push('/');
        }
        buf.push_str(seg);
    }
}

/// `ledtogo check`: the validated config as a readable summary and LED map. Names in the config can come
/// from a server (slots made by dragging a job): each line goes through [`text::visible`].
pub fn check(path: &Path) -> Result<String> {
    let config = Config::load(path)?;
    let mut out = String::new();
    line(&mut out, &format!("{}: valid", path.display()));
    writeln!(
        out,
        "poll every {:?} (timeout {:?})",
        config.poll, config.timeout
    )
    .ok();
    for s in &config.servers {
        let root = match &s.root {
            Root::All => String::new(),
            Root::Folder(p) => format!(", folder {}", p.join("/")),
            Root::View(p) => format!(", view {}", p.join("/")),
        };
        // "user alice, " for Basic auth; GitHub and GitLab tokens stand alone.
        let who = |u: &Option<String>| match u.as_deref() {
            Some(u) => format!("user {u}, "),
            None => String::new(),
        };
        let auth = match (&s.user, &s.token) {
            (_, TokenSource::None) => "anonymous".to_owned(),
            (u, TokenSource::Env(var)) => format!(
                "{}token from ${var} ({})",
                who(u),
                if std::env::var_os(var).is_some() {
                    "set"
                } else {
                    "NOT SET"
                }
            ),
            (u, TokenSource::File(f)) => format!(
                "{}token from {} ({})",
                who(u),
                f.display(),
                if f.is_file() { "found" } else { "MISSING" }
            ),
            (u, TokenSource::Keyring) => format!(
                "{}token from the keyring ({})",
                who(u),
                if crate::sources::credentials::lookup(s).is_ok() {
                    "found"
                } else {
                    "MISSING"
                }
            ),
        };
        line(
            &mut out,
            &format!(
                "server {}: {} {} ({auth}{root})",
                s.name,
                s.kind.label(),
                s.url
            ),
        );
        if let crate::config::ServerKind::GitHub { repos } = &s.kind {
            line(&mut out, &github_budget(s, repos.len(), config.poll));
        }
        if let crate::config::ServerKind::Ledtogo { upstream } = &s.kind {
            let feed = crate::sources::ledtogo::client::feed_url(&s.url);
            line(
                &mut out,
                &match upstream {
                    Some(u) => format!(
                        "{}: reads {feed}, the relay's server {u:?} only (its jobs keep their paths)",
                        s.name
                    ),
                    None => format!(
                        "{}: reads {feed}, every server the relay polls (prefixed SERVER/ when it \
                         polls more than one)",
                        s.name
                    ),
                },
            );
        }
    }
    if let Some(export) = &config.export {
        line(&mut out, &relay_line(export));
    }
    let port = &config.strip.port;
    let link = match port {
        PortChoice::Ddp { host, port } => {
            format!(
                "DDP over UDP to {}",
                crate::config::host_and_port(host, *port)
            )
        }
        PortChoice::Wled { host, http_port } => format!(
            "WLED: asks {}, then DDP over UDP to {}",
            ddp::wled::info_url(host, *http_port),
            crate::config::host_and_port(host, crate::config::DDP_PORT)
        ),
        PortChoice::Auto | PortChoice::Path(_) | PortChoice::None => {
            format!("{} baud", config.strip.baud)
        }
    };
    line(
        &mut out,
        &format!(
            "strip: port {port} ({link}), {} LEDs, brightness {:.2}, gamma {:.1}",
            config.strip.leds, config.strip.brightness, config.strip.gamma
        ),
    );
    for led in 0..config.strip.leds {
        let what = match config.slot(led) {
            Some(slot) => slot.target.to_string(),
            None if config.aggregate.leds.contains(&led) => format!(
                "aggregate ({})",
                match config.aggregate.scope {
                    AggregateScope::Mapped => "worst of the mapped jobs",
                    AggregateScope::All => "worst of every job",
                }
            ),
            None => "off".to_owned(),
        };
        line(&mut out, &format!("LED {led:>3}  {what}"));
    }
    for (what, path) in sound_files(&config) {
        line(
            &mut out,
            &match crate::alerts::check_sound_file(path) {
                Ok(()) => format!("{what}: {} (plays)", path.display()),
                Err(e) => format!(
                    "{what}: CANNOT PLAY {e} (fix the path or leave the key out; the sound \
                     before it plays instead)"
                ),
            },
        );
    }
    Ok(out)
}

/// Every sound file the config names: `[alerts]`'s, then each slot's, with where it is set.
fn sound_files(config: &Config) -> Vec<(String, &Path)> {
    let alerts = &config.alerts;
    let global = [
        ("[alerts] sound_broke", &alerts.sound_broke),
        ("[alerts] sound_fixed", &alerts.sound_fixed),
    ];
    let mut files: Vec<(String, &Path)> = global
        .into_iter()
        .filter_map(|(what, p)| Some((what.to_owned(), p.as_deref()?)))
        .collect();
    for slot in &config.slots {
        for (key, p) in [
            ("sound_broke", &slot.sound_broke),
            ("sound_fixed", &slot.sound_fixed),
        ] {
            if let Some(p) = p {
                files.push((format!("LED {} {key}", slot.led), p.as_path()));
            }
        }
    }
    files
}

/// `ledtogo labels`: the label sheet of the config at `path`, written to `out` (atomically); with `out`
/// `-`, the SVG itself is returned for standard output, else a line saying what was written.
pub fn labels(path: &Path, pitch: crate::labels::Pitch, out: &Path) -> Result<String> {
    let config = Config::load(path)?;
    let svg = crate::labels::svg(&config, pitch);
    if out == Path::new("-") {
        return Ok(svg);
    }
    if let Some(folder) = out.parent().filter(|f| !f.as_os_str().is_empty())
        && !folder.is_dir()
    {
        bail!(
            "cannot write the labels to {}: there is no folder {}; pass --out FILE in an existing folder",
            out.display(),
            folder.display()
        );
    }
    crate::config::write_atomic(out, svg.as_bytes()).with_context(|| {
        format!(
            "cannot write the labels to {}; pass --out FILE (or --out - for standard output)",
            out.display()
        )
    })?;
    let rows = crate::labels::rows(config.strip.leds, pitch).len();
    Ok(format!(
        "wrote {}: {} LEDs {:.2} mm apart, {rows} row{} (print at 100 %, true size)\n",
        out.display(),
        config.strip.leds,
        pitch.as_mm(),
        if rows == 1 { "" } else { "s" }
    ))
}

/// The `check` line of the relay: where it serves and how readers authenticate.
fn relay_line(export: &crate::config::ExportConfig) -> String {
    let auth = match &export.auth {
        None => "no auth: whoever reaches the port reads the job states".to_owned(),
        Some(a) => format!(
            "Basic auth as {} ({})",
            a.user,
            match crate::sources::credentials::export_lookup(a) {
                Ok(_) => "token found".to_owned(),
                Err(e) => format!("token MISSING: {e}"),
            }
        ),
    };
    format!(
        "relay: serving http://{}/cc.xml and /api/json, {auth}",
        export.listen
    )
}

/// The `check` line saying how often a GitHub server may be polled, and whether its interval is raised.
fn github_budget(s: &ServerConfig, repos: usize, global: std::time::Duration) -> String {
    use crate::sources::github::{BUDGET_SHARE, HOURLY_BUDGET, min_interval};
    let min = min_interval(repos);
    let configured = s.poll.unwrap_or(global);
    let raised = if configured < min {
        format!(
            ", so poll_seconds = {} is raised to it",
            configured.as_secs_f64()
        )
    } else {
        String::new()
    };
    let budget = format!("{},{:03}", HOURLY_BUDGET / 1000, HOURLY_BUDGET % 1000);
    format!(
        "{}: {repos} repo{} → at most one poll every {} s (GitHub's {} requests/h budget, {:.0} % of it \
         for ledtogo{raised})",
        s.name,
        if repos == 1 { "" } else { "s" },
        min.as_secs(),
        budget,
        BUDGET_SHARE * 100.0,
    )
}

/// Appends `text` and a newline, hidden controls in it shown as "�".
fn line(out: &mut String, text: &str) {
    out.push_str(&text::visible(text));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::JobState;
    use crate::test_fixtures::job;

    #[test]
    fn the_job_table_pads_names_by_characters_and_shows_controls_as_replacements() {
        let jobs = [
            job("ci", "team/api", JobState::NotBuilt).at("https://ci/job/team/job/api/"),
            job("ci", "Dokumentation Ü", JobState::Success)
                .building()
                .at("https://ci/job/Dokumentation%20%C3%9C/"),
            job("ci", "evil\u{1b}[2J", JobState::Failure).at("https://ci/job/evil/\u{202e}"),
        ];
        let table = job_table(&jobs);
        assert_eq!(
            table,
            "not built          team/api        https://ci/job/team/job/api/\n\
             success   building Dokumentation Ü https://ci/job/Dokumentation%20%C3%9C/\n\
             failure            evil\u{fffd}[2J        https://ci/job/evil/\u{fffd}\n"
        );
        assert_eq!(job_table(&[]), "");
    }
}
