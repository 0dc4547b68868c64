"""The KMS-instance backend against the loopback instance simulator, over real HTTP.

The simulator checks credentials the way the instance does, against the Entra ID and Azure DevOps
simulators; nothing is patched.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from kms_connect.core.errors import ConflictError, FieldErrors, NameTaken, SecretUnavailable
from kms_connect.core.instances import Instance
from kms_connect.core.kms.backend import ORG_SCOPE, KmsBackend
from kms_connect.core.kms.client import KmsApiError, KmsClient
from kms_connect.core.methods import field_of
from kms_connect.core.models import CheckResult, ConnectionDraft, utcnow
from kms_connect.core.paths import InstanceFiles
from kms_connect.core.status import Method, Status
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS
from kms_connect_sim.sandbox import CONTOSO_TENANT


def backend_for(kms, identity, tmp_path: Path, **instance: object) -> KmsBackend:
    inst = Instance(
        name="prod", url=kms.url, site_url="https://kms.example.test", client_id=identity.client_id, **instance
    )
    return KmsBackend(
        inst, KmsClient(inst, lambda: identity.client_secret), InstanceFiles.beside(tmp_path / "checks" / "prod.json")
    )


@pytest.fixture
def backend(kms, kms_identity, tmp_path: Path) -> KmsBackend:
    return backend_for(kms, kms_identity, tmp_path)


def pat_draft(token: str, name: str = "ado-prod") -> ConnectionDraft:
    return ConnectionDraft(
        name=name, method=Method.ACCESS_TOKEN, org_name="contoso-dev", secrets={"access_token": SecretStr(token)}
    )


def logins(kms) -> int:
    return len([r for r in kms.requests if r.path.endswith("/universal-auth/login")])


async def test_projects_with_counts_and_organization_scope(backend, kms, sample) -> None:
    await backend.create_connection(SAMPLE_PAYMENTS, pat_draft(sample[1].pat_ok.token))
    kms.kms_world.add_connection("org-wide", "access-token", {"accessToken": "x", "orgName": "contoso-dev"})
    summaries = {s.project.name: s for s in await backend.list_projects()}
    assert summaries["Payments"].connection_count == 1 and summaries["Platform"].connection_count == 0
    assert summaries["(organization-scoped connections)"].connection_count == 1
    [org_wide] = await backend.list_connections(ORG_SCOPE)
    assert org_wide.name == "org-wide" and org_wide.project_id == ORG_SCOPE
    assert logins(kms) == 1  # one login serves every call


async def test_older_instances_list_workspaces(backend, kms) -> None:
    kms.kms_world.legacy_projects_route = True
    names = {s.project.name for s in await backend.list_projects()}
    assert {"Payments", "Platform"} <= names
    assert any(r.path == "/api/v1/workspace" for r in kms.requests)


async def test_projects_are_read_only_here(backend) -> None:
    with pytest.raises(ConflictError, match="read-only"):
        await backend.create_project("x")
    with pytest.raises(ConflictError, match="would delete its secrets"):
        await backend.delete_project(SAMPLE_PAYMENTS)


async def test_create_each_method_and_nothing_secret_comes_back(
    backend, kms, sample, sandbox, sim_http, tmp_path
) -> None:
    s = sample[1]
    pat = await backend.create_connection(SAMPLE_PAYMENTS, pat_draft(s.pat_ok.token))
    sp = await backend.create_connection(
        SAMPLE_PAYMENTS,
        ConnectionDraft(
            name="ado-sp",
            method=Method.CLIENT_SECRET,
            org_name="contoso-dev",
            tenant_id=CONTOSO_TENANT,
            client_id=s.sp_app.client_id,
            secrets={"client_secret": SecretStr(s.sp_secret)},
        ),
    )
    assert pat.org_name == "contoso-dev" and not pat.secrets
    assert sp.client_id == s.sp_app.client_id and sp.tenant_id == CONTOSO_TENANT
    # OAuth: the URL is built here, the instance redeems the code with its own secret.
    from urllib.parse import parse_qs, urlsplit

    from kms_connect.core.azure.sign_in import parse_pasted
    from kms_connect.core.kms.oauth import authorize_url

    opts = await backend.oauth_availability()
    assert opts.available and opts.redeemed_by_instance
    url, _ = authorize_url(sandbox.authority_host, CONTOSO_TENANT, opts.client_id, opts.redirect_uri)
    landed = sim_http.get(url).headers["location"]  # the pretend browser signs in and is sent back
    query = parse_qs(urlsplit(landed).query)
    assert "code_challenge" not in landed and query["state"][0].endswith("<:>azure-devops")
    params = parse_pasted(landed, query["state"][0], opts.redirect_uri)
    draft = ConnectionDraft(
        name="ado-oauth",
        method=Method.OAUTH,
        org_name="contoso-dev",
        tenant_id=CONTOSO_TENANT,
        secrets={"code": SecretStr(params["code"])},
    )
    oauth = await backend.create_connection(SAMPLE_PAYMENTS, draft)
    assert oauth.method is Method.OAUTH
    with pytest.raises(KmsApiError, match="AADSTS54005") as info:  # a code works once
        await backend.create_connection(SAMPLE_PAYMENTS, draft.model_copy(update={"name": "again"}))
    assert info.value.req_id.startswith("req-")
    listed = await backend.list_connections(SAMPLE_PAYMENTS)
    dumped = "".join(c.model_dump_json() for c in listed)
    for secret in (s.pat_ok.token, s.sp_secret, params["code"]):
        assert secret not in dumped
    assert not (tmp_path / "checks").exists() or s.pat_ok.token not in (tmp_path / "checks" / "prod.json").read_text()


async def test_server_refusals_are_explained(backend, kms, sample) -> None:
    with pytest.raises(KmsApiError, match=r"Failed to validate access token|Unable to validate") as info:
        await backend.create_connection(SAMPLE_PAYMENTS, pat_draft(sample[1].pat_expired.token))
    assert info.value.status == 400 and info.value.req_id
    assert not isinstance(info.value, (NameTaken, FieldErrors))
    draft = pat_draft(sample[1].pat_ok.token)
    await backend.create_connection(SAMPLE_PAYMENTS, draft)
    with pytest.raises(KmsApiError, match="already exists") as taken:
        await backend.create_connection(SAMPLE_PAYMENTS, pat_draft(sample[1].pat_ok.token))
    assert isinstance(taken.value, NameTaken) and (taken.value.name, taken.value.field) == (draft.name, "name")
    assert taken.value.detail == taken.value.server_message and taken.value.req_id not in taken.value.detail
    bad = ConnectionDraft(
        name="bad-sp",
        method=Method.CLIENT_SECRET,
        org_name="contoso-dev",
        tenant_id="not-a-guid",
        client_id="nope",
        secrets={"client_secret": SecretStr("s" * 60)},
    )
    with pytest.raises(KmsApiError) as info:
        await backend.create_connection(SAMPLE_PAYMENTS, bad)
    assert info.value.status == 422 and isinstance(info.value, FieldErrors)
    fields = {field_of(path) for path, _ in info.value.issues}
    assert {"tenant_id", "client_id", "client_secret"} <= fields


async def test_edit_replace_delete_and_in_use(backend, kms, sample) -> None:
    conn = await backend.create_connection(SAMPLE_PAYMENTS, pat_draft(sample[1].pat_ok.token))
    renamed = await backend.update_connection(conn.id, "ado-renamed", "now described")
    assert renamed.name == "ado-renamed" and renamed.description == "now described"
    await backend.record_check(conn.id, CheckResult(status=Status.VALID, checked_at=utcnow(), summary="ok"))
    replaced = await backend.replace_credentials(conn.id, pat_draft(sample[1].pat_full.token, "ado-renamed"))
    assert replaced.last_check is None  # the old result was about the old token
    kms.kms_world.connections[conn.id].in_use = True
    with pytest.raises(KmsApiError, match="Cannot delete App Connection with existing connections"):
        await backend.delete_connection(conn.id)
    kms.kms_world.connections[conn.id].in_use = False
    await backend.delete_connection(conn.id)
    assert await backend.list_connections(SAMPLE_PAYMENTS) == []


async def test_local_check_results_and_not_checkable(backend, sample) -> None:
    conn = await backend.create_connection(SAMPLE_PAYMENTS, pat_draft(sample[1].pat_ok.token))
    [listed] = await backend.list_connections(SAMPLE_PAYMENTS)
    assert listed.status is Status.NOT_CHECKABLE  # the instance never returns credentials
    await backend.record_check(conn.id, CheckResult(status=Status.VALID, checked_at=utcnow(), summary="checked here"))
    [listed] = await backend.list_connections(SAMPLE_PAYMENTS)
    assert listed.status is Status.VALID and listed.last_check.summary == "checked here"
    with pytest.raises(SecretUnavailable, match="never returns credentials"):
        await backend.read_secrets(conn.id)


async def test_target_projects_are_kept_here_beside_the_check_results(backend, kms, sample, tmp_path) -> None:
    draft = pat_draft(sample[1].pat_ok.token).model_copy(update={"target_projects": ["infra"]})
    conn = await backend.create_connection(SAMPLE_PAYMENTS, draft)
    assert conn.target_projects == ["infra"]
    assert "targetProjects" not in str(kms.kms_world.connections[conn.id])  # the instance never hears of them
    await backend.set_target_projects(conn.id, ["infra", "Payments"])
    [listed] = await backend.list_connections(SAMPLE_PAYMENTS)
    assert listed.target_projects == ["infra", "Payments"]
    assert (tmp_path / "checks" / "prod.targets.json").exists()
    await backend.delete_connection(conn.id)
    assert "infra" not in (tmp_path / "checks" / "prod.targets.json").read_text()


async def test_without_org_permission_counts_are_hidden_and_said(kms, tmp_path, sample) -> None:
    identity = kms.kms_world.add_identity("project-only", org_permission=False, project_ids={SAMPLE_PAYMENTS})
    backend = backend_for(kms, identity, tmp_path)
    summaries = await backend.list_projects()
    assert all(s.connection_count is None for s in summaries)
    assert "organization-level app-connections permission" in backend.hidden_note
    await backend.create_connection(SAMPLE_PAYMENTS, pat_draft(sample[1].pat_ok.token))
    assert len(await backend.list_connections(SAMPLE_PAYMENTS)) == 1


async def test_a_failed_login_is_never_retried_on_its_own(kms, kms_identity, tmp_path) -> None:
    class Wrong:
        client_id, client_secret = kms_identity.client_id, "not-the-secret"

    backend = backend_for(kms, Wrong, tmp_path)
    for _ in range(3):
        with pytest.raises(KmsApiError, match="does not retry"):
            await backend.list_projects()
    assert logins(kms) == 1 and not kms.kms_world.identities[kms_identity.client_id].locked
    backend.client.reset_login()  # the operator asked again
    with pytest.raises(KmsApiError):
        await backend.list_projects()
    assert logins(kms) == 2


async def test_lockout_and_service_tokens_are_explained(kms, kms_identity, tmp_path, monkeypatch) -> None:
    kms.kms_world.identities[kms_identity.client_id].locked = True
    with pytest.raises(KmsApiError, match="locked out"):
        await backend_for(kms, kms_identity, tmp_path).list_projects()
    kms.kms_world.service_tokens.add("st.legacy.token.value")
    monkeypatch.setenv("KMS_CONNECT_TOKEN", "st.legacy.token.value")
    with pytest.raises(KmsApiError, match="not a service token") as info:
        await backend_for(kms, kms_identity, tmp_path).list_projects()
    assert info.value.status == 403


async def test_token_renewed_before_expiry(backend, kms) -> None:
    import time

    await backend.list_projects()
    token = backend.client._token
    kms.kms_world.tokens[token].expires_at = time.time() + 60  # under the renewal margin
    backend.client._expires_at = time.time() + 60
    await backend.list_projects()
    assert any(r.path.endswith("/auth/token/renew") for r in kms.requests)
    assert logins(kms) == 1


async def test_plain_http_to_another_host_is_refused(kms_identity, tmp_path) -> None:
    inst = Instance(name="far", url="http://kms.example.com", client_id=kms_identity.client_id)
    backend = KmsBackend(
        inst, KmsClient(inst, lambda: kms_identity.client_secret), InstanceFiles.beside(tmp_path / "c.json")
    )
    with pytest.raises(KmsApiError, match="plain HTTP to another host"):
        await backend.list_projects()
    assert Instance(name="far", url="http://kms.example.com", allow_http=True).transport_problem() is None
    assert Instance(name="tunnel", url="http://127.0.0.1:8080").transport_problem() is None


async def test_options_without_an_oauth_app_say_what_to_set(backend, kms) -> None:
    kms.kms_world.oauth_client_id = None
    opts = await backend.oauth_availability()
    assert not opts.available
    for needed in (
        "INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID",
        "INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_SECRET",
        "SITE_URL=https://kms.example.test",
        "restart",
        "https://kms.example.test/organization/app-connections/azure/oauth/callback",
    ):
        assert needed in opts.fix


async def test_a_token_without_expiry_is_not_renewed_or_replaced(backend, kms) -> None:
    kms.kms_world.identities[next(iter(kms.kms_world.identities))].access_token_ttl = 0
    await backend.list_projects()
    await backend.list_projects()
    assert logins(kms) == 1 and not any(r.path.endswith("/renew") for r in kms.requests)


async def test_a_dead_token_is_dropped_and_the_next_call_logs_in(backend, kms) -> None:
    await backend.list_projects()
    kms.kms_world.tokens.clear()  # revoked on the instance
    with pytest.raises(KmsApiError):
        await backend.list_projects()
    await backend.list_projects()  # a fresh login, not a retry of a refused one
    assert logins(kms) == 2


async def test_every_connection_in_one_call_or_project_by_project(kms, kms_identity, tmp_path, sample) -> None:
    backend = backend_for(kms, kms_identity, tmp_path)
    await backend.create_connection(SAMPLE_PAYMENTS, pat_draft(sample[1].pat_ok.token))
    kms.kms_world.add_connection("org-wide", "access-token", {"accessToken": "x", "orgName": "contoso-dev"})
    before = len(kms.requests)
    pairs = {(p.name, c.name) for p, c in await backend.list_all_connections()}
    assert pairs == {("Payments", "ado-prod"), ("(organization-scoped connections)", "org-wide")}
    listed = [r for r in kms.requests[before:] if r.path.endswith("/app-connections/azure-devops")]
    assert len(listed) == 1 and "projectId" not in listed[0].query  # one organization-wide list
    # Without organization-level permission: each project it may read, and the rest skipped.
    identity = kms.kms_world.add_identity("project-only", org_permission=False, project_ids={SAMPLE_PAYMENTS})
    limited = backend_for(kms, identity, tmp_path)
    assert [(p.name, c.name) for p, c in await limited.list_all_connections()] == [("Payments", "ado-prod")]
