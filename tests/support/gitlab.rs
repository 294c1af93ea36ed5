//! A fake GitLab on loopback for the tests: a real HTTP server (tiny_http) answering the parts of the
//! REST API v4 that ledtogo uses, the way GitLab's API documentation describes them:
//!
//! - `GET /api/v4/projects/:id/pipelines` (newest first, `per_page` up to 100, `page`, the
//!   `x-page`/`x-total-pages`/`x-next-page` headers, a weak `ETag` and 304 to `If-None-Match`);
//! - `GET /api/v4/projects/:id/repository/commits/:sha` (`author_name`, `title`, `message`…);
//!
//! where `:id` must be the project's full path URL-encoded (`group%2Fsub%2Fproject`): a raw `/` in it
//! is a 404, as on GitLab. With a token set, a request without `PRIVATE-TOKEN` gets GitLab's 404 for
//! private projects and a wrong token a 401. [`FakeGitLab::rate_limit`] answers 429 with
//! `Retry-After`. Served under `/gitlab/` (a GitLab installed under a relative URL), so clients must
//! keep the base path. Every request's path and query is recorded.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;
use percent_encoding::percent_decode_str;
use serde_json::json;

/// One pipeline of a project.
#[derive(Debug, Clone)]
pub struct FakePipeline {
    pub id: u64,
    pub iid: u64,
    pub git_ref: String,
    pub sha: String,
    pub status: String,
}

#[derive(Debug, Default)]
struct State {
    token: Option<String>,
    /// Project path → its pipelines, oldest first.
    projects: BTreeMap<String, Vec<FakePipeline>>,
    /// Commit sha → (author name, title).
    commits: BTreeMap<String, (String, String)>,
    next_id: u64,
    /// Answer 429 with this `Retry-After` (seconds) while set.
    rate_limited: Option<u64>,
    /// Whether list answers carry an `ETag`.
    etags: bool,
    requests: Vec<String>,
    /// How many 304s were answered.
    not_modified: usize,
}

/// A running fake GitLab. Stops when dropped.
pub struct FakeGitLab {
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    base: String,
    thread: Option<JoinHandle<()>>,
}

impl FakeGitLab {
    /// Starts with no projects, no token required, ETags on.
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let base = format!("http://127.0.0.1:{port}/gitlab/");
        let state = Arc::new(Mutex::new(State {
            next_id: 1000,
            etags: true,
            ..State::default()
        }));
        let thread = {
            let (server, state, base) = (server.clone(), state.clone(), base.clone());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let resp = answer(&mut state.lock(), &request, &base);
                    request.respond(resp).ok();
                }
            })
        };
        Self {
            state,
            server,
            base,
            thread: Some(thread),
        }
    }

    /// The GitLab address (ending in `/`), as a server entry's `url`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Requests need `PRIVATE-TOKEN: token` from now on.
    pub fn require_token(&self, token: &str) {
        self.state.lock().token = Some(token.to_owned());
    }

    /// A project with no pipelines yet.
    pub fn add_project(&self, path: &str) {
        self.state
            .lock()
            .projects
            .entry(path.to_owned())
            .or_default();
    }

    /// A new pipeline of `project` on `git_ref` with `status`; returns its id. Its commit is new
    /// (by `author`, titled "`title`").
    pub fn push(&self, project: &str, git_ref: &str, status: &str) -> u64 {
        self.push_by(project, git_ref, status, "Ada Lovelace", "Change things")
    }

    /// Like [`FakeGitLab::push`], with the commit's author and title.
    pub fn push_by(
        &self,
        project: &str,
        git_ref: &str,
        status: &str,
        author: &str,
        title: &str,
    ) -> u64 {
        let mut st = self.state.lock();
        st.next_id += 1;
        let id = st.next_id;
        let sha = format!("{:040x}", id * 7919);
        st.commits
            .insert(sha.clone(), (author.to_owned(), title.to_owned()));
        let list = st.projects.entry(project.to_owned()).or_default();
        let iid = list.len() as u64 + 1;
        list.push(FakePipeline {
            id,
            iid,
            git_ref: git_ref.to_owned(),
            sha,
            status: status.to_owned(),
        });
        id
    }

    /// Sets the status of pipeline `id` (a run finishing).
    pub fn set_status(&self, id: u64, status: &str) {
        let mut st = self.state.lock();
        for p in st.projects.values_mut().flatten() {
            if p.id == id {
                p.status = status.to_owned();
            }
        }
    }

    /// Answers every request with 429 and `Retry-After: seconds` (`None`: answers again).
    pub fn rate_limit(&self, seconds: Option<u64>) {
        self.state.lock().rate_limited = seconds;
    }

    /// Whether list answers carry an `ETag` (GitLab sends one on most API answers).
    pub fn set_etags(&self, on: bool) {
        self.state.lock().etags = on;
    }

    /// The path and query of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().requests.clone()
    }

    /// How many requests were answered 304 Not Modified.
    pub fn not_modified(&self) -> usize {
        self.state.lock().not_modified
    }

    /// How many requests so far had a path containing `part`.
    pub fn count(&self, part: &str) -> usize {
        self.requests().iter().filter(|r| r.contains(part)).count()
    }
}

