#!/usr/bin/env python3
"""The office: how many requests one Jenkins gets from 10 desks polling it directly, and from the same
10 desks reading one ledtogo relay that polls it for them. Real processes, counted by the server.

Starts benches/bin/sim_jenkins.rs (50 jobs, one of them building, as the simulator has it), then
  direct  10 `ledtogo --headless` desks, each with the Jenkins as its server (`poll_seconds = 10`,
          the default);
  relay   one `ledtogo --headless` with `[export] listen = "127.0.0.1:PORT"` polling the Jenkins, and
          10 desks with `kind = "ledtogo"` reading it (same poll interval);
and counts the requests the simulated Jenkins served over SECONDS after every desk's first poll (and
the bytes it sent), as requests per minute. Each process has its own HOME and config, no strip device.

usage: benches/office.py [--seconds 60] [--desks 10] [--binary PATH --sim PATH]   (default: the
       headless release build of `ledtogo` and `sim_jenkins`, built first; `./dev bench office`
       runs it). Prints figures, asserts nothing; about two and a half minutes.
"""
import argparse
import os
import pathlib
import socket
import subprocess
import tempfile
import time

import benchlib


def start(binary, name, text, tmp):
    home = tmp / name
    home.mkdir()
    config = home / "config.toml"
    config.write_text(text)
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_RUNTIME_DIR": str(home), "XDG_STATE_HOME": str(home / "state")}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    log = open(home / "ledtogo.log", "wb")
    return subprocess.Popen([binary, "--headless", "--config", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=log)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server(name, url, kind="jenkins"):
    return f'[[servers]]\nname = "{name}"\nkind = "{kind}"\nurl = "{url}"\n\n'


STRIP = '[strip]\nport = "none"\nleds = 16\n'


def phase(label, binary, sim_binary, desks, seconds, tmp, relay):
    sim = benchlib.SimJenkins(sim_binary, 50, 0)
    children = [sim.process]
    try:
        if relay:
            port = free_port()
            children.append(start(binary, f"{label}-relay",
                                  server("office", sim.url) + STRIP
                                  + f'\n[export]\nlisten = "127.0.0.1:{port}"\n', tmp))
            benchlib.wait_for("the relay's first poll", lambda: sim.stats()["requests"] > 0)
            source = server("relay", f"http://127.0.0.1:{port}/", "ledtogo")
        else:
            source = server("office", sim.url)
        for n in range(desks):
            children.append(start(binary, f"{label}-desk{n}", source + STRIP, tmp))
        # Every desk has started and polled once (a relay answers from what it has).
        time.sleep(5)
        for child in children[1:]:
            if child.poll() is not None:
                raise SystemExit(f"a ledtogo of the {label} phase exited ({child.returncode}); "
                                 f"its log is under {tmp}")
        before, wall = sim.stats(), time.monotonic()
        time.sleep(seconds)
        after, took = sim.stats(), time.monotonic() - wall
        requests = after["requests"] - before["requests"]
        sent = (after["wire_bytes"] - before["wire_bytes"]) / 1e3
        print(f"{label:6} {desks} desks{' through one relay' if relay else ' polling directly':18}: "
              f"{60 * requests / took:5.1f} requests/min on the Jenkins "
              f"({requests} in {took:.0f} s, {60 * sent / took:6.1f} kB/min sent)", flush=True)
        return 60 * requests / took
    finally:
        benchlib.stop(children)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--desks", type=int, default=10)
    parser.add_argument("--binary")
    parser.add_argument("--sim")
    args = parser.parse_args()
    binary, sim = (args.binary, args.sim) if args.binary and args.sim else benchlib.headless_binaries()
    print(benchlib.machine_line())
    print(benchlib.binary_line(binary), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        direct = phase("direct", binary, sim, args.desks, args.seconds, tmp, relay=False)
        relayed = phase("relay", binary, sim, args.desks, args.seconds, tmp, relay=True)
    print(f"the relay takes the Jenkins from {direct:.1f} to {relayed:.1f} requests/min "
          f"({direct / max(relayed, 0.001):.1f}× fewer)")


if __name__ == "__main__":
    main()
