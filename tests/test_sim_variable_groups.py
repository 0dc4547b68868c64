"""The Azure DevOps simulator's variable groups, as a secret sync (and issue 18's write proof) uses
them: create, read back, update, delete, with PAT and token scopes, Library roles and project
membership deciding, and `_apis/projects` in pages. Over real HTTPS, against the sample world."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from kms_connect_sim.entra import DEVICE_GRANT
from kms_connect_sim.sandbox import MANY_PROJECTS, PAYMENTS, PLATFORM, Sample, Sandbox
from kms_connect_sim.world import (
    ADMINISTRATOR,
    ADO_RESOURCE,
    ALL_READ,
    SEED_OWNER,
    VARIABLE_GROUPS_MANAGE,
    VARIABLE_GROUPS_WRITE,
    AppRegistration,
    Pat,
    World,
)
from sim_fixtures import sample, sandbox, sim_http, sim_ssl_context, sim_tls

# The fixtures, imported by name until conftest star-imports them (named so pyflakes sees them used).
SIM_FIXTURES = (sample, sandbox, sim_http, sim_tls)
SUPPRESS = {"X-TFS-FedAuthRedirect": "Suppress", "Accept": "application/json"}
VERSION = {"api-version": "7.1"}


# --- helpers -------------------------------------------------------------------------------------
def basic(pat: Pat) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f":{pat.token}".encode()).decode(), **SUPPRESS}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **SUPPRESS}


def sp_headers(box: Sandbox, http: httpx.Client, app: AppRegistration, secret: str) -> dict[str, str]:
    """Client credentials from the Entra simulator, as msal would ask for them."""
    answer = http.post(
        f"{box.entra.authority(app.tenant_id)}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": secret,
            "scope": f"{ADO_RESOURCE}/.default",
        },
    )
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


def user_headers(box: Sandbox, http: httpx.Client, s: Sample) -> dict[str, str]:
    """A device-code sign-in of alice with `oauth_app`: the token's scp is the app's delegated scopes."""
    authority = box.entra.authority(s.tenant.id)
    scope = f"{ADO_RESOURCE}/.default offline_access openid profile"
    flow = http.post(f"{authority}/oauth2/v2.0/devicecode", data={"client_id": s.oauth_app.client_id, "scope": scope})
    assert flow.status_code == 200, flow.text
    box.world.set_device_flow(flow.json()["user_code"], "approved", s.alice.upn)
    form = {"grant_type": DEVICE_GRANT, "client_id": s.oauth_app.client_id, "device_code": flow.json()["device_code"]}
    answer = http.post(f"{authority}/oauth2/v2.0/token", data=form)
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


class Ado:
    """The calls a sync makes, against contoso-dev (or another org of the sample)."""

    def __init__(self, box: Sandbox, http: httpx.Client, org: str = "contoso-dev") -> None:
        self.http, self.org_url = http, f"{box.devops_url}/{org}"
        self.world = box.world
        self.org = box.world.orgs[org]

    def project_id(self, name: str) -> str:
        return self.org.project_id(name)

    def body(self, name: str, project: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "name": name,
            "description": "kms-connect write proof",
            "type": "Vsts",
            "variables": variables or {"PROBE_SECRET": {"value": "s3cret", "isSecret": True}},
            "variableGroupProjectReferences": [
                {
                    "name": name,
                    "description": "kms-connect write proof",
                    "projectReference": {"id": self.project_id(project), "name": project},
                }
            ],
        }

    def create(self, headers: dict[str, str], body: dict[str, Any], project_url: str | None = None) -> httpx.Response:
        where = f"{self.org_url}/{project_url}" if project_url else self.org_url
        return self.http.post(
            f"{where}/_apis/distributedtask/variablegroups", params=VERSION, json=body, headers=headers
        )

    def list(self, headers: dict[str, str], project: str, **query: str) -> httpx.Response:
        url = f"{self.org_url}/{project}/_apis/distributedtask/variablegroups"
        return self.http.get(url, params=VERSION | query, headers=headers)

    def get(self, headers: dict[str, str], project: str, group_id: int) -> httpx.Response:
        url = f"{self.org_url}/{project}/_apis/distributedtask/variablegroups/{group_id}"
        return self.http.get(url, params=VERSION, headers=headers)

    def update(self, headers: dict[str, str], group_id: int, body: dict[str, Any]) -> httpx.Response:
        url = f"{self.org_url}/_apis/distributedtask/variablegroups/{group_id}"
        return self.http.put(url, params=VERSION, json=body, headers=headers)

    def delete(self, headers: dict[str, str], group_id: int, project_ids: str) -> httpx.Response:
        url = f"{self.org_url}/_apis/distributedtask/variablegroups/{group_id}"
        return self.http.delete(url, params=VERSION | {"projectIds": project_ids}, headers=headers)

    def names(self, project: str) -> set[str]:
        return {g.name for g in self.org.variable_groups if g.in_project(project)}


def refused(answer: httpx.Response, status: int, type_key: str, starts: str = "") -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json; charset=utf-8; api-version=7.1"
    error = answer.json()
    assert error["typeKey"] == type_key and error["message"].startswith(starts), error
    assert {"$id", "innerException", "typeName", "errorCode", "eventId"} <= set(error)
    return dict(error)


def scope_refused(answer: httpx.Response, oid: str) -> None:
    """A scope the PAT or token lacks: 401 TF400813 with the challenge, as for any refused credential."""
    refused(answer, 401, "UnauthorizedRequestException", f"TF400813: The user '{oid}' is not authorized")
    assert answer.headers["www-authenticate"].startswith("Bearer authorization_uri=")


@pytest.fixture
def ado(sandbox: Sandbox, sim_http: httpx.Client) -> Ado:
    return Ado(sandbox, sim_http)


# --- the whole proof -----------------------------------------------------------------------------
def test_manage_pat_creates_reads_updates_and_deletes(ado: Ado, sample: tuple[World, Sample]) -> None:
    _, s = sample
    me = basic(s.pat_vg_manage)
    created = ado.create(me, ado.body("kms-connect-probe-1a2b", PLATFORM))
    assert created.status_code == 200, created.text
    group = created.json()
    assert group["variables"] == {"PROBE_SECRET": {"isSecret": True, "value": None}}  # never echoed
    assert (group["type"], group["name"], group["isShared"]) == ("Vsts", "kms-connect-probe-1a2b", False)
    assert group["createdBy"]["id"] == group["modifiedBy"]["id"] == s.alice.oid
    assert group["createdBy"]["uniqueName"] == s.alice.upn and group["createdOn"].endswith("Z")
    assert group["variableGroupProjectReferences"] == [
        {
            "projectReference": {"id": ado.project_id(PLATFORM), "name": PLATFORM},
            "name": "kms-connect-probe-1a2b",
            "description": "kms-connect write proof",
        }
    ]
    gid = group["id"]

    read = ado.get(me, PLATFORM, gid)
    assert read.status_code == 200 and read.json()["variables"]["PROBE_SECRET"] == {"isSecret": True, "value": None}
    listed = ado.list(me, PLATFORM, groupName="kms-connect-probe-1a2b").json()
    assert listed["count"] == 1 and listed["value"][0]["id"] == gid
    assert ado.list(me, PLATFORM).json()["value"][0]["id"] == gid  # newest first (IdDescending)

    # The update replaces the whole variable set; a secret sent back as null keeps its value.
    body = ado.body("kms-connect-probe-1a2b", PLATFORM)
    body["variables"] = {"PROBE_SECRET": {"value": None, "isSecret": True}, "PROBE_PLAIN": {"value": "two"}}
    updated = ado.update(me, gid, body)
    assert updated.status_code == 200, updated.text
    assert updated.json()["variables"] == {
        "PROBE_SECRET": {"isSecret": True, "value": None},
        "PROBE_PLAIN": {"value": "two"},
    }
    assert ado.org.group(gid) is not None and ado.org.group(gid).variables["PROBE_SECRET"].value == "s3cret"

    deleted = ado.delete(me, gid, ado.project_id(PLATFORM))
    assert deleted.status_code == 204 and deleted.content == b""
    assert ado.org.group(gid) is None
    refused(ado.get(me, PLATFORM, gid), 404, "VariableGroupNotFoundException")
    refused(ado.delete(me, gid, ado.project_id(PLATFORM)), 404, "VariableGroupNotFoundException")


@pytest.mark.parametrize("where", ["org level", "project level by name", "project level by id"])
def test_both_create_urls_work_alike(ado: Ado, sample: tuple[World, Sample], where: str) -> None:
    """vsts-rest-api-specs#525 saw the org-level URL refused where the project-level one worked;
    the reference documents the org-level one. Both create the same group here."""
    _, s = sample
    me = basic(s.pat_vg_manage)
    url_project = {"org level": None, "project level by name": PAYMENTS, "project level by id": None}[where]
    if where == "project level by id":
        url_project = ado.project_id(PAYMENTS)
    created = ado.create(me, ado.body("kms-connect-probe-url", PAYMENTS), url_project)
    assert created.status_code == 200, created.text
    refs = created.json()["variableGroupProjectReferences"]
    assert [r["projectReference"]["name"] for r in refs] == [PAYMENTS]
    assert "kms-connect-probe-url" in ado.names(PAYMENTS) and "kms-connect-probe-url" not in ado.names(PLATFORM)

    again = ado.create(me, ado.body("KMS-connect-probe-URL", PAYMENTS), url_project)
    refused(again, 409, "VariableGroupExistsException", "Variable group 'KMS-connect-probe-URL' already exists.")
    assert ado.create(me, ado.body("kms-connect-probe-url", PLATFORM)).status_code == 200  # another project


# --- scopes --------------------------------------------------------------------------------------
def test_write_pat_creates_then_is_refused_update_and_delete(ado: Ado, sample: tuple[World, Sample]) -> None:
    """The terraform-provider-azuredevops#314 trap: the group is made, and then cannot be removed."""
    _, s = sample
    writer = basic(s.pat_vg_write)
    created = ado.create(writer, ado.body("kms-connect-probe-trap", PLATFORM))
    assert created.status_code == 200, created.text
    gid = created.json()["id"]
    assert ado.get(writer, PLATFORM, gid).status_code == 200  # _write reads too
    scope_refused(ado.update(writer, gid, ado.body("kms-connect-probe-trap", PLATFORM)), s.alice.oid)
    scope_refused(ado.delete(writer, gid, ado.project_id(PLATFORM)), s.alice.oid)
    assert "kms-connect-probe-trap" in ado.names(PLATFORM)  # left behind
    # The same person with a _manage PAT cleans it up: the refusal was the scope, not her role.
    assert ado.delete(basic(s.pat_vg_manage), gid, ado.project_id(PLATFORM)).status_code == 204


