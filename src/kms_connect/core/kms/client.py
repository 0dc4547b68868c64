"""The instance's REST API: Universal Auth login, renewal, and requests with explained errors.

A failed login is never retried on its own: three failures lock the machine identity for every
program that uses it. After one, every call repeats that error until the operator asks again
(`reset_login`: Reload in the app).

A GET that fails on the network in a way that may pass is sent again (core/retry); a write (a
login, a create, an edit, a delete) only when it never reached the instance. When it may have, and
its answer was lost, `KmsOutcomeUnknown` says so: the backend then looks up what happened where it
can (core/kms/backend), and otherwise the operator is told plainly that the outcome is unknown.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from kms_connect.core import advice
from kms_connect.core.azure.explain import is_transient, not_sent, transport_problem
from kms_connect.core.errors import FieldErrors, InUse, KmsConnectError, NameTaken
from kms_connect.core.http import async_client
from kms_connect.core.instances import TOKEN_ENV, Instance
from kms_connect.core.redact import register_secret
from kms_connect.core.retry import DEFAULT_RETRY, GaveUp, RetryPolicy, retrying

RENEW_MARGIN = 300.0  # renew when less than this many seconds are left (or 10% of the lifetime)
PROJECTS, WORKSPACES = "/api/v1/projects", "/api/v1/workspace"  # the second: its name before the rename
ORG_WORKSPACES = "/api/v2/organizations/{}/workspaces"


class KmsApiError(KmsConnectError):
    """An answer the instance gave (or could not give), explained; carries the server's reqId."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        req_id: str = "",
        error: str = "",
        issues: list[tuple[str, str]] | None = None,
        server_message: str = "",
    ) -> None:
        KmsConnectError.__init__(self, message)  # not super(): the subclasses below mix in other errors
        self.status, self.req_id, self.error = status, req_id, error
        self.issues = issues or []  # (field path, message) from a 422
        self.server_message = server_message

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} (reqId {self.req_id})" if self.req_id else text


class KmsOutcomeUnknown(KmsApiError):
    """A write that reached the instance, or may have, whose answer was lost: done or not, unknown.
    `failure` is what went wrong on the network (e.g. "Hanzo KMS: connection reset")."""

    def __init__(self, message: str, *, failure: str) -> None:
        super().__init__(message)
        self.failure = failure


class OrgIdNeeded(KmsApiError):
    """The instance lists a machine identity's projects by organization only, and its organization ID
    is not set here (KmsClient.projects). `status` is the 403 that led there."""


def org_id_where(instance: Instance) -> str:
    """Where the operator sets an instance's organization ID, in words (a sentence's start)."""
    if instance.source == "config":
        return 'Add org_id = "…" to its [[instances]] table in the config file'
    return f"Enter it in kms-connect ({advice.EDIT_INSTANCE}), field Organization ID"


# What each write would have done, for the message when its answer is lost.
_DOING = {"login": "logged in", "renew": "renewed the token", "call": "made the change"}


class KmsFieldErrors(KmsApiError, FieldErrors):
    """A 422: the instance refused the request field by field (`issues`)."""


class KmsNameTaken(KmsApiError, NameTaken):
    """The instance already has an App Connection of that name."""

    def __init__(self, message: str, *, name: str, **answer: Any) -> None:
        super().__init__(message, **answer)
        self.detail, self.field, self.name = message, "name", name


class KmsInUse(KmsApiError, InUse):
    """The instance keeps the App Connection: something on it (a Secret Sync) uses it."""


# The instance says a name is taken only in words, a 400 BadRequest (kms-api.md, section 1): this is
# the one place that reads them.
_NAME_TAKEN = re.compile(r'An App Connection with the name "(?P<name>.*)" already exists')
# Its answer to deleting a connection a sync uses: a foreign key refused the delete, and the message
# says "connections" for what uses it (Infisical, app-connection-service deleteAppConnection).
_IN_USE = "Cannot delete App Connection with existing connections"


def _issues(message: Any) -> list[tuple[str, str]]:
    out = []
    for issue in message if isinstance(message, list) else []:
        if isinstance(issue, dict):
            path = ".".join(str(p) for p in issue.get("path") or []) or "(body)"
            out.append((path, str(issue.get("message") or issue.get("code") or "invalid")))
    return out


