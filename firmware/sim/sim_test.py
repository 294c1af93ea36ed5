#!/usr/bin/env python3
"""sim_test.py - end-to-end smoke test: the real firmware ELF in the ledtogo-sim harness.

Opens the harness's pty like a host would (raw mode, Python stdlib only) and checks: the boot
"Ada\\n" + BOOT event, the black boot frame, a 16-LED Ada frame decoded from the data pin with
exactly its colours and in-spec bit timing, HELLO -> INFO, PING, and that after silence the
stale pattern appears within stale_after_s + 1 s, breathes, and the heartbeat returns.
Prints every check; exits 1 on the first failure.
Usage: sim_test.py --sim build/ledtogo-sim --elf build/ledtogo.elf
"""
import argparse
import binascii
import os
import queue
import select
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tty

STALE_AFTER_S = 5
LEDS = 16


class Failure(Exception):
    pass


def crc(data):
    return binascii.crc_hqx(data, 0xFFFF)


def adx(seq, cmd, payload=b""):
    head = b"Adx" + bytes([seq, cmd, len(payload), seq ^ cmd ^ len(payload) ^ 0x55]) + payload
    return head + struct.pack(">H", crc(head))


class Sim:
    def __init__(self, sim, elf):
        self.dir = tempfile.TemporaryDirectory(prefix="ledtogo-sim-test-")
        self.link = os.path.join(self.dir.name, "ttyLEDTOGO")
        self.stderr = open(os.path.join(self.dir.name, "sim.stderr"), "w+")
        # --drop-rx-while-cli: bytes that would overflow the Uno's 2-byte FIFO during show() are
        # lost, as on the real board; stop-and-wait must make that harmless.
        self.proc = subprocess.Popen([sim, elf, "--link", self.link, "--drop-rx-while-cli"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.lines = queue.Queue()
        self.ready = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.fd = None
        self.rx = b""

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith("READY "):
                self.ready.put(line)
            elif line.startswith("FRAME "):
                self.lines.put(parse_frame(line))

    def open(self, timeout):
        try:
            line = self.ready.get(timeout=timeout)
        except queue.Empty:
            raise Failure("harness printed no READY line within %d s" % timeout)
        if line != "READY " + self.link:
            raise Failure("unexpected READY line: %r" % line)
        self.fd = os.open(self.link, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)

    def read_until(self, want, timeout, what):
        """Reads pty bytes until want(self.rx) returns a value; that value is returned."""
        deadline = time.monotonic() + timeout
        while True:
            got = want(self.rx)
            if got is not None:
                return got
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("%s: nothing within %.0f s (received %r)" % (what, timeout, self.rx[-80:]))
            r, _, _ = select.select([self.fd], [], [], min(left, 0.1))
            if r:
                self.rx += os.read(self.fd, 4096)

    def frame(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("%s: no matching FRAME within %.0f s" % (what, timeout))
            try:
                f = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if pred(f):
                return f

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=5)
        self.stderr.seek(0)
        err = self.stderr.read().strip()
        self.stderr.close()
        self.dir.cleanup()
        return err


def parse_frame(line):
    parts = line.split()
    f = {"colours": []}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            f[k] = int(v)
        else:
            f["colours"].append(int(p, 16))
    return f


def take_ady(buf, seq=None):
    """Finds the next complete Ady frame (optionally with this seq) in buf; None if none yet."""
    i = 0
    while True:
        i = buf.find(b"Ady", i)
        if i < 0 or len(buf) - i < 9:
            return None
        s, cmd, n, hchk = buf[i + 3:i + 7]
        if hchk != s ^ cmd ^ n ^ 0x55 or len(buf) - i < 9 + n:
            if hchk != s ^ cmd ^ n ^ 0x55:
                i += 1
                continue
            return None
        body = buf[i:i + 7 + n]
        ok = struct.unpack(">H", buf[i + 7 + n:i + 9 + n])[0] == crc(body)
        if seq is None or s == seq:
            return {"seq": s, "cmd": cmd, "payload": buf[i + 7:i + 7 + n], "crc_ok": ok, "end": i + 9 + n}
        i += 9 + n


def stale_level(f):
    """A if every LED shows the stale colour (A, A*3/8, 0) with 8 <= A <= 48, else None."""
    cols = f["colours"]
    if len(cols) != LEDS:
        return None
    a = cols[0] >> 16
    want = (a << 16) | ((a * 3 // 8) << 8)
    if 8 <= a <= 48 and all(c == want for c in cols):
        return a
    return None


def run(args):
    checks = []

    def ok(text):
        checks.append(text)
        print("  ok  " + text, flush=True)

    sim = Sim(args.sim, args.elf)
    try:
        sim.open(10)
        ok("harness (--drop-rx-while-cli) printed READY and the pty link opens")

        boot = sim.read_until(lambda b: take_ady(b, 0) if b.startswith(b"Ada\n") else None, 10, "boot")
        if not (boot["crc_ok"] and boot["cmd"] == 0xE0 and boot["payload"][0] == 0 and boot["payload"][2] == 1):
            raise Failure("bad BOOT event: %r" % boot)
        fw = ".".join(str(x) for x in boot["payload"][3:6])
        ok("boot: 'Ada\\n' then BOOT event (reset=0x%02x proto=1 fw=%s, CRC ok)" % (boot["payload"][1], fw))
        sim.rx = sim.rx[boot["end"]:]

        f = sim.frame(lambda f: True, 5, "boot frame")
        if f["n"] != LEDS or any(f["colours"]):
            raise Failure("boot frame is not %d black LEDs: %r" % (LEDS, f))
        ok("boot frame: %d black LEDs" % LEDS)

        colours = [((i * 16 + 15) << 16) | ((255 - i * 13) << 8) | (i * 7) for i in range(LEDS)]
        frame = b"Ada" + bytes([0, LEDS - 1, (LEDS - 1) ^ 0x55])
        frame += b"".join(struct.pack(">I", c)[1:] for c in colours)
        os.write(sim.fd, frame)
        f = sim.frame(lambda f: f["colours"] == colours, 5, "Ada frame")
        if f["n"] != LEDS:
            raise Failure("FRAME n=%d, expected %d" % (f["n"], LEDS))
        ok("Ada frame of %d LEDs: FRAME line has exactly those colours (GRB wire -> RGB)" % LEDS)
        if not (250 <= f["t0h_ns"] <= 550 and 650 <= f["t1h_ns"] <= 950 and 1100 <= f["bit_ns"] <= 1400):
            raise Failure("WS2812 timing out of spec: %r" % f)
        ok("WS2812 timing in spec: t0h_ns=%d t1h_ns=%d bit_ns=%d" % (f["t0h_ns"], f["t1h_ns"], f["bit_ns"]))

        info = None
        for attempt in range(4):  # stop-and-wait: retry the same request on timeout
            os.write(sim.fd, adx(1, 0x01, bytes([1, 0])))
            try:
                info = sim.read_until(lambda b: take_ady(b, 1), 2, "HELLO reply")
                break
            except Failure:
                if attempt == 3:
                    raise
        p = info["payload"]
        if not (info["crc_ok"] and info["cmd"] == 0x81 and len(p) >= 25 and p[0] == 0):
            raise Failure("bad INFO reply: %r" % info)
        proto, led_count, led_max, max_payload, caps, order = p[1], *struct.unpack(">HHBHB", p[9:17])
        stale_s, show_us = struct.unpack(">HH", p[21:25])
        want = (1, LEDS, 150, 96, 0x000F, 2, STALE_AFTER_S, 30 * LEDS + 300)
        got = (proto, led_count, led_max, max_payload, caps, order, stale_s, show_us)
        if got != want:
            raise Failure("INFO fields %r, expected %r" % (got, want))
        ok("HELLO -> INFO: proto=1 id=%08x leds=%d max=%d max_payload=%d caps=0x%04x order=%d stale_s=%d show_us=%d"
           % (struct.unpack(">I", p[5:9])[0], led_count, led_max, max_payload, caps, order, stale_s, show_us))
        sim.rx = sim.rx[info["end"]:]

        os.write(sim.fd, adx(2, 0x02))
        ping = sim.read_until(lambda b: take_ady(b, 2), 3, "PING reply")
        uptime, state = struct.unpack(">IB", ping["payload"][1:6])
        if not (ping["crc_ok"] and ping["payload"][0] == 0 and state == 0):
            raise Failure("bad PING reply: %r" % ping)
        ok("PING -> uptime_ms=%d state=live" % uptime)
        sim.rx = sim.rx[ping["end"]:]

        first = sim.frame(lambda f: stale_level(f) is not None, STALE_AFTER_S + 40, "stale pattern")
        delay = first["t_ms"] - uptime
        if not (STALE_AFTER_S * 1000 - 100 <= delay <= STALE_AFTER_S * 1000 + 1000):
            raise Failure("stale pattern after %d ms of device time, expected %d..%d" %
                          (delay, STALE_AFTER_S * 1000, STALE_AFTER_S * 1000 + 1000))
        ok("silence: stale pattern (A=%d: %06x x%d) %d ms after the last frame (limit %d ms)"
           % (stale_level(first), first["colours"][0], LEDS, delay, STALE_AFTER_S * 1000 + 1000))
        levels = [stale_level(first)]
        end_ms = first["t_ms"] + 1500
        while True:
            f = sim.frame(lambda f: True, 5, "stale breathing")
            a = stale_level(f)
            if a is None:
                raise Failure("non-pattern frame while stale: %r" % f)
            levels.append(a)
            if f["t_ms"] >= end_ms:
                break
        if not (len(levels) >= 10 and levels == sorted(levels) and levels[-1] > levels[0]):
            raise Failure("stale pattern does not breathe up over the first 1.5 s: %r" % levels)
        ok("stale pattern breathes: %d frames in 1.5 s, A %d -> %d, all (A, A*3/8, 0)"
           % (len(levels), levels[0], levels[-1]))

        sim.read_until(lambda b: True if b"Ada\n" in b else None, 3, "heartbeat after stale")
        ok("session ended: 'Ada\\n' heartbeat is back")
    finally:
        err = sim.close()
    return checks, err


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", required=True, help="path of the ledtogo-sim binary")
    ap.add_argument("--elf", required=True, help="path of the firmware ELF")
    args = ap.parse_args()
    for what, path in (("--sim", args.sim), ("--elf", args.elf)):
        if not os.path.exists(path):
            print("sim-test: %s %s does not exist; run 'make -C firmware all sim' first" % (what, path),
                  file=sys.stderr)
            return 2
    t0 = time.monotonic()
    print("sim-test: %s in %s" % (args.elf, args.sim), flush=True)
    try:
        checks, err = run(args)
    except Failure as e:
        print("sim-test: FAILED: %s" % e, file=sys.stderr)
        return 1
    if err:
        last = err.splitlines()[-1]
        print("  harness: " + last)
        if "rx_dropped=0" not in last:
            print("sim-test: FAILED: the harness dropped received bytes: %s" % last, file=sys.stderr)
            return 1
        checks.append("no byte lost")
        print("  ok  no host byte was lost to a show() (rx_dropped=0)")
    print("sim-test: %d checks passed in %.1f s" % (len(checks), time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
