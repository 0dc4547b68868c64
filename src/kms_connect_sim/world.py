"""The pretend Azure that the loopback simulators serve: tenants, apps, users, organizations, PATs.

Tests, benchmarks and the demo describe a scenario by building a World; the Entra ID and Azure
DevOps simulators both read (and the Entra one also writes: device flows, codes) the same World,
so a token Entra issues is one Azure DevOps accepts. Mutate it only through its methods, or
before the simulators start: the servers' handler threads read it under `lock`.
"""

from __future__ import annotations

import functools
import secrets
import threading
import uuid
from dataclasses import InitVar, dataclass, field
from datetime import UTC, datetime

ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
MSA_TENANT = "00000000-0000-0000-0000-000000000000"

# Every read scope a probe needs, and the scopes that imply it (write/manage include read).
READ_SCOPES: dict[str, tuple[str, ...]] = {
    "projects": ("vso.project", "vso.project_write", "vso.project_manage"),
    "variablegroups": ("vso.variablegroups_read", "vso.variablegroups_write", "vso.variablegroups_manage"),
    "serviceendpoints": ("vso.serviceendpoint", "vso.serviceendpoint_query", "vso.serviceendpoint_manage"),
    "release": ("vso.release", "vso.release_execute", "vso.release_manage"),
}
ALL_READ = ("vso.project", "vso.variablegroups_read", "vso.serviceendpoint", "vso.release")
FULL_ACCESS = "app_token"  # a PAT created with "Full access"
VARIABLE_GROUPS_READ = "vso.variablegroups_read"
VARIABLE_GROUPS_WRITE = "vso.variablegroups_write"
VARIABLE_GROUPS_MANAGE = "vso.variablegroups_manage"
# The scopes a variable-group write needs (reads: READ_SCOPES["variablegroups"]). Microsoft's scopes page:
# _write "read and create", _manage "read, create and manage".
# unverified: that _write may create. The REST 7.1 reference lists only _manage for Add, the scopes page
# says _write creates; modelled as the scopes page says, so a _write PAT creates a group and is then
# refused its update and delete (the trap of terraform-provider-azuredevops#314).
WRITE_SCOPES: dict[str, tuple[str, ...]] = {
    "variablegroups.create": (VARIABLE_GROUPS_WRITE, VARIABLE_GROUPS_MANAGE),
    "variablegroups.manage": (VARIABLE_GROUPS_MANAGE,),
}
SCOPES = READ_SCOPES | WRITE_SCOPES  # every operation that needs a scope -> the scopes that allow it

# The roles of Pipelines -> Library -> Security, weakest first (Microsoft's "Library asset security roles").
READER, USER, CREATOR, ADMINISTRATOR = "Reader", "User", "Creator", "Administrator"
LIBRARY_ROLES = (READER, USER, CREATOR, ADMINISTRATOR)
# Who made the sample data's variable groups: nobody the sample's identities are, so they are
# Administrator on none of them unless given the role.
SEED_OWNER = "0a0a0a0a-0000-4000-8000-00000000a0a0"
_NS = uuid.UUID("6d1a3c42-0b7e-4f58-9a51-2c8e7f1b4d90")  # stable, made-up ids per org / project


def new_id() -> str:
    return str(uuid.uuid4())


@functools.lru_cache(maxsize=4096)  # uuid5 hashes: asked for on every answer, the same few each time
def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(p.lower() for p in parts)))


@dataclass
class Tenant:
    id: str
    domains: list[str] = field(default_factory=list)  # e.g. ["contoso.onmicrosoft.com"]
    # False: the Azure DevOps service principal was never provisioned (AADSTS500011).
    has_devops: bool = True


@dataclass
class ClientSecret:
    id: str  # the "Secret ID" column in the portal, a GUID people paste by mistake
    value: str
    expired: bool = False


@dataclass
class AppRegistration:
    client_id: str
    tenant_id: str
    display_name: str = "kms-connect app"
    sp_object_id: str = field(default_factory=new_id)  # the service principal's object ID (token oid)
    secrets: list[ClientSecret] = field(default_factory=list)
    public_client_flows: bool = True  # "Allow public client flows" (device code without a secret)
    web_redirect_uris: list[str] = field(default_factory=list)  # Web platform: confidential, needs a secret
    public_redirect_uris: list[str] = field(default_factory=list)  # Mobile and desktop: public, no secret
    delegated_scopes: list[str] = field(default_factory=lambda: list(ALL_READ))  # ADO permissions granted
    consented: bool = True  # False: AADSTS65001 on user sign-in
    multi_tenant: bool = False  # True: users and tokens of other tenants may use it

    def add_secret(self, value: str | None = None, *, expired: bool = False) -> ClientSecret:
        entry = ClientSecret(new_id(), value or secrets.token_urlsafe(30), expired)
        self.secrets.append(entry)
        return entry


