//! Turns a Jenkins `api/json` answer (a nested `tree=` listing) into jobs, leniently: unknown colours,
//! `null` builds, missing fields, fields of the wrong type and foreign item types never fail the whole
//! poll. The answer, read into memory, is walked as it is deserialised: each job is built as soon as its
//! item ends, from typed fields whose strings borrow from the body (no JSON tree of the whole body and no
//! tree of items is built, and a name is copied once: into its job), so a 10,000-job answer costs little
//! more memory than the body and the jobs it lists.

use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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

/// The most jobs [`listing`] reserves room for before reading them (a 64 MB answer's worth).
const MAX_RESERVED_JOBS: usize = 256 * 1024;

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

/// An item of a `jobs` (or `activeConfigurations`) list, with the fields the query asks for. While an
/// answer is walked, [`ItemSeed`] fills one per item and leaves `jobs` empty when it streamed them; the
/// derived `Deserialize` reads matrix configurations, and the children of a folder whose `jobs` came
/// before its name.
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
    #[serde(rename = "estimatedDuration", borrow)]
    estimated_duration: Field<'a>,
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
///
/// The jobs are built while the answer is read: a folder whose path is known when its `jobs` come (its
/// `fullName` came before them, or its `name` with a `fullName` that is no name; Jenkins sends both
/// before `jobs`) hands its children straight to the listing, so no tree of items is kept. A folder
/// whose fields come in another order has its children read into [`Item`]s first and walked when the
/// folder ends: the same jobs, more memory.
pub fn listing(ctx: Context<'_>, body: &[u8], parent: &[String]) -> Result<Listing, ParseError> {
    let mut walker = Walker {
        ctx,
        links: Links::new(ctx.base),
        out: Listing {
            // A job takes a few hundred bytes of the answer: reserving for one per 256 saves growing
            // (and copying) the list a dozen times; what is not filled is never touched.
            jobs: Vec::with_capacity((body.len() / 256).min(MAX_RESERVED_JOBS)),
            truncated: Vec::new(),
        },
    };
    let invalid = |e: serde_json::Error| ParseError::Invalid(e.to_string());
    let seed = RootSeed {
        walker: &mut walker,
        parent,
    };
    // A body that is UTF-8 as a whole (every Jenkins answer) is checked once, not string by string;
    // any other is read as bytes, where only the strings that are used must be UTF-8.
    let root = match std::str::from_utf8(body) {
        Ok(text) => {
            let mut de = serde_json::Deserializer::from_str(text);
            let root = seed.deserialize(&mut de).map_err(invalid)?;
            de.end().map_err(invalid)?;
            root
        }
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let root = seed.deserialize(&mut de).map_err(invalid)?;
            de.end().map_err(invalid)?;
            root
        }
    };
    match root {
        Some(ListKind::Listed) => Ok(walker.out),
        Some(ListKind::Missing) => Err(ParseError::Invalid(
            "the answer has no `jobs` list (is this a Jenkins URL?)".to_owned(),
        )),
        Some(ListKind::Other) => Err(ParseError::Invalid("`jobs` is not a list".to_owned())),
        None => Err(ParseError::Invalid(
            "the answer is not a JSON object".to_owned(),
        )),
    }
}

/// What the listing is built with while the answer is read.
struct Walker<'c> {
    ctx: Context<'c>,
    links: Links<'c>,
    out: Listing,
}

impl Walker<'_> {
    /// One item of a `jobs` list under `parent`. `streamed`: its own `jobs` list was a list whose items
    /// went into the listing as they were read (so it is a container, already walked).
    fn item(&mut self, item: Item<'_>, streamed: bool, parent: &[String]) {
        let Some(name) = item.name.as_str() else {
            // A `{"_class": …}` stub: the query stopped above this level. Fetch the parent again.
            if item.class.is_present() && !self.out.truncated.iter().any(|p| p == parent) {
                self.out.truncated.push(parent.to_vec());
            }
            return;
        };
        if streamed {
            return;
        }
        let Some(path) = item_path(&item, name, parent) else {
            // Not a name Jenkins gives; in a link it would climb above the job.
            return;
        };
        if let List::Items(children) = item.jobs {
            // Anything with `jobs` is a container (folder, multibranch, organization folder…).
            for child in children.into_iter().filter_map(|c| c.0) {
                self.item(child, false, &path);
            }
            return;
        }
        if item.color.as_str().is_none() {
            // Not a job (a template, an agent definition…): nothing to show.
            return;
        }
        let ctx = self.ctx;
        let url = self.links.url(&item.url, || job_url(ctx.base, &path));
        let List::Items(configs) = &item.active_configurations else {
            self.out.jobs.push(job(ctx, &item, path, url));
            return;
        };
        self.out
            .jobs
            .push(job(ctx, &item, path.clone(), url.clone()));
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
            let curl = self.links.url(&config.url, || {
                format!("{url}{}/", super::tree::encode_segment(cname))
            });
            self.out.jobs.push(job(ctx, config, cpath, curl));
        }
    }
}

