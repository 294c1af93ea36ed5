//! The `ledtogo` binary: parse the command line, pick the app (headless for now) or a subcommand.
// Windows: the GUI release build is a "windows subsystem" program, so starting it from the Start menu or
// at login opens no console window next to it. The cost: that build has no console, so its CLI
// subcommands (`ledtogo check`, `ports`, `flash`, `--version` …) print nothing when run from a terminal;
// the `--no-default-features` build (no window) and debug builds stay console programs for that.
#![cfg_attr(
    all(windows, feature = "gui", not(debug_assertions)),
    windows_subsystem = "windows"
)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::{Context as _, Result, bail};

use ledtogo::alerts::{AlertWorker, default_notifier, default_sound};
use ledtogo::cli::{self, Cli, Command};
use ledtogo::config::{self, Config};
use ledtogo::demo::Demo;
use ledtogo::engine::{ConfigSource, Engine, Observers};
use ledtogo::export::Export;
use ledtogo::instance::InstanceLock;
use ledtogo::outputs::{Output, PrintFrames};

fn main() -> ExitCode {
    let args = cli::parse();
    ledtogo::logging::init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The one place errors reach the user: the whole chain, on stderr.
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Cli) -> Result<()> {
    match args.command {
        Some(Command::Jobs {
            url,
            kind,
            repos,
            upstream,
            user,
            token_env,
            folder,
            view,
            timeout,
            json,
        }) => {
            let root = ledtogo::config::Root::of(folder.as_deref(), view.as_deref());
            let text = cli::jobs(cli::JobsQuery {
                url,
                kind,
                repos,
                upstream,
                user,
                token_env,
                root,
                timeout,
                json,
            })?;
            print!("{text}");
            Ok(())
        }
        Some(Command::Ack(ack)) => {
            let path = config_path(args.config)?;
            print!("{}", cli::ack(&path, &ack)?);
            Ok(())
        }
        Some(Command::Check) => {
            let path = config_path(args.config)?;
            print!("{}", cli::check(&path)?);
            Ok(())
        }
        Some(Command::Labels {
            pitch,
            density,
            out,
        }) => {
            let path = config_path(args.config)?;
            let pitch = pitch.or(density).unwrap_or_default();
            print!("{}", cli::labels(&path, pitch, &out)?);
            Ok(())
        }
        Some(Command::Ports {
            probe,
            no_probe,
            no_network,
            baud,
        }) => {
            print!("{}", cli::ports(&probe, !no_probe, baud)?);
            if !no_network {
                let found =
                    ledtogo::outputs::mdns::browse_for(ledtogo::outputs::mdns::SHORT_BROWSE);
                print!("{}", cli::wifi_strips(&found));
            }
            Ok(())
        }
        Some(Command::TestPattern { port, leds, baud }) => {
            // Use the config's strip settings when there is a config; a broken one is an error.
            let path = config_path(args.config.clone())?;
            let config = if args.config.is_some() || path.exists() {
                Some(Config::load(&path)?)
            } else {
                None
            };
            print!("{}", cli::test_pattern(config.as_ref(), port, leds, baud)?);
            Ok(())
        }
        Some(Command::Flash { port, hex, dry_run }) => {
            let path = config_path(args.config.clone())?;
            let config = if args.config.is_some() || path.exists() {
                Some(Config::load(&path)?)
            } else {
                None
            };
            print!(
                "{}",
                cli::flash(config.as_ref(), port, hex.as_deref(), dry_run)?
            );
            Ok(())
        }
        None => run_app(&args),
    }
}

fn config_path(explicit: Option<PathBuf>) -> Result<PathBuf> {
    match explicit {
        Some(p) => Ok(p),
        None => config::default_path()
            .context("cannot find the user's config folder (is HOME set?); pass --config PATH"),
    }
}

