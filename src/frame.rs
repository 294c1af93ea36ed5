//! The LED frame: the only place colours are decided. A pure function of (snapshot, config, time), so the
//! device and the on-screen mirror, fed the same frame, can never disagree.

use std::time::Duration;

use crate::color::{Correction, Rgb, wheel};
use crate::config::{AggregateScope, BuildingLook, Config};
use crate::model::progress::Eta;
use crate::model::{
    Aggregate, JobState, JobStatus, Scope, ServerSnapshot, Severity, Snapshot, Target,
};

/// The two times a frame is drawn at: `t`, the animation clock (time since the engine started: pulses,
/// breaths and blinks run on it, in step), and `now_ms`, the wall clock in epoch milliseconds, on which
/// a build's progress is measured (servers give start times on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub t: Duration,
    pub now_ms: i64,
}

impl Clock {
    /// The start of the animation at the epoch: for a still picture of states with no build running.
    pub const STILL: Clock = Clock {
        t: Duration::ZERO,
        now_ms: 0,
    };
}

/// How long one pulse of a building job takes (dim → full → dim).
pub const PULSE_PERIOD: Duration = Duration::from_millis(2000);
/// The dimmest point of the pulse, as a share of the full colour.
pub const PULSE_FLOOR: f64 = 0.3;

/// How long one breath of an acknowledged failing or unstable LED takes ("someone is on it"): slow.
pub const ACK_PERIOD: Duration = Duration::from_millis(6000);
/// The dimmest point of the acknowledged breath, as a share of the full colour.
pub const ACK_FLOOR: f64 = 0.15;
/// The brightest point of the acknowledged breath: half brightness, so it never looks like a fresh failure.
pub const ACK_PEAK: f64 = 0.5;

/// Where an acknowledged LED is in its breath at time `t`: a slow cosine between [`ACK_FLOOR`] and
/// [`ACK_PEAK`].
pub fn ack_breath(t: Duration) -> f64 {
    let phase = (t.as_secs_f64() / ACK_PERIOD.as_secs_f64()).fract();
    let wave = 0.5 - 0.5 * (phase * std::f64::consts::TAU).cos();
    ACK_FLOOR + (ACK_PEAK - ACK_FLOOR) * wave
}

/// Where a building LED is in its pulse at time `t`: a smooth cosine between [`PULSE_FLOOR`] and 1.
/// All building LEDs share one clock, so they breathe in step.
pub fn pulse(t: Duration) -> f64 {
    let phase = (t.as_secs_f64() / PULSE_PERIOD.as_secs_f64()).fract();
    let wave = 0.5 - 0.5 * (phase * std::f64::consts::TAU).cos(); // 0 → 1 → 0
    PULSE_FLOOR + (1.0 - PULSE_FLOOR) * wave
}

/// How bright a building LED is with `[strip] building = "progress"`: from [`PULSE_FLOOR`] at the
/// build's start up to full at its estimate, in proportion. `None` when the build has no estimate or
/// is past it: the LED pulses then ([`pulse`]), so an overdue build never looks finished.
pub fn progress_level(eta: Option<Eta>, now_ms: i64) -> Option<f64> {
    let eta = eta.filter(|e| now_ms <= e.due_ms())?;
    Some(PULSE_FLOOR + (1.0 - PULSE_FLOOR) * eta.fraction(now_ms))
}

/// How often a flaky LED blinks ([`flaky_blink`]).
pub const FLAKY_PERIOD: Duration = Duration::from_millis(3000);
/// How long a flaky LED's blink lasts, at the end of each [`FLAKY_PERIOD`].
pub const FLAKY_BLINK: Duration = Duration::from_millis(250);

/// Whether a flaky LED is in its blink at time `t`: the last [`FLAKY_BLINK`] of every [`FLAKY_PERIOD`]
/// (so at `t = 0`, as in the job tree's dots, it shows its plain colour). All flaky LEDs blink in step.
pub fn flaky_blink(t: Duration) -> bool {
    let period = FLAKY_PERIOD.as_millis();
    t.as_millis() % period >= period - FLAKY_BLINK.as_millis()
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
        *led = target_state(snapshot, &slot.target);
    }
    if !config.aggregate.leds.is_empty() {
        // The tube counts an acknowledged job as failing, and shows it so: steady, not calmed.
        let agg = Aggregate::of(
            snapshot
                .targets_in(&tube_scope(config))
                .iter()
                .filter_map(|target| target_statuses(snapshot, target))
                .flatten()
                .map(|s| JobStatus {
                    acknowledged: false,
                    ..s
                }),
        );
        for &i in &config.aggregate.leds {
            if let Some(led) = leds.get_mut(i) {
                *led = LedState::Shown(agg);
            }
        }
    }
    leds
}

