"""Quotas, soft-delete and the archive, against the real daemon and real files.
Run one: python3 test_sweep.py NAME; all: no argument."""

import glob
import hashlib
import json
import os
import random
import select
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

from harness import (Daemon, Failure, Writer, case, check, equal, main, write, WAIT,
                     SWEEPCTL, readline)

DAY = 86400
OLD = time.time() - 10 * DAY


def old(path, when=OLD):
    os.utime(path, (when, when))


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


CLAIM = ".sweepd-archive"  # sweepd's claim at the root of its archive


def files_under(root):
    """Every file below root, but an archive's claim."""
    out = []
    for dp, _, names in os.walk(root):
        out += [os.path.join(dp, n) for n in names if not (dp == root and n == CLAIM)]
    return sorted(out)


def audit(d):
    path = os.path.join(d.root, "state", "audit.log")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


def ok(r, what):
    check(r.get("ok"), f"{what}: {r}")
    return r


class Tmpfs:
    """A small tmpfs: a filesystem of its own, with a size we choose."""

    def __init__(self, path, size):
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                       check=True)
        self.path = path

    def close(self, root):
        """Unmounts it and removes the test's tree around it."""
        subprocess.run(["umount", "-l", self.path], check=False)
        subprocess.run(["rm", "-rf", root], check=False)


def run_daemon(fn, **kw):
    d = Daemon(**kw)
    try:
        fn(d)
    finally:
        d.close()


@case
def age_archive_and_restore():
    """Old files go to the archive, whole, with mode, owner and times; restore puts them
    back byte for byte, refuses to overwrite, and the restored file is left alone."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"7d"'}],
               extra='archive = { path = "archive"; };', start=False)
    try:
        z = d.path()
        sums, mtimes = {}, {}
        for i in range(20):
            p = os.path.join(z, f"job{i % 4}", "out", f"v{i}.mp4")
            write(p, os.urandom(1000 + i))
            os.chmod(p, 0o640)
            os.chown(p, 1234, 5678)
            old(p, OLD - i)
            sums[p] = sha(p)
            mtimes[p] = int(OLD - i)
        for j in range(4):  # directories are pruned only once older than min_age
            old(os.path.join(z, f"job{j}", "out"))
            old(os.path.join(z, f"job{j}"))
        write(os.path.join(z, "fresh.mp4"), b"new")
        d.start()
        d.settle()
        equal(files_under(z), [os.path.join(z, "fresh.mp4")], "only the fresh file stays")
        check(not os.path.exists(os.path.join(z, "job0")), "emptied directories pruned")
        arch = os.path.join(d.root, "archive")
        entries = ok(d.request({"cmd": "archive"}), "archive")["entries"]
        equal(len(entries), 20, "archive entries")
        for e in entries:
            check(e["reason"] == "max_age", f"reason {e}")
            st = os.stat(e["archive_path"])
            equal(sha(e["archive_path"]), sums[e["path"]], "archived bytes")
            equal((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o640, 1234, 5678),
                  "archived mode and owner")
            check(e["archive_path"].startswith(arch + "/z/"), "archive mirrors zone/path")
        lines = [a for a in audit(d) if a["action"] == "archive"]
        equal(len(lines), 20, "audit lines")
        for a in lines:
            for k in ("time", "action", "zone", "path", "bytes", "reason", "dry_run",
                      "archive_path"):
                check(k in a, f"audit line lacks {k}: {a}")
        equal(d.zone()["files"], 1, "table after archiving")
        st = d.status()
        equal(st["archive"]["files"], 20, "status archive files")
        equal(st["counters"]["archived"], 20, "archived counter")
        # restore by id, by path, to another place; never over an existing file
        first, second = entries[0], entries[1]
        r = ok(d.request({"cmd": "restore", "id": first["id"]}), "restore by id")
        equal(r["restored"], first["path"], "restored where it was")
        st = os.stat(first["path"])
        equal(sha(first["path"]), sums[first["path"]], "restored bytes")
        equal((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)),
              (0o640, 1234, 5678, mtimes[first["path"]]), "restored mode, owner, mtime")
        write(second["path"], b"someone else's")
        r = d.request({"cmd": "restore", "path": second["path"]})
        check(not r["ok"] and "already exists" in r["error"], f"no overwrite: {r}")
        equal(open(second["path"], "rb").read(), b"someone else's", "existing file untouched")
        other = os.path.join(d.root, "elsewhere", "deep", "x.mp4")
        p = d.ctl("restore", second["path"], "--to", other)
        equal(p.returncode, 0, f"sweepctl restore --to: {p.stderr}")
        equal(sha(other), sums[second["path"]], "restored to another path")
        d.settle()
        check(os.path.exists(first["path"]), "a restored old file is not archived again")
        equal(d.status()["counters"]["restored"], 2, "restored counter")
        check(any(a["action"] == "restore" for a in audit(d)), "restore audited")
        r = d.request({"cmd": "restore", "id": 99999})
        check(not r["ok"] and "archive" in r["error"], f"unknown id: {r}")
    finally:
        d.close()


@case
def writers_are_never_swept():
    """A writer holding an old file open (opened before the daemon started, and after):
    never swept; swept once it closes."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1d"', "min_age": "0",
                       "action": '"delete"'}], start=False)
    try:
        a, b = d.path("z", "before.mp4"), d.path("z", "after.mp4")
        write(a, b"x")
        old(a)
        w1 = Writer(a)
        old(a)
        d.start()
        write(b, b"y")
        old(b)
        w2 = Writer(b)
        old(b)
        for _ in range(3):
            d.settle()
        check(os.path.exists(a) and os.path.exists(b), "open files were swept")
        equal(d.zone()["open_files"], 2, "open files")
        w1.close()
        old(a)
        d.settle()
        check(not os.path.exists(a), "closed old file not swept")
        check(os.path.exists(b), "still-open file swept")
        w2.close()
        old(b)
        d.settle()
        check(not os.path.exists(b), "second file not swept after close")
    finally:
        d.close()


@case
def max_size_oldest_first_in_real_time():
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_size": '"10K"', "min_age": "0",
                       "action": '"delete"'}], start=False)
    try:
        names = [d.path("z", f"f{i:02d}") for i in range(10)]
        for i, p in enumerate(names):
            write(p, b"a" * 2048)
            old(p, OLD + i)
        d.start()
        d.settle()
        equal(sorted(files_under(d.path())), names[5:], "the five newest stay")
        for i in range(10, 20):
            p = d.path("z", f"f{i:02d}")
            write(p, b"b" * 2048)
            old(p, OLD + i)
            d.settle()
            check(d.zone()["bytes"] <= 10240, "max_size held as files land")
            check(os.path.exists(p), "the newest file stays")
        equal(sorted(files_under(d.path())), [d.path("z", f"f{i:02d}") for i in range(15, 20)],
              "oldest went first")
        check(all(a["reason"] == "max_size" for a in audit(d)), "reason max_size")
    finally:
        d.close()


