//! Small drawing helpers shared by the window's views: state colours, how the strip looks to the eye, LED
//! dots, hover texts, times.

use egui::{Color32, Sense, Ui, Vec2};

use crate::color::{Correction, Rgb};
use crate::config::Config;
use crate::model::{Job, JobId, JobState, ServerSnapshot, ServerState};

pub fn color(rgb: Rgb) -> Color32 {
    Color32::from_rgb(rgb.r, rgb.g, rgb.b)
}

/// The configured colour of a state (before brightness and gamma: what the user picked).
pub fn state_color(state: JobState, config: &Config) -> Color32 {
    color(config.colors.of(state))
}

/// The share of its full colour an LED of a strip at brightness 0 is shown with on screen (see
/// [`perceived`]).
pub const LEGIBLE_FLOOR: f64 = 0.6;

/// How an LED the strip was sent `sent` looks to the eye, for the mirror. The strip's light is linear in
/// the value sent, a screen's is not, so the gamma is undone (a full green at half brightness sent as
/// `002400` shows as a clear green, not near black). The brightness is then shown faithfully but
/// legibly: a brighter strip shows brighter, in a range from [`LEGIBLE_FLOOR`] (the dimmest setting) to
/// the full colour (brightness 1), so even a dim strip and a pulse at its low point still read. Off stays
/// off.
pub fn perceived(correction: Correction, sent: Rgb) -> Color32 {
    let brightness = correction.brightness.clamp(0.0, 1.0);
    let legible = LEGIBLE_FLOOR + (1.0 - LEGIBLE_FLOOR) * brightness;
    color(correction.undo(sent).scaled(legible))
}

/// A filled circle of `diameter` points with a thin outline, so black (off) still shows.
pub fn dot(ui: &mut Ui, fill: Color32, diameter: f32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(diameter), Sense::hover());
    let painter = ui.painter();
    painter.circle_filled(rect.center(), diameter / 2.0, fill);
    painter.circle_stroke(
        rect.center(),
        diameter / 2.0,
        egui::Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color),
    );
    response
}

/// How far ahead of our clock a server's time may be and still read "just now" (clock skew).
const SKEW_MS: i64 = 60_000;

/// "3 min ago", "2 h ago", "4 days ago"… for an epoch-milliseconds time from a server: "in the future"
/// for a time ahead of the clock, "at an unknown time" for one before 1970 (never overflows).
pub fn ago(epoch_ms: i64) -> String {
    ago_at(crate::clock::epoch_ms(), epoch_ms)
}