/// What the LED of `target` shows: the one rule for the slots and for the window's job tree rows.
pub fn target_state(snapshot: &Snapshot, target: &Target) -> LedState {
    match target_statuses(snapshot, target) {
        Some(statuses) => LedState::Shown(Aggregate::of(statuses)),
        None => LedState::Missing,
    }
}

/// Which jobs the tube covers, from `[aggregate] scope`: `"mapped"` the jobs behind the slots (none without
/// slots), `"all"` every job of every server.
pub fn tube_scope(config: &Config) -> Scope<'_> {
    match config.aggregate.scope {
        AggregateScope::Mapped => Scope::Targets(config.slots.iter().map(|s| &s.target).collect()),
        AggregateScope::All => Scope::All,
    }
}

/// The statuses of the jobs behind a slot target ([`Snapshot::jobs_of`]), stale when their server's last poll
/// failed; `None` when a mapped job is not (or no longer) listed. Before its server's first answer a
/// target with no known jobs (a job, a folder, the whole server) is one stale job of unknown state.
pub fn target_statuses(snapshot: &Snapshot, target: &Target) -> Option<Vec<JobStatus>> {
    let server = snapshot.servers.get(target.server());
    let stale = server.is_some_and(ServerSnapshot::stale);
    let statuses: Vec<JobStatus> = snapshot
        .jobs_of(target)
        .map(|job| JobStatus {
            state: job.state,
            building: job.building,
            stale,
            acknowledged: snapshot.acks.get(&job.id).is_some(),
            flaky: snapshot.flaky.contains_key(&job.id),
            eta: crate::model::progress::Eta::of(job),
        })
        .collect();
    if !statuses.is_empty() {
        return Some(statuses);
    }
    if server.is_some_and(|s| !s.seen_ok) {
        // Before the first answer (or during an outage before any) show it stale, not missing.
        return Some(vec![JobStatus {
            state: JobState::Unknown,
            building: false,
            stale: true,
            acknowledged: false,
            flaky: false,
            eta: None,
        }]);
    }
    match target {
        Target::Job(_) => None,
        Target::Folder { .. } | Target::Server(_) => Some(statuses),
    }
}

/// The colour of one LED, before brightness and gamma. A building LED pulses ([`pulse`]), or with
/// `[strip] building = "progress"` brightens as its build nears the estimate ([`progress_level`]); a
/// flaky one (every job at its worst state flaky, [`Aggregate::flaky`]) blinks briefly in the unstable
/// colour (dark when its colour is the unstable one) at the end of every [`FLAKY_PERIOD`]
/// ([`flaky_blink`]).
pub fn base_color(state: LedState, config: &Config, clock: Clock) -> Rgb {
    let t = clock.t;
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
            if agg.flaky && flaky_blink(t) {
                return if color == colors.unstable {
                    Rgb::OFF
                } else {
                    colors.unstable
                };
            }
            if agg.building {
                let progress = match config.strip.building {
                    BuildingLook::Progress => progress_level(agg.eta, clock.now_ms),
                    BuildingLook::Pulse => None,
                };
                color.scaled(progress.unwrap_or_else(|| pulse(t)))
            } else if calmed(agg) {
                color.scaled(ack_breath(t))
            } else {
                color
            }
        }
    }
}

/// An LED whose every worst job is failing or unstable and acknowledged breathes slowly at half
/// brightness instead of shining ([`ack_breath`]); a build running on it pulses as any build does.
fn calmed(agg: Aggregate) -> bool {
    agg.acknowledged && matches!(agg.severity, Severity::Failure | Severity::Unstable)
}

