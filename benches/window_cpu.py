#!/usr/bin/env python3
"""CPU and memory the desktop window costs, measured under Xvfb: a building job, nothing animating,
covered, hidden, and the demo.

Serves a small Jenkins answer on loopback (two jobs, `api` building or not as the phase says), starts a
private Xvfb and the real `ledtogo` window (release build, software GL as Mesa gives it under Xvfb) on a
config mapping both jobs to LEDs, with a private HOME and XDG_RUNTIME_DIR (no tray host, no keyring).
It then samples the process's CPU (utime + stime of all its threads, /proc/PID/stat) over SECONDS and
its resident memory (VmRSS at the end of the phase, VmHWM: the peak so far, /proc/PID/status) in phases:
  building  `api` builds: its LED pulses in the mirror and the strip view;
  idle      nothing builds: nothing animates;
  covered   `api` builds, but a full-screen window covers ledtogo's (nothing of it can be seen, so
            nothing is painted);
  hidden    a second process: `ledtogo --in-tray` with an XEmbed tray (`trayer`) on the display, so
            the window stays hidden in the tray (as after closing it, or at login); `api` builds;
  demo      a third process: `ledtogo --demo --no-tray`, the embedded simulated Jenkins whose jobs
            build, break and get fixed, with its window open.
After `idle` and `demo` it prints where the resident memory is (/proc/PID/smaps, grouped by mapping:
the heap, the binary, Mesa's driver and its LLVM, other libraries, fonts, GPU buffers shared with X).
Prints each phase's CPU as a percentage of one core; exits 1 when `building` is over --limit.

usage: benches/window_cpu.py [--seconds 30] [--binary PATH] [--limit 5]
       (default binary $CARGO_TARGET_DIR/release/ledtogo, or target/release/ledtogo, built with `cargo
       build --release --bin ledtogo` when missing). `./dev bench window` runs it. Not part of CI: it
       takes about five minutes and wants a quiet machine.
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

import benchlib

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


def sample(pid, seconds):
    """CPU of `pid` over `seconds`, in % of one core."""
    cpu, wall = benchlib.cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (benchlib.cpu_seconds(pid) - cpu) / (time.monotonic() - wall)


def status_mib(pid, key):
    """A `kB` line of /proc/PID/status (VmRSS, VmHWM), in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def category(path, binary):
    """Which part of the program a mapping of /proc/PID/smaps belongs to."""
    name = os.path.basename(path)
    if path in ("", "[heap]") or path.startswith("[anon") or path.startswith("[stack"):
        return "heap, stacks and other anonymous memory"
    if path.startswith("/memfd:") or path.startswith("/dev/shm") or path.startswith("/dev/dri") \
            or path.startswith("/SYSV") or "drm mm object" in path:
        return "buffers shared with X (window surface)"
    if os.path.realpath(path) == os.path.realpath(binary):
        return "the ledtogo binary"
    if name.startswith("libLLVM"):
        return "libLLVM (Mesa's shader compiler)"
    if "gallium" in name or "_dri.so" in name or name.startswith("libGL") or name.startswith("libEGL") \
            or name.startswith("libglapi"):
        return "Mesa (llvmpipe, GL/EGL)"
    if name.endswith((".ttf", ".otf", ".ttc", ".pcf", ".pcf.gz")) or "fontconfig" in path:
        return "font files"
    if path.startswith("/"):
        return "other libraries and files"
    return f"other ({path})"


def breakdown(pid, binary):
    """Resident memory of `pid` by category, in MiB: {category: (rss, private)}."""
    parts = {}
    current = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            if not fields[0].endswith(":"):  # a mapping's header: address perms offset dev inode [path]
                current = category(" ".join(fields[5:]), binary)
                parts.setdefault(current, [0, 0])
            elif fields[0] == "Rss:":
                parts[current][0] += int(fields[1])
            elif fields[0] in ("Private_Clean:", "Private_Dirty:"):
                parts[current][1] += int(fields[1])
    return {k: (v[0] / 1024, v[1] / 1024) for k, v in parts.items()}


def print_breakdown(label, pid, binary):
    parts = breakdown(pid, binary)
    total = sum(rss for rss, _ in parts.values())
    print(f"  where the {total:.1f} MiB resident ({label}) are:          RSS   private")
    for name, (rss, private) in sorted(parts.items(), key=lambda kv: -kv[1][0]):
        if rss >= 0.1:
            print(f"    {name:45} {rss:6.1f} {private:8.1f} MiB")
    threads = len(os.listdir(f"/proc/{pid}/task"))
    print(f"    ({threads} threads)", flush=True)