@case
def max_files_and_blocked_episode():
    """max_files; a target out of reach (files open for writing) is said once, in status."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_files": "2", "min_age": "0",
                       "action": '"delete"'}])
    try:
        writers = []
        for i in range(4):
            writers.append(Writer(d.path("z", f"w{i}")))
        d.settle()
        d.settle()
        z = d.zone()
        equal(z["files"], 4, "files open for writing stay")
        check(z["blocked"] and "open for writing" in z["blocked"]["why"], f"blocked: {z}")
        equal(d.status()["counters"]["blocked"], 1, "one episode")
        equal(d.logtext().count("cannot reach its target"), 1, "said once")
        al = d.status()["alarms"]  # the one alarms list carries it too
        equal([(a["name"], a["labels"]) for a in al], [("quota_unmet", {"zone": "z"})],
              f"status.alarms: {al}")
        for w in writers:
            w.close()
        d.settle()
        z = d.zone()
        equal(z["files"], 2, "back within max_files")
        equal(z["blocked"], None, "episode over")
        equal(d.status()["alarms"], [], "the alarm ends with the episode")
    finally:
        d.close()


@case
def disk_watermarks_on_tmpfs():
    """A small tmpfs zone above its high mark is swept to under its low mark, lowest
    priority first, oldest first; the archive is on another filesystem and keeps it all."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "fs"), "8M")
    try:
        os.makedirs(os.path.join(fs.path, "low"))
        os.makedirs(os.path.join(fs.path, "high"))
        d = Daemon(root=root, start=False,
                   zones=[{"name": "low", "path": "fs/low", "priority": "0", "min_age": "0"},
                          {"name": "high", "path": "fs/high", "priority": "10", "min_age": "0"}],
                   extra='archive = { path = "archive"; compress = "off"; };\n'
                         'disk = { high = "60%"; low = "40%"; };')
        try:
            sums = {}
            for i in range(6):
                for zn in ("low", "high"):
                    p = os.path.join(fs.path, zn, f"{i}.bin")
                    write(p, os.urandom(512 * 1024))
                    old(p, OLD + i)
                    sums[sha(p)] = p
            d.start()
            d.settle()
            st = os.statvfs(fs.path)
            used = (st.f_blocks - st.f_bfree) / st.f_blocks * 100
            check(used <= 40.5, f"used {used:.1f}% after sweeping, low mark 40%")
            left_low = files_under(os.path.join(fs.path, "low"))
            left_high = files_under(os.path.join(fs.path, "high"))
            check(len(left_high) == 6, f"priority 10 kept while priority 0 had files: {left_high}")
            equal(left_low, sorted(os.path.join(fs.path, "low", f"{i}.bin")
                                   for i in range(6 - len(left_low), 6)), "oldest first")
            archived = files_under(os.path.join(root, "archive"))
            equal(sorted(sha(p) for p in archived + left_low + left_high), sorted(sums),
                  "every file in exactly one place")
            check(all(a["reason"] == "disk_high" for a in audit(d)), "reason disk_high")
            f = [x for x in d.status()["filesystems"] if x["mount"] == fs.path][0]
            equal(f["pressure"], False, "pressure over")
        finally:
            d.close()
    finally:
        fs.close(root)


@case
def disk_alarm_says_which_mark():
    """Swept from above its high mark to between the marks, with only young files left:
    the disk_high alarm says it is still above its low mark, not above its high mark."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "fs"), "8M")
    try:
        os.makedirs(os.path.join(fs.path, "z"))
        d = Daemon(root=root, start=False,
                   zones=[{"name": "z", "path": "fs/z", "min_age": '"1h"'}],
                   extra='archive = { path = "archive"; compress = "off"; };\n'
                         'disk = { high = "60%"; low = "40%"; };')
        try:
            for i in range(3):  # 1.5M old: swept
                p = os.path.join(fs.path, "z", f"old{i}.bin")
                write(p, os.urandom(512 * 1024))
                old(p, OLD + i)
            for i in range(8):  # 4M young: under min_age, kept
                write(os.path.join(fs.path, "z", f"young{i}.bin"), os.urandom(512 * 1024))
            d.start()
            d.settle()
            st = os.statvfs(fs.path)
            used = (st.f_blocks - st.f_bfree) / st.f_blocks * 100
            check(40 < used < 60, f"between the marks after sweeping: {used:.1f}%")
            equal(len(files_under(os.path.join(root, "archive"))), 3, "the old files archived")
            al = [a for a in d.status()["alarms"] if a["name"] == "disk_high"]
            check(len(al) == 1, f"one disk_high alarm: {d.status()['alarms']}")
            msg = json.dumps(al[0])
            check("still above its low mark" in msg and "above its high mark" not in msg,
                  f"the alarm says which mark: {msg}")
        finally:
            d.close()
    finally:
        fs.close(root)


@case
def kill9_during_cross_fs_archive():
    """kill -9 at random instants while large files move from a tmpfs zone to an archive
    on disk, then restarts: every checksum exactly once, no partial copy left."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-", dir="/var/tmp")
    fs = Tmpfs(os.path.join(root, "fs"), "200M")
    try:
        d = Daemon(root=root, start=False,
                   zones=[{"name": "z", "path": "fs", "max_age": '"1d"'}],
                   extra='archive = { path = "archive"; compress = "auto"; };')
        try:
            sums = set()
            rnd = random.Random(7)
            for i in range(24):
                p = os.path.join(fs.path, f"d{i % 3}", f"big{i}.bin")
                # half compressible, half not: both paths of the copy
                data = os.urandom(3 << 20) if i % 2 else (b"line %d\n" % i) * 400000
                write(p, data)
                old(p)
                sums.add(hashlib.sha256(data).hexdigest())
            kills = 0
            for round_ in range(8):
                d.kill9_after(rnd.uniform(0.02, 0.4))
                kills += 1
            d.start()
            d.settle()
            arch = os.path.join(root, "archive")
            left = files_under(fs.path)
            archived = files_under(arch)
            equal(left, [], "everything archived in the end")
            check(not any(".sweepd-tmp" in p for p in archived), "no temporary file left")
            got = []
            for e in ok(d.request({"cmd": "archive"}), "archive")["entries"]:
                out = os.path.join(root, "restored", os.path.basename(e["path"]))
                ok(d.request({"cmd": "restore", "id": e["id"], "to": out}), "restore")
                got.append(sha(out))
            equal(sorted(got), sorted(sums), f"each checksum exactly once after {kills} kills")
            equal(files_under(arch), [], "archive empty after restoring all")
        finally:
            d.close()
    finally:
        fs.close(root)


@case
def symlink_swap_attacker():
    """While thousands of deletes run, an attacker swaps a directory for a symlink to an
    outside tree holding files of the same names: nothing outside is touched."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1d"', "action": '"delete"'}],
               start=False)
    outside = os.path.join(d.root, "outside")
    attacker = None
    try:
        for k in range(4):
            for i in range(500):
                p = d.path("z", f"d{k}", f"f{i}")
                write(p, b"z")
                old(p)
                q = os.path.join(outside, f"d{k}", f"f{i}")
                write(q, b"precious")
                old(q)
        code = f"""
import os, sys
base, outside = {d.path()!r}, {outside!r}
sys.stdout.write("go\\n"); sys.stdout.flush()
def left():
    n = 0
    for k in range(4):
        for d in (f"d{{k}}", f".aside{{k}}"):
            try:
                n += len(os.listdir(os.path.join(base, d)))
            except OSError:
                pass
    return n
for i in range(200000):
    if i % 50 == 0 and left() < 100:
        break
    for k in range(4):
        real, aside = os.path.join(base, f"d{{k}}"), os.path.join(base, f".aside{{k}}")
        try:
            os.rename(real, aside)
            os.symlink(os.path.join(outside, f"d{{k}}"), real)
            os.unlink(real)
            os.rename(aside, real)
        except OSError:
            pass
