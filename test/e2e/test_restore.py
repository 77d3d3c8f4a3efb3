"""Restore against someone who may write where the file is going: parent directories
an attacker made first, the ones a restore makes again, and what status.jobs shows of
a restore's destination. Run one: python3 test_restore.py NAME."""

import json
import os
import select
import shutil
import socket
import stat
import subprocess

from harness import Daemon, case, check, equal, main, readline, write, WAIT, SWEEPCTL
from test_sweep import archived_render, entries_of, ok, old, sha

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
OWNER, GROUP = 1234, 5678  # the archived file's: no account, as often on a shared disk


def as_nobody(*argv):
    subprocess.run(NOBODY + list(argv), check=True, timeout=WAIT)


def shared_zone_with_a_private_file():
    """A daemon whose zone is open to everyone (1777, as /tmp), holding OWNER's 0644
    report in OWNER's private 0700 directory, archived and its directory pruned:
    (d, the report's path, its entry, its bytes)."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"7d"'}],
               extra='archive = { path = "archive"; compress = "off"; };', start=False)
    os.chmod(d.root, 0o755)
    os.chmod(d.path(), 0o1777)
    private = d.path("z", "private")
    report = os.path.join(private, "report.txt")
    data = b"for OWNER's eyes\n" * 100
    write(report, data)
    os.chmod(report, 0o644)
    os.chown(report, OWNER, GROUP)
    os.chmod(private, 0o700)
    os.chown(private, OWNER, GROUP)
    old(report)
    old(private)  # pruned once emptied: directories are, once older than min_age
    d.start()
    d.settle()
    check(not os.path.exists(private), "archived, its directory pruned")
    (e,) = entries_of(d)
    return d, report, e, data


def refused(d, e, fragments, what):
    """A root restore of e refused, saying each of fragments; the entry stays."""
    r = d.request({"cmd": "restore", "id": e["id"]})
    check(not r["ok"], f"{what}: refused: {r}")
    for f in fragments:
        check(f in r["error"], f"{what}: says {f!r}: {r['error']!r}")
    equal([x["id"] for x in entries_of(d)], [e["id"]], f"{what}: still in the archive")
    check(os.path.exists(e["archive_path"]), f"{what}: its archived copy is there")
    return r["error"]


@case
def restore_refuses_a_parent_someone_else_may_change():
    """Where OWNER's private directory was, in a zone everyone may write to, an attacker
    made a directory first: 0777, or their own 0755. A root restore puts the 0644 file in
    neither (the attacker could read it there, rename or replace it): it refuses, naming
    the directory and its owner, and the entry stays. A root-owned directory open to all
    writers (no sticky bit) is refused too; once the directory is OWNER's own (or root's
    and closed), the restore goes through."""
    d, report, e, data = shared_zone_with_a_private_file()
    private = os.path.dirname(report)
    try:
        as_nobody("mkdir", "-m", "0777", private)
        err = refused(d, e, [private, "uid 65534", "nobody"], "an attacker's 0777 directory")
        equal(os.listdir(private), [], "nothing put in the attacker's directory")
        os.rmdir(private)
        as_nobody("mkdir", "-m", "0755", private)
        err = refused(d, e, [private, "uid 65534", "nobody"], "an attacker's 0755 directory")
        check("owner" in err and "restore again" in err, f"says what to do: {err!r}")
        equal(os.listdir(private), [], "nothing put in the attacker's directory")
        os.rmdir(private)
        os.mkdir(private)
        os.chmod(private, 0o777)  # root's, but anyone may rename or replace in it
        err = refused(d, e, [private, "writable", "sticky"], "a 0777 directory of root's")
        check("restore again" in err, f"says what to do: {err!r}")
        # A sticky one (as /tmp) is fine: others cannot rename or remove what is not theirs.
        os.chmod(private, 0o1777)
        got = ok(d.request({"cmd": "restore", "id": e["id"]}), "into a sticky directory")
        equal(got["restored"], report, "restored")
        equal(entries_of(d), [], "out of the archive")
    finally:
        d.close()


@case
def restore_makes_missing_parents_closed_and_the_file_owners():
    """Parents a restore makes again are the restored file's owner's and group's, mode
    0700 (the directory the file lived in was maybe closed: nothing is opened wider than
    that); a restore into an existing directory that is OWNER's own goes through as
    before, leaving that directory as it was; a root restore outside the zones checks
    the directories below /, refusing one of another user's."""
    d, report, e, data = shared_zone_with_a_private_file()
    private = os.path.dirname(report)
    try:
        # Missing, made again: OWNER's, 0700; the file as it was.
        got = ok(d.request({"cmd": "restore", "id": e["id"]}), "restore")
        equal(got["restored"], report, "restored where it was")
        st = os.stat(private)
        equal((st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode))),
              (OWNER, GROUP, "0o700"), "the directory made again")
        st = os.stat(report)
        equal((st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode))),
              (OWNER, GROUP, "0o644"), "the file")
        equal(open(report, "rb").read(), data, "whole")
        # Archived again (sweep holds a restored file: the hold goes with a restart).
        old(report)
        d.stop()
        d.start()
        d.settle()
        (e,) = entries_of(d)
        # An existing proper directory, OWNER's with its own mode: used as it is.
        os.makedirs(private, exist_ok=True)
        os.chown(private, OWNER, GROUP)
        os.chmod(private, 0o750)
        ok(d.request({"cmd": "restore", "id": e["id"]}), "into OWNER's own directory")
        equal(open(report, "rb").read(), data, "restored there")
        equal(oct(stat.S_IMODE(os.stat(private).st_mode)), "0o750", "its mode untouched")
        old(report)
        d.stop()
        d.start()
        d.settle()
        (e,) = entries_of(d)
        # Root's "to" outside the zones: deep missing parents, all OWNER's and 0700.
        deep = os.path.join(d.root, "elsewhere", "a", "b", "report.txt")
        got = ok(d.request({"cmd": "restore", "id": e["id"], "to": deep}), "to outside")
        equal(got["restored"], deep, "restored there")
        for sub in ("elsewhere", "elsewhere/a", "elsewhere/a/b"):
            st = os.stat(os.path.join(d.root, sub))
            equal((st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode))),
                  (OWNER, GROUP, "0o700"), f"{sub} made")
        # ... and below / a directory of another user's is refused there too.
        shutil.move(deep, report)
        old(report)
        d.stop()
        d.start()
        d.settle()
        (e,) = entries_of(d)
        home = os.path.join(d.root, "home", "nobody")
        os.makedirs(home)
        os.chown(home, 65534, 65534)
        r = d.request({"cmd": "restore", "id": e["id"],
                       "to": os.path.join(home, "x", "report.txt")})
        check(not r["ok"] and home in r["error"] and "uid 65534" in r["error"],
              f"refused under another user's directory: {r}")
        equal(os.listdir(home), [], "nothing made there")
        equal([x["id"] for x in entries_of(d)], [e["id"]], "still in the archive")
    finally:
        d.close()


