"""Microsoft Entra ID through msal: client credentials, refresh, tenant discovery.

Every function here blocks (msal does network I/O even in its constructors), so callers run them
in threads. msal talks through our own httpx client (core/http), which honours `ca_bundle` and the
proxy variables and is immune to REQUESTS_CA_BUNDLE overriding `verify`. A fresh msal app is built
for every attempt: msal replays a POST that got HTTP 400 from memory for 60 s, which would hide a
fix the operator just made in the portal. The interactive sign-ins (device code, redirect
paste-back) are in core/azure/sign_in and build their msal apps here.

A GET (OIDC discovery) that fails on the network in a way that may pass is sent again, a bounded
number of times. A POST (a token grant: client credentials, a refresh, a code, a device-code poll)
is sent again only when it never left this box: once Entra may have acted on it (a code redeemed, a
refresh token rotated), its lost answer is reported as such rather than sent twice.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from kms_connect.core.advice import REPLACE_CREDENTIALS
from kms_connect.core.azure.explain import (
    Problem,
    ProblemError,
    entra_problem,
    is_transient,
    not_sent,
    transport_problem,
    tries_text,
)
from kms_connect.core.http import sync_client
from kms_connect.core.redact import redact, register_secret
from kms_connect.core.retry import DEFAULT_RETRY, GaveUp, RetryPolicy, retrying

ADO_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"
CACHE_VERSION = 1


@dataclass(frozen=True)
class EntraConfig:
    authority_host: str
    ca_bundle: Any = None  # Path | None
    retry: RetryPolicy = DEFAULT_RETRY  # for the requests that may be sent again (see above)

    def authority(self, tenant: str) -> str:
        return f"{self.authority_host.rstrip('/')}/{tenant}"


@dataclass
class Token:
    """An access token for Azure DevOps, with its (unverified) claims and the cache to keep."""

    access_token: SecretStr
    claims: dict[str, Any]
    cache_blob: SecretStr | None = None  # the msal cache (refresh token) to keep, if it changed

    @property
    def tenant(self) -> str | None:
        return self.claims.get("tid")

    @property
    def who(self) -> str:
        c = self.claims
        return str(c.get("upn") or c.get("unique_name") or c.get("name") or c.get("appid") or c.get("oid") or "?")

    @property
    def scopes(self) -> list[str]:
        return sorted(str(self.claims.get("scp", "")).split()) if "scp" in self.claims else []

    @property
    def is_user(self) -> bool:
        return "scp" in self.claims or self.claims.get("idtyp") == "user"


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: only to show who signed in and which scopes were granted."""
    try:
        payload = token.split(".")[1]
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return claims
    except (IndexError, ValueError):
        return {}


class _RecordingClient:
    """msal's http_client: our httpx client, remembering the last error body.

    msal turns a failed OIDC discovery into a bare ValueError; the recorded body lets us show
    Entra's own error code and IDs instead.
    """

    def __init__(self, config: EntraConfig) -> None:
        self.client = sync_client(config.ca_bundle)
        self.config = config
        self.last_error: dict[str, Any] | None = None
        self.posts = 0  # requests to the token endpoint: a device flow's polls

    def _record(self, resp: Any) -> Any:
        if resp.status_code >= 400:
            try:
                body = resp.json()
                self.last_error = body if isinstance(body, dict) else None
            except ValueError:
                self.last_error = None
        return resp

    def get(self, url: str, **kw: Any) -> Any:
        return self._record(self._send("GET", url, kw))

    def post(self, url: str, **kw: Any) -> Any:
        self.posts += 1
        return self._record(self._send("POST", url, kw))

    def _send(self, method: str, url: str, kw: dict[str, Any]) -> Any:
        tries, started = 0, time.monotonic()
        while True:
            tries += 1
            try:
                return self.client.request(method, url, **kw)
            except httpx.HTTPError as exc:
                again = is_transient(exc) if method == "GET" else not_sent(exc)
                if again and tries <= self.config.retry.max_retries:
                    time.sleep(self.config.retry.wait(tries - 1))  # in msal's thread, never the event loop's
                    continue
                if method != "GET" and is_transient(exc) and not not_sent(exc):  # it may have arrived
                    raise ProblemError(_answer_lost(exc, self.config)) from None
                problem = _transport(exc, self.config)
                if tries > 1:
                    problem.result += f", {tries_text(tries, time.monotonic() - started)}"
                raise ProblemError(problem) from None

    def close(self) -> None:
        self.client.close()


@contextlib.contextmanager
def _explained(config: EntraConfig, cleanup: Callable[[], None] | None = None) -> Iterator[None]:
    """Whatever fails inside comes out as an explained ProblemError (network, TLS, a surprise);
    `cleanup` (closing msal's HTTP client) runs first on any failure."""
    try:
        yield
    except Exception as exc:
        if cleanup is not None:
            cleanup()
        if isinstance(exc, ProblemError):
            raise
        raise ProblemError(_transport(exc, config)) from None


def _build(
    config: EntraConfig, client_id: str, tenant: str, *, secret: str | None = None, cache: Any = None
) -> tuple[Any, _RecordingClient]:
    import msal  # noqa: PLC0415 - at the first sign-in or token: ~56 ms (benchmarks/imports.py)

    with _explained(config):  # e.g. a ca_bundle that is not a PEM file
        http = _RecordingClient(config)
    kwargs = {
        "authority": config.authority(tenant),
        "http_client": http,
        "token_cache": cache,
        "instance_discovery": False,
    }
    with _explained(config, http.close):
        try:
            if secret is not None:
                app = msal.ConfidentialClientApplication(client_id, client_credential=secret, **kwargs)
            else:
                app = msal.PublicClientApplication(client_id, **kwargs)
        except ValueError as exc:  # msal's word for a failed OIDC discovery: Entra's own answer says more
            if http.last_error:
                raise ProblemError(entra_problem(http.last_error)) from None
            raise ProblemError(
                Problem(
                    "Entra ID: tenant not usable",
                    f"Entra ID did not describe tenant {tenant!r}: {redact(str(exc))[:160]}",
                    "tenant_id",
                )
            ) from None
    return app, http


