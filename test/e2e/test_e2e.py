"""sweepd end-to-end cases. Run one: python3 test_e2e.py NAME; all: no argument."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from harness import (Daemon, Failure, Writer, case, check, disk_figures, equal, main,
                     readline, write, WAIT, SWEEPD, SWEEPCTL)


def with_daemon(**kw):
    """Runs the case with a started daemon, always stopping it (which checks its exit)."""
    def wrap(fn):
        def run():
            d = Daemon(**kw)
            try:
                fn(d)
            finally:
                d.close()
        run.__name__ = fn.__name__
        return case(run)
    return wrap


def populate(base, n_dirs=30, per_dir=100):
    for i in range(n_dirs):
        for j in range(per_dir):
            write(os.path.join(base, f"d{i}", f"sub{i % 3}", f"f{j}.bin"), b"v" * (i * 37 + j))


@case
def initial_scan():
    """Thousands of files with hard links, a sparse file and symlinks, before the start."""
    d = Daemon(start=False)
    try:
        z = d.path()
        populate(z, 30, 100)
        os.link(os.path.join(z, "d1", "sub1", "f1.bin"), os.path.join(z, "hard1"))
        os.link(os.path.join(z, "d1", "sub1", "f1.bin"), os.path.join(z, "d2", "hard2"))
        with open(os.path.join(z, "sparse.img"), "wb") as f:
            f.truncate(1 << 30)
            f.seek(1 << 29)
            f.write(b"data")
        os.symlink("/etc/passwd", os.path.join(z, "link-out"))
        os.symlink("d1", os.path.join(z, "link-dir"))
        os.symlink("nowhere", os.path.join(z, "dangling"))
        os.mkfifo(os.path.join(z, "fifo"))
        outside = os.path.join(d.root, "outside")
        write(os.path.join(outside, "big"), b"o" * 100000)
        os.symlink(outside, os.path.join(z, "d3", "to-outside"))
        d.start()
        got = d.expect_matches_disk(what="initial scan")
        equal(got["files"], 3000 + 3, "files counted")
        check(got["bytes"] > got["disk_bytes"], "the sparse file counts its apparent size")
        equal(got["open_files"], 0, "open files")
        check(got["oldest_mtime"] is not None, "oldest_mtime")
    finally:
        d.close()


@with_daemon()
def deep_trees_in_one_breath(d):
    """mkdir -p a/b/c && touch a/b/c/x, many times, faster than any watch can be added."""
    z = d.path()
    script = ("for i in $(seq 1 40); do mkdir -p t$i/a/b/c/d/e/f/g && touch t$i/a/b/c/d/e/f/g/x "
              "&& echo data > t$i/a/b/y; done")
    subprocess.run(["sh", "-c", script], cwd=z, check=True)
    got = d.expect_matches_disk(what="deep trees")
    equal(got["files"], 80, "files in deep trees")
    # A tree built elsewhere and moved in is walked too.
    other = os.path.join(d.root, "elsewhere")
    populate(other, 5, 20)
    os.rename(other, os.path.join(z, "moved-in"))
    equal(d.expect_matches_disk(what="moved-in tree")["files"], 180, "files after move in")


@with_daemon(zones=[{"name": "z", "path": "zone"}, {"name": "y", "path": "other"}])
def renames_and_moves(d):
    z = d.path()
    populate(z, 5, 20)
    d.expect_matches_disk(what="populated")
    os.rename(os.path.join(z, "d1"), os.path.join(z, "d1-renamed"))
    os.rename(os.path.join(z, "d2"), os.path.join(z, "d0", "d2-nested"))
    d.expect_matches_disk(what="directory renames")
    write(os.path.join(z, "d0", "d2-nested", "sub2", "new"), b"n" * 5000)
    d.expect_matches_disk(what="a file in a renamed directory")
    outside = os.path.join(d.root, "outside")
    os.makedirs(outside)
    os.rename(os.path.join(z, "d3"), os.path.join(outside, "d3"))
    os.rename(os.path.join(z, "d4", "sub1", "f3.bin"), os.path.join(outside, "f3.bin"))
    d.expect_matches_disk(what="moves out")
    write(os.path.join(outside, "d3", "sub0", "after-out"), b"zzz")
    d.expect_matches_disk(what="a write in a moved-out tree")
    os.rename(os.path.join(outside, "f3.bin"), os.path.join(z, "back.bin"))
    d.expect_matches_disk(what="a file moved in")
    # Across zones: out of one, into the other.
    os.rename(os.path.join(z, "d4"), d.path("y", "d4"))
    os.rename(os.path.join(z, "back.bin"), d.path("y", "back.bin"))
    d.expect_matches_disk("z", "moved to the other zone")
    d.expect_matches_disk("y", "moved from the other zone")
    # A file renamed over another replaces it.
    write(os.path.join(z, "a"), b"a" * 10)
    write(os.path.join(z, "b"), b"b" * 1000)
    os.rename(os.path.join(z, "a"), os.path.join(z, "b"))
    d.expect_matches_disk(what="rename over")
    shutil.rmtree(os.path.join(z, "d0"))
    got = d.expect_matches_disk(what="rm -rf")
    check(got["files"] > 0, "files remain")


@with_daemon()
def changes_to_files(d):
    """Appends, truncates, attribute changes and deletes."""
    z = d.path()
    p = os.path.join(z, "f")
    write(p, b"x" * 100)
    d.expect_matches_disk(what="create")
    write(p, b"y" * 50000, "ab")
    d.expect_matches_disk(what="append")
    os.truncate(p, 10)
    equal(d.expect_matches_disk(what="truncate")["bytes"], 10, "bytes after truncate")
    os.truncate(p, 1 << 20)
    d.expect_matches_disk(what="extend by truncate")
    os.chmod(p, 0o600)
    os.utime(p, (1_000_000_000, 1_000_000_000))
    got = d.expect_matches_disk(what="utime")
    equal(got["oldest_mtime"], 1_000_000_000, "oldest_mtime follows touch -d")
    top = d.request({"cmd": "top", "zone": "z", "n": 5, "by": "age"})
    equal(top["files"][0]["path"], p, "top path")
    equal(top["files"][0]["mtime"], 1_000_000_000, "top mtime")
    os.unlink(p)
    got = d.expect_matches_disk(what="delete")
    equal(got["files"], 0, "no files")
    equal(got["oldest_mtime"], None, "no oldest")


@case
def hard_links_made_later():
    """link(2) says nothing about the name that was there first: its blocks still count once."""
    d = Daemon()
    try:
        z = d.path()
        write(os.path.join(z, "g"), b"67")
        write(os.path.join(z, "big"), b"b" * 300000)
        d.expect_matches_disk(what="before any link")
        os.link(os.path.join(z, "g"), os.path.join(z, "h1"))
        d.expect_matches_disk(what="a link beside it")
        # A new directory and a link into it in one breath, and a link of the big file.
        os.makedirs(os.path.join(z, "x", "y"))
        os.link(os.path.join(z, "g"), os.path.join(z, "x", "y", "h2"))
        os.link(os.path.join(z, "big"), os.path.join(z, "x", "big2"))
        d.expect_matches_disk(what="links into a new directory")
        os.unlink(os.path.join(z, "g"))
        os.unlink(os.path.join(z, "x", "big2"))
        d.expect_matches_disk(what="first names removed")
        os.unlink(os.path.join(z, "h1"))
        got = d.expect_matches_disk(what="one name left")
        equal(got["files"], 2, "files left")
    finally:
        d.close()


@case
def queue_overflow():
    """SIGSTOP the daemon, create 25,000 files, SIGCONT: the overflow forces a rescan."""
    d = Daemon()
    try:
        z = d.path()
        populate(z, 10, 10)
        write(os.path.join(z, "doomed", "x"), b"gone soon")
        d.settle()
        os.kill(d.proc.pid, signal.SIGSTOP)
        try:
            for i in range(25000):
                with open(os.path.join(z, f"burst-{i}"), "wb") as f:
                    f.write(b"b" * (i % 7))
            shutil.rmtree(os.path.join(z, "doomed"))
            os.unlink(os.path.join(z, "d0", "sub0", "f0.bin"))
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        got = d.expect_matches_disk(what="after overflow")
        equal(got["files"], 25000 + 99, "files after overflow")
        c = d.status()["counters"]
        check(c["overflows"] >= 1, f"overflow counted: {c}")
        check(c["rescans"] >= 1, f"rescan counted: {c}")
        check("overflow" in d.logtext(), "overflow logged")
    finally:
        d.close()


@case
def writers_before_and_after_start():
    d = Daemon(start=False)
    try:
        z = d.path()
        write(os.path.join(z, "done.mp4"), b"finished")
        early = Writer(os.path.join(z, "early.mp4"))
        d.start()
        got = d.expect_matches_disk(what="early writer")
        equal(got["open_files"], 1, "a writer from before the start is seen")
        late = Writer(os.path.join(z, "sub", "late.mp4")) if os.makedirs(
            os.path.join(z, "sub")) is None else None
        # A writer that opens an existing file for writing and does not write yet.
        quiet = subprocess.Popen(["sh", "-c", f"exec 3>>'{os.path.join(z, 'done.mp4')}'; read x"],
                                 stdin=subprocess.PIPE, text=True)
        d.settle()
        # The shell has the file open once `read` waits: poll the kernel's view through settle.
        # (fd 3 may exist before the exec, as another file: wait for it to be done.mp4.)
        for _ in range(1000):
            try:
                if os.readlink(f"/proc/{quiet.pid}/fd/3").endswith("/done.mp4"):
                    break
            except OSError:
                pass
            d.settle()
        got = d.expect_matches_disk(what="late writers")
        equal(got["open_files"], 3, "early, late and quiet writers")
        top = d.request({"cmd": "top", "zone": "z", "n": 10})
        opens = {os.path.basename(f["path"]): f["open"] for f in top["files"]}
        equal(opens, {"early.mp4": True, "late.mp4": True, "done.mp4": True}, "open flags")
        early.close()
        late.close()
        quiet.stdin.write("\n")
        quiet.stdin.flush()
        quiet.wait(WAIT)
        got = d.expect_matches_disk(what="writers closed")
        equal(got["open_files"], 0, "no writer left")
        # Two writers on one file: one closing does not clear it.
        p = os.path.join(z, "shared.log")
        w1, w2 = Writer(p), Writer(p)
        w1.close()
        equal(d.expect_matches_disk(what="one of two writers closed")["open_files"], 1,
              "still open by the second writer")
        w2.close()
        equal(d.expect_matches_disk(what="both closed")["open_files"], 0, "closed")
    finally:
        d.close()


@case
def own_opens_are_not_accesses():
    """The daemon's open-for-writing checks must not feed its own watch or atime;
    another process's read does count as an access."""
    d = Daemon(start=False)
    try:
        z = d.path()
        p = os.path.join(z, "old.mp4")
        write(p, b"x" * 10)
        os.utime(p, (1_500_000_000, 1_500_000_000))
        d.start()
        d.settle()
        # Changes that make the daemon look at the file with its own open.
        os.chmod(p, 0o640)
        os.utime(p, (1_500_000_000, 1_500_000_000))
        d.settle()
        before = d.status()["counters"]["events"]
        for _ in range(5):
            d.settle()
        equal(d.status()["counters"]["events"], before, "settling alone causes no events")
        top = d.request({"cmd": "top", "zone": "z", "n": 1})
        equal(top["files"][0]["atime"], 1_500_000_000, "atime untouched by the daemon")
        equal(int(os.stat(p).st_atime), 1_500_000_000, "atime on disk untouched")
        subprocess.run(["cat", p], check=True, capture_output=True)
        d.settle()
        top = d.request({"cmd": "top", "zone": "z", "n": 1})
        check(top["files"][0]["atime"] > 1_700_000_000, "a read by another process counts")
    finally:
        d.close()


