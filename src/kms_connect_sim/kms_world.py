"""The pretend Hanzo KMS (Infisical) instance the KMS simulator serves: one organization, its
projects, machine identities (Universal Auth), their access tokens and the App Connections.

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


def new_id() -> str:
    return str(uuid.uuid4())


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass
class KmsProject:
    id: str
    name: str
    slug: str
    description: str = ""
    type: str = "secret-manager"  # ProjectType: secret-manager, cert-manager, kms, ssh, ...


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
