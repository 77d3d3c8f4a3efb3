"""Alerts (issue 14): alert_command run for each alarm that starts, ends or lasts, with the
alert on its standard input as Alertmanager takes it; the watch_limit alarm; the scripts of
etc/alert.d against a real Alertmanager, nginx and a sendmail stand-in.
Run one: python3 test_alerts.py NAME; all: no argument."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from datetime import datetime, timezone

import harness
from harness import Daemon, Writer, case, check, equal, free_port, main, write, WAIT

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.realpath(os.path.join(HERE, "..", "..", "etc", "alert.d"))
OLD = time.time() - 10 * 86400


def wait_for(fn, what, timeout=WAIT):
    """Polls fn until it returns something true, at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > deadline:
            raise harness.Failure(f"waited {timeout}s for {what}")
        time.sleep(0.02)


def nothing_more_for(fn, seconds, what):
    """fn stays true for seconds: a check that something does NOT happen (bounded wait)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        check(fn(), what)
        time.sleep(0.05)


def rfc3339(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextlib.contextmanager
def environment(**kw):
    """Variables in this process's environment (the daemon started inside inherits them)."""
    saved = {k: os.environ.get(k) for k in kw}
    os.environ.update({k: str(v) for k, v in kw.items()})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Recorder:
    """A test alert_command: appends a line per run to a file, "start STATUS NAME PID JSON"
    and "end STATUS NAME PID"; what it does besides is read from a mode file at each run:
    ok, fail (exit 1), hang (sleeps 1000 s) or block (until a release file is there)."""

    def __init__(self, root):
        self.out = os.path.join(root, "alerts.log")
        self.mode_file = os.path.join(root, "alert.mode")
        self.release = os.path.join(root, "alert.release")
        self.path = os.path.join(root, "alert-recorder")
        with open(self.path, "w") as f:
            f.write(f"""#!/bin/sh
json=$(cat)
mode=$(cat {self.mode_file} 2>/dev/null || echo ok)
printf 'start\\t%s\\t%s\\t%s\\t%s\\n' "$SWEEPD_ALERT_STATUS" "$SWEEPD_ALERT_NAME" "$$" "$json" >> {self.out}
case $mode in
fail) exit 1 ;;
hang) exec sleep 1000 ;;
block) while [ ! -e {self.release} ]; do sleep 0.02; done ;;
esac
printf 'end\\t%s\\t%s\\t%s\\n' "$SWEEPD_ALERT_STATUS" "$SWEEPD_ALERT_NAME" "$$" >> {self.out}
""")
        os.chmod(self.path, 0o755)
        self.mode("ok")

    def mode(self, m):
        with open(self.mode_file, "w") as f:
            f.write(m + "\n")

    def lines(self):
        try:
            with open(self.out) as f:
                return [l.rstrip("\n").split("\t") for l in f]
        except FileNotFoundError:
            return []

    def starts(self, name=None, status=None):
        """The runs started, each {status, name, pid, alert}."""
        got = []
        for l in self.lines():
            if l[0] == "start" and (not name or l[2] == name) and (not status or l[1] == status):
                got.append({"status": l[1], "name": l[2], "pid": int(l[3]),
                            "alert": json.loads(l[4])})
        return got

    def ends(self):
        return [(l[1], l[2]) for l in self.lines() if l[0] == "end"]


def metric(d, name):
    text = d.request({"cmd": "metrics"})["text"]
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise harness.Failure(f"no {name} in metrics:\n{text}")


def quota_zone(name="z", path="zone"):
    """A zone where one byte is over its limit: a file held open by a writer is an alarm
    (quota_unmet) until the writer lets go and the file is deleted."""
    return {"name": name, "path": path, "max_size": "1", "min_age": "0", "action": '"delete"'}


def alarms(d, name):
    return [a for a in d.status()["alarms"] if a["name"] == name]


