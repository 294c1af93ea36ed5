//! The tray's pure half: which state the icon shows, the one-line summary, the problem jobs, and the icon
//! pixels themselves (RGBA, drawn at run time with anti-aliased geometry, no image files).
//!
//! # Which jobs count
//!
//! The tray summarises the same jobs as the strip's aggregate LED ("the tube"), following
//! `[aggregate] scope`: with `scope = "mapped"` (the default) the jobs behind the mapped slots (each job
//! once, even if a job slot and a folder slot both cover it); with `scope = "all"` every job of every server.
//! One deliberate difference: when **no slot is mapped at all**, the tray falls back to every job of every
//! server, so the tray is useful before (or without) a strip.
//!
//! # Which state wins
//!
//! `Failure > Unstable > Unreachable > Building > Success > NoJobs`, from [`Severity`]:
//! - any failing job → [`TrayState::Failure`]; else any unstable job → [`TrayState::Unstable`];
//! - else any counted job stale (its server is unreachable, connecting or refusing us) →
//!   [`TrayState::Unreachable`];
//! - else, if a build runs → [`TrayState::Building`] (a build never hides a failure: a failing job that is
//!   rebuilding still shows [`TrayState::Failure`]; the tooltip says so);
//! - else jobs with a result (success, aborted, unknown) → [`TrayState::Success`] ("none failing");
//! - else (nothing counted, or only disabled / never built jobs) → [`TrayState::NoJobs`].
//!
//! The icon colours are a fixed palette tuned for panels, not the LED colours of the config (those are tuned
//! for LEDs: `disabled` is almost black, for instance).

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{AggregateScope, Config};
use crate::model::{JobId, JobState, JobStatus, ServerState, Severity, Snapshot, Target};

/// The icon's state: the worst state of the counted jobs. See the module docs for the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrayState {
    NoJobs,
    Success,
    Building,
    Unreachable,
    Unstable,
    Failure,
}

impl TrayState {
    /// Every state, best first.
    pub const ALL: [TrayState; 6] = [
        TrayState::NoJobs,
        TrayState::Success,
        TrayState::Building,
        TrayState::Unreachable,
        TrayState::Unstable,
        TrayState::Failure,
    ];

    /// A short lower-case name, for logs.
    pub fn label(self) -> &'static str {
        match self {
            TrayState::NoJobs => "no jobs",
            TrayState::Success => "success",
            TrayState::Building => "building",
            TrayState::Unreachable => "unreachable",
            TrayState::Unstable => "unstable",
            TrayState::Failure => "failure",
        }
    }

    /// The disc colour of the icon (R, G, B).
    pub fn color(self) -> [u8; 3] {
        match self {
            TrayState::NoJobs => [0x8c, 0x8c, 0x8c],
            TrayState::Success => [0x2e, 0xa0, 0x43],
            TrayState::Building => [0x1f, 0x6f, 0xeb],
            TrayState::Unreachable => [0x82, 0x50, 0xdf],
            TrayState::Unstable => [0xf0, 0xa5, 0x00],
            TrayState::Failure => [0xd9, 0x30, 0x25],
        }
    }

    /// The glyph colour: white, except dark on the light amber disc.
    fn glyph_color(self) -> [u8; 3] {
        match self {
            TrayState::Unstable => [0x20, 0x20, 0x20],
            _ => [0xff, 0xff, 0xff],
        }
    }
}

/// A failing or unstable job, for the tray menu (a click opens `url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemJob {
    /// Human name: the decoded full name (`team/api`), prefixed with `server: ` when several servers exist.
    pub label: String,
    /// The job page.
    pub url: String,
    /// [`JobState::Failure`] or [`JobState::Unstable`].
    pub state: JobState,
    pub building: bool,
}

/// What the tray shows, derived from one snapshot: see [`tray_view`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub state: TrayState,
    /// One line: "2 failing: api, web", "All 12 jobs passing", "ci unreachable", …
    pub tooltip: String,
    /// Failing jobs first, then unstable ones; each in server then name order.
    pub problems: Vec<ProblemJob>,
}

impl Default for TrayView {
    /// The view before the first snapshot: no jobs.
    fn default() -> Self {
        Self {
            state: TrayState::NoJobs,
            tooltip: "No jobs".to_owned(),
            problems: Vec::new(),
        }
    }
}

/// How many names a tooltip clause lists before "+N".
pub const TOOLTIP_NAMES: usize = 3;

/// One counted job, as the view needs it.
struct Counted<'a> {
    id: &'a JobId,
    display_name: &'a str,
    url: &'a str,
    state: JobState,
    building: bool,
    severity: Severity,
}

