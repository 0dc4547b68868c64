"""Variable groups in the Azure DevOps simulator, as a secret sync uses them (issue 18).

Microsoft's REST 7.1 reference (Variablegroups: Get Variable Groups, Get, Add, Update, Delete):
- `GET  {org}/{project}/_apis/distributedtask/variablegroups[?groupName=]`  the project's groups
- `GET  {org}/{project}/_apis/distributedtask/variablegroups/{groupId}`      one group
- `POST {org}/_apis/distributedtask/variablegroups`                           create (projects in the body)
- `POST {org}/{project}/_apis/distributedtask/variablegroups`                 create in that project: the
  5.x route, which vsts-rest-api-specs#525 found working where the org-level one was refused; both work here
- `PUT  {org}/_apis/distributedtask/variablegroups/{groupId}`                 replace name, description, variables
- `DELETE {org}/_apis/distributedtask/variablegroups/{groupId}?projectIds=`   remove from those projects: 204
Secret values never come back (`{"value": null, "isSecret": true}`). Who may do what: the PAT's or user
token's scopes (world.SCOPES, checked first, refused with 401 like any scope) and the identity's
Library role (library.py, refused with 403). A mixin of `DevOpsSimulator`; requests arrive
authenticated and under `world.lock`.
"""

from __future__ import annotations

import fnmatch
import json
import uuid
from dataclasses import dataclass
from typing import Any

from .devops_common import (
    ACCESS_CHECK_TYPE,
    ARGUMENT_TYPE,
    Identity,
    Refusal,
    ado_error,
    ado_json,
    check_scope,
    method_not_allowed,
    probe_denied,
    resolve_project,
)
from .library import can_administer, can_create
from .server import RecordedRequest, Response
from .world import SEED_OWNER, Organization, ProjectReference, Variable, VariableGroup, World, iso_now

_DT = "Microsoft.TeamFoundation.DistributedTask.WebApi"
GROUP_EXISTS_TYPE = (f"{_DT}.VariableGroupExistsException, {_DT}", "VariableGroupExistsException")
GROUP_MISSING_TYPE = (f"{_DT}.VariableGroupNotFoundException, {_DT}", "VariableGroupNotFoundException")
INVALID_REQUEST = (f"{_DT}.InvalidRequestException, {_DT}", "InvalidRequestException")
NO_VERSION_TYPE = (
    "Microsoft.VisualStudio.Services.WebApi.VssVersionNotSpecifiedException, Microsoft.VisualStudio.Services.WebApi",
    "VssVersionNotSpecifiedException",
)


@dataclass
class GroupBody:
    """A POST or PUT body, checked: what the group will hold."""

    name: str
    description: str
    variables: dict[str, Variable]
    references: list[tuple[dict[str, Any], str, str]]  # (projectReference, group name there, description)


def _bad_request(message: str, kind: tuple[str, str] = ARGUMENT_TYPE) -> Refusal:
    return Refusal(ado_error(400, message, kind))


def _group_missing(group_id: int) -> Refusal:
    # unverified: the wording (VariableGroupNotFoundException and its 404 are in the server's exception map).
    return Refusal(ado_error(404, f"Variable group with id {group_id} does not exist.", GROUP_MISSING_TYPE))


def _role_refused(display: str, resource: str, permission: str) -> Refusal:
    """A Library role the identity lacks: 403 with the AccessCheckException the Library's security
    check throws. unverified: the message. ADO passes its own text, unpublished; this is the form of
    ADO's other permission refusals (azure.md §4.3), naming the Library security token (the security
    namespace reference: Library/{projectId}[/VariableGroup/{groupId}]) and the permission needed
    (Create: the Creator role, Administer: the Administrator role). No TF code is documented for it."""
    message = (
        f"Access Denied: {display} needs the following permission(s) on the resource {resource} "
        f"to perform this action: {permission}"
    )
    return Refusal(ado_error(403, message, ACCESS_CHECK_TYPE))