@case
def firing_and_resolved_on_a_full_disk():
    """A small tmpfs filled past disk.high by files nobody may sweep yet (younger than
    min_age): alert_command gets firing with the alarm's labels, summary and startsAt;
    the files removed, it gets resolved with endsAt."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    fs = os.path.join(root, "fs")
    os.makedirs(fs)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", fs], check=True)
    try:
        os.makedirs(os.path.join(fs, "z"))
        rec = Recorder(root)
        d = Daemon(root=root, start=False, zones=[{"name": "z", "path": "fs/z", "min_age": '"1h"'}],
                   extra=f'alert_command = "{rec.path}";\ndisk = {{ high = "60%"; low = "40%"; }};')
        try:
            d.start()
            for i in range(6):  # 6M of 8M: 75%, all young
                write(os.path.join(fs, "z", f"young{i}.bin"), os.urandom(1024 * 1024))
            d.settle()
            al = alarms(d, "disk_high")
            check(len(al) == 1, f"disk_high holds: {d.status()['alarms']}")
            runs = wait_for(lambda: rec.starts("disk_high"), "the firing run")
            equal(len(runs), 1, "one run")
            r = runs[0]
            equal(r["status"], "firing", "SWEEPD_ALERT_STATUS")
            equal(len(r["alert"]), 1, "a list of one alert")
            a = r["alert"][0]
            equal(a["labels"], {"alertname": "disk_high", "mount": fs}, "labels")
            equal(a["annotations"], {"summary": al[0]["summary"]}, "annotations")
            check("above its high mark" in a["annotations"]["summary"], f"summary: {a}")
            equal(a["startsAt"], rfc3339(al[0]["since"]), "startsAt: the alarm's since")
            check("endsAt" not in a, f"no endsAt while firing: {a}")
            for i in range(6):
                os.unlink(os.path.join(fs, "z", f"young{i}.bin"))
            t0 = int(time.time())
            d.settle()
            equal(alarms(d, "disk_high"), [], "the alarm ended under the low mark")
            res = wait_for(lambda: rec.starts("disk_high", "resolved"), "the resolved run")
            b = res[0]["alert"][0]
            equal(b["labels"], a["labels"], "resolved: the same labels")
            equal(b["startsAt"], a["startsAt"], "resolved: the same startsAt")
            check(t0 - 1 <= datetime.strptime(b["endsAt"], "%Y-%m-%dT%H:%M:%SZ")
                  .replace(tzinfo=timezone.utc).timestamp() <= time.time() + 1,
                  f"endsAt is when it ended: {b}")
            wait_for(lambda: len(rec.ends()) == 2, "both runs finished")
            equal(metric(d, "sweepd_alert_runs_total"), 2, "runs counted")
            equal(metric(d, "sweepd_alert_failures_total"), 0, "no failures")
        finally:
            d.close()
    finally:
        subprocess.run(["umount", "-l", fs], check=False)
        subprocess.run(["rm", "-rf", root], check=False)


@case
def failing_and_hanging_commands_do_not_hurt():
    """A command that exits 1, then one that hangs (killed at the time limit, 3 s here
    through the test hook SWEEPD_ALERT_TIMEOUT_S): status answers at once all along, each
    failure is logged and counted, the hanging one and its process group are gone, and the
    next alarm still runs. (The limit is 3 s here so that "at once" means well under it on
    a loaded machine.)"""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    rec = Recorder(root)
    with environment(SWEEPD_ALERT_TIMEOUT_S="3"):
        d = Daemon(root=root, zones=[quota_zone()], extra=f'alert_command = "{rec.path}";')
    try:
        rec.mode("fail")
        w = Writer(d.path("z", "held"))
        d.settle()
        wait_for(lambda: metric(d, "sweepd_alert_failures_total") == 1, "the failure counted")
        check("exited with status 1" in d.logtext() and rec.path in d.logtext(),
              f"the failure logged with the command and why:\n{d.logtext()}")
        rec.mode("hang")
        w.close()
        d.settle()
        equal(alarms(d, "quota_unmet"), [], "the alarm ended")
        run = wait_for(lambda: rec.starts(status="resolved"), "the hanging run")[0]
        t0 = time.monotonic()
        d.status()
        check(time.monotonic() - t0 < 1.5, "status answers while the command hangs")
        wait_for(lambda: metric(d, "sweepd_alert_failures_total") == 2, "the kill counted",
                 timeout=30)
        check(not os.path.exists(f"/proc/{run['pid']}"), "the hanging command is gone")
        log = d.logtext()
        check("did not finish in 3 s: killed" in log, f"the kill logged:\n{log}")
        equal(log.count("alert quota_unmet"), 2, f"one line per failed run:\n{log}")
        rec.mode("ok")
        w = Writer(d.path("z", "again"))
        d.settle()
        wait_for(lambda: ("firing", "quota_unmet") in rec.ends(), "the next alarm's run")
        equal(metric(d, "sweepd_alert_runs_total"), 3, "three runs")
        equal(metric(d, "sweepd_alert_failures_total"), 2, "two failures")
        w.close()
        d.settle()
        wait_for(lambda: ("resolved", "quota_unmet") in rec.ends(), "resolved again")
    finally:
        d.close()


@case
def repeat_while_it_lasts():
    """alert_repeat = "1s": firing again each second while the alarm lasts, with no
    request to drive it; resolved at the end."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    rec = Recorder(root)
    d = Daemon(root=root, zones=[quota_zone()],
               extra=f'alert_command = "{rec.path}";\nalert_repeat = "1s";')
    try:
        w = Writer(d.path("z", "held"))
        d.settle()
        runs = wait_for(lambda: (lambda r: r if len(r) >= 3 else None)(
            rec.starts("quota_unmet", "firing")), "three firing runs", timeout=30)
        equal({json.dumps(r["alert"]) for r in runs[:3]}.__len__(), 1,
              "the same alert each time (same startsAt)")
        w.close()
        d.settle()
        wait_for(lambda: rec.starts("quota_unmet", "resolved"), "resolved")
    finally:
        d.close()


