//! The tray's view model, pure: which state the icon shows, the one-line summary and the problem jobs, derived
//! from one snapshot ([`tray_view`]). The tray menu, the window's header and its title all read it.
//!
//! # Which jobs count
//!
//! The tray summarises the same jobs as the strip's aggregate LED ("the tube", [`frame::tube_scope`]; which
//! jobs a target covers is [`Snapshot::jobs_of`]), following `[aggregate] scope`: with `scope = "mapped"`
//! (the default) the jobs behind the mapped slots (each job once, even if a job slot and a folder slot both
//! cover it); with `scope = "all"` every job of every server. One deliberate difference: when **no slot is
//! mapped at all**, the tray falls back to every job of every server, so the tray is useful before (or
//! without) a strip.
//!
//! # Which state wins
//!
//! `Failure > Unstable > Unreachable > Building > Success > NoJobs`, from [`Severity`]:
//! - any failing job → [`TrayState::Failure`]; else any unstable job → [`TrayState::Unstable`];
//! - else any counted job stale (its server is unreachable, connecting or refusing us) →
//!   [`TrayState::Unreachable`];
//! - else, if a build runs → [`TrayState::Building`] (a build never hides a failure: a failing job that is
//!   rebuilding still shows [`TrayState::Failure`]; the tooltip says so);
//! - else jobs with a result (success, aborted, unknown) → [`TrayState::Success`] ("none failing");
//! - else (nothing counted, or only disabled / never built jobs) → [`TrayState::NoJobs`].
//!
//! # Names
//!
//! Job names come from the server: each name in the tooltip and each menu label is shown with its control
//! characters made visible and cut to [`text::MAX_NAME`] characters ([`text::short`]). The window's
//! hover texts keep the full names. So is who is behind a problem job's build ([`ProblemJob::blame`]).
//!
//! The icon's pixels and palette are in [`super::icon`].

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Config;
use crate::frame;
use crate::model::{Blame, JobId, JobState, JobStatus, Scope, ServerState, Severity, Snapshot};
use crate::text;

/// The icon's state: the worst state of the counted jobs. See the module docs for the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrayState {
    NoJobs,
    Success,
    Building,
    Unreachable,
    Unstable,
    Failure,
}

impl TrayState {
    /// Every state, best first.
    pub const ALL: [TrayState; 6] = [
        TrayState::NoJobs,
        TrayState::Success,
        TrayState::Building,
        TrayState::Unreachable,
        TrayState::Unstable,
        TrayState::Failure,
    ];

    /// A short lower-case name, for logs.
    pub fn label(self) -> &'static str {
        match self {
            TrayState::NoJobs => "no jobs",
            TrayState::Success => "success",
            TrayState::Building => "building",
            TrayState::Unreachable => "unreachable",
            TrayState::Unstable => "unstable",
            TrayState::Failure => "failure",
        }
    }
}

/// A failing or unstable job, for the tray menu (a click opens `url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemJob {
    /// Human name: the decoded full name (`team/api`), prefixed with `server: ` when several servers exist;
    /// made visible and cut ([`text::short`]).
    pub label: String,
    /// The job page.
    pub url: String,
    /// [`JobState::Failure`] or [`JobState::Unstable`].
    pub state: JobState,
    pub building: bool,
    /// Who is behind the build the state comes from, when the server said: the name alone, made
    /// visible and cut ([`text::short`]).
    pub blame: Option<String>,
    /// The job, for *I'm on it*.
    pub job: JobId,
    /// Who is on it ([`crate::ack::Ack::on_it`]: "on it: alice (looking at the flaky test)").
    pub on_it: Option<String>,
    /// Flagged flaky ([`crate::flaky`]): the menu says so.
    pub flaky: bool,
    /// A running build's progress when the server gave an estimate: "62 %, about 3 min left".
    pub progress: Option<String>,
}

/// What the tray shows, derived from one snapshot: see [`tray_view`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub state: TrayState,
    /// One line: "2 failing: api, web", "All 12 jobs passing", "ci unreachable", …
    pub tooltip: String,
    /// Failing jobs first, then unstable ones; each in server then name order.
    pub problems: Vec<ProblemJob>,
}

impl Default for TrayView {
    /// The view before the first snapshot: no jobs.
    fn default() -> Self {
        Self {
            state: TrayState::NoJobs,
            tooltip: "No jobs".to_owned(),
            problems: Vec::new(),
        }
    }
}

