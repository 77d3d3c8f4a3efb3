"""End-to-end harness: a real sweepd on a temporary tree, driven over its real
socket and through sweepctl. Synchronisation is READY=1 on a notify socket and
the `settle` command, never sleeps."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SWEEPD = os.environ.get("SWEEPD_BIN", "build/sweepd")
SWEEPCTL = os.environ.get("SWEEPCTL_BIN", "build/sweepctl")
WAIT = 120  # seconds: an upper bound on waits, never a synchronisation


class Failure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def equal(got, want, what):
    if got != want:
        raise Failure(f"{what}: got {got!r}, want {want!r}")


def q(s):
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in s)


class Daemon:
    """One sweepd over zones in a fresh temporary directory."""

    def __init__(self, zones=None, extra="", start=True, root=None, args=()):
        self.root = root or tempfile.mkdtemp(prefix="sweepd-e2e-")
        self.args = list(args)
        self.sock = os.path.join(self.root, "sweepd.sock")
        self.conf = os.path.join(self.root, "sweepd.conf")
        self.log = os.path.join(self.root, "sweepd.log")
        self.proc = None
        zones = zones if zones is not None else [{"name": "z", "path": "zone"}]
        self.zones = {}
        lines = []
        for z in zones:
            path = os.path.join(self.root, z["path"])
            os.makedirs(path, exist_ok=True)
            self.zones[z["name"]] = path
            body = "".join(f" {k} = {v};" for k, v in z.items() if k not in ("name", "path"))
            lines.append(f'  {{ name = "{z["name"]}"; path = "{z["path"]}";{body} }}')
        with open(self.conf, "w") as f:
            f.write(f'state_dir = "state";\nsocket = {{ path = "{self.sock}"; }};\n{extra}\n')
            f.write("zones = (\n" + ",\n".join(lines) + "\n);\n")
        if start:
            self.start()

    def path(self, zone="z", *parts):
        return os.path.join(self.zones[zone], *parts)

    def _spawn(self, ready):
        """Runs sweepd; with ready, returns once it sent READY=1 on a notify socket."""
        notify = os.path.join(self.root, "notify.sock")
        if os.path.exists(notify):
            os.unlink(notify)
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(notify)
        ns.settimeout(WAIT)
        env = dict(os.environ, NOTIFY_SOCKET=notify)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([SWEEPD, "-c", self.conf, *self.args], stderr=self.logf,
                                     stdout=self.logf, env=env)
        try:
            while ready:
                msg = ns.recv(4096).decode()
                if "READY=1" in msg:
                    break
        except socket.timeout:
            raise Failure(f"sweepd sent no READY=1; log:\n{self.logtext()}")
        finally:
            ns.close()

    def start(self):
        self._spawn(ready=True)

    def kill9_after(self, seconds, ready=False, until=None):
        """Starts sweepd and kills it with SIGKILL after seconds: a random instant the test
        chose, never a synchronisation. The seconds count from the start, or with ready
        from READY=1, or once until() holds (polled, at most WAIT), so that a loaded
        machine's slowness does not eat the window the test meant for the daemon's work.
        The socket it leaves behind is removed."""
        self._spawn(ready or until is not None)
        deadline = time.monotonic() + WAIT
        while until is not None and not until() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(seconds)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(WAIT)
        self.logf.close()
        self.proc = None
        if os.path.exists(self.sock):
            os.unlink(self.sock)

    def logtext(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM; a clean stop exits 0, removes its socket and reports no sanitizer error."""
        if not self.proc:
            return
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(WAIT)
        self.proc = None
        self.logf.close()
        log = self.logtext()
        check("AddressSanitizer" not in log and "runtime error" not in log
              and "LeakSanitizer" not in log, f"sanitizer report:\n{log}")
        equal(rc, 0, f"sweepd exit status after SIGTERM (log:\n{log})")
        check(not os.path.exists(self.sock), "socket left behind after stop")

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    # --- the protocol ---
    def request(self, obj):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(WAIT)
            s.connect(self.sock)
            s.sendall((json.dumps(obj) + "\n").encode())
            return json.loads(readline(s))

    def settle(self):
        r = self.request({"cmd": "settle"})
        check(r.get("ok"), f"settle failed: {r}")

    def status(self):
        r = self.request({"cmd": "status"})
        check(r.get("ok"), f"status failed: {r}")
        return r

    def zone(self, name="z"):
        for z in self.status()["zones"]:
            if z["name"] == name:
                return z
        raise Failure(f"no zone {name}")

    def ctl(self, *args):
        return subprocess.run([SWEEPCTL, "-s", self.sock, *args], capture_output=True,
                              timeout=WAIT)

    def expect_matches_disk(self, name="z", what=""):
        """After settle, the zone's figures equal what find and du say."""
        self.settle()
        got = self.zone(name)
        want = disk_figures(self.zones[name])
        for k in ("files", "bytes", "disk_bytes"):
            equal(got[k], want[k], f"{what} zone {name} {k}")
        return got


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readline(s):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            raise Failure(f"connection closed after {buf!r}")
        buf += chunk
    return buf.decode()


def disk_figures(path):
    """files and bytes as find -type f -printf %s counts them; disk_bytes as du does,
    once per inode; cross-checked against du itself."""
    out = subprocess.run(["find", path, "-xdev", "-type", "f", "-printf", "%s %D:%i %b\n"],
                         capture_output=True, check=True, text=True).stdout
    files = nbytes = 0
    inodes = {}
    for line in out.splitlines():
        size, ino, blocks = line.split()
        files += 1
        nbytes += int(size)
        inodes[ino] = int(blocks) * 512
    disk = sum(inodes.values())
    du = int(subprocess.run(["du", "-sxB1", path], capture_output=True, check=True,
                            text=True).stdout.split()[0])
    dirs = subprocess.run(["find", path, "-xdev", "-type", "d", "-printf", "%b\n"],
                          capture_output=True, check=True, text=True).stdout.split()
    du_files = du - sum(int(b) * 512 for b in dirs)
    # du counts each inode once across the whole walk: the same as our per-zone count.
    equal(disk, du_files, f"find's per-inode blocks vs du for {path}")
    return {"files": files, "bytes": nbytes, "disk_bytes": disk}


def write(path, data=b"x", mode="wb"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


class Writer:
    """A real process that holds a file open for writing until told to close it."""

    def __init__(self, path, append=True):
        code = ("import sys\n"
                f"f = open({path!r}, {'ab' if append else 'wb'!r})\n"
                "f.write(b'partial'); f.flush()\n"
                "print('open', flush=True)\n"
                "sys.stdin.readline()\n"
                "f.write(b'-done'); f.close()\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        equal(self.proc.stdout.readline().strip(), "open", "writer start")

    def close(self):
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        self.proc.wait(WAIT)


CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def main(module=None, around=None):
    """Runs the cases named on the command line, or all (those of module, when given);
    around, a context manager, is entered once for them all (a server they share)."""
    names = sys.argv[1:] or [n for n, f in CASES.items() if not module or f.__module__ == module]
    with around or contextlib.nullcontext():
        failed = run_cases(names)
    sys.exit(1 if failed else 0)


def run_cases(names):
    failed = 0
    for name in names:
        t0 = time.monotonic()
        try:
            CASES[name]()
            print(f"ok {name} ({time.monotonic() - t0:.1f}s)")
        except Exception as e:  # report every failure the same way
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    return failed
