#!/usr/bin/env python3
"""`./dev bench` (after the Jenkins table): the other source kinds, a cctray feed of 5,000 projects and a
GitHub server of 200 repositories, each served on loopback by this script.

The feed (`/go/cctray.xml`, GoCD's `pipeline :: stage :: job` names) and the GitHub API (`/api/v3/`, as
GitHub Enterprise: `GET /repos/OWNER/REPO/actions/runs?per_page=100`, 100 runs per repository with the
fields GitHub sends, an `ETag` per answer and 304 to a matching `If-None-Match`) are made once at the
start; both are sent gzip-compressed to a client that asks for it, as the real servers do. The script
then runs, `--repeat` times in turns:

- `ledtogo jobs --kind cctray URL` and `ledtogo jobs --kind github URL --repo …` (200 repositories): one
  poll, the whole process measured (CPU from `os.wait4`, peak RSS from GNU time, wall);
- `poll_source` (benches/bin/poll_source.rs) polling each server twice as the app's poller does: the
  second poll's requests, how many of them were answered 304, and the CPU the poll thread spent on each
  poll (printed by the binary).

The server counts requests, 304s and body bytes as sent and uncompressed. Prints the medians as Markdown
tables and writes them to target/bench/sources_table.md (docs/performance.md pastes it). Figures are
printed, never asserted.

    benches/sources_table.py [--binary PATH] [--poller PATH] [--projects N] [--repos N] [--repeat K]

(Options of benches/jenkins_table.py, which `./dev bench` passes to both, are ignored.)

Without --binary/--poller it builds both (`cargo build --release --no-default-features --features
bench-sim --bin ledtogo --bin poll_source`).
"""

import argparse
import gzip
import hashlib
import json
import statistics
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import quoteattr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jenkins_table as jt  # noqa: E402  (the same measuring, machine line and target folder)


