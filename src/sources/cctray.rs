//! cctray feeds (GoCD `/go/cctray.xml`, Concourse, TeamCity, CircleCI, Buildkite, Jenkins' cctray
//! plugin…): one GET per poll through [`crate::sources::http`], parsed with a real XML parser
//! (`roxmltree`: no DTDs, so no entity expansion), every value treated as hostile.
//!
//! A `<Project>`'s attributes map to a job:
//!
//! | attribute         | job                                                                        |
//! |-------------------|----------------------------------------------------------------------------|
//! | `name`            | the path: levels split at ` :: ` (GoCD's `pipeline :: stage :: job`)      |
//! | `lastBuildStatus` | `Success` → success; `Failure`, `Exception` → failure; else unknown        |
//! | `activity`        | `Building` → building (the LED pulses the last result's colour)            |
//! | `lastBuildLabel`  | the build number: the label itself when it is a number, else a counter that |
//! |                   | goes up each time the label changes; while building, the next number       |
//! | `lastBuildTime`   | the build's start time (ISO 8601; without a zone it is taken as UTC)       |
//! | `webUrl`          | the job's and the build's page (http(s) only)                              |
//!
//! cctray names nobody: "who broke it" is not in the feed.

use std::collections::HashMap;
use std::io::Read;

use parking_lot::Mutex;

use crate::config::kinds::{CCTRAY_LEVELS, encode_level};
use crate::model::{Build, Job, JobId, JobState};
use crate::sources::http::{self, Accept, Fetched, Get, HttpClient, HttpSettings};
use crate::sources::{self, Fetch, Listing, Source, SourceError};

/// One feed as the client needs it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    /// The feed's URL (`…/cctray.xml`, `…/cc.xml`).
    pub url: String,
    pub http: HttpSettings,
}

/// A client for one feed. Keeps the label counters of projects whose labels are not numbers.
#[derive(Debug)]
pub struct Client {
    settings: Settings,
    http: HttpClient,
    counters: Mutex<HashMap<String, Counter>>,
}

/// The build number of a project whose label is not a number: up by one on each new label.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Counter {
    label: String,
    number: u64,
}

/// Projects beyond this many in one feed are left out (a feed that size is a mistake or an attack).
pub const MAX_PROJECTS: usize = 20_000;
/// Attribute values are cut to this many characters.
const MAX_VALUE: usize = 2_000;

impl Client {
    pub fn new(settings: Settings) -> Result<Self, SourceError> {
        let http = HttpClient::new(&settings.http)?;
        Ok(Self {
            settings,
            http,
            counters: Mutex::new(HashMap::new()),
        })
    }
}

impl Source for Client {
    fn fetch(&self) -> Result<Listing, SourceError> {
        match self.fetch_since(None)? {
            Fetch::Fresh { listing, .. } => Ok(listing),
            // Only a digest given can be matched.
            Fetch::Same { .. } => Err(SourceError::BadAnswer {
                url: http::without_query(&self.settings.url),
                what: "cctray XML",
                reason: "an unchanged answer to a first poll".to_owned(),
            }),
        }
    }

    /// [`Source::fetch`], with a digest of the feed's bytes: a feed that is the same as at the poll whose
    /// digest is `since` is [`Fetch::Same`], not parsed (and its label counters stay as they are).
    fn fetch_since(&self, since: Option<u64>) -> Result<Fetch, SourceError> {
        let url = &self.settings.url;
        let shown = http::without_query(url);
        let get = Get {
            url,
            accept: Accept::Xml,
            if_none_match: None,
        };
        let text = match self.http.get(get, |body| read_text(&shown, body))? {
            Fetched::Fresh(answer) => answer.value,
            Fetched::NotModified(_) => {
                return Err(SourceError::Status {
                    url: shown,
                    status: 304,
                });
            }
        };
        let digest = sources::digest(0, text.as_bytes());
        if since == Some(digest) {
            return Ok(Fetch::Same { requests: 1 });
        }
        let projects = parse(&text).map_err(|reason| SourceError::BadAnswer {
            url: shown.clone(),
            what: "cctray XML",
            reason,
        })?;
        let mut counters = self.counters.lock();
        let jobs = projects
            .into_iter()
            .map(|p| p.into_job(&self.settings.name, &mut counters))
            .collect();
        Ok(Fetch::Fresh {
            listing: Listing {
                jobs,
                version: None,
                requests: 1,
                rate_left: None,
                upstream: None,
                relayed: Vec::new(),
            },
            digest: Some(digest),
        })
    }
}

fn read_text(url: &str, body: &mut dyn Read) -> Result<String, SourceError> {
    let mut bytes = Vec::new();
    body.read_to_end(&mut bytes)
        .map_err(|e| http::body_error(url, &e))?;
    String::from_utf8(bytes).map_err(|e| SourceError::BadAnswer {
        url: url.to_owned(),
        what: "cctray XML",
        reason: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })
}

/// One `<Project>` as the feed wrote it (values cut to a sane length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub name: String,
    pub activity: String,
    pub status: String,
    pub label: Option<String>,
    pub time: Option<String>,
    pub web_url: Option<String>,
}

