"""Operating sweepd: systemd notifications, reload, pause, access, metrics, reserve,
trends, many clients, sweepctl's human output. Run one: python3 test_ops.py NAME."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from harness import (Daemon, Failure, Writer, case, check, disk_figures, equal, main,
                     readline, write, WAIT, SWEEPD, SWEEPCTL)
from test_e2e import raw
from test_sweep import Tmpfs, audit, ok, old

HERE = os.path.dirname(os.path.abspath(__file__))
# The unit meson generates from etc/sweepd.service, with the installed paths.
UNIT = os.environ.get("SWEEPD_UNIT") or os.path.join(HERE, "..", "..", "etc", "sweepd.service")
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def zone_conf(name, path, **kw):
    body = "".join(f" {k} = {v};" for k, v in kw.items())
    return f'  {{ name = "{name}"; path = "{path}";{body} }}'


def rewrite(d, zones, extra=""):
    """A new config file for a running daemon: the same socket and state_dir."""
    for z in zones:
        os.makedirs(os.path.join(d.root, z[1]), exist_ok=True)
        d.zones[z[0]] = os.path.join(d.root, z[1])
    with open(d.conf, "w") as f:
        f.write(f'state_dir = "state";\nsocket = {{ path = "{d.sock}"; }};\n{extra}\n')
        f.write("zones = (\n" + ",\n".join(zone_conf(*z[:2], **z[2]) for z in zones) + "\n);\n")


def by_name(status):
    return {z["name"]: z for z in status["zones"]}


class Notify:
    """The systemd side of sd_notify: a datagram socket in NOTIFY_SOCKET."""

    def __init__(self, root):
        self.path = os.path.join(root, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(WAIT)
        self.seen = []

    def until(self, pred, what):
        """Messages until one satisfies pred; returns it."""
        try:
            while True:
                msg = self.sock.recv(4096).decode()
                self.seen.append(msg)
                if pred(msg):
                    return msg
        except socket.timeout:
            raise Failure(f"no {what} from sweepd; saw {self.seen[-10:]}")


@case
def systemd_notifications():
    """READY with STATUS, watchdog pings at half WATCHDOG_USEC, RELOADING then READY
    around SIGHUP, STOPPING at SIGTERM."""
    d = Daemon(start=False)
    n = Notify(d.root)
    try:
        write(d.path("z", "a.bin"), b"a" * 1000)
        env = dict(os.environ, NOTIFY_SOCKET=n.path, WATCHDOG_USEC="400000")
        # systemd sets WATCHDOG_PID to the main pid: the shell's pid is the daemon's after exec.
        wrapper = ["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" "$@"', SWEEPD, "-c", d.conf]
        log = open(d.log, "ab")
        proc = subprocess.Popen(wrapper, env=env, stderr=log, stdout=log)
        try:
            ready = n.until(lambda m: "READY=1" in m, "READY=1")
            status = re.search(r"STATUS=(.*)", ready)
            check(status and "1 zones, 1 files" in status.group(1) and "no alarms" in
                  status.group(1), f"STATUS with READY: {ready!r}")
            for i in range(3):
                n.until(lambda m: m == "WATCHDOG=1", f"watchdog ping {i + 1}")
            proc.send_signal(signal.SIGHUP)
            reloading = n.until(lambda m: "RELOADING=1" in m, "RELOADING=1")
            check(re.search(r"MONOTONIC_USEC=\d+", reloading), f"MONOTONIC_USEC: {reloading!r}")
            n.until(lambda m: "READY=1" in m, "READY=1 after the reload")
            # A refused reload still ends with READY=1: the old config runs on.
            with open(d.conf, "a") as f:
                f.write("bogus_key = 1;\n")
            proc.send_signal(signal.SIGHUP)
            n.until(lambda m: "RELOADING=1" in m, "RELOADING=1 (bad config)")
            n.until(lambda m: "READY=1" in m, "READY=1 after a refused reload")
            proc.send_signal(signal.SIGTERM)
            n.until(lambda m: "STOPPING=1" in m, "STOPPING=1")
            equal(proc.wait(WAIT), 0, "exit after SIGTERM")
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
        text = d.logtext()
        check("reload refused" in text and "sweepd.conf:" in text,
              f"the refusal is logged with file:line:\n{text}")
    finally:
        n.sock.close()
        d.close()


@case
def reload_good_and_bad():
    """Zones kept, rescanned (files rule changed), added and removed; the table of a
    kept zone stays and its new limits act at once; a bad file changes nothing."""
    d = Daemon(zones=[{"name": "keep", "path": "keep"}, {"name": "inc", "path": "inc"},
                      {"name": "gone", "path": "gone"}],
               extra='archive = { path = "archive"; };')
    try:
        for i in range(5):
            write(d.path("keep", f"k{i}.bin"), b"k" * 100)
            old(d.path("keep", f"k{i}.bin"), time.time() - 3600 * (10 - i))
        write(d.path("inc", "a.mp4"), b"v" * 10)
        write(d.path("inc", "b.txt"), b"t" * 20)
        write(d.path("gone", "g.bin"), b"g" * 30)
        os.makedirs(os.path.join(d.root, "new"))
        write(os.path.join(d.root, "new", "n.bin"), b"n" * 40)
        d.settle()
        events = d.status()["counters"]["events"]
        writer = Writer(d.path("keep", "open.log"))
        d.settle()
        equal(d.zone("keep")["open_files"], 1, "writer seen before the reload")

        rewrite(d, [("new", "new", {}),
                    ("keep", "keep", {"max_files": 3, "min_age": 0}),
                    ("inc", "inc", {"include": '[ "*.mp4" ]'})],
                extra='archive = { path = "archive"; };')
        r = ok(d.request({"cmd": "reload"}), "reload")
        equal(r["zones"], {"kept": ["keep"], "rescanned": ["inc"], "added": ["new"],
                           "removed": ["gone"]}, "what the reload did")
        st = d.status()
        equal([z["name"] for z in st["zones"]], ["new", "keep", "inc"], "zones in the new order")
        z = by_name(st)
        equal((z["new"]["files"], z["new"]["bytes"]), (1, 40), "added zone scanned")
        equal((z["inc"]["files"], z["inc"]["bytes"]), (1, 10), "rescanned zone: new include")
        # Kept: the writer is still known open without any rescan, and max_files acted.
        equal(z["keep"]["open_files"], 1, "kept zone keeps what it knew")
        equal(st["counters"]["rescans"], 0, "no rescan")
        equal(z["keep"]["files"], 3, "max_files applied at once")
        gone = sorted(e["path"] for e in audit(d) if e["action"] == "archive")
        equal(gone, sorted(d.path("keep", f"k{i}.bin") for i in range(3)), "oldest archived")
        check(os.path.exists(d.path("keep", "open.log")), "the open file stays")
        writer.close()

        # The new zone is watched; the removed one is not.
        write(os.path.join(d.root, "new", "m.bin"), b"m" * 5)
        write(os.path.join(d.root, "gone", "h.bin"), b"h" * 5)
        d.settle()
        equal(d.zone("new")["files"], 2, "event in the added zone")
        check("gone" not in by_name(d.status()), "removed zone gone")
        for name in ("new", "keep", "inc"):
            if name != "inc":
                d.expect_matches_disk(name, f"after reload: {name}")

        # Bad files: syntax, a bad value, a key that cannot change live. Nothing changes.
        before = d.status()["zones"]
        good = open(d.conf).read()
        for bad, where in ((good.replace("zones = (", "zones = ( {"), None),
                           (good.replace("max_files = 3", "max_files = \"many\""), "max_files"),
                           (good.replace('state_dir = "state"', 'state_dir = "elsewhere"'),
                            "state_dir")):
            with open(d.conf, "w") as f:
                f.write(bad)
            r = d.request({"cmd": "reload"})
            check(not r["ok"] and "not reloaded" in r["error"], f"refused: {r}")
            check(r["errors"] and all(re.match(r".*sweepd\.conf:\d+: ", e) for e in r["errors"]),
                  f"every error with file:line: {r['errors']}")
            if where:
                check(any(where in e for e in r["errors"]), f"names {where}: {r['errors']}")
            after = d.status()["zones"]
            strip = lambda zs: [{k: v for k, v in z.items() if k != "trend"} for z in zs]
            equal(strip(after), strip(before), "the running config stays")
        r = d.ctl("reload")
        equal(r.returncode, 1, "sweepctl reload of a bad file exits 1")
        check(re.search(r"sweepd\.conf:\d+: ", r.stderr.decode()), r.stderr)
        with open(d.conf, "w") as f:
            f.write(good)
        r = d.ctl("reload")
        equal(r.returncode, 0, f"good again: {r.stderr}")
        check(b"configuration reloaded" in r.stdout and b"kept" in r.stdout, r.stdout)
        check(d.status()["counters"]["events"] >= events, "alive and counting")
    finally:
        d.close()


@case
def pause_and_resume():
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_age": '"1h"', "action": '"delete"',
                       "min_age": 0}])
    try:
        ok(d.request({"cmd": "pause"}), "pause")
        check(d.status()["paused"], "status says paused")
        write(d.path("z", "old.bin"), b"o")
        old(d.path("z", "old.bin"))
        d.settle()
        check(os.path.exists(d.path("z", "old.bin")), "nothing touched while paused")
        equal(d.zone()["files"], 1, "still counted while paused")
        r = d.request({"cmd": "sweep"})
        check(not r["ok"] and "paused" in r["error"], f"sweep refused while paused: {r}")
        r = d.request({"cmd": "reserve", "zone": "z", "bytes": 1})
        check(not r["ok"] and "paused" in r["error"], f"reserve refused while paused: {r}")
        ok(d.request({"cmd": "resume"}), "resume")
        d.settle()
        check(not os.path.exists(d.path("z", "old.bin")), "due file deleted after resume")
        check(not d.status()["paused"], "status says running")
    finally:
        d.close()


@case
def access_by_credentials():
    """Socket owner, group and mode from the config; anyone who can connect reads; admin
    commands need root, the daemon's user or admin_group, and a refusal says so."""
    d = Daemon(start=False)
    try:
        with open(d.conf) as f:
            conf = f.read()
        conf = conf.replace(f'socket = {{ path = "{d.sock}"; }};',
                            f'socket = {{ path = "{d.sock}"; mode = "0666"; owner = "nobody";'
                            f' group = "nogroup"; admin_group = "daemon"; }};')
        with open(d.conf, "w") as f:
            f.write(conf)
        os.chmod(d.root, 0o755)
        d.start()
        st = os.stat(d.sock)
        import grp
        import pwd
        equal((oct(st.st_mode & 0o777), pwd.getpwuid(st.st_uid).pw_name,
               grp.getgrgid(st.st_gid).gr_name), ("0o666", "nobody", "nogroup"),
              "socket mode, owner, group")
        ctl = NOBODY + [SWEEPCTL, "-s", d.sock]
        for args in (["status"], ["top", "z"], ["archive"], ["metrics"], ["settle"]):
            r = subprocess.run(ctl + args, capture_output=True, text=True)
            equal(r.returncode, 0, f"nobody may {args}: {r.stderr}")
        admin = (["sweep"], ["purge"], ["restore", "1"], ["rotate"], ["reserve", "z", "1K"],
                 ["reload"], ["pause"], ["resume"])
        for args in admin:
            r = subprocess.run(ctl + args, capture_output=True, text=True)
            equal(r.returncode, 1, f"{args} refused to nobody")
            check("needs root" in r.stderr and 'group "daemon"' in r.stderr
                  and "you are uid 65534" in r.stderr, f"says why: {r.stderr}")
        # A member of admin_group (a supplementary group) may.
        member = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--groups=daemon", SWEEPCTL,
                  "-s", d.sock]
        for args in (["pause"], ["resume"], ["reserve", "z", "1K"]):
            r = subprocess.run(member + args, capture_output=True, text=True)
            equal(r.returncode, 0, f"admin_group member may {args}: {r.stderr}")
        # Reload applies a new mode to the socket.
        with open(d.conf, "w") as f:
            f.write(conf.replace('mode = "0666"', 'mode = "0600"'))
        ok(d.request({"cmd": "reload"}), "reload")
        equal(oct(os.stat(d.sock).st_mode & 0o777), "0o600", "mode after reload")
        r = subprocess.run(NOBODY + [SWEEPCTL, "-s", d.sock, "status"], capture_output=True,
                           text=True)
        check(r.returncode == 0, f"nobody owns the socket and may still connect: {r.stderr}")
    finally:
        d.close()


