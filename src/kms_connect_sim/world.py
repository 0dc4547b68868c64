"""The pretend Azure that the loopback simulators serve: tenants, apps, users, organizations, PATs.

Tests, benchmarks and the demo describe a scenario by building a World; the Entra ID and Azure
DevOps simulators both read (and the Entra one also writes: device flows, codes) the same World,
so a token Entra issues is one Azure DevOps accepts. Mutate it only through its methods, or
before the simulators start: the servers' handler threads read it under `lock`.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass, field

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


def new_id() -> str:
    return str(uuid.uuid4())


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
class Organization:
    name: str
    tenant_id: str  # MSA_TENANT for a Microsoft-account-backed organization
    projects: list[str] = field(default_factory=lambda: ["Platform"])
    members: set[str] = field(default_factory=set)  # user oids and service principal object ids
    # identity oid -> probe names ("projects", "variablegroups", ...) answered with 403
    denied: dict[str, set[str]] = field(default_factory=dict)
    variable_groups: int = 2
    service_endpoints: int = 1
    release_definitions: int = 1


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