@with_daemon()
def writer_reopening_during_checks(d):
    """A writer that reopens its file in a tight loop lands inside the daemon's lease
    checks; the lease break (SIGIO) must not end the daemon (it did, before the fix)."""
    p = d.path("z", "hot.log")
    code = ("import os, sys\n"
            "for i in range(20000):\n"
            "    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)\n"
            "    os.write(fd, b'x')\n"
            "    os.close(fd)\n")
    subprocess.run([sys.executable, "-c", code, p], check=True, timeout=WAIT)
    check(d.proc.poll() is None, f"daemon alive after the writer (status {d.proc.poll()})")
    got = d.expect_matches_disk(what="after a reopening writer")
    equal((got["bytes"], got["open_files"]), (20000, 0), "every byte counted, no writer left")


@with_daemon()
def file_names(d):
    z = d.path()
    names = [b"\xe6\x95\xb0\xe5\xad\x97\xe4\xba\xba\xe8\xa7\x86\xe9\xa2\x91.mp4",  # 数字人视频
             b"with space.mp4", b"quote\"s'.mp4", b"new\nline.mp4", b"bad\xff\xfeutf8.mp4",
             b"back\\slash", b"\xee\xbe\x80pua"]
    zb = os.fsencode(z)
    for i, n in enumerate(names):
        with open(os.path.join(zb, n), "wb") as f:
            f.write(b"x" * (100 + i))
    got = d.expect_matches_disk(what="odd names")
    equal(got["files"], len(names), "all names counted")
    raw = d.request({"cmd": "top", "zone": "z", "n": 20})
    paths = set()
    for f in raw["files"]:
        enc = f["path"]
        # Decode the documented encoding: U+EF80..U+EFFF stand for single bytes.
        out = bytearray()
        for ch in enc:
            if 0xEF80 <= ord(ch) <= 0xEFFF:
                out.append(ord(ch) - 0xEF00)
            else:
                out += ch.encode()
        paths.add(bytes(out))
    equal(paths, {os.path.join(zb, n) for n in names}, "paths decode back to the bytes")
    human = d.ctl("top", "z", "-n", "20")
    equal(human.returncode, 0, "sweepctl top")
    check(b"bad\\xff\\xfeutf8.mp4" in human.stdout, f"human top escapes bytes: {human.stdout!r}")
    check(b"new\\x0aline.mp4" in human.stdout, "human top escapes newlines")
    check("数字人视频.mp4" in human.stdout.decode(), "human top shows Chinese")