PROM_NAME = re.compile(r"^sweepd_[a-z0-9_]+$")
PROM_SAMPLE = re.compile(
    r'^(sweepd_[a-z0-9_]+)(\{(?:[a-z_]+="(?:[^"\\\n]|\\.)*")(?:,[a-z_]+="(?:[^"\\\n]|\\.)*")*\})?'
    r' (-?[0-9.e+]+)$')


def parse_exposition(text):
    """Text exposition format, strictly: HELP and TYPE before each family's samples, one
    block per family, names sweepd_*. Returns {name: [(labels, value)]}. Also parsed by
    prometheus_client's own parser where Debian's python3-prometheus-client is present."""
    families, order, current = {}, [], None
    check(text.endswith("\n"), "ends with a newline")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            check(PROM_NAME.match(name), f"name {name}")
            check(name not in families, f"{name} in one block")
            families[name] = {"help": line, "type": None, "samples": []}
            order.append(name)
            current = name
        elif line.startswith("# TYPE "):
            _, _, name, typ = line.split()
            equal(name, current, "TYPE follows its HELP")
            check(typ in ("gauge", "counter"), f"type {typ}")
            check(typ != "counter" or name.endswith("_total"), f"counter {name} ends _total")
            families[name]["type"] = typ
        else:
            m = PROM_SAMPLE.match(line)
            check(m, f"sample line: {line!r}")
            equal(m.group(1), current, f"sample {line!r} inside its family")
            labels = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            families[current]["samples"].append((labels, float(m.group(3))))
    py = "/usr/bin/python3"
    if os.path.exists(py):
        code = ("import sys\nfrom prometheus_client.parser import text_string_to_metric_families"
                "\nprint(len(list(text_string_to_metric_families(sys.stdin.read()))))")
        r = subprocess.run([py, "-c", code], input=text, capture_output=True, text=True)
        if "No module named" not in r.stderr:
            equal(r.returncode, 0, f"prometheus_client parses it: {r.stderr}")
            equal(int(r.stdout), len(families), "families by prometheus_client")
    return {k: v["samples"] for k, v in families.items()}


def sample(m, name, **labels):
    for lab, v in m.get(name, []):
        if all(lab.get(k) == v2 for k, v2 in labels.items()):
            return v
    raise Failure(f"no sample {name}{labels}")