@case
def one_run_per_alarm_and_four_at_most():
    """A run that has not finished when its alarm ends: the resolved waits for it, never
    two runs of one alarm at once. Six alarms at once: four run, two wait, in order."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    rec = Recorder(root)
    zones = [quota_zone(f"z{i}", f"zone{i}") for i in range(6)]
    d = Daemon(root=root, zones=zones, extra=f'alert_command = "{rec.path}";')
    try:
        rec.mode("block")
        w = Writer(d.path("z0", "held"))
        d.settle()
        wait_for(lambda: rec.starts(), "the firing run started")
        w.close()
        d.settle()
        equal(alarms(d, "quota_unmet"), [], "ended while its run is going")
        nothing_more_for(lambda: len(rec.starts()) == 1, 0.5,
                         "the resolved waits for the firing run")
        open(rec.release, "w").close()
        wait_for(lambda: len(rec.ends()) == 2, "both runs, one after the other")
        equal([l[0] + " " + l[1] for l in rec.lines()],
              ["start firing", "end firing", "start resolved", "end resolved"], "in order")

        os.unlink(rec.release)
        os.unlink(rec.out)
        ws = [Writer(d.path(f"z{i}", "held")) for i in range(6)]
        d.settle()
        wait_for(lambda: len(rec.starts()) == 4, "four runs")
        nothing_more_for(lambda: len(rec.starts()) == 4, 0.5, "no fifth while four run")
        t0 = time.monotonic()
        d.status()
        check(time.monotonic() - t0 < 2, "status answers while four runs block")
        open(rec.release, "w").close()
        wait_for(lambda: len(rec.ends()) == 6, "the two waiting ran after")
        for x in ws:
            x.close()
        d.settle()
        wait_for(lambda: len(rec.starts(status="resolved")) == 6, "six resolved")
        equal(metric(d, "sweepd_alert_failures_total"), 0, "no failures")
    finally:
        if os.path.exists(rec.out):
            open(rec.release, "w").close()
        d.close()


@case
def reload_sends_nothing_again_and_a_removed_command_stops():
    """A reload (a new alert_repeat) re-sends no alarm already sent; a reload without
    alert_command: no run when the alarm ends."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    rec = Recorder(root)
    d = Daemon(root=root, zones=[quota_zone()], extra=f'alert_command = "{rec.path}";')
    try:
        w = Writer(d.path("z", "held"))
        d.settle()
        wait_for(lambda: rec.ends(), "the firing run")
        conf = open(d.conf).read()
        with open(d.conf, "w") as f:
            f.write(conf.replace(f'alert_command = "{rec.path}";',
                                 f'alert_command = "{rec.path}";\nalert_repeat = "1h";'))
        check(d.request({"cmd": "reload"})["ok"], "reload")
        d.settle()
        nothing_more_for(lambda: len(rec.starts()) == 1, 1.0, "nothing sent again on reload")
        with open(d.conf, "w") as f:
            f.write(conf.replace(f'alert_command = "{rec.path}";', ""))
        check(d.request({"cmd": "reload"})["ok"], "reload without alert_command")
        w.close()
        d.settle()
        equal(alarms(d, "quota_unmet"), [], "the alarm ended")
        nothing_more_for(lambda: len(rec.starts()) == 1, 1.0, "no run without a command")
        equal(metric(d, "sweepd_alert_runs_total"), 1, "one run in all")
    finally:
        d.close()


