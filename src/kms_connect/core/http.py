"""The one place HTTP clients are made, so every one honours the same rules.

Proxies come from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (httpx's trust_env), TLS trusts `ca_bundle`
when set, redirects are never followed (Azure DevOps answers a bad token with a redirect to a
sign-in page, which must be reported, not fetched), and connect and read have their own timeouts.

Live checks make thousands of small requests in a `V` run, and httpx.AsyncClient with its default
transport spends several times the HTTP itself in CPU on each. The checks therefore use
`probe_client()`: a `ProbeClient` sending straight through `LeanTransport` (core/lean_transport:
why, and how), ~0.4 ms a request, with the same httpx.Request / httpx.Response / httpx errors.
With a proxy configured, they get a regular httpx.AsyncClient instead, whose transport knows proxies.
"""

from __future__ import annotations

import functools
import ssl
import urllib.request
from pathlib import Path

import httpx

from kms_connect.core.lean_transport import LeanTransport

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0


@functools.lru_cache(maxsize=8)
def _ssl_context(ca_bundle: str | None, mtime_ns: int) -> ssl.SSLContext:
    # Loading a CA bundle costs ~20 ms of CPU; checks make many clients, so build each context once
    # (per file version: mtime is part of the key).
    if ca_bundle is None:
        return httpx.create_ssl_context(trust_env=True)
    return ssl.create_default_context(cafile=ca_bundle)


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    if ca_bundle is None:
        return _ssl_context(None, 0)
    try:
        mtime = ca_bundle.stat().st_mtime_ns
    except OSError:
        mtime = 0
    return _ssl_context(str(ca_bundle), mtime)


def _options(ca_bundle: Path | None, timeout: httpx.Timeout | None = None) -> dict[str, object]:
    return {
        "trust_env": True,
        "verify": ssl_context(ca_bundle),
        "follow_redirects": False,
        "timeout": timeout or httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        "headers": {"User-Agent": "kms-connect"},
    }


def proxy_configured() -> bool:
    """True when the environment names a proxy (the same variables httpx's trust_env reads)."""
    return any(key in ("http", "https", "all") for key in urllib.request.getproxies())


def async_client(ca_bundle: Path | None = None, timeout: httpx.Timeout | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(**_options(ca_bundle, timeout))  # type: ignore[arg-type]


def probe_client(
    ca_bundle: Path | None = None, timeout: httpx.Timeout | None = None, *, connections: int = 20
) -> ProbeClient | httpx.AsyncClient:
    """For many small concurrent requests (live checks): up to `connections` in flight, and as many
    kept alive between them. Both kinds have `get()`, `aclose()` and `is_closed`."""
    if proxy_configured():
        return async_client(ca_bundle, timeout)
    return ProbeClient(ca_bundle, timeout, connections)


def sync_client(ca_bundle: Path | None = None) -> httpx.Client:
    """For msal, which wants a requests-like session (its calls run in thread workers)."""
    return httpx.Client(**_options(ca_bundle))  # type: ignore[arg-type]


class ProbeClient:
    """GETs straight through a LeanTransport, with the rules of every client here.

    httpx.AsyncClient's own layer (URL and header merging, a cookie jar updated from every answer,
    auth and redirect machinery) costs as much CPU as the whole exchange on LeanTransport. The
    probes need none of it: they send their own headers, keep no cookies and never follow a
    redirect (a 3xx comes back as the answer, as with follow_redirects=False).
    """

    def __init__(
        self, ca_bundle: Path | None = None, timeout: httpx.Timeout | None = None, connections: int = 20
    ) -> None:
        self.timeout = timeout or httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
        self._extensions = {"timeout": self.timeout.as_dict()}
        self.transport = LeanTransport(ssl_context(ca_bundle), max_connections=connections)
        self.headers = [("Accept", "*/*"), ("Accept-Encoding", "gzip, deflate"), ("User-Agent", "kms-connect")]
        self._urls: dict[str, httpx.URL] = {}  # parsed once: a `V` run asks the same few URLs again and again
        self.is_closed = False

    async def get(self, url: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
        if self.is_closed:
            raise RuntimeError("the client is closed")
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= 512:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        given = {k.lower() for k in headers or ()}
        merged = [(k, v) for k, v in self.headers if k.lower() not in given] + list((headers or {}).items())
        request = httpx.Request("GET", parsed, headers=merged, extensions=self._extensions)
        response = await self.transport.handle_async_request(request)
        await response.aread()  # decodes a compressed answer
        return response

    async def aclose(self) -> None:
        self.is_closed = True
        await self.transport.aclose()