@pytest.mark.parametrize("pat", ["pat_vg_read", "pat_ok", "pat_no_release"])
def test_read_only_pat_is_refused_the_create(ado: Ado, sample: tuple[World, Sample], pat: str) -> None:
    _, s = sample
    reader = basic(getattr(s, pat))
    before = ado.names(PLATFORM)
    scope_refused(ado.create(reader, ado.body("kms-connect-probe-ro", PLATFORM)), s.alice.oid)
    scope_refused(ado.create(reader, ado.body("kms-connect-probe-ro", PLATFORM), PLATFORM), s.alice.oid)
    assert ado.names(PLATFORM) == before
    assert ado.list(reader, PLATFORM).json()["count"] == 2  # reading still works


def test_full_access_pat_and_user_tokens_follow_their_scopes(
    ado: Ado, sandbox: Sandbox, sim_http: httpx.Client, sample: tuple[World, Sample]
) -> None:
    _, s = sample
    assert ado.create(basic(s.pat_full), ado.body("kms-connect-probe-full", PLATFORM)).status_code == 200

    s.oauth_app.delegated_scopes = [*ALL_READ, VARIABLE_GROUPS_WRITE]  # the token's scp
    user = user_headers(sandbox, sim_http, s)
    created = ado.create(user, ado.body("kms-connect-probe-oauth", PLATFORM))
    assert created.status_code == 200, created.text
    scope_refused(ado.update(user, created.json()["id"], ado.body("kms-connect-probe-oauth", PLATFORM)), s.alice.oid)

    s.oauth_app.delegated_scopes = [*ALL_READ, VARIABLE_GROUPS_MANAGE]
    manager = user_headers(sandbox, sim_http, s)
    assert ado.update(manager, created.json()["id"], ado.body("kms-connect-probe-oauth", PLATFORM)).status_code == 200

    s.oauth_app.delegated_scopes = list(ALL_READ)
    scope_refused(ado.create(user_headers(sandbox, sim_http, s), ado.body("x", PLATFORM)), s.alice.oid)