impl Drop for FakeGitLab {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

type Resp = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap()
}

fn json_resp(status: u16, body: &serde_json::Value) -> Resp {
    tiny_http::Response::from_data(body.to_string().into_bytes())
        .with_status_code(status)
        .with_header(header("Content-Type", "application/json"))
}

fn message(status: u16, text: &str) -> Resp {
    json_resp(status, &json!({ "message": text }))
}

fn sent<'a>(request: &'a tiny_http::Request, name: &'static str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

fn answer(st: &mut State, request: &tiny_http::Request, base: &str) -> Resp {
    let raw = request.url().to_owned();
    st.requests.push(raw.clone());
    if let Some(seconds) = st.rate_limited {
        return tiny_http::Response::from_data(b"Retry later\n".to_vec())
            .with_status_code(429)
            .with_header(header("Content-Type", "text/plain"))
            .with_header(header("Retry-After", &seconds.to_string()))
            .with_header(header("RateLimit-Remaining", "0"));
    }
    if let Some(token) = &st.token {
        match sent(request, "PRIVATE-TOKEN") {
            None => return message(404, "404 Project Not Found"),
            Some(t) if t != token => return message(401, "401 Unauthorized"),
            Some(_) => {}
        }
    }
    let (path, query) = raw.split_once('?').unwrap_or((&raw, ""));
    let Some(rest) = path.strip_prefix("/gitlab/api/v4/projects/") else {
        return message(404, "404 Not Found");
    };
    // The id is one path segment: the project path with its slashes encoded.
    let (id, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let project = percent_decode_str(id).decode_utf8_lossy().into_owned();
    let Some(pipelines) = st.projects.get(&project).cloned() else {
        return message(404, "404 Project Not Found");
    };
    let web = |p: &FakePipeline| format!("{base}{project}/-/pipelines/{}", p.id);
    if rest == "pipelines" {
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse::<usize>().ok())
        };
        let per_page = param("per_page").unwrap_or(20).clamp(1, 100);
        let page = param("page").unwrap_or(1).max(1);
        let newest_first: Vec<&FakePipeline> = pipelines.iter().rev().collect();
        let total_pages = newest_first.len().div_ceil(per_page).max(1);
        let items: Vec<serde_json::Value> = newest_first
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|p| {
                json!({
                    "id": p.id,
                    "iid": p.iid,
                    "project_id": 31,
                    "sha": p.sha,
                    "ref": p.git_ref,
                    "status": p.status,
                    "source": "push",
                    "created_at": format!("2026-11-30T09:{:02}:00.000Z", p.iid % 60),
                    "updated_at": format!("2026-11-30T09:{:02}:30.000Z", p.iid % 60),
                    "web_url": web(p),
                })
            })
            .collect();
        let body = serde_json::Value::Array(items);
        let etag = format!("W/\"{:016x}\"", fnv(body.to_string().as_bytes()));
        if st.etags && sent(request, "If-None-Match") == Some(etag.as_str()) {
            st.not_modified += 1;
            return tiny_http::Response::from_data(Vec::new())
                .with_status_code(304)
                .with_header(header("ETag", &etag));
        }
        let mut resp = json_resp(200, &body)
            .with_header(header("x-page", &page.to_string()))
            .with_header(header("x-per-page", &per_page.to_string()))
            .with_header(header("x-total-pages", &total_pages.to_string()));
        if page < total_pages {
            resp = resp.with_header(header("x-next-page", &(page + 1).to_string()));
        }
        if st.etags {
            resp = resp.with_header(header("ETag", &etag));
        }
        return resp;
    }
    if let Some(sha) = rest.strip_prefix("repository/commits/") {
        let known = pipelines.iter().any(|p| p.sha == sha);
        return match st.commits.get(sha).filter(|_| known) {
            Some((author, title)) => json_resp(
                200,
                &json!({
                    "id": sha,
                    "short_id": &sha[..8],
                    "title": title,
                    "author_name": author,
                    "author_email": "author@example.com",
                    "committer_name": author,
                    "message": format!("{title}\n\nThe details."),
                    "parent_ids": [],
                    "web_url": format!("{base}{project}/-/commit/{sha}"),
                }),
            ),
            None => message(404, "404 Commit Not Found"),
        };
    }
    message(404, "404 Not Found")
}

/// A stable hash of an answer, for its `ETag`.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
