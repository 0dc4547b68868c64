"""Entra ID's rules without the HTTP: which secret, user, resource and redirect URI pass (with the
AADSTS codes and wording real Entra uses), and the tokens it mints. Used by the Entra simulator."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from urllib.parse import urlsplit, urlunsplit

import jwt

from .world import ADO_RESOURCE, AppRegistration, Tenant, User, World

ADO_ALIASES = (ADO_RESOURCE, "https://app.vssps.visualstudio.com")
OIDC_SCOPES = {"openid", "profile", "offline_access", "email"}

NEEDS_SECRET = "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
MALFORMED = "Invalid request. Request is malformed or invalid."
REDEEMED = (
    "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing "
    "refresh token."
)
NOT_FOUND_APP = (
    "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if "
    "the application has not been installed by the administrator of the tenant or consented to by any user in "
    "the tenant. You may have sent your authentication request to the wrong tenant."
)
BAD_REDIRECT = (
    "The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for the "
    "application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your "
    "application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about "
    "how to fix this."
)


class EntraError(Exception):
    """An AADSTS answer; raised deep in a handler, turned into Entra's error shape at the top."""

    def __init__(self, status: int, error: str, code: int, text: str) -> None:
        super().__init__(f"AADSTS{code}: {text}")
        self.status, self.error, self.code, self.text = status, error, code, text


def missing(name: str) -> EntraError:
    return EntraError(
        400, "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tenant_name(tenant: Tenant) -> str:
    return tenant.domains[0] if tenant.domains else tenant.id


def _loopback_key(uri: str) -> str:
    # Entra ignores the port of http://localhost redirect URIs (native apps pick a free port).
    parts = urlsplit(uri)
    if parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1"):
        return urlunsplit(parts._replace(netloc=parts.hostname or ""))
    return uri


def redirect_kind(app: AppRegistration, uri: str) -> str | None:
    """ "web" (confidential: needs a secret), "public" (must not send one) or None (not registered)."""
    key = _loopback_key(uri)
    if any(_loopback_key(u) == key for u in app.web_redirect_uris):
        return "web"
    if any(_loopback_key(u) == key for u in app.public_redirect_uris):
        return "public"
    return None


def check_secret(app: AppRegistration, secret: str | None) -> None:
    if not secret:
        raise EntraError(401, "invalid_client", 7000218, NEEDS_SECRET)
    for entry in app.secrets:
        if entry.value == secret and entry.expired:
            raise EntraError(
                401,
                "invalid_client",
                7000222,
                f"The provided client secret keys for app "
                f"'{app.client_id}' are expired. Visit the Azure portal to create new keys for your "
                "app: https://aka.ms/NewClientSecret, or consider using certificate credentials for "
                "added security: https://aka.ms/certCreds.",
            )
        if entry.value == secret:
            return
    # A pasted secret ID lands here as well: Entra cannot tell it from a typo, hence its wording.
    raise EntraError(
        401,
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being "
        "sent in the request is the client secret value, not the client secret ID, for a secret "
        f"added to app '{app.client_id}'.",
    )


def check_app_scope(scope: str) -> None:
    """Client credentials may only ask for Azure DevOps' `/.default` here."""
    if not scope:
        raise missing("scope")
    if scope.strip() not in (f"{alias}/.default" for alias in ADO_ALIASES):
        raise EntraError(
            400,
            "invalid_scope",
            70011,
            "The provided request must include a 'scope' input "
            f"parameter. The provided value for the input parameter 'scope' is not valid. The scope "
            f"{scope} is not valid.",
        )


def check_resource(tenant: Tenant, scope: str) -> None:
    if not tenant.has_devops and any(s.startswith(ADO_ALIASES) for s in scope.split()):
        raise EntraError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {ADO_RESOURCE} was not "
            f"found in the tenant named {tenant_name(tenant)}. This can happen if the application "
            "has not been installed by the administrator of the tenant or consented to by any user "
            "in the tenant. You might have sent your authentication request to the wrong tenant.",
        )


