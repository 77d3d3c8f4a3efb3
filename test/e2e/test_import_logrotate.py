"""sweepctl import-logrotate (issue 15) on real logrotate files: those Debian ships
for nginx, rsyslog and apt, /etc/logrotate.conf with its include of /etc/logrotate.d,
and logrotate versions of the README's rotation examples. Every output must be taken
by sweepd -t. Run one: python3 test_import_logrotate.py NAME; all: no argument."""

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import case, check, equal, main

SWEEPD = os.environ.get("SWEEPD_BIN", "build/sweepd")
SWEEPCTL = os.environ.get("SWEEPCTL_BIN", "build/sweepctl")


def imported(*files):
    r = subprocess.run([SWEEPCTL, "import-logrotate", *files], capture_output=True, text=True,
                       timeout=30)
    equal(r.returncode, 0, f"import-logrotate {files}: {r.stderr}")
    return r.stdout


def accepted(out):
    """sweepd -t on a minimal config around out: zone paths not there are only warnings."""
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "sweepd.conf")
        with open(conf, "w") as f:
            f.write(f'state_dir = "{d}/state";\nsocket = {{ path = "{d}/sweepd.sock"; }};\n')
            f.write(out)
        r = subprocess.run([SWEEPD, "-t", "-c", conf], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "configuration OK" in r.stdout,
              f"sweepd -t refused it: {r.stdout}{r.stderr}\n--- the config:\n{out}")


def has(out, *parts):
    for p in parts:
        check(p in out, f"no {p!r} in:\n{out}")


def tmpdir():
    d = tempfile.mkdtemp(prefix="lrimport.")
    atexit.register(shutil.rmtree, d, True)
    return d


def real(name):
    """A copy of Debian's /etc/logrotate.d/NAME (never touched in /etc)."""
    src = "/etc/logrotate.d/" + name
    check(os.path.exists(src), f"{src} missing: sh etc/install-deps.sh installs its package")
    d = tmpdir()
    shutil.copy(src, d)
    return os.path.join(d, name)


@case
def debian_nginx():
    out = imported(real("nginx"))
    accepted(out)
    has(out, 'path = "/var/log/nginx"; recursive = false;', 'include = [ "*.log" ];',
        'every = "1d";', "keep = 14;", 'compress = "zstd";', 'method = "rename";',
        '      create = { mode = "0640"; owner = "www-data"; group = "adm"; };',
        '"invoke-rc.d nginx rotate >/dev/null 2>&1";', "      prerotate =\n",
        "# sharedscripts:", "# delaycompress:")
    # Its prerotate, as sweepd will hand it to /bin/sh -c, is a script sh can read (its
    # last line ends in a backslash: the newline after it must be kept).
    m = re.search(r"\n      prerotate =\n((?:        \".*\"\n)*?        \".*\");\n", out)
    check(m, f"a prerotate in:\n{out}")
    script = "".join(json.loads(line.strip()) for line in m.group(1).split("\n"))
    r = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True)
    equal((r.returncode, r.stderr), (0, ""), f"sh -n on the prerotate {script!r}")


@case
def debian_rsyslog():
    out = imported(real("rsyslog"))
    accepted(out)
    has(out, 'path = "/var/log"; recursive = false;',
        'include = [ "syslog", "mail.log", "kern.log", "auth.log", "user.log", "cron.log" ];',
        'every = "7d";', "keep = 4;", 'method = "rename";', '"/usr/lib/rsyslog/rsyslog-rotate";')


@case
def debian_apt():
    out = imported(real("apt"))
    accepted(out)
    # Two blocks with the same rules in one directory: one zone.
    has(out, 'include = [ "term.log", "history.log" ];', 'every = "30d";', "keep = 12;",
        'method = "auto";')
    equal(out.count("{ name ="), 1, "zones")


