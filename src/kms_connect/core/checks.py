"""The "run checks, then save" seam used by every form.

A checker turns a draft into a CheckResult. The live Entra ID / Azure DevOps checker arrives with
the live-check issue; until then `NoLiveChecks` says plainly that nothing was checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kms_connect.core.backend import Backend
from kms_connect.core.models import CheckResult, Connection, ConnectionDraft
from kms_connect.core.status import Status


class Checker(Protocol):
    async def check(self, draft: ConnectionDraft) -> CheckResult: ...


class NoLiveChecks:
    """Records connections as `Not checked`: this build makes no calls to Azure."""

    async def check(self, draft: ConnectionDraft) -> CheckResult:
        return CheckResult(status=Status.NOT_CHECKED, summary="Saved without a live check.")


# Statuses that stop a save unless the operator explicitly chooses "Save anyway".
BLOCKING = frozenset({Status.FAILED, Status.CANCELLED})


@dataclass
class SaveOutcome:
    result: CheckResult
    connection: Connection | None  # None when the check blocked the save


async def check_then_save(
    backend: Backend,
    checker: Checker,
    draft: ConnectionDraft,
    *,
    project_id: str | None = None,
    connection_id: str | None = None,
    save_anyway: bool = False,
) -> SaveOutcome:
    """Check the draft, then create (project_id) or re-credential (connection_id) the connection."""
    result = await checker.check(draft)
    if result.status in BLOCKING and not save_anyway:
        return SaveOutcome(result, None)
    if connection_id is not None:
        conn = await backend.replace_credentials(connection_id, draft)
    elif project_id is not None:
        conn = await backend.create_connection(project_id, draft)
    else:
        raise ValueError("check_then_save needs a project_id or a connection_id")
    if result.checked_at is not None:  # a real check ran: keep its outcome with the connection
        conn = await backend.record_check(conn.id, result)
    return SaveOutcome(result, conn)