/// The frame: one colour per LED of the strip, ready for the device and the mirror, at `clock`.
pub fn render(snapshot: &Snapshot, config: &Config, clock: Clock) -> Vec<Rgb> {
    let correction = config.strip.correction();
    led_states(snapshot, config)
        .into_iter()
        .map(|s| correction.apply(base_color(s, config, clock)))
        .collect()
}

/// True when the frame changes with time (something is building, flaky, or breathes acknowledged), so
/// it must be redrawn regularly.
pub fn animated(snapshot: &Snapshot, config: &Config) -> bool {
    led_states(snapshot, config).iter().any(|s| {
        matches!(s, LedState::Shown(a)
            if ((a.building || a.flaky) && a.severity != Severity::Stale) || calmed(*a))
    })
}

/// A short animation drawn over the frame, on the device and the mirror alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    /// One LED blinks white so the user can find it on the strip.
    Identify { led: usize },
    /// Each LED lights in turn, then a rainbow runs over the strip.
    TestPattern,
}

/// How long "Identify" blinks an LED.
pub const IDENTIFY_FOR: Duration = Duration::from_secs(4);
/// One LED step of the test pattern's chase; the rainbow after it lasts [`TEST_RAINBOW`].
pub const TEST_STEP: Duration = Duration::from_millis(120);
pub const TEST_RAINBOW: Duration = Duration::from_secs(2);

impl Overlay {
    /// How long the overlay runs on a strip of `leds` LEDs.
    pub fn length(self, leds: usize) -> Duration {
        match self {
            Overlay::Identify { .. } => IDENTIFY_FOR,
            Overlay::TestPattern => test_chase(leds) + TEST_RAINBOW,
        }
    }

    /// Draws the overlay at `elapsed` into `frame`, through the strip's `correction`; false once it has
    /// finished (the frame is then left alone).
    pub fn draw(self, frame: &mut [Rgb], elapsed: Duration, correction: Correction) -> bool {
        if elapsed >= self.length(frame.len()) {
            return false;
        }
        match self {
            Overlay::Identify { led } => {
                let on = (elapsed.as_millis() / 250).is_multiple_of(2);
                if let Some(px) = frame.get_mut(led) {
                    *px = if on {
                        correction.apply(Rgb::WHITE)
                    } else {
                        Rgb::OFF
                    };
                }
            }
            Overlay::TestPattern => {
                let n = frame.len();
                let chase = test_chase(n);
                if elapsed < chase {
                    let lit = (elapsed.as_millis() / TEST_STEP.as_millis()) as usize;
                    for (i, px) in frame.iter_mut().enumerate() {
                        *px = if i == lit {
                            correction.apply(Rgb::WHITE)
                        } else {
                            Rgb::OFF
                        };
                    }
                } else {
                    let shift = (elapsed - chase).as_secs_f64() / TEST_RAINBOW.as_secs_f64();
                    for (i, px) in frame.iter_mut().enumerate() {
                        let hue = i as f64 / n.max(1) as f64 + shift;
                        *px = correction.apply(wheel(hue));
                    }
                }
            }
        }
        true
    }
}