/// The long-running app: the desktop window when built with `gui` and a display is there, else headless
/// (poll, render, drive the strip, log transitions).
fn run_app(args: &Cli) -> Result<()> {
    #[cfg(feature = "gui")]
    if !args.headless && !args.print_frames {
        if desktop::has_display() {
            return desktop::run(args);
        }
        tracing::warn!(
            "no display (neither DISPLAY nor WAYLAND_DISPLAY is set): running headless; pass --headless to say so"
        );
    }
    run_headless(args)
}

/// Where the app's config comes from: the user's file, or the demo when there is none.
enum Start {
    File(PathBuf, Config),
    /// The demo, and where the user's own config would go (the window says so).
    Demo(
        Demo,
        #[cfg_attr(not(feature = "gui"), allow(dead_code))] PathBuf,
    ),
}

fn choose_start(args: &Cli) -> Result<Start> {
    let path = config_path(args.config.clone())?;
    if args.demo {
        let demo = Demo::start()?;
        tracing::info!("demo mode: simulated Jenkins at {}", demo.sim.url());
        return Ok(Start::Demo(demo, path));
    }
    if path.exists() {
        let initial = Config::load(&path)?;
        tracing::info!("using {}", path.display());
        return Ok(Start::File(path, initial));
    }
    if args.config.is_some() {
        bail!("{}: no such config file", path.display());
    }
    let demo = Demo::start()?;
    tracing::info!(
        "no config at {}: running the demo (simulated Jenkins at {}); see packaging/config.example.toml",
        path.display(),
        demo.sim.url()
    );
    Ok(Start::Demo(demo, path))
}

fn run_headless(args: &Cli) -> Result<()> {
    // One instance per config file (the demo counts as the config it would create).
    let lock = InstanceLock::acquire(&config_path(args.config.clone())?)?;
    // Keep the demo (its simulator) alive as long as the engine polls it.
    let (source, _demo) = match choose_start(args)? {
        Start::File(path, initial) => (ConfigSource::File { path, initial }, None),
        Start::Demo(demo, _) => (ConfigSource::Fixed(demo.config.clone()), Some(demo)),
    };
    let mut outputs: Vec<Box<dyn Output>> = Vec::new();
    if args.print_frames {
        outputs.push(Box::new(PrintFrames::new(std::io::stdout())));
    }
    // Sounds (and notifications, where there is a desktop) on break and fix, headless too; each batch
    // carries the config in use, so a reloaded `[alerts]` applies from the next one.
    let (tx, rx) = mpsc::channel();
    let _alerts = AlertWorker::spawn(rx, default_notifier(), default_sound())
        .context("cannot start the alert threads")?;
    let engine = Engine::start_remembering(
        source,
        outputs,
        Observers {
            on_change: None,
            transitions: Some(tx),
        },
        ledtogo::state::Files::user(),
    )
    .context("cannot start the engine threads")?;
    // `ledtogo ack` reaches this engine through the instance socket; there is no window to show.
    let acks = engine.acks();
    lock.listen(move |request| acks.answer(request));
    // The relay serves what the engine publishes while the config has `[export] listen`.
    let export = Export::start(engine.published_handle(), engine.acks())
        .context("cannot start the relay thread")?;
    wait_for_signal()?;
    tracing::info!("stopping");
    drop(export);
    engine.stop();
    Ok(())
}

#[cfg(feature = "gui")]
mod desktop {
    //! The desktop start: window, tray, notifications and sounds around the same engine.

    use super::{Cli, Start, choose_start, config_path};
    use anyhow::{Context as _, Result};
    use ledtogo::alerts;
    use ledtogo::config::{Config, ConfigError};
    use ledtogo::demo::demo_config_text;
    use ledtogo::gui::{self, ConfigPlace, DemoScratch};
    use ledtogo::instance::{InstanceError, InstanceLock};