/// The full name path of an item named `name` under `parent` (its `fullName` when it has one), or
/// `None` when a segment is `.` or `..`.
fn item_path(item: &Item<'_>, name: &str, parent: &[String]) -> Option<Vec<String>> {
    let path = match item.full_name.as_str() {
        Some(full) if !full.is_empty() => split_full_name(full),
        _ => {
            let mut p = Vec::with_capacity(parent.len() + 1);
            p.extend_from_slice(parent);
            p.push(name.to_owned());
            p
        }
    };
    (!path.iter().any(|seg| is_dot_segment(seg))).then_some(path)
}

/// Whether an item's path is known from the fields read so far (`seen`), when its `jobs` come.
enum Known {
    /// From its `fullName`, or from its name when it has no `fullName`.
    Path(Vec<String>),
    /// The item is dropped whatever else it holds: a `.` or `..` segment, or a `fullName` that is no
    /// name and no name to make one from.
    Dropped,
    /// A field it depends on may still come.
    NotYet,
}

fn known_path(item: &Item<'_>, seen: u16, parent: &[String]) -> Known {
    let has = |key: Key| seen & (1 << key as u16) != 0;
    let full = item.full_name.as_str().filter(|f| !f.is_empty());
    if !has(Key::FullName) || (full.is_none() && !has(Key::Name)) {
        return Known::NotYet;
    }
    let Some(name) = full.or(item.name.as_str()) else {
        return Known::Dropped;
    };
    match item_path(item, name, parent) {
        Some(path) => Known::Path(path),
        None => Known::Dropped,
    }
}

/// What a `jobs` field held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    /// A list (its items are in the listing).
    Listed,
    /// Absent or `null`.
    Missing,
    /// Some other value (skipped).
    Other,
}

/// The answer's object: its `jobs` go into the listing under `parent`, everything else is skipped.
/// `None` when the answer is not an object.
struct RootSeed<'w, 'c, 'p> {
    walker: &'w mut Walker<'c>,
    parent: &'p [String],
}

