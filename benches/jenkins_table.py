#!/usr/bin/env python3
"""`./dev bench`: `ledtogo jobs` against python-jenkins `get_all_jobs()` on the project's simulated Jenkins.

Starts the `sim_jenkins` binary (benches/bin/sim_jenkins.rs) (10,000 jobs in 3 folder levels by default) on loopback as its own process,
then runs, in turns in the same run, `ledtogo jobs URL` (the release binary) and a Python process that
calls python-jenkins' `get_all_jobs()` (installed from PyPI into a venv under target/bench/), each
`--repeat` times. Each child is measured by this script: CPU (user + sys) and peak RSS from the child's
`os.wait4` rusage, peak RSS from GNU time's `%M` (a child's own rusage would start at this
script's size), and wall time; the simulator counts the requests and body bytes each run took, as
sent (gzip when the client asks for it: both do) and uncompressed. Prints the medians and the ratio as a
Markdown table and writes it to target/bench/jenkins_table.md (docs/performance.md pastes it).

    benches/jenkins_table.py [--binary PATH] [--sim PATH] [--desktop] [--jobs N] [--levels L] [--repeat K]

Without --binary/--sim it builds both (`cargo build --release --no-default-features --features
bench-sim --bin ledtogo --bin sim_jenkins`: the headless build, quicker to build; --desktop for the
default features).
Figures are printed, never asserted.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_JENKINS = "python-jenkins"

CLIENT = """
import sys, jenkins
server = jenkins.Jenkins(sys.argv[1], timeout=60)
jobs = server.get_all_jobs()
print(len([j for j in jobs if 'color' in j]))
"""


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def build(desktop):
    """The release binary and the simulator example, built by cargo (`--release`): the headless build
    (ledtogo-headless's binary) unless `desktop`; `ledtogo jobs` runs the same code in both."""
    features = ["--features", "bench-sim"] if desktop else ["--no-default-features", "--features", "bench-sim"]
    subprocess.run(
        ["cargo", "build", "--release", *features, "--bin", "ledtogo", "--bin", "sim_jenkins"],
        cwd=ROOT,
        check=True,
    )
    release = target_dir() / "release"
    return release / "ledtogo", release / "sim_jenkins"


def venv_python(bench_dir):
    """A venv under target/bench/ with python-jenkins from PyPI (made once)."""
    venv = bench_dir / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run([str(python), "-c", "import jenkins"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PYTHON_JENKINS],
            check=True,
        )
    return python


class Sim:
    """The simulator process: its URL, and its counters on request."""

    def __init__(self, path, jobs, levels):
        self.proc = subprocess.Popen(
            [str(path), "--jobs", str(jobs), "--levels", str(levels)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            raise SystemExit(f"{path}: the simulator did not print its URL (got {self.url!r})")

    def stats(self):
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def measure(argv, sim):
    """One run of `argv`: CPU, wall, peak RSS of the child, what the simulator served for it, its output."""
    before = sim.stats()
    # A child's ru_maxrss starts at what its parent (this Python) had when it forked, so the peak RSS
    # comes from GNU time, which forks the command from a process of its own a few hundred KB large.
    # CPU and wall come from wait4 here (they include GNU time's own start, well under a millisecond).
    rss_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"ledtogo-bench-rss-{os.getpid()}"
    start = time.perf_counter()
    child = subprocess.Popen(
        ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.stdout.close()
    peak_kb = int(rss_file.read_text().split()[-1])
    rss_file.unlink()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[0]} failed (exit status {os.waitstatus_to_exitcode(status)})")
    after = sim.stats()
    return {
        "user_ms": usage.ru_utime * 1000,
        "sys_ms": usage.ru_stime * 1000,
        "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000,
        "wall_ms": wall * 1000,
        "rss_mb": peak_kb / 1024,
        "requests": after["requests"] - before["requests"],
        "wire_bytes": after["wire_bytes"] - before["wire_bytes"],
        "plain_bytes": after["plain_bytes"] - before["plain_bytes"],
        "output": out,
    }


def machine():
    """nproc, CPU model, RAM and the Debian version, as this machine says."""
    def first(path, prefix):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    try:
        debian = "Debian " + Path("/etc/debian_version").read_text().strip()
    except OSError:
        debian = platform.platform()
    ram_kb = first("/proc/meminfo", "MemTotal").split()[0]
    ram = f"{int(ram_kb) / 1024 / 1024:.0f} GB RAM" if ram_kb.isdigit() else "RAM unknown"
    return (
        f"{os.cpu_count()} cores ({first('/proc/cpuinfo', 'model name')}), {ram}, {debian}, "
        f"load average {os.getloadavg()[0]:.1f} at the start, Python {platform.python_version()}"
    )


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def table(rows, args, ours_jobs, theirs_jobs):
    lines = [
        f"`ledtogo jobs` vs python-jenkins `get_all_jobs()`: {args.jobs:,} jobs in {args.levels} folder "
        f"levels, the simulated Jenkins on loopback, medians of {args.repeat} runs each.",
        "",
        f"Machine: {args.machine}.",
        f"Binary: {args.shown_binary}.",
        "",
        "| client | CPU ms (user + sys) | user ms | sys ms | wall ms | peak RSS MB | requests "
        "| bytes on the wire (gzip) | bytes without gzip | jobs listed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, runs, jobs in rows:
        lines.append(
            f"| {name} | {median(runs, 'cpu_ms'):.1f} | {median(runs, 'user_ms'):.1f} "
            f"| {median(runs, 'sys_ms'):.1f} | {median(runs, 'wall_ms'):.1f} | {median(runs, 'rss_mb'):.1f} "
            f"| {median(runs, 'requests'):.0f} | {median(runs, 'wire_bytes'):,.0f} "
            f"| {median(runs, 'plain_bytes'):,.0f} | {jobs:,} |"
        )
    (_, ours, _), (_, theirs, _) = rows[:2]
    lines += [
        "",
        f"python-jenkins / ledtogo: CPU {median(theirs, 'cpu_ms') / max(median(ours, 'cpu_ms'), 0.001):.1f}×, "
        f"wall {median(theirs, 'wall_ms') / max(median(ours, 'wall_ms'), 0.001):.1f}×, "
        f"peak RSS {median(theirs, 'rss_mb') / max(median(ours, 'rss_mb'), 0.001):.1f}×",
    ]
    if ours_jobs != theirs_jobs:
        lines.append(f"(the two listed different numbers of jobs: {ours_jobs} and {theirs_jobs})")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", type=Path, help="the ledtogo binary (default: build the release one)")
    parser.add_argument("--sim", type=Path, help="the sim_jenkins binary (default: build it)")
    parser.add_argument("--desktop", action="store_true", help="build the desktop binary instead of the headless one")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--levels", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    bench_dir = target_dir() / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    if args.binary is None or args.sim is None:
        binary, sim_path = build(args.desktop)
        binary, sim_path = args.binary or binary, args.sim or sim_path
    else:
        binary, sim_path = args.binary, args.sim
    python = venv_python(bench_dir)
    client = bench_dir / "python_jenkins_client.py"
    client.write_text(CLIENT)

    args.machine = machine()
    args.shown_binary = f"{binary} ({binary.stat().st_size / 1e6:.1f} MB)"
    sim = Sim(sim_path, args.jobs, args.levels)
    try:
        ours, theirs = [], []
        start_up = []
        for _ in range(args.repeat):  # in turns, so both see the same machine load
            ours.append(measure([str(binary), "jobs", sim.url], sim))
            theirs.append(measure([str(python), str(client), sim.url], sim))
            start_up.append(measure([str(binary), "--version"], sim))
    finally:
        sim.stop()
    ours_jobs = len([l for l in ours[-1]["output"].decode().splitlines() if l.strip()])
    theirs_jobs = int(theirs[-1]["output"].decode().strip() or 0)
    text = table(
        [
            ("ledtogo jobs", ours, ours_jobs),
            ("python-jenkins get_all_jobs()", theirs, theirs_jobs),
            ("ledtogo --version (start-up alone)", start_up, 0),
        ],
        args,
        ours_jobs,
        theirs_jobs,
    )
    (bench_dir / "jenkins_table.md").write_text(text)
    print(text, end="")
    print(f"(written to {bench_dir / 'jenkins_table.md'})")


if __name__ == "__main__":
    main()