@dataclass
class User:
    upn: str  # alice@contoso.onmicrosoft.com
    tenant_id: str
    display_name: str = ""
    oid: str = field(default_factory=new_id)
    mfa_required: bool = False  # sign-in blocked: AADSTS50076
    blocked_by_policy: bool = False  # Conditional Access: AADSTS53003


@dataclass
class Pat:
    token: str
    user_oid: str
    scopes: set[str] = field(default_factory=lambda: set(ALL_READ))
    expired: bool = False


@dataclass
class Variable:
    value: str | None
    is_secret: bool = False


@dataclass
class ProjectReference:
    project: str  # the project's name, as spelled in Organization.projects
    name: str  # the group's name in that project (ADO asks for it in each reference)
    description: str = ""


@dataclass
class VariableGroup:
    id: int  # unique in the organization: PUT and DELETE name a group by id alone
    name: str
    variables: dict[str, Variable]
    references: list[ProjectReference]  # the projects it is in (more than one: a shared group)
    created_by: str  # oid; the creator is always the group's Administrator
    created_on: str
    modified_by: str
    modified_on: str
    description: str = ""
    type: str = "Vsts"

    def in_project(self, project: str) -> bool:
        return any(r.project == project for r in self.references)


@dataclass
class Organization:
    name: str
    tenant_id: str  # MSA_TENANT for a Microsoft-account-backed organization
    projects: list[str] = field(default_factory=lambda: ["Platform"])
    members: set[str] = field(default_factory=set)  # user oids and service principal object ids
    # identity oid -> probe names ("projects", "variablegroups", ...) answered with 403
    denied: dict[str, set[str]] = field(default_factory=dict)
    variable_groups: list[VariableGroup] = field(default_factory=list)
    seed_groups: InitVar[int] = 2  # groups made in each project at creation: the sample data's two
    service_endpoints: int = 1
    release_definitions: int = 1
    # identity oid -> the only projects it was added to; a member not listed is in every project
    project_members: dict[str, set[str]] = field(default_factory=dict)
    # (oid, project) -> its role in that project's Library (every group); not listed: Creator, what
    # Contributors get by default (see library.py)
    library_roles: dict[tuple[str, str], str] = field(default_factory=dict)
    group_roles: dict[tuple[str, int], str] = field(default_factory=dict)  # (oid, group id) -> role in its Security
    next_group_id: int = 1

    def __post_init__(self, seed_groups: int) -> None:
        for project in self.projects:
            for i in range(1, seed_groups + 1):
                variables = {"ENVIRONMENT": Variable(f"env-{i}"), "API_KEY": Variable(secrets.token_hex(8), True)}
                group = self.add_group(project, f"{project.lower()}-settings-{i}", variables, SEED_OWNER)
                group.created_on, group.modified_on = "2025-10-01T08:00:00Z", "2025-10-02T08:00:00Z"

    def project_id(self, project: str) -> str:
        return stable_id("project", self.name, project)

    def find_project(self, key: str) -> str | None:
        """The project named `key` (any case) or whose id it is."""
        key = key.lower()
        return next((p for p in self.projects if key in (p.lower(), self.project_id(p))), None)

    def add_group(
        self, project: str, name: str, variables: dict[str, Variable], creator: str, description: str = ""
    ) -> VariableGroup:
        """A group in one project, made by `creator` (an oid) now."""
        now = iso_now()
        references = [ProjectReference(project, name)]
        group = VariableGroup(self.next_group_id, name, variables, references, creator, now, creator, now, description)
        self.next_group_id += 1
        self.variable_groups.append(group)
        return group

    def group(self, group_id: int) -> VariableGroup | None:
        return next((g for g in self.variable_groups if g.id == group_id), None)


