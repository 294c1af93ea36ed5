//! A simulated Jenkins: a real HTTP server on 127.0.0.1 that answers the JSON API the way Jenkins does
//! (folders, multibranch projects, matrix configurations, views, `tree=` pruning with `_class` stubs,
//! Basic auth with 403/401, and failure modes). Demo mode polls it with the real client; tests drive it.
//!
//! Each finished build has its page, `job/…/{number}/api/json`, with the `culprits` and the change set
//! of [`BuildChanges`]: `changeSet` for freestyle jobs, `changeSets` for pipelines, as Jenkins exports
//! them. [`SimJenkins::build_requests`] counts the requests for build pages.
//!
//! Like Jenkins it answers gzip to a request that accepts it, and counts what it sent
//! ([`SimJenkins::traffic`]: body bytes on the wire and before compression), so a benchmark can report
//! both. A finished build keeps the time it finished: an unchanged server answers the same bytes.
//! [`generated`] builds a large server (thousands of jobs in nested folders) for benchmarks.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use parking_lot::{Mutex, MutexGuard};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

use crate::model::{JobState, split_full_name};
use crate::sources::jenkins::tree::encode_segment;

mod tree_spec;

use tree_spec::{parse_tree, prune};

/// How the simulated server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Like Jenkins.
    Normal,
    /// 200 with an HTML login page (an SSO proxy in front of Jenkins).
    Html200,
    /// An HTTP error status with an HTML page.
    Status(u16),
    /// 200 JSON whose body is cut in half.
    Truncated,
    /// Accepts the request and never answers.
    Hang,
}

/// A job of the simulated server.
#[derive(Debug, Clone, PartialEq)]
pub struct SimJob {
    pub name: String,
    pub display_name: Option<String>,
    pub class: &'static str,
    pub disabled: bool,
    /// The last finished build: number and result.
    pub last: Option<(u64, JobState)>,
    /// The running build's number and when it started (epoch ms).
    pub running: Option<(u64, i64)>,
    /// When the last finished build finished (epoch ms): a minute before the simulator's first use
    /// until a build finishes.
    pub finished_ms: i64,
    /// Jenkins' `estimatedDuration` for its next build, milliseconds: how long its last successful
    /// build took (Jenkins averages a few), `None` before one (sent as `-1`, as Jenkins does).
    pub estimated_ms: Option<u64>,
    /// Matrix configurations (`activeConfigurations`), empty for other jobs.
    pub configs: Vec<SimJob>,
    /// Per build number: its culprits and changes (a build not listed has none).
    pub changes: BTreeMap<u64, BuildChanges>,
}

/// Who a build blames and what changed in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildChanges {
    /// `culprits[].fullName`.
    pub culprits: Vec<String>,
    /// The build's changes: author's full name and commit message.
    pub changes: Vec<(String, String)>,
}

impl BuildChanges {
    /// One change by `author`, who is also the build's culprit.
    pub fn by(author: &str, message: &str) -> Self {
        Self {
            culprits: vec![author.to_owned()],
            changes: vec![(author.to_owned(), message.to_owned())],
        }
    }
}

impl SimJob {
    pub fn new(name: &str, last: Option<JobState>) -> Self {
        Self {
            name: name.to_owned(),
            display_name: None,
            class: "hudson.model.FreeStyleProject",
            disabled: false,
            last: last.map(|s| (1, s)),
            running: None,
            finished_ms: sim_epoch_ms() - 60_000,
            estimated_ms: None,
            configs: Vec::new(),
            changes: BTreeMap::new(),
        }
    }

    pub fn pipeline(name: &str, last: Option<JobState>) -> Self {
        Self {
            class: "org.jenkinsci.plugins.workflow.job.WorkflowJob",
            ..Self::new(name, last)
        }
    }

    /// A multibranch branch: `name` is the encoded name (`feature%2Flogin`), the display name the raw one.
    pub fn branch(raw_branch: &str, last: Option<JobState>) -> Self {
        Self {
            display_name: Some(raw_branch.to_owned()),
            ..Self::pipeline(&raw_branch.replace('%', "%25").replace('/', "%2F"), last)
        }
    }

    pub fn disabled(mut self) -> Self {
        self.disabled = true;
        self
    }

