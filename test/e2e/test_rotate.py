"""Log rotation (issue 5), against the real daemon, real writers and real files.
Run one: python3 test_rotate.py NAME; all: no argument."""

import ctypes
import glob
import json
import os
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import Daemon, Failure, Writer, case, check, equal, free_port, main, write, WAIT
from test_ops import Notify
from test_sweep import Tmpfs, audit, ok

APPLOG = os.environ.get("APPLOG_BIN", "build/test/applog")
STAMP = re.compile(r"-\d{8}T\d{6}\.\d{6}Z(\.zst)?$")


def logs_zone(rotate, path="logs", include='[ "*.log" ]'):
    return {"name": "logs", "path": path, "include": include, "rotate": "{ " + rotate + " }"}


def copies(directory, base):
    """The rotated copies of base in directory, oldest first (their names sort by time)."""
    return sorted(p for p in glob.glob(os.path.join(directory, base + "-*"))
                  if STAMP.search(p))


def content(path):
    if path.endswith(".zst"):
        r = subprocess.run(["zstd", "-dc", path], capture_output=True, timeout=WAIT)
        equal(r.returncode, 0, f"zstd -dc {path}: {r.stderr!r}")
        return r.stdout
    with open(path, "rb") as f:
        return f.read()


def zstd_ok(paths):
    for p in paths:
        if p.endswith(".zst"):
            r = subprocess.run(["zstd", "-tq", p], capture_output=True, timeout=WAIT)
            equal(r.returncode, 0, f"zstd -t {p}: {r.stderr!r}")


def numbers(data):
    """The line numbers applog wrote, in the order found."""
    return [int(line[:10]) for line in data.split(b"\n") if line]


def exactly_once(data, count, what):
    """Every number 1..count present exactly once, in order: nothing lost, nothing doubled."""
    got = numbers(data)
    if got != list(range(1, count + 1)):
        seen = set(got)
        lost = [n for n in range(1, count + 1) if n not in seen][:5]
        raise Failure(f"{what}: {len(got)} lines for {count}; first lost {lost}, "
                      f"in order: {got == sorted(got)}")


def applog(path, count, pidfile=None):
    args = [APPLOG, path, str(count)] + (["--pidfile", pidfile] if pidfile else [])
    r = subprocess.run(args, capture_output=True, timeout=WAIT)
    equal(r.returncode, 0, f"applog: {r.stderr!r}")


def fast_writer_rotated(d, copy_dir, pidfile=None, count=2_500_000):
    """A full-speed writer of count lines (about 90 MB) under rotation at 2M: dozens of
    compressed copies, each passing zstd -t, and every line exactly once, in order."""
    live = os.path.join(d.zones["logs"], "app.log")
    applog(live, count, pidfile)
    d.settle()
    cs = copies(copy_dir, "app.log")
    check(len(cs) >= 20, f"rotated at 2M: expected dozens of copies, got {len(cs)}")
    check(all(c.endswith(".zst") for c in cs), f"compressed: {cs[:3]}")
    zstd_ok(cs)
    # Under rename, a log left over its size when the writer has exited is moved aside
    # too, and no writer makes a new one.
    rest = content(live) if os.path.exists(live) else b""
    exactly_once(b"".join(content(c) for c in cs) + rest, count, "copies + live file")
    return cs


def rotations(d, action="rotate"):
    return [a for a in audit(d) if a["action"] == action]


def fs_type(path):
    return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True,
                          text=True).stdout.strip()


@case
def collapse_under_a_fast_writer():
    d = Daemon([logs_zone('size = "2M"; method = "collapse"; compress = "zstd"; level = 3;')])
    try:
        logs = d.zones["logs"]
        check(fs_type(logs) in ("ext2/ext3", "xfs"),
              f"the test tree must be on ext4 or xfs for collapse, not {fs_type(logs)}")
        cs = fast_writer_rotated(d, logs)
        rs = rotations(d)
        equal(len(rs), len(cs), "one audit line per rotation")
        check(all(r["reason"] == "rotate_size" and r["archive_path"] in cs for r in rs),
              f"audit: reason rotate_size and the copy's path: {rs[0]}")
        # Under the writer, collapse cuts whole blocks; once it has gone, the last log may
        # be taken whole.
        check(all(r["bytes"] % 4096 == 0 for r in rs[:-1]), "collapse cuts whole blocks")
        z = d.zone("logs")
        equal(z["files"], 1, "the copies never match include: only the live log is counted")
        equal(d.status()["counters"]["rotated"], len(cs), "counters.rotated")
        check(os.path.getsize(os.path.join(logs, "app.log")) < 2 * 1024 * 1024,
              "the live log is under its size after settle")
    finally:
        d.close()


@case
def kill9_during_rotation():
    """kill -9 at random instants while a full-speed writer is rotated by collapse, then a
    restart: no line is ever lost (a kill between a copy and its cut may leave those
    bytes twice, never zero times), and no half copy is left."""
    d = Daemon([logs_zone('size = "1M"; method = "collapse"; compress = "zstd";')],
               start=False)
    rnd = random.Random(5)
    count, kills = 1_500_000, 0
    live = os.path.join(d.zones["logs"], "app.log")
    writer = subprocess.Popen([APPLOG, live, str(count)], stdout=subprocess.DEVNULL)
    try:
        while writer.poll() is None and kills < 8:
            # Every other kill comes at a random instant after this run's first new copy
            # (or the writer's end): it falls in the daemon's rotation work however slow
            # a loaded machine makes it; the others may fall in its start and its
            # recovery of the previous kill.
            before = len(copies(d.zones["logs"], "app.log"))
            made = (lambda n=before: writer.poll() is not None or
                    len(copies(d.zones["logs"], "app.log")) > n)
            d.kill9_after(rnd.uniform(0.05, 0.3), until=made if kills % 2 else None)
            kills += 1
        equal(writer.wait(WAIT), 0, "the writer")
        d.start()
        d.settle()
        logs = d.zones["logs"]
        cs = copies(logs, "app.log")
        check(len(cs) >= 5, f"rotated between the kills: {len(cs)} copies")
        stray = [n for n in os.listdir(logs) if n != "app.log" and not STAMP.search(n)]
        equal(stray, [], "no half copy or temporary file left")
        zstd_ok(cs)
        whole = re.compile(rb"^(\d{10}) the quick brown fox jumps$")
        got = [int(m.group(1)) for line in
               (b"".join(content(c) for c in cs) + content(live)).split(b"\n")
               if (m := whole.match(line))]
        seen = set(got)
        lost = count - len(seen & set(range(1, count + 1)))
        equal(lost, 0, f"lines lost after {kills} kills")
        doubled = len(got) - len(seen)
        print(f"  {kills} kills, {len(cs)} copies, {doubled} lines doubled")
        check(doubled <= kills * (1 << 20) // 37 + kills,
              f"doubled lines ({doubled}) only from copies made just before a kill")
    finally:
        if writer.poll() is None:
            writer.kill()
        d.close()


