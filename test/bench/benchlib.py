"""What the benchmark scripts share: one request over sweepd's socket, a timed command,
the zstd and mv anchors and the files they are measured on."""

import json
import os
import shutil
import socket
import subprocess
import time


def request(sock, obj):
    """Sends one request line to the socket at sock and returns the parsed reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock)
        s.sendall((json.dumps(obj) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"sweepd at {sock} closed without an answer")
            buf += chunk
        return json.loads(buf)


def timed(cmd, **kw):
    """Seconds the command took (it must succeed)."""
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, **kw)
    return time.monotonic() - t0


def zstd_anchors(master, out, runs):
    """The zstd CLI on master, runs times each: -3, -T2 -3, and -T2 -3 made as durable as
    sweepd's copy (a sync of the output). Three lists of seconds."""
    cli1 = [timed(["zstd", "-q", "-f", "-3", master, "-o", out]) for _ in range(runs)]
    cli2 = [timed(["zstd", "-q", "-f", "-T2", "-3", master, "-o", out]) for _ in range(runs)]
    cli2s = [timed(["sh", "-c", f"zstd -q -f -T2 -3 '{master}' -o '{out}' && sync '{out}'"])
             for _ in range(runs)]
    return cli1, cli2, cli2s


def make_videos(src, n, when):
    """n files of 128 MiB of random bytes (never compressed) in src, dated when, synced."""
    chunk = os.urandom(1 << 20)
    os.makedirs(src)
    for i in range(n):
        p = os.path.join(src, f"video{i}.mp4")
        with open(p, "wb") as f:
            for _ in range(128):
                f.write(chunk)
        os.utime(p, (when, when))
    subprocess.run(["sync"])


def mv_anchor(src, work):
    """mv of every file in src into a directory under work: (seconds of mv, seconds of mv
    then sync); the moved files are removed after."""
    dst = os.path.join(work, "mv-dst")
    os.makedirs(dst)
    t0 = time.monotonic()
    subprocess.run(["mv", *[os.path.join(src, x) for x in os.listdir(src)], dst], check=True)
    t1 = time.monotonic()
    subprocess.run(["sync"])
    t2 = time.monotonic()
    shutil.rmtree(dst)
    subprocess.run(["sync"])
    return t1 - t0, t2 - t0
