"""A Secret Sync as the operator writes it (issue 19): its fields, checked as the instance checks
them, the request bodies, the key-schema preview and the words that say what a sync will replace.

The rules are those of Infisical's `secret-sync-schemas.ts` / `azure-devops-sync-schemas.ts`: the
name and the environment are slugs; the secret path is not empty; a key schema holds
`{{secretKey}}`, may hold `{{environment}}` and otherwise only `[a-zA-Z0-9_-/]`, 255 at most. They
are checked here so a mistake shows under its field before anything is sent; the instance's 422
stays the last word (`field_of_issue` puts each of its issues under the field it names).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from kms_connect.core.kms.sync_model import SecretSync

SECRET_KEY, ENVIRONMENT = "{{secretKey}}", "{{environment}}"
OVERWRITE = "overwrite-destination"  # the only initial behaviour for Azure DevOps (it cannot import)
PREVIEW_KEY = "EXAMPLE_KEY"
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_KEY_SCHEMA = re.compile(r"^(?:[a-zA-Z0-9_\-/]|\{\{secretKey\}\}|\{\{environment\}\})*$")
NAME_MAX, SCHEMA_MAX, DESCRIPTION_MAX = 256, 255, 256

# The form's fields, by the first element of a 422 issue's path.
_FIELDS = {
    "name": "name",
    "description": "description",
    "environment": "environment",
    "secretPath": "secret_path",
    "connectionId": "connection",
    "destinationConfig": "devops_project",
    "syncOptions": "key_schema",
    "isAutoSyncEnabled": "auto_sync",
}


class SyncDraft(BaseModel):
    """What the sync form holds; no secret is ever part of it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    environment: str  # the environment's slug
    secret_path: str = "/"
    connection_id: str
    devops_project: str  # the Azure DevOps project's name, as the operator knows it
    devops_project_id: str = ""  # its id when known ("" : the name stands for it, as Azure DevOps accepts)
    key_schema: str = ""
    auto_sync: bool = True

    def destination(self) -> dict[str, str]:
        return {
            "devopsProjectId": self.devops_project_id or self.devops_project,
            "devopsProjectName": self.devops_project,
        }

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"initialSyncBehavior": OVERWRITE}
        if self.key_schema:
            options["keySchema"] = self.key_schema
        return options

    def create_body(self, project_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "projectId": project_id,
            "connectionId": self.connection_id,
            "environment": self.environment,
            "secretPath": self.secret_path,
            "isAutoSyncEnabled": self.auto_sync,
            "destinationConfig": self.destination(),
            "syncOptions": self.options(),
        }
        if self.description:
            body["description"] = self.description
        return body

    def update_body(self, sync: SecretSync) -> dict[str, Any]:
        """Only what changed: an unchanged PATCH would still make an auto-syncing sync run."""
        body: dict[str, Any] = {}
        if self.secret_path != sync.secret_path:
            body["secretPath"] = self.secret_path
        if self.auto_sync != sync.auto_sync:
            body["isAutoSyncEnabled"] = self.auto_sync
        if self.key_schema != (sync.key_schema or ""):
            # The whole object, as the sync has it: the server replaces it, and checks it whole.
            kept = {k: v for k, v in sync.sync_options.items() if k != "keySchema"}
            body["syncOptions"] = {**kept, **self.options()}
        if self.description != sync.description:
            body["description"] = self.description or None
        return body


class SyncChoices(BaseModel):
    """What the sync form offers, read from the instance once as it opens."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    environments: list[tuple[str, str]]  # (slug, display name)
    connections: list[tuple[str, str, str]]  # (id, name, Azure DevOps organization)
    syncs: list[Any]  # SecretSync: the instance's, to warn of a shared variable group
    targets: dict[str, list[str]] = {}  # connection id -> its target projects (issue 18), as suggestions

    def environment_name(self, slug: str) -> str:
        return next((name for s, name in self.environments if s == slug), slug)

    def suggestions(self, connection_id: str) -> list[str]:
        """Azure DevOps project names to offer: the connection's targets, then those other syncs use."""
        names = [*self.targets.get(connection_id, []), *(s.devops_project for s in self.syncs)]
        return list(dict.fromkeys(n for n in names if n))


def draft_of(sync: SecretSync) -> SyncDraft:
    """The form's starting point for an edit."""
    return SyncDraft(
        name=sync.name,
        description=sync.description,
        environment=sync.environment,
        secret_path=sync.secret_path or "/",
        connection_id=sync.connection_id,
        devops_project=sync.devops_project,
        devops_project_id=sync.devops_project_id,
        key_schema=sync.key_schema or "",
        auto_sync=sync.auto_sync,
    )


