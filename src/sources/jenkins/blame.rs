//! "Who broke it" for Jenkins: the one follow-up request for a build that broke, and its answer.
//!
//! The regular poll's `tree=` query stays one request and never asks for changes (a change set is large,
//! and most polls see no new build). When a job breaks, the poller asks its [`Source::blame`] once for
//! that build: `{build url}api/json?tree=culprits[fullName],changeSet[…],changeSets[…]`.
//!
//! | field                                   | what it is                                              |
//! |-----------------------------------------|---------------------------------------------------------|
//! | `culprits[].fullName`                   | everyone whose changes went in since the last good build |
//! | `changeSet.items[]` (freestyle, matrix) | this build's changes: `author.fullName` and `msg`       |
//! | `changeSets[].items[]` (pipelines)      | the same, one change set per checkout                   |
//!
//! The blame is the first change of this build whose author is a culprit (any author when Jenkins
//! names no culprits) with the first line of its message; else the first culprit alone; else nobody
//! (a build started by hand or a timer, with no changes). Like every answer it is hostile: fields of the
//! wrong type read as missing, names and messages are trimmed and cut to [`MAX_TEXT`] characters here
//! and made visible where they are shown.
//!
//! [`Source::blame`]: crate::sources::Source::blame

use std::io::Read;

use percent_encoding::utf8_percent_encode;
use serde::Deserialize;

use super::lenient::{List, Object, Scalar};
use super::parse::ParseError;
use crate::model::Blame;
use crate::text;

/// What the follow-up asks for: culprits and both shapes of change sets, nothing else.
pub const TREE: &str = "culprits[fullName],changeSet[items[author[fullName],msg]],\
                        changeSets[items[author[fullName],msg]]";

/// A name or a message line keeps at most this many characters.
pub const MAX_TEXT: usize = 200;

