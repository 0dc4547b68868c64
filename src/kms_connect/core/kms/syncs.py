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
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict

from kms_connect.core.errors import KmsConnectError
from kms_connect.core.kms.client import KmsApiError, KmsClient
from kms_connect.core.kms.older import DEVOPS_CONNECTIONS, FeatureMissing, missing, route_missing
from kms_connect.core.kms.sync_explain import SyncContext, explain_failure
from kms_connect.core.status import Method

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


class SyncStatus(str, Enum):
    """A sync's last job: always shown as a glyph and a word."""

    NEVER_RUN = "never-run"
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def glyph(self) -> str:
        return {"never-run": "–", "pending": "…", "running": "↻", "succeeded": "✓", "failed": "✗"}[self.value]

    @property
    def word(self) -> str:
        return self.value.replace("-", " ").capitalize()

    @property
    def label(self) -> str:
        return f"{self.glyph} {self.word}"

    @property
    def done(self) -> bool:
        """The job ended (or none was ever asked for)."""
        return self not in (SyncStatus.PENDING, SyncStatus.RUNNING)


class SecretSync(BaseModel):
    """One Azure DevOps sync as kms-connect shows it (no secret is ever part of it)."""

    model_config = ConfigDict(extra="forbid")

    project: str  # the KMS project's name
    project_id: str
    name: str
    id: str
    environment: str  # its slug ("" when the environment is gone)
    environment_name: str  # its display name: the variable group's name in Azure DevOps
    secret_path: str
    devops_project: str  # the Azure DevOps project's name when the sync has it, else its id
    devops_project_id: str
    connection: str
    connection_id: str
    auto_sync: bool
    status: SyncStatus
    last_synced_at: datetime | None = None
    last_message: str | None = None
    last_job_id: str | None = None
    explanation: str = ""  # the last message in words ("" without one)

    def as_json(self) -> dict[str, Any]:
        """The headless JSON object (README): fields are only ever added."""
        return {
            "project": self.project,
            "name": self.name,
            "id": self.id,
            "environment": self.environment,
            "secret_path": self.secret_path,
            "devops_project": self.devops_project,
            "connection": self.connection,
            "auto_sync": self.auto_sync,
            "status": self.status.value,
            "last_synced_at": self.last_synced_at.isoformat() if self.last_synced_at else None,
            "last_message": self.last_message,
            "explanation": self.explanation,
        }


class SyncsUnsupported(FeatureMissing):
    """The instance has no Secret Sync routes: it is older than them (core/kms/older)."""


class SyncNotFound(KmsConnectError):
    """No sync (or project) of that name, or a name in several projects: the caller's mistake."""


class SyncInProgress(KmsApiError):
    """The trigger was refused: a job of this sync is running."""


class SyncFollowLost(KmsConnectError):
    """The job could not be followed to its end (the instance stopped answering, the sync went, the
    bound passed). The job itself may still run."""


def backoff() -> Iterator[float]:
    """0.5, 1, 2, 4, 5, 5, … seconds."""
    delay = FIRST_DELAY
    while True:
        yield delay
        delay = min(delay * 2, MAX_DELAY)


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _status(value: Any) -> SyncStatus:
    if value is None:
        return SyncStatus.NEVER_RUN
    try:
        return SyncStatus(str(value))
    except ValueError:
        return SyncStatus.PENDING  # a state this version does not know: not an end (following is bounded)


def parse_sync(raw: dict[str, Any], project: str, connections: dict[str, tuple[Method | None, str]]) -> SecretSync:
    """A sync from the instance's answer; `connections`: id -> (method, organization), as far as known."""
    env = raw.get("environment") or {}
    folder = raw.get("folder") or {}
    dest = raw.get("destinationConfig") or {}
    conn = raw.get("connection") or {}
    conn_id = str(conn.get("id") or raw.get("connectionId") or "")
    method, org = connections.get(conn_id, (None, ""))
    devops_id = str(dest.get("devopsProjectId") or "")
    sync = SecretSync(
        project=project,
        project_id=str(raw.get("projectId") or ""),
        name=str(raw.get("name") or ""),
        id=str(raw.get("id") or ""),
        environment=str(env.get("slug") or ""),
        environment_name=str(env.get("name") or ""),
        secret_path=str(folder.get("path") or ""),
        devops_project=str(dest.get("devopsProjectName") or devops_id),
        devops_project_id=devops_id,
        connection=str(conn.get("name") or ""),
        connection_id=conn_id,
        auto_sync=bool(raw.get("isAutoSyncEnabled")),
        status=_status(raw.get("syncStatus")),
        last_synced_at=_time(raw.get("lastSyncedAt")),
        last_message=raw.get("lastSyncMessage") or None,
        last_job_id=raw.get("lastSyncJobId") or None,
    )
    source = f"{sync.environment_name or sync.environment} ({sync.environment}) {sync.secret_path}".strip()
    ctx = SyncContext(sync.devops_project, org, sync.connection, method, source)
    explained = explain_failure(sync.last_message, ctx)
    return sync.model_copy(update={"explanation": explained.text() if explained else ""})


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

    async def list_syncs(self, project: str | None = None) -> list[SecretSync]:
        """Every sync of the instance, or of one project (its name, slug or id), sorted by project and name."""
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
        conns = await self.connection_methods(failed) if failed else {}
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
        deadline, last = clock() + budget, sync
        for delay in backoff():
            if last.status.done:
                return last
            if clock() + delay > deadline:
                raise SyncFollowLost(
                    f"{sync.project}/{sync.name} was still {last.status.word.lower()} after {budget:.0f} s; "
                    "kms-connect stopped following it (the instance's job goes on)."
                )
            await sleep(delay)
            try:
                current = await self.get(last)
            except KmsConnectError as exc:
                raise SyncFollowLost(f"{sync.project}/{sync.name} could not be followed: {exc}") from None
            if current.status != last.status and on_change is not None:
                on_change(current)
            last = current
        raise AssertionError("backoff() never ends")  # pragma: no cover
