//! Polls one server `--polls N` times the way the app's poller does (`sources::open`, then
//! `Source::fetch_since` with the digest of the last poll), for benchmarks (`./dev bench`,
//! `benches/sources_table.py`): one JSON line per poll on standard output with the jobs it listed, its
//! requests, whether the answer was the same as the last one, its wall time and the CPU time this
//! thread spent on it (from `/proc/thread-self/schedstat`; `null` where that is not readable). A second
//! poll shows what an unchanged server costs: a Jenkins answer with the same bytes is not parsed, a
//! GitHub repository answers 304 to its `ETag`.
//!
//! `--steps` (Jenkins) instead makes one poll step by step through the same public functions and
//! prints the CPU time of each: the request with reading and inflating the body, its digest, parsing
//! it into jobs, and freeing the body and the jobs.
//!
//! ```sh
//! cargo run --release --no-default-features --features bench-sim --bin poll_source -- \
//!     --kind github --url http://127.0.0.1:8080/api/v3/ --repo acme/api --polls 2
//! ```

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use ledtogo::config::{Root, ServerConfig, ServerKind, TokenSource};
use ledtogo::sources::{self, Fetch};

/// What the command line asks.
struct Args {
    kind: ServerKind,
    url: String,
    polls: u32,
    steps: bool,
}

fn main() -> Result<()> {
    let args = args(std::env::args().skip(1))?;
    if args.steps {
        return steps(&args.url);
    }
    let server = ServerConfig {
        name: "bench".to_owned(),
        kind: args.kind,
        url: args.url,
        user: None,
        token: TokenSource::None,
        ca_file: None,
        root: Root::All,
        poll: None,
    };
    let source = sources::open(&server, Duration::from_secs(60))
        .with_context(|| format!("cannot open the server {}", server.url))?;
    let mut since = None;
    for poll in 1..=args.polls {
        let (cpu, start) = (thread_cpu_ns(), Instant::now());
        let fetched = source
            .fetch_since(since)
            .with_context(|| format!("poll {poll} of {} failed", server.url))?;
        let wall_ms = start.elapsed().as_secs_f64() * 1000.0;
        let cpu_ms = match (cpu, thread_cpu_ns()) {
            (Some(a), Some(b)) => format!("{:.2}", b.saturating_sub(a) as f64 / 1e6),
            _ => "null".to_owned(),
        };
        let (jobs, requests, same) = match fetched {
            Fetch::Fresh { listing, digest } => {
                since = digest;
                (listing.jobs.len(), listing.requests, false)
            }
            Fetch::Same { requests } => (0, requests, true),
        };
        println!(
            "{{\"poll\": {poll}, \"jobs\": {jobs}, \"requests\": {requests}, \"same\": {same}, \
             \"wall_ms\": {wall_ms:.2}, \"cpu_ms\": {cpu_ms}}}"
        );
    }
    Ok(())
}

/// One Jenkins poll step by step, each step's CPU time on one JSON line.
fn steps(url: &str) -> Result<()> {
    use ledtogo::sources::http::{HttpClient, HttpSettings};
    use ledtogo::sources::jenkins::{parse, tree};
    let mut last = thread_cpu_ns();
    let mut step = |name: &str| {
        let now = thread_cpu_ns();
        if let (Some(a), Some(b)) = (last, now) {
            println!(
                "{{\"step\": \"{name}\", \"cpu_ms\": {:.2}}}",
                b.saturating_sub(a) as f64 / 1e6
            );
        }
        last = now;
    };
    let base = tree::normalize_base(url);
    let http = HttpClient::new(&HttpSettings::new(Duration::from_secs(60)))?;
    step("agent");
    let body = http
        .get_json_body(&tree::api_url(&base, tree::LEVELS))?
        .value;
    step("request, read and inflate");
    let digest = sources::digest(0, &body);
    step("digest");
    let ctx = parse::Context {
        server: "bench",
        base: &base,
    };
    let listing = parse::listing(ctx, &body, &[]).context("the answer is not a listing")?;
    step("parse into jobs");
    // The same again, each the fastest of five runs on this thread's wall clock (finer than the
    // scheduler's CPU count): parsing into jobs, and the floor under it, scanning the JSON for nothing.
    let fastest = |work: &mut dyn FnMut()| {
        (0..5)
            .map(|_| {
                let start = Instant::now();
                work();
                start.elapsed().as_secs_f64() * 1000.0
            })
            .fold(f64::INFINITY, f64::min)
    };
    let parse_ms = fastest(&mut || drop(parse::listing(ctx, &body, &[])));
    let scan_ms = fastest(&mut || drop(serde_json::from_slice::<serde::de::IgnoredAny>(&body)));
    let digest_ms = fastest(&mut || {
        std::hint::black_box(sources::digest(0, &body));
    });
    println!(
        "{{\"fastest of 5, wall ms\": {{\"parse into jobs\": {parse_ms:.2}, \"scan the JSON\": {scan_ms:.2}, \"digest\": {digest_ms:.2}}}}}"
    );
    step("the fifteen runs above");
    let (bytes, jobs) = (body.len(), listing.jobs.len());
    drop(body);
    step("free the body");
    drop(listing);
    step("free the jobs");
    println!("{{\"bytes\": {bytes}, \"jobs\": {jobs}, \"digest\": {digest}}}");
    Ok(())
}

/// The CPU time this thread has spent so far, in nanoseconds (the first field of its schedstat).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `--kind jenkins|cctray|github`, `--url URL`, `--repo OWNER/REPO` (repeatable, GitHub),
/// `--polls N` (default 2, at most 100) and `--steps` (Jenkins).
fn args(mut args: impl Iterator<Item = String>) -> Result<Args> {
    let (mut kind, mut url, mut repos, mut polls) = (None, None, Vec::new(), 2u32);
    let mut steps = false;
    while let Some(arg) = args.next() {
        if arg == "--steps" {
            steps = true;
            continue;
        }
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--kind" => kind = Some(value),
            "--url" => url = Some(value),
            "--repo" => repos.push(value),
            "--polls" => {
                polls = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .with_context(|| format!("--polls {value:?}: give a number from 1 to 100"))?;
            }
            _ => bail!(
                "unknown option {arg:?} (the options are --kind K, --url URL, --repo R, --polls N and --steps)"
            ),
        }
    }
    if !repos.is_empty() && kind.as_deref() != Some("github") {
        bail!("--repo is for --kind github");
    }
    let kind = match kind.as_deref() {
        Some("jenkins") => ServerKind::Jenkins,
        Some("cctray") => ServerKind::Cctray,
        Some("github") if !repos.is_empty() => ServerKind::GitHub { repos },
        Some("github") => bail!("--kind github needs at least one --repo OWNER/REPO"),
        Some(other) => bail!("--kind {other:?}: give jenkins, cctray or github"),
        None => bail!("give --kind jenkins, cctray or github"),
    };
    if steps && kind != ServerKind::Jenkins {
        bail!("--steps is for --kind jenkins");
    }
    let url = url.context("give --url URL (the server to poll)")?;
    Ok(Args {
        kind,
        url,
        polls,
        steps,
    })
}
