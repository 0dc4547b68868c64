"""Entra ID and Azure DevOps simulators running together over one World, plus a sample scenario.

Tests use `Sandbox` through the fixtures in tests/sim_fixtures.py; the demo mode points the app at
`config_toml()`. `sample_world()` is the believable scenario both use: a tenant with an Azure
DevOps organization, users in and out of it, app registrations that pass and fail in each
documented way, PATs with and without the needed scopes, and identities whose variable-group
writes pass or are refused each way a secret sync meets (issue 18).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from .devops import DevOpsSimulator
from .entra import EntraSimulator
from .tls import TlsFiles, make_tls
from .world import (
    ADMINISTRATOR,
    ALL_READ,
    FULL_ACCESS,
    READER,
    VARIABLE_GROUPS_MANAGE,
    VARIABLE_GROUPS_WRITE,
    AppRegistration,
    Organization,
    Pat,
    Tenant,
    User,
    World,
)

# Fixed, recognisably made-up ids, so logs and screenshots read the same on every run.
CONTOSO_TENANT = "c0a75050-1d2e-4f60-8a9b-5e6f7a8b9c01"
FABRIKAM_TENANT = "fab71ca0-3e4d-4a5b-9c6d-7e8f9a0b1c02"
OAUTH_APP = "a0a71e00-0001-4000-8000-00000000a001"
OAUTH_WEB_APP = "a0a71e00-0002-4000-8000-00000000a002"
NO_PUBLIC_FLOWS_APP = "a0a71e00-0003-4000-8000-00000000a003"
SP_APP = "5e0a7100-0001-4000-8000-00000000b001"
SP_EXPIRED_APP = "5e0a7100-0002-4000-8000-00000000b002"
SP_OUTSIDER_APP = "5e0a7100-0003-4000-8000-00000000b003"
SP_LIBRARY_READER_APP = "5e0a7100-0004-4000-8000-00000000b004"
SP_PLATFORM_ONLY_APP = "5e0a7100-0005-4000-8000-00000000b005"
SP_LIBRARY_ADMIN_APP = "5e0a7100-0006-4000-8000-00000000b006"
PLATFORM, PAYMENTS = "Platform", "Payments"  # contoso-dev's projects
MANY_PROJECTS = 250  # in contoso-many: three pages of `_apis/projects` at its default 100
KMS_CALLBACK = "https://kms.example.test/organization/app-connections/azure/oauth/callback"


@dataclass
class Sample:
    """Handles on the parts of `sample_world()` that tests refer to. Secrets are the values.

    Writing variable groups (issue 18's write proof), in contoso-dev's projects "Platform" and
    "Payments", each holding two groups made by someone else (`world.SEED_OWNER`):
    - `pat_vg_manage`: alice with `vso.variablegroups_manage`, Creator in both Libraries (an org
      member's default): creates, reads back (secrets null), updates and deletes its own group.
      Changing a group someone else made is refused (403): she is only Reader on it.
    - `pat_vg_write`: alice with `vso.variablegroups_write` only: creates, then the update and the
      delete are refused with 401 (the missing scope), so the group would be left behind.
    - `pat_vg_read` (and `pat_ok`): every read scope, no write one: the create is refused with 401.
    - `sp_app`: a service principal (no scopes), Creator in both: the whole proof passes.
    - `sp_library_reader`: Library role Reader in Platform, so the create there is refused with
      403 (AccessCheckException); Creator in Payments, where it passes.
    - `sp_platform_only`: added to Platform only: Payments answers 404 (VS800075), as for a
      project that does not exist, and `_apis/projects` lists Platform alone.
    - `sp_library_admin`: Administrator in both Libraries: may update and delete any group there.
    - `many_projects_org` (contoso-many, alice and `sp_app` members): 250 projects "proj-001"...,
      three pages of `_apis/projects` at the default $top of 100.
    """

    tenant: Tenant
    other_tenant: Tenant
    alice: User  # member of `org`
    bob: User  # same tenant, not a member of `org`
    mallory: User  # another tenant
    oauth_app: AppRegistration  # public client: device code, http://localhost auth code
    oauth_web_app: AppRegistration  # confidential: web redirect URIs and a secret
    web_secret: str
    no_public_flows_app: AppRegistration  # "Allow public client flows" = No
    sp_app: AppRegistration  # service principal that is an org member
    sp_secret: str
    sp_expired: AppRegistration  # its only secret is expired
    sp_expired_secret: str
    sp_outsider: AppRegistration  # valid secret, not an org member (TF401444)
    sp_outsider_secret: str
    org: Organization  # contoso-dev
    msa_org: Organization  # contoso-msa, backed by a Microsoft account
    pat_ok: Pat  # alice, every read scope
    pat_no_release: Pat  # alice, every read scope but vso.release
    pat_expired: Pat
    pat_bob: Pat  # bob, who is not an org member
    pat_full: Pat  # "Full access"
    pat_vg_manage: Pat  # alice, every read scope and vso.variablegroups_manage
    pat_vg_write: Pat  # alice, every read scope and vso.variablegroups_write (not _manage)
    pat_vg_read: Pat  # alice, every read scope (vso.variablegroups_read), no write scope
    sp_library_reader: AppRegistration  # Library Reader in Platform, Creator in Payments
    sp_library_reader_secret: str
    sp_platform_only: AppRegistration  # in contoso-dev, but added to Platform only
    sp_platform_only_secret: str
    sp_library_admin: AppRegistration  # Library Administrator in Platform and Payments
    sp_library_admin_secret: str
    many_projects_org: Organization  # contoso-many: 250 projects


def sample_world() -> tuple[World, Sample]:
    world = World()
    contoso = world.add_tenant("contoso.onmicrosoft.com", CONTOSO_TENANT)
    fabrikam = world.add_tenant("fabrikam.onmicrosoft.com", FABRIKAM_TENANT)
    alice = world.add_user(
        "alice@contoso.onmicrosoft.com",
        contoso,
        display_name="Alice Lindqvist",
        oid="a11ce000-0000-4000-8000-0000000a11ce",
    )
    bob = world.add_user(
        "bob@contoso.onmicrosoft.com", contoso, display_name="Bob Okafor", oid="b0b00000-0000-4000-8000-000000000b0b"
    )
    mallory = world.add_user(
        "mallory@fabrikam.onmicrosoft.com",
        fabrikam,
        display_name="Mallory Reyes",
        oid="6a110000-0000-4000-8000-00000006a110",
    )

    oauth_app = world.add_app(
        contoso, OAUTH_APP, display_name="kms-connect (device code)", public_redirect_uris=["http://localhost"]
    )
    web_app = world.add_app(
        contoso,
        OAUTH_WEB_APP,
        display_name="Hanzo KMS",
        public_client_flows=False,
        web_redirect_uris=[KMS_CALLBACK, "http://localhost:8400"],
    )
    web_secret = web_app.add_secret()
    no_public = world.add_app(
        contoso,
        NO_PUBLIC_FLOWS_APP,
        display_name="kms-connect (no public flows)",
        public_client_flows=False,
        public_redirect_uris=["http://localhost"],
    )
    sp_app = world.add_app(
        contoso,
        SP_APP,
        display_name="kms-devops-automation",
        public_client_flows=False,
        sp_object_id="5e0b1ec7-0001-4000-8000-00000000c001",
    )
    sp_secret = sp_app.add_secret()
    sp_expired = world.add_app(
        contoso,
        SP_EXPIRED_APP,
        display_name="kms-old-automation",
        public_client_flows=False,
        sp_object_id="5e0b1ec7-0002-4000-8000-00000000c002",
    )
    expired_secret = sp_expired.add_secret(expired=True)
    sp_outsider = world.add_app(
        contoso,
        SP_OUTSIDER_APP,
        display_name="kms-unprovisioned-automation",
        public_client_flows=False,
        sp_object_id="5e0b1ec7-0003-4000-8000-00000000c003",
    )
    outsider_secret = sp_outsider.add_secret()

    org = world.add_org("contoso-dev", contoso, projects=[PLATFORM, PAYMENTS], members={alice.oid, sp_app.sp_object_id})
    msa_org = world.add_org("contoso-msa", None, projects=["Sandbox"], members={alice.oid})
    writers = _variable_group_writers(world, contoso, org)
    many = world.add_org(
        "contoso-many",
        contoso,
        projects=[f"proj-{i:03d}" for i in range(1, MANY_PROJECTS + 1)],
        members={alice.oid, sp_app.sp_object_id},
        seed_groups=0,
    )

    world.browser_user = alice.upn
    sample = Sample(
        tenant=contoso,
        other_tenant=fabrikam,
        alice=alice,
        bob=bob,
        mallory=mallory,
        oauth_app=oauth_app,
        oauth_web_app=web_app,
        web_secret=web_secret.value,
        no_public_flows_app=no_public,
        sp_app=sp_app,
        sp_secret=sp_secret.value,
        sp_expired=sp_expired,
        sp_expired_secret=expired_secret.value,
        sp_outsider=sp_outsider,
        sp_outsider_secret=outsider_secret.value,
        org=org,
        msa_org=msa_org,
        pat_ok=world.add_pat(alice),
        pat_no_release=world.add_pat(alice, set(ALL_READ) - {"vso.release"}),
        pat_expired=world.add_pat(alice, expired=True),
        pat_bob=world.add_pat(bob),
        pat_full=world.add_pat(alice, {FULL_ACCESS}),
        pat_vg_manage=world.add_pat(alice, {*ALL_READ, VARIABLE_GROUPS_MANAGE}),
        pat_vg_write=world.add_pat(alice, {*ALL_READ, VARIABLE_GROUPS_WRITE}),
        pat_vg_read=world.add_pat(alice),
        sp_library_reader=writers[0][0],
        sp_library_reader_secret=writers[0][1],
        sp_platform_only=writers[1][0],
        sp_platform_only_secret=writers[1][1],
        sp_library_admin=writers[2][0],
        sp_library_admin_secret=writers[2][1],
        many_projects_org=many,
    )
    return world, sample


def _variable_group_writers(world: World, tenant: Tenant, org: Organization) -> list[tuple[AppRegistration, str]]:
    """Service principals in `org` whose variable-group writes pass or fail by Library role or
    project membership: (app, secret value) for the reader, the Platform-only one, the administrator."""
    made = []
    for client_id, display, n in (
        (SP_LIBRARY_READER_APP, "kms-sync-library-reader", 4),
        (SP_PLATFORM_ONLY_APP, "kms-sync-platform-only", 5),
        (SP_LIBRARY_ADMIN_APP, "kms-sync-library-admin", 6),
    ):
        app = world.add_app(
            tenant,
            client_id,
            display_name=display,
            public_client_flows=False,
            sp_object_id=f"5e0b1ec7-000{n}-4000-8000-00000000c00{n}",
        )
        org.members.add(app.sp_object_id)
        made.append((app, app.add_secret().value))
    reader, platform_only, admin = (app.sp_object_id for app, _ in made)
    org.library_roles[(reader, PLATFORM)] = READER  # Payments: the default, Creator
    org.project_members[platform_only] = {PLATFORM}
    org.library_roles |= {(admin, PLATFORM): ADMINISTRATOR, (admin, PAYMENTS): ADMINISTRATOR}
    return made


def _toml_string(value: str) -> str:
    # A JSON string without ASCII escaping is a valid TOML basic string (\uXXXX escapes, no \/).
    return json.dumps(value, ensure_ascii=False)


class Sandbox:
    """Both simulators on one World and one CA. `directory` holds the TLS files (or pass them)."""

    def __init__(self, directory: Path | TlsFiles, world: World | None = None) -> None:
        self.tls = directory if isinstance(directory, TlsFiles) else make_tls(Path(directory))
        self.sample: Sample | None = None
        if world is None:
            world, self.sample = sample_world()
        self.world = world
        self.entra = EntraSimulator(world, self.tls)
        self.devops = DevOpsSimulator(world, self.tls)

    def start(self) -> None:
        self.entra.start()
        try:
            self.devops.start()
        except BaseException:
            self.entra.stop()
            raise

    def stop(self) -> None:
        try:
            self.devops.stop()
        finally:
            self.entra.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def ca_bundle(self) -> Path:
        return self.tls.ca_pem

    @property
    def authority_host(self) -> str:
        return self.entra.url

    @property
    def devops_url(self) -> str:
        return self.devops.devops_url

    @property
    def release_url(self) -> str:
        return self.devops.release_url

    @property
    def latency(self) -> float:
        return self.entra.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.entra.latency = self.devops.latency = seconds

    def config_toml(self) -> str:
        """An `[azure]` table that points the app at this sandbox."""
        values = {
            "authority_host": self.authority_host,
            "devops_url": self.devops_url,
            "release_url": self.release_url,
            "ca_bundle": str(self.ca_bundle),
        }
        return "[azure]\n" + "".join(f"{key} = {_toml_string(value)}\n" for key, value in values.items())
