"""The Secret Syncs that use one App Connection (issue 19): shown in its details, and named before
it is deleted.

The instance keeps a connection while a sync uses it: Infisical's `secret_syncs.connectionId` is a
foreign key with no ON DELETE, so the delete fails on it and is answered 400 BadRequest "Cannot
delete App Connection with existing connections. …". Knowing which syncs, before asking, saves the
operator that surprise. A project's connection serves only that project's syncs, so only that
project is read; an organization-scoped one may serve any project, so every project is read (those
this identity may not read are skipped by SecretSyncs and named in `hidden`).

The lookup stands between a key and a dialog (or under an open dialog), so it has a deadline,
shorter than the input gate's HOLD_LIMIT: past it, the keys held behind it would go on regardless.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kms_connect.core.errors import KmsConnectError
from kms_connect.core.kms.backend import ORG_SCOPE
from kms_connect.core.kms.syncs import SecretSync, SecretSyncs, SyncsUnsupported
from kms_connect.core.models import Connection

DEADLINE = 8.0  # seconds; below the input gate's HOLD_LIMIT (10 s)


@dataclass(frozen=True)
class SyncUsers:
    syncs: list[SecretSync]  # those whose connection is this one, by project and name
    hidden: list[str] = field(default_factory=list)  # projects whose syncs this identity may not read
    unsupported: str = ""  # the instance has no Secret Syncs at all: why, in a sentence ("" when it has)


async def syncs_using(api: SecretSyncs, connection: Connection, *, deadline: float | None = None) -> SyncUsers:
    """The syncs of the instance that use `connection`. An instance older than Secret Syncs has none
    (`unsupported` says so); no answer within `deadline` seconds (DEADLINE, read at the call) is a
    KmsConnectError in words."""
    deadline = DEADLINE if deadline is None else deadline
    project = None if connection.project_id == ORG_SCOPE else connection.project_id
    try:
        async with asyncio.timeout(deadline) as bound:
            listed = await api.list_syncs(project)
    except SyncsUnsupported as exc:
        return SyncUsers([], unsupported=str(exc))
    except TimeoutError:
        if not bound.expired():
            raise
        raise KmsConnectError(
            f"The instance {api.client.instance.name} did not list its Secret Syncs within {deadline:g} s."
        ) from None
    return SyncUsers([s for s in listed if s.connection_id == connection.id], list(api.hidden))
