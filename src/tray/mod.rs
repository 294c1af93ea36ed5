//! The tray icon: its pure view ([`view`]: state, tooltip, problem jobs), its pixels ([`icon`]), the model and
//! menu layout ([`TrayModel`], [`TrayAction`], [`menu_entries`]) and, with the `gui` feature, the GTK thread
//! that shows it ([`shell`]).
//!
//! Everything but [`shell`] is built in every configuration, so it is tested headless too.
//!
//! The menu on screen lives as long as its icon: [`menu_changes`] says how to turn the lines on screen
//! into the lines for a new model (texts and check marks change in place; lines come and go only when
//! the problem jobs do), so item ids stay valid and the item is never re-registered with the tray host.

pub mod icon;
#[cfg(feature = "gui")]
pub mod shell;
pub mod view;

pub use icon::render_icon;
#[cfg(feature = "gui")]
pub use shell::Tray;
pub use view::{ProblemJob, TrayState, TrayView, tray_view};

use std::collections::HashMap;

use crate::model::{JobId, JobState};

/// What the window and the log say when no tray host shows the icon.
pub const NO_HOST_HELP: &str = "no tray shows ledtogo's icon (no StatusNotifier host and no XEmbed tray): \
     on GNOME install and enable the AppIndicator extension (gnome-shell-extension-appindicator); KDE, \
     XFCE, Cinnamon, MATE and waybar have one built in";

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
    /// "I'm on it" for this failing job (until fixed, at most 24 h; no note).
    Acknowledge(JobId),
    /// Nobody is on this job any more.
    Unacknowledge(JobId),
    Quit,
}

/// How many problem jobs the menu lists before a "+N more" line.
pub const MENU_PROBLEMS: usize = 12;

/// One line of the tray menu, toolkit-free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuEntry {
    /// A plain item; `action: None` makes it a disabled label.
    Item {
        /// Names the line across models: `summary`, `open`, …, `job:<url>` for a problem job (the same
        /// job keeps its key however the list around it changes).
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
/// A problem job's line is "api (failing)", "api (failing, building — Mona)" when the server said who is
/// behind the build, "api (failing, building: 62 %, about 3 min left)" when it gave an estimate, "api
/// (failing, flaky)" for a flaky job ([`crate::flaky`]), "api (failing) — on it: alice (looking at the
/// flaky test)" when someone is on it; the line under it offers "I'm on it" (or "Not on it any more").
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
    let mut seen: HashMap<String, usize> = HashMap::new();
    for p in problems.iter().take(MENU_PROBLEMS) {
        let what = match p.state {
            JobState::Failure => "failing",
            JobState::Unstable => "unstable",
            other => other.label(),
        };
        let building = match (&p.progress, p.building) {
            (Some(progress), true) => format!(", building: {progress}"),
            (None, true) => ", building".to_owned(),
            (_, false) => String::new(),
        };
        let flaky = if p.flaky { ", flaky" } else { "" };
        let blame = p
            .blame
            .as_deref()
            .map_or_else(String::new, |who| format!(" — {who}"));
        let id = if p.url.is_empty() { &p.label } else { &p.url };
        let mut key = format!("job:{id}");
        // The same job listed twice (two server entries for one Jenkins) still gets two keys.
        let n = seen.entry(key.clone()).or_default();
        *n += 1;
        if *n > 1 {
            key = format!("{key}#{n}");
        }
        let on_it = p
            .on_it
            .as_deref()
            .map_or_else(String::new, |on_it| format!(" — {on_it}"));
        let ack_key = format!("ack:{}", &key["job:".len()..]);
        out.push(MenuEntry::Item {
            key,
            text: escape(&format!(
                "{} ({what}{flaky}{building}{blame}){on_it}",
                p.label
            )),
            action: (!p.url.is_empty()).then(|| TrayAction::OpenUrl(p.url.clone())),
            job_state: Some(p.state),
        });
        let (text, action) = if p.on_it.is_some() {
            (
                "    Not on it any more",
                TrayAction::Unacknowledge(p.job.clone()),
            )
        } else {
            ("    I'm on it", TrayAction::Acknowledge(p.job.clone()))
        };
        out.push(item(&ack_key, text, Some(action)));
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

/// How the lines on screen (`old`) become the lines for a new model (`new`): the first `keep_front` and
/// the last `keep_back` lines stay (same key and kind, in order), the `remove` lines between them go and
/// the new lines `insert` come in their place. Lines that stay but show something else (text, check
/// mark, enabled, job state) are listed in `update`, by their index in `new`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MenuChanges {
    pub keep_front: usize,
    pub remove: usize,
    pub insert: std::ops::Range<usize>,
    pub update: Vec<usize>,
}

impl MenuChanges {
    /// Lines come or go (the menu's layout changes); otherwise every change is in place.
    pub fn is_structural(&self) -> bool {
        self.remove > 0 || !self.insert.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        !self.is_structural() && self.update.is_empty()
    }
}

/// What kind of toolkit item a line is: a line can only be updated in place into one of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Plain,
    /// A problem job, with its state's small icon.
    Job,
    Check,
    Separator,
}

