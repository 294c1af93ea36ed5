//! The relay's `GET /cc.xml`: every job of every server as a cctray feed (cctray.org v1), so CCMenu,
//! BuildNotify, Nevergreen and ledtogo desks with `kind = "cctray"` can read it.
//!
//! | attribute         | from                                                                       |
//! |-------------------|----------------------------------------------------------------------------|
//! | `name`            | the job's full name path (`team-a/web`), `SERVER/` before it when the relay |
//! |                   | has more than one server                                                   |
//! | `activity`        | `Building` while a build runs, else `Sleeping`                              |
//! | `lastBuildStatus` | as Jenkins' own cctray plugin maps results ([`status_of`]); `Unknown` for   |
//! |                   | every job of a server the relay cannot read now, never its last green       |
//! | `lastBuildLabel`  | the number of the finished build the status comes from                     |
//! | `lastBuildTime`   | that build's start, ISO 8601 in UTC with `Z` (left out while a newer build  |
//! |                   | runs: the relay knows only the running build's start then)                 |
//! | `webUrl`          | the job page, only when it is a plain web address ([`weburl::is_web_url`])  |
//!
//! Every value goes through [`text::xml_attr`] (markup escaped, characters XML forbids dropped).
//! A ledtogo desk reading this feed with `kind = "cctray"` keys the job as one level (`team-a%2Fweb`,
//! the slash kept as in every cctray name with a `/`), which is also what `job = "team-a/web"` in its
//! slot means for a cctray server: the slot works through the relay as written for the Jenkins.

use std::fmt::Write as _;

use crate::model::{Job, JobState, Snapshot, finished_build};
use crate::{text, weburl};

/// The content type of the feed.
pub const CONTENT_TYPE: &str = "application/xml; charset=utf-8";

/// The cctray document of everything in `snapshot`.
pub fn write(snapshot: &Snapshot) -> String {
    let prefixed = snapshot.servers.len() > 1;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Projects>\n");
    for (server, state) in &snapshot.servers {
        let fine = state.state.is_ok();
        for job in state.jobs.values() {
            let name = if prefixed {
                format!("{server}/{}", job.id.full_name())
            } else {
                job.id.full_name()
            };
            project(&mut out, &name, job, fine);
        }
    }
    out.push_str("</Projects>\n");
    out
}

/// One `<Project …/>` line; `fine`: the job's server answered the last poll.
fn project(out: &mut String, name: &str, job: &Job, fine: bool) {
    let activity = if fine && job.building {
        "Building"
    } else {
        "Sleeping"
    };
    let status = if fine {
        status_of(job.state)
    } else {
        "Unknown"
    };
    write!(
        out,
        "  <Project name=\"{}\" activity=\"{activity}\" lastBuildStatus=\"{status}\"",
        text::xml_attr(name)
    )
    .ok();
    if let Some(label) = finished_build(job) {
        write!(out, " lastBuildLabel=\"{label}\"").ok();
    }
    if let Some(time) = last_build_time(job) {
        write!(out, " lastBuildTime=\"{time}\"").ok();
    }
    if weburl::is_web_url(&job.url) {
        write!(out, " webUrl=\"{}\"", text::xml_attr(&job.url)).ok();
    }
    out.push_str("/>\n");
}

/// `lastBuildStatus` of a job state, as Jenkins' cctray plugin maps its colours: only success is
/// `Success`; unstable, failed and aborted builds are `Failure`; the rest `Unknown`.
pub fn status_of(state: JobState) -> &'static str {
    match state {
        JobState::Success => "Success",
        JobState::Unstable | JobState::Failure | JobState::Aborted => "Failure",
        JobState::NotBuilt | JobState::Disabled | JobState::Unknown => "Unknown",
    }
}

/// The start of the finished build the status comes from, when the relay knows it: the last build's
/// timestamp unless a newer build runs.
fn last_build_time(job: &Job) -> Option<String> {
    let build = job.last_build.as_ref()?;
    if job.building || build.building {
        return None;
    }
    iso_time(build.timestamp_ms?)
}

