//! Turns a Jenkins `api/json` answer (a nested `tree=` listing) into jobs, leniently: unknown colours,
//! `null` builds, missing fields, fields of the wrong type and foreign item types never fail the whole
//! poll. The answer, read into memory, is deserialised straight into typed items whose strings borrow
//! from the body (no JSON tree of the whole body is built, and a name is copied once: into its job), so
//! a 10,000-job answer costs little more memory than the body and the jobs it lists.

use std::io::Read;

use serde::Deserialize;

use super::lenient::{Field, List, Object};
use crate::model::{Build, Job, JobId, JobState, split_full_name};
use crate::sources::jenkins::tree::job_url;

/// What one answer held: the jobs, and the containers whose children were cut off by the query depth
/// (they need a follow-up request).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Listing {
    pub jobs: Vec<Job>,
    pub truncated: Vec<Vec<String>>,
}

/// Where a listing came from, to name and link its jobs.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The source (server) name for job ids.
    pub server: &'a str,
    /// The configured base URL, ending in `/`.
    pub base: &'a str,
}

/// Why an answer is not a listing.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Reading the body failed (the connection broke, or the answer is larger than the cap).
    #[error("{0}")]
    Read(std::io::Error),
    /// Not JSON, or not the shape of a Jenkins answer.
    #[error("{0}")]
    Invalid(String),
}

/// An item of a `jobs` (or `activeConfigurations`) list, with the fields the query asks for.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Item<'a> {
    #[serde(rename = "_class", borrow)]
    class: Field<'a>,
    #[serde(borrow)]
    name: Field<'a>,
    #[serde(rename = "fullName", borrow)]
    full_name: Field<'a>,
    #[serde(rename = "displayName", borrow)]
    display_name: Field<'a>,
    #[serde(borrow)]
    url: Field<'a>,
    #[serde(borrow)]
    color: Field<'a>,
    #[serde(rename = "lastBuild", borrow)]
    last_build: Object<RawBuild<'a>>,
    #[serde(rename = "activeConfigurations", borrow)]
    active_configurations: List<Object<Item<'a>>>,
    #[serde(borrow)]
    jobs: List<Object<Item<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawBuild<'a> {
    #[serde(borrow)]
    number: Field<'a>,
    #[serde(borrow)]
    result: Field<'a>,
    #[serde(borrow)]
    building: Field<'a>,
    #[serde(borrow)]
    timestamp: Field<'a>,
}

/// Reads a Jenkins answer that must be one JSON object, streamed from `body` into `T` (leniently: a field
/// of the wrong type reads as absent). A broken connection is [`ParseError::Read`].
pub(crate) fn object<T: serde::de::DeserializeOwned>(body: impl Read) -> Result<T, ParseError> {
    let value: Object<T> = serde_json::from_reader(std::io::BufReader::new(body)).map_err(|e| {
        if e.is_io() {
            ParseError::Read(std::io::Error::from(e))
        } else {
            ParseError::Invalid(e.to_string())
        }
    })?;
    value
        .0
        .ok_or_else(|| ParseError::Invalid("the answer is not a JSON object".to_owned()))
}

/// Reads the `jobs` of the answer `body` (a Jenkins root, folder or view object). `parent` is the full
/// name path of the container that was requested (empty for the root or a view).
pub fn listing(ctx: Context<'_>, body: &[u8], parent: &[String]) -> Result<Listing, ParseError> {
    let root: Object<Item<'_>> =
        serde_json::from_slice(body).map_err(|e| ParseError::Invalid(e.to_string()))?;
    let root = root
        .0
        .ok_or_else(|| ParseError::Invalid("the answer is not a JSON object".to_owned()))?;
    let jobs = match root.jobs {
        List::Items(items) => items,
        List::Missing => {
            return Err(ParseError::Invalid(
                "the answer has no `jobs` list (is this a Jenkins URL?)".to_owned(),
            ));
        }
        List::Other => return Err(ParseError::Invalid("`jobs` is not a list".to_owned())),
    };
    let mut out = Listing::default();
    let links = Links::new(ctx.base);
    walk(ctx, &links, jobs, parent, &mut out);
    Ok(out)
}

