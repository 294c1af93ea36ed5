//! Demo mode: the embedded simulated Jenkins with animated jobs, and a config that maps them to a strip.

use crate::config::{Config, ConfigError};
use crate::sim::SimJenkins;

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
        let mut sim = SimJenkins::demo()?;
        sim.animate()?;
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
}
