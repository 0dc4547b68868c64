"""CPU per request of the candidate HTTP clients for the live checks' probes (issue 17, HTTP step).

The same GET to the loopback Azure DevOps simulator (real TLS), 1,000 times, 16 at a time, after a
warm-up; CPU time of this process, which also runs the simulator, so compare the clients with one
another, not with other benchmarks.

With h2 and hypercorn installed (neither is a dependency), httpx over HTTP/2 is measured too,
against a one-route hypercorn server in its own process (only this process's CPU is counted), next
to httpx over HTTP/1.1 against the same server.

    python benchmarks/http_clients.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from kms_connect.core.http import ssl_context
from kms_connect.core.probe_client import ProbeClient
from kms_connect_sim.sandbox import Sandbox
from kms_connect_sim.tls import TlsFiles

CONCURRENCY = 16
TIMEOUT = httpx.Timeout(30, connect=10).as_dict()
HEADERS = {"Accept": "application/json"}
# A one-route ASGI app for hypercorn (HTTP/1.1 and HTTP/2 over TLS), run as `python -c`.
ASGI_APP = """
import asyncio, sys
from hypercorn.asyncio import serve
from hypercorn.config import Config

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b'{"authenticatedUser": {"providerDisplayName": "bench"}}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

config = Config()
config.bind = [f"127.0.0.1:{sys.argv[1]}"]
config.certfile, config.keyfile = sys.argv[2], sys.argv[3]
config.alpn_protocols = ["h2", "http/1.1"]
config.accesslog = config.errorlog = None
config.keep_alive_max_requests = 10**9  # default 1000: HTTP/2 runs them all on one connection
asyncio.run(serve(app, config))
"""


async def _timed(one: Callable[[], Awaitable[None]], requests: int) -> float:
    sem = asyncio.Semaphore(CONCURRENCY)

    async def limited() -> None:
        async with sem:
            await one()

    await asyncio.gather(*[limited() for _ in range(50)])  # connections made, caches warm
    start = time.process_time()
    await asyncio.gather(*[limited() for _ in range(requests)])
    return (time.process_time() - start) / requests * 1000


async def through_transport(transport: Any, url: str, requests: int) -> float:
    parsed = httpx.URL(url)

    async def one() -> None:
        request = httpx.Request("GET", parsed, headers=list(HEADERS.items()), extensions={"timeout": TIMEOUT})
        response = await transport.handle_async_request(request)
        await response.aread()

    try:
        return await _timed(one, requests)
    finally:
        await transport.aclose()


async def through_client(ca: Path, url: str, requests: int, *, http2: bool = False) -> float:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(verify=ssl_context(ca), limits=limits, trust_env=False, http2=http2) as client:

        async def one() -> None:
            answer = await client.get(url, headers=HEADERS)
            answer.raise_for_status()
            assert answer.http_version == ("HTTP/2" if http2 else "HTTP/1.1"), answer.http_version

        return await _timed(one, requests)


async def through_aiohttp(ca: Path, url: str, requests: int, *, trust_env: bool = False) -> float:
    connector = aiohttp.TCPConnector(ssl=ssl_context(ca), limit=CONCURRENCY)
    jar = aiohttp.DummyCookieJar()  # no cookies kept between credentials
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar, trust_env=trust_env) as session:

        async def one() -> None:
            async with session.get(url, headers=HEADERS, allow_redirects=False) as answer:
                await answer.read()

        return await _timed(one, requests)


async def through_probe_client(ca: Path, url: str, requests: int) -> float:
    client = ProbeClient(ca, connections=CONCURRENCY)

    async def one() -> None:
        assert (await client.get(url, headers=HEADERS)).status_code < 300

    try:
        return await _timed(one, requests)
    finally:
        await client.aclose()


@contextlib.contextmanager
def hypercorn_server(tls: TlsFiles) -> Iterator[str]:
    """The one-route app served by hypercorn (HTTP/1.1 and HTTP/2, TLS) in its own process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", ASGI_APP, str(port), str(tls.cert_pem), str(tls.key_pem)])
    try:
        deadline = time.monotonic() + 20
        while True:  # until it listens (bounded)
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("hypercorn did not start")
            time.sleep(0.05)
        yield f"https://127.0.0.1:{port}/contoso-dev/_apis/connectionData"
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    requests = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as tmp, Sandbox(Path(tmp)) as box:
        url, ca = box.devops_url + "/contoso-dev/_apis/connectionData", box.ca_bundle
        pool = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        legs: dict[str, Callable[[], Awaitable[float]]] = {
            "ProbeClient (aiohttp, ours)": lambda: through_probe_client(ca, url, requests),
            "aiohttp alone": lambda: through_aiohttp(ca, url, requests),
            "aiohttp, trust_env=True": lambda: through_aiohttp(ca, url, requests, trust_env=True),
            "httpx transport (httpcore)": lambda: through_transport(
                httpx.AsyncHTTPTransport(verify=ssl_context(ca), limits=pool), url, requests
            ),
            "httpx.AsyncClient": lambda: through_client(ca, url, requests),
        }
        base = None
        for name, leg in legs.items():
            ms = asyncio.run(leg())
            base = base or ms
            print(f"{name:32} {ms:6.2f} ms CPU a request  ({ms / base:.1f}x ProbeClient)")
        if importlib.util.find_spec("h2") is None or importlib.util.find_spec("hypercorn") is None:
            print("(h2 or hypercorn not installed: no HTTP/2 leg)")
            return
        with hypercorn_server(box.tls) as h2_url:
            print("against hypercorn (own process):")
            # HTTP/2 last: httpcore sets its ALPN protocols on the (shared, cached) SSL context.
            ms = asyncio.run(through_probe_client(ca, h2_url, requests))
            print(f"  {'ProbeClient (aiohttp) HTTP/1.1':30} {ms:6.2f} ms CPU a request")
            for name, http2 in (("httpx.AsyncClient HTTP/1.1", False), ("httpx.AsyncClient HTTP/2", True)):
                ms = asyncio.run(through_client(ca, h2_url, requests, http2=http2))
                print(f"  {name:30} {ms:6.2f} ms CPU a request")


if __name__ == "__main__":
    main()
