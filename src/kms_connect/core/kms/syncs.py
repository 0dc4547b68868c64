"""An instance's Azure DevOps Secret Syncs (issue 19): list them, find one by name, trigger one and
follow its job to the end.

The routes are `/api/v1/secret-syncs/azure-devops` (kms-api.md has the App Connections side; the
issue lists these). A sync's status is the instance's `syncStatus`, `never-run` when it is null;
its last message is explained by core/kms/sync_explain. An instance older than Secret Syncs
answers the routes with 404 "Route … not found": that is `SyncsUnsupported`, a plain sentence,
never the raw 404.

Following a job reads the sync again with a backoff of 0.5 s doubling to 5 s (never more often
than once a second after the first two reads), within an overall bound; it never cancels the
instance's job, which no route can.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from kms_connect.core.errors import FieldError, KmsConnectError
from kms_connect.core.kms.client import KmsApiError, KmsClient
from kms_connect.core.kms.older import DEVOPS_CONNECTIONS, FeatureMissing, missing, route_missing
from kms_connect.core.kms.sync_explain import SyncContext, explain_failure
from kms_connect.core.kms.sync_model import SecretSync, SyncStatus, parse_sync
from kms_connect.core.status import Method
from kms_connect.core.sync_drafts import SyncChoices, SyncDraft

__all__ = ["LOCAL_HAS_NONE", "SecretSync", "SecretSyncs", "SyncStatus", "parse_sync"]

ROUTE = "/api/v1/secret-syncs/azure-devops"
CONNECTIONS = DEVOPS_CONNECTIONS
IN_PROGRESS = "A job for this sync is already in progress"
FOLLOW_BUDGET = 900.0  # seconds a `sync --wait` follows a job at most (the real queue retries for minutes)
FIRST_DELAY, MAX_DELAY = 0.5, 5.0


# Said where syncs are asked for on the local store (the TUI's `y`, `kms-connect syncs`).
LOCAL_HAS_NONE = (
    "The local store has no Secret Syncs: they live on a Hanzo KMS instance, which runs them. Open one as "
    "the source (Projects → Source), or name it with --instance NAME (`kms-connect config` lists them)."
)


class SyncsUnsupported(FeatureMissing):
    """The instance has no Secret Sync routes: it is older than them (core/kms/older)."""


class SyncNotFound(KmsConnectError):
    """No sync (or project) of that name, or a name in several projects: the caller's mistake."""


class SyncInProgress(KmsApiError):
    """The trigger was refused: a job of this sync is running."""


class SyncFieldError(KmsApiError, FieldError):
    """The instance refused a write because of one field (a taken name, a missing folder, a
    connection it cannot use): shown under that field."""

    def __init__(self, exc: KmsApiError, field: str) -> None:
        KmsApiError.__init__(self, exc.server_message or str(exc), status=exc.status, req_id=exc.req_id)
        self.detail, self.field = exc.server_message or str(exc), field


# The instance's 400/404 words about one field of a create or an edit (the sim keeps to them).
_REFUSED_FIELDS = (
    ("already exists", "name"),
    ("Could not find folder", "secret_path"),
    ("App Connection", "connection"),
    ("Could not find environment", "environment"),
)


def _field_refusal(exc: KmsApiError) -> KmsApiError:
    if exc.status in (400, 404):
        for words, field in _REFUSED_FIELDS:
            if words in exc.server_message:
                return SyncFieldError(exc, field)
    return exc


class SyncFollowLost(KmsConnectError):
    """The job could not be followed to its end (the instance stopped answering, the sync went, the
    bound passed). The job itself may still run."""


def backoff() -> Iterator[float]:
    """0.5, 1, 2, 4, 5, 5, … seconds."""
    delay = FIRST_DELAY
    while True:
        yield delay
        delay = min(delay * 2, MAX_DELAY)


async def _waits(
    sync: SecretSync,
    doing: Callable[[], str],
    sleep: Callable[[float], Awaitable[None]],
    clock: Callable[[], float],
    budget: float,
) -> AsyncIterator[None]:
    """Each wait of the backoff, for as long as `budget` allows; then `SyncFollowLost`, saying what
    the sync was still `doing()`. Following never cancels the instance's job (no route can)."""
    deadline = clock() + budget
    for delay in backoff():
        if clock() + delay > deadline:
            raise SyncFollowLost(
                f"{sync.project}/{sync.name} was still {doing()} after {budget:.0f} s; "
                "kms-connect stopped following it (the instance's job goes on)."
            )
        await sleep(delay)
        yield


