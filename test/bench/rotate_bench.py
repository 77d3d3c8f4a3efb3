#!/usr/bin/env python3
"""Issue 5's benchmarks, side by side in one run (root; needs zstd and logrotate):

1. rotating and compressing a 1 GB log (collapse, zstd level 3, a writer holding
   it open) against `zstd -3` and `zstd -T2 -3` on the same file, all from the
   page cache;
2. lines lost by a writer appending as fast as it can while the log is rotated
   at 2M: sweepd (collapse on the disk; copytruncate on a tmpfs) against
   logrotate `copytruncate` run every 50 ms (the anchor).

Usage: python3 test/bench/rotate_bench.py [--gb G] [--lines N] [--disk DIR]
"""

import argparse
import glob
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time

from benchlib import request, zstd_anchors

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("SWEEPD_BUILD", os.path.join(HERE, "..", "..", "build"))
SWEEPD = os.path.join(BUILD, "sweepd")
APPLOG = os.path.join(BUILD, "test", "applog")


class Sweepd:
    def __init__(self, work, zone, rotate):
        self.sock = os.path.join(work, "b.sock")
        conf = os.path.join(work, "b.conf")
        notify = os.path.join(work, "n.sock")
        with open(conf, "w") as f:
            f.write(f'state_dir = "{work}/state";\nsocket = {{ path = "{self.sock}"; }};\n'
                    f'zones = ( {{ name = "logs"; path = "{zone}"; include = [ "*.log" ]; '
                    f'rotate = {{ {rotate} }}; }} );\n')
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(notify)
        self.proc = subprocess.Popen([SWEEPD, "-c", conf], stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, NOTIFY_SOCKET=notify))
        while b"READY=1" not in ns.recv(4096):
            pass
        ns.close()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def make_log(path, size):
    """Log-like text: timestamps, levels, ids, a few words; compresses about as real logs do."""
    words = b"request served cache miss upstream timeout retry user job render frame".split()
    with open(path, "wb") as f:
        i, written = 0, 0
        while written < size:
            chunk = b"".join(
                b"2026-11-22T10:%02d:%02d.%06dZ %s job=%08x %s %s %d\n" % (
                    (i + k) // 60000 % 60, (i + k) // 1000 % 60, (i + k) * 7919 % 1000000,
                    (b"INFO", b"WARN", b"DEBUG")[(i + k) % 3], (i + k) * 2654435761 % 2**32,
                    words[(i + k) % len(words)], words[(i + k) * 7 % len(words)],
                    (i + k) * 31 % 9973)
                for k in range(10000))
            f.write(chunk)
            written += len(chunk)
            i += 10000


