#!/usr/bin/env python3
"""Issue 14's benchmark: what the HTTP listener costs against the socket, idle and under
a burst, in one run (root: it mounts a tmpfs of its own).

sweepd tracks the 1,000,000-file tree of bench.py (made once with bench-mktree) and a
second zone on a tmpfs, with `http = { listen = "127.0.0.1:PORT"; }`. Four requests are
sampled round-robin (each round starts one further along, so that each sees the same
conditions): GET /metrics and GET /api/v1/status on one keep-alive HTTP connection, and
{"cmd":"metrics"} and {"cmd":"status"} on one persistent socket connection; besides them,
GET /api/v1/status with a new connection for each request. First while idle (--samples
rounds), then while bench-burst creates and closes --burst files in the tmpfs zone, until
a settle sent after the burst's last close has answered; the zone's count is then checked.
That burst is repeated --bursts times (each in a directory of its own, the previous one
removed and settled in between, unmeasured), since few answers come during one.

Usage: python3 test/bench/http_bench.py [--tree DIR] [--build DIR] [--burst N]
       [--samples N] [--bursts N] [--slow MS] [--perf FILE]
"""

import argparse
import http.client
import io
import json
import os
import select
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import Sweepd, Tmpfs, machine, make_tree, spread

HERE = os.path.dirname(os.path.abspath(__file__))

ap = argparse.ArgumentParser()
ap.add_argument("--tree", default="/var/tmp/sweepd-bench-tree")
ap.add_argument("--build", default=os.environ.get("SWEEPD_BUILD",
                                                  os.path.join(HERE, "..", "..", "build")))
ap.add_argument("--files", type=int, default=1_000_000)
ap.add_argument("--dirs", type=int, default=20_000)
ap.add_argument("--burst", type=int, default=100_000)
ap.add_argument("--samples", type=int, default=300, help="rounds while idle")
ap.add_argument("--bursts", type=int, default=5, help="bursts, one after the other")
ap.add_argument("--slow", type=float, default=100, help="list the answers slower than this (ms)")
ap.add_argument("--perf", help="perf record -g the daemon during the bursts into this file")
args = ap.parse_args()
build = os.path.abspath(args.build)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    """HTTP/1.1 GETs to sweepd: on one keep-alive connection, or (new=True) on a new
    connection each, closed after. Counts the connections opened, and the times sweepd
    closed one with a request sent and unanswered (drops, monotonic ns): the request is
    then sent again on a new connection, and the sample's time includes both."""

    def __init__(self, port, new=False):
        self.port = port
        self.new = new
        self.conn = None
        self.connects = 0
        self.drops = []

    def get(self, path):
        for attempt in range(2):
            if self.conn is None or self.conn.sock is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.connects += 1
            try:
                self.conn.request("GET", path,
                                  headers={"Connection": "close"} if self.new else {})
                r = self.conn.getresponse()
                body = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.drops.append(time.monotonic_ns())
                self.conn.close()
                if attempt:
                    raise
        if self.new:
            self.conn.close()
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r.status} {body[:200]!r}")
        return body


def checked(reply):
    if not reply.get("ok"):
        raise RuntimeError(f"sweepd said {reply}")
    return reply


