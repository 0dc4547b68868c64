"""Interactive sign-ins to Microsoft Entra ID through msal: device code, and redirect paste-back.

They build their msal apps, explain failures and read tokens with core/azure/entra's helpers, and
block like everything there (msal does network I/O), so callers run them in threads.
"""

from __future__ import annotations

import secrets
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kms_connect.core.azure.entra import (
    ADO_SCOPE,
    EntraConfig,
    Token,
    _build,
    _explained,
    _RecordingClient,
    _token,
)
from kms_connect.core.azure.explain import Problem, ProblemError, entra_problem
from kms_connect.core.redact import redact, register_secret


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
    import msal  # noqa: PLC0415 - at the first sign-in or token: ~56 ms (benchmarks/imports.py)

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
    import msal  # noqa: PLC0415 - at the first sign-in or token: ~56 ms (benchmarks/imports.py)

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