class VariableGroupRoutes:
    """The variable-group calls of `DevOpsSimulator` (which sets `world`)."""

    world: World

    def _variable_groups_call(
        self, request: RecordedRequest, org: Organization, who: Identity, project: str | None, group: str | None
    ) -> Response:
        # unverified: 405 for the other method and route pairs (e.g. the 5.x project-level PUT and DELETE).
        method = request.method
        if project is not None and group is None and method == "GET":
            return self._list_groups(request, org, who, project)
        if group is None and method == "POST":
            return self._create_group(request, org, who, project)
        if project is not None and group is not None and method == "GET":
            return self._get_group(org, who, project, _group_id(group))
        if project is None and group is not None and method == "PUT":
            return self._update_group(request, org, who, _group_id(group))
        if project is None and group is not None and method == "DELETE":
            return self._delete_group(request, org, who, _group_id(group))
        return method_not_allowed(request)

    # --- reads -----------------------------------------------------------------------------------
    def _list_groups(self, request: RecordedRequest, org: Organization, who: Identity, key: str) -> Response:
        check_scope(who, "variablegroups", org)
        project = resolve_project(org, who, key)
        if "variablegroups" in org.denied.get(who.oid, set()):
            return probe_denied(self.world.identity_name(who.oid)[0], project)
        groups = [g for g in org.variable_groups if g.in_project(project)]
        if pattern := request.query.get("groupName"):
            # unverified: case-insensitive, '*' a wildcard (the docs say only "Name of variable group").
            groups = [g for g in groups if fnmatch.fnmatchcase(g.name.lower(), pattern.lower())]
        groups.sort(key=lambda g: g.id, reverse=True)  # the docs: queryOrder defaults to IdDescending
        items = [self._group_json(org, g) for g in groups]
        return ado_json(200, {"count": len(items), "value": items})

    def _get_group(self, org: Organization, who: Identity, key: str, group_id: int) -> Response:
        check_scope(who, "variablegroups", org)
        project = resolve_project(org, who, key)
        group = org.group(group_id)
        if group is None or not group.in_project(project):
            raise _group_missing(group_id)  # unverified: 404 rather than an empty 200
        return ado_json(200, self._group_json(org, group))

    # --- writes ----------------------------------------------------------------------------------
    def _create_group(self, request: RecordedRequest, org: Organization, who: Identity, key: str | None) -> Response:
        check_scope(who, "variablegroups.create", org)
        _require_version(request)
        url_project = None if key is None else resolve_project(org, who, key)
        body = _group_body(request)
        if url_project is not None:
            # unverified: the project-level route makes the group in the URL's project, whatever the
            # body's references say (ADO 5.x took the project from the URL alone).
            _, ref_name, ref_description = body.references[0] if body.references else ({}, body.name, "")
            targets = [ProjectReference(url_project, ref_name, ref_description)]
        elif not body.references:
            # unverified: the wording (the server's resource AtleastOneProjectReferenceRequired, 400).
            raise _bad_request("At least one project reference is required to add a variable group.", INVALID_REQUEST)
        else:
            targets = [ProjectReference(self._referenced(org, who, ref), name, d) for ref, name, d in body.references]
        display, _ = self.world.identity_name(who.oid)
        for target in targets:
            if not can_create(org, who.oid, target.project):
                raise _role_refused(display, f"Library/{org.project_id(target.project)}", "Create")
        for target in targets:
            _refuse_duplicate(org, body.name, target.project, None)
        group = org.add_group(targets[0].project, body.name, body.variables, who.oid, body.description)
        group.references = targets  # the creator is its Administrator: library.group_role
        return ado_json(200, self._group_json(org, group))

    def _update_group(self, request: RecordedRequest, org: Organization, who: Identity, group_id: int) -> Response:
        check_scope(who, "variablegroups.manage", org)
        _require_version(request)
        body = _group_body(request)
        group = org.group(group_id)
        if group is None:
            raise _group_missing(group_id)
        if not body.references:
            # unverified: the wording; the update names the projects it is made in, and clients that
            # leave them out are refused (azure-devops-node-api#424).
            message = "At least one project reference is required to update a variable group."
            raise _bad_request(message, INVALID_REQUEST)
        named = [(self._referenced(org, who, ref), name, description) for ref, name, description in body.references]
        projects = [project for project, _, _ in named]
        for project in projects:
            if not group.in_project(project):
                raise _group_missing(group_id)  # unverified: 404 for a group not in a named project
        self._require_administrator(org, who, group, projects)
        for project in projects:
            _refuse_duplicate(org, body.name, project, group.id)
        old = group.variables
        for name, variable in body.variables.items():
            kept = old.get(name)
            if variable.is_secret and variable.value is None and kept is not None and kept.is_secret:
                # unverified: a secret sent back as null (as every GET shows it) keeps its value.
                variable.value = kept.value
        group.name, group.description, group.variables = body.name, body.description, body.variables
        for mine in group.references:
            for project, name, description in named:
                if mine.project == project:
                    mine.name, mine.description = name, description
        group.modified_by, group.modified_on = who.oid, iso_now()
        return ado_json(200, self._group_json(org, group))

    def _delete_group(self, request: RecordedRequest, org: Organization, who: Identity, group_id: int) -> Response:
        check_scope(who, "variablegroups.manage", org)
        _require_version(request)
        keys = [k.strip() for k in request.query.get("projectIds", "").split(",") if k.strip()]
        if not keys:
            # unverified: the wording (the server's resource AtleastOneProjectRequiredForDeletion, 400).
            raise _bad_request("At least one project is required to delete a variable group.", INVALID_REQUEST)
        for k in keys:
            if not _is_guid(k):
                # unverified: the answer to a project name in place of an id (the parameter is a GUID list).
                raise _bad_request(f"The value '{k}' is not valid for projectIds.")
        projects = [resolve_project(org, who, k) for k in keys]
        group = org.group(group_id)
        if group is None or not all(group.in_project(p) for p in projects):
            raise _group_missing(group_id)
        self._require_administrator(org, who, group, projects)
        group.references = [r for r in group.references if r.project not in projects]
        if not group.references:  # in no project any more: gone, with the roles set on it
            org.variable_groups.remove(group)
            for grant in [g for g in org.group_roles if g[1] == group.id]:
                del org.group_roles[grant]
        return Response(204)

    # --- helpers ---------------------------------------------------------------------------------
    def _referenced(self, org: Organization, who: Identity, ref: dict[str, Any]) -> str:
        """The project a body's `projectReference` names: by id, or by name when it has no id."""
        key = str(ref.get("id") or ref.get("name") or "")
        if not key:
            raise _bad_request("Project reference is not valid for variable group.")  # unverified: the wording
        return resolve_project(org, who, key)

    def _require_administrator(
        self, org: Organization, who: Identity, group: VariableGroup, projects: list[str]
    ) -> None:
        display, _ = self.world.identity_name(who.oid)
        for project in projects:
            if not can_administer(org, who.oid, group, project):
                resource = f"Library/{org.project_id(project)}/VariableGroup/{group.id}"
                raise _role_refused(display, resource, "Administer")

    def _identity_ref(self, oid: str) -> dict[str, str]:
        display, account = (
            ("Contoso Administrator", "admin@contoso.example") if oid == SEED_OWNER else (self.world.identity_name(oid))
        )
        return {"displayName": display, "id": oid, "uniqueName": account}

    def _group_json(self, org: Organization, group: VariableGroup) -> dict[str, object]:
        # A secret never comes back: its value is null (Microsoft's variable groups docs).
        variables = {
            name: {"isSecret": True, "value": None} if v.is_secret else {"value": v.value}
            for name, v in group.variables.items()
        }
        references = [
            {
                "projectReference": {"id": org.project_id(r.project), "name": r.project},
                "name": r.name,
                "description": r.description,
            }
            for r in group.references
        ]
        return {
            "variables": variables,
            "id": group.id,
            "type": group.type,
            "name": group.name,
            "description": group.description,
            "createdBy": self._identity_ref(group.created_by),
            "createdOn": group.created_on,
            "modifiedBy": self._identity_ref(group.modified_by),
            "modifiedOn": group.modified_on,
            "isShared": len(group.references) > 1,
            "variableGroupProjectReferences": references,
        }


