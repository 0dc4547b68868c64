"""The live check: a connection's credentials tried against Entra ID and Azure DevOps, step by step.

Steps that do not depend on each other run concurrently, so a check costs about one round trip per
dependency level: (Entra token ∥ organization) → (credentials ∥ projects) → (the three project
reads). Every step reports pending → running → ok/failed/warning/skipped with a short result, an
explanation and its duration, through `listener`, as it happens.

Every check ends by its deadline (`[status] check_timeout`): then the steps still waiting fail as
"no answer in time" and those not started are not run, so nothing after them is claimed. msal's
blocking calls run in threads the check does not wait for past that (core/threads).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import SecretStr

from kms_connect.core.azure.devops import DevOpsClient, DevOpsProject, bearer_header, pat_header
from kms_connect.core.azure.entra import EntraConfig, Token, discover_tenant
from kms_connect.core.azure.explain import Problem, ProblemError
from kms_connect.core.check_steps import (
    NOT_IN_TIME,
    PROJECT_READS,
    TARGET,
    WRITE_NOTE,
    out_of_time,
    step_keys,
    summarize,
)
from kms_connect.core.check_target import CheckRun, CheckTarget
from kms_connect.core.config import Settings
from kms_connect.core.methods import TokenRequest
from kms_connect.core.models import CheckStep, ProjectProof
from kms_connect.core.probe_client import probe_client
from kms_connect.core.probe_record import ProbeRecord
from kms_connect.core.project_reads import project_read, target_reads
from kms_connect.core.redact import redact
from kms_connect.core.retry import DEFAULT_RETRY, RetryPolicy
from kms_connect.core.status import StepState
from kms_connect.core.tenant_check import org_in_tenant
from kms_connect.core.validation import is_guid
from kms_connect.core.write_proof import Target, WriteProof, cleanup_keys, proof_keys

Listener = Callable[[CheckStep], None]
log = logging.getLogger(__name__)

# A check has at most this many requests in flight: org, a tenant domain's discovery, credentials, projects.
MAX_IN_FLIGHT = 4
# An organization's tenant (a public fact, the same for every credential) is asked once for all the
# checks of that organization within this many seconds: a `V` over 500 connections of one
# organization asks once, not 500 times, and a periodic round (30 s apart at least) asks afresh.
# Failures are not kept: the next check asks again.
ORG_LOOKUP_TTL = 20.0


class LiveChecker:
    """Runs checks. One instance serves the whole app (forms and the check runner), with one pooled
    HTTP client and the organizations' tenants asked so far."""

    def __init__(
        self,
        settings: Settings,
        *,
        app_secret: Callable[[], str | None] = lambda: None,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: Any = None,
        check_timeout: float | None = None,
    ) -> None:
        self.settings = settings
        self.timeout = timeout  # httpx.Timeout; None: core/http's defaults
        # Seconds a whole check may take; None: [status] check_timeout (tests pass less than it allows).
        self.check_timeout = check_timeout or settings.status.check_timeout
        self._http: Any = None  # one pooled client: re-checks reuse its TLS connections
        self.entra = EntraConfig(settings.azure.authority_host, settings.azure.ca_bundle, retry)
        self.app_secret = app_secret
        self.retry = retry
        self._tenants: dict[str, tuple[float, asyncio.Future[str]]] = {}  # organization URL → (asked at, answer)

    def http(self) -> Any:
        """The shared HTTP client (made on first use, in the event loop that runs the checks)."""
        if self._http is None or self._http.is_closed:
            # Room for every request of [status] concurrency checks at once, so none waits for a
            # connection and every one is kept alive for the next check.
            self._http = probe_client(
                self.settings.azure.ca_bundle,
                self.timeout,
                connections=MAX_IN_FLIGHT * self.settings.status.concurrency,
            )
        return self._http

    async def resource_tenant(self, anon: DevOpsClient) -> str:
        """The organization's Entra tenant, shared by the checks of that organization (ORG_LOOKUP_TTL)."""
        key, now = anon.base, asyncio.get_running_loop().time()
        hit = self._tenants.get(key)
        if hit is None or (hit[1].done() and now - hit[0] > ORG_LOOKUP_TTL):
            task = asyncio.ensure_future(anon.resource_tenant())
            hit = self._tenants[key] = (now, task)

            def forget_failure(done: asyncio.Future[str]) -> None:
                entry = self._tenants.get(key)
                if (done.cancelled() or done.exception() is not None) and entry is not None and entry[1] is done:
                    del self._tenants[key]

            task.add_done_callback(forget_failure)
        return await asyncio.shield(hit[1])  # one check cancelled does not cancel the others' answer

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        self._http = None

    async def projects(self, target: CheckTarget) -> list[str]:
        """Every project the credentials see (all pages), for the target-project picker. Raises
        ProblemError, in words, when they cannot be listed."""
        return list(await self.project_ids(target))

    async def project_ids(self, target: CheckTarget) -> dict[str, str]:
        """name -> id of every project the credentials see (a sync's destination names both)."""
        run = _Run(self, target, None)
        async with asyncio.timeout(self.check_timeout):
            if run.spec.token is not None:
                await run._token()  # the check's own way to its token
            auth, bearer = run.auth()
            return {p.name: p.id for p in await run.client(self.http(), auth, bearer=bearer).projects()}

    async def run(
        self,
        target: CheckTarget,
        listener: Listener | None = None,
        *,
        record: ProbeRecord | None = None,
        connection_id: str = "",
    ) -> CheckRun:
        """`record`, `connection_id`: where a write proof (target.prove_write) keeps the probe groups
        that may be left (core/probe_record); a draft's proof may go without."""
        return await _Run(self, target, listener, record, connection_id).go()


