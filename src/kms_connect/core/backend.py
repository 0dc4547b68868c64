"""The small interface the UI talks to; the local store and (later) KMS instances implement it.

All methods are async so the UI can await them from workers: the local store runs its blocking
file and keyring work in a thread, a KMS instance does HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from datetime import datetime
from typing import NamedTuple

from pydantic import SecretStr

from kms_connect.core.advice import NO_CREDENTIALS_HERE
from kms_connect.core.errors import NotFoundError, SecretUnavailable
from kms_connect.core.models import (
    CheckResult,
    Connection,
    ConnectionDraft,
    OAuthAvailability,
    Project,
    ProjectSummary,
)
from kms_connect.core.probe_record import ProbeRecord


class Notice(NamedTuple):
    """Something the operator must read once, e.g. that secrets went to a plaintext file."""

    title: str
    body: str


class Backend(ABC):
    #: Shown in the header, e.g. "Local store" or an instance name.
    label: str = ""
    #: Projects on a KMS instance are read-only here (deleting one would delete its secrets).
    can_manage_projects: bool = True
    #: Why a connection without a local result cannot be checked from here ("" when it can).
    not_checkable_reason: str = ""
    #: Where a write proof records the probe groups it may leave (core/probe_record), beside the results.
    probe_record: ProbeRecord | None = None

    @abstractmethod
    async def list_projects(self) -> list[ProjectSummary]: ...

    @abstractmethod
    async def create_project(self, name: str, description: str = "") -> Project: ...

    @abstractmethod
    async def delete_project(self, project_id: str) -> int:
        """Delete a project with its connections and their secrets; returns how many went."""

    @abstractmethod
    async def list_connections(self, project_id: str) -> list[Connection]: ...

    async def list_all_connections(self) -> list[tuple[Project, Connection]]:
        """Every connection of the source with its project (the dashboard, `kms-connect list`).
        Read-only: they may be shared with the backend (copy one to change it).

        One call per project here; backends that can list everything at once override it."""
        projects = [s.project for s in await self.list_projects()]
        lists = await asyncio.gather(*(self.list_connections(p.id) for p in projects))
        return [(p, c) for p, conns in zip(projects, lists, strict=True) for c in conns]

    @abstractmethod
    async def create_connection(self, project_id: str, draft: ConnectionDraft) -> Connection: ...

    @abstractmethod
    async def update_connection(self, connection_id: str, name: str, description: str) -> Connection: ...

    @abstractmethod
    async def set_target_projects(self, connection_id: str, projects: list[str]) -> Connection:
        """The Azure DevOps projects the connection's syncs will write to (see Connection)."""

    @abstractmethod
    async def replace_credentials(self, connection_id: str, draft: ConnectionDraft) -> Connection:
        """New credentials for an existing connection; the method cannot change."""

    @abstractmethod
    async def delete_connection(self, connection_id: str) -> None: ...

    @abstractmethod
    async def record_check(self, connection_id: str, result: CheckResult) -> Connection: ...

    async def record_checks(self, results: dict[str, CheckResult], *, as_of: dict[str, datetime] | None = None) -> None:
        """Record many results at once (a `V` run). Connections deleted meanwhile are skipped, and
        so are those changed since `as_of` (the result is about credentials they no longer have)."""

        for connection_id, result in results.items():
            with contextlib.suppress(NotFoundError):
                await self.record_check(connection_id, result)

    @abstractmethod
    async def oauth_availability(self) -> OAuthAvailability: ...

    async def read_secrets(self, connection_id: str) -> dict[str, SecretStr]:
        """The connection's secrets, for a re-check. Raises SecretError when they can't be read."""

        raise SecretUnavailable(f"{self.label or 'this source'} does not give out credentials")

    async def update_secret(  # noqa: B027 - optional hook, nothing by default
        self, connection_id: str, field: str, value: SecretStr, *, as_of: datetime | None = None
    ) -> None:
        """Replace one kept secret (a refreshed OAuth token cache), unless the connection changed
        since `as_of` (its credentials were replaced meanwhile)."""

    def oauth_app_secret(self) -> str | None:
        """The OAuth app's client secret, when one is configured (blocking: call it in a thread)."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing by default
        """Release connections (an instance's HTTP client) when the app leaves this source."""

    def retry_login(self) -> None:  # noqa: B027 - optional hook, nothing by default
        """The operator asked to try again (r) after a failed login; never done automatically."""

    def not_checkable(self, connection: Connection) -> str:
        """Why `connection` cannot be re-checked from here, and what to do ("" when it can).

        What a periodic round skips, and what the dashboard says about such a row."""
        if self.not_checkable_reason:
            return self.not_checkable_reason
        return "" if connection.secrets else NO_CREDENTIALS_HERE

    def describe_secret_location(self, connection: Connection) -> str:
        """Where this connection's secrets are kept, in words."""
        return "not kept here"

    def take_notice(self) -> Notice | None:
        """A one-time notice for the operator (e.g. secrets went to a plaintext file), or None."""
        return None
