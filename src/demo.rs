//! Demo mode: the embedded simulated Jenkins, its jobs, the driver that keeps them building, breaking and
//! getting fixed, and a config that maps them to a strip.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::{Config, ConfigError};
use crate::model::JobState;
use crate::sim::{SimItem, SimJenkins, SimJob, SimState};

/// The demo's jobs, one per LED from LED 0; LEDs 12–15 are the aggregate tube.
pub const DEMO_JOBS: [&str; 12] = [
    "website",
    "backend/api",
    "backend/auth",
    "backend/db-migrations",
    "mobile/main",
    "mobile/feature%2Flogin",
    "mobile/PR-17",
    "platform/infra/terraform",
    "platform/infra/ansible",
    "compat",
    "nightly release",
    "Dokumentation Ü",
];

/// The config the demo runs with, pointing at a simulator at `url`.
pub fn demo_config_text(url: &str) -> String {
    let mut text = format!(
        "# ledtogo demo: a simulated Jenkins on this machine\n\
         poll_seconds = 2\ntimeout_seconds = 5\n\n\
         [[servers]]\nname = \"demo\"\nurl = \"{url}\"\n\n\
         [strip]\nport = \"none\"\nleds = 16\nbrightness = 0.6\n\n\
         [aggregate]\nleds = [12, 13, 14, 15]\nscope = \"all\"\n"
    );
    for (led, job) in DEMO_JOBS.iter().enumerate() {
        text.push_str(&format!("\n[[slots]]\nled = {led}\njob = \"{job}\"\n"));
    }
    text
}

/// The demo's jobs: folders, a multibranch project, a matrix project, a disabled and a never-built job.
fn demo_items() -> Vec<SimItem> {
    use JobState::{Failure, Success, Unstable};
    vec![
        SimJob::new("website", Some(Success)).into(),
        SimItem::folder(
            "backend",
            vec![
                SimJob::pipeline("api", Some(Success)).into(),
                SimJob::pipeline("auth", Some(Failure)).into(),
                SimJob::new("db-migrations", Some(Success)).into(),
            ],
        ),
        SimItem::multibranch(
            "mobile",
            vec![
                SimJob::branch("main", Some(Success)),
                SimJob::branch("feature/login", Some(Unstable)),
                SimJob::branch("PR-17", Some(Success)),
            ],
        ),
        SimItem::folder(
            "platform",
            vec![SimItem::folder(
                "infra",
                vec![
                    SimJob::new("terraform", Some(Success)).into(),
                    SimJob::new("ansible", Some(Success)).into(),
                ],
            )],
        ),
        SimJob::matrix("compat", &[("jdk=17", Success), ("jdk=21", Success)]).into(),
        SimJob::new("nightly release", Some(Success)).into(),
        SimJob::new("Dokumentation Ü", None).into(),
        SimJob::new("legacy-tool", Some(Success)).disabled().into(),
    ]
}

/// Keeps the demo alive: now and then a build starts, runs a few seconds and breaks or fixes the job.
#[derive(Debug, Default)]
struct Driver {
    /// The running demo builds and when each ends.
    running: BTreeMap<String, Instant>,
}

impl Driver {
    fn tick(&mut self, st: &mut SimState) {
        let now = Instant::now();
        let done: Vec<String> = self
            .running
            .iter()
            .filter(|(_, end)| **end <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for name in &done {
            self.running.remove(name);
            if let Some(job) = st.job_mut(name) {
                let broken = job.last.is_some_and(|l| l.1.is_broken());
                job.finish_running(|| demo_result(broken, fastrand::f32()));
            }
        }
        // Now and then start one (not one that just finished: its result shows for a while first).
        if self.running.len() < 3 && fastrand::f32() < 0.45 {
            let names = st.job_names();
            let idle: Vec<&String> = names
                .iter()
                .filter(|n| !self.running.contains_key(*n) && !done.contains(n))
                .collect();
            if let Some(name) = idle.get(fastrand::usize(..idle.len().max(1))).copied()
                && let Some(job) = st.job_mut(name)
                && !job.disabled
            {
                job.start_running();
                let secs = fastrand::u64(3..9);
                self.running
                    .insert(name.clone(), now + Duration::from_secs(secs));
            }
        }
    }
}

/// A demo build's result for a `roll` in 0..1: a broken job is usually fixed, a good one usually stays.
fn demo_result(broken: bool, roll: f32) -> JobState {
    if broken {
        if roll < 0.6 {
            JobState::Success
        } else if roll < 0.9 {
            JobState::Failure
        } else {
            JobState::Unstable
        }
    } else if roll < 0.7 {
        JobState::Success
    } else if roll < 0.88 {
        JobState::Failure
    } else {
        JobState::Unstable
    }
}

/// A running demo: the simulator (stops when dropped) and its config.
#[derive(Debug)]
pub struct Demo {
    pub sim: SimJenkins,
    pub config: Config,
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start the simulated Jenkins on 127.0.0.1: {0}")]
    Io(#[from] std::io::Error),
    #[error("the demo configuration is invalid: {0}")]
    Config(#[from] ConfigError),
}

impl Demo {
    /// Starts the simulator with jobs that build, break and get fixed every few seconds.
    pub fn start() -> Result<Demo, DemoError> {
        let mut sim = SimJenkins::start(demo_items())?;
        sim.state().views.insert(
            "Release".into(),
            vec!["website".into(), "backend/api".into(), "mobile/main".into()],
        );
        let mut driver = Driver::default();
        sim.drive(Duration::from_millis(800), move |state| driver.tick(state))?;
        let config = Config::parse(&demo_config_text(sim.url()), None)?;
        Ok(Demo { sim, config })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn every_demo_slot_names_a_job_the_simulator_has() {
        let demo = Demo::start().unwrap();
        let names = demo.sim.state().job_names();
        for job in DEMO_JOBS {
            assert!(names.iter().any(|n| n == job), "{job} is not in {names:?}");
        }
        assert_eq!(demo.config.slots.len(), 12);
        assert_eq!(demo.config.strip.leds, 16);
    }

    #[test]
    fn the_driver_starts_and_finishes_builds() {
        let mut state = SimState::new(demo_items());
        let mut driver = Driver::default();
        for _ in 0..200 {
            driver.tick(&mut state);
            if !driver.running.is_empty() {
                break;
            }
        }
        let name = driver
            .running
            .keys()
            .next()
            .cloned()
            .expect("a build started");
        assert!(state.job_mut(&name).unwrap().running.is_some());
        let before = state.job_mut(&name).unwrap().last.map(|l| l.0);
        // Finishing never restarts the same job in the same tick (a chance of 0.45/jobs per tick, so
        // try it often: this failed now and then before).
        for _ in 0..100 {
            driver.running.insert(name.clone(), Instant::now());
            state.job_mut(&name).unwrap().start_running();
            driver.tick(&mut state);
            let job = state.job_mut(&name).unwrap();
            assert!(job.running.is_none(), "finished when its time was up");
        }
        let job = state.job_mut(&name).unwrap();
        assert!(job.last.map(|l| l.0) > before, "with a new build number");
    }

    #[test]
    fn demo_results_mostly_fix_broken_jobs_and_keep_good_ones() {
        assert_eq!(demo_result(true, 0.1), JobState::Success);
        assert_eq!(demo_result(true, 0.7), JobState::Failure);
        assert_eq!(demo_result(false, 0.1), JobState::Success);
        assert_eq!(demo_result(false, 0.8), JobState::Failure);
        assert_eq!(demo_result(false, 0.95), JobState::Unstable);
    }
}