class SecretSyncs:
    """The syncs of one instance, through its client (which logs in and explains errors)."""

    def __init__(self, client: KmsClient) -> None:
        self.client = client
        self.hidden: list[str] = []  # projects whose syncs this identity may not read
        self._connections: dict[str, tuple[Method | None, str]] | None = None

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            return await self.client.call(method, path, **kw)
        except KmsApiError as exc:
            if route_missing(exc, ROUTE):
                raise missing(SyncsUnsupported, self.client.instance.name, "Secret Syncs", ROUTE) from None
            raise

    async def _probe(self) -> None:
        """`SyncsUnsupported` from an instance without the routes; nothing from one with them."""
        try:  # a current instance answers 422 (projectId required); an old one 404 "Route … not found"
            await self._call("GET", ROUTE)
        except SyncsUnsupported:
            raise
        except KmsApiError:
            pass

    async def projects(self) -> list[dict[str, Any]]:
        """The instance's projects ({id, name, slug, …}); an instance without Secret Syncs says so
        here when it refuses the project list (an older one, its organization ID not set) or lists none."""
        try:
            projects = await self.client.projects()
        except KmsApiError as exc:
            if exc.status not in (403, 404):
                raise
            await self._probe()
            raise exc from None
        if not projects:  # no project to ask: the instance still says whether it has syncs at all
            await self._probe()
        return projects

    async def connection_methods(self, project_ids: list[str]) -> dict[str, tuple[Method | None, str]]:
        """id -> (method, organization) of the Azure DevOps connections this identity can read: the
        organization's, else those of `project_ids`; empty when it may read none (explanations then
        say less)."""
        if self._connections is None:
            try:
                rows = list((await self.client.call("GET", CONNECTIONS)).get("appConnections") or [])
            except KmsApiError:  # no organization-level permission: project by project, as far as allowed
                rows = []
                for project_id in dict.fromkeys(project_ids):
                    try:
                        answer = await self.client.call("GET", CONNECTIONS, params={"projectId": project_id})
                    except KmsApiError:
                        continue
                    rows += list(answer.get("appConnections") or [])
            methods = {m.value: m for m in Method}
            self._connections = {
                str(r.get("id")): (
                    methods.get(str(r.get("method"))),
                    str((r.get("credentials") or {}).get("orgName") or ""),
                )
                for r in rows
            }
        return self._connections

    async def list_syncs(
        self, project: str | None = None, *, projects: list[dict[str, Any]] | None = None, explain: bool = True
    ) -> list[SecretSync]:
        """Every sync of the instance, or of one project (its name, slug or id), sorted by project and name.
        `projects`: the instance's, when just read; `explain` False: last messages not put in words (one
        request less, for callers that only compare destinations)."""
        if projects is None:
            projects = await self.projects()
        if project is not None:
            projects = [p for p in projects if project in (p.get("name"), p.get("slug"), p.get("id"))]
            if not projects:
                raise SyncNotFound(f"No project {project!r} on the instance {self.client.instance.name}.")
        slots = asyncio.Semaphore(8)  # an instance is a shared server: a few calls at a time

        async def of(p: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
            async with slots:
                try:
                    answer = await self._call("GET", ROUTE, params={"projectId": str(p.get("id"))})
                except KmsApiError as exc:
                    if exc.status == 403 and project is None and not isinstance(exc, SyncsUnsupported):
                        self.hidden.append(str(p.get("name")))  # not readable here: skipped, as the web UI does
                        return []
                    raise
                return [(str(p.get("name")), raw) for raw in answer.get("secretSyncs") or []]

        self.hidden = []
        found = [pair for pairs in await asyncio.gather(*(of(p) for p in projects)) for pair in pairs]
        failed = [str(raw.get("projectId")) for _, raw in found if raw.get("lastSyncMessage")]
        conns = await self.connection_methods(failed) if failed and explain else {}
        syncs = [parse_sync(raw, name, conns) for name, raw in found]
        return sorted(syncs, key=lambda s: (s.project.lower(), s.name))

    async def find(self, name: str, project: str | None = None) -> SecretSync:
        """The sync called `name` ("project/name" when several projects have one)."""
        where, _, wanted = name.rpartition("/")
        if where and project and where != project:
            raise SyncNotFound(f"{name!r} names the project {where!r}, and --project says {project!r}.")
        syncs = await self.list_syncs(where or project)
        hits = [s for s in syncs if s.name == wanted]
        if not hits:
            raise SyncNotFound(f"No Secret Sync named {name!r} on the instance {self.client.instance.name}.")
        if len(hits) > 1:
            listed = ", ".join(f"{s.project}/{s.name}" for s in hits)
            raise SyncNotFound(f"{name!r} is in several projects ({listed}): write it as project/name.")
        return hits[0]

    async def get(self, sync: SecretSync) -> SecretSync:
        answer = await self._call("GET", f"{ROUTE}/{sync.id}")
        return await self._parsed(answer, sync.project)

    async def trigger(self, sync: SecretSync) -> SecretSync:
        """Asks the instance to run the sync now; `SyncInProgress` when one of its jobs is running."""
        try:
            answer = await self._call("POST", f"{ROUTE}/{sync.id}/sync-secrets")
        except KmsApiError as exc:
            if exc.status == 400 and IN_PROGRESS in exc.server_message:
                raise SyncInProgress(
                    exc.server_message, status=400, req_id=exc.req_id, server_message=exc.server_message
                ) from None
            raise
        return await self._parsed(answer, sync.project)

    async def run(self, sync: SecretSync) -> SecretSync:
        """Trigger the sync; when one of its jobs runs already, that job is the one to follow."""
        try:
            return await self.trigger(sync)
        except SyncInProgress:
            return sync

    # --- writes (the form's create, edit and delete) ------------------------------------------------
    async def create(self, project: dict[str, Any], draft: SyncDraft) -> SecretSync:
        """`project`: as projects() lists it. An auto-syncing sync starts its first job at once."""
        try:
            answer = await self._call("POST", ROUTE, json=draft.create_body(str(project.get("id"))))
        except KmsApiError as exc:
            raise _field_refusal(exc) from None
        return await self._parsed(answer, str(project.get("name")))

    async def update(self, sync: SecretSync, draft: SyncDraft) -> SecretSync:
        """Sends only what changed (nothing changed: nothing sent). With auto-sync on, the instance
        runs the sync at once."""
        body = draft.update_body(sync)
        if not body:
            return sync
        try:
            answer = await self._call("PATCH", f"{ROUTE}/{sync.id}", json=body)
        except KmsApiError as exc:
            raise _field_refusal(exc) from None
        return await self._parsed(answer, sync.project)

    async def delete(self, sync: SecretSync, *, remove_secrets: bool) -> SecretSync:
        """With `remove_secrets` the instance first deletes the variable group in Azure DevOps, then
        the sync (a job: the sync is listed until it ends)."""
        flag = "true" if remove_secrets else "false"
        answer = await self._call("DELETE", f"{ROUTE}/{sync.id}", params={"removeSecrets": flag})
        return await self._parsed(answer, sync.project)

    async def follow_removal(
        self,
        sync: SecretSync,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        budget: float = FOLLOW_BUDGET,
    ) -> str:
        """After `delete(remove_secrets=True)`: reads the sync with the backoff until the instance has
        deleted it ("" : gone, its variable group removed first) or its removal failed (the failure in
        words: the sync stays). `SyncFollowLost` when it cannot tell."""
        async for _ in _waits(sync, lambda: "being removed", sleep, clock, budget):
            try:
                answer = await self._call("GET", f"{ROUTE}/{sync.id}")
            except KmsConnectError as exc:
                if isinstance(exc, KmsApiError) and exc.status == 404:
                    return ""
                raise SyncFollowLost(f"{sync.project}/{sync.name} could not be followed: {exc}") from None
            raw = answer.get("secretSync") if isinstance(answer, dict) else None
            if isinstance(raw, dict) and raw.get("removeStatus") == "failed":
                message = str(raw.get("lastRemoveMessage") or "")
                ctx = SyncContext(sync.devops_project, connection=sync.connection)
                explained = explain_failure(message, ctx)
                return explained.text() if explained else "the instance gave no reason"
        raise AssertionError("backoff() never ends")  # pragma: no cover

    async def check_destination(self, project_id: str, draft: SyncDraft, exclude: str = "") -> bool | None:
        """The instance's own duplicate check (newer servers): True when another sync writes there;
        None when the instance has no such route or cannot say."""
        body: dict[str, Any] = {"destinationConfig": draft.destination(), "projectId": project_id}
        if draft.connection_id:
            body["connectionId"] = draft.connection_id
        if exclude:
            body["excludeSyncId"] = exclude
        try:
            answer = await self.client.call("POST", f"{ROUTE}/check-destination", json=body)
        except KmsApiError:  # older servers: 404; the form's own comparison still warns
            return None
        return bool(answer.get("hasDuplicate")) if isinstance(answer, dict) else None

    async def connections(self, project_id: str) -> list[tuple[str, str, str]]:
        """(id, name, organization) of the Azure DevOps connections a sync of the project may use:
        the project's own and the organization's."""

        async def of_org() -> list[dict[str, Any]]:  # organization-wide ones, where this identity may read them
            try:
                return list((await self.client.call("GET", CONNECTIONS)).get("appConnections") or [])
            except KmsApiError:
                return []

        mine, org = await asyncio.gather(
            self.client.call("GET", CONNECTIONS, params={"projectId": project_id}), of_org()
        )
        rows = [*(mine.get("appConnections") or []), *(r for r in org if not r.get("projectId"))]
        found = {str(r.get("id")): r for r in rows}
        return [
            (i, str(r.get("name")), str((r.get("credentials") or {}).get("orgName") or "")) for i, r in found.items()
        ]

    async def choices(self, project_id: str, targets: Awaitable[dict[str, list[str]]] | None = None) -> SyncChoices:
        """The sync form's environments, connections and the instance's syncs; `targets`: each
        connection's target projects (kept on this machine), read meanwhile. Two round trips: the
        projects, then the syncs of each beside the connections (benchmarks/syncs.py)."""

        async def projects_and_syncs() -> tuple[list[dict[str, Any]], list[SecretSync]]:
            projects = await self.client.projects()
            try:
                return projects, await self.list_syncs(projects=projects, explain=False)
            except KmsApiError:  # only a warning rests on them: the form goes on without
                return projects, []

        async def targets_or_none() -> dict[str, list[str]]:
            try:
                return await targets if targets is not None else {}
            except KmsConnectError:  # suggestions only
                return {}

        (projects, syncs), connections, found = await asyncio.gather(
            projects_and_syncs(), self.connections(project_id), targets_or_none()
        )
        project: dict[str, Any] = next((p for p in projects if p.get("id") == project_id), {})
        envs = [(str(e.get("slug")), str(e.get("name") or e.get("slug"))) for e in project.get("environments") or []]
        return SyncChoices(environments=envs, connections=connections, syncs=syncs, targets=found)

    async def _parsed(self, answer: Any, project: str) -> SecretSync:
        raw = answer.get("secretSync") if isinstance(answer, dict) else None
        if not isinstance(raw, dict):
            raise KmsApiError("The instance's answer had no secretSync.")
        conns = await self.connection_methods([str(raw.get("projectId"))]) if raw.get("lastSyncMessage") else {}
        return parse_sync(raw, project, conns)

    async def follow(
        self,
        sync: SecretSync,
        *,
        on_change: Callable[[SecretSync], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        budget: float = FOLLOW_BUDGET,
    ) -> SecretSync:
        """Reads the sync until its job ends (succeeded or failed), backing off; `on_change` hears of
        each new status. `SyncFollowLost` when it cannot (the job may still run on the instance)."""
        last = sync
        if last.status.done:
            return last

        def doing() -> str:  # the status when the time is up, read then
            return last.status.word.lower()

        async for _ in _waits(sync, doing, sleep, clock, budget):
            try:
                current = await self.get(last)
            except KmsConnectError as exc:
                raise SyncFollowLost(f"{sync.project}/{sync.name} could not be followed: {exc}") from None
            if current.status != last.status and on_change is not None:
                on_change(current)
            last = current
            if last.status.done:
                return last
        raise AssertionError("backoff() never ends")  # pragma: no cover