def cctray_feed(projects, base):
    """A GoCD-like feed: `pipeline-NNN :: stage :: job`, mostly green, some red, some building."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<Projects>"]
    for n in range(projects):
        pipeline, stage, job = f"pipeline-{n // 10:04d}", ["build", "test"][n % 2], f"job-{n % 10}"
        status = "Failure" if n % 17 == 0 else "Success"
        activity = "Building" if n % 50 == 0 else "Sleeping"
        name = f"{pipeline} :: {stage} :: {job}"
        url = f"{base}go/tab/build/detail/{pipeline}/{100 + n % 300}/{stage}/1/{job}"
        lines.append(
            f"  <Project name={quoteattr(name)} activity=\"{activity}\" lastBuildStatus=\"{status}\" "
            f"lastBuildLabel=\"{100 + n % 300}\" lastBuildTime=\"2026-12-01T10:{n % 60:02d}:00Z\" "
            f"webUrl={quoteattr(url)}/>"
        )
    lines.append("</Projects>")
    return ("\n".join(lines) + "\n").encode()


WORKFLOWS = ["CI", "Release", "Nightly", "Lint", "Docs"]
BRANCHES = ["main", "develop", "feature/login", "feature/search", "fix/crash", "release/2.0"]


def account(login, n):
    return {
        "login": login,
        "id": 1000 + n,
        "node_id": f"MDQ6VXNlcj{1000 + n}",
        "avatar_url": f"https://avatars.example.com/u/{1000 + n}?v=4",
        "url": f"https://api.example.com/users/{login}",
        "html_url": f"https://github.example.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def runs_answer(owner, repo, base):
    """`GET /repos/OWNER/REPO/actions/runs?per_page=100`: 100 runs of 5 workflows on 6 branches, newest
    first, with the fields GitHub sends for each (trimmed of the rarely used URL lists)."""
    full = f"{owner}/{repo}"
    repository = {
        "id": zlib.crc32(full.encode()),
        "node_id": "R_kgDOexample",
        "name": repo,
        "full_name": full,
        "private": False,
        "owner": account(owner, 0),
        "html_url": f"https://github.example.com/{full}",
        "description": f"The {repo} service",
        "fork": False,
        "url": f"{base}repos/{full}",
    }
    runs = []
    for k in range(100):
        number = 1000 - k
        workflow, branch = WORKFLOWS[k % 5], BRANCHES[(k // 5) % 6]
        completed = k >= 3
        author = ["mona", "hubot", "octocat"][k % 3]
        runs.append(
            {
                "id": 900000 + number,
                "name": workflow,
                "node_id": f"WFR_kwLOexample{number}",
                "head_branch": branch,
                "head_sha": hashlib.sha1(f"{full}{number}".encode()).hexdigest(),
                "path": f".github/workflows/{workflow.lower()}.yml",
                "display_title": f"Change number {number}",
                "run_number": number,
                "event": "push",
                "status": "completed" if completed else "in_progress",
                "conclusion": ("failure" if k % 11 == 0 else "success") if completed else None,
                "workflow_id": 100 + k % 5,
                "check_suite_id": 5000000 + number,
                "url": f"{base}repos/{full}/actions/runs/{900000 + number}",
                "html_url": f"https://github.example.com/{full}/actions/runs/{900000 + number}",
                "created_at": "2026-12-01T10:00:00Z",
                "updated_at": "2026-12-01T10:05:00Z",
                "run_attempt": 1,
                "run_started_at": "2026-12-01T10:00:05Z",
                "actor": account(author, k % 3),
                "triggering_actor": account(author, k % 3),
                "jobs_url": f"{base}repos/{full}/actions/runs/{900000 + number}/jobs",
                "logs_url": f"{base}repos/{full}/actions/runs/{900000 + number}/logs",
                "head_commit": {
                    "id": hashlib.sha1(f"{full}{number}".encode()).hexdigest(),
                    "message": f"Change number {number}\n\nWith a body that says why.",
                    "timestamp": "2026-12-01T09:59:00Z",
                    "author": {"name": author.title(), "email": f"{author}@example.com"},
                    "committer": {"name": author.title(), "email": f"{author}@example.com"},
                },
                "repository": repository,
                "head_repository": repository,
            }
        )
    return json.dumps({"total_count": 4000, "workflow_runs": runs}).encode()


class Body:
    """One answer, plain and gzip-compressed, with its ETag."""

    def __init__(self, plain, content_type):
        self.plain = plain
        self.gzipped = gzip.compress(plain, compresslevel=6)
        self.content_type = content_type
        self.etag = '"' + hashlib.sha1(plain).hexdigest() + '"'


class Server:
    """The feed and the GitHub API on 127.0.0.1, in threads of this process, with their counters."""

    def __init__(self, projects, repos):
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "not_modified": 0, "wire_bytes": 0, "plain_bytes": 0}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.feed = Body(cctray_feed(projects, self.base), "application/xml")
        self.repos = [f"team-{n // 20:02d}/service-{n:03d}" for n in range(repos)]
        api = self.base + "api/v3/"
        self.runs = {
            f"/api/v3/repos/{r}/actions/runs": Body(runs_answer(*r.split("/"), api), "application/json; charset=utf-8")
            for r in self.repos
        }
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real servers

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                body = server.feed if path == "/go/cctray.xml" else server.runs.get(path)
                with server.lock:
                    server.counts["requests"] += 1
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == body.etag:
                    with server.lock:
                        server.counts["not_modified"] += 1
                    self.send_response(304)
                    self.send_header("ETag", body.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                gz = "gzip" in (self.headers.get("Accept-Encoding") or "")
                data = body.gzipped if gz else body.plain
                with server.lock:
                    server.counts["wire_bytes"] += len(data)
                    server.counts["plain_bytes"] += len(body.plain)
                self.send_response(200)
                self.send_header("Content-Type", body.content_type)
                self.send_header("ETag", body.etag)
                self.send_header("x-ratelimit-remaining", "4999")
                if gz:
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def stats(self):
        with self.lock:
            return dict(self.counts)

    def stop(self):
        self.httpd.shutdown()


def build():
    subprocess.run(
        ["cargo", "build", "--release", "--no-default-features", "--features", "bench-sim",
         "--bin", "ledtogo", "--bin", "poll_source"],
        cwd=jt.ROOT,
        check=True,
    )
    release = jt.target_dir() / "release"
    return release / "ledtogo", release / "poll_source"


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", type=Path, help="the ledtogo binary (default: build the release one)")
    parser.add_argument("--poller", type=Path, help="the poll_source binary (default: build it)")
    parser.add_argument("--projects", type=int, default=5_000)
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    # `./dev bench` passes the Jenkins table's options too (--jobs, --levels, --sim, --desktop): skipped.
    args, _ = parser.parse_known_args()

    if args.binary is None or args.poller is None:
        binary, poller = build()
        binary, poller = args.binary or binary, args.poller or poller
    else:
        binary, poller = args.binary, args.poller
    bench_dir = jt.target_dir() / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    shown_machine = jt.machine()
    server = Server(args.projects, args.repos)
    feed_url = server.base + "go/cctray.xml"
    api_url = server.base + "api/v3/"
    repo_args = [a for r in server.repos for a in ("--repo", r)]
    kinds = {
        f"cctray feed, {args.projects:,} projects": (["--kind", "cctray", feed_url], ["--kind", "cctray", "--url", feed_url]),
        f"GitHub, {args.repos} repositories": (["--kind", "github", api_url, *repo_args], ["--kind", "github", "--url", api_url, *repo_args]),
    }
    one, two = {k: [] for k in kinds}, {k: [] for k in kinds}
    try:
        for _ in range(args.repeat):
            for kind, (jobs_args, poll_args) in kinds.items():
                run = jt.measure([str(binary), "jobs", *jobs_args], server)
                run["jobs"] = len([l for l in run["output"].decode().splitlines() if l.strip()])
                one[kind].append(run)
                before = server.stats()
                polled = jt.measure([str(poller), *poll_args, "--polls", "2"], server)
                after = server.stats()
                first, second = [json.loads(l) for l in polled["output"].decode().splitlines()]
                polled.update(
                    first_cpu=first["cpu_ms"],
                    second_cpu=second["cpu_ms"],
                    second_requests=second["requests"],
                    not_modified=after["not_modified"] - before["not_modified"],
                    second_same=second["same"],
                )
                two[kind].append(polled)
    finally:
        server.stop()

    lines = [
        f"The other source kinds, served on loopback by benches/sources_table.py, medians of {args.repeat} runs each.",
        "",
        f"Machine: {shown_machine}.",
        f"Binaries: {binary} ({binary.stat().st_size / 1e6:.1f} MB), {poller}.",
        "",
        "`ledtogo jobs` (one poll, the whole process):",
        "",
        "| server | CPU ms (user + sys) | user ms | sys ms | wall ms | peak RSS MB | requests "
        "| bytes on the wire (gzip) | bytes without gzip | jobs listed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, runs in one.items():
        lines.append(
            f"| {kind} | {median(runs, 'cpu_ms'):.1f} | {median(runs, 'user_ms'):.1f} | {median(runs, 'sys_ms'):.1f} "
            f"| {median(runs, 'wall_ms'):.1f} | {median(runs, 'rss_mb'):.1f} | {median(runs, 'requests'):.0f} "
            f"| {median(runs, 'wire_bytes'):,.0f} | {median(runs, 'plain_bytes'):,.0f} | {runs[-1]['jobs']:,} |"
        )
    lines += [
        "",
        "Two polls in one process, as the poller makes them (`poll_source --polls 2`):",
        "",
        "| server | process CPU ms | peak RSS MB | requests | answered 304 | 1st poll CPU ms | 2nd poll CPU ms "
        "| 2nd poll requests | 2nd poll answer |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for kind, runs in two.items():
        second = "same bytes, not parsed" if runs[-1]["second_same"] else "listed again"
        lines.append(
            f"| {kind} | {median(runs, 'cpu_ms'):.1f} | {median(runs, 'rss_mb'):.1f} | {median(runs, 'requests'):.0f} "
            f"| {median(runs, 'not_modified'):.0f} | {median(runs, 'first_cpu'):.1f} | {median(runs, 'second_cpu'):.1f} "
            f"| {median(runs, 'second_requests'):.0f} | {second} |"
        )
    text = "\n".join(lines) + "\n"
    (bench_dir / "sources_table.md").write_text(text)
    print(text, end="")
    print(f"(written to {bench_dir / 'sources_table.md'})")


if __name__ == "__main__":
    main()
