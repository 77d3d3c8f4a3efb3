"""The remote tier (archive.remote) against a real S3 server: Ceph's radosgw, started here on
127.0.0.1 (test/tools/radosgw.py), one for all the cases, each case in a bucket of its own.
Run all: python3 test_remote.py; one: python3 test_remote.py NAME."""

import contextlib
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import urllib.parse
import xml.etree.ElementTree as ET

from harness import Daemon, case, check, equal, main, write
from test_sweep import OLD, Tmpfs, files_under, old, sha

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from radosgw import RadosGW, curl  # noqa: E402

S3 = None  # the server, started once by main()
WAIT = 120


def enc(key):
    """A key in a URL, as SigV4 spells it."""
    return urllib.parse.quote(key, safe="/~")


def new_bucket():
    name = "t-" + uuid.uuid4().hex[:12]
    status, body = curl(S3, "PUT", "/" + name)
    equal(status, 200, f"bucket {name} made: {body[:300]}")
    return name


def listing(bucket, prefix=""):
    """{key: size} of the bucket's objects under prefix."""
    status, body = curl(S3, "GET", f"/{bucket}?list-type=2&prefix={prefix}")
    equal(status, 200, f"listing of {bucket}: {body[:300]}")
    out = {}
    for c in ET.fromstring(body).iter():
        if c.tag.endswith("Contents"):
            key = size = None
            for x in c:
                if x.tag.endswith("Key"):
                    key = x.text
                elif x.tag.endswith("Size"):
                    size = int(x.text)
            out[key] = size
    return out


def head(bucket, key):
    """The object's headers (lower-case names), or None when it is not there."""
    out = subprocess.run(
        ["curl", "-s", "-I", "--aws-sigv4", "aws:amz:us-east-1:s3",
         "--user", f"{S3.access_key}:{S3.secret_key}",
         "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", f"{S3.endpoint}/{bucket}/{enc(key)}"],
        capture_output=True, text=True, timeout=WAIT, check=True).stdout
    lines = out.replace("\r", "").split("\n")
    if " 404" in lines[0]:
        return None
    check(" 200" in lines[0], f"HEAD {key}: {lines[0]}")
    return {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}


def put_object(bucket, key, data, meta=None):
    path = os.path.join(tempfile.mkdtemp(prefix="sweepd-obj-"), "o")
    write(path, data)
    headers = []
    for k, v in (meta or {}).items():
        headers += ["-H", f"x-amz-meta-{k}: {v}"]
    try:
        status, body = curl(S3, "PUT", f"/{bucket}/{enc(key)}", "--path-as-is", "-T", path,
                            *headers)
        equal(status, 200, f"put {key}: {body[:300]}")
    finally:
        shutil.rmtree(os.path.dirname(path))


