"""Access Token: an Azure DevOps personal access token, sent as it is (no Entra ID)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kms_connect.core.methods.spec import ORG, FieldCheck, InputField, MethodSpec

if TYPE_CHECKING:
    from kms_connect.core.models import OAuthAvailability


def check_access_token(value: str) -> str | None:
    if not value:
        return "Access Token is required (Azure DevOps > User settings > Personal access tokens)."
    if any(c.isspace() for c in value):
        return "Access Token cannot contain spaces; paste the token only."
    return None


def prerequisites(oauth: OAuthAvailability) -> str:
    return (
        "Needs a personal access token with the scopes Variable Groups (read, create & manage), "
        "Release (read/write), Project and Team (read) and Service Connections (read & query). "
        "Create it under User settings > Personal access tokens."
    )


TOKEN = InputField(
    "access_token",
    "Access Token",
    "personal access token",
    secret=True,
    rule=lambda value: FieldCheck(check_access_token(value)),
)

SPEC = MethodSpec(
    value="access-token",
    label="Access Token",
    short_label="PAT",
    summary="Use an Azure DevOps personal access token",
    prerequisites=prerequisites,
    fields=(TOKEN, ORG),
    secrets=("access_token",),
    kms_fields={"access_token": "accessToken", "org_name": "orgName"},
    redact=("access_token", "accessToken"),
    pat_secret="access_token",
)
