"""What the benchmark scripts share: one request over sweepd's socket, a timed command,
the zstd and mv anchors and the files they are measured on, the 1M-file tree, a sweepd
started on a config with a persistent connection, a tmpfs, latency spreads and the
machine's line."""

import json
import os
import shutil
import socket
import statistics
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


def machine():
    """The line that says where a figure was taken: CPUs, kernel, load average now."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine: {os.cpu_count()} CPUs (nproc), kernel {os.uname().release}, load average {load}"


def spread(lat):
    """median, p99, worst in ms, of latencies in seconds."""
    s = sorted(lat)
    return (statistics.median(s) * 1e3, s[min(len(s) - 1, int(len(s) * 0.99))] * 1e3,
            s[-1] * 1e3)


def make_tree(build, tree, files, dirs):
    """The warm tree of files in dirs directories (bench-mktree), made once: into a name
    of its own first, then renamed, so that a run stopped halfway leaves no partial tree
    that a later run would take for the whole one."""
    if os.path.isdir(tree):
        return
    print(f"making {files} files in {dirs} directories under {tree} ...")
    part = f"{tree}.making-{os.getpid()}"
    subprocess.run([f"{build}/test/bench/bench-mktree", part, str(dirs), str(files // dirs)],
                   check=True)
    os.rename(part, tree)


class Tmpfs:
    def __init__(self, path, size, options=""):
        os.makedirs(path, exist_ok=True)
        opts = f"size={size}" + (f",{options}" if options else "")
        subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path], check=True)
        self.path = path

    def close(self):
        subprocess.run(["umount", "-l", self.path])


class Sweepd:
    """sweepd (build/sweepd) on zones [(name, path)] with its socket and state under root,
    plus extra config text; returns once READY=1 came (ready_s: seconds from the start),
    with one connection to the socket kept open for req(). stderr: as Popen takes it."""

    def __init__(self, build, zones, root, extra="", stderr=None):
        self.root = root
        self.sock = os.path.join(root, "s.sock")
        conf = os.path.join(root, "c.conf")
        with open(conf, "w") as f:
            f.write(f'state_dir = "{root}/state";\nsocket = {{ path = "{self.sock}"; }};\n')
            f.write(extra)
            f.write("zones = (\n")
            f.write(",\n".join(f'{{ name = "{n}"; path = "{p}"; }}' for n, p in zones))
            f.write("\n);\n")
        notify = os.path.join(root, "n.sock")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(notify)
        t = time.monotonic()
        self.proc = subprocess.Popen([f"{build}/sweepd", "-c", conf], stderr=stderr,
                                     env=dict(os.environ, NOTIFY_SOCKET=notify))
        while b"READY=1" not in ns.recv(4096):
            pass
        self.ready_s = time.monotonic() - t
        ns.close()
        self.conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.conn.connect(self.sock)
        self.buf = b""

    def req(self, obj):
        self.conn.sendall((json.dumps(obj) + "\n").encode())
        while b"\n" not in self.buf:
            chunk = self.conn.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"sweepd at {self.sock} closed without an answer")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def stop(self):
        self.conn.close()
        self.proc.terminate()
        self.proc.wait()