def api_error(status: int, body: Any, *, during: str) -> KmsApiError:
    """The instance's error body `{reqId, statusCode, message, error}`, in words."""
    body = body if isinstance(body, dict) else {}
    req_id, error, message = str(body.get("reqId") or ""), str(body.get("error") or ""), body.get("message")
    issues = _issues(message)
    server = "; ".join(f"{p}: {m}" for p, m in issues) if issues else str(message or "")
    if status == 422 and issues:
        text = f"The instance rejected the request ({len(issues)} field{'s' if len(issues) != 1 else ''}): {server}"
    elif "lock" in server.lower():  # before 401: the instance answers a lockout with a 401 too
        text = (
            f"The machine identity is locked out after failed logins ({server}). Wait for the lockout to end "
            f"or clear it on the instance, fix the Client Secret, then log in again in kms-connect ({advice.RELOAD})."
        )
    elif status == 401 and during == "login":
        text = (
            "The instance rejected the machine identity's Client ID or Client Secret. Check both under "
            "Access Control → Machine Identities → Universal Auth. kms-connect does not retry: three failed "
            "logins lock the identity for everyone who uses it."
        )
    elif status == 401:
        text = f"The instance did not accept the access token: {server or 'token missing'}."
    elif status == 403 and error in ("PermissionDenied",):
        text = (
            f"The machine identity lacks a permission: {server}. Give it the app-connections permission "
            "(organization role, or project membership) on the instance."
        )
    elif status == 403 and error == "TokenError":
        text = f"{server or 'The token expired.'} Log in again in kms-connect ({advice.RELOAD})."
    elif status == 403:
        text = (
            f"The instance refused this token ({server or error}). Use a machine identity (Universal Auth), "
            "not a service token."
        )
    elif status == 404:
        text = f"Not found on the instance: {server or 'unknown path'}. Is this a Hanzo KMS / Infisical API URL?"
    elif status == 400 and _IN_USE in server:
        text = (
            f"The instance refused the delete: “{server}” It keeps an App Connection while anything on it uses "
            "it (Secret Syncs, for one): delete those syncs or move them to another connection, then delete it."
        )
    elif status >= 500:
        text = f"The instance failed ({status}): {server or error}."
    else:
        text = server or f"The instance answered {status} {error}."
    answer: dict[str, Any] = {"status": status, "req_id": req_id, "error": error, "server_message": server}
    if status == 422 and issues:
        return KmsFieldErrors(text, issues=issues, **answer)
    if status == 400 and _IN_USE in server:
        return KmsInUse(text, **answer)
    if status == 400 and (taken := _NAME_TAKEN.fullmatch(server)):
        return KmsNameTaken(text, name=taken["name"], **answer)
    return KmsApiError(text, issues=issues, **answer)