/// How many names a tooltip clause lists before "+N".
pub const TOOLTIP_NAMES: usize = 3;

/// One counted job, as the view needs it.
struct Counted<'a> {
    id: &'a JobId,
    display_name: &'a str,
    url: &'a str,
    state: JobState,
    building: bool,
    severity: Severity,
    blame: Option<&'a Blame>,
    flaky: bool,
    /// "62 %, about 3 min left" for a running build with an estimate.
    progress: Option<String>,
}

/// The tray's view of a snapshot now: state, tooltip and problem jobs, over the jobs described in the
/// module docs ([`tray_view_at`] on the wall clock).
pub fn tray_view(snapshot: &Snapshot, config: &Config) -> TrayView {
    tray_view_at(snapshot, config, crate::clock::epoch_ms())
}

/// [`tray_view`] at `now_ms` (epoch ms), the time running builds' progress is measured at.
pub fn tray_view_at(snapshot: &Snapshot, config: &Config, now_ms: i64) -> TrayView {
    let scope = tray_scope(config);
    let (counted, stale_servers) = counted_jobs(snapshot, &scope, now_ms);
    let several_servers = snapshot.servers.len() > 1;

    let worst = counted
        .values()
        .map(|c| c.severity)
        .max()
        .unwrap_or(Severity::NoJobs);
    let any_stale = !stale_servers.is_empty() || worst == Severity::Stale;
    let building: Vec<&Counted> = counted.values().filter(|c| c.building).collect();

    let mut problems: Vec<ProblemJob> = Vec::new();
    for wanted in [JobState::Failure, JobState::Unstable] {
        for c in counted.values().filter(|c| c.state == wanted) {
            problems.push(ProblemJob {
                label: full_label(c.id, several_servers),
                url: c.url.to_owned(),
                state: c.state,
                building: c.building,
                blame: c.blame.map(|b| text::short(&b.who)),
                job: c.id.clone(),
                on_it: snapshot.acks.get(c.id).map(crate::ack::Ack::on_it),
                flaky: c.flaky,
                progress: c.progress.clone(),
            });
        }
    }
    // Tooltip names: fresh results only (a stale server's jobs are summed up as "unreachable").
    let names_of = |severity: Severity| -> Vec<String> {
        let jobs: Vec<&Counted> = counted
            .values()
            .filter(|c| c.severity == severity)
            .collect();
        short_names(&jobs, several_servers)
    };
    let failing = names_of(Severity::Failure);
    let unstable = names_of(Severity::Unstable);

    let state = match worst {
        Severity::Failure => TrayState::Failure,
        Severity::Unstable => TrayState::Unstable,
        _ if any_stale => TrayState::Unreachable,
        _ if !building.is_empty() => TrayState::Building,
        Severity::Success | Severity::Aborted | Severity::Unknown => TrayState::Success,
        _ => TrayState::NoJobs,
    };

    let mut clauses: Vec<String> = Vec::new();
    match state {
        TrayState::Failure | TrayState::Unstable => {
            if !failing.is_empty() {
                clauses.push(format!(
                    "{} failing: {}",
                    failing.len(),
                    capped(&failing, TOOLTIP_NAMES)
                ));
            }
            if !unstable.is_empty() {
                clauses.push(format!(
                    "{} unstable: {}",
                    unstable.len(),
                    capped(&unstable, TOOLTIP_NAMES)
                ));
            }
            if any_stale {
                clauses.push(stale_clause(snapshot, &stale_servers));
            }
            let rebuilding = problems.iter().filter(|p| p.building).count();
            if rebuilding > 0 {
                clauses.push(format!("{rebuilding} rebuilding"));
            }
        }
        TrayState::Unreachable => clauses.push(stale_clause(snapshot, &stale_servers)),
        TrayState::Building => {
            let jobs: Vec<&Counted> = building.clone();
            let names: Vec<String> = short_names(&jobs, several_servers)
                .into_iter()
                .zip(&jobs)
                .map(|(name, job)| match &job.progress {
                    Some(progress) => format!("{name} ({progress})"),
                    None => name,
                })
                .collect();
            clauses.push(format!("Building: {}", capped(&names, TOOLTIP_NAMES)));
            clauses.push(passing_clause(&counted, false));
        }
        TrayState::Success => clauses.push(passing_clause(&counted, true)),
        TrayState::NoJobs => clauses.push(no_jobs_clause(snapshot, config, &scope, counted.len())),
    }

    TrayView {
        state,
        tooltip: clauses.join(" · "),
        problems,
    }
}

