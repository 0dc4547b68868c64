"""The loopback HTTPS server the Entra ID, Azure DevOps and KMS simulators share.

One thread per connection (HTTP/1.1 keep-alive, so a client's pool reuses it), a request log,
and the switches of faults.py (latency, injected answers, dropped connections, held answers) so
clients' error paths can be exercised without the real services. Subclasses implement `handle()`.
Without TLS files it serves plain HTTP (a KMS instance is often reached at http://localhost:8080).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import ssl
import struct
import threading
import time
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from .faults import RESET, Fault, FaultSwitches, Hold
from .tls import TlsFiles

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 120.0  # an idle keep-alive connection holds a thread this long at most
POLL_INTERVAL = 0.05  # how quickly shutdown() is noticed by the accept loop
MAX_LOGGED = 20_000  # request log entries kept (the oldest half goes when full)
MAX_HEADER_LINES = 100

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"


@dataclass
class RecordedRequest:
    method: str
    path: str  # as sent, still percent-encoded, without the query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    form: dict[str, str]  # application/x-www-form-urlencoded bodies only
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    status: int, obj: Any, headers: dict[str, str] | None = None, *, content_type: str = JSON
) -> Response:
    return Response(status, json.dumps(obj).encode(), {"Content-Type": content_type, **(headers or {})})


def html_response(status: int, html: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, html.encode(), {"Content-Type": HTML, **(headers or {})})


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, b"", {"Location": location})


def fault_response(fault: Fault) -> Response:
    if isinstance(fault.body, dict):
        resp = json_response(fault.status, fault.body)
    elif isinstance(fault.body, str):
        resp = Response(fault.status, fault.body.encode(), {"Content-Type": "text/plain; charset=utf-8"})
    else:
        resp = Response(fault.status, fault.body or b"", {"Content-Type": "application/octet-stream"})
    resp.headers.update(fault.headers)
    return resp


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    # Headers and body go out in separate writes; with Nagle on, the client's delayed ACK adds
    # ~40 ms to every answer, which would swamp any injected latency.
    disable_nagle_algorithm = True
    server_version, sys_version = "kms-connect-simulator", ""
    timeout = IDLE_TIMEOUT
    server: _TlsServer
    raw_requestline: bytes  # set by the base class's handle_one_request before parse_request

    def _dispatch(self) -> None:
        self.server.sim._serve(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def parse_request(self) -> bool:
        """The request line and headers of an HTTP/1.x request.

        The base class reads headers through the email package, which was a third of the
        simulators' CPU per request in a big `V` benchmark (and its GIL time delays every other
        connection's answer). Requests here come from HTTP clients, never mail: plain lines do.
        """
        self.command, self.close_connection = None, True  # type: ignore[assignment]  # as the base class does
        self.request_version = "HTTP/1.1"  # what an error is answered in (the base class: HTTP/0.9, silent)
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request line {self.raw_requestline[:80]!r}")
            return False
        self.command, self.path, self.request_version = words
        headers = _RequestHeaders()
        while (line := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
            if len(line) > 65536 or len(headers) >= MAX_HEADER_LINES:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
                return False
            text = str(line, "iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and headers:  # obsolete line folding
                headers[-1] = (headers[-1][0], f"{headers[-1][1]} {text.strip()}")
                continue
            name, colon, value = text.partition(":")
            if not colon or not name or name != name.strip():
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad header line {text[:80]!r}")
                return False
            headers.append((name, value.strip()))
        self.headers = headers  # type: ignore[assignment]
        connection = headers.get("connection", "").lower()
        self.close_connection = "close" in connection or (
            self.request_version == "HTTP/1.0" and "keep-alive" not in connection
        )
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def send_answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Status line, headers and body in one write (one TLS record, one packet, one read)."""
        reason = self.responses[status][0] if status in self.responses else ""
        lines = [
            f"{self.protocol_version} {status} {reason}",
            f"Server: {self.version_string()}",
            f"Date: {_http_date()}",
        ]
        for name, value in headers.items():
            lines.append(f"{name}: {value}")
            if name.lower() == "connection" and value.lower() == "close":
                self.close_connection = True
        lines.append(f"Content-Length: {len(body)}")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def reset(self) -> None:
        """Hang up without answering, with a TCP reset (RST) rather than a FIN."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            # Linger 0: closing sends RST. The descriptor closes when the handler closes rfile, before
            # socketserver's shutdown(SHUT_WR) could send a FIN (on a closed socket it does nothing).
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests and the TUI own the terminal


class _RequestHeaders(list[tuple[str, str]]):
    """A request's headers in order; `get` ignores case, as HTTP does."""

    def items(self) -> list[tuple[str, str]]:
        return list(self)

    def get(self, name: str, default: str = "") -> str:
        name = name.lower()
        return next((v for k, v in self if k.lower() == name), default)


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header's value, made once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True))
    return _date_cache[1]