def remote_daemon(bucket, start=True, keep='"0s"', compress="auto", endpoint=None, extra_remote="",
                  root=None, zone_extra=None):
    """A daemon whose archive hands everything to the bucket at once (keep 0s)."""
    root = root or tempfile.mkdtemp(prefix="sweepd-e2e-")
    cred = os.path.join(root, "s3.credentials")
    if not os.path.exists(cred):
        with open(os.open(cred, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(f"[default]\naws_access_key_id = {S3.access_key}\n"
                    f"aws_secret_access_key = {S3.secret_key}\n")
    zone = {"name": "z", "path": "zone", "max_age": '"1d"'}
    zone.update(zone_extra or {})
    return Daemon(root=root, start=start, zones=[zone], extra=(
        f'archive = {{ path = "archive"; keep = {keep}; compress = "{compress}";\n'
        f'  remote = {{ endpoint = "{endpoint or S3.endpoint}"; bucket = "{bucket}";'
        f' prefix = "gpu-07/"; credentials = "{cred}"; {extra_remote} }}; }};'))


def entries(d):
    r = d.request({"cmd": "archive"})
    check(r["ok"], f"archive: {r}")
    return r["entries"]


def audit(d, action):
    with open(os.path.join(d.root, "state", "audit.log")) as f:
        return [e for e in map(json.loads, f) if e["action"] == action]


def settle_until(d, cond, what):
    """settle, then until cond() holds: settle waits for the local work (the archive), never
    for the bucket (uploads run as long as the network takes), so what depends on an upload
    is looked at again each time the daemon's jobs change, at most WAIT."""
    deadline = time.monotonic() + WAIT
    d.settle()
    while not cond():
        check(time.monotonic() < deadline, f"waited {WAIT}s for {what}")
        d.settle()
        time.sleep(0.05)  # a poll of the bucket's state, not a synchronisation


@case
def upload_when_keep_is_over_and_restore():
    """Files past the archive's keep go up (a compressible log compressed, a random one
    plain, a name with spaces and non-ASCII bytes): they leave the local archive, the
    bucket holds each under prefix + zone + path with its SHA-256 in the metadata, the
    audit says upload with reason archive_keep, archive lists them as remote, status and
    sweepctl show the bucket; a restore brings one back byte for byte with its mode and
    times, and deletes the object."""
    bucket = new_bucket()
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "archive"), "64M")  # another filesystem: copied, compressed
    d = remote_daemon(bucket, start=False, root=root)
    try:
        files = {"a.bin": os.urandom(300 * 1024),
                 "logs/b.log": b"GET /index.html 200\n" * 50000,
                 "sp ace+%\xe9.txt".encode("latin-1").decode("latin-1"): b"hello\n"}
        paths = {}
        for i, (name, data) in enumerate(files.items()):
            p = d.path("z", name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            write(p, data)
            os.chmod(p, 0o640)
            old(p, OLD + i)
            paths[name] = p
        d.start()
        settle_until(d, lambda: len(listing(bucket)) == 3, "three objects in the bucket")
        settle_until(d, lambda: all(e["location"] == "remote" for e in entries(d)),
                     "every entry remote")
        equal(files_under(d.path()), [], "the zone is empty")
        equal(files_under(os.path.join(d.root, "archive")), [],
              "nothing is left in the local archive")
        objs = listing(bucket)
        es = {e["path"]: e for e in entries(d)}
        equal(sorted(es), sorted(paths.values()), "archive lists each file")
        for name, p in paths.items():
            e = es[p]
            check(e["archive_path"].startswith(f"s3://{bucket}/gpu-07/z/"), f"where: {e}")
            key = e["archive_path"][len(f"s3://{bucket}/"):]
            check(key in objs, f"{key} in the bucket: {objs}")
            equal(e["bytes"], len(files[name]), f"bytes of {name}")
            h = head(bucket, key)
            equal(h.get("x-amz-meta-sweepd-sha256"), hashlib.sha256(files[name]).hexdigest(),
                  f"the SHA-256 of {name}'s original bytes travels with it")
        check(es[paths["logs/b.log"]]["archive_path"].endswith(".zst"), "the log compressed")
        check(objs[es[paths["logs/b.log"]]["archive_path"].split("/", 3)[3]] < 100000,
              "and stored small")
        ups = audit(d, "upload")
        equal(sorted(u["path"] for u in ups), sorted(paths.values()), "each upload audited")
        check(all(u["reason"] == "archive_keep" and u["archive_path"].startswith("s3://")
                  for u in ups), f"with its reason and object: {ups}")
        rm = d.status()["archive"]["remote"]
        equal((rm["bucket"], rm["files"], rm["bytes"], rm["failing"]),
              (bucket, 3, sum(map(len, files.values())), False), f"status: {rm}")
        p = d.ctl("status")
        check(f"bucket s3://{bucket}/gpu-07/" in p.stdout.decode(), f"sweepctl status: {p.stdout!r}")
        p = d.ctl("archive")
        out = p.stdout.decode()
        check("LOCATION" in out and out.count("remote") == 3, f"sweepctl archive: {out!r}")
        m = d.request({"cmd": "metrics"})["text"]
        check("sweepd_remote_files 3" in m, "metrics count them")
        # Back from the bucket.
        e = es[paths["logs/b.log"]]
        st_before = (0o640, OLD + 1)
        r = d.request({"cmd": "restore", "id": e["id"]})
        check(r["ok"], f"restore: {r}")
        equal(r["restored"], paths["logs/b.log"], "back where it was")
        check(os.path.exists(paths["logs/b.log"]), f"there: {d.logtext()}")
        equal(sha(paths["logs/b.log"]), hashlib.sha256(files["logs/b.log"]).hexdigest(),
              "byte for byte")
        st = os.stat(paths["logs/b.log"])
        equal((st.st_mode & 0o7777, int(st.st_mtime)), (st_before[0], int(st_before[1])),
              "its mode and mtime")
        key = e["archive_path"][len(f"s3://{bucket}/"):]
        settle_until(d, lambda: key not in listing(bucket), "the object deleted after the restore")
        check(all(x["id"] != e["id"] for x in entries(d)), "the entry left the archive")
        equal(files_under(os.path.join(d.root, "archive")), [], "no download left behind")
    finally:
        try:
            d.stop()
        finally:
            fs.close(root)


@case
def never_overwrites_an_object():
    """An object with other bytes already at a file's key: the upload is refused, the file
    stays whole in the local archive, the remote_failing alarm says why; an object with the
    same bytes at the key counts as uploaded. Once the other object is moved away, the
    file goes up."""
    bucket = new_bucket()
    d = remote_daemon(bucket, start=False)
    try:
        same, other, real = os.urandom(50000), os.urandom(60000), os.urandom(40000)
        pa, pb, pc = d.path("z", "same.bin"), d.path("z", "other.bin"), d.path("z", "real.bin")
        for p, b in ((pa, same), (pb, other), (pc, real)):
            write(p, b)
            old(p)
        put_object(bucket, "gpu-07/z/same.bin", same)
        foreign = b"someone else's bytes\n"
        put_object(bucket, "gpu-07/z/other.bin", foreign)
        # Other bytes of the same size, whose metadata claims the real file's SHA-256.
        put_object(bucket, "gpu-07/z/real.bin", os.urandom(len(real)),
                   {"sweepd-sha256": hashlib.sha256(real).hexdigest(),
                    "sweepd-size": str(len(real))})
        d.start()

        def failing():
            return any(a["name"] == "remote_failing" for a in d.status()["alarms"])
        settle_until(d, lambda: failing() and len(audit(d, "upload")) == 1 and
                     not [j for j in d.status()["jobs"] if j["action"] == "upload"],
                     "the remote_failing alarm, one upload, none under way")
        al = [a for a in d.status()["alarms"] if a["name"] == "remote_failing"][0]
        check("another object" in al["summary"] and ("other.bin" in al["summary"] or
                                                      "bytes are not this file's" in al["summary"]),
              f"it says why: {al}")
        check(al["summary"].startswith("2 file(s)"), f"and counts both: {al}")
        es = {e["path"]: e for e in entries(d)}
        equal(es[pa]["location"], "remote", "the same bytes count as uploaded")
        equal(es[pb]["location"], "local", "the other stays local")
        equal(es[pc]["location"], "local", "forged metadata is not the same bytes")
        equal(sha(es[pc]["archive_path"]), hashlib.sha256(real).hexdigest(), "and it is whole")
        equal(sha(es[pb]["archive_path"]), hashlib.sha256(other).hexdigest(),
              "whole in the local archive")
        h = head(bucket, "gpu-07/z/other.bin")
        equal(int(h["content-length"]), len(foreign), "the foreign object untouched")
        p = d.ctl("status")
        check("uploads fail" in p.stdout.decode(), f"sweepctl status says it: {p.stdout!r}")
        # Moved away: an operator's sweep sends it at once.
        for k in ("other.bin", "real.bin"):
            status, _ = curl(S3, "DELETE", f"/{bucket}/gpu-07/z/{k}")
            check(status in (200, 204), "deleted by hand")
        r = d.request({"cmd": "sweep"})
        check(r["ok"], f"sweep: {r}")
        settle_until(d, lambda: all(e["location"] == "remote" for e in entries(d)),
                     "all remote")
        check(not failing(), "the alarm ended")
        equal(head(bucket, "gpu-07/z/other.bin").get("x-amz-meta-sweepd-sha256"),
              hashlib.sha256(other).hexdigest(), "its bytes went up")
    finally:
        d.close()


@case
def bucket_unreachable_then_back():
    """Nothing listens at the endpoint: files wait whole in the local archive, and the
    alarm counts them; once the configuration names the right endpoint (reload) an
    operator's sweep sends them up."""
    bucket = new_bucket()
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    d = remote_daemon(bucket, start=False, endpoint=dead)
    try:
        data = [os.urandom(20000) for _ in range(3)]
        for i, b in enumerate(data):
            write(d.path("z", f"f{i}"), b)
            old(d.path("z", f"f{i}"))
        d.start()

        def alarm():
            return [a for a in d.status()["alarms"] if a["name"] == "remote_failing"]
        settle_until(d, lambda: alarm() and d.status()["archive"]["remote"]["waiting"] == 3
                     and not [j for j in d.status()["jobs"] if j["action"] == "upload"],
                     "the alarm, with three files waiting, and no upload under way")
        check("3 file(s)" in alarm()[0]["summary"], f"it counts them: {alarm()}")
        equal(len(files_under(os.path.join(d.root, "archive"))), 3,
              "the three files whole in the local archive")
        equal(listing(bucket), {}, "nothing in the bucket")
        with open(d.conf) as f:
            conf = f.read()
        with open(d.conf, "w") as f:
            f.write(conf.replace(dead, S3.endpoint))
        r = d.request({"cmd": "reload"})
        check(r["ok"], f"reload: {r}")
        r = d.request({"cmd": "sweep"})
        check(r["ok"], f"sweep: {r}")
        settle_until(d, lambda: len(listing(bucket)) == 3, "three objects")
        settle_until(d, lambda: not alarm(), "the alarm over")
        equal(files_under(os.path.join(d.root, "archive")), [], "the local archive emptied")
    finally:
        d.close()


@case
def state_lost_rebuilt_from_the_listing():
    """state_dir lost: at the next start the bucket's listing (and each object's metadata)
    gives back the remote entries, which restore as before."""
    bucket = new_bucket()
    d = remote_daemon(bucket, start=False)
    try:
        data = {f"r{i}.bin": os.urandom(10000 + i) for i in range(4)}
        for n, b in data.items():
            write(d.path("z", n), b)
            old(d.path("z", n))
        d.start()
        settle_until(d, lambda: len(listing(bucket)) == 4, "four objects")
        settle_until(d, lambda: all(e["location"] == "remote" for e in entries(d)), "remote")
        before = sorted((e["path"], e["archive_path"], e["bytes"]) for e in entries(d))
        d.stop()
        shutil.rmtree(os.path.join(d.root, "state"))
        d.start()
        settle_until(d, lambda: len(entries(d)) == 4, "the entries back")
        after = sorted((e["path"], e["archive_path"], e["bytes"]) for e in entries(d))
        equal(after, before, "the same entries, from the listing")
        e = [e for e in entries(d) if e["path"].endswith("r2.bin")][0]
        r = d.request({"cmd": "restore", "id": e["id"]})
        check(r["ok"], f"restore after the rebuild: {r}")
        equal(sha(d.path("z", "r2.bin")), hashlib.sha256(data["r2.bin"]).hexdigest(), "whole")
    finally:
        d.close()


@case
def a_forged_object_cannot_steer_a_restore():
    """Whoever may write in the bucket puts an object under the prefix with sweepd's
    metadata naming /etc as its path, set-user-ID root: rebuilt from the listing, its entry
    goes back to where its key says (inside the zone), and without the set-ID bits."""
    bucket = new_bucket()
    d = remote_daemon(bucket, start=False)
    try:
        data = b"#!/bin/sh\necho owned\n"
        target = os.path.join(d.root, "etc-evil")
        put_object(bucket, "gpu-07/z/evil.sh", data, {
            "sweepd-sha256": hashlib.sha256(data).hexdigest(),
            "sweepd-path": urllib.parse.quote(target), "sweepd-zone": "z",
            "sweepd-mode": "4755", "sweepd-uid": "0", "sweepd-gid": "0",
            "sweepd-size": str(len(data)), "sweepd-compressed": "0"})
        meta = {"sweepd-sha256": hashlib.sha256(data).hexdigest(), "sweepd-path": "%2Fetc%2Fx",
                "sweepd-zone": "z", "sweepd-size": str(len(data))}
        for key in ("gpu-07/z/./dot", "gpu-07/z//dbl", "gpu-07/z/a/../../../escape",
                    "gpu-07/nozone/x"):
            put_object(bucket, key, data, meta)  # keys sweepd never makes
        d.start()
        settle_until(d, lambda: len(entries(d)) >= 1, "the object indexed from the listing")
        equal(len(entries(d)), 1, f"only a key sweepd could have made: {entries(d)}")
        e = entries(d)[0]
        equal(e["path"], d.path("z", "evil.sh"), "its path from its key, not its metadata")
        r = d.request({"cmd": "restore", "id": e["id"]})
        check(r["ok"], f"restore: {r}")
        equal(r["restored"], d.path("z", "evil.sh"), "inside the zone")
        check(not os.path.exists(target), "nothing where the metadata pointed")
        equal(os.stat(d.path("z", "evil.sh")).st_mode & 0o7777, 0o755, "no set-ID bits")
    finally:
        d.close()


@case
def restore_refuses_what_it_cannot_trust():
    """A restore from the bucket never overwrites a file that came back meanwhile, and never
    puts back bytes other than those uploaded (the object replaced by someone who may write
    in the bucket): each is an error that says so, nothing is written, the entry and the
    object stay; once the way is clear and the object whole again, it restores."""
    bucket = new_bucket()
    d = remote_daemon(bucket, start=False)
    try:
        data = os.urandom(70000)
        p = d.path("z", "take.bin")
        write(p, data)
        old(p)
        d.start()
        settle_until(d, lambda: entries(d) and entries(d)[0]["location"] == "remote", "remote")
        e = entries(d)[0]
        key = e["archive_path"][len(f"s3://{bucket}/"):]
        write(p, b"a new file at the same path\n")
        r = d.request({"cmd": "restore", "id": e["id"]})
        check(not r["ok"] and "already exists" in r["error"], f"never over a file: {r}")
        equal(open(p, "rb").read(), b"a new file at the same path\n", "the new file untouched")
        os.unlink(p)
        h = head(bucket, key)
        forged = os.urandom(len(data))
        status, _ = curl(S3, "DELETE", f"/{bucket}/{enc(key)}")
        check(status in (200, 204), "the object deleted by hand")
        put_object(bucket, key, forged, {"sweepd-sha256": h["x-amz-meta-sweepd-sha256"],
                                         "sweepd-mode": "644"})
        r = d.request({"cmd": "restore", "id": e["id"]})
        check(not r["ok"] and "does not hold what was uploaded" in r["error"],
              f"the bytes are checked: {r}")
        check(not os.path.exists(p), "nothing restored")
        equal([x["id"] for x in entries(d)], [e["id"]], "the entry stays")
        status, _ = curl(S3, "DELETE", f"/{bucket}/{enc(key)}")
        put_object(bucket, key, data, {"sweepd-sha256": h["x-amz-meta-sweepd-sha256"],
                                        "sweepd-mode": "600"})
        r = d.request({"cmd": "restore", "id": e["id"]})
        check(r["ok"], f"restored once whole: {r}")
        equal(sha(p), hashlib.sha256(data).hexdigest(), "byte for byte")
    finally:
        d.close()


@case
def disk_pressure_sends_a_same_fs_archive_up():
    """Zone and archive share a small tmpfs above its high mark: what is archived there frees
    nothing, so it goes up to the bucket at once (reason disk_high) instead of being purged,
    until the disk is under its low mark; every file is whole in the zone or the bucket."""
    bucket = new_bucket()
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "fs"), "8M")
    try:
        os.makedirs(os.path.join(fs.path, "zone"))
        d = remote_daemon(bucket, start=False, root=root, keep='"7d"',
                          zone_extra={"path": "fs/zone", "max_age": '"30d"', "min_age": "0"})
        with open(d.conf) as f:
            conf = f.read()
        with open(d.conf, "w") as f:
            f.write(conf.replace('path = "archive";', 'path = "fs/archive";')
                    + 'disk = { high = "60%"; low = "40%"; };\n')
        sums = {}
        for i in range(10):
            p = os.path.join(fs.path, "zone", f"{i}.bin")
            data = os.urandom(512 * 1024)
            write(p, data)
            old(p, OLD + i)
            sums[p] = hashlib.sha256(data).hexdigest()
        d.start()

        def used():
            st = os.statvfs(fs.path)
            return (st.f_blocks - st.f_bfree) / st.f_blocks * 100
        settle_until(d, lambda: used() <= 40.5, "the disk under its low mark")
        ups = audit(d, "upload")
        check(ups and all(u["reason"] == "disk_high" for u in ups), f"uploaded, disk_high: {ups}")
        equal(audit(d, "purge"), [], "nothing purged for good")
        left = files_under(os.path.join(fs.path, "zone"))
        local = files_under(os.path.join(fs.path, "archive"))
        up = {u["path"] for u in ups}
        equal(sorted(left + list(up)), sorted(sums), "each file in the zone or the bucket")
        equal(local, [], "nothing left in the local archive")
        equal(len(listing(bucket)), len(up), "one object each")
        d.stop()
    finally:
        fs.close(root)