impl MenuEntry {
    pub fn kind(&self) -> LineKind {
        match self {
            MenuEntry::Item {
                job_state: Some(_), ..
            } => LineKind::Job,
            MenuEntry::Item { .. } => LineKind::Plain,
            MenuEntry::Check { .. } => LineKind::Check,
            MenuEntry::Separator => LineKind::Separator,
        }
    }

    /// The line's key ("" for separators).
    pub fn key(&self) -> &str {
        match self {
            MenuEntry::Item { key, .. } | MenuEntry::Check { key, .. } => key,
            MenuEntry::Separator => "",
        }
    }

    fn same_line(&self, other: &MenuEntry) -> bool {
        self.kind() == other.kind() && self.key() == other.key()
    }
}

/// See [`MenuChanges`]. Pure: the shell applies the result to the toolkit's menu.
pub fn menu_changes(old: &[MenuEntry], new: &[MenuEntry]) -> MenuChanges {
    let front = old
        .iter()
        .zip(new)
        .take_while(|(a, b)| a.same_line(b))
        .count();
    let room = old.len().min(new.len()) - front;
    let back = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(room)
        .take_while(|(a, b)| a.same_line(b))
        .count();
    let remove = old.len() - front - back;
    let insert = front..new.len() - back;
    let kept_old = (0..front).chain(old.len() - back..old.len());
    let kept_new = (0..front).chain(new.len() - back..new.len());
    let update = kept_old
        .zip(kept_new)
        .filter(|&(o, n)| old[o] != new[n])
        .map(|(_, n)| n)
        .collect();
    MenuChanges {
        keep_front: front,
        remove,
        insert,
        update,
    }
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
            blame: None,
            job: JobId::new("ci", label),
            on_it: None,
            flaky: false,
            progress: None,
        }
    }

    /// The texts of the menu's problem-job lines.
    fn problem_lines(model: &TrayModel) -> Vec<String> {
        menu_entries(model)
            .into_iter()
            .filter_map(|e| match e {
                MenuEntry::Item {
                    text,
                    job_state: Some(_),
                    ..
                } => Some(text),
                _ => None,
            })
            .collect()
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
                TrayAction::Acknowledge(JobId::new("ci", "a&b")),
                TrayAction::OpenUrl("http://ci/job/docs/".into()),
                TrayAction::Acknowledge(JobId::new("ci", "docs")),
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
    fn a_problem_job_line_names_who_is_behind_its_build() {
        let mut api = problem("api", JobState::Failure);
        api.blame = Some("Mona & Co".into());
        let mut web = problem("web", JobState::Unstable);
        web.blame = Some("Hubot".into());
        web.building = true;
        let mut lint = problem("lint", JobState::Failure);
        lint.building = true;
        lint.progress = Some("62 %, about 3 min left".into());
        let model = TrayModel {
            view: TrayView {
                state: TrayState::Failure,
                tooltip: "2 failing: api, lint · 1 unstable: web".into(),
                problems: vec![api, web, lint],
            },
            ..TrayModel::default()
        };
        let texts = problem_lines(&model);
        assert_eq!(
            texts,
            [
                "api (failing — Mona && Co)",
                "web (unstable, building — Hubot)",
                "lint (failing, building: 62 %, about 3 min left)"
            ]
        );
    }

    #[test]
    fn a_flaky_jobs_line_says_it_is_flaky() {
        let config = crate::config::Config::parse(
            "[[servers]]\nname = \"ci\"\nurl = \"http://ci/\"\n",
            None,
        )
        .unwrap();
        let mut snapshot = crate::test_fixtures::ci_ok(vec![
            crate::test_fixtures::job("ci", "api", JobState::Failure).building(),
            crate::test_fixtures::job("ci", "web", JobState::Failure),
        ]);
        let flaky = crate::flaky::FlakyJob {
            flips: 3,
            last: Vec::new(),
        };
        snapshot
            .flaky
            .insert(crate::model::JobId::new("ci", "api"), flaky);
        let model = TrayModel {
            view: view::tray_view(&snapshot, &config),
            ..TrayModel::default()
        };
        let texts = problem_lines(&model);
        assert_eq!(texts, ["api (failing, flaky, building)", "web (failing)"]);
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

    fn failing(tooltip: &str, problems: Vec<ProblemJob>) -> TrayModel {
        TrayModel {
            view: TrayView {
                state: TrayState::Failure,
                tooltip: tooltip.into(),
                problems,
            },
            ..TrayModel::default()
        }
    }

    fn key_of(entries: &[MenuEntry], i: usize) -> &str {
        entries[i].key()
    }

    #[test]
    fn texts_and_check_marks_change_in_place() {
        let before = failing("1 failing: api", vec![problem("api", JobState::Failure)]);
        let mut after = failing(
            "1 failing: api (12 s)",
            vec![problem("api", JobState::Failure)],
        );
        after.muted = true;
        after.view.problems[0].building = true;
        let (old, new) = (menu_entries(&before), menu_entries(&after));

        let changes = menu_changes(&old, &new);

        assert!(!changes.is_structural(), "{changes:?}");
        let updated: Vec<&str> = changes.update.iter().map(|&i| key_of(&new, i)).collect();
        assert_eq!(updated, vec!["summary", "job:http://ci/job/api/", "mute"]);
        assert!(
            matches!(&new[changes.update[1]], MenuEntry::Item { text, .. } if text == "api (failing, building)")
        );
        assert!(menu_changes(&new, &new).is_empty());
    }

    #[test]
    fn only_a_new_or_fixed_problem_job_adds_or_removes_lines() {
        let calm = menu_entries(&TrayModel::default());
        let one = menu_entries(&failing(
            "1 failing",
            vec![problem("api", JobState::Failure)],
        ));

        // A job breaks: its line, its "I'm on it" line and the separator after them come in after the
        // summary; nothing else moves.
        let broke = menu_changes(&calm, &one);
        assert_eq!(
            (broke.keep_front, broke.remove, broke.insert.clone()),
            (2, 0, 2..5)
        );
        assert_eq!(key_of(&one, 2), "job:http://ci/job/api/");
        assert_eq!(key_of(&one, 3), "ack:http://ci/job/api/");
        assert!(matches!(one[4], MenuEntry::Separator));
        assert_eq!(
            broke.update,
            vec![0],
            "only the summary's text changes among the kept lines"
        );

        // It is fixed: the same three lines go.
        let fixed = menu_changes(&one, &calm);
        assert_eq!(
            (fixed.keep_front, fixed.remove, fixed.insert.clone()),
            (2, 3, 2..2)
        );
    }

    #[test]
    fn a_job_keeps_its_line_when_the_job_before_it_is_fixed() {
        let two = menu_entries(&failing(
            "2 failing",
            vec![
                problem("api", JobState::Failure),
                problem("web", JobState::Failure),
            ],
        ));
        let one = menu_entries(&failing(
            "1 failing",
            vec![problem("web", JobState::Failure)],
        ));

        let changes = menu_changes(&two, &one);

        // Only "api" (and its "I'm on it") goes; "web" is the same line (same key) and is not even touched.
        assert_eq!(
            (changes.keep_front, changes.remove, changes.insert.clone()),
            (2, 2, 2..2)
        );
        assert_eq!(key_of(&two, 2), "job:http://ci/job/api/");
        assert_eq!(changes.update, vec![0]);
        assert_eq!(key_of(&one, 2), "job:http://ci/job/web/");
    }

    #[test]
    fn the_same_job_listed_twice_gets_two_keys() {
        let entries = menu_entries(&failing(
            "2 failing",
            vec![
                problem("api", JobState::Failure),
                problem("api", JobState::Failure),
            ],
        ));
        assert_eq!(key_of(&entries, 2), "job:http://ci/job/api/");
        assert_eq!(key_of(&entries, 4), "job:http://ci/job/api/#2");
        assert_eq!(key_of(&entries, 5), "ack:http://ci/job/api/#2");
    }

    #[test]
    fn a_job_someone_is_on_says_who_and_offers_to_let_go_in_place() {
        let before = failing("1 failing: api", vec![problem("api", JobState::Failure)]);
        let mut after = before.clone();
        after.view.problems[0].on_it = Some("on it: alice (looking at the flaky test)".into());
        let (old, new) = (menu_entries(&before), menu_entries(&after));
        assert!(
            matches!(&old[3], MenuEntry::Item { text, action: Some(TrayAction::Acknowledge(id)), .. }
                if text == "    I'm on it" && *id == JobId::new("ci", "api"))
        );
        assert!(matches!(&new[2], MenuEntry::Item { text, .. }
                if text == "api (failing) — on it: alice (looking at the flaky test)"));
        assert!(
            matches!(&new[3], MenuEntry::Item { text, action: Some(TrayAction::Unacknowledge(id)), .. }
                if text == "    Not on it any more" && *id == JobId::new("ci", "api"))
        );
        let changes = menu_changes(&old, &new);
        assert!(!changes.is_structural(), "{changes:?}");
        assert_eq!(changes.update, vec![2, 3]);
    }
}
