#!/usr/bin/env python3
"""Peak memory of `ledtogo jobs` for a large Jenkins answer, measured, not timed.

Serves a generated answer of about SIZE MB on loopback (as Jenkins would: application/json, X-Jenkins)
and runs the real binary against it, reporting the child's peak resident memory (getrusage via wait4).
The answer is generated and served by helper processes, so the measuring process stays small (a
child's peak includes what the parent had when it forked).
Two shapes of answer:
  heavy  a server that sends much more than the `tree=` query asks for (descriptions, build lists,
         actions): few jobs, many bytes the parser must read past;
  many   lean jobs only: every byte is a job the command has to list.

usage: benches/peak_memory.py [--size MB] [--binary PATH]   (default: 60 MB, target/debug/ledtogo,
       built with `cargo build --bin ledtogo` when missing)
"""
import argparse
import http.server
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def heavy_job(i):
    return {
        "_class": "hudson.model.FreeStyleProject",
        "name": f"job-{i}",
        "fullName": f"team/job-{i}",
        "displayName": f"Job {i}",
        "url": f"http://127.0.0.1/jenkins/job/team/job/job-{i}/",
        "color": "blue" if i % 7 else "red",
        "description": "lorem ipsum dolor sit amet " * 40,
        "lastBuild": {"number": i, "result": "SUCCESS", "building": False, "timestamp": 1700000000000},
        "builds": [{"number": n, "url": f"http://127.0.0.1/jenkins/job/job-{i}/{n}/", "duration": n * 17,
                    "result": "SUCCESS"} for n in range(30)],
        "actions": [{"_class": "hudson.model.ParametersAction", "parameters": [
            {"name": f"P{k}", "value": "x" * 40} for k in range(8)]}],
    }


def lean_job(i):
    return {
        "_class": "hudson.model.FreeStyleProject",
        "name": f"job-{i}",
        "fullName": f"team/job-{i}",
        "url": f"http://127.0.0.1/jenkins/job/team/job/job-{i}/",
        "color": "blue" if i % 7 else "red",
        "lastBuild": {"number": i, "result": "SUCCESS", "building": False, "timestamp": 1700000000000},
    }


def answer(shape, size_mb):
    make = heavy_job if shape == "heavy" else lean_job
    one = len(json.dumps(make(10**6))) + 2
    count = max(1, size_mb * 1024 * 1024 // one)
    team = {"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": "team", "fullName": "team",
            "jobs": [make(i) for i in range(count)]}
    return json.dumps({"_class": "hudson.model.Hudson", "jobs": [team]}).encode(), count


def serve_file(path):
    """Serves the file at `path` for every GET (run as a helper process; prints its port)."""
    size = os.path.getsize(path)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("X-Jenkins", "2.500-bench")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    self.wfile.write(chunk)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def peak_kib(cmd):
    with open(os.devnull, "wb") as null:
        child = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE)
        stderr = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        sys.exit(f"{' '.join(cmd)} failed: {stderr.decode(errors='replace')}")
    return usage.ru_maxrss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=60)
    parser.add_argument("--binary", default=str(ROOT / "target/debug/ledtogo"))
    parser.add_argument("--generate", nargs=2, metavar=("SHAPE", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        shape, out = args.generate
        body, jobs = answer(shape, args.size)
        pathlib.Path(out).write_bytes(body)
        print(jobs)
        return
    if args.serve:
        serve_file(args.serve)
        return
    if not pathlib.Path(args.binary).exists():
        subprocess.run(["cargo", "build", "--quiet", "--bin", "ledtogo"], cwd=ROOT, check=True)
    me = [sys.executable, __file__, "--size", str(args.size)]
    print(f"this process: peak {peak_kib([sys.executable, '-c', 'pass']) / 1024:.1f} MiB (a bare child)")
    idle = peak_kib([args.binary, "--version"])
    print(f"ledtogo --version (the binary itself): peak {idle / 1024:.1f} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        for shape in ("heavy", "many"):
            file = os.path.join(tmp, f"{shape}.json")
            jobs = int(subprocess.run([*me, "--generate", shape, file], check=True,
                                      capture_output=True, text=True).stdout)
            server = subprocess.Popen([*me, "--serve", file], stdout=subprocess.PIPE, text=True)
            try:
                url = f"http://127.0.0.1:{server.stdout.readline().strip()}/"
                size = os.path.getsize(file) / 1024 / 1024
                for extra in ([], ["--json"]):
                    peak = peak_kib([args.binary, "jobs", url, "--timeout", "300", *extra])
                    print(f"{shape:5} answer {size:5.1f} MiB, {jobs:7} jobs, "
                          f"ledtogo jobs {' '.join(extra) or '(table)':8}: peak {peak / 1024:6.1f} MiB")
            finally:
                server.kill()
                server.wait()


if __name__ == "__main__":
    main()