/// The projects of a cctray document. Projects without a name are skipped; a document that is not XML
/// or whose root is not `<Projects>` is an error saying so.
pub fn parse(text: &str) -> Result<Vec<Project>, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML: {e}"))?;
    let root = doc.root_element();
    if !root.has_tag_name("Projects") {
        return Err(format!(
            "the root element is <{}>, not <Projects> (is this a cctray feed?)",
            crate::text::short(root.tag_name().name())
        ));
    }
    let attr = |node: roxmltree::Node<'_, '_>, name: &str| {
        node.attribute(name)
            .map(|v| crate::text::truncate(v.trim(), MAX_VALUE).into_owned())
            .filter(|v| !v.is_empty())
    };
    Ok(root
        .descendants()
        .filter(|n| n.has_tag_name("Project"))
        .filter_map(|n| {
            Some(Project {
                name: attr(n, "name")?,
                activity: attr(n, "activity").unwrap_or_default(),
                status: attr(n, "lastBuildStatus").unwrap_or_default(),
                label: attr(n, "lastBuildLabel"),
                time: attr(n, "lastBuildTime"),
                web_url: attr(n, "webUrl").filter(|u| crate::weburl::is_web_url(u)),
            })
        })
        .take(MAX_PROJECTS)
        .collect())
}

/// `lastBuildStatus` as a job state.
pub fn state_of(status: &str) -> JobState {
    match status {
        "Success" => JobState::Success,
        "Failure" | "Exception" => JobState::Failure,
        _ => JobState::Unknown,
    }
}

