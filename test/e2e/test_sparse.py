"""Sparse files, against the real daemon and real filesystems: a file of 1 TiB apparent size
and a few MiB of data (what `truncate -s` makes in an instant, or a writer without O_APPEND
after a truncate) is archived, restored and rotated by its data, in about the time its data
takes, and comes back byte for byte (its holes as zeros). Every tree lives on tmpfs of its
own: a copy of the holes fills them (ENOSPC) rather than the machine's disk.
Run one: python3 test_sparse.py NAME; all: no argument.

Synchronisation is READY=1, settle and the rotate command's answer, never a sleep: each
returns within the harness's WAIT, or the test fails."""

import errno
import hashlib
import os
import subprocess
import sys
import tempfile

from harness import CASES, Daemon, case, check, equal, main
from test_rotate import copies, logs_zone, rotations
from test_sweep import Tmpfs, audit, ok, old

MIB = 1 << 20
TIB = 1 << 40


def unmount(root, *fss):
    """Each tmpfs unmounted, then the test's tree removed."""
    for fs in fss:
        subprocess.run(["umount", "-l", fs.path], check=False)
    subprocess.run(["rm", "-rf", root], check=False)


def sparse_file(path, size, regions):
    """A file of size bytes holding only regions ({offset: data}), holes elsewhere."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        for off, data in sorted(regions.items()):
            f.seek(off)
            f.write(data)
        f.truncate(size)


def expected(regions, a, b):
    """What the original holds in [a, b): the regions' bytes, zeros elsewhere."""
    out = bytearray(b - a)
    for off, data in regions.items():
        lo, hi = max(a, off), min(b, off + len(data))
        if lo < hi:
            out[lo - a:hi - a] = data[lo - off:hi - off]
    return bytes(out)


def same_as_sparse(path, size, regions, what):
    """path holds exactly what the original did, byte for byte, read by its data: every
    region read back whole (its sha256), every data extent of the copy equal to the
    original there, and what lies between them holes (zeros, the original's zeros). Few
    blocks on disk: no more than the data, to the MiB. Reads only the data."""
    data_len = sum(len(d) for d in regions.values())
    with open(path, "rb") as f:
        fd = f.fileno()
        st = os.fstat(fd)
        equal(st.st_size, size, f"{what}: its size")
        check(st.st_blocks * 512 <= data_len + MIB,
              f"{what}: {st.st_blocks * 512} bytes on disk for {data_len} of data: "
              "its holes were written")
        for off, data in regions.items():
            equal(hashlib.sha256(os.pread(fd, len(data), off)).hexdigest(),
                  hashlib.sha256(data).hexdigest(), f"{what}: the data at {off}")
        pos = 0
        while True:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as e:
                equal(e.errno, errno.ENXIO, f"{what}: SEEK_DATA")
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            for a in range(start, end, 4 * MIB):
                b = min(end, a + 4 * MIB)
                check(os.pread(fd, b - a, a) == expected(regions, a, b),
                      f"{what}: bytes {a}..{b} differ from the original")
            pos = end


def regions_of_a_render():
    """A few MiB of random data at a few offsets of 1 TiB, the last well before its end
    (the file ends in a hole, which no extent marks)."""
    return {0: os.urandom(MIB), 300 << 30: os.urandom(2 * MIB),
            TIB - 8 * MIB: os.urandom(MIB + 12345)}