def throughput(disk, gb, runs=3):
    work = tempfile.mkdtemp(prefix="sweepd-rot-", dir=disk)
    try:
        master = os.path.join(work, "master.log")
        make_log(master, int(gb * (1 << 30)))
        size = os.path.getsize(master)
        out = os.path.join(work, "out.zst")
        cli1, cli2, cli2s = zstd_anchors(master, out, runs)
        ratio = size / os.path.getsize(out)
        zone = os.path.join(work, "logs")
        os.makedirs(zone)
        d = Sweepd(work, zone, 'size = "100G"; method = "collapse"; level = 3;')
        ours = []
        try:
            for _ in range(runs):
                live = os.path.join(zone, "app.log")
                shutil.copyfile(master, live)
                with open(live, "ab"):  # a writer: collapse, not a whole-file copy
                    request(d.sock, {"cmd": "settle"})
                    t0 = time.monotonic()
                    r = request(d.sock, {"cmd": "rotate"})
                    ours.append(time.monotonic() - t0)
                assert r["ok"] and r["actions"][0]["bytes"] > size - 8192, r
                for p in glob.glob(os.path.join(zone, "app.log*")):
                    os.unlink(p)
        finally:
            d.stop()
        mb = size / (1 << 20)
        m1, m2, mo = statistics.median(cli1), statistics.median(cli2), statistics.median(ours)
        m2s = statistics.median(cli2s)
        print(f"\n1. rotate + compress a {mb:.0f} MiB log (zstd level 3, ratio {ratio:.1f}x), "
              f"median of {runs}:")
        print(f"   sweepd rotate (collapse, fsync):  {mo:6.2f} s  {mb / mo:7.0f} MiB/s")
        print(f"   zstd -3:                          {m1:6.2f} s  {mb / m1:7.0f} MiB/s   "
              f"sweepd / zstd -3    = {mo / m1:.2f}x")
        print(f"   zstd -T2 -3:                      {m2:6.2f} s  {mb / m2:7.0f} MiB/s   "
              f"sweepd / zstd -T2 -3 = {mo / m2:.2f}x")
        print(f"   zstd -T2 -3; sync FILE:           {m2s:6.2f} s  {mb / m2s:7.0f} MiB/s   "
              f"sweepd / that        = {mo / m2s:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def decompress(path):
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout
    with open(path, "rb") as f:
        return f.read()


def present(paths, count):
    """Distinct line numbers found (lost = count - this) and lines doubled, in the
    files concatenated in order: a collapse copy ends at a block boundary, so a line
    may begin in one copy and end in the next."""
    seen, total = set(), 0
    for line in b"".join(decompress(p) for p in paths).split(b"\n"):
        if len(line) >= 10 and line[:10].isdigit():
            seen.add(int(line[:10]))
            total += 1
    return len(seen), total - len(seen)


def lost_by_sweepd(zone, work, count, rotate):
    d = Sweepd(work, zone, rotate)
    try:
        live = os.path.join(zone, "app.log")
        subprocess.run([APPLOG, live, str(count)], check=True, stdout=subprocess.DEVNULL)
        request(d.sock, {"cmd": "settle"})
        copies = sorted(glob.glob(live + "-*"))
        n, doubled = present(copies + [live], count)
        return count - n, doubled, len(copies)
    finally:
        d.stop()


def lost_by_logrotate(zone, work, count):
    live = os.path.join(zone, "app.log")
    conf = os.path.join(work, "lr.conf")
    with open(conf, "w") as f:
        f.write(f"{live} {{\n  size 2M\n  rotate 100000\n  copytruncate\n  compress\n"
                "  compresscmd /usr/bin/zstd\n  compressext .zst\n  compressoptions -3\n"
                "  uncompresscmd /usr/bin/unzstd\n  missingok\n}\n")
    done = threading.Event()

    def cron():
        while not done.is_set():
            subprocess.run(["logrotate", "-s", os.path.join(work, "lr.state"), conf],
                           stderr=subprocess.DEVNULL)
            time.sleep(0.05)

    t = threading.Thread(target=cron)
    t.start()
    subprocess.run([APPLOG, live, str(count)], check=True, stdout=subprocess.DEVNULL)
    done.set()
    t.join()
    # app.log.1.zst is the newest: oldest first is the highest number first.
    copies = sorted(glob.glob(live + ".*"), key=lambda p: -int(p[len(live) + 1:].split(".")[0]))
    n, doubled = present(copies + [live], count)
    return count - n, doubled, len(copies)


def lines_lost(disk, count):
    print(f"\n2. lines lost: one writer appending {count:,} numbered lines with O_APPEND as "
          "fast as it can, rotated at 2M:")
    rows = []
    for name, fs in (("disk", disk), ("tmpfs", None)):
        work = tempfile.mkdtemp(prefix="sweepd-rot-", dir=disk)
        zone = os.path.join(work, "logs")
        os.makedirs(zone)
        if fs is None:
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2g", "tmpfs", zone], check=True)
        try:
            lost = lost_by_sweepd(zone, work, count, 'size = "2M"; method = "auto";')
            method = "collapse" if fs else "copytruncate"
            rows.append((f"sweepd, {method} ({name})", lost))
            for p in glob.glob(os.path.join(zone, "*")):
                os.unlink(p)
            if fs:
                rows.append((f"logrotate copytruncate every 50 ms ({name})",
                             lost_by_logrotate(zone, work, count)))
        finally:
            if fs is None:
                subprocess.run(["umount", "-l", zone])
            shutil.rmtree(work, ignore_errors=True)
    for name, (lost, doubled, copies) in rows:
        print(f"   {name:45s} lost {lost:8,} ({100 * lost / count:5.2f}%)  doubled {doubled:,}"
              f"  copies {copies}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--lines", type=int, default=4_000_000)
    ap.add_argument("--disk", default="/var/tmp")
    a = ap.parse_args()
    throughput(a.disk, a.gb)
    lines_lost(a.disk, a.lines)


if __name__ == "__main__":
    main()