"""
        attacker = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                    text=True)
        equal(attacker.stdout.readline().strip(), "go", "attacker started")
        d.start()
        attacker.wait(WAIT * 2)  # it stops once the deletes are nearly done
        for k in range(4):
            real, aside = d.path("z", f"d{k}"), d.path("z", f".aside{k}")
            if os.path.islink(real):
                os.unlink(real)
            if os.path.isdir(aside) and not os.path.exists(real):
                os.rename(aside, real)
        d.settle()
        equal(len(files_under(outside)), 2000, "files outside the zone")
        check(all(open(p, "rb").read() == b"precious" for p in files_under(outside)),
              "outside files intact")
        equal(files_under(d.path()), [], "every zone file deleted in the end")
    finally:
        if attacker and attacker.poll() is None:
            attacker.kill()
        d.close()


@case
def dry_run_changes_nothing():
    """sweepd -n and {"cmd":"sweep","dry_run":true} decide and report, and change nothing."""
    for mode in ("daemon", "request"):
        d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1d"', "max_files": "3",
                           "min_age": "0"}],
                   extra='archive = { path = "archive"; };', start=False,
                   args=["-n"] if mode == "daemon" else [])
        try:
            if mode == "request":
                # the daemon itself would act at once: pause it before the files come
                d.start()
                ok(d.request({"cmd": "pause"}), "pause")
            for i in range(6):
                write(d.path("z", f"f{i}"), b"x")
                old(d.path("z", f"f{i}"), OLD if i < 3 else time.time() - 3600)
            before = {p: (sha(p), os.stat(p).st_mtime) for p in files_under(d.path())}
            if mode == "request":
                d.settle()
                r = ok(d.request({"cmd": "sweep", "dry_run": True}), "dry sweep")
                r2 = d.request({"cmd": "sweep"})
                check(not r2["ok"] and "paused" in r2["error"], f"paused sweep: {r2}")
            else:
                d.start()
                d.settle()
                check(d.status()["dry_run"], "status says dry run")
                r = ok(d.request({"cmd": "sweep"}), "sweep under -n")
            equal(r["dry_run"], True, "reply dry_run")
            reasons = sorted(a["reason"] for a in r["actions"])
            equal(reasons, ["max_age"] * 3, f"{mode}: would archive the three old files")
            after = {p: (sha(p), os.stat(p).st_mtime) for p in files_under(d.path())}
            equal(after, before, f"{mode}: nothing changed")
            equal(files_under(os.path.join(d.root, "archive")), [], "archive empty")
            check(audit(d) and all(a["dry_run"] for a in audit(d)), "audit says dry_run")
            if mode == "daemon":
                n = len(audit(d))
                d.settle()
                equal(len(audit(d)), n, "a dry daemon reports each file once")
        finally:
            d.close()


@case
def idle_zips_deleted_while_read_one_stays():
    """max_idle counts every open or read the daemon saw, not only atime (which relatime
    and noatime mounts hide)."""
    d = Daemon(zones=[{"name": "zips", "path": "tmp", "recursive": "false",
                       "include": '[ "videos_*.zip" ]', "max_idle": '"1h"',
                       "action": '"delete"'}], start=False)
    try:
        recent = time.time() - 1800
        for i in range(5):
            p = d.path("zips", f"videos_{i}.zip")
            write(p, b"PK\x03\x04" + os.urandom(100))
            old(p, recent)
        other = d.path("zips", "keep.txt")
        write(other, b"not mine")
        old(other)
        d.start()
        d.settle()
        equal(len(files_under(d.path("zips"))), 6, "nothing idle yet")
        # someone downloads videos_3.zip now; then every time on disk goes back a day
        with open(d.path("zips", "videos_3.zip"), "rb") as f:
            f.read()
        d.settle()
        for p in files_under(d.path("zips")):
            old(p)
        d.settle()
        left = sorted(os.path.basename(p) for p in files_under(d.path("zips")))
        equal(left, ["keep.txt", "videos_3.zip"], "idle zips deleted, the read one stays")
        check(all(a["reason"] == "max_idle" for a in audit(d)), "reason max_idle")
    finally:
        d.close()


def archived_render(mib=256, also=()):
    """A daemon whose archive is a tmpfs of its own, holding one large render archived
    across filesystems (uncompressed: a copy back is as long as its size): (d, fs, root,
    path, sha)."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "archive"), f"{mib * 3}M")
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1d"'}],
               extra='archive = { path = "archive"; compress = "off"; };', start=False,
               root=root)
    big = d.path("z", "render.mp4")
    with open(big, "wb") as f:
        for _ in range(mib // 4):
            f.write(os.urandom(4 << 20))
    old(big)
    want = sha(big)
    for name in also:
        write(d.path("z", name), b"s" * 100)
        old(d.path("z", name))
    d.start()
    d.settle()
    check(not os.path.exists(big), "archived")
    return d, fs, root, big, want


def restore_asked(d, path):
    """A restore request sent on a connection of its own, its answer not read yet."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(WAIT)
    s.connect(d.sock)
    s.sendall((json.dumps({"cmd": "restore", "path": path}) + "\n").encode())
    return s


@case
def restore_runs_off_the_loop_and_while_paused():
    """A restore is a job of the mover: while a large file is copied back from an archive on
    another filesystem, status answers and lists it with its progress; it runs while sweepd
    is paused (an operator asked for it); a second restore of the same entry meanwhile is
    refused, not run twice."""
    d, fs, root, big, want = archived_render()
    try:
        ok(d.request({"cmd": "pause"}), "pause")
        asked = restore_asked(d, big)
        seen, answered, again = None, 0, None
        while True:
            st = d.status()
            answered += 1
            for j in st.get("jobs", []):
                if j["action"] == "restore":
                    check(j["path"] == big and 0 <= j["done"] <= j["bytes"], f"job {j}")
                    seen = j
                    if again is None:
                        again = d.request({"cmd": "restore", "path": big})
            if select.select([asked], [], [], 0)[0]:
                break
        r = json.loads(readline(asked))
        asked.close()
        equal(r.get("restored"), big, f"restored while paused: {r}")
        check(seen is not None, f"status answered {answered} times during the restore and "
              "listed it")
        if again is not None:
            check(not again["ok"] and "being restored or purged" in again["error"],
                  f"a second restore of it meanwhile: {again}")
        equal(sha(big), want, "restored whole")
        equal(d.status()["counters"]["restored"], 1, "counted once")
        ok(d.request({"cmd": "resume"}), "resume")
        d.settle()
        check(os.path.exists(big), "restored: left alone for the review window")
    finally:
        d.close()
        fs.close(root)


@case
def purge_during_a_restore_leaves_it():
    """An operator's purge while a restore copies that entry back: the entry is not purged
    under the restore (it is the restore's until it is in), the purge answers for the others,
    and the restore ends whole."""
    d, fs, root, big, want = archived_render(also=["small.txt"])
    try:
        small = d.path("z", "small.txt")
        check(not os.path.exists(small), "the small file archived too")
        asked = restore_asked(d, big)
        purged = None
        while not select.select([asked], [], [], 0)[0]:
            if purged is None and any(j["action"] == "restore"
                                      for j in d.status().get("jobs", [])):
                purged = ok(d.request({"cmd": "purge", "older_than": 0}),
                            "purge during the restore")
        r = json.loads(readline(asked))
        asked.close()
        equal(r.get("restored"), big, f"restored: {r}")
        equal(sha(big), want, "restored whole")
        if purged is not None:
            paths = [a["path"] for a in purged["actions"]]
            equal(paths, [small], "the purge took the other entry, not the one being restored")
        ok(d.request({"cmd": "purge", "older_than": 0}), "purge")
        equal(d.status()["archive"]["files"], 0, "the archive is empty")
        equal(files_under(os.path.join(root, "archive")), [], "and so is its tree")
    finally:
        d.close()
        fs.close(root)


@case
def sigterm_during_a_restore():
    """SIGTERM while a restore copies a large file back: sweepd stops at once, the client is
    told nothing was moved, the file is whole in the archive and nowhere else, and the next
    start restores it."""
    d, fs, root, big, want = archived_render()
    try:
        asked = restore_asked(d, big)
        while not any(j["action"] == "restore" and j["running"]
                      for j in d.status().get("jobs", [])):
            if select.select([asked], [], [], 0)[0]:
                break  # done before it was seen running: the checks below still hold
        d.stop()
        r = json.loads(readline(asked) or "{}")
        asked.close()
        if r.get("ok"):
            equal(sha(big), want, "restored whole before the stop")
        else:
            check("nothing was moved" in r.get("error", ""), f"the client is told: {r}")
            check(not os.path.exists(big), "no partial file where it was going")
            d.start()
            got = ok(d.request({"cmd": "restore", "path": big}), "restore after the restart")
            equal(got["restored"], big, "restored")
            equal(sha(big), want, "restored whole after the restart")
        equal(files_under(os.path.join(root, "archive")), [], "nothing left in the archive")
    finally:
        d.close()
        fs.close(root)


@case
def exchange_attacker_never_moves_a_directory_into_the_archive():
    """An archive on the zones' filesystem moves a file by renaming it. A user who may
    rename in the zone swaps (renameat2 RENAME_EXCHANGE) each due file with a directory of
    theirs as fast as they can, while passes run: only files that were checked ever go into
    the archive, never a directory (a trial once got its own directories into the archive,
    where they blocked those names for good)."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1h"', "min_age": '"1s"'}],
               extra='archive = { path = "archive"; };')
    attacker = None
    try:
        z = d.path()
        code = ("import ctypes, os, sys\n"
                "libc = ctypes.CDLL(None, use_errno=True)\n"
                "z, n = sys.argv[1], int(sys.argv[2])\n"
                "pairs = [(os.path.join(z, f'a{i}').encode(), os.path.join(z, f'd{i}').encode())"
                " for i in range(n)]\n"
                "while True:\n"
                "    for a, b in pairs:\n"
                "        libc.renameat2(-100, a, -100, b, 2)\n")
        n = 4
        for i in range(n):
            os.makedirs(os.path.join(z, f"d{i}", "inner"))
            write(os.path.join(z, f"d{i}", "inner", "x"), b"theirs")
            write(os.path.join(z, f"a{i}"), b"a file %d" % i)
            old(os.path.join(z, f"a{i}"))
        attacker = subprocess.Popen([sys.executable, "-c", code, z, str(n)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ok(d.request({"cmd": "sweep"}), "sweep while names are swapped")
        attacker.kill()
        attacker.wait()
        attacker = None
        d.settle()
        arch = os.path.join(d.root, "archive")
        dirs = [os.path.join(r, x) for r, ds, _ in os.walk(arch) for x in ds]
        equal([p for p in dirs if p != os.path.join(arch, "z")], [],
              "no directory but sweepd's own in the archive")
        for e in ok(d.request({"cmd": "archive"}), "archive")["entries"]:
            check(os.path.isfile(e["archive_path"]), f"an archived entry is a file: {e}")
    finally:
        if attacker:
            attacker.kill()
            attacker.wait()
        d.close()


@case
def a_flood_of_due_files_keeps_the_queue_bounded():
    """20,000 files due at once (anyone who may write in a zone can make them): the mover's
    queue holds at most one batch (2,048 files) at a time and no job holds a descriptor
    while it waits, so sweepd's open files stay few; every file goes."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1h"'}],
               extra='archive = { path = "archive"; compress = "off"; };', start=False)
    try:
        z = d.path()
        for i in range(20):
            os.makedirs(os.path.join(z, f"d{i}"))
            for k in range(1000):
                p = os.path.join(z, f"d{i}", f"f{k}")
                with open(p, "wb") as f:
                    f.write(b"x")
                os.utime(p, (OLD, OLD))
        d.start()
        most_queued, most_fds = 0, 0
        while True:
            st = d.status()
            most_queued = max(most_queued, st["mover"]["queue"]["archive"])
            most_fds = max(most_fds, len(os.listdir(f"/proc/{d.proc.pid}/fd")))
            if st["counters"]["archived"] >= 20000 or not st["jobs"] and \
                    st["zones"][0]["files"] == 0:
                break
        d.settle()
        equal(d.zone()["files"], 0, "every due file went")
        check(most_queued <= 2048, f"at most one batch queued: {most_queued}")
        check(most_fds < 1000, f"open descriptors stay few: {most_fds}")
        print(f"  most queued {most_queued}, most open descriptors {most_fds}")
    finally:
        d.close()


@case
def purge_on_a_read_only_archive_does_not_spin():
    """An archive whose filesystem went read-only: a purge that fails leaves the entry,
    says why, and the daemon goes on answering (a pass once spun on the oldest entry for
    ever); writable again, the next sweep purges it."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "archive"), "4M")
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1d"'}],
               extra='archive = { path = "archive"; keep = "30d"; };', start=False, root=root)
    try:
        for i in range(3):
            write(d.path("z", f"f{i}"), os.urandom(4096))  # a block each, stored as large
            old(d.path("z", f"f{i}"), OLD + i)
        d.start()
        d.settle()
        equal(d.status()["archive"]["files"], 3, "archived")
        subprocess.run(["mount", "-o", "remount,ro", fs.path], check=True)
        with open(d.conf) as f:
            conf = f.read()
        with open(d.conf, "w") as f:
            f.write(conf.replace('keep = "30d";', 'keep = "30d"; max_size = "8K";'))
        ok(d.request({"cmd": "reload"}), "reload with a max_size the archive is over")
        d.settle()
        equal(d.status()["archive"]["files"], 3, "nothing purged from a read-only archive")
        check("cannot purge" in d.logtext(), f"the log says why: {d.logtext()}")
        subprocess.run(["mount", "-o", "remount,rw", fs.path], check=True)
        ok(d.request({"cmd": "sweep"}), "sweep")
        d.settle()
        equal(d.status()["archive"]["files"], 2, "writable again: purged down to max_size")
    finally:
        d.close()
        fs.close(root)


@case
def purge_after_keep_and_max_size():
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1d"'}],
               extra='archive = { path = "archive"; keep = "2s"; max_size = "12K"; };',
               start=False)
    try:
        for i in range(5):  # a block each: what they take on disk, as du counts it
            write(d.path("z", f"f{i}"), os.urandom(4096))
            old(d.path("z", f"f{i}"), OLD + i)
        d.start()
        d.settle()
        # From the audit log, not from status: the 2 s review window may end meanwhile.
        over = [os.path.basename(a["path"]) for a in audit(d)
                if a["action"] == "purge" and a["reason"] == "archive_max_size"]
        equal(sorted(over), ["f0", "f1"], "max_size purges the two oldest, down to 12K")
        deadline = time.monotonic() + WAIT
        while d.status()["archive"]["files"] and time.monotonic() < deadline:
            d.settle()  # the review window ends on the daemon's own timer
        equal(d.status()["archive"]["files"], 0, "purged after keep")
        check(any(a["reason"] == "archive_keep" for a in audit(d)), "archive_keep")
        equal(files_under(os.path.join(d.root, "archive")), [], "archive tree empty")
    finally:
        d.close()


@case
def archive_counts_what_copies_take_on_disk():
    """The archive's bytes, which its max_size is held to, are what its copies take on
    disk as du counts them: 20 files of 100 bytes take 20 blocks, not 2,000 bytes (the
    trial archived 12,000 such files: 48 MB on disk, 2.2 MB by sweepd's count, and
    max_size never purged)."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1d"'}],
               extra='archive = { path = "archive"; compress = "off"; };', start=False)
    try:
        for i in range(20):
            write(d.path("z", f"small{i:02d}"), b"s" * 100)
            old(d.path("z", f"small{i:02d}"))
        d.start()
        d.settle()
        entries = ok(d.request({"cmd": "archive"}), "archive")["entries"]
        equal(len(entries), 20, "archived")
        du = sum(os.stat(e["archive_path"]).st_blocks * 512 for e in entries)
        check(du > 20 * 100, f"the copies take whole blocks: {du}")
        equal(sum(e["stored"] for e in entries), du, "stored: each copy's blocks")
        equal(d.status()["archive"]["bytes"], du, "the archive's bytes: what du says")
    finally:
        d.close()


@case
def archive_full_loses_nothing():
    """A tiny archive filesystem fills: files stay in the zone, the error is counted."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "archive"), "1M")
    try:
        d = Daemon(root=root, start=False, zones=[{"name": "z", "path": "zone",
                                                   "max_age": '"1d"'}],
                   extra='archive = { path = "archive"; compress = "off"; };')
        try:
            sums = {}
            for i in range(4):
                p = d.path("z", f"f{i}.bin")
                write(p, os.urandom(400 * 1024))
                old(p, OLD + i)
                sums[sha(p)] = p
            d.start()
            d.settle()
            st = d.status()
            check(st["counters"]["errors"] >= 1, f"error counted: {st['counters']}")
            check(st["archive"]["full"], "status says the archive is full")
            left = files_under(d.path())
            archived = files_under(os.path.join(root, "archive"))
            check(left, "files stayed in the zone")
            equal(sorted(sha(p) for p in left + archived), sorted(sums), "nothing lost")
            check(d.logtext().count("is full") == 1, "said once")
        finally:
            d.close()
    finally:
        fs.close(root)


@case
def archive_full_is_the_cause_and_sweep_acts_at_once():
    """Issue 11: a full archive blocks a zone over max_size; status names the archive as
    the cause (not the writer, not min_age) with what to do; automatic passes back off;
    once room is freed, sweepctl sweep archives in that same request."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "archive"), "1M")
    writer = None
    try:
        filler = os.path.join(fs.path, "filler")
        write(filler, b"\0" * (1024 * 1024 - 16 * 1024))
        d = Daemon(root=root, start=False,
                   zones=[{"name": "z", "path": "zone", "max_size": '"100K"',
                           "min_age": '"1h"'}],
                   extra='archive = { path = "archive"; compress = "off"; };')
        try:
            for i in range(4):
                p = d.path("z", f"f{i}.bin")
                write(p, os.urandom(100 * 1024))
                old(p, OLD + 10 + i)
            # Beside them, the two other causes: a writer and a young file.
            busy = d.path("z", "busy.log")
            write(busy, b"b" * 1024)
            writer = Writer(busy)
            old(busy, OLD)
            write(d.path("z", "young.bin"), b"y" * 1024)
            d.start()
            d.settle()
            st = d.status()
            why = (st["zones"][0]["blocked"] or {}).get("why", "")
            check("archive" in why and "full" in why and fs.path in why, f"cause: {why!r}")
            check("open for writing" not in why and "min_age" not in why, f"cause: {why!r}")
            check("sweepctl purge" in why, f"says what to do: {why!r}")
            full = st["archive"]["full"]
            check(full and fs.path in full["why"] and "free" in full["why"], f"archive: {full}")
            out = d.ctl("status").stdout.decode()
            check("is full" in out and "open for writing" not in out
                  and "min_age" not in out, f"sweepctl status:\n{out}")
            equal((st["archive"]["mount"], st["archive"]["free"] < 64 << 10), (fs.path, True),
                  "the archive's own filesystem and its little room")
            check(f"; {fs.path} has " in " ".join(out.split()),
                  f"the archive's line says its room:\n{out}")
            errors = st["counters"]["errors"]
            # Automatic passes (new files arrive) back off: no retry, no new error.
            for i in range(5):
                write(d.path("z", f"n{i}.bin"), b"n" * 10)
                d.settle()
            equal(d.status()["counters"]["errors"], errors, "automatic passes back off")
            equal(d.logtext().count("is full ("), 2, "said once in the log (archive, zone)")
            # Room is freed: an explicit sweep acts at once, in its own reply.
            os.unlink(filler)
            t0 = time.monotonic()
            r = d.ctl("--json", "sweep")
            took = time.monotonic() - t0
            equal(r.returncode, 0, f"sweep: {r.stderr}")
            acts = json.loads(r.stdout)["actions"]
            equal(sorted(os.path.basename(a["path"]) for a in acts if a["action"] == "archive"),
                  [f"f{i}.bin" for i in range(4)], f"archived by the sweep itself ({acts})")
            check(took < 10, f"at once: {took:.1f}s")
            st = d.status()
            equal(st["archive"]["full"], None, "the archive takes files again")
            why = (st["zones"][0]["blocked"] or {}).get("why", "")
            check("archive" not in why, f"the cause now is another: {why!r}")
            # A reservation acts at once too: full again, two more old files refused...
            vfs = os.statvfs(fs.path)
            write(filler, b"\0" * (vfs.f_bavail * vfs.f_frsize - 16 * 1024))
            for i in (4, 5):
                # Written outside and moved in: no write seen, old by their mtime.
                p = os.path.join(root, f"f{i}.bin")
                write(p, os.urandom(100 * 1024))
                old(p, OLD + 10 + i)
                os.rename(p, d.path("z", f"f{i}.bin"))
            d.settle()
            check(d.status()["archive"]["full"], "full again")
            # ... then room, and the reservation archives them in its own reply.
            os.unlink(filler)
            r = d.ctl("--json", "reserve", "z", "1K")
            equal(r.returncode, 0, f"reserve: {r.stdout} {r.stderr}")
            equal(sorted(os.path.basename(a["path"]) for a in json.loads(r.stdout)["actions"]),
                  ["f4.bin", "f5.bin"], "archived by the reservation itself")
        finally:
            if writer:
                writer.close()
            d.close()
    finally:
        fs.close(root)


@case
def index_rebuilt_from_tree():
    """state lost: the archive's index is rebuilt from the archive tree, restorable."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1d"'}],
               extra='archive = { path = "archive"; };', start=False)
    try:
        write(d.path("z", "a", "b.txt"), b"bee")
        old(d.path("z", "a", "b.txt"))
        d.start()
        d.settle()
        d.stop()
        os.unlink(os.path.join(d.root, "state", "archive.idx"))
        write(d.path("z", "a", "b.txt"), b"new bee")  # a clash for the next archive
        old(d.path("z", "a", "b.txt"))
        d.start()
        d.settle()
        es = ok(d.request({"cmd": "archive"}), "archive")["entries"]
        equal(sorted(e["path"] for e in es), [d.path("z", "a", "b.txt")] * 2, "both indexed")
        equal(sorted(os.path.basename(e["archive_path"]) for e in es), ["b.txt", "b.txt.~1~"],
              "a clash never overwrites")
        # the first one's mark kept its reason through the loss of the index
        equal([e["reason"] for e in es], ["max_age", "max_age"], "reasons kept")
        ok(d.request({"cmd": "restore", "path": d.path("z", "a", "b.txt")}), "restore")
        equal(open(d.path("z", "a", "b.txt"), "rb").read(), b"new bee", "newest restored")
    finally:
        d.close()