@case
def debian_logrotate_conf_with_its_include():
    d = tmpdir()
    shutil.copytree("/etc/logrotate.d", os.path.join(d, "logrotate.d"))
    with open("/etc/logrotate.conf") as f:
        text = f.read()
    check("include /etc/logrotate.d" in text, "Debian's logrotate.conf includes /etc/logrotate.d")
    with open(os.path.join(d, "logrotate.conf"), "w") as f:
        f.write(text.replace("include /etc/logrotate.d", f"include {d}/logrotate.d"))
    # What logrotate skips in an included directory, import-logrotate skips too.
    for skipped in ("nginx.dpkg-old", "nginx.dpkg-dist", "nginx.dpkg-new", "nginx~", "x.rpmsave"):
        with open(os.path.join(d, "logrotate.d", skipped), "w") as f:
            f.write("/srv/skipped/%s.log { daily }\n" % skipped.replace("~", "_"))
    out = imported(os.path.join(d, "logrotate.conf"))
    accepted(out)
    check("/srv/skipped" not in out, f"a skipped file was read:\n{out}")
    has(out, 'path = "/var/log/nginx"', 'path = "/var/log/apt"')
    # The top-level "weekly", "rotate 4" and "create" came before the include: they apply.
    # /var/log (rsyslog, dpkg, ...) overlaps the deeper zones: commented out, with why.
    has(out, "# Not carried over: /var/log overlaps zone")


@case
def readme_examples_as_logrotate_files():
    """The README's rotation example (zone "logs") and the contract's "weblogs", as an
    admin would have written them for logrotate."""
    d = tmpdir()
    logs = os.path.join(d, "heygem")
    with open(logs, "w") as f:
        f.write("/srv/heygem/logs/*.log {\n\tdaily\n\tmaxsize 100M\n\trotate 10\n\tmaxage 30\n"
                "\tcompress\n\tmissingok\n\tnotifempty\n}\n")
    web = os.path.join(d, "weblogs")
    with open(web, "w") as f:
        f.write("/var/log/nginx/access.log {\n\tsize 100M\n\trotate 10\n"
                "\tcreate 0640 www-data adm\n\tpostrotate\n"
                "\t\t[ -s /run/nginx.pid ] && kill -USR1 $(cat /run/nginx.pid)\n"
                "\tendscript\n}\n"
                "/var/log/nginx/*.log {\n\tdaily\n\trotate 30\n}\n")
    out = imported(logs)
    accepted(out)
    has(out, 'path = "/srv/heygem/logs"', 'include = [ "*.log" ];', 'every = "1d";',
        'size = "100M";', "keep = 10;", 'max_age = "30d";', 'compress = "zstd";',
        'method = "auto";')
    out = imported(web)
    accepted(out)
    # The contract's "weblogs": two blocks on one directory, one zone with two groups.
    has(out, 'include = [ "access.log", "*.log" ];', '{ include = [ "access.log" ];',
        'size = "100M";', 'method = "rename";',
        '"[ -s /run/nginx.pid ] && kill -USR1 $(cat /run/nginx.pid)";',
        '      create = { mode = "0640"; owner = "www-data"; group = "adm"; };',
        '{ include = [ "*.log" ];', 'keep = 30;')
    equal(out.count("\n  { name ="), 1, "one zone")
    out = imported(logs, web)
    accepted(out)
    equal(out.count("\n  { name ="), 2, "zones")


@case
def cli_errors():
    r = subprocess.run([SWEEPCTL, "import-logrotate"], capture_output=True, text=True, timeout=30)
    equal(r.returncode, 1, "no file")
    check("needs at least one file" in r.stderr, r.stderr)
    r = subprocess.run([SWEEPCTL, "import-logrotate", "/nonexistent/lr.conf"],
                       capture_output=True, text=True, timeout=30)
    equal(r.returncode, 1, "a missing file")
    check("/nonexistent/lr.conf" in r.stderr, r.stderr)
    r = subprocess.run([SWEEPCTL, "import-logrotate", "-h"], capture_output=True, text=True,
                       timeout=30)
    equal(r.returncode, 0, "-h")
    check("logrotate" in r.stdout, r.stdout)
    # No daemon, no socket needed.
    r = subprocess.run([SWEEPCTL, "-s", "/nonexistent.sock", "import-logrotate",
                        real("apt")], capture_output=True, text=True, timeout=30)
    equal(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    main()
