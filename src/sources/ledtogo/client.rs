//! The desk side of the office relay (`kind = "ledtogo"`): one `GET {url}api/json` per poll through
//! [`crate::sources::http`] (Basic auth with `user` and the token when the relay asks for it, the
//! last `ETag` sent back so an unchanged feed is a 304 and its last listing is reused), read with
//! [`Feed::parse`] and turned into a [`Listing`].
//!
//! Job ids: with `upstream = "office"`, that server's jobs keep their paths (`team-a/web`); without it,
//! the jobs of a relay with one server keep their paths, and with several each path starts with its
//! server's name (`office/team-a/web`), the rule the relay's `/cc.xml` names its projects by.
//!
//! A relay that answers for a server it cannot reach gives that server's last known jobs with
//! [`Listing::upstream`] set: the desk shows them stale with the reason, as a direct poll of the down
//! server would. The relay's server refusing the relay's token is the relay's problem, not the desk's:
//! it is an unreachable reason naming that server ("token rejected (fix the relay's config)"), never
//! the desk's own "set a token". Who broke a build comes in the feed; nothing is asked afterwards.

use std::io::Read;

use parking_lot::Mutex;

use super::feed::{Feed, FeedError};
use crate::model::{Job, ServerState};
use crate::sources::http::{self, Accept, HttpClient, HttpSettings, Tagged};
use crate::sources::{Listing, Relayed, Source, SourceError};

/// What the desk reads from its relay.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The desk's name for the relay entry (the jobs' server).
    pub name: String,
    /// The relay's address (`http://pi:8765/`); its feed is `{url}api/json`.
    pub url: String,
    /// One of the relay's servers, or `None` for all of them.
    pub upstream: Option<String>,
    /// Basic auth with `user` and the token, when set.
    pub http: HttpSettings,
}

/// A client for one relay. Keeps the last feed and its `ETag`.
#[derive(Debug)]
pub struct Client {
    settings: Settings,
    http: HttpClient,
    last: Mutex<Option<Tagged<Feed>>>,
}

impl Client {
    pub fn new(settings: Settings) -> Result<Self, SourceError> {
        let http = HttpClient::new(&settings.http.clone().auth(http::AuthStyle::Basic))?;
        Ok(Self {
            settings,
            http,
            last: Mutex::new(None),
        })
    }

    /// The feed's URL ([`feed_url`]).
    pub fn feed_url(&self) -> String {
        feed_url(&self.settings.url)
    }

    /// One conditional GET of the feed: the fresh one, or the last one again on a 304.
    pub fn feed(&self) -> Result<Feed, SourceError> {
        let url = self.feed_url();
        let shown = http::without_query(&url);
        let mut last = self.last.lock();
        let answer = self
            .http
            .get_cached(&url, Accept::Json, &mut last, |body| {
                read_feed(&shown, body)
            })
            .map_err(|e| self.explain(e))?;
        Ok(answer.value)
    }

    /// A refusal in the relay's terms: a 401 to a desk that sent no token means the relay wants one.
    fn explain(&self, e: SourceError) -> SourceError {
        match e {
            SourceError::TokenRejected { url } if self.settings.http.credentials.is_none() => {
                SourceError::AuthNeeded { url, status: 401 }
            }
            other => other,
        }
    }
}

