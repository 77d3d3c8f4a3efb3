#!/usr/bin/env python3
"""A real S3 server for the tests of the remote tier: Ceph's radosgw from Debian's packages
(radosgw, ceph-mon, ceph-osd, ceph-common), on 127.0.0.1, in a directory of its own: one
monitor, one OSD whose objects live in memory (memstore), authentication off between the
daemons (`auth ... = none`, and `ms mon client mode = crc`, without which radosgw's own
connection to the monitor fails with -13), and one S3 user. STS is on, so that a request's
x-amz-security-token is checked (radosgw ignores it otherwise), as AWS would. It comes up in
a few seconds.

    with RadosGW("/tmp/some-dir") as s3:
        s3.endpoint, s3.access_key, s3.secret_key

Run alone (as root), it starts one, checks it with curl's own SigV4 signing (a bucket made,
an object put, a second put with If-None-Match: * refused with 412), and stops it.

Every process it starts is its own and is stopped by its pid: nothing is matched by name.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

WAIT = 60  # seconds: a bound on waits for the daemons, never a synchronisation


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RadosGW:
    def __init__(self, root, access_key="SWEEPDTESTACCESSKEY1", secret_key=None, memory_gib=1):
        """memory_gib: what the OSD may hold (memstore's device; writes stall once it is full)."""
        self.memory_gib = memory_gib
        self.root = root
        self.access_key = access_key
        self.secret_key = secret_key or uuid.uuid4().hex
        self.mon_port, self.rgw_port = free_port(), free_port()
        self.endpoint = f"http://127.0.0.1:{self.rgw_port}"
        self.conf = os.path.join(root, "ceph.conf")
        self.procs = []

    def _path(self, *parts):
        return os.path.join(self.root, *parts)

    def _write_conf(self):
        run = self._path("run")
        with open(self.conf, "w") as f:
            f.write(f"""[global]
fsid = {uuid.uuid4()}
mon host = 127.0.0.1:{self.mon_port}
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
mon allow pool delete = true
mon data avail crit = 0
mon warn on pool no redundancy = false
run dir = {run}
admin socket = {run}/$name.asok
log file = {self._path("log")}/$name.log
[mon.a]
mon data = {self._path("mon")}
[osd.0]
osd data = {self._path("osd")}
osd objectstore = memstore
memstore device bytes = {self.memory_gib << 30}
[client.rgw.s3]
rgw frontends = beast endpoint=127.0.0.1:{self.rgw_port}
rgw data = {self._path("rgw")}
rgw s3 auth use sts = true
rgw sts key = {uuid.uuid4().hex[:16]}
""")

    def _run(self, *argv):
        r = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=WAIT)
        if r.returncode:
            raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr[-2000:]}")
        return r.stdout

    def collect_garbage(self):
        """Deleted objects' data freed now (radosgw frees it hours later by itself)."""
        self._run("radosgw-admin", "gc", "process", "--include-all")

    def _daemon(self, *argv):
        """A Ceph daemon in the foreground (-f), so that its pid is ours to stop."""
        log = open(self._path("log", argv[0] + ".out"), "ab")
        p = subprocess.Popen([*argv, "-f"], env=self.env, stdout=log, stderr=log)
        log.close()
        self.procs.append(p)
        return p

    def start(self):
        for d in ("mon", "osd", "rgw", "run", "log"):
            os.makedirs(self._path(d), exist_ok=True)
        self._write_conf()
        self.env = dict(os.environ, CEPH_CONF=self.conf)
        try:
            self._run("ceph-mon", "--id", "a", "--mkfs", "--keyring", "/dev/null")
            open(self._path("mon", "keyring"), "w").close()
            self._daemon("ceph-mon", "--id", "a", "--public-addr",
                         f"127.0.0.1:{self.mon_port}")
            osd = self._run("ceph", "osd", "create").strip()
            self._run("ceph", "osd", "crush", "add", f"osd.{osd}", "1", "root=default")
            self._run("ceph-osd", "--id", osd, "--mkfs")
            self._daemon("ceph-osd", "--id", osd)
            self._daemon("radosgw", "-n", "client.rgw.s3")
            self._until_http()
            self._run("radosgw-admin", "user", "create", "--uid", "sweepd",
                      "--display-name", "sweepd tests", "--access-key", self.access_key,
                      "--secret-key", self.secret_key)
        except BaseException:
            self.stop()
            raise
        return self

    def _until_http(self):
        deadline = time.monotonic() + WAIT
        while True:
            try:
                with urllib.request.urlopen(self.endpoint + "/", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args[0]} exited {p.returncode}; logs in "
                                       f"{self._path('log')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"radosgw did not answer at {self.endpoint} in {WAIT} s")
            time.sleep(0.2)

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(WAIT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(WAIT)
        self.procs = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def curl(s3, method, path, *extra):
    """A request signed by curl itself (CURLOPT_AWS_SIGV4); returns (status, body)."""
    out = subprocess.run(
        ["curl", "-s", "-X", method, "--aws-sigv4", "aws:amz:us-east-1:s3",
         "--user", f"{s3.access_key}:{s3.secret_key}",
         "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", *extra,
         "-w", "\n%{http_code}", s3.endpoint + path],
        capture_output=True, text=True, timeout=WAIT, check=True).stdout
    body, _, status = out.rpartition("\n")
    return int(status), body


def selftest():
    root = tempfile.mkdtemp(prefix="sweepd-rgw-")
    try:
        t0 = time.monotonic()
        with RadosGW(root) as s3:
            print(f"radosgw up at {s3.endpoint} in {time.monotonic() - t0:.1f} s")
            data = os.path.join(root, "hello.txt")
            with open(data, "w") as f:
                f.write("hello\n")
            for what, method, path, extra, want in (
                    ("make a bucket", "PUT", "/tests", (), 200),
                    ("put an object", "PUT", "/tests/a/hello.txt",
                     ("-H", "If-None-Match: *", "-T", data), 200),
                    ("put it again, If-None-Match", "PUT", "/tests/a/hello.txt",
                     ("-H", "If-None-Match: *", "-T", data), 412),
                    ("read it", "GET", "/tests/a/hello.txt", (), 200)):
                status, body = curl(s3, method, path, *extra)
                print(f"{what}: {status}")
                if status != want:
                    sys.exit(f"{what}: got {status}, want {want}: {body[:500]}")
        print("stopped")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    selftest()
