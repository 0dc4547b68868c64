"""The live checks' HTTP client: core/http's ProbeClient (aiohttp), answering httpx.Response and
raising httpx's errors, so its answers and failures take the httpx clients' path (explain, retry).

A scripted plain-HTTP loopback server answers, in order, with bytes given by each test.
"""

from __future__ import annotations

import asyncio
import gzip

import aiohttp
import httpx
import pytest
from aiohttp.client_reqrep import ConnectionKey
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from kms_connect.core.azure.explain import is_transient, transport_problem
from kms_connect.core.probe_client import ProbeClient, _as_httpx, probe_client


class Scripted:
    """A plain-HTTP loopback server answering requests, in order, with scripted bytes.

    An answer is bytes, or (bytes, "close") to hang up after it, or "drop" to hang up instead of
    answering, or "held" to answer ok() once the test sets `release`. `arrived` is set once
    `expect` requests have arrived."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[int, bytes]] = []  # (connection number, request head)
        self.connections = self.open = self.most_open = 0
        self.server: asyncio.Server | None = None
        self.release, self.arrived = asyncio.Event(), asyncio.Event()
        self.expect = 0

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.requests.append((number, head))
                if len(self.requests) == self.expect:
                    self.arrived.set()
                answer = self.answers.pop(0)
                if answer == "drop":
                    return
                if answer == "held":
                    await self.release.wait()
                    answer = ok()
                data, close = answer if isinstance(answer, tuple) else (answer, None)
                writer.write(data)
                await writer.drain()
                if close:
                    return
        finally:
            self.open -= 1
            writer.close()


def ok(body: bytes = b'{"ok": true}', *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        + body
    )


async def test_keeps_connections_alive_sends_the_usual_headers_and_keeps_no_cookie() -> None:
    server = Scripted(ok(b"{}", "Set-Cookie: session=alice; Path=/"), ok(b'{"n": 2}'), ok(b'{"n": 3}'))
    async with server as url:
        url = url.replace("127.0.0.1", "localhost")  # a cookie jar would keep no cookie of an IP address
        client = probe_client(connections=4)
        for _ in range(3):
            resp = await client.get(f"{url}/org/_apis/projects?$top=100", headers={"Accept": "application/json"})
        await client.aclose()
    assert isinstance(resp, httpx.Response) and resp.status_code == 200 and resp.json() == {"n": 3}
    assert server.connections == 1 and [n for n, _ in server.requests] == [1, 1, 1]
    head = server.requests[0][1].decode().lower()
    assert head.startswith("get /org/_apis/projects?$top=100 http/1.1\r\n")
    assert "user-agent: kms-connect" in head and "accept: application/json" in head and "host: localhost:" in head
    assert "accept: */*" not in head  # a header given replaces the default one
    assert not any(b"cookie" in h.lower() for _, h in server.requests)  # the Set-Cookie was not kept


async def test_a_compressed_or_chunked_answer_is_read_whole() -> None:
    packed = gzip.compress(b'{"zipped": 1}')
    server = Scripted(
        ok(packed, "Content-Encoding: gzip"),
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n4\r\n: 1}\r\n0\r\n\r\n',
    )
    async with server as url:
        client = ProbeClient()
        zipped = await client.get(url)
        assert zipped.json() == {"zipped": 1} and zipped.headers["content-encoding"] == "gzip"
        assert (await client.get(url)).json() == {"a": 1}
        await client.aclose()
    assert b"accept-encoding: gzip, deflate" in server.requests[0][1].lower()  # what httpx.Response decodes


async def test_bounds_connections_and_reports_a_redirect_instead_of_following_it() -> None:
    moved = b"HTTP/1.1 302 Found\r\nLocation: https://elsewhere.invalid/signin\r\nContent-Length: 0\r\n\r\n"
    server = Scripted("held", "held", ok(), ok(), moved)
    server.expect = 2
    async with server as url:
        client = ProbeClient(connections=2)
        asked = [asyncio.ensure_future(client.get(url)) for _ in range(4)]
        await asyncio.wait_for(server.arrived.wait(), 10)  # two held; the other two wait for a connection
        server.release.set()
        answers = await asyncio.wait_for(asyncio.gather(*asked), 10)
        redirect = await client.get(url)
        await client.aclose()
    assert [a.status_code for a in answers] == [200] * 4
    assert server.connections == 2 and server.most_open == 2  # unbounded, it would have opened four
    assert redirect.status_code == 302 and redirect.headers["location"] == "https://elsewhere.invalid/signin"
    assert len(server.requests) == 5  # the sign-in page was never asked for


async def test_failures_are_httpx_errors_sent_once_and_explained_as_before() -> None:
    server = Scripted(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # then silence
        "drop",
        b"garbage\r\n\r\n",
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "close"),
    )
    async with server as url:
        client = ProbeClient(timeout=httpx.Timeout(0.3, connect=5))
        with pytest.raises(httpx.ReadTimeout) as timeout:
            await client.get(url)
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response") as hung_up:
            await client.get(url)
        with pytest.raises(httpx.RemoteProtocolError, match=r"not an HTTP/1\.1 answer") as garbage:
            await client.get(url)
        with pytest.raises(httpx.RemoteProtocolError, match="peer closed connection") as cut:
            await client.get(url)
        await client.aclose()
    assert len(server.requests) == 4  # a hang-up is not sent again by the client: core/retry decides

    def said(exc: BaseException) -> str:
        return transport_problem(exc, "Azure DevOps", "dev.azure.com", "[azure] devops_url").result

    assert said(timeout.value) == "Azure DevOps: no answer in time" and is_transient(timeout.value)
    assert said(hung_up.value) == "Azure DevOps: connection closed without an answer" and is_transient(hung_up.value)
    assert said(cut.value) == "Azure DevOps: answer cut off" and is_transient(cut.value)
    assert not is_transient(garbage.value)  # an answer that is no HTTP would come again
    with pytest.raises(httpx.ConnectError) as refused:
        await ProbeClient().get(url)  # the server is gone
    assert said(refused.value) == "Azure DevOps: connection refused" and is_transient(refused.value)


@pytest.mark.parametrize("headers", [{"X-Injected": "a\r\nEvil: 1"}, {"X-Nul": "a\0b"}])
async def test_refuses_a_header_that_would_split_the_request(headers: dict[str, str]) -> None:
    server = Scripted(ok())
    async with server as url:
        client = ProbeClient()
        with pytest.raises(httpx.LocalProtocolError, match="invalid header") as refused:
            await client.get(url, headers=headers)
        assert "Evil" not in str(refused.value) and "a\0b" not in str(refused.value)  # the value is not told
        assert (await client.get(url)).status_code == 200  # nothing half-sent: the next request is fine
        await client.aclose()
    assert len(server.requests) == 1


def _key() -> ConnectionKey:
    return ConnectionKey("dev.azure.com", 443, True, True, None, None, None)


@pytest.mark.parametrize(
    ("failure", "kind", "said"),
    [
        (aiohttp.ConnectionTimeoutError("Connection timeout"), httpx.ConnectTimeout, "connect timed out"),
        (aiohttp.SocketTimeoutError("Timeout on reading data"), httpx.ReadTimeout, "no answer in time"),
        (
            aiohttp.ClientConnectorDNSError(_key(), OSError(-2, "Name or service not known")),
            httpx.ConnectError,
            "host name not found",
        ),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), httpx.ReadError, "connection reset"),
        (
            aiohttp.ClientHttpProxyError(
                aiohttp.RequestInfo(URL("https://dev.azure.com"), "GET", CIMultiDictProxy(CIMultiDict())),
                (),
                status=407,
                message="Proxy Authentication Required",
            ),
            httpx.ProxyError,
            "proxy failed",
        ),
    ],
)
def test_each_aiohttp_failure_becomes_the_httpx_error_it_is(failure: Exception, kind: type, said: str) -> None:
    mapped = _as_httpx(failure)
    assert type(mapped) is kind
    assert transport_problem(mapped, "Azure DevOps", "dev.azure.com", "[azure] devops_url").result.endswith(said)


async def test_is_made_anywhere_and_opens_on_the_loop_of_its_first_request() -> None:
    client = probe_client()  # no session yet: nothing tied to a loop
    server = Scripted(ok())
    async with server as url:
        assert (await client.get(url)).status_code == 200
    await client.aclose()
    assert client.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        await client.get(url)


async def test_a_request_cut_off_by_aclose_is_no_network_failure() -> None:
    server = Scripted("held")
    server.expect = 1
    async with server as url:
        client = ProbeClient()
        asked = asyncio.ensure_future(client.get(url))
        await asyncio.wait_for(server.arrived.wait(), 10)
        await client.aclose()  # e.g. the app leaving while an organization's shared lookup still waits
        with pytest.raises(RuntimeError, match="closed"):  # not an httpx error: nothing retries or explains it
            await asyncio.wait_for(asked, 10)
        server.release.set()


def test_the_private_names_the_probe_client_relies_on_are_there() -> None:
    """Three names are not public API: httpx's proxy rules (so the probes pick a proxy exactly as the
    httpx clients do), aiohttp's silent resend switch (so core/retry counts every try) and the
    synchronous close of a connector (a client dropped after its loop ended). A new httpx or aiohttp
    that renames one fails here, not quietly in the field."""
    import aiohttp
    from httpx import _utils

    assert callable(_utils.get_environment_proxies) and callable(_utils.URLPattern)

    async def made() -> bool:
        session = aiohttp.ClientSession()
        try:
            return hasattr(session, "_retry_connection")
        finally:
            await session.close()

    import asyncio

    assert asyncio.run(made())
    assert callable(aiohttp.BaseConnector._close)
