//! A fake GitHub REST API on loopback (tiny_http): `GET /repos/{owner}/{repo}/actions/runs` answered
//! the way GitHub documents it (runs newest first, `ETag` and 304 to `If-None-Match`, `x-ratelimit-*`
//! headers, 401 "Bad credentials" for a wrong bearer token, 404 "Not Found" for an unknown repository,
//! a 403 with `x-ratelimit-remaining: 0` when the budget is spent). It records every request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde_json::{Value, json};

/// One workflow run as the fake lists it.
#[derive(Debug, Clone)]
pub struct FakeRun {
    pub workflow: String,
    pub branch: String,
    pub number: u64,
    pub status: String,
    pub conclusion: Option<String>,
    pub actor: String,
    pub message: String,
}

impl FakeRun {
    /// A completed run with this `conclusion`, started by `mona` for "Fix the login test".
    pub fn completed(workflow: &str, branch: &str, number: u64, conclusion: &str) -> Self {
        Self {
            workflow: workflow.to_owned(),
            branch: branch.to_owned(),
            number,
            status: "completed".to_owned(),
            conclusion: Some(conclusion.to_owned()),
            actor: "mona".to_owned(),
            message: "Fix the login test\n\nIt was flaky.".to_owned(),
        }
    }

    /// A run with this `status` (`queued`, `in_progress`, …) and no conclusion yet.
    pub fn running(workflow: &str, branch: &str, number: u64, status: &str) -> Self {
        Self {
            status: status.to_owned(),
            conclusion: None,
            ..Self::completed(workflow, branch, number, "success")
        }
    }

    pub fn by(mut self, actor: &str, message: &str) -> Self {
        self.actor = actor.to_owned();
        self.message = message.to_owned();
        self
    }

    /// The run's JSON, with the fields the docs list (ids made up from the number).
    fn json(&self, owner: &str, repo: &str) -> Value {
        let id = 30_433_000 + self.number;
        json!({
            "id": id,
            "name": self.workflow,
            "node_id": format!("WFR_{id}"),
            "head_branch": self.branch,
            "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
            "path": ".github/workflows/ci.yml",
            "display_title": self.message.lines().next().unwrap_or_default(),
            "run_number": self.number,
            "event": "push",
            "status": self.status,
            "conclusion": self.conclusion,
            "workflow_id": 159_038,
            "url": format!("https://api.github.com/repos/{owner}/{repo}/actions/runs/{id}"),
            "html_url": format!("https://github.com/{owner}/{repo}/actions/runs/{id}"),
            "created_at": "2026-11-30T09:15:00Z",
            "updated_at": "2026-11-30T09:20:00Z",
            "run_attempt": 1,
            "run_started_at": "2026-11-30T09:15:02Z",
            "actor": {"login": self.actor, "id": 1, "type": "User"},
            "triggering_actor": {"login": self.actor, "id": 1, "type": "User"},
            "head_commit": {
                "id": "acb5820ced9479c074f688cc328bf03f341a511d",
                "message": self.message,
                "timestamp": "2026-11-30T09:14:00Z",
                "author": {"name": "Mona Lisa", "email": "mona@example.com"}
            },
            "repository": {"full_name": format!("{owner}/{repo}")}
        })
    }
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
    pub if_none_match: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    /// `owner/repo` → runs (any order; answered newest first) and a version that goes up on changes.
    repos: BTreeMap<String, (Vec<FakeRun>, u64)>,
    token: Option<String>,
    /// Until when (epoch seconds) every request is refused as over the budget.
    limited_until: Option<u64>,
    seen: Vec<Seen>,
}

/// The fake API. Dropping it stops the server.
pub struct FakeGitHub {
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    url: String,
    thread: Option<JoinHandle<()>>,
}