impl Source for Client {
    /// `POST {url}ack` with the request on the relay's names ([`relay_job`]), with the desk's Basic
    /// auth: the relay acknowledges the job for everybody (its answer says so), or refuses it (an
    /// error with the relay's reason).
    fn send_ack(&self, request: &crate::ack::Request) -> Result<Option<String>, SourceError> {
        use crate::ack::Request;
        let relayed: Vec<String> = self
            .last
            .lock()
            .as_ref()
            .map(|t| t.value.servers.iter().map(|s| s.name.clone()).collect())
            .unwrap_or_default();
        let upstream = self.settings.upstream.as_deref();
        let on_relay =
            |job: &str| relay_job(&crate::model::split_full_name(job), upstream, &relayed);
        let wire = match request {
            Request::Ack(a) => {
                let (server, job) = on_relay(&a.job);
                Request::Ack(crate::ack::AckRequest {
                    job,
                    server,
                    ..a.clone()
                })
            }
            Request::Clear { job, .. } => {
                let (server, job) = on_relay(job);
                Request::Clear { job, server }
            }
            Request::Show | Request::List => return Ok(None),
        };
        let url = ack_url(&self.settings.url);
        let body = serde_json::to_vec(&wire).map_err(|e| SourceError::Setup(e.to_string()))?;
        let (status, text) = self
            .http
            .post_json(&url, &body)
            .map_err(|e| self.explain(e))?;
        if status == 200 {
            Ok(Some(text))
        } else {
            Err(SourceError::BadAnswer {
                url,
                what: "ledtogo relay answer to an acknowledgement",
                reason: format!("HTTP {status}: {}", crate::text::truncate(&text, 300)),
            })
        }
    }

    fn fetch(&self) -> Result<Listing, SourceError> {
        let feed = self.feed()?;
        listing(
            &feed,
            &self.settings.name,
            self.settings.upstream.as_deref(),
            &self.feed_url(),
        )
    }
}

/// `{url}api/json`: `url` itself when it already ends in `/api/json`, and the relay's `/api/json` beside
/// its `/cc.xml` when `url` names that (a desk switched from `kind = "cctray"`).
pub fn feed_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    if url.ends_with("/api/json") {
        return url.to_owned();
    }
    let base = url.strip_suffix("cc.xml").unwrap_or(url);
    format!(
        "{}api/json",
        crate::sources::jenkins::tree::normalize_base(base)
    )
}

/// Where a desk posts its acknowledgements: `{url}ack`, beside the relay's feed.
pub fn ack_url(url: &str) -> String {
    let feed = feed_url(url);
    format!("{}ack", feed.strip_suffix("api/json").unwrap_or(&feed))
}

fn read_feed(url: &str, body: &mut dyn Read) -> Result<Feed, SourceError> {
    let mut bytes = Vec::new();
    body.read_to_end(&mut bytes)
        .map_err(|e| http::body_error(url, &e))?;
    Feed::parse(&bytes).map_err(|e| feed_error(url, &e))
}

fn feed_error(url: &str, e: &FeedError) -> SourceError {
    SourceError::BadAnswer {
        url: url.to_owned(),
        what: "ledtogo relay feed",
        reason: match e {
            FeedError::Json(_) => format!("{e} (is {url} a ledtogo `[export]`? check the URL)"),
            other => other.to_string(),
        },
    }
}

/// The listing a desk named `desk` sees in `feed` (read from `url`), for `upstream` or every server.
pub fn listing(
    feed: &Feed,
    desk: &str,
    upstream: Option<&str>,
    url: &str,
) -> Result<Listing, SourceError> {
    let servers = feed.servers();
    let mut relayed: Vec<Relayed> = servers
        .iter()
        .map(|s| Relayed {
            name: s.name.clone(),
            state: s.state.clone(),
            jobs: s.jobs.len(),
            acks: Vec::new(),
            flaky: Vec::new(),
        })
        .collect();
    let chosen: Vec<_> = match upstream {
        Some(wanted) => match servers.into_iter().find(|s| s.name == wanted) {
            Some(server) => vec![server],
            None => {
                return Err(SourceError::Setup(format!(
                    "server {desk:?}: the relay at {url} has no server {wanted:?}; {}: fix \
                     `upstream` (or leave it out to see all of them)",
                    names(&relayed)
                )));
            }
        },
        None => servers,
    };
    let prefixed = upstream.is_none() && chosen.len() > 1;
    let state = chosen
        .iter()
        .find(|s| !s.state.is_ok())
        .map(|s| relayed_state(&s.name, &s.state));
    let version = match chosen.as_slice() {
        [one] => one.version.clone(),
        _ => None,
    };
    // The acknowledgements and flaky flags of the servers shown, on the desk's ids (the rule the jobs
    // follow below).
    let desk_path = |server: &str, path: &[String]| -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(path.len() + 1);
        if prefixed {
            out.push(level(server));
        }
        out.extend(path.iter().map(|l| level(l)));
        out
    };
    for server in &chosen {
        if let Some(entry) = relayed.iter_mut().find(|r| r.name == server.name) {
            entry.acks = server
                .acks
                .iter()
                .map(|a| crate::ack::Ack {
                    job: crate::model::JobId {
                        server: desk.to_owned(),
                        path: desk_path(&server.name, &a.job.path),
                    },
                    ..a.clone()
                })
                .collect();
            entry.flaky = server
                .flaky
                .iter()
                .map(|(id, job)| {
                    let id = crate::model::JobId {
                        server: desk.to_owned(),
                        path: desk_path(&server.name, &id.path),
                    };
                    (id, job.clone())
                })
                .collect();
        }
    }
    let jobs: Vec<Job> = chosen
        .into_iter()
        .flat_map(|server| {
            let name = server.name;
            server.jobs.into_iter().map(move |mut job| {
                job.id.path = desk_path(&name, &job.id.path);
                job.id.server = desk.to_owned();
                job
            })
        })
        .collect();
    Ok(Listing {
        jobs,
        version,
        requests: 1,
        rate_left: None,
        upstream: state,
        relayed,
    })
}

