"""What a hostile trial found, each against the real daemon and real files: a directory
swapped out of a zone in the middle of a copy, ultra zstd levels, state files others
could read, an archive root others may write in. Run one: python3 test_hardening.py NAME.

Synchronisation is READY=1, settle, polling status and a mover lane held still with
ptrace, never a sleep."""

import contextlib
import os
import stat
import subprocess
import sys
import tempfile

from harness import SWEEPD, Daemon, case, check, equal, main, write, WAIT
from test_mover import compressible, content_sha, wait_copying, wait_status
from test_rotate import LaneHold
from test_sweep import Tmpfs, audit, files_under, ok, old

MB = 1 << 20
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
EXCHANGE = ("import ctypes, os, sys\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "if libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2) < 0:\n"
            "    e = ctypes.get_errno()\n"
            "    sys.exit(f'renameat2 RENAME_EXCHANGE: {os.strerror(e)}')\n")


def swap_scene(tmpfs, zone_dir, name, size, fresh):
    """A 1777 zone on tmpfs with an ordinary user's directory d in it holding a
    compressible file name of size bytes, and their directory home/mine outside every
    zone: what they may swap. Returns (zone, theirs, home, mine, file, its sha256)."""
    zone, home = os.path.join(tmpfs.path, zone_dir), os.path.join(tmpfs.path, "home")
    theirs, mine = os.path.join(zone, "d"), os.path.join(home, "mine")
    for p in (zone, theirs, home, mine):
        os.makedirs(p, exist_ok=True)
    os.chmod(zone, 0o1777)
    f = os.path.join(theirs, name)
    want = compressible(f, size, fresh=fresh)
    for p in (theirs, home, mine, f):
        os.chown(p, 65534, 65534)
    return zone, theirs, home, mine, f, want


def swap_mid_job(d, lane, is_it, theirs, mine):
    """With lane held still (ptrace) in the middle of the job is_it(job) picks, the
    ordinary user swaps theirs and mine (RENAME_EXCHANGE); the lane goes on, and this
    returns once the mover is idle and the daemon settled."""
    hold = LaneHold(d.proc.pid, lane)
    try:
        check([j for j in d.status()["jobs"] if j["running"] and is_it(j)],
              "the job still under way once its lane is held (a faster machine needs a "
              "bigger file)")
        r = subprocess.run(NOBODY + [sys.executable, "-c", EXCHANGE, theirs, mine],
                           capture_output=True, text=True, timeout=WAIT)
        equal(r.returncode, 0, f"the exchange, by an ordinary user: {r.stderr}")
    finally:
        hold.release()
    wait_status(d, lambda s: not s["jobs"], "the job ended")
    d.settle()


