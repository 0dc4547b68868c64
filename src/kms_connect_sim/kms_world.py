"""The pretend Hanzo KMS (Infisical) instance the KMS simulator serves: one organization, its
projects (with their environments, folders and secrets), machine identities (Universal Auth), their
access tokens, the App Connections and the Azure DevOps Secret Syncs with their jobs (issue 19).

Like `world.World`, tests describe a scenario by building a KmsWorld; the simulator's handler
threads read and write it under `lock`. Connections keep their full credentials (PAT, client
secret, OAuth tokens) as the real server keeps them encrypted; only the simulator sees them, and
every answer goes through the sanitizer in kms_rules.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TTL = 2592000  # 30 days, Universal Auth's default accessTokenTTL and accessTokenMaxTTL
LOCKOUT_THRESHOLD = 3  # failed logins before Universal Auth locks the identity out
AZURE_DEVOPS = "azure-devops"

# Fixed, recognisably made-up ids for the sample instance (stable logs and screenshots).
SAMPLE_ORG_ID = "0c9a0000-0001-4000-8000-00000000d001"
SAMPLE_PAYMENTS = "9f0e0000-0001-4000-8000-00000000e001"
SAMPLE_PLATFORM = "9f0e0000-0002-4000-8000-00000000e002"
SAMPLE_SITE_URL = "https://kms.example.test"
# Every project's environments, as a new project gets them (name, slug).
DEFAULT_ENVIRONMENTS = (("Development", "dev"), ("Staging", "staging"), ("Production", "prod"))
_NS = uuid.UUID("3b5e7c10-9d2a-4f64-8e1b-6a0c2d4f8e21")  # stable ids of environments and folders
# How sync jobs run (KmsWorld.sync_jobs; kms_sync_jobs.py): "manual", only when a test calls the
# simulator's start_jobs() / run_jobs(); "on-poll", one step each time that one sync is read (by id
# or name: queued -> running -> done), so a client following it sees pending, running, then the
# end; "auto", by themselves in a worker thread, `job_delay` seconds per step (the demo).
JOB_MODES = ("manual", "on-poll", "auto")


def new_id() -> str:
    return str(uuid.uuid4())


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass
class KmsEnvironment:
    id: str
    name: str  # the display name: a sync's variable group is named after it
    slug: str


@dataclass
class KmsProject:
    id: str
    name: str
    slug: str
    description: str = ""
    type: str = "secret-manager"  # ProjectType: secret-manager, cert-manager, kms, ssh, ...
    environments: list[KmsEnvironment] = field(default_factory=list)
    # (environment slug, folder path) -> secrets {key: value}; "/" of every environment always exists
    secrets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.environments:
            self.environments = [
                KmsEnvironment(str(uuid.uuid5(_NS, f"{self.id}/{slug}")), name, slug)
                for name, slug in DEFAULT_ENVIRONMENTS
            ]

    def environment(self, slug: str) -> KmsEnvironment | None:
        return next((e for e in self.environments if e.slug == slug), None)

    def folder_id(self, env: str, path: str) -> str | None:
        """The folder's id, or None when the environment has no such folder."""
        if self.environment(env) is None or (path != "/" and (env, path) not in self.secrets):
            return None
        return str(uuid.uuid5(_NS, f"{self.id}/{env}{path}"))


@dataclass
class KmsIdentity:
    client_id: str
    client_secret: str
    name: str
    # Org-level `app-connections` read/create/edit/delete (and sight of every project).
    org_permission: bool = True
    # Projects where it is a member with `app-connections` permissions.
    project_ids: set[str] = field(default_factory=set)
    failed_logins: int = 0
    locked: bool = False  # set after LOCKOUT_THRESHOLD failures; tests unlock by hand
    access_token_ttl: int = DEFAULT_TTL


@dataclass
class KmsToken:
    client_id: str  # the identity's Universal Auth client id
    expires_at: float  # epoch seconds; renew moves it, tests may set it in the past