/// The tray's view of a snapshot: state, tooltip and problem jobs, over the jobs described in the module
/// docs.
pub fn tray_view(snapshot: &Snapshot, config: &Config) -> TrayView {
    let (counted, stale_servers) = counted_jobs(snapshot, config);
    let several_servers = snapshot.servers.len() > 1;

    let worst = counted
        .values()
        .map(|c| c.severity)
        .max()
        .unwrap_or(Severity::NoJobs);
    let any_stale = !stale_servers.is_empty() || worst == Severity::Stale;
    let building: Vec<&Counted> = counted.values().filter(|c| c.building).collect();

    let mut problems: Vec<ProblemJob> = Vec::new();
    for wanted in [JobState::Failure, JobState::Unstable] {
        for c in counted.values().filter(|c| c.state == wanted) {
            problems.push(ProblemJob {
                label: full_label(c.id, several_servers),
                url: c.url.to_owned(),
                state: c.state,
                building: c.building,
            });
        }
    }
    // Tooltip names: fresh results only (a stale server's jobs are summed up as "unreachable").
    let names_of = |severity: Severity| -> Vec<String> {
        let jobs: Vec<&Counted> = counted
            .values()
            .filter(|c| c.severity == severity)
            .collect();
        short_names(&jobs, several_servers)
    };
    let failing = names_of(Severity::Failure);
    let unstable = names_of(Severity::Unstable);

    let state = match worst {
        Severity::Failure => TrayState::Failure,
        Severity::Unstable => TrayState::Unstable,
        _ if any_stale => TrayState::Unreachable,
        _ if !building.is_empty() => TrayState::Building,
        Severity::Success | Severity::Aborted | Severity::Unknown => TrayState::Success,
        _ => TrayState::NoJobs,
    };

    let mut clauses: Vec<String> = Vec::new();
    match state {
        TrayState::Failure | TrayState::Unstable => {
            if !failing.is_empty() {
                clauses.push(format!(
                    "{} failing: {}",
                    failing.len(),
                    capped(&failing, TOOLTIP_NAMES)
                ));
            }
            if !unstable.is_empty() {
                clauses.push(format!(
                    "{} unstable: {}",
                    unstable.len(),
                    capped(&unstable, TOOLTIP_NAMES)
                ));
            }
            if any_stale {
                clauses.push(stale_clause(snapshot, &stale_servers));
            }
            let rebuilding = problems.iter().filter(|p| p.building).count();
            if rebuilding > 0 {
                clauses.push(format!("{rebuilding} rebuilding"));
            }
        }
        TrayState::Unreachable => clauses.push(stale_clause(snapshot, &stale_servers)),
        TrayState::Building => {
            let jobs: Vec<&Counted> = building.clone();
            let names = short_names(&jobs, several_servers);
            clauses.push(format!("Building: {}", capped(&names, TOOLTIP_NAMES)));
            clauses.push(passing_clause(&counted, false));
        }
        TrayState::Success => clauses.push(passing_clause(&counted, true)),
        TrayState::NoJobs => clauses.push(no_jobs_clause(snapshot, config, counted.len())),
    }

    TrayView {
        state,
        tooltip: clauses.join(" · "),
        problems,
    }
}

/// The counted jobs (each once, by id) and the servers in scope that are not ok.
fn counted_jobs<'a>(
    snapshot: &'a Snapshot,
    config: &'a Config,
) -> (BTreeMap<&'a JobId, Counted<'a>>, BTreeSet<&'a str>) {
    let mut acc = Acc {
        snapshot,
        counted: BTreeMap::new(),
        stale_servers: BTreeSet::new(),
    };
    let all = config.aggregate.scope == AggregateScope::All || config.slots.is_empty();
    if all {
        for name in snapshot.servers.keys() {
            acc.add(name, |_| true);
        }
    } else {
        for slot in &config.slots {
            match &slot.target {
                Target::Job(id) => acc.add(&id.server, |p| p == id.path.as_slice()),
                Target::Folder { server, path } => acc.add(server, |p| p.starts_with(path)),
                Target::Server(server) => acc.add(server, |_| true),
            }
        }
    }
    (acc.counted, acc.stale_servers)
}

struct Acc<'a> {
    snapshot: &'a Snapshot,
    counted: BTreeMap<&'a JobId, Counted<'a>>,
    stale_servers: BTreeSet<&'a str>,
}