class _TlsServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of new connections (a `V`
    # re-check opens dozens at once); each dropped SYN costs the client a 1 s retransmit.
    request_queue_size = 128
    block_on_close = False  # stop() closes live connections and joins the threads itself

    def __init__(self, sim: SimServer, context: ssl.SSLContext | None) -> None:
        self.sim = sim
        self.context = context
        self.live: set[socket.socket] = set()
        self.threads: set[threading.Thread] = set()
        self.live_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        with self.live_lock:
            self.threads.add(thread)
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's thread, so a slow client cannot
        # stall the accept loop.
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            conn = request if self.context is None else self.context.wrap_socket(request, server_side=True)
        except (OSError, ValueError):
            request.close()
            self._forget()
            return
        with self.live_lock:
            self.live.add(conn)
        try:
            super().process_request_thread(conn, client_address)
        finally:
            with self.live_lock:
                self.live.discard(conn)
            self._forget()

    def _forget(self) -> None:
        with self.live_lock:
            self.threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-answer are normal (cancelled probes); stay quiet


class SimServer(FaultSwitches):
    """Base class: override `handle(request) -> Response` (and `common_headers` if needed).

    `tls` None: plain HTTP, and `url` starts with http://."""

    def __init__(self, tls: TlsFiles | None) -> None:
        self.tls = tls
        self.latency: float = 0.0
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []  # tracebacks of handler bugs, answered with 500
        self.lock = threading.Lock()
        self._faults: list[Fault] = []
        self._holds: list[Hold] = []
        self._stopping = threading.Event()
        self._server: _TlsServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("already started")
        context = None
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls.cert_pem), str(self.tls.key_pem))
        self._stopping.clear()
        self._server = _TlsServer(self, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"{type(self).__name__}-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handler threads sleeping for latency or an injected delay
        server.shutdown()
        with server.live_lock:
            live, threads = list(server.live), list(server.threads)
        for conn in live:
            with contextlib.suppress(OSError):  # the plain socket call: unblocks a reader, TLS object untouched
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        for thread in threads:
            thread.join(5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"{'http' if self.tls is None else 'https'}://127.0.0.1:{self.port}"

    # --- test controls (and faults.py) ---------------------------------------------------------
    def requests_to(self, match: str) -> list[RecordedRequest]:
        """A snapshot of the logged requests whose path contains `match`."""
        with self.lock:
            return [r for r in self.requests if match in r.path]

    # --- for subclasses --------------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> Response:
        return html_response(404, "<html><body>Not found</body></html>")

    def common_headers(self, request: RecordedRequest) -> dict[str, str]:
        """Headers added to every answer, injected faults included (a real 429 has them too)."""
        return {}

    # --- plumbing --------------------------------------------------------------------------------
    def _serve(self, h: _Handler) -> None:
        request = self._parse(h)
        with self.lock:
            self.requests.append(request)
            if len(self.requests) > MAX_LOGGED:  # a demo may run for hours
                del self.requests[: MAX_LOGGED // 2]
        if self.latency > 0:
            self._stopping.wait(self.latency)
        fault = self._take_fault(request.path)
        if self._holds:
            self._wait_at_gates(request.path)
        if fault is not None and fault.delay > 0:
            self._stopping.wait(fault.delay)
        if fault is not None and fault.status == RESET and not fault.answered:
            h.reset()
            return
        if fault is not None and fault.status not in (0, RESET):
            response = fault_response(fault)
        else:
            try:
                response = self.handle(request)
            except Exception:  # noqa: BLE001 - a simulator bug: answered visibly instead of dropping the connection
                text = traceback.format_exc()
                with self.lock:
                    self.errors.append(text)
                response = Response(500, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})
        if fault is not None and fault.status == RESET:  # handled, and the answer lost on the way
            h.reset()
            return
        h.send_answer(response.status, {**self.common_headers(request), **response.headers}, response.body)

    @staticmethod
    def _parse(h: _Handler) -> RecordedRequest:
        split = urlsplit(h.path)
        headers = {k.lower(): v for k, v in h.headers.items()}
        body = b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while (size := int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            body = b"".join(chunks)
        elif length := int(headers.get("content-length") or 0):
            body = h.rfile.read(length)
        form: dict[str, str] = {}
        if headers.get("content-type", "").lower().startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        return RecordedRequest(h.command, split.path, query, headers, form, body)
