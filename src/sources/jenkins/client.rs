//! The Jenkins client: one nested `tree=` request per poll (plus one per folder deeper than the query),
//! made through the shared [`crate::sources::http::HttpClient`], and strict answer checks; and, asked
//! for a job that broke, the one "who broke it" request for its build ([`super::blame`]). Each answer
//! is read whole (gzip-compressed on the wire), digested, and parsed in place: a poll whose answer has
//! the same bytes as the last one's is [`Fetch::Same`], and costs no parsing.

use std::collections::VecDeque;

use crate::config::Root;
use crate::model::{self, Blame, Job};
use crate::sources::http::{self, HttpClient, HttpSettings};
use crate::sources::jenkins::parse::{self, Context, ParseError};
use crate::sources::jenkins::{blame, tree};
use crate::sources::{self, Fetch, Listing, Source, SourceError};

/// One Jenkins server as the client needs it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    /// Base URL, ending in `/`.
    pub base: String,
    pub root: Root,
    pub http: HttpSettings,
}

impl Settings {
    /// Every job of the server at `url`, anonymous, with the default timeouts.
    pub fn new(name: impl Into<String>, url: &str) -> Self {
        Self {
            name: name.into(),
            base: tree::normalize_base(url),
            root: Root::All,
            http: HttpSettings::new(std::time::Duration::from_secs(20)),
        }
    }

    fn root_url(&self) -> String {
        match &self.root {
            Root::All => self.base.clone(),
            Root::Folder(path) => tree::job_url(&self.base, path),
            Root::View(path) => tree::view_url(&self.base, path),
        }
    }

    /// The path the root's own children hang under (a view's jobs carry their `fullName`).
    fn root_path(&self) -> Vec<String> {
        match &self.root {
            Root::Folder(path) => path.clone(),
            Root::All | Root::View(_) => Vec::new(),
        }
    }
}

/// A client for one Jenkins server. Cheap to keep; reuses connections between polls.
#[derive(Debug)]
pub struct Client {
    settings: Settings,
    http: HttpClient,
}

/// Follow-up requests per poll are bounded so a pathological tree cannot turn one poll into thousands.
const MAX_REQUESTS_PER_POLL: usize = 200;

impl Client {
    pub fn new(settings: Settings) -> Result<Self, SourceError> {
        let http = HttpClient::new(&settings.http)?;
        Ok(Self { settings, http })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl Source for Client {
    /// Every job at any depth, in one request unless folders nest deeper than [`tree::LEVELS`].
    fn fetch(&self) -> Result<Listing, SourceError> {
        match self.fetch_since(None)? {
            Fetch::Fresh { listing, .. } => Ok(listing),
            // Only a digest given can be matched.
            Fetch::Same { .. } => Err(SourceError::BadAnswer {
                url: http::without_query(&self.settings.base),
                what: "Jenkins JSON",
                reason: "an unchanged answer to a first poll".to_owned(),
            }),
        }
    }

    /// [`Source::fetch`], with the digest of the answers' bytes and the `X-Jenkins` version: when the
    /// first answer's digest is `since` (the last poll was that one request) it is not even parsed. A poll
    /// with follow-up requests (folders deeper than the query) digests all its answers, in order.
    fn fetch_since(&self, since: Option<u64>) -> Result<Fetch, SourceError> {
        let ctx = Context {
            server: &self.settings.name,
            base: &self.settings.base,
        };
        let mut jobs = Vec::new();
        let mut version = None;
        let mut requests = 0;
        let mut digest = 0;
        let mut queue = VecDeque::from([(self.settings.root_url(), self.settings.root_path())]);
        while let Some((url, parent)) = queue.pop_front() {
            if requests >= MAX_REQUESTS_PER_POLL {
                tracing::warn!(
                    server = %self.settings.name,
                    "folders nest too deep: stopped after {MAX_REQUESTS_PER_POLL} requests"
                );
                break;
            }
            requests += 1;
            let answer = self
                .http
                .get_json_body(&tree::api_url(&url, tree::LEVELS))?;
            if requests == 1 {
                version = answer.header("x-jenkins").map(str::to_owned);
                digest = sources::digest(0, version.as_deref().unwrap_or_default().as_bytes());
            }
            digest = sources::digest(digest, &answer.value);
            if requests == 1 && since == Some(digest) {
                return Ok(Fetch::Same { requests });
            }
            let listing = parse::listing(ctx, &answer.value, &parent).map_err(|e| match e {
                ParseError::Read(e) => http::body_error(&url, &e),
                ParseError::Invalid(reason) => SourceError::BadAnswer {
                    url: url.clone(),
                    what: "Jenkins JSON",
                    reason,
                },
            })?;
            if jobs.is_empty() {
                // The first (usually the only) answer's list is taken as it is, not copied.
                jobs = listing.jobs;
            } else {
                jobs.extend(listing.jobs);
            }
            for path in listing.truncated {
                queue.push_back((tree::job_url(&self.settings.base, &path), path));
            }
        }
        if since == Some(digest) {
            return Ok(Fetch::Same { requests });
        }
        Ok(Fetch::Fresh {
            listing: Listing {
                jobs,
                version,
                requests,
                rate_left: None,
                upstream: None,
                relayed: Vec::new(),
            },
            digest: Some(digest),
        })
    }

    /// One GET of the finished build's `culprits` and change sets ([`blame::TREE`]). The build page is
    /// under the job's page, which the listing only takes from under the base URL. A job with no finished
    /// build names nobody, without a request.
    fn blame(&self, job: &Job) -> Result<Option<Blame>, SourceError> {
        let Some(number) = model::finished_build(job).filter(|&n| n > 0) else {
            return Ok(None);
        };
        let Some(build) = model::build_url(&job.url, Some(number)) else {
            return Ok(None);
        };
        let answer = self.http.get_json(&blame::url(&build), |body| {
            blame::parse(body).map_err(|e| match e {
                ParseError::Read(e) => http::body_error(&build, &e),
                ParseError::Invalid(reason) => SourceError::BadAnswer {
                    url: build.clone(),
                    what: "Jenkins build JSON",
                    reason,
                },
            })
        })?;
        Ok(answer.value)
    }
}
