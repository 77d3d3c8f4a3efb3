#!/usr/bin/env python3
"""Issue 3's benchmarks, side by side in one run (root; mounts tmpfs of its own):

1. soft-deleting 100,000 eligible small files into an archive on the same
   filesystem, against `find -mtime +N -delete` on an identical tree;
2. archiving 2 GB of large files across filesystems (tmpfs zone, archive on
   the disk) with the fsyncs that make it safe, against `mv` across the same
   two filesystems (and `mv` followed by `sync`, which is what makes mv safe).

Usage: python3 test/bench/sweep_bench.py [--files N] [--gb G] [--disk DIR]
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import make_videos, mv_anchor, request, timed

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("SWEEPD_BUILD", os.path.join(HERE, "..", "..", "build"))
SWEEPD = os.path.join(BUILD, "sweepd")
OLD = time.time() - 30 * 86400


def mktree(root, n, per_dir=100):
    for i in range(n):
        d = os.path.join(root, f"d{i // per_dir}")
        if i % per_dir == 0:
            os.makedirs(d, exist_ok=True)
        p = os.path.join(d, f"f{i}")
        with open(p, "wb") as f:
            f.write(b"x" * 100)
        os.utime(p, (OLD, OLD))


def run_sweepd(work, zone, archive, extra=""):
    """Starts sweepd on zone; returns (seconds from READY to a settled, swept zone, scan s)."""
    conf = os.path.join(work, "b.conf")
    sock = os.path.join(work, "b.sock")
    notify = os.path.join(work, "n.sock")
    with open(conf, "w") as f:
        f.write(f'state_dir = "{work}/state";\nsocket = {{ path = "{sock}"; }};\n'
                f'archive = {{ path = "{archive}"; {extra} }};\n'
                f'disk = {{ high = "100%"; low = "100%"; }};\n'
                f'zones = ( {{ name = "z"; path = "{zone}"; max_age = "7d"; }} );\n')
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(notify)
    t0 = time.monotonic()
    p = subprocess.Popen([SWEEPD, "-c", conf], env=dict(os.environ, NOTIFY_SOCKET=notify),
                         stderr=subprocess.DEVNULL)
    while b"READY=1" not in ns.recv(4096):
        pass
    t1 = time.monotonic()
    # READY comes after the scan; the sweep of what is due starts right after it.
    request(sock, {"cmd": "settle"})
    t2 = time.monotonic()
    st = request(sock, {"cmd": "status"})
    p.terminate()
    p.wait()
    ns.close()
    left = st["zones"][0]["files"]
    if left:
        sys.exit(f"sweepd left {left} files in the zone")
    return t2 - t1, t1 - t0, st["counters"]["archived"]


def bench_small(n, base):
    work = tempfile.mkdtemp(prefix="sweep-bench-", dir=base)
    try:
        for what in ("find", "sweepd"):
            os.makedirs(os.path.join(work, what))
            mktree(os.path.join(work, what), n)
        subprocess.run(["sync"])
        t_find = timed(["find", os.path.join(work, "find"), "-type", "f", "-mtime", "+7",
                        "-delete"])
        t_sweep, t_scan, archived = run_sweepd(work, os.path.join(work, "sweepd"),
                                              os.path.join(work, "archive"))
        print(f"soft-delete {n} small files (same filesystem, {base}):")
        print(f"  find -mtime +7 -delete   {t_find:7.2f} s")
        print(f"  sweepd archive           {t_sweep:7.2f} s  ({archived} archived; "
              f"scan before READY {t_scan:.2f} s)  ratio {t_sweep / t_find:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_large(gb, disk):
    work = tempfile.mkdtemp(prefix="sweep-bench-", dir=disk)
    fs = os.path.join(work, "tmpfs")
    os.makedirs(fs)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={gb + 1}G", "tmpfs", fs], check=True)
    try:
        results = {}
        for what in ("mv", "sweepd"):
            src = os.path.join(fs, what)
            make_videos(src, gb * 8, OLD)
            if what == "mv":
                results["mv"] = mv_anchor(src, work)
            else:
                t, _, archived = run_sweepd(work, src, os.path.join(work, "archive"),
                                            'compress = "auto";')
                results["sweepd"] = t
        mv, mv_sync = results["mv"]
        print(f"archive {gb} GB of 128 MiB files across filesystems (tmpfs -> {disk}):")
        print(f"  mv                        {mv:7.2f} s")
        print(f"  mv; sync                  {mv_sync:7.2f} s")
        print(f"  sweepd (fsync per file)   {results['sweepd']:7.2f} s  ratio "
              f"{results['sweepd'] / mv:.2f}x mv, {results['sweepd'] / mv_sync:.2f}x mv+sync")
    finally:
        subprocess.run(["umount", "-l", fs])
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100000)
    ap.add_argument("--gb", type=int, default=2)
    ap.add_argument("--disk", default="/var/tmp")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it mounts a tmpfs")
    bench_small(a.files, a.disk)
    bench_large(a.gb, a.disk)


if __name__ == "__main__":
    main()