def _group_id(text: str) -> int:
    if not text.isdigit():
        raise _bad_request(f"The value '{text}' is not valid for groupId.")  # unverified: the wording
    return int(text)


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _require_version(request: RecordedRequest) -> None:
    """Writes must name an API version, in the query or in Accept (the message as public reports quote it)."""
    if request.query.get("api-version") or "api-version=" in request.headers.get("accept", ""):
        return
    raise _bad_request(
        f'No api-version was supplied for the "{request.method}" request. The version must be supplied either '
        'as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter '
        "(e.g. '?api-version=1.0').",
        NO_VERSION_TYPE,
    )


def _refuse_duplicate(org: Organization, name: str, project: str, own_id: int | None) -> None:
    """Two groups of one name in a project: 409 VariableGroupExistsException. unverified: not in
    Microsoft's docs; the status is the server's exception map's, the message as microsoft/bedrock#788
    quotes it, and the comparison ignoring case is a guess."""
    for other in org.variable_groups:
        if other.id != own_id and other.in_project(project) and other.name.lower() == name.lower():
            raise Refusal(ado_error(409, f"Variable group '{name}' already exists.", GROUP_EXISTS_TYPE))


def _group_body(request: RecordedRequest) -> GroupBody:
    """The POST or PUT body, or ADO's 400 for one it would not take (the checks: a name, a Vsts type,
    at least one variable, a name in each project reference). unverified: each message's wording."""
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _bad_request("Value cannot be null.\r\nParameter name: variableGroupParameters")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _bad_request("Variable group name is not valid.")
    if body.get("type", "Vsts") not in ("Vsts", None):
        raise _bad_request(f"Variable group type '{body.get('type')}' is not supported here: only Vsts.")
    raw = body.get("variables")
    if not isinstance(raw, dict) or not raw:
        raise _bad_request("Variable group must have at least one variable defined.")
    variables: dict[str, Variable] = {}
    for key, item in raw.items():
        item = item if isinstance(item, dict) else {}
        value = item.get("value")
        variables[key] = Variable(None if value is None else str(value), bool(item.get("isSecret")))
    references: list[tuple[dict[str, Any], str, str]] = []
    for ref in body.get("variableGroupProjectReferences") or []:
        ref = ref if isinstance(ref, dict) else {}
        ref_name = ref.get("name")
        if not isinstance(ref_name, str) or not ref_name.strip():
            # As azure-devops-node-api#424 and #572 quote ADO's answer to a reference without its name.
            raise _bad_request("Project information name is not valid for variable group.")
        project = ref.get("projectReference")
        project = project if isinstance(project, dict) else {}
        references.append((project, ref_name, str(ref.get("description") or "")))
    return GroupBody(name, str(body.get("description") or ""), variables, references)