/// A level of a relayed path: a `/` in it (which an honest relay never sends: its levels are encoded)
/// is encoded, so the path joins back faithfully.
fn level(text: &str) -> String {
    text.replace('/', "%2F")
}

/// "it has \"office\", \"lab\"" (at most ten named), or "it has none".
fn names(relayed: &[Relayed]) -> String {
    const SHOWN: usize = 10;
    if relayed.is_empty() {
        return "it relays no server".to_owned();
    }
    let mut list: Vec<String> = relayed
        .iter()
        .take(SHOWN)
        .map(|r| format!("{:?}", crate::text::truncate(&r.name, 64)))
        .collect();
    if relayed.len() > SHOWN {
        list.push(format!("and {} more", relayed.len() - SHOWN));
    }
    format!("it has {}", list.join(", "))
}

/// The relay's name for the desk's job `path` (the reverse of [`listing`]'s rule), for `POST /ack`:
/// the relay's server (`None`: its only one) and the job's full name there. With `upstream` the path is
/// the upstream's; a relay of several servers (`relayed`, as its last feed named them) prefixes each
/// path with its server.
pub fn relay_job(
    path: &[String],
    upstream: Option<&str>,
    relayed: &[String],
) -> (Option<String>, String) {
    let decoded = |l: &String| l.replace("%2F", "/");
    match (upstream, path.split_first()) {
        (Some(up), _) => (Some(up.to_owned()), path.join("/")),
        (None, Some((first, rest))) if relayed.len() > 1 && relayed.contains(&decoded(first)) => {
            (Some(decoded(first)), rest.join("/"))
        }
        _ => (None, path.join("/")),
    }
}