fn test_chase(leds: usize) -> Duration {
    TEST_STEP.saturating_mul(u32::try_from(leds).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::ServerState;
    use crate::test_fixtures::{ci, job, server, snapshot};

    fn config(text: &str) -> Config {
        Config::parse(text, None).unwrap()
    }

    /// The animation clock at `t`, the wall clock at the epoch (no build has progress then).
    fn clock_at(t: Duration) -> Clock {
        Clock { t, now_ms: 0 }
    }

    const CFG: &str = "[[servers]]\nname = \"ci\"\nurl = \"http://ci.example/\"\n\
        [strip]\nleds = 6\nbrightness = 1.0\ngamma = 1.0\n\
        [[slots]]\nled = 0\njob = \"a\"\n[[slots]]\nled = 1\njob = \"b\"\n\
        [[slots]]\nled = 2\nfolder = \"f\"\n[[slots]]\nled = 3\njob = \"gone\"\n\
        [aggregate]\nleds = [5]\n";

    #[test]
    fn mapped_leds_show_their_state_unmapped_are_off_and_the_tube_shows_the_worst() {
        let c = config(CFG);
        let s = ci(
            ServerState::Ok,
            vec![
                job("ci", "a", JobState::Success),
                job("ci", "b", JobState::Failure),
                job("ci", "f/x", JobState::Success),
                job("ci", "f/y", JobState::Unstable),
            ],
        );
        let frame = render(&s, &c, clock_at(Duration::ZERO));
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

    /// [`CFG`] with `[strip] building = "progress"`.
    fn progress_config() -> Config {
        config(&CFG.replace("gamma = 1.0\n", "gamma = 1.0\nbuilding = \"progress\"\n"))
    }

    const START: i64 = 1_764_000_000_000;

    #[test]
    fn with_progress_a_building_led_brightens_steadily_to_full_at_its_estimate_then_pulses_overdue()
    {
        let c = progress_config();
        let s = ci(
            ServerState::Ok,
            vec![job("ci", "a", JobState::Success).running_since(START, 600_000)],
        );
        // `into` ms into the build, `t` ms on the animation clock.
        let at = |into: i64, t: u64| {
            render(
                &s,
                &c,
                Clock {
                    t: Duration::from_millis(t),
                    now_ms: START + into,
                },
            )[0]
        };
        let full = c.colors.success;
        assert_eq!(at(0, 0), full.scaled(PULSE_FLOOR), "dim at the start");
        assert_eq!(at(300_000, 0), full.scaled(0.65), "halfway: halfway up");
        assert_eq!(at(600_000, 0), full, "full at the estimate");
        for t in [250, 1000, 1500] {
            assert_eq!(
                at(300_000, t),
                at(300_000, 0),
                "steady: no pulse while on time"
            );
        }
        for minute in 0..10 {
            assert!(
                at(minute * 60_000, 0).g < at((minute + 1) * 60_000, 0).g,
                "rises every minute: {minute}"
            );
        }
        assert_ne!(
            at(700_000, 0),
            at(700_000, 1000),
            "overdue: it pulses again, never looking finished"
        );
        assert!(animated(&s, &c));
        let pulse_config = config(CFG);
        let pulsing = |t: u64| {
            render(
                &s,
                &pulse_config,
                Clock {
                    t: Duration::from_millis(t),
                    now_ms: START + 300_000,
                },
            )[0]
        };
        assert_ne!(pulsing(0), pulsing(1000), "the default still pulses");
    }

    #[test]
    fn with_progress_a_build_with_no_estimate_pulses_and_a_folder_follows_its_build_due_last() {
        let c = progress_config();
        let s = ci(
            ServerState::Ok,
            vec![
                job("ci", "a", JobState::Success).building(),
                job("ci", "f/x", JobState::Success).running_since(START, 600_000),
                job("ci", "f/y", JobState::Success).running_since(START, 1_200_000),
            ],
        );
        let at = |t: u64| {
            render(
                &s,
                &c,
                Clock {
                    t: Duration::from_millis(t),
                    now_ms: START + 600_000,
                },
            )
        };
        assert_ne!(at(0)[0], at(1000)[0], "no estimate: it pulses");
        assert_eq!(
            at(0)[2],
            c.colors.success.scaled(0.65),
            "the folder is halfway: its second build is due in 10 min"
        );
        assert_eq!(at(0)[2], at(1000)[2], "and steady");
    }

    #[test]
    fn building_pulses_smoothly_between_dim_and_full_of_the_last_result() {
        let c = config(CFG);
        let s = ci(
            ServerState::Ok,
            vec![job("ci", "a", JobState::Failure).building()],
        );
        let at = |ms| render(&s, &c, clock_at(Duration::from_millis(ms)))[0];
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

    fn flaky(snapshot: &mut Snapshot, path: &str) {
        let job = crate::flaky::FlakyJob {
            flips: 3,
            last: Vec::new(),
        };
        snapshot
            .flaky
            .insert(crate::model::JobId::new("ci", path), job);
    }

    #[test]
    fn a_flaky_job_shows_its_colour_with_a_short_unstable_blink_every_few_seconds() {
        let c = config(CFG);
        let mut s = ci(
            ServerState::Ok,
            vec![
                job("ci", "a", JobState::Failure),
                job("ci", "b", JobState::Unstable),
                job("ci", "f/x", JobState::Success),
            ],
        );
        let steady = render(&s, &c, clock_at(FLAKY_PERIOD - FLAKY_BLINK));
        assert!(!animated(&s, &c), "nothing flaky, nothing building");
        flaky(&mut s, "a");
        flaky(&mut s, "b");
        let at = |ms: u64| render(&s, &c, clock_at(Duration::from_millis(ms)));
        let colors = &c.colors;
        assert_eq!(at(0)[0], colors.failure, "plain colour most of the time");
        assert_eq!(at(2000)[0], colors.failure);
        let blink = FLAKY_PERIOD - FLAKY_BLINK;
        assert_eq!(
            render(&s, &c, clock_at(blink))[0],
            colors.unstable,
            "the blink"
        );
        assert_eq!(
            render(&s, &c, clock_at(blink))[1],
            Rgb::OFF,
            "an unstable flaky job blinks dark"
        );
        assert_eq!(at(3000)[0], colors.failure, "one blink per period");
        assert_eq!(
            render(&s, &c, clock_at(FLAKY_PERIOD + blink))[0],
            colors.unstable,
            "and again"
        );
        assert_eq!(
            render(&s, &c, clock_at(blink))[2],
            steady[2],
            "the folder is not flaky"
        );
        assert_eq!(
            render(&s, &c, clock_at(blink))[5],
            colors.unstable,
            "the tube's worst job (a) is the flaky one: it blinks too"
        );
        assert!(animated(&s, &c));
    }

    #[test]
    fn an_acknowledged_failure_breathes_slowly_at_half_brightness_and_the_tube_stays_red() {
        let c = config(CFG);
        let mut s = ci(
            ServerState::Ok,
            vec![
                job("ci", "a", JobState::Success),
                job("ci", "b", JobState::Failure),
            ],
        );
        assert!(
            !animated(&s, &c),
            "nothing moves before the acknowledgement"
        );
        let request = crate::ack::AckRequest {
            job: "b".into(),
            server: None,
            for_secs: None,
            note: None,
            by: "alice".into(),
        };
        s.acks
            .insert(crate::ack::acknowledge(&s, &request, 0).unwrap());
        let full = c.colors.failure;
        let at = |ms| render(&s, &c, clock_at(Duration::from_millis(ms)));
        assert_eq!(at(3000)[1], full.scaled(ACK_PEAK), "peak: half the colour");
        assert_eq!(at(0)[1], full.scaled(ACK_FLOOR), "trough: dim, not off");
        assert!(at(0)[1].r > 0);
        for ms in (0..6000).step_by(100) {
            let px = at(ms)[1];
            assert!(
                px.r <= full.scaled(ACK_PEAK).r,
                "never brighter than half at {ms} ms"
            );
            let d = i32::from(px.r) - i32::from(at(ms + 100)[1].r);
            assert!(d.abs() <= 10, "slow: a jump of {d} at {ms} ms");
        }
        assert_eq!(
            at(1234)[5],
            full,
            "the tube still counts it as failing, steadily"
        );
        assert_eq!(at(1234)[0], c.colors.success, "other LEDs are untouched");
        assert!(animated(&s, &c), "the breath is redrawn");
    }

    #[test]
    fn stale_jobs_are_never_green() {
        let c = config(CFG);
        let s = ci(
            ServerState::Unreachable("timeout".into()),
            vec![job("ci", "a", JobState::Success)],
        );
        let frame = render(&s, &c, clock_at(Duration::ZERO));
        assert_eq!(frame[0], c.colors.stale);
        assert_ne!(frame[0], c.colors.success);
        assert_eq!(frame[5], c.colors.stale, "the tube is stale too");
    }

    #[test]
    fn brightness_and_gamma_are_applied_once_to_the_frame() {
        let mut text = CFG.replace("brightness = 1.0", "brightness = 0.5");
        text = text.replace("gamma = 1.0", "gamma = 2.0");
        let c = config(&text);
        let s = ci(ServerState::Ok, vec![job("ci", "a", JobState::Failure)]);
        assert_eq!(
            render(&s, &c, clock_at(Duration::ZERO))[0],
            Rgb::new(64, 0, 0)
        );
    }

    #[test]
    fn frames_have_the_strip_length() {
        let c = config(CFG);
        let frame = render(&Snapshot::default(), &c, clock_at(Duration::ZERO));
        assert_eq!(frame.len(), 6);
    }

    #[test]
    fn the_tube_covers_the_jobs_behind_the_slots_or_with_scope_all_every_job() {
        let s = snapshot([
            (
                "ci",
                server(
                    ServerState::Ok,
                    ["a", "b", "f/x", "other"]
                        .iter()
                        .map(|p| job("ci", p, JobState::Success))
                        .collect(),
                ),
            ),
            (
                "old",
                server(ServerState::Ok, vec![job("old", "z", JobState::Success)]),
            ),
        ]);
        let covered = |c: &Config| -> Vec<String> {
            s.targets_in(&tube_scope(c))
                .iter()
                .flat_map(|t| s.jobs_of(t))
                .map(|j| j.id.to_string())
                .collect()
        };
        // CFG maps job a, job b, folder f and job gone (not listed: covers nothing).
        assert_eq!(covered(&config(CFG)), ["ci:a", "ci:b", "ci:f/x"]);
        let all = config(&format!("{CFG}scope = \"all\"\n"));
        assert_eq!(
            covered(&all),
            ["ci:a", "ci:b", "ci:f/x", "ci:other", "old:z"]
        );
        let no_slots = config("[[servers]]\nname = \"ci\"\nurl = \"http://ci.example/\"\n");
        assert_eq!(covered(&no_slots), Vec::<String>::new());
    }

    #[test]
    fn a_mapped_job_or_folder_is_stale_before_its_server_first_answers_and_missing_once_it_has() {
        let c = config(CFG);
        let waiting = snapshot([("ci", ServerSnapshot::new())]);
        let frame = render(&waiting, &c, clock_at(Duration::ZERO));
        assert_eq!(frame[3], c.colors.stale, "job gone: not listed yet");
        assert_eq!(frame[2], c.colors.stale, "folder f: not listed yet");
        let refused = snapshot([(
            "ci",
            ServerSnapshot {
                state: ServerState::TokenRejected,
                ..ServerSnapshot::new()
            },
        )]);
        assert_eq!(
            render(&refused, &c, clock_at(Duration::ZERO))[2],
            c.colors.stale,
            "a server that never answered: unknown, not an empty folder"
        );
        let answered = ci(ServerState::Ok, vec![]);
        let frame = render(&answered, &c, clock_at(Duration::ZERO));
        assert_eq!(frame[3], c.colors.missing);
        assert_eq!(frame[2], c.colors.missing, "an empty folder shows no jobs");
    }

    const RED: Rgb = Rgb::new(255, 0, 0);

    #[test]
    fn identify_blinks_only_its_led_and_ends() {
        let mut frame = vec![RED; 4];
        assert!(Overlay::Identify { led: 2 }.draw(&mut frame, Duration::ZERO, Correction::NONE));
        assert_eq!(frame, [RED, RED, Rgb::new(255, 255, 255), RED]);
        let mut frame = vec![RED; 4];
        let off = Duration::from_millis(300);
        assert!(Overlay::Identify { led: 2 }.draw(&mut frame, off, Correction::NONE));
        assert_eq!(frame, [RED, RED, Rgb::OFF, RED]);
        let mut frame = vec![RED; 4];
        assert!(!Overlay::Identify { led: 2 }.draw(&mut frame, IDENTIFY_FOR, Correction::NONE));
        assert_eq!(frame, [RED; 4], "a finished overlay leaves the frame alone");
    }

    #[test]
    fn test_pattern_chases_then_rainbows_then_ends() {
        let mut frame = vec![RED; 3];
        let second_step = TEST_STEP + Duration::from_millis(1);
        assert!(Overlay::TestPattern.draw(&mut frame, second_step, Correction::NONE));
        assert_eq!(frame, [Rgb::OFF, Rgb::new(255, 255, 255), Rgb::OFF]);
        let mut frame = vec![RED; 3];
        assert!(Overlay::TestPattern.draw(&mut frame, TEST_STEP * 3, Correction::NONE));
        assert!(
            frame.iter().all(|c| c.r.max(c.g).max(c.b) == 255),
            "{frame:?}"
        );
        assert_ne!(
            frame[0], frame[1],
            "the rainbow spreads hues over the strip"
        );
        let end = TEST_STEP * 3 + TEST_RAINBOW;
        assert!(!Overlay::TestPattern.draw(&mut [RED; 3], end, Correction::NONE));
    }
}
