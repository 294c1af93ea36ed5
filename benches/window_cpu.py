#!/usr/bin/env python3
"""CPU the desktop window costs, measured under Xvfb: a building job shown, nothing animating, and covered.

Serves a small Jenkins answer on loopback (two jobs, `api` building or not as the phase says), starts a
private Xvfb and the real `ledtogo` window (release build, software GL as Mesa gives it under Xvfb) on a
config mapping both jobs to LEDs, with a private HOME and XDG_RUNTIME_DIR (no tray host, no keyring).
It then samples the process's CPU (utime + stime of all its threads, /proc/PID/stat) over SECONDS in
three phases:
  building  `api` builds: its LED pulses in the mirror and the strip view;
  idle      nothing builds: nothing animates;
  covered   `api` builds, but a full-screen window covers ledtogo's (what a minimised or hidden window
            amounts to: nothing of it can be seen, so nothing is painted).
Prints the CPU of each phase as a percentage of one core; exits 1 when `building` is over 5 %.

usage: benches/window_cpu.py [--seconds 30] [--binary PATH] [--limit 5]
       (default binary $CARGO_TARGET_DIR/release/ledtogo, or target/release/ledtogo, built with `cargo build --release --bin ledtogo` when
       missing). Not part of CI: it takes two minutes and wants a quiet machine.
"""
import argparse
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SETTLE = 12  # seconds after a phase change before sampling (the app polls every second; the CPU budget settles in ~8 s)


class Jenkins:
    """A Jenkins answer on loopback whose `api` job builds while `building` is set."""

    def __init__(self):
        self.building = True
        bench = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps(bench.answer()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("X-Jenkins", "2.500-bench")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self):
        def job(name, color, building):
            return {"_class": "hudson.model.FreeStyleProject", "name": name, "fullName": name,
                    "url": f"{self.url}job/{name}/", "color": color,
                    "lastBuild": {"number": 7, "result": None if building else "SUCCESS",
                                  "building": building, "timestamp": 1700000000000}}
        return {"_class": "hudson.model.Hudson", "jobs": [
            job("api", "blue_anime" if self.building else "blue", self.building),
            job("web", "red", False),
        ]}


def free_display():
    for n in range(150, 400):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            return f":{n}"
    sys.exit("no free X display number")


def wait_for(what, cond, seconds=30):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces; the fields after its ")" start at field 3.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample(pid, seconds):
    """CPU of `pid` over `seconds`, in % of one core."""
    cpu, wall = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - cpu) / (time.monotonic() - wall)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    parser.add_argument("--binary", default=str(target / "release/ledtogo"))
    parser.add_argument("--limit", type=float, default=5, help="max CPU %% of one core while building")
    args = parser.parse_args()
    missing = [t for t in ("Xvfb", "xdotool", "display") if not shutil.which(t)]
    if missing:
        sys.exit(f"needs {', '.join(missing)} (apt-get install xvfb xdotool imagemagick)")
    if not pathlib.Path(args.binary).exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "ledtogo"], cwd=ROOT, check=True)

    jenkins = Jenkins()
    display = free_display()
    children = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        home, runtime = tmp / "home", tmp / "run"
        home.mkdir()
        runtime.mkdir(mode=0o700)
        config = home / "config.toml"
        config.write_text(
            f'poll_seconds = 1\n\n[[servers]]\nname = "bench"\nurl = "{jenkins.url}"\n\n'
            '[strip]\nport = "none"\nleds = 16\n\n'
            '[[slots]]\nled = 0\njob = "api"\n\n[[slots]]\nled = 1\njob = "web"\n')
        env = {**os.environ, "DISPLAY": display, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
               "XDG_CONFIG_HOME": str(home / ".config"), "TMPDIR": str(tmp)}
        env.pop("WAYLAND_DISPLAY", None)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        try:
            children.append(subprocess.Popen(
                ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_for("Xvfb", lambda: os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"))
            log = open(tmp / "ledtogo.log", "wb")
            app = subprocess.Popen([args.binary, "--config", str(config), "--no-tray"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=log)
            children.append(app)

            def window_up():
                found = subprocess.run(["xdotool", "search", "--name", "^ledtogo"], env=env,
                                       capture_output=True, text=True).stdout.strip()
                return bool(found)
            wait_for("the ledtogo window", window_up)
            results = {}
            for phase in ("building", "idle", "covered"):
                jenkins.building = phase != "idle"
                if phase == "covered":
                    children.append(subprocess.Popen(
                        ["display", "-geometry", "1280x800+0+0", "-size", "1280x800", "xc:gray"],
                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                time.sleep(SETTLE)
                if app.poll() is not None:
                    sys.exit(f"ledtogo exited ({app.returncode}):\n{(tmp / 'ledtogo.log').read_text()}")
                results[phase] = sample(app.pid, args.seconds)
                print(f"{phase:9} {results[phase]:6.1f} % of one core over {args.seconds:.0f} s",
                      flush=True)
        finally:
            for child in reversed(children):
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
    if results["building"] > args.limit:
        print(f"FAIL: {results['building']:.1f} % while a job builds, over the {args.limit} % target")
        sys.exit(1)
    print(f"ok: a building job costs {results['building']:.1f} % (target ≤ {args.limit} %)")


if __name__ == "__main__":
    main()
