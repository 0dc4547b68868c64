"""The KMS simulator's Zod-like validation of the Azure DevOps Secret Sync routes (issue 19): the
create and update bodies, the list and delete queries, the check-destination body.

As Infisical's `secret-sync-schemas.ts` and `azure-devops-sync-schemas.ts` declare them: plain
(non-strict) Zod objects, so unknown keys are dropped, not refused. Issues have Zod's shapes and
are answered together in one 422, as in kms_validation.py.
"""

from __future__ import annotations

import re
from typing import Any

from .kms_rules import invalid, is_uuid
from .kms_validation import MISSING as _MISSING
from .kms_validation import description_field, string_field, type_issue

OVERWRITE = "overwrite-destination"  # the only initialSyncBehavior for Azure DevOps (it cannot import)
KEY_SCHEMA_MESSAGE = (
    "Key schema must include exactly one {{secretKey}} placeholder. It can also include {{environment}} "
    "placeholders. Only alphanumeric characters (a-z, A-Z, 0-9), dashes (-), underscores (_), and slashes (/) "
    "are allowed besides the placeholders."
)
_KEY_SCHEMA = re.compile(r"^(?:[a-zA-Z0-9_\-/]|\{\{secretKey\}\}|\{\{environment\}\})*$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # what @sindresorhus/slugify leaves unchanged
# unverified: the sync name's maximum. Infisical's schema read says 256 (slugSchema({field: "name",
# max: 256})); older versions may have had the slug default of 64.
NAME_MAX = 256
ENVIRONMENT_MAX = 64


def _slug(body: dict[str, Any], key: str, issues: list[dict[str, Any]], *, max_len: int, optional: bool) -> str | None:
    """slugSchema({field, max}): trimmed, 1..max, and what slugify leaves unchanged."""
    before = len(issues)
    value = string_field(
        body,
        key,
        [],
        issues,
        optional=optional,
        min_msg=f"{key} field must be at least 1 lowercase character",
        max_len=max_len,
        max_msg=f"{key} field must be at most {max_len} lowercase characters",
    )
    raw = body.get(key)
    if isinstance(raw, str) and raw.strip() and not _SLUG.match(raw.strip()):
        message = f"{key} field can only contain lowercase letters, numbers, and hyphens"
        issues.append({"code": "custom", "message": message, "path": [key]})
    return value if len(issues) == before else None


def _boolean(body: dict[str, Any], key: str, path: list[Any], issues: list[dict[str, Any]]) -> bool | None:
    value = body.get(key, _MISSING)
    if value is _MISSING:
        return None
    if not isinstance(value, bool):
        issues.append(type_issue([*path, key], "boolean", value))
        return None
    return value


def _secret_path(body: dict[str, Any], issues: list[dict[str, Any]], *, optional: bool, min_msg: str) -> str | None:
    """`z.string().trim().min(1).transform(removeTrailingSlash)`."""
    value = string_field(body, "secretPath", [], issues, optional=optional, min_msg=min_msg)
    if value is None or value == "/":
        return value
    return value[:-1] if value.endswith("/") else value  # removeTrailingSlash: one slash


def _description(body: dict[str, Any], issues: list[dict[str, Any]]) -> tuple[bool, str | None]:
    """(given?, the trimmed description or None)."""
    if "description" not in body:
        return False, None
    return True, description_field(body, issues)


def _destination(value: Any, issues: list[dict[str, Any]]) -> dict[str, Any] | None:
    path = ["destinationConfig"]
    if not isinstance(value, dict):
        issues.append(type_issue(path, "object", value))
        return None
    before = len(issues)
    project_id = string_field(value, "devopsProjectId", path, issues, min_msg="Project ID required")
    name = value.get("devopsProjectName", _MISSING)
    if name is not _MISSING and not isinstance(name, str):
        issues.append(type_issue([*path, "devopsProjectName"], "string", name))
    if len(issues) != before:
        return None
    out: dict[str, Any] = {"devopsProjectId": project_id}
    if isinstance(name, str):
        out["devopsProjectName"] = name
    return out


def _options(value: Any, issues: list[dict[str, Any]]) -> dict[str, Any] | None:
    path = ["syncOptions"]
    if not isinstance(value, dict):
        issues.append(type_issue(path, "object", value))
        return None
    before = len(issues)
    behavior = value.get("initialSyncBehavior", _MISSING)
    if behavior != OVERWRITE:
        if behavior is _MISSING:
            issues.append(type_issue([*path, "initialSyncBehavior"], "string", _MISSING))
        else:
            issues.append(
                {
                    "received": behavior,
                    "code": "invalid_literal",
                    "expected": OVERWRITE,
                    "path": [*path, "initialSyncBehavior"],
                    "message": f'Invalid literal value, expected "{OVERWRITE}"',
                }
            )
    schema = string_field(
        value,
        "keySchema",
        path,
        issues,
        optional=True,
        max_len=255,
        max_msg="String must contain at most 255 character(s)",
    )
    if schema and not (_KEY_SCHEMA.match(schema) and "{{secretKey}}" in schema):
        issues.append({"code": "custom", "message": KEY_SCHEMA_MESSAGE, "path": [*path, "keySchema"]})
    keep_deleted = _boolean(value, "disableSecretDeletion", path, issues)
    recursive = _boolean(value, "recursive", path, issues)  # BaseSyncOptionsSchema: sub-folders too
    if len(issues) != before:
        return None
    out: dict[str, Any] = {"initialSyncBehavior": OVERWRITE}
    if schema:
        out["keySchema"] = schema
    if keep_deleted is not None:
        out["disableSecretDeletion"] = keep_deleted
    if recursive is not None:
        out["recursive"] = recursive
    return out


def validate_sync_create(body: Any) -> dict[str, Any]:
    """The create body, cleaned (unknown keys dropped), or KmsError 422 with every issue."""
    if not isinstance(body, dict):
        raise invalid([type_issue([], "object", _MISSING if body is None else body)])
    issues: list[dict[str, Any]] = []
    name = _slug(body, "name", issues, max_len=NAME_MAX, optional=False)
    project_id = string_field(body, "projectId", [], issues, min_msg="Project ID required")
    _, description = _description(body, issues)
    connection_id = string_field(body, "connectionId", [], issues, uuid_=True)
    environment = _slug(body, "environment", issues, max_len=ENVIRONMENT_MAX, optional=False)
    secret_path = _secret_path(body, issues, optional=False, min_msg="Secret path required")
    auto = _boolean(body, "isAutoSyncEnabled", [], issues)
    options = _options(body.get("syncOptions", _MISSING), issues)
    destination = _destination(body.get("destinationConfig", _MISSING), issues)
    if issues:
        raise invalid(issues)
    return {
        "name": name,
        "projectId": project_id,
        "description": description,
        "connectionId": connection_id,
        "environment": environment,
        "secretPath": secret_path,
        "isAutoSyncEnabled": True if auto is None else auto,
        "syncOptions": options,
        "destinationConfig": destination,
    }


def validate_sync_update(body: Any) -> dict[str, Any]:
    """The update body: every field optional; only the fields given come back."""
    if not isinstance(body, dict):
        raise invalid([type_issue([], "object", _MISSING if body is None else body)])
    issues: list[dict[str, Any]] = []
    values: dict[str, Any] = {
        "name": _slug(body, "name", issues, max_len=NAME_MAX, optional=True),
        "connectionId": string_field(body, "connectionId", [], issues, optional=True, uuid_=True),
        "environment": _slug(body, "environment", issues, max_len=ENVIRONMENT_MAX, optional=True),
        "secretPath": _secret_path(body, issues, optional=True, min_msg="Invalid secret path"),
        "isAutoSyncEnabled": _boolean(body, "isAutoSyncEnabled", [], issues),
    }
    given, description = _description(body, issues)
    if "syncOptions" in body:
        values["syncOptions"] = _options(body["syncOptions"], issues)
    if "destinationConfig" in body:
        values["destinationConfig"] = _destination(body["destinationConfig"], issues)
    if issues:
        raise invalid(issues)
    out = {k: v for k, v in values.items() if v is not None}
    if given:
        out["description"] = description
    return out


def required_query(query: dict[str, str], key: str, message: str) -> str:
    """A `z.string().trim().min(1, message)` query parameter."""
    issues: list[dict[str, Any]] = []
    value = string_field(query, key, [], issues, min_msg=message)
    if issues or value is None:
        raise invalid(issues)
    return value


def sync_id_param(value: str) -> str:
    if not is_uuid(value):
        raise invalid([{"validation": "uuid", "code": "invalid_string", "message": "Invalid uuid", "path": ["syncId"]}])
    return value


def remove_secrets_query(query: dict[str, str]) -> bool:
    """`removeSecrets`: "true" | "false", default "false"."""
    value = query.get("removeSecrets", "false")
    if value not in ("true", "false"):
        raise invalid(
            [
                {
                    "received": value,
                    "code": "invalid_enum_value",
                    "options": ["true", "false"],
                    "path": ["removeSecrets"],
                    "message": f"Invalid enum value. Expected 'true' | 'false', received '{value}'",
                }
            ]
        )
    return value == "true"


def validate_check_destination(body: Any) -> dict[str, Any]:
    """`{destinationConfig: unknown, connectionId?: uuid, excludeSyncId?: uuid, projectId: uuid}`."""
    if not isinstance(body, dict):
        raise invalid([type_issue([], "object", _MISSING if body is None else body)])
    issues: list[dict[str, Any]] = []
    connection_id = string_field(body, "connectionId", [], issues, optional=True, uuid_=True)
    exclude = string_field(body, "excludeSyncId", [], issues, optional=True, uuid_=True)
    project_id = string_field(body, "projectId", [], issues, uuid_=True)
    if issues:
        raise invalid(issues)
    return {
        "destinationConfig": body.get("destinationConfig"),
        "connectionId": connection_id,
        "excludeSyncId": exclude,
        "projectId": project_id,
    }
