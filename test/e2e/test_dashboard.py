"""The dashboard in a real browser (issue 14): Debian's Chromium, headless, loads the page
from a running sweepd; the test reads the rendered DOM, saves screenshots (phone and
desktop), and checks from Chromium's own network log that the page asked nothing of any
other host."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(__file__))
from harness import WAIT, Writer, case, check, equal, main, write  # noqa: E402
from test_http import Http  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = os.environ.get("SWEEPD_SHOTS", os.path.join(tempfile.gettempdir(), "sweepd-dashboard"))


class Dom(HTMLParser):
    """What the checks need of a DOM: each element's tag and attributes, the text of
    each section's table rows, every chart, every URL the page names."""

    def __init__(self, text):
        super().__init__()
        self.elements = []
        self.rows = {}
        self.section = None
        self.row = None
        self.cell = None
        self.urls = []
        self.text = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        for k in ("src", "href", "action", "formaction", "poster", "data"):
            if a.get(k):
                self.urls.append(a[k])
        if tag == "section":
            self.section = a.get("id")
        elif tag == "tr":
            self.row = []
        elif tag == "td" and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row:
                self.rows.setdefault(self.section, []).append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        self.text.append(data)

    def all(self, tag, **want):
        return [a for t, a in self.elements
                if t == tag and all(a.get(k) == v for k, v in want.items())]


def chromium(url, work, shot=None, size="1280,1600"):
    """The DOM after load (scripts run) and the page-initiated request URLs."""
    netlog = os.path.join(work, "netlog.json")
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-default-browser-check", f"--user-data-dir={work}/profile",
            # Nothing resolves but this machine: a page that asks elsewhere gets nothing.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--log-net-log={netlog}", f"--window-size={size}"]
    if shot:
        args.append(f"--screenshot={shot}")
    else:
        args.append("--dump-dom")
    r = subprocess.run(args + [url], capture_output=True, text=True, timeout=WAIT)
    check(r.returncode == 0, f"chromium failed ({r.returncode}): {r.stderr[-2000:]}")
    with open(netlog) as f:
        log = json.load(f)
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    asked = []
    for e in log["events"]:
        p = e.get("params") or {}
        if types.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in p:
            asked.append((p.get("initiator", ""), p["url"]))
    shutil.rmtree(f"{work}/profile", ignore_errors=True)
    os.unlink(netlog)
    return r.stdout, asked


def page_asked_elsewhere(asked, origin):
    """Requests the page made (its origin is their initiator) for another host."""
    return [u for i, u in asked if i == origin and urlsplit(u).hostname != "127.0.0.1"]


HOSTILE = '<img src=x onerror="document.title=1">.mp4'


@case
def dashboard_in_a_real_browser():
    """Zones with their counts, one chart per zone and per filesystem, the alarm, the
    latest actions with a hostile name shown as text; buttons only once logged in; the
    page fetches nothing from elsewhere; screenshots on a phone's and a desktop's width."""
    work = tempfile.mkdtemp(prefix="sweepd-chromium-")
    d = Http(users={"ops": "pw"},
             zones=[{"name": "outputs", "path": "outputs", "max_age": '"1h"',
                     "action": '"delete"'},
                    {"name": "uploads", "path": "uploads", "max_files": "1",
                     "action": '"delete"'}], start=False)
    writers = []
    try:
        os.makedirs(SHOTS, exist_ok=True)
        for i in range(3):
            write(d.path("outputs", f"video{i}.mp4"), b"v" * 1000 * (i + 1))
        # Files nobody may sweep: held open, two where one is allowed: quota_unmet.
        for i in range(2):
            writers.append(Writer(d.path("uploads", f"up{i}.wav")))
        # A due file with a hostile name (old before sweepd saw it written): deleted, so
        # the latest actions name it.
        write(d.path("outputs", HOSTILE), b"x")
        os.utime(d.path("outputs", HOSTILE), (1, 1))
        d.start()
        d.settle()
        check(not os.path.exists(d.path("outputs", HOSTILE)), "the hostile file was swept")
        equal(d.zone("outputs")["files"], 3, "outputs after the sweep")
        st = d.status()
        check(any(a["name"] == "quota_unmet" for a in st["alarms"]), f"alarm: {st['alarms']}")
        origin = f"http://127.0.0.1:{d.port}"

        text, asked = chromium(origin + "/", work)
        dom = Dom(text)
        zones = {z["name"]: r for z in st["zones"] for r in dom.rows.get("zones", [])
                 if r[0] == z["name"] + z["path"]}
        equal(sorted(zones), ["outputs", "uploads"], "zone rows")
        check(zones["outputs"][2].startswith("3 "), f"outputs files: {zones['outputs']}")
        check(zones["uploads"][2].startswith("2 of 1"), f"uploads files: {zones['uploads']}")
        charts = dom.all("svg", **{"class": "chart"})
        series = sorted(c.get("data-series") for c in charts)
        want = sorted([f"zone:{z['name']}" for z in st["zones"]] +
                      [f"fs:{f['mount']}" for f in st["filesystems"]])
        equal(series, want, "one chart per zone and per filesystem")
        alarms = " ".join(" ".join(r) for r in dom.rows.get("alarms", [])) + "".join(dom.text)
        check("quota_unmet" in alarms, "the alarm is on the page")
        # The hostile name is text, never an element.
        check(not dom.all("img"), f"an <img> element came from a file name: {dom.all('img')}")
        check(any(HOSTILE in t for t in dom.text), "the hostile name shown as text")
        check(not dom.all("button"), "no buttons without a user")
        check(any(a.get("href") == "/login" for a in dom.all("a")), "a log in link")
        for u in dom.urls:
            s = urlsplit(u)
            check(not s.netloc and s.scheme in ("", "data"), f"the page names {u}")
        equal(page_asked_elsewhere(asked, origin), [], "requests the page made elsewhere")
        check(any(u.startswith(origin) for _, u in asked), "the net log saw the page")

        text, asked = chromium(f"http://ops:pw@127.0.0.1:{d.port}/login", work)
        dom = Dom(text)
        cmds = sorted(b.get("data-cmd") for b in dom.all("button"))
        equal(cmds, ["pause", "rotate", "sweep"], "buttons once logged in")
        check(all(b.get("data-ask") for b in dom.all("button")), "each asks first")
        check("confirm(" in text, "the script asks for confirmation")
        equal(page_asked_elsewhere(asked, origin), [], "requests the page made elsewhere")

        for name, size in (("phone", "390,1600"), ("desktop", "1280,1600")):
            shot = os.path.join(SHOTS, f"dashboard-{name}.png")
            chromium(origin + "/", work, shot=shot, size=size)
            check(os.path.getsize(shot) > 10000, f"screenshot {shot}")
        print(f"screenshots in {SHOTS}")
    finally:
        for w in writers:
            w.close()
        d.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main("__main__")