MARK = "user.sweepd.archived"


def entries_of(d):
    return ok(d.request({"cmd": "archive"}), "archive")["entries"]


@case
def archive_leaves_foreign_files_alone():
    """archive.path on a directory that already holds other files (a NAS share): they are
    never indexed, counted or purged, through a clean restart, the loss of state_dir and
    an index an older sweepd filled with them; sweepd's own files, moved within the
    filesystem and copied compressed from another one, are known again by their mark."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-", dir="/var/tmp")
    fs = Tmpfs(os.path.join(root, "fs"), "50M")
    try:
        arch = os.path.join(root, "archive")
        foreign = {
            os.path.join(arch, "nas", "backups", "db-2026-10.sql"): b"backup " * 1000,
            os.path.join(arch, "nas", "backups", "old", "2025", "db.sql"): b"older",
            os.path.join(arch, "z", "someone-elses.txt"): b"not sweepd's",  # in its zone's dir
            os.path.join(arch, "top-level.txt"): b"at the root",
        }
        for p, data in foreign.items():
            write(p, data)
            old(p)
        # a directory someone else owns, with a file that forges the mark: never looked at
        forged = os.path.join(arch, "evil", "z", "x.txt")
        write(forged, b"forged")
        os.setxattr(forged, MARK, b"sweepd 1 0 max_age 6 0")
        os.chown(os.path.dirname(forged), 65534, 65534)
        os.chown(os.path.join(arch, "evil"), 65534, 65534)
        foreign[forged] = b"forged"
        # zone w's directory in the archive is someone else's: sweepd stores nothing there
        os.makedirs(os.path.join(arch, "w"))
        os.chown(os.path.join(arch, "w"), 65534, 65534)
        d = Daemon(root=root, start=False,
                   zones=[{"name": "z", "path": "zone", "max_age": '"7d"'},
                          {"name": "t", "path": "fs", "max_age": '"7d"'},
                          {"name": "w", "path": "wzone", "max_age": '"7d"'}],
                   extra='archive = { path = "archive"; compress = "zstd"; keep = "30d"; };')
        try:
            own = {
                d.path("z", "a", "same-fs.txt"): b"moved by rename\n" * 100,
                # zstd's magic: a file that only looks compressed stays as it is
                d.path("z", "a", "looks.zst"): b"\x28\xb5\x2f\xfd" + b"not really" * 10,
                d.path("t", "b", "cross-fs.log"): b"copied and compressed\n" * 1000,
            }
            for p, data in own.items():
                write(p, data)
                # a mark its owner forged: replaced by sweepd's own
                os.setxattr(p, MARK, b"sweepd 1 0 manual 1 1")
                old(p)
            kept = d.path("w", "stays.txt")
            write(kept, b"stays")
            old(kept)
            d.start()
            d.settle()
            check(os.path.exists(kept) and os.listdir(os.path.join(arch, "w")) == [],
                  "nothing stored in someone else's directory")
            check(f"{arch}/w is not sweepd's" in d.logtext(), f"said why:\n{d.logtext()}")
            al = [a for a in d.status()["alarms"] if a["name"] == "archive_blocked"]
            equal([a["labels"] for a in al], [{"zone": "w", "path": f"{arch}/w"}],
                  "an alarm names the zone and the directory")

            def check_index(what):
                es = entries_of(d)
                equal(sorted(e["path"] for e in es), sorted(own), f"{what}: entries")
                for e in es:
                    check(not e["archive_path"].startswith(os.path.join(arch, "nas")),
                          f"{what}: foreign file indexed {e}")
                    equal(e["reason"], "max_age", f"{what}: reason of {e['path']}")
                    equal(e["bytes"], len(own[e["path"]]), f"{what}: bytes of {e['path']}")
                    check(os.getxattr(e["archive_path"], MARK).startswith(b"sweepd 1 "),
                          f"{what}: {e['archive_path']} carries the mark")
                st = d.status()["archive"]
                equal(st["files"], len(own), f"{what}: status counts only its own files")
                return es

            es = check_index("first start")
            check(any(e["archive_path"].endswith("cross-fs.log.zst") for e in es),
                  f"the tmpfs file was copied compressed: {es}")
            check("recovered after a crash" not in d.logtext(), "no crash to speak of")
            check("indexed again" not in d.logtext(), "nothing rebuilt on a first start")
            check("not sweepd's" in d.logtext(), "the foreign files are said to be left alone")

            d.stop()
            mark = d.logtext().count("\n")
            d.start()
            d.settle()
            later = d.logtext().split("\n", mark)[-1]
            check("recovered after a crash" not in later, f"clean restart:\n{later}")
            check("indexed again" not in later, f"clean restart rebuilds nothing:\n{later}")
            check_index("clean restart")

            # state_dir lost: its own files come back by their marks, reasons and sizes too
            d.stop()
            shutil.rmtree(os.path.join(root, "state"))
            mark = d.logtext().count("\n")
            d.start()
            d.settle()
            later = d.logtext().split("\n", mark)[-1]
            check("3 file(s) of sweepd's own indexed again" in later, f"rebuilt:\n{later}")
            check("recovered after a crash" not in later, f"a rebuild is no crash:\n{later}")
            check_index("state_dir lost")

            # an index an older sweepd wrote, with a foreign file adopted as "rebuilt"
            d.stop()
            sql = os.path.join(arch, "nas", "backups", "db-2026-10.sql")
            line = {"op": "add", "id": 999, "zone": "nas", "path": "", "archive_path": sql,
                    "bytes": 7000, "stored": 7000, "archived_at": 1, "reason": "rebuilt",
                    "compressed": False}
            with open(os.path.join(root, "state", "archive.idx"), "a") as f:
                f.write(json.dumps(line) + "\n")
            mark = d.logtext().count("\n")
            d.start()
            d.settle()
            later = d.logtext().split("\n", mark)[-1]
            check("1 index entr(ies) dropped" in later, f"the adopted entry dropped:\n{later}")
            check_index("old index")

            # an older sweepd's own entries, its files unmarked: kept, and marked now
            d.stop()
            idx = os.path.join(root, "state", "archive.idx")
            with open(idx) as f:
                lines = [json.loads(l) for l in f]
            for l in lines:
                l.pop("marked", None)
                if l.get("op") == "add":
                    os.removexattr(l["archive_path"], MARK)
            with open(idx, "w") as f:
                f.write("".join(json.dumps(l) + "\n" for l in lines))
            d.start()
            d.settle()
            check_index("older sweepd's index")  # every file carries its mark again

            # purge everything: only its own files go; restore a rebuilt one first
            looks = d.path("z", "a", "looks.zst")
            e = [e for e in entries_of(d) if e["path"] == looks][0]
            ok(d.request({"cmd": "restore", "id": e["id"]}), "restore")
            equal(open(looks, "rb").read(), own[looks], "restored as it was, not decompressed")
            check(MARK not in os.listxattr(looks), "a restored file loses the mark")
            r = ok(d.request({"cmd": "purge", "older_than": 0}), "purge")
            equal(r["purged"], 2, f"purged only its own: {r}")
            for p, data in foreign.items():
                equal(open(p, "rb").read(), data, f"foreign file {p} untouched")
            equal(entries_of(d), [], "archive empty")
            equal(d.status()["archive"]["files"], 0, "nothing counted")
            equal(sorted(files_under(arch)), sorted(foreign), "only the foreign files remain")
        finally:
            d.close()
    finally:
        fs.close(root)


def check_refused(conf_text, root, fragment, what):
    """sweepd -t and a start both refuse conf_text, saying fragment with file:line."""
    conf = os.path.join(root, "sweepd.conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    for args in (["-t"], []):
        p = subprocess.run([os.environ.get("SWEEPD_BIN", "build/sweepd"), *args, "-c", conf],
                           capture_output=True, text=True, timeout=WAIT)
        equal(p.returncode, 1, f"{what}: sweepd {args} exit status ({p.stdout}{p.stderr})")
        out = p.stdout + p.stderr
        check(fragment in out and "sweepd.conf:" in out, f"{what}: {args} says {out!r}")


@case
def own_paths_and_root_refused():
    """-t (and a start) refuse a zone on /, a zone inside the archive, an archive inside a
    zone, a zone holding state_dir or the configuration file."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    try:
        os.makedirs(os.path.join(root, "arch", "inner"))
        os.makedirs(os.path.join(root, "zone", "state"))
        sock = f'socket = {{ path = "{root}/s.sock"; }};\n'
        check_refused(sock + 'state_dir = "st";\nzones = ( { name = "r"; path = "/"; } );\n',
                      root, 'zone "r" is on /', "zone on /")
        check_refused(sock + 'state_dir = "st";\narchive = { path = "arch"; };\n'
                      'zones = ( { name = "z"; path = "arch/inner"; } );\n',
                      root, "is inside the archive", "zone inside the archive")
        check_refused(sock + 'state_dir = "st";\narchive = { path = "zone/arch"; };\n'
                      'zones = ( { name = "z"; path = "zone"; } );\n',
                      root, "is inside zone", "archive inside a zone")
        check_refused(sock + 'state_dir = "zone/state";\n'
                      'zones = ( { name = "z"; path = "zone"; } );\n',
                      root, "state_dir", "state_dir inside a zone")
        check_refused(sock + 'state_dir = "/var/tmp/st-x";\nzones = ( { name = "z"; path = "."; } );\n',
                      root, "holds the configuration file", "config inside a zone")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@case
