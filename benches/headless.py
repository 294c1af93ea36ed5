#!/usr/bin/env python3
"""What the headless build costs while it runs (the office Pi's figure, a regression figure): CPU and
peak memory of `ledtogo --headless` polling the project's simulated Jenkins.

Starts benches/bin/sim_jenkins.rs and the real headless release binary (`--no-default-features`: no
window, tray or sound) with a config of the server, `poll_seconds = 10`, no strip device (`port =
"none"`: the frames are rendered and dropped) and the first 16 jobs on LEDs, with a private HOME.
Two runs:
  50 jobs      (no folders; one of them builds, as in the simulator: polls go faster while a job builds)
  10,000 jobs  (3 folder levels: the big server; the peak must stay under 12 MB)
For each it samples the CPU (utime + stime of every thread, /proc/PID/stat) over SECONDS after the
first poll, the peak resident memory (VmHWM, /proc/PID/status) at the end, and the requests and bytes
the simulator served in that time.

usage: benches/headless.py [--seconds 60] [--binary PATH --sim PATH]   (default: the headless release
       build of `ledtogo` and `sim_jenkins`, built first; `./dev bench headless` runs it).
       Prints figures, asserts nothing; about two and a half minutes.
"""
import argparse
import os
import pathlib
import subprocess
import tempfile
import time

import benchlib


def run(binary, sim_binary, jobs, levels, seconds, tmp):
    sim = benchlib.SimJenkins(sim_binary, jobs, levels)
    children = [sim.process]
    try:
        config = tmp / f"headless{jobs}.toml"
        config.write_text(f'poll_seconds = 10\n\n[[servers]]\nname = "sim"\nurl = "{sim.url}"\n\n'
                          '[strip]\nport = "none"\nleds = 16\n')
        env = {**os.environ, "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "config"),
               "XDG_RUNTIME_DIR": str(tmp), "XDG_STATE_HOME": str(tmp / "state")}
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        log = open(tmp / f"headless{jobs}.log", "wb")
        app = subprocess.Popen([binary, "--headless", "--config", str(config)], env=env,
                               stdout=subprocess.DEVNULL, stderr=log)
        children.append(app)
        benchlib.wait_for("the first poll", lambda: sim.stats()["requests"] > 0 or app.poll() is not None)
        if app.poll() is not None:
            raise SystemExit(f"ledtogo exited: {(tmp / f'headless{jobs}.log').read_text()}")
        time.sleep(1)
        before, cpu, wall = sim.stats(), benchlib.cpu_seconds(app.pid), time.monotonic()
        time.sleep(seconds)
        after, used, took = sim.stats(), benchlib.cpu_seconds(app.pid) - cpu, time.monotonic() - wall
        rss, peak = benchlib.status_mib(app.pid, "VmRSS"), benchlib.status_mib(app.pid, "VmHWM")
        requests = after["requests"] - before["requests"]
        wire = (after["wire_bytes"] - before["wire_bytes"]) / 1e3
        plain = (after["plain_bytes"] - before["plain_bytes"]) / 1e3
        print(f"headless, {jobs:6} jobs in {levels} folder levels, poll 10 s, {took:.0f} s: "
              f"{100 * used / took:.3f} % of one core ({used * 1000:.0f} ms CPU), RSS {rss:.1f} MiB, "
              f"peak {peak:.1f} MiB; {requests} requests, {wire:.1f} kB on the wire "
              f"({plain:.1f} kB without gzip)", flush=True)
    finally:
        benchlib.stop(children)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--binary")
    parser.add_argument("--sim")
    args = parser.parse_args()
    binary, sim = (args.binary, args.sim) if args.binary and args.sim else benchlib.headless_binaries()
    print(benchlib.machine_line())
    print(benchlib.binary_line(binary), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for jobs, levels in ((50, 0), (10_000, 3)):
            run(binary, sim, jobs, levels, args.seconds, tmp)


if __name__ == "__main__":
    main()