/// Epoch milliseconds as ISO 8601 in UTC (`2026-11-30T09:15:00Z`, Jenkins' own cctray format);
/// `None` for a time chrono cannot show (a hostile timestamp).
pub fn iso_time(ms: i64) -> Option<String> {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::model::{Build, JobId, ServerSnapshot, ServerState};
    use crate::sources::cctray;

    fn job(server: &str, path: &str, state: JobState, building: bool) -> Job {
        Job {
            id: JobId::new(server, path),
            display_name: path.rsplit('/').next().unwrap().to_owned(),
            url: format!("https://ci.example.com/job/{path}/"),
            state,
            building,
            last_build: Some(Build {
                number: 42,
                result: (!building).then_some(state),
                building,
                timestamp_ms: Some(1_796_030_100_000),
                estimated_ms: None,
                url: None,
                blame: None,
            }),
        }
    }

    fn server(state: ServerState, jobs: Vec<Job>) -> ServerSnapshot {
        let mut s = ServerSnapshot::new();
        s.state = state;
        s.seen_ok = true;
        s.jobs = jobs.into_iter().map(|j| (j.id.path.clone(), j)).collect();
        s
    }

    fn one_server(jobs: Vec<Job>) -> Snapshot {
        let mut snapshot = Snapshot::default();
        snapshot
            .servers
            .insert("office".into(), server(ServerState::Ok, jobs));
        snapshot
    }

    fn attrs(xml: &str) -> Vec<std::collections::BTreeMap<String, String>> {
        let doc = roxmltree::Document::parse(xml).unwrap();
        assert!(doc.root_element().has_tag_name("Projects"));
        doc.root_element()
            .children()
            .filter(roxmltree::Node::is_element)
            .map(|n| {
                assert!(n.has_tag_name("Project"));
                n.attributes()
                    .map(|a| (a.name().to_owned(), a.value().to_owned()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn results_map_to_cctray_statuses_as_jenkins_cctray_plugin_maps_them() {
        let table = [
            (JobState::Success, "Success"),
            (JobState::Unstable, "Failure"),
            (JobState::Failure, "Failure"),
            (JobState::Aborted, "Failure"),
            (JobState::NotBuilt, "Unknown"),
            (JobState::Disabled, "Unknown"),
            (JobState::Unknown, "Unknown"),
        ];
        for (state, status) in table {
            assert_eq!(status_of(state), status, "{state}");
        }
    }

    #[test]
    fn a_job_becomes_a_project_with_every_attribute() {
        let xml = write(&one_server(vec![job(
            "office",
            "team-a/web",
            JobState::Unstable,
            false,
        )]));
        let projects = attrs(&xml);
        assert_eq!(projects.len(), 1);
        let p = &projects[0];
        assert_eq!(p["name"], "team-a/web", "one server: no prefix");
        assert_eq!(p["activity"], "Sleeping");
        assert_eq!(p["lastBuildStatus"], "Failure");
        assert_eq!(p["lastBuildLabel"], "42");
        assert_eq!(p["lastBuildTime"], "2026-11-30T09:15:00Z");
        assert_eq!(p["webUrl"], "https://ci.example.com/job/team-a/web/");
    }

    #[test]
    fn a_building_job_is_building_with_the_label_of_the_finished_build() {
        let xml = write(&one_server(vec![job(
            "office",
            "deploy",
            JobState::Failure,
            true,
        )]));
        let p = &attrs(&xml)[0];
        assert_eq!(p["activity"], "Building");
        assert_eq!(p["lastBuildStatus"], "Failure", "the last finished result");
        assert_eq!(
            p["lastBuildLabel"], "41",
            "the finished build, not the running #42"
        );
        assert!(
            !p.contains_key("lastBuildTime"),
            "the running build's start is not the finished build's"
        );
    }

    #[test]
    fn names_are_prefixed_with_the_server_when_there_are_several() {
        let mut snapshot = one_server(vec![job("office", "team-a/web", JobState::Success, false)]);
        snapshot.servers.insert(
            "lab".into(),
            server(
                ServerState::Ok,
                vec![job("lab", "nightly", JobState::Success, false)],
            ),
        );
        let names: Vec<String> = attrs(&write(&snapshot))
            .into_iter()
            .map(|p| p["name"].clone())
            .collect();
        assert_eq!(names, ["lab/nightly", "office/team-a/web"]);
    }

    #[test]
    fn jobs_of_a_server_that_cannot_be_read_are_unknown_never_their_last_green() {
        let mut snapshot = Snapshot::default();
        snapshot.servers.insert(
            "office".into(),
            server(
                ServerState::Unreachable("connection refused".into()),
                vec![
                    job("office", "web", JobState::Success, false),
                    job("office", "api", JobState::Success, true),
                ],
            ),
        );
        for p in attrs(&write(&snapshot)) {
            assert_eq!(p["lastBuildStatus"], "Unknown", "{p:?}");
            assert_eq!(p["activity"], "Sleeping", "{p:?}");
        }
    }

    #[test]
    fn hostile_names_and_urls_are_escaped_or_left_out() {
        let mut evil = job("office", "a", JobState::Success, false);
        evil.id.path = vec!["\"/><Project name=\"fake\u{0}".into(), "x&y".into()];
        evil.url = "javascript:alert(1)".into();
        let mut creds = job("office", "b", JobState::Success, false);
        creds.url = "https://alice:s3cret@ci.example.com/job/b/".into();
        let xml = write(&one_server(vec![evil, creds]));
        assert!(!xml.contains("s3cret"), "{xml}");
        let projects = attrs(&xml);
        assert_eq!(projects.len(), 2, "no injected project: {xml}");
        assert_eq!(projects[0]["name"], "\"/><Project name=\"fake/x&y");
        assert!(projects.iter().all(|p| !p.contains_key("webUrl")), "{xml}");
    }

    #[test]
    fn a_time_chrono_cannot_show_is_left_out() {
        let mut j = job("office", "a", JobState::Success, false);
        j.last_build.as_mut().unwrap().timestamp_ms = Some(i64::MAX);
        assert!(!attrs(&write(&one_server(vec![j])))[0].contains_key("lastBuildTime"));
        assert_eq!(iso_time(0).as_deref(), Some("1970-01-01T00:00:00Z"));
    }

    #[test]
    fn ledtogos_own_cctray_reader_reads_the_feed_back_to_the_same_ids_and_states() {
        let snapshot = one_server(vec![
            job("office", "team-a/web", JobState::Success, false),
            job("office", "team-a/api", JobState::Unstable, false),
            job("office", "shop/feature%2Flogin", JobState::Failure, true),
        ]);
        let projects = cctray::parse(&write(&snapshot)).unwrap();
        let kind = crate::config::ServerKind::Cctray;
        let read: Vec<(Vec<String>, JobState, bool)> = projects
            .iter()
            .map(|p| {
                (
                    kind.split_name(&p.name),
                    cctray::state_of(&p.status),
                    p.activity == "Building",
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                (
                    vec!["shop%2Ffeature%2Flogin".to_owned()],
                    JobState::Failure,
                    true
                ),
                (vec!["team-a%2Fapi".to_owned()], JobState::Failure, false),
                (vec!["team-a%2Fweb".to_owned()], JobState::Success, false),
            ]
        );
        // A desk's slot `job = "team-a/web"` on a cctray server names that same job.
        assert_eq!(kind.split_name("team-a/web"), ["team-a%2Fweb"]);
    }
}