impl<'a> Acc<'a> {
    /// Counts the jobs of `server` whose path passes `take`; notes the server when it is not ok (even with
    /// no job listed: before the first answer the strip shows a mapped job stale, so does the tray).
    fn add(&mut self, server: &str, take: impl Fn(&[String]) -> bool) {
        let Some((name, s)) = self.snapshot.servers.get_key_value(server) else {
            return;
        };
        let stale = s.stale();
        if stale {
            self.stale_servers.insert(name.as_str());
        }
        for (path, job) in &s.jobs {
            if !take(path) {
                continue;
            }
            let status = JobStatus {
                state: job.state,
                building: job.building,
                stale,
            };
            self.counted.insert(
                &job.id,
                Counted {
                    id: &job.id,
                    display_name: &job.display_name,
                    url: &job.url,
                    state: job.state,
                    building: job.building && !stale,
                    severity: Severity::of(status),
                },
            );
        }
    }
}

/// "api" normally; the decoded full name when two problem jobs share a display name.
fn short_names(jobs: &[&Counted], several_servers: bool) -> Vec<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for j in jobs {
        *seen.entry(j.display_name).or_default() += 1;
    }
    jobs.iter()
        .map(|j| {
            if seen.get(j.display_name).copied().unwrap_or(0) > 1 || j.display_name.is_empty() {
                full_label(j.id, several_servers)
            } else {
                j.display_name.to_owned()
            }
        })
        .collect()
}

/// `team/api` (segments percent-decoded: `feature%2Fx` → `feature/x`), with `server: ` when useful.
fn full_label(id: &JobId, with_server: bool) -> String {
    let name = id.readable_name();
    if with_server {
        format!("{}: {name}", id.server)
    } else {
        name
    }
}

/// "a, b, c +2" for a cap of 3.
pub fn capped(names: &[String], cap: usize) -> String {
    let shown = names
        .iter()
        .take(cap)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > cap {
        format!("{shown} +{}", names.len() - cap)
    } else {
        shown
    }
}

fn stale_clause(snapshot: &Snapshot, servers: &BTreeSet<&str>) -> String {
    if servers.is_empty() {
        return "Job states are stale".to_owned();
    }
    let parts: Vec<String> = servers
        .iter()
        .map(|name| {
            let state = snapshot.servers.get(*name).map(|s| &s.state);
            match state {
                Some(ServerState::Connecting) => format!("connecting to {name}…"),
                Some(ServerState::AuthNeeded) => format!("{name} needs a login"),
                Some(ServerState::TokenRejected) => format!("{name} rejected the token"),
                _ => format!("{name} unreachable"),
            }
        })
        .collect();
    capped(&parts, TOOLTIP_NAMES)
}

fn passing_clause(counted: &BTreeMap<&JobId, Counted>, capital: bool) -> String {
    let n = counted.len();
    let all_success = counted.values().all(|c| {
        matches!(
            c.state,
            JobState::Success | JobState::Disabled | JobState::NotBuilt
        )
    });
    let text = match (n, all_success) {
        (1, true) => "1 job passing".to_owned(),
        (_, true) => format!("all {n} jobs passing"),
        (1, false) => "1 job, not failing".to_owned(),
        (_, false) => format!("{n} jobs, none failing"),
    };
    if capital { capitalise(&text) } else { text }
}

