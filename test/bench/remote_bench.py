#!/usr/bin/env python3
"""The remote tier's benchmark: uploading 2 GB (16 files of 128 MiB) to a local radosgw
(test/tools/radosgw.py, objects in memory), side by side in one run, by

- sweepd: the files archived (a rename into an archive on their own filesystem) with
  keep 0s and compress off, then uploaded, each verified (SHA-256 of the file read first,
  a HEAD after) and journalled before its local copy goes; timed from the daemon's start
  to the last entry shown remote;
- `rclone copy` (Debian's rclone, provider Ceph) and
- `aws s3 cp --recursive` (Debian's awscli), from the same files, with their own defaults.

Each tool uploads into a bucket of its own, emptied after it (the OSD keeps objects in
memory). Usage (root): python3 test/bench/remote_bench.py [--runs N] [--dir DIR]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import make_videos, request, timed

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from radosgw import RadosGW, curl  # noqa: E402

BUILD = os.environ.get("SWEEPD_BUILD", os.path.join(HERE, "..", "..", "build"))
OLD = time.time() - 30 * 86400
FILES = 16


def bucket(s3, name):
    status, body = curl(s3, "PUT", "/" + name)
    if status != 200:
        sys.exit(f"bucket {name}: {status} {body[:200]}")
    return name


def empty(s3, name, env):
    """The bucket emptied and its data freed: the OSD holds objects in memory."""
    subprocess.run(["aws", "--endpoint-url", s3.endpoint, "s3", "rm", "--recursive", "--quiet",
                    f"s3://{name}/"], env=env, check=True)
    s3.collect_garbage()


def run_sweepd(s3, work, src, name):
    root = os.path.join(work, "sweepd")
    os.makedirs(root)
    zone = os.path.join(root, "zone")
    os.rename(src, zone)
    cred = os.path.join(root, "cred")
    with open(os.open(cred, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(f"[default]\naws_access_key_id = {s3.access_key}\n"
                f"aws_secret_access_key = {s3.secret_key}\n")
    sock = os.path.join(root, "s.sock")
    conf = os.path.join(root, "c.conf")
    with open(conf, "w") as f:
        f.write(f'state_dir = "{root}/state";\nsocket = {{ path = "{sock}"; }};\n'
                f'archive = {{ path = "{root}/archive"; keep = "0s"; compress = "off";\n'
                f'  remote = {{ endpoint = "{s3.endpoint}"; bucket = "{name}"; prefix = "b/";'
                f' credentials = "{cred}"; }}; }};\n'
                f'zones = ( {{ name = "v"; path = "{zone}"; max_age = "1d"; }} );\n')
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(BUILD, "sweepd"), "-c", conf], stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                es = request(sock, {"cmd": "archive"})["entries"]
                if len(es) == FILES and all(e["location"] == "remote" for e in es):
                    break
            except (FileNotFoundError, ConnectionError):
                pass
            time.sleep(0.05)
        t = time.monotonic() - t0
    finally:
        p.terminate()
        p.wait()
    os.makedirs(src)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--dir", default=None, help="where the files are made (default: a temp dir)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sweepd-rbench-", dir=a.dir)
    rgw_root = tempfile.mkdtemp(prefix="sweepd-rgw-")
    try:
        with RadosGW(rgw_root, memory_gib=4) as s3:
            # A CA bundle named in the environment makes rclone refuse a plain-http endpoint.
            env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
            env = dict(env, AWS_ACCESS_KEY_ID=s3.access_key,
                       AWS_SECRET_ACCESS_KEY=s3.secret_key, AWS_DEFAULT_REGION="us-east-1",
                       RCLONE_CONFIG_RGW_TYPE="s3", RCLONE_CONFIG_RGW_PROVIDER="Ceph",
                       RCLONE_CONFIG_RGW_ENDPOINT=s3.endpoint,
                       RCLONE_CONFIG_RGW_ACCESS_KEY_ID=s3.access_key,
                       RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY=s3.secret_key)
            times = {"sweepd": [], "rclone copy": [], "aws s3 cp": []}
            for r in range(a.runs):
                src = os.path.join(work, "src")
                make_videos(src, FILES, OLD)
                b = bucket(s3, f"rclone-{r}")
                times["rclone copy"].append(timed(["rclone", "copy", src, f"rgw:{b}/"], env=env,
                                                  stdout=subprocess.DEVNULL))
                empty(s3, b, env)
                b = bucket(s3, f"aws-{r}")
                times["aws s3 cp"].append(timed(["aws", "--endpoint-url", s3.endpoint, "s3", "cp",
                                                 "--recursive", "--quiet", src, f"s3://{b}/"],
                                                env=env, stdout=subprocess.DEVNULL))
                empty(s3, b, env)
                b = bucket(s3, f"sweepd-{r}")
                times["sweepd"].append(run_sweepd(s3, os.path.join(work, f"run{r}"), src, b))
                empty(s3, b, env)
                shutil.rmtree(src)
                shutil.rmtree(os.path.join(work, f"run{r}"))
            best = min(statistics.median(times["rclone copy"]), statistics.median(times["aws s3 cp"]))
            print(f"upload of {FILES} x 128 MiB to radosgw on 127.0.0.1, {a.runs} run(s), median s:")
            for k, v in times.items():
                m = statistics.median(v)
                print(f"  {k:12s} {m:6.2f} s  {FILES * 128 / m:6.0f} MiB/s  "
                      f"({m / best:.2f}x the faster tool)  runs: {', '.join(f'{x:.2f}' for x in v)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(rgw_root, ignore_errors=True)


if __name__ == "__main__":
    main()
