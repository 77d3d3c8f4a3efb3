"""Installing sweepd like a package (issue 15): `meson install` into a DESTDIR puts every
file in place, the unit verifies at its installed path, the man pages render without a
warning, the installed sweepd accepts the installed configuration; sweepctl's bash
completion against a live daemon. Run one: python3 test_install.py NAME."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import Daemon, check, equal, main, case, SWEEPD, SWEEPCTL

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
ENV = os.environ.get


def install(destdir):
    """meson install of the build the tests run from, into destdir."""
    r = subprocess.run([ENV("MESON", "meson"), "install", "-C", ENV("MESON_BUILD_ROOT"),
                        "--destdir", destdir, "--no-rebuild", "--quiet"],
                       capture_output=True, text=True)
    equal(r.returncode, 0, f"meson install:\n{r.stdout}{r.stderr}")


def help_words(cmd, pattern):
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return re.findall(pattern, out, re.M)


def config_keys():
    """Every key the configuration loader knows: its `keys[] = {...}` lists."""
    keys = set()
    for name in os.listdir(os.path.join(SRC, "src")):
        if name.startswith(("config", "cfgread")) and name.endswith(".c"):
            with open(os.path.join(SRC, "src", name)) as f:
                text = f.read()
            for body in re.findall(r"_?keys\[\] = \{(.*?)\}", text, re.S):
                keys.update(re.findall(r'"([a-z_]+)"', body))
    check(len(keys) > 40, f"the loader's key lists: {sorted(keys)}")
    return keys


def render(page):
    """The page as man shows it at 80 columns; any warning from man or groff fails."""
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    r = subprocess.run(["man", "--warnings=w", "-l", page], capture_output=True, text=True,
                       env=env)
    equal((r.returncode, r.stderr), (0, ""), f"man --warnings -l {page}")
    g = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True, text=True)
    equal((g.returncode, g.stdout + g.stderr), (0, ""), f"groff -man -ww -z {page}")
    return re.sub(r".\x08", "", r.stdout)


@case
def install_layout():
    """Every file under the prefix; the unit names the installed binary and config and
    keeps every line of etc/sweepd.service else; systemd-analyze verify on it where it
    was installed (the installed bin directory laid over the real one in a mount
    namespace of its own, so that ExecStart's binary is the installed one); each man page
    clean under man and groff and naming every option, key and command; the installed
    sweepd -t accepts the installed configuration; a second install keeps an edited one."""
    bindir, sysconfdir = ENV("SWEEPD_INSTALL_BINDIR"), ENV("SWEEPD_INSTALL_SYSCONFDIR")
    mandir, datadir = ENV("SWEEPD_INSTALL_MANDIR"), ENV("SWEEPD_INSTALL_DATADIR")
    unitdir = ENV("SWEEPD_INSTALL_UNITDIR")
    # Not under /tmp: the example's zips zone is /tmp, which may not hold the config.
    dest = tempfile.mkdtemp(prefix="sweepd-install-", dir="/var/tmp")
    try:
        t0 = time.monotonic()
        install(dest)
        print(f"  meson install: {time.monotonic() - t0:.1f}s")
        d = lambda p: dest + p  # noqa: E731
        want = {
            bindir + "/sweepd": 0o755, bindir + "/sweepctl": 0o755,
            unitdir + "/sweepd.service": 0o644,
            sysconfdir + "/sweepd/sweepd.conf": 0o644,
            datadir + "/doc/sweepd/sweepd.conf.example": 0o644,
            mandir + "/man8/sweepd.8": 0o644, mandir + "/man5/sweepd.conf.5": 0o644,
            mandir + "/man1/sweepctl.1": 0o644,
            datadir + "/bash-completion/completions/sweepctl": 0o644,
        }
        for path, mode in want.items():
            check(os.path.isfile(d(path)), f"{path} installed")
            equal(oct(os.stat(d(path)).st_mode & 0o777), oct(mode), f"mode of {path}")
        for src, path in (("etc/sweepd-server.conf", sysconfdir + "/sweepd/sweepd.conf"),
                          ("etc/sweepd-server.conf", datadir + "/doc/sweepd/sweepd.conf.example"),
                          ("etc/bash-completion/sweepctl",
                           datadir + "/bash-completion/completions/sweepctl")):
            with open(os.path.join(SRC, src), "rb") as a, open(d(path), "rb") as b:
                check(a.read() == b.read(), f"{path} is {src}")

        # The unit: the installed paths in both Exec lines, every other line as shipped.
        with open(os.path.join(SRC, "etc", "sweepd.service")) as f:
            shipped = f.read().splitlines()
        with open(d(unitdir + "/sweepd.service")) as f:
            unit = f.read().splitlines()
        conf = f"-c {sysconfdir}/sweepd/sweepd.conf"
        check(f"ExecStartPre={bindir}/sweepd --check-config {conf}" in unit, "\n".join(unit))
        check(f"ExecStart={bindir}/sweepd {conf}" in unit, "\n".join(unit))
        equal([l for l in unit if not l.startswith("ExecStart")],
              [l for l in shipped if not l.startswith("ExecStart")], "the unit's other lines")
        over = f"lowerdir={dest}{bindir}:{bindir}"
        r = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t overlay overlay -o "$1" "$2" && exec systemd-analyze verify "$3"', "sh",
             over, bindir, d(unitdir + "/sweepd.service")],
            capture_output=True, text=True)
        equal((r.returncode, r.stdout + r.stderr), (0, ""),
              "systemd-analyze verify on the installed unit")

        # The man pages: clean, and naming what the programs and the loader know.
        sweepd8 = render(d(mandir + "/man8/sweepd.8"))
        for opt in help_words([SWEEPD, "-h"], r"^\s+(?:-\w, )?(-[-\w]+)"):
            check(re.search(rf"(^|\s|, ){re.escape(opt)}\b", sweepd8, re.M),
                  f"sweepd(8) has {opt}")
        conf5 = render(d(mandir + "/man5/sweepd.conf.5"))
        for key in sorted(config_keys()):
            check(re.search(rf"\b{key}\b", conf5), f"sweepd.conf(5) has the key {key}")
        ctl1 = render(d(mandir + "/man1/sweepctl.1"))
        for cmd in help_words([SWEEPCTL, "-h"], r"^  ([a-z][a-z-]*) "):
            check(re.search(rf"^ {{7}}{re.escape(cmd)}\b", ctl1, re.M),
                  f"sweepctl(1) has the command {cmd}")
        for opt in help_words([SWEEPCTL, "-h"], r"^\s+(?:-\w, )?(--[\w-]+)"):
            check(opt in ctl1, f"sweepctl(1) has {opt}")

        # The installed programs on the installed configuration.
        r = subprocess.run([d(bindir + "/sweepd"), "-t", "-c", d(sysconfdir + "/sweepd/sweepd.conf")],
                           capture_output=True, text=True)
        equal((r.returncode, r.stdout), (0, "configuration OK\n"), f"sweepd -t:\n{r.stderr}")
        for line in r.stderr.splitlines():
            check(": warning: " in line and "does not exist (yet)" in line,
                  f"only missing zone directories may be warned about: {line}")
        r = subprocess.run([d(bindir + "/sweepctl"), "-h"], capture_output=True, text=True)
        check(r.returncode == 0 and "commands:" in r.stdout, r.stdout + r.stderr)

        # An admin's configuration survives the next install.
        with open(d(sysconfdir + "/sweepd/sweepd.conf"), "a") as f:
            f.write("# edited\n")
        install(dest)
        with open(d(sysconfdir + "/sweepd/sweepd.conf")) as f:
            check(f.read().endswith("# edited\n"), "a second install overwrote the config")
    finally:
        shutil.rmtree(dest)


COMPLETE = r"""
. "$1"
shift
c() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _sweepctl
      printf '%s\n' "${COMPREPLY[*]}"; }
