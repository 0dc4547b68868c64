"""A Secret Sync as kms-connect shows it (issue 19): its status as a glyph and a word, and the
instance's answer read tolerantly (unknown states are not an end; the last message is explained by
core/kms/sync_explain)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict

from kms_connect.core.kms.sync_explain import SyncContext, explain_failure
from kms_connect.core.status import Method


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
    key_schema: str | None = None
    # The instance's syncOptions as it sent them: an edit sends them back whole, with only the key
    # schema changed (the instance replaces them, and would drop `recursive`, `disableSecretDeletion`…).
    sync_options: dict[str, Any] = {}
    description: str = ""

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
        key_schema=(raw.get("syncOptions") or {}).get("keySchema") or None,
        sync_options=dict(raw.get("syncOptions") or {}),
        description=str(raw.get("description") or ""),
    )
    source = f"{sync.environment_name or sync.environment} ({sync.environment}) {sync.secret_path}".strip()
    ctx = SyncContext(sync.devops_project, org, sync.connection, method, source)
    explained = explain_failure(sync.last_message, ctx)
    return sync.model_copy(update={"explanation": explained.text() if explained else ""})