@case
def metrics_exposition():
    d = Daemon(zones=[{"name": "out", "path": "out", "max_size": '"1M"', "max_age": '"7d"'},
                      {"name": "tmp", "path": "tmp", "action": '"delete"'}],
               extra='metrics_file = "textfile/sweepd.prom";\narchive = { path = "archive"; };',
               start=False)
    try:
        os.makedirs(os.path.join(d.root, "textfile"))
        write(d.path("out", "a.mp4"), b"a" * 3000)
        old(d.path("out", "a.mp4"), time.time() - 100)
        write(d.path("tmp", "b.zip"), b"b" * 500)
        d.start()
        d.settle()
        r = ok(d.request({"cmd": "metrics"}), "metrics")
        m = parse_exposition(r["text"])
        st = d.status()
        z = by_name(st)
        for name, field in (("files", "files"), ("bytes", "bytes"), ("disk_bytes", "disk_bytes"),
                            ("open_files", "open_files")):
            equal(sample(m, f"sweepd_zone_{name}", zone="out"), z["out"][field], name)
        check(sample(m, "sweepd_zone_oldest_age_seconds", zone="out") >= 100, "oldest age")
        equal(sample(m, "sweepd_zone_limit_max_size_bytes", zone="out"), 1 << 20, "max_size")
        equal(sample(m, "sweepd_zone_limit_max_age_seconds", zone="out"), 7 * 86400, "max_age")
        check(not any(l.get("zone") == "tmp" for l, _ in
                      m.get("sweepd_zone_limit_max_size_bytes", [])), "unset limit absent")
        equal(sample(m, "sweepd_zone_blocked", zone="out"), 0, "no alarm")
        fs = st["filesystems"][0]
        equal(sample(m, "sweepd_filesystem_size_bytes", mount=fs["mount"]), fs["size"], "fs size")
        equal(sample(m, "sweepd_filesystem_high_mark_ratio", mount=fs["mount"]),
              fs["high_pct"] / 100, "high mark")
        for c in ("events", "overflows", "rescans", "archived", "deleted", "purged",
                  "restored", "rotated", "errors"):
            equal(sample(m, f"sweepd_{c}_total"), st["counters"][c], c)
        equal(sample(m, "sweepd_freed_bytes_total"), st["counters"]["bytes_freed"], "freed")
        for name in ("sweepd_archive_files", "sweepd_archive_bytes", "sweepd_archive_full",
                     "sweepd_alarms", "sweepd_paused", "sweepd_last_sweep_timestamp_seconds",
                     "sweepd_start_time_seconds"):
            check(name in m, f"{name} present")
        equal(sample(m, "sweepd_info", version=st["version"]), 1, "info")
        # sweepctl metrics prints the raw text.
        r2 = d.ctl("metrics")
        equal(r2.returncode, 0, "sweepctl metrics")
        parse_exposition(r2.stdout.decode())
        # The textfile collector's file: written at start, whole, no temporary left.
        path = os.path.join(d.root, "textfile", "sweepd.prom")
        with open(path) as f:
            parse_exposition(f.read())
        equal(sorted(os.listdir(os.path.join(d.root, "textfile"))), ["sweepd.prom"],
              "only the finished file")
    finally:
        d.close()


def fill(d, zone, n, size, start_age=3600):
    """n files of size bytes, oldest first in name order; returns their paths."""
    paths = []
    for i in range(n):
        p = d.path(zone, f"f{i:02}.bin")
        write(p, b"r" * size)
        old(p, time.time() - start_age + i)
        paths.append(p)
    return paths


@case
def reserve_frees_what_the_rules_allow():
    K = 1024
    d = Daemon(zones=[{"name": "out", "path": "out", "max_size": '"1000K"', "min_age": 0}],
               extra='archive = { path = "archive"; };', start=False)
    try:
        paths = fill(d, "out", 8, 100 * K)
        d.start()
        # 800K held, room for 450K under 1000K: 250K must go, the three oldest files.
        r = ok(d.request({"cmd": "reserve", "zone": "out", "bytes": 450 * K}), "reserve")
        equal([a["path"] for a in r["actions"]], paths[:3], "the oldest, and no more")
        equal({a["reason"] for a in r["actions"]}, {"max_size"}, "by the zone's rule")
        equal(d.zone("out")["bytes"], 500 * K, "zone after the reservation")
        check(r["freed"] > 0 and r["missing"] == 0, f"freed and nothing missing: {r}")
        # Room there already: nothing moves.
        r = ok(d.request({"cmd": "reserve", "zone": "out", "bytes": 500 * K}), "reserve again")
        equal(r["actions"], [], "nothing to move when the room is there")
        # More than the zone may ever hold.
        r = d.ctl("reserve", "out", "2M")
        equal(r.returncode, 1, "impossible reservation exits 1")
        check(b"more than zone" in r.stderr and b"max_size" in r.stderr, r.stderr)
        # Every remaining file held open for writing: it fails, says how much and why.
        writers = [Writer(p) for p in paths[3:]]
        try:
            d.settle()
            r = d.ctl("reserve", "out", "900K")
            equal(r.returncode, 1, "room not found: exit 1")
            err = r.stderr.decode()
            check("could not be found" in err and "open for writing" in err, err)
            check(all(os.path.exists(p) for p in paths[3:]), "writers' files untouched")
            # With a timeout the client waits; the room appears when one writer closes.
            # 5 files of 100K and a few bytes: 4 of them and 590K fit under 1000K.
            waiter = subprocess.Popen([SWEEPCTL, "-s", d.sock, "--json", "reserve", "out", "590K",
                                       "--timeout", "2m"], stdout=subprocess.PIPE, text=True)
            # Status answers while it waits (the loop is not blocked) and shows it waiting.
            deadline = time.monotonic() + 2 * WAIT
            while not d.status()["reservations"]:
                check(time.monotonic() < deadline, "the reservation never showed as waiting")
            waiting = d.status()["reservations"][0]
            check(waiting["zone"] == "out" and waiting["missing"] > 0
                  and "open for writing" in waiting["why"], f"waiting: {waiting}")
            writers.pop(0).close()
            out = json.loads(waiter.communicate(timeout=WAIT)[0])
            equal(waiter.returncode, 0, f"waited and found room: {out}")
            equal([a["path"] for a in out["actions"]], [paths[3]], "the file just closed")
            # A client that half-closes after its request still gets the answer.
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(WAIT)
                s.connect(d.sock)
                s.sendall(json.dumps({"cmd": "reserve", "zone": "out", "bytes": 690 * K,
                                      "timeout": 120}).encode() + b"\n")
                s.shutdown(socket.SHUT_WR)
                while not d.status()["reservations"]:
                    check(time.monotonic() < deadline, "the second reservation never waited")
                writers.pop(0).close()
                out = json.loads(readline(s))
                check(out["ok"] and [a["path"] for a in out["actions"]] == [paths[4]],
                      f"half-closed client answered: {out}")
        finally:
            for w in writers:
                w.close()
        d.expect_matches_disk("out", "after reservations")
    finally:
        d.close()


@case
def reserve_under_the_disk_high_mark():
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "zone"), "8M")
    try:
        d = Daemon(root=root, zones=[{"name": "z", "path": "zone", "action": '"delete"',
                                      "min_age": 0}],
                   extra='disk = { high = "75%"; low = "10%"; };', start=False)
        try:
            paths = fill(d, "z", 5, 1 << 20)
            d.start()
            used = d.status()["filesystems"][0]["used"]
            # 5M of 8M used: 2M more crosses 6M (75%): about 1M must go, oldest first.
            r = ok(d.request({"cmd": "reserve", "zone": "z", "bytes": 2 << 20}), "reserve")
            equal({a["reason"] for a in r["actions"]}, {"disk_high"}, "reason")
            equal([a["path"] for a in r["actions"]], paths[:len(r["actions"])], "oldest first")
            st = d.status()["filesystems"][0]
            check(st["used"] + (2 << 20) <= st["size"] * 0.75, f"room under the mark: {st}")
            check(len(r["actions"]) <= 2, f"no more than needed: {r['actions']}")
            check(not st["pressure"], "a reservation is not pressure")
        finally:
            d.close()
    finally:
        fs.close(root)


