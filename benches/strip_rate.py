#!/usr/bin/env python3
"""What the strip outputs send, measured on real processes: the serial line to the simulated Uno and
DDP to a loopback receiver.

Serial: the real firmware runs in simavr (`make -C firmware all sim`: firmware/sim/ledtogo-sim.c,
throttled to real time, its UART paced at 115200 baud like the Uno's USB bridge, a FRAME line per
latch of the WS2812 pin). Between `ledtogo --headless` and the simulated Uno sits a pty relay in this
script that forwards both ways and timestamps every byte the host writes. A small Jenkins answer on
loopback (job i on LED i; polled every second) drives it. For each strip length:
  animating  every job builds, so every LED pulses (the engine renders 25 frames a second): frames the
             strip latched per second, the bytes per second the host wrote, as a fraction of the line
             rate (115200 baud = 11,520 bytes/s with 8N1), and the most full frames per second the
             line could carry at that frame size;
  idle       nothing changes: the bytes per minute that still go over the line (the keep-alive);
  latency    job-0 turns red and back, 5 times: from the poll answer that carries the change leaving
             the server to the frame's last byte written to the port, and to the latch on the strip.
DDP: a UDP receiver on loopback (`port = "ddp://127.0.0.1:PORT"`): frames per second and packets per
frame while every LED pulses, and packets per minute when nothing changes.

The firmware holds 150 LEDs on an Uno (6 bytes of its 2 KB RAM per LED), so a strip of 300 gets the
first 150; the bytes a frame of 300 would take, and the frames per second the line could carry, are
extrapolated from the measured sizes and printed as such.

usage: benches/strip_rate.py [--binary PATH] [--seconds 20] [--serial-leds 60,150,300]
       [--ddp-leds 60,600]   (default binary: the headless release build, built first; `./dev bench
       strip` runs it). Prints figures, asserts nothing; about four minutes.
"""
import argparse
import os
import pathlib
import select
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tty

import benchlib

BAUD = 115200
SETTLE = 6  # seconds after a phase change before counting (connection, first polls, the pulse running)


class Relay:
    """A pty for ledtogo (at `link`) forwarded to the simulator's pty; `writes` holds (time, bytes) of
    every chunk the host wrote."""

    def __init__(self, link, sim_link):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.symlink(os.ttyname(self.slave), link)
        self.sim = os.open(sim_link, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.sim)
        self.writes = []
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stopped:
            ready, _, _ = select.select([self.master, self.sim], [], [], 0.2)
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    continue
                if fd == self.master:
                    with self.lock:
                        self.writes.append((time.monotonic(), len(data)))
                    os.write(self.sim, data)
                else:
                    os.write(self.master, data)

    def bytes_between(self, start, end):
        with self.lock:
            return sum(n for t, n in self.writes if start <= t < end)

    def last_write_before(self, moment):
        with self.lock:
            times = [t for t, _ in self.writes if t <= moment]
        return times[-1] if times else None


class Strip:
    """The simulator's FRAME lines as (arrival time, LED colours)."""

    def __init__(self, process):
        self.frames = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.process = process
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.process.stdout:
            now = time.monotonic()
            if line.startswith("READY"):
                self.ready.set()
            elif line.startswith("FRAME "):
                leds = [w for w in line.split()[1:] if len(w) == 6 and "=" not in w]
                with self.lock:
                    self.frames.append((now, leds))

    def count_between(self, start, end):
        with self.lock:
            return sum(1 for t, _ in self.frames if start <= t < end)

    def first_change_after(self, moment, led, before):
        with self.lock:
            for t, leds in self.frames:
                if t > moment and len(leds) > led and leds[led] != before:
                    return t, leds[led]
        return None

    def last_led(self, led):
        with self.lock:
            for _, leds in reversed(self.frames):
                if len(leds) > led:
                    return leds[led]
        return None