@case
def a_restored_files_hold_is_not_its_inodes():
    """A restored file is left alone for a while; once it is deleted, a new old file that
    takes its inode is swept as any other (the hold was the inode's once)."""
    bucket = new_bucket()
    d = remote_daemon(bucket, start=False, zone_extra={"min_age": "0"})
    try:
        p = d.path("z", "back.bin")
        write(p, os.urandom(3000))
        old(p)
        d.start()
        settle_until(d, lambda: entries(d) and entries(d)[0]["location"] == "remote", "remote")
        r = d.request({"cmd": "restore", "id": entries(d)[0]["id"]})
        check(r["ok"], f"restore: {r}")
        d.settle()
        check(os.path.exists(p), "the restored file is held, not archived again")
        ino = os.stat(p).st_ino
        os.unlink(p)
        g = None
        for i in range(50):  # ext4 hands a freed inode to the next file made beside it
            q = d.path("z", f"new{i}.bin")
            write(q, b"a new file\n")
            if os.stat(q).st_ino == ino:
                g = q
                break
        check(g is not None, f"a new file took inode {ino}")
        old(g, OLD - 3600)  # (with the restored file's very mtime it would share its hold)
        settle_until(d, lambda: not os.path.exists(g), "the new file swept")
        check(any(a["path"] == g for a in audit(d, "archive")), "archived by max_age")
    finally:
        d.close()