/// The jobs the tray counts: the tube's ([`frame::tube_scope`]), or every job when no slot is mapped.
fn tray_scope(config: &Config) -> Scope<'_> {
    if config.slots.is_empty() {
        Scope::All
    } else {
        frame::tube_scope(config)
    }
}

/// The counted jobs (each once, by id) and the servers in scope that are not ok (even with no job listed:
/// before the first answer the strip shows a mapped job stale, so does the tray).
fn counted_jobs<'a>(
    snapshot: &'a Snapshot,
    scope: &Scope<'_>,
    now_ms: i64,
) -> (BTreeMap<&'a JobId, Counted<'a>>, BTreeSet<&'a str>) {
    let mut counted = BTreeMap::new();
    let mut stale_servers = BTreeSet::new();
    for target in snapshot.targets_in(scope) {
        let Some((name, server)) = snapshot.servers.get_key_value(target.server()) else {
            continue;
        };
        let stale = server.stale();
        if stale {
            stale_servers.insert(name.as_str());
        }
        for job in snapshot.jobs_of(&target) {
            let status = JobStatus {
                state: job.state,
                building: job.building,
                stale,
                acknowledged: snapshot.acks.get(&job.id).is_some(),
                flaky: snapshot.flaky.contains_key(&job.id),
                eta: crate::model::progress::Eta::of(job),
            };
            counted.insert(
                &job.id,
                Counted {
                    id: &job.id,
                    display_name: &job.display_name,
                    url: &job.url,
                    state: job.state,
                    building: job.building && !stale,
                    severity: Severity::of(status),
                    blame: job.last_build.as_ref().and_then(|b| b.blame.as_ref()),
                    flaky: status.flaky,
                    progress: status
                        .eta
                        .filter(|_| !stale)
                        .map(|eta| eta.at(now_ms).to_string()),
                },
            );
        }
    }
    (counted, stale_servers)
}

/// "api" normally; the decoded full name when two problem jobs share a display name.
fn short_names(jobs: &[&Counted], several_servers: bool) -> Vec<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for j in jobs {
        *seen.entry(j.display_name).or_default() += 1;
    }
    jobs.iter()
        .map(|j| {
            if seen.get(j.display_name).copied().unwrap_or(0) > 1 || j.display_name.is_empty() {
                full_label(j.id, several_servers)
            } else {
                text::short(j.display_name)
            }
        })
        .collect()
}

/// `team/api` (segments percent-decoded: `feature%2Fx` → `feature/x`), with `server: ` when useful; made
/// visible and cut ([`text::short`]).
fn full_label(id: &JobId, with_server: bool) -> String {
    let name = id.readable_name();
    if with_server {
        text::short(&format!("{}: {name}", id.server))
    } else {
        text::short(&name)
    }
}

/// "a, b, c +2" for a cap of 3.
pub fn capped(names: &[String], cap: usize) -> String {
    let shown = names
        .iter()
        .take(cap)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > cap {
        format!("{shown} +{}", names.len() - cap)
    } else {
        shown
    }
}

fn stale_clause(snapshot: &Snapshot, servers: &BTreeSet<&str>) -> String {
    if servers.is_empty() {
        return "Job states are stale".to_owned();
    }
    let parts: Vec<String> = servers
        .iter()
        .map(|name| {
            let state = snapshot.servers.get(*name).map(|s| &s.state);
            let name = text::short(name);
            match state {
                Some(ServerState::Connecting) => format!("connecting to {name}…"),
                Some(ServerState::AuthNeeded) => format!("{name} needs a login"),
                Some(ServerState::TokenRejected) => format!("{name} rejected the token"),
                _ => format!("{name} unreachable"),
            }
        })
        .collect();
    capped(&parts, TOOLTIP_NAMES)
}

fn passing_clause(counted: &BTreeMap<&JobId, Counted>, capital: bool) -> String {
    let n = counted.len();
    let all_success = counted.values().all(|c| {
        matches!(
            c.state,
            JobState::Success | JobState::Disabled | JobState::NotBuilt
        )
    });
    let text = match (n, all_success) {
        (1, true) => "1 job passing".to_owned(),
        (_, true) => format!("all {n} jobs passing"),
        (1, false) => "1 job, not failing".to_owned(),
        (_, false) => format!("{n} jobs, none failing"),
    };
    if capital { capitalise(&text) } else { text }
}

