#!/usr/bin/env python3
"""The mover's benchmarks, side by side in one run (root: it mounts tmpfs of its own;
needs zstd):

1. status latency (median, p99, worst), idle and during the work of the e2e case
   status_answers_during_a_long_archive: three 400 MB compressible files archived from a
   tmpfs zone into an archive on the disk at level 12, a 600 MB log rotated with zstd,
   and 30,000 new files created in a third zone, all at once;
2. rotation and compression of a 1 GiB log by sweepd (collapse, zstd level 3) against
   `zstd -3` and `zstd -T2 -3` on the same file;
3. archiving 2 GB (16 files of 128 MiB) across filesystems, tmpfs zone to an archive on
   the disk, against `mv` and `mv; sync`.

Usage: python3 test/bench/mover_bench.py [--disk DIR] [--runs N]
"""

import argparse
import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import Tmpfs, make_videos, mv_anchor, request, spread, zstd_anchors

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from test_mover import CREATOR, compressible, log_text  # noqa: E402  (the test's own)

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("SWEEPD_BUILD", os.path.join(HERE, "..", "..", "build"))
SWEEPD = os.path.join(BUILD, "sweepd")
MB = 1 << 20
OLD = time.time() - 30 * 86400


class Sweepd:
    """sweepd on a config body written under work; started, returns once READY=1 came."""

    def __init__(self, work, body):
        self.sock = os.path.join(work, "b.sock")
        conf = os.path.join(work, "b.conf")
        notify = os.path.join(work, "n.sock")
        with open(conf, "w") as f:
            f.write(f'state_dir = "{work}/state";\nsocket = {{ path = "{self.sock}"; }};\n'
                    'disk = { high = "100%"; low = "100%"; };\n' + body)
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(notify)
        t0 = time.monotonic()
        self.proc = subprocess.Popen([SWEEPD, "-c", conf], stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, NOTIFY_SOCKET=notify))
        while b"READY=1" not in ns.recv(4096):
            pass
        self.ready_at = time.monotonic()
        self.start_s = self.ready_at - t0
        ns.close()
        os.unlink(notify)

    def req(self, obj):
        r = request(self.sock, obj)
        if not r.get("ok"):
            raise RuntimeError(f"{obj}: {r}")
        return r

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def write_log(path, size, chunk):
    """size bytes of log, chunk after chunk (chunks of 8 MiB or more sit farther apart than
    zstd -3's window: they help it no more than fresh lines would)."""
    with open(path, "ab") as f:
        for _ in range(size // len(chunk)):
            f.write(chunk)
            f.flush()


class Poller(threading.Thread):
    """status every 10 ms on a new connection each time, as a monitoring client would ask."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock = sock
        self.lat = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            t0 = time.perf_counter()
            request(self.sock, {"cmd": "status"})
            self.lat.append(time.perf_counter() - t0)
            self.halt.wait(0.01)

    def stop(self):
        self.halt.set()
        self.join()
        return self.lat


def latency(disk, idle_s=5.0):
    """Status latency idle, then during the work. The three files wait on the tmpfs beside
    the zone and are renamed into it (old already: due at once) to start the work."""
    work = tempfile.mkdtemp(prefix="sweepd-mover-", dir=disk)
    fs = Tmpfs(os.path.join(work, "fs"), "1800M")
    try:
        for p in ("fs/out", "fs/stage", "logs", "new"):
            os.makedirs(os.path.join(work, p))
        staged = []
        for i in range(3):
            p = os.path.join(fs.path, "stage", f"render{i}.bin")
            compressible(p, 400 * MB, fresh=512 << 10)
            os.utime(p, (OLD, OLD))
            staged.append(p)
        chunk = log_text(8 * MB)
        d = Sweepd(work, f'archive = {{ path = "{work}/archive"; compress = "zstd"; level = 12; }};\n'
                   f'zones = ( {{ name = "out"; path = "{work}/fs/out"; max_age = "1d"; }},\n'
                   f'  {{ name = "logs"; path = "{work}/logs"; include = [ "*.log" ];\n'
                   '    rotate = { size = "590M"; compress = "zstd"; level = 3; }; },\n'
                   f'  {{ name = "new"; path = "{work}/new"; }} );\n')
        try:
            poller = Poller(d.sock)
            poller.start()
            time.sleep(idle_s)  # the idle window: time to measure, not a synchronisation
            idle = list(poller.lat)
            t0 = time.monotonic()
            for p in staged:
                os.rename(p, os.path.join(fs.path, "out", os.path.basename(p)))
            while True:  # the archive under way
                st = d.req({"cmd": "status"})
                if st["jobs"] or st["counters"]["archived"]:
                    break
                time.sleep(0.01)
            creator = subprocess.Popen([sys.executable, "-c", CREATOR,
                                        os.path.join(work, "new"), "30000"])
            write_log(os.path.join(work, "logs", "app.log"), 600 * MB, chunk)
            creator.wait()
            while d.req({"cmd": "status"})["counters"]["rotated"] < 1:
                time.sleep(0.01)
            d.req({"cmd": "settle"})
            took = time.monotonic() - t0
            busy = poller.stop()[len(idle):]
            st = d.req({"cmd": "status"})
            new = [z for z in st["zones"] if z["name"] == "new"][0]["files"]
        finally:
            d.stop()
        return idle, busy, took, st["counters"], new
    finally:
        fs.close()
        shutil.rmtree(work, ignore_errors=True)


def rotation(disk, runs):
    """A 1 GiB log rotated and compressed by sweepd (collapse: a writer holds it) against
    the zstd CLI on the same file, all from the page cache. The log is fsynced before each
    rotation, as a log written over minutes is: a collapse writes back what is dirty first,
    and that would be the benchmark's own copy, not the daemon's work."""
    work = tempfile.mkdtemp(prefix="sweepd-mover-", dir=disk)
    try:
        master = os.path.join(work, "master.log")
        write_log(master, 1 << 30, log_text(16 * MB))
        size = os.path.getsize(master)
        out = os.path.join(work, "out.zst")
        subprocess.run(["cat", master], stdout=subprocess.DEVNULL)  # warm
        cli1, cli2, cli2s = zstd_anchors(master, out, runs)
        ratio = size / os.path.getsize(out)
        zone = os.path.join(work, "logs")
        os.makedirs(zone)
        d = Sweepd(work, f'zones = ( {{ name = "logs"; path = "{zone}"; include = [ "*.log" ]; '
                   'rotate = { size = "100G"; method = "collapse"; level = 3; }; } );\n')
        ours = []
        try:
            for _ in range(runs):
                live = os.path.join(zone, "app.log")
                shutil.copyfile(master, live)
                with open(live, "ab") as w:  # a writer: collapse, not a whole-file copy
                    os.fsync(w.fileno())
                    d.req({"cmd": "settle"})
                    t0 = time.monotonic()
                    r = d.req({"cmd": "rotate"})
                    ours.append(time.monotonic() - t0)
                assert r["actions"][0]["bytes"] > size - 8192, r
                for p in glob.glob(os.path.join(zone, "app.log*")):
                    os.unlink(p)
        finally:
            d.stop()
        med = statistics.median
        return size, ratio, med(ours), med(cli1), med(cli2), med(cli2s)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def archive_2g(disk, gb=2):
    """16 files of 128 MiB per 2 GB (random: never compressed) from a tmpfs zone to the
    disk: sweepd from READY to a settled, empty zone (an fsync per file) against mv, and
    mv followed by sync."""
    work = tempfile.mkdtemp(prefix="sweepd-mover-", dir=disk)
    fs = Tmpfs(os.path.join(work, "fs"), f"{gb + 1}G")
    try:
        res = {}
        for what in ("mv", "sweepd"):
            src = os.path.join(fs.path, what)
            make_videos(src, gb * 8, OLD)
            if what == "mv":
                res["mv"], res["mv_sync"] = mv_anchor(src, work)
            else:
                d = Sweepd(work, f'archive = {{ path = "{work}/archive"; compress = "auto"; }};\n'
                           f'zones = ( {{ name = "z"; path = "{src}"; max_age = "7d"; }} );\n')
                try:
                    d.req({"cmd": "settle"})
                    res["sweepd"] = time.monotonic() - d.ready_at
                    st = d.req({"cmd": "status"})
                finally:
                    d.stop()
                if st["zones"][0]["files"] or st["counters"]["archived"] != gb * 8:
                    sys.exit(f"sweepd left files in the zone: {st['counters']}")
        return res
    finally:
        fs.close()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--disk", default="/var/tmp")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it mounts tmpfs")
    print("1. status latency, idle and during the work ...", flush=True)
    idle, busy, took, counters, new = latency(a.disk)
    print("2. a 1 GiB log rotated and compressed ...", flush=True)
    size, ratio, ours, cli1, cli2, cli2s = rotation(a.disk, a.runs)
    print("3. 2 GB archived across filesystems ...", flush=True)
    arch = archive_2g(a.disk)

    i, b = spread(idle), spread(busy)
    mib = size / MB
    rows = [
        ("status, idle: median / p99 / worst", f"{i[0]:.2f} / {i[1]:.2f} / {i[2]:.2f} ms",
         f"{len(idle)} requests", ""),
        ("status, during the work: median / p99 / worst",
         f"{b[0]:.2f} / {b[1]:.2f} / {b[2]:.2f} ms", f"{len(busy)} requests", ""),
        (f"rotate + compress a {mib:.0f} MiB log (zstd -3, x{ratio:.1f})",
         f"{ours:.2f} s, {mib / ours:.0f} MiB/s", f"zstd -T2 -3 {cli2:.2f} s", f"{ours / cli2:.2f}x"),
        ("", "", f"zstd -3 {cli1:.2f} s", f"{ours / cli1:.2f}x"),
        ("", "", f"zstd -T2 -3; sync {cli2s:.2f} s", f"{ours / cli2s:.2f}x"),
        ("archive 2 GB across filesystems (fsync per file)", f"{arch['sweepd']:.2f} s",
         f"mv; sync {arch['mv_sync']:.2f} s", f"{arch['sweepd'] / arch['mv_sync']:.2f}x"),
        ("", "", f"mv {arch['mv']:.2f} s", f"{arch['sweepd'] / arch['mv']:.2f}x"),
    ]
    print()
    print(f"{'measure':48}  {'sweepd':>26}  {'anchor':>26}  {'ratio':>6}")
    for r in rows:
        print(f"{r[0]:48}  {r[1]:>26}  {r[2]:>26}  {r[3]:>6}")
    print()
    print(f"the work (3 x 400 MB at level 12, a 600 MB log rotated, 30,000 new files): {took:.1f} s "
          f"to settled; overflows {counters['overflows']}, rescans {counters['rescans']}, "
          f"archived {counters['archived']}, rotated {counters['rotated']}; new zone "
          f"{new} files ({'right' if new == 30000 else 'WRONG'})")


if __name__ == "__main__":
    main()
