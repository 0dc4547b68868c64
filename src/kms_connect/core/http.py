"""The one place HTTP clients are made, so every one honours the same rules.

Proxies come from HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY by httpx's rules, TLS trusts
`ca_bundle` when set (one `ssl_context()`), redirects are never followed (Azure DevOps answers a
bad token with a redirect to a sign-in page, which must be reported, not fetched), no cookie goes
from one credential's requests to another's, and connect and read have their own timeouts.

Two maintained clients:
- httpx, for the KMS API (`async_client`: one client per instance, which serves that instance's one
  login, so its cookie jar holds one identity's cookies) and msal (`sync_client`: a new client for
  each sign-in or token request).
- aiohttp, for the live checks' probes (core/probe_client: `probe_client`, no cookie jar at all). A `V` run makes
  thousands of small GETs; through httpx each costs ~2 ms of CPU on a 2-core box, through aiohttp
  (a C HTTP parser) a fifth of that: benchmarks/checks.py (c), 500 re-checks, stays within its
  1.3 × target with aiohttp (1.18) and not with httpx (3.7). `ProbeClient` hands back httpx.Response
  and raises httpx's errors (`_as_httpx`), so both clients' answers and failures take one path:
  core/azure/explain and core/retry.
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path

import httpx

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


def async_client(ca_bundle: Path | None = None, timeout: httpx.Timeout | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(**_options(ca_bundle, timeout))  # type: ignore[arg-type]


def sync_client(ca_bundle: Path | None = None) -> httpx.Client:
    """For msal, which wants a requests-like session (its calls run in thread workers)."""
    return httpx.Client(**_options(ca_bundle))  # type: ignore[arg-type]
