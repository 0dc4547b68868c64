"""The one place HTTP clients are made, so every one honours the same rules.

Proxies come from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (httpx's trust_env), TLS trusts `ca_bundle`
when set, redirects are never followed (Azure DevOps answers a bad token with a redirect to a
sign-in page, which must be reported, not fetched), and connect and read have their own timeouts.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

    import httpx

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0


@functools.lru_cache(maxsize=8)
def _ssl_context(ca_bundle: str | None, mtime_ns: int) -> ssl.SSLContext:
    # Loading a CA bundle costs ~20 ms of CPU; checks make many clients, so build each context once
    # (per file version: mtime is part of the key).
    import ssl

    import httpx

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
    import httpx

    return {
        "trust_env": True,
        "verify": ssl_context(ca_bundle),
        "follow_redirects": False,
        "timeout": timeout or httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        "headers": {"User-Agent": "kms-connect"},
    }


def async_client(ca_bundle: Path | None = None, timeout: httpx.Timeout | None = None) -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient(**_options(ca_bundle, timeout))  # type: ignore[arg-type]


def sync_client(ca_bundle: Path | None = None) -> httpx.Client:
    """For msal, which wants a requests-like session (its calls run in thread workers)."""
    import httpx

    return httpx.Client(**_options(ca_bundle))  # type: ignore[arg-type]
