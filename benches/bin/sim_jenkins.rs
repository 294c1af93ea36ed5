//! The project's simulated Jenkins as a process of its own, for benchmarks (`./dev bench`,
//! `benches/jenkins_table.py`): serves `--jobs N` jobs in `--levels L` levels of folders on 127.0.0.1
//! and prints its URL as the first line. Each line `stats` on standard input is answered with one JSON
//! line of what it served so far (`requests`, `wire_bytes`, `plain_bytes`, `gzipped`); the end of
//! standard input stops it.
//!
//! ```sh
//! cargo run --release --no-default-features --features bench-sim --bin sim_jenkins -- --jobs 10000
//! ```

use std::io::{BufRead as _, Write as _};

use anyhow::{Context as _, Result, bail};
use ledtogo::sim::{SimJenkins, generated};

fn main() -> Result<()> {
    let (jobs, levels) = args(std::env::args().skip(1))?;
    let sim = SimJenkins::start(generated(jobs, levels))
        .context("cannot start the simulated Jenkins on 127.0.0.1")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", sim.url())?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        match line?.trim() {
            "stats" => {
                let t = sim.traffic();
                writeln!(
                    out,
                    "{{\"requests\": {}, \"wire_bytes\": {}, \"plain_bytes\": {}, \"gzipped\": {}}}",
                    sim.requests(),
                    t.wire_bytes,
                    t.plain_bytes,
                    t.gzipped
                )?;
                out.flush()?;
            }
            "" => {}
            other => {
                bail!("unknown command {other:?} on standard input (the one command is `stats`)")
            }
        }
    }
    Ok(())
}

/// `--jobs N` (default 10,000, at most 1,000,000) and `--levels L` (default 3, at most 6).
fn args(mut args: impl Iterator<Item = String>) -> Result<(usize, u32)> {
    let (mut jobs, mut levels) = (10_000usize, 3u32);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--jobs" => {
                jobs = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=1_000_000).contains(n))
                    .with_context(|| {
                        format!("--jobs {value:?}: give a number from 1 to 1000000")
                    })?;
            }
            "--levels" => {
                levels =
                    value.parse().ok().filter(|n| *n <= 6).with_context(|| {
                        format!("--levels {value:?}: give a number from 0 to 6")
                    })?;
            }
            _ => bail!("unknown option {arg:?} (the options are --jobs N and --levels L)"),
        }
    }
    Ok((jobs, levels))
}