/// `lastBuildTime` as epoch milliseconds: RFC 3339, or a local-less `YYYY-MM-DDTHH:MM:SS[.fff]` read as
/// UTC (some servers leave the zone out).
pub fn time_of(text: &str) -> Option<i64> {
    if let Some(ms) = super::epoch_ms_of(text) {
        return Some(ms);
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

impl Project {
    fn into_job(self, server: &str, counters: &mut HashMap<String, Counter>) -> Job {
        let path: Vec<String> = self
            .name
            .split(CCTRAY_LEVELS)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(encode_level)
            .collect();
        let display_name = self
            .name
            .rsplit(CCTRAY_LEVELS)
            .next()
            .unwrap_or(&self.name)
            .trim()
            .to_owned();
        let building = self.activity == "Building";
        let state = state_of(&self.status);
        let number = self
            .label
            .as_deref()
            .map(|label| match label.parse::<u64>() {
                Ok(n) => n,
                Err(_) => {
                    let counter = counters.entry(self.name.clone()).or_insert(Counter {
                        label: label.to_owned(),
                        number: 1,
                    });
                    if counter.label != label {
                        counter.label = label.to_owned();
                        counter.number = counter.number.saturating_add(1);
                    }
                    counter.number
                }
            });
        // Like Jenkins' `lastBuild`, the number is the running build's while one runs.
        let number = number.map(|n| if building { n.saturating_add(1) } else { n });
        let url = self.web_url.unwrap_or_default();
        let last_build = number.map(|number| Build {
            number,
            result: (state != JobState::Unknown).then_some(state),
            building,
            timestamp_ms: self.time.as_deref().and_then(time_of),
            estimated_ms: None,
            url: (!url.is_empty()).then(|| url.clone()),
            blame: None,
        });
        Job {
            id: JobId {
                server: server.to_owned(),
                path,
            },
            display_name,
            url,
            state,
            building,
            last_build,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const FEED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Projects>
  <Project name="build-linux :: test :: unit" activity="Sleeping" lastBuildStatus="Success"
           lastBuildLabel="142" lastBuildTime="2026-11-30T09:15:00Z"
           webUrl="https://gocd.example.com/go/tab/build/detail/build-linux/142/test/1/unit"/>
  <Project name="build-linux :: test :: lint" activity="Building" lastBuildStatus="Failure"
           lastBuildLabel="141" lastBuildTime="2026-11-30T09:10:00.250+01:00"
           webUrl="https://gocd.example.com/go/lint"/>
  <Project name="acme/api (main)" activity="CheckingModifications" lastBuildStatus="Exception"
           lastBuildLabel="v1.2-rc" webUrl="javascript:alert(1)"/>
  <Project name="Dokumentation Ü &amp; mehr" activity="Sleeping" lastBuildStatus="Pending"/>
  <Project activity="Sleeping" lastBuildStatus="Success"/>
</Projects>"#;

    fn jobs(text: &str, counters: &mut HashMap<String, Counter>) -> Vec<Job> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|p| p.into_job("gocd", counters))
            .collect()
    }

    #[test]
    fn a_feed_with_the_same_bytes_is_the_same_answer_and_a_changed_one_is_listed() {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/go/cctray.xml",
            server.server_addr().to_ip().unwrap()
        );
        let changed = FEED.replacen(
            "lastBuildStatus=\"Success\"",
            "lastBuildStatus=\"Failure\"",
            1,
        );
        let served = [FEED.to_owned(), FEED.to_owned(), changed];
        let feed = std::thread::spawn(move || {
            for body in served {
                let ct = tiny_http::Header::from_bytes("Content-Type", "application/xml").unwrap();
                let req = server.recv().unwrap();
                req.respond(tiny_http::Response::from_string(body).with_header(ct))
                    .unwrap();
            }
        });
        let client = Client::new(Settings {
            name: "gocd".to_owned(),
            url,
            http: HttpSettings::new(std::time::Duration::from_secs(10)),
        })
        .unwrap();
        let Fetch::Fresh {
            listing,
            digest: Some(first),
        } = client.fetch_since(None).unwrap()
        else {
            panic!("a first poll lists the feed, with a digest");
        };
        assert_eq!(listing.jobs.len(), 4);
        assert_eq!(
            client.fetch_since(Some(first)).unwrap(),
            Fetch::Same { requests: 1 }
        );
        let Fetch::Fresh {
            listing,
            digest: Some(third),
        } = client.fetch_since(Some(first)).unwrap()
        else {
            panic!("a changed feed is listed");
        };
        assert_ne!(third, first);
        assert_eq!(listing.jobs[0].state, JobState::Failure);
        feed.join().unwrap();
    }

    #[test]
    fn a_feed_becomes_jobs_with_levels_states_and_builds() {
        let jobs = jobs(FEED, &mut HashMap::new());
        assert_eq!(jobs.len(), 4, "the project without a name is skipped");
        let unit = &jobs[0];
        assert_eq!(unit.id.path, ["build-linux", "test", "unit"]);
        assert_eq!(unit.display_name, "unit");
        assert_eq!(unit.state, JobState::Success);
        assert!(!unit.building);
        let build = unit.last_build.as_ref().unwrap();
        assert_eq!(build.number, 142);
        assert_eq!(build.timestamp_ms, Some(1_796_030_100_000));
        assert_eq!(
            build.url.as_deref(),
            Some("https://gocd.example.com/go/tab/build/detail/build-linux/142/test/1/unit")
        );

        let lint = &jobs[1];
        assert_eq!(lint.state, JobState::Failure);
        assert!(lint.building, "activity Building");
        assert_eq!(
            lint.last_build.as_ref().unwrap().number,
            142,
            "the running build"
        );
        assert_eq!(
            lint.last_build.as_ref().unwrap().timestamp_ms,
            Some(1_796_026_200_250),
            "with its zone"
        );

        let api = &jobs[2];
        assert_eq!(
            api.id.path,
            ["acme%2Fapi (main)"],
            "one level, its slash kept"
        );
        assert_eq!(api.state, JobState::Failure, "Exception is a failure");
        assert!(!api.building, "CheckingModifications is not a build");
        assert_eq!(api.url, "", "a javascript: link is dropped");

        assert_eq!(jobs[3].display_name, "Dokumentation Ü & mehr");
        assert_eq!(jobs[3].state, JobState::Unknown, "an unknown status");
        assert_eq!(jobs[3].last_build, None, "no label, no build");
    }

    #[test]
    fn a_label_that_is_not_a_number_counts_up_when_it_changes() {
        let feed = |label: &str| {
            format!(
                "<Projects><Project name=\"web\" activity=\"Sleeping\" lastBuildStatus=\"Success\" \
                 lastBuildLabel=\"{label}\"/></Projects>"
            )
        };
        let mut counters = HashMap::new();
        let number =
            |c: &mut HashMap<String, Counter>, l: &str| jobs(&feed(l), c)[0].last_build.clone();
        assert_eq!(number(&mut counters, "abc123").unwrap().number, 1);
        assert_eq!(
            number(&mut counters, "abc123").unwrap().number,
            1,
            "same label"
        );
        assert_eq!(
            number(&mut counters, "def456").unwrap().number,
            2,
            "a new build"
        );
    }

    #[test]
    fn documents_that_are_not_cctray_say_what_they_are() {
        assert!(
            parse("<html><body>Login</body></html>")
                .unwrap_err()
                .contains("<html>")
        );
        assert!(parse("{\"jobs\": []}").unwrap_err().starts_with("not XML"));
        assert!(
            parse("<Projects><Project name=\"a\"")
                .unwrap_err()
                .starts_with("not XML")
        );
        let bomb = "<!DOCTYPE Projects [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>\
                    <Projects><Project name=\"&b;\"/></Projects>";
        assert!(parse(bomb).is_err(), "no DTDs, no entity expansion");
        assert_eq!(parse("<Projects/>").unwrap(), vec![]);
    }

    #[test]
    fn hostile_values_are_cut_and_numbers_saturate() {
        let long = "x".repeat(10_000);
        let text = format!(
            "<Projects><Project name=\"{long}\" activity=\"Building\" lastBuildStatus=\"Success\" \
             lastBuildLabel=\"18446744073709551615\" lastBuildTime=\"yesterday\"/></Projects>"
        );
        let jobs = jobs(&text, &mut HashMap::new());
        assert!(jobs[0].display_name.chars().count() <= MAX_VALUE);
        let build = jobs[0].last_build.as_ref().unwrap();
        assert_eq!(build.number, u64::MAX, "saturates while building");
        assert_eq!(build.timestamp_ms, None, "an unreadable time is no time");
    }
}
