"""Helpers the bench scripts in benches/ share: the binaries, a Jenkins answer on loopback, the
project's simulated Jenkins as a process, a process's CPU and memory from /proc, and a header line
saying on what the figures were taken. Not a test helper: the scripts print figures, never assert.
"""
import http.server
import json
import os
import pathlib
import platform
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
HEADLESS_BUILD = ["cargo", "build", "--release", "--no-default-features", "--features", "bench-sim",
                  "--bin", "ledtogo", "--bin", "sim_jenkins"]


def headless_binaries(build=True):
    """`ledtogo` and `sim_jenkins` of the headless release build (the Pi's build plus the simulator),
    built first (cargo does nothing when they are up to date) unless `build` is false."""
    if build:
        subprocess.run(HEADLESS_BUILD, cwd=ROOT, check=True)
    return str(TARGET / "release/ledtogo"), str(TARGET / "release/sim_jenkins")


def machine_line():
    """One line: cores, CPU model, RAM, OS and the load average now (the machine is shared)."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            ram = int(f.readline().split()[1]) / 1024 / 1024
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
    except OSError as e:
        return f"machine: cannot read /proc ({e})"
    debian = pathlib.Path("/etc/debian_version")
    system = f"Debian {debian.read_text().strip()}" if debian.exists() else platform.platform()
    return (f"machine: {os.cpu_count()} cores ({model}), {ram:.0f} GB RAM, {system}, "
            f"load average {load} at the start")


def binary_line(path):
    return f"binary: {path} ({os.path.getsize(path) / 1e6:.1f} MB)"


def wait_for(what, cond, seconds=30):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    sys.exit(f"timed out after {seconds} s waiting for {what}")


def cpu_seconds(pid):
    """utime + stime of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces; the fields after its ")" start at field 3.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_mib(pid, key):
    """A `kB` line of /proc/PID/status (VmRSS, VmHWM: the peak resident memory), in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Jenkins:
    """A Jenkins answer on loopback: `count` freestyle jobs `job-0` … at the top level. `building`
    makes every job build (the strip pulses); `red` is the set of job indexes that are failing.
    `answers` counts the answers sent; `last_answer` is when the last one was written out."""

    def __init__(self, count):
        self.count = count
        self.building = False
        self.red = set()
        self.answers = 0
        self.last_answer = 0.0
        self.lock = threading.Lock()
        bench = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with bench.lock:
                    body = json.dumps(bench.answer()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("X-Jenkins", "2.500-bench")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                with bench.lock:
                    bench.answers += 1
                    bench.last_answer = time.monotonic()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self):
        def job(i):
            name = f"job-{i}"
            color = "red" if i in self.red else "blue"
            return {"_class": "hudson.model.FreeStyleProject", "name": name, "fullName": name,
                    "url": f"{self.url}job/{name}/",
                    "color": color + ("_anime" if self.building else ""),
                    "lastBuild": {"number": 7, "result": None if self.building else
                                  ("FAILURE" if i in self.red else "SUCCESS"),
                                  "building": self.building, "timestamp": 1700000000000}}
        return {"_class": "hudson.model.Hudson", "jobs": [job(i) for i in range(self.count)]}

    def config(self, leds, port, poll_seconds=1):
        """A config: this server, the strip at `port` with `leds` LEDs, job i on LED i."""
        slots = "".join(f'[[slots]]\nled = {i}\njob = "job-{i}"\n\n'
                        for i in range(min(leds, self.count)))
        return (f'poll_seconds = {poll_seconds}\n\n[[servers]]\nname = "bench"\nurl = "{self.url}"\n\n'
                f'[strip]\nport = "{port}"\nleds = {leds}\n\n{slots}')


class SimJenkins:
    """benches/bin/sim_jenkins.rs as a process: `jobs` jobs in `levels` levels of folders; `stats()`
    is what it served so far (requests, wire_bytes, plain_bytes)."""

    def __init__(self, binary, jobs, levels=0):
        self.process = subprocess.Popen([binary, "--jobs", str(jobs), "--levels", str(levels)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            sys.exit(f"sim_jenkins printed {self.url!r} instead of its URL")

    def stats(self):
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)


def stop(children):
    """Terminates the processes this script started, the last started first."""
    for child in reversed(children):
        if child.poll() is None:
            child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
