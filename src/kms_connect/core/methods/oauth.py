"""OAuth: a person signs in through the source's Entra ID app; the kept sign-in (msal's cache, with
its refresh token) gets a fresh token for every check. The sign-in itself: core/azure/sign_in and
the OAuth form."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kms_connect.core.methods.spec import ORG, PERMISSIONS, TENANT_OR_DOMAIN, MethodSpec, TokenRequest
from kms_connect.core.threads import in_thread

if TYPE_CHECKING:
    from kms_connect.core.azure.entra import Token
    from kms_connect.core.models import OAuthAvailability


def prerequisites(oauth: OAuthAvailability) -> str:
    if oauth.redeemed_by_instance:
        return (
            f"Uses the instance's OAuth app (client ID {oauth.client_id}). You sign in with a browser on any "
            f"machine; Entra sends you to {oauth.redirect_uri}, and you paste that address back here. The "
            "instance redeems the code and keeps the sign-in."
        )
    secret = "and its client secret, " if oauth.has_client_secret else ""
    client = f"client ID {oauth.client_id} ({oauth.source}) {secret}" if oauth.client_id else "its client ID "
    return (
        f"Needs an Entra ID app registration: {client}configured for kms-connect, and its redirect URI "
        f"{oauth.redirect_uri} registered. {PERMISSIONS} Device-code sign-in (no browser on this box) "
        "needs “Allow public client flows” = Yes under Authentication."
    )


async def get_token(request: TokenRequest) -> tuple[Token, str]:
    """The kept sign-in, refreshed silently when it is near expiry."""
    # A check is running: core/live_check has loaded it (the registry is read before the first frame).
    from kms_connect.core.azure.entra import silent  # noqa: PLC0415

    blob = request.secret("token_cache")
    app_secret = await in_thread(request.app_secret)
    token = await in_thread(silent, request.entra, blob, app_secret)
    return token, f"Signed in as {token.who}"


SPEC = MethodSpec(
    value="oauth",
    label="OAuth",
    short_label="OAuth",
    summary="Sign in with a Microsoft Entra ID account",
    prerequisites=prerequisites,
    fields=(TENANT_OR_DOMAIN, ORG),
    secrets=("token_cache",),  # msal's cache: the refresh token of the sign-in
    # The instance redeems the sign-in's code itself and keeps the sign-in.
    kms_fields={"code": "code", "tenant_id": "tenantId", "org_name": "orgName"},
    redact=("code",),
    token=get_token,
    needs_oauth_app=True,
)