def start_app(binary, argv, env, tmp, name):
    log = open(tmp / f"{name}.log", "wb")
    app = subprocess.Popen([binary, *argv], env=env, stdout=subprocess.DEVNULL, stderr=log)

    def window_up():
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^ledtogo"], env=env,
                               capture_output=True, text=True).stdout.split()
        return found[0] if found else None
    window = []
    benchlib.wait_for(f"the ledtogo window ({name})",
             lambda: app.poll() is None and bool(window.append(window_up()) or window[-1]))
    return app, window[-1]


def measure(phase, app, seconds, tmp, name, results):
    if app.poll() is not None:
        sys.exit(f"ledtogo exited ({app.returncode}):\n{(tmp / f'{name}.log').read_text()}")
    cpu = sample(app.pid, seconds)
    rss, peak = status_mib(app.pid, "VmRSS"), status_mib(app.pid, "VmHWM")
    results[phase] = cpu
    print(f"{phase:9} {cpu:6.1f} % of one core over {seconds:.0f} s, RSS {rss:6.1f} MiB "
          f"(peak {peak:6.1f} MiB)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    parser.add_argument("--binary", default=str(target / "release/ledtogo"))
    parser.add_argument("--limit", type=float, default=5, help="max CPU %% of one core while building")
    args = parser.parse_args()
    missing = [t for t in ("Xvfb", "xdotool", "display", "trayer") if not shutil.which(t)]
    if missing:
        sys.exit(f"needs {', '.join(missing)} (apt-get install xvfb xdotool imagemagick trayer)")
    if not pathlib.Path(args.binary).exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "ledtogo"], cwd=ROOT, check=True)
    binary = str(pathlib.Path(args.binary).resolve())
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"window: {binary} ({os.path.getsize(binary) / 1e6:.1f} MB), {os.cpu_count()} cores, "
          f"load average {load} at the start, Xvfb 1280x800x24, Mesa's software GL", flush=True)

    jenkins = Jenkins()
    display = free_display()
    children = []
    results = {}
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
            benchlib.wait_for("Xvfb", lambda: os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"))
            app, _ = start_app(binary, ["--config", str(config), "--no-tray"], env, tmp, "ledtogo")
            children.append(app)
            cover = None
            for phase in ("building", "idle", "covered"):
                jenkins.building = phase != "idle"
                if phase == "covered":
                    cover = subprocess.Popen(
                        ["display", "-geometry", "1280x800+0+0", "-size", "1280x800", "xc:gray"],
                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    children.append(cover)
                time.sleep(SETTLE)
                measure(phase, app, args.seconds, tmp, "ledtogo", results)
                if phase == "idle":
                    print_breakdown("idle", app.pid, binary)
            cover.terminate()
            app.terminate()
            app.wait(timeout=10)
            jenkins.building = True
            children.append(subprocess.Popen(
                ["trayer", "--edge", "bottom", "--align", "left", "--widthtype", "pixel", "--width",
                 "200", "--height", "40", "--SetDockType", "true"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(2)
            log = open(tmp / "hidden.log", "wb")
            hidden = subprocess.Popen([binary, "--config", str(config), "--in-tray"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=log)
            children.append(hidden)
            time.sleep(SETTLE)
            shown = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^ledtogo$"],
                                   env=env, capture_output=True, text=True).stdout.split()
            if shown:
                print("hidden: the window opened (no tray found?), so this phase measures it open")
            if hidden.poll() is None:
                measure("hidden", hidden, args.seconds, tmp, "hidden", results)
                hidden.terminate()
                hidden.wait(timeout=10)
            else:
                print(f"hidden: ledtogo --in-tray exited ({hidden.returncode}), phase skipped: "
                      f"{(tmp / 'hidden.log').read_text().strip().splitlines()[:1]}", flush=True)
            demo, _ = start_app(binary, ["--demo", "--no-tray"], env, tmp, "demo")
            children.append(demo)
            time.sleep(SETTLE)
            measure("demo", demo, args.seconds, tmp, "demo", results)
            print_breakdown("demo", demo.pid, binary)
        finally:
            for child in reversed(children):
                if child.poll() is None:
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