@case
def names_s3_cannot_take_stay_local():
    """A file whose name is not UTF-8 (S3 keys must be) is never sent: it stays whole in the
    local archive, and the alarm says why and what to do."""
    bucket = new_bucket()
    d = remote_daemon(bucket, start=False)
    try:
        p = os.path.join(d.path("z").encode(), b"bad\xff\xfe.txt")
        with open(p, "wb") as f:
            f.write(b"not UTF-8\n")
        os.utime(p, (OLD, OLD))
        d.start()

        def alarm():
            return [a for a in d.status()["alarms"] if a["name"] == "remote_failing"]
        settle_until(d, alarm, "the alarm")
        check("not valid UTF-8" in alarm()[0]["summary"], f"says why: {alarm()}")
        e, = entries(d)
        equal(e["location"], "local", "it stays local")
        equal(listing(bucket), {}, "nothing sent")
    finally:
        d.close()


@case
def remote_keep_deletes_from_the_bucket():
    """remote.keep over: the object is deleted from the bucket, audited as a purge with
    reason remote_keep, and the entry leaves the archive."""
    bucket = new_bucket()
    d = remote_daemon(bucket, start=False, extra_remote='keep = "0s";')
    try:
        write(d.path("z", "old.bin"), os.urandom(4000))
        old(d.path("z", "old.bin"))
        d.start()
        settle_until(d, lambda: audit(d, "purge"), "the purge")
        settle_until(d, lambda: not entries(d), "the entry gone")
        equal(listing(bucket), {}, "the bucket emptied")
        up, = audit(d, "upload")
        pu, = audit(d, "purge")
        equal((pu["reason"], pu["path"], pu["archive_path"]),
              ("remote_keep", d.path("z", "old.bin"), up["archive_path"]), f"audited: {pu}")
    finally:
        d.close()