    /// Whether a panel shows `tray`'s icon: its first host check (it runs at once when the tray starts) is
    /// waited for, at most 3 s; no answer by then counts as no.
    fn tray_shown(tray: &ledtogo::tray::shell::Tray) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while !tray.host_known() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        tray.host_present()
    }

    /// A window can open: always off Linux; on Linux when a display server is named.
    pub fn has_display() -> bool {
        cfg!(not(target_os = "linux")) || ledtogo::desktop_env::display_in_env()
    }

    pub fn run(args: &Cli) -> Result<()> {
        // One instance per config file: a second start brings the first one's window up instead.
        let path = config_path(args.config.clone())?;
        let lock = match InstanceLock::acquire(&path) {
            Ok(lock) => lock,
            Err(e @ InstanceError::Running { .. }) => {
                if ledtogo::instance::ask_to_show(&path) {
                    tracing::info!(
                        "ledtogo is already running with {}: showing its window",
                        path.display()
                    );
                    return Ok(());
                }
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        // An invalid config still opens the window (started from a menu, nobody reads stderr): it shows
        // the error and runs on defaults until the file is fixed; the file is left as it is.
        let start = match choose_start(args) {
            Err(e) => match e.downcast_ref::<ConfigError>() {
                Some(ConfigError::Invalid { path, .. }) => {
                    tracing::error!(
                        "{e}; opening the window with default settings until it is fixed"
                    );
                    let path = std::path::PathBuf::from(path);
                    let defaults = Config::parse("", Some(&path))?;
                    Start::File(path, defaults)
                }
                _ => return Err(e),
            },
            Ok(start) => start,
        };
        let (place, initial, demo_parts) = match start {
            Start::File(path, initial) => (ConfigPlace::User(path), initial, None),
            Start::Demo(demo, user) => {
                let scratch = DemoScratch::write(&demo_config_text(demo.sim.url()))?;
                let initial =
                    Config::load(&scratch.path).context("the demo config does not load back")?;
                let place = ConfigPlace::Demo {
                    scratch: scratch.path.clone(),
                    user,
                };
                (place, initial, Some((demo, scratch)))
            }
        };
        let desk = gui::start_desk(
            place,
            initial,
            Vec::new(),
            Box::new(gui::desk::open_in_browser),
            Some((alerts::default_notifier(), alerts::default_sound())),
            ledtogo::state::Files::user(),
        )?;
        // The demo's simulator and scratch folder live as long as its desk: "Create my config" switches
        // to a desk on the user's file in this process, and they go with the demo's desk.
        if let Some(parts) = demo_parts {
            desk.hold_demo(Box::new(parts));
        }
        // The tray, the lock and the signal handler act on whichever desk runs now.
        let current = desk.current();
        let shown = current.clone();
        lock.listen(move |request| {
            let Some(desk) = shown.get() else {
                return Err("ledtogo is stopping: try again once it runs".to_owned());
            };
            match request {
                ledtogo::instance::Request::Show => {
                    tracing::info!("another start asked for the window: showing it");
                    desk.show_window();
                    Ok("shown".to_owned())
                }
                other => desk.engine.acks().answer(other),
            }
        });
        if args.no_tray {
            tracing::info!("--no-tray: closing the window quits ledtogo");
        } else {
            gui::start_tray(&desk);
        }
        let tray = desk.tray().cloned();
        // --in-tray (at login): the window stays hidden only where a panel shows the icon, the way back.
        let hidden = args.in_tray && tray.as_ref().is_some_and(tray_shown);
        if args.in_tray && !hidden {
            tracing::info!("--in-tray: no panel shows the tray icon, so the window opens");
        }
        // Ctrl-C / SIGTERM quit like the tray's "Quit": the window closes and everything stops in order.
        let signalled = current.clone();
        ctrlc::set_handler(move || {
            if let Some(desk) = signalled.get() {
                tracing::info!("signal received: quitting");
                desk.quit();
            }
        })
        .context("cannot install the Ctrl-C/SIGTERM handler")?;
        // The window owns the desk: when it switches desks, the demo's one stops.
        let result = gui::run_window(desk, hidden);
        if let Some(tray) = tray {
            tray.stop();
        }
        tracing::info!("stopping");
        result
    }
}

fn wait_for_signal() -> Result<()> {
    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        tx.send(()).ok();
    })
    .context("cannot install the Ctrl-C/SIGTERM handler")?;
    rx.recv().ok();
    Ok(())
}
