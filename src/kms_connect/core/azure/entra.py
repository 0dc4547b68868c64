"""Microsoft Entra ID through msal: client credentials, device code, redirect paste-back, refresh.

Every function here blocks (msal does network I/O even in its constructors), so callers run them
in threads. msal talks through our own httpx client (core/http), which honours `ca_bundle` and the
proxy variables and is immune to REQUESTS_CA_BUNDLE overriding `verify`. A fresh msal app is built
for every attempt: msal replays a POST that got HTTP 400 from memory for 60 s, which would hide a
fix the operator just made in the portal.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import SecretStr

from kms_connect.core.azure.explain import Problem, ProblemError, entra_problem, transport_problem
from kms_connect.core.http import sync_client
from kms_connect.core.redact import redact, register_secret

ADO_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"
CACHE_VERSION = 1


@dataclass(frozen=True)
class EntraConfig:
    authority_host: str
    ca_bundle: Any = None  # Path | None

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
        return self._record(self.client.get(url, **kw))

    def post(self, url: str, **kw: Any) -> Any:
        self.posts += 1
        return self._record(self.client.post(url, **kw))

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
    import msal  # noqa: PLC0415 - loaded at first sign-in or token: ~79 ms (benchmarks/imports.py)

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


def _token(
    result: dict[str, Any] | None,
    *,
    secret_typed: str | None = None,
    cache: Any = None,
    meta: dict[str, Any] | None = None,
) -> Token:
    if not result:
        raise ProblemError(
            Problem(
                "No saved sign-in",
                "There is no usable sign-in for this connection. Replace the credentials (c) and sign in again.",
            )
        )
    if "access_token" not in result:
        raise ProblemError(entra_problem(result, secret_typed=secret_typed))
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
            return _token(app.acquire_token_for_client(scopes=[ADO_SCOPE]), secret_typed=secret)
    finally:
        http.close()


@dataclass
class _Session:
    """What a sign-in in progress holds on to (never shown: the flow and cache hold secrets)."""

    app: Any
    http: _RecordingClient
    flow: dict[str, Any]
    cache: Any
    meta: dict[str, Any]
    config: EntraConfig

    def token(self, result: dict[str, Any] | None) -> Token:
        return _token(result, cache=self.cache, meta=self.meta)


@dataclass
class DeviceSignIn:
    """A device-code sign-in in progress: show `user_code` and `verification_uri`, then `wait()`."""

    user_code: str
    verification_uri: str
    expires_at: float
    interval: int
    message: str
    _s: _Session = field(repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def polls_sent(self) -> int:
        """How many times Entra ID has been asked so far."""
        return max(0, self._s.http.posts - 1)  # the first POST asked for the code

    @property
    def poll_interval(self) -> int:
        """msal's current interval (Entra's `slow_down` adds 5 s)."""
        return int(self._s.flow.get("interval", self.interval))

    def cancel(self) -> None:
        """Stops `wait()` within about a second (msal checks its exit condition every second)."""
        self._cancel.set()
        self._s.flow["expires_at"] = 0

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def close(self) -> None:
        """For a sign-in dropped before `wait()` (which closes on its own)."""
        self._s.http.close()

    def wait(self, should_stop: Callable[[], bool] | None = None) -> Token:
        """Poll until signed in; `should_stop` (e.g. the worker's is_cancelled) is asked every second."""

        def done(flow: dict[str, Any]) -> bool:
            if should_stop is not None and should_stop():
                self._cancel.set()
            return self._cancel.is_set() or flow.get("expires_at", 0) < time.time()

        try:
            with _explained(self._s.config):
                result = self._s.app.acquire_token_by_device_flow(self._s.flow, exit_condition=done)
        finally:
            self._s.http.close()
        if self._cancel.is_set():
            raise SignInCancelled()
        if result.get("error") == "authorization_pending":  # the poll loop ran out of time
            result = {**result, "error": "expired_token", "error_codes": [70019]}
        return self._s.token(result)


class SignInCancelled(Exception):
    """The operator cancelled a sign-in."""


def start_device_flow(config: EntraConfig, client_id: str, tenant: str) -> DeviceSignIn:
    import msal  # noqa: PLC0415 - loaded at first sign-in or token: ~79 ms (benchmarks/imports.py)

    cache = msal.SerializableTokenCache()
    app, http = _build(config, client_id, tenant, cache=cache)
    with _explained(config, http.close):
        flow = app.initiate_device_flow(scopes=[ADO_SCOPE])
    if "user_code" not in flow:
        http.close()
        raise ProblemError(entra_problem(flow))
    meta = {"client_id": client_id, "tenant": tenant, "confidential": False}
    return DeviceSignIn(
        flow["user_code"],
        flow["verification_uri"],
        float(flow["expires_at"]),
        int(flow.get("interval", 5)),
        flow.get("message", ""),
        _Session(app, http, flow, cache, meta, config),
    )


@dataclass
class RedirectSignIn:
    """A browser sign-in elsewhere: show `auth_uri`, then `complete()` with what the operator pasted."""

    auth_uri: str
    redirect_uri: str
    state: str
    confidential: bool
    _s: _Session = field(repr=False)

    def complete(self, pasted: str) -> Token:
        response = parse_pasted(pasted, self.state, self.redirect_uri)
        with _explained(self._s.config):
            try:
                # msal pops keys from the flow: give it a copy so a second paste can retry.
                result = self._s.app.acquire_token_by_auth_code_flow(dict(self._s.flow), response, scopes=[ADO_SCOPE])
            except ValueError as exc:
                raise ProblemError(Problem("Address not accepted", redact(str(exc))[:200], "pasted")) from None
        return self._s.token(result)

    def close(self) -> None:
        self._s.http.close()


def start_redirect(
    config: EntraConfig, client_id: str, tenant: str, redirect_uri: str, app_secret: str | None
) -> RedirectSignIn:
    """With the app's secret this is a confidential client (a Web redirect URI); without, a public one."""
    import msal  # noqa: PLC0415 - loaded at first sign-in or token: ~79 ms (benchmarks/imports.py)

    cache = msal.SerializableTokenCache()
    app, http = _build(config, client_id, tenant, secret=app_secret, cache=cache)
    state = secrets.token_urlsafe(16)
    with _explained(config, http.close), warnings.catch_warnings():
        # Paste-back cannot use form_post: the code would travel in a POST body nobody can copy.
        warnings.filterwarnings("ignore", message=".*form_post.*", category=UserWarning)
        flow = app.initiate_auth_code_flow([ADO_SCOPE], redirect_uri=redirect_uri, state=state)
    meta = {"client_id": client_id, "tenant": tenant, "confidential": app_secret is not None}
    return RedirectSignIn(
        flow["auth_uri"], redirect_uri, state, app_secret is not None, _Session(app, http, flow, cache, meta, config)
    )


def parse_pasted(pasted: str, state: str, redirect_uri: str) -> dict[str, str]:
    """The query of the address the browser landed on, or a bare code; errors say what to paste."""
    text = pasted.strip()
    if not text:
        raise ProblemError(Problem("Nothing pasted", "Paste the address of the page the browser landed on.", "pasted"))
    if "://" not in text and "=" not in text and " " not in text:
        register_secret(text)
        return {"code": text, "state": state}  # a bare code
    parts = urlsplit(text if "://" in text else "x://x/" + text.lstrip("?"))
    params = dict(parse_qsl(parts.query)) | dict(parse_qsl(parts.fragment))
    if "error" in params:
        return {**params, "state": params.get("state", state)}
    if "code" not in params:
        raise ProblemError(
            Problem(
                "No code in this address",
                f"This address has no code=… in it. Paste the address of the page you land on after signing in: it "
                f"starts with {redirect_uri}. If the browser moved on to another page, find that address in its "
                "history.",
                "pasted",
            )
        )
    if params.get("state") != state:
        raise ProblemError(
            Problem(
                "Address from another sign-in (state mismatch)",
                "This address belongs to a different sign-in: its state does not match the one started here. Open "
                "the URL shown here, sign in, and paste the address you land on.",
                "pasted",
            )
        )
    register_secret(params["code"])
    return params


def silent(config: EntraConfig, blob: str, app_secret: str | None = None) -> Token:
    """A token from the kept sign-in, refreshed when it is near expiry (msal's rule: < 5 min left)."""
    import msal  # noqa: PLC0415 - loaded at first sign-in or token: ~79 ms (benchmarks/imports.py)

    try:
        data = json.loads(blob)
        cache = msal.SerializableTokenCache()
        cache.deserialize(data["msal"])
        client_id, tenant, confidential = data["client_id"], data["tenant"], bool(data.get("confidential"))
    except (ValueError, KeyError, TypeError):
        raise ProblemError(
            Problem(
                "Saved sign-in unreadable",
                "The kept sign-in cannot be read. Replace the credentials (c) and sign in again.",
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


async def discover_tenant(http: Any, authority_host: str, domain: str) -> str:
    """A tenant domain's GUID, from Entra's OIDC discovery document (no sign-in needed)."""

    url = f"{authority_host.rstrip('/')}/{domain}/v2.0/.well-known/openid-configuration"
    try:
        resp = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProblemError(
            transport_problem(exc, "Entra ID", urlsplit(authority_host).netloc, "[azure] authority_host")
        ) from None
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
