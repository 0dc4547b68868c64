"""A loopback HTTP(S) proxy for the tests: proxy.py, in its own process (run this file).

    python tests/loopback_proxy.py RECORD_FILE [proxy.py flags, e.g. --basic-auth user:pass]

Prints its port on one line once it listens, appends each request it lets through to RECORD_FILE
("CONNECT 127.0.0.1:4433", "GET 127.0.0.1:8080") before it connects onwards, and stops when its
stdin closes. The recording is written before the tunnel opens, so a client that got an answer through
the proxy finds its request in the file: no waiting.
"""

from __future__ import annotations

import sys

import proxy
from proxy.http.parser import HttpParser
from proxy.http.proxy import HttpProxyBasePlugin

RECORD = sys.argv[1]


class Recorder(HttpProxyBasePlugin):
    def before_upstream_connection(self, request: HttpParser) -> HttpParser:
        with open(RECORD, "a") as record:
            record.write(f"{(request.method or b'').decode()} {(request.host or b'').decode()}:{request.port}\n")
        return request


if __name__ == "__main__":
    flags = ["--hostname", "127.0.0.1", "--port", "0", "--num-workers", "1", "--num-acceptors", "1"]
    with proxy.Proxy([*flags, "--log-level", "ERROR", *sys.argv[2:]], plugins=[Recorder]) as running:
        print(running.flags.port, flush=True)
        sys.stdin.read()