@case
def leftover_multipart_uploads_aborted_at_start():
    """A multipart upload left unfinished under the prefix (a stop in the middle) is
    aborted at the next start; one under another prefix is not sweepd's and stays."""
    bucket = new_bucket()
    for key in ("gpu-07/z/cut.bin", "gpu-08/z/other.bin"):
        status, body = curl(S3, "POST", f"/{bucket}/{key}?uploads=")
        equal(status, 200, f"an upload started by hand: {body[:300]}")

    def uploads():
        status, body = curl(S3, "GET", f"/{bucket}?uploads=")
        equal(status, 200, f"the uploads listed: {body[:300]}")
        return sorted(x.text for x in ET.fromstring(body).iter() if x.tag.endswith("}Key"))
    equal(uploads(), ["gpu-07/z/cut.bin", "gpu-08/z/other.bin"], "two unfinished")
    d = remote_daemon(bucket)
    try:
        settle_until(d, lambda: uploads() == ["gpu-08/z/other.bin"], "ours aborted")
        check("1 unfinished multipart upload(s)" in d.logtext(), f"said: {d.logtext()}")
    finally:
        d.close()


@case
def a_200_mib_file_by_multipart():
    """A 200 MiB file goes up in parts (its ETag says how many), and comes back whole."""
    bucket = new_bucket()
    d = remote_daemon(bucket, start=False, compress="off")
    try:
        p = d.path("z", "render.mp4")
        h = hashlib.sha256()
        with open(p, "wb") as f:
            for _ in range(200):
                b = os.urandom(1 << 20)
                h.update(b)
                f.write(b)
        old(p)
        d.start()
        settle_until(d, lambda: entries(d) and entries(d)[0]["location"] == "remote", "remote")
        e = entries(d)[0]
        key = e["archive_path"][len(f"s3://{bucket}/"):]
        hd = head(bucket, key)
        equal(int(hd["content-length"]), 200 << 20, "its size")
        check(hd["etag"].strip('"').endswith("-13"), f"in 13 parts of 16 MiB: {hd['etag']}")
        r = d.request({"cmd": "restore", "id": e["id"]})
        check(r["ok"], f"restore: {r}")
        equal(sha(p), h.hexdigest(), "byte for byte")
    finally:
        d.close()


