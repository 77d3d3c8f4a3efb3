"""What an operator's sweep says while the archive cannot take files. Run one:
python3 test_archive_full.py NAME."""

import json
import os
import tempfile

from harness import Daemon, case, check, equal, main, write
from test_sweep import OLD, Tmpfs, files_under, old


@case
def sweep_reply_says_the_archive_is_full():
    """The archive's filesystem is full: an admin's sweep moves nothing, and its reply says
    so (not ok, with every file it could not archive and why, and the sentence that names
    the archive and what to do); sweepctl prints those and exits 1; a dry run notes it;
    once room is freed the next sweep archives and is ok again."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "archive"), "1M")
    try:
        filler = os.path.join(fs.path, "filler")
        write(filler, b"\0" * (1024 * 1024 - 16 * 1024))
        d = Daemon(root=root, start=False,
                   zones=[{"name": "z", "path": "zone", "max_age": '"1d"'}],
                   extra='archive = { path = "archive"; compress = "off"; };')
        try:
            due = [d.path("z", f"f{i}.bin") for i in range(3)]
            for i, p in enumerate(due):
                write(p, os.urandom(100 * 1024))
                old(p, OLD + i)
            d.start()
            d.settle()
            check(d.status()["archive"]["full"], "the archive is full")
            r = d.request({"cmd": "sweep"})
            check(not r["ok"], f"not ok: {r}")
            equal(r["actions"], [], "nothing was done")
            failed = r.get("failed", [])
            equal(sorted(f["path"] for f in failed), due, f"each file that could not go: {r}")
            for f in failed:
                equal((f["action"], f["zone"], f["reason"]), ("archive", "z", "max_age"),
                      f"what was tried: {f}")
                check("full" in f["error"], f"why: {f}")
            check("3 file(s)" in r["error"] and fs.path in r["error"] and "full" in r["error"]
                  and "sweepctl purge" in r["error"], f"the sentence: {r['error']!r}")
            p = d.ctl("sweep")
            out, err = p.stdout.decode(), p.stderr.decode()
            equal(p.returncode, 1, f"sweepctl sweep exits 1: {out}{err}")
            for path in due:
                check(path in out, f"prints {path}: {out!r}")
            check("3 failed" in out, f"counts them: {out!r}")
            check(fs.path in err and "is full" in err and "sweepctl purge" in err,
                  f"and says why: {err!r}")
            equal(sorted(files_under(d.path())), due, "the files stay in their zone")
            # A dry run reports what is due, and that the archive would refuse it now.
            dry = d.request({"cmd": "sweep", "dry_run": True})
            check(dry["ok"] and len(dry["actions"]) == 3, f"dry run: {dry}")
            check(fs.path in (dry.get("archive_full") or ""), f"dry run notes it: {dry}")
            p = d.ctl("sweep", "--dry-run")
            check(p.returncode == 0 and "is full" in p.stdout.decode(),
                  f"sweepctl sweep --dry-run: {p.stdout!r} {p.stderr!r}")
            # Room again: the next sweep archives, and says only that.
            os.unlink(filler)
            r = d.request({"cmd": "sweep"})
            check(r["ok"] and not r.get("failed") and not r.get("archive_full"), f"ok: {r}")
            equal(sorted(a["path"] for a in r["actions"]), due, "archived by the sweep")
        finally:
            d.close()
    finally:
        fs.close(root)


if __name__ == "__main__":
    main()