def gone(pid):
    """No such process, or only its zombie left for init to reap."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@case
def stop_while_a_run_hangs():
    """SIGTERM while a run hangs and another waits behind it: sweepd stops at once and
    cleanly (exit 0, nothing leaked under ASan), the hanging run gets SIGTERM, the waiting
    one never starts, and the log says so."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    rec = Recorder(root)
    d = Daemon(root=root, zones=[quota_zone()], extra=f'alert_command = "{rec.path}";')
    try:
        rec.mode("hang")
        w = Writer(d.path("z", "held"))
        d.settle()
        run = wait_for(lambda: rec.starts(), "the hanging run")[0]
        w.close()
        d.settle()  # its resolved waits behind the firing run
        t0 = time.monotonic()
        d.stop()
        check(time.monotonic() - t0 < 5, "the stop waits for no alert run")
        check("1 alert_command run(s) still going sent SIGTERM, 1 not yet started dropped"
              in d.logtext(), f"said at stop:\n{d.logtext()}")
        wait_for(lambda: gone(run["pid"]), "the hanging run gone")
        equal(len(rec.starts()), 1, "the waiting run never started")
    finally:
        d.close()


@case
def watch_limit_alarm_while_watches_run_out():
    """Past the inotify watch limit, watch_limit holds and says how many directories are
    unwatched and what to do; once the limit is raised, it ends, and alert_command heard
    both. The limit is lowered for sweepd alone: it runs in a user namespace of its own,
    whose user.max_inotify_watches counts only its own watches (the machine's
    fs.inotify.max_user_watches, shared by everyone, is left alone)."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    rec = Recorder(root)
    wrapper = os.path.join(root, "sweepd-in-userns")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec unshare -U --map-root-user sh -c "
                "'echo 10 > /proc/sys/user/max_inotify_watches && exec \"$0\" \"$@\"' "
                f"{os.path.abspath(harness.SWEEPD)} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    d = Daemon(root=root, start=False, extra=f'alert_command = "{rec.path}";')
    for i in range(30):
        write(os.path.join(d.path(), f"d{i}", "sub", "f"), b"x")
    real = harness.SWEEPD
    harness.SWEEPD = wrapper
    try:
        d.start()
    finally:
        harness.SWEEPD = real
    try:
        d.settle()
        al = alarms(d, "watch_limit")
        check(len(al) == 1, f"watch_limit holds: {d.status()['alarms']}; log:\n{d.logtext()}")
        s = al[0]["summary"]
        n = int(s.split()[0])
        check(40 <= n <= 61, f"most of the 61 directories unwatched: {s}")
        check("fs.inotify.max_user_watches" in s and "sysctl" in s, f"what to do: {s}")
        fired = wait_for(lambda: rec.starts("watch_limit", "firing"), "watch_limit sent")
        equal(fired[0]["alert"][0]["labels"], {"alertname": "watch_limit"}, "labels")
        # Changes in unwatched directories are still seen.
        write(os.path.join(d.path(), "d7", "sub", "late"), b"late")
        d.expect_matches_disk(what="with few watches")
        subprocess.run(["nsenter", "-t", str(d.proc.pid), "-U", "sh", "-c",
                        "echo 100000 > /proc/sys/user/max_inotify_watches"], check=True)
        d.settle()
        equal(alarms(d, "watch_limit"), [], "the alarm ended once every directory is watched")
        wait_for(lambda: rec.starts("watch_limit", "resolved"), "watch_limit resolved")
    finally:
        d.close()


def http_get(url):
    with urllib.request.urlopen(url, timeout=WAIT) as r:
        return r.read()


def up(url):
    try:
        http_get(url)
        return True
    except OSError:
        return False


@case
def alertmanager_script_against_alertmanager():
    """etc/alert.d/alertmanager as alert_command, its URL from an env file: Debian's
    Alertmanager shows the alert while the alarm lasts, and not once it is resolved."""
    am = "/usr/bin/prometheus-alertmanager"
    check(os.path.exists(am), "prometheus-alertmanager is installed (etc/install-deps.sh)")
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    port = free_port()
    conf = os.path.join(root, "am.yml")
    with open(conf, "w") as f:
        f.write('route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n')
    env_file = os.path.join(root, "alert.env")
    with open(env_file, "w") as f:
        f.write(f"ALERTMANAGER_URL=http://127.0.0.1:{port}/\n")
    proc = subprocess.Popen([am, f"--config.file={conf}", f"--storage.path={root}/am-data",
                             f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = None
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: up(base + "/-/ready"), "Alertmanager ready")
        with environment(SWEEPD_ALERT_ENV=env_file):
            d = Daemon(root=root, zones=[quota_zone()],
                       extra=f'alert_command = "{SCRIPTS}/alertmanager";')

        def ours():
            return [a for a in json.loads(http_get(base + "/api/v2/alerts"))
                    if a["labels"].get("alertname") == "quota_unmet"]

        w = Writer(d.path("z", "held"))
        d.settle()
        got = wait_for(ours, "the alert in Alertmanager")
        al = alarms(d, "quota_unmet")[0]
        equal(got[0]["labels"], {"alertname": "quota_unmet", "zone": "z"}, "labels")
        equal(got[0]["annotations"]["summary"], al["summary"], "summary")
        equal(got[0]["status"]["state"], "active", "active")
        equal(got[0]["startsAt"][:19], rfc3339(al["since"])[:19], "startsAt")
        w.close()
        d.settle()
        wait_for(lambda: not ours(), "the alert resolved in Alertmanager")
        equal(metric(d, "sweepd_alert_runs_total"), 2, "two runs")
        equal(metric(d, "sweepd_alert_failures_total"), 0, "curl succeeded each time")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(WAIT)
        if d:
            d.close()


def nginx_recorder(root):
    """nginx on a free port that logs each request's body: a front server (whose
    access_log has $request_body, which nginx fills only when it reads the body, here to
    proxy it) before a back server answering 200. Returns (process, url, log path)."""
    nginx = "/usr/sbin/nginx"
    check(os.path.exists(nginx), "nginx is installed (etc/install-deps.sh: nginx-light)")
    front, back = free_port(), free_port()
    log = os.path.join(root, "bodies.log")
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; master_process on; worker_processes 1; pid {root}/nginx.pid; user root;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
  log_format bodies escape=json '$request_method $uri $content_type $request_body';
  client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
  server {{ listen 127.0.0.1:{front};
    access_log {log} bodies;
    location / {{ proxy_pass http://127.0.0.1:{back}; }} }}
  server {{ listen 127.0.0.1:{back}; access_log off; location / {{ return 200 "ok\\n"; }} }}
}}
""")
    proc = subprocess.Popen([nginx, "-p", root, "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{front}"
    wait_for(lambda: up(url + "/ready"), "nginx listening")
    return proc, url, log


def posted(log, path):
    """The JSON bodies POSTed to path, as nginx logged them."""
    got = []
    if os.path.exists(log):
        with open(log) as f:
            for line in f:
                method, uri, ctype, body = line.rstrip("\n").split(" ", 3)
                if method == "POST" and uri == path:
                    equal(ctype, "application/json", "Content-Type")
                    # escape=json: the body as a JSON string's inside.
                    got.append(json.loads(json.loads('"' + body + '"')))
    return got


@case
def webhook_script_against_nginx():
    """etc/alert.d/webhook as alert_command: nginx receives {"text": ...} with the status,
    name, labels and summary; run by hand with a hostile summary, the body is still JSON
    that gives the text back."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    proc, url, log = nginx_recorder(root)
    d = None
    try:
        with environment(WEBHOOK_URL=url + "/hook", SWEEPD_ALERT_ENV="/nonexistent"):
            d = Daemon(root=root, zones=[quota_zone()],
                       extra=f'alert_command = "{SCRIPTS}/webhook";')
        w = Writer(d.path("z", "held"))
        d.settle()
        body = wait_for(lambda: posted(log, "/hook"), "the webhook's POST")[0]
        al = alarms(d, "quota_unmet")[0]
        equal(list(body), ["text"], "a generic {\"text\": ...} body")
        check(body["text"].startswith("[sweepd FIRING] quota_unmet (zone=z) on ")
              and body["text"].endswith(": " + al["summary"]), f"the text: {body}")
        w.close()
        d.settle()
        body = wait_for(lambda: posted(log, "/hook")[1:], "the resolved POST")[0]
        check(body["text"].startswith("[sweepd RESOLVED] quota_unmet"), f"resolved: {body}")

        hostile = 'quote " backslash \\ newline\n tab\t bell\x07 \u00e9\u4e2d'
        alert = [{"labels": {"alertname": "x\"y", "path": "/a\\b"},
                  "annotations": {"summary": hostile}, "startsAt": "2026-12-02T10:00:00Z"}]
        r = subprocess.run([f"{SCRIPTS}/webhook"], input=json.dumps(alert).encode(),
                           env=dict(os.environ, WEBHOOK_URL=url + "/by-hand",
                                    SWEEPD_ALERT_STATUS="firing",
                                    SWEEPD_ALERT_ENV="/nonexistent"),
                           capture_output=True, timeout=WAIT)
        equal(r.returncode, 0, f"the script by hand: {r.stderr!r}")
        body = wait_for(lambda: posted(log, "/by-hand"), "the hand-run POST")[0]
        check(body["text"].endswith(": " + hostile) and 'x"y (path=/a\\b)' in body["text"],
              f"every character back: {body!r}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if d:
            d.close()


@case
def mail_script_through_sendmail():
    """etc/alert.d/mail as alert_command with SENDMAIL a stand-in that keeps its input:
    one message per run, To: ALERT_MAIL_TO, the status and alarm in the subject, the
    summary and the alert in the body, sendmail called with -t."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    box = os.path.join(root, "mailbox")
    os.makedirs(box)
    fake = os.path.join(root, "sendmail")
    with open(fake, "w") as f:
        f.write(f'#!/bin/sh\nn=$(ls {box} | wc -l)\n'
                f'{{ echo "ARGS: $*"; cat; }} > {box}/tmp.$$ && mv {box}/tmp.$$ {box}/$n.msg\n')
    os.chmod(fake, 0o755)
    with environment(SENDMAIL=fake, ALERT_MAIL_TO="ops@example.org",
                     ALERT_MAIL_FROM="sweepd@example.org", SWEEPD_ALERT_ENV="/nonexistent"):
        d = Daemon(root=root, zones=[quota_zone()], extra=f'alert_command = "{SCRIPTS}/mail";')
    try:
        def mails():
            return sorted(p for p in os.listdir(box) if p.endswith(".msg"))

        w = Writer(d.path("z", "held"))
        d.settle()
        wait_for(mails, "a mail")
        al = alarms(d, "quota_unmet")[0]
        msg = open(os.path.join(box, mails()[0])).read()
        head, _, body = msg.partition("\n\n")
        check(head.startswith("ARGS: -t -oi\n"), f"sendmail -t: {head}")
        check("\nTo: ops@example.org\n" in head and "\nFrom: sweepd@example.org\n" in head,
              f"To and From: {head}")
        check("\nSubject: [sweepd FIRING] quota_unmet on " in head, f"subject: {head}")
        check(body.startswith(al["summary"] + "\n"), f"the summary first: {body}")
        alert = json.loads(body.split("takes it):\n", 1)[1])
        equal(alert[0]["labels"], {"alertname": "quota_unmet", "zone": "z"}, "the alert in it")
        w.close()
        d.settle()
        wait_for(lambda: len(mails()) == 2, "the resolved mail")
        check("Subject: [sweepd RESOLVED] quota_unmet" in
              open(os.path.join(box, "1.msg")).read(), "resolved subject")
        equal(metric(d, "sweepd_alert_failures_total"), 0, "no failures")
    finally:
        d.close()


@case
def alert_env_file_must_be_the_scripts_own():
    """The scripts source /etc/sweepd/alert.env as sweepd's user (root): one that others may
    change is refused, and nothing of it runs."""
    root = tempfile.mkdtemp(prefix="sweepd-e2e-")
    try:
        env_file = os.path.join(root, "alert.env")
        marker = os.path.join(root, "ran")
        with open(env_file, "w") as f:
            f.write(f"touch {marker}\nWEBHOOK_URL=http://127.0.0.1:9/\nALERT_MAIL_TO=x@y\n")
        os.chmod(env_file, 0o666)
        for script in ("alertmanager", "webhook", "mail"):
            r = subprocess.run([os.path.join(SCRIPTS, script)], input="[]", text=True,
                               capture_output=True, env=dict(os.environ, SWEEPD_ALERT_ENV=env_file))
            check(r.returncode != 0 and "refused" in r.stderr,
                  f"{script} with a world-writable env file: {r.returncode} {r.stderr}")
            check(not os.path.exists(marker), f"{script} sourced a file others may change")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
