"""The Azure DevOps Secret Sync routes of the KMS simulator (issue 19), under
`/api/v1/secret-syncs/azure-devops`, as Infisical's `secret-sync-endpoints.ts` registers them and
its secret-sync service answers:

    GET    ?projectId=                  {secretSyncs: [...]}
    GET    /:syncId                     {secretSync}
    GET    /sync-name/:name?projectId=  {secretSync}
    POST   /                            create               {secretSync}
    PATCH  /:syncId                     update               {secretSync}
    DELETE /:syncId?removeSecrets=      delete (or remove the group first, then delete)
    POST   /:syncId/sync-secrets        trigger a sync job   {secretSync}
    POST   /:syncId/remove-secrets      trigger a remove job {secretSync}
    POST   /:syncId/import-secrets      400: Azure DevOps cannot import
    POST   /check-destination           {hasDuplicate, duplicateProjectId?}

A mixin of `KmsSimulator` (which authenticates, parses bodies and runs the jobs: kms_sync_jobs.py).
With `KmsWorld.secret_syncs_routes` False every route is the 404 of an older instance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .kms_rules import KmsError, bad_request, iso, not_found, permission_denied
from .kms_sync_validation import (
    remove_secrets_query,
    required_query,
    sync_id_param,
    validate_check_destination,
    validate_sync_create,
    validate_sync_update,
)
from .kms_world import AZURE_DEVOPS, KmsIdentity, KmsProject, KmsSync, KmsWorld, new_id, now_utc

if TYPE_CHECKING:
    from .server import RecordedRequest

_Json = dict[str, Any]
NAME = "Azure DevOps"
SUBJECT = "SecretSyncs"  # the CASL subject in "You are not allowed to <action> on <subject>"
IN_PROGRESS = "A job for this sync is already in progress. Please try again shortly."
IMPORT_BEHAVIORS = ("prioritize-source", "prioritize-destination")


def sync_item(world: KmsWorld, sync: KmsSync) -> _Json:
    """A sync as the response schema returns it (the DB row and its joins)."""
    project = world.projects.get(sync.project_id)
    env = project.environment(sync.environment) if project else None
    folder_id = project.folder_id(sync.environment, sync.secret_path) if project else None
    conn = world.connections.get(sync.connection_id)
    return {
        "id": sync.id,
        "name": sync.name,
        "description": sync.description,
        "destination": AZURE_DEVOPS,
        "isAutoSyncEnabled": sync.auto_sync,
        "version": sync.version,
        "destinationConfig": dict(sync.destination_config),
        "syncOptions": dict(sync.sync_options),
        "projectId": sync.project_id,
        "folderId": folder_id,
        "connectionId": sync.connection_id,
        "createdAt": iso(sync.created_at),
        "updatedAt": iso(sync.updated_at),
        "syncStatus": sync.sync_status,
        "lastSyncJobId": sync.last_sync_job_id,
        "lastSyncMessage": sync.last_sync_message,
        "lastSyncedAt": iso(sync.last_synced_at) if sync.last_synced_at else None,
        "importStatus": None,
        "lastImportJobId": None,
        "lastImportMessage": None,
        "lastImportedAt": None,
        "removeStatus": sync.remove_status,
        "lastRemoveJobId": sync.last_remove_job_id,
        "lastRemoveMessage": sync.last_remove_message,
        "lastRemovedAt": iso(sync.last_removed_at) if sync.last_removed_at else None,
        "connection": {"app": AZURE_DEVOPS, "name": conn.name if conn else "", "id": sync.connection_id},
        "environment": {"slug": env.slug, "name": env.name, "id": env.id} if env else None,
        "folder": {"id": folder_id, "path": sync.secret_path} if folder_id else None,
    }


class SecretSyncRoutes:
    """The routes; `KmsSimulator` provides the rest (see TYPE_CHECKING below)."""

    kms_world: KmsWorld

    if TYPE_CHECKING:

        def _identity(self, request: RecordedRequest) -> KmsIdentity: ...
        def _body(self, request: RecordedRequest) -> Any: ...
        def _no_route(self, request: RecordedRequest) -> KmsError: ...
        def _advance_jobs(self, sync_ids: list[str]) -> None: ...
        def _jobs_changed(self) -> None: ...

    def _secret_syncs(self, request: RecordedRequest, method: str, rest: list[str]) -> _Json:
        route = _match(method, rest) if self.kms_world.secret_syncs_routes else None
        if route is None:
            raise self._no_route(request)
        who = self._identity(request)  # onRequest: authentication comes before any validation
        if route == "list":
            return {"secretSyncs": self._list_syncs(request, who)}
        if route == "create":
            return {"secretSync": self._create_sync(request, who)}
        if route == "check":
            return self._check_destination(request, who)
        if route == "by-name":
            return {"secretSync": self._sync_by_name(request, who, rest[1])}
        sync_id = sync_id_param(rest[0])
        if route == "import-secrets":
            return self._import(request)
        if route in ("sync-secrets", "remove-secrets"):
            return {"secretSync": self._trigger(who, sync_id, "sync" if route == "sync-secrets" else "remove")}
        if method == "GET":
            return {"secretSync": self._read_sync(who, sync_id)}
        if method == "PATCH":
            return {"secretSync": self._update_sync(request, who, sync_id)}
        return {"secretSync": self._delete_sync(request, who, sync_id)}

    # --- checks ----------------------------------------------------------------------------------
    def _project(self, identity: KmsIdentity, project_id: str, action: str) -> KmsProject:
        """getProjectPermission, then the CASL check. unverified: the not-found wording."""
        project = self.kms_world.projects.get(project_id)
        if project is None:
            raise not_found(f"Project with ID '{project_id}' not found")
        if not (identity.org_permission or project_id in identity.project_ids):
            raise permission_denied(action, SUBJECT)
        return project

    def _sync(self, identity: KmsIdentity, sync_id: str, action: str, *, quoted: bool = True) -> KmsSync:
        sync = self.kms_world.syncs.get(sync_id)
        if sync is None:
            shown = f'"{sync_id}"' if quoted else sync_id  # the update's message has no quotes
            raise not_found(f"Could not find {NAME} Sync with ID {shown}")
        self._project(identity, sync.project_id, action)
        return sync

    @staticmethod
    def _folder(project: KmsProject, environment: str, path: str) -> None:
        if project.folder_id(environment, path) is None:
            raise bad_request(
                f'Could not find folder with path "{path}" in environment "{environment}" for project with ID '
                f'"{project.id}"'
            )

    def _connection_for(self, connection_id: str, project_id: str) -> None:
        """validateAppConnectionUsageById. unverified: a connection of another project answers as a
        missing one (the real wording for that case is not known)."""
        conn = self.kms_world.connections.get(connection_id)
        if conn is None or conn.project_id not in (None, project_id):
            raise not_found(f"Could not find App Connection with ID {connection_id}")
        if conn.app != AZURE_DEVOPS:
            raise bad_request(f'App Connection with ID {connection_id} is not for App "{AZURE_DEVOPS}"')

    def _unique(self, name: str, project_id: str, own_id: str | None = None) -> None:
        for other in self.kms_world.syncs.values():
            if other.name == name and other.project_id == project_id and other.id != own_id:
                raise bad_request(
                    f'A Secret Sync with the name "{name}" already exists for the project with ID "{project_id}"'
                )

    # --- reads -----------------------------------------------------------------------------------
    def _list_syncs(self, request: RecordedRequest, identity: KmsIdentity) -> list[_Json]:
        project_id = required_query(request.query, "projectId", "Project ID required")
        world = self.kms_world
        with world.lock:  # a listing leaves jobs as they are ("on-poll" moves them on reads of one sync)
            self._project(identity, project_id, "read")
            rows = [s for s in world.syncs.values() if s.project_id == project_id]
            return [sync_item(world, s) for s in sorted(rows, key=lambda s: s.name)]

    def _read_sync(self, identity: KmsIdentity, sync_id: str) -> _Json:
        with self.kms_world.lock:
            self._sync(identity, sync_id, "read")
        self._advance_jobs([sync_id])
        with self.kms_world.lock:
            return sync_item(self.kms_world, self._sync(identity, sync_id, "read"))

    def _sync_by_name(self, request: RecordedRequest, identity: KmsIdentity, name: str) -> _Json:
        name = name.strip()
        if not name:
            raise KmsError(422, "ValidationFailure", [_too_small(["syncName"], "Sync name required")])
        project_id = required_query(request.query, "projectId", "Project ID required")
        world = self.kms_world

        def find() -> KmsSync:
            for sync in world.syncs.values():
                if sync.name == name and sync.project_id == project_id:
                    self._project(identity, project_id, "read")
                    return sync
            raise not_found(f'Could not find {NAME} Sync with name "{name}"')

        with world.lock:
            sync_id = find().id
        self._advance_jobs([sync_id])
        with world.lock:
            return sync_item(world, find())

    # --- writes ----------------------------------------------------------------------------------
    def _create_sync(self, request: RecordedRequest, identity: KmsIdentity) -> _Json:
        body = validate_sync_create(self._body(request))
        world = self.kms_world
        with world.lock:
            project = self._project(identity, body["projectId"], "create")
            self._folder(project, body["environment"], body["secretPath"])
            self._unique(body["name"], project.id)
            self._connection_for(body["connectionId"], project.id)
            sync = KmsSync(
                new_id(),
                body["name"],
                project.id,
                body["environment"],
                body["secretPath"],
                body["connectionId"],
                body["destinationConfig"],
                body["syncOptions"],
                description=body["description"],
                auto_sync=body["isAutoSyncEnabled"],
            )
            world.syncs[sync.id] = sync
            if sync.auto_sync:
                world.queue_job(sync, "sync")
            answer = sync_item(world, sync)
        self._jobs_changed()
        return answer

    def _update_sync(self, request: RecordedRequest, identity: KmsIdentity, sync_id: str) -> _Json:
        body = validate_sync_update(self._body(request))
        world = self.kms_world
        with world.lock:
            sync = self._sync(identity, sync_id, "edit", quoted=False)
            project = world.projects[sync.project_id]
            environment = body.get("environment", sync.environment)
            path = body.get("secretPath", sync.secret_path)
            if (environment, path) != (sync.environment, sync.secret_path):
                self._folder(project, environment, path)
            if "connectionId" in body:
                self._connection_for(body["connectionId"], project.id)
            if "name" in body:
                self._unique(body["name"], project.id, sync.id)
            for key, attr in (
                ("name", "name"),
                ("description", "description"),
                ("connectionId", "connection_id"),
                ("isAutoSyncEnabled", "auto_sync"),
                ("syncOptions", "sync_options"),
                ("destinationConfig", "destination_config"),
            ):
                if key in body:
                    setattr(sync, attr, body[key])
            sync.environment, sync.secret_path = environment, path
            sync.version += 1
            sync.updated_at = now_utc()
            if sync.auto_sync:  # an edit of an auto-syncing sync starts a sync at once
                world.queue_job(sync, "sync")
            answer = sync_item(world, sync)
        self._jobs_changed()
        return answer

    def _delete_sync(self, request: RecordedRequest, identity: KmsIdentity, sync_id: str) -> _Json:
        remove = remove_secrets_query(request.query)
        world = self.kms_world
        with world.lock:
            sync = self._sync(identity, sync_id, "delete")
            if remove:
                self._project(identity, sync.project_id, "remove-secrets")
                if world.job_running(sync.id):
                    raise bad_request(IN_PROGRESS)
                world.queue_job(sync, "remove", delete_on_complete=True)
                answer = sync_item(world, sync)
            else:
                answer = sync_item(world, sync)
                del world.syncs[sync.id]
                world.jobs = [j for j in world.jobs if j.sync_id != sync.id or j.state != "queued"]
        self._jobs_changed()
        return answer

    def _trigger(self, identity: KmsIdentity, sync_id: str, action: str) -> _Json:
        world = self.kms_world
        with world.lock:
            sync = self._sync(identity, sync_id, "sync-secrets" if action == "sync" else "remove-secrets")
            if world.job_running(sync.id):
                raise bad_request(IN_PROGRESS)
            world.queue_job(sync, action)
            answer = sync_item(world, sync)
        self._jobs_changed()
        return answer

    def _import(self, request: RecordedRequest) -> _Json:
        behavior = request.query.get("importBehavior")
        if behavior not in IMPORT_BEHAVIORS:
            issue = {
                "received": behavior,
                "code": "invalid_enum_value" if behavior is not None else "invalid_type",
                "options": list(IMPORT_BEHAVIORS),
                "path": ["importBehavior"],
                "message": "Required"
                if behavior is None
                else "Invalid enum value. Expected 'prioritize-source' | 'prioritize-destination', received "
                f"'{behavior}'",
            }
            raise KmsError(422, "ValidationFailure", [issue])
        raise bad_request(f"{NAME} does not support importing secrets.")

    def _check_destination(self, request: RecordedRequest, identity: KmsIdentity) -> _Json:
        """checkDuplicateDestination. unverified: what Azure DevOps' duplicate check compares; here the
        Azure DevOps project id, and the organization when both connections are known (the
        environment is not compared, as the server's destinationConfig holds none)."""
        body = validate_check_destination(self._body(request))
        world = self.kms_world
        with world.lock:
            self._project(identity, body["projectId"], "read")
            wanted = body["destinationConfig"]
            if not isinstance(wanted, dict) or not wanted.get("devopsProjectId"):
                return {"hasDuplicate": False}
            new_conn = world.connections.get(body["connectionId"] or "")
            for sync in world.syncs.values():
                if sync.id == body["excludeSyncId"]:
                    continue
                if sync.destination_config.get("devopsProjectId") != wanted["devopsProjectId"]:
                    continue
                old_conn = world.connections.get(sync.connection_id)
                if new_conn and old_conn and new_conn.credentials.get("orgName") != old_conn.credentials.get("orgName"):
                    continue
                answer: _Json = {"hasDuplicate": True}
                if identity.org_permission or sync.project_id in identity.project_ids:
                    answer["duplicateProjectId"] = sync.project_id
                return answer
        return {"hasDuplicate": False}


def _match(method: str, rest: list[str]) -> str | None:
    """Which route a method and path are, as Fastify matches them (static segments first)."""
    if rest == []:
        return {"GET": "list", "POST": "create"}.get(method)
    if rest == ["check-destination"] and method == "POST":
        return "check"
    if len(rest) == 2 and rest[0] == "sync-name" and method == "GET":
        return "by-name"
    if len(rest) == 1 and method in ("GET", "PATCH", "DELETE"):
        return "one"
    if len(rest) == 2 and method == "POST" and rest[1] in ("sync-secrets", "remove-secrets", "import-secrets"):
        return rest[1]
    return None


def _too_small(path: list[Any], message: str) -> _Json:
    return {
        "code": "too_small",
        "minimum": 1,
        "type": "string",
        "inclusive": True,
        "exact": False,
        "message": message,
        "path": path,
    }
