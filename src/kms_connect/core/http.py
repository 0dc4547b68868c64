"""The one place HTTP clients are made, so every one honours the same rules.

Proxies come from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (httpx's trust_env), TLS trusts `ca_bundle`
when set, redirects are never followed (Azure DevOps answers a bad token with a redirect to a
sign-in page, which must be reported, not fetched), and connect and read have their own timeouts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0


def _options(ca_bundle: Path | None, timeout: httpx.Timeout | None = None) -> dict[str, object]:
    import httpx

    verify: object = True
    if ca_bundle is not None:
        import ssl

        verify = ssl.create_default_context(cafile=str(ca_bundle))
    return {
        "trust_env": True,
        "verify": verify,
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