@case
def rename_with_a_writer_that_reopens():
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    pidfile = os.path.join(root, "app.pid")
    d = Daemon([logs_zone(f'size = "2M"; method = "rename"; pidfile = "{pidfile}"; '
                          'signal = "USR1"; olddir = "old"; compress = "zstd";')], root=root)
    try:
        # The writer has exited: every copy was closed, so every copy is compressed.
        fast_writer_rotated(d, os.path.join(d.zones["logs"], "old"), pidfile)
        check(all(r["reason"] == "rotate_size" for r in rotations(d)), "audit reasons")
    finally:
        d.close()


@case
def rename_compresses_only_after_the_close():
    """A copy moved aside while its writer still holds it stays plain until it is closed."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    mark = os.path.join(root, "postrotate-ran")
    d = Daemon([logs_zone(f'size = "1M"; method = "rename"; '
                          f'postrotate = "echo \\"$1 $2\\" > {mark}"; compress = "zstd";')],
               root=root)
    try:
        logs = d.zones["logs"]
        live = os.path.join(logs, "app.log")
        f = open(live, "ab")
        f.write(b"x" * 100 + b"\n")
        f.flush()
        d.settle()
        r = ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate")
        equal(len(r["actions"]), 1, f"one rotation: {r}")
        cs = copies(logs, "app.log")
        equal(len(cs), 1, "one copy")
        check(not cs[0].endswith(".zst"), "still open for writing: not compressed")
        f.write(b"late line\n")  # lines still arrive in the moved file
        f.flush()
        d.settle()
        check(not copies(logs, "app.log")[0].endswith(".zst"), "still held: still plain")
        f.close()
        d.settle()
        cs = copies(logs, "app.log")
        check(cs[0].endswith(".zst"), f"closed: compressed now: {cs}")
        equal(content(cs[0]), b"x" * 100 + b"\nlate line\n", "every line, the late one too")
        for _ in range(WAIT * 10):  # postrotate runs beside the daemon, not waited for
            if os.path.exists(mark) and open(mark).read().strip():
                break
            time.sleep(0.1)
        got = open(mark).read().split()
        equal(got[0], live, "postrotate's $1 is the live log")
        check(got[1].startswith(live + "-"), f"postrotate's $2 is the copy: {got}")
    finally:
        d.close()


SPIN_EXCHANGE = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, until = sys.argv[1].encode(), sys.argv[2].encode(), time.time() + float(sys.argv[3])
libc.syscall(316, -100, a, -100, b, 2)  # renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
print("spinning", flush=True)
while time.time() < until:
    libc.syscall(316, -100, a, -100, b, 2)
"""


@case
def fifo_swapped_for_a_copy():
    """Someone who can write beside the log keeps exchanging a fifo with a copy that waits
    for its writer's close: sweepd never hangs on the fifo and never loses the copy."""
    d = Daemon([logs_zone('size = "1M"; method = "rename"; postrotate = "true"; compress = "zstd";')])
    try:
        logs = d.zones["logs"]
        live = os.path.join(logs, "app.log")
        fifo = os.path.join(logs, ".f")
        for rnd in range(6):
            line = f"precious line of round {rnd}\n".encode()
            f = open(live, "ab")
            f.write(line * 100)
            f.flush()
            d.settle()
            ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate")
            copy = copies(logs, "app.log")[0]
            os.mkfifo(fifo)
            spin = subprocess.Popen([sys.executable, "-c", SPIN_EXCHANGE, copy, fifo, "0.6"],
                                    stdout=subprocess.PIPE, text=True)
            spin.stdout.readline()  # the exchanges have begun: the close below meets them
            f.close()  # the close makes sweepd compress the copy, by its name
            spin.wait()
            r = subprocess.run([os.environ["SWEEPCTL_BIN"], "-s", d.sock, "--timeout", "10",
                                "settle"], capture_output=True, text=True)
            equal(r.returncode, 0, f"round {rnd}: the daemon still answers: {r.stderr}")
            # Every line is somewhere whole: plain under either name, or in the .zst.
            found = []
            for p in (copy, fifo, copy + ".zst"):
                if os.path.lexists(p) and not stat.S_ISFIFO(os.lstat(p).st_mode):
                    found.append(content(p))
            check(line * 100 in found, f"round {rnd}: the copy kept every line: {found!r}")
            check(all(c in (line * 100,) for c in found), f"round {rnd}: nothing else: {found!r}")
            for p in (copy, fifo, copy + ".zst"):
                if os.path.lexists(p):
                    os.unlink(p)
            d.settle()
    finally:
        d.close()


@case
def copytruncate_on_tmpfs():
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "logs"), "256m")
    d = None
    try:
        d = Daemon([logs_zone('size = "1M"; method = "auto"; compress = "zstd";')], root=root)
        logs = d.zones["logs"]
        live = os.path.join(logs, "app.log")
        # No writer during the cut: copytruncate loses nothing.
        applog(live, 20000)
        d.settle()
        r = ok(d.request({"cmd": "rotate"}), "rotate")
        equal(len(r["actions"]), 1, f"one rotation: {r}")
        equal(os.path.getsize(live), 0, "auto on tmpfs: copytruncate, the live file emptied")
        cs = copies(logs, "app.log")
        zstd_ok(cs)
        exactly_once(content(cs[0]), 20000, "the copy")
        # A fast writer: the lines between the last read and the truncate may go, but
        # nothing is doubled and the order holds.
        applog(live, 1_000_000)
        d.settle()
        later = copies(logs, "app.log")[1:]
        check(len(later) >= 10, f"rotated at 1M: {len(later)} copies")
        got = numbers(b"".join(content(c) for c in later) + content(live))
        bad = next((i for i in range(1, len(got)) if got[i] <= got[i - 1]), None)
        check(bad is None, "copytruncate doubles nothing and keeps the order: "
              f"{got[bad - 2:bad + 3] if bad else ''} at line {bad} of {len(got)}, "
              f"copies {[(os.path.basename(c), len(numbers(content(c)))) for c in later]}")
        check(got[-1] == 1_000_000, "the last line is there")
        # How many go depends on the scheduler (the benchmark measures it): only said here.
        print(f"  copytruncate under a full-speed writer: {1_000_000 - len(got)} lines lost")
        # An explicit collapse on tmpfs is refused with a reason.
        d.stop()
        d2 = Daemon([logs_zone('size = "1M"; method = "collapse";')], root=root)
        d = d2
        write(live, b"y\n" * 10000, "ab")
        w = Writer(live)  # collapse is for a log under a writer
        r = d.request({"cmd": "rotate"})
        check(not r["ok"] and "collapse" in r["error"] and "ext4" in r["error"],
              f"collapse on tmpfs: {r}")
        equal(d.ctl("rotate").returncode, 1, "sweepctl rotate exits 1 when a file failed")
        w.close()
    finally:
        if d:
            d.stop()
        fs.close(root)


