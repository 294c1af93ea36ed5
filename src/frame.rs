//! The LED frame: the only place colours are decided. A pure function of (snapshot, config, time), so the
//! device and the on-screen mirror, fed the same frame, can never disagree.

use std::fmt;
use std::time::Duration;

use crate::config::{AggregateScope, Config, Target};
use crate::model::{Aggregate, JobStatus, Severity, Snapshot};

/// One LED colour, 8 bits per channel, in wire order (R, G, B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const OFF: Rgb = Rgb { r: 0, g: 0, b: 0 };

    pub const fn new(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b }
    }

    /// Parses `#rrggbb` or `rrggbb`.
    pub fn parse_hex(s: &str) -> Option<Rgb> {
        let hex = s.trim().strip_prefix('#').unwrap_or(s.trim());
        if hex.len() != 6 || !hex.is_ascii() {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb::new(byte(0)?, byte(2)?, byte(4)?))
    }

    fn scaled(self, factor: f64) -> Rgb {
        let f = |c: u8| (f64::from(c) * factor).round().clamp(0.0, 255.0) as u8;
        Rgb::new(f(self.r), f(self.g), f(self.b))
    }
}

impl fmt::Display for Rgb {
    /// `rrggbb`, the `--print-frames` format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

/// A frame as one line of hex colours: `ff0000 00ff00 …`.
pub fn hex_line(frame: &[Rgb]) -> String {
    frame
        .iter()
        .map(Rgb::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// How long one pulse of a building job takes (dim → full → dim).
pub const PULSE_PERIOD: Duration = Duration::from_millis(2000);
/// The dimmest point of the pulse, as a share of the full colour.
pub const PULSE_FLOOR: f64 = 0.3;

/// Where a building LED is in its pulse at time `t`: a smooth cosine between [`PULSE_FLOOR`] and 1.
/// All building LEDs share one clock, so they breathe in step.
pub fn pulse(t: Duration) -> f64 {
    let phase = (t.as_secs_f64() / PULSE_PERIOD.as_secs_f64()).fract();
    let wave = 0.5 - 0.5 * (phase * std::f64::consts::TAU).cos(); // 0 → 1 → 0
    PULSE_FLOOR + (1.0 - PULSE_FLOOR) * wave
}

/// What one LED shows before colour is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedState {
    Off,
    /// Mapped, but the server does not list the job (yet, or any more).
    Missing,
    Shown(Aggregate),
}

/// The state of every LED: slots, the aggregate "tube", and off for the rest.
pub fn led_states(snapshot: &Snapshot, config: &Config) -> Vec<LedState> {
    let mut leds = vec![LedState::Off; config.strip.leds];
    for slot in &config.slots {
        let Some(led) = leds.get_mut(slot.led) else {
            continue;
        };
        *led = match target_statuses(snapshot, &slot.target) {
            Some(statuses) => LedState::Shown(Aggregate::of(statuses)),
            None => LedState::Missing,
        };
    }
    if !config.aggregate.leds.is_empty() {
        let agg = match config.aggregate.scope {
            AggregateScope::Mapped => Aggregate::of(
                config
                    .slots
                    .iter()
                    .filter_map(|s| target_statuses(snapshot, &s.target))
                    .flatten(),
            ),
            AggregateScope::All => Aggregate::of(
                snapshot
                    .servers
                    .keys()
                    .flat_map(|name| snapshot.statuses_under(name, &[])),
            ),
        };
        for &i in &config.aggregate.leds {
            if let Some(led) = leds.get_mut(i) {
                *led = LedState::Shown(agg);
            }
        }
    }
    leds
}

/// The statuses behind a slot target; `None` when a mapped job is not (or no longer) listed.
pub fn target_statuses(snapshot: &Snapshot, target: &Target) -> Option<Vec<JobStatus>> {
    match target {
        Target::Job(id) => {
            let status = snapshot.status(id);
            match (status, snapshot.servers.get(&id.server)) {
                (Some(s), _) => Some(vec![s]),
                // Before the first answer (or during an outage before any) show it stale, not missing.
                (None, Some(server)) if !server.seen_ok => Some(vec![JobStatus {
                    state: crate::model::JobState::Unknown,
                    building: false,
                    stale: true,
                }]),
                (None, _) => None,
            }
        }
        Target::Folder { server, path } => Some(snapshot.statuses_under(server, path).collect()),
        Target::Server(server) => Some(snapshot.statuses_under(server, &[]).collect()),
    }
}

/// The colour of one LED, before brightness and gamma.
pub fn base_color(state: LedState, config: &Config, t: Duration) -> crate::frame::Rgb {
    let colors = &config.colors;
    match state {
        LedState::Off => Rgb::OFF,
        LedState::Missing => colors.missing,
        LedState::Shown(agg) => {
            let color = match agg.severity {
                Severity::NoJobs => return colors.missing,
                Severity::Stale => return colors.stale,
                Severity::Failure => colors.failure,
                Severity::Unstable => colors.unstable,
                Severity::Unknown => colors.unknown,
                Severity::Aborted => colors.aborted,
                Severity::Success => colors.success,
                Severity::NotBuilt => colors.not_built,
                Severity::Disabled => colors.disabled,
            };
            if agg.building {
                color.scaled(pulse(t))
            } else {
                color
            }
        }
    }
}

/// Brightness then gamma, once, for the whole strip: `out = 255 · (brightness · c/255)^gamma`.
pub fn correct(color: Rgb, brightness: f64, gamma: f64) -> Rgb {
    let f = |c: u8| {
        let linear = (f64::from(c) / 255.0 * brightness).powf(gamma);
        (linear * 255.0).round().clamp(0.0, 255.0) as u8
    };
    Rgb::new(f(color.r), f(color.g), f(color.b))
}

/// The frame: one colour per LED of the strip, ready for the device and the mirror.
/// `t` is the animation clock (time since the engine started).
pub fn render(snapshot: &Snapshot, config: &Config, t: Duration) -> Vec<Rgb> {
    led_states(snapshot, config)
        .into_iter()
        .map(|s| {
            correct(
                base_color(s, config, t),
                config.strip.brightness,
                config.strip.gamma,
            )
        })
        .collect()
}

/// True when the frame changes with time (something is building), so it must be redrawn regularly.
pub fn animated(snapshot: &Snapshot, config: &Config) -> bool {
    led_states(snapshot, config)
        .iter()
        .any(|s| matches!(s, LedState::Shown(a) if a.building && a.severity != Severity::Stale))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::{Build, Job, JobId, JobState, ServerSnapshot, ServerState};

    fn config(text: &str) -> Config {
        Config::parse(text, None).unwrap()
    }

    const CFG: &str = "[[servers]]\nname = \"ci\"\nurl = \"http://ci.example/\"\n\
        [strip]\nleds = 6\nbrightness = 1.0\ngamma = 1.0\n\
        [[slots]]\nled = 0\njob = \"a\"\n[[slots]]\nled = 1\njob = \"b\"\n\
        [[slots]]\nled = 2\nfolder = \"f\"\n[[slots]]\nled = 3\njob = \"gone\"\n\
        [aggregate]\nleds = [5]\n";

    fn job(path: &str, state: JobState, building: bool) -> Job {
        Job {
            id: JobId::new("ci", path),
            display_name: path.into(),
            url: String::new(),
            state,
            building,
            last_build: Some(Build {
                number: 1,
                result: Some(state),
                building,
                timestamp_ms: None,
            }),
        }
    }

    fn snap(state: ServerState, jobs: Vec<Job>) -> Snapshot {
        let mut s = Snapshot::default();
        s.servers.insert(
            "ci".into(),
            ServerSnapshot {
                state,
                jobs: jobs.into_iter().map(|j| (j.id.path.clone(), j)).collect(),
                seen_ok: true,
                version: None,
            },
        );
        s
    }

    #[test]
    fn mapped_leds_show_their_state_unmapped_are_off_and_the_tube_shows_the_worst() {
        let c = config(CFG);
        let s = snap(
            ServerState::Ok,
            vec![
                job("a", JobState::Success, false),
                job("b", JobState::Failure, false),
                job("f/x", JobState::Success, false),
                job("f/y", JobState::Unstable, false),
            ],
        );
        let frame = render(&s, &c, Duration::ZERO);
        let colors = &c.colors;
        assert_eq!(
            frame,
            vec![
                colors.success,
                colors.failure,
                colors.unstable,
                colors.missing,
                Rgb::OFF,
                colors.failure
            ]
        );
    }

    #[test]
    fn building_pulses_smoothly_between_dim_and_full_of_the_last_result() {
        let c = config(CFG);
        let s = snap(ServerState::Ok, vec![job("a", JobState::Failure, true)]);
        let at = |ms| render(&s, &c, Duration::from_millis(ms))[0];
        let full = c.colors.failure;
        assert_eq!(at(1000), full, "peak of the pulse is the full colour");
        let dim = at(0);
        assert!(
            dim.r < full.r / 2 && dim.r > 0,
            "trough is dim, not off: {dim:?}"
        );
        // Smooth: neighbouring instants differ by little.
        for ms in (0..2000).step_by(50) {
            let d = i32::from(at(ms).r) - i32::from(at(ms + 50).r);
            assert!(d.abs() <= 25, "jump of {d} at {ms} ms");
        }
        assert!(animated(&s, &c));
    }

    #[test]
    fn stale_jobs_are_never_green() {
        let c = config(CFG);
        let s = snap(
            ServerState::Unreachable("timeout".into()),
            vec![job("a", JobState::Success, false)],
        );
        let frame = render(&s, &c, Duration::ZERO);
        assert_eq!(frame[0], c.colors.stale);
        assert_ne!(frame[0], c.colors.success);
        assert_eq!(frame[5], c.colors.stale, "the tube is stale too");
    }

    #[test]
    fn brightness_and_gamma_are_applied_once() {
        assert_eq!(
            correct(Rgb::new(255, 128, 0), 1.0, 1.0),
            Rgb::new(255, 128, 0)
        );
        assert_eq!(
            correct(Rgb::new(255, 255, 255), 0.5, 1.0),
            Rgb::new(128, 128, 128)
        );
        // Gamma 2: half input is a quarter output.
        assert_eq!(
            correct(Rgb::new(255, 128, 0), 1.0, 2.0),
            Rgb::new(255, 64, 0)
        );
        let mut text = CFG.replace("brightness = 1.0", "brightness = 0.5");
        text = text.replace("gamma = 1.0", "gamma = 2.0");
        let c = config(&text);
        let s = snap(ServerState::Ok, vec![job("a", JobState::Failure, false)]);
        assert_eq!(render(&s, &c, Duration::ZERO)[0], Rgb::new(64, 0, 0));
    }

    #[test]
    fn frames_have_the_strip_length_and_print_as_hex() {
        let c = config(CFG);
        let frame = render(&Snapshot::default(), &c, Duration::ZERO);
        assert_eq!(frame.len(), 6);
        assert_eq!(
            hex_line(&[Rgb::new(255, 0, 0), Rgb::new(0, 0x10, 0xab)]),
            "ff0000 0010ab"
        );
        assert_eq!(Rgb::parse_hex("#00ff7f"), Some(Rgb::new(0, 255, 127)));
        assert_eq!(Rgb::parse_hex("00ff7"), None);
    }
}
