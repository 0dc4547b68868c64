"""The check's "Organization and tenant" step, in words: is the organization in the tenant typed."""

from __future__ import annotations

from kms_connect.core.azure.devops import MSA_TENANT
from kms_connect.core.azure.explain import Problem, ProblemError
from kms_connect.core.status import StepState


def org_in_tenant(org: str, tenant: str, typed: str, expected: str, *, uses_entra: bool) -> tuple[StepState, str, str]:
    """`tenant`: the organization's (X-VSS-ResourceTenant); `typed`: the Tenant ID field; `expected`:
    its GUID (a domain typed is resolved). A method without Entra only learns the tenant."""
    if not uses_entra:
        kind = "a Microsoft-account organization" if tenant == MSA_TENANT else f"tenant {tenant}"
        return StepState.OK, f"{org} is reachable ({kind})", ""
    if tenant == MSA_TENANT:
        raise ProblemError(
            Problem(
                "Microsoft-account organization",
                f"{org} is backed by Microsoft accounts, not Entra ID, and Entra OAuth and service principals "
                "cannot be used with it. Connect the organization to Entra ID (Organization settings → Microsoft "
                "Entra) or use an Access Token connection.",
                "org_name",
            )
        )
    how = "" if expected == typed else f" ({typed} is tenant {expected})"
    if tenant != expected:
        raise ProblemError(
            Problem(
                "Organization is in another tenant",
                f"{org} is connected to tenant {tenant}, but the Tenant ID here is {expected}{how}. Use the "
                "Directory (tenant) ID of the tenant the organization is connected to (Organization settings → "
                "Microsoft Entra).",
                "tenant_id",
            )
        )
    return StepState.OK, f"{org} is in tenant {tenant}{how}", ""
