"""Azure DevOps REST calls (through core/http's ProbeClient): the probes that prove what a credential
can read, and the writes of the write proof (core/write_proof).

Every call sends `Accept: application/json` and `X-TFS-FedAuthRedirect: Suppress` (without it a
bad credential gets a 203 sign-in page) and never follows redirects. A probe is a GET, so it is
safe to send again: 429 waits for Retry-After, and a 5xx or a network failure that may pass (reset,
refused, timeout: explain.is_transient) backs off, each a bounded number of times; the caller
hears about every wait, and a failure after the last try says how many were made over how long.
A write is sent again on the same terms only when its answer says the whole outcome (PUT, DELETE);
a POST is sent once (`send`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

import httpx
from pydantic import SecretStr

from kms_connect.core.azure.devops_explain import DevOpsAnswer, devops_problem
from kms_connect.core.azure.explain import Problem, ProblemError, is_transient, transport_problem, tries_text
from kms_connect.core.probe_client import ProbeClient
from kms_connect.core.retry import DEFAULT_RETRY, RetryPolicy

__all__ = ["MSA_TENANT", "DevOpsClient", "DevOpsProject", "RetryPolicy", "answer_of", "bearer_header", "pat_header"]

API_VERSION = "7.1"
PAGE_SIZE = 100  # projects a page
MAX_PAGES = 50  # 5,000 projects: an end to a server that keeps sending continuation tokens
MSA_TENANT = "00000000-0000-0000-0000-000000000000"


def pat_header(pat: str) -> str:
    """Basic auth with an empty user name and the PAT as password."""
    return "Basic " + base64.b64encode(f":{pat}".encode()).decode()


def bearer_header(token: str) -> str:
    return f"Bearer {token}"


def answer_of(resp: httpx.Response) -> DevOpsAnswer:
    ctype = resp.headers.get("content-type", "")
    message, type_key = "", ""
    if "json" in ctype:
        try:
            body = resp.json()
            if isinstance(body, dict):
                message, type_key = str(body.get("message") or ""), str(body.get("typeKey") or "")
        except ValueError:
            pass
    if not message and resp.headers.get("x-tfs-serviceerror"):
        message = unquote_plus(resp.headers["x-tfs-serviceerror"])
    return DevOpsAnswer(
        status=resp.status_code,
        content_type=ctype,
        message=message[:300],
        type_key=type_key,
        tenant=resp.headers.get("x-vss-resourcetenant"),
        retry_after=resp.headers.get("retry-after"),
        activity_id=resp.headers.get("activityid", ""),
    )


@dataclass(frozen=True)
class DevOpsProject:
    name: str
    id: str


class DevOpsClient:
    """Probes of one organization with one credential (or none, for the tenant lookup)."""

    def __init__(
        self,
        client: ProbeClient,
        devops_url: str,
        release_url: str,
        org: str,
        auth: SecretStr | None,
        *,
        bearer: bool,
        retry: RetryPolicy = DEFAULT_RETRY,
        on_wait: Callable[[str, str], None] | None = None,
    ) -> None:
        self.client = client
        self.base = f"{devops_url.rstrip('/')}/{quote(org)}"
        self.release_base = f"{release_url.rstrip('/')}/{quote(org)}"
        self.org = org
        self.auth = auth
        self.bearer = bearer
        self.retry = retry
        self.on_wait = on_wait  # (step key, message): shown live while waiting

    async def get(self, url: str, *, step: str, authenticated: bool = True) -> httpx.Response:
        headers = {"Accept": "application/json", "X-TFS-FedAuthRedirect": "Suppress"}
        if authenticated and self.auth is not None:
            headers["Authorization"] = self.auth.get_secret_value()
        return await self._send("GET", url, step, headers, None, resend=True)

    async def _send(
        self,
        method: str,
        url: str,
        step: str,
        headers: dict[str, str],
        body: dict[str, Any] | None,
        *,
        resend: bool,
    ) -> httpx.Response:
        """`resend`: whether a network failure that may pass is tried again (never for a POST)."""
        content = json.dumps(body).encode() if body is not None else None
        waits_429 = retries = tries = 0
        started = time.monotonic()
        while True:
            tries += 1
            try:
                if method == "GET":
                    resp = await self.client.get(url, headers=headers)
                else:
                    resp = await self.client.request(method, url, headers=headers, content=content)
            except httpx.HTTPError as exc:
                problem = transport_problem(
                    exc, "Azure DevOps", urlsplit(url).netloc, "[azure] devops_url / release_url"
                )
                if resend and is_transient(exc) and retries < self.retry.max_retries:
                    wait = self.retry.wait(retries)
                    retries += 1
                    self._tell(step, f"{problem.result}: retry {retries} of {self.retry.max_retries} in {wait:g} s")
                    await asyncio.sleep(wait)
                    continue
                if tries > 1:
                    problem.result += f", {tries_text(tries, time.monotonic() - started)}"
                raise ProblemError(problem) from None
            if resp.status_code == 429 and waits_429 < self.retry.max_429:
                wait = _seconds(resp.headers.get("retry-after"), 1.0)
                if wait > self.retry.max_wait:
                    return resp
                waits_429 += 1
                self._tell(
                    step,
                    f"Rate limited (429): waiting {wait:g} s as Azure DevOps asks (Retry-After), "
                    f"retry {waits_429} of {self.retry.max_429}",
                )
                await asyncio.sleep(wait)
                continue
            if resend and resp.status_code >= 500 and retries < self.retry.max_retries:
                wait = self.retry.wait(retries)
                retries += 1
                self._tell(
                    step,
                    f"Azure DevOps error {resp.status_code}: retry {retries} of {self.retry.max_retries} in {wait:g} s",
                )
                await asyncio.sleep(wait)
                continue
            return resp

    def _tell(self, step: str, message: str) -> None:
        if self.on_wait is not None:
            self.on_wait(step, message)

    def _fail(self, resp: httpx.Response, what: str) -> ProblemError:
        return ProblemError(devops_problem(answer_of(resp), what, org=self.org, bearer=self.bearer))

    def _json(self, resp: httpx.Response, what: str) -> dict[str, Any]:
        ctype = resp.headers.get("content-type", "")
        if resp.status_code != 200 or "json" not in ctype:
            raise self._fail(resp, what)
        try:
            body = resp.json()
        except ValueError:
            raise ProblemError(
                Problem(
                    f"{what}: unreadable answer",
                    "Azure DevOps sent JSON that cannot be read. A proxy in between may be rewriting answers.",
                )
            ) from None
        return body if isinstance(body, dict) else {}

    # --- probes -----------------------------------------------------------------------------
    async def resource_tenant(self) -> str:
        """The Entra tenant behind the organization, from an unauthenticated call (all zeros: MSA)."""
        resp = await self.get(f"{self.base}/_apis/connectionData", step="org", authenticated=False)
        tenant: str | None = resp.headers.get("x-vss-resourcetenant")
        if tenant:
            return tenant.lower()
        if resp.status_code == 404:
            raise ProblemError(
                Problem(
                    f"No organization named “{self.org}”",
                    f"{urlsplit(self.base).netloc} knows no organization “{self.org}”. Check the spelling: it is "
                    "the <name> in https://dev.azure.com/<name>.",
                    "org_name",
                )
            )
        if resp.status_code == 429 or resp.status_code >= 500:
            raise self._fail(resp, "connection")
        # No credential was sent, so whatever this is, it is not about the credentials.
        raise ProblemError(
            Problem(
                f"Organization not recognised ({resp.status_code})",
                f"{urlsplit(self.base).netloc} answered without naming the Entra tenant of “{self.org}”: this is "
                "not an Azure DevOps organization address. Check the organization name and [azure] devops_url.",
                "org_name",
            )
        )

    async def connection_data(self) -> tuple[str, str]:
        """(display name, account) of the identity the credential authenticates as."""
        body = self._json(await self.get(f"{self.base}/_apis/connectionData", step="credentials"), "connection")
        user = body.get("authenticatedUser") or {}
        name = str(user.get("providerDisplayName") or "")
        account = str(((user.get("properties") or {}).get("Account") or {}).get("$value") or "")
        if not name and not account:
            raise ProblemError(
                Problem(
                    "Not authenticated",
                    "Azure DevOps answered as to an anonymous caller: the credentials were not accepted.",
                    None if self.bearer else "access_token",
                )
            )
        return name, account

    async def projects(self, *, step: str = "projects") -> list[DevOpsProject]:
        """Every project the credential sees: all pages (Azure DevOps gives the next page's token in
        `x-ms-continuationtoken`), at most MAX_PAGES of PAGE_SIZE."""
        out: list[DevOpsProject] = []
        token = ""
        for _ in range(MAX_PAGES):
            url = f"{self.base}/_apis/projects?api-version={API_VERSION}&$top={PAGE_SIZE}"
            if token:
                url += f"&continuationToken={quote(token)}"
            resp = await self.get(url, step=step)
            body = self._json(resp, "Projects")
            out += [
                DevOpsProject(str(p["name"]), str(p.get("id") or ""))
                for p in body.get("value") or []
                if isinstance(p, dict) and p.get("name")
            ]
            token = resp.headers.get("x-ms-continuationtoken", "")
            if not token:
                break
        return out

    async def send(self, method: str, url: str, *, step: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """A write (POST, PUT, DELETE). A POST is sent once: after a network failure whether it was
        carried out is unknown, and the caller looks (a create is looked up by its name). PUT and
        DELETE say the whole outcome, so they are tried again as a GET is."""
        headers = {"Accept": "application/json", "X-TFS-FedAuthRedirect": "Suppress"}
        if self.auth is not None:
            headers["Authorization"] = self.auth.get_secret_value()
        if body is not None:
            headers["Content-Type"] = "application/json"
        return await self._send(method, url, step, headers, body, resend=method != "POST")

    async def count(self, step: str, what: str, path: str, project: str, *, release: bool = False) -> int:
        base = self.release_base if release else self.base
        url = f"{base}/{quote(project)}/_apis/{path}?api-version={API_VERSION}"
        body = self._json(await self.get(url, step=step), what)
        return int(body.get("count", len(body.get("value") or [])))


def _seconds(value: str | None, default: float) -> float:
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default
