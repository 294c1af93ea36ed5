//! Criterion benches of the poller's and the engine's work per poll (`cargo bench --bench hot_paths`;
//! figures in docs/performance.md): parsing a 10,000-job Jenkins answer (3 folder levels), the snapshot
//! diff of 10,000 jobs (the transitions of a poll where 1 % of them changed, and of one where none did),
//! and rendering a 300-LED frame with building jobs (the animated case). Printed, never asserted.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ledtogo::config::Config;
use ledtogo::model::{JobState, ServerSnapshot, ServerState, Snapshot, transitions};
use ledtogo::sim::{SimJenkins, generated};
use ledtogo::sources::http::{HttpClient, HttpSettings};
use ledtogo::sources::jenkins::parse::{Context, listing};
use ledtogo::sources::jenkins::tree;

const JOBS: usize = 10_000;

/// The simulator's answer to the client's one request, as bytes.
fn answer() -> (String, Vec<u8>) {
    let sim = match SimJenkins::start(generated(JOBS, 3)) {
        Ok(sim) => sim,
        Err(e) => panic!("cannot start the simulated Jenkins: {e}"),
    };
    let http = match HttpClient::new(&HttpSettings::new(Duration::from_secs(60))) {
        Ok(http) => http,
        Err(e) => panic!("no HTTP client: {e}"),
    };
    match http.get_json_body(&tree::api_url(sim.url(), tree::LEVELS)) {
        Ok(answer) => (sim.url().to_owned(), answer.value),
        Err(e) => panic!("the simulator did not answer: {e}"),
    }
}

fn snapshot_of(base: &str, body: &[u8]) -> Snapshot {
    let ctx = Context { server: "ci", base };
    let jobs = match listing(ctx, body, &[]) {
        Ok(l) => l.jobs,
        Err(e) => panic!("the answer does not parse: {e}"),
    };
    let server = ServerSnapshot {
        state: ServerState::Ok,
        jobs: jobs.into_iter().map(|j| (j.id.path.clone(), j)).collect(),
        seen_ok: true,
        version: Some("2.500-sim".to_owned()),
    };
    Snapshot {
        servers: BTreeMap::from([("ci".to_owned(), server)]),
        ..Snapshot::default()
    }
}

fn benches(c: &mut Criterion) {
    let (base, body) = answer();
    let ctx = Context {
        server: "ci",
        base: &base,
    };
    c.bench_function(
        &format!("parse a {JOBS}-job answer ({} KB)", body.len() / 1024),
        |b| b.iter(|| listing(ctx, black_box(&body), &[])),
    );

    let old = snapshot_of(&base, &body);
    let mut new = old.clone();
    if let Some(server) = new.servers.get_mut("ci") {
        for (i, job) in server.jobs.values_mut().enumerate() {
            if i % 100 == 0 {
                job.state = JobState::Failure;
                if let Some(build) = &mut job.last_build {
                    build.number += 1;
                }
            }
        }
    }
    c.bench_function(&format!("transitions of {JOBS} jobs, 1 % changed"), |b| {
        b.iter(|| transitions(black_box(&old), black_box(&new)));
    });
    c.bench_function(&format!("transitions of {JOBS} jobs, none changed"), |b| {
        b.iter(|| transitions(black_box(&old), black_box(&old)));
    });

    let config = frame_config(&old);
    c.bench_function("render a 300-LED frame (building jobs pulse)", |b| {
        let mut t = Duration::ZERO;
        b.iter(|| {
            t += Duration::from_millis(40);
            let clock = ledtogo::frame::Clock {
                t,
                now_ms: 1_764_000_000_000,
            };
            ledtogo::frame::render(black_box(&old), &config, clock)
        });
    });
}

/// 300 LEDs, one job each (every sixth building, some failing), no gamma surprises.
fn frame_config(snapshot: &Snapshot) -> Config {
    let mut text = String::from(
        "[strip]\nport = \"none\"\nleds = 300\nbrightness = 0.5\n[[servers]]\nname = \"ci\"\nurl = \"http://127.0.0.1:1/jenkins/\"\n",
    );
    let jobs = snapshot.servers.get("ci").map(|s| &s.jobs);
    let mut chosen: Vec<String> = jobs
        .into_iter()
        .flat_map(|jobs| jobs.values())
        .filter(|j| j.building)
        .map(|j| j.id.full_name())
        .take(50)
        .collect();
    chosen.extend(
        jobs.into_iter()
            .flat_map(|jobs| jobs.values())
            .filter(|j| !j.building)
            .map(|j| j.id.full_name())
            .take(300 - chosen.len()),
    );
    for (led, job) in chosen.iter().enumerate() {
        text.push_str(&format!(
            "[[slots]]\nled = {led}\nserver = \"ci\"\njob = \"{job}\"\n"
        ));
    }
    match Config::parse(&text, None) {
        Ok(config) => config,
        Err(e) => panic!("the bench's config does not parse: {e}"),
    }
}

criterion_group! {
    name = hot_paths;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_main!(hot_paths);