    pub fn matrix(name: &str, configs: &[(&str, JobState)]) -> Self {
        let configs: Vec<SimJob> = configs
            .iter()
            .map(|(n, s)| SimJob {
                class: "hudson.matrix.MatrixConfiguration",
                ..SimJob::new(n, Some(*s))
            })
            .collect();
        let worst = configs
            .iter()
            .filter_map(|c| c.last.map(|l| l.1))
            .max_by_key(|s| result_rank(*s));
        Self {
            class: "hudson.matrix.MatrixProject",
            configs,
            ..SimJob::new(name, worst)
        }
    }

    fn color(&self) -> String {
        let base = if self.disabled {
            "disabled"
        } else {
            match self.last.map(|l| l.1) {
                None => "notbuilt",
                Some(JobState::Success) => "blue",
                Some(JobState::Unstable) => "yellow",
                Some(JobState::Failure) => "red",
                Some(JobState::Aborted) => "aborted",
                Some(JobState::NotBuilt) => "notbuilt",
                Some(JobState::Disabled) => "disabled",
                Some(JobState::Unknown) => "grey",
            }
        };
        if self.running.is_some() {
            format!("{base}_anime")
        } else {
            base.to_owned()
        }
    }

    fn last_build(&self) -> Value {
        let estimated = self
            .estimated_ms
            .map_or(-1, |ms| i64::try_from(ms).unwrap_or(i64::MAX));
        if let Some((number, started)) = self.running {
            return json!({"_class": "hudson.model.FreeStyleBuild", "number": number,
                "result": null, "building": true, "timestamp": started,
                "estimatedDuration": estimated});
        }
        match self.last {
            Some((number, result)) => json!({"_class": "hudson.model.FreeStyleBuild",
                "number": number, "result": result_name(result), "building": false,
                "timestamp": self.finished_ms, "estimatedDuration": estimated}),
            None => Value::Null,
        }
    }

    /// Starts a build (the next number, now), unless one is running.
    pub fn start_running(&mut self) {
        if self.running.is_none() {
            self.running = Some((self.next_number(), now_ms()));
        }
    }

    /// Finishes the running build with `result()` (a matrix job: each configuration gets its own, the
    /// job the worst of them); a successful one sets the estimate of the next ([`SimJob::estimated_ms`]).
    /// Nothing happens when no build runs.
    pub fn finish_running(&mut self, mut result: impl FnMut() -> JobState) {
        let Some((number, started)) = self.running.take() else {
            return;
        };
        self.finished_ms = now_ms();
        let took = u64::try_from(self.finished_ms.saturating_sub(started)).unwrap_or(0);
        if self.configs.is_empty() {
            let result = result();
            if result == JobState::Success {
                self.estimated_ms = Some(took.max(1));
            }
            self.last = Some((number, result));
            return;
        }
        for c in &mut self.configs {
            c.last = Some((number, result()));
            c.finished_ms = self.finished_ms;
        }
        let worst = self
            .configs
            .iter()
            .filter_map(|c| c.last.map(|l| l.1))
            .max_by_key(|s| result_rank(*s))
            .unwrap_or(JobState::Success);
        if worst == JobState::Success {
            self.estimated_ms = Some(took.max(1));
        }
        self.last = Some((number, worst));
    }

    /// Ends the running build with `result` ([`SimJob::finish_running`]), or, when none runs, records
    /// a build that started and finished between two polls.
    fn finish(&mut self, result: JobState) {
        if self.running.is_some() {
            self.finish_running(|| result);
        } else {
            self.last = Some((self.next_number(), result));
            self.finished_ms = now_ms();
        }
    }

    /// The page of build `number` (finished, or running), as Jenkins exports it: `None` for a build
    /// the job does not have.
    fn build_json(&self, number: u64, job_url: &str, base: &str) -> Option<Value> {
        let (result, building) = match (self.last, self.running) {
            (_, Some((n, _))) if n == number => (Value::Null, true),
            (Some((last, result)), _) if (1..=last).contains(&number) => {
                (json!(result_name(result)), false)
            }
            _ => return None,
        };
        let pipeline = self.class.contains("workflow");
        let changes = self.changes.get(&number).cloned().unwrap_or_default();
        let user = |name: &str| {
            json!({"_class": "hudson.model.User", "fullName": name,
                "absoluteUrl": format!("{base}user/{}", encode_segment(name))})
        };
        let items: Vec<Value> = changes
            .changes
            .iter()
            .enumerate()
            .map(|(i, (author, msg))| {
                json!({"_class": "hudson.plugins.git.GitChangeSet", "commitId": format!("{number:04}{i:036}"),
                    "author": user(author), "msg": msg.lines().next().unwrap_or_default(),
                    "comment": msg, "affectedPaths": ["src/login.rs"]})
            })
            .collect();
        let set =
            json!({"_class": "hudson.plugins.git.GitChangeSetList", "kind": "git", "items": items});
        let mut obj = Map::new();
        let class = if pipeline {
            "org.jenkinsci.plugins.workflow.job.WorkflowRun"
        } else {
            "hudson.model.FreeStyleBuild"
        };
        obj.insert("_class".into(), json!(class));
        obj.insert("number".into(), json!(number));
        obj.insert("url".into(), json!(format!("{job_url}{number}/")));
        obj.insert("result".into(), result);
        obj.insert("building".into(), json!(building));
        obj.insert(
            "culprits".into(),
            changes.culprits.iter().map(|c| user(c)).collect(),
        );
        if pipeline {
            let sets = if changes.changes.is_empty() {
                vec![]
            } else {
                vec![set]
            };
            obj.insert("changeSets".into(), Value::Array(sets));
        } else {
            obj.insert("changeSet".into(), set);
        }
        Some(Value::Object(obj))
    }

