//! The tray icon: its pure view ([`view`]: state, tooltip, problem jobs), its pixels ([`icon`]), the model and
//! menu layout ([`TrayModel`], [`TrayAction`], [`menu_entries`]) and, with the `gui` feature, the GTK thread
//! that shows it ([`shell`]).
//!
//! Everything but [`shell`] is built in every configuration, so it is tested headless too.

pub mod icon;
#[cfg(feature = "gui")]
pub mod shell;
pub mod view;

pub use icon::render_icon;
#[cfg(feature = "gui")]
pub use shell::Tray;
pub use view::{ProblemJob, TrayState, TrayView, tray_view};

use crate::model::JobState;

/// Everything the tray shows: the view of the jobs plus the two alert switches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrayModel {
    pub view: TrayView,
    /// Sounds are muted: the "Mute sounds" item is checked.
    pub muted: bool,
    /// Notifications are paused: the "Pause notifications for 1 hour" item is checked.
    pub paused: bool,
}

/// What a click in the tray menu asks the app to do. The tray does none of it itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayAction {
    /// Show and focus the window.
    Open,
    /// Open this job page in the browser.
    OpenUrl(String),
    /// Flip "mute sounds".
    ToggleMute,
    /// Pause notifications for an hour, or resume them when they are paused.
    PauseNotifications,
    /// Poll all servers now.
    Refresh,
    Quit,
}

/// How many problem jobs the menu lists before a "+N more" line.
pub const MENU_PROBLEMS: usize = 12;

/// One line of the tray menu, toolkit-free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuEntry {
    /// A plain item; `action: None` makes it a disabled label.
    Item {
        /// Stable within one menu (`job-0`, `open`, …).
        key: String,
        text: String,
        action: Option<TrayAction>,
        /// For problem jobs: the state, to draw a small icon beside the text.
        job_state: Option<JobState>,
    },
    Check {
        key: String,
        text: String,
        checked: bool,
        action: TrayAction,
    },
    Separator,
}

/// The tray menu for `model`, top to bottom:
/// the summary (disabled), the failing then unstable jobs (each opens its page), "Open ledtogo",
/// "Refresh now", "Mute sounds" ✓, "Pause notifications for 1 hour" ✓, "Quit".
///
/// Texts are escaped for muda, where `&` marks a mnemonic.
pub fn menu_entries(model: &TrayModel) -> Vec<MenuEntry> {
    let item = |key: &str, text: &str, action: Option<TrayAction>| MenuEntry::Item {
        key: key.to_owned(),
        text: escape(text),
        action,
        job_state: None,
    };
    let mut out = vec![
        item("summary", &model.view.tooltip, None),
        MenuEntry::Separator,
    ];
    let problems = &model.view.problems;
    for (i, p) in problems.iter().take(MENU_PROBLEMS).enumerate() {
        let what = match p.state {
            JobState::Failure => "failing",
            JobState::Unstable => "unstable",
            other => other.label(),
        };
        let building = if p.building { ", building" } else { "" };
        out.push(MenuEntry::Item {
            key: format!("job-{i}"),
            text: escape(&format!("{} ({what}{building})", p.label)),
            action: (!p.url.is_empty()).then(|| TrayAction::OpenUrl(p.url.clone())),
            job_state: Some(p.state),
        });
    }
    if problems.len() > MENU_PROBLEMS {
        let more = problems.len() - MENU_PROBLEMS;
        out.push(item("more", &format!("+{more} more"), None));
    }
    if !problems.is_empty() {
        out.push(MenuEntry::Separator);
    }
    out.push(item("open", "Open ledtogo", Some(TrayAction::Open)));
    out.push(item("refresh", "Refresh now", Some(TrayAction::Refresh)));
    out.push(MenuEntry::Separator);
    out.push(MenuEntry::Check {
        key: "mute".to_owned(),
        text: "Mute sounds".to_owned(),
        checked: model.muted,
        action: TrayAction::ToggleMute,
    });
    out.push(MenuEntry::Check {
        key: "pause".to_owned(),
        text: "Pause notifications for 1 hour".to_owned(),
        checked: model.paused,
        action: TrayAction::PauseNotifications,
    });
    out.push(MenuEntry::Separator);
    out.push(item("quit", "Quit", Some(TrayAction::Quit)));
    out
}

/// muda reads `&x` as a mnemonic and `&&` as a literal `&`.
fn escape(text: &str) -> String {
    text.replace('&', "&&")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn problem(label: &str, state: JobState) -> ProblemJob {
        ProblemJob {
            label: label.into(),
            url: format!("http://ci/job/{label}/"),
            state,
            building: false,
        }
    }

    fn actions(entries: &[MenuEntry]) -> Vec<TrayAction> {
        entries
            .iter()
            .filter_map(|e| match e {
                MenuEntry::Item { action, .. } => action.clone(),
                MenuEntry::Check { action, .. } => Some(action.clone()),
                MenuEntry::Separator => None,
            })
            .collect()
    }

    #[test]
    fn the_menu_lists_problem_jobs_then_the_fixed_items() {
        let model = TrayModel {
            view: TrayView {
                state: TrayState::Failure,
                tooltip: "1 failing: a&b".into(),
                problems: vec![
                    problem("a&b", JobState::Failure),
                    problem("docs", JobState::Unstable),
                ],
            },
            muted: true,
            paused: false,
        };
        let entries = menu_entries(&model);
        assert_eq!(
            actions(&entries),
            vec![
                TrayAction::OpenUrl("http://ci/job/a&b/".into()),
                TrayAction::OpenUrl("http://ci/job/docs/".into()),
                TrayAction::Open,
                TrayAction::Refresh,
                TrayAction::ToggleMute,
                TrayAction::PauseNotifications,
                TrayAction::Quit,
            ]
        );
        assert!(
            matches!(&entries[0], MenuEntry::Item { text, action: None, .. } if text == "1 failing: a&&b")
        );
        assert!(
            matches!(&entries[2], MenuEntry::Item { text, job_state: Some(JobState::Failure), .. }
            if text == "a&&b (failing)")
        );
        let checks: Vec<(String, bool)> = entries
            .iter()
            .filter_map(|e| match e {
                MenuEntry::Check { key, checked, .. } => Some((key.clone(), *checked)),
                _ => None,
            })
            .collect();
        assert_eq!(checks, vec![("mute".into(), true), ("pause".into(), false)]);
    }

    #[test]
    fn a_long_problem_list_is_capped_and_no_problems_means_no_job_section() {
        let many = (0..20)
            .map(|i| problem(&format!("j{i}"), JobState::Failure))
            .collect();
        let model = TrayModel {
            view: TrayView {
                state: TrayState::Failure,
                tooltip: String::new(),
                problems: many,
            },
            ..TrayModel::default()
        };
        let entries = menu_entries(&model);
        let jobs = entries
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    MenuEntry::Item {
                        job_state: Some(_),
                        ..
                    }
                )
            })
            .count();
        assert_eq!(jobs, MENU_PROBLEMS);
        assert!(
            entries.iter().any(
                |e| matches!(e, MenuEntry::Item { text, action: None, .. } if text == "+8 more")
            )
        );

        let calm = menu_entries(&TrayModel::default());
        assert_eq!(
            actions(&calm).first(),
            Some(&TrayAction::Open),
            "no job items"
        );
        assert!(matches!(calm[1], MenuEntry::Separator));
        assert!(
            !matches!(calm[2], MenuEntry::Separator),
            "no double separator"
        );
    }
}
