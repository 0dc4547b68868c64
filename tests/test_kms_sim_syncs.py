"""The KMS simulator's Azure DevOps Secret Syncs over real HTTP (issue 19): the routes and their
Zod-like 422s, the job that writes the variable group in the Azure DevOps simulator, its failures
as lastSyncMessage, and how tests and the demo step the jobs."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from kms_connect_sim.kms import KmsSimulator
from kms_connect_sim.kms_sync_sample import PAYMENTS_PROD_SECRETS, SampleSyncs, add_sample_syncs
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS, SAMPLE_PLATFORM, KmsIdentity, sample_kms_world
from kms_connect_sim.sandbox import PAYMENTS, PLATFORM, Sample, Sandbox
from kms_connect_sim.world import Variable, World
from sim_fixtures import kms, kms_http, kms_identity, sample, sandbox, sim_tls

SIM_FIXTURES = (kms, kms_http, kms_identity, sample, sandbox, sim_tls)
BASE = "/api/v1/secret-syncs/azure-devops"
IN_PROGRESS = "A job for this sync is already in progress. Please try again shortly."


@pytest.fixture
def auth(kms_http: httpx.Client, kms_identity: KmsIdentity) -> dict[str, str]:
    answer = kms_http.post(
        "/api/v1/auth/universal-auth/login",
        json={"clientId": kms_identity.client_id, "clientSecret": kms_identity.client_secret},
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['accessToken']}"}


@pytest.fixture
def syncs(kms: KmsSimulator, sample: tuple[World, Sample]) -> SampleSyncs:
    return add_sample_syncs(kms.kms_world, sample[1])


def error(answer: httpx.Response, status: int) -> Any:
    body = answer.json()
    assert answer.status_code == status, answer.text
    assert set(body) == {"reqId", "statusCode", "message", "error"}, body
    return body["message"]


def one(http: httpx.Client, auth: dict[str, str], sync_id: str) -> dict[str, Any]:
    answer = http.get(f"{BASE}/{sync_id}", headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()["secretSync"]


def group(world: World, project: str, name: str) -> Any:
    org = world.orgs["contoso-dev"]
    return next((g for g in org.variable_groups if g.in_project(project) and g.name == name), None)


def create_body(conn_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "payments-staging",
        "projectId": SAMPLE_PAYMENTS,
        "connectionId": conn_id,
        "environment": "staging",
        "secretPath": "/",
        "destinationConfig": {"devopsProjectId": "ignored-here", "devopsProjectName": PAYMENTS},
        "syncOptions": {"initialSyncBehavior": "overwrite-destination"},
        **extra,
    }


# --- the routes ----------------------------------------------------------------------------------
def test_list_get_and_by_name_answer_the_sync_shape(kms_http, auth, syncs: SampleSyncs) -> None:
    listed = kms_http.get(BASE, params={"projectId": SAMPLE_PAYMENTS}, headers=auth).json()["secretSyncs"]
    assert [s["name"] for s in listed] == ["payments-prod"]
    sync = listed[0]
    assert sync["syncStatus"] == "pending" and sync["lastSyncedAt"] is None and sync["lastSyncMessage"] is None
    assert sync["isAutoSyncEnabled"] is True and sync["destination"] == "azure-devops"
    assert sync["connection"] == {"app": "azure-devops", "name": "ado-sync-pat", "id": syncs.healthy_connection.id}
    assert sync["environment"]["slug"] == "prod" and sync["environment"]["name"] == "Production"
    assert sync["folder"]["path"] == "/" and sync["syncOptions"] == {"initialSyncBehavior": "overwrite-destination"}
    assert sync["destinationConfig"]["devopsProjectName"] == PAYMENTS
    assert one(kms_http, auth, sync["id"]) == sync
    by_name = kms_http.get(f"{BASE}/sync-name/payments-prod", params={"projectId": SAMPLE_PAYMENTS}, headers=auth)
    assert by_name.json()["secretSync"]["id"] == sync["id"]
    missing = kms_http.get(f"{BASE}/sync-name/nope", params={"projectId": SAMPLE_PAYMENTS}, headers=auth)
    assert error(missing, 404) == 'Could not find Azure DevOps Sync with name "nope"'
    assert error(kms_http.get(f"{BASE}/{uuid.uuid4()}", headers=auth), 404).startswith("Could not find Azure DevOps")
    # Authentication before validation, then the query's and the path's schemas.
    assert error(kms_http.get(BASE), 401) == "Token missing"
    [issue] = error(kms_http.get(BASE, headers=auth), 422)
    assert issue["path"] == ["projectId"] and issue["message"] == "Required"
    assert error(kms_http.get(f"{BASE}/not-a-uuid", headers=auth), 422)[0]["message"] == "Invalid uuid"
    # The projects list carries each project's environments (the create form picks from them).
    projects = kms_http.get("/api/v1/projects", headers=auth).json()["projects"]
    assert {e["name"] for p in projects for e in p["environments"]} == {"Development", "Staging", "Production"}


def test_create_body_is_validated_field_by_field(kms_http, auth, syncs: SampleSyncs) -> None:
    bad = create_body(
        "not-a-uuid",
        name="Payments Staging",
        environment="",
        secretPath="  ",
        destinationConfig={"devopsProjectName": 5},
        syncOptions={"initialSyncBehavior": "import-prioritize-source", "keySchema": "KMS_{{secretKey}}!"},
        isAutoSyncEnabled="yes",
    )
    issues = error(kms_http.post(BASE, json=bad, headers=auth), 422)
    by_path = {".".join(map(str, i["path"])): i for i in issues}
    assert by_path["name"]["message"] == "name field can only contain lowercase letters, numbers, and hyphens"
    assert by_path["environment"]["message"] == "environment field must be at least 1 lowercase character"
    assert by_path["secretPath"]["message"] == "Secret path required"
    assert by_path["connectionId"]["message"] == "Invalid uuid"
    assert by_path["isAutoSyncEnabled"]["message"] == "Expected boolean, received string"
    assert by_path["destinationConfig.devopsProjectId"]["message"] == "Required"
    assert by_path["destinationConfig.devopsProjectName"]["code"] == "invalid_type"
    literal = by_path["syncOptions.initialSyncBehavior"]
    assert literal["code"] == "invalid_literal" and literal["expected"] == "overwrite-destination"
    assert by_path["syncOptions.keySchema"]["message"].startswith("Key schema must include exactly one {{secretKey}}")
    # The key schema's rules: {{secretKey}} required, {{environment}} allowed, [a-zA-Z0-9_-/] besides.
    conn = syncs.healthy_connection.id
    for schema, ok in (
        ("{{environment}}/APP_{{secretKey}}", True),
        ("APP-{{secretKey}}", True),
        ("APP_{{environment}}", False),
        ("APP {{secretKey}}", False),
        ("{{secretKey}}.{{foo}}", False),
    ):
        body = create_body(conn, name=f"s-{uuid.uuid4().hex[:8]}", isAutoSyncEnabled=False)
        body["syncOptions"]["keySchema"] = schema
        answer = kms_http.post(BASE, json=body, headers=auth)
        assert (answer.status_code == 200) is ok, (schema, answer.text)
    assert error(kms_http.post(BASE, headers=auth), 422)[0]["message"] == "Required"  # no body at all


def test_create_checks_folder_connection_and_name(kms, kms_http, auth, syncs: SampleSyncs) -> None:
    conn = syncs.healthy_connection.id
    made = kms_http.post(BASE, json=create_body(conn, isAutoSyncEnabled=False, extra="dropped"), headers=auth)
    assert made.status_code == 200, made.text
    sync = made.json()["secretSync"]
    assert sync["syncStatus"] is None and sync["isAutoSyncEnabled"] is False  # never run: no job queued
    assert not [j for j in kms.kms_world.jobs if j.sync_id == sync["id"]]
    again = kms_http.post(BASE, json=create_body(conn), headers=auth)
    assert error(again, 400) == (
        f'A Secret Sync with the name "payments-staging" already exists for the project with ID "{SAMPLE_PAYMENTS}"'
    )
    no_folder = kms_http.post(BASE, json=create_body(conn, name="x", secretPath="/app/"), headers=auth)
    assert error(no_folder, 400) == (
        f'Could not find folder with path "/app" in environment "staging" for project with ID "{SAMPLE_PAYMENTS}"'
    )
    other_project = kms_http.post(BASE, json=create_body(syncs.failing_connection.id, name="y"), headers=auth)
    assert error(other_project, 404).startswith("Could not find App Connection with ID")
    # A connection that syncs use cannot be deleted.
    refused = kms_http.delete(f"/api/v1/app-connections/azure-devops/{conn}", headers=auth)
    assert error(refused, 400).startswith("Cannot delete App Connection")
    # Azure DevOps cannot import.
    imported = kms_http.post(
        f"{BASE}/{sync['id']}/import-secrets", params={"importBehavior": "prioritize-source"}, headers=auth
    )
    assert error(imported, 400) == "Azure DevOps does not support importing secrets."


def test_an_older_instance_has_no_sync_routes(kms, kms_http, auth) -> None:
    kms.kms_world.secret_syncs_routes = False
    answer = kms_http.get(BASE, params={"projectId": SAMPLE_PAYMENTS}, headers=auth)
    assert error(answer, 404) == "Route GET:/api/v1/secret-syncs/azure-devops not found"


# --- the job -------------------------------------------------------------------------------------
def test_the_job_writes_every_secret_into_the_group_and_replaces_it_on_each_run(
    kms, kms_http, auth, syncs: SampleSyncs, sample
) -> None:
    world = sample[0]
    assert kms.run_jobs() == 2
    done = one(kms_http, auth, syncs.healthy.id)
    assert done["syncStatus"] == "succeeded" and done["lastSyncMessage"] is None
    assert done["lastSyncedAt"] and done["lastSyncJobId"]
    made = group(world, PAYMENTS, "Production")  # named after the environment's display name
    assert made is not None and made.created_by == sample[1].alice.oid
    assert {k: (v.value, v.is_secret) for k, v in made.variables.items()} == {
        k: (v, True) for k, v in PAYMENTS_PROD_SECRETS.items()
    }
    # Someone adds a variable by hand; a secret changes; the next run replaces the whole set.
    made.variables["HAND_MADE"] = Variable("kept?", False)
    kms.kms_world.add_secrets(SAMPLE_PAYMENTS, "prod", "/", {"DB_PASSWORD": "rotated"})
    assert (
        kms_http.post(f"{BASE}/{syncs.healthy.id}/sync-secrets", headers=auth).json()["secretSync"]["syncStatus"]
        == "pending"
    )
    assert kms.run_jobs() == 1
    again = one(kms_http, auth, syncs.healthy.id)
    assert again["syncStatus"] == "succeeded" and again["lastSyncJobId"] != done["lastSyncJobId"]
    assert group(world, PAYMENTS, "Production") is made  # updated in place, not made again
    assert set(made.variables) == set(PAYMENTS_PROD_SECRETS) and made.variables["DB_PASSWORD"].value == "rotated"


def test_a_missing_library_role_lands_in_last_sync_message(kms, kms_http, auth, syncs: SampleSyncs, sample) -> None:
    kms.run_jobs()
    failed = one(kms_http, auth, syncs.failing.id)
    assert failed["syncStatus"] == "failed" and failed["lastSyncedAt"] is None and failed["lastSyncJobId"]
    body = json.loads(failed["lastSyncMessage"])  # Azure DevOps' answer, as JSON.stringify writes it
    assert body["typeKey"] == "AccessCheckException"
    project_id = sample[1].org.project_id(PLATFORM)
    assert body["message"] == (
        "Access Denied: kms-sync-library-reader needs the following permission(s) on the resource "
        f"Library/{project_id} to perform this action: Create"
    )
    assert ", " not in failed["lastSyncMessage"].split('"message"')[0]  # compact, as JSON.stringify writes it
    assert group(sample[0], PLATFORM, "Development") is None
    assert sample[1].sp_library_reader_secret not in failed["lastSyncMessage"]


def test_a_trigger_while_a_job_runs_is_refused(kms, kms_http, auth, syncs: SampleSyncs) -> None:
    assert kms.start_jobs() == 2  # running: the sync's lock is held
    assert one(kms_http, auth, syncs.healthy.id)["syncStatus"] == "running"
    for path in ("sync-secrets", "remove-secrets"):
        assert error(kms_http.post(f"{BASE}/{syncs.healthy.id}/{path}", headers=auth), 400) == IN_PROGRESS
    deleting = kms_http.delete(f"{BASE}/{syncs.healthy.id}", params={"removeSecrets": "true"}, headers=auth)
    assert error(deleting, 400) == IN_PROGRESS
    assert kms.run_jobs() == 2
    assert kms_http.post(f"{BASE}/{syncs.healthy.id}/sync-secrets", headers=auth).status_code == 200
    # A trigger while a job is only queued joins it.
    assert kms_http.post(f"{BASE}/{syncs.healthy.id}/sync-secrets", headers=auth).status_code == 200
    assert kms.run_jobs() == 1


def test_on_poll_jobs_take_one_step_per_read(kms, kms_http, auth, syncs: SampleSyncs) -> None:
    kms.kms_world.sync_jobs = "on-poll"
    steps = [one(kms_http, auth, syncs.healthy.id)["syncStatus"] for _ in range(3)]
    assert steps == ["running", "succeeded", "succeeded"]


def test_a_long_answer_is_cut_at_1024_characters(kms, kms_http, auth, syncs: SampleSyncs, sandbox: Sandbox) -> None:
    long_body = {"$id": "1", "message": "VS402xxx: " + "details " * 300, "typeKey": "SomethingException"}
    sandbox.devops.inject("/_apis/distributedtask/variablegroups", status=500, body=long_body)
    kms.kms_world.jobs = [j for j in kms.kms_world.jobs if j.sync_id == syncs.healthy.id]
    kms.run_jobs()
    message = one(kms_http, auth, syncs.healthy.id)["lastSyncMessage"]
    assert len(message) == 1024 and message.endswith("...") and message.startswith('{"$id":"1","message":"VS402xxx')


def test_expired_pat_and_revoked_sign_in_fail_with_the_answers_of_azure(
    kms, kms_http, auth, sample, sandbox: Sandbox, syncs: SampleSyncs
) -> None:
    from kms_connect_sim.entra_tokens import RefreshGrant

    world, s = sample
    expired = kms.kms_world.add_connection(
        "ado-old",
        "access-token",
        {"accessToken": s.pat_expired.token, "orgName": s.org.name},
        project_id=SAMPLE_PAYMENTS,
    )
    kms.kms_world.syncs[syncs.healthy.id].connection_id = expired.id
    kms.run_jobs()
    body = json.loads(one(kms_http, auth, syncs.healthy.id)["lastSyncMessage"])
    assert body["message"] == "Access Denied: The Personal Access Token used has expired."
    # An OAuth connection whose refresh token Entra no longer honours (the server redeems it on every job).
    refresh = "1.AQ-sim-refresh-token"
    sandbox.entra.refresh_tokens[refresh] = RefreshGrant(s.alice.upn, s.oauth_web_app.client_id, s.tenant.id)
    world.revoked_refresh_users.add(s.alice.upn)
    oauth = kms.kms_world.add_connection(
        "ado-oauth",
        "oauth",
        {"tenantId": s.tenant.id, "orgName": s.org.name, "refreshToken": refresh, "accessToken": "x", "expiresAt": 0},
        project_id=SAMPLE_PLATFORM,
    )
    kms.kms_world.syncs[syncs.failing.id].connection_id = oauth.id
    assert kms_http.post(f"{BASE}/{syncs.failing.id}/sync-secrets", headers=auth).status_code == 200
    assert kms.run_jobs() == 1
    message = one(kms_http, auth, syncs.failing.id)["lastSyncMessage"]
    answer = json.loads(message)
    assert answer["error"] == "invalid_grant" and answer["error_codes"] == [700082]
    assert refresh not in message and s.web_secret not in message


def test_remove_secrets_and_delete_with_remove(kms, kms_http, auth, syncs: SampleSyncs, sample) -> None:
    kms.run_jobs()
    assert group(sample[0], PAYMENTS, "Production") is not None
    removing = kms_http.post(f"{BASE}/{syncs.healthy.id}/remove-secrets", headers=auth).json()["secretSync"]
    assert removing["removeStatus"] == "pending"
    kms.run_jobs()
    gone = one(kms_http, auth, syncs.healthy.id)
    assert gone["removeStatus"] == "succeeded" and gone["lastRemovedAt"]
    assert group(sample[0], PAYMENTS, "Production") is None
    kms_http.post(f"{BASE}/{syncs.healthy.id}/sync-secrets", headers=auth)
    kms.run_jobs()
    deleting = kms_http.delete(f"{BASE}/{syncs.healthy.id}", params={"removeSecrets": "true"}, headers=auth)
    assert deleting.status_code == 200 and deleting.json()["secretSync"]["removeStatus"] == "pending"
    kms.run_jobs()
    assert error(kms_http.get(f"{BASE}/{syncs.healthy.id}", headers=auth), 404)
    assert group(sample[0], PAYMENTS, "Production") is None
    bad = kms_http.delete(f"{BASE}/{syncs.failing.id}", params={"removeSecrets": "yes"}, headers=auth)
    assert error(bad, 422)[0]["code"] == "invalid_enum_value"
    plain = kms_http.delete(f"{BASE}/{syncs.failing.id}", headers=auth)
    assert plain.status_code == 200 and syncs.failing.id not in kms.kms_world.syncs


def test_update_queues_a_sync_when_auto_sync_is_on(kms, kms_http, auth, syncs: SampleSyncs) -> None:
    kms.run_jobs()
    patched = kms_http.patch(
        f"{BASE}/{syncs.healthy.id}",
        json={"syncOptions": {"initialSyncBehavior": "overwrite-destination", "keySchema": "APP_{{secretKey}}"}},
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["secretSync"]["syncStatus"] == "pending"
    off = kms_http.patch(f"{BASE}/{syncs.failing.id}", json={"isAutoSyncEnabled": False}, headers=auth)
    assert off.json()["secretSync"]["syncStatus"] == "failed"  # nothing queued: the last run's status stays
    issues = error(kms_http.patch(f"{BASE}/{syncs.healthy.id}", json={"secretPath": ""}, headers=auth), 422)
    assert issues[0]["message"] == "Invalid secret path"
    assert error(kms_http.patch(f"{BASE}/{uuid.uuid4()}", json={}, headers=auth), 404).startswith("Could not find")


def test_check_destination(kms_http, auth, syncs: SampleSyncs, sample) -> None:
    body = {
        "destinationConfig": {"devopsProjectId": sample[1].org.project_id(PAYMENTS)},
        "connectionId": syncs.healthy_connection.id,
        "projectId": SAMPLE_PLATFORM,
    }
    answer = kms_http.post(f"{BASE}/check-destination", json=body, headers=auth).json()
    assert answer == {"hasDuplicate": True, "duplicateProjectId": SAMPLE_PAYMENTS}
    body["excludeSyncId"] = syncs.healthy.id
    assert kms_http.post(f"{BASE}/check-destination", json=body, headers=auth).json() == {"hasDuplicate": False}


def test_auto_jobs_run_by_themselves(sandbox: Sandbox, sample) -> None:
    kms_world, _ = sample_kms_world()
    kms_world.sync_jobs, kms_world.job_delay = "auto", 0.0
    made = add_sample_syncs(kms_world, sample[1])
    with KmsSimulator(
        kms_world,
        sandbox.world,
        entra_url=sandbox.entra.url,
        devops_url=sandbox.devops_url,
        ca_bundle=sandbox.ca_bundle,
    ) as sim:
        assert sim.wait_for_jobs(30)
        assert kms_world.syncs[made.healthy.id].sync_status == "succeeded"
        assert kms_world.syncs[made.failing.id].sync_status == "failed"