    fn next_number(&self) -> u64 {
        self.running
            .map(|r| r.0)
            .or(self.last.map(|l| l.0))
            .unwrap_or(0)
            + 1
    }
}

fn result_name(s: JobState) -> &'static str {
    match s {
        JobState::Success => "SUCCESS",
        JobState::Unstable => "UNSTABLE",
        JobState::Failure => "FAILURE",
        JobState::Aborted => "ABORTED",
        _ => "NOT_BUILT",
    }
}

fn result_rank(s: JobState) -> u8 {
    match s {
        JobState::Failure => 4,
        JobState::Unstable => 3,
        JobState::Aborted => 2,
        JobState::Success => 1,
        _ => 0,
    }
}

/// The simulator's first use in this process (epoch ms), so untouched jobs keep one build time.
fn sim_epoch_ms() -> i64 {
    static EPOCH: OnceLock<i64> = OnceLock::new();
    *EPOCH.get_or_init(now_ms)
}

fn now_ms() -> i64 {
    crate::clock::epoch_ms()
}

/// An item of the simulated server: a job, or a container of items.
#[derive(Debug, Clone, PartialEq)]
pub enum SimItem {
    Job(SimJob),
    Folder {
        name: String,
        class: &'static str,
        children: Vec<SimItem>,
    },
}

impl SimItem {
    pub fn folder(name: &str, children: Vec<SimItem>) -> Self {
        SimItem::Folder {
            name: name.to_owned(),
            class: "com.cloudbees.hudson.plugins.folder.Folder",
            children,
        }
    }

    pub fn multibranch(name: &str, branches: Vec<SimJob>) -> Self {
        SimItem::Folder {
            name: name.to_owned(),
            class: "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject",
            children: branches.into_iter().map(SimItem::Job).collect(),
        }
    }

    pub fn organization(name: &str, projects: Vec<SimItem>) -> Self {
        SimItem::Folder {
            name: name.to_owned(),
            class: "jenkins.branch.OrganizationFolder",
            children: projects,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            SimItem::Job(j) => &j.name,
            SimItem::Folder { name, .. } => name,
        }
    }
}

impl From<SimJob> for SimItem {
    fn from(job: SimJob) -> Self {
        SimItem::Job(job)
    }
}

/// Everything the simulated server knows.
#[derive(Debug)]
pub struct SimState {
    pub items: Vec<SimItem>,
    /// View name → full names of its jobs (listed flat, like a recursive ListView).
    pub views: BTreeMap<String, Vec<String>>,
    /// When set, requests need `Authorization: Basic user:token`.
    pub auth: Option<(String, String)>,
    pub mode: Mode,
}

impl SimState {
    /// A server listing `items`, answering normally, with no views and no auth.
    pub fn new(items: Vec<SimItem>) -> Self {
        Self {
            items,
            views: BTreeMap::new(),
            auth: None,
            mode: Mode::Normal,
        }
    }