/// The follow-up's URL for the build page `build_url` (ending in `/`).
pub fn url(build_url: &str) -> String {
    format!(
        "{build_url}api/json?tree={}",
        utf8_percent_encode(TREE, super::tree::QUERY)
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawBuild {
    culprits: List<Object<Person>>,
    #[serde(rename = "changeSet")]
    change_set: Object<ChangeSet>,
    #[serde(rename = "changeSets")]
    change_sets: List<Object<ChangeSet>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Person {
    #[serde(rename = "fullName")]
    full_name: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChangeSet {
    items: List<Object<Change>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Change {
    author: Object<Person>,
    msg: Scalar,
}

/// Reads a build's answer to [`url`]: who is behind it, if anybody.
pub fn parse(body: impl Read) -> Result<Option<Blame>, ParseError> {
    let raw: RawBuild = super::parse::object(body)?;
    let culprits: Vec<String> = items(raw.culprits)
        .filter_map(|p| clean(&p.full_name))
        .collect();
    let sets = std::iter::once(raw.change_set.0).chain(items(raw.change_sets).map(Some));
    let changes: Vec<(String, Option<String>)> = sets
        .flatten()
        .flat_map(|set| items(set.items))
        .filter_map(|c| {
            let who = clean(&c.author.0?.full_name)?;
            let what = c
                .msg
                .as_str()
                .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
                .map(|l| text::truncate(l, MAX_TEXT).into_owned());
            Some((who, what))
        })
        .collect();
    let by_culprit = changes
        .iter()
        .find(|(who, _)| culprits.is_empty() || culprits.contains(who));
    Ok(match (by_culprit, culprits.first()) {
        (Some((who, what)), _) => Some(Blame {
            who: who.clone(),
            what: what.clone(),
        }),
        (None, Some(who)) => Some(Blame {
            who: who.clone(),
            what: None,
        }),
        (None, None) => None,
    })
}

/// The present items of a list (a missing or mistyped list has none).
fn items<T>(list: List<Object<T>>) -> impl Iterator<Item = T> {
    let items = match list {
        List::Items(items) => items,
        List::Missing | List::Other => Vec::new(),
    };
    items.into_iter().filter_map(|o| o.0)
}

/// A name: a non-blank string, trimmed and cut.
fn clean(value: &Scalar) -> Option<String> {
    let s = value.as_str()?.trim();
    (!s.is_empty()).then(|| text::truncate(s, MAX_TEXT).into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::{Value, json};

    fn blame(v: &Value) -> Option<Blame> {
        parse(v.to_string().as_bytes()).unwrap()
    }

    fn mona(what: Option<&str>) -> Option<Blame> {
        Some(Blame {
            who: "Mona Lisa".into(),
            what: what.map(str::to_owned),
        })
    }

    #[test]
    fn a_freestyle_build_names_the_culprit_with_the_first_line_of_their_change() {
        let v = json!({"_class": "hudson.model.FreeStyleBuild",
        "culprits": [{"_class": "hudson.model.User", "fullName": "Mona Lisa"}],
        "changeSet": {"_class": "hudson.plugins.git.GitChangeSetList", "items": [
            {"_class": "hudson.plugins.git.GitChangeSet", "author": {"fullName": "Mona Lisa"},
             "msg": "Fix the login test (#412)\n\nThe token expired."}
        ]}});
        assert_eq!(blame(&v), mona(Some("Fix the login test (#412)")));
    }

    #[test]
    fn a_pipeline_build_reads_its_change_sets() {
        let v = json!({"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
        "culprits": [{"fullName": "Mona Lisa"}],
        "changeSets": [
            {"items": [{"author": {"fullName": "Hubot"}, "msg": "Bump the version"}]},
            {"items": [{"author": {"fullName": "Mona Lisa"}, "msg": "Fix the login test"}]}
        ]});
        assert_eq!(
            blame(&v),
            mona(Some("Fix the login test")),
            "the change of a culprit, not a bot's that Jenkins does not blame"
        );
    }

    #[test]
    fn without_culprits_the_first_author_is_named_and_without_changes_the_first_culprit() {
        let v = json!({"changeSets": [{"items": [
            {"author": {"fullName": "Mona Lisa"}, "msg": "  \n  Fix the login test  "}
        ]}]});
        assert_eq!(blame(&v), mona(Some("Fix the login test")));
        let v = json!({"culprits": [{"fullName": " Mona Lisa "}, {"fullName": "Hubot"}],
            "changeSet": {"items": []}});
        assert_eq!(
            blame(&v),
            mona(None),
            "an earlier build's culprit, no change of this one"
        );
    }

    #[test]
    fn a_build_nobody_changed_blames_nobody() {
        assert_eq!(
            blame(&json!({"culprits": [], "changeSet": {"items": []}})),
            None
        );
        assert_eq!(
            blame(&json!({"_class": "hudson.model.FreeStyleBuild"})),
            None
        );
    }

    #[test]
    fn hostile_fields_read_as_missing_and_long_text_is_cut() {
        let long = "x".repeat(10_000);
        let v = json!({
        "culprits": "everyone",
        "changeSet": [1, 2],
        "changeSets": [null, {"items": [
            {"author": null, "msg": "orphan"},
            {"author": {"fullName": 42}, "msg": "numbered"},
            {"author": {"fullName": "   "}, "msg": "blank"},
            {"author": {"fullName": long}, "msg": {"not": "text"}}
        ]}]});
        let b = blame(&v).unwrap();
        assert_eq!(b.who.chars().count(), MAX_TEXT);
        assert!(b.who.ends_with(text::ELLIPSIS));
        assert_eq!(b.what, None);
        assert!(parse(&b"[]"[..]).is_err());
        assert!(parse(&b"<html>"[..]).is_err());
    }

    #[test]
    fn the_follow_up_asks_for_culprits_and_both_change_set_shapes_only() {
        let u = url("https://ci/jenkins/job/api/12/");
        assert!(
            u.starts_with("https://ci/jenkins/job/api/12/api/json?tree=culprits%5BfullName%5D,")
        );
        assert!(!u.contains('[') && !u.contains(' '), "{u}");
        assert!(!TREE.contains(char::is_whitespace), "{TREE}");
        assert!(TREE.contains("changeSet[items[author[fullName],msg]]"));
        assert!(TREE.contains("changeSets[items[author[fullName],msg]]"));
    }
}