class Sampler:
    """The requests, sampled round-robin; lat[name] = [seconds, ...] for the phase."""

    def __init__(self, d, port):
        self.h = Http(port)
        self.h1 = Http(port, new=True)
        self.d = d
        self.kinds = [
            ("GET /metrics (HTTP, keep-alive)", lambda: self.expect_metrics(self.h.get("/metrics"))),
            ("GET /api/v1/status (HTTP, keep-alive)",
             lambda: self.expect_status(self.h.get("/api/v1/status"))),
            ('{"cmd":"metrics"} (socket)',
             lambda: self.expect_metrics(checked(d.req({"cmd": "metrics"}))["text"].encode())),
            ('{"cmd":"status"} (socket)', lambda: self.expect_status(checked(d.req({"cmd": "status"})))),
            ("GET /api/v1/status (HTTP, new connection each)",
             lambda: self.expect_status(self.h1.get("/api/v1/status"))),
        ]
        self.round = 0
        self.new_phase()

    def new_phase(self):
        self.lat = {name: [] for name, _ in self.kinds}
        self.samples = []  # (monotonic ns at the start, name, seconds)
        self.burst_files = []  # (monotonic ns, files in the burst zone) from each status

    @staticmethod
    def expect_metrics(text):
        if b"sweepd_" not in text:
            raise RuntimeError(f"metrics without sweepd_: {text[:200]!r}")

    def expect_status(self, reply):
        if isinstance(reply, bytes):
            reply = checked(json.loads(reply))
        self.burst_files.append((time.monotonic_ns(), reply["zones"][1]["files"]))

    def one_round(self):
        n = len(self.kinds)
        for i in range(n):
            name, fn = self.kinds[(self.round + i) % n]
            at = time.monotonic_ns()
            t = time.perf_counter()
            fn()
            took = time.perf_counter() - t
            self.lat[name].append(took)
            self.samples.append((at, name, took))
        self.round += 1


class Log(threading.Thread):
    """sweepd's stderr, echoed, each line kept with the monotonic ns it came at."""

    def __init__(self, f):
        super().__init__(daemon=True)
        self.f = f
        self.lines = []

    def run(self):
        for line in self.f:
            self.lines.append((time.monotonic_ns(), line.rstrip()))
            sys.stderr.write(line)