@dataclass
class KmsConnection:
    id: str
    name: str
    description: str | None
    project_id: str | None  # None: org-scoped
    method: str  # oauth | access-token | client-secret (for azure-devops)
    credentials: dict[str, Any]  # full, secrets included: server side only, never answered
    created_at: dt.datetime = field(default_factory=now_utc)
    updated_at: dt.datetime = field(default_factory=now_utc)
    version: int = 1
    in_use: bool = False  # a secret sync uses it: DELETE is refused
    app: str = AZURE_DEVOPS  # other apps only appear in the generic list


@dataclass
class KmsSync:
    """An Azure DevOps Secret Sync: a project environment's folder pushed into a variable group."""

    id: str
    name: str
    project_id: str
    environment: str  # slug
    secret_path: str  # no trailing slash, "/" for the root
    connection_id: str
    destination_config: dict[str, Any]  # {devopsProjectId, devopsProjectName?}
    sync_options: dict[str, Any]  # {initialSyncBehavior, keySchema?, disableSecretDeletion?}
    description: str | None = None
    auto_sync: bool = True
    version: int = 1
    created_at: dt.datetime = field(default_factory=now_utc)
    updated_at: dt.datetime = field(default_factory=now_utc)
    sync_status: str | None = None  # None: never run; pending | running | succeeded | failed
    last_sync_job_id: str | None = None
    last_sync_message: str | None = None
    last_synced_at: dt.datetime | None = None  # written on success only
    remove_status: str | None = None
    last_remove_job_id: str | None = None
    last_remove_message: str | None = None
    last_removed_at: dt.datetime | None = None


@dataclass
class SyncJob:
    id: str
    sync_id: str
    action: str  # "sync" (push the secrets) | "remove" (delete the variable group)
    state: str = "queued"  # queued | running (the sync's lock is held) | working (its calls out are under way)
    delete_on_complete: bool = False  # a DELETE ?removeSecrets=true: the sync goes once the group is removed


