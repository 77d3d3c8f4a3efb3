"""The S3 client (src/s3.c) against a real S3 server: a Ceph radosgw started here
(test/tools/radosgw.py), a bucket made, two multipart uploads started by hand with curl's
own SigV4 signing for s3_abort_leftovers to find, then test/tools/s3check, whose checks
print a line each. radosgw that does not come up is a failure, never a skip.
Run one: python3 test_s3client.py NAME."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import case, check, equal, main

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from radosgw import RadosGW, curl  # noqa: E402

S3CHECK = os.environ.get("S3CHECK_BIN", "build/test/s3check")
BUCKET = "s3check"
HAND = ["hand/one", "hand/two words+x"]


def start_upload(s3, key):
    """POST ?uploads= by curl: an upload left as a crash would leave it."""
    path = "/" + BUCKET + "/" + "".join(
        c if c.isalnum() or c in "-._~/" else f"%{ord(c):02X}" for c in key)
    status, body = curl(s3, "POST", path + "?uploads=")
    equal(status, 200, f"upload of {key!r} started: {body[:300]}")
    check(re.search(r"<UploadId>[^<]+</UploadId>", body), f"an UploadId: {body[:300]}")


@case
def s3_client():
    """Every s3check check passes against radosgw; afterwards, seen by curl rather than
    by the client itself, no multipart upload is left in the bucket (the cancelled one and
    the ones started by hand were aborted)."""
    root = tempfile.mkdtemp(prefix="sweepd-s3-")
    try:
        with RadosGW(root) as s3:
            status, body = curl(s3, "PUT", "/" + BUCKET)
            equal(status, 200, f"bucket made: {body[:300]}")
            for key in HAND:
                start_upload(s3, key)
            env = dict(os.environ, AWS_ACCESS_KEY_ID=s3.access_key,
                       AWS_SECRET_ACCESS_KEY=s3.secret_key)
            env.pop("AWS_SESSION_TOKEN", None)
            p = subprocess.run([S3CHECK, s3.endpoint, BUCKET, "hand/", str(len(HAND))],
                               env=env, capture_output=True, text=True, timeout=240)
            sys.stdout.write(p.stdout)
            sys.stdout.write(p.stderr)
            check(s3.secret_key not in p.stdout + p.stderr, "the secret is never printed")
            equal(p.returncode, 0, "s3check's exit status")
            check(p.stdout.rstrip().endswith("all passed"), "s3check ran to its end")
            status, body = curl(s3, "GET", "/" + BUCKET + "?uploads=")
            equal(status, 200, f"uploads listed: {body[:300]}")
            equal(re.findall(r"<Key>([^<]*)</Key>", body), [], "uploads left")
            status, body = curl(s3, "HEAD", "/" + BUCKET + "/big/file", "-I")
            equal(status, 200, "the 40 MiB object is there, seen by curl")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
