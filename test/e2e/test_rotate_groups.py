"""Rotation groups, create, prerotate and empty logs (issue 15), against the real daemon
over its real socket. Run one: python3 test_rotate_groups.py NAME; all: no argument."""

import json
import os
import pwd
import grp
import stat
import subprocess
import tempfile

from harness import Daemon, case, check, equal, main, write, WAIT
from test_rotate import copies, reply_within, request_later, rotations, until
from test_sweep import audit, ok


def zone(rotate, include='[ "*.log" ]'):
    return {"name": "logs", "path": "logs", "include": include, "rotate": rotate}


def alarms(d, name):
    return [a for a in d.status()["alarms"] if a["name"] == name]


@case
def two_logs_in_one_directory_under_two_groups():
    """access.log and error.log side by side: the first group (access.log, by size) and
    the second (every other log, by day only) each take their own; explain and status
    say which group applies."""
    d = Daemon([zone('( { include = [ "access.log" ]; size = "64K"; keep = 2; compress = "off"; },'
                     '  { every = "1d"; keep = 30; } )')])
    try:
        logs = d.zones["logs"]
        write(d.path("logs", "access.log"), b"GET / 200\n" * 10000)
        write(d.path("logs", "error.log"), b"an error\n" * 10000)
        d.settle()
        equal(len(copies(logs, "access.log")), 1, "access.log, over its group's size, rotated")
        equal(copies(logs, "error.log"), [], "error.log, as big, follows the daily group")
        equal(os.path.getsize(d.path("logs", "error.log")), 90000, "error.log untouched")
        e = ok(d.request({"cmd": "explain", "path": d.path("logs", "error.log")}), "explain")
        equal((e["group"], e["group_include"], e["size_trigger"], e["state"]),
              (2, None, None, "kept"), f"error.log's group: {e}")
        check("rotate group 2 of 2 (every log)" in e["rule"], f"rule: {e['rule']}")
        check(e["next_rotation_at"] is not None, "a daily group has a next rotation")
        a = ok(d.request({"cmd": "explain", "path": d.path("logs", "access.log")}), "explain")
        equal((a["group"], a["group_include"], a["size_trigger"]), (1, ["access.log"], 65536),
              f"access.log's group: {a}")
        z = d.zone("logs")
        equal([g["include"] for g in z["rotate_groups"]], [["access.log"], None],
              "status lists each group")
        equal(z["rotate"]["size"], 65536, "status.rotate is the first group")
        out = subprocess.run([os.environ.get("SWEEPCTL_BIN", "build/sweepctl"), "-s", d.sock,
                              "status"], capture_output=True, text=True, timeout=WAIT,
                             env=dict(os.environ, COLUMNS="200"))
        check("access.log" in out.stdout and "every 1d" in out.stdout,
              f"sweepctl status shows both groups: {out.stdout}")
        narrow = subprocess.run([os.environ.get("SWEEPCTL_BIN", "build/sweepctl"), "-s", d.sock,
                                 "status"], capture_output=True, text=True, timeout=WAIT,
                                env=dict(os.environ, COLUMNS="80", LC_ALL="C.UTF-8"))
        wide = max(narrow.stdout.split("\n"), key=len)
        check(len(wide) <= 80, f"COLUMNS=80: no line wider, but {len(wide)}: {wide!r}")
        # By hand, every non-empty log is rotated, each by its own group's method.
        ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate")
        equal(len(copies(logs, "error.log")), 1, "error.log rotated by the command")
    finally:
        d.close()


@case
def create_makes_the_new_log_before_postrotate():
    """rename with create: the new empty live log exists, with the configured mode, owner
    and group, by the time postrotate runs (it records what it sees), and even the
    owner's umask has no say."""
    nobody, nogroup = pwd.getpwnam("nobody"), grp.getgrnam("nogroup")
    d = Daemon([zone('{ size = "64K"; method = "rename"; compress = "off";'
                     '  postrotate = "stat -c \\"%a %U %G %s\\" \\"$1\\" > \\"$1.seen\\"";'
                     '  create = { mode = "0604"; owner = "nobody"; group = "nogroup"; }; }')],
               start=False)
    try:
        live = d.path("logs", "app.log")
        write(live, b"a line\n" * 20000)
        os.chmod(live, 0o640)
        old = os.umask(0o077)
        try:
            d.start()
        finally:
            os.umask(old)
        d.settle()
        seen = live + ".seen"
        until("postrotate's record", lambda: os.path.exists(seen) and os.path.getsize(seen))
        with open(seen) as f:
            equal(f.read().split(), ["604", "nobody", "nogroup", "0"],
                  "postrotate saw the new log, made as create says")
        st = os.lstat(live)
        equal((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid),
              (0o604, nobody.pw_uid, nogroup.gr_gid), "the new live log")
        cs = copies(d.zones["logs"], "app.log")
        equal(len(cs), 1, "one copy")
        equal(os.path.getsize(cs[0]), 140000, "the copy is the whole old log")
        equal(stat.S_IMODE(os.lstat(cs[0]).st_mode), 0o640, "the copy keeps its own mode")
    finally:
        d.close()