@case
def keep_max_age_and_every():
    d = Daemon([logs_zone('size = "1M"; every = "1d"; keep = 3; max_age = "30d"; '
                          'compress = "off";')], start=False)
    logs = d.zones["logs"]
    live = os.path.join(logs, "app.log")
    # A copy from long ago: the log's last rotation was then, so "every" is due at start;
    # and the copy is past max_age.
    ancient = os.path.join(logs, "app.log-20200101T000000.000000Z.zst")
    write(ancient, b"old")
    write(live, b"line\n" * 100)
    d.start()
    try:
        d.settle()
        rs = rotations(d)
        equal([r["reason"] for r in rs], ["rotate_every"], "every: due at start")
        gone = [a for a in audit(d) if a["action"] == "delete"]
        equal([(a["path"], a["reason"]) for a in gone], [(ancient, "max_age")],
              "the copy past max_age")
        check(not os.path.exists(ancient), "removed")
        for i in range(5):
            write(live, f"round {i}\n".encode() * 1000, "ab")
            ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate")
        cs = copies(logs, "app.log")
        equal(len(cs), 3, f"keep = 3: {cs}")
        check(not any(c.endswith(".zst") for c in cs), f"compress = off: plain copies: {cs}")
        equal(content(cs[-1]), b"round 4\n" * 1000, "the newest kept")
        equal(content(cs[0]), b"round 2\n" * 1000, "the oldest kept")
        kept_out = [a for a in audit(d) if a["action"] == "delete" and a["reason"] == "max_files"]
        equal(len(kept_out), 3, "the 3 oldest went by keep, each in the audit log")
        # Nothing due: a settle rotates nothing more.
        n = len(rotations(d))
        d.settle()
        equal(len(rotations(d)), n, "nothing due, nothing done")
    finally:
        d.close()


@case
def fake_copies_are_not_ours():
    """A user who can write beside a root-owned log makes files named like its newest
    copies: keep counts only sweepd's own copies, and every is not stopped by them."""
    d = Daemon([logs_zone('size = "1M"; every = "1d"; keep = 3; compress = "off";')])
    try:
        logs = d.zones["logs"]
        os.chmod(d.root, 0o755)
        os.chmod(logs, 0o1777)
        live = os.path.join(logs, "app.log")
        for i in range(2):
            write(live, f"real {i}\n".encode() * 100, "ab")
            ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate")
        real = copies(logs, "app.log")
        equal(len(real), 2, "two real copies")
        fakes = [os.path.join(logs, f"app.log-29991231T00000{i}.000000Z") for i in range(1, 4)]
        for fake in fakes:
            subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            "sh", "-c", f"echo fake > '{fake}'"], check=True)
        # A hard link of a real copy is not a copy of ours either.
        os.link(real[0], os.path.join(logs, "app.log-29990101T000000.000000Z"))
        write(live, b"real 2\n" * 100, "ab")
        ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate")
        deleted = [a["path"] for a in audit(d) if a["action"] == "delete"]
        equal(deleted, [], "no copy deleted: three of sweepd's own, keep = 3")
        for c in real:
            check(os.path.exists(c), f"{c} kept")
        for fake in fakes:
            equal(content(fake), b"fake\n", "the user's files are left alone")
    finally:
        d.close()
    # every's clock: a first start takes the last rotation from sweepd's own copies, and a
    # name dated in 2999 (the user's, or even one of its own) does not put it off.
    d = Daemon([logs_zone('every = "1d"; keep = 5; compress = "off";')], start=False)
    try:
        logs = d.zones["logs"]
        os.chmod(d.root, 0o755)
        os.chmod(logs, 0o1777)
        write(os.path.join(logs, "app.log"), b"due\n" * 100)
        write(os.path.join(logs, "app.log-20200101T000000.000000Z"), b"old\n")
        subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh",
                        "-c", f"echo fake > '{logs}/app.log-29991231T000000.000000Z'"], check=True)
        d.start()
        d.settle()
        equal([r["reason"] for r in rotations(d)], ["rotate_every"], "every: due at start")
    finally:
        d.close()


@case
def hard_linked_log_is_not_cut():
    """A log that is also a file elsewhere (a hard link from outside the zone) is never cut
    in place: the file outside keeps every byte, and an alarm says why."""
    d = Daemon([logs_zone('size = "64K"; method = "auto"; compress = "off";')])
    try:
        logs = d.zones["logs"]
        outside = os.path.join(d.root, "secret.txt")
        data = b"".join(b"%d\n" % i for i in range(20000))
        write(outside, data)
        live = os.path.join(logs, "secret.log")
        os.link(outside, live)
        d.settle()
        check(content(outside) == data, f"the file outside the zone is whole: "
              f"{len(content(outside))} of {len(data)} bytes")
        equal(copies(logs, "secret.log"), [], "no copy made")
        al = [a for a in d.status()["alarms"] if a["name"] == "rotate_blocked"]
        equal([a["labels"]["path"] for a in al], [live], f"the alarm names the log: {al}")
        check("2 names (hard links)" in al[0]["summary"], al[0]["summary"])
        r = subprocess.run([os.environ["SWEEPCTL_BIN"], "-s", d.sock, "rotate", "logs"],
                           capture_output=True, text=True)
        equal(r.returncode, 1, f"rotate refuses it: {r.stdout}{r.stderr}")
        check(content(outside) == data, "still whole after a manual rotate")
        # The other name gone, the log is an ordinary one again.
        os.unlink(outside)
        ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate")
        check(content(copies(logs, "secret.log")[0]) == data, "rotated whole")
        equal([a for a in d.status()["alarms"] if a["name"] == "rotate_blocked"], [],
              "the alarm ended")
    finally:
        d.close()


HOLD_MANY = r"""
import os, sys
fs = [open(os.path.join(sys.argv[1], f"m{i:04d}.log"), "wb") for i in range(int(sys.argv[2]))]
for i, f in enumerate(fs):
    f.write(b"line of log %d\n" % i * 5000)
    f.flush()
print("ready", flush=True)
sys.stdin.read()
"""


