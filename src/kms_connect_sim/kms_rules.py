"""The KMS simulator's rules without the server: its error classes (kms-api.md §1.7), Zod-like
request validation (§1.4), the sanitized connection shape (§1.5), the options list (§1.6) and
identity access tokens (§4). Used by kms.py.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, cast

import httpx
import jwt

from .kms_world import AZURE_DEVOPS, KmsConnection, KmsIdentity, KmsProject, KmsWorld

METHODS = ("oauth", "access-token", "client-secret")
PROJECT_TYPES = ("secret-manager", "cert-manager", "kms", "ssh", "secret-scanning", "pam")
CREATE_KEYS = ("name", "description", "projectId", "method", "credentials", "isPlatformManagedCredentials", "gatewayId")
UPDATE_KEYS = ("name", "description", "credentials", "isPlatformManagedCredentials", "gatewayId")
EXPIRED = "Your token has expired. Please re-authenticate."
MALFORMED_TOKEN = (
    "The provided access token is malformed. Please use a valid token or generate a new one and try again."
)
LOCKED_OUT = "This identity auth method is temporarily locked due to too many failed login attempts. Try again later."
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # what @sindresorhus/slugify leaves unchanged
_MISSING = object()
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


# --- Zod-like validation -------------------------------------------------------------------------
def _zod_type(value: Any) -> str:
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), "unknown")


def project_type(query: dict[str, str]) -> str | None:
    """The `projectType` (options) or `type` (projects) query value, checked like a Zod enum."""
    key = "projectType" if "projectType" in query else "type"
    value = query.get(key)
    if value is not None and value not in PROJECT_TYPES:
        raise invalid(
            [
                {
                    "received": value,
                    "code": "invalid_enum_value",
                    "options": list(PROJECT_TYPES),
                    "path": [key],
                    "message": "Invalid enum value. Expected "
                    + " | ".join(f"'{k}'" for k in PROJECT_TYPES)
                    + f", received '{value}'",
                }
            ]
        )
    return value


def type_issue(path: list[Any], expected: str, value: Any) -> dict[str, Any]:
    received = _zod_type(value)
    message = "Required" if received == "undefined" else f"Expected {expected}, received {received}"
    return {"code": "invalid_type", "expected": expected, "received": received, "path": path, "message": message}


def _size_issue(code: str, limit: int, path: list[Any], message: str) -> dict[str, Any]:
    bound = "minimum" if code == "too_small" else "maximum"
    return {
        "code": code,
        bound: limit,
        "type": "string",
        "inclusive": True,
        "exact": False,
        "message": message,
        "path": path,
    }


def _uuid_issue(path: list[Any]) -> dict[str, Any]:
    return {"validation": "uuid", "code": "invalid_string", "message": "Invalid uuid", "path": path}


def unknown_keys_issue(keys: list[str], path: list[Any] | None = None) -> dict[str, Any]:
    quoted = ", ".join(f"'{k}'" for k in keys)
    return {
        "code": "unrecognized_keys",
        "keys": keys,
        "path": path or [],
        "message": f"Unrecognized key(s) in object: {quoted}",
    }


def string_field(
    obj: dict[str, Any],
    key: str,
    path: list[Any],
    issues: list[dict[str, Any]],
    *,
    optional: bool = False,
    nullable: bool = False,
    min_msg: str | None = None,
    max_len: int = 0,
    max_msg: str = "",
    uuid_: bool = False,
) -> str | None:
    """One `z.string().trim()...` field: appends issues, returns the trimmed value (None if absent)."""
    value = obj.get(key, _MISSING)
    path = [*path, key]
    if (value is _MISSING and optional) or (value is None and nullable):
        return None
    if not isinstance(value, str):
        issues.append(type_issue(path, "string", value))
        return None
    value = value.strip()
    before = len(issues)
    if min_msg is not None and not value:
        issues.append(_size_issue("too_small", 1, path, min_msg))
    if max_len and len(value) > max_len:
        issues.append(
            _size_issue("too_big", max_len, path, max_msg or f"String must contain at most {max_len} character(s)")
        )
    if uuid_ and not is_uuid(value):
        issues.append(_uuid_issue(path))
    return value if len(issues) == before else None


def _name(body: dict[str, Any], issues: list[dict[str, Any]], *, optional: bool) -> str | None:
    """slugSchema({field: "name", max: 64})."""
    before = len(issues)
    name = string_field(
        body,
        "name",
        [],
        issues,
        optional=optional,
        min_msg="name field must be at least 1 lowercase character",
        max_len=64,
        max_msg="name field must be at most 64 lowercase characters",
    )
    value = body.get("name")
    if isinstance(value, str) and value.strip() and not _SLUG.match(value.strip()):
        issues.append(
            {
                "code": "custom",
                "message": "name field can only contain lowercase letters, numbers, and hyphens",
                "path": ["name"],
            }
        )
    return name if len(issues) == before else None


def _generic_fields(body: dict[str, Any], issues: list[dict[str, Any]]) -> None:
    """description, isPlatformManagedCredentials and gatewayId, shared by create and update."""
    string_field(
        body,
        "description",
        [],
        issues,
        optional=True,
        nullable=True,
        max_len=256,
        max_msg="Description cannot exceed 256 characters",
    )
    managed = body.get("isPlatformManagedCredentials", _MISSING)
    if managed is not _MISSING and managed is not False:
        issues.append(
            {
                "code": "invalid_literal",
                "expected": False,
                "received": managed,
                "path": ["isPlatformManagedCredentials"],
                "message": "Not supported for Azure DevOps Connections",
            }
        )
    gateway = body.get("gatewayId", _MISSING)
    if gateway is not _MISSING and gateway is not None:
        issues.append(
            {
                "code": "invalid_type",
                "expected": "null",
                "received": _zod_type(gateway),
                "path": ["gatewayId"],
                "message": "Gateways are not supported for Azure DevOps Connections",
            }
        )


def credential_issues(method: str, creds: Any, path: list[Any]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The method's credentials schema (§1.4): (the trimmed known fields, issues). Extra keys are
    stripped, as a non-strict Zod object does."""
    issues: list[dict[str, Any]] = []
    if not isinstance(creds, dict):
        return {}, [type_issue(path, "object", creds)]
    org = {"min_msg": "Organization name required"}
    by_method: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "oauth": [
            ("code", {"min_msg": "OAuth code required"}),
            ("tenantId", {"min_msg": "Tenant ID required"}),
            ("orgName", org),
        ],
        "access-token": [("accessToken", {"min_msg": "Access Token required"}), ("orgName", org)],
        "client-secret": [
            ("clientId", {"uuid_": True, "max_len": 50}),
            (
                "clientSecret",
                {
                    "min_msg": "Client Secret required",
                    "max_len": 50,
                    "max_msg": "Client Secret must be at most 50 characters long",
                },
            ),
            ("tenantId", {"uuid_": True}),
            ("orgName", org),
            ("clientSecretKeyId", {"uuid_": True, "optional": True}),
        ],
    }
    fields = by_method[method]
    clean: dict[str, str] = {}
    for key, rules in fields:
        value = string_field(creds, key, path, issues, **rules)
        if value is not None:
            clean[key] = value
    return clean, issues