def start_ledtogo(binary, config_text, tmp, name):
    config = tmp / f"{name}.toml"
    config.write_text(config_text)
    log = open(tmp / f"{name}.log", "wb")
    env = {**os.environ, "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "config"),
           "XDG_RUNTIME_DIR": str(tmp), "XDG_STATE_HOME": str(tmp / "state"), "RUST_LOG": "info"}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return subprocess.Popen([binary, "--headless", "--config", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=log)


def serial(binary, leds, seconds, tmp):
    fw = benchlib.ROOT / "firmware"
    jenkins = benchlib.Jenkins(leds)
    children = []
    try:
        sim = subprocess.Popen([str(fw / "build/ledtogo-sim"), str(fw / "build/ledtogo.elf"), "--link",
                                str(tmp / f"sim{leds}")], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        children.append(sim)
        strip = Strip(sim)
        if not strip.ready.wait(30):
            sys.exit("the firmware simulator printed no READY line within 30 s")
        link = tmp / f"tty{leds}"
        relay = Relay(str(link), str(tmp / f"sim{leds}"))
        jenkins.building = True
        app = start_ledtogo(binary, jenkins.config(leds, link), tmp, f"serial{leds}")
        children.append(app)
        benchlib.wait_for(f"frames on the simulated strip ({leds} LEDs)",
                          lambda: strip.count_between(0, time.monotonic()) > 0 or app.poll() is not None)
        if app.poll() is not None:
            sys.exit(f"ledtogo exited: {(tmp / f'serial{leds}.log').read_text()}")
        time.sleep(SETTLE)
        start = time.monotonic()
        time.sleep(seconds)
        end = time.monotonic()
        frames = strip.count_between(start, end)
        sent = relay.bytes_between(start, end)
        fps = frames / (end - start)
        rate = sent / (end - start)
        line = BAUD / 10
        shown = len(strip.frames[-1][1])
        per_frame = sent / frames if frames else float("nan")
        print(f"serial {leds:4} LEDs (strip shows {shown}) animating: {fps:5.1f} frames/s latched, "
              f"{rate:7.0f} bytes/s = {100 * rate / line:5.1f} % of the line rate, "
              f"{per_frame:6.0f} bytes/frame; the line carries at most {line / per_frame:5.1f} "
              f"frames/s of this size", flush=True)

        jenkins.building = False
        time.sleep(SETTLE)
        start = time.monotonic()
        time.sleep(max(seconds, 30))
        end = time.monotonic()
        idle = relay.bytes_between(start, end) * 60 / (end - start)
        print(f"serial {leds:4} LEDs idle: {idle:6.0f} bytes/min ({100 * idle / 60 / line:.2f} % of the "
              "line rate)", flush=True)

        wire, latched = [], []
        for turn in range(5):
            before = strip.last_led(0)
            with jenkins.lock:
                answers = jenkins.answers
                jenkins.red = {0} if turn % 2 == 0 else set()
            answered = benchlib.wait_for("the poll after a change",
                                         lambda: jenkins.last_answer if jenkins.answers > answers else 0)
            change = benchlib.wait_for("the changed frame on the strip",
                                       lambda: strip.first_change_after(answered, 0, before), 10)
            last_byte = relay.last_write_before(change[0])
            wire.append(1000 * (last_byte - answered))
            latched.append(1000 * (change[0] - answered))
            time.sleep(1.5)
        print(f"serial {leds:4} LEDs latency, poll answer sent → frame's last byte written: median "
              f"{statistics.median(wire):5.1f} ms (max {max(wire):5.1f}); → latched on the strip: "
              f"median {statistics.median(latched):5.1f} ms (max {max(latched):5.1f}), 5 changes",
              flush=True)
        relay.stopped = True
        return shown, per_frame
    finally:
        benchlib.stop(children)
        jenkins.server.shutdown()


def ddp(binary, leds, seconds, tmp):
    jenkins = benchlib.Jenkins(leds)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.2)
    port = receiver.getsockname()[1]
    packets = []  # (time, push flag, payload bytes)
    done = threading.Event()

    def receive():
        while not done.is_set():
            try:
                data = receiver.recv(65536)
            except socket.timeout:
                continue
            if len(data) >= 10:
                flags, _, _, _, _, length = struct.unpack(">BBBBIH", data[:10])
                packets.append((time.monotonic(), bool(flags & 0x01), length))
    threading.Thread(target=receive, daemon=True).start()

    def between(start, end):
        chosen = [p for p in packets if start <= p[0] < end]
        return len(chosen), sum(1 for p in chosen if p[1]), sum(p[2] for p in chosen)
    children = []
    try:
        jenkins.building = True
        app = start_ledtogo(binary, jenkins.config(leds, f"ddp://127.0.0.1:{port}"), tmp, f"ddp{leds}")
        children.append(app)
        benchlib.wait_for(f"DDP packets ({leds} LEDs)", lambda: packets or app.poll() is not None)
        time.sleep(SETTLE)
        start = time.monotonic()
        time.sleep(seconds)
        end = time.monotonic()
        count, frames, payload = between(start, end)
        print(f"ddp    {leds:4} LEDs animating: {frames / (end - start):5.1f} frames/s, "
              f"{count / max(frames, 1):.0f} packets/frame, {payload / max(frames, 1):5.0f} bytes of "
              f"pixels/frame", flush=True)
        jenkins.building = False
        time.sleep(SETTLE)
        start = time.monotonic()
        time.sleep(seconds)
        end = time.monotonic()
        count, frames, _ = between(start, end)
        print(f"ddp    {leds:4} LEDs idle: {60 * frames / (end - start):5.1f} frames/min "
              f"({60 * count / (end - start):5.1f} packets/min: the keep-alive resend)", flush=True)
    finally:
        done.set()
        benchlib.stop(children)
        jenkins.server.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", help="ledtogo to run (default: the headless release build)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--serial-leds", default="60,150,300")
    parser.add_argument("--ddp-leds", default="60,600")
    args = parser.parse_args()
    binary = args.binary or benchlib.headless_binaries()[0]
    subprocess.run(["make", "-s", "-C", str(benchlib.ROOT / "firmware"), "all", "sim"], check=True,
                   stdout=subprocess.DEVNULL)
    print(benchlib.machine_line())
    print(benchlib.binary_line(binary), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        sizes = {}
        for leds in (int(n) for n in args.serial_leds.split(",") if n):
            shown, per_frame = serial(binary, leds, args.seconds, tmp)
            sizes[shown] = per_frame
            if shown < leds:
                print(f"serial {leds:4} LEDs: the firmware holds {shown} (its LED_MAX: 6 bytes of the "
                      f"Uno's 2 KB RAM per LED), so {shown} were driven", flush=True)
        if len(sizes) >= 2:
            (a, fa), (b, fb) = sorted(sizes.items())[:2]
            per_led = (fb - fa) / (b - a)
            for leds in (300, 600):
                if leds not in sizes:
                    full = fa + per_led * (leds - a)
                    print(f"serial {leds:4} LEDs, extrapolated from {a} and {b}: {full:5.0f} bytes/frame, "
                          f"at most {BAUD / 10 / full:4.1f} frames/s on the line", flush=True)
        for leds in (int(n) for n in args.ddp_leds.split(",") if n):
            ddp(binary, leds, args.seconds, tmp)


if __name__ == "__main__":
    main()
