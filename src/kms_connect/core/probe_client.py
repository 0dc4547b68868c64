"""The live checks' HTTP client: aiohttp, with the rules of every client here (core/http).

Kept apart from core/http so that aiohttp (~80 ms to import) loads with the live checks, not with
an instance's client (httpx only) before its first rows.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import httpx

# httpx's own reading of the proxy variables, so the probes choose a proxy exactly as httpx does
# (tests/test_http.py compares the two choices, variable by variable).
from httpx._utils import URLPattern, get_environment_proxies

from kms_connect.core.http import CONNECT_TIMEOUT, READ_TIMEOUT, ssl_context

KEEPALIVE_EXPIRY = 30.0  # idle probe connections kept this long (httpx: 5 s), for checks a few seconds apart


def probe_client(
    ca_bundle: Path | None = None, timeout: httpx.Timeout | None = None, *, connections: int = 20
) -> ProbeClient:
    """For many small concurrent requests (live checks): up to `connections` open at once, and as
    many kept alive between them. Use it on the event loop of its first request."""
    return ProbeClient(ca_bundle, timeout, connections)


class ProbeClient:
    """GETs through aiohttp, answered as httpx.Response and failing with httpx's errors.

    Made anywhere; its aiohttp session is opened on the running loop at the first request.
    """

    def __init__(
        self, ca_bundle: Path | None = None, timeout: httpx.Timeout | None = None, connections: int = 20
    ) -> None:
        t = timeout or httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
        # `connect` also bounds the wait for a free connection: the runner never has more requests
        # in flight than `connections`, so that wait is nil, and a timeout there is a connect timeout.
        self._timeout = aiohttp.ClientTimeout(total=None, connect=t.connect, sock_connect=t.connect, sock_read=t.read)
        self._ssl = ssl_context(ca_bundle)
        self._connections = max(1, connections)
        self._session: aiohttp.ClientSession | None = None
        # Read once, as httpx reads them when a client is made: (pattern, proxy URL or None: direct).
        self._mounts = sorted((URLPattern(k), v) for k, v in get_environment_proxies().items())
        self._proxies: dict[tuple[str, str], tuple[str | None, dict[str, str] | None]] = {}
        self.is_closed = False

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(ssl=self._ssl, limit=self._connections, keepalive_timeout=KEEPALIVE_EXPIRY)
        session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            # Rules: no cookies (one credential's never go with another's); no netrc nor proxies of
            # aiohttp's own reading (trust_env: netrc credentials would be sent to Azure DevOps).
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            # httpx.Response decodes the body by its Content-Encoding, as for the httpx clients.
            auto_decompress=False,
            headers={"User-Agent": "kms-connect", "Accept": "*/*", "Accept-Encoding": "gzip, deflate"},
        )
        # aiohttp sends a GET again, at once and unseen, after a reset or a hang-up; the RetryPolicy
        # (core/retry) owns that choice: it counts the tries and shows them. (Its own test client
        # turns this off the same way.)
        session._retry_connection = False
        self._session = session
        return session

    def _proxy_for(self, url: str) -> tuple[str | None, dict[str, str] | None]:
        """The proxy httpx would use for `url`'s origin (the first pattern that matches, in httpx's
        order), and the Proxy-Authorization its user info makes (as httpx's: Basic, UTF-8)."""
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise httpx.InvalidURL(str(exc)) from None
        key = (parts.scheme, parts.netloc)
        found = self._proxies.get(key)
        if found is None:
            origin = httpx.URL(f"{parts.scheme}://{parts.netloc}/")
            proxy = next((v for pattern, v in self._mounts if pattern.matches(origin)), None)
            headers = None
            if proxy is not None:
                parsed = httpx.URL(proxy)
                if parsed.scheme not in ("http", "https"):
                    raise httpx.ProxyError(f"unsupported proxy scheme {parsed.scheme!r}")
                if parsed.username:
                    headers = {"Proxy-Authorization": aiohttp.encode_basic_auth(parsed.username, parsed.password)}
                proxy = str(parsed.copy_with(username=None, password=None))
            found = self._proxies[key] = (proxy, headers)
        return found

    async def get(self, url: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.request("GET", url, headers=headers)

    async def request(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, content: bytes | None = None
    ) -> httpx.Response:
        """`method` to `url` with `content` as its body (the write proof's POST, PUT and DELETE)."""
        if self.is_closed:
            raise RuntimeError("the client is closed")
        session = self._session or self._open()
        proxy, proxy_headers = self._proxy_for(url)
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                data=content,
                allow_redirects=False,
                proxy=proxy,
                proxy_headers=proxy_headers,
            ) as answer:
                body = await answer.read()
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            if self.is_closed:  # aclose() cut it off: not a network failure to retry or explain
                raise RuntimeError("the client is closed") from exc
            raise _as_httpx(exc) from exc
        response = httpx.Response(
            answer.status,
            headers=answer.raw_headers,
            stream=httpx.ByteStream(body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (answer.reason or "").encode()},
        )
        response.read()  # decodes a compressed answer
        return response

    async def aclose(self) -> None:
        self.is_closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def __del__(self) -> None:
        # Dropped without aclose(), its loop over (a test's, a client replaced on a new loop):
        # aiohttp would log "Unclosed client session" to stderr. Let its sockets go quietly.
        session, self._session = self._session, None
        if session is not None and not session.closed:
            connector = session.connector
            session.detach()
            if connector is not None:
                connector._close()  # the synchronous part of close(): nothing to await on a closed loop


def _as_httpx(exc: BaseException) -> Exception:
    """aiohttp's failure as the httpx error httpx would raise for it (its cause stays chained: the
    explanations look there for ssl and OS errors)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientHttpProxyError):  # the proxy answered CONNECT with an error
        return httpx.ProxyError(f"the proxy answered {exc.status} {exc.message}")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(text)
    if isinstance(exc, TimeoutError):  # aiohttp.SocketTimeoutError: no byte within the read timeout
        return httpx.ReadTimeout(text)
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ClientConnectorSSLError)):
        return httpx.ConnectError(text)  # DNS, refused, unreachable, TLS; the proxy's too
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError("Server disconnected without sending a response.")
    if isinstance(exc, aiohttp.ClientPayloadError):
        if "not completed" in text:
            return httpx.RemoteProtocolError(f"peer closed connection without sending complete message body ({text})")
        return httpx.RemoteProtocolError(text)
    if isinstance(exc, aiohttp.ClientConnectionResetError):  # the server closed it as we wrote
        return httpx.WriteError(text)
    if isinstance(exc, aiohttp.ClientConnectionError):  # after the connection was made: a reset, a cut
        return httpx.ReadError(text)
    if isinstance(exc, aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol: {text}")
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.InvalidURL(text)  # as httpx: not an HTTPError, a mistake of ours
    if isinstance(exc, aiohttp.ClientResponseError):  # an answer that is no HTTP
        return httpx.RemoteProtocolError(f"not an HTTP/1.1 answer: {exc.message}")
    if isinstance(exc, ValueError):  # a header that would split the request, refused before sending
        return httpx.LocalProtocolError(f"invalid header: {text}")
    return httpx.TransportError(text)