def burst(d, s, burst_dir, k):
    """Burst k (a directory of its own in the tmpfs zone), sampled from its start until a
    settle sent after its last close has answered. What happened, as a dict."""
    before = checked(d.req({"cmd": "status"}))
    into = os.path.join(burst_dir, f"b{k}")
    os.makedirs(into)
    checked(d.req({"cmd": "settle"}))
    expect = before["zones"][1]["files"] + args.burst
    s.burst_files = []
    rounds = s.round
    t0 = time.monotonic_ns()
    p = subprocess.Popen([f"{build}/test/bench/bench-burst", into, str(args.burst)],
                         stdout=subprocess.PIPE, text=True)
    while p.poll() is None:
        s.one_round()
    if p.returncode != 0:
        raise RuntimeError("bench-burst failed")
    last_close = int(p.stdout.read())
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as ss:
        ss.connect(d.sock)
        ss.sendall(b'{"cmd":"settle"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            s.one_round()
            if select.select([ss], [], [], 0)[0]:
                chunk = ss.recv(4096)
                if not chunk:
                    raise ConnectionError("settle: sweepd closed the connection")
                buf += chunk
        settled = time.monotonic_ns()
    after = checked(d.req({"cmd": "status"}))
    seen = next((t for t, n in s.burst_files if n == expect), None)
    b, a = before["counters"], after["counters"]
    return dict(t0=t0, last_close=last_close, settled=settled, seen=seen,
                rounds=s.round - rounds, got=after["zones"][1]["files"] - before["zones"][1]["files"],
                **{c: a[c] - b[c] for c in ("overflows", "rescans", "events")})


def main():
    make_tree(build, args.tree, args.files, args.dirs)
    print(machine())
    work = tempfile.mkdtemp(prefix="sweepd-http-bench-")
    burst_dir = os.path.join(work, "burst")
    fs = Tmpfs(burst_dir, "1g", f"nr_inodes={args.burst + 65536}")
    d = None
    try:
        port = free_port()
        root = os.path.join(work, "d")
        os.makedirs(root)
        load_start = os.getloadavg()
        d = Sweepd(build, [("tree", args.tree), ("burst", burst_dir)], root,
                   extra=f'http = {{ listen = "127.0.0.1:{port}"; }};\n',
                   stderr=subprocess.PIPE)
        log = Log(io.TextIOWrapper(d.proc.stderr))
        log.start()
        st = checked(d.req({"cmd": "status"}))
        tracked = st["zones"][0]["files"]
        print(f"tree: {tracked} files tracked in {args.tree}, READY after {d.ready_s:.2f} s; "
              f"HTTP on 127.0.0.1:{port}")
        checked(d.req({"cmd": "settle"}))
        s = Sampler(d, port)

        # Idle: the tree tracked, nothing arriving.
        for _ in range(args.samples):
            s.one_round()
        idle = s.lat
        load_idle = os.getloadavg()

        # During the bursts.
        s.new_phase()
        if args.perf:
            perf = subprocess.Popen(["perf", "record", "-g", "-o", args.perf, "-p",
                                     str(d.proc.pid)], stderr=subprocess.DEVNULL)
            time.sleep(1)
        bursts = []
        for k in range(args.bursts):
            bursts.append(burst(d, s, burst_dir, k))
            if k + 1 < args.bursts:  # room for the next one, outside the measurement
                shutil.rmtree(os.path.join(burst_dir, f"b{k}"))
                checked(d.req({"cmd": "settle"}))
        if args.perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
        during = s.lat
        load_end = os.getloadavg()
        d.stop()
        d = None

        print()
        print(f"{'request':48} {'idle: median':>12} {'p99':>8} {'max':>8}"
              f"   {'burst: median':>13} {'p99':>8} {'max':>8}   (ms)")
        for name, _ in s.kinds:
            i, b = spread(idle[name]), spread(during[name])
            print(f"{name:48} {i[0]:12.3f} {i[1]:8.3f} {i[2]:8.3f}   {b[0]:13.3f} {b[1]:8.3f} {b[2]:8.3f}")
        n_idle = len(next(iter(idle.values())))
        n_burst = len(next(iter(during.values())))
        print(f"samples per request: {n_idle} idle, {n_burst} during {args.bursts} burst(s), "
              f"round-robin{' (under 100 samples, p99 is the max)' if n_burst < 100 else ''}; "
              f"the HTTP keep-alive connection was opened {s.h.connects} time(s); connections "
              f"closed by sweepd with a request unanswered: {len(s.h.drops)} keep-alive, "
              f"{len(s.h1.drops)} new")
        ok = True
        for k, b in enumerate(bursts):
            t0 = b["t0"]
            right = b["got"] == args.burst
            ok = ok and right
            print(f"burst {k + 1}: {args.burst} files (bench-burst, tmpfs zone): start to last close "
                  f"{(b['last_close'] - t0) / 1e9:.2f} s; settle sent then answered at "
                  f"{(b['settled'] - t0) / 1e9:.2f} s ({(b['settled'] - b['last_close']) / 1e9:.2f} s "
                  f"after the last close); status showed them all at "
                  + (f"{(b['seen'] - t0) / 1e9:.2f} s" if b["seen"] else "-")
                  + f"; {b['rounds']} rounds; zone count {'right' if right else 'WRONG'} "
                  f"(+{b['got']}); overflows {b['overflows']}, rescans {b['rescans']}")
            for at, line in log.lines:
                if t0 <= at <= b["settled"] and "rescanning" in line:
                    print(f"    {(at - t0) / 1e9:6.2f} s  sweepd: {line.split(': ', 1)[-1]}")
            for at, name, took in s.samples:
                if t0 <= at <= b["settled"] and took > args.slow / 1e3:
                    print(f"    {(at - t0) / 1e9:6.2f} s  {took * 1e3:8.1f} ms  {name}")
            for h, which in ((s.h, "keep-alive"), (s.h1, "new")):
                for at in h.drops:
                    if t0 <= at <= b["settled"]:
                        print(f"    {(at - t0) / 1e9:6.2f} s  an HTTP connection ({which}) closed "
                              "by sweepd, its request sent and unanswered (sent again)")
        print("load average: before " + " ".join(f"{x:.2f}" for x in load_start)
              + ", after the idle phase " + " ".join(f"{x:.2f}" for x in load_idle)
              + ", at the end " + " ".join(f"{x:.2f}" for x in load_end))
        return 0 if ok else 1
    finally:
        if d:
            d.stop()
        fs.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