@dataclass
class KmsWorld:
    org_id: str = field(default_factory=new_id)
    org_slug: str = "hanzo"
    projects: dict[str, KmsProject] = field(default_factory=dict)  # by id
    identities: dict[str, KmsIdentity] = field(default_factory=dict)  # by client_id
    tokens: dict[str, KmsToken] = field(default_factory=dict)  # by access token
    service_tokens: set[str] = field(default_factory=set)  # legacy "st." tokens: 403 on these routes
    connections: dict[str, KmsConnection] = field(default_factory=dict)  # by id
    # INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID / _SECRET; None: OAuth is not configured.
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    site_url: str = "http://localhost:8080"  # SITE_URL; "" makes OAuth fail as unset SITE_URL does
    # Older instances offer fewer Azure DevOps methods (client-secret came later): None = all.
    devops_methods: list[str] | None = None
    legacy_projects_route: bool = False  # True: /api/v1/projects is 404, only /api/v1/workspace answers
    secret_syncs_routes: bool = True  # False: an instance older than Secret Syncs (every route is 404)
    # An Infisical of September 2024 (kms_older.py): no /api/v1/projects, App Connections or Secret
    # Syncs (404), /api/v1/workspace refused to machine identities (403), projects listed by
    # /api/v2/organizations/{org_id}/workspaces only; its error bodies carry no reqId.
    september_2024: bool = False
    syncs: dict[str, KmsSync] = field(default_factory=dict)  # by id
    jobs: list[SyncJob] = field(default_factory=list)  # queued and running, oldest first
    next_job_id: int = 1
    sync_jobs: str = "manual"  # one of JOB_MODES
    job_delay: float = 1.0  # "auto" mode: seconds before a queued job starts, and before it ends
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)  # AUTH_SECRET
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def add_project(
        self, name: str, *, project_id: str | None = None, description: str = "", type: str = "secret-manager"
    ) -> KmsProject:
        with self.lock:
            project = KmsProject(project_id or new_id(), name, slugify(name) or "project", description, type)
            self.projects[project.id] = project
            return project

    def add_identity(
        self, name: str, *, org_permission: bool = True, project_ids: tuple[str, ...] | set[str] | list[str] = ()
    ) -> KmsIdentity:
        with self.lock:
            # Universal Auth client secrets are 64 hex characters.
            identity = KmsIdentity(new_id(), secrets.token_hex(32), name, org_permission, set(project_ids))
            self.identities[identity.client_id] = identity
            return identity

    def add_connection(
        self,
        name: str,
        method: str,
        credentials: dict[str, Any],
        *,
        project_id: str | None = None,
        description: str | None = None,
        in_use: bool = False,
        app: str = AZURE_DEVOPS,
    ) -> KmsConnection:
        """A connection that exists already (as if created earlier), credentials unchecked."""
        with self.lock:
            conn = KmsConnection(
                new_id(), name, description, project_id, method, dict(credentials), in_use=in_use, app=app
            )
            self.connections[conn.id] = conn
            return conn

    def add_secrets(self, project_id: str, environment: str, path: str, values: dict[str, str]) -> None:
        """Secrets in a folder of a project's environment (the folder is made if missing)."""
        with self.lock:
            folder = self.projects[project_id].secrets.setdefault((environment, path), {})
            folder.update(values)

    def add_sync(
        self,
        name: str,
        project_id: str,
        environment: str,
        connection_id: str,
        devops_project_id: str,
        *,
        devops_project_name: str | None = None,
        secret_path: str = "/",
        auto_sync: bool = True,
        key_schema: str | None = None,
    ) -> KmsSync:
        """A sync that exists already, as if created earlier; with auto-sync on, its first job is queued."""
        with self.lock:
            destination: dict[str, Any] = {"devopsProjectId": devops_project_id}
            if devops_project_name is not None:
                destination["devopsProjectName"] = devops_project_name
            options: dict[str, Any] = {"initialSyncBehavior": "overwrite-destination"}
            if key_schema is not None:
                options["keySchema"] = key_schema
            sync = KmsSync(
                new_id(),
                name,
                project_id,
                environment,
                secret_path,
                connection_id,
                destination,
                options,
                auto_sync=auto_sync,
            )
            self.syncs[sync.id] = sync
            if auto_sync:
                self.queue_job(sync, "sync")
            return sync

    def queue_job(self, sync: KmsSync, action: str, *, delete_on_complete: bool = False) -> SyncJob:
        """A job for the sync (one queued job of an action at a time: a second trigger joins it)."""
        with self.lock:
            for job in self.jobs:
                if job.sync_id == sync.id and job.action == action and job.state == "queued":
                    job.delete_on_complete = job.delete_on_complete or delete_on_complete
                    return job
            job = SyncJob(str(self.next_job_id), sync.id, action, delete_on_complete=delete_on_complete)
            self.next_job_id += 1
            self.jobs.append(job)
            if action == "sync":
                sync.sync_status = "pending"
            else:
                sync.remove_status = "pending"
            return job

    def job_running(self, sync_id: str) -> bool:
        """The sync's lock: held from a job's start to its end (queued jobs do not hold it)."""
        with self.lock:
            return any(j.sync_id == sync_id and j.state != "queued" for j in self.jobs)

    def visible_project_ids(self, identity: KmsIdentity) -> set[str]:
        with self.lock:
            if identity.org_permission:
                return set(self.projects)
            return {p for p in identity.project_ids if p in self.projects}


def sample_kms_world(
    *, oauth_client_id: str | None = None, oauth_client_secret: str | None = None, site_url: str = SAMPLE_SITE_URL
) -> tuple[KmsWorld, KmsIdentity]:
    """An instance with projects "Payments" and "Platform" and one identity with org permission."""
    kms = KmsWorld(
        org_id=SAMPLE_ORG_ID,
        org_slug="contoso",
        oauth_client_id=oauth_client_id,
        oauth_client_secret=oauth_client_secret,
        site_url=site_url,
    )
    kms.add_project("Payments", project_id=SAMPLE_PAYMENTS, description="Payment services")
    kms.add_project("Platform", project_id=SAMPLE_PLATFORM, description="Shared platform")
    identity = kms.add_identity("kms-connect", org_permission=True)
    return kms, identity