@case
def create_leaves_what_is_there_alone():
    """Without mode, owner or group, create copies the moved log's (never a setuid bit);
    a symbolic link someone put where the new log goes is never followed."""
    d = Daemon([zone('{ size = "64K"; method = "rename"; compress = "off";'
                     '  postrotate = "true"; create = { }; }')])
    try:
        live = d.path("logs", "app.log")
        write(live, b"a line\n" * 20000)
        os.chmod(live, 0o4620)
        os.chown(live, 65534, 0)
        d.settle()
        until("the new live log", lambda: os.path.exists(live))
        st = os.lstat(live)
        equal((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size),
              (0o620, 65534, 0, 0), "the moved log's mode and owner, no setuid bit")
    finally:
        d.close()


@case
def prerotate_failing_then_succeeding():
    """A prerotate that exits non-zero skips the rotation: said in the log, the audit, the
    command's reply and a prerotate_failed alarm, nothing cut; once it succeeds the log is
    rotated (the command answers after the cut), with its path as $1, and the alarm ends."""
    d = Daemon([zone('{ size = "64K"; compress = "off";'
                     '  prerotate = "echo \\"$1\\" >> \\"$1.pre\\"; test -e \\"$1.ok\\" || exit 3"; }')])
    try:
        live = d.path("logs", "app.log")
        write(live, b"a line\n" * 20000)
        d.settle()
        until("the prerotate_failed alarm", lambda: alarms(d, "prerotate_failed"))
        a = alarms(d, "prerotate_failed")[0]
        equal(a["labels"]["path"], live, "the alarm names the log")
        check("exit status 3" in a["summary"], f"and says why: {a}")
        equal(copies(d.zones["logs"], "app.log"), [], "not rotated")
        equal(os.path.getsize(live), 140000, "the log untouched")
        skipped = [r for r in rotations(d) if "skipped" in r]
        check(skipped and "exit status 3" in skipped[0]["skipped"],
              f"the audit says it was skipped: {rotations(d)}")
        check("prerotate failed (exit status 3)" in d.logtext(), "and the daemon's log")
        # A reload (the same config) keeps the alarm and its start: no "resolved" then
        # "firing" again for alert_command, no prerotate run again at once.
        runs = len(open(live + ".pre").read().split())
        ok(d.request({"cmd": "reload"}), "reload")
        d.settle()
        equal([(x["labels"]["path"], x["since"]) for x in alarms(d, "prerotate_failed")],
              [(live, a["since"])], "the alarm outlives a reload")
        equal(len(open(live + ".pre").read().split()), runs, "no prerotate run for the reload")
        # Emptied, the log is no longer due: the alarm ends; full again, it is back.
        write(live, b"")
        d.settle()
        until("the alarm's end once the log is empty", lambda: not alarms(d, "prerotate_failed"))
        write(live, b"a line\n" * 20000)
        d.settle()
        until("the alarm again", lambda: alarms(d, "prerotate_failed"))
        # By hand, while it still fails: an error in the reply, nothing cut.
        r = d.request({"cmd": "rotate", "zone": "logs"})
        check("exit status 3" in json.dumps(r), f"the command's reply says why: {r}")
        out = d.ctl("rotate", "logs")
        check(out.returncode == 1 and b"skipped rotate" in out.stdout,
              f"sweepctl rotate shows it skipped: {out.stdout!r} {out.stderr!r}")
        equal(copies(d.zones["logs"], "app.log"), [], "still not rotated")
        with open(live + ".ok", "w"):
            pass
        ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate once prerotate succeeds")
        equal(len(copies(d.zones["logs"], "app.log")), 1, "rotated before the command answered")
        with open(live + ".pre") as f:
            check(all(line == live for line in f.read().split("\n") if line),
                  "prerotate got the log's path as $1")
        equal(alarms(d, "prerotate_failed"), [], "the alarm ended")
        check(not [r for r in rotations(d) if "skipped" not in r and r["reason"] != "manual"],
              "no automatic rotation came between")
    finally:
        d.close()