# --- Library roles and project membership --------------------------------------------------------
def test_service_principal_needs_a_creator_role(
    ado: Ado, sandbox: Sandbox, sim_http: httpx.Client, sample: tuple[World, Sample]
) -> None:
    """No scopes for a service principal, only roles: Reader in Platform, Creator in Payments."""
    _, s = sample
    sp = sp_headers(sandbox, sim_http, s.sp_library_reader, s.sp_library_reader_secret)
    error = refused(ado.create(sp, ado.body("kms-connect-probe-sp", PLATFORM)), 403, "AccessCheckException")
    assert error["message"] == (
        f"Access Denied: {s.sp_library_reader.display_name} needs the following permission(s) on the resource "
        f"Library/{ado.project_id(PLATFORM)} to perform this action: Create"
    )
    refused(ado.create(sp, ado.body("kms-connect-probe-sp", PLATFORM), PLATFORM), 403, "AccessCheckException")
    assert "kms-connect-probe-sp" not in ado.names(PLATFORM)
    assert ado.list(sp, PLATFORM).status_code == 200  # a Reader reads

    created = ado.create(sp, ado.body("kms-connect-probe-sp", PAYMENTS))
    assert created.status_code == 200, created.text
    gid = created.json()["id"]
    assert created.json()["createdBy"]["id"] == s.sp_library_reader.sp_object_id
    assert ado.update(sp, gid, ado.body("kms-connect-probe-sp", PAYMENTS)).status_code == 200  # its own group
    assert ado.delete(sp, gid, ado.project_id(PAYMENTS)).status_code == 204

    everyone = sp_headers(sandbox, sim_http, s.sp_app, s.sp_secret)  # the default: Creator everywhere
    assert ado.create(everyone, ado.body("kms-connect-probe-sp", PLATFORM)).status_code == 200


