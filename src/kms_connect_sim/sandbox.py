"""Entra ID and Azure DevOps simulators running together over one World, plus a sample scenario.

Tests use `Sandbox` through the fixtures in tests/sim_fixtures.py; the demo mode points the app at
`config_toml()`. `sample_world()` is the believable scenario both use: a tenant with an Azure
DevOps organization, users in and out of it, app registrations that pass and fail in each
documented way, and PATs with and without the needed scopes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from .devops import DevOpsSimulator
from .entra import EntraSimulator
from .tls import TlsFiles, make_tls
from .world import ALL_READ, FULL_ACCESS, AppRegistration, Organization, Pat, Tenant, User, World

# Fixed, recognisably made-up ids, so logs and screenshots read the same on every run.
CONTOSO_TENANT = "c0a75050-1d2e-4f60-8a9b-5e6f7a8b9c01"
FABRIKAM_TENANT = "fab71ca0-3e4d-4a5b-9c6d-7e8f9a0b1c02"
OAUTH_APP = "a0a71e00-0001-4000-8000-00000000a001"
OAUTH_WEB_APP = "a0a71e00-0002-4000-8000-00000000a002"
NO_PUBLIC_FLOWS_APP = "a0a71e00-0003-4000-8000-00000000a003"
SP_APP = "5e0a7100-0001-4000-8000-00000000b001"
SP_EXPIRED_APP = "5e0a7100-0002-4000-8000-00000000b002"
SP_OUTSIDER_APP = "5e0a7100-0003-4000-8000-00000000b003"
KMS_CALLBACK = "https://kms.example.test/organization/app-connections/azure/oauth/callback"


@dataclass
class Sample:
    """Handles on the parts of `sample_world()` that tests refer to. Secrets are the values."""

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

    org = world.add_org(
        "contoso-dev", contoso, projects=["Platform", "Payments"], members={alice.oid, sp_app.sp_object_id}
    )
    msa_org = world.add_org("contoso-msa", None, projects=["Sandbox"], members={alice.oid})

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
    )
    return world, sample


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