@case
def prerotate_runs_at_most_four_at_once():
    """Whoever can write in a zone can make many logs at once: their prerotates run four
    at a time (each records how many run beside it), never one process for each; every
    log is rotated in the end."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    os.makedirs(os.path.join(root, "slots"))
    # prerotate runs in the daemon's directory, "/": every path is the test's own.
    d = Daemon([zone('{ size = "1K"; compress = "off"; prerotate = '
                     f'"cd {root} && mkdir slots/$$ && ls slots | wc -l >> counts && '
                     'while [ ! -e go ]; do sleep 0.05; done; rmdir slots/$$"; }')],
               root=root, start=False)
    try:
        for i in range(20):
            write(d.path("logs", f"app{i:02d}.log"), b"x" * 4096)
        d.start()
        counts = os.path.join(d.root, "counts")
        until("four prerotates", lambda: os.path.exists(counts) and
              len(open(counts).read().split()) >= 4)
        with open(os.path.join(d.root, "go"), "w"):
            pass
        until("every log rotated", lambda: all(
            len(copies(d.zones["logs"], f"app{i:02d}.log")) == 1 for i in range(20)))
        with open(counts) as f:
            seen = [int(n) for n in f.read().split()]
        equal(len(seen), 20, "one prerotate for each log")
        check(max(seen) <= 4, f"at most four at once: {seen}")
    finally:
        d.close()


@case
def rotate_command_waits_for_free_prerotate_slots():
    """sweepctl rotate on more logs with a prerotate than may run at once: those beyond
    the four wait for a slot, and the command answers once every one is rotated."""
    d = Daemon([zone('{ size = "1M"; compress = "off"; prerotate = "true"; }')])
    try:
        for i in range(9):
            write(d.path("logs", f"app{i}.log"), b"a line\n" * 100)
        d.settle()
        r = ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate")
        equal(len(r["actions"]), 9, f"nine rotations: {r}")
        for i in range(9):
            equal(len(copies(d.zones["logs"], f"app{i}.log")), 1, f"app{i}.log rotated")
    finally:
        d.close()


@case
def stop_while_rotate_requests_wait_for_prerotates():
    """SIGTERM while a rotate request waits for prerotates (four running, the rest queued
    for a slot): the request is answered with why, and sweepd stops cleanly (no crash,
    nothing leaked, under the sanitizers too)."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    d = Daemon([zone('{ size = "1M"; compress = "off"; prerotate = '
                     f'"echo $$ >> {root}/started; while [ -d {root} ] && [ ! -e {root}/go ]; do sleep 0.05; done"; }}')],
               root=root)
    try:
        for i in range(6):
            write(d.path("logs", f"app{i}.log"), b"a line\n" * 100)
        d.settle()
        s = request_later(d, {"cmd": "rotate", "zone": "logs"})
        started = os.path.join(root, "started")
        until("four prerotates", lambda: os.path.exists(started) and
              len(open(started).read().split()) == 4)
        d.stop()
        r = reply_within(s, WAIT)
        check(r is not None and "sweepd stopped" in json.dumps(r),
              f"the waiting request is answered with why: {r}")
        equal(sum(len(copies(d.zones["logs"], f"app{i}.log")) for i in range(6)), 0,
              "no log cut")
    finally:
        with open(os.path.join(root, "go"), "w"):
            pass  # the prerotates left running end
        d.close()


@case
def pause_while_rotate_requests_wait_for_prerotates():
    """pause while a rotate request waits (four prerotates running, two logs queued): no
    log is cut, and the reply says so for each, never a quiet success."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    d = Daemon([zone('{ size = "1M"; compress = "off"; prerotate = '
                     f'"echo $$ >> {root}/started; while [ -d {root} ] && [ ! -e {root}/go ]; do sleep 0.05; done"; }}')],
               root=root)
    try:
        for i in range(6):
            write(d.path("logs", f"app{i}.log"), b"a line\n" * 100)
        d.settle()
        s = request_later(d, {"cmd": "rotate", "zone": "logs"})
        started = os.path.join(root, "started")
        until("four prerotates", lambda: os.path.exists(started) and
              len(open(started).read().split()) == 4)
        ok(d.request({"cmd": "pause"}), "pause")
        with open(os.path.join(root, "go"), "w"):
            pass
        r = reply_within(s, WAIT)
        check(r is not None and not r["ok"] and
              sum("sweepd was paused" in e for e in r["errors"]) == 6,
              f"each of the six says it was not rotated: {r}")
        equal(sum(len(copies(d.zones["logs"], f"app{i}.log")) for i in range(6)), 0,
              "no log cut")
    finally:
        d.close()


@case
def empty_and_missing_logs_are_never_rotated():
    """A log with nothing in it is never rotated, by size, by every or by hand; a zone
    whose logs are gone is no error."""
    d = Daemon([zone('{ size = "1"; every = "1m"; compress = "off"; prerotate = "exit 1"; }')])
    try:
        live = d.path("logs", "app.log")
        write(live, b"")
        d.settle()
        r = ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate")
        equal(r["actions"], [], "nothing to do for an empty log (its prerotate not even run)")
        equal(copies(d.zones["logs"], "app.log"), [], "no copy")
        e = ok(d.request({"cmd": "explain", "path": live}), "explain")
        check("empty log is never rotated" in e["why"], f"explain says so: {e}")
        os.unlink(live)
        d.settle()
        r = ok(d.request({"cmd": "rotate", "zone": "logs"}), "rotate with no log at all")
        equal(r["actions"], [], "nothing done")
        equal(alarms(d, "prerotate_failed"), [], "no prerotate ran")
        equal(d.status()["counters"]["errors"], 0, "no error")
    finally:
        d.close()


if __name__ == "__main__":
    main()
