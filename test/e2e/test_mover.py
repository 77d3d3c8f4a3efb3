"""The mover (file work off the event loop), against the real daemon, real files and real
filesystems: large archives at level 12 from a tmpfs zone to an archive on the disk, with
status, rotation, a burst of new files, SIGTERM and pause going on meanwhile.
Run one: python3 test_mover.py NAME; all: no argument.

Synchronisation is READY=1, settle and polling status (a loop bounded by WAIT), never a
sleep. Timings are recorded and printed, not asserted, beyond generous sanity bounds: the
figures belong to test/bench/mover_bench.py."""

import hashlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from harness import Daemon, Failure, case, check, equal, main, WAIT
from test_sweep import Tmpfs, audit, files_under, ok, old

MB = 1 << 20
POLL = 0.02  # seconds between two looks at status in a poll loop: pacing, not synchronisation


def compressible(path, size, fresh=128 << 10):
    """size bytes of a file unlike any other, which zstd level 12 squeezes 10 to 50 times:
    each MiB is the file's own random base block, which the compressor finds again by
    matching (fast), whose first `fresh` bytes are new sparse random bytes among zeros,
    through which level 12 has to search (slow). With 128 KiB fresh, one core here
    archives some 150 to 400 MB/s, with 512 KiB some 50 to 150 MB/s, as other work on the
    machine allows. Returns its sha256."""
    base = os.urandom(MB)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(size // MB):
            r = os.urandom(fresh // 8)
            head = b"".join(r[i:i + 64] + bytes(448) for i in range(0, len(r), 64))
            block = head + base[len(head):]
            h.update(block)
            f.write(block)
    return h.hexdigest()


def log_text(size):
    """Log-like lines (timestamps, levels, ids, words) of about size bytes."""
    words = b"request served cache miss upstream timeout retry user job render frame".split()
    lines = []
    n = 0
    k = 0
    while n < size:
        line = b"2026-11-22T10:%02d:%02d.%06dZ %s job=%08x %s %s %d\n" % (
            k // 60000 % 60, k // 1000 % 60, k * 7919 % 1000000, (b"INFO", b"WARN", b"DEBUG")[k % 3],
            k * 2654435761 % 2**32, words[k % len(words)], words[k * 7 % len(words)], k * 31 % 9973)
        lines.append(line)
        n += len(line)
        k += 1
    return b"".join(lines)


def sha_stream(f):
    h = hashlib.sha256()
    for chunk in iter(lambda: f.read(MB), b""):
        h.update(chunk)
    return h.hexdigest()


def content_sha(path):
    """The sha256 of a file's content, decompressed first when it is a .zst copy."""
    if not path.endswith(".zst"):
        with open(path, "rb") as f:
            return sha_stream(f)
    p = subprocess.Popen(["zstd", "-dcq", path], stdout=subprocess.PIPE)
    got = sha_stream(p.stdout)
    equal(p.wait(WAIT), 0, f"zstd -dc {path}")
    return got


def each_whole_in_one_place(sums, zone_dir, archive_dir, what):
    """Every original (by its sha256) exactly once, in its zone or in the archive, and
    nothing else in either: no partial copy, no temporary file."""
    found = {}
    for p in files_under(zone_dir) + files_under(archive_dir):
        found.setdefault(content_sha(p), []).append(p)
    for s, path in sums.items():
        places = found.pop(s, [])
        equal(len(places), 1, f"{what}: places holding {path} whole ({places})")
    equal(found, {}, f"{what}: files that are no original, whole")


def big_files(directory, count, size, fresh=128 << 10):
    """count compressible files of size bytes, made old: due for max_age at once. Returns
    {sha256: path}."""
    sums = {}
    for i in range(count):
        p = os.path.join(directory, f"render{i}.bin")
        sums[compressible(p, size, fresh)] = p
        old(p)
    return sums


class Setup:
    """A tmpfs zone "out" of size fs_size (max_age 1d: what is put there old goes at once)
    archived across filesystems into an archive on the disk at level 12, and more zones."""

    def __init__(self, fs_size, zones=(), extra="", out=None):
        self.root = tempfile.mkdtemp(prefix="sweepd-e2e-", dir="/var/tmp")
        self.fs = Tmpfs(os.path.join(self.root, "fs"), fs_size)
        try:
            self.d = Daemon(root=self.root, start=False,
                            zones=[{"name": "out", "path": "fs", "max_age": '"1d"', **(out or {})},
                                   *zones],
                            extra='archive = { path = "archive"; compress = "zstd"; '
                                  'level = 12; };\n' + extra)
        except BaseException:
            self.fs.close(self.root)
            raise
        self.archive = os.path.join(self.root, "archive")

    def close(self):
        try:
            self.d.close()
        finally:
            self.fs.close(self.root)


def running_jobs(st, action="archive"):
    return [j for j in st["jobs"] if j["running"] and j["action"] == action]


def wait_status(d, pred, what):
    """Polls status until pred(status) holds; returns that status."""
    deadline = time.monotonic() + WAIT
    while True:
        st = d.status()
        if pred(st):
            return st
        if time.monotonic() > deadline:
            raise Failure(f"{what}: not within {WAIT} s; status jobs {st['jobs']}, "
                          f"counters {st['counters']}")
        time.sleep(POLL)


def wait_copying(d, at_least=1):
    """Waits until an archive job runs and has copied at_least bytes; returns it."""
    st = wait_status(d, lambda s: any(j["done"] >= at_least for j in running_jobs(s)),
                     f"an archive job running past {at_least} bytes")
    return running_jobs(st)[0]


class StatusPoller(threading.Thread):
    """Asks status again and again (every POLL seconds) on a connection of its own each time,
    recording how long each answer took, until stopped. A request that fails or times out
    is recorded as an error."""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.d = d
        self.latencies = []
        self.errors = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            t0 = time.monotonic()
            try:
                r = self.d.request({"cmd": "status"})
                if not r.get("ok"):
                    self.errors.append(repr(r)[:200])
            except Exception as e:  # recorded, judged by the test
                self.errors.append(f"{type(e).__name__}: {e}")
            self.latencies.append(time.monotonic() - t0)
            self.halt.wait(POLL)

    def stop(self):
        self.halt.set()
        self.join(WAIT)

    def summary(self):
        lat = sorted(self.latencies)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return (f"{len(lat)} status answers: median {statistics.median(lat) * 1000:.1f} ms, "
                f"p99 {p99 * 1000:.1f} ms, worst {lat[-1] * 1000:.1f} ms")


def metric(d, name):
    text = ok(d.request({"cmd": "metrics"}), "metrics")["text"]
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    check(m, f"metric {name} in:\n{text}")
    return float(m.group(1))


def archived_whole(d, sums):
    """Every archive entry's copy decompresses to the file it came from."""
    entries = ok(d.request({"cmd": "archive"}), "archive")["entries"]
    want = {p: s for s, p in sums.items()}
    for e in entries:
        check(e["path"] in want, f"an archive entry for a file of ours: {e}")
        equal(content_sha(e["archive_path"]), want[e["path"]], f"archived {e['path']}")
    return entries


CREATOR = """
import os, sys
base, n, per = sys.argv[1], int(sys.argv[2]), 300
for i in range(n):
    if i % per == 0:
        os.mkdir(os.path.join(base, f"job{i // per:03d}"))
    with open(os.path.join(base, f"job{i // per:03d}", f"frame{i:05d}.png"), "wb") as f:
        f.write(b"x" * (i % 200))
"""


@case
def status_answers_during_a_long_archive():
    """Three 400 MB files archived across filesystems at level 12, a 600 MB log rotated with
    zstd, and 30,000 new files created in a third zone, all at once: every status request
    answers (each within 5 s; the latencies are printed), the new zone's table matches the
    disk, and the inotify queue never overflowed."""
    s = Setup("1800M", zones=[
        {"name": "logs", "path": "logs", "include": '[ "*.log" ]',
         "rotate": '{ size = "590M"; compress = "zstd"; level = 3; }'},
        {"name": "new", "path": "new"}])
    d = s.d
    poller = None
    try:
        # Slower to compress: the archive lasts through the burst and the rotation.
        sums = big_files(s.fs.path, 3, 400 * MB, fresh=512 << 10)
        chunk = log_text(8 * MB)  # a log of 75 of these: 8 MiB apart, no help to zstd -3
        d.start()
        poller = StatusPoller(d)
        poller.start()
        wait_copying(d)
        creator = subprocess.Popen([sys.executable, "-c", CREATOR, d.zones["new"], "30000"])
        live = os.path.join(d.zones["logs"], "app.log")
        with open(live, "ab") as f:  # O_APPEND, as a logger
            for _ in range(75):
                f.write(chunk)
                f.flush()
        equal(creator.wait(WAIT), 0, "the creator of 30,000 files")
        wait_status(d, lambda st: st["counters"]["rotated"] >= 1, "the 600 MB log rotated")
        busy = d.status()
        d.settle()
        poller.stop()
        print(f"  {poller.summary()}")
        print(f"  once the burst was in and the log rotated: jobs "
              f"{[(j['action'], j['running'], j['done'] >> 20) for j in busy['jobs']]}")
        equal(poller.errors, [], "status requests that failed")
        st = d.status()
        z = d.expect_matches_disk("new", "after 30,000 files")
        equal(z["files"], 30000, "the new zone's files")
        d.expect_matches_disk("out", "after the archive")
        equal(d.zone("logs")["files"], 1, "the live log alone counted (its copies match no include)")
        equal(st["jobs"], [], "no job left after settle")
        equal(st["mover"]["queue"], {"archive": 0, "quick": 0, "logs": 0, "asked": 0, "remote": 0}, "mover queues")
        check(st["mover"]["jobs"] >= 3, f"mover jobs: {st['mover']}")
        equal(st["counters"]["archived"], 3, "archived")
        equal(st["counters"]["errors"], 0, "errors")
        entries = archived_whole(d, sums)
        equal(len(entries), 3, "archive entries")
        cs = [p for p in os.listdir(d.zones["logs"]) if p.startswith("app.log-")]
        check(cs and all(c.endswith(".zst") for c in cs), f"a compressed copy: {cs}")
        for c in cs:
            r = subprocess.run(["zstd", "-tq", os.path.join(d.zones["logs"], c)],
                               capture_output=True, timeout=WAIT)
            equal(r.returncode, 0, f"zstd -t {c}: {r.stderr!r}")
        # The loop's own promises last, together: one may fail without hiding the other.
        overflows = (st["counters"]["overflows"], metric(d, "sweepd_overflows_total"))
        slow = [round(x, 2) for x in poller.latencies if x >= 1]
        print(f"  inotify queue overflows {overflows[0]}, status answers of 1 s or more: {slow}")
        check(overflows == (0, 0) and max(poller.latencies) < 5,
              f"no inotify queue overflow (status, metrics: {overflows}) and each status "
              f"within 5 s ({poller.summary()}; those of a second or more: {slow})")
    finally:
        if poller and poller.is_alive():
            poller.stop()
        s.close()


@case
def jobs_show_progress_during_a_copy():
    """During a long archive across filesystems, status.jobs shows the running archive
    job with done growing and never past bytes, and sweepctl status a progress line."""
    s = Setup("600M")
    d = s.d
    try:
        sums = big_files(s.fs.path, 1, 400 * MB, fresh=512 << 10)  # seconds long
        (path,) = sums.values()
        d.start()
        seen, line, rated = [], None, None
        deadline = time.monotonic() + WAIT
        while True:
            st = d.status()
            jobs = [j for j in st["jobs"] if j["path"] == path]
            if not jobs:
                if st["counters"]["archived"]:
                    break
            else:
                (j,) = jobs
                equal((j["action"], j["bytes"]), ("archive", 400 * MB), f"the job: {j}")
                check(j["done"] <= j["bytes"], f"done past bytes: {j}")
                if j["running"]:
                    check(j["started"] <= time.time() + 1, f"started: {j}")
                    seen.append(j["done"])
                    # One line early, and one once it has run a second (with a rate then).
                    if (line is None or rated is None and j["elapsed"] >= 1) \
                            and 0 < j["done"] < j["bytes"] * 3 // 4:
                        # Whole with --wide; at 80 columns a long line goes on below.
                        got = []
                        for args in (["status"], ["status", "--wide"]):
                            out = d.ctl(*args)
                            equal(out.returncode, 0, f"sweepctl {args}: {out.stderr!r}")
                            text = out.stdout.decode()
                            got.append(next((x for x in text.splitlines()
                                             if x.startswith("> archive ")), ""))
                            check(got[-1], f"a progress line in sweepctl {args}:\n{text}")
                        got = got[1]
                        if line is None:
                            line = got
                        else:
                            rated = got
            if time.monotonic() > deadline:
                raise Failure(f"archive not done within {WAIT} s: {st['jobs']}")
            time.sleep(POLL)
        print(f"  {len(seen)} looks at the running job, {len(set(seen))} distinct done values")
        print(f"  sweepctl: {line}")
        print(f"  sweepctl later: {rated}")
        head = re.escape(f"> archive {path}: ") + r"\d{1,2}% of 400M"
        check(re.fullmatch(head + r"(, \S+/s, .+ left)?", line), f"the progress line: {line!r}")
        if rated:  # taken a second after the start: the rate and time left are there
            check(re.fullmatch(head + r", \d\S*/s, \S.* left", rated),
                  f"the progress line with a rate: {rated!r}")
        equal(seen, sorted(seen), "done never goes back")
        mid = sorted(set(x for x in seen if 0 < x < 400 * MB))
        check(len(mid) >= 3, f"done grows through the copy: {mid}")
        d.settle()
        equal(d.status()["jobs"], [], "no job once it is in")
        archived_whole(d, sums)
        equal(files_under(s.fs.path), [], "the zone emptied")
    finally:
        s.close()


@case
def sigterm_during_a_long_copy():
    """SIGTERM in the middle of a long copy: the daemon exits 0 within 5 s (printed), and
    after the next start and settle each file is whole in exactly one place, its zone or
    the archive, with nothing partial left in the archive."""
    s = Setup("1400M")
    d = s.d
    try:
        sums = big_files(s.fs.path, 3, 300 * MB)
        d.start()
        j = wait_copying(d, 100 * MB)
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        rc = d.proc.wait(WAIT)
        took = time.monotonic() - t0
        d.proc = None
        d.logf.close()
        print(f"  SIGTERM at {j['done'] >> 20} MiB of {j['path']}: exited in {took:.2f} s")
        log = d.logtext()
        check("AddressSanitizer" not in log and "runtime error" not in log
              and "LeakSanitizer" not in log, f"sanitizer report:\n{log}")
        equal(rc, 0, f"exit status after SIGTERM (log:\n{log})")
        check(took < 5, f"exited within 5 s of SIGTERM: {took:.2f} s")
        check(not os.path.exists(d.sock), "socket left behind")
        # Before any recovery: what is named in the archive is whole.
        for p in files_under(s.archive):
            check(p.endswith(".zst"), f"only copies in the archive: {p}")
        each_whole_in_one_place(sums, s.fs.path, s.archive, "right after the stop")
        d.start()
        d.settle()
        each_whole_in_one_place(sums, s.fs.path, s.archive, "after the restart")
        equal(files_under(s.fs.path), [], "all archived after the restart")
        equal(len(ok(d.request({"cmd": "archive"}), "archive")["entries"]), 3, "entries")
        equal(d.status()["counters"]["errors"], 0, "errors after the restart")
    finally:
        s.close()


@case
def log_rotated_during_a_long_archive_queue():
    """A log crossing its rotation size while a queue of large archive jobs is in progress
    is rotated before the queue is done: its copy is there while status.jobs still lists
    archive jobs."""
    s = Setup("1800M", zones=[{"name": "logs", "path": "logs", "include": '[ "*.log" ]',
                               "rotate": '{ size = "1M"; compress = "zstd"; }'}])
    d = s.d
    try:
        sums = big_files(s.fs.path, 4, 300 * MB)
        text = log_text(2 * MB)
        d.start()
        wait_status(d, lambda st: any(j["done"] for j in running_jobs(st))
                    and st["mover"]["queue"]["archive"] >= 2,
                    "an archive under way with two more queued")
        live = os.path.join(d.zones["logs"], "app.log")
        with open(live, "ab") as f:
            f.write(text)
        t0 = time.monotonic()
        deadline = t0 + WAIT
        while not [p for p in os.listdir(d.zones["logs"]) if p.startswith("app.log-")]:
            check(time.monotonic() < deadline, f"no copy of the log within {WAIT} s")
            time.sleep(POLL)
        took = time.monotonic() - t0
        # The copy is in place a moment before the loop takes the rotation's result in.
        st = wait_status(d, lambda st: st["counters"]["rotated"] >= 1, "the rotation counted")
        print(f"  copy after {took:.2f} s; then jobs "
              f"{[(j['action'], j['running'], j['done'] >> 20) for j in st['jobs']]}")
        check([j for j in st["jobs"] if j["action"] == "archive"],
              f"archive jobs still listed once the log is rotated: {st['jobs']}")
        check(st["counters"]["archived"] < 4, f"the queue not done: {st['counters']}")
        check(st["counters"]["rotated"] >= 1, f"the rotation counted: {st['counters']}")
        d.settle()
        equal(d.status()["counters"]["archived"], 4, "the queue done in the end")
        archived_whole(d, sums)
        rot = [a for a in audit(d) if a["action"] == "rotate"]
        check(rot and rot[0]["reason"] == "rotate_size", f"audited rotation: {rot}")
        arch = [a for a in audit(d) if a["action"] == "archive"]
        check(rot[0]["time"] <= arch[-1]["time"], f"rotated before the last archive: {rot[0]}"
              f" / {arch[-1]}")
    finally:
        s.close()


@case
def pause_lets_the_running_job_finish():
    """pause during a long archive: the running job finishes (its file whole in the
    archive), the queued ones do not start while paused (out of status.jobs, their files
    in the zone), and after resume they go."""
    s = Setup("1400M")
    d = s.d
    try:
        sums = big_files(s.fs.path, 3, 300 * MB)
        d.start()
        j = wait_copying(d)
        ok(d.request({"cmd": "pause"}), "pause")
        st = d.status()
        check(st["paused"], "status says paused")
        check(all(x["running"] for x in st["jobs"]) and len(st["jobs"]) <= 1,
              f"only the running job left while paused: {st['jobs']}")
        equal(st["mover"]["queue"]["archive"], 0, "nothing queued while paused")
        d.settle()  # answers once the running job is in
        st = d.status()
        equal(st["jobs"], [], "no job runs once the running one is in")
        equal(st["counters"]["archived"], 1, "the running job finished")
        first = [p for p in sums.values() if p == j["path"]]
        equal(len(first), 1, f"the running job was one of ours: {j}")
        check(not os.path.exists(j["path"]), "its file left the zone")
        d.settle()  # and again: nothing starts while paused
        st = d.status()
        equal(st["jobs"], [], "no job started while paused")
        equal(st["counters"]["archived"], 1, "nothing more archived while paused")
        left = files_under(s.fs.path)
        equal(len(left), 2, f"the queued files stay in the zone: {left}")
        each_whole_in_one_place(sums, s.fs.path, s.archive, "while paused")
        ok(d.request({"cmd": "resume"}), "resume")
        d.settle()
        equal(files_under(s.fs.path), [], "after resume the others go")
        equal(d.status()["counters"]["archived"], 3, "archived after resume")
        archived_whole(d, sums)
        each_whole_in_one_place(sums, s.fs.path, s.archive, "after resume")
    finally:
        s.close()



@case
def short_work_never_waits_behind_a_copy():
    """With the archive lane (copies to another filesystem) held still and a copy queued
    in it, a due file of a delete zone is deleted, one of an archive zone on the archive's
    own filesystem is renamed into the archive, and an operator's restore is answered and
    done: each in a lane of its own (quick, asked). The held lane is what makes this
    certain; the copy goes on once it is released."""
    from test_rotate import LaneHold, jobs_of, until
    now = {"max_age": '"1d"', "min_age": '"0s"'}  # what the test writes is due at once
    s = Setup(64 * MB, out=now, zones=[dict(now, name="zips", path="zips", action='"delete"'),
                                       dict(now, name="near", path="near")])
    hold = None
    try:
        d = s.d
        d.start()
        kept = d.path("near", "kept.txt")
        with open(kept, "wb") as f:
            f.write(b"an old result, archived by a rename\n")
        old(kept)
        d.settle()
        (entry,) = ok(d.request({"cmd": "archive"}), "archive")["entries"]
        equal(entry["path"], kept, "the entry to restore")

        hold = LaneHold(d.proc.pid, "sweepd-archive")
        ((sha, render),) = big_files(d.zones["out"], 1, 8 * MB).items()
        until("the copy queued in the held lane",
              lambda: jobs_of(d, "render0.bin") == [("archive", False)])
        zip_ = d.path("zips", "videos_1.zip")
        near = d.path("near", "second.txt")
        for p in (zip_, near):
            with open(p, "wb") as f:
                f.write(b"due\n")
            old(p)
        until("the zip deleted", lambda: not os.path.exists(zip_))
        until("second.txt archived", lambda: not os.path.exists(near))
        r = d.request({"cmd": "restore", "id": entry["id"]})
        check(r.get("ok"), f"restore while the archive lane is held: {r}")
        check(os.path.exists(kept), "kept.txt back")
        equal(jobs_of(d, "render0.bin"), [("archive", False)], "the copy still queued")
        hold.release()
        hold = None
        d.settle()
        (e,) = [e for e in ok(d.request({"cmd": "archive"}), "archive")["entries"]
                if e["path"] == render]
        equal(content_sha(e["archive_path"]), sha, "the copy, once let go")
    finally:
        if hold:
            hold.release()
        s.close()



@case
def a_full_batch_of_copies_holds_no_delete():
    """A batch of 2,048 copies to another filesystem out to the archive lane, held still
    (ptrace), and more files due behind them: a zip due in a delete zone is still deleted
    at once, an admin's sweep of that zone says so, and a reload answers. (Before, one batch bound for all
    lanes kept every zone's pass waiting for the copies: the trial's zip waited minutes.)"""
    from test_rotate import LaneHold, until
    now = {"max_age": '"1d"', "min_age": '"0s"'}
    s = Setup(64 * MB, out=now, zones=[dict(now, name="zips", path="zips", action='"delete"')])
    hold = None
    try:
        d = s.d
        d.start()
        hold = LaneHold(d.proc.pid, "sweepd-archive")
        for i in range(2200):
            p = os.path.join(d.zones["out"], f"frame{i:05d}.png")
            with open(p, "wb") as f:
                f.write(b"x")
            old(p)
        until("a full batch of copies queued",
              lambda: d.status()["mover"]["queue"]["archive"] >= 2048)
        # status lists the first 100 queued jobs, and counts them all.
        st = d.status()
        check(len(st["jobs"]) <= 104 and st["mover"]["queued"] >= 2048,
              f"{len(st['jobs'])} jobs listed, {st['mover']['queued']} queued")
        out = d.ctl("status").stdout.decode()
        check(re.search(r"^> 20[4-9]\d more queued, ", out, re.M), f"sweepctl status:\n{out}")
        zip_ = d.path("zips", "videos_1.zip")
        with open(zip_, "wb") as f:
            f.write(b"zip")
        old(zip_)
        until("the zip deleted", lambda: not os.path.exists(zip_))
        with open(zip_, "wb") as f:
            f.write(b"zip")
        old(zip_)
        r = d.ctl("--json", "sweep", "zips")
        equal(r.returncode, 0, f"sweep zips: {r.stderr!r}")
        acts = json.loads(r.stdout)["actions"]
        check(not os.path.exists(zip_) or [a["path"] for a in acts] == [zip_],
              f"an admin's sweep of the zone deletes it: {acts}")
        # A reload answers within its few seconds, the copies still held (it waited
        # for every one of them, past sweepctl's 30 s).
        r = d.ctl("reload")
        equal(r.returncode, 0, f"reload with the copies held: {r.stderr!r}")
        check(d.status()["mover"]["queue"]["archive"] >= 2000, "the copies still queued")
        hold.release()
        hold = None
        d.settle()
        equal(d.zone("out")["files"], 0, "the copies went on once let go")
    finally:
        if hold:
            hold.release()
        s.close()


if __name__ == "__main__":
    main()