def restore_into_a_directory_moved_meanwhile():
    """The directory a restore writes into is renamed out of the zone while the archived copy
    is decompressed into it: the file is not left there, and it stays in the archive."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "t"), "512m")
    d = None
    try:
        d = Daemon(zones=[{"name": "z", "path": "t/zone", "max_age": '"7d"'}],
                   extra='archive = { path = "archive"; compress = "zstd"; };', root=root,
                   start=False)
        big = d.path("z", "big.txt")
        write(big, b"compressible line\n" * (12 << 20))  # 216 MB: decompressing takes a while
        old(big)
        d.start()
        d.settle()
        (e,) = entries_of(d)
        check(e["archive_path"].endswith(".zst"), "archived compressed")
        u = d.path("z", "u")
        os.mkdir(u)
        outside = os.path.join(root, "t", "outside")
        req = subprocess.Popen([SWEEPCTL, "-s", d.sock, "restore", "--to",
                                os.path.join(u, "big.txt"), str(e["id"])],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The unnamed file the daemon fills shows in its descriptors as u/#INODE (deleted).
        fd_dir = f"/proc/{d.proc.pid}/fd"
        deadline = time.monotonic() + WAIT
        seen = False
        while not seen and req.poll() is None and time.monotonic() < deadline:
            for fd in os.listdir(fd_dir):
                try:
                    seen = seen or os.readlink(os.path.join(fd_dir, fd)).startswith(u + "/#")
                except OSError:
                    pass
        check(seen, "the restore was caught while it copied into u")
        os.rename(u, outside)
        out, err = req.communicate(timeout=WAIT)
        equal(req.returncode, 1, f"refused: {out}{err}")
        check("was moved or replaced" in err, err)
        equal(os.listdir(outside), [], "nothing left outside the zone")
        (again,) = entries_of(d)
        equal(again["id"], e["id"], "still in the archive")
        check(os.path.exists(again["archive_path"]), "its archived copy is there")
    finally:
        if d:
            d.close()
        fs.close(root)


@case
def link_in_a_shared_archive():
    """In a shared (1777) archive a user puts a symbolic link where the zone's directory goes:
    nothing is written through it, the zone's files stay, an alarm says why once, and
    once the link is gone the files go."""
    target = tempfile.mkdtemp(prefix="sweepd-e2e-target-")
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"7d"'}],
               extra='archive = { path = "share"; };', start=False)
    try:
        share = os.path.join(d.root, "share")
        os.makedirs(share)
        os.chmod(d.root, 0o755)
        os.chmod(share, 0o1777)
        subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        "ln", "-s", target, os.path.join(share, "z")], check=True)
        f = d.path("z", "old.txt")
        write(f, b"stays")
        old(f)
        d.start()
        d.settle()
        for _ in range(3):
            r = d.request({"cmd": "sweep"})  # says the file stayed, and why
            check(not r["ok"] and "symbolic link" in r["error"]
                  and [x["path"] for x in r["failed"]] == [f], f"sweep: {r}")
        check(os.path.exists(f), "the file stays in its zone")
        equal(os.listdir(target), [], "nothing written through the link")
        al = [a for a in d.status()["alarms"] if a["name"] == "archive_blocked"]
        equal(len(al), 1, f"one alarm: {al}")
        check("symbolic link" in al[0]["summary"] and "move it away" in al[0]["summary"],
              al[0]["summary"])
        equal(d.status()["counters"]["errors"], 0, "not an error at every pass")
        equal(d.logtext().count("is not sweepd's own"), 1, f"said once:\n{d.logtext()}")
        os.unlink(os.path.join(share, "z"))
        ok(d.request({"cmd": "sweep"}), "sweep")
        check(not os.path.exists(f), "archived once the link is gone")
        equal([a for a in d.status()["alarms"] if a["name"] == "archive_blocked"], [],
              "the alarm ended")
    finally:
        d.close()
        shutil.rmtree(target, ignore_errors=True)


def open_to_admins(d):
    """Opens d's socket to everyone, the group daemon being its admin_group."""
    conf = open(d.conf).read().replace(
        'path = "%s"; }' % d.sock,
        'path = "%s"; mode = "0666"; admin_group = "daemon"; }' % d.sock)
    with open(d.conf, "w") as f:
        f.write(conf)