    fn find_mut<'a>(items: &'a mut [SimItem], path: &[String]) -> Option<&'a mut SimItem> {
        let (first, rest) = path.split_first()?;
        let item = items.iter_mut().find(|i| i.name() == first)?;
        if rest.is_empty() {
            return Some(item);
        }
        match item {
            SimItem::Folder { children, .. } => Self::find_mut(children, rest),
            SimItem::Job(_) => None,
        }
    }

    fn find<'a>(items: &'a [SimItem], path: &[String]) -> Option<&'a SimItem> {
        let (first, rest) = path.split_first()?;
        let item = items.iter().find(|i| i.name() == first)?;
        match (rest.is_empty(), item) {
            (true, _) => Some(item),
            (false, SimItem::Folder { children, .. }) => Self::find(children, rest),
            (false, SimItem::Job(_)) => None,
        }
    }

    /// The job at a full name (`team/api`), if it exists.
    pub fn job_mut(&mut self, full_name: &str) -> Option<&mut SimJob> {
        match Self::find_mut(&mut self.items, &split_full_name(full_name)) {
            Some(SimItem::Job(job)) => Some(job),
            _ => None,
        }
    }

    /// Every job's full name (matrix configurations excluded), depth first.
    pub fn job_names(&self) -> Vec<String> {
        fn walk(items: &[SimItem], prefix: &str, out: &mut Vec<String>) {
            for item in items {
                let full = if prefix.is_empty() {
                    item.name().to_owned()
                } else {
                    format!("{prefix}/{}", item.name())
                };
                match item {
                    SimItem::Job(_) => out.push(full),
                    SimItem::Folder { children, .. } => walk(children, &full, out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, "", &mut out);
        out
    }
}

/// A large server for benchmarks: `jobs` jobs spread evenly over `levels` levels of nested folders, ten
/// folders per level (`team-3/area-7/group-1/job-0042`), mostly green with a few failing, unstable,
/// never built and building ones, freestyle and pipeline jobs alternating. The same arguments give the
/// same server.
pub fn generated(jobs: usize, levels: u32) -> Vec<SimItem> {
    const FAN: usize = 10;
    let leaves = FAN.saturating_pow(levels).max(1);
    let per_leaf = jobs.div_ceil(leaves);
    let mut made = 0;
    let mut job = |n: usize| {
        let state = match n {
            n if n.is_multiple_of(97) => None,
            n if n.is_multiple_of(17) => Some(JobState::Failure),
            n if n.is_multiple_of(29) => Some(JobState::Unstable),
            _ => Some(JobState::Success),
        };
        let name = format!("job-{n:05}");
        let mut job = if n.is_multiple_of(2) {
            SimJob::new(&name, state)
        } else {
            SimJob::pipeline(&name, state)
        };
        if let Some((number, _)) = &mut job.last {
            *number = 1 + (n as u64 % 300);
        }
        if n.is_multiple_of(50) {
            job.start_running();
        }
        SimItem::Job(job)
    };
    fn level(
        depth: u32,
        levels: u32,
        per_leaf: usize,
        jobs: usize,
        made: &mut usize,
        job: &mut dyn FnMut(usize) -> SimItem,
    ) -> Vec<SimItem> {
        if depth == levels {
            let take = per_leaf.min(jobs - *made);
            let items = (*made..*made + take).map(&mut *job).collect();
            *made += take;
            return items;
        }
        let kind = ["team", "area", "group", "unit"][(depth as usize).min(3)];
        (0..FAN)
            .map_while(|i| {
                (*made < jobs).then(|| {
                    let children = level(depth + 1, levels, per_leaf, jobs, made, job);
                    SimItem::folder(&format!("{kind}-{i}"), children)
                })
            })
            .collect()
    }
    level(0, levels, per_leaf, jobs, &mut made, &mut job)
}

/// A running simulated Jenkins. Stops when dropped.
pub struct SimJenkins {
    state: Arc<Mutex<SimState>>,
    requests: Arc<AtomicUsize>,
    build_requests: Arc<AtomicUsize>,
    traffic: Arc<Counted>,
    base: String,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    driver: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

/// The context path the simulator serves under, so clients must keep it (like `https://host/jenkins/`).
const PREFIX: &str = "/jenkins/";

impl SimJenkins {
    /// Starts a server on 127.0.0.1 with an ephemeral port.
    pub fn start(items: Vec<SimItem>) -> std::io::Result<Self> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(std::io::Error::other)?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| std::io::Error::other("the simulator has no TCP address"))?;
        let base = format!("http://127.0.0.1:{port}{PREFIX}");
        let server = Arc::new(server);
        let state = Arc::new(Mutex::new(SimState::new(items)));
        let requests = Arc::new(AtomicUsize::new(0));
        let build_requests = Arc::new(AtomicUsize::new(0));
        let traffic = Arc::new(Counted::default());
        let thread = {
            let counters = Counters {
                requests: requests.clone(),
                build_requests: build_requests.clone(),
                traffic: traffic.clone(),
            };
            let (server, state, base) = (server.clone(), state.clone(), base.clone());
            std::thread::Builder::new()
                .name("jenkins-sim".into())
                .spawn(move || serve(&server, &state, &counters, &base))?
        };
        Ok(Self {
            state,
            requests,
            build_requests,
            traffic,
            base,
            server,
            thread: Some(thread),
            driver: None,
        })
    }

    /// Base URL, ending in `/` (includes the `/jenkins/` context path).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The server's state, to change jobs, auth or the failure mode.
    pub fn state(&self) -> MutexGuard<'_, SimState> {
        self.state.lock()
    }

    /// How many HTTP requests the server has received.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// How many of them asked for a build's page (`job/…/{number}/api/json`), answered or not.
    pub fn build_requests(&self) -> usize {
        self.build_requests.load(Ordering::SeqCst)
    }

    /// What the JSON answers so far took: body bytes sent, and the same bodies before compression.
    pub fn traffic(&self) -> Traffic {
        Traffic {
            wire_bytes: self.traffic.wire.load(Ordering::SeqCst),
            plain_bytes: self.traffic.plain.load(Ordering::SeqCst),
            gzipped: self.traffic.gzipped.load(Ordering::SeqCst),
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state().mode = mode;
    }

    pub fn set_auth(&self, user: &str, token: &str) {
        self.state().auth = Some((user.to_owned(), token.to_owned()));
    }

    /// Finishes a new build of `full_name` with `result` (the build number goes up by one).
    /// Returns false when there is no such job.
    pub fn finish_build(&self, full_name: &str, result: JobState) -> bool {
        let mut state = self.state();
        let Some(job) = state.job_mut(full_name) else {
            return false;
        };
        job.finish(result);
        true
    }

    /// Like [`finish_build`](Self::finish_build), the new build blaming `changes` (set in the same step,
    /// so no poll sees the build without them).
    pub fn finish_build_with(
        &self,
        full_name: &str,
        result: JobState,
        changes: BuildChanges,
    ) -> bool {
        let mut state = self.state();
        let Some(job) = state.job_mut(full_name) else {
            return false;
        };
        let number = job.running.map(|r| r.0).unwrap_or(job.next_number());
        job.changes.insert(number, changes);
        job.finish(result);
        true
    }

    /// Starts a build of `full_name`. Returns false when there is no such job.
    pub fn start_build(&self, full_name: &str) -> bool {
        let mut state = self.state();
        let Some(job) = state.job_mut(full_name) else {
            return false;
        };
        job.start_running();
        true
    }

    /// Starts a thread that calls `tick` with the server's state every `every` until the simulator
    /// stops (the demo's jobs build, break and get fixed this way). One driver per simulator.
    pub fn drive(
        &mut self,
        every: Duration,
        mut tick: impl FnMut(&mut SimState) + Send + 'static,
    ) -> std::io::Result<()> {
        if self.driver.is_some() {
            return Ok(());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (stop, state) = (stop.clone(), self.state.clone());
            std::thread::Builder::new()
                .name("jenkins-sim-driver".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        std::thread::park_timeout(every);
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        tick(&mut state.lock());
                    }
                })?
        };
        self.driver = Some((stop, handle));
        Ok(())
    }
}

