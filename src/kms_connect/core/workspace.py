"""The workspace: what kms-connect works on, in one object.

Its paths and settings, the local store (home of every secret kept on this machine, an instance's
Client Secret and the OAuth app's too), and the source shown: the local store or a Hanzo KMS
instance (`backend`). The app gets one once the source is open, so no screen guards an optional
backend; instances are managed and OAuth sign-ins started through it (`save_instance`,
`remove_instance`, `sign_ins`), never through the clients themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from kms_connect.core.backend import Backend
from kms_connect.core.config import Settings
from kms_connect.core.errors import KmsConnectError
from kms_connect.core.instances import Instance
from kms_connect.core.local_store import LocalStore
from kms_connect.core.paths import Paths
from kms_connect.core.sources import LOCAL, instance_store, open_source, remove_instance, save_instance

if TYPE_CHECKING:
    from kms_connect.core.checks import Checker
    from kms_connect.core.kms.sync_users import SyncUsers
    from kms_connect.core.kms.syncs import SecretSync, SecretSyncs
    from kms_connect.core.models import Connection
    from kms_connect.core.sign_ins import SignIns

# The syncs' types, for the UI's hints (it may not import core/kms itself).
__all__ = ["LOCAL", "SecretSync", "SecretSyncs", "SyncUsers", "Workspace"]


@dataclass(frozen=True)
class Workspace:
    paths: Paths
    settings: Settings
    local: LocalStore
    source: str  # LOCAL or an instance's name
    backend: Backend

    @classmethod
    def open(cls, paths: Paths, settings: Settings, source: str = LOCAL) -> Workspace:
        """Open `source` (blocking: call it in a thread). A damaged local store raises StoreDamaged."""
        local = LocalStore(paths, settings)
        return cls(paths, settings, local, source, open_source(source, paths, settings, local))

    def switched(self, source: str) -> Workspace:
        """The same workspace showing `source` (blocking: call it in a thread)."""
        return replace(self, source=source, backend=open_source(source, self.paths, self.settings, self.local))

    @property
    def is_local(self) -> bool:
        return self.source == LOCAL

    @property
    def sign_ins(self) -> SignIns:
        # The Azure clients (httpx, msal's helpers) load at the first sign-in, not before the first
        # rows: ~70 ms (benchmarks/imports.py).
        from kms_connect.core.sign_ins import SignIns  # noqa: PLC0415

        # The OAuth app's secret is a local setting, whichever source is shown.
        return SignIns(self.settings, self.local.oauth_app_secret)

    def syncs(self) -> SecretSyncs:
        """The instance's Secret Syncs (core/kms/syncs). The local store has none: KmsConnectError, saying so."""
        # The KMS clients load with an instance, not before the first rows of the local store.
        from kms_connect.core.kms.backend import KmsBackend  # noqa: PLC0415
        from kms_connect.core.kms.syncs import LOCAL_HAS_NONE, SecretSyncs  # noqa: PLC0415

        if not isinstance(self.backend, KmsBackend):
            raise KmsConnectError(LOCAL_HAS_NONE)
        return SecretSyncs(self.backend.client)

    async def syncs_using(self, connection: Connection) -> SyncUsers:
        """The instance's Secret Syncs that use `connection`, within a deadline (core/kms/sync_users).
        The local store has none: KmsConnectError, saying so, as syncs() does."""
        from kms_connect.core.kms.sync_users import syncs_using  # noqa: PLC0415 - with an instance only

        return await syncs_using(self.syncs(), connection)

    async def devops_projects(self, org: str, checker: Checker) -> dict[str, str]:
        """The Azure DevOps projects of `org` (name -> id), listed with a credential kept on this
        machine: a local-store connection of that organization (an instance gives none out, and
        refuses its own projects route to a machine identity). KmsConnectError, in words, when none can."""
        # Not on the way to the first rows: the sync form asks for it (~3.5 ms, python -X importtime).
        from kms_connect.core.check_target import CheckTarget  # noqa: PLC0415

        mine = [c for _, c in await self.local.list_all_connections() if c.org_name.casefold() == org.casefold()]
        usable = [c for c in mine if not self.local.not_checkable(c)]
        if not usable:
            raise KmsConnectError(
                f"No connection of {org} in the local store to list its projects with. Type the project's name "
                "as Azure DevOps shows it (or add and check a connection of that organization in the local store)."
            )
        reasons = []
        for conn in usable[:3]:  # a few tries, not every connection of a large store
            try:
                target = CheckTarget.of(conn, await self.local.read_secrets(conn.id))
                return await checker.project_ids(target)
            except KmsConnectError as exc:
                reasons.append(f"{conn.name}: {exc}")
        raise KmsConnectError("The projects could not be listed. " + " ".join(reasons))

    def instances(self) -> list[Instance]:
        return instance_store(self.paths, self.settings).list()

    def save_instance(self, instance: Instance, client_secret: str | None, *, replacing: str | None = None) -> Instance:
        """Add or edit an instance (blocking); its Client Secret goes to the secret store (None: keep it)."""
        return save_instance(self.paths, self.settings, self.local, instance, client_secret, replacing=replacing)

    def remove_instance(self, name: str) -> None:
        """Forget an instance, its Client Secret and its local check results (blocking)."""
        remove_instance(self.paths, self.settings, self.local, name)