def archived_by_its_data(compress):
    """A 1 TiB sparse file due in a tmpfs zone, the archive another tmpfs (a copy across
    filesystems), with compress as said: archived within settle, sparse, uncompressed
    (zstd would read every zero), and restored the same."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    zone = Tmpfs(os.path.join(root, "fs"), "64M")
    arch = Tmpfs(os.path.join(root, "archive"), "64M")
    d = None
    try:
        d = Daemon(root=root, start=False,
                   zones=[{"name": "z", "path": "fs", "max_age": '"1d"'}],
                   extra=f'archive = {{ path = "archive"; compress = "{compress}"; '
                         'level = 3; };')
        big = os.path.join(zone.path, "renders", "x.bin")
        regions = regions_of_a_render()
        sparse_file(big, TIB, regions)
        old(big)
        d.start()
        d.settle()
        check(not os.path.exists(big), f"archived (log:\n{d.logtext()[-2000:]})")
        es = ok(d.request({"cmd": "archive"}), "archive")["entries"]
        equal(len(es), 1, f"one entry: {es}")
        e = es[0]
        equal((e["path"], e["bytes"], e["compressed"]), (big, TIB, False),
              "its entry: its path and size, not compressed")
        check(not e["archive_path"].endswith(".zst"), f"a plain copy: {e['archive_path']}")
        check(e["stored"] <= 5 * MIB, f"stored: what it holds on disk, {e['stored']}")
        st = d.status()
        equal(st["archive"]["bytes"], e["stored"], "the archive's bytes, on disk")
        check(st["mover"]["bytes"] <= 5 * MIB,
              f"the job moved its data, not its holes: {st['mover']['bytes']}")
        same_as_sparse(e["archive_path"], TIB, regions, "the archived copy")
        r = ok(d.request({"cmd": "restore", "id": e["id"]}), "restore")
        equal(r["restored"], big, "restored where it was")
        same_as_sparse(big, TIB, regions, "the restored file")
        check(not os.path.exists(e["archive_path"]), "out of the archive")
        d.expect_matches_disk("z", "after the restore")
        check(any(a["action"] == "restore" for a in audit(d)), "restore audited")
    finally:
        try:
            if d:
                d.close()
        finally:
            unmount(root, arch, zone)


@case
def sparse_file_archived_and_restored_by_its_data():
    archived_by_its_data("off")


@case
def sparse_file_archived_by_its_data_under_zstd():
    archived_by_its_data("zstd")


def log_with_a_hole():
    """What a writer without O_APPEND leaves after a truncate: a hole up to its offset,
    then its lines (1 TiB apparent, a few KiB of data)."""
    lines = b"".join(b"2026-11-22T10:00:%02d.000000Z INFO line %d of the writer\n" % (k % 60, k)
                     for k in range(200))
    return {TIB: lines}, TIB + len(lines)


def rotated_sparse_log(rotate_conf, what, after):
    """A 1 TiB sparse log (a few lines at its end) in a tmpfs zone rotated by hand under
    rotate_conf: one rotation, one copy, plain (no .zst: zstd would read every zero) and
    sparse, holding the log byte for byte; then after(d, copy, size, regions)."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "logs"), "64M")
    d = None
    try:
        d = Daemon([logs_zone(rotate_conf)], root=root)
        live = os.path.join(d.zones["logs"], "app.log")
        regions, size = log_with_a_hole()
        sparse_file(live, size, regions)
        d.settle()
        r = ok(d.request({"cmd": "rotate"}), "rotate")
        equal(len(r["actions"]), 1, f"one rotation: {r}")
        d.settle()
        cs = copies(d.zones["logs"], "app.log")
        equal(len(cs), 1, f"one copy: {cs}")
        check(not cs[0].endswith(".zst"), f"mostly holes: left plain: {cs[0]}")
        same_as_sparse(cs[0], size, regions, what)
        after(d, live, cs, size, regions)
        equal(d.status()["counters"]["errors"], 0, "no error")
    finally:
        try:
            if d:
                d.close()
        finally:
            unmount(root, fs)


@case
def sparse_log_rotated_by_copytruncate_under_zstd():
    """A sparse log rotated by copytruncate with compression: the rotate command answers
    within WAIT, the copy is plain and sparse and holds the log byte for byte; after a
    restart it is not queued for compression again."""
    def after(d, live, cs, size, regions):
        equal(os.path.getsize(live), 0, "copytruncate: the live log emptied")
        equal(rotations(d)[0]["bytes"], size, "the audit says what was cut")
        d.stop()
        d.start()
        d.settle()
        equal(copies(d.zones["logs"], "app.log"), cs, "after a restart: still plain, as it was")
        same_as_sparse(cs[0], size, regions, "the copy after a restart")
        equal(d.status()["mover"]["jobs"], 0, "after a restart: no compression queued for it")

    rotated_sparse_log('size = "1M"; method = "copytruncate"; compress = "zstd"; level = 3;',
                       "the rotated copy", after)


@case
def sparse_log_renamed_is_left_uncompressed():
    """A sparse log moved aside by "rename" under compress: its compression job leaves it
    plain and sparse (within settle), and is done with it: not queued again."""
    def after(d, live, cs, size, regions):
        jobs = d.status()["mover"]["jobs"]
        for _ in range(3):  # more passes (each write is one): nothing queued for it again
            with open(os.path.join(d.zones["logs"], "other.log"), "ab") as f:
                f.write(b"a line\n")
            d.settle()
        equal(d.status()["mover"]["jobs"], jobs, "no job since: its compression is done with")
        equal(copies(d.zones["logs"], "app.log"), cs, "still plain")

    rotated_sparse_log('size = "1M"; method = "rename"; postrotate = "true"; '
                       'compress = "zstd"; level = 3;', "the renamed copy", after)

if __name__ == "__main__":
    # The modules imported above declare their cases too: with no argument, ours alone.
    if len(sys.argv) == 1:
        sys.argv += [n for n, fn in CASES.items() if fn.__module__ == "__main__"]
    main()