def test_project_the_identity_is_not_in_answers_as_a_missing_one(
    ado: Ado, sandbox: Sandbox, sim_http: httpx.Client, sample: tuple[World, Sample]
) -> None:
    _, s = sample
    sp = sp_headers(sandbox, sim_http, s.sp_platform_only, s.sp_platform_only_secret)
    payments_id = ado.project_id(PAYMENTS)
    vs800075 = f"VS800075: The project with id 'vstfs:///Classification/TeamProject/{payments_id}' does not exist"
    refused(ado.create(sp, ado.body("kms-connect-probe-np", PAYMENTS)), 404, "ProjectDoesNotExistException", vs800075)
    refused(ado.create(sp, ado.body("p", PAYMENTS), PAYMENTS), 404, "ProjectDoesNotExistException", "VS800075: ")
    refused(ado.list(sp, PAYMENTS), 404, "ProjectDoesNotExistException", "VS800075: ")
    refused(ado.list(sp, "Ghost Town"), 404, "ProjectDoesNotExistException", "VS800075: ")  # the same answer
    assert "kms-connect-probe-np" not in ado.names(PAYMENTS)

    projects = ado.http.get(f"{ado.org_url}/_apis/projects", params=VERSION, headers=sp).json()
    assert [p["name"] for p in projects["value"]] == [PLATFORM]
    one = ado.http.get(f"{ado.org_url}/_apis/projects/{PAYMENTS}", params=VERSION, headers=sp)
    refused(
        one, 404, "ProjectDoesNotExistWithNameException", f"TF200016: The following project does not exist: {PAYMENTS}."
    )
    mine = ado.http.get(f"{ado.org_url}/_apis/projects/{PLATFORM.lower()}", params=VERSION, headers=sp)
    assert mine.status_code == 200 and mine.json()["id"] == ado.project_id(PLATFORM)

    created = ado.create(sp, ado.body("kms-connect-probe-np", PLATFORM))
    assert created.status_code == 200, created.text
    refused(ado.delete(sp, created.json()["id"], payments_id), 404, "ProjectDoesNotExistException")