impl std::fmt::Debug for SimJenkins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimJenkins")
            .field("url", &self.base)
            .finish_non_exhaustive()
    }
}

impl Drop for SimJenkins {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.driver.take() {
            stop.store(true, Ordering::SeqCst);
            handle.thread().unpark();
            if handle.join().is_err() {
                tracing::warn!("the simulator driver thread panicked");
            }
        }
        self.server.unblock();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::warn!("the Jenkins simulator thread panicked");
        }
    }
}

/// The bytes of the JSON answers sent so far (see [`SimJenkins::traffic`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Body bytes as sent (gzip-compressed when the client accepted it).
    pub wire_bytes: u64,
    /// The same bodies uncompressed: what the wire would have carried without gzip.
    pub plain_bytes: u64,
    /// How many of the answers went out compressed.
    pub gzipped: u64,
}

#[derive(Debug, Default)]
struct Counted {
    wire: AtomicU64,
    plain: AtomicU64,
    gzipped: AtomicU64,
}

/// What the serving thread counts.
struct Counters {
    requests: Arc<AtomicUsize>,
    build_requests: Arc<AtomicUsize>,
    traffic: Arc<Counted>,
}

fn serve(server: &tiny_http::Server, state: &Mutex<SimState>, counters: &Counters, base: &str) {
    let mut held = Vec::new();
    for request in server.incoming_requests() {
        counters.requests.fetch_add(1, Ordering::SeqCst);
        if build_number(request.url()).is_some() {
            counters.build_requests.fetch_add(1, Ordering::SeqCst);
        }
        let answer = answer(&state.lock(), &request, base, &counters.traffic);
        match answer {
            None => held.push(request), // Mode::Hang: keep the connection open, never answer.
            Some(resp) => {
                if let Err(e) = request.respond(resp) {
                    tracing::debug!("simulator: client went away: {e}");
                }
            }
        }
    }
}