fn no_jobs_clause(snapshot: &Snapshot, config: &Config, scope: &Scope, counted: usize) -> String {
    if counted > 0 {
        return format!("{counted} jobs, none built");
    }
    if matches!(scope, Scope::Targets(_)) {
        return "No mapped jobs listed".to_owned();
    }
    if snapshot.servers.is_empty() && config.servers.is_empty() {
        return "No servers configured".to_owned();
    }
    "No jobs".to_owned()
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::Job;
    use crate::test_fixtures::{ci_ok, job, server};

    const ALL_JOBS: &str = "[[servers]]\nname = \"ci\"\nurl = \"http://ci.example/\"\n";

    fn config(text: &str) -> Config {
        Config::parse(text, None).unwrap()
    }

    fn ok(path: &str) -> Job {
        job("ci", path, JobState::Success)
    }

    #[test]
    fn all_passing() {
        let v = tray_view(&ci_ok(vec![ok("a"), ok("b"), ok("c")]), &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::Success);
        assert_eq!(v.tooltip, "All 3 jobs passing");
        assert!(v.problems.is_empty());
        let one = tray_view(&ci_ok(vec![ok("a")]), &config(ALL_JOBS));
        assert_eq!(one.tooltip, "1 job passing");
        let aborted = tray_view(
            &ci_ok(vec![ok("a"), job("ci", "b", JobState::Aborted)]),
            &config(ALL_JOBS),
        );
        assert_eq!(aborted.state, TrayState::Success);
        assert_eq!(aborted.tooltip, "2 jobs, none failing");
    }

    #[test]
    fn two_failing_name_both_and_carry_their_urls() {
        let s = ci_ok(vec![
            job("ci", "api", JobState::Failure),
            ok("docs"),
            job("ci", "web", JobState::Failure).building(),
        ]);
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(
            v.state,
            TrayState::Failure,
            "a rebuild never hides a failure"
        );
        assert_eq!(v.tooltip, "2 failing: api, web · 1 rebuilding");
        assert_eq!(
            v.problems,
            vec![
                ProblemJob {
                    label: "api".into(),
                    url: "http://ci.example/job/api/".into(),
                    state: JobState::Failure,
                    building: false,
                    blame: None,
                    job: JobId::new("ci", "api"),
                    on_it: None,
                    flaky: false,
                    progress: None,
                },
                ProblemJob {
                    label: "web".into(),
                    url: "http://ci.example/job/web/".into(),
                    state: JobState::Failure,
                    building: true,
                    blame: None,
                    job: JobId::new("ci", "web"),
                    on_it: None,
                    flaky: false,
                    progress: None,
                },
            ]
        );
    }

    #[test]
    fn a_problem_job_names_who_is_behind_its_build_made_visible_and_cut() {
        let mut api = job("ci", "api", JobState::Failure);
        api.last_build.as_mut().unwrap().blame = Some(Blame {
            who: "Mona".into(),
            what: Some("Fix the login test".into()),
        });
        let mut web = job("ci", "web", JobState::Unstable);
        web.last_build.as_mut().unwrap().blame = Some(Blame {
            who: format!("\u{202E}{}", "m".repeat(200)),
            what: None,
        });
        let v = tray_view(&ci_ok(vec![api, web, ok("docs")]), &config(ALL_JOBS));
        let blames: Vec<Option<String>> = v.problems.iter().map(|p| p.blame.clone()).collect();
        assert_eq!(blames[0].as_deref(), Some("Mona"), "the name alone");
        let cut = blames[1].as_deref().unwrap();
        assert!(
            cut.starts_with('\u{FFFD}') && cut.ends_with(text::ELLIPSIS),
            "{cut}"
        );
        assert_eq!(cut.chars().count(), text::MAX_NAME);
    }

    #[test]
    fn failures_come_before_unstable_jobs_in_the_tooltip_and_the_menu() {
        let s = ci_ok(vec![
            job("ci", "a-docs", JobState::Unstable),
            job("ci", "z-api", JobState::Failure),
        ]);
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::Failure);
        assert_eq!(v.tooltip, "1 failing: z-api · 1 unstable: a-docs");
        let labels: Vec<&str> = v.problems.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, vec!["z-api", "a-docs"]);
    }

    #[test]
    fn unstable_only() {
        let s = ci_ok(vec![ok("api"), job("ci", "docs", JobState::Unstable)]);
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::Unstable);
        assert_eq!(v.tooltip, "1 unstable: docs");
        assert_eq!(v.problems.len(), 1);
        assert_eq!(v.problems[0].url, "http://ci.example/job/docs/");
    }

    #[test]
    fn server_unreachable() {
        let mut s = Snapshot::default();
        s.servers.insert(
            "jenkins".into(),
            server(
                ServerState::Unreachable("timeout".into()),
                vec![job("jenkins", "a", JobState::Success)],
            ),
        );
        let cfg = config("[[servers]]\nname = \"jenkins\"\nurl = \"http://ci.example/\"\n");
        let v = tray_view(&s, &cfg);
        assert_eq!(v.state, TrayState::Unreachable);
        assert_eq!(v.tooltip, "jenkins unreachable");

        // Connecting and refused credentials say so.
        s.servers.get_mut("jenkins").unwrap().state = ServerState::Connecting;
        assert_eq!(tray_view(&s, &cfg).tooltip, "connecting to jenkins…");
        s.servers.get_mut("jenkins").unwrap().state = ServerState::TokenRejected;
        assert_eq!(tray_view(&s, &cfg).tooltip, "jenkins rejected the token");
    }

    #[test]
    fn a_fresh_failure_elsewhere_beats_an_unreachable_server() {
        let mut s = ci_ok(vec![job("ci", "api", JobState::Failure)]);
        s.servers.insert(
            "old".into(),
            server(ServerState::Unreachable("refused".into()), vec![]),
        );
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::Failure);
        assert_eq!(v.tooltip, "1 failing: api · old unreachable");
        assert_eq!(v.problems[0].label, "ci: api", "several servers: prefixed");
    }

    #[test]
    fn building_shows_when_nothing_is_broken() {
        let s = ci_ok(vec![ok("a"), job("ci", "b", JobState::Success).building()]);
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::Building);
        assert_eq!(v.tooltip, "Building: b · all 2 jobs passing");
    }

    #[test]
    fn building_jobs_with_an_estimate_say_how_far_they_are_in_the_tooltip_and_the_problem_lines() {
        const START: i64 = 1_764_000_000_000;
        let s = ci_ok(vec![
            ok("a"),
            job("ci", "b", JobState::Success).running_since(START, 8 * 60_000),
            job("ci", "c", JobState::Success).building(),
        ]);
        let v = tray_view_at(&s, &config(ALL_JOBS), START + 5 * 60_000);
        assert_eq!(
            v.tooltip,
            "Building: b (62 %, about 3 min left), c · all 3 jobs passing"
        );
        let late = tray_view_at(&s, &config(ALL_JOBS), START + 10 * 60_000);
        assert_eq!(
            late.tooltip,
            "Building: b (overdue by 2 min), c · all 3 jobs passing"
        );

        let broken = ci_ok(vec![
            job("ci", "api", JobState::Failure).running_since(START, 8 * 60_000),
        ]);
        let v = tray_view_at(&broken, &config(ALL_JOBS), START + 5 * 60_000);
        assert_eq!(
            v.problems[0].progress.as_deref(),
            Some("62 %, about 3 min left")
        );
    }

    #[test]
    fn nothing_mapped_and_no_jobs() {
        let v = tray_view(&ci_ok(vec![]), &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::NoJobs);
        assert_eq!(v.tooltip, "No jobs");
        let none = tray_view(&Snapshot::default(), &config(""));
        assert_eq!(none.state, TrayState::NoJobs);
        assert_eq!(none.tooltip, "No servers configured");
        assert_eq!(TrayView::default().state, TrayState::NoJobs);
        // Only disabled / never built jobs: nothing to report either.
        let idle = ci_ok(vec![job("ci", "x", JobState::Disabled)]);
        assert_eq!(tray_view(&idle, &config(ALL_JOBS)).state, TrayState::NoJobs);
    }

    #[test]
    fn the_name_list_is_capped() {
        let s = ci_ok(
            ["a", "b", "c", "d"]
                .iter()
                .map(|n| job("ci", n, JobState::Failure))
                .collect(),
        );
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(v.tooltip, "4 failing: a, b, c +1");
        assert_eq!(v.problems.len(), 4, "the menu lists them all");
        assert_eq!(capped(&[], 3), "");
    }

    #[test]
    fn mapped_scope_counts_only_mapped_jobs_once_each() {
        let text = format!(
            "{ALL_JOBS}[[slots]]\nled = 0\njob = \"f/a\"\n[[slots]]\nled = 1\nfolder = \"f\"\n"
        );
        let s = ci_ok(vec![
            ok("f/a"),
            ok("f/b"),
            job("ci", "other", JobState::Failure),
        ]);
        let v = tray_view(&s, &config(&text));
        assert_eq!(v.state, TrayState::Success, "unmapped failure ignored");
        assert_eq!(v.tooltip, "All 2 jobs passing", "f/a counted once");

        let all = config(&format!("{text}[aggregate]\nleds = []\nscope = \"all\"\n"));
        assert_eq!(tray_view(&s, &all).state, TrayState::Failure);

        // Mapped jobs the server does not list: nothing to show.
        let gone = format!("{ALL_JOBS}[[slots]]\nled = 0\njob = \"gone\"\n");
        let v = tray_view(&s, &config(&gone));
        assert_eq!(v.state, TrayState::NoJobs);
        assert_eq!(v.tooltip, "No mapped jobs listed");
    }

    #[test]
    fn duplicate_display_names_use_the_decoded_full_name() {
        let s = ci_ok(vec![
            job("ci", "api/feature%2Fx", JobState::Failure),
            job("ci", "web/feature%2Fx", JobState::Failure),
        ]);
        let mut s2 = s.clone();
        for j in s2.servers.get_mut("ci").unwrap().jobs.values_mut() {
            j.display_name = "feature/x".into();
        }
        let v = tray_view(&s2, &config(ALL_JOBS));
        assert_eq!(v.tooltip, "2 failing: api/feature/x, web/feature/x");
        assert_eq!(v.problems[0].label, "api/feature/x");
    }

    #[test]
    fn a_long_hostile_name_is_cut_and_made_visible_in_the_tooltip_and_the_menu() {
        let hostile = format!("\x1b]0;evil\x07\u{202E}<b>{}", "n".repeat(500));
        let mut s = ci_ok(vec![job("ci", "api", JobState::Failure), ok("web")]);
        let j = s
            .servers
            .get_mut("ci")
            .unwrap()
            .jobs
            .values_mut()
            .next()
            .unwrap();
        j.display_name = hostile.clone();
        j.id = JobId::new("ci", &hostile);
        let v = tray_view(&s, &config(ALL_JOBS));
        // Ten characters before the n's, the ellipsis last: MAX_NAME in all.
        let shown = format!(
            "\u{FFFD}]0;evil\u{FFFD}\u{FFFD}<b>{}…",
            "n".repeat(text::MAX_NAME - 14)
        );
        assert_eq!(v.tooltip, format!("1 failing: {shown}"));
        assert_eq!(v.problems[0].label, shown);

        let entries = crate::tray::menu_entries(&crate::tray::TrayModel {
            view: v,
            ..Default::default()
        });
        let texts: Vec<&str> = entries
            .iter()
            .filter_map(|e| match e {
                crate::tray::MenuEntry::Item { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(texts[0], format!("1 failing: {shown}"), "the summary line");
        assert_eq!(texts[1], format!("{shown} (failing)"));
        for t in texts {
            assert!(!t.chars().any(text::is_hidden_control), "{t:?}");
            assert!(t.chars().count() <= text::MAX_NAME + 20, "{t:?}");
        }
    }

    #[test]
    fn a_hostile_name_with_several_servers_is_cut_with_its_server_prefix() {
        let mut s = ci_ok(vec![job("ci", &"x".repeat(300), JobState::Unstable)]);
        s.servers.insert(
            "old".into(),
            server(ServerState::Ok, vec![job("old", "a\nb", JobState::Failure)]),
        );
        let v = tray_view(&s, &config(ALL_JOBS));
        let labels: Vec<&str> = v.problems.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(
            labels,
            vec![
                "old: a\u{FFFD}b".to_owned(),
                format!("ci: {}…", "x".repeat(text::MAX_NAME - 5)),
            ]
        );
    }
}