@case
def restore_destination_checks():
    """A non-root admin_group member restores only inside a zone, beneath it through no
    link; nobody restores through '..', into the archive or state_dir; every refusal
    names the path and creates nothing; sweepctl sends a relative path absolute."""
    tag = os.urandom(4).hex()
    outside = [f"/root/sweepd-e2e-{tag}", f"/etc/cron.d/sweepd-e2e-{tag}",
               f"/etc/sweepd-e2e-{tag}"]
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"7d"'}],
               extra='archive = { path = "archive"; };', start=False)
    open_to_admins(d)
    try:
        z = d.path()
        os.chmod(d.root, 0o755)
        src = os.path.join(z, "mine.txt")
        write(src, b"nobody's file")
        os.chown(src, 65534, 65534)
        old(src)
        os.symlink("/etc", os.path.join(z, "link"))
        d.start()
        d.settle()
        (e,) = entries_of(d)
        ident = str(e["id"])
        ctl = os.path.abspath(SWEEPCTL)  # run from other working directories
        member = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--groups=daemon",
                  ctl, "-s", d.sock]

        def refused(to, fragment, cwd=None, who=member):
            p = subprocess.run(who + ["restore", ident, "--to", to], capture_output=True,
                               text=True, cwd=cwd, timeout=WAIT)
            equal(p.returncode, 1, f"restore --to {to} refused: {p.stdout}{p.stderr}")
            check(fragment in p.stderr, f"restore --to {to} says {fragment!r}: {p.stderr!r}")
            return p.stderr

        for p in outside[:2]:
            err = refused(p, "only root may restore outside the zones")
            check(p in err, f"names the path: {err}")
        err = refused(os.path.join(z, "..", "stray", "x"), '".." component')
        check(os.path.join(z, "..", "stray", "x") in err, f"names the path: {err}")
        err = refused(os.path.join(d.root, "archive", "z", "x"), "inside the archive")
        check(os.path.join(d.root, "archive", "z", "x") in err, err)
        err = refused(os.path.join(d.root, "state", "x"), "inside state_dir")
        err = refused(os.path.join(z, "link", f"sweepd-e2e-{tag}"), "symbolic link")
        check(os.path.join(z, "link") in err, f"names the link: {err}")
        # relative, from a working directory: "/" + x is outside every zone
        err = refused(f"sweepd-e2e-{tag}", "only root may", cwd="/")
        check(f"/sweepd-e2e-{tag}" in err, f"made absolute against the cwd: {err}")
        # root too: no ".."; never into the archive
        refused(os.path.join(z, "..", "stray", "y"), '".." component',
                who=[ctl, "-s", d.sock])
        refused(os.path.join(d.root, "archive", "z", "y"), "inside the archive",
                who=[ctl, "-s", d.sock])
        # root through a link: the error is about the link, not the archived copy
        err = refused(os.path.join(z, "link", f"sweepd-e2e-{tag}"), "symbolic link",
                      who=[ctl, "-s", d.sock])
        check(os.path.join(z, "link") in err and e["archive_path"] not in err, err)
        r = d.request({"cmd": "restore", "id": e["id"], "to": "rel/x"})
        check(not r["ok"] and "must be an absolute path" in r["error"]
              and "rel/x" in r["error"], f"relative to over the socket: {r}")
        for p in outside + [f"/sweepd-e2e-{tag}", os.path.join(d.root, "stray"),
                            os.path.join(d.root, "archive", "z", "x"),
                            os.path.join(d.root, "state", "x")]:
            check(not os.path.lexists(p), f"nothing made at {p}")
        equal([x["id"] for x in entries_of(d)], [e["id"]], "still in the archive")
        # a relative path inside the zone, from the zone: restored there, as nobody's
        p = subprocess.run(member + ["restore", ident, "--to", "back/again.txt"],
                           capture_output=True, text=True, cwd=z, timeout=WAIT)
        equal(p.returncode, 0, f"relative restore inside the zone: {p.stderr}")
        got = os.path.join(z, "back", "again.txt")
        equal(open(got, "rb").read(), b"nobody's file", "restored inside the zone")
        equal(os.stat(os.path.join(z, "back")).st_uid, 65534, "parent made as the file's")
        # the same id again
        p = subprocess.run(member + ["restore", ident], capture_output=True, text=True,
                           timeout=WAIT)
        equal(p.returncode, 1, "second restore refused")
        check(f"no archive entry has id {ident}" in p.stderr and "restored or purged" in
              p.stderr, f"says why: {p.stderr}")
    finally:
        for p in outside + [f"/sweepd-e2e-{tag}"]:
            if os.path.lexists(p):
                os.unlink(p)
        d.close()