fn walk(
    ctx: Context<'_>,
    links: &Links<'_>,
    items: Vec<Object<Item<'_>>>,
    parent: &[String],
    out: &mut Listing,
) {
    for Object(item) in items {
        let Some(item) = item else {
            continue;
        };
        let Some(name) = item.name.as_str() else {
            // A `{"_class": …}` stub: the query stopped above this level. Fetch the parent again.
            if item.class.is_present() && !out.truncated.iter().any(|p| p == parent) {
                out.truncated.push(parent.to_vec());
            }
            continue;
        };
        let path = match item.full_name.as_str() {
            Some(full) if !full.is_empty() => split_full_name(full),
            _ => {
                let mut p = parent.to_vec();
                p.push(name.to_owned());
                p
            }
        };
        if path.iter().any(|seg| is_dot_segment(seg)) {
            // Not a name Jenkins gives; in a link it would climb above the job.
            continue;
        }
        if let List::Items(children) = item.jobs {
            // Anything with `jobs` is a container (folder, multibranch, organization folder…).
            walk(ctx, links, children, &path, out);
            continue;
        }
        if item.color.as_str().is_none() {
            // Not a job (a template, an agent definition…): nothing to show.
            continue;
        }
        let url = links.url(&item.url, || job_url(ctx.base, &path));
        let List::Items(configs) = &item.active_configurations else {
            out.jobs.push(job(ctx, &item, path, url));
            continue;
        };
        out.jobs.push(job(ctx, &item, path.clone(), url.clone()));
        for config in configs.iter().filter_map(|c| c.0.as_ref()) {
            let (Some(cname), Some(_)) = (config.name.as_str(), config.color.as_str()) else {
                continue;
            };
            if is_dot_segment(cname) {
                continue;
            }
            let mut cpath = path.clone();
            cpath.push(cname.to_owned());
            // Matrix configurations hang off the project URL without a `job/` prefix.
            let curl = links.url(&config.url, || {
                format!("{url}{}/", super::tree::encode_segment(cname))
            });
            out.jobs.push(job(ctx, config, cpath, curl));
        }
    }
}

/// A job from an item that has a name and a colour.
fn job(ctx: Context<'_>, item: &Item<'_>, path: Vec<String>, url: String) -> Job {
    let name = item.name.as_str().unwrap_or_default();
    let (state, anime) = JobState::from_color(item.color.as_str().unwrap_or_default());
    let last_build = item.last_build.0.as_ref().and_then(build);
    let building = anime || last_build.as_ref().is_some_and(|b| b.building);
    let display_name = item
        .display_name
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or(name)
        .to_owned();
    Job {
        id: JobId {
            server: ctx.server.to_owned(),
            path,
        },
        display_name,
        url,
        state,
        building,
        last_build,
    }
}

/// `.` and `..`: names Jenkins refuses (`checkGoodName`), and path steps in a URL.
fn is_dot_segment(segment: &str) -> bool {
    segment == "." || segment == ".."
}

/// Jenkins' own `url` is built from its *configured* root URL, which may not be the host we reach it
/// by: it is used only when it lives under our base URL ([`crate::weburl::is_within`]). Most answers
/// spell every link as the base followed by a plain path, which is checked without parsing a URL.
struct Links<'b> {
    base: &'b str,
    /// The base as typed is a plain `scheme://host/path/` (no query, fragment or escapes), so a link
    /// that starts with it and adds only plain path segments is within it.
    plain_base: bool,
}

impl<'b> Links<'b> {
    fn new(base: &'b str) -> Self {
        let plain_base = base.ends_with('/')
            && !base.contains(['?', '#', '%', '\\', '@'])
            && base.bytes().all(|b| b.is_ascii_graphic())
            && crate::weburl::check_server_url(base).is_ok_and(|u| u.as_str() == base);
        Links { base, plain_base }
    }

    /// The item's own `url` when it is within the base, else `fallback()`.
    fn url(&self, url: &Field<'_>, fallback: impl FnOnce() -> String) -> String {
        match url.as_str() {
            Some(u) if self.within(u) => u.to_owned(),
            _ => fallback(),
        }
    }