@contextlib.contextmanager
def swap_root(**where):
    """A test's root (0755, so that an ordinary user may pass) with a 256 MiB tmpfs at fs/
    in it; the daemons put in the list it yields are stopped, then the tmpfs and the root
    go."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-", **where)
    os.chmod(root, 0o755)
    fs = Tmpfs(os.path.join(root, "fs"), "256M")
    daemons = []
    try:
        yield root, fs, daemons
    finally:
        try:
            for d in daemons:
                d.stop()
        finally:
            fs.close(root)


@case
def exchange_during_a_cross_fs_copy_unlinks_nothing_outside():
    """An ordinary user owns a directory in a 1777 zone on a tmpfs, with a big file due in
    it, archived across filesystems at level 19. While the copy runs (its lane held still,
    in the middle of it), they swap (renameat2 RENAME_EXCHANGE) that directory with one of
    theirs outside every zone: the directory sweepd holds is now outside. The copy ends:
    sweepd removes nothing there, and drops its copy; the file is whole in exactly one
    place, where its owner moved it. Put back in the zone, it is archived as any other."""
    with swap_root(dir="/var/tmp") as (root, fs, daemons):  # the archive on the disk
        zone, theirs, home, mine, big, want = swap_scene(fs, "zone", "big.bin", 64 * MB,
                                                         512 << 10)
        old(big)
        d = Daemon(root=root, start=False,
                   zones=[{"name": "z", "path": "fs/zone", "max_age": '"1d"'}],
                   extra='archive = { path = "archive"; compress = "zstd"; level = 19; };')
        daemons.append(d)
        d.start()
        wait_copying(d)
        swap_mid_job(d, "sweepd-archive", lambda j: j["path"] == big, theirs, mine)
        moved = os.path.join(mine, "big.bin")
        check(os.path.exists(moved), "the file outside the zone is still there")
        arch = os.path.join(root, "archive")
        places = [p for p in files_under(zone) + files_under(arch) + files_under(home)
                  if content_sha(p) == want]
        equal(places, [moved], "the file whole in exactly one place")
        equal(ok(d.request({"cmd": "archive"}), "archive")["entries"], [], "no entry")
        equal([a for a in audit(d) if a["action"] == "archive"], [], "no archive audited")
        d.expect_matches_disk(what="after the exchange")
        # Back in the zone (by a rename: a move the watcher sees), it goes as any other.
        os.rename(moved, os.path.join(zone, "big.bin"))
        wait_status(d, lambda s: s["archive"]["files"] == 1 and not s["jobs"], "archived")
        (e,) = ok(d.request({"cmd": "archive"}), "archive")["entries"]
        equal(e["path"], os.path.join(zone, "big.bin"), "the entry")
        equal(files_under(arch), [e["archive_path"]], "one copy in the archive")
        equal(content_sha(e["archive_path"]), want, "whole")
        equal(files_under(zone) + files_under(home), [], "nothing left behind")


@case
def exchange_during_a_log_compression_names_nothing_outside():
    """The same swap during the compression of a log's copy moved aside by "rename": an
    ordinary user owns the log's directory in a 1777 zone; while its copy is compressed
    at level 19 (the logs lane held still in the middle of it), they swap the directory
    with one of theirs outside every zone. The job ends: sweepd makes no .zst out there
    and removes nothing there; the plain copy is whole where its owner moved it."""
    with swap_root() as (root, fs, daemons):
        # Under 32 MiB: one thread compresses it (no zstd workers sharing the lane's name).
        zone, theirs, home, mine, log, want = swap_scene(fs, "logs", "app.log", 24 * MB,
                                                         1 << 20)
        d = Daemon(root=root, start=False,
                   zones=[{"name": "logs", "path": "fs/logs", "include": '[ "*.log" ]',
                           "rotate": '{ size = "1M"; method = "rename"; postrotate = "true"; '
                                     'compress = "zstd"; level = 19; }'}])
        daemons.append(d)
        d.start()
        ok(d.request({"cmd": "rotate"}), "rotate")
        wait_status(d, lambda s: any(j["action"] == "compress" and j["running"] and j["done"]
                                     for j in s["jobs"]), "the copy's compression under way")
        swap_mid_job(d, "sweepd-logs", lambda j: j["action"] == "compress", theirs, mine)
        outside = sorted(os.listdir(mine))
        equal(len(outside), 1, f"one file where the owner moved the directory: {outside}")
        check(outside[0].startswith("app.log-") and not outside[0].endswith(".zst"),
              f"the plain copy, no .zst made out there: {outside}")
        equal(content_sha(os.path.join(mine, outside[0])), want, "the copy whole")
        equal(files_under(zone), [], "nothing left in the zone's moved-in directory")



def check_config(conf):
    r = subprocess.run([SWEEPD, "-t", "-c", conf], capture_output=True, text=True,
                       timeout=WAIT)
    equal((r.returncode, r.stdout.strip()), (0, "configuration OK"), f"-t: {r.stderr}")
    return r.stderr


@case
def ultra_levels_are_warned_about():
    """level 20 to 22 (archive and rotate) are accepted, as zstd takes them, but -t and the
    start say what memory each compression may take, and to keep to 19; 19 says nothing."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "include": '[ "*.log" ]',
                       "rotate": '{ size = "1M"; keep = 2; level = 19; }'}],
               extra='archive = { path = "archive"; level = 19; };', start=False)
    try:
        equal(check_config(d.conf), "", "no warning at 19")
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace("level = 19; };\n", "level = 22; };\n", 1)
                    .replace("keep = 2; level = 19;", "keep = 2; level = 20;"))
        err = check_config(d.conf)
        lines = err.splitlines()
        equal(len(lines), 2, f"two warnings:\n{err}")
        arch = [x for x in lines if "archive 'level'" in x]
        rot = [x for x in lines if "rotate 'level'" in x]
        check(arch and f"{d.conf}:3: warning: archive 'level' is 22" in arch[0], err)
        check("800 MiB" in arch[0] and "19 or lower" in arch[0] and "--ultra" in arch[0], err)
        check(rot and ": warning: zone \"z\": rotate 'level' is 20" in rot[0], err)
        check("200 MiB" in rot[0] and "each" in rot[0] and "19 or lower" in rot[0], err)
        d.start()
        log = d.logtext()
        for x in lines:
            check(x in log, f"logged at start: {x!r} in\n{log}")
    finally:
        d.close()


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@case
def state_files_are_closed_to_others():
    """Every file in state_dir is kept from other users (the index lists every archived
    path): archive.idx and the journal 0600, nothing readable by others; an index an older
    sweepd left 0644 is closed at start."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"7d"'}],
               extra='archive = { path = "archive"; };', start=False)
    try:
        state = os.path.join(d.root, "state")
        os.makedirs(state)
        idx = os.path.join(state, "archive.idx")
        with open(idx, "w"):
            pass
        os.chmod(idx, 0o644)
        f = d.path("z", "secret-project", "old.txt")
        write(f, b"x")
        old(f)
        d.start()
        d.settle()
        check(not os.path.exists(f), "archived")
        equal(mode(idx), 0o600, "archive.idx")
        equal(mode(os.path.join(state, "journal")), 0o600, "journal")
        equal(mode(os.path.join(state, "audit.log")), 0o640, "audit.log")
        d.stop()
        d.start()  # the index written anew at start
        equal(mode(idx), 0o600, "archive.idx after a restart")
        for n in os.listdir(state):
            check(not mode(os.path.join(state, n)) & 0o007, f"{n} is closed to others: "
                  f"{mode(os.path.join(state, n)):o}")
    finally:
        d.close()


@case
def archive_root_open_to_others_is_warned_about():
    """An archive root that others (or its group) may write in (a tmpfs mounted there is
    1777): anyone can make ARCHIVE/<zone> first and block archiving for that zone. -t and
    the start warn, naming the path and its mode; 0755 says nothing."""
    d = Daemon(zones=[{"name": "z", "path": "zone"}],
               extra='archive = { path = "archive"; };', start=False)
    try:
        arch = os.path.join(d.root, "archive")
        equal(check_config(d.conf), "", "an archive not there yet (sweepd makes it 0700)")
        os.makedirs(arch)
        for m in (0o755, 0o700):
            os.chmod(arch, m)
            equal(check_config(d.conf), "", f"no warning at {m:o}")
        for m, who in ((0o1777, "others"), (0o775, "its group")):
            os.chmod(arch, m)
            err = check_config(d.conf)
            want = f"{d.conf}:3: warning: archive {arch} is mode {m:04o}: {who} may write in it"
            check(want in err, f"{want!r} in\n{err}")
            check(f"{arch}/z" in err and "archive_blocked" in err and "chmod 0755" in err,
                  err)
        d.start()
        check(f"warning: archive {arch} is mode 0775" in d.logtext(), d.logtext())
    finally:
        d.close()


if __name__ == "__main__":
    main()