def socket_options(d, sock_extra):
    """Adds settings to the socket group of a daemon not started yet."""
    with open(d.conf) as f:
        conf = f.read()
    with open(d.conf, "w") as f:
        f.write(conf.replace(f'socket = {{ path = "{d.sock}"; }};',
                             f'socket = {{ path = "{d.sock}"; {sock_extra} }};'))


@case
def many_idle_clients_and_a_slow_one():
    """500 idle connections and a client that sends a byte a second do not delay status
    for others; the idle timeout then closes them, with a line that says why."""
    d = Daemon(extra="", start=False)
    try:
        socket_options(d, 'idle_timeout = "5s";')
        d.start()
        idle = []
        for _ in range(500):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(d.sock)
            idle.append(s)
        stop = threading.Event()
        slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        slow.connect(d.sock)

        def trickle():
            for ch in b'{"cmd":"status"}' * 100:
                if stop.is_set():
                    return
                try:
                    slow.send(bytes([ch]))
                except OSError:
                    return
                stop.wait(1.0)  # the adversary's pace, not a synchronisation

        t = threading.Thread(target=trickle)
        t.start()
        try:
            for i in range(50):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(10)
                    s.connect(d.sock)
                    s.sendall(b'{"cmd":"status"}\n')
                    check(json.loads(readline(s))["ok"], f"status {i} answered")
            # The daemon closes the trickling client at its idle timeout, with a reason.
            slow.settimeout(WAIT)
            line = readline(slow)
            check("idle_timeout" in line, f"why the slow client was closed: {line}")
            for s in idle[:5]:
                s.settimeout(WAIT)
                check("idle_timeout" in readline(s), "idle clients closed too")
        finally:
            stop.set()
            t.join()
            slow.close()
            for s in idle:
                s.close()
        d.status()
    finally:
        d.close()


def seed_history(path, series, rate_per_min, minutes=60):
    """A history file ending now at each series' present value, growing linearly."""
    now_min = int(time.time()) // 60
    out = {}
    for name, value in series.items():
        pts = [[now_min - k, max(0, value - rate_per_min * k)] for k in range(minutes, 0, -1)]
        hours = sorted({p[0] // 60: [p[0] // 60, p[1]] for p in pts}.values())
        out[name] = {"m": pts, "h": hours}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"version": 1, "series": out}, f)


@case
def trends_persist_and_forecast():
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    mount = os.path.join(root, "zone")
    fs = Tmpfs(mount, "64M")
    try:
        d = Daemon(root=root, zones=[{"name": "z", "path": "zone"}], start=False)
        try:
            fill(d, "z", 4, 1 << 20)
            sv = os.statvfs(mount)
            used = (sv.f_blocks - sv.f_bfree) * sv.f_frsize
            rate = 32 * 1024  # bytes a minute: the hour before now starts above zero
            state = os.path.join(root, "state", "trends.json")
            seed_history(state, {"zone:z": 4 << 20, f"fs:{mount}": used}, rate)
            d.start()
            st = d.status()
            z, f = st["zones"][0], st["filesystems"][0]
            want = rate * 1440
            for what, g in (("zone", z["trend"]["growth_per_day"]),
                            ("filesystem", f["trend"]["growth_per_day"])):
                check(g is not None and abs(g - want) <= want * 0.05,
                      f"{what} growth per day {g}, want about {want}")
            high = f["size"] * f["high_pct"] / 100
            eta = f["high_mark_at"] - time.time()
            want_eta = (high - f["used"]) / (want / 86400)
            check(abs(eta - want_eta) <= want_eta * 0.06 + 120, f"eta {eta}, want {want_eta}")
            check(len(z["trend"]["last_24h"]) == 24 and z["trend"]["last_24h"][-1] is not None,
                  f"hourly points: {z['trend']['last_24h']}")
            m = parse_exposition(d.request({"cmd": "metrics"})["text"])
            check(sample(m, "sweepd_filesystem_high_mark_eta_seconds", mount=mount) > 0, "eta")
            check(sample(m, "sweepd_zone_growth_bytes_per_day", zone="z") > 0, "zone growth")
            r = d.ctl("status")
            out = r.stdout.decode()
            check("+" in out and "HIGH MARK IN" in out, f"trend in human status:\n{out}")
            d.stop()
            # Saved at stop, with the samples it was given and its own.
            with open(state) as fh:
                saved = json.load(fh)["series"]
            check(len(saved["zone:z"]["m"]) >= 61, f"history kept: {len(saved['zone:z']['m'])}")
            equal(saved["zone:z"]["m"][-1][1], 4 << 20, "its own last sample")
            d.start()
            g = d.zone("z")["trend"]["growth_per_day"]
            check(g is not None and g > 0, f"growth after a restart: {g}")
            # An unreadable history is set aside, not fatal.
            d.stop()
            with open(state, "w") as fh:
                fh.write("{ not json")
            d.start()
            check(os.path.exists(state + ".unreadable"), "set aside")
            check(d.zone("z")["trend"]["growth_per_day"] is None, "a new history")
        finally:
            d.close()
    finally:
        fs.close(root)


@case
def sweepctl_human_output():
    d = Daemon(zones=[{"name": "outputs", "path": "out", "max_size": '"10M"'},
                      {"name": "zips", "path": "zips", "action": '"delete"'}],
               extra='archive = { path = "archive"; };')
    try:
        write(d.path("outputs", "a.mp4"), b"a" * (5 << 20))
        d.settle()
        env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8")
        r = subprocess.run([SWEEPCTL, "-s", d.sock, "status"], capture_output=True, env=env)
        out = r.stdout.decode()
        equal(r.returncode, 0, "status")
        lines = out.splitlines()
        header = next(l for l in lines if l.startswith("ZONE") and "QUOTA" in l)
        row = next(l for l in lines if l.startswith("outputs "))
        check("[##########..........]" in row and " 50%" in row, f"usage bar:\n{out}")
        check(header.index("FILES") + 5 == row.index(" 1 ") + 2, f"aligned:\n{header}\n{row}")
        check("5.0M" in row, f"human size:\n{row}")
        fs_row = lines[next(i for i, l in enumerate(lines) if l.startswith("FILESYSTEM")) + 1]
        check(re.search(r"\[[#.|]{20}\] +\d+\.\d%", fs_row) and "|" in fs_row,
              f"filesystem bar with its high mark:\n{fs_row}")
        check(max(len(l) for l in lines if not l.startswith("note:")) <= 160,
              f"fits a wide terminal:\n{out}")
        r = d.ctl("--json", "status")
        check(json.loads(r.stdout)["zones"][0]["name"] == "outputs", "--json is the raw reply")
        for cmd in ("status", "top", "reserve", "reload", "sweep", "restore", "metrics"):
            r = d.ctl(cmd, "-h")
            equal(r.returncode, 0, f"{cmd} -h")
            check(r.stdout.startswith(b"usage: sweepctl") and cmd.encode() in r.stdout,
                  f"{cmd} -h: {r.stdout}")
        r = d.ctl("frobnicate")
        equal(r.returncode, 1, "unknown command")
        check(b"unknown command 'frobnicate'" in r.stderr and b"reserve ZONE SIZE" in r.stderr
              and b"metrics" in r.stderr, f"lists the commands: {r.stderr}")
        r = d.ctl("reserve", "outputs", "1M")
        equal(r.returncode, 0, f"reserve: {r.stderr}")
        check(b"room for 1.0M in zone outputs" in r.stdout, r.stdout)
        r = d.ctl("reserve", "outputs", "lots")
        equal(r.returncode, 1, "bad size")
        check(b"wants a size" in r.stderr, r.stderr)
    finally:
        d.close()


