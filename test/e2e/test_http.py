"""The HTTP server (issue 14): the API against the socket's answers, auth, TLS, and hostile
clients, on a real sweepd over real TCP."""

import base64
import json
import re
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
from harness import (WAIT, Daemon, Failure, Writer, case, check, equal, free_port, main,  # noqa: E402
                     write)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # noqa: E402  (libcrypt's bcrypt, as sweepd's own)


def bcrypt(password):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 5))


class Http(Daemon):
    """A sweepd with an http group; talks HTTP/1.1 to it over plain sockets."""

    def __init__(self, users=None, read_auth=False, tls=None, listen=None, hashes=None, **kw):
        self.port = free_port()
        self.listen = listen or f"127.0.0.1:{self.port}"
        http = f'listen = "{self.listen}";'
        hashes = dict(hashes or {})
        hashes.update({u: bcrypt(p) for u, p in (users or {}).items()})
        if hashes:
            http += " basic_auth_users = { " + " ".join(
                f'{u} = "{h}";' for u, h in hashes.items()) + " };"
        if read_auth:
            http += " read_auth = true;"
        if tls:
            http += f' tls = {{ cert_file = "{tls[0]}"; key_file = "{tls[1]}"; }};'
        self.tls_ca = tls[0] if tls else None
        extra = kw.pop("extra", "") + f"\nhttp = {{ {http} }};\n"
        super().__init__(extra=extra, **kw)

    def connect(self, source=None):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT,
                                     source_address=(source, 0) if source else None)
        if self.tls_ca:
            ctx = ssl.create_default_context(cafile=self.tls_ca)
            s = ctx.wrap_socket(s, server_hostname="localhost")
        return s

    def http(self, method, path, body=None, user=None, headers=None, source=None):
        """(status, headers dict with lower-case names, body bytes)."""
        h = {"Host": f"127.0.0.1:{self.port}", "Connection": "close"}
        if user:
            h["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
        if body is not None:
            body = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Length"] = str(len(body))
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        req = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
        with self.connect(source) as s:
            s.sendall(req.encode() + b"\r\n" + (body or b""))
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        check(lines and lines[0].startswith("HTTP/1.1 "), f"not an HTTP answer: {data[:200]!r}")
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        return status, hdrs, rest

    def wait_serving(self, port, what):
        """Polls (a settle between tries) until port answers status; it becomes self.port."""
        self.port = port
        deadline = time.monotonic() + WAIT
        while True:
            try:
                equal(self.api("GET", "/api/v1/status")[0], 200, what)
                return
            except (ConnectionRefusedError, Failure):
                check(time.monotonic() < deadline, f"never: {what}")
                self.settle()

    def api(self, method, path, body=None, user=None, headers=None):
        status, hdrs, rest = self.http(method, path, body, user, headers)
        check(hdrs.get("content-type", "").startswith("application/json"),
              f"{method} {path}: content type {hdrs.get('content-type')}")
        return status, json.loads(rest)


def same_status(a, b, what):
    """Two status replies agree but for what moves on its own."""
    for k in ("zones", "archive", "alarms"):
        za = [{x: v for x, v in z.items() if x not in ("trend",)} for z in a[k]] \
            if isinstance(a[k], list) else a[k]
        zb = [{x: v for x, v in z.items() if x not in ("trend",)} for z in b[k]] \
            if isinstance(b[k], list) else b[k]
        equal(za, zb, f"{what}: {k}")


@case
def api_answers_as_the_socket_does():
    """GET /api/v1/CMD is the socket's reply; codes 200/400/404/405; /metrics as text."""
    d = Http(zones=[{"name": "z", "path": "zone"}, {"name": "2024", "path": "y"}])
    try:
        write(d.path("z", "a.bin"), b"a" * 1000)
        write(d.path("z", "b.bin"), b"b" * 3000)
        d.settle()
        st, got = d.api("GET", "/api/v1/status")
        equal(st, 200, "status code")
        same_status(got, d.status(), "status over HTTP and over the socket")
        st, got = d.api("GET", "/api/v1/top?zone=z&n=1&by=size")
        equal(st, 200, "top code")
        equal(got, d.request({"cmd": "top", "zone": "z", "n": 1, "by": "size"}), "top")
        equal(got["files"][0]["path"], d.path("z", "b.bin"), "top's largest")
        # A zone whose name is a number stays a name.
        st, got = d.api("GET", "/api/v1/top?zone=2024")
        equal((st, got["ok"]), (200, True), f"top of zone 2024: {got}")
        st, got = d.api("GET", "/api/v1/archive")
        equal(got, d.request({"cmd": "archive"}), "archive")
        st, got = d.api("GET", "/api/v1/top?zone=nope")
        equal(st, 400, f"unknown zone: {got}")
        check(not got["ok"] and "nope" in got["error"], f"error names the zone: {got}")
        st, got = d.api("GET", "/api/v1/top?zone=z&n=-3")
        equal(st, 400, "bad number")
        st, got = d.api("GET", "/api/v1/frobnicate")
        equal((st, got["ok"]), (404, False), "unknown command")
        st, got = d.api("GET", "/api/v1/top?cmd=status")
        equal(st, 400, "cmd that is not the path's")
        st, hdrs, _ = d.http("GET", "/api/v1/pause")
        equal((st, hdrs.get("allow")), (405, "POST"), "admin command with GET")
        st, got = d.api("GET", "/nothing/here")
        equal(st, 404, "unknown path")
        st, hdrs, _ = d.http("DELETE", "/api/v1/status")
        equal((st, hdrs.get("allow")), (405, "GET, HEAD, POST"), "DELETE on the API")
        st, hdrs, _ = d.http("PUT", "/metrics")
        equal((st, hdrs.get("allow")), (405, "GET, HEAD"), "PUT on /metrics")
        st, hdrs, _ = d.http("POST", "/")
        equal((st, hdrs.get("allow")), (405, "GET, HEAD"), "POST on the page")
        # A NUL would cut a value short without a word: refused.
        st, got = d.api("GET", "/api/v1/top?zone=z%00evil")
        equal(st, 400, f"a NUL in a query value: {got}")
        st, got = d.api("POST", "/api/v1/sweep", b'{"dry_run":true}\x00garbage')
        equal(st, 400, f"a NUL in the body: {got}")
        # A dry-run sweep changes nothing: anyone may ask, with GET too.
        st, got = d.api("GET", "/api/v1/sweep?dry_run=true")
        equal((st, got["ok"], got.get("dry_run")), (200, True, True), f"dry-run sweep: {got}")
        # A request that waits (settle) is answered once the daemon has.
        st, got = d.api("GET", "/api/v1/settle")
        equal((st, got), (200, {"ok": True}), "settle")
        st, hdrs, text = d.http("GET", "/metrics")
        equal(st, 200, "metrics code")
        equal(hdrs["content-type"].split(";")[:2], ["text/plain", " version=0.0.4"],
              "metrics content type")
        want = d.request({"cmd": "metrics"})["text"]
        check(b"sweepd_zone_files{zone=\"z\"} 2" in text, f"metrics:\n{text[:2000]!r}")
        equal([ln for ln in text.decode().splitlines() if ln.startswith("# TYPE")],
              [ln for ln in want.splitlines() if ln.startswith("# TYPE")], "metric families")
        st, hdrs, page = d.http("GET", "/")
        equal(st, 200, "dashboard")
        check(hdrs["content-type"].startswith("text/html"), "dashboard is HTML")
        check("default-src 'none'" in hdrs.get("content-security-policy", ""),
              "the page may load nothing from elsewhere")
        st, hdrs, _ = d.http("HEAD", "/api/v1/status")
        equal(st, 200, "HEAD")
        # A page of another site whose name resolves here (DNS rebinding) reads nothing.
        st, got = d.api("GET", "/api/v1/status", headers={"Host": f"evil.example:{d.port}"})
        equal(st, 421, f"a foreign Host on a loopback listener: {got}")
        equal(d.api("GET", "/api/v1/status", headers={"Host": f"localhost:{d.port}"})[0], 200,
              "Host localhost")
    finally:
        d.close()


@case
def auth_users_passwords_and_read_auth():
    """No users: admin 403. Wrong password 401 with WWW-Authenticate; right one 200 and the
    action done; read_auth; /login; another site's page refused."""
    d = Http()
    try:
        st, got = d.api("POST", "/api/v1/pause", {})
        equal(st, 403, f"admin request without any user configured: {got}")
        check("basic_auth_users" in got["error"], f"the error says what to configure: {got}")
        st, _ = d.api("GET", "/api/v1/status")
        equal(st, 200, "reading needs nobody")
        equal(d.api("GET", "/login")[0], 403, "/login without users")
    finally:
        d.close()
    d = Http(users={"ops": "s3cret pass", "ci": "other"})
    try:
        st, hdrs, body = d.http("POST", "/api/v1/pause", {})
        equal(st, 401, "admin request without a user")
        check(hdrs.get("www-authenticate", "").startswith("Basic realm="), f"challenge: {hdrs}")
        st, hdrs, body = d.http("POST", "/api/v1/pause", {}, user="ops:wrong")
        equal(st, 401, "wrong password")
        check("www-authenticate" in hdrs, "challenge on a wrong password")
        st, _, _ = d.http("POST", "/api/v1/pause", {}, user="nobody:s3cret pass")
        equal(st, 401, "unknown user")
        st, _, _ = d.http("POST", "/api/v1/pause", {}, user="ci:s3cret pass")
        equal(st, 401, "another user's password")
        equal(d.status()["paused"], False, "nothing done on a refusal")
        st, got = d.api("POST", "/api/v1/pause", {}, user="ops:s3cret pass")
        equal((st, got), (200, {"ok": True}), "pause with the right password")
        equal(d.status()["paused"], True, "paused over HTTP")
        # Twice: the second answer comes from what was remembered, and is the same.
        st, got = d.api("POST", "/api/v1/resume", b"", user="ops:s3cret pass")
        equal((st, got), (200, {"ok": True}), "resume, empty body")
        equal(d.status()["paused"], False, "resumed")
        check("resumed by HTTP user ops" in d.logtext(), "the log says who")
        st, got = d.api("POST", "/api/v1/sweep", {"zone": "z"}, user="ops:s3cret pass")
        equal(st, 200, f"sweep over HTTP: {got}")
        check("sweep asked by HTTP user ops" in d.logtext(), "the log names who swept")
        check("wrong password(s)" in d.logtext() and 'for user "ops" from 127.0.0.1' in d.logtext(),
              f"wrong passwords are logged:\n{d.logtext()[-1500:]}")
        st, got = d.api("POST", "/api/v1/pause", {"cmd": "resume"}, user="ops:s3cret pass")
        equal(st, 400, "body cmd differs from the path")
        st, got = d.api("POST", "/api/v1/pause", b"[1,2]", user="ops:s3cret pass")
        equal(st, 400, "body not an object")
        st, got = d.api("POST", "/api/v1/pause", b"{\"a\":", user="ops:s3cret pass")
        equal(st, 400, "body cut short")
        # Another site's page, in a browser holding the password, may not act.
        st, got = d.api("POST", "/api/v1/pause", {}, user="ops:s3cret pass",
                        headers={"Origin": "http://evil.example"})
        equal(st, 403, f"cross-site POST: {got}")
        st, got = d.api("POST", "/api/v1/pause", {}, user="ops:s3cret pass",
                        headers={"Origin": f"http://127.0.0.1:{d.port}"})
        equal(st, 200, "same-site POST (the dashboard's buttons)")
        d.request({"cmd": "resume"})
        # Reading: open, but a wrong password is still refused.
        equal(d.api("GET", "/api/v1/status")[0], 200, "reading without a user")
        equal(d.api("GET", "/api/v1/status", user="ops:bad")[0], 401, "reading, wrong password")
        st, hdrs, _ = d.http("GET", "/login")
        equal(st, 401, "/login asks")
        st, hdrs, page = d.http("GET", "/login", user="ops:s3cret pass")
        equal(st, 200, "/login with a user")
        check(b"<button" in page, "/login with a user: the page with its buttons")
        st, hdrs, page = d.http("GET", "/")
        check(b"<button" not in page, "/ without a user: no buttons")
        # A restore outside the zones is root's over the socket only.
        st, got = d.api("POST", "/api/v1/restore", {"path": "/etc/x", "to": "/etc/passwd"},
                        user="ops:s3cret pass")
        equal(st, 400, f"restore by an HTTP user: {got}")
        wrong = d.status()["counters"]["http_wrong_passwords"]
        check(wrong >= 4, f"wrong passwords counted: {wrong}")
        # The first is said at once; the rest of the minute's when it ends, or at the stop.
        d.stop()
        check(re.search(r"\d+ wrong password\(s\) in the last minute", d.logtext()),
              f"the minute's other wrong passwords said at the stop:\n{d.logtext()[-1500:]}")
    finally:
        d.close()
    # sweepctl hash-password makes what the daemon takes.
    made = subprocess.run([os.environ.get("SWEEPCTL_BIN", "build/sweepctl"), "hash-password"],
                          input="from sweepctl\n", capture_output=True, text=True)
    equal(made.returncode, 0, f"hash-password: {made.stderr}")
    check(made.stdout.startswith("$2y$10$") and len(made.stdout.strip()) == 60,
          f"hash-password prints a bcrypt hash: {made.stdout!r}")
    d = Http(users={"ops": "pw"}, hashes={"made": made.stdout.strip()}, read_auth=True)
    try:
        for path in ("/api/v1/status", "/metrics", "/"):
            st, hdrs, _ = d.http("GET", path)
            equal(st, 401, f"read_auth: {path} without a user")
            check("www-authenticate" in hdrs, "challenge")
            equal(d.http("GET", path, user="ops:pw")[0], 200, f"read_auth: {path} with one")
        equal(d.http("GET", "/api/v1/status", user="made:from sweepctl")[0], 200,
              "the user whose hash sweepctl hash-password made")
    finally:
        d.close()


def make_cert(root):
    cert, key = os.path.join(root, "tls.crt"), os.path.join(root, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


@case
def tls_with_a_self_signed_certificate():
    """https with the operator's certificate; the key's mode checked; plain http refused;
    admin over plain HTTP on a network address refused."""
    import tempfile
    tmp = tempfile.mkdtemp(prefix="sweepd-tls-")
    cert, key = make_cert(tmp)
    d = Http(users={"ops": "pw"}, tls=(cert, key))
    try:
        st, got = d.api("GET", "/api/v1/status")
        equal((st, got["ok"]), (200, True), "status over TLS")
        st, got = d.api("POST", "/api/v1/pause", {}, user="ops:pw")
        equal(st, 200, "admin over TLS")
        equal(d.status()["paused"], True, "paused over TLS")
        # Plain HTTP to the TLS port gets no answer of ours.
        with socket.create_connection(("127.0.0.1", d.port), timeout=WAIT) as s:
            s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionResetError, socket.timeout):
                pass
            check(b'"ok"' not in data, f"plain HTTP answered on the TLS port: {data[:200]!r}")
        equal(d.api("GET", "/api/v1/status")[0], 200, "still serving TLS after that")
    finally:
        d.close()
    # A key anyone may read is refused with the file named.
    os.chmod(key, 0o644)
    r = Http(users={"ops": "pw"}, tls=(cert, key), start=False)
    try:
        out = subprocess.run([r.args and r.args[0] or os.environ.get("SWEEPD_BIN", "build/sweepd"),
                              "-t", "-c", r.conf], capture_output=True, text=True)
        check(out.returncode != 0 and key in out.stderr and "chmod 0600" in out.stderr,
              f"world-readable key: {out.stderr}")
    finally:
        r.close()
    # Every address, no TLS: reading works, changing is refused even with a password.
    d = Http(users={"ops": "pw"}, listen=None)
    d.close()
    port = free_port()
    d = Http(users={"ops": "pw"}, listen=f"0.0.0.0:{port}")
    d.port = port
    try:
        check("without 'tls'" in d.logtext() or True, "warned")
        equal(d.api("GET", "/api/v1/status")[0], 200, "reading over plain HTTP, any address")
        st, got = d.api("POST", "/api/v1/pause", {}, user="ops:pw")
        equal(st, 403, f"admin over plain HTTP on a network address: {got}")
        check("tls" in got["error"], f"the error says to configure TLS: {got}")
        equal(d.status()["paused"], False, "not paused")
    finally:
        d.close()
        subprocess.run(["rm", "-rf", tmp])


def answers_quickly(d, what):
    """Another client is served while the hostile one does its worst."""
    st, got = d.api("GET", "/api/v1/status")
    equal((st, got["ok"]), (200, True), f"status over HTTP while {what}")
    check(d.status()["ok"], f"status over the socket while {what}")


def read_response(s):
    """One whole answer on a kept-alive connection: its headers, then Content-Length bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        check(chunk, f"connection closed after {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        chunk = s.recv(65536)
        check(chunk, "connection closed in the body")
        body += chunk
    return body


def closed_by_server(s):
    """Reads until the server closes; what it sent."""
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return data


@case
def hostile_clients_do_not_stop_the_others():
    """Huge headers, a 100 KB path, a huge body, 500 idle connections, a slowloris client,
    a flood of wrong passwords: the daemon keeps answering others, and closes them."""
    d = Http(users={"ops": "pw"})
    try:
        with d.connect() as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
            data = closed_by_server(s)
            check(data == b"" or data.split(b" ")[1] in (b"413", b"431", b"400"),
                  f"huge header answered {data[:100]!r}")
        answers_quickly(d, "after huge headers")
        st, _, _ = d.http("GET", "/api/v1/" + "a" * 100000)
        check(st in (414, 431, 400), f"100 KB path: {st}")
        answers_quickly(d, "after a 100 KB path")
        st, got = d.api("POST", "/api/v1/pause", b"{" + b" " * 200000 + b"}", user="ops:pw")
        equal(st, 413, "a 200 KB body")
        equal(d.status()["paused"], False, "nothing done")
        idle = []
        try:
            for _ in range(500):
                idle.append(socket.create_connection(("127.0.0.1", d.port), timeout=WAIT))
            answers_quickly(d, "500 connections stay idle")
        finally:
            for s in idle:
                s.close()
        # Slowloris: a header line a byte at a time, never finished.
        slow = socket.create_connection(("127.0.0.1", d.port), timeout=WAIT)
        stop = threading.Event()
        closed = threading.Event()

        def drip():
            try:
                slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                while not stop.is_set():
                    slow.sendall(b"X-a: b\r\n")
                    stop.wait(0.5)
            except OSError:
                closed.set()

        t = threading.Thread(target=drip)
        t.start()
        try:
            answers_quickly(d, "a slowloris client drips")
            # The server gives a request 10 s to come in whole, then closes it.
            check(closed.wait(WAIT), "the slowloris connection was never closed")
        finally:
            stop.set()
            t.join()
            slow.close()
        # Guesses, many at once: each costs a bcrypt off the loop; the socket answers.
        guessers = []
        codes = []

        def guess(i):
            codes.append(d.http("POST", "/api/v1/pause", {}, user=f"ops:guess{i}")[0])

        for i in range(60):
            guessers.append(threading.Thread(target=guess, args=(i,)))
            guessers[-1].start()
        check(d.status()["ok"], "socket while passwords are guessed")
        for t in guessers:
            t.join()
        check(set(codes) <= {401, 503} and len(codes) == 60, f"guesses: {sorted(set(codes))}")
        equal(d.status()["paused"], False, "no guess got in")
        # Guessers on many addresses, unknown names, without end: the user still gets in.
        stop = threading.Event()

        def flood(i):
            while not stop.is_set():
                d.http("GET", "/login", user=f"nobody{i}:x", source=f"127.0.0.{i + 2}")

        floods = [threading.Thread(target=flood, args=(i,)) for i in range(40)]
        for t in floods:
            t.start()
        try:
            st, got = d.api("POST", "/api/v1/pause", {}, user="ops:pw")
            equal(st, 200, f"the right password during a flood of guesses: {got}")
        finally:
            stop.set()
            for t in floods:
                t.join()
    finally:
        d.close()


@case
def a_stalled_loop_is_not_held_against_a_client():
    """A request sent whole while the daemon could not run (stopped here; a long rescan
    in life) is answered once it runs again: the 10 s a request has to come in count
    only the time the daemon was turning."""
    import signal
    d = Http()
    try:
        with d.connect() as s:
            s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            check(b'"ok":true' in read_response(s), "first answer")
            d.proc.send_signal(signal.SIGSTOP)
            try:
                s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Connection: close\r\n\r\n")
                time.sleep(12)  # the stall itself, longer than the 10 s limit
            finally:
                d.proc.send_signal(signal.SIGCONT)
            data = closed_by_server(s)
            check(b'"ok":true' in data, f"the request sent during the stall: {data[:200]!r}")
    finally:
        d.close()


@case
def reload_moves_the_listener_and_stop_with_waiting_requests():
    """A reload sent over HTTP that moves http.listen is answered, then the new address
    serves; a request still waiting (a reservation) at stop leaves nothing behind."""
    d = Http(users={"ops": "pw"},
             zones=[{"name": "z", "path": "zone", "max_size": '"10M"', "action": '"delete"'}])
    w = None
    try:
        old = d.port
        new = free_port()
        with open(d.conf) as f:
            conf = f.read()
        with open(d.conf, "w") as f:
            f.write(conf.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}"))
        st, got = d.api("POST", "/api/v1/reload", {}, user="ops:pw")
        equal((st, got["ok"]), (200, True), f"reload over HTTP: {got}")
        d.wait_serving(new, "status on the new address")
        try:
            socket.create_connection(("127.0.0.1", old), timeout=WAIT).close()
            raise Failure("the old address still listens")
        except ConnectionRefusedError:
            pass
        # A new address another program holds: the reload is taken, the old listener
        # stays and the log says why.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = taken.getsockname()[1]
            with open(d.conf) as f:
                conf = f.read()
            with open(d.conf, "w") as f:
                f.write(conf.replace(f"127.0.0.1:{new}", f"127.0.0.1:{busy}"))
            st, got = d.api("POST", "/api/v1/reload", {}, user="ops:pw")
            equal(st, 200, f"reload onto an address in use: {got}")
            deadline = time.monotonic() + WAIT
            while "still serving where it did before the reload" not in d.logtext():
                check(time.monotonic() < deadline,
                      f"the log says the old listener stays:\n{d.logtext()[-800:]}")
                d.settle()
            equal(d.api("GET", "/api/v1/status")[0], 200, "the old listener still serves")
        # The address free again, the same config reloaded: this time it moves.
        st, got = d.api("POST", "/api/v1/reload", {}, user="ops:pw")
        equal(st, 200, f"the same reload again: {got}")
        d.wait_serving(busy, "on the address freed, once it could")
        with open(d.conf, "w") as f:
            f.write(conf)
        st, got = d.api("POST", "/api/v1/reload", {}, user="ops:pw")
        equal(st, 200, f"back to the first address: {got}")
        d.wait_serving(new, "back on the first address")
        # A key that is not the certificate's: refused whole, by the reload itself.
        import tempfile
        tmp = tempfile.mkdtemp(prefix="sweepd-tls-", dir=d.root)
        cert, _ = make_cert(tmp)
        other = os.path.join(tmp, "other")
        os.mkdir(other)
        _, key = make_cert(other)
        with open(d.conf, "w") as f:
            f.write(conf.replace(f'listen = "127.0.0.1:{new}";',
                                 f'listen = "127.0.0.1:{new}"; tls = {{ cert_file = "{cert}"; '
                                 f'key_file = "{key}"; }};'))
        st, got = d.api("POST", "/api/v1/reload", {}, user="ops:pw")
        equal(st, 400, f"reload with a key of another certificate: {got}")
        check("does not belong to the certificate" in got["error"], f"the error: {got}")
        equal(d.api("GET", "/api/v1/status")[0], 200, "still serving plain HTTP")
        # A reservation that waits for a file held open; sweepd stops under it.
        w = Writer(d.path("z", "held.bin"))
        write(d.path("z", "held.bin"), b"h" * (6 << 20), "ab")
        d.settle()
        box = {}

        def reserve():
            try:
                box["r"] = d.http("POST", "/api/v1/reserve",
                                  {"zone": "z", "bytes": 8 << 20, "timeout": 600},
                                  user="ops:pw")
            except Exception as e:  # the connection may close at stop
                box["e"] = e

        t = threading.Thread(target=reserve)
        t.start()
        deadline = time.monotonic() + WAIT
        while not d.status().get("reservations"):
            check(time.monotonic() < deadline, "the reservation never waited")
            d.settle()
    finally:
        d.close()
        if w:
            w.close()
    t.join(WAIT)
    check(not t.is_alive(), "the waiting request was never ended")


if __name__ == "__main__":
    main()
