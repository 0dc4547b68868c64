"""The KMS simulator's Zod-like request validation (kms-api.md §1.4): the query's project type, the
Universal Auth fields and the App Connection create and update bodies, answered with Zod's issue
shapes in a 422. Used by kms.py; the error classes it raises live in kms_rules.py.
"""

from __future__ import annotations

import re
from typing import Any, cast

from .kms_rules import METHODS, bad_request, invalid, is_uuid

PROJECT_TYPES = ("secret-manager", "cert-manager", "kms", "ssh", "secret-scanning", "pam")
CREATE_KEYS = ("name", "description", "projectId", "method", "credentials", "isPlatformManagedCredentials", "gatewayId")
UPDATE_KEYS = ("name", "description", "credentials", "isPlatformManagedCredentials", "gatewayId")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # what @sindresorhus/slugify leaves unchanged
_MISSING = object()
MISSING = _MISSING  # a key not in the body (Zod: "undefined"), for the other validators


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


def description_field(body: dict[str, Any], issues: list[dict[str, Any]]) -> str | None:
    """The optional, nullable description of a connection or a sync: one rule for both (max 256)."""
    return string_field(
        body,
        "description",
        [],
        issues,
        optional=True,
        nullable=True,
        max_len=256,
        max_msg="Description cannot exceed 256 characters",
    )


def _generic_fields(body: dict[str, Any], issues: list[dict[str, Any]]) -> None:
    """description, isPlatformManagedCredentials and gatewayId, shared by create and update."""
    description_field(body, issues)
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