type Resp = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

/// Adds a header; the names and values used here are ASCII constants, so parsing cannot fail.
fn with_header(resp: Resp, name: &str, value: &str) -> Resp {
    match tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
        Ok(h) => resp.with_header(h),
        Err(()) => resp,
    }
}

fn html(status: u16, body: &str) -> Resp {
    with_header(
        tiny_http::Response::from_data(body.as_bytes().to_vec()).with_status_code(status),
        "Content-Type",
        "text/html;charset=utf-8",
    )
}

/// Whether the request's `Accept-Encoding` takes gzip.
fn accepts_gzip(request: &tiny_http::Request) -> bool {
    request
        .headers()
        .iter()
        .filter(|h| h.field.equiv("Accept-Encoding"))
        .any(|h| takes_gzip(h.value.as_str()))
}

/// Whether an `Accept-Encoding` value names gzip (and does not refuse it with `q=0`).
fn takes_gzip(value: &str) -> bool {
    value.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        name.eq_ignore_ascii_case("gzip") && !refused
    })
}

/// `body` gzip-compressed at the default level (as Jenkins' servlet container does).
fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 8),
        flate2::Compression::default(),
    );
    encoder.write_all(body)?;
    encoder.finish()
}

fn answer(
    st: &SimState,
    request: &tiny_http::Request,
    base: &str,
    traffic: &Counted,
) -> Option<Resp> {
    match st.mode {
        Mode::Hang => return None,
        Mode::Html200 => {
            return Some(html(
                200,
                "<html><body><form action=\"/sso/login\">Sign in</form></body></html>",
            ));
        }
        Mode::Status(code) => return Some(html(code, "<html><body>Server error</body></html>")),
        Mode::Normal | Mode::Truncated => {}
    }
    if let Some((user, token)) = &st.auth {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
        );
        let sent = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.as_str().to_owned());
        match sent {
            None => {
                let page = html(
                    403,
                    "<html><head><meta http-equiv='refresh' content='1;url=/login'/></head>\
                     <body>Authentication required</body></html>",
                );
                return Some(with_header(page, "X-You-Are-Authenticated-As", "anonymous"));
            }
            Some(s) if s != expected => {
                let page = html(401, "<html><body>Invalid password/token</body></html>");
                return Some(with_header(
                    page,
                    "WWW-Authenticate",
                    "Basic realm=\"Jenkins\"",
                ));
            }
            Some(_) => {}
        }
    }
    let (path, query) = match request.url().split_once('?') {
        Some((p, q)) => (p, q),
        None => (request.url(), ""),
    };
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Some(html(404, "<html><body>Not found</body></html>"));
    };
    let Some(value) = resolve(st, rest, base) else {
        return Some(html(404, "<html><body>Not found</body></html>"));
    };
    let tree = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("tree="))
        .map(|t| percent_decode_str(t).decode_utf8_lossy().into_owned());
    let value = match tree.as_deref().map(parse_tree) {
        Some(Ok(spec)) => prune(&value, &spec),
        Some(Err(e)) => return Some(html(500, &format!("Malformed tree expression: {e}"))),
        None => value,
    };
    let mut body = value.to_string().into_bytes();
    if st.mode == Mode::Truncated {
        body.truncate(body.len() / 2);
    }
    let plain = body.len() as u64;
    let compressed = match accepts_gzip(request).then(|| gzip(&body)) {
        Some(Ok(packed)) => {
            body = packed;
            true
        }
        Some(Err(e)) => {
            tracing::debug!("simulator: cannot compress an answer, sending it plain: {e}");
            false
        }
        None => false,
    };
    traffic.plain.fetch_add(plain, Ordering::SeqCst);
    traffic.wire.fetch_add(body.len() as u64, Ordering::SeqCst);
    let mut resp = with_header(
        tiny_http::Response::from_data(body),
        "Content-Type",
        "application/json;charset=utf-8",
    );
    if compressed {
        traffic.gzipped.fetch_add(1, Ordering::SeqCst);
        resp = with_header(resp, "Content-Encoding", "gzip");
    }
    Some(with_header(resp, "X-Jenkins", "2.500-sim"))
}

