#!/usr/bin/env python3
"""etc/sweepd.service with the installed paths: its sweepd (written /usr/local/bin/sweepd)
at BINDIR, its configuration (written /etc/sweepd/sweepd.conf) at SYSCONFDIR. Each must be
there to replace: a unit whose lines changed fails the build rather than install stale paths.
Usage: unit.py IN OUT BINDIR SYSCONFDIR"""
import sys

src, out, bindir, sysconfdir = sys.argv[1:5]
with open(src) as f:
    unit = f.read()
for old, new in (("/usr/local/bin/sweepd ", bindir + "/sweepd "),
                 ("/etc/sweepd/sweepd.conf", sysconfdir + "/sweepd/sweepd.conf")):
    if unit.count(old) != 2:
        sys.exit(f"{src}: expected {old.strip()} in ExecStartPre= and ExecStart=, "
                 f"found it {unit.count(old)} times")
    unit = unit.replace(old, new)
with open(out, "w") as f:
    f.write(unit)
