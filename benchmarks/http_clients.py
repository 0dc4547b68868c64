"""CPU per request of the candidate HTTP clients for the live checks' probes (issue 17, HTTP step).

The same GET to the loopback Azure DevOps simulator (real TLS), 1,000 times, 16 at a time, after a
warm-up; CPU time of this process, which also runs the simulator, so compare the clients with one
another, not with other benchmarks. aiohttp is measured when installed (it is not a dependency).

    python benchmarks/http_clients.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from kms_connect.core.http import ssl_context
from kms_connect.core.lean_transport import LeanTransport
from kms_connect_sim.sandbox import Sandbox

CONCURRENCY = 16
TIMEOUT = httpx.Timeout(30, connect=10).as_dict()


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
        headers = [("Accept", "application/json")]
        request = httpx.Request("GET", parsed, headers=headers, extensions={"timeout": TIMEOUT})
        response = await transport.handle_async_request(request)
        await response.aread()

    try:
        return await _timed(one, requests)
    finally:
        await transport.aclose()


async def through_client(box: Sandbox, url: str, requests: int) -> float:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(verify=ssl_context(box.ca_bundle), limits=limits, trust_env=False) as client:

        async def one() -> None:
            (await client.get(url, headers={"Accept": "application/json"})).raise_for_status()

        return await _timed(one, requests)


async def through_aiohttp(box: Sandbox, url: str, requests: int) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(ssl=ssl_context(box.ca_bundle), limit=CONCURRENCY)
    jar = aiohttp.DummyCookieJar()  # no cookies kept between credentials
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as session:

        async def one() -> None:
            async with session.get(url, headers={"Accept": "application/json"}, allow_redirects=False) as answer:
                await answer.read()

        return await _timed(one, requests)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    requests = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as tmp, Sandbox(Path(tmp)) as box:
        url = box.devops_url + "/contoso-dev/_apis/connectionData"
        ctx = ssl_context(box.ca_bundle)
        pool = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        legs: dict[str, Callable[[], Awaitable[float]]] = {
            "LeanTransport (ours)": lambda: through_transport(
                LeanTransport(ctx, max_connections=CONCURRENCY), url, requests
            ),
            "httpx transport (httpcore)": lambda: through_transport(
                httpx.AsyncHTTPTransport(verify=ctx, limits=pool), url, requests
            ),
            "httpx.AsyncClient": lambda: through_client(box, url, requests),
        }
        if importlib.util.find_spec("aiohttp") is not None:
            legs["aiohttp"] = lambda: through_aiohttp(box, url, requests)
        base = None
        for name, leg in legs.items():
            ms = asyncio.run(leg())
            base = base or ms
            print(f"{name:28} {ms:6.2f} ms CPU a request  ({ms / base:.1f}x LeanTransport)")


if __name__ == "__main__":
    main()