def validate_create(body: Any) -> dict[str, Any]:
    """The create body (strict): the cleaned body, or KmsError 422 with the list of issues."""
    if not isinstance(body, dict):
        raise invalid([type_issue([], "object", body)])
    issues: list[dict[str, Any]] = []
    name = _name(body, issues, optional=False)
    _generic_fields(body, issues)
    project_id = string_field(body, "projectId", [], issues, optional=True)
    method, creds = body.get("method", _MISSING), cast(dict[str, Any], {})
    if method not in METHODS:
        issues.append(
            {
                "code": "invalid_union_discriminator",
                "options": list(METHODS),
                "path": ["method"],
                "message": "Invalid discriminator value. Expected " + " | ".join(f"'{m}'" for m in METHODS),
            }
        )
    else:
        creds, cred_issues = credential_issues(method, body.get("credentials", _MISSING), ["credentials"])
        issues += cred_issues
    extra = [k for k in body if k not in CREATE_KEYS]
    if extra:
        issues.append(unknown_keys_issue(extra))
    if issues:
        raise invalid(issues)
    description = body.get("description")
    return {
        "name": name,
        "description": description.strip() if isinstance(description, str) else None,
        "projectId": project_id,
        "method": method,
        "credentials": creds,
    }


def validate_update(body: Any) -> dict[str, Any]:
    """The update body (strict); `credentials` only has to be an object here (the service checks it
    against the connection's method, see `update_credentials`)."""
    if not isinstance(body, dict):
        raise invalid([type_issue([], "object", body)])
    issues: list[dict[str, Any]] = []
    name = _name(body, issues, optional=True)
    _generic_fields(body, issues)
    creds = body.get("credentials", _MISSING)
    if creds is not _MISSING and not isinstance(creds, dict):
        issues.append(type_issue(["credentials"], "object", creds))
    extra = [k for k in body if k not in UPDATE_KEYS]
    if extra:
        issues.append(unknown_keys_issue(extra))
    if issues:
        raise invalid(issues)
    out: dict[str, Any] = {}
    if name is not None:
        out["name"] = name
    if "description" in body:
        description = body["description"]
        out["description"] = description.strip() if isinstance(description, str) else None
    if creds is not _MISSING:
        out["credentials"] = creds
    return out


def update_credentials(method: str, creds: dict[str, Any]) -> dict[str, str]:
    """PATCH credentials: the body's union of every method's schema (422 when none fits), then the
    connection's own method (400 when another method's shape was sent)."""
    own, own_issues = credential_issues(method, creds, ["credentials"])
    if not own_issues:
        return own
    others = [credential_issues(m, creds, ["credentials"])[1] for m in METHODS if m != method]
    if any(not found for found in others):
        raise bad_request(f"Invalid credential format for Azure DevOps Connection with method {method}")
    union = [{"issues": found, "name": "ZodError"} for found in [own_issues, *others]]
    raise invalid(
        [{"code": "invalid_union", "unionErrors": union, "path": ["credentials"], "message": "Invalid input"}]
    )


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
    envs = [
        {"name": name, "slug": slug, "id": str(uuid.uuid5(_NS, f"{project.id}/{slug}"))}
        for name, slug in (("Development", "dev"), ("Staging", "staging"), ("Production", "prod"))
    ]
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