/// [`ago`] with the clock's time given.
fn ago_at(now_ms: i64, epoch_ms: i64) -> String {
    if epoch_ms < 0 {
        return "at an unknown time".to_owned();
    }
    // Both are non-negative here, so the difference fits (and saturating keeps it so anyway).
    let elapsed_ms = now_ms.saturating_sub(epoch_ms);
    if elapsed_ms < -SKEW_MS {
        return "in the future".to_owned();
    }
    let secs = elapsed_ms.max(0) / 1000;
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// The most characters (the ellipsis included) of "who: what" in a hover text.
pub const MAX_BLAME: usize = 120;

/// The hover text of a job: name, state, last build, who is behind it and when it started. While a build
/// runs, how far it is when the server gave an estimate ("62 %, about 3 min left"), and who is behind
/// the finished build the state comes from gets its own line.
pub fn job_details(job: &Job) -> String {
    job_details_at(job, crate::clock::epoch_ms())
}

/// [`job_details`] at `now_ms` (epoch ms).
fn job_details_at(job: &Job, now_ms: i64) -> String {
    let name = crate::text::visible(&job.id.readable_name()).into_owned();
    let mut text = format!("{name}\n{}", job.state.label());
    if job.building {
        text.push_str(", building now");
        if let Some(eta) = crate::model::progress::Eta::of(job) {
            text.push_str(&format!(": {}", eta.at(now_ms)));
        }
    }
    if let Some(build) = &job.last_build {
        let blame = build.blame.as_ref().map(|b| {
            crate::text::truncate(&crate::text::visible(&b.describe()), MAX_BLAME).into_owned()
        });
        text.push_str(&format!("\nlast build #{}", build.number));
        if let (Some(blame), false) = (&blame, job.building) {
            text.push_str(&format!(" by {blame}"));
        }
        if let Some(ts) = build.timestamp_ms {
            text.push_str(&format!(", started {}", ago_at(now_ms, ts)));
        }
        if let (Some(blame), Some(finished), true) =
            (&blame, crate::model::finished_build(job), job.building)
        {
            text.push_str(&format!("\n#{finished} by {blame}"));
        }
    }
    text.push_str("\nDouble-click to open the job page");
    text
}

/// What the server last said, for people (its text made safe): "token rejected (check …)".
fn server_said(state: &ServerState) -> String {
    crate::text::visible(&state.to_string()).into_owned()
}

/// The hover line of jobs shown stale: why they are the last known ones (`None` while the server answers).
pub fn stale_text(server: Option<&ServerSnapshot>) -> Option<String> {
    let server = server?;
    (!server.state.is_ok())
        .then(|| format!("last known state; server: {}", server_said(&server.state)))
}

/// The hover text of a slot whose job its server does not list: why, from the server's state.
pub fn missing_job_text(id: &JobId, server: Option<&ServerSnapshot>) -> String {
    let name = crate::text::visible(&id.to_string()).into_owned();
    match server {
        None => format!("{name}: the server is not polled"),
        Some(s) => match &s.state {
            ServerState::Connecting => format!("{name}: waiting for the server's first answer"),
            ServerState::Ok => format!("{name}: not listed by the server"),
            other if s.seen_ok => format!(
                "{name}: not listed when the server last answered; now {}",
                server_said(other)
            ),
            other => format!("{name}: unknown; server: {}", server_said(other)),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::{Build, JobId};

    fn job_started_at(timestamp_ms: i64) -> Job {
        Job {
            id: JobId::new("ci", "api"),
            display_name: "api".into(),
            url: "http://ci/job/api/".into(),
            state: JobState::Success,
            building: false,
            last_build: Some(Build {
                number: u64::MAX,
                result: Some(JobState::Success),
                building: false,
                timestamp_ms: Some(timestamp_ms),
                estimated_ms: None,
                url: None,
                blame: None,
            }),
        }
    }

    fn strip(brightness: f64) -> Correction {
        Correction {
            brightness,
            gamma: 2.2,
        }
    }

    #[test]
    fn the_mirror_shows_a_full_green_at_the_default_brightness_clearly_green() {
        let config = Config::parse("", None).unwrap();
        let correction = config.strip.correction();
        let green = config.colors.success;
        let sent = correction.apply(green);
        assert!(sent.g < 60, "the strip is sent a dim value: {sent}");
        let seen = perceived(correction, sent);
        assert!(seen.g() >= 150, "{seen:?}");
        assert!(seen.r() < 10 && seen.b() < 40, "{seen:?}");
    }

    #[test]
    fn off_stays_off_and_a_brighter_strip_shows_brighter_but_a_dim_one_still_reads() {
        let green = Rgb::new(0, 208, 32);
        for b in [0.0, 0.05, 0.5, 1.0] {
            assert_eq!(
                perceived(strip(b), strip(b).apply(Rgb::OFF)),
                Color32::BLACK
            );
        }
        let seen = |b: f64| perceived(strip(b), strip(b).apply(green)).g();
        assert!(seen(0.2) < seen(0.5) && seen(0.5) < seen(1.0));
        assert!(
            seen(1.0).abs_diff(208) <= 2,
            "full brightness is the colour"
        );
        // A strip at a fifth of its brightness is sent 5 of 255 for this green; the mirror shows 68 %.
        assert!(seen(0.2) >= 130, "dim: {}", seen(0.2));
        // A building LED at the low point of its pulse still shows.
        let low = green.scaled(crate::frame::PULSE_FLOOR);
        assert!(perceived(strip(0.5), strip(0.5).apply(low)).g() >= 40);
    }

    #[test]
    fn times_from_a_server_never_overflow_and_the_future_says_so() {
        assert_eq!(ago(i64::MAX), "in the future");
        assert_eq!(ago(i64::MIN), "at an unknown time");
        assert_eq!(ago(-1), "at an unknown time");
        for ts in [i64::MIN, -1, 0, i64::MAX] {
            let text = job_details(&job_started_at(ts));
            assert!(text.contains(&format!("#{}", u64::MAX)), "{text}");
        }
        let text = job_details(&job_started_at(i64::MAX));
        assert!(text.contains("started in the future"), "{text}");
    }

    #[test]
    fn a_missing_or_stale_job_says_what_the_server_said() {
        let id = JobId::new("ci", "api");
        let refused = ServerSnapshot {
            state: ServerState::TokenRejected,
            ..ServerSnapshot::new()
        };
        assert_eq!(
            missing_job_text(&id, Some(&refused)),
            "ci:api: unknown; server: token rejected (check the user name and API token)"
        );
        assert_eq!(
            stale_text(Some(&refused)).as_deref(),
            Some("last known state; server: token rejected (check the user name and API token)")
        );
        let answering = ServerSnapshot {
            state: ServerState::Ok,
            seen_ok: true,
            ..ServerSnapshot::new()
        };
        assert_eq!(
            missing_job_text(&id, Some(&answering)),
            "ci:api: not listed by the server"
        );
        assert_eq!(stale_text(Some(&answering)), None);
        let hostile = ServerSnapshot {
            state: ServerState::Unreachable("bad\u{202E}\nanswer".into()),
            seen_ok: true,
            ..ServerSnapshot::new()
        };
        let text = missing_job_text(&id, Some(&hostile));
        assert_eq!(
            text,
            "ci:api: not listed when the server last answered; now unreachable: bad\u{FFFD}\u{FFFD}answer"
        );
    }

    #[test]
    fn past_times_read_as_ages() {
        let now = 1_700_000_000_000;
        assert_eq!(ago_at(now, now), "just now");
        assert_eq!(ago_at(now, now + 30_000), "just now", "a little clock skew");
        assert_eq!(ago_at(now, now - 5 * 60_000), "5 min ago");
        assert_eq!(ago_at(now, now - 3 * 3_600_000), "3 h ago");
        assert_eq!(ago_at(now, now - 2 * 86_400_000), "2 days ago");
    }

    fn blamed(job: Job, who: &str, what: &str) -> Job {
        let mut job = job;
        if let Some(build) = &mut job.last_build {
            build.number = 42;
            build.timestamp_ms = None;
            build.blame = Some(crate::model::Blame {
                who: who.into(),
                what: Some(what.into()),
            });
        }
        job
    }

    #[test]
    fn the_hover_text_says_who_is_behind_the_last_build() {
        let job = blamed(
            job_started_at(0),
            "Mona",
            "Fix the login test\n\nlong story",
        );
        assert_eq!(
            job_details(&job),
            "api\nsuccess\nlast build #42 by Mona: Fix the login test\nDouble-click to open the job page"
        );
        let mut running = job.clone();
        running.building = true;
        if let Some(b) = &mut running.last_build {
            b.number = 43;
            b.building = true;
        }
        assert_eq!(
            job_details(&running),
            "api\nsuccess, building now\nlast build #43\n#42 by Mona: Fix the login test\n\
             Double-click to open the job page",
            "the blame is the finished build's, not the running one's"
        );
    }

    #[test]
    fn a_running_build_with_an_estimate_says_how_far_it_is_in_the_hover_text() {
        let start = 1_764_000_000_000;
        let running = crate::test_fixtures::job("ci", "api", JobState::Success)
            .numbered(43)
            .running_since(start, 8 * 60_000);
        assert_eq!(
            job_details_at(&running, start + 5 * 60_000),
            "api\nsuccess, building now: 62 %, about 3 min left\nlast build #43, started 5 min ago\n\
             Double-click to open the job page"
        );
        assert!(
            job_details_at(&running, start + 11 * 60_000)
                .contains("building now: overdue by 3 min\n")
        );
    }

    #[test]
    fn a_hostile_blame_in_the_hover_text_is_made_visible_and_cut() {
        let job = blamed(
            job_started_at(0),
            "Mallory\u{202E}",
            &format!("\x1b[2J{}", "x".repeat(500)),
        );
        let text = job_details(&job);
        let line = text.lines().nth(2).unwrap();
        let blame = line.strip_prefix("last build #42 by ").unwrap();
        assert!(
            blame.starts_with("Mallory\u{FFFD}: \u{FFFD}[2Jxxx"),
            "{line}"
        );
        assert_eq!(blame.chars().count(), MAX_BLAME);
    }

    #[test]
    fn the_hover_text_keeps_the_full_name_with_its_control_characters_visible() {
        let name = format!("\x1b]0;evil\x07\u{202E}{}", "n".repeat(500));
        let job = Job {
            id: JobId::new("ci", &name),
            ..job_started_at(0)
        };
        let text = job_details(&job);
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            format!("\u{FFFD}]0;evil\u{FFFD}\u{FFFD}{}", "n".repeat(500))
        );
    }
}