@case
def many_logs_blocked_by_one_writer():
    """One process holds 200 logs open without O_APPEND: each is an alarm naming it, none is
    cut, one look at /proc serves the pass; once it exits every log rotates whole."""
    d = Daemon([logs_zone('size = "64K"; method = "auto"; compress = "off";')])
    try:
        logs = d.zones["logs"]
        n = 200
        holder = subprocess.Popen([sys.executable, "-c", HOLD_MANY, logs, str(n)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        holder.stdout.readline()
        d.settle()
        r = subprocess.run([os.environ["SWEEPCTL_BIN"], "-s", d.sock, "rotate", "logs"],
                           capture_output=True, text=True)
        equal(r.returncode, 1, "rotate refuses them")
        al = [a for a in d.status()["alarms"] if a["name"] == "rotate_blocked"]
        equal(len(al), n, "one alarm per log")
        check(all(a["labels"]["pid"] == str(holder.pid) for a in al), "each names the writer")
        for i in (0, n - 1):
            p = os.path.join(logs, f"m{i:04d}.log")
            equal(os.path.getsize(p), len(b"line of log %d\n" % i) * 5000, f"{p} not cut")
        holder.stdin.close()
        holder.wait()
        d.settle()
        ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate")
        equal([a for a in d.status()["alarms"] if a["name"] == "rotate_blocked"], [],
              "the alarms ended")
        for i in (0, n - 1):
            (c,) = copies(logs, f"m{i:04d}.log")
            check(content(c) == b"line of log %d\n" % i * 5000, f"{c} whole")
    finally:
        d.close()


@case
def large_log_compressed_by_workers():
    """A log of 48 MiB, over the 32 MiB at which zstd's workers join in: one copy, whole."""
    d = Daemon([logs_zone('size = "1G"; level = 3;')])
    try:
        live = os.path.join(d.zones["logs"], "app.log")
        applog(live, 1_400_000)  # about 49 MiB
        with open(live, "rb") as f:
            want = f.read()
        check(len(want) > 48 << 20, f"the log is over 48 MiB: {len(want)}")
        d.settle()
        r = ok(d.request({"cmd": "rotate"}), "rotate")
        equal(r["actions"][0]["bytes"], len(want), "taken whole: nobody writes it")
        cs = copies(d.zones["logs"], "app.log")
        zstd_ok(cs)
        check(content(cs[0]) == want, "the copy decompresses to the log, byte for byte")
        check(os.path.getsize(cs[0]) < len(want) // 4, "and is compressed")
    finally:
        d.close()


@case
def every_clock_survives_a_restart():
    """A log that keeps no copy (keep = 0) still has its every clock across restarts:
    state_dir/rotations.json keeps each log's last rotation, first sight included."""
    d = Daemon([logs_zone('every = "1d"; keep = 0;')], start=False)
    live = os.path.join(d.zones["logs"], "app.log")
    write(live, b"line\n" * 100)
    d.start()
    try:
        d.settle()
        equal(rotations(d), [], "first sight: the clock starts, nothing is due")
        d.stop()
        saved = os.path.join(d.root, "state", "rotations.json")
        with open(saved) as f:
            state = json.load(f)
        key = f"logs:{os.stat(live).st_ino}"
        check(key in state and abs(state[key] - time.time()) < 600,
              f"the first sight is saved under {key}: {state}")
        # Two days pass (the test moves the clock's start back instead of waiting).
        state[key] -= 2 * 86400
        with open(saved, "w") as f:
            json.dump(state, f)
        d.start()
        d.settle()
        equal([r["reason"] for r in rotations(d)], ["rotate_every"], "due after the restart")
        equal(os.path.getsize(live), 0, "taken whole: nobody writes it")
        equal(copies(d.zones["logs"], "app.log"), [], "keep = 0: no copy stays")
        check(any(a["action"] == "delete" and a["reason"] == "max_files" for a in audit(d)),
              "the copy removed by keep = 0, audited")
        # A reload that changes the rotate group: the new keep acts on the next rotation.
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace("keep = 0;", "keep = 2;"))
        ok(d.request({"cmd": "reload"}), "reload")
        write(live, b"after the reload\n", "ab")
        ok(d.request({"cmd": "rotate"}), "rotate")
        cs = copies(d.zones["logs"], "app.log")
        equal(len(cs), 1, "keep = 2 now: the copy stays")
        equal(content(cs[0]), b"after the reload\n", "its content")
        # A reload that makes the log due answers once its rotation (a job) is in.
        write(live, b"a longer line after the second reload\n" * 2000, "ab")
        with open(d.conf, "w") as f:
            f.write(text.replace("keep = 0;", 'keep = 2; size = "64K";'))
        ok(d.request({"cmd": "reload"}), "reload")
        st = d.status()
        equal((st["jobs"], st["counters"]["rotated"]), ([], 3),
              "the rotation the reload made due is done when it answers")
        equal(len(copies(d.zones["logs"], "app.log")), 2, "its copy is there")
    finally:
        d.close()


@case
def keep_tail_lines_while_writing():
    d = Daemon([logs_zone('size = "1M"; keep_tail_lines = 1000;')])
    try:
        logs = d.zones["logs"]
        live = os.path.join(logs, "app.log")
        count = 1_000_000
        applog(live, count)
        d.settle()
        cuts = rotations(d, "truncate")
        check(len(cuts) >= 5, f"cut down as it grew: {len(cuts)} cuts")
        check(copies(logs, "app.log") == [], "keep_tail_lines keeps no copies")
        data = content(live)
        # Cut under a writer: whole blocks only, so less than one block of older text may
        # precede the kept lines; from the first whole line on, nothing is lost.
        first_nl = data.index(b"\n")
        check(first_nl < 4096, "at most one block before the first whole line")
        got = numbers(data[first_nl + 1:])
        check(got == list(range(got[0], count + 1)), "every line since the cut, in order")
        # The writer has gone: the next cut is exact. (Nothing to cut when the last
        # automatic one came after the writer's last line: then it was that exact cut.)
        r = ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate")
        if r["actions"]:
            equal(r["actions"][0]["action"], "truncate", "the action")
        data = content(live)
        check(numbers(data) == list(range(count - 999, count + 1)),
              f"exactly the last 1000 lines: {len(numbers(data))} lines")
        check(data.endswith(b"\n") and data.startswith(b"%010d" % (count - 999)),
              "whole lines")
    finally:
        d.close()


@case
def command_config_and_dry_run():
    d = Daemon([logs_zone('size = "1M";'), {"name": "plain", "path": "plain"}])
    try:
        r = d.request({"cmd": "rotate", "zone": "plain"})
        check(not r["ok"] and "no rotate group" in r["error"], f"zone without rotate: {r}")
        r = d.ctl("rotate", "nosuch")
        equal(r.returncode, 1, "unknown zone")
        live = d.path("logs", "app.log")
        write(live, b"a line\n" * 20000)
        d.settle()
        ok(d.request({"cmd": "pause"}), "pause")
        r = d.request({"cmd": "rotate"})
        check(not r["ok"] and "paused" in r["error"], f"paused: {r}")
        ok(d.request({"cmd": "resume"}), "resume")
        out = d.ctl("rotate", "logs")
        equal(out.returncode, 0, f"sweepctl rotate: {out.stderr!r}")
        check(b"rotate" in out.stdout and b"app.log" in out.stdout,
              f"sweepctl shows what it did: {out.stdout!r}")
    finally:
        d.close()
    # A dry run reports and touches nothing.
    d = Daemon([logs_zone('size = "64K";')], args=["--dry-run"], start=False)
    try:
        live = d.path("logs", "app.log")
        write(live, b"a line\n" * 20000)
        d.start()
        d.settle()
        r = ok(d.request({"cmd": "rotate"}), "dry rotate")
        check(r["dry_run"] and len(r["actions"]) == 1, f"reported: {r}")
        equal(os.path.getsize(live), 7 * 20000, "untouched")
        equal(copies(d.zones["logs"], "app.log"), [], "no copy")
        auto = [a for a in rotations(d) if a["reason"] == "rotate_size"]
        equal(len(auto), 1, "the automatic dry run reports the file once")
    finally:
        d.close()
    # Configurations that cannot work are refused with their line.
    for rotate, include, words in [
            ('size = "1M";', None, "needs 'include'"),
            ('size = "1M";', '[ "*.log*" ]', "matches again"),
            ('size = "1M"; olddir = "../old";', '[ "*.log" ]', "olddir"),
            ('keep_tail_lines = 10;', '[ "*.log" ]', "'size' or 'every'"),
    ]:
        z = {"name": "logs", "path": "logs", "rotate": "{ " + rotate + " }"}
        if include:
            z["include"] = include
        d = Daemon([z], start=False)
        try:
            r = subprocess.run([os.environ.get("SWEEPD_BIN", "build/sweepd"), "-t", "-c",
                                d.conf], capture_output=True, text=True, timeout=WAIT)
            equal(r.returncode, 1, f"{rotate} {include}: refused")
            check(words in r.stderr + r.stdout and "sweepd.conf:" in r.stderr + r.stdout,
                  f"the error says {words!r} with its line: {r.stderr}{r.stdout}")
        finally:
            d.close()


@case
def nginx_access_log_under_rename():
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    check(os.path.exists(nginx), "nginx is installed (etc/install-deps.sh: nginx-light)")
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    pidfile = os.path.join(root, "nginx.pid")
    port = free_port()
    d = Daemon([logs_zone(f'size = "64K"; method = "rename"; pidfile = "{pidfile}"; '
                          'signal = "USR1"; compress = "zstd";')], root=root)
    conf = os.path.join(root, "nginx.conf")
    logs = d.zones["logs"]
    with open(conf, "w") as f:
        # Workers as root: the test tree is private (0700), and workers reopen the log too.
        f.write(f"""daemon off; master_process on; worker_processes 2; pid {pidfile}; user root;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
  log_format plain "$request_uri {'.' * 100}";
  access_log {logs}/access.log plain;
  client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok\\n"; }} }}
}}
""")
    ng = subprocess.Popen([nginx, "-p", root, "-c", conf], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        n = 3000
        for _ in range(WAIT * 10):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=WAIT).read()
                break
            except OSError:
                time.sleep(0.1)  # waiting for nginx to listen, not for sweepd
        for i in range(n):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/r/{i}", timeout=WAIT).read()
        d.settle()
        check(len(rotations(d)) >= 3,
              f"rotated at 64K: {len(rotations(d))} times; log:\n{d.logtext()[-2000:]}")
        ng.send_signal(signal.SIGQUIT)  # a graceful stop: every log closed
        ng.wait(WAIT)
        ng = None
        d.settle()
        cs = copies(logs, "access.log")
        check(all(c.endswith(".zst") for c in cs), f"closed by nginx: compressed: {cs}")
        zstd_ok(cs)
        lines = (b"".join(content(c) for c in cs) +
                 content(os.path.join(logs, "access.log"))).decode().split("\n")
        lines = [x.split()[0] for x in lines if x]
        want = ["/ready"] + [f"/r/{i}" for i in range(n)]
        got = [x for x in lines if x != "/ready"]
        # nginx logs after it answers, and two workers race: the order may differ, the
        # lines may not.
        check(sorted(got) == sorted(want[1:]),
              f"every request's line, once: {len(got)} lines for {n}, "
              f"{len(set(want[1:]) - set(got))} missing, {len(got) - len(set(got))} doubled")
    finally:
        if ng:  # the master and its workers
            os.killpg(ng.pid, signal.SIGKILL)
            ng.wait()
        d.close()


# A writer that opens its log itself, "w" (no O_APPEND, as `app > app.log` and most
# programs) or "a" (O_APPEND, as `>>`), and writes numbered lines when told, holding the
# log open until told to close it: the lines it writes after a cut show a hole.
PYWRITER = r"""
import sys
f = open(sys.argv[1], sys.argv[2])
n = 0
for cmd in sys.stdin:
    if cmd.strip() == "close":
        break
    for _ in range(int(cmd)):
        n += 1
        f.write("%010d the quick brown fox jumps\n" % n)
        if n % 1000 == 0:
            f.flush()
    f.flush()
    print("written", flush=True)
f.close()
"""


class PyWriter:
    def __init__(self, path, mode):
        self.proc = subprocess.Popen([sys.executable, "-c", PYWRITER, path, mode],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.count = 0

    def write(self, lines):
        self.proc.stdin.write(f"{lines}\n")
        self.proc.stdin.flush()
        equal(self.proc.stdout.readline().strip(), "written", "the writer wrote its lines")
        self.count += lines

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("close\n")
            self.proc.stdin.flush()
            equal(self.proc.wait(WAIT), 0, "the writer")
        self.proc.stdin.close()
        self.proc.stdout.close()


def blocked_alarms(d):
    return [a for a in d.status()["alarms"] if a["name"] == "rotate_blocked"]


def no_hole_every_line(d, logs, base, count, what):
    """No NUL byte in the log or its copies, and every line 1..count exactly once, in order."""
    parts = copies(logs, base) + [os.path.join(logs, base)]
    data = b"".join(content(p) for p in parts)
    holes = data.count(b"\0")
    equal(holes, 0, f"{what}: NUL bytes in {base} and its {len(parts) - 1} copies")
    exactly_once(data, count, what)


def hole_less_rotation(method, tail):
    """A writer without O_APPEND past size: sweepd does not cut the log in place (no hole,
    no line lost); the rotate_blocked alarm names the log, the writer's pid and command and
    says what to do, in status, in sweepctl status, in the STATUS= line's source and once in
    the log. A writer with O_APPEND in the same zone still rotates. Once the writer has gone,
    the alarm ends and the log is rotated as any log nobody writes to."""
    rotate = f'size = "1M"; compress = "off"; ' + (
        "keep_tail_lines = 1000;" if tail else f'method = "{method}";')
    root = tempfile.mkdtemp(prefix="sweepd-e2e-", dir="/var/tmp")  # ext4: collapse works
    d = Daemon([logs_zone(rotate)], root=root)
    w = good = None
    try:
        logs = d.zones["logs"]
        live = os.path.join(logs, "app.log")
        check(fs_type(logs) in ("ext2/ext3", "xfs"), f"{logs} on ext4 or xfs")
        count = 85_000  # 3 MB at 37 bytes a line, written in two halves around a pass
        w = PyWriter(live, "w")
        if method == "auto" and not tail:  # collapse: exact under a writer
            good = PyWriter(os.path.join(logs, "ok.log"), "a")
        for x in (w, good):
            if x:
                x.write(count // 2)
        d.settle()
        for x in (w, good):
            if x:
                x.write(count - count // 2)
        d.settle()
        no_hole_every_line(d, logs, "app.log", count, f"{method}: under the writer")
        al = blocked_alarms(d)
        equal(len(al), 1, f"one rotate_blocked alarm: {d.status()['alarms']}")
        lab = al[0]["labels"]
        equal((lab["zone"], lab["path"], lab["pid"], lab["comm"]),
              ("logs", live, str(w.proc.pid), "python3"), "the alarm's labels")
        for words in ("O_APPEND", ">>", 'method = "rename"', str(w.proc.pid), live):
            check(words in al[0]["summary"], f"the summary says {words!r}: {al[0]['summary']}")
        check(al[0]["since"] <= time.time(), "since")
        out = d.ctl("status", "--wide")  # the alarm on one line, whatever its length
        equal(out.returncode, 0, "sweepctl status")
        text = out.stdout.decode()
        check(re.search(r"^! rotate_blocked .*" + re.escape(live) + r".*pid %d \(python3\)"
                        % w.proc.pid, text, re.M), f"sweepctl status shows the alarm:\n{text}")
        check(re.search(r"^logs\s+rotate\s+" + ("auto, tail 1000 lines, size 1(\\.0)?M" if tail
                                                else f"{method}, size 1(\\.0)?M"), text, re.M),
              f"sweepctl status shows the zone's rotation, not ACTION archive:\n{text}")
        m = ok(d.request({"cmd": "metrics"}), "metrics")["text"]
        check(re.search(r"^sweepd_alarms 1$", m, re.M), "sweepd_alarms counts it")
        if good:  # systemd's STATUS= line reads the same list (sent again after a pause)
            os.unlink(os.path.join(d.root, "notify.sock"))
            n = Notify(d.root)
            try:
                ok(d.request({"cmd": "pause"}), "pause")
                msg = n.until(lambda x: "STATUS=" in x, "STATUS= after pause")
                check(f"alarms: rotation of {live} blocked by pid {w.proc.pid} (python3)"
                      in msg, f"the STATUS= line names it: {msg!r}")
                ok(d.request({"cmd": "resume"}), "resume")
            finally:
                n.sock.close()
        # Asked to rotate now: refused the same way, with the same sentence.
        r = d.request({"cmd": "rotate", "zone": "logs"})
        check(not r["ok"] and any("O_APPEND" in e for e in r["errors"]), f"rotate now: {r}")
        if good:
            check(len(copies(logs, "ok.log")) >= 2, "the O_APPEND writer's log rotated")
            no_hole_every_line(d, logs, "ok.log", count, "the O_APPEND writer")
        equal(d.logtext().count("writes it without O_APPEND"), 1, "the alarm logged once")
        # The writer goes: the alarm ends, the log is taken whole.
        w.close()
        d.settle()
        equal(blocked_alarms(d), [], "the alarm ends when the writer closes the log")
        equal(d.logtext().count("rotation no longer blocked"), 1, "its end logged once")
        if tail:
            data = content(live)
            equal(data.count(b"\0"), 0, "no NUL byte")
            check(numbers(data) == list(range(count - 999, count + 1)),
                  f"cut down to exactly its last 1000 lines: {len(numbers(data))}")
        else:
            equal(os.path.getsize(live), 0, "rotated whole once its writer has gone")
            no_hole_every_line(d, logs, "app.log", count, f"{method}: after the writer")
        equal(d.status()["alarms"], [], "no alarm left")
    finally:
        for x in (w, good):
            if x:
                x.close()
        d.close()


@case
def no_hole_under_a_writer_without_append_auto():
    hole_less_rotation("auto", False)


@case
def no_hole_under_a_writer_without_append_copytruncate():
    hole_less_rotation("copytruncate", False)


@case
def no_hole_under_a_writer_without_append_tail():
    hole_less_rotation("auto", True)


@case
def sparse_log_and_rename_without_append():
    """A log with a hole (apparent size past size, little on disk) is not rotated; rename
    under a writer without O_APPEND still works (the writer reopens); a reload to rename
    ends a rotate_blocked alarm."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-", dir="/var/tmp")
    d = Daemon([logs_zone('size = "1M"; method = "auto"; compress = "off";')], root=root)
    w = None
    try:
        logs = d.zones["logs"]
        sparse = os.path.join(logs, "sparse.log")
        with open(sparse, "wb") as f:
            f.write(b"x" * 100_000 + b"\n")
            f.truncate(8 << 20)
            f.seek((8 << 20) - 4)
            f.write(b"end\n")
        check(os.stat(sparse).st_blocks * 512 < 1 << 20, "the test log is sparse")
        d.settle()
        for _ in range(3):
            with open(sparse, "ab") as f:  # writes come back from the watch: each a pass
                f.write(b"more\n")
            d.settle()
        equal(rotations(d), [], "a sparse log under size on disk is not rotated")
        equal(copies(logs, "sparse.log"), [], "no copy")
        # A writer without O_APPEND blocks auto; a reload to rename ends the alarm.
        live = os.path.join(logs, "app.log")
        w = PyWriter(live, "w")
        w.write(40_000)
        d.settle()
        equal(len(blocked_alarms(d)), 1, "blocked under auto")
        with open(d.conf) as f:
            conf = f.read()
        pidfile = os.path.join(root, "w.pid")
        with open(pidfile, "w") as f:
            f.write(f"{w.proc.pid}\n")
        with open(d.conf, "w") as f:
            f.write(conf.replace('method = "auto";',
                                 f'method = "rename"; pidfile = "{pidfile}"; signal = "CONT";'))
        ok(d.request({"cmd": "reload"}), "reload")
        d.settle()
        equal(blocked_alarms(d), [], "rename is allowed: the alarm ends")
        check(d.logtext().count("rotation no longer blocked") == 1, "its end logged once")
        cs = copies(logs, "app.log")
        equal(len(cs), 1, f"rename moved it aside: {cs}")
        w.write(1000)  # its writer goes on in the moved file until it reopens
        w.close()
        data = content(cs[0])
        equal(data.count(b"\0"), 0, "no NUL byte")
        exactly_once(data, 41_000, "the renamed log")
    finally:
        if w:
            w.close()
        d.close()


@case
def unprivileged_daemon_cannot_read_the_writer():
    """sweepd as an unprivileged user cannot read another user's /proc/PID/fd: a writer it
    cannot see is not cut under, even one that may append; the alarm says it could not be
    read and what to do. Once the writer has gone, the log rotates."""
    import harness
    root = tempfile.mkdtemp(prefix="sweepd-e2e-", dir="/var/tmp")
    d = Daemon([logs_zone('size = "1M"; method = "auto"; compress = "off";')], root=root,
               start=False)
    wrapper = os.path.join(root, "sweepd-as-nobody")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups "
                f"{os.path.abspath(harness.SWEEPD)} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    live = os.path.join(d.zones["logs"], "app.log")
    open(live, "w").close()
    for dirpath, dirs, files in os.walk(root):
        for n in [dirpath] + [os.path.join(dirpath, x) for x in files]:
            os.chown(n, 65534, 65534)
    saved, mask = harness.SWEEPD, os.umask(0)  # the notify socket: writable by nobody
    w = None
    try:
        harness.SWEEPD = wrapper
        d.start()
        os.umask(mask)
        w = PyWriter(live, "a")  # root's: its /proc entries are closed to nobody
        w.write(40_000)
        d.settle()
        al = blocked_alarms(d)
        equal(len(al), 1, f"blocked: {d.status()['alarms']}\n{d.logtext()[-1500:]}")
        for words in ("cannot read", "uid 65534", "run sweepd as root", 'method = "rename"'):
            check(words in al[0]["summary"], f"the summary says {words!r}: {al[0]['summary']}")
        equal(al[0]["labels"]["path"], live, "the path label")
        equal(copies(d.zones["logs"], "app.log"), [], "not cut")
        w.close()
        d.settle()
        equal(blocked_alarms(d), [], "the writer gone: the alarm ends")
        cs = copies(d.zones["logs"], "app.log")
        equal(len(cs), 1, "rotated whole")
        exactly_once(content(cs[0]), 40_000, "the copy")
    finally:
        harness.SWEEPD = saved
        os.umask(mask)
        if w:
            w.close()
        d.close()


@case
def hostile_log_name_in_the_alarm():
    """A log named by whoever can write in the zone, with a newline and sd_notify words in
    it, held by a writer without O_APPEND: the alarm's path label is the name (encoded as
    paths are), sweepctl status and the STATUS= line show it escaped on one line, and no
    assignment is forged into the notify message."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-", dir="/var/tmp")
    d = Daemon([logs_zone('size = "1M"; compress = "off";')], root=root)
    w = n = None
    try:
        name = "x\nSTATUS=forged\nREADY=1\n.log"
        live = os.path.join(d.zones["logs"], name)
        w = PyWriter(live, "w")
        w.write(40_000)
        d.settle()
        al = blocked_alarms(d)
        equal([a["labels"]["path"] for a in al], [live], "the path label is the name")
        out = d.ctl("status", "--wide").stdout.decode()
        check("x\\x0aSTATUS=forged\\x0aREADY=1\\x0a.log" in out,
              f"sweepctl status shows it escaped:\n{out}")
        os.unlink(os.path.join(d.root, "notify.sock"))
        n = Notify(d.root)
        ok(d.request({"cmd": "pause"}), "pause")
        msg = n.until(lambda x: "STATUS=" in x, "STATUS= after pause")
        check(msg.startswith("STATUS=") and "\n" not in msg and "\\x0aREADY=1" in msg,
              f"one escaped STATUS= line, nothing forged: {msg!r}")
        ok(d.request({"cmd": "resume"}), "resume")
        w.close()
        d.settle()
        equal(blocked_alarms(d), [], "the alarm ends")
    finally:
        if n:
            n.sock.close()
        if w:
            w.close()
        d.close()


@case
def olddir_symlink_is_named():
    """A zone user makes olddir a symbolic link: rotation stops with a sentence naming
    olddir, saying sweepd never follows one and what to do; nothing is written through it."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-", dir="/var/tmp")
    d = Daemon([logs_zone('size = "1M"; olddir = "old"; compress = "off";')], root=root)
    try:
        logs = d.zones["logs"]
        elsewhere = os.path.join(root, "elsewhere")
        os.mkdir(elsewhere)
        os.symlink(elsewhere, os.path.join(logs, "old"))
        with open(os.path.join(logs, "app.log"), "wb") as f:
            f.write(b"line\n" * 100)
        d.settle()
        r = d.request({"cmd": "rotate", "zone": "logs"})
        text = json.dumps(r)
        for words in ("olddir old is a symbolic link", "never follows one",
                      "make it a directory"):
            check(words in text, f"the reply says {words!r}: {text[:500]}")
        equal(os.listdir(elsewhere), [], "nothing written through the link")
    finally:
        d.close()


@case
def writer_comm_with_a_newline():
    """A writer whose command name starts and ends with a newline of its own (15 bytes, the
    most a name holds): the alarm's comm label keeps the whole name, only the newline the
    kernel adds goes."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-", dir="/var/tmp")
    d = Daemon([logs_zone('size = "4K"; compress = "off";')], root=root)
    w = None
    try:
        live = os.path.join(d.zones["logs"], "app.log")
        w = subprocess.Popen([sys.executable, "-c",
                              "import sys\nopen('/proc/self/comm','w').write('\\nabcdefghijklm\\n')\n"
                              f"f = open({live!r}, 'wb'); f.write(b'x' * 8000); f.flush()\n"
                              "print('held', flush=True); sys.stdin.readline()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        equal(w.stdout.readline().strip(), "held", "the writer holds the log")
        d.settle()
        d.request({"cmd": "rotate", "zone": "logs"})
        al = blocked_alarms(d)
        equal(len(al), 1, f"blocked: {d.status()['alarms']}")
        equal(al[0]["labels"]["comm"], "\nabcdefghijklm\n", "the whole command name")
    finally:
        if w:
            w.stdin.close()
            w.wait(WAIT)
            w.stdout.close()
        d.close()


class LaneHold:
    """One lane of the daemon's mover held still: its worker thread (sweepd-archive,
    sweepd-quick, sweepd-logs or sweepd-asked) stopped with ptrace while the loop and the
    other lanes run on. Jobs queued
    for the lane wait, in order, until release(): a synchronisation, not a timing. It
    needs each lane to wait on a condition variable of its own: glibc makes a wake-up on
    one shared with another waiter wait for the stopped thread (the daemon would hang)."""

    SEIZE, INTERRUPT, DETACH, WALL = 0x4206, 0x4207, 17, 0x40000000

    def __init__(self, pid, comm):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                                     ctypes.c_void_p]
        tids = []
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/comm") as f:
                if f.read().strip() == comm:
                    tids.append(int(t))
        equal(len(tids), 1, f"one thread named {comm} in sweepd")
        self.tid = tids[0]
        for req in (self.SEIZE, self.INTERRUPT):
            if self.libc.ptrace(req, self.tid, None, None) < 0:
                raise Failure(f"ptrace {req:#x} {comm}: {os.strerror(ctypes.get_errno())}")
        status = ctypes.c_int()
        equal(self.libc.waitpid(self.tid, ctypes.byref(status), self.WALL), self.tid,
              f"{comm} stopped")

    def release(self):
        if self.tid:
            self.libc.ptrace(self.DETACH, self.tid, None, None)
            self.tid = None


def jobs_of(d, name):
    """status.jobs of the file name, as (action, running)."""
    return [(j["action"], j["running"]) for j in d.status()["jobs"]
            if j["path"].endswith("/" + name)]


def until(what, fn):
    """Polls fn (a look at the daemon's state, not a timing) until it is true."""
    end = time.monotonic() + WAIT
    while not fn():
        check(time.monotonic() < end, f"waited {WAIT}s for {what}")
        time.sleep(0.02)


def request_later(d, obj):
    """Sends a request whose answer is read later (reply_within)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.sock)
    s.sendall((json.dumps(obj) + "\n").encode())
    return s


def reply_within(s, seconds):
    """The answer on s, or None if none came within seconds."""
    s.settimeout(seconds)
    buf = b""
    try:
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            check(chunk, f"connection closed after {buf!r}")
            buf += chunk
    except socket.timeout:
        check(not buf, f"half an answer: {buf!r}")
        return None
    return json.loads(buf)


@case
def rotation_and_archive_never_on_one_file_at_once():
    """A log due for the archive (max_age) is rotated by hand: two jobs never touch one file.
    With the archive lane held still and its job on app.log queued, the rotate command cuts
    nothing and queues nothing beside it, and answers only once the archive job is in:
    app.log went whole to the archive, nothing is left to rotate. The other way round, with
    the logs lane held and a rotation of b.log queued, b.log made due for the archive gets
    no archive job; the rotation runs once the lane goes on. The held lane is what makes
    this certain; the 2 s windows only bound how long a daemon that would wrongly act is
    given to do it (it does in milliseconds)."""
    zone = {"include": '[ "*.log" ]', "max_age": '"1h"',
            "rotate": '{ every = "7d"; compress = "off"; }'}
    d = Daemon([dict(zone, name="logs", path="logs"), dict(zone, name="more", path="more")],
               extra='archive = { path = "archive"; compress = "off"; };', start=False)
    hold = None
    try:
        # Written before the start: no write the daemon saw keeps them young once old.
        live = os.path.join(d.zones["logs"], "app.log")
        other = os.path.join(d.zones["more"], "b.log")
        body = b"".join(b"%010d a line of the log\n" % i for i in range(4000))
        write(live, body)
        write(other, body)
        d.start()
        d.settle()
        old = time.time() - 7200

        # An archive job on app.log, queued in the held quick lane (a rename within the filesystem).
        hold = LaneHold(d.proc.pid, "sweepd-quick")
        os.utime(live, (old, old))
        until("app.log's archive job", lambda: jobs_of(d, "app.log") == [("archive", False)])
        s = request_later(d, {"cmd": "rotate", "zone": "logs"})
        try:
            end = time.monotonic() + 2
            while time.monotonic() < end:
                equal(jobs_of(d, "app.log"), [("archive", False)],
                      "only the archive job on app.log, still queued")
                equal(copies(d.zones["logs"], "app.log"), [], "no copy of app.log")
                equal(os.path.getsize(live), len(body), "app.log not cut")
                time.sleep(0.1)
            check(reply_within(s, 0.1) is None,
                  "the rotate command waits for the archive job on app.log")
            hold.release()
            r = reply_within(s, WAIT)
        finally:
            s.close()
        check(r and r["ok"], f"rotate: {r}")
        equal(r["actions"], [], "app.log went to the archive: nothing rotated")
        d.settle()
        check(not os.path.exists(live), "app.log archived")
        (e,) = ok(d.request({"cmd": "archive"}), "archive")["entries"]
        equal(e["path"], live, "the archive's one entry")
        with open(e["archive_path"], "rb") as f:
            equal(f.read(), body, "app.log whole in the archive, never cut")
        equal(copies(d.zones["logs"], "app.log"), [], "no copy of app.log")
        equal([a["action"] for a in audit(d) if a["path"] == live], ["archive"],
              "app.log: archived, never rotated")

        # A rotation of b.log, queued in the held logs lane: the sweeper leaves it alone.
        hold = LaneHold(d.proc.pid, "sweepd-logs")
        s = request_later(d, {"cmd": "rotate", "zone": "more"})
        try:
            until("b.log's rotate job", lambda: jobs_of(d, "b.log") == [("rotate", False)])
            os.utime(other, (old, old))
            end = time.monotonic() + 2
            while time.monotonic() < end:
                equal(jobs_of(d, "b.log"), [("rotate", False)],
                      "no archive job on b.log beside its rotation")
                time.sleep(0.1)
            hold.release()
            r = reply_within(s, WAIT)
        finally:
            s.close()
        check(r and r["ok"], f"rotate: {r}")
        equal([(a["action"], a["path"], a["bytes"]) for a in r["actions"]],
              [("rotate", other, len(body))], "b.log rotated whole")
        d.settle()
        (c,) = copies(d.zones["more"], "b.log")
        equal(content(c), body, "b.log's copy")
        equal(os.path.getsize(other), 0, "b.log emptied by its rotation, in its zone")
        equal([a["action"] for a in audit(d) if a["path"] == other], ["rotate"],
              "b.log: rotated, never archived")
    finally:
        if hold:
            hold.release()
        d.close()

if __name__ == "__main__":
    main()
