"""What Prometheus' own tools say of sweepd: `promtool check metrics` on a live daemon's
exposition, with every family src/metrics.c can write present in it (a zone blocked, the
archive holding a file, a bucket configured, trends and a forecast from a seeded history),
so that the lint sees them all. A missing promtool fails: etc/install-deps.sh installs
Debian's prometheus. Run one: python3 test_prometheus.py NAME."""

import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import Daemon, Failure, Writer, WAIT, case, check, equal, main, write
from test_ops import seed_history
from test_sweep import Tmpfs, ok, old

HERE = os.path.dirname(os.path.abspath(__file__))
METRICS_C = os.path.join(HERE, "..", "..", "src", "metrics.c")


def promtool():
    path = shutil.which("promtool")
    check(path, "promtool not found: it comes with Debian's prometheus package "
          "(sh etc/install-deps.sh installs it)")
    return path


def families_in_source():
    """Every metric name src/metrics.c writes, as the string literals that name them."""
    with open(METRICS_C) as f:
        names = set(re.findall(r'"(sweepd_[a-z0-9_]+)"', f.read()))
    check(len(names) > 40, f"metric names read from {METRICS_C}: {sorted(names)}")
    return names


@case
def promtool_checks_the_live_metrics():
    tool = promtool()
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    mount = os.path.join(root, "fs")
    fs = Tmpfs(mount, "64M")
    writers = []
    try:
        # A zone on a tmpfs of its own (a filesystem series to seed) that writers keep
        # over its max_files: blocked. Another with a file old enough to be archived. A
        # bucket behind the archive that nothing is uploaded to: its families at 0.
        d = Daemon(root=root, start=False,
                   zones=[{"name": "z", "path": "fs/z", "max_files": "1", "min_age": "0",
                           "max_idle": '"1h"', "action": '"delete"'},
                          {"name": "out", "path": "out", "max_age": '"1d"', "max_size": '"1G"'}],
                   extra='archive = { path = "archive"; keep = "7d"; remote = {\n'
                         '  endpoint = "http://127.0.0.1:1"; bucket = "sweepd-test"; }; };')
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "sweepd-test")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "sweepd-test")
        try:
            write(d.path("out", "old.mp4"), b"o" * 1000)
            old(d.path("out", "old.mp4"), time.time() - 3 * 86400)
            # A day's history growing to what the tmpfs holds now (a file outside the
            # zones): a growth and a forecast of the high mark.
            write(os.path.join(mount, "ballast.bin"), b"b" * (1 << 20))
            sv = os.statvfs(mount)
            used = (sv.f_blocks - sv.f_bfree) * sv.f_frsize
            seed_history(os.path.join(root, "state", "trends.json"),
                         {"zone:z": 0, f"fs:{mount}": used}, 16 * 1024)
            d.start()
            for i in range(2):
                writers.append(Writer(d.path("z", f"w{i}")))
            deadline = time.monotonic() + WAIT
            while True:
                d.settle()
                st = d.status()
                z = {z["name"]: z for z in st["zones"]}["z"]
                if z["blocked"] and st["archive"]["files"] >= 1:
                    break
                check(time.monotonic() < deadline,
                      f"zone z blocked and a file archived: {z['blocked']}, {st['archive']}")
                time.sleep(0.1)
            text = ok(d.request({"cmd": "metrics"}), "metrics")["text"]
            typed = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
            missing = sorted(families_in_source() - typed)
            equal(missing, [], "families of src/metrics.c missing from the exposition")
            r = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=WAIT)
            if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
                raise Failure(f"promtool check metrics (exit {r.returncode}):\n"
                              f"{r.stdout}{r.stderr}\non:\n{text}")
        finally:
            for w in writers:
                w.close()
            d.stop()
    finally:
        fs.close(root)


if __name__ == "__main__":
    main("__main__")  # without names: this file's cases, not those it imports