/// The desk's state for jobs the relay has of a server that is not fine: unreachable, naming the
/// relay's server and, when the relay is refused, whose config to fix.
pub fn relayed_state(name: &str, state: &ServerState) -> ServerState {
    let why = match state {
        ServerState::Ok => return ServerState::Ok,
        ServerState::Connecting => "the relay has not polled it yet".to_owned(),
        ServerState::Unreachable(reason) => reason.clone(),
        ServerState::AuthNeeded => "authentication needed (fix the relay's config)".to_owned(),
        ServerState::TokenRejected => "token rejected (fix the relay's config)".to_owned(),
    };
    ServerState::Unreachable(format!(
        "the relay's server '{}': {why}",
        crate::text::truncate(name, 64)
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::model::{JobId, JobState, ServerSnapshot, Snapshot};
    use crate::test_fixtures as fixtures;

    /// One relayed server: its name, its state and its jobs as (path, state).
    type Relay<'a> = (&'a str, ServerState, &'a [(&'a str, JobState)]);

    /// The feed of a relay's snapshot of `servers`.
    fn relay(servers: &[Relay<'_>]) -> Feed {
        let mut snapshot = Snapshot::default();
        for (name, state, jobs) in servers {
            let mut server = ServerSnapshot::new();
            server.state = state.clone();
            server.seen_ok = true;
            server.version = Some(format!("{name}-2.440"));
            for (path, job_state) in *jobs {
                let job = fixtures::job(name, path, *job_state);
                server.jobs.insert(job.id.path.clone(), job);
            }
            snapshot.servers.insert((*name).to_owned(), server);
        }
        Feed::parse(&Feed::of(&snapshot).to_json()).unwrap()
    }

    fn ids(listing: &Listing) -> Vec<String> {
        listing.jobs.iter().map(|j| j.id.to_string()).collect()
    }

    const URL: &str = "http://pi:8765/api/json";

    #[test]
    fn the_relays_acknowledgements_arrive_on_the_desks_job_ids_and_map_back() {
        let mut snapshot = Snapshot::default();
        for name in ["office", "lab"] {
            let mut server = ServerSnapshot::new();
            server.state = ServerState::Ok;
            server.seen_ok = true;
            let job = fixtures::job(name, "team-a/api", JobState::Failure);
            server.jobs.insert(job.id.path.clone(), job);
            snapshot.servers.insert(name.to_owned(), server);
        }
        snapshot.acks.insert(crate::ack::Ack {
            job: JobId::new("office", "team-a/api"),
            by: "alice".into(),
            note: None,
            made_at: 10,
            until: 20,
        });
        let feed = Feed::parse(&Feed::of(&snapshot).to_json()).unwrap();
        let all = listing(&feed, "relay", None, URL).unwrap();
        let office = all.relayed.iter().find(|r| r.name == "office").unwrap();
        assert_eq!(office.acks.len(), 1);
        assert_eq!(office.acks[0].job, JobId::new("relay", "office/team-a/api"));
        assert_eq!(office.acks[0].by, "alice");
        let names = vec!["lab".to_owned(), "office".to_owned()];
        assert_eq!(
            relay_job(&office.acks[0].job.path, None, &names),
            (Some("office".to_owned()), "team-a/api".to_owned())
        );
        let one = listing(&feed, "relay", Some("office"), URL).unwrap();
        let office = one.relayed.iter().find(|r| r.name == "office").unwrap();
        assert_eq!(office.acks[0].job, JobId::new("relay", "team-a/api"));
        assert_eq!(
            relay_job(&office.acks[0].job.path, Some("office"), &names),
            (Some("office".to_owned()), "team-a/api".to_owned())
        );
        assert!(
            one.relayed
                .iter()
                .find(|r| r.name == "lab")
                .unwrap()
                .acks
                .is_empty()
        );
    }

    #[test]
    fn one_relayed_server_keeps_its_paths_on_the_desks_server_name() {
        let feed = relay(&[(
            "office",
            ServerState::Ok,
            &[
                ("team-a/web", JobState::Unstable),
                ("deploy", JobState::Aborted),
            ],
        )]);
        let listing = listing(&feed, "relay", None, URL).unwrap();
        assert_eq!(ids(&listing), ["relay:deploy", "relay:team-a/web"]);
        assert_eq!(listing.jobs[0].id, JobId::new("relay", "deploy"));
        assert_eq!(listing.jobs[1].state, JobState::Unstable);
        assert_eq!(listing.upstream, None);
        assert_eq!(listing.version.as_deref(), Some("office-2.440"));
        assert_eq!(listing.requests, 1);
    }

    #[test]
    fn several_relayed_servers_prefix_each_job_with_its_servers_name() {
        let feed = relay(&[
            (
                "office",
                ServerState::Ok,
                &[("team-a/web", JobState::Success)],
            ),
            ("lab", ServerState::Ok, &[("nightly", JobState::Failure)]),
        ]);
        let listing = listing(&feed, "relay", None, URL).unwrap();
        assert_eq!(
            ids(&listing),
            ["relay:lab/nightly", "relay:office/team-a/web"]
        );
        assert_eq!(listing.version, None, "no one version for several servers");
        assert_eq!(
            listing.relayed,
            [
                Relayed {
                    name: "lab".into(),
                    state: ServerState::Ok,
                    jobs: 1,
                    acks: Vec::new(),
                    flaky: Vec::new(),
                },
                Relayed {
                    name: "office".into(),
                    state: ServerState::Ok,
                    jobs: 1,
                    acks: Vec::new(),
                    flaky: Vec::new(),
                },
            ]
        );
    }

    #[test]
    fn an_upstream_selects_one_server_whose_jobs_keep_their_paths() {
        let feed = relay(&[
            (
                "office",
                ServerState::Ok,
                &[("team-a/web", JobState::Success)],
            ),
            ("lab", ServerState::Ok, &[("nightly", JobState::Failure)]),
        ]);
        let listing = listing(&feed, "desk", Some("lab"), URL).unwrap();
        assert_eq!(ids(&listing), ["desk:nightly"]);
        assert_eq!(listing.relayed.len(), 2, "the summary keeps every server");
    }

    #[test]
    fn an_upstream_the_relay_does_not_have_names_the_ones_it_has() {
        let feed = relay(&[
            ("office", ServerState::Ok, &[]),
            ("lab", ServerState::Ok, &[]),
        ]);
        let e = listing(&feed, "desk", Some("offcie"), URL).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("has no server \"offcie\"")
                && text.contains("it has \"lab\", \"office\"")
                && text.contains(URL)
                && text.contains("fix `upstream`"),
            "{text}"
        );
    }

    #[test]
    fn a_server_the_relay_cannot_reach_keeps_its_jobs_and_puts_the_desk_in_its_state() {
        let down = ServerState::Unreachable("connection refused".into());
        let feed = relay(&[
            ("office", ServerState::Ok, &[("web", JobState::Success)]),
            ("lab", down, &[("nightly", JobState::Success)]),
        ]);
        let all = listing(&feed, "relay", None, URL).unwrap();
        assert_eq!(
            all.upstream,
            Some(ServerState::Unreachable(
                "the relay's server 'lab': connection refused".into()
            ))
        );
        assert_eq!(all.jobs.len(), 2, "the last known jobs stay");
        let office = listing(&feed, "desk", Some("office"), URL).unwrap();
        assert_eq!(office.upstream, None, "the other server is fine");
        let lab = listing(&feed, "desk", Some("lab"), URL).unwrap();
        assert!(lab.upstream.is_some());
        assert_eq!(
            lab.jobs[0].state,
            JobState::Success,
            "last known, not green"
        );
    }

    #[test]
    fn the_relays_server_refusing_the_relays_token_is_the_relays_config_to_fix() {
        let feed = relay(&[("office", ServerState::TokenRejected, &[])]);
        let listing = listing(&feed, "desk", None, URL).unwrap();
        assert_eq!(
            listing.upstream,
            Some(ServerState::Unreachable(
                "the relay's server 'office': token rejected (fix the relay's config)".into()
            ))
        );
        assert!(matches!(
            relayed_state("office", &ServerState::AuthNeeded),
            ServerState::Unreachable(r) if r.ends_with("authentication needed (fix the relay's config)")
        ));
        assert!(matches!(
            relayed_state("office", &ServerState::Connecting),
            ServerState::Unreachable(r) if r.contains("not polled it yet")
        ));
    }

    #[test]
    fn the_feed_url_is_the_relays_api_json() {
        assert_eq!(feed_url("http://pi:8765"), "http://pi:8765/api/json");
        assert_eq!(feed_url("http://pi:8765/"), "http://pi:8765/api/json");
        assert_eq!(
            feed_url("https://relay.example.com/ledtogo/api/json"),
            "https://relay.example.com/ledtogo/api/json"
        );
        assert_eq!(feed_url("http://pi:8765/cc.xml"), "http://pi:8765/api/json");
    }

    #[test]
    fn a_level_with_a_slash_is_encoded_so_the_path_joins_back() {
        let mut feed = relay(&[("office", ServerState::Ok, &[("web", JobState::Success)])]);
        feed.servers[0].jobs[0].path = vec!["acme/api".into(), "main".into()];
        let listing = listing(&feed, "desk", None, URL).unwrap();
        assert_eq!(listing.jobs[0].id.path, ["acme%2Fapi", "main"]);
    }
}
