"""LeanTransport: HTTP/1.1 keep-alive on an asyncio protocol, an httpx transport, for the live checks.

Live checks make thousands of small requests in a `V` run. Through httpx.AsyncClient and its
default transport (httpcore over anyio) a request costs ~2 ms of CPU here, several times the HTTP
itself, and the pool re-examines every connection (polling each idle socket) on every request and
answer. Through this transport (driven by core/http's `ProbeClient`) a request costs ~0.4 ms, with
the same httpx.Request / httpx.Response / httpx errors. It knows no proxies: with one configured,
core/http's `probe_client()` hands out a regular httpx.AsyncClient instead.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    import ssl

KEEPALIVE_EXPIRY = 30.0  # idle pooled connections are closed after this (httpx's default: 5 s)
MAX_HEADER_BYTES = 64 * 1024  # an answer's status line and headers
MAX_BODY_BYTES = 64 * 1024 * 1024  # an answer's body (the probes' are a few kB)

Origin = tuple[str, str, int]
_IDEMPOTENT = (b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE")
_BAD_NAME, _BAD_VALUE = re.compile(rb"[\r\n\0:]|^$"), re.compile(rb"[\r\n\0]")  # would split the request head


class _Stale(Exception):
    """A kept-alive connection the server had closed: nothing of an answer arrived."""


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: the bytes received so far, and one waiter for more of them."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.lost: Exception | None = None
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof, self.lost = True, exc
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @property
    def reusable(self) -> bool:
        """Open and silent: a kept-alive connection the server closed, or answered unasked (some
        send a 408 before closing an idle one), is never sent another request."""
        return not self.eof and not self.buffer and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def more(self, timeout: float | None) -> None:
        """Wait for more bytes; TimeoutError after `timeout` s, _BadAnswer if the server is gone."""
        if self.eof:
            raise _BadAnswer("Server disconnected in the middle of an answer.") from self.lost
        self._waiter = asyncio.get_running_loop().create_future()
        async with asyncio.timeout(timeout):
            await self._waiter

    def take(self, n: int) -> bytes:
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    async def until(self, sep: bytes, timeout: float | None) -> bytes:
        """The bytes up to `sep` (a header block or a chunk's size line), without it."""
        start = 0
        while (end := self.buffer.find(sep, start)) < 0:
            if len(self.buffer) > MAX_HEADER_BYTES:
                raise _BadAnswer("the answer's headers are too long")
            start = max(0, len(self.buffer) - len(sep) + 1)
            await self.more(timeout)
        return self.take(end + len(sep))[: -len(sep)]

    async def exactly(self, n: int, timeout: float | None) -> bytes:
        if n > MAX_BODY_BYTES:
            raise _BadAnswer(f"an answer of {n} bytes is too big")
        while len(self.buffer) < n:
            await self.more(timeout)
        return self.take(n)

    async def to_end(self, timeout: float | None) -> bytes:
        while not self.eof:
            if len(self.buffer) > MAX_BODY_BYTES:
                raise _BadAnswer("the answer is too big")
            await self.more(timeout)
        return self.take(len(self.buffer))


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive on asyncio's own (C-accelerated) sockets and TLS.

    At most `max_connections` requests are in flight at once (more wait, up to the pool timeout)
    and as many idle connections are kept, per origin, for `keepalive_expiry` seconds. A request
    sent on a kept-alive connection that the server closed meanwhile is sent again on a new one
    when it is idempotent and nothing of its answer had arrived, as browsers do.
    """

    def __init__(
        self, ssl_context: ssl.SSLContext, *, max_connections: int = 20, keepalive_expiry: float = KEEPALIVE_EXPIRY
    ) -> None:
        self.ssl_context = ssl_context
        self.max_connections = max(1, max_connections)
        self.keepalive_expiry = keepalive_expiry
        self._idle: dict[Origin, list[_Connection]] = {}
        self._slots: asyncio.Semaphore | None = None  # made on the loop of the first request
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        timeouts = request.extensions.get("timeout", {})
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_connections)
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection in the pool in time", request=request) from None
        try:
            url = request.url
            origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
            head = self._head(request)
            body = await request.aread()
            if b"chunked" in request.headers.get("transfer-encoding", "").lower().encode():
                body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
            while True:
                conn = self._take_idle(origin)
                fresh = conn is None
                if conn is None:
                    conn = await self._connect(origin, request, timeouts.get("connect"))
                try:
                    conn.transport.write(head + body)  # type: ignore[union-attr]
                    status, reason, headers, content, keep = await self._answer(conn, request, timeouts.get("read"))
                except _Stale:
                    conn.close()
                    if not fresh and request.method.encode() in _IDEMPOTENT:
                        for old in self._idle.pop(origin, []):  # kept as long: most likely closed as well
                            old.close()
                        continue  # again, on a new connection
                    if isinstance(conn.lost, ConnectionResetError):  # a TCP reset, not a plain close
                        raise httpx.ReadError(
                            "Connection reset by the server before it answered.", request=request
                        ) from conn.lost
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response.", request=request
                    ) from None
                except BaseException:
                    conn.close()  # half an answer (or a cancelled request) leaves it unusable
                    raise
                self._give_back(conn, keep)
                return httpx.Response(
                    status,
                    headers=headers,
                    stream=httpx.ByteStream(content),
                    request=request,
                    extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason.encode()},
                )
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    # --- connections ------------------------------------------------------------------------------
    def _take_idle(self, origin: Origin) -> _Connection | None:
        conns = self._idle.get(origin)
        now = time.monotonic()
        while conns:
            conn = conns.pop()  # the most recently used: the least likely to have been closed
            if conn.reusable and now - conn.idle_since < self.keepalive_expiry:
                return conn
            conn.close()
        return None

    def _give_back(self, conn: _Connection, keep: bool) -> None:
        if not keep or self._closed or not conn.reusable:
            conn.close()
            return
        conns = self._idle.setdefault(conn.origin, [])  # the oldest first
        conn.idle_since = time.monotonic()
        while conns and (
            len(conns) >= self.max_connections or conn.idle_since - conns[0].idle_since >= self.keepalive_expiry
        ):
            conns.pop(0).close()
        conns.append(conn)

    async def _connect(self, origin: Origin, request: httpx.Request, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        tls, conn = scheme == "https", _Connection(origin)
        try:
            async with asyncio.timeout(timeout):
                await asyncio.get_running_loop().create_connection(
                    lambda: conn,
                    host,
                    port,
                    ssl=self.ssl_context if tls else None,
                    server_hostname=host if tls else None,
                )
        except TimeoutError:
            conn.close()
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} in time", request=request) from None
        except OSError as exc:  # DNS, refused, unreachable, TLS (ssl.SSLError is an OSError)
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return conn

    # --- the exchange -----------------------------------------------------------------------------
    @staticmethod
    def _head(request: httpx.Request) -> bytes:
        target = request.url.raw_path or b"/"
        lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
        for name, value in request.headers.raw:
            if _BAD_NAME.search(name) or _BAD_VALUE.search(value):
                raise httpx.LocalProtocolError(f"invalid header {name!r}", request=request)
            lines.append(name + b": " + value)
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def _answer(
        self,
        conn: _Connection,
        request: httpx.Request,
        timeout: float | None,
    ) -> tuple[int, str, list[tuple[bytes, bytes]], bytes, bool]:
        """(status, reason, headers, body, connection reusable) of the answer to `request`."""
        try:
            while not conn.buffer and not conn.eof:
                await conn.more(timeout)
            if not conn.buffer:
                raise _Stale()  # nothing of an answer came: the server had closed the connection
            status = 100
            while 100 <= status < 200 and status != 101:  # 1xx (100 Continue, 103 Early Hints) come first
                status, reason, headers, version = _head_of(await conn.until(b"\r\n\r\n", timeout))
            fields = _fields(headers)
            keep = version == b"HTTP/1.1" and b"close" not in fields.get(b"connection", [])
            coding = fields.get(b"transfer-encoding", [])
            lengths = set(fields.get(b"content-length", []))
            if request.method == "HEAD" or status in (204, 304) or status == 101:
                body = b""
            elif coding and coding[-1] == b"chunked":
                body = await self._chunked(conn, timeout)
            elif lengths and not coding:
                length = lengths.pop()
                if lengths or not length.isdigit():
                    raise _BadAnswer(f"bad Content-Length {sorted(lengths | {length})}")
                body = await conn.exactly(int(length), timeout)
            else:  # framed by the end of the connection
                body, keep = await conn.to_end(timeout), False
        except TimeoutError:
            raise httpx.ReadTimeout("no answer within the read timeout", request=request) from None
        except _BadAnswer as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc.__cause__
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        return status, reason, headers, body, keep

    @staticmethod
    async def _chunked(conn: _Connection, timeout: float | None) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size_text = (await conn.until(b"\r\n", timeout)).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BadAnswer(f"bad chunk size {size_text[:20]!r}") from None
            if size == 0:
                while await conn.until(b"\r\n", timeout):
                    pass  # trailers, up to the empty line
                return b"".join(parts)
            total += size
            parts.append(await conn.exactly(size, timeout))
            if total > MAX_BODY_BYTES or await conn.exactly(2, timeout) != b"\r\n":
                raise _BadAnswer("a chunk does not end with CRLF" if total <= MAX_BODY_BYTES else "too big")


class _BadAnswer(Exception):
    """The server's bytes are not a well-formed HTTP/1.1 answer."""


def _head_of(block: bytes) -> tuple[int, str, list[tuple[bytes, bytes]], bytes]:
    """(status, reason, headers, HTTP version) of a status line and header block."""
    lines = block.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise _BadAnswer(f"not an HTTP/1.1 answer: {lines[0][:60]!r}")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            headers[-1] = (headers[-1][0], headers[-1][1] + b" " + line.strip())
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise _BadAnswer(f"bad header line {line[:60]!r}")
        headers.append((name, value.strip()))
    return int(code), reason.decode("latin-1"), headers, version


def _fields(headers: list[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    """The framing headers, lower-cased and split at commas ("Content-Length: 42, 42" is 42)."""
    out: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        lower = name.lower()
        if lower in (b"connection", b"transfer-encoding", b"content-length"):
            out.setdefault(lower, []).extend(v.strip().lower() for v in value.split(b",") if v.strip())
    return out