class _Run:
    def __init__(
        self,
        checker: LiveChecker,
        target: CheckTarget,
        listener: Listener | None,
        record: ProbeRecord | None = None,
        connection_id: str = "",
    ) -> None:
        self.c, self.t, self.listener = checker, target, listener
        self.spec = target.method.spec
        keys = step_keys(self.spec.check_steps, target.target_projects)
        self.record, self.connection_id = record, connection_id
        self.recorded = record.of(connection_id) if record is not None and target.prove_write else []
        if target.prove_write:  # the proof's lines in place of "not proven"
            del keys["write"]
            keys.update(cleanup_keys(self.recorded))
            keys.update(proof_keys(target.target_projects))
        self.steps = {k: CheckStep(key=k, title=title) for k, title in keys.items()}
        self.writes = tuple(k for k in self.steps if k == "write" or k.startswith(("proof:", "cleanup:")))
        self.existing: dict[str, int] = {}  # variable groups each target project already holds
        self.proofs: list[ProjectProof] | None = None
        self.reads = tuple(k for k in self.steps if k in PROJECT_READS or k.startswith(TARGET))
        self.token: Token | None = None
        self.deadline: asyncio.Timeout | None = None

    def emit(self, key: str, **changes: Any) -> None:
        step = self.steps[key]
        for name, value in changes.items():
            setattr(step, name, value)
        if self.listener is not None:
            self.listener(step.model_copy())

    def note(self, key: str, message: str) -> None:
        """A live message on a running step (e.g. waiting for Retry-After)."""
        self.emit(key, result=message)

    async def step(self, key: str, work: Callable[[], Awaitable[tuple[StepState, str, str]]]) -> bool:
        start = time.perf_counter()
        self.emit(key, state=StepState.RUNNING, result="")
        try:
            state, result, explanation = await work()
            field = None
        except ProblemError as exc:
            p = exc.problem
            state = StepState.WARNING if p.warning else StepState.FAILED
            result, explanation, field = p.result, p.text(), p.field
        except asyncio.CancelledError:
            took = round((time.perf_counter() - start) * 1000)
            if self.deadline is not None and self.deadline.expired():  # not the operator: the deadline
                result, explanation = out_of_time(self.steps[key], self.c.check_timeout)
                self.emit(key, state=StepState.FAILED, result=result, explanation=explanation, duration_ms=took)
            else:
                self.emit(key, state=StepState.CANCELLED, result="Cancelled", duration_ms=took)
            raise
        except Exception as exc:  # noqa: BLE001 - a surprise (keyring, odd JSON): this step failed, the others go on
            log.warning("check step %s failed unexpectedly: %s", key, type(exc).__name__)
            state, field = StepState.FAILED, None
            result = f"Unexpected failure: {type(exc).__name__}"
            explanation = redact(str(exc))[:200] or "No details. Run with --debug and see the log."
        self.emit(
            key,
            state=state,
            result=result,
            explanation=explanation,
            field=field,
            duration_ms=round((time.perf_counter() - start) * 1000),
        )
        log.debug("check %s/%s: %s %s · %s", self.t.org_name, key, state.value, result, explanation)
        return state in (StepState.OK, StepState.WARNING)

    def _out_of_time(self) -> None:
        """At the deadline: a step still running failed (in case its own handler did not get to say
        so), and those that had not started are not run."""
        for step in self.steps.values():
            if step.state is StepState.RUNNING:
                result, explanation = out_of_time(step, self.c.check_timeout)
                self.emit(step.key, state=StepState.FAILED, result=result, explanation=explanation)
        self.skip(tuple(self.steps), NOT_IN_TIME)

    def skip(self, keys: tuple[str, ...], why: str) -> None:
        for key in keys:
            if not self.steps[key].state.done:
                self.emit(key, state=StepState.SKIPPED, result=why)

    async def go(self) -> CheckRun:
        started = time.perf_counter()
        for key in self.steps:
            self.emit(key)
        try:
            async with asyncio.timeout(self.c.check_timeout) as self.deadline:
                await self._checks(self.c.http())
        except TimeoutError:
            if self.deadline is None or not self.deadline.expired():
                raise
            self._out_of_time()
        except asyncio.CancelledError:
            for step in self.steps.values():
                if not step.state.done:
                    self.emit(step.key, state=StepState.CANCELLED, result="Cancelled")
            raise
        result = summarize(list(self.steps.values()), round((time.perf_counter() - started) * 1000), self.proofs)
        cache = self.token.cache_blob if self.token else None
        return CheckRun(result, cache)

    def client(self, http: Any, auth: SecretStr | None = None, *, bearer: bool = False) -> DevOpsClient:
        a = self.c.settings.azure
        return DevOpsClient(
            http,
            a.devops_url,
            a.release_url,
            self.t.org_name,
            auth,
            bearer=bearer,
            retry=self.c.retry,
            on_wait=self.note,
        )

    def auth(self) -> tuple[SecretStr, bool]:
        """(Authorization, is a bearer token): the Entra token got, or the method's PAT."""
        if self.token is not None:
            return SecretStr(bearer_header(self.token.access_token.get_secret_value())), True
        assert self.spec.pat_secret is not None  # a method gets a token or has a PAT (tests/test_methods)
        return SecretStr(pat_header(self._secret(self.spec.pat_secret))), False

    async def _checks(self, http: Any) -> None:
        anon = self.client(http)
        org_task = asyncio.ensure_future(self.step("org", lambda: self._org(anon, http)))
        try:
            if "token" in self.steps:
                got = await self.step("token", self._token)
                if not got:
                    self.skip(("credentials", "projects", *self.reads), "Not run: no token")
                    await org_task
                    self.skip(self.writes, "Not run")
                    return
            auth, bearer = self.auth()
            api = self.client(http, auth, bearer=bearer)
            listed: list[DevOpsProject] = []
            projects: list[str] = []

            async def read_projects() -> tuple[StepState, str, str]:
                listed.extend(await api.projects())
                projects.extend(p.name for p in listed)
                if not projects:
                    return (
                        StepState.WARNING,
                        "No projects visible",
                        "The identity sees no project, so the "
                        "project-level reads below cannot be tried. Give it access to a project.",
                    )
                shown = ", ".join(projects[:3]) + (" …" if len(projects) > 3 else "")
                return StepState.OK, f"{len(projects)} project{'s' if len(projects) != 1 else ''}: {shown}", ""

            cred_ok, proj_ok, org_ok = await asyncio.gather(
                self.step("credentials", lambda: self._credentials(api)), self.step("projects", read_projects), org_task
            )
        except BaseException:
            org_task.cancel()
            # Its last word (cancelled, or out of time) comes before the check's result, never after.
            await asyncio.wait([org_task])
            raise
        if not org_ok and self.steps["org"].field == "org_name":  # unknown org: the rest is noise
            self._demote(("credentials", "projects"), "Not run: the organization is not reachable")
        elif not cred_ok:
            self._demote(("projects",), "Not run: the credentials were not accepted")
        if not (proj_ok and projects):
            self.skip(self.reads, "Not run: needs a readable project" if not projects else "Not run")
        elif self.t.target_projects:  # each target project: its three reads in one line
            await asyncio.gather(
                *(
                    self.step(f"{TARGET}{p}", target_reads(api, p, projects, self.existing))
                    for p in self.t.target_projects
                )
            )
        else:
            project = projects[0]
            await asyncio.gather(*(self.step(key, project_read(api, key, project)) for key in PROJECT_READS))
        if self.t.prove_write:
            await self._prove(api, listed, cred_ok)
        else:
            self._write_note()

    async def _prove(self, api: DevOpsClient, listed: list[DevOpsProject], cred_ok: bool) -> None:
        """The write proof (core/write_proof), after the reads: never when the credentials were refused."""
        keys = tuple(k for k in self.steps if k.startswith(("proof:", "cleanup:")))
        if not cred_ok:
            self.skip(keys, "Not tried: the credentials were not accepted")
            return
        seen = {p.name.lower(): p for p in listed}
        targets = [
            Target(seen[p.lower()].name, seen[p.lower()].id, self.existing.get(seen[p.lower()].name), key=p)
            for p in self.t.target_projects
            if p.lower() in seen
        ]
        for p in self.t.target_projects:
            if p.lower() not in seen:
                self.skip(tuple(proof_keys([p])), "Not tried: the project is not visible")
        who = self.steps["credentials"].result.removeprefix("Authenticated as ")
        kind = "pat" if self.token is None else "user" if self.token.is_user else "app"
        proof = WriteProof(
            api,
            self.step,
            who=who,
            kind=kind,
            record=self.record,
            connection_id=self.connection_id,
            concurrency=self.c.settings.status.concurrency,
        )
        if self.recorded:
            await proof.clean_up(self.recorded, {k: v.id for k, v in seen.items()})
        self.proofs = await proof.run(targets)
        self.skip(keys, "Not tried: a step before it was refused")

    def _demote(self, keys: tuple[str, ...], why: str) -> None:
        # These ran concurrently with the step that explains the real cause; don't repeat it.
        for key in keys:
            if self.steps[key].state is StepState.FAILED:
                self.emit(key, state=StepState.SKIPPED, result=why, explanation="", field=None)

    def _secret(self, name: str) -> str:
        value = self.t.secrets.get(name)
        if value is None:
            raise ProblemError(
                Problem("Secret not available", f"This connection's {name.replace('_', ' ')} is not held here.")
            )
        return value.get_secret_value()

    async def _token(self) -> tuple[StepState, str, str]:
        assert self.spec.token is not None  # only a method that gets a token has this step
        request = TokenRequest(
            self.c.entra, self.t.tenant_id or "", self.t.client_id or "", self._secret, self.c.app_secret
        )
        self.token, result = await self.spec.token(request)
        return StepState.OK, result, ""

    async def _org(self, anon: DevOpsClient, http: Any) -> tuple[StepState, str, str]:
        typed = (self.t.tenant_id or "").lower()
        if self.spec.uses_entra and typed and not is_guid(typed):
            # A domain: its GUID comes from Entra's discovery document, asked at the same time.
            authority = self.c.settings.azure.authority_host
            tenant, expected = await asyncio.gather(
                self.c.resource_tenant(anon), discover_tenant(http, authority, typed, self.c.retry)
            )
        else:
            tenant, expected = await self.c.resource_tenant(anon), typed
        return org_in_tenant(self.t.org_name, tenant, typed, expected, uses_entra=self.spec.uses_entra)

    async def _credentials(self, api: DevOpsClient) -> tuple[StepState, str, str]:
        name, account = await api.connection_data()
        who = f"{name} ({account})" if name and account and name != account else (name or account)
        explanation = ""
        if self.token is not None and self.token.is_user:
            scopes = self.token.scopes
            explanation = "Granted scopes: " + (", ".join(scopes) if scopes else "none listed")
        return StepState.OK, f"Authenticated as {who}", explanation

    def _write_note(self) -> None:
        scopes = self.token.scopes if self.token is not None and self.token.is_user else []
        manage = [s for s in scopes if s.endswith(("_manage", "_write", "_execute"))]
        extra = f" The token lists: {', '.join(manage)}." if manage else ""
        self.emit(
            "write", state=StepState.SKIPPED, result="Not proven (read-only checks)", explanation=WRITE_NOTE + extra
        )