class KmsClient:
    def __init__(
        self,
        instance: Instance,
        secret: Callable[[], str | None],
        *,
        timeout: Any = None,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self.instance = instance
        self.secret = secret  # blocking (keyring): called in a thread
        self.timeout = timeout
        self.retry = retry
        self._http: Any = None
        self._http_loop: Any = None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lifetime = 0.0
        self._login_error: KmsApiError | None = None
        self._login_lock: asyncio.Lock | None = None
        self.logged_in_as = ""
        self.listed_by_org = False  # projects() found only the organization's route answers (kept)

    # --- plumbing -----------------------------------------------------------------------------
    def http(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop or self._http.is_closed:
            self._http = async_client(self.instance.ca_bundle, self.timeout)
            self._http_loop, self._login_lock = loop, asyncio.Lock()
        return self._http

    async def aclose(self) -> None:
        if self._http is not None and self._http_loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = None

    async def _send(
        self,
        method: str,
        path: str,
        *,
        during: str,
        token: str | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        problem = self.instance.transport_problem()
        if problem:
            raise KmsApiError(problem)
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        http, url, reads = self.http(), self.instance.url + path, method == "GET"

        def send() -> Any:
            return http.request(method, url, headers=headers, json=json, params=params)

        try:
            resp = await retrying(send, self.retry, idempotent=reads)
        except GaveUp as gave:
            p = transport_problem(gave.error, "Hanzo KMS", urlsplit(self.instance.url).netloc, "the instance's url")
            if not reads and is_transient(gave.error) and not not_sent(gave.error):  # it may have arrived
                raise KmsOutcomeUnknown(
                    f"{p.result}: the request was sent, or may have been, but no answer came back, so "
                    f"whether the instance {_DOING.get(during, 'made the change')} is unknown.",
                    failure=p.result,
                ) from None
            raise KmsApiError(f"{p.result}{gave.suffix}. {p.explanation}") from None
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code >= 400:
            raise api_error(resp.status_code, body, during=during)
        if body is None:
            raise KmsApiError(
                f"{self.instance.url} answered {resp.status_code} without JSON: is this the API URL "
                "of a Hanzo KMS instance?",
                status=resp.status_code,
            )
        return body

    # --- auth ---------------------------------------------------------------------------------
    def reset_login(self) -> None:
        """The operator asks to try again after a failed login (never done automatically)."""
        self._login_error = None
        self._token, self._expires_at = None, 0.0

    async def token(self) -> str:
        env = os.environ.get(TOKEN_ENV, "").strip()
        if env:
            register_secret(env)
            return env
        self.http()
        assert self._login_lock is not None
        async with self._login_lock:  # one login for all the screen's concurrent calls
            if self._login_error is not None:
                raise self._login_error
            left = self._expires_at - time.time()
            if self._token and left > max(RENEW_MARGIN, self._lifetime * 0.1):
                return self._token
            if self._token and left > 0:
                try:
                    return await self._renew(self._token)
                except KmsApiError:
                    pass  # a renewal that fails falls back to one login
            return await self._login()

    async def _login(self) -> str:
        if not self.instance.client_id:
            raise KmsApiError(
                f"Instance {self.instance.name!r} has no machine identity (client_id) and {TOKEN_ENV} is not set."
            )
        secret = await asyncio.to_thread(self.secret)
        if not secret:
            raise KmsApiError(
                f"The Client Secret of {self.instance.name!r}'s machine identity is not in the "
                f"secret store: enter it in kms-connect ({advice.EDIT_INSTANCE})."
            )
        body: dict[str, str] = {"clientId": self.instance.client_id, "clientSecret": secret}
        if self.instance.organization_slug:
            body["organizationSlug"] = self.instance.organization_slug
        try:
            answer = await self._send("POST", "/api/v1/auth/universal-auth/login", during="login", json=body)
        except KmsApiError as exc:
            if exc.status is not None and exc.status < 500:
                self._login_error = exc  # never again on its own: lockout after three failures
            raise
        return self._took(answer)

    async def _renew(self, token: str) -> str:
        answer = await self._send("POST", "/api/v1/auth/token/renew", during="renew", json={"accessToken": token})
        return self._took(answer)

    def _took(self, answer: Any) -> str:
        token = str(answer.get("accessToken") or "")
        if not token:
            raise KmsApiError("The instance's login answer had no accessToken.")
        register_secret(token)
        self._lifetime = float(answer.get("expiresIn") or 0)
        # A TTL of 0 means the token does not expire: logging in again each call would use up the
        # Client Secret's use limit.
        expires = time.time() + self._lifetime if self._lifetime > 0 else float("inf")
        self._token, self._expires_at = token, expires
        return token

    async def call(self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None) -> Any:
        try:
            return await self._send(method, path, during="call", token=await self.token(), json=json, params=params)
        except KmsApiError as exc:
            if exc.status == 401 or exc.error == "TokenError":
                self._token, self._expires_at = None, 0.0  # dead token: the next action logs in afresh
            raise

    async def projects(self) -> list[dict[str, Any]]:
        """The instance's projects ({id, name, slug, environments, …}), from the first route that answers:
        /api/v1/projects; when it is 404, /api/v1/workspace (its name before); when that refuses a
        machine identity (403: an Infisical of September 2024 takes only a user's login there),
        /api/v2/organizations/{org_id}/workspaces, which is then asked straight away (`listed_by_org`).

        That last route needs the organization's ID, and on such an instance the identity cannot
        learn it, so the operator sets it (`Instance.org_id`, from the instance's Organization
        Settings); without it, `OrgIdNeeded` says so and where. Why it cannot be learnt: the access
        token's payload holds identityId, clientSecretId, identityAccessTokenId and authTokenType, no
        organization, and neither does the login's answer; GET /api/v1/organization takes a user's
        login only; the one route from an identity to its organization, GET /api/v1/identities/{id},
        needs the organization-level permission to read identities, which an identity made for syncs
        should not need. (Infisical's Raycast extension, on this same route, asks for the ID too.)
        The server does not refuse a wrong ID: it lists nothing, which the caller says.
        """
        if not self.listed_by_org:
            try:
                return list((await self.call("GET", PROJECTS)).get("projects") or [])
            except KmsApiError as exc:
                if exc.status != 404:
                    raise
            try:
                return list((await self.call("GET", WORKSPACES)).get("workspaces") or [])
            except KmsApiError as exc:
                if exc.status != 403 or exc.error in ("TokenError", "PermissionDenied"):
                    raise  # an expired token or a missing permission is not the route's age
            self.listed_by_org = True
        org = self.instance.org_id
        if not org:
            raise OrgIdNeeded(
                f"The instance {self.instance.name} lists a machine identity's projects only by organization, "
                f"as instances of September 2024 do ({WORKSPACES} refuses the identity), and does not tell the "
                "identity which organization it is in: this older instance needs its organization ID set here. "
                f"{org_id_where(self.instance)}; the instance's web UI shows it under Organization Settings.",
                status=403,
            )
        answer = await self.call("GET", ORG_WORKSPACES.format(quote(org, safe="")))
        return list(answer.get("workspaces") or [])