fn no_jobs_clause(snapshot: &Snapshot, config: &Config, counted: usize) -> String {
    if counted > 0 {
        return format!("{counted} jobs, none built");
    }
    if config.aggregate.scope == AggregateScope::Mapped && !config.slots.is_empty() {
        return "No mapped jobs listed".to_owned();
    }
    if snapshot.servers.is_empty() && config.servers.is_empty() {
        return "No servers configured".to_owned();
    }
    "No jobs".to_owned()
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------------
// The icon pixels.

/// The icon of `state`: `size`×`size` RGBA, row-major, straight (not premultiplied) alpha.
///
/// A filled disc of the state colour with a dark outline ring (readable on light and dark panels), and one
/// glyph per state: check (success), "!" (unstable), cross (failure), a circular arrow (building), "?"
/// (unreachable), a dash (no jobs). Outside the disc the icon is transparent. Anti-aliased by analytic
/// coverage of signed distances; strokes never get thinner than ~1.5 px so the glyph reads at 16 px.
pub fn render_icon(state: TrayState, size: u32) -> Vec<u8> {
    let size = size.max(1);
    let n = size as usize;
    let mut out = vec![0u8; n * n * 4];
    let half = f64::from(size) / 2.0;
    // Unit coordinates: the disc has radius 1, centred; y grows downwards.
    let radius_px = (half - 0.5).max(0.5);
    let px = 1.0 / radius_px; // one pixel in unit lengths
    let ring = (0.1f64).max(1.3 * px);
    let stroke = (0.2f64).max(1.5 * px);
    let glyph = Glyph::of(state, stroke);
    let outline = [0x1c, 0x1c, 0x1c];
    let fill = state.color();
    let ink = state.glyph_color();
    for y in 0..n {
        for x in 0..n {
            let ux = (x as f64 + 0.5 - half) / radius_px;
            let uy = (y as f64 + 0.5 - half) / radius_px;
            let d_disc = (ux * ux + uy * uy).sqrt() - 1.0;
            let mut pixel = [0.0f64; 4];
            over(&mut pixel, outline, coverage(d_disc, px));
            over(&mut pixel, fill, coverage(d_disc + ring, px));
            over(&mut pixel, ink, coverage(glyph.distance(ux, uy), px));
            let i = (y * n + x) * 4;
            let a = pixel[3];
            for c in 0..3 {
                let v = if a > 0.0 { pixel[c] / a } else { 0.0 };
                out[i + c] = (v * 255.0).round().clamp(0.0, 255.0) as u8;
            }
            out[i + 3] = (a * 255.0).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Share of a pixel covered by a shape with signed distance `d` (negative inside) at its centre.
fn coverage(d: f64, px: f64) -> f64 {
    (0.5 - d / px).clamp(0.0, 1.0)
}

/// Porter-Duff "over" onto a premultiplied pixel.
fn over(dst: &mut [f64; 4], color: [u8; 3], alpha: f64) {
    if alpha <= 0.0 {
        return;
    }
    for c in 0..3 {
        dst[c] = f64::from(color[c]) / 255.0 * alpha + dst[c] * (1.0 - alpha);
    }
    dst[3] = alpha + dst[3] * (1.0 - alpha);
}

/// A glyph as a union of primitives, in unit coordinates.
struct Glyph {
    parts: Vec<Shape>,
}

enum Shape {
    /// A stroked segment with round caps.
    Segment {
        a: (f64, f64),
        b: (f64, f64),
        half_width: f64,
    },
    Dot {
        c: (f64, f64),
        r: f64,
    },
    /// A stroked arc of a circle, from angle `from` sweeping `sweep` radians (clockwise on screen).
    Arc {
        c: (f64, f64),
        r: f64,
        from: f64,
        sweep: f64,
        half_width: f64,
    },
    Triangle {
        p: [(f64, f64); 3],
    },
}

impl Glyph {
    fn of(state: TrayState, stroke: f64) -> Glyph {
        let hw = stroke / 2.0;
        let seg = |a, b| Shape::Segment {
            a,
            b,
            half_width: hw,
        };
        use std::f64::consts::PI;
        let parts = match state {
            TrayState::Success => vec![
                seg((-0.42, 0.02), (-0.12, 0.32)),
                seg((-0.12, 0.32), (0.44, -0.3)),
            ],
            TrayState::Failure => vec![
                seg((-0.34, -0.34), (0.34, 0.34)),
                seg((-0.34, 0.34), (0.34, -0.34)),
            ],
            TrayState::Unstable => vec![
                seg((0.0, -0.5), (0.0, 0.1)),
                Shape::Dot {
                    c: (0.0, 0.42),
                    r: hw * 1.15,
                },
            ],
            TrayState::Building => {
                let r = 0.42;
                let from = -PI / 2.0 + 0.45; // just right of the top
                let sweep = 1.55 * PI;
                let end = from + sweep;
                let (ex, ey) = (r * end.cos(), r * end.sin());
                // Tangent (clockwise on screen) and outward normal at the arc's end.
                let (tx, ty) = (-end.sin(), end.cos());
                let (nx, ny) = (end.cos(), end.sin());
                let head = 0.26;
                vec![
                    Shape::Arc {
                        c: (0.0, 0.0),
                        r,
                        from,
                        sweep,
                        half_width: hw,
                    },
                    Shape::Triangle {
                        p: [
                            (ex + nx * head, ey + ny * head),
                            (ex - nx * head, ey - ny * head),
                            (ex + tx * head * 1.1, ey + ty * head * 1.1),
                        ],
                    },
                ]
            }
            TrayState::Unreachable => vec![
                Shape::Arc {
                    c: (0.0, -0.2),
                    r: 0.25,
                    from: PI,
                    sweep: 1.5 * PI,
                    half_width: hw,
                },
                seg((0.0, 0.05), (0.0, 0.12)),
                Shape::Dot {
                    c: (0.0, 0.44),
                    r: hw * 1.15,
                },
            ],
            TrayState::NoJobs => vec![seg((-0.4, 0.0), (0.4, 0.0))],
        };
        Glyph { parts }
    }

    fn distance(&self, x: f64, y: f64) -> f64 {
        self.parts
            .iter()
            .map(|s| s.distance(x, y))
            .fold(f64::INFINITY, f64::min)
    }
}

impl Shape {
    fn distance(&self, x: f64, y: f64) -> f64 {
        match *self {
            Shape::Segment { a, b, half_width } => segment_distance((x, y), a, b) - half_width,
            Shape::Dot { c, r } => ((x - c.0).powi(2) + (y - c.1).powi(2)).sqrt() - r,
            Shape::Arc {
                c,
                r,
                from,
                sweep,
                half_width,
            } => {
                let (dx, dy) = (x - c.0, y - c.1);
                let angle = dy.atan2(dx);
                let rel = (angle - from).rem_euclid(std::f64::consts::TAU);
                if rel <= sweep {
                    ((dx * dx + dy * dy).sqrt() - r).abs() - half_width
                } else {
                    let end = |t: f64| (c.0 + r * t.cos(), c.1 + r * t.sin());
                    let (s, e) = (end(from), end(from + sweep));
                    let ds = ((x - s.0).powi(2) + (y - s.1).powi(2)).sqrt();
                    let de = ((x - e.0).powi(2) + (y - e.1).powi(2)).sqrt();
                    ds.min(de) - half_width
                }
            }
            Shape::Triangle { p } => triangle_distance((x, y), p),
        }
    }
}

fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (abx, aby) = (b.0 - a.0, b.1 - a.1);
    let (apx, apy) = (p.0 - a.0, p.1 - a.1);
    let len2 = abx * abx + aby * aby;
    let t = if len2 > 0.0 {
        ((apx * abx + apy * aby) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((apx - t * abx).powi(2) + (apy - t * aby).powi(2)).sqrt()
}

/// Signed distance to a filled triangle (negative inside).
fn triangle_distance(p: (f64, f64), t: [(f64, f64); 3]) -> f64 {
    let edge = |i: usize| (t[i], t[(i + 1) % 3]);
    let outside_dist = (0..3)
        .map(|i| {
            let (a, b) = edge(i);
            segment_distance(p, a, b)
        })
        .fold(f64::INFINITY, f64::min);
    let cross =
        |a: (f64, f64), b: (f64, f64)| (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
    let signs: Vec<f64> = (0..3)
        .map(|i| {
            let (a, b) = edge(i);
            cross(a, b)
        })
        .collect();
    let inside = signs.iter().all(|s| *s >= 0.0) || signs.iter().all(|s| *s <= 0.0);
    if inside { -outside_dist } else { outside_dist }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::{Build, Job, ServerSnapshot};

    // ---- icons ----------------------------------------------------------------------------------

    /// The most common colour among opaque pixels, in 32-level buckets (bucket centres).
    fn dominant(rgba: &[u8]) -> [u8; 3] {
        let mut counts: BTreeMap<[u8; 3], usize> = BTreeMap::new();
        for p in rgba.chunks_exact(4).filter(|p| p[3] == 255) {
            *counts.entry([p[0] >> 5, p[1] >> 5, p[2] >> 5]).or_default() += 1;
        }
        let (bucket, _) = counts.into_iter().max_by_key(|(_, n)| *n).unwrap();
        bucket.map(|b| (b << 5) + 16)
    }

    fn close(a: [u8; 3], b: [u8; 3]) -> bool {
        a.iter()
            .zip(b)
            .all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= 24)
    }

    fn dist(a: [u8; 3], b: [u8; 3]) -> i32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (i32::from(*x) - i32::from(y)).abs())
            .sum()
    }

    /// Writes every icon as PAM files for eyeballing: `cargo test --lib dump_icons -- --ignored`, then
    /// `convert x.pam x.png`.
    #[test]
    #[ignore = "writes files for a human to look at"]
    fn dump_icons() {
        let dir = std::env::temp_dir().join("ledtogo-tray-icons");
        std::fs::create_dir_all(&dir).unwrap();
        for size in [16, 22, 32, 64] {
            for s in TrayState::ALL {
                let img = render_icon(s, size);
                let mut out = format!(
                    "P7\nWIDTH {size}\nHEIGHT {size}\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n"
                )
                .into_bytes();
                out.extend_from_slice(&img);
                let name = s.label().replace(' ', "-");
                std::fs::write(dir.join(format!("{name}-{size}.pam")), out).unwrap();
            }
        }
    }

    /// Rough hue family of a colour, to check "green is green" independent of the palette details.
    fn family(c: [u8; 3]) -> &'static str {
        let [r, g, b] = c.map(i32::from);
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        if max - min < 30 {
            "grey"
        } else if g == max && g > r + 40 && g > b + 40 {
            "green"
        } else if r == max && g > 120 && b < 80 {
            "amber"
        } else if r == max && g < 90 && b < 90 {
            "red"
        } else if b == max && r < 100 {
            "blue"
        } else if b == max && r >= 100 {
            "violet"
        } else {
            "other"
        }
    }

    #[test]
    fn each_state_icon_is_dominated_by_its_colour_at_every_size() {
        let expected = [
            (TrayState::Success, "green"),
            (TrayState::Unstable, "amber"),
            (TrayState::Failure, "red"),
            (TrayState::Building, "blue"),
            (TrayState::Unreachable, "violet"),
            (TrayState::NoJobs, "grey"),
        ];
        for size in [16, 22, 24, 32, 64] {
            for (state, fam) in expected {
                let img = render_icon(state, size);
                assert_eq!(img.len(), (size * size * 4) as usize);
                let d = dominant(&img);
                assert!(
                    close(d, state.color()),
                    "{state:?} at {size}px: dominant {d:?}, colour {:?}",
                    state.color()
                );
                assert_eq!(family(d), fam, "{state:?} at {size}px: {d:?}");
            }
        }
    }

    #[test]
    fn icons_are_round_anti_aliased_and_have_a_dark_outline() {
        for size in [16, 32, 64] {
            let n = size as usize;
            for state in TrayState::ALL {
                let img = render_icon(state, size);
                let alpha = |x: usize, y: usize| img[(y * n + x) * 4 + 3];
                for (x, y) in [(0, 0), (n - 1, 0), (0, n - 1), (n - 1, n - 1)] {
                    assert_eq!(alpha(x, y), 0, "{state:?} {size}px corner ({x},{y})");
                }
                assert_eq!(alpha(n / 2, n / 2), 255, "centre is opaque");
                assert!(
                    img.chunks_exact(4).any(|p| p[3] > 0 && p[3] < 255),
                    "edges are anti-aliased"
                );
                // Walking in from the left on the middle row, the first opaque pixels are the outline: one
                // of the first two is dark.
                let row = n / 2;
                let x = (0..n).find(|&x| alpha(x, row) == 255).unwrap();
                let darkest = (x..x + 2)
                    .map(|x| {
                        let i = (row * n + x) * 4;
                        img[i..i + 3].iter().copied().max().unwrap()
                    })
                    .min()
                    .unwrap();
                assert!(darkest < 0x50, "{state:?} {size}px outline {darkest}");
            }
        }
    }

    #[test]
    fn every_pair_of_state_icons_differs_clearly_even_at_16px() {
        for size in [16, 32] {
            let icons: Vec<(TrayState, Vec<u8>)> = TrayState::ALL
                .iter()
                .map(|&s| (s, render_icon(s, size)))
                .collect();
            for (i, (a, ia)) in icons.iter().enumerate() {
                for (b, ib) in &icons[i + 1..] {
                    let differing = ia
                        .chunks_exact(4)
                        .zip(ib.chunks_exact(4))
                        .filter(|(p, q)| {
                            p.iter()
                                .zip(q.iter())
                                .any(|(x, y)| (i32::from(*x) - i32::from(*y)).abs() > 40)
                        })
                        .count();
                    assert!(
                        differing * 4 > (size * size) as usize,
                        "{a:?} vs {b:?} at {size}px: only {differing} pixels differ"
                    );
                }
            }
        }
    }

    #[test]
    fn glyphs_differ_in_shape_not_only_in_colour() {
        // Compare the glyph masks (pixels close to the glyph colour) of each pair at 16 px.
        let size = 16;
        let mask = |s: TrayState| -> Vec<bool> {
            let ink = s.glyph_color();
            render_icon(s, size)
                .chunks_exact(4)
                .map(|p| {
                    p[3] == 255
                        && dist([p[0], p[1], p[2]], ink) < dist([p[0], p[1], p[2]], s.color())
                })
                .collect()
        };
        let masks: Vec<(TrayState, Vec<bool>)> =
            TrayState::ALL.iter().map(|&s| (s, mask(s))).collect();
        for (i, (a, ma)) in masks.iter().enumerate() {
            assert!(
                ma.iter().filter(|m| **m).count() >= 6,
                "{a:?} glyph visible"
            );
            for (b, mb) in &masks[i + 1..] {
                let diff = ma.iter().zip(mb).filter(|(x, y)| x != y).count();
                assert!(diff >= 6, "{a:?} vs {b:?}: glyphs differ in {diff} pixels");
            }
        }
    }

    #[test]
    fn odd_sizes_do_not_panic() {
        for size in [0, 1, 2, 3, 7, 15] {
            let img = render_icon(TrayState::Failure, size);
            assert_eq!(img.len(), (size.max(1) * size.max(1) * 4) as usize);
        }
    }

    // ---- tray_view ------------------------------------------------------------------------------

    const ALL_JOBS: &str = "[[servers]]\nname = \"ci\"\nurl = \"http://ci.example/\"\n";

    fn config(text: &str) -> Config {
        Config::parse(text, None).unwrap()
    }

    fn job(server: &str, path: &str, state: JobState, building: bool) -> Job {
        let id = JobId::new(server, path);
        Job {
            display_name: id.path.last().cloned().unwrap_or_default(),
            url: format!("http://{server}.example/job/{}/", id.path.join("/job/")),
            id,
            state,
            building,
            last_build: Some(Build {
                number: 1,
                result: Some(state),
                building,
                timestamp_ms: None,
            }),
        }
    }

    fn server(state: ServerState, jobs: Vec<Job>) -> ServerSnapshot {
        ServerSnapshot {
            state,
            jobs: jobs.into_iter().map(|j| (j.id.path.clone(), j)).collect(),
            seen_ok: true,
            version: None,
        }
    }

    fn snap(jobs: Vec<Job>) -> Snapshot {
        let mut s = Snapshot::default();
        s.servers.insert("ci".into(), server(ServerState::Ok, jobs));
        s
    }

    fn ok(path: &str) -> Job {
        job("ci", path, JobState::Success, false)
    }

    #[test]
    fn all_passing() {
        let v = tray_view(&snap(vec![ok("a"), ok("b"), ok("c")]), &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::Success);
        assert_eq!(v.tooltip, "All 3 jobs passing");
        assert!(v.problems.is_empty());
        let one = tray_view(&snap(vec![ok("a")]), &config(ALL_JOBS));
        assert_eq!(one.tooltip, "1 job passing");
        let aborted = tray_view(
            &snap(vec![ok("a"), job("ci", "b", JobState::Aborted, false)]),
            &config(ALL_JOBS),
        );
        assert_eq!(aborted.state, TrayState::Success);
        assert_eq!(aborted.tooltip, "2 jobs, none failing");
    }

    #[test]
    fn two_failing_name_both_and_carry_their_urls() {
        let s = snap(vec![
            job("ci", "api", JobState::Failure, false),
            ok("docs"),
            job("ci", "web", JobState::Failure, true),
        ]);
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(
            v.state,
            TrayState::Failure,
            "a rebuild never hides a failure"
        );
        assert_eq!(v.tooltip, "2 failing: api, web · 1 rebuilding");
        assert_eq!(
            v.problems,
            vec![
                ProblemJob {
                    label: "api".into(),
                    url: "http://ci.example/job/api/".into(),
                    state: JobState::Failure,
                    building: false,
                },
                ProblemJob {
                    label: "web".into(),
                    url: "http://ci.example/job/web/".into(),
                    state: JobState::Failure,
                    building: true,
                },
            ]
        );
    }

    #[test]
    fn failures_come_before_unstable_jobs_in_the_tooltip_and_the_menu() {
        let s = snap(vec![
            job("ci", "a-docs", JobState::Unstable, false),
            job("ci", "z-api", JobState::Failure, false),
        ]);
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::Failure);
        assert_eq!(v.tooltip, "1 failing: z-api · 1 unstable: a-docs");
        let labels: Vec<&str> = v.problems.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, vec!["z-api", "a-docs"]);
    }

    #[test]
    fn unstable_only() {
        let s = snap(vec![
            ok("api"),
            job("ci", "docs", JobState::Unstable, false),
        ]);
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::Unstable);
        assert_eq!(v.tooltip, "1 unstable: docs");
        assert_eq!(v.problems.len(), 1);
        assert_eq!(v.problems[0].url, "http://ci.example/job/docs/");
    }

    #[test]
    fn server_unreachable() {
        let mut s = Snapshot::default();
        s.servers.insert(
            "jenkins".into(),
            server(
                ServerState::Unreachable("timeout".into()),
                vec![job("jenkins", "a", JobState::Success, false)],
            ),
        );
        let cfg = config("[[servers]]\nname = \"jenkins\"\nurl = \"http://ci.example/\"\n");
        let v = tray_view(&s, &cfg);
        assert_eq!(v.state, TrayState::Unreachable);
        assert_eq!(v.tooltip, "jenkins unreachable");

        // Connecting and refused credentials say so.
        s.servers.get_mut("jenkins").unwrap().state = ServerState::Connecting;
        assert_eq!(tray_view(&s, &cfg).tooltip, "connecting to jenkins…");
        s.servers.get_mut("jenkins").unwrap().state = ServerState::TokenRejected;
        assert_eq!(tray_view(&s, &cfg).tooltip, "jenkins rejected the token");
    }

    #[test]
    fn a_fresh_failure_elsewhere_beats_an_unreachable_server() {
        let mut s = snap(vec![job("ci", "api", JobState::Failure, false)]);
        s.servers.insert(
            "old".into(),
            server(ServerState::Unreachable("refused".into()), vec![]),
        );
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::Failure);
        assert_eq!(v.tooltip, "1 failing: api · old unreachable");
        assert_eq!(v.problems[0].label, "ci: api", "several servers: prefixed");
    }

    #[test]
    fn building_shows_when_nothing_is_broken() {
        let s = snap(vec![ok("a"), job("ci", "b", JobState::Success, true)]);
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::Building);
        assert_eq!(v.tooltip, "Building: b · all 2 jobs passing");
    }

    #[test]
    fn nothing_mapped_and_no_jobs() {
        let v = tray_view(&snap(vec![]), &config(ALL_JOBS));
        assert_eq!(v.state, TrayState::NoJobs);
        assert_eq!(v.tooltip, "No jobs");
        let none = tray_view(&Snapshot::default(), &config(""));
        assert_eq!(none.state, TrayState::NoJobs);
        assert_eq!(none.tooltip, "No servers configured");
        assert_eq!(TrayView::default().state, TrayState::NoJobs);
        // Only disabled / never built jobs: nothing to report either.
        let idle = snap(vec![job("ci", "x", JobState::Disabled, false)]);
        assert_eq!(tray_view(&idle, &config(ALL_JOBS)).state, TrayState::NoJobs);
    }

    #[test]
    fn the_name_list_is_capped() {
        let s = snap(
            ["a", "b", "c", "d"]
                .iter()
                .map(|n| job("ci", n, JobState::Failure, false))
                .collect(),
        );
        let v = tray_view(&s, &config(ALL_JOBS));
        assert_eq!(v.tooltip, "4 failing: a, b, c +1");
        assert_eq!(v.problems.len(), 4, "the menu lists them all");
        assert_eq!(capped(&[], 3), "");
    }

    #[test]
    fn mapped_scope_counts_only_mapped_jobs_once_each() {
        let text = format!(
            "{ALL_JOBS}[[slots]]\nled = 0\njob = \"f/a\"\n[[slots]]\nled = 1\nfolder = \"f\"\n"
        );
        let s = snap(vec![
            ok("f/a"),
            ok("f/b"),
            job("ci", "other", JobState::Failure, false),
        ]);
        let v = tray_view(&s, &config(&text));
        assert_eq!(v.state, TrayState::Success, "unmapped failure ignored");
        assert_eq!(v.tooltip, "All 2 jobs passing", "f/a counted once");

        let all = config(&format!("{text}[aggregate]\nleds = []\nscope = \"all\"\n"));
        assert_eq!(tray_view(&s, &all).state, TrayState::Failure);

        // Mapped jobs the server does not list: nothing to show.
        let gone = format!("{ALL_JOBS}[[slots]]\nled = 0\njob = \"gone\"\n");
        let v = tray_view(&s, &config(&gone));
        assert_eq!(v.state, TrayState::NoJobs);
        assert_eq!(v.tooltip, "No mapped jobs listed");
    }

    #[test]
    fn duplicate_display_names_use_the_decoded_full_name() {
        let s = snap(vec![
            job("ci", "api/feature%2Fx", JobState::Failure, false),
            job("ci", "web/feature%2Fx", JobState::Failure, false),
        ]);
        let mut s2 = s.clone();
        for j in s2.servers.get_mut("ci").unwrap().jobs.values_mut() {
            j.display_name = "feature/x".into();
        }
        let v = tray_view(&s2, &config(ALL_JOBS));
        assert_eq!(v.tooltip, "2 failing: api/feature/x, web/feature/x");
        assert_eq!(v.problems[0].label, "api/feature/x");
    }
}