/// The build number of a request for a build's page (`…/job/a/12/api/json?…`).
fn build_number(url: &str) -> Option<u64> {
    let path = url.split_once('?').map_or(url, |(p, _)| p);
    let rest = path.strip_suffix("/api/json")?;
    let (job, number) = rest.rsplit_once('/')?;
    job.contains("/job/").then_some(())?;
    number.parse().ok()
}

/// Maps `job/a/job/b/api/json`, `job/a/12/api/json` (a build) or `view/V/api/json` to the object
/// Jenkins would serialise.
fn resolve(st: &SimState, rest: &str, base: &str) -> Option<Value> {
    let mut segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let api = segs.len().checked_sub(2)?;
    if segs[api..] != ["api", "json"] {
        return None;
    }
    segs.truncate(api);
    let build = if segs.len() % 2 == 1 {
        Some(segs.pop()?.parse::<u64>().ok()?)
    } else {
        None
    };
    let mut path = Vec::new();
    let mut view = None;
    for pair in segs.chunks(2) {
        match pair {
            [kind, name] if kind == "job" => path.push(name.clone()),
            [kind, name] if kind == "view" && path.is_empty() => view = Some(name.clone()),
            _ => return None,
        }
    }
    if let Some(number) = build {
        let Some(SimItem::Job(job)) = SimState::find(&st.items, &path) else {
            return None;
        };
        let url = crate::sources::jenkins::tree::job_url(base, &path);
        return job.build_json(number, &url, base);
    }
    if let Some(view) = view {
        let names = st.views.get(&view)?;
        let jobs: Vec<Value> = names
            .iter()
            .filter_map(|n| {
                let p = split_full_name(n);
                SimState::find(&st.items, &p).map(|i| item_json(i, &p[..p.len() - 1], base))
            })
            .collect();
        return Some(json!({"_class": "hudson.model.ListView", "name": view, "jobs": jobs}));
    }
    if path.is_empty() {
        let jobs: Vec<Value> = st.items.iter().map(|i| item_json(i, &[], base)).collect();
        return Some(json!({"_class": "hudson.model.Hudson", "url": base, "jobs": jobs}));
    }
    let item = SimState::find(&st.items, &path)?;
    Some(item_json(item, &path[..path.len() - 1], base))
}

/// The full (unpruned) JSON of an item, as Jenkins exports it.
fn item_json(item: &SimItem, parent: &[String], base: &str) -> Value {
    let mut path = parent.to_vec();
    path.push(item.name().to_owned());
    let url = crate::sources::jenkins::tree::job_url(base, &path);
    let mut obj = Map::new();
    match item {
        SimItem::Folder {
            name,
            class,
            children,
        } => {
            obj.insert("_class".into(), json!(class));
            obj.insert("name".into(), json!(name));
            obj.insert("fullName".into(), json!(path.join("/")));
            obj.insert("displayName".into(), json!(name));
            obj.insert("url".into(), json!(url));
            let jobs: Vec<Value> = children.iter().map(|c| item_json(c, &path, base)).collect();
            obj.insert("jobs".into(), Value::Array(jobs));
        }
        SimItem::Job(job) => {
            fill_job(&mut obj, job, &path, &url);
            if !job.configs.is_empty() {
                let configs: Vec<Value> = job
                    .configs
                    .iter()
                    .map(|c| {
                        let mut cpath = path.clone();
                        cpath.push(c.name.clone());
                        let mut o = Map::new();
                        fill_job(
                            &mut o,
                            c,
                            &cpath,
                            &format!("{url}{}/", encode_segment(&c.name)),
                        );
                        Value::Object(o)
                    })
                    .collect();
                obj.insert("activeConfigurations".into(), Value::Array(configs));
            }
        }
    }
    Value::Object(obj)
}

