"""An instance older than App Connections and Secret Syncs (issue 19, "Older instances"): the KMS
simulator's September 2024 mode (kms_older.py) answers as that server was seen to, and the core
lists its projects by organization and says in one sentence what it lacks; over real HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from kms_connect.core.errors import ConfigError
from kms_connect.core.instances import Instance, configured_instances
from kms_connect.core.kms.backend import KmsBackend
from kms_connect.core.kms.client import KmsApiError, KmsClient, OrgIdNeeded
from kms_connect.core.kms.older import AppConnectionsUnsupported
from kms_connect.core.kms.syncs import SecretSyncs, SyncsUnsupported
from kms_connect.core.paths import InstanceFiles
from kms_connect_sim.kms import KmsSimulator
from kms_connect_sim.kms_world import SAMPLE_ORG_ID, SAMPLE_PAYMENTS, KmsIdentity
from test_kms_simulator import token_for

OTHER_ORG = "0c9a0000-0002-4000-8000-00000000d002"
ORG_ROUTE = f"/api/v2/organizations/{SAMPLE_ORG_ID}/workspaces"


@pytest.fixture
def older(kms: KmsSimulator) -> KmsSimulator:
    kms.kms_world.september_2024 = True
    return kms


def client_for(kms: KmsSimulator, identity: KmsIdentity, **instance: object) -> KmsClient:
    inst = Instance(name="prod", url=kms.url, client_id=identity.client_id, **instance)  # type: ignore[arg-type]
    return KmsClient(inst, lambda: identity.client_secret)


def backend_for(kms: KmsSimulator, identity: KmsIdentity, tmp_path: Path, **instance: object) -> KmsBackend:
    client = client_for(kms, identity, **instance)
    return KmsBackend(client.instance, client, InstanceFiles.beside(tmp_path / "checks" / "prod.json"))


def asked(kms: KmsSimulator) -> list[str]:
    return [r.path for r in kms.requests if not r.path.startswith("/api/v1/auth/")]


def plain(text: str) -> None:
    """No raw answer of the instance in the operator's sentence."""
    for raw in ("Route", "Not Found", "not found", "Unauthorized Access", "statusCode", "reqId"):
        assert raw not in text, text


# --- the simulator, black box ----------------------------------------------------------------------
def test_the_september_2024_answers_as_seen(older: KmsSimulator, kms_http: httpx.Client, kms_identity) -> None:
    auth = token_for(kms_http, kms_identity)  # Universal Auth login as ever
    for path in ("/api/v1/projects", "/api/v1/app-connections/azure-devops", "/api/v1/secret-syncs/azure-devops"):
        for headers in (auth, {}):  # no route: 404 before any authentication
            answer = kms_http.get(path, headers=headers)
            assert answer.status_code == 404
            assert answer.json() == {"message": f"Route GET:{path} not found", "error": "Not Found", "statusCode": 404}
    with_query = kms_http.get("/api/v1/app-connections/azure-devops", params={"projectId": SAMPLE_PAYMENTS})
    assert (
        with_query.json()["message"]
        == f"Route GET:/api/v1/app-connections/azure-devops?projectId={SAMPLE_PAYMENTS} not found"
    )
    assert kms_http.post("/api/v1/app-connections/azure-devops", json={}).status_code == 404
    refused = kms_http.get("/api/v1/workspace", headers=auth)
    assert refused.status_code == 403
    assert refused.json() == {
        "statusCode": 403,
        "message": "You are not allowed to access this resource",
        "error": "/api/v1/workspace Unauthorized Access",
    }


def test_the_organization_route_lists_the_identity_projects(
    kms: KmsSimulator, kms_http: httpx.Client, kms_identity
) -> None:
    auth = token_for(kms_http, kms_identity)
    for september_2024 in (False, True):  # a current instance has the route too
        kms.kms_world.september_2024 = september_2024
        workspaces = kms_http.get(ORG_ROUTE, headers=auth).json()["workspaces"]
        assert [w["name"] for w in workspaces] == ["Payments", "Platform"]
        assert workspaces[0] == {
            "id": SAMPLE_PAYMENTS,
            "name": "Payments",
            "slug": "payments",
            "organization": SAMPLE_ORG_ID,
            "environments": [
                {"name": "Development", "slug": "dev"},
                {"name": "Staging", "slug": "staging"},
                {"name": "Production", "slug": "prod"},
            ],
        }
    # As that version's source reads: another organization's id lists nothing; a non-UUID fails in the database.
    assert kms_http.get(f"/api/v2/organizations/{OTHER_ORG}/workspaces", headers=auth).json() == {"workspaces": []}
    broken = kms_http.get("/api/v2/organizations/contoso/workspaces", headers=auth)
    assert broken.status_code == 500 and broken.json()["message"] == "Something went wrong"
    assert kms_http.get(ORG_ROUTE).status_code == 401  # a token is needed


# --- the project list falls back -------------------------------------------------------------------
async def test_projects_fall_back_to_the_organization_route(older: KmsSimulator, kms_identity) -> None:
    client = client_for(older, kms_identity, org_id=SAMPLE_ORG_ID)
    try:
        assert [p["name"] for p in await client.projects()] == ["Payments", "Platform"]
        assert asked(older) == ["/api/v1/projects", "/api/v1/workspace", ORG_ROUTE]
        assert client.listed_by_org
        older.requests.clear()
        assert len(await client.projects()) == 2
        assert asked(older) == [ORG_ROUTE]  # the route that answered is asked straight away
    finally:
        await client.aclose()