@case
def kill9_at_random_instants_during_uploads():
    """sweepd killed with SIGKILL at random instants while files go up, then started
    again, a few times: in the end every file is once in the local archive or the bucket,
    never in neither, and each restores byte for byte."""
    bucket = new_bucket()
    d = remote_daemon(bucket, start=False, compress="off")
    rnd = random.Random(os.environ.get("SWEEPD_SEED", str(time.time())))
    try:
        data = {f"k{i}.bin": os.urandom((3 + i) << 20) for i in range(8)}
        for n, b in data.items():
            write(d.path("z", n), b)
            old(d.path("z", n))
        for _ in range(4):
            d.kill9_after(rnd.uniform(0.0, 1.5), ready=True)
        d.start()
        settle_until(d, lambda: len(entries(d)) == len(data) and
                     all(e["location"] == "remote" for e in entries(d)), "all remote")
        es = entries(d)
        equal(sorted(os.path.basename(e["path"]) for e in es), sorted(data), "each file once")
        equal(files_under(os.path.join(d.root, "archive")), [], "no local copy left")
        equal(len(listing(bucket)), len(data), "one object each")
        for e in es:
            r = d.request({"cmd": "restore", "id": e["id"]})
            check(r["ok"], f"restore {e['path']}: {r}")
            n = os.path.basename(e["path"])
            equal(sha(e["path"]), hashlib.sha256(data[n]).hexdigest(), f"{n} whole")
    finally:
        d.close()


