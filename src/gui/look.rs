//! Small drawing helpers shared by the window's views: state colours, LED dots, hover texts, times.

use std::time::{SystemTime, UNIX_EPOCH};

use egui::{Color32, Sense, Ui, Vec2};

use crate::color::Rgb;
use crate::config::Config;
use crate::model::{Job, JobState};

pub fn color(rgb: Rgb) -> Color32 {
    Color32::from_rgb(rgb.r, rgb.g, rgb.b)
}

/// The configured colour of a state (before brightness and gamma: what the user picked).
pub fn state_color(state: JobState, config: &Config) -> Color32 {
    color(config.colors.of(state))
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

/// "3 min ago", "2 h ago", "yesterday"… for an epoch-milliseconds time.
pub fn ago(epoch_ms: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let secs = (now - epoch_ms).max(0) / 1000;
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// The hover text of a job: name, state, last build and when it started.
pub fn job_details(job: &Job) -> String {
    let mut text = format!("{}\n{}", job.id.readable_name(), job.state.label());
    if job.building {
        text.push_str(", building now");
    }
    if let Some(build) = &job.last_build {
        text.push_str(&format!("\nlast build #{}", build.number));
        if let Some(ts) = build.timestamp_ms {
            text.push_str(&format!(", started {}", ago(ts)));
        }
    }
    text.push_str("\nDouble-click to open the job page");
    text
}
