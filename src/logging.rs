//! The log: stderr, filtered by `RUST_LOG` (default `info`), and never a wire dump. The HTTP and TLS
//! libraries trace whole requests at debug/trace level, `Authorization` header included; their events are
//! capped at `info` whatever `RUST_LOG` asks for, so no level shows a token.

use std::io::IsTerminal as _;

use tracing::{Level, Metadata};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// Log targets (and their children) that may print request or response bytes.
const WIRE_TARGETS: [&str; 5] = ["ureq", "ureq_proto", "rustls", "tiny_http", "hyper"];

/// False for an event of a wire-level library below `info` (debug, trace).
pub fn allowed(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    let wire = WIRE_TARGETS.iter().any(|w| {
        target == *w
            || target
                .strip_prefix(w)
                .is_some_and(|rest| rest.starts_with("::"))
    });
    !wire || *meta.level() <= Level::INFO
}

/// Installs the process's logger. Call once, at start.
///
/// Under systemd (the service, the user unit) stderr goes to the journal, which stamps each line itself:
/// there the lines carry no time of their own.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let layer = if to_journal(std::env::var_os("JOURNAL_STREAM").as_deref()) {
        layer.without_time().boxed()
    } else {
        layer.boxed()
    };
    let layer = layer
        .with_filter(filter)
        .with_filter(tracing_subscriber::filter::filter_fn(allowed));
    tracing_subscriber::registry().with(layer).init();
}

/// Whether stderr is the journal's stream: systemd sets `JOURNAL_STREAM` (device:inode) for a unit whose
/// output it logs.
fn to_journal(journal_stream: Option<&std::ffi::OsStr>) -> bool {
    journal_stream.is_some_and(|v| !v.is_empty())
}