def ctl_env(d, *args, **env):
    """sweepctl with no terminal (captured output) and COLUMNS as given (unset: None)."""
    e = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    e.update({k: v for k, v in env.items() if v is not None})
    r = subprocess.run([SWEEPCTL, "-s", d.sock, *args], capture_output=True, env=e,
                       timeout=WAIT)
    equal(r.returncode, 0, f"sweepctl {args}: {r.stderr}")
    return r.stdout.decode()


@case
def status_fits_the_terminal():
    """Issue 11: sweepctl status fits 80 columns with no terminal and no COLUMNS, and
    COLUMNS when set, long zone names and paths cut in the middle; --wide shows all."""
    name = "render-farm-outputs-for-the-long-running-feature-film"
    deep = os.path.join("deep", "x" * 70, "outputs")
    d = Daemon(zones=[{"name": name, "path": deep, "max_size": '"10M"', "max_age": '"7d"',
                       "max_idle": '"30d"', "max_files": "100000"},
                      {"name": "z", "path": "zone"}],
               extra='archive = { path = "archive"; };')
    try:
        write(d.path(name, "a.bin"), b"a" * (5 << 20))
        d.settle()
        heads = ("FILES", "SIZE", "DISK", "OPEN", "OLDEST", "QUOTA", "USE%", "GROWTH/DAY",
                 "LAST 24H", "ACTION", "LIMITS", "PATH", "FREE", "HIGH/LOW", "HIGH MARK IN")
        for cols, limit in ((None, 80), ("100", 100), ("60", 60)):
            out = ctl_env(d, "status", COLUMNS=cols, LC_ALL="C.UTF-8")
            lines = out.splitlines()
            widest = max(len(line) for line in lines)
            check(widest <= limit, f"COLUMNS={cols}: {widest} columns wide:\n{out}")
            check("USE%" in out and "…" in out and "/outputs" in out,
                  f"COLUMNS={cols}: use kept, names and paths cut in the middle:\n{out}")
            row = next(line for line in lines if line.startswith("render-"))
            check("[##########..........]" in row and "50%" in row, f"usage bar:\n{out}")
        out = ctl_env(d, "status", "--wide", COLUMNS="80")
        check(all(h in out for h in heads), f"--wide: every column:\n{out}")
        check(name in out and d.path(name) in out, f"--wide: names and paths whole:\n{out}")
        check(max(len(line) for line in out.splitlines()) > 80, "--wide is wide")
        # Without UTF-8, the ellipsis is plain dots.
        out = ctl_env(d, "status", LC_ALL="C")
        check("..." in out and max(len(line) for line in out.splitlines()) <= 80, out)
    finally:
        d.close()


@case
def top_shows_a_writer_as_writing():
    """Issue 11: a file held open by a writer that has not written for ten days is shown
    as being written, not as idle for ten days."""
    d = Daemon(start=False)
    writer = None
    try:
        busy, idle = d.path("z", "busy.log"), d.path("z", "idle.log")
        write(busy, b"b" * 100)
        write(idle, b"i" * 100)
        writer = Writer(busy)
        for p in (busy, idle):
            old(p)
        d.start()
        d.settle()
        files = {os.path.basename(f["path"]): f for f in
                 d.request({"cmd": "top", "zone": "z", "n": 5, "by": "age"})["files"]}
        check(files["busy.log"]["open"], f"the daemon knows the writer: {files}")
        out = ctl_env(d, "top", "z")
        row = {line.split()[-1]: line for line in out.splitlines()[1:]}
        check("writing" in row[busy] and "10d" not in row[busy].split()[2], f"busy:\n{out}")
        check(row[idle].split()[2:4] == ["10d", "0h"] or "10d" in row[idle], f"idle:\n{out}")
        check("writing" not in row[idle], f"idle is not written:\n{out}")
    finally:
        if writer:
            writer.close()
        d.close()


@case
def refused_reload_prints_each_error_once():
    """Issue 11: sweepctl reload of a file with several errors prints each one once."""
    d = Daemon(zones=[{"name": "z", "path": "zone"}])
    try:
        good = open(d.conf).read()
        with open(d.conf, "w") as f:
            f.write(good.replace('path = "zone";',
                                 'path = "zone"; max_files = "many"; max_age = "soon";'))
        r = d.ctl("reload")
        equal(r.returncode, 1, "refused")
        err = r.stderr.decode()
        errors = d.request({"cmd": "reload"})["errors"]
        check(len(errors) >= 2, f"two errors: {errors}")
        for e in errors:
            equal(err.count(e), 1, f"{e!r} printed once in:\n{err}")
        check("not reloaded" in err, err)
        check("see \"errors\"" not in err, f"no pointer to a JSON field:\n{err}")
        # Accepted with warnings: each printed once, with its line.
        with open(d.conf, "w") as f:
            f.write(good.replace('path = "zone";',
                                 'path = "zone"; max_size = 0; action = "delete";'))
        r = d.ctl("reload")
        equal(r.returncode, 0, f"reloaded: {r.stderr!r}")
        out = r.stdout.decode()
        equal(out.count(f"{d.conf}:"), 1, f"the warning, once:\n{out}")
        check("warning: zone \"z\": 'max_size' is 0" in out, out)
    finally:
        d.close()


@case
def systemd_unit_verifies():
    """systemd-analyze verify accepts the unit meson installs (with the built binary in
    place of the installed one), and it has what the contract asks for."""
    with open(UNIT) as f:
        unit = f.read()
    for line in ("Type=notify", "ExecReload=", "WatchdogSec=", "RuntimeDirectory=sweepd",
                 "StateDirectory=sweepd", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ReadWritePaths=", "ProtectHome=yes"):
        check(line in unit, f"{line} in the unit")
    check(not re.search(r"^PrivateTmp=", unit, re.M), "no PrivateTmp: it must see the real /tmp")
    tmp = tempfile.mkdtemp(prefix="sweepd-unit-")
    try:
        path = os.path.join(tmp, "sweepd.service")
        with open(path, "w") as f:
            f.write(re.sub(r"^(ExecStart(?:Pre)?=)/\S*/sweepd ",
                           lambda m: m.group(1) + os.path.abspath(SWEEPD) + " ", unit, flags=re.M))
        r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)
        equal((r.returncode, r.stdout + r.stderr), (0, ""), "systemd-analyze verify")
    finally:
        shutil.rmtree(tmp)


# An unprivileged client that floods the socket: it opens up to N connections within
# SECS (bounded), sees which ones the daemon kept (they answer a status) and which it
# refused (an error line, then EOF), says "flooding" and goes on reconnecting, idle
# connections held, until STOPFILE appears (or SECS run out). Prints a JSON summary.
FLOODER = r"""
import collections, json, os, resource, socket, struct, sys, time
path, n, secs, stopfile = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
t0 = time.monotonic()
def line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(65536)
        if not c:
            break
        buf += c
    return buf.decode()
tv = struct.pack("ll", 10, 0)  # blocking, bounded: connect waits while the backlog is full
def attempt():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    try:
        s.connect(path)
    except OSError as e:
        s.close()
        return None, "connect: " + e.strerror
    return s, None
held, errors, opened = [], collections.Counter(), 0
while opened < n and time.monotonic() - t0 < secs:
    s, err = attempt()
    opened += 1
    if err:
        errors[err] += 1
    else:
        held.append(s)
kept = []
for s in held:
    try:
        s.sendall(b'{"cmd":"status"}\n')
    except OSError:
        pass
    try:
        r = json.loads(line(s) or "null")
    except (OSError, ValueError):
        r = None
    if r and r.get("ok"):
        kept.append(s)
    else:
        errors[r["error"] if r else "no answer"] += 1
        s.close()
print("flooding", flush=True)
reconnects = 0
while not os.path.exists(stopfile) and time.monotonic() - t0 < secs:
    s, err = attempt()
    reconnects += 1
    if err:
        errors[err] += 1
        continue
    try:
        r = json.loads(line(s) or "null")
    except (OSError, ValueError):
        r = None
    errors[r["error"] if r else "no answer"] += 1
    s.close()
print(json.dumps({"opened": opened, "kept": len(kept), "reconnects": reconnects,
                  "errors": dict(errors)}), flush=True)
"""


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l.split()[1] for l in f if l.startswith("VmRSS:")))


