"""A Hanzo KMS instance as a Backend: its projects (read-only here) and Azure DevOps connections.

The instance never returns credentials, so nothing secret is kept here: credentials go to the
instance and are forgotten. What this box can know about a connection is the live check it made
before sending; those results are kept locally, per instance, in a small JSON file.

A write whose answer was lost (core/kms/client.KmsOutcomeUnknown) is never sent again on its own:
a create is looked up by name, an edit or a delete by id, to say what happened; credentials cannot
be read back, so a lost answer to replacing them is reported as unknown.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from kms_connect.core import advice
from kms_connect.core.backend import Backend, Notice
from kms_connect.core.errors import ConflictError, SecretUnavailable
from kms_connect.core.instances import Instance
from kms_connect.core.kms.client import KmsApiError, KmsClient, KmsOutcomeUnknown
from kms_connect.core.kms.oauth import availability
from kms_connect.core.kms.older import (
    APP_CONNECTIONS,
    DEVOPS_CONNECTIONS,
    AppConnectionsUnsupported,
    app_connections_missing,
    route_missing,
)
from kms_connect.core.models import (
    CheckResult,
    Connection,
    ConnectionDraft,
    OAuthAvailability,
    Project,
    ProjectSummary,
    utcnow,
)
from kms_connect.core.paths import InstanceFiles
from kms_connect.core.probe_record import ProbeRecord
from kms_connect.core.results_file import ResultsFile, TargetsFile
from kms_connect.core.status import Method

ORG_SCOPE = "__organization__"  # the pseudo-project holding organization-scoped connections
BASE = DEVOPS_CONNECTIONS
READ_ONLY = (
    "Projects on a Hanzo KMS instance are read-only here: deleting one would delete its secrets. "
    "Manage projects in the instance's web UI."
)
NOT_CHECKABLE = (
    "The instance never returns credentials, and its only live check refuses machine-identity "
    f"tokens, so this box cannot re-check it. Replace its credentials in kms-connect ({advice.CREDENTIALS}) "
    "to check them here first."
)


# The instance's credentials key -> the form field (each method's spec has its `kms_fields`).
def _time(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return utcnow()


METHODS = {m.value for m in Method}  # Azure DevOps methods kms-connect knows; others are skipped


class KmsBackend(Backend):
    can_manage_projects = False
    not_checkable_reason = NOT_CHECKABLE

    def __init__(self, instance: Instance, client: KmsClient, files: InstanceFiles) -> None:
        self.instance, self.client, self.checks_file = instance, client, files.checks
        self._results = ResultsFile(files.checks)  # the checks made here, before sending credentials
        # The target projects: the instance's schema has no field for them (results_file.TargetsFile).
        self._targets = TargetsFile(files.targets)
        self.probe_record = ProbeRecord(files.probes)
        self.label = f"Instance {instance.name}"
        self.connections_note = ""  # what it cannot see of the connections (no organization-level permission)
        self.org_note = ""  # an organization that lists no project: a wrong organization ID is not refused
        self._known: dict[str, Connection] = {}  # the last seen state of each connection

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        """A call on the App Connections routes: an instance older than them says so in one sentence
        (core/kms/older), never with its raw 404."""
        try:
            return await self.client.call(method, path, **kw)
        except KmsApiError as exc:
            if route_missing(exc, APP_CONNECTIONS):
                raise app_connections_missing(self.instance.name) from None
            raise

    # --- projects -----------------------------------------------------------------------------
    async def _projects(self) -> list[dict[str, Any]]:
        projects = await self.client.projects()
        if not projects and self.client.listed_by_org:  # a wrong organization ID is not refused: it lists nothing
            self.org_note = (
                f"The instance lists no project of the organization {self.instance.org_id} to this machine "
                "identity: check the organization ID and that the identity is a member of the projects."
            )
        else:
            self.org_note = ""
        return projects

    @property
    def hidden_note(self) -> str:
        """What this identity cannot see here, in words ("" when nothing is hidden)."""
        return " ".join(note for note in (self.org_note, self.connections_note) if note)

    async def _all_connections(self, *, missing_ok: bool = False) -> list[dict[str, Any]] | None:
        """Every Azure DevOps connection of the organization; None when the identity may not see them
        (or, with `missing_ok`, when the instance has no App Connections: `hidden_note` says which)."""
        try:
            answer = await self._call("GET", BASE)
        except AppConnectionsUnsupported as exc:
            if not missing_ok:
                raise
            self.connections_note = str(exc)
            return None
        except KmsApiError as exc:
            if exc.status == 403 and exc.error == "PermissionDenied":
                self.connections_note = (
                    "Connection counts and organization-scoped connections are not visible: the "
                    "machine identity has no organization-level app-connections permission."
                )
                return None
            raise
        self.connections_note = ""
        return list(answer.get("appConnections") or [])

    async def list_projects(self) -> list[ProjectSummary]:
        return self._summaries(*await asyncio.gather(self._projects(), self._all_connections(missing_ok=True)))

    def _summaries(
        self,
        projects: list[dict[str, Any]],
        connections: list[dict[str, Any]] | None,
    ) -> list[ProjectSummary]:
        counts = Counter(c.get("projectId") or ORG_SCOPE for c in connections or [])
        out = [
            ProjectSummary(
                project=Project(
                    id=str(p.get("id") or p.get("_id")),
                    name=str(p.get("name")),
                    slug=str(p.get("slug") or ""),
                    description=str(p.get("description") or ""),
                ),
                connection_count=counts.get(str(p.get("id") or p.get("_id")), 0) if connections is not None else None,
            )
            for p in projects
        ]
        if counts.get(ORG_SCOPE):
            out.append(
                ProjectSummary(
                    project=Project(
                        id=ORG_SCOPE,
                        name="(organization-scoped connections)",
                        slug="organization",
                        description="Not in any project",
                    ),
                    connection_count=counts[ORG_SCOPE],
                )
            )
        return out

    async def list_all_connections(self) -> list[tuple[Project, Connection]]:
        raw, projects = await asyncio.gather(self._all_connections(), self._projects(), return_exceptions=True)
        if isinstance(raw, BaseException):  # first: an instance without App Connections says so, whatever else
            raise raw
        if isinstance(projects, BaseException):
            raise projects
        if raw is None:  # no organization-level permission: project by project, as far as allowed
            return await self._project_by_project(self._summaries(projects, None))
        by_id = {s.project.id: s.project for s in self._summaries(projects, raw)}
        checks = await asyncio.to_thread(self._read_checks)
        out = []
        for conn in (self._connection(c, checks) for c in raw if c.get("method") in METHODS):
            # A project this identity cannot list still shows its connections, under its ID.
            project = by_id.get(conn.project_id) or Project(id=conn.project_id, name=conn.project_id, slug="")
            out.append((project, conn))
        return out

    async def _project_by_project(self, summaries: list[ProjectSummary]) -> list[tuple[Project, Connection]]:
        slots = asyncio.Semaphore(8)  # an instance is a shared server: a few calls at a time

        async def one(project: Project) -> list[tuple[Project, Connection]]:
            async with slots:
                try:
                    return [(project, c) for c in await self.list_connections(project.id)]
                except KmsApiError as exc:
                    if exc.status == 403:  # a project this identity may not read: skipped, as the web UI does
                        return []
                    raise

        return [pair for pairs in await asyncio.gather(*(one(s.project) for s in summaries)) for pair in pairs]

    async def create_project(self, name: str, description: str = "") -> Project:
        raise ConflictError(READ_ONLY)

    async def delete_project(self, project_id: str) -> int:
        raise ConflictError(READ_ONLY)

    # --- connections --------------------------------------------------------------------------
    def _connection(self, raw: dict[str, Any], checks: dict[str, CheckResult]) -> Connection:
        creds = raw.get("credentials") or {}
        conn_id = str(raw["id"])
        self._known[conn_id] = conn = Connection(
            id=conn_id,
            project_id=str(raw.get("projectId") or ORG_SCOPE),
            name=str(raw.get("name")),
            description=str(raw.get("description") or ""),
            method=Method(raw.get("method")),
            org_name=str(creds.get("orgName") or ""),
            tenant_id=creds.get("tenantId"),
            client_id=creds.get("clientId"),
            last_check=checks.get(conn_id),
            target_projects=list(self._targets.read().get(conn_id, [])),
            created_at=_time(raw.get("createdAt")),
            updated_at=_time(raw.get("updatedAt")),
        )
        return conn

    async def list_connections(self, project_id: str) -> list[Connection]:
        if project_id == ORG_SCOPE:
            raw = [c for c in await self._all_connections() or [] if not c.get("projectId")]
        else:
            raw = list((await self._call("GET", BASE, params={"projectId": project_id})).get("appConnections") or [])
        checks = await asyncio.to_thread(self._read_checks)
        return [self._connection(c, checks) for c in raw if c.get("method") in METHODS]

    def _credentials(self, draft: ConnectionDraft) -> dict[str, str]:
        values = {
            "org_name": draft.org_name,
            "tenant_id": draft.tenant_id or "",
            "client_id": draft.client_id or "",
            **{k: v.get_secret_value() for k, v in draft.secrets.items()},
        }
        return {api: values.get(form, "") for form, api in draft.method.spec.kms_fields.items()}

    async def create_connection(self, project_id: str, draft: ConnectionDraft) -> Connection:
        body: dict[str, Any] = {
            "name": draft.name,
            "method": draft.method.value,
            "credentials": self._credentials(draft),
        }
        if draft.description:
            body["description"] = draft.description
        if project_id != ORG_SCOPE:
            body["projectId"] = project_id
        try:
            answer = await self._call("POST", BASE, json=body)
        except KmsOutcomeUnknown as lost:
            answer = await self._created_after_all(project_id, draft, lost)
        conn_id = str(answer["appConnection"]["id"])
        await asyncio.to_thread(self._write_targets, conn_id, draft.target_projects)
        return self._connection(answer["appConnection"], {})

    async def _created_after_all(self, project_id: str, draft: ConnectionDraft, lost: KmsOutcomeUnknown) -> Any:
        """The create's answer was lost: the instance's connection of that name, if it made it."""
        # Not sent again: an OAuth code works once, and the instance may still be creating it.
        name = draft.name
        params = {} if project_id == ORG_SCOPE else {"projectId": project_id}
        try:
            found = await self._call("GET", f"{BASE}/connection-name/{quote(name, safe='')}", params=params)
        except KmsApiError as exc:
            if exc.status == 404:
                raise KmsOutcomeUnknown(
                    f"{lost.failure}: the instance did not answer the request to create “{name}”, and it does not "
                    "list it now, so it was most likely not created. Connect again to send it; if it was created "
                    "after all, the instance will say the name is taken.",
                    failure=lost.failure,
                ) from None
            raise KmsOutcomeUnknown(
                f"{lost.failure}: the instance did not answer the request to create “{name}”, and looking it up "
                f"failed as well ({exc}). Whether it was created is unknown: reload the list to see before "
                "connecting again.",
                failure=lost.failure,
            ) from None
        creds = (found.get("appConnection") or {}).get("credentials") or {}
        if (found.get("appConnection") or {}).get("method") != draft.method.value or (
            creds.get("orgName") not in (None, draft.org_name)
        ):
            raise KmsOutcomeUnknown(
                f"{lost.failure}: the instance did not answer the request to create “{name}”, and the connection "
                "of that name it lists now is not the one sent (another method or organization). Check it on the "
                "instance before connecting again.",
                failure=lost.failure,
            )
        return found

    async def update_connection(self, connection_id: str, name: str, description: str) -> Connection:
        change = {"name": name, "description": description or None}
        try:
            answer = await self._call("PATCH", f"{BASE}/{connection_id}", json=change)
        except KmsOutcomeUnknown as lost:
            answer = await self._lookup_after(connection_id, lost, "the edit")
            now = answer["appConnection"]
            if (now.get("name"), now.get("description") or None) != (name, description or None):
                raise KmsOutcomeUnknown(
                    f"{lost.failure}: the instance did not answer the edit, and still shows the connection as it "
                    "was: the edit was not made. Save it again.",
                    failure=lost.failure,
                ) from None
        return self._connection(answer["appConnection"], await asyncio.to_thread(self._read_checks))

    async def replace_credentials(self, connection_id: str, draft: ConnectionDraft) -> Connection:
        try:
            answer = await self._call(
                "PATCH", f"{BASE}/{connection_id}", json={"credentials": self._credentials(draft)}
            )
        except KmsOutcomeUnknown as lost:
            raise KmsOutcomeUnknown(
                f"{lost.failure}: the instance did not answer, so whether it now holds the new credentials is "
                "unknown (it never shows credentials, so kms-connect cannot look). Send them again: replacing "
                "credentials twice does no harm.",
                failure=lost.failure,
            ) from None
        await asyncio.to_thread(self._write_check, connection_id, None)  # the old result was about old credentials
        await asyncio.to_thread(self._write_targets, connection_id, draft.target_projects)
        return self._connection(answer["appConnection"], {})

    async def set_target_projects(self, connection_id: str, projects: list[str]) -> Connection:
        await asyncio.to_thread(self._write_targets, connection_id, projects)
        known = self._known.get(connection_id)
        if known is not None:
            return known.model_copy(update={"target_projects": list(projects)})
        answer = await self._call("GET", f"{BASE}/{connection_id}")
        return self._connection(answer["appConnection"], await asyncio.to_thread(self._read_checks))

    async def delete_connection(self, connection_id: str) -> None:
        try:
            await self._call("DELETE", f"{BASE}/{connection_id}")
        except KmsOutcomeUnknown as lost:
            try:
                await self._lookup_after(connection_id, lost, "the delete")
            except KmsApiError as exc:
                if exc.status != 404:
                    raise
                # Gone: it was deleted after all.
            else:
                raise KmsOutcomeUnknown(
                    f"{lost.failure}: the instance did not answer the delete, and still has the connection: it was "
                    "not deleted. Delete it again.",
                    failure=lost.failure,
                ) from None
        await asyncio.to_thread(self._write_check, connection_id, None)
        await asyncio.to_thread(self._write_targets, connection_id, [])

    async def _lookup_after(self, connection_id: str, lost: KmsOutcomeUnknown, what: str) -> Any:
        """The connection as the instance has it now, after `what` lost its answer. A 404 is raised
        as it is (the caller knows what it means); any other failure leaves the outcome unknown."""
        try:
            return await self._call("GET", f"{BASE}/{connection_id}")
        except KmsApiError as exc:
            if exc.status == 404:
                raise
            raise KmsOutcomeUnknown(
                f"{lost.failure}: the instance did not answer {what}, and looking the connection up failed as "
                f"well ({exc}). Whether {what} was made is unknown: reload the list to see.",
                failure=lost.failure,
            ) from None

    async def read_secrets(self, connection_id: str) -> dict[str, SecretStr]:
        raise SecretUnavailable(NOT_CHECKABLE)

    async def record_check(self, connection_id: str, result: CheckResult) -> Connection:
        await asyncio.to_thread(self._write_check, connection_id, result)
        known = self._known.get(connection_id)
        if known is not None:  # just created or listed: no second request that could fail after a save
            return known.model_copy(update={"last_check": result})
        answer = await self._call("GET", f"{BASE}/{connection_id}")
        return self._connection(answer["appConnection"], {connection_id: result})

    async def aclose(self) -> None:
        await self.client.aclose()

    async def oauth_availability(self) -> OAuthAvailability:
        return availability(self.instance, await self._call("GET", f"{APP_CONNECTIONS}/options"))

    def retry_login(self) -> None:
        self.client.reset_login()

    def describe_secret_location(self, connection: Connection) -> str:
        return f"on the instance {self.instance.name} (it never returns them; shown redacted)"

    # --- local check results ------------------------------------------------------------------
    def _read_checks(self) -> dict[str, CheckResult]:
        return self._results.read()

    def _write_check(self, connection_id: str, result: CheckResult | None) -> None:
        self._results.put(self.checks_file.with_suffix(".lock"), connection_id, result)

    def _write_targets(self, connection_id: str, projects: list[str]) -> None:
        self._targets.put(self.checks_file.with_suffix(".lock"), connection_id, list(projects) or None)

    def take_notice(self) -> Notice | None:
        problem, self._results.problem = self._results.problem, None
        return Notice("Check results not kept", problem) if problem else None