impl FakeGitHub {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let thread = {
            let (server, state) = (server.clone(), state.clone());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let response = answer(&mut state.lock(), &request);
                    request.respond(response).ok();
                }
            })
        };
        Self {
            state,
            server,
            url: format!("http://127.0.0.1:{port}/"),
            thread: Some(thread),
        }
    }

    /// The API's base URL (like `https://api.github.com/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sets (or replaces) a repository's runs; its ETag changes.
    pub fn set_runs(&self, repo: &str, runs: Vec<FakeRun>) {
        let mut state = self.state.lock();
        let entry = state.repos.entry(repo.to_owned()).or_default();
        entry.0 = runs;
        entry.1 += 1;
    }

    /// Requests need `Authorization: Bearer {token}` from now on.
    pub fn require_token(&self, token: &str) {
        self.state.lock().token = Some(token.to_owned());
    }

    /// Every request is refused (403, `x-ratelimit-remaining: 0`) until `reset` (epoch seconds).
    pub fn spend_budget_until(&self, reset: u64) {
        self.state.lock().limited_until = Some(reset);
    }

    /// The requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().seen.clone()
    }
}

impl Drop for FakeGitHub {
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

fn json_answer(status: u16, body: &Value) -> Resp {
    tiny_http::Response::from_data(body.to_string().into_bytes())
        .with_status_code(status)
        .with_header(header("Content-Type", "application/json; charset=utf-8"))
}

fn rate_headers(resp: Resp, remaining: u32, reset: u64) -> Resp {
    resp.with_header(header("x-ratelimit-limit", "5000"))
        .with_header(header("x-ratelimit-remaining", &remaining.to_string()))
        .with_header(header("x-ratelimit-reset", &reset.to_string()))
        .with_header(header("x-ratelimit-resource", "core"))
}

fn answer(state: &mut State, request: &tiny_http::Request) -> Resp {
    let get = |name: &'static str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let seen = Seen {
        path: request.url().to_owned(),
        authorization: get("Authorization"),
        if_none_match: get("If-None-Match"),
    };
    state.seen.push(seen.clone());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let docs = "https://docs.github.com/rest";
    if let Some(token) = &state.token
        && seen.authorization.as_deref() != Some(&format!("Bearer {token}"))
    {
        return json_answer(
            401,
            &json!({"message": "Bad credentials", "documentation_url": docs, "status": "401"}),
        );
    }
    if let Some(reset) = state.limited_until {
        return rate_headers(
            json_answer(
                403,
                &json!({"message": "API rate limit exceeded for user ID 1.", "documentation_url": docs}),
            ),
            0,
            reset,
        );
    }
    let (path, query) = seen.path.split_once('?').unwrap_or((&seen.path, ""));
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ["repos", owner, repo, "actions", "runs"] = parts[..] else {
        return json_answer(
            404,
            &json!({"message": "Not Found", "documentation_url": docs}),
        );
    };
    let Some((runs, version)) = state.repos.get(&format!("{owner}/{repo}")) else {
        return json_answer(
            404,
            &json!({"message": "Not Found", "documentation_url": docs}),
        );
    };
    let etag = format!("W/\"{owner}-{repo}-{version}\"");
    let reset = now + 3600;
    if seen.if_none_match.as_deref() == Some(etag.as_str()) {
        return rate_headers(
            tiny_http::Response::from_data(Vec::new())
                .with_status_code(304)
                .with_header(header("ETag", &etag)),
            4999,
            reset,
        );
    }
    let per_page: usize = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("per_page="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
        .min(100);
    let mut sorted = runs.clone();
    sorted.sort_by_key(|r| std::cmp::Reverse(r.number));
    let page: Vec<Value> = sorted
        .iter()
        .take(per_page)
        .map(|r| r.json(owner, repo))
        .collect();
    let body = json!({"total_count": runs.len(), "workflow_runs": page});
    rate_headers(
        json_answer(200, &body).with_header(header("ETag", &etag)),
        4998,
        reset,
    )
}