@case
def credentials_open_to_others_refused():
    """A credentials file others may read refuses the configuration, naming the file and
    the chmod that fixes it; the secret is never printed."""
    bucket = "never-made"
    d = remote_daemon(bucket, start=False)
    try:
        cred = os.path.join(d.root, "s3.credentials")
        os.chmod(cred, 0o644)
        p = subprocess.run([os.environ["SWEEPD_BIN"], "-t", "-c", d.conf], capture_output=True,
                           timeout=WAIT)
        err = p.stderr.decode() + p.stdout.decode()
        check(p.returncode != 0, f"refused: {err}")
        check(cred in err and "chmod 0600" in err, f"names the file and the fix: {err}")
        check(S3.secret_key not in err, "never the secret")
        os.chmod(cred, 0o600)
        p = subprocess.run([os.environ["SWEEPD_BIN"], "-t", "-c", d.conf], capture_output=True,
                           timeout=WAIT)
        equal(p.returncode, 0, f"accepted at 0600: {p.stderr!r}")
    finally:
        d.close()


@contextlib.contextmanager
def radosgw():
    """One server for all the cases, in a directory removed after."""
    global S3
    root = tempfile.mkdtemp(prefix="sweepd-rgw-")
    try:
        with RadosGW(root) as s3:
            S3 = s3
            yield
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(__name__, radosgw())
