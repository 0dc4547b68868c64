"""The embedded local store: projects and connections in a versioned TOML file, secrets elsewhere.

Every change is a read-modify-write under an inter-process lock, re-reading the file first, so two
running copies never lose each other's changes. A damaged or newer file is reported, never
overwritten. Secrets never enter the TOML: it only records which store holds each one.

A change that touches secrets is written down first (store_journal.py), so a process killed at
any point leaves nothing that open() does not clear at the next start: temp files, unfinished
changes, orphaned secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from pydantic import SecretStr

from kms_connect.core.backend import Backend, Notice
from kms_connect.core.config import CLIENT_SECRET_ENV, Settings
from kms_connect.core.errors import ConflictError, name_error
from kms_connect.core.faults import crash_point
from kms_connect.core.files import file_lock
from kms_connect.core.models import (
    CheckResult,
    Connection,
    ConnectionDraft,
    OAuthAvailability,
    Project,
    ProjectSummary,
    SecretLocation,
    utcnow,
)
from kms_connect.core.paths import Paths
from kms_connect.core.probe_record import ProbeRecord
from kms_connect.core.redact import register_secret
from kms_connect.core.secrets import SecretStore
from kms_connect.core.store_file import StoreData, StoreFile
from kms_connect.core.store_journal import (
    JOURNAL_NAME,
    OAUTH_SECRET_KEY,
    Journal,
    SecretChanges,
    connection_refs,
    recover,
    secret_key,
)
from kms_connect.core.validation import check_project_name, check_slug_name, slugify

__all__ = ["OAUTH_SECRET_KEY", "LocalStore", "secret_key"]
PLAINTEXT_NOTICE = "plaintext-secrets"
log = logging.getLogger(__name__)
T = TypeVar("T")


class LocalStore(Backend):
    label = "Local store"
    can_manage_projects = True

    def __init__(self, paths: Paths, settings: Settings, secrets: SecretStore | None = None) -> None:
        self.paths = paths
        self.settings = settings
        self.secrets = secrets or SecretStore(
            paths.secrets_file, settings.secrets.backend, settings.secrets.keyring_timeout
        )
        self._notice: Notice | None = None
        self.probe_record = ProbeRecord(paths.probe_groups)
        self.file = StoreFile.of(paths)
        self.journal = Journal(paths.data_dir / JOURNAL_NAME)
        self.changes = SecretChanges(self.journal, self.secrets, self.snapshot)
        self._opened = False

    def open(self) -> None:
        """Open the store at start (blocking): refuse a damaged one (StoreDamaged) before anything
        is touched, then clear what a killed process left: temp files of interrupted writes,
        unfinished changes (store_journal.py), and the store's secrets in the plaintext file that
        no record refers to. The log says how many of each."""
        if self._opened:
            return
        self.file.snapshot()  # the consistency check (and the first screen's data, kept)
        recover(self.paths, self.journal, self.secrets, self.snapshot, self._locked)
        self._opened = True

    # --- file I/O ---------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.paths.store_file

    def read(self) -> StoreData:
        return self.file.read()

    def snapshot(self) -> StoreData:
        """The file's data for reading only (shared: callers must not change it)."""
        return self.file.snapshot()

    def _write(self, data: StoreData) -> None:
        self.file.write(data)

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return file_lock(self.paths.lock_file)

    def _change(self, fn: Callable[[StoreData], T]) -> T:
        """Run `fn` on freshly read data under the lock and write the result."""
        with self._locked():
            data = self.read()
            result = fn(data)
            self._write(data)
            return result

    # --- Backend ------------------------------------------------------------------------------
    async def list_projects(self) -> list[ProjectSummary]:
        return await asyncio.to_thread(self.list_projects_sync)

    def list_projects_sync(self) -> list[ProjectSummary]:
        data = self.snapshot()
        counts = Counter(c.project_id for c in data.connections)
        return [ProjectSummary(p, counts[p.id]) for p in data.projects]

    async def create_project(self, name: str, description: str = "") -> Project:
        def create(data: StoreData) -> Project:
            taken = {p.slug for p in data.projects}
            error = check_project_name(name, taken)
            if error:
                raise name_error(error, name, taken=slugify(name) in taken)
            project = Project(
                id=str(uuid.uuid4()), name=name.strip(), slug=slugify(name), description=description.strip()
            )
            data.projects.append(project)
            return project

        return await asyncio.to_thread(self._change, create)

    async def delete_project(self, project_id: str) -> int:
        def run() -> int:
            with self._locked():
                data = self.read()
                data.project(project_id)
                gone = [c for c in data.connections if c.project_id == project_id]
                with self.changes.pending("delete-project", [ref for c in gone for ref in connection_refs(c)]):
                    data.connections = [c for c in data.connections if c.project_id != project_id]
                    data.projects = [p for p in data.projects if p.id != project_id]
                    self._write(data)
                    crash_point("delete-project:record")
            return len(gone)

        return await asyncio.to_thread(run)

    async def list_connections(self, project_id: str) -> list[Connection]:
        def run() -> list[Connection]:
            data = self.snapshot()
            data.project(project_id)
            # Copies: the parsed file is shared, and screens update what they were given.
            return [c.model_copy() for c in data.connections if c.project_id == project_id]

        return await asyncio.to_thread(run)

    async def list_all_connections(self) -> list[tuple[Project, Connection]]:
        def run() -> list[tuple[Project, Connection]]:  # one pass, not one per project
            data = self.snapshot()  # shared, not copied (5,000 copies cost ~40 ms): callers only read
            projects = {p.id: p for p in data.projects}
            return [(projects[c.project_id], c) for c in data.connections if c.project_id in projects]

        return await asyncio.to_thread(run)

    async def create_connection(self, project_id: str, draft: ConnectionDraft) -> Connection:
        def run() -> Connection:
            with self._locked():
                data = self.read()
                data.project(project_id)
                _check_name(data, project_id, draft.name, None)  # before any secret is written
                conn_id = str(uuid.uuid4())
                keys = [secret_key(conn_id, field) for field in draft.method.spec.secrets]
                with self.changes.pending("create", self.changes.put_refs(keys)):
                    locations = self._put_secrets(conn_id, None, draft)
                    crash_point("create:secrets")
                    conn = Connection(
                        id=conn_id,
                        project_id=project_id,
                        name=draft.name,
                        description=draft.description,
                        method=draft.method,
                        org_name=draft.org_name,
                        tenant_id=draft.tenant_id,
                        client_id=draft.client_id,
                        secrets=locations,
                        target_projects=list(draft.target_projects),
                    )
                    data.connections.append(conn)
                    self._maybe_notice(data, locations)
                    self._write(data)
                    crash_point("create:record")
            return conn

        return await asyncio.to_thread(run)

    async def update_connection(self, connection_id: str, name: str, description: str) -> Connection:
        def update(data: StoreData) -> Connection:
            conn = data.connection(connection_id)
            _check_name(data, conn.project_id, name, connection_id)
            conn.name, conn.description, conn.updated_at = name, description, utcnow()
            return conn

        return await asyncio.to_thread(self._change, update)

    async def set_target_projects(self, connection_id: str, projects: list[str]) -> Connection:
        def update(data: StoreData) -> Connection:
            conn = data.connection(connection_id)
            conn.target_projects = list(projects)  # not a change of credentials: updated_at stays
            return conn

        return await asyncio.to_thread(self._change, update)

    async def replace_credentials(self, connection_id: str, draft: ConnectionDraft) -> Connection:
        def run() -> Connection:
            with self._locked():
                data = self.read()
                conn = data.connection(connection_id)
                if draft.method is not conn.method:
                    raise ConflictError("The method of a connection cannot change; add a new connection instead.")
                # New keys: the secrets the record points at stay whole until it points at the new ones.
                generation = (conn.secrets_generation or 0) + 1
                keys = [secret_key(conn.id, field, generation) for field in draft.method.spec.secrets]
                with self.changes.pending("replace", [*self.changes.put_refs(keys), *connection_refs(conn)]):
                    locations = self._put_secrets(conn.id, generation, draft)
                    crash_point("replace:secrets")
                    conn.org_name, conn.tenant_id, conn.client_id = draft.org_name, draft.tenant_id, draft.client_id
                    conn.secrets, conn.secrets_generation = locations, generation
                    conn.target_projects = list(draft.target_projects)
                    conn.last_check, conn.updated_at = None, utcnow()
                    self._maybe_notice(data, locations)
                    self._write(data)
                    crash_point("replace:record")
            return conn

        return await asyncio.to_thread(run)

    async def delete_connection(self, connection_id: str) -> None:
        def run() -> None:
            with self._locked():
                data = self.read()
                conn = data.connection(connection_id)
                with self.changes.pending("delete", connection_refs(conn)):
                    data.connections.remove(conn)
                    self._write(data)
                    crash_point("delete:record")

        await asyncio.to_thread(run)

    async def record_check(self, connection_id: str, result: CheckResult) -> Connection:
        def run() -> Connection:
            with file_lock(self.paths.lock_file):
                self.file.record_results({connection_id: result}, lambda conn: True)
                return self.snapshot().connection(connection_id).model_copy()

        return await asyncio.to_thread(run)

    async def record_checks(self, results: dict[str, CheckResult], *, as_of: dict[str, datetime] | None = None) -> None:
        # One write of the results file for the whole batch; store.toml is not touched.
        def current(conn: Connection) -> bool:  # not if its credentials were replaced meanwhile
            return as_of is None or as_of.get(conn.id) in (None, conn.updated_at)

        def run() -> None:
            with file_lock(self.paths.lock_file):
                self.file.record_results(results, current)

        await asyncio.to_thread(run)

    async def oauth_availability(self) -> OAuthAvailability:
        return await asyncio.to_thread(self.oauth_availability_sync)

    def oauth_availability_sync(self) -> OAuthAvailability:
        client_id, source = self.settings.oauth_client_id()
        has_secret = bool(os.environ.get(CLIENT_SECRET_ENV)) or OAUTH_SECRET_KEY in self.snapshot().app_secrets
        redirect = self.settings.oauth.redirect_uri
        if client_id:
            return OAuthAvailability(
                available=True, client_id=client_id, source=source, has_client_secret=has_secret, redirect_uri=redirect
            )
        return OAuthAvailability(
            available=False,
            reason="No OAuth app is configured for kms-connect.",
            fix=(
                f"Set the env variable INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID, or client_id under [oauth] in "
                f"{self.paths.config_file}, to your Entra app registration's Application (client) ID, "
                "then restart kms-connect."
            ),
            redirect_uri=redirect,
        )

    def set_app_secret(self, value: str) -> SecretLocation:
        """Keep the OAuth app's client secret in the secret store (never the config file)."""
        with self._locked():
            data = self.read()
            old = data.app_secrets.get(OAUTH_SECRET_KEY)
            refs = self.changes.put_refs([OAUTH_SECRET_KEY]) + ([(OAUTH_SECRET_KEY, old)] if old is not None else [])
            with self.changes.pending("app-secret", refs):
                where = self.secrets.put(OAUTH_SECRET_KEY, value)
                data.app_secrets[OAUTH_SECRET_KEY] = where
                self._maybe_notice(data, {OAUTH_SECRET_KEY: where})
                self._write(data)
        return where

    def clear_app_secret(self) -> None:
        with self._locked():
            data = self.read()
            where = data.app_secrets.pop(OAUTH_SECRET_KEY, None)
            if where is not None:
                with self.changes.pending("app-secret", [(OAUTH_SECRET_KEY, where)]):
                    self._write(data)

    async def read_secrets(self, connection_id: str) -> dict[str, SecretStr]:
        def run() -> dict[str, SecretStr]:
            conn = self.snapshot().connection(connection_id)
            # SecretStore.get registers each value for redaction in the debug log.
            return {
                f: SecretStr(self.secrets.get(secret_key(conn.id, f, conn.secrets_generation), where))
                for f, where in conn.secrets.items()
            }

        return await asyncio.to_thread(run)

    async def update_secret(
        self, connection_id: str, field: str, value: SecretStr, *, as_of: datetime | None = None
    ) -> None:
        def run() -> None:
            with self._locked():  # so that a connection deleted meanwhile does not get its secret back
                conn = self.snapshot().connection(connection_id)
                where = conn.secrets.get(field)
                if where is None or (as_of is not None and conn.updated_at != as_of):
                    return
                key = secret_key(conn.id, field, conn.secrets_generation)
                new: SecretLocation | None = None
                if self.secrets.planned() is where:  # in place, the usual case: no journal entry needed
                    new = self.secrets.put(key, value.get_secret_value())
                    if new is where:
                        return
                    refs = [(key, where), (key, new)]  # the keyring failed: the file took it (listable)
                else:
                    refs = [(key, where), *self.changes.put_refs([key])]
                with self.changes.pending("refresh", refs):  # the keyring came or went: move the secret
                    if new is None:
                        new = self.secrets.put(key, value.get_secret_value())
                    if new is not where:
                        data = self.read()
                        data.connection(connection_id).secrets[field] = new
                        self._write(data)

        await asyncio.to_thread(run)

    def oauth_app_secret(self) -> str | None:
        env = os.environ.get(CLIENT_SECRET_ENV, "").strip()
        if env:
            register_secret(env)
            return env
        where = self.snapshot().app_secrets.get(OAUTH_SECRET_KEY)
        return self.secrets.get(OAUTH_SECRET_KEY, where) if where is not None else None

    def describe_secret_location(self, connection: Connection) -> str:
        places = sorted({self.secrets.describe(where) for where in connection.secrets.values()})
        return ", ".join(places) if places else "no secrets held"

    def take_notice(self) -> Notice | None:
        if self.changes.left_behind:
            (key, where), more = self.changes.left_behind[0], len(self.changes.left_behind) - 1
            self.changes.left_behind = []
            self._notice = Notice(
                "A secret was left behind",
                f"The change is saved, but a secret could not be removed from the {self.secrets.describe(where)} "
                f"(key {key!r}{f' and {more} more' if more else ''}; the debug log says why). kms-connect tries "
                "again each time it opens the store; or remove it there by hand.",
            )
        notice, self._notice = self._notice, None
        if notice is None and self.file.results.problem:
            notice, self.file.results.problem = Notice("Check results not kept", self.file.results.problem), None
        return notice

    # --- secrets ------------------------------------------------------------------------------
    def _put_secrets(
        self, connection_id: str, generation: int | None, draft: ConnectionDraft
    ) -> dict[str, SecretLocation]:
        locations: dict[str, SecretLocation] = {}
        for field in draft.method.spec.secrets:
            value = draft.secrets[field].get_secret_value()
            locations[field] = self.secrets.put(secret_key(connection_id, field, generation), value)
            log.debug("secret %s of connection %s kept in %s", field, connection_id, locations[field].value)
        return locations

    def _maybe_notice(self, data: StoreData, locations: dict[str, SecretLocation]) -> None:
        if SecretLocation.FILE in locations.values() and PLAINTEXT_NOTICE not in data.notices_shown:
            data.notices_shown.append(PLAINTEXT_NOTICE)
            why = f" because {self.secrets.fallback_reason}" if self.secrets.fallback_reason else ""
            self._notice = Notice(
                "Where secrets are kept",
                (
                    f"Secrets are kept in a PLAINTEXT file, {self.paths.secrets_file} (mode 0600){why}. "
                    "Anyone who can read your files can read them.\n\nTo use an OS keyring instead, run kms-connect "
                    "where a Secret Service is reachable; [secrets] backend in the config file chooses explicitly. "
                    "This notice is shown once."
                ),
            )


def _check_name(data: StoreData, project_id: str, name: str, own_id: str | None) -> None:
    taken = {c.name for c in data.connections if c.project_id == project_id and c.id != own_id}
    error = check_slug_name(name, taken)
    if error:
        raise name_error(error, name, taken=name in taken)