def _transport(exc: BaseException, config: EntraConfig) -> Problem:
    if isinstance(exc, httpx.HTTPError):
        return transport_problem(exc, "Entra ID", urlsplit(config.authority_host).netloc, "[azure] authority_host")
    if isinstance(exc, OSError) or "ssl" in type(exc).__module__:
        return Problem(
            "Entra ID: TLS or file problem", f"{type(exc).__name__}: {redact(str(exc))[:160]}. Check [azure] ca_bundle."
        )
    return Problem("Entra ID: unexpected failure", f"{type(exc).__name__}: {redact(str(exc))[:160]}")


def _answer_lost(exc: httpx.HTTPError, config: EntraConfig) -> Problem:
    """A token request that may have reached Entra ID, without an answer: what happened is unknown."""
    why = _transport(exc, config).result.removeprefix("Entra ID: ")
    return Problem(
        f"Entra ID: answer lost ({why})",
        "The request reached Entra ID, or may have, but no answer came back, so whether it was granted "
        "is unknown. kms-connect does not send a sign-in request twice on its own (a code works once, a "
        "refresh may replace the kept sign-in): check again, or for a sign-in, start it again.",
    )


def _token(
    result: dict[str, Any] | None,
    *,
    cache: Any = None,
    meta: dict[str, Any] | None = None,
) -> Token:
    if not result:
        raise ProblemError(
            Problem(
                "No saved sign-in",
                f"There is no usable sign-in for this connection. {REPLACE_CREDENTIALS} and sign in again.",
            )
        )
    if "access_token" not in result:
        raise ProblemError(entra_problem(result))
    access = result["access_token"]
    for key in ("access_token", "refresh_token", "id_token"):
        register_secret(result.get(key))
    blob = None
    if cache is not None and meta is not None and cache.has_state_changed:
        blob = SecretStr(json.dumps({**meta, "v": CACHE_VERSION, "msal": cache.serialize()}))
    return Token(SecretStr(access), jwt_claims(access), blob)


def client_credentials(config: EntraConfig, tenant: str, client_id: str, secret: str) -> Token:
    """The Client Secret method: a service principal's token for Azure DevOps."""
    app, http = _build(config, client_id, tenant, secret=secret)
    try:
        with _explained(config):
            return _token(app.acquire_token_for_client(scopes=[ADO_SCOPE]))
    finally:
        http.close()


def silent(config: EntraConfig, blob: str, app_secret: str | None = None) -> Token:
    """A token from the kept sign-in, refreshed when it is near expiry (msal's rule: < 5 min left)."""
    import msal  # noqa: PLC0415 - at the first sign-in or token: ~56 ms (benchmarks/imports.py)

    try:
        data = json.loads(blob)
        cache = msal.SerializableTokenCache()
        cache.deserialize(data["msal"])
        client_id, tenant, confidential = data["client_id"], data["tenant"], bool(data.get("confidential"))
    except (ValueError, KeyError, TypeError):
        raise ProblemError(
            Problem(
                "Saved sign-in unreadable",
                f"The kept sign-in cannot be read. {REPLACE_CREDENTIALS} and sign in again.",
            )
        ) from None
    if confidential and not app_secret:
        raise ProblemError(
            Problem(
                "App secret missing",
                "This sign-in was made with the app's client secret, "
                "which kms-connect no longer holds. Run kms-connect oauth-secret set, or sign in "
                "again with a device code.",
            )
        )
    app, http = _build(config, client_id, tenant, secret=app_secret if confidential else None, cache=cache)
    meta = {"client_id": client_id, "tenant": tenant, "confidential": confidential}
    try:
        with _explained(config):
            accounts = app.get_accounts()
            result = app.acquire_token_silent_with_error([ADO_SCOPE], accounts[0]) if accounts else None
            return _token(result, cache=cache, meta=meta)
    finally:
        http.close()


async def discover_tenant(http: Any, authority_host: str, domain: str, retry: RetryPolicy = DEFAULT_RETRY) -> str:
    """A tenant domain's GUID, from Entra's OIDC discovery document (no sign-in needed)."""

    url = f"{authority_host.rstrip('/')}/{domain}/v2.0/.well-known/openid-configuration"
    try:
        resp = await retrying(lambda: http.get(url, headers={"Accept": "application/json"}), retry, idempotent=True)
    except GaveUp as gave:
        problem = transport_problem(gave.error, "Entra ID", urlsplit(authority_host).netloc, "[azure] authority_host")
        problem.result += gave.suffix
        raise ProblemError(problem) from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code != 200:
        raise ProblemError(entra_problem(body if isinstance(body, dict) else {}))
    found = re.search(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        str(body.get("issuer") or body.get("token_endpoint") or ""),
    )
    if not found:
        raise ProblemError(
            Problem(
                "Tenant not resolved",
                f"Entra ID's discovery document for {domain} names "
                "no tenant ID. Type the Directory (tenant) ID, a GUID.",
                "tenant_id",
            )
        )
    return found.group(0)