def raw(d, data, shutdown=True):
    """Sends bytes on a fresh connection and returns the reply lines."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(WAIT)
        s.connect(d.sock)
        s.sendall(data)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return [json.loads(l) for l in out.decode().splitlines()]


@with_daemon()
def bad_requests(d):
    cases = {
        b"hello\n": "not valid JSON",
        b"{\"cmd\":\"status\"\n": "not valid JSON",
        b"[1]\n": "must be a JSON object",
        b"{\"cmd\":\"dance\"}\n": "unknown command",
        b"{\"nocmd\":1}\n": "no \"cmd\"",
        b"{\"cmd\":\"top\",\"zone\":\"nope\"}\n": "no zone named",
        b"{\"cmd\":\"top\",\"zone\":\"z\",\"n\":1e9}\n": "non-negative integer",
        b"\x00\x01\x02\xff\xfe\n": "not",
        b"{\"cmd\":\"status\",\"a\":" + b"[" * 5000 + b"\n": "not valid JSON",
        b"{\"cmd\":\"rotate\"}\n": "no zone has a rotate group",
    }
    for data, fragment in cases.items():
        replies = raw(d, data)
        equal(len(replies), 1, f"one reply for {data[:40]!r}")
        equal(replies[0]["ok"], False, f"error for {data[:40]!r}")
        check(fragment in replies[0]["error"], f"{data[:40]!r}: {replies[0]['error']}")
    # Many requests on one connection, blank lines ignored, CRLF accepted.
    replies = raw(d, b"{\"cmd\":\"status\"}\n\n{\"cmd\":\"settle\"}\r\nbad\n{\"cmd\":\"status\"}\n")
    equal([r["ok"] for r in replies], [True, True, False, True], "pipelined requests")
    # An endless line is refused and the connection closed, memory bounded.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(WAIT)
        s.connect(d.sock)
        try:
            for _ in range(64):
                s.sendall(b"x" * 4096)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = json.loads(readline(s))
        check("longer than" in reply["error"], reply["error"])
    # A slow client holding half a request does not block others.
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(d.sock)
    slow.sendall(b"{\"cmd\":\"sta")
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(d.sock)
    for _ in range(20):
        check(d.status()["ok"], "status while a slow client waits")
    slow.sendall(b"tus\"}\n")
    slow.settimeout(WAIT)
    check(json.loads(readline(slow))["ok"], "the slow client gets its answer")
    slow.close()
    silent.close()
    # A client that never reads its replies is dropped, not buffered forever.
    greedy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    greedy.connect(d.sock)
    greedy.setblocking(False)
    try:
        for _ in range(20000):
            greedy.send(b"{\"cmd\":\"status\"}\n")
    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
        pass
    check(d.status()["ok"], "daemon alive after a greedy client")
    greedy.close()


@with_daemon(zones=[{"name": "z", "path": "zone"}, {"name": "keep", "path": "keep"}])
def zone_root_removed_and_back(d):
    z = d.path()
    populate(z, 3, 10)
    write(d.path("keep", "k"), b"k")
    d.expect_matches_disk(what="before")
    shutil.rmtree(z)
    d.settle()
    got = d.zone("z")
    equal((got["files"], got["present"]), (0, False), "zone gone")
    equal(d.zone("keep")["files"], 1, "other zone untouched")
    populate(z, 2, 5)
    got = d.expect_matches_disk(what="zone back")
    equal((got["files"], got["present"]), (10, True), "zone back")
    # Moved away and replaced by another directory.
    os.rename(z, z + ".old")
    os.makedirs(z)
    write(os.path.join(z, "fresh"), b"f")
    write(os.path.join(z + ".old", "not-ours"), b"n")
    got = d.expect_matches_disk(what="replaced root")
    equal(got["files"], 1, "only the new root counts")
    # A rename above the root moves it away with no event on the root itself.
    d2 = Daemon(zones=[{"name": "n", "path": "nest/zone"}], root=None)
    try:
        write(d2.path("n", "x"), b"x")
        d2.settle()
        os.rename(os.path.dirname(d2.zones["n"]), os.path.dirname(d2.zones["n"]) + "-moved")
        d2.settle()
        got = d2.zone("n")
        equal((got["files"], got["present"]), (0, False), "root moved away with its parent")
        os.makedirs(d2.zones["n"])
        write(d2.path("n", "y"), b"yy")
        equal(d2.expect_matches_disk("n", "root back")["files"], 1, "new root under new parent")
    finally:
        d2.close()


@with_daemon()
def no_crossing_into_mounts(d):
    z = d.path()
    mnt = os.path.join(z, "mnt")
    os.makedirs(mnt)
    write(os.path.join(z, "mine"), b"m" * 10)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt])
    equal(r.returncode, 0, "mount a tmpfs inside the zone (needs root)")
    try:
        write(os.path.join(mnt, "theirs"), b"t" * 100)
        os.makedirs(os.path.join(mnt, "deeper"))
        write(os.path.join(mnt, "deeper", "x"), b"t")
        got = d.expect_matches_disk(what="mount inside")
        equal(got["files"], 1, "files on the other filesystem are not counted")
    finally:
        subprocess.run(["umount", "-l", mnt])


@with_daemon(zones=[{"name": "z", "path": "zone", "include": '[ "*.mp4", "keep/*.wav" ]',
                     "exclude": '[ "*.part.mp4", "cache" ]'}])
def include_and_exclude(d):
    z = d.path()
    for n in ["a.mp4", "b.part.mp4", "c.txt", "keep/d.wav", "keep/deep/e.wav", "x/f.wav",
              "cache/g.mp4", "x/cache/h.mp4", "x/i.mp4"]:
        write(os.path.join(z, n), b"123")
    d.settle()
    top = d.request({"cmd": "top", "zone": "z", "n": 50})
    got = sorted(os.path.relpath(f["path"], z) for f in top["files"])
    equal(got, ["a.mp4", "keep/d.wav", "x/i.mp4"], "matched files")
    equal(d.zone()["bytes"], 9, "bytes of matched files")


@case
def cli_and_exit_codes():
    d = Daemon()
    try:
        r = d.ctl("status")
        equal(r.returncode, 0, "status exit")
        out = r.stdout.decode()
        for word in ("ZONE", "FILES", "FILESYSTEM", "counters:", d.zones["z"]):
            check(word in out, f"{word!r} in human status:\n{out}")
        r = d.ctl("--json", "status")
        check(json.loads(r.stdout)["ok"], "--json gives the raw reply")
        r = d.ctl("top", "nope")
        equal(r.returncode, 1, "error reply exit")
        check(b"no zone named" in r.stderr, r.stderr)
        r = d.ctl("rotate")
        equal(r.returncode, 1, "rotate with nothing to rotate is an error")
        check(b"no zone has a rotate group" in r.stderr, r.stderr)
        r = d.ctl("frobnicate")
        equal(r.returncode, 1, "unknown command")
        check(b"unknown command" in r.stderr, r.stderr)
        r = d.ctl("-h")
        equal(r.returncode, 0, "-h")
        check(b"reserve ZONE SIZE" in r.stdout, "help lists commands")
        r = subprocess.run([SWEEPCTL, "status"], capture_output=True,
                           env=dict(os.environ, SWEEPD_SOCKET=d.sock))
        equal(r.returncode, 0, "$SWEEPD_SOCKET honoured")
        # A second daemon on the same socket refuses to start.
        r = subprocess.run([SWEEPD, "-c", d.conf], capture_output=True, timeout=WAIT)
        equal(r.returncode, 1, "second daemon exit")
        check(b"already" in r.stderr, r.stderr)
    finally:
        d.close()
    r = subprocess.run([SWEEPCTL, "-s", d.sock, "status"], capture_output=True)
    equal(r.returncode, 2, "no daemon: exit 2")
    check(d.sock.encode() in r.stderr, "the message names the socket")
    r = subprocess.run([SWEEPD, "--version"], capture_output=True)
    check(r.returncode == 0 and r.stdout.startswith(b"sweepd "), "--version")


@case
def check_config():
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    try:
        conf = os.path.join(root, "c.conf")
        os.makedirs(os.path.join(root, "z"))
        with open(conf, "w") as f:
            f.write('zones = ( { name = "z"; path = "z"; } );\n')
        r = subprocess.run([SWEEPD, "-t", "-c", conf], capture_output=True, text=True)
        equal((r.returncode, r.stdout.strip()), (0, "configuration OK"), "good config")
        equal(r.stderr, "", "no warning on a good config")
        # Legal but likely a typo: accepted, each said with its line.
        with open(conf, "w") as f:
            f.write('zones = ( { name = "z"; path = "z";\n  max_size = 0; action = "delete"; } );\n')
        r = subprocess.run([SWEEPD, "-t", "-c", conf], capture_output=True, text=True)
        equal((r.returncode, r.stdout.strip()), (0, "configuration OK"), "warned config")
        check(f"{conf}:2: warning: zone \"z\": 'max_size' is 0" in r.stderr, r.stderr)
        with open(conf, "w") as f:
            f.write('disk = { high = "0%"; };\nzones = ( { name = "z"; path = "z"; } );\n')
        r = subprocess.run([SWEEPD, "-t", "-c", conf], capture_output=True, text=True)
        equal(r.returncode, 1, "high = 0% refused")
        check(f"{conf}:1: disk 'high' must be above 0%" in r.stderr, r.stderr)
        with open(conf, "w") as f:
            f.write('zones = (\n { name = "z"; path = "z"; max_age = "7x"; },\n'
                    ' { name = "z"; path = "nope"; }\n);\n')
        r = subprocess.run([SWEEPD, "-t", "-c", conf], capture_output=True, text=True)
        equal(r.returncode, 1, "bad config exit")
        for line in (f"{conf}:2: 'max_age' must be a duration",
                     f"{conf}:3: zone name \"z\" is used twice"):
            check(line in r.stderr, f"{line!r} in\n{r.stderr}")
        check("nope" not in r.stderr, f"a zone path not there yet is no error:\n{r.stderr}")
        # Starting on a bad config fails the same way, with no socket left.
        r = subprocess.run([SWEEPD, "-c", conf], capture_output=True, text=True, timeout=WAIT)
        equal(r.returncode, 1, "start on a bad config")
        # An archive reached through ".." in a directory not there would land in the zone
        # (and archive itself forever); a state_dir that is a link to nothing in the zone:
        # refused by -t and by the start alike, before anything is made.
        for text, want in (
                ('archive = { path = "zone2/../z/ar"; };\n',
                 '".." in zone2/../z/ar, a part that does not exist yet'),
                ('archive = { path = "ar"; };\nstate_dir = "st";\n',
                 f"{root}/st is a symbolic link to {root}/z/st, which does not exist")):
            if "state_dir" in text:
                os.symlink(os.path.join(root, "z", "st"), os.path.join(root, "st"))
            with open(conf, "w") as f:
                f.write(text + 'zones = ( { name = "z"; path = "z"; max_age = 1; min_age = 0; } );\n')
            r = subprocess.run([SWEEPD, "-t", "-c", conf], capture_output=True, text=True)
            equal(r.returncode, 1, f"-t refuses {text!r}: {r.stdout}")
            check(want in r.stderr, f"{want!r} in\n{r.stderr}")
            r = subprocess.run([SWEEPD, "-c", conf], capture_output=True, text=True, timeout=WAIT)
            equal(r.returncode, 1, f"the start refuses {text!r} too")
            equal(sorted(os.listdir(os.path.join(root, "z"))), [], "nothing made in the zone")
        r = subprocess.run([SWEEPD, "-c", os.path.join(root, "missing.conf")],
                           capture_output=True, text=True)
        equal(r.returncode, 1, "missing config")
        check("missing.conf: cannot read" in r.stderr, r.stderr)
    finally:
        shutil.rmtree(root)


@case
def watch_limit_falls_back_to_rescans():
    """Past fs.inotify.max_user_watches: one clear log line, and settle still sees all."""
    limit_file = "/proc/sys/fs/inotify/max_user_watches"
    with open(limit_file) as f:
        old = f.read().strip()
    d = Daemon(start=False)
    try:
        populate(d.path(), 40, 3)
        # Only a handful of watches for everything: most directories go unwatched.
        used = sum(1 for p in os.listdir("/proc") if p.isdigit()) and count_watches()
        with open(limit_file, "w") as f:
            f.write(str(used + 10))
        d.start()
        d.expect_matches_disk(what="with few watches")
        log = d.logtext()
        check(sum("fs.inotify.max_user_watches" in l for l in log.splitlines()) == 1, f"one line about the limit:\n{log}")
        for i in range(40):
            write(os.path.join(d.path(), f"d{i}", "sub0", "late"), b"late" * i)
            os.unlink(os.path.join(d.path(), f"d{i}", f"sub{i % 3}", "f0.bin"))
        d.expect_matches_disk(what="changes in unwatched directories")
    finally:
        with open(limit_file, "w") as f:
            f.write(old)
        d.close()


def count_watches():
    """inotify watches held by all processes of this user, from /proc/*/fdinfo."""
    n = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fdinfo"):
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    n += sum(1 for l in f if l.startswith("inotify wd:"))
        except OSError:
            pass
    return n


@case
def sigint_and_journal_prefix():
    d = Daemon(start=False)
    try:
        d.start()
        d.proc.send_signal(signal.SIGINT)
        equal(d.proc.wait(WAIT), 0, "SIGINT exit")
        d.proc = None
        d.logf.close()
        check(not os.path.exists(d.sock), "socket removed")
        # Under journald (JOURNAL_STREAM naming stderr) lines carry <N> priorities.
        r = subprocess.run(["sh", "-c", 'st=$(stat -L -c "%d:%i" /dev/stderr); '
                            f'JOURNAL_STREAM=$st exec {SWEEPD} -c /nonexistent/x.conf'],
                           capture_output=True, text=True)
        equal(r.returncode, 1, "bad start")
        r = subprocess.run(["sh", "-c", 'st=$(stat -L -c "%d:%i" /proc/self/fd/2); '
                            f'JOURNAL_STREAM=$st exec {SWEEPD} -c {d.conf} -v & pid=$!; '
                            f'while [ ! -S {d.sock} ]; do :; done; kill $pid; wait $pid'],
                           capture_output=True, text=True, timeout=WAIT)
        check(r.stderr.startswith("<6>"), f"journal priority prefix: {r.stderr[:200]!r}")
    finally:
        d.close()


# --- names in the daemon's log and in sweepctl's output (issue 11) ---

def hidden(cp):
    """Characters the README's escaping writes as \\xHH: controls, C1, bidi, line separators."""
    return (cp < 0x20 or cp == 0x7F or 0x80 <= cp <= 0x9F or cp == 0x61C or cp in (0x200E, 0x200F)
            or 0x2028 <= cp <= 0x202E or 0x2066 <= cp <= 0x2069)


def esc(b):
    """The README's escaping of a name's bytes, written independently of the C code."""
    out, i = [], 0
    while i < len(b):
        c = b[i]
        n = 1 if c < 0x80 else 2 if c >> 5 == 6 else 3 if c >> 4 == 14 else 4 if c >> 3 == 30 else 0
        try:
            ch = b[i:i + n].decode("utf-8") if n and i + n <= len(b) else None
        except UnicodeDecodeError:
            ch = None
        if ch is None:
            out.append("\\x%02x" % c)
            i += 1
            continue
        if ch == "\\":
            out.append("\\\\")
        elif hidden(ord(ch)):
            out.append("".join("\\x%02x" % x for x in b[i:i + n]))
        else:
            out.append(ch)
        i += n
    return "".join(out)


def printable(data, what):
    """Strict UTF-8 with no raw control byte, escape or text-reordering character but newline."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Failure(f"{what}: not UTF-8 ({e}): {data!r}")
    for ch in text:
        check(ch == "\n" or not hidden(ord(ch)), f"{what}: raw {ch!r} in {text!r}")
    return text


HOSTILE = [
    b"x\nsweepd: error: FORGED LINE.log",
    b"red\x1b[31mALERT\x1b[0m.mp4",
    b"title\x1b]0;pwned\x07.mp4",
    b"lit\\xff.txt",          # a backslash, then the letters x f f
    b"lit\xff.txt",           # the byte 0xff
    b"bad\xc3(utf8\xed\xa0\x80.bin",
    "数字人视频.mp4".encode(),
    b"csi\xc2\x9b2J.mp4",     # U+009B, the one-character CSI
    b"rtl\xe2\x80\xaevid.mp4",  # U+202E, right-to-left override
    b"tab\there\rcr\x7f.bin",
    b"pua\xee\xbe\x80.bin",     # U+EF80: an escape character of the JSON encoding
    b"dir\nsweepd: error: FORGED DIR/inner.bin",
]


@case
def hostile_names_in_logs_and_output():
    """Names holding newlines, terminal escapes, backslashes, invalid UTF-8 and Chinese:
    archived, deleted and rotated, each action one escaped line of the daemon's log with
    no forged line; top, archive and restore print them escaped and distinct; each path
    that sweepctl archive prints, pasted into sweepctl restore, restores that file."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"7d"'},
                      {"name": "del", "path": "del", "max_age": '"7d"', "action": '"delete"'},
                      {"name": "keep", "path": "keep"},
                      {"name": "logs", "path": "logs", "include": '[ "*.log" ]',
                       "rotate": '{ size = "1M"; keep = 3; compress = "off"; }'}],
               extra='archive = { path = "archive"; };', start=False)
    try:
        old = time.time() - 10 * 86400
        sums = {}
        for zone in ("z", "del", "keep"):
            zb = os.fsencode(d.path(zone))
            for i, n in enumerate(HOSTILE):
                p = os.path.join(zb, n)
                data = b"%s %d\n" % (n, i) * (i + 1)
                write(p, data)
                os.utime(p, (old, old))
                sums[p] = data
        logs = os.fsencode(d.path("logs"))
        live = [os.path.join(logs, b"y\nsweepd: error: FORGED LINE.log"),
                os.path.join(logs, b"esc\x1b[2J\x1b]0;t\x07.log")]
        for p in live:
            write(p, b"line\n" * 400)
        d.start()
        d.settle()
        zb, db = os.fsencode(d.path("z")), os.fsencode(d.path("del"))
        equal(len(d.request({"cmd": "archive"})["entries"]), len(HOSTILE), "all archived")
        for n in HOSTILE:
            check(not os.path.exists(os.path.join(db, n)), f"deleted: {n!r}")
        r = d.request({"cmd": "rotate", "zone": "logs"})
        check(r.get("ok") and len(r["actions"]) == 2, f"two logs rotated: {r}")

        # top: escaped, the two backslash names distinct, Chinese as it is.
        top = d.ctl("top", "keep", "-n", "50", "--wide")  # whole paths, whatever their length
        equal(top.returncode, 0, f"sweepctl top: {top.stderr!r}")
        text = printable(top.stdout, "sweepctl top")
        kb = os.fsencode(d.path("keep"))
        for n in HOSTILE:
            equal(text.count(esc(os.path.join(kb, n)) + "\n"), 1, f"top shows {n!r}")
        check("lit\\\\xff.txt\n" in text and "lit\\xff.txt\n" in text, "backslash names distinct")
        check("数字人视频.mp4" in text, "Chinese as it is")

        # archive: escaped; each printed path pasted into restore brings that very file back.
        arch = d.ctl("archive")
        equal(arch.returncode, 0, f"sweepctl archive: {arch.stderr!r}")
        text = printable(arch.stdout, "sweepctl archive")
        lines = text.splitlines()[1:]
        equal(len(lines), len(HOSTILE), f"one line per entry: {text}")
        pasted = [line[line.index(" /") + 1:] for line in lines]
        equal(sorted(pasted), sorted(esc(os.path.join(zb, n)) for n in HOSTILE), "printed paths")
        for text_path in pasted:
            r = d.ctl("restore", text_path)
            equal(r.returncode, 0, f"restore {text_path}: {r.stderr!r}")
            equal(printable(r.stdout, "sweepctl restore"), f"restored {text_path}\n", "said")
        for n in HOSTILE:
            p = os.path.join(zb, n)
            with open(p, "rb") as f:
                equal(f.read(), sums[p], f"restored byte for byte: {n!r}")
        # Errors name the path escaped too: it is no longer in the archive.
        r = d.ctl("restore", pasted[1])
        equal(r.returncode, 1, "restoring twice is an error")
        check(pasted[1] in printable(r.stderr, "restore error"), f"error names it: {r.stderr!r}")
        r = d.ctl("restore", "/no/such\\q")
        equal(r.returncode, 1, "a stray backslash")
        check(b"a backslash is written \\\\\n" in r.stderr, f"says how: {r.stderr!r}")

        # The daemon's log: one line per action, escaped, nothing forged, no raw byte.
        d.settle()
        with open(d.log, "rb") as f:
            log = printable(f.read(), "the daemon's log")
        for line in log.splitlines():
            check(line.startswith("sweepd: ") and not line.startswith("sweepd: error: FORGED"),
                  f"a line sweepd did not write: {line!r}")
        for n in HOSTILE:
            for verb, root in (("archived", zb), ("deleted", db), ("restored", zb)):
                want = f" {verb} {esc(os.path.join(root, n))} ("
                equal(sum(want in line for line in log.splitlines()), 1,
                      f"one {verb} line for {n!r} in:\n{log}")
        for p in live:
            equal(log.count(f" rotated {esc(p)} ("), 1, f"one rotated line for {p!r}")
    finally:
        d.close()


@case
def sweepctl_says_what_it_did():
    """purge, pause, resume and restore print one short line each; each purge is logged;
    restore's --to is read escaped, as paths print."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"7d"'}],
               extra='archive = { path = "archive"; };', start=False)
    try:
        old = time.time() - 10 * 86400
        for i in range(3):
            p = d.path("z", f"f{i}.bin")
            write(p, b"x" * 2048)
            os.utime(p, (old, old))
        d.start()
        d.settle()
        entries = d.request({"cmd": "archive"})["entries"]
        equal(len(entries), 3, "archived")
        to = d.path("z", "new\\x0aname\\\\.bin")  # typed escaped: a newline, a backslash
        r = d.ctl("restore", str(entries[0]["id"]), "--to", to)
        equal((r.returncode, r.stdout.decode()), (0, f"restored {to}\n"), "restore --to")
        check(os.path.exists(d.path("z", "new\nname\\.bin")), "--to read escaped")
        r = d.ctl("purge")
        equal((r.returncode, r.stdout.decode()), (0, "purged 0 files, 0B\n"), "nothing due")
        r = d.ctl("purge", "--older-than", "0s")
        # What the copies took on disk: a 4 KiB block each for 2 KiB of data.
        equal((r.returncode, r.stdout.decode()), (0, "purged 2 files, 8.0K\n"), "purge")
        r = d.ctl("pause")
        equal(r.returncode, 0, "pause")
        check(r.stdout.decode().startswith("paused: ") and r.stdout.count(b"\n") == 1,
              f"pause says so: {r.stdout!r}")
        r = d.ctl("resume")
        equal(r.returncode, 0, "resume")
        check(r.stdout.decode().startswith("resumed") and r.stdout.count(b"\n") == 1,
              f"resume says so: {r.stdout!r}")
        log = d.logtext()
        for e in entries[1:]:
            equal(log.count(f" purged {e['path']} ("), 1, f"purge logged: {log}")
    finally:
        d.close()


# --- zones whose directory is not there yet (issue 11) ---

def wait_present(d, name, want, what, limit=10.0):
    """Polls status, without settle, until the zone's present is want: what inotify alone
    brings in (housekeeping's retry is 30 s away), bounded well under it."""
    import time
    end = time.monotonic() + limit
    while True:
        got = d.zone(name)
        if got["present"] == want:
            return got
        check(time.monotonic() < end, f"{what}: zone {name} present {got['present']} "
              f"after {limit}s; log:\n{d.logtext()}")
        time.sleep(0.05)


def missing_zones_daemon(zones, extra=""):
    """A daemon over zones whose directories are removed before it starts."""
    d = Daemon(zones=zones, extra=extra, start=False)
    for z in zones:
        shutil.rmtree(os.path.join(d.root, z["path"].split("/")[0]))
    return d


@case
def zone_dir_missing_at_start():
    """A zone whose directory (or its parent too) is not there: -t warns with the line
    and says OK, the daemon starts with present:false, and each is picked up when made,
    even in one breath with its files, with no restart and without waiting for a retry."""
    d = missing_zones_daemon([{"name": "z", "path": "zone"},
                              {"name": "deep", "path": "srv/app/outputs"},
                              {"name": "here", "path": "here"}])
    try:
        os.makedirs(d.path("here"))
        write(d.path("here", "h"), b"h")
        r = subprocess.run([SWEEPD, "-t", "-c", d.conf], capture_output=True, text=True)
        equal((r.returncode, r.stdout.strip()), (0, "configuration OK"), f"-t: {r.stderr}")
        for line, path in ((5, d.path("z")), (6, d.path("deep"))):
            want = f'{d.conf}:{line}: warning: zone "{"z" if line == 5 else "deep"}": {path} does not exist'
            check(want in r.stderr, f"{want!r} in\n{r.stderr}")
        check(f"{d.conf}:7:" not in r.stderr, f"no warning for the zone that is there:\n{r.stderr}")
        d.start()
        st = d.status()
        for name in ("z", "deep"):
            got = [z for z in st["zones"] if z["name"] == name][0]
            equal((got["present"], got["files"], got["bytes"], got["fs"]), (False, 0, 0, None),
                  f"zone {name} before its directory exists")
        equal(d.zone("here")["files"], 1, "the zone that is there is scanned")
        check("does not exist (yet): watching" in d.logtext(), d.logtext())
        # The one-level zone: made, then filled; inotify alone brings it in.
        os.makedirs(d.path("z"))
        wait_present(d, "z", True, "made after the start")
        write(d.path("z", "a", "f1"), b"1" * 100)
        d.expect_matches_disk("z", "filled after it appeared")
        # The deep one: every missing level and its files in one breath.
        r = subprocess.run(["sh", "-c", 'mkdir -p "$1/x/y" && printf 12345 > "$1/x/y/f" && '
                            'printf 67 > "$1/g"', "sh", d.path("deep")])
        equal(r.returncode, 0, "mkdir -p and files in one breath")
        got = wait_present(d, "deep", True, "mkdir -p in one breath")
        got = d.expect_matches_disk("deep", "mkdir -p in one breath")
        equal((got["files"], got["bytes"]), (2, 7), "files and bytes of the deep zone")
        check(got["fs"] and got["fs"] in [f["id"] for f in d.status()["filesystems"]],
              "its filesystem is listed")
        check(f'zone "deep": {d.path("deep")} is there now' in d.logtext(), d.logtext())
        # Gone with its parents, then back: still followed, as often as it happens.
        for turn in range(3):
            shutil.rmtree(os.path.join(d.root, "srv"))
            d.settle()
            equal((d.zone("deep")["present"], d.zone("deep")["files"]), (False, 0),
                  f"removed with its parents ({turn})")
            populate(d.path("deep"), 2, 3)
            wait_present(d, "deep", True, f"made again ({turn})")
            equal(d.expect_matches_disk("deep", f"made again ({turn})")["files"], 6,
                  f"files after coming back ({turn})")
        # The other zones were never disturbed.
        d.expect_matches_disk("z", "the other zone")
        equal(d.zone("here")["files"], 1, "the zone that was there")
        # A reload adds one that is not there either (and drops one that is): the same.
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace('{ name = "deep"; path = "srv/app/outputs"; }',
                                 '{ name = "later"; path = "opt/x/y"; }'))
        r = d.request({"cmd": "reload"})
        check(r["ok"] and any("opt/x/y does not exist" in w for w in r.get("warnings", [])),
              f"reload warns: {r}")
        equal(d.zone("later")["present"], False, "added by a reload, not there yet")
        d.zones["later"] = os.path.join(d.root, "opt", "x", "y")
        populate(d.path("later"), 1, 4)
        wait_present(d, "later", True, "made after the reload")
        equal(d.expect_matches_disk("later", "made after the reload")["files"], 4, "its files")
    finally:
        d.close()


@case
def zone_root_symlink_not_followed():
    """Someone who can write where a missing zone root belongs puts a link there (to /etc,
    or to a tree of their own): it is never followed, the zone stays present:false with a
    clear log line, and a real directory put there later is picked up."""
    d = missing_zones_daemon([{"name": "z", "path": "srv/out"}])
    try:
        os.makedirs(os.path.join(d.root, "srv"))
        elsewhere = os.path.join(d.root, "elsewhere")
        write(os.path.join(elsewhere, "out", "theirs"), b"t" * 1000)
        write(os.path.join(elsewhere, "mine"), b"m")
        d.start()
        root = d.path("z")
        os.symlink("/etc", root)
        d.settle()
        got = d.zone("z")
        equal((got["present"], got["files"], got["fs"]), (False, 0, None), "a link to /etc at the root")
        check(f'zone "z": {root} is a symbolic link, which sweepd does not follow' in d.logtext(),
              d.logtext())
        os.unlink(root)
        os.symlink(os.path.join(elsewhere, "out"), root)
        d.settle()
        equal((d.zone("z")["present"], d.zone("z")["files"]), (False, 0), "a link to a tree")
        # Toggled over and over: said once, not once a toggle.
        for _ in range(50):
            os.unlink(root)
            os.symlink("/etc", root)
        d.settle()
        equal(d.logtext().count("is a symbolic link, which sweepd does not follow"), 1,
              f"one line for the link:\n{d.logtext()}")
        # A link one level up, on the way to the root.
        os.unlink(root)
        os.rmdir(os.path.join(d.root, "srv"))
        os.symlink(elsewhere, os.path.join(d.root, "srv"))
        d.settle()
        equal((d.zone("z")["present"], d.zone("z")["files"]), (False, 0), "a link above the root")
        # A file in the way.
        os.unlink(os.path.join(d.root, "srv"))
        os.makedirs(os.path.join(d.root, "srv"))
        write(root, b"file")
        d.settle()
        equal(d.zone("z")["present"], False, "a file at the root")
        # The real thing, at last: the links' targets were never touched nor counted.
        os.unlink(root)
        os.makedirs(root)
        write(os.path.join(root, "real"), b"r" * 10)
        wait_present(d, "z", True, "a directory at the root")
        equal(d.expect_matches_disk("z", "a real root")["files"], 1, "only the real root's files")
        # The root there, then moved away and a link put in its place.
        os.rename(root, root + ".old")
        os.symlink(os.path.join(elsewhere, "out"), root)
        d.settle()
        got = d.zone("z")
        equal((got["present"], got["files"]), (False, 0), "a link in place of a root that was there")
        equal(sorted(os.listdir(elsewhere)), ["mine", "out"], "the link's target untouched")
        equal(os.listdir(os.path.join(elsewhere, "out")), ["theirs"], "nothing made in it")
    finally:
        d.close()


@case
def zone_appears_and_rotates():
    """A log zone whose directory is made after the start: a log there that crosses its
    size is rotated, with no restart or reload."""
    from test_rotate import copies, logs_zone
    d = missing_zones_daemon([logs_zone('size = "64K"; method = "copytruncate"; '
                                        'compress = "off";', path="app/logs")])
    try:
        d.start()
        equal(d.zone("logs")["present"], False, "log zone before its directory exists")
        logs = d.zones["logs"]
        os.makedirs(logs)
        live = os.path.join(logs, "app.log")
        wait_present(d, "logs", True, "log directory made")
        with open(live, "ab") as f:
            for i in range(3000):
                f.write(b"%09d a line of the log\n" % i)
        d.settle()
        cs = copies(logs, "app.log")
        equal(len(cs), 1, f"rotated once at 64K: {os.listdir(logs)}")
        with open(cs[0], "rb") as f:
            equal(f.read().count(b"\n"), 3000, "every line in the copy")
        equal(os.path.getsize(live), 0, "the live log emptied")
    finally:
        d.close()


@case
def zone_appears_on_a_fresh_tmpfs():
    """A zone that appears after the start and then gets a small tmpfs mounted on it: it
    joins `filesystems`, and the disk marks act there (above high, swept under low); when
    the tmpfs goes, the zone is its directory on the old filesystem again."""
    from test_sweep import OLD, old
    d = missing_zones_daemon([{"name": "z", "path": "zone", "min_age": "0",
                               "action": '"delete"'}],
                             extra='disk = { high = "60%"; low = "40%"; };')
    mounted = False
    try:
        d.start()
        root = d.path("z")
        equal(d.status()["filesystems"], [], "no filesystem before the zone exists")
        os.makedirs(root)
        wait_present(d, "z", True, "made after the start")
        before = d.zone("z")["fs"]
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", root], check=True)
        mounted = True
        for i in range(6):
            p = os.path.join(root, f"{i}.bin")
            write(p, os.urandom(1024 * 1024))
            old(p, OLD + i)
        d.settle()
        got = d.zone("z")
        fss = {f["id"]: f for f in d.status()["filesystems"]}
        check(got["present"] and got["fs"] != before and got["fs"] in fss,
              f"the tmpfs is the zone's filesystem now: {got['fs']} in {list(fss)}")
        equal(fss[got["fs"]]["mount"], root, "its mount point")
        st = os.statvfs(root)
        used = (st.f_blocks - st.f_bfree) / st.f_blocks * 100
        check(used <= 40.5, f"used {used:.1f}% after the disk pass, low mark 40%")
        equal(sorted(os.listdir(root)), ["3.bin", "4.bin", "5.bin"], "the oldest went first")
        d.expect_matches_disk("z", "after the disk pass")
        # Lazily: the daemon holds the zone root open, as it does any zone's.
        subprocess.run(["umount", "-l", root], check=True)
        mounted = False
        write(os.path.join(root, "under"), b"u")
        d.settle()
        got = d.expect_matches_disk("z", "the tmpfs gone")
        equal((got["present"], got["files"], got["fs"]), (True, 1, before),
              "the directory under it again")
    finally:
        if mounted:
            subprocess.run(["umount", "-l", d.path("z")], check=False)
        d.close()



LONG_LEVELS, LONG_NAME = 20, 250
LONG_OLD = time.time() - 10 * 86400


def open_long(path):
    """A directory of any path length, opened one component at a time."""
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    for part in path.strip("/").split("/"):
        nfd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = nfd
    return fd


def long_tree(base, tag, levels=LONG_LEVELS):
    """The reviewer's tree: LONG_LEVELS directories of LONG_NAME bytes below base, made
    through directory descriptors (its full path is past PATH_MAX), a small file every
    five levels and a 20 MB one at the bottom; all ten days old. Returns the bottom
    file's full path and how many files were made."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    path, made = base, 0
    try:
        for level in range(1, levels + 1):
            name = f"{tag}{level:02d}".ljust(LONG_NAME, "x")
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd, path = nfd, os.path.join(path, name)
            if level % 5 == 0:
                small = os.open(f"small{level}", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
                os.write(small, b"s" * (100 * level))
                os.close(small)
                # Newer than the bottom file: a sweep takes that one first.
                os.utime(f"small{level}", (LONG_OLD + 3600, LONG_OLD + 3600), dir_fd=fd)
                made += 1
        big = os.open("bottom.bin", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        chunk = b"b" * (1 << 20)
        for _ in range(20):
            os.write(big, chunk)
        os.close(big)
        os.utime("bottom.bin", (LONG_OLD, LONG_OLD), dir_fd=fd)
        made += 1
    finally:
        os.close(fd)
    return os.path.join(path, "bottom.bin"), made


@case
def paths_past_path_max():
    """Files below a path longer than PATH_MAX are counted and watched like any other:
    present at the start, made while the daemon runs, and after a restart; top names
    them by their full path."""
    d = Daemon(start=False)
    try:
        z = d.path()
        write(os.path.join(z, "top.txt"), b"t" * 10)
        first, n1 = long_tree(z, "a")
        check(len(first) > 4096, "the test tree is past PATH_MAX")
        d.start()
        equal(d.expect_matches_disk(what="deep tree at start")["files"], 1 + n1, "files")
        second, n2 = long_tree(z, "b")
        equal(d.expect_matches_disk(what="deep tree made while running")["files"],
              1 + n1 + n2, "files")
        top = d.request({"cmd": "top", "zone": "z", "n": 1})
        check(top.get("ok"), f"top: {str(top)[:300]}")
        equal(top["files"][0]["path"], first, "top names the deepest, largest file whole")
        human = d.ctl("top", "z", "-n", "1", "--wide")
        equal(human.returncode, 0, "sweepctl top")
        check(first in human.stdout.decode(), "sweepctl top --wide prints the whole path")
        # A file written (and grown) down there later is seen through its watch.
        fd = open_long(os.path.dirname(second))
        try:
            late = os.open("late.bin", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
            os.write(late, b"l" * 12345)
            os.close(late)
        finally:
            os.close(fd)
        equal(d.expect_matches_disk(what="file added deep down")["files"], 2 + n1 + n2,
              "files")
        d.stop()
        d.start()
        d.expect_matches_disk(what="deep trees after a restart")
    finally:
        d.close()


@case
def paths_past_path_max_swept():
    """With max_size, the 20 MB file below a path past PATH_MAX is deleted (a delete
    zone), its full path in the audit log; in an archive zone, whose
    archive cannot mirror such a path, it stays counted and a named error says why."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_size": '"1M"', "min_age": "0",
                       "action": '"delete"'},
                      {"name": "a", "path": "azone", "max_size": '"1M"', "min_age": "0",
                       "action": '"archive"'}],
               extra='archive = { path = "archive"; };', start=False)
    try:
        deep, n = long_tree(d.path("z"), "a")
        d.start()
        d.settle()
        got = d.expect_matches_disk(what="after the sweep at start")
        equal(got["files"], n - 1, "the bottom file went")
        fd = open_long(os.path.dirname(deep))
        try:
            check("bottom.bin" not in os.listdir(fd), "the deep file is still there")
        finally:
            os.close(fd)
        with open(os.path.join(d.root, "state", "audit.log")) as f:
            entries = [json.loads(line) for line in f]
        equal([e["path"] for e in entries if e["zone"] == "z"], [deep],
              "the audit names the deep file whole")
        # Made while running, in the archive zone: counted, and the failure named; 34
        # levels, so that the log's line is longer than its 8 KiB buffer.
        adeep, an = long_tree(d.path("a"), "c", 34)
        got = d.expect_matches_disk(name="a", what="archive zone")
        # Whether the shallower ones went depends on when the sweeps ran; the bottom one
        # cannot go, and stays counted.
        check(4 <= got["files"] <= an, f"files left in the archive zone: {got['files']}")
        fd = open_long(os.path.dirname(adeep))
        try:
            check("bottom.bin" in os.listdir(fd), "the unarchivable file is gone")
        finally:
            os.close(fd)
        r = d.request({"cmd": "sweep", "zone": "a"})
        log = d.logtext()
        check(len(adeep) > 8192, "the path is longer than the log's buffer")
        check("longer than PATH_MAX" in log and f"{adeep}: cannot archive it" in log,
              f"no named error with the full path in the log:\n{log[-3000:]}")
        blocked = d.zone("a")["blocked"]
        check(blocked and "too long for the archive" in blocked["why"],
              f"the blocked cause does not say why: {blocked}")
        check(r.get("ok"), f"sweep: {str(r)[:300]}")
        d.expect_matches_disk(name="a", what="archive zone after the refused archive")
    finally:
        d.close()



@case
def failures_to_archive_are_logged_a_few_a_minute():
    """Anyone who may write into an archive zone can make files that cannot be archived
    (their path in the archive past PATH_MAX), each failing again and again: the log
    names the first 10 failures of a minute, whole, and counts the rest (the trial saw
    400 lines of 4.9 KB a minute from 200 such files, every 30 s again); counters.errors
    counts every one, and the files stay in their zone."""
    d = Daemon(zones=[{"name": "a", "path": "azone", "max_age": '"1d"', "min_age": "0"}],
               extra='archive = { path = "archive"; };', start=False)
    try:
        deep, n = long_tree(d.path("a"), "c", 18)
        fd = open_long(os.path.dirname(deep))
        try:
            for i in range(40):
                name = f"f{i:03d}".ljust(200, "x")
                f = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
                os.write(f, b"hello")
                os.close(f)
                os.utime(name, (LONG_OLD, LONG_OLD), dir_fd=fd)
        finally:
            os.close(fd)
        d.start()
        d.settle()
        log = d.logtext()
        named = log.count(": cannot archive it: its path in the archive")
        check(1 <= named <= 10, f"failures named in the log: {named}")
        check(len(log) < 100_000, f"the log: {len(log)} bytes")
        errors = d.status()["counters"]["errors"]
        check(errors >= 40, f"counters.errors counts each failure: {errors}")
        fd = open_long(os.path.dirname(deep))
        try:
            left = [e for e in os.listdir(fd) if e.startswith("f")]
        finally:
            os.close(fd)
        equal(len(left), 40, "the files that cannot be archived stay in their zone")
    finally:
        d.close()


if __name__ == "__main__":
    main()
