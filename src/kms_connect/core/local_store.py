"""The embedded local store: projects and connections in a versioned TOML file, secrets elsewhere.

Every change is a read-modify-write under an inter-process lock, re-reading the file first, so two
running copies never lose each other's changes. A damaged or newer file is reported, never
overwritten. Secrets never enter the TOML: it only records which store holds each one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from pydantic import SecretStr

from kms_connect.core.backend import Backend, Notice
from kms_connect.core.config import CLIENT_SECRET_ENV, Settings
from kms_connect.core.errors import ConflictError, name_error
from kms_connect.core.files import file_lock
from kms_connect.core.models import (
    SECRET_FIELDS,
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
from kms_connect.core.redact import register_secret
from kms_connect.core.secrets import SecretStore
from kms_connect.core.store_file import StoreData, StoreFile
from kms_connect.core.validation import check_project_name, check_slug_name, slugify

OAUTH_SECRET_KEY = "oauth/client_secret"
PLAINTEXT_NOTICE = "plaintext-secrets"
log = logging.getLogger(__name__)
T = TypeVar("T")


def secret_key(connection_id: str, field: str) -> str:
    return f"connection/{connection_id}/{field}"


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
        self.file = StoreFile.of(paths)

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

    def _change(self, fn: Callable[[StoreData], T]) -> T:
        """Run `fn` on freshly read data under the lock and write the result."""
        with file_lock(self.paths.lock_file):
            data = self.read()
            result = fn(data)
            self._write(data)
            return result

    # --- Backend ------------------------------------------------------------------------------
    async def list_projects(self) -> list[ProjectSummary]:
        return await asyncio.to_thread(self.list_projects_sync)

    def list_projects_sync(self) -> list[ProjectSummary]:
        return self.file.listing()

    async def warm(self) -> None:
        # The listing came from the index; parse the rest now rather than when a project opens.
        await asyncio.to_thread(self.file.warm)

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
        def delete(data: StoreData) -> list[Connection]:
            data.project(project_id)
            gone = [c for c in data.connections if c.project_id == project_id]
            data.connections = [c for c in data.connections if c.project_id != project_id]
            data.projects = [p for p in data.projects if p.id != project_id]
            return gone

        def run() -> int:
            gone = self._change(delete)
            for conn in gone:
                self._delete_secrets(conn)
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
            conn_id = str(uuid.uuid4())
            locations = self._put_secrets(conn_id, draft)
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
            )

            def add(data: StoreData) -> None:
                data.project(project_id)
                _check_name(data, project_id, draft.name, None)
                data.connections.append(conn)
                self._maybe_notice(data, locations)

            try:
                self._change(add)
            except BaseException:
                self._delete_secrets(conn)  # don't leave orphans behind a failed save
                raise
            return conn

        return await asyncio.to_thread(run)

    async def update_connection(self, connection_id: str, name: str, description: str) -> Connection:
        def update(data: StoreData) -> Connection:
            conn = data.connection(connection_id)
            _check_name(data, conn.project_id, name, connection_id)
            conn.name, conn.description, conn.updated_at = name, description, utcnow()
            return conn

        return await asyncio.to_thread(self._change, update)

    async def replace_credentials(self, connection_id: str, draft: ConnectionDraft) -> Connection:
        def run() -> Connection:
            old = self.snapshot().connection(connection_id)  # only read; _change re-reads under the lock
            if draft.method is not old.method:
                raise ConflictError("The method of a connection cannot change; add a new connection instead.")
            locations = self._put_secrets(connection_id, draft)

            def replace(data: StoreData) -> Connection:
                conn = data.connection(connection_id)
                conn.org_name, conn.tenant_id, conn.client_id = draft.org_name, draft.tenant_id, draft.client_id
                conn.secrets, conn.last_check, conn.updated_at = locations, None, utcnow()
                self._maybe_notice(data, locations)
                return conn

            conn = self._change(replace)
            for field, where in old.secrets.items():
                if locations.get(field) is not where:  # moved stores: remove the stale copy
                    self._delete_secret(secret_key(connection_id, field), where)
            return conn

        return await asyncio.to_thread(run)

    async def delete_connection(self, connection_id: str) -> None:
        def delete(data: StoreData) -> Connection:
            conn = data.connection(connection_id)
            data.connections.remove(conn)
            return conn

        def run() -> None:
            self._delete_secrets(self._change(delete))

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
        where = self.secrets.put(OAUTH_SECRET_KEY, value)

        def record(data: StoreData) -> None:
            old = data.app_secrets.get(OAUTH_SECRET_KEY)
            data.app_secrets[OAUTH_SECRET_KEY] = where
            self._maybe_notice(data, {OAUTH_SECRET_KEY: where})
            if old is not None and old is not where:
                self._delete_secret(OAUTH_SECRET_KEY, old)

        self._change(record)
        return where

    def clear_app_secret(self) -> None:
        def remove(data: StoreData) -> SecretLocation | None:
            return data.app_secrets.pop(OAUTH_SECRET_KEY, None)

        where = self._change(remove)
        if where is not None:
            self._delete_secret(OAUTH_SECRET_KEY, where)

    async def read_secrets(self, connection_id: str) -> dict[str, SecretStr]:
        def run() -> dict[str, SecretStr]:
            conn = self.snapshot().connection(connection_id)
            # SecretStore.get registers each value for redaction in the debug log.
            return {f: SecretStr(self.secrets.get(secret_key(conn.id, f), where)) for f, where in conn.secrets.items()}

        return await asyncio.to_thread(run)

    async def update_secret(
        self, connection_id: str, field: str, value: SecretStr, *, as_of: datetime | None = None
    ) -> None:
        def run() -> None:
            conn = self.snapshot().connection(connection_id)
            where = conn.secrets.get(field)
            if where is None or (as_of is not None and conn.updated_at != as_of):
                return
            new = self.secrets.put(secret_key(conn.id, field), value.get_secret_value())
            if new is not where:  # the keyring came or went since: record the new place, drop the stale copy

                def move(data: StoreData) -> None:
                    data.connection(connection_id).secrets[field] = new

                self._change(move)
                self._delete_secret(secret_key(conn.id, field), where)

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
        notice, self._notice = self._notice, None
        if notice is None and self.file.results.problem:
            notice, self.file.results.problem = Notice("Check results not kept", self.file.results.problem), None
        return notice

    # --- secrets ------------------------------------------------------------------------------
    def _put_secrets(self, connection_id: str, draft: ConnectionDraft) -> dict[str, SecretLocation]:
        locations: dict[str, SecretLocation] = {}
        for field in SECRET_FIELDS[draft.method]:
            value = draft.secrets[field].get_secret_value()
            locations[field] = self.secrets.put(secret_key(connection_id, field), value)
            log.debug("secret %s of connection %s kept in %s", field, connection_id, locations[field].value)
        return locations

    def _delete_secrets(self, conn: Connection) -> None:
        for field, where in conn.secrets.items():
            self._delete_secret(secret_key(conn.id, field), where)

    def _delete_secret(self, key: str, where: SecretLocation) -> None:
        try:
            self.secrets.delete(key, where)
        except Exception as exc:  # noqa: BLE001 - the record is gone; an orphaned secret must not fail the delete
            log.warning("could not delete secret %s from %s: %s", key, where.value, exc)
            self._notice = Notice(
                "A secret was left behind",
                f"The record is gone, but a secret could not be removed from the {self.secrets.describe(where)}: "
                f"{exc}. Remove it there by hand (key {key!r}).",
            )

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