def as_user(uid, gid=None, groups=None):
    """setpriv for a real unprivileged uid (no passwd entry needed), no other groups."""
    gid = uid if gid is None else gid
    return (["setpriv", f"--reuid={uid}", f"--regid={gid}"]
            + ([f"--groups={groups}"] if groups else ["--clear-groups"]))


class Flood:
    """A FLOODER process running as uid, from start until stop()."""

    def __init__(self, d, uid, n=3000, secs=60):
        self.stopfile = os.path.join(d.root, f"stop-{uid}")
        script = os.path.join(d.root, "flooder.py")
        with open(script, "w") as f:
            f.write(FLOODER)
        self.proc = subprocess.Popen(as_user(uid) + [sys.executable, script, d.sock, str(n),
                                                     str(secs), self.stopfile],
                                     stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline()
        check(first.strip() == "flooding", f"flooder for uid {uid} started: {first!r}")

    def stop(self):
        with open(self.stopfile, "w"):
            pass
        out, _ = self.proc.communicate(timeout=WAIT)
        return json.loads(out)


def ctl_as(d, prefix, *args, timeout="10"):
    return subprocess.run(prefix + [SWEEPCTL, "-s", d.sock, "--timeout", timeout, *args],
                          capture_output=True, text=True, timeout=WAIT)


def socket_daemon(sock_extra, zones=None, args=(), before=None):
    """A daemon whose socket anyone may connect to (0666), admin_group "daemon";
    before(d) runs before its start."""
    d = Daemon(zones=zones, args=args, start=False)
    with open(d.conf) as f:
        conf = f.read()
    with open(d.conf, "w") as f:
        f.write(conf.replace(f'socket = {{ path = "{d.sock}"; }};',
                             f'socket = {{ path = "{d.sock}"; mode = "0666"; '
                             f'admin_group = "daemon"; {sock_extra} }};'))
    os.chmod(d.root, 0o755)
    if before:
        before(d)
    d.start()
    return d


def fill_backlog(path, most):
    """Connections (at most most) until the listening socket's backlog is full."""
    held = []
    for _ in range(most):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(path)
        except OSError:
            s.close()
            break
        held.append(s)
    return held


MEMBER = ["setpriv", "--reuid=65534", "--regid=65534", "--groups=daemon"]


@case
def one_user_cannot_lock_admins_out():
    """An ordinary user floods the 0666 socket with 3,000 connections and keeps
    reconnecting: it keeps max_clients_per_user (16) of them, every other one is
    refused with a line saying so, and meanwhile root's status, pause and resume, an
    admin_group member's pause and another ordinary user's status all answer."""
    d = socket_daemon("")
    flood = None
    try:
        flood = Flood(d, 65501)
        for args in (["status"], ["pause"], ["resume"]):
            r = ctl_as(d, [], *args)
            equal(r.returncode, 0, f"root {args} during the flood: {r.stderr}")
        for args in (["pause"], ["resume"]):
            r = ctl_as(d, MEMBER, *args)
            equal(r.returncode, 0, f"admin_group member {args} during the flood: {r.stderr}")
        r = ctl_as(d, as_user(65502), "status")
        equal(r.returncode, 0, f"another ordinary user reads during the flood: {r.stderr}")
        r = ctl_as(d, as_user(65501), "status")
        equal(r.returncode, 1, "the flooder's own next connection is refused")
        check("too many connections from uid 65501: at most 16 per user" in r.stderr, r.stderr)
        got = flood.stop()
        flood = None
        equal(got["kept"], 16, f"connections the flooder kept: {got}")
        check(got["opened"] >= 1000 and got["reconnects"] > 0, f"it did flood: {got}")
        want = "too many connections from uid 65501: at most 16 per user"
        check(all(want in e for e in got["errors"]), f"every refusal says why: {got['errors']}")
        # Its connections gone (once the daemon has seen them close), it may connect again.
        deadline = time.monotonic() + WAIT
        while (r := ctl_as(d, as_user(65501), "status")).returncode and time.monotonic() < deadline:
            check("too many connections" in r.stderr, r.stderr)
        equal(r.returncode, 0, f"after the flood: {r.stderr}")
    finally:
        if flood:
            flood.stop()
        d.close()


# An unprivileged client that pipelines: N connections, each sent 64 KiB of requests at
# once and never read; prints "piped" and holds them until stdin closes.
PIPER = r"""
import socket, sys
path, n, req = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode() + b"\n"
held = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.setblocking(False)
    chunk = req * (65536 // len(req))
    try:
        s.send(chunk)
    except BlockingIOError:
        pass
    held.append(s)
print("piped", flush=True)
sys.stdin.read()
"""


@case
def pipelined_requests_never_hold_up_an_admin():
    """Four ordinary users each pipeline 16 connections full of metrics requests and read
    nothing: each connection gets a few answers per turn and one reply in flight, so an
    admin's pause is answered at once and the daemon's memory stays flat."""
    d = socket_daemon("")
    pipers = []
    try:
        script = os.path.join(d.root, "piper.py")
        with open(script, "w") as f:
            f.write(PIPER)
        before = rss_kb(d.proc.pid)
        for uid in (65521, 65522, 65523, 65524):
            p = subprocess.Popen(as_user(uid) + [sys.executable, script, d.sock, "16",
                                                 '{"cmd":"metrics"}'],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            pipers.append(p)
            equal(p.stdout.readline().strip(), "piped", f"uid {uid} pipelined")
        for args in (["pause"], ["resume"]):
            r = ctl_as(d, MEMBER, *args, timeout="5")
            equal(r.returncode, 0, f"admin_group member {args} meanwhile: {r.stderr}")
        grown = rss_kb(d.proc.pid) - before
        # Generous: a sanitizer build keeps freed memory in quarantine for a while.
        check(grown < 256 * 1024, f"memory stays flat: RSS grew {grown} KiB")
    finally:
        for p in pipers:
            p.stdin.close()
            p.wait()
        d.close()


@case
def client_gone_while_its_reservation_waits():
    """An admin's reserve waits for room; the connection is closed meanwhile (after more
    short requests than a line can hold): the answer that comes later goes nowhere, and
    the daemon lives on."""
    d = Daemon(zones=[{"name": "z", "path": "zone", "max_size": '"100K"', "action": '"delete"'}])
    try:
        held = open(d.path("z", "w.dat"), "wb")  # a writer: nothing can be freed
        held.write(b"w" * 60000)
        held.flush()
        d.settle()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.sock)
        s.sendall(b'{"cmd":"reserve","zone":"z","bytes":60000,"timeout":2}\n')
        d.settle()  # the reservation is waiting now
        s.sendall(b'{"cmd":"status"}\n' * 5000)
        s.close()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not d.proc.poll():
            st = d.status()
            if not st.get("reservations"):
                break
        equal(d.proc.poll(), None, "the daemon lives on")
        equal(d.status().get("reservations") or [], [], "the reservation ended")
        held.close()
    finally:
        d.close()


@case
def ordinary_users_leave_room_for_admins():
    """Ordinary users together fill at most max_clients less admin_reserve; the rest
    is root's and admin_group's."""
    d = socket_daemon("max_clients = 40; admin_reserve = 8;")
    floods = []
    try:
        for uid in (65511, 65512):
            floods.append(Flood(d, uid, n=100))
        r = ctl_as(d, as_user(65513), "status")
        equal(r.returncode, 1, "a third ordinary user finds the ordinary share full")
        check("admin_reserve 8" in r.stderr and "max_clients 40" in r.stderr, r.stderr)
        held = []
        try:
            for _ in range(7):  # root takes all but one of the reserved room ...
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(d.sock)
                held.append(s)
            r = ctl_as(d, MEMBER, "pause")  # ... and an admin_group member the last
            equal(r.returncode, 0, f"admin_group member pauses: {r.stderr}")
        finally:
            for s in held:
                s.close()
        # Once the daemon has seen those close, root has room again.
        deadline = time.monotonic() + WAIT
        while "too many" in (r := d.request({"cmd": "resume"})).get("error", "") \
                and time.monotonic() < deadline:
            pass
        ok(r, "root resumes")
        for f in floods:
            got = f.stop()
            equal(got["kept"], 16, f"each ordinary user keeps 16: {got}")
        floods = []
    finally:
        for f in floods:
            f.stop()
        d.close()


@case
def out_of_descriptors_admins_still_get_in():
    """With a hard limit on descriptors below what max_clients needs, a flood runs the
    daemon out of them: the flooder is refused with a line saying so, root still gets
    its answers, and the daemon does not spin on its listening socket."""
    d = socket_daemon("max_clients_per_user = 1000;")
    flood = None
    try:
        pid = d.proc.pid
        base = len(os.listdir(f"/proc/{pid}/fd"))
        limit = base + 24
        subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={limit}:{limit}"], check=True)
        flood = Flood(d, 65521, n=400)
        check(len(os.listdir(f"/proc/{pid}/fd")) >= limit - 1,
              "the daemon is out of descriptors")

        def cpu():
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        for args in (["status"], ["pause"], ["resume"]):
            r = ctl_as(d, [], *args)
            equal(r.returncode, 0, f"root {args} while out of descriptors: {r.stderr}")
        got = flood.stop()
        flood = None
        check(got["kept"] >= 10, f"the flooder got some: {got}")
        check(any("out of file descriptors" in e for e in got["errors"]),
              f"the flooder was told why: {got['errors']}")
        # Idle clients hold every descriptor: the daemon sleeps, it does not spin.
        held = fill_backlog(d.sock, limit)
        try:
            c0, t0 = cpu(), time.monotonic()
            time.sleep(2)  # the span CPU time is measured over, not a synchronisation
            used = (cpu() - c0) / (time.monotonic() - t0)
            check(used < 0.3, f"daemon CPU while out of descriptors: {used:.0%}")
        finally:
            for s in held:
                s.close()
        r = ctl_as(d, [], "status")
        equal(r.returncode, 0, f"root status afterwards: {r.stderr}")
    finally:
        if flood:
            flood.stop()
        d.close()


@case
def strict_requests_and_reader_dry_runs():
    """A request naming a field twice is refused (json-c would keep the last); a line
    over 64 KiB gets an error and the connection is closed, as the README says; a
    reader may ask for a dry-run sweep (not written to the audit log) but not a sweep."""
    d = socket_daemon("")
    try:
        os.makedirs(d.path(), exist_ok=True)
        write(d.path("z", "f"), b"x")
        nobody = as_user(65534)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(WAIT)
            s.connect(d.sock)
            s.sendall(b'{"cmd":"status","cmd":"sweep"}\n')
            r = json.loads(readline(s))
            check(not r["ok"] and '"cmd" twice' in r["error"], f"duplicate cmd: {r}")
            s.sendall(b'{"cmd":"sweep","dry_run":true,"dry_run":false}\n')
            r = json.loads(readline(s))
            check(not r["ok"] and '"dry_run" twice' in r["error"], f"duplicate dry_run: {r}")
            s.sendall(b'{"cmd":"status"}\n')
            check(json.loads(readline(s))["ok"], "the connection stays open after them")
        # A whole line over 64 KiB, then a good request: an error, then EOF.
        replies = raw(d, b'{"cmd":"status","x":"' + b"a" * 70000 + b'"}\n{"cmd":"status"}\n',
                      shutdown=False)
        equal(len(replies), 1, f"one reply, then the connection is closed: {replies}")
        check(not replies[0]["ok"] and "longer than" in replies[0]["error"], f"{replies}")
        audit_log = os.path.join(d.root, "state", "audit.log")
        before = os.path.getsize(audit_log) if os.path.exists(audit_log) else 0
        r = ctl_as(d, nobody, "--json", "sweep", "--dry-run")
        equal(r.returncode, 0, f"a reader's dry-run sweep: {r.stderr}")
        check(json.loads(r.stdout)["dry_run"], "it is a dry run")
        after = os.path.getsize(audit_log) if os.path.exists(audit_log) else 0
        equal(after, before, "a reader's dry run writes nothing to the audit log")
        r = ctl_as(d, nobody, "sweep")
        equal(r.returncode, 1, "a reader's sweep is refused")
        check("needs root" in r.stderr and "dry_run" in r.stderr, r.stderr)
    finally:
        d.close()


@case
def a_readers_dry_run_lists_a_bounded_part():
    """Anyone may ask what a sweep would do, but what that costs the daemon is bounded:
    with 2,490 files over a zone's max_files, a reader's dry run lists the first 1,000
    actions and counts the rest (unlisted), and sweepctl says so; an admin's lists them
    all. (The plan itself is one pass over the table: 100,000 due files took 4.2 s on
    the loop when a dry run planned batch after batch, 1.8 s in one pass, client
    included.)"""
    def files(d):
        for i in range(2500):
            with open(d.path("z", f"f{i:04d}"), "wb") as f:
                f.write(b"x")

    d = socket_daemon("", zones=[{"name": "z", "path": "zone", "max_files": "10",
                                  "action": '"delete"', "min_age": '"0s"'}],
                      args=["--dry-run"], before=files)
    try:
        d.settle()
        r = ctl_as(d, as_user(65534), "--json", "sweep", "--dry-run")
        equal(r.returncode, 0, f"a reader's dry run: {r.stderr}")
        r = json.loads(r.stdout)
        equal((len(r["actions"]), r["count"], r.get("unlisted")), (1000, 2490, 1490),
              "a reader's dry run: listed, counted, unlisted")
        r = ctl_as(d, as_user(65534), "sweep", "--dry-run")
        check("dry run: 1000 action(s) listed and 1490 more" in r.stdout, r.stdout[-300:])
        r = d.request({"cmd": "sweep", "dry_run": True})
        equal((len(r["actions"]), r["count"], r.get("unlisted")), (2490, 2490, None),
              "an admin's dry run lists every action")
        equal(d.zone()["files"], 2500, "nothing moved")
    finally:
        d.close()


@case
def sweepctl_timeout_on_a_stopped_daemon():
    """A SIGSTOPped daemon still accepts connections (and then its backlog fills):
    sweepctl --timeout 2 gives up with exit 2 naming the socket; the default waits
    longer (30 s) and gets the answer once the daemon goes on."""
    d = Daemon()
    held = []
    try:
        os.kill(d.proc.pid, signal.SIGSTOP)
        try:
            for args in (["status"], ["pause"]):
                t0 = time.monotonic()
                r = subprocess.run([SWEEPCTL, "-s", d.sock, "--timeout", "2", *args],
                                   capture_output=True, text=True, timeout=WAIT)
                took = time.monotonic() - t0
                equal(r.returncode, 2, f"{args} on a stopped daemon: {r.stderr}")
                check(d.sock in r.stderr and "did not answer within 2 s" in r.stderr, r.stderr)
                check(1.5 < took < 6, f"gave up after {took:.1f}s")
            # The backlog full, connect itself would wait: bounded too.
            held = fill_backlog(d.sock, 4096)
            t0 = time.monotonic()
            r = subprocess.run([SWEEPCTL, "-s", d.sock, "--timeout", "1.5", "status"],
                               capture_output=True, text=True, timeout=WAIT)
            equal(r.returncode, 2, f"status with a full backlog: {r.stderr}")
            check(d.sock in r.stderr, r.stderr)
            check(time.monotonic() - t0 < 6, "bounded with a full backlog")
            for s in held:
                s.close()
            held = []
            # The default outlives 2 s, and the answer comes once the daemon goes on.
            p = subprocess.Popen([SWEEPCTL, "-s", d.sock, "status"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            try:
                p.wait(3)  # the span it must outlive, not a synchronisation
                raise Failure(f"default timeout gave up within 3 s: {p.communicate()}")
            except subprocess.TimeoutExpired:
                pass
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        out, err = p.communicate(timeout=WAIT)
        equal(p.returncode, 0, f"the default waits for the answer: {err}")
        r = subprocess.run([SWEEPCTL, "-h"], capture_output=True, text=True)
        check("--timeout" in r.stdout and "default 30" in r.stdout, r.stdout)
        for bad in ("0", "-1", "soon", "nan"):
            r = subprocess.run([SWEEPCTL, "-s", d.sock, "--timeout", bad, "status"],
                               capture_output=True, text=True)
            equal(r.returncode, 1, f"--timeout {bad} refused")
            check("--timeout" in r.stderr, r.stderr)
        # After the command it is a mistake, said as such (reserve alone takes one there).
        r = subprocess.run([SWEEPCTL, "-s", d.sock, "status", "--timeout", "5"],
                           capture_output=True, text=True)
        equal(r.returncode, 1, "--timeout after status")
        check("--timeout goes before the command" in r.stderr, r.stderr)
    finally:
        for s in held:
            s.close()
        d.close()


@case
def large_archive_listing_and_a_reader_that_does_not_read():
    """Issue 11: an archive whose listing is over 16 MiB is listed in full by sweepctl
    archive (human and --json) and purge prints its sentence; a client that pipelines 50
    archive requests and reads nothing holds at most one reply (RSS bounded), is dropped
    at its idle_timeout, and another client's status answers meanwhile."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = Tmpfs(os.path.join(root, "t"), "256m")  # its own filesystem: archiving is quick
    d = Daemon(zones=[{"name": "z1", "path": "t/z1", "max_age": '"1h"'}],
               extra='archive = { path = "t/archive"; compress = "off"; };', root=root,
               start=False)
    n = 2700
    try:
        socket_options(d, 'idle_timeout = "5s";')
        long = "n" * 200
        t = time.time() - 7200
        deep = d.path("z1", *(["d" * 250] * 12))  # paths of about 3,200 bytes: 17 MB
        os.makedirs(deep)
        for i in range(n):
            p = os.path.join(deep, f"{i:06d}{long}")
            with open(p, "wb"):
                pass
            os.utime(p, (t, t))
        d.start()
        deadline = time.monotonic() + 120
        while d.status()["archive"]["files"] < n and time.monotonic() < deadline:
            d.settle()
        equal(d.status()["archive"]["files"], n, "everything archived")
        r = subprocess.run([SWEEPCTL, "-s", d.sock, "--json", "archive"], capture_output=True,
                           timeout=WAIT)
        equal(r.returncode, 0, f"--json archive: {r.stderr}")
        check(len(r.stdout) > 16 << 20, f"the reply is over 16 MiB: {len(r.stdout)}")
        listing = json.loads(r.stdout)
        entries = listing["entries"]
        equal(len(entries), n, "every entry in the --json listing")
        for args in (["archive"], ["archive", "z1"]):
            r = subprocess.run([SWEEPCTL, "-s", d.sock, *args], capture_output=True,
                               timeout=WAIT)
            equal(r.returncode, 0, f"{args}: {r.stderr}")
            equal(r.stdout.count(long.encode()), n, f"{args} lists every entry")

        # A steady but slow reader (taking longer than idle_timeout in all) gets it all.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(WAIT)
            s.connect(d.sock)
            s.sendall(b'{"cmd":"archive"}\n')
            got = b""
            while not got.endswith(b"\n"):
                chunk = s.recv(1 << 20)
                check(chunk, f"the slow reader was cut off after {len(got)} bytes")
                got += chunk
                time.sleep(0.1)  # the reader's pace (a socket buffer a tenth of a second,
                # past idle_timeout in all), not a synchronisation
            equal(len(json.loads(got)["entries"]), n, "the slow reader's listing")

        # A hostile reader: 50 archive requests in one write, then it reads nothing.
        base = rss_kb(d.proc.pid)
        hostile = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        hostile.connect(d.sock)
        hostile.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        hostile.sendall(b'{"cmd":"archive"}\n' * 50)
        peak = 0
        for i in range(5):
            st = d.status()  # another client is answered meanwhile
            check(st["archive"]["files"] == n, f"status {i} answered")
            peak = max(peak, rss_kb(d.proc.pid))
        check(peak - base < 200 << 10, f"RSS grew by {peak - base} KiB (from {base})")
        # It is dropped once it has taken nothing for idle_timeout.
        deadline = time.monotonic() + WAIT
        while "reads no replies: dropped" not in d.logtext() and time.monotonic() < deadline:
            d.status()
            peak = max(peak, rss_kb(d.proc.pid))
        check("reads no replies: dropped" in d.logtext(), "the non-reader was dropped")
        check(peak - base < 200 << 10, f"RSS grew by {peak - base} KiB (from {base})")
        hostile.close()

        r = subprocess.run([SWEEPCTL, "-s", d.sock, "purge", "--older-than", "0"],
                           capture_output=True, timeout=WAIT)
        equal(r.returncode, 0, f"purge: {r.stderr}")
        check(b"purged" in r.stdout, f"purge says what it did: {r.stdout[:300]}")
        equal(d.status()["archive"]["files"], 0, "archive empty")
    finally:
        d.close()
        fs.close(root)


def display_width(line):
    """Columns a line takes on a terminal: East Asian wide characters two, marks none."""
    import unicodedata
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


@case
def wide_characters_fit_the_terminal():
    """Issue 11: CJK zone paths and file names count two columns each, so
    sweepctl status and top fit COLUMNS=80 in a UTF-8 locale, cut in the middle."""
    name = "render"
    deep = os.path.join("\u6df1" * 30, "outputs")  # 30 characters, 60 columns
    d = Daemon(zones=[{"name": name, "path": deep, "max_size": '"10M"', "action": '"delete"'}])
    try:
        fname = "\u955c\u5934" * 30 + "-e\u0301.exr"
        write(d.path(name, fname), b"a" * 4096)
        d.settle()
        for args in (["status"], ["top", name]):
            out = ctl_env(d, *args, COLUMNS="80", LC_ALL="C.UTF-8")
            lines = out.splitlines()
            widest = max(display_width(line) for line in lines)
            check(widest <= 80, f"{args}: {widest} columns wide:\n{out}")
            check("\u2026" in out, f"{args}: cut in the middle:\n{out}")
        out = ctl_env(d, "top", name, COLUMNS="80", LC_ALL="C.UTF-8")
        check(".exr" in out, f"the file name's end is kept:\n{out}")
    finally:
        d.close()


if __name__ == "__main__":
    main()
