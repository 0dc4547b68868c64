"""Two Secret Syncs for the sample instance (issue 19), for tests and the demo: one that succeeds and
one that fails because its identity lacks a Library role in the Azure DevOps project.

- `payments-prod` (KMS project Payments, environment Production, folder /) pushes into the Azure
  DevOps project Payments of contoso-dev with `ado-sync-pat`, a PAT of alice with
  vso.variablegroups_manage (Creator in Payments' Library by default): its job creates the variable
  group "Production", and later jobs replace its variables.
- `platform-dev` (KMS project Platform, environment Development) pushes into the Azure DevOps project
  Platform with `ado-sync-reader`, the service principal kms-sync-library-reader, which is only
  Reader in Platform's Library: creating the group "Development" is refused (403,
  AccessCheckException), and the job's lastSyncMessage is that answer.

Both have auto-sync on, so each starts with a queued job (status pending): the simulator's
`run_jobs()` runs them, or they run by themselves when `KmsWorld.sync_jobs` is "auto".
"""

from __future__ import annotations

from dataclasses import dataclass

from .kms_world import SAMPLE_PAYMENTS, SAMPLE_PLATFORM, KmsConnection, KmsSync, KmsWorld
from .sandbox import PAYMENTS, PLATFORM, Sample

# Made-up values that look like secrets (so tests can find them where they land, and nowhere else).
PAYMENTS_PROD_SECRETS = {
    "DB_PASSWORD": "sim-db-password-7Hq2Lx9",
    "STRIPE_API_KEY": "sim_sk_live_4eC39HqLyjWDarjtT1zdp7dc",
}
PLATFORM_DEV_SECRETS = {"REDIS_URL": "redis://sim-redis.internal:6379/0", "GRAFANA_TOKEN": "sim-glsa-2f9c1b7e"}


@dataclass
class SampleSyncs:
    healthy: KmsSync  # payments-prod
    failing: KmsSync  # platform-dev
    healthy_connection: KmsConnection  # ado-sync-pat (Payments)
    failing_connection: KmsConnection  # ado-sync-reader (Platform)


def add_sample_syncs(kms: KmsWorld, sample: Sample) -> SampleSyncs:
    """The two syncs (and their connections and secrets) on a `sample_kms_world()` instance."""
    org = sample.org
    kms.add_secrets(SAMPLE_PAYMENTS, "prod", "/", PAYMENTS_PROD_SECRETS)
    kms.add_secrets(SAMPLE_PLATFORM, "dev", "/", PLATFORM_DEV_SECRETS)
    pat = kms.add_connection(
        "ado-sync-pat",
        "access-token",
        {"accessToken": sample.pat_vg_manage.token, "orgName": org.name},
        project_id=SAMPLE_PAYMENTS,
        description="Variable groups: read, create & manage",
    )
    reader = kms.add_connection(
        "ado-sync-reader",
        "client-secret",
        {
            "clientId": sample.sp_library_reader.client_id,
            "clientSecret": sample.sp_library_reader_secret,
            "tenantId": sample.tenant.id,
            "orgName": org.name,
        },
        project_id=SAMPLE_PLATFORM,
        description="kms-sync-library-reader",
    )
    healthy = kms.add_sync(
        "payments-prod", SAMPLE_PAYMENTS, "prod", pat.id, org.project_id(PAYMENTS), devops_project_name=PAYMENTS
    )
    failing = kms.add_sync(
        "platform-dev", SAMPLE_PLATFORM, "dev", reader.id, org.project_id(PLATFORM), devops_project_name=PLATFORM
    )
    return SampleSyncs(healthy, failing, pat, reader)