def test_changing_another_identitys_group_needs_administrator(
    ado: Ado, sandbox: Sandbox, sim_http: httpx.Client, sample: tuple[World, Sample]
) -> None:
    """The probe proves "can change its own groups"; a sync into a group someone else made (named
    after the environment) needs the Administrator role on it."""
    _, s = sample
    me = basic(s.pat_vg_manage)
    seeded = next(g for g in ado.org.variable_groups if g.in_project(PLATFORM))
    assert seeded.created_by == SEED_OWNER
    listed = ado.get(me, PLATFORM, seeded.id).json()
    assert listed["variables"]["API_KEY"] == {"isSecret": True, "value": None}
    body = ado.body(seeded.name, PLATFORM, {"ENVIRONMENT": {"value": "changed"}})
    error = refused(ado.update(me, seeded.id, body), 403, "AccessCheckException")
    assert error["message"].endswith(
        f"on the resource Library/{ado.project_id(PLATFORM)}/VariableGroup/{seeded.id} "
        "to perform this action: Administer"
    )
    refused(ado.delete(me, seeded.id, ado.project_id(PLATFORM)), 403, "AccessCheckException")
    assert seeded.variables["ENVIRONMENT"].value == "env-1"

    sp_group = ado.create(sp_headers(sandbox, sim_http, s.sp_app, s.sp_secret), ado.body("made-by-sp", PLATFORM))
    refused(ado.update(me, sp_group.json()["id"], ado.body("made-by-sp", PLATFORM)), 403, "AccessCheckException")

    admin = sp_headers(sandbox, sim_http, s.sp_library_admin, s.sp_library_admin_secret)  # Administrator in Platform
    assert ado.update(admin, sp_group.json()["id"], ado.body("made-by-sp", PLATFORM)).status_code == 200

    ado.org.group_roles[(s.alice.oid, seeded.id)] = ADMINISTRATOR  # granted in the group's own Security
    assert ado.update(me, seeded.id, body).status_code == 200
    assert seeded.variables == {"ENVIRONMENT": seeded.variables["ENVIRONMENT"]}  # the whole set replaced
    assert seeded.modified_by == s.alice.oid and seeded.created_by == SEED_OWNER
    assert ado.delete(me, seeded.id, ado.project_id(PLATFORM)).status_code == 204
    assert (s.alice.oid, seeded.id) not in ado.org.group_roles


# --- credentials that do not work ----------------------------------------------------------------
def test_expired_revoked_and_anonymous_writes(ado: Ado, sample: tuple[World, Sample]) -> None:
    world, s = sample
    body = ado.body("kms-connect-probe-cred", PLATFORM)
    refused(ado.create(basic(s.pat_expired), body), 401, "AccessCheckException", "Access Denied: The Personal Access")
    refused(ado.create(basic(s.pat_bob), body), 401, "UnauthorizedRequestException", "TF400813: The user ")

    page = ado.http.post(
        f"{ado.org_url}/_apis/distributedtask/variablegroups", params=VERSION, json=body, headers={"Accept": "*/*"}
    )
    assert page.status_code == 203 and page.headers["content-type"].startswith("text/html")

    world.revoke_pat(s.pat_vg_manage)
    gone = ado.update(basic(s.pat_vg_manage), 1, body)
    refused(gone, 401, "UnauthorizedRequestException", "TF400813: Resource not available for anonymous access.")
    assert "kms-connect-probe-cred" not in ado.names(PLATFORM)