def check_user(app: AppRegistration, tenant: Tenant, user: User) -> None:
    """Whether `user` may get a token for `app` in `tenant` (errors as the token endpoint words them)."""
    if user.tenant_id != tenant.id and not app.multi_tenant:
        raise EntraError(
            400,
            "invalid_grant",
            50020,
            f"User account '{user.upn}' from identity provider "
            f"'https://sts.windows.net/{user.tenant_id}/' does not exist in tenant "
            f"'{tenant_name(tenant)}' and cannot access the application '{app.client_id}'"
            f"({app.display_name}) in that tenant. The account needs to be added as an external user "
            "in the tenant first. Sign out and sign in again with a different Azure Active Directory "
            "user account.",
        )
    if user.mfa_required:
        raise EntraError(
            400,
            "invalid_grant",
            50076,
            "Due to a configuration change made by your administrator, "
            "or because you moved to a new location, you must use multi-factor authentication to "
            f"access '{ADO_RESOURCE}'.",
        )
    if user.blocked_by_policy:
        raise EntraError(
            400,
            "invalid_grant",
            53003,
            "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        )
    if not app.consented:
        raise EntraError(
            400,
            "invalid_grant",
            65001,
            "The user or administrator has not consented to use the "
            f"application with ID '{app.client_id}' named '{app.display_name}'. Send an interactive "
            "authorization request for this user and resource.",
        )


def pkce_matches(challenge: str, verifier: str) -> bool:
    return bool(verifier) and b64url(hashlib.sha256(verifier.encode()).digest()) == challenge


# --- tokens --------------------------------------------------------------------------------------
def _access_claims(world: World, tenant: Tenant, oid: str, client_id: str, now: int) -> dict[str, object]:
    return {
        "aud": ADO_RESOURCE,
        "iss": f"https://sts.windows.net/{tenant.id}/",
        "iat": now,
        "nbf": now,
        "exp": now + world.token_lifetime,
        "appid": client_id,
        "oid": oid,
        "sub": oid,
        "tid": tenant.id,
        "uti": b64url(secrets.token_bytes(16)),
        "ver": "1.0",
    }  # uti: every token differs, as in Entra


def _sign(world: World, claims: dict[str, object]) -> str:
    return jwt.encode(claims, world.signing_key, algorithm="HS256", headers={"kid": "kms-connect-sim"})


def app_token_response(world: World, tenant: Tenant, app: AppRegistration) -> dict[str, object]:
    """Client credentials: a token for the app's service principal, no scp, empty roles."""
    claims = _access_claims(world, tenant, app.sp_object_id, app.client_id, int(time.time()))
    claims |= {"idtyp": "app", "roles": []}
    lifetime = world.token_lifetime
    return {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": _sign(world, claims),
    }


def user_token_response(
    world: World,
    issuer_base: str,
    tenant: Tenant,
    app: AppRegistration,
    user: User,
    scope: str,
    nonce: str | None,
    refresh_token: str,
) -> dict[str, object]:
    """Device code, authorization code and refresh: access, refresh and (unsigned) ID token."""
    now, lifetime = int(time.time()), world.token_lifetime
    access = _access_claims(world, tenant, user.oid, app.client_id, now) | {
        "idtyp": "user",
        "scp": " ".join(app.delegated_scopes),
        "upn": user.upn,
        "name": user.display_name,
    }
    id_claims: dict[str, object] = {
        "aud": app.client_id,
        "iss": f"{issuer_base}/{tenant.id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "name": user.display_name,
        "oid": user.oid,
        "preferred_username": user.upn,
        "sub": b64url(hashlib.sha256(f"{user.oid}{app.client_id}".encode()).digest()),
        "tid": tenant.id,
        "ver": "2.0",
    }
    if nonce is not None:
        id_claims["nonce"] = nonce  # exactly as sent to /authorize (MSAL sends a hash and compares it)
    # MSAL only decodes ID tokens (no signature check since 1.38), so `alg: none` is enough.
    id_token = ".".join([b64url(b'{"alg":"none","typ":"JWT"}'), b64url(json.dumps(id_claims).encode()), ""])
    granted = " ".join(s for s in scope.split() if s not in OIDC_SCOPES) or scope
    return {
        "token_type": "Bearer",
        "scope": granted,
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": _sign(world, access),
        "refresh_token": refresh_token,
        "id_token": id_token,
        "client_info": b64url(json.dumps({"uid": user.oid, "utid": tenant.id}).encode()),
    }