def check_slug(value: str, what: str, max_len: int = NAME_MAX) -> str | None:
    value = value.strip()
    if not value:
        return f"Enter the {what}."
    if len(value) > max_len:
        return f"At most {max_len} characters."
    if not _SLUG.match(value):
        return "Only lowercase letters, digits and single hyphens between them (e.g. prod-to-devops)."
    return None


def check_secret_path(value: str) -> str | None:
    value = value.strip()
    if not value:
        return "Enter the folder of secrets to sync: / for the environment's root."
    if not value.startswith("/"):
        return "A secret path starts with / (e.g. / or /app/api)."
    return None


def check_key_schema(value: str) -> str | None:
    """None when the instance will take it ("" : no schema, keys go as they are)."""
    if not value:
        return None
    if len(value) > SCHEMA_MAX:
        return f"At most {SCHEMA_MAX} characters."
    if SECRET_KEY not in value:
        return f"Must contain {SECRET_KEY} (where each secret's key goes), e.g. KMS_{SECRET_KEY}."
    if not _KEY_SCHEMA.match(value):
        bad = sorted(set(re.sub(r"\{\{secretKey\}\}|\{\{environment\}\}|[a-zA-Z0-9_\-/]", "", value)))
        return f"Not allowed: {' '.join(bad)}. Besides the placeholders only letters, digits, - _ and /."
    return None


def preview_key(schema: str, key: str, environment: str) -> str:
    """The name a secret called `key` gets in Azure DevOps (the environment placeholder is its slug)."""
    if not schema:
        return key
    return schema.replace(SECRET_KEY, key).replace(ENVIRONMENT, environment)


def replace_warning(environment_name: str, devops_project: str, source: str) -> str:
    """What a sync does in Azure DevOps, before it does it (`source`: environment slug and path)."""
    return (
        f"The variable group «{environment_name}» in {devops_project} will be created, or replaced with exactly "
        f"the secrets of {source}. Variables in it that are not in KMS will be deleted."
    )


def before_saving(draft: SyncDraft, env_name: str, sharing: list[str], said_shared: bool, org: str) -> list[str]:
    """What the question before a save says: what it replaces, when it runs, whom it would overwrite
    (`sharing`: project/name of the syncs of the same group; `said_shared`: the instance's own check)."""
    parts = [
        replace_warning(env_name, draft.devops_project, f"{draft.environment}{draft.secret_path}"),
        "Auto-sync is on: the instance runs it at once."
        if draft.auto_sync
        else "Auto-sync is off: it runs when asked to (Sync now on the Secret Syncs screen, or kms-connect sync).",
    ]
    parts += [f"{other} writes this group too: the two would overwrite each other." for other in sharing]
    if said_shared:
        parts.append(f"The instance's own duplicate check reports another sync into {draft.devops_project}.")
    if not draft.devops_project_id:
        parts.append(
            f"The id of {draft.devops_project} is not known here, so the instance gets its name in its place: "
            "Azure DevOps may refuse it when the group is made or removed. Picked from the form's list of "
            f"projects, it has its id (listed where a connection of {org or 'that organization'} is kept here)."
        )
    return parts


def path_as_kept(path: str) -> str:
    """A secret path as the instance keeps it (it drops one trailing slash): an edit compares alike."""
    path = path.strip()
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def same_group(
    syncs: list[SecretSync], devops_project: str, environment_name: str, exclude: str = ""
) -> list[SecretSync]:
    """The syncs that write the same variable group: the same Azure DevOps project (by id or name)
    and an environment of the same display name, which names the group."""
    wanted = devops_project.casefold()
    return [
        s
        for s in syncs
        if s.id != exclude
        and wanted in (s.devops_project.casefold(), s.devops_project_id.casefold())
        and (s.environment_name or s.environment).casefold() == environment_name.casefold()
    ]


def known_project_id(syncs: list[SecretSync], devops_project: str) -> str:
    """An Azure DevOps project's id as another sync of the instance names it ("" when none does)."""
    wanted = devops_project.casefold()
    for s in syncs:
        if s.devops_project.casefold() == wanted and s.devops_project_id and s.devops_project_id != s.devops_project:
            return s.devops_project_id
    return ""


def field_of_issue(path: str) -> str:
    """The form field a 422 issue's path ("syncOptions.keySchema") belongs to ("" : the form's own line)."""
    return _FIELDS.get(path.split(".", 1)[0], "")