@pytest.mark.parametrize(
    ("case", "status", "type_key", "starts"),
    [
        ("no api-version", 400, "VssVersionNotSpecifiedException", 'No api-version was supplied for the "POST"'),
        ("no variables", 400, "ArgumentException", "Variable group must have at least one variable"),
        ("no name", 400, "ArgumentException", "Variable group name is not valid."),
        ("no references", 400, "InvalidRequestException", "At least one project reference is required"),
        ("reference without its name", 400, "ArgumentException", "Project information name is not valid"),
        ("unknown project id", 404, "ProjectDoesNotExistException", "VS800075: "),
        ("not json", 400, "ArgumentException", "Value cannot be null."),
    ],
)
def test_create_bodies_ado_refuses(
    ado: Ado, sample: tuple[World, Sample], case: str, status: int, type_key: str, starts: str
) -> None:
    _, s = sample
    body: Any = ado.body("kms-connect-probe-bad", PLATFORM)
    params = VERSION
    if case == "no api-version":
        params = {}
    elif case == "no variables":
        body["variables"] = {}
    elif case == "no name":
        body["name"] = " "
    elif case == "no references":
        body["variableGroupProjectReferences"] = []
    elif case == "reference without its name":
        del body["variableGroupProjectReferences"][0]["name"]
    elif case == "unknown project id":
        body["variableGroupProjectReferences"][0]["projectReference"]["id"] = "00000000-1111-4222-8333-444444444444"
    content = b"{not json" if case == "not json" else None
    answer = ado.http.post(
        f"{ado.org_url}/_apis/distributedtask/variablegroups",
        params=params,
        json=None if content else body,
        content=content,
        headers=basic(s.pat_vg_manage),
    )
    refused(answer, status, type_key, starts)
    assert "kms-connect-probe-bad" not in ado.names(PLATFORM)


def test_update_and_delete_requests_ado_refuses(ado: Ado, sample: tuple[World, Sample]) -> None:
    _, s = sample
    me = basic(s.pat_vg_manage)
    gid = ado.create(me, ado.body("kms-connect-probe-ud", PLATFORM)).json()["id"]
    refused(ado.update(me, 999, ado.body("x", PLATFORM)), 404, "VariableGroupNotFoundException")
    refused(ado.update(me, gid, ado.body("kms-connect-probe-ud", PAYMENTS)), 404, "VariableGroupNotFoundException")
    seeded = next(g for g in ado.org.variable_groups if g.in_project(PLATFORM) and g.id != gid)
    refused(ado.update(me, gid, ado.body(seeded.name, PLATFORM)), 409, "VariableGroupExistsException")
    no_refs = ado.body("kms-connect-probe-ud", PLATFORM) | {"variableGroupProjectReferences": []}
    refused(ado.update(me, gid, no_refs), 400, "InvalidRequestException")
    refused(ado.delete(me, gid, ""), 400, "InvalidRequestException", "At least one project is required")
    refused(ado.delete(me, gid, PLATFORM), 400, "ArgumentException", f"The value '{PLATFORM}' is not valid")
    refused(ado.delete(me, gid, ado.project_id(PAYMENTS)), 404, "VariableGroupNotFoundException")
    wrong_method = ado.http.put(
        f"{ado.org_url}/{PLATFORM}/_apis/distributedtask/variablegroups/{gid}", params=VERSION, headers=me, json={}
    )
    refused(wrong_method, 405, "HttpException")
    assert "kms-connect-probe-ud" in ado.names(PLATFORM)