@case
def archive_without_xattrs():
    """An archive on a filesystem that keeps no extended attributes (ramfs): made or found
    empty, all of sweepd's directories are its own and a lost index is rebuilt; one that
    held other files when first used (or whose claim is someone else's) leaves them alone,
    and says that a lost index would leave its own files unindexed (never deleted)."""
    for shared in (False, True):
        root = tempfile.mkdtemp(prefix="sweepd-e2e-", dir="/var/tmp")
        arch = os.path.join(root, "archive")
        os.makedirs(arch)
        subprocess.run(["mount", "-t", "ramfs", "ramfs", arch], check=True)
        try:
            other = os.path.join(arch, "z", "theirs.txt")
            if shared:
                write(other, b"theirs")
                # a claim someone else wrote claims nothing
                claim = os.path.join(arch, CLAIM)
                write(claim, b"sweepd archive: forged\nclaimed: empty\n")
                os.chown(claim, 65534, 65534)
            d = Daemon(root=root, start=False,
                       zones=[{"name": "z", "path": "zone", "max_age": '"7d"'}],
                       extra='archive = { path = "archive"; compress = "off"; };')
            try:
                src = d.path("z", "d", "mine.txt")
                write(src, b"mine")
                old(src)
                d.start()
                d.settle()
                es = entries_of(d)
                equal([e["path"] for e in es], [src], f"shared={shared}: only its own file")
                check(("keeps no extended attributes" in d.logtext()) == shared,
                      f"shared={shared}: warned only when shared:\n{d.logtext()}")
                d.stop()
                shutil.rmtree(os.path.join(root, "state"))
                d.start()
                d.settle()
                es = entries_of(d)
                if shared:
                    equal(es, [], "no mark to prove it: not indexed again")
                    equal(open(os.path.join(arch, "z", "d", "mine.txt"), "rb").read(), b"mine",
                          "but never deleted")
                    equal(open(other, "rb").read(), b"theirs", "theirs untouched")
                else:
                    equal([e["path"] for e in es], [src], "claimed empty: rebuilt")
                    ok(d.request({"cmd": "restore", "id": es[0]["id"]}), "restore")
                    equal(open(src, "rb").read(), b"mine", "restored")
            finally:
                d.close()
        finally:
            subprocess.run(["umount", "-l", arch], check=False)
            shutil.rmtree(root, ignore_errors=True)


