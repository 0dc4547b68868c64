"""Saving a checked draft, and checking a stored connection.

A checker runs a check target (a draft or a stored connection with its secrets) to a CheckRun.
`LiveChecker` (core/live_check) talks to Entra ID and Azure DevOps; `NoLiveChecks` says plainly
that nothing was checked (scripts and tests that must not touch the network).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kms_connect.core.backend import Backend
from kms_connect.core.check_steps import with_last_proof
from kms_connect.core.check_target import CheckRun, CheckTarget
from kms_connect.core.errors import KmsConnectError, SecretError
from kms_connect.core.models import CheckResult, Connection, ConnectionDraft
from kms_connect.core.probe_record import ProbeRecord
from kms_connect.core.status import Status


class Checker(Protocol):
    async def run(
        self, target: CheckTarget, listener: Any = None, *, record: ProbeRecord | None = None, connection_id: str = ""
    ) -> CheckRun: ...

    async def projects(self, target: CheckTarget) -> list[str]: ...

    async def project_ids(self, target: CheckTarget) -> dict[str, str]: ...


class NoLiveChecks:
    """Records connections as `Not checked`: makes no calls to Azure."""

    async def run(
        self, target: CheckTarget, listener: Any = None, *, record: ProbeRecord | None = None, connection_id: str = ""
    ) -> CheckRun:
        return CheckRun(CheckResult(status=Status.NOT_CHECKED, summary="Live checks are off."))

    async def projects(self, target: CheckTarget) -> list[str]:
        raise KmsConnectError("Live checks are off, so the projects cannot be listed.")

    async def project_ids(self, target: CheckTarget) -> dict[str, str]:
        return dict.fromkeys(await self.projects(target), "")


# Statuses that stop a save unless the operator explicitly chooses "Save anyway".
BLOCKING = frozenset({Status.FAILED, Status.CANCELLED})


@dataclass
class SaveOutcome:
    result: CheckResult
    connection: Connection | None  # None when the check blocked the save


async def save_checked(
    backend: Backend,
    draft: ConnectionDraft,
    result: CheckResult | None,
    *,
    project_id: str | None = None,
    connection_id: str | None = None,
) -> SaveOutcome:
    """Create or re-credential the connection, keeping the check's result when one really ran.

    `result=None` is "Save anyway": saved as Not checked, whatever a failed check said.
    """
    if connection_id is not None:
        conn = await backend.replace_credentials(connection_id, draft)
    elif project_id is not None:
        conn = await backend.create_connection(project_id, draft)
    else:
        raise ValueError("save_checked needs a project_id or a connection_id")
    if result is not None and result.checked_at is not None:  # a real check ran: keep its outcome
        conn = await backend.record_check(conn.id, result)
    return SaveOutcome(result or CheckResult(status=Status.NOT_CHECKED, summary="Saved without a check."), conn)


async def check_stored(
    backend: Backend,
    conn: Connection,
    run: Callable[[CheckTarget], Awaitable[CheckRun]],
    prove_in: list[str] | None = None,
) -> CheckResult:
    """Check a saved connection with the credentials the backend holds for it (`prove_in`: and
    prove write access, see core/write_proof).

    A secret the backend cannot give out (an instance, an unreachable keyring) is `Not checkable`,
    never a failure. A refreshed OAuth sign-in is kept, unless the credentials were replaced while
    the check ran (`as_of`).
    """

    try:
        secrets = await backend.read_secrets(conn.id)
    except SecretError as exc:
        return CheckResult(status=Status.NOT_CHECKABLE, summary=f"Cannot check: {exc}")
    target = CheckTarget.of(conn, secrets)
    if prove_in is not None:  # the write proof too, in these projects (empty: the connection's targets)
        target = target.model_copy(update={"prove_write": True, "target_projects": prove_in or conn.target_projects})
    done = await run(target)
    result = with_last_proof(done.result, conn.last_check) if prove_in is None else done.result
    if done.token_cache is not None:
        await backend.update_secret(conn.id, "token_cache", done.token_cache, as_of=conn.updated_at)
    return result