@case
def status_jobs_show_no_destination_outside_the_zones():
    """A root restore to a path outside every zone (/root/...): while it copies, status
    (which anyone who can connect reads) shows the job with the entry's original path,
    which `archive` shows them anyway, never the destination."""
    d, fs, root, big, want = archived_render()
    secret = f"/root/sweepd-e2e-{os.urandom(4).hex()}"
    to = os.path.join(secret, "private", "report.mp4")
    try:
        os.chmod(root, 0o755)
        with open(d.conf) as f:
            conf = f.read()
        with open(d.conf, "w") as f:
            f.write(conf.replace(f'path = "{d.sock}"; }}',
                                 f'path = "{d.sock}"; mode = "0666"; }}'))
        ok(d.request({"cmd": "reload"}), "socket open to readers")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(WAIT)
        s.connect(d.sock)
        s.sendall((json.dumps({"cmd": "restore", "path": big, "to": to}) + "\n").encode())
        seen, reader = [], []
        while not select.select([s], [], [], 0)[0]:
            st = d.status()
            jobs = [j for j in st.get("jobs", []) if j["action"] == "restore"]
            seen += jobs
            check(secret not in json.dumps(st), f"status shows the destination: {jobs}")
            if jobs and not reader:  # nobody's own look, through sweepctl
                p = subprocess.run(NOBODY + [SWEEPCTL, "-s", d.sock, "--json", "status"],
                                   capture_output=True, text=True, timeout=WAIT)
                equal(p.returncode, 0, f"a reader's status: {p.stderr}")
                check(secret not in p.stdout, f"a reader's status: {p.stdout}")
                reader = [j for j in json.loads(p.stdout).get("jobs", [])
                          if j["action"] == "restore"]
        r = json.loads(readline(s))
        s.close()
        equal(r.get("restored"), to, f"restored there: {r}")
        check(seen and reader, f"status listed the restore while it ran, to root ({len(seen)} "
              f"times) and to nobody ({reader})")
        for j in seen + reader:
            equal(j["path"], big, "the job shows the entry's original path")
        equal(sha(to), want, "restored whole")
    finally:
        d.close()  # first: a restore still running stops, and makes nothing after this
        shutil.rmtree(secret, ignore_errors=True)
        fs.close(root)


if __name__ == "__main__":
    main()
