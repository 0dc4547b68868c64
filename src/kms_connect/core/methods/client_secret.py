"""Client Secret: a service principal (tenant, client ID, a client secret's Value) gets an Entra ID token."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from kms_connect.core.methods.spec import (
    CLIENT_ID,
    ORG,
    PERMISSIONS,
    TENANT,
    FieldCheck,
    InputField,
    MethodSpec,
    TokenRequest,
)
from kms_connect.core.threads import in_thread
from kms_connect.core.validation import is_guid

if TYPE_CHECKING:
    from kms_connect.core.azure.entra import Token
    from kms_connect.core.models import OAuthAvailability

SECRET_REJECTED = 7000215  # Entra's "invalid client secret"


def check_client_secret(value: str) -> str | None:
    if not value:
        return "Client Secret is required (App registrations > your app > Certificates & secrets)."
    if any(c.isspace() for c in value):
        return "Client Secret cannot contain spaces; paste the secret's Value only."
    return None


def client_secret_hint(value: str) -> str | None:
    """A GUID here is almost always the secret's ID, which Entra rejects as a credential."""
    if is_guid(value):
        return (
            "This looks like the secret's ID. Paste its Value instead "
            "(shown once, when the secret is created under Certificates & secrets)."
        )
    return None


def prerequisites(oauth: OAuthAvailability) -> str:
    return (
        "Needs a service principal (an Entra app registration) added to the Azure DevOps organization "
        f"and its projects, its Tenant ID, Client ID and a client secret Value. {PERMISSIONS}"
    )


async def get_token(request: TokenRequest) -> tuple[Token, str]:
    """Client credentials: the service principal's own token."""
    # A check is running: core/live_check has loaded these (the registry is read before the first frame).
    from kms_connect.core.azure.entra import client_credentials  # noqa: PLC0415
    from kms_connect.core.azure.explain import ProblemError  # noqa: PLC0415

    secret = request.secret("client_secret")
    try:
        token = await in_thread(client_credentials, request.entra, request.tenant_id, request.client_id, secret)
    except ProblemError as exc:
        p = exc.problem
        if SECRET_REJECTED in p.codes and re.fullmatch(r"[0-9a-fA-F-]{36}", secret.strip()):
            raise ProblemError(
                dataclasses.replace(
                    p,
                    result=f"Secret ID pasted, not the Value (AADSTS{p.codes[0]})",
                    explanation=(
                        "What you pasted is a GUID: that is the Secret ID column. Paste the secret's Value "
                        "instead (shown once, when the secret was created)."
                    ),
                )
            ) from None
        raise
    return token, f"Token issued to service principal {token.who}"


SECRET = InputField(
    "client_secret",
    "Client Secret",
    "the secret's Value, not its ID",
    secret=True,
    rule=lambda value: FieldCheck(check_client_secret(value), client_secret_hint(value)),
)

SPEC = MethodSpec(
    value="client-secret",
    label="Client Secret",
    short_label="Secret",
    summary="Use a service principal's client secret",
    prerequisites=prerequisites,
    fields=(TENANT, CLIENT_ID, SECRET, ORG),
    secrets=("client_secret",),
    kms_fields={
        "client_id": "clientId",
        "client_secret": "clientSecret",
        "tenant_id": "tenantId",
        "org_name": "orgName",
    },
    redact=("client_secret", "clientSecret"),
    token=get_token,
    entra_errors={
        SECRET_REJECTED: (
            "Client secret rejected",
            "Entra ID rejected the client secret. Paste the secret's Value (shown once, when it was created), "
            "not its Secret ID; if the Value is lost, create a new secret under Certificates & secrets.",
            "client_secret",
        ),
        7000222: (
            "Client secret expired",
            "This client secret has expired. Create a new one under Certificates & secrets of the app "
            "registration and paste its Value here.",
            "client_secret",
        ),
    },
)