async def test_without_the_organization_id_it_says_where_to_set_it(older: KmsSimulator, kms_identity) -> None:
    client = client_for(older, kms_identity)
    try:
        with pytest.raises(OrgIdNeeded) as needed:
            await client.projects()
    finally:
        await client.aclose()
    text = str(needed.value)
    assert "needs its organization ID set here" in text and "September 2024" in text
    assert "kms-connect (Source → Edit instance), field Organization ID" in text and "Organization Settings" in text
    assert "403" not in text
    plain(text)
    declared = Instance(name="prod", url=older.url, client_id=kms_identity.client_id, source="config")
    client = KmsClient(declared, lambda: kms_identity.client_secret)
    try:
        with pytest.raises(OrgIdNeeded, match=r'Add org_id = "…" to its \[\[instances\]\] table in the config file'):
            await client.projects()
    finally:
        await client.aclose()


async def test_an_expired_token_on_the_old_route_is_not_taken_for_its_age(kms: KmsSimulator, kms_identity) -> None:
    kms.kms_world.legacy_projects_route = True
    body = {"statusCode": 403, "message": "Your token has expired. Please re-authenticate.", "error": "TokenError"}
    kms.inject("/api/v1/workspace", status=403, body=body)
    client = client_for(kms, kms_identity, org_id=SAMPLE_ORG_ID)
    try:
        with pytest.raises(KmsApiError, match="token has expired") as expired:
            await client.projects()
        assert not isinstance(expired.value, OrgIdNeeded) and not client.listed_by_org
        assert ORG_ROUTE not in asked(kms)
    finally:
        await client.aclose()


def test_the_organization_id_is_a_guid(tmp_path: Path) -> None:
    assert Instance(name="p", url="http://localhost", org_id=f" {SAMPLE_ORG_ID.upper()} ").org_id == SAMPLE_ORG_ID
    assert Instance(name="p", url="http://localhost", org_id="").org_id is None
    with pytest.raises(ValidationError, match="Organization Settings"):
        Instance(name="p", url="http://localhost", org_id="contoso")
    config = tmp_path / "config.toml"
    with pytest.raises(ConfigError, match=r"config.toml: \[\[instances\]\] #1 org_id: must be the organization's ID"):
        configured_instances([{"name": "p", "url": "http://localhost", "org_id": "contoso"}], config)


# --- what it lacks, in words -----------------------------------------------------------------------
async def test_the_backend_lists_projects_and_says_it_has_no_app_connections(
    older: KmsSimulator, kms_identity, tmp_path: Path
) -> None:
    backend = backend_for(older, kms_identity, tmp_path, org_id=SAMPLE_ORG_ID)
    try:
        summaries = await backend.list_projects()
        assert [(s.project.name, s.connection_count) for s in summaries] == [("Payments", None), ("Platform", None)]
        note = backend.hidden_note
        assert note == (
            "The instance prod has no App Connections: it answers /api/v1/app-connections/azure-devops with 404, "
            "as instances older than App Connections for Azure DevOps do. Upgrade the instance to use them."
        )
        for call in (
            lambda: backend.list_connections(SAMPLE_PAYMENTS),
            backend.list_all_connections,
            backend.oauth_availability,  # /api/v1/app-connections/options: the same sentence
        ):
            with pytest.raises(AppConnectionsUnsupported) as lacking:
                await call()
            assert str(lacking.value) == note
    finally:
        await backend.aclose()


async def test_all_connections_say_what_is_lacking_before_the_organization_id(
    older: KmsSimulator, kms_identity, tmp_path: Path
) -> None:
    """Without the organization ID the project list fails too: even when it fails first, what the
    operator reads is that the instance has no App Connections (the same sentence every time)."""
    backend = backend_for(older, kms_identity, tmp_path)
    gate = older.hold("/api/v1/app-connections")  # its answer waits until the project list has failed
    try:
        listing = asyncio.create_task(backend.list_all_connections())
        for _ in range(1000):  # set with no await before OrgIdNeeded is raised: the listing has failed
            if backend.client.listed_by_org:
                break
            await asyncio.sleep(0.01)
        assert backend.client.listed_by_org and not listing.done()
        gate.set()
        with pytest.raises(AppConnectionsUnsupported):
            await listing
        with pytest.raises(OrgIdNeeded):  # the Projects screen's listing needs the projects
            await backend.list_projects()
    finally:
        gate.set()
        await backend.aclose()


async def test_a_wrong_organization_id_lists_nothing_and_says_so(
    older: KmsSimulator, kms_identity, tmp_path: Path
) -> None:
    backend = backend_for(older, kms_identity, tmp_path, org_id=OTHER_ORG)
    try:
        assert await backend.list_projects() == []
        assert f"lists no project of the organization {OTHER_ORG}" in backend.hidden_note
        assert "has no App Connections" in backend.hidden_note
    finally:
        await backend.aclose()


async def test_secret_syncs_on_the_older_instance(older: KmsSimulator, kms_identity) -> None:
    for org_id in (SAMPLE_ORG_ID, OTHER_ORG, None):  # listed projects, none, or the list refused
        client = client_for(older, kms_identity, org_id=org_id)
        try:
            with pytest.raises(SyncsUnsupported) as lacking:
                await SecretSyncs(client).list_syncs()
        finally:
            await client.aclose()
        text = str(lacking.value)
        assert text.startswith("The instance prod has no Secret Syncs: it answers /api/v1/secret-syncs/azure-devops")
        assert "Upgrade the instance" in text
        plain(text)