# --- projects in pages ---------------------------------------------------------------------------
def all_pages(ado: Ado, headers: dict[str, str], **query: str) -> list[list[str]]:
    pages, token = [], None
    while True:
        params = VERSION | query | ({"continuationToken": token} if token else {})
        answer = ado.http.get(f"{ado.org_url}/_apis/projects", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        names = [p["name"] for p in answer.json()["value"]]
        assert answer.json()["count"] == len(names)
        pages.append(names)
        token = answer.headers.get("x-ms-continuationtoken")
        if token is None:
            return pages
        assert len(pages) <= MANY_PROJECTS, "the continuation tokens never end"


def test_projects_come_in_pages(sandbox: Sandbox, sim_http: httpx.Client, sample: tuple[World, Sample]) -> None:
    _, s = sample
    me = basic(s.pat_ok)
    dev = Ado(sandbox, sim_http)
    assert all_pages(dev, me, **{"$top": "1"}) == [[PLATFORM], [PAYMENTS]]
    assert all_pages(dev, me) == [[PLATFORM, PAYMENTS]]  # one page, no token: as before paging

    many = Ado(sandbox, sim_http, "contoso-many")
    pages = all_pages(many, me)  # the default page: 100
    assert [len(p) for p in pages] == [100, 100, 50]
    assert [n for p in pages for n in p] == [f"proj-{i:03d}" for i in range(1, MANY_PROJECTS + 1)]
    assert [len(p) for p in all_pages(many, me, **{"$top": "100"})] == [100, 100, 50]  # what kms-connect asks
    small = all_pages(many, me, **{"$top": "7"})
    assert len(small) == 36 and [n for p in small for n in p] == [n for p in pages for n in p]
    first = sim_http.get(f"{many.org_url}/_apis/projects", params=VERSION | {"$top": "100"}, headers=me)
    assert first.headers["x-ms-continuationtoken"] == "100"
    skipped = sim_http.get(f"{many.org_url}/_apis/projects", params={"$skip": "248"}, headers=me)
    assert [p["name"] for p in skipped.json()["value"]] == ["proj-249", "proj-250"]
    assert "x-ms-continuationtoken" not in skipped.headers
    refused(
        sim_http.get(f"{many.org_url}/_apis/projects", params={"$top": "many"}, headers=me), 400, "ArgumentException"
    )


# --- more projects, for benchmarks ---------------------------------------------------------------
def test_the_simulators_process_adds_an_organization_of_n_projects_on_request(tmp_path) -> None:
    """`python -m kms_connect_sim --projects 3`: contoso-bench's bench-01…03, where the sample's
    manage PAT writes; the sample's own organization keeps its two projects."""
    import json
    import select
    import subprocess
    import sys

    command = [sys.executable, "-m", "kms_connect_sim", "--projects", "3", str(tmp_path)]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the simulators printed nothing in 30 s"
        box = json.loads(proc.stdout.readline())
        assert (box["bench_org"], box["bench_projects"]) == ("contoso-bench", ["bench-01", "bench-02", "bench-03"])
        auth = base64.b64encode(f":{box['pat_vg_manage']}".encode()).decode()
        headers = {"Authorization": f"Basic {auth}", **SUPPRESS}
        with httpx.Client(verify=sim_ssl_context(Path(box["ca_bundle"])), timeout=10) as http:

            def projects(org: str) -> list[dict[str, Any]]:
                answer = http.get(f"{box['devops_url']}/{org}/_apis/projects", params=VERSION, headers=headers)
                assert answer.status_code == 200, answer.text
                return answer.json()["value"]

            bench = projects("contoso-bench")
            assert [p["name"] for p in bench] == box["bench_projects"]
            assert [p["name"] for p in projects("contoso-dev")] == [PLATFORM, PAYMENTS]
            body = {
                "name": "kms-connect-probe-bench",
                "type": "Vsts",
                "variables": {"A": {"value": "x", "isSecret": True}},
                "variableGroupProjectReferences": [
                    {"name": "kms-connect-probe-bench", "projectReference": {"id": bench[2]["id"], "name": "bench-03"}}
                ],
            }
            url = f"{box['devops_url']}/contoso-bench/_apis/distributedtask/variablegroups"
            created = http.post(url, params=VERSION, json=body, headers=headers)
            assert created.status_code == 200, created.text
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