@case
def restore_through_a_bind_mount_refused():
    """Issue 11: root's restore never lands in state_dir or the archive reached by another
    name (a bind mount of either, or of a directory below them): every directory on the
    way is compared, by device and inode, with sweepd's own and walked up in its
    filesystem's tree; the refusal names the path and creates nothing."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"7d"'}],
               extra='archive = { path = "archive"; };', start=False)
    mounts = []
    try:
        src = d.path("z", "f.txt")
        write(src, b"eff")
        old(src)
        d.start()
        d.settle()
        (e,) = entries_of(d)
        os.makedirs(os.path.join(d.root, "state", "below"))
        for name, what in (("state", "state_dir"), ("archive", "the archive"),
                           ("state/below", "state_dir"), ("archive/z", "the archive")):
            # the directory itself, or one below it (whose mount's ".." leads elsewhere)
            x = os.path.join(d.root, "x" + name.replace("/", "-"))
            os.makedirs(x)
            subprocess.run(["mount", "--bind", os.path.join(d.root, name), x], check=True)
            mounts.append(x)
            for to in (os.path.join(x, "f"), os.path.join(x, "sub", "f")):
                r = d.ctl("restore", "--to", to, str(e["id"]))
                err = r.stderr.decode()
                equal(r.returncode, 1, f"restore --to {to} refused: {r.stdout}{err}")
                check(x in err and what in err and "bind mount" in err
                      and "restore into a zone" in err, f"says where and why: {err!r}")
                check(not os.path.lexists(to) and not os.path.lexists(os.path.join(x, "sub")),
                      f"nothing made under {x}")
        equal([x["id"] for x in entries_of(d)], [e["id"]], "still in the archive")
        ok(d.request({"cmd": "restore", "id": e["id"]}), "restore to its own path")
        equal(open(src, "rb").read(), b"eff", "restored")
    finally:
        for m in mounts:
            subprocess.run(["umount", "-l", m], check=False)
        d.close()


def forge_bytes(path, bytes_):
    """Writes bytes_ as the size in the mark on path, as a user holding it open can."""
    v = os.getxattr(path, MARK).decode().split(" ")
    v[4] = str(bytes_)
    os.setxattr(path, MARK, " ".join(v).encode())


@case
def forged_size_in_a_mark():
    """Issue 11: after a lost state_dir, an entry rebuilt from the tree holds no more than
    its file: a plain copy its size, whatever its mark says; a .zst never more than its
    frame could hold. (The owner of a file archived by a rename can keep a descriptor on
    it and write its mark; the test writes it as root.)"""
    forged = 931 * 1024 ** 3
    for compressed in (False, True):
        root = tempfile.mkdtemp(prefix="sweepd-e2e-")
        fs = Tmpfs(os.path.join(root, "archive"), "16M") if compressed else None
        try:
            d = Daemon(root=root, start=False,
                       zones=[{"name": "z", "path": "zone", "max_age": '"7d"'}],
                       extra='archive = { path = "archive"; compress = "%s"; };'
                       % ("zstd" if compressed else "off"))
            try:
                src = d.path("z", "mine.txt")
                data = b"mine, and compressible. " * 4000
                write(src, data)
                os.chown(src, 65534, 65534)
                old(src)
                d.start()
                d.settle()
                (e,) = entries_of(d)
                equal(e["archive_path"].endswith(".zst"), compressed, "stored as meant")
                d.stop()
                forge_bytes(e["archive_path"], forged)
                shutil.rmtree(os.path.join(root, "state"))
                d.start()
                d.settle()
                (e2,) = entries_of(d)
                stored = os.path.getsize(e2["archive_path"])
                if compressed:
                    check(e2["bytes"] <= stored * 32768 and e2["bytes"] < forged,
                          f"a .zst holds what its frame can: {e2['bytes']} from {stored}")
                else:
                    equal(e2["bytes"], len(data), "a plain copy holds its size")
                out = d.ctl("archive").stdout.decode()
                check("931" not in out, f"sweepctl archive shows no forged size:\n{out}")
                ok(d.request({"cmd": "restore", "id": e2["id"]}), "restore")
                equal(open(src, "rb").read(), data, "restored whole")
            finally:
                d.close()
        finally:
            if fs:
                fs.close(root)
            else:
                shutil.rmtree(root, ignore_errors=True)


@case
def restore_errors_say_what_to_do():
    """Issue 11: a restore that fails for want of room, or because the zone's directory
    is gone, names the path and says what to do; the entry stays in the archive."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "zt"), "1M")
    try:
        d = Daemon(root=root, start=False,
                   zones=[{"name": "z", "path": "zt/z", "max_age": '"7d"'}],
                   extra='archive = { path = "archive"; compress = "off"; };')
        open_to_admins(d)
        try:
            os.chmod(root, 0o755)
            src = d.path("z", "big.bin")
            data = os.urandom(600 * 1024)
            write(src, data)
            old(src)
            d.start()
            d.settle()
            (e,) = entries_of(d)
            filler = os.path.join(fs.path, "filler")
            write(filler, b"\0" * (700 * 1024))
            r = d.ctl("restore", str(e["id"]))
            err = r.stderr.decode()
            equal(r.returncode, 1, f"no room: {err}")
            check(src in err and "stays in the archive" in err
                  and f"free room on the filesystem of {d.path()}" in err
                  and "restore again" in err, f"says where and what to do: {err!r}")
            os.unlink(filler)
            os.rmdir(d.path())
            d.settle()
            member = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--groups=daemon",
                      SWEEPCTL, "-s", d.sock]
            p = subprocess.run(member + ["restore", str(e["id"])], capture_output=True,
                               text=True, timeout=WAIT)
            equal(p.returncode, 1, f"zone gone: {p.stderr}")
            check(d.path() in p.stderr and "make the zone's directory again" in p.stderr
                  and "restore again" in p.stderr, f"says what to do: {p.stderr!r}")
            equal([x["id"] for x in entries_of(d)], [e["id"]], "still in the archive")
            os.makedirs(d.path())
            ok(d.request({"cmd": "restore", "id": e["id"]}), "restore once there is room")
            equal(open(src, "rb").read(), data, "restored whole")
        finally:
            d.close()
    finally:
        fs.close(root)


@case
def young_emptied_directory_stays():
    """Issue 11: prune_empty_dirs removes a directory the sweep emptied only once its own
    mtime (as its users left it) is older than min_age: one just made, that a loop is
    filling, stays and takes new files; set older, it goes at the next pass."""
    d = Daemon(zones=[{"name": "z1", "path": "z1", "max_age": '"1h"', "min_age": '"1m"',
                       "action": '"delete"'}], start=False)
    try:
        z = d.path("z1")
        for name in ("many", "later", "aged"):
            write(os.path.join(z, name, "sub", "f0"), b"x")
            old(os.path.join(z, name, "sub", "f0"))
        for p in ("aged/sub", "aged"):
            old(os.path.join(z, p))
        d.start()
        d.settle()
        for name in ("many", "later"):
            check(not os.path.exists(os.path.join(z, name, "sub", "f0")), "old file swept")
            check(os.path.isdir(os.path.join(z, name, "sub")), "a young emptied directory stays")
        check(not os.path.exists(os.path.join(z, "aged")), "an old emptied directory goes")
        # The loop that is filling one goes on without ENOENT, sweeps in between.
        for i in range(1, 50):
            write(os.path.join(z, "many", "sub", f"f{i}"), b"y")
            if i % 10 == 0:
                ok(d.request({"cmd": "sweep"}), "sweep while the loop writes")
        equal(len(os.listdir(os.path.join(z, "many", "sub"))), 49, "the loop's files")
        # Once its directories are older than min_age, the next pass prunes them.
        ok(d.request({"cmd": "sweep"}), "sweep")
        check(os.path.isdir(os.path.join(z, "later", "sub")), "still young: still there")
        old(os.path.join(z, "later", "sub"))
        old(os.path.join(z, "later"))
        ok(d.request({"cmd": "sweep"}), "sweep")
        check(not os.path.exists(os.path.join(z, "later")), "the aged emptied directories go")
        equal(os.listdir(z), ["many"], "the zone root and the filled directory stay")
    finally:
        d.close()

if __name__ == "__main__":
    main()