"""


def complete(*lines):
    """Each line (the words of a command line, the last one being completed) through
    _sweepctl; returns what it offered for each, as one sorted list each."""
    script = COMPLETE + "".join(
        "c " + " ".join("'" + w.replace("'", "'\\''") + "'" for w in words) + "\n"
        for words in lines)
    r = subprocess.run(["bash", "-c", script, "bash",
                        os.path.join(SRC, "etc", "bash-completion", "sweepctl")],
                       capture_output=True, text=True, timeout=30)
    equal((r.returncode, r.stderr), (0, ""), "bash")
    return [sorted(l.split()) for l in r.stdout.split("\n")[:len(lines)]]


@case
def sweepctl_completion():
    """Commands as sweepctl -h lists them, options, zone names from the daemon on the
    socket that -s names, paths for restore and --to; a stopped daemon costs about the
    second of --timeout 1 and offers no zone."""
    d = Daemon(zones=[{"name": "outputs", "path": "out"}, {"name": "web-logs", "path": "wl"}])
    try:
        os.makedirs(os.path.join(d.root, "out", "sub"))
        ctl, s = os.path.abspath(SWEEPCTL), ["-s", d.sock]
        commands = subprocess.run([ctl, "-h"], capture_output=True, text=True).stdout
        commands = sorted(re.findall(r"^  ([a-z][a-z-]*) ", commands, re.M))
        got = complete([ctl, ""], [ctl, "re"], [ctl, "--j"],
                       [ctl, *s, "top", ""], [ctl, *s, "--json", "sweep", "w"],
                       [ctl, *s, "top", "outputs", ""], [ctl, *s, "top", "outputs", "--by", ""],
                       [ctl, *s, "top", "outputs", "-"], [ctl, *s, "reserve", ""],
                       [ctl, *s, "restore", d.root + "/o"],
                       [ctl, *s, "restore", "x", "--to", d.root + "/out/s"],
                       [ctl, "-s", d.root + "/sweepd.so"], [ctl, *s, "status", "-"])
        check("status" in commands and "restore" in commands, commands)
        equal(got[0], commands, "the commands")
        equal(got[1], sorted(c for c in commands if c.startswith("re")), "re...")
        equal(got[2], ["--json"], "--j")
        equal(got[3], ["outputs", "web-logs"], "top's zones, from the daemon")
        equal(got[4], ["web-logs"], "sweep's zones after --json")
        equal(got[5], [], "nothing after top's zone")
        equal(got[6], ["age", "size"], "--by")
        equal(got[7], ["--by", "--wide", "-h", "-n"], "top's options")
        equal(got[8], ["outputs", "web-logs"], "reserve's zones")
        equal(got[9], [d.root + "/out"], "restore's path")
        equal(got[10], [d.root + "/out/sub"], "--to's path")
        equal(got[11], [d.sock], "-s's path")
        equal(got[12], ["--wide", "-h"], "status's options")

        d.proc.send_signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            got = complete([ctl, *s, "top", ""])
            took = time.monotonic() - t0
        finally:
            d.proc.send_signal(signal.SIGCONT)
        equal(got[0], [], "zones of a stopped daemon")
        check(took < 5, f"completion took {took:.1f}s against a stopped daemon")
        equal(complete([ctl, "-s", d.root + "/none.sock", "top", ""])[0], [],
              "zones with no daemon")
    finally:
        d.close()


def source_copy(dest):
    """The source tree as a clone has it (git's tracked and unignored files), else the
    tree without its build directories."""
    r = subprocess.run(["git", "-C", SRC, "ls-files", "-co", "--exclude-standard", "-z"],
                       capture_output=True)
    if r.returncode == 0 and r.stdout:
        for name in r.stdout.decode().split("\0"):
            if name and os.path.lexists(os.path.join(SRC, name)):
                os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
                shutil.copy2(os.path.join(SRC, name), os.path.join(dest, name),
                             follow_symlinks=False)
    else:
        shutil.copytree(SRC, dest, symlinks=True, dirs_exist_ok=True,
                        ignore=lambda d, names: [n for n in names if d == SRC and
                                                 (n.startswith("build") or n in (".git", "demo"))])


@case
def debian_package():
    """dpkg-buildpackage -us -uc -b on a copy of the tree: the package holds every file
    meson installs under /usr (the unit where Debian 12's systemd looks, naming
    /usr/bin/sweepd), /etc/sweepd/sweepd.conf is a conffile, the maintainer scripts
    enable and start the unit, and the packaged unit verifies with the packaged binary."""
    tmp = tempfile.mkdtemp(prefix="sweepd-deb-", dir="/var/tmp")
    try:
        tree = os.path.join(tmp, "sweepd")
        source_copy(tree)
        t0 = time.monotonic()
        r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree,
                           capture_output=True, text=True)
        print(f"  dpkg-buildpackage: {time.monotonic() - t0:.1f}s")
        equal(r.returncode, 0, f"dpkg-buildpackage:\n{(r.stdout + r.stderr)[-4000:]}")
        debs = [n for n in os.listdir(tmp) if re.fullmatch(r"sweepd_[^_]+_[a-z0-9]+\.deb", n)]
        equal(len(debs), 1, f"one package: {os.listdir(tmp)}")
        deb = os.path.join(tmp, debs[0])
        root, ctl = os.path.join(tmp, "root"), os.path.join(tmp, "ctl")
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        subprocess.run(["dpkg-deb", "-e", deb, ctl], check=True)
        unitdir = subprocess.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"],
                                 capture_output=True, text=True).stdout.strip()
        for path in ("/usr/bin/sweepd", "/usr/bin/sweepctl", unitdir + "/sweepd.service",
                     "/etc/sweepd/sweepd.conf", "/usr/share/doc/sweepd/sweepd.conf.example",
                     "/usr/share/man/man8/sweepd.8.gz", "/usr/share/man/man5/sweepd.conf.5.gz",
                     "/usr/share/man/man1/sweepctl.1.gz",
                     "/usr/share/bash-completion/completions/sweepctl"):
            check(os.path.isfile(root + path), f"{path} in the package")
        with open(os.path.join(ctl, "conffiles")) as f:
            equal(f.read().split(), ["/etc/sweepd/sweepd.conf"], "conffiles")
        with open(os.path.join(ctl, "postinst")) as f:
            postinst = f.read()
        check("deb-systemd-helper enable 'sweepd.service'" in postinst, postinst)
        check(re.search(r"deb-systemd-invoke \S+ 'sweepd.service'", postinst) or
              "deb-systemd-invoke $_dh_action 'sweepd.service'" in postinst, postinst)
        with open(root + unitdir + "/sweepd.service") as f:
            unit = f.read()
        check("ExecStart=/usr/bin/sweepd -c /etc/sweepd/sweepd.conf\n" in unit, unit)
        r = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t overlay overlay -o "$1" /usr/bin && exec systemd-analyze verify "$2"',
             "sh", f"lowerdir={root}/usr/bin:/usr/bin", root + unitdir + "/sweepd.service"],
            capture_output=True, text=True)
        equal((r.returncode, r.stdout + r.stderr), (0, ""), "systemd-analyze verify")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