impl<'de> DeserializeSeed<'de> for RootSeed<'_, '_, '_> {
    type Value = Option<ListKind>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RootSeed<'_, '_, '_> {
    type Value = Option<ListKind>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Jenkins JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut jobs = None;
        while let Some(key) = map.next_key::<Key>()? {
            if key != Key::Jobs {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if jobs.is_some() {
                return Err(de::Error::duplicate_field("jobs"));
            }
            jobs = Some(map.next_value_seed(ListSeed {
                walker: &mut *self.walker,
                parent: self.parent,
            })?);
        }
        Ok(Some(jobs.unwrap_or(ListKind::Missing)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A `jobs` value whose items go into the listing under `parent` as they are read.
struct ListSeed<'w, 'c, 'p> {
    walker: &'w mut Walker<'c>,
    parent: &'p [String],
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_, '_, '_> {
    type Value = ListKind;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ListKind, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_, '_, '_> {
    type Value = ListKind;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of jobs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ListKind, A::Error> {
        while seq
            .next_element_seed(ItemSeed {
                walker: &mut *self.walker,
                parent: self.parent,
            })?
            .is_some()
        {}
        Ok(ListKind::Listed)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ListKind, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ListKind::Other)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<ListKind, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E: de::Error>(self) -> Result<ListKind, E> {
        Ok(ListKind::Missing)
    }
    fn visit_unit<E: de::Error>(self) -> Result<ListKind, E> {
        Ok(ListKind::Missing)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<ListKind, E> {
        Ok(ListKind::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<ListKind, E> {
        Ok(ListKind::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<ListKind, E> {
        Ok(ListKind::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<ListKind, E> {
        Ok(ListKind::Other)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<ListKind, E> {
        Ok(ListKind::Other)
    }
}

/// One element of a `jobs` list: an object is an [`Item`], put into the listing when it ends (its
/// children, when its path is known by then, as they are read); anything else is skipped.
struct ItemSeed<'w, 'c, 'p> {
    walker: &'w mut Walker<'c>,
    parent: &'p [String],
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Reads one field of an item into `slot`, refusing a second one of the same name (as the derived
/// [`Item`] does).
fn field<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    seen: &mut u16,
    key: Key,
    slot: &mut T,
) -> Result<(), A::Error> {
    let bit = 1 << key as u16;
    if *seen & bit != 0 {
        return Err(de::Error::duplicate_field(key.name()));
    }
    *seen |= bit;
    *slot = map.next_value()?;
    Ok(())
}

impl<'de> Visitor<'de> for ItemSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Jenkins item")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut item = Item::default();
        let mut seen = 0u16;
        // Where the listing stood when this item's children started to go into it.
        let mut streamed = None;
        let mut dropped = false;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Class => field(&mut map, &mut seen, key, &mut item.class)?,
                Key::Name => field(&mut map, &mut seen, key, &mut item.name)?,
                Key::FullName => field(&mut map, &mut seen, key, &mut item.full_name)?,
                Key::DisplayName => field(&mut map, &mut seen, key, &mut item.display_name)?,
                Key::Url => field(&mut map, &mut seen, key, &mut item.url)?,
                Key::Color => field(&mut map, &mut seen, key, &mut item.color)?,
                Key::LastBuild => field(&mut map, &mut seen, key, &mut item.last_build)?,
                Key::ActiveConfigurations => {
                    field(&mut map, &mut seen, key, &mut item.active_configurations)?;
                }
                Key::Jobs => {
                    let bit = 1 << key as u16;
                    if seen & bit != 0 {
                        return Err(de::Error::duplicate_field(key.name()));
                    }
                    match known_path(&item, seen, self.parent) {
                        Known::Path(path) => {
                            seen |= bit;
                            let start =
                                (self.walker.out.jobs.len(), self.walker.out.truncated.len());
                            let kind = map.next_value_seed(ListSeed {
                                walker: &mut *self.walker,
                                parent: &path,
                            })?;
                            if kind == ListKind::Listed {
                                streamed = Some(start);
                            }
                        }
                        Known::Dropped => {
                            // Dropped with its item, whatever it holds.
                            seen |= bit;
                            map.next_value::<IgnoredAny>()?;
                            dropped = true;
                        }
                        Known::NotYet => field(&mut map, &mut seen, key, &mut item.jobs)?,
                    }
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some((jobs, truncated)) = streamed
            && item.name.as_str().is_none()
        {
            // The path came from `fullName`, but without a name this is no container: its children
            // go, as when they are read after the name.
            self.walker.out.jobs.truncate(jobs);
            self.walker.out.truncated.truncate(truncated);
            streamed = None;
        }
        self.walker
            .item(item, streamed.is_some() || dropped, self.parent);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

/// The fields of an item, as the query names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Class,
    Name,
    FullName,
    DisplayName,
    Url,
    Color,
    LastBuild,
    ActiveConfigurations,
    Jobs,
    Other,
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::Class => "_class",
            Key::Name => "name",
            Key::FullName => "fullName",
            Key::DisplayName => "displayName",
            Key::Url => "url",
            Key::Color => "color",
            Key::LastBuild => "lastBuild",
            Key::ActiveConfigurations => "activeConfigurations",
            Key::Jobs => "jobs",
            Key::Other => "",
        }
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "_class" => Key::Class,
                    "name" => Key::Name,
                    "fullName" => Key::FullName,
                    "displayName" => Key::DisplayName,
                    "url" => Key::Url,
                    "color" => Key::Color,
                    "lastBuild" => Key::LastBuild,
                    "activeConfigurations" => Key::ActiveConfigurations,
                    "jobs" => Key::Jobs,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(V)
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
        // -1 when Jenkins has no estimate (no successful build yet): none.
        estimated_ms: raw.estimated_duration.as_u64().filter(|&ms| ms > 0),
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
    fn a_running_build_keeps_its_start_and_jenkins_estimate_and_minus_one_means_none() {
        let v = json!({"jobs": [
            {"name": "api", "color": "blue_anime", "lastBuild": {"number": 8, "building": true,
             "timestamp": 1_764_000_000_000_i64, "estimatedDuration": 480_000}},
            {"name": "new", "color": "notbuilt_anime", "lastBuild": {"number": 1, "building": true,
             "timestamp": 1_764_000_000_000_i64, "estimatedDuration": -1}},
            {"name": "odd", "color": "red_anime", "lastBuild": {"number": 3, "building": true,
             "timestamp": 1_764_000_000_000_i64, "estimatedDuration": "soon"}}
        ]});
        let l = listing(CTX, &v, &[]).unwrap();
        let build = |i: usize| l.jobs[i].last_build.clone().unwrap();
        assert_eq!(build(0).timestamp_ms, Some(1_764_000_000_000));
        assert_eq!(build(0).estimated_ms, Some(480_000));
        assert_eq!(
            crate::model::progress::Eta::of(&l.jobs[0]),
            crate::model::progress::Eta::new(1_764_000_000_000, 480_000)
        );
        assert_eq!(build(1).estimated_ms, None, "-1: Jenkins has no estimate");
        assert_eq!(build(2).estimated_ms, None, "a wrong type reads as absent");
        assert_eq!(build(2).number, 3);
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
    fn folders_give_the_same_jobs_whatever_the_order_of_their_fields() {
        // Jenkins sends `name` and `fullName` before `jobs` (the query's order): the children are
        // walked as they are read. Any other order reads them first, then walks them.
        let streamed = br#"{"jobs": [
            {"_class": "x.Folder", "name": "team", "fullName": "team", "jobs": [
                {"name": "api", "color": "red"},
                {"name": "sub", "fullName": "team/sub", "jobs": [{"_class": "x.Job"}]},
                {"name": "web", "fullName": "team/web", "color": "blue_anime"}
            ]},
            {"name": "top", "color": "blue"}
        ]}"#;
        let buffered = br#"{"jobs": [
            {"jobs": [
                {"color": "red", "name": "api"},
                {"jobs": [{"_class": "x.Job"}], "fullName": "team/sub", "name": "sub"},
                {"color": "blue_anime", "fullName": "team/web", "name": "web"}
            ], "_class": "x.Folder", "name": "team", "fullName": "team"},
            {"color": "blue", "name": "top"}
        ]}"#;
        // As the simulator sends them: keys in alphabetical order, `jobs` between `fullName` and `name`.
        let sorted = br#"{"jobs": [
            {"_class": "x.Folder", "fullName": "team", "jobs": [
                {"color": "red", "name": "api"},
                {"fullName": "team/sub", "jobs": [{"_class": "x.Job"}], "name": "sub"},
                {"color": "blue_anime", "fullName": "team/web", "name": "web"}
            ], "name": "team"},
            {"color": "blue", "name": "top"}
        ]}"#;
        let a = super::listing(CTX, streamed, &[]).unwrap();
        assert_eq!(paths(&a), vec!["team/api", "team/web", "top"]);
        assert_eq!(a, super::listing(CTX, buffered, &[]).unwrap());
        assert_eq!(a, super::listing(CTX, sorted, &[]).unwrap());
        assert_eq!(a.truncated, vec![vec!["team".to_owned(), "sub".to_owned()]]);
        assert!(a.jobs[1].building);
    }

    #[test]
    fn a_folder_without_a_name_is_a_stub_even_when_its_jobs_came_first() {
        // Its children were read under its `fullName` before the missing name showed: they go.
        let v = br#"{"jobs": [
            {"_class": "x.Folder", "fullName": "f", "jobs": [{"name": "x", "color": "blue"}, {"_class": "x.Job"}]},
            {"name": "kept", "color": "blue"}
        ]}"#;
        let l = super::listing(CTX, v, &["up".to_owned()]).unwrap();
        assert_eq!(paths(&l), vec!["up/kept"]);
        assert_eq!(l.truncated, vec![vec!["up".to_owned()]]);
    }

    #[test]
    fn a_folder_with_a_dot_name_is_dropped_with_all_it_holds() {
        let v = json!({"jobs": [
            {"name": "..", "fullName": "..", "jobs": [{"name": "x", "color": "blue"}]},
            {"name": "ok", "fullName": "a/./ok", "jobs": [{"name": "y", "color": "blue"}]},
            {"name": "kept", "color": "blue"}
        ]});
        assert_eq!(paths(&listing(CTX, &v, &[]).unwrap()), vec!["kept"]);
    }

    #[test]
    fn a_field_sent_twice_fails_the_answer() {
        for body in [
            &br#"{"jobs": [], "jobs": []}"#[..],
            br#"{"jobs": [{"name": "a", "name": "b", "color": "blue"}]}"#,
            br#"{"jobs": [{"name": "f", "fullName": "f", "jobs": [], "jobs": []}]}"#,
        ] {
            let err = super::listing(CTX, body, &[]).unwrap_err();
            assert!(err.to_string().contains("duplicate field"), "{err}");
        }
    }

    #[test]
    fn what_is_not_a_folder_or_a_job_is_skipped_and_trailing_bytes_fail() {
        let v = json!({"jobs": [1, "x", null, [{"name": "no"}], {"name": "f", "fullName": "f", "jobs": {"a": 1}, "color": "red"}]});
        let l = listing(CTX, &v, &[]).unwrap();
        assert_eq!(paths(&l), vec!["f"], "a `jobs` that is not a list: a job");
        assert!(super::listing(CTX, br#"{"jobs": []} x"#, &[]).is_err());
        assert!(super::listing(CTX, br#"{"jobs": {}}"#, &[]).is_err());
        assert!(super::listing(CTX, br#"{"jobs": null}"#, &[]).is_err());
    }

    #[test]
    fn an_answer_without_jobs_is_an_error() {
        assert!(listing(CTX, &json!({"mode": "NORMAL"}), &[]).is_err());
        assert!(listing(CTX, &json!([1, 2]), &[]).is_err());
    }
}
