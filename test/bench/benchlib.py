"""What the benchmark scripts share: one request over sweepd's socket."""

import json
import socket


def request(sock, obj):
    """Sends one request line to the socket at sock and returns the parsed reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock)
        s.sendall((json.dumps(obj) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"sweepd at {sock} closed without an answer")
            buf += chunk
        return json.loads(buf)
