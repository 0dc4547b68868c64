"""The KMS simulator's rules without the server: its error classes (kms-api.md §1.7), the
sanitized connection shape (§1.5), the options list (§1.6) and identity access tokens (§4). Used by
kms.py; the Zod-like request validation (§1.4) is in kms_validation.py.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import jwt

from .kms_world import AZURE_DEVOPS, KmsConnection, KmsIdentity, KmsProject, KmsWorld

METHODS = ("oauth", "access-token", "client-secret")
EXPIRED = "Your token has expired. Please re-authenticate."
MALFORMED_TOKEN = (
    "The provided access token is malformed. Please use a valid token or generate a new one and try again."
)
LOCKED_OUT = "This identity auth method is temporarily locked due to too many failed login attempts. Try again later."
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_NS = uuid.UUID("3b5e7c10-9d2a-4f64-8e1b-6a0c2d4f8e21")

# The other apps of the options list, so clients have to pick Azure DevOps out (sorted by name).
_OTHER_OPTIONS: list[dict[str, Any]] = [
    {"name": "AWS", "app": "aws", "methods": ["assume-role", "access-key"], "accessKeyId": "AKIASIMULATOR0000"},
    {"name": "Azure Key Vault", "app": "azure-key-vault", "methods": ["oauth", "client-secret"]},
    {"name": "GitHub", "app": "github", "methods": ["github-app", "oauth"]},
]
_PKI_APPS = {"aws"}  # the cert-manager filter keeps these
_PUBLIC_FIELDS = {  # what the sanitized shape keeps of each method's credentials
    "oauth": ("tenantId", "orgName"),
    "access-token": ("orgName",),
    "client-secret": ("clientId", "tenantId", "orgName"),
}
_OTHER_PUBLIC = ("tenantId", "clientId", "orgName", "instanceUrl", "region", "roleArn")


class KmsError(Exception):
    """An error answer; raised deep in a handler, turned into `{reqId, statusCode, message, error}`."""

    def __init__(self, status: int, error: str, message: str | list[dict[str, Any]]) -> None:
        super().__init__(message if isinstance(message, str) else "validation failed")
        self.status, self.error, self.message = status, error, message


def bad_request(message: str) -> KmsError:
    return KmsError(400, "BadRequest", message)


def unauthorized(message: str) -> KmsError:
    return KmsError(401, "UnauthorizedError", message)


def not_found(message: str) -> KmsError:
    return KmsError(404, "NotFound", message)


def permission_denied(action: str, subject: str = "AppConnections") -> KmsError:
    return KmsError(403, "PermissionDenied", f"You are not allowed to {action} on {subject}")


def forbidden_route(url: str) -> KmsError:
    """verifyAuth: the token type is not accepted by this route."""
    return KmsError(403, f"Forbidden access to {url}", "You are not allowed to access this resource")


def internal(message: str = "Something went wrong") -> KmsError:
    return KmsError(500, "InternalServerError", message)


def invalid(issues: list[dict[str, Any]]) -> KmsError:
    return KmsError(422, "ValidationFailure", issues)


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def remote_message(answer: httpx.Response | None, error: Exception | None, *keys: str) -> str:
    """What the server's axios catch block reads of a failed call out: the body's field, else
    axios' own message."""
    if answer is not None:
        try:
            data = answer.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in keys:
                if data.get(key):
                    return str(data[key])
        return f"Request failed with status code {answer.status_code}"
    return str(error)


# --- answers -------------------------------------------------------------------------------------
def iso(moment: Any) -> str:
    stamp: str = moment.strftime("%Y-%m-%dT%H:%M:%S.")
    return stamp + f"{moment.microsecond // 1000:03d}Z"


def sanitize(world: KmsWorld, conn: KmsConnection) -> dict[str, Any]:
    """The response schema: credentials redacted per method (§1.5); nothing secret leaves."""
    keep = _PUBLIC_FIELDS.get(conn.method, ()) if conn.app == AZURE_DEVOPS else _OTHER_PUBLIC
    return {
        "id": conn.id,
        "name": conn.name,
        "description": conn.description,
        "version": conn.version,
        "orgId": world.org_id,
        "createdAt": iso(conn.created_at),
        "updatedAt": iso(conn.updated_at),
        "isPlatformManagedCredentials": False,
        "gatewayId": None,
        "projectId": conn.project_id,
        "isAutoRotationEnabled": False,
        "app": conn.app,
        "method": conn.method,
        "credentials": {k: conn.credentials[k] for k in keep if k in conn.credentials},
    }


def project_item(world: KmsWorld, project: KmsProject) -> dict[str, Any]:
    envs = [{"name": e.name, "slug": e.slug, "id": e.id} for e in project.environments]
    return {
        "id": project.id,
        "_id": project.id,
        "name": project.name,
        "slug": project.slug,
        "type": project.type,
        "orgId": world.org_id,
        "description": project.description,
        "environments": envs,
    }


def options(world: KmsWorld, project_type: str | None) -> list[dict[str, Any]]:
    devops: dict[str, Any] = {
        "name": "Azure DevOps",
        "app": AZURE_DEVOPS,
        "methods": list(world.devops_methods or METHODS),
    }
    if world.oauth_client_id:
        devops["oauthClientId"] = world.oauth_client_id
    items = sorted([devops, *(dict(o) for o in _OTHER_OPTIONS)], key=lambda o: o["name"])
    if project_type in ("kms", "ssh", "pam"):
        return []
    if project_type == "cert-manager":
        return [o for o in items if o["app"] in _PKI_APPS]
    return items


# --- identity access tokens ----------------------------------------------------------------------
def mint_token(world: KmsWorld, identity: KmsIdentity) -> str:
    """An HS256 JWT like Infisical's identity access tokens (signed with the world's AUTH_SECRET)."""
    now = int(time.time())
    claims = {
        "identityId": str(uuid.uuid5(_NS, identity.client_id)),
        "clientSecretId": str(uuid.uuid4()),
        "identityAccessTokenId": str(uuid.uuid4()),
        "authTokenType": "identityAccessToken",
        "iat": now,
        "exp": now + identity.access_token_ttl,
    }
    return jwt.encode(claims, world.signing_key, algorithm="HS256")


def check_token_signature(world: KmsWorld, token: str) -> None:
    """What jsonwebtoken's verify says about a token: 403 TokenError unless it is one of ours.
    Expiry is the KmsToken's business (renew moves it; the JWT's exp stays)."""
    try:
        jwt.decode(token, world.signing_key, algorithms=["HS256"], options={"verify_exp": False})
    except jwt.InvalidSignatureError:
        raise KmsError(403, "TokenError", "invalid signature") from None
    except jwt.PyJWTError:
        raise KmsError(403, "TokenError", MALFORMED_TOKEN) from None


def token_answer(token: str, identity: KmsIdentity, expires_at: float) -> dict[str, Any]:
    left = 0 if expires_at == float("inf") else max(1, round(expires_at - time.time()))
    return {
        "accessToken": token,
        "expiresIn": left,
        "accessTokenMaxTTL": identity.access_token_ttl,
        "tokenType": "Bearer",
    }
