"""sweepctl explain (issue 15): why a file is kept, due, blocked or outside, on a real
daemon over its socket and through sweepctl."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import SWEEPCTL, Daemon, Writer, case, check, equal, main, write  # noqa: E402

DAY = 86400


def explain(d, path):
    r = d.request({"cmd": "explain", "path": path})
    check(r.get("ok"), f"explain {path}: {r}")
    return r


@case
def explain_kept_due_blocked_outside_and_a_log():
    """A young file is kept (due at mtime + max_age), an old one due, an old one held
    open by a writer blocked (with the writer's pid and command), a path in no zone
    outside, one in the archive outside; a log's next rotation and size trigger; an
    empty log kept; a missing file an error; sweepctl prints it."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1d"', "action": '"archive"'},
                      {"name": "logs", "path": "logs", "include": '[ "*.log" ]',
                       "rotate": '{ size = "1M"; every = "1d"; keep = 3; }'}],
               extra='archive = { path = "archive"; };', start=False)
    w = None
    try:
        old = time.time() - 3 * DAY
        for name in ("old.bin", "held.bin"):
            write(d.path("z", name), b"o" * 100)
            os.utime(d.path("z", name), (old, old))
        write(d.path("z", "young.bin"), b"y" * 100)
        write(d.path("logs", "app.log"), b"line\n" * 10)
        write(d.path("logs", "empty.log"), b"")
        d.args = ["-n"]  # a dry run: what is due stays, to be explained
        d.start()
        w = Writer(d.path("z", "held.bin"))
        os.utime(d.path("z", "held.bin"), (old, old))  # old, but still open for writing
        d.settle()

        r = explain(d, d.path("z", "young.bin"))
        equal((r["zone"], r["state"]), ("z", "kept"), f"young: {r}")
        check(abs(r["due_at"] - (os.stat(d.path("z", "young.bin")).st_mtime + DAY)) < 5,
              f"young: due at mtime + max_age: {r}")
        check("max_age" in r["why"] and "max_age 1d" in r["rule"], f"young: {r}")

        r = explain(d, d.path("z", "old.bin"))
        equal(r["state"], "due", f"old: {r}")
        check("older than max_age" in r["why"] and "dry run" in r["why"], f"old: {r}")

        r = explain(d, d.path("z", "held.bin"))
        equal(r["state"], "blocked", f"held: {r}")
        equal([x["pid"] for x in r["writers"]], [w.proc.pid], "the writer's pid")
        check(r["writers"][0]["comm"].startswith("python"), f"the writer's command: {r}")
        check("open for writing" in r["why"], f"held: {r}")

        r = explain(d, "/etc/passwd")
        equal((r["state"], r["zone"]), ("outside", None), f"outside: {r}")
        r = explain(d, os.path.join(d.root, "archive", "z", "x"))
        equal(r["state"], "outside", f"in the archive: {r}")
        check("archive" in r["why"], f"in the archive: {r}")

        r = explain(d, d.path("logs", "app.log"))
        equal((r["zone"], r["state"], r["group"], r["size_trigger"]), ("logs", "kept", 1, 1 << 20),
              f"log: {r}")
        check(r["next_rotation_at"] and r["next_rotation_at"] > time.time(), f"log: {r}")
        r = explain(d, d.path("logs", "empty.log"))
        check(r["state"] == "kept" and "empty" in r["why"], f"empty log: {r}")

        r = d.request({"cmd": "explain", "path": d.path("z", "nope")})
        check(not r["ok"] and "no file" in r["error"], f"missing: {r}")
        # A link planted in a zone tells nothing of what lies behind it.
        secret = os.path.join(d.root, "secret")
        os.makedirs(secret)
        os.chmod(secret, 0o700)
        write(os.path.join(secret, "pres.bin"), b"s")
        os.symlink(secret, d.path("z", "peek"))
        there = d.request({"cmd": "explain", "path": d.path("z", "peek", "pres.bin")})
        absent = d.request({"cmd": "explain", "path": d.path("z", "peek", "abse.bin")})
        check(not there["ok"] and not absent["ok"], f"through a link: {there} {absent}")
        equal(there["error"].replace("pres.bin", "X"), absent["error"].replace("abse.bin", "X"),
              "the same answer for what is behind a link and what is not")
        r = d.request({"cmd": "explain", "path": "relative/x"})
        check(not r["ok"] and "absolute" in r["error"], f"relative: {r}")
        r = d.request({"cmd": "explain"})
        check(not r["ok"] and "path" in r["error"], f"no path: {r}")

        out = subprocess.run([SWEEPCTL, "-s", d.sock, "explain", d.path("z", "held.bin")],
                             capture_output=True, text=True)
        equal(out.returncode, 0, f"sweepctl explain: {out.stderr}")
        check("state     blocked" in out.stdout and f"pid {w.proc.pid}" in out.stdout,
              f"sweepctl explain prints:\n{out.stdout}")
        out = subprocess.run([SWEEPCTL, "-s", d.sock, "--json", "explain", "zone/young.bin"],
                             capture_output=True, text=True, cwd=d.root)
        equal(json.loads(out.stdout)["path"], d.path("z", "young.bin"),
              "a relative path is taken from the working directory")
        # Through a link to the tree, sweepctl asks about the file the zone holds.
        via = d.root + "-via"
        os.symlink(d.root, via)
        try:
            out = subprocess.run([SWEEPCTL, "-s", d.sock, "--json", "explain",
                                  os.path.join(via, "zone", "old.bin")],
                                 capture_output=True, text=True)
            r = json.loads(out.stdout)
            equal((r["zone"], r["state"]), ("z", "due"), f"explained through a link: {r}")
        finally:
            os.unlink(via)
    finally:
        if w:
            w.close()
        d.close()


if __name__ == "__main__":
    main("__main__")