fn fill_job(obj: &mut Map<String, Value>, job: &SimJob, path: &[String], url: &str) {
    obj.insert("_class".into(), json!(job.class));
    obj.insert("name".into(), json!(job.name));
    obj.insert("fullName".into(), json!(path.join("/")));
    obj.insert(
        "displayName".into(),
        json!(job.display_name.as_deref().unwrap_or(&job.name)),
    );
    obj.insert("url".into(), json!(url));
    obj.insert("color".into(), json!(job.color()));
    obj.insert("buildable".into(), json!(!job.disabled));
    obj.insert("lastBuild".into(), job.last_build());
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_build_page_exists_for_each_finished_and_the_running_build_only() {
        let mut job = SimJob::pipeline("api", Some(JobState::Failure));
        job.changes
            .insert(1, BuildChanges::by("Mona", "Fix it\n\nbody"));
        job.start_running();
        let page = job
            .build_json(1, "http://sim/job/api/", "http://sim/")
            .unwrap();
        assert_eq!(page["result"], "FAILURE");
        assert_eq!(page["culprits"][0]["fullName"], "Mona");
        assert_eq!(page["changeSets"][0]["items"][0]["msg"], "Fix it");
        assert_eq!(
            page["changeSets"][0]["items"][0]["comment"],
            "Fix it\n\nbody"
        );
        let running = job
            .build_json(2, "http://sim/job/api/", "http://sim/")
            .unwrap();
        assert_eq!(
            (running["building"].clone(), running["changeSets"].clone()),
            (json!(true), json!([]))
        );
        assert_eq!(
            job.build_json(3, "http://sim/job/api/", "http://sim/"),
            None
        );
        assert_eq!(
            job.build_json(0, "http://sim/job/api/", "http://sim/"),
            None
        );
        let freestyle = SimJob::new("web", Some(JobState::Success));
        let page = freestyle
            .build_json(1, "http://sim/job/web/", "http://sim/")
            .unwrap();
        assert_eq!(
            page["changeSet"]["items"],
            json!([]),
            "freestyle: one changeSet"
        );
    }

    #[test]
    fn build_page_requests_are_told_from_job_and_root_requests() {
        assert_eq!(
            build_number("/jenkins/job/api/12/api/json?tree=culprits"),
            Some(12)
        );
        assert_eq!(build_number("/jenkins/job/f/job/api/3/api/json"), Some(3));
        assert_eq!(build_number("/jenkins/job/api/api/json?tree=jobs"), None);
        assert_eq!(build_number("/jenkins/api/json?tree=jobs"), None);
    }

    #[test]
    fn a_generated_server_has_the_jobs_asked_for_in_nested_folders() {
        let st = SimState::new(generated(1234, 3));
        let names = st.job_names();
        assert_eq!(names.len(), 1234);
        assert_eq!(names[0], "team-0/area-0/group-0/job-00000");
        assert!(
            names.iter().all(|n| n.matches('/').count() == 3),
            "{names:?}"
        );
        assert_eq!(
            SimState::new(generated(1234, 3)).job_names(),
            names,
            "the same every time"
        );
        assert_eq!(SimState::new(generated(7, 0)).job_names().len(), 7);
    }

    #[test]
    fn answers_are_gzipped_for_a_client_that_accepts_it_and_counted_both_ways() {
        use crate::sources::Source as _;
        use crate::sources::jenkins::client::{Client, Settings};
        use std::io::{Read as _, Write as _};

        let sim = SimJenkins::start(generated(500, 2)).unwrap();
        let client = Client::new(Settings::new("ci", sim.url())).unwrap();
        assert_eq!(client.fetch().unwrap().jobs.len(), 500);
        let zipped = sim.traffic();
        assert_eq!(zipped.gzipped, 1, "{zipped:?}");
        assert!(zipped.wire_bytes * 5 < zipped.plain_bytes, "{zipped:?}");

        let addr = sim
            .url()
            .trim_start_matches("http://")
            .trim_end_matches(PREFIX);
        let mut raw = std::net::TcpStream::connect(addr).unwrap();
        raw.write_all(b"GET /jenkins/api/json?tree=jobs%5Bname%5D HTTP/1.0\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        raw.read_to_string(&mut answer).unwrap();
        assert!(answer.contains(r#""name":"team-0""#), "{answer}");
        let both = sim.traffic();
        assert_eq!(both.gzipped, 1, "no Accept-Encoding, no gzip");
        assert_eq!(
            both.wire_bytes - zipped.wire_bytes,
            both.plain_bytes - zipped.plain_bytes
        );
    }

    #[test]
    fn gzip_is_taken_when_named_and_not_refused() {
        assert!(takes_gzip("gzip"));
        assert!(takes_gzip("deflate, GZIP;q=0.5, br"));
        assert!(!takes_gzip("gzip;q=0"));
        assert!(!takes_gzip("deflate, br"));
        assert!(!takes_gzip("x-gzip-ish"));
    }

    #[test]
    fn branches_are_stored_encoded() {
        assert_eq!(
            SimJob::branch("feature/login", None).name,
            "feature%2Flogin"
        );
    }
}