@dataclass
class DeviceFlow:
    device_code: str
    user_code: str
    client_id: str
    tenant_id: str
    scope: str
    expires_at: float
    state: str = "pending"  # pending | approved | declined | expired | redeemed (tokens issued once)
    user_upn: str | None = None
    polls: int = 0


@dataclass
class AuthCode:
    code: str
    client_id: str
    tenant_id: str
    redirect_uri: str
    user_upn: str
    scope: str
    code_challenge: str | None
    nonce: str | None
    used: bool = False


@dataclass
class World:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    apps: dict[str, AppRegistration] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)  # by upn
    orgs: dict[str, Organization] = field(default_factory=dict)  # by lower-case name
    pats: dict[str, Pat] = field(default_factory=dict)
    device_flows: dict[str, DeviceFlow] = field(default_factory=dict)  # by device_code
    auth_codes: dict[str, AuthCode] = field(default_factory=dict)
    revoked_refresh_users: set[str] = field(default_factory=set)  # upns whose refresh tokens died
    # The browser sign-in that /authorize pretends happened: who signs in, or how it fails.
    browser_user: str | None = None
    browser_outcome: str = "ok"  # ok | declined
    device_interval: int = 1  # seconds between device-code polls (Entra says 5)
    device_expires_in: int = 900
    # Demo mode: approve a device flow by itself after this many polls (None: tests approve).
    auto_approve_after: int | None = None
    token_lifetime: int = 3599
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # --- building a scenario ---------------------------------------------------------------------
    def add_tenant(self, domain: str, tenant_id: str | None = None, **kw: object) -> Tenant:
        tenant = Tenant(tenant_id or new_id(), [domain], **kw)  # type: ignore[arg-type]
        self.tenants[tenant.id] = tenant
        return tenant

    def add_app(self, tenant: Tenant, client_id: str | None = None, **kw: object) -> AppRegistration:
        app = AppRegistration(client_id or new_id(), tenant.id, **kw)  # type: ignore[arg-type]
        self.apps[app.client_id] = app
        return app

    def add_user(self, upn: str, tenant: Tenant, **kw: object) -> User:
        user = User(upn, tenant.id, **kw)  # type: ignore[arg-type]
        if not user.display_name:
            user.display_name = upn.split("@")[0].title()
        self.users[upn] = user
        return user

    def add_org(self, name: str, tenant: Tenant | None, **kw: object) -> Organization:
        org = Organization(name, tenant.id if tenant else MSA_TENANT, **kw)  # type: ignore[arg-type]
        self.orgs[name.lower()] = org
        return org

    def revoke_pat(self, pat: Pat) -> None:
        """Revoked in the portal. unverified: that ADO then answers as to no credential at all (401
        TF400813 "anonymous", or the 203 sign-in page), as it does for a token it never issued."""
        with self.lock:
            self.pats.pop(pat.token, None)

    def add_pat(self, user: User, scopes: set[str] | None = None, *, expired: bool = False) -> Pat:
        # 52 characters, the length of a classic Azure DevOps PAT.
        token = secrets.token_urlsafe(39)[:52]
        pat = Pat(token, user.oid, set(ALL_READ) if scopes is None else scopes, expired)
        self.pats[token] = pat
        return pat

    # --- the pretend browser / phone -------------------------------------------------------------
    def pending_device_flows(self) -> list[DeviceFlow]:
        with self.lock:
            return [f for f in self.device_flows.values() if f.state == "pending"]

    def set_device_flow(self, user_code: str, state: str, user_upn: str | None = None) -> None:
        """What the operator did on their phone: approved (as user_upn), declined, or let expire."""
        with self.lock:
            for flow in self.device_flows.values():
                if flow.user_code == user_code:
                    flow.state, flow.user_upn = state, user_upn
                    return
        raise KeyError(user_code)

    def resolve_tenant(self, value: str) -> Tenant | None:
        value = value.lower()
        for tenant in self.tenants.values():
            if tenant.id == value or value in (d.lower() for d in tenant.domains):
                return tenant
        return None

    def identity_name(self, oid: str) -> tuple[str, str]:
        """(display name, account) of a user or service principal, for connectionData."""
        for user in self.users.values():
            if user.oid == oid:
                return user.display_name, user.upn
        for app in self.apps.values():
            if app.sp_object_id == oid:
                return app.display_name, app.client_id
        return "Unknown", oid


def iso_now() -> str:
    """Now, as ADO writes times: UTC, milliseconds, Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