    fn within(&self, url: &str) -> bool {
        if self.plain_base
            && let Some(rest) = url.strip_prefix(self.base)
            && plain_path(rest)
        {
            return true;
        }
        crate::weburl::is_within(url, self.base)
    }
}

/// A path that a URL parser keeps as it is: printable ASCII, no backslash (a slash to the parser),
/// no query or fragment, and no `.` or `..` segment, spelled plainly or percent-encoded.
fn plain_path(rest: &str) -> bool {
    rest.bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'\\' | b'?' | b'#'))
        && !rest.split('/').any(|seg| {
            [".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"]
                .iter()
                .any(|dots| seg.eq_ignore_ascii_case(dots))
        })
}

/// `lastBuild`: `null`, missing or garbage (some plugins send the string "null") all mean "no build".
fn build(raw: &RawBuild<'_>) -> Option<Build> {
    Some(Build {
        number: raw.number.as_u64()?,
        result: raw.result.as_str().and_then(JobState::from_result),
        building: raw.building.as_bool().unwrap_or(false),
        timestamp_ms: raw.timestamp.as_i64(),
        url: None,
        blame: None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::{Value, json};

    const CTX: Context<'static> = Context {
        server: "ci",
        base: "https://ci.example.com/jenkins/",
    };

    /// The listing of an answer that is `v` as JSON text.
    fn listing(ctx: Context<'_>, v: &Value, parent: &[String]) -> Result<Listing, ParseError> {
        super::listing(ctx, v.to_string().as_bytes(), parent)
    }

    fn paths(l: &Listing) -> Vec<String> {
        l.jobs.iter().map(|j| j.id.full_name()).collect()
    }

    #[test]
    fn folders_are_recognised_by_their_jobs_whatever_their_class() {
        let v = json!({"_class": "hudson.model.Hudson", "jobs": [
            {"_class": "com.example.SomeNewFolderType", "name": "team", "fullName": "team", "jobs": [
                {"_class": "hudson.model.FreeStyleProject", "name": "api", "fullName": "team/api", "color": "red"}
            ]},
            {"_class": "com.cloudbees.DockerSlaveTemplate", "name": "template"},
            {"_class": "hudson.model.FreeStyleProject", "name": "web", "color": "blue_anime",
             "lastBuild": {"number": 7, "result": null, "building": true, "timestamp": 1}}
        ]});
        let l = listing(CTX, &v, &[]).unwrap();
        assert_eq!(paths(&l), vec!["team/api", "web"]);
        assert_eq!(l.jobs[0].state, JobState::Failure);
        assert!(l.jobs[1].building);
        assert_eq!(l.jobs[1].state, JobState::Success);
        assert_eq!(l.jobs[1].last_build.as_ref().unwrap().number, 7);
        assert!(l.truncated.is_empty());
    }

    #[test]
    fn class_only_stubs_mark_their_folder_for_a_follow_up() {
        let v = json!({"jobs": [
            {"name": "deep", "fullName": "deep", "jobs": [{"_class": "x.Folder"}, {"_class": "x.Job"}]}
        ]});
        let l = listing(CTX, &v, &[]).unwrap();
        assert_eq!(l.truncated, vec![vec!["deep".to_owned()]]);
        assert!(l.jobs.is_empty());
    }

    #[test]
    fn multibranch_branches_keep_their_encoded_name_and_show_the_decoded_one() {
        let v = json!({"jobs": [{"name": "repo", "fullName": "org/repo", "jobs": [
            {"name": "feature%2Flogin", "fullName": "org/repo/feature%2Flogin",
             "displayName": "feature/login", "color": "yellow",
             "url": "https://ci.example.com/jenkins/job/org/job/repo/job/feature%252Flogin/"}
        ]}]});
        let l = listing(CTX, &v, &["org".to_owned()]).unwrap();
        let j = &l.jobs[0];
        assert_eq!(j.id.path, vec!["org", "repo", "feature%2Flogin"]);
        assert_eq!(j.display_name, "feature/login");
        assert_eq!(j.state, JobState::Unstable);
        assert!(j.url.ends_with("/job/feature%252Flogin/"));
    }

    #[test]
    fn urls_from_a_foreign_root_are_rebuilt_from_the_path() {
        let v = json!({"jobs": [{"name": "a b", "color": "blue", "url": "http://wrong-host:8080/job/a%20b/"}]});
        let l = listing(CTX, &v, &[]).unwrap();
        assert_eq!(l.jobs[0].url, "https://ci.example.com/jenkins/job/a%20b/");
    }

    #[test]
    fn matrix_configurations_are_jobs_under_their_project() {
        let v = json!({"jobs": [{"name": "m", "color": "red", "activeConfigurations": [
            {"name": "jdk=17", "color": "blue"}, {"name": "jdk=21", "color": "red_anime"}
        ]}]});
        let l = listing(CTX, &v, &[]).unwrap();
        assert_eq!(paths(&l), vec!["m", "m/jdk=17", "m/jdk=21"]);
        assert_eq!(
            l.jobs[2].url,
            "https://ci.example.com/jenkins/job/m/jdk=17/".replace("17", "21")
        );
        assert!(l.jobs[2].building);
    }

    #[test]
    fn null_and_garbage_builds_mean_never_built() {
        let v = json!({"jobs": [
            {"name": "a", "color": "notbuilt", "lastBuild": null},
            {"name": "b", "color": "disabled", "lastBuild": "null"},
            {"name": "c", "color": "purple_sparkle"}
        ]});
        let l = listing(CTX, &v, &[]).unwrap();
        assert_eq!(l.jobs[0].last_build, None);
        assert_eq!(l.jobs[1].last_build, None);
        assert_eq!(l.jobs[1].state, JobState::Disabled);
        assert_eq!(l.jobs[2].state, JobState::Unknown);
    }

    #[test]
    fn dot_names_are_skipped_so_no_link_leaves_the_server_path() {
        // Found by fuzz/ (jenkins_listing): a matrix configuration named `..` under a project whose
        // `url` is the base linked to `https://ci.example.com/jenkins/../`, i.e. above the base.
        // Jenkins never names an item `.` or `..`.
        let v: Value = serde_json::from_slice(
            br#"{"jobs":[{"name":"m","color":"red","url":"https://ci.example.com/jenkins/","activeConfigurations":[{"name":"..","color":"blue"},{"name":"jdk=17","color":"blue"}]},{"name":".","color":"blue"},{"name":"ok","fullName":"team/../ok","color":"blue"}]}"#,
        )
        .unwrap();
        let l = listing(CTX, &v, &[]).unwrap();
        assert_eq!(paths(&l), vec!["m", "m/jdk=17"]);
        for job in &l.jobs {
            assert!(crate::weburl::is_within(&job.url, CTX.base), "{}", job.url);
        }
    }

    #[test]
    fn links_under_the_base_are_kept_and_any_that_would_climb_out_are_rebuilt() {
        let links = Links::new(CTX.base);
        assert!(links.plain_base);
        let base = CTX.base;
        for inside in [
            format!("{base}job/a/"),
            format!("{base}job/team/job/feature%252Flogin/"),
            format!("{base}job/a.b/job/..c/"),
        ] {
            assert!(links.within(&inside), "{inside}");
        }
        for outside in [
            format!("{base}../"),
            format!("{base}job/%2E%2e/%2e%2E/"),
            format!("{base}.%2E/x"),
            format!("{base}job\\..\\..\\"),
            format!("{base}job/\t../../"),
            "https://ci.example.com/other/job/a/".to_owned(),
            "https://ci.example.com:8443/jenkins/job/a/".to_owned(),
        ] {
            assert!(!links.within(&outside), "{outside}");
            assert!(!crate::weburl::is_within(&outside, base), "{outside}");
        }
        let odd = Links::new("https://ci.example.com/my%20jenkins/");
        assert!(!odd.plain_base, "an escaped base is checked by parsing");
        assert!(odd.within("https://ci.example.com/my%20jenkins/job/a/"));
    }

    #[test]
    fn an_answer_without_jobs_is_an_error() {
        assert!(listing(CTX, &json!({"mode": "NORMAL"}), &[]).is_err());
        assert!(listing(CTX, &json!([1, 2]), &[]).is_err());
    }
}
