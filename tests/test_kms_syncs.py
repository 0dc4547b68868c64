"""The core's Secret Syncs client (core/kms/syncs) and its explanations (core/kms/sync_explain): the
last message parsed tolerantly (whole, or cut at 1024 characters), known failures in words, unknown
ones verbatim, an older instance in a plain sentence; over real HTTP against the KMS simulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kms_connect.core.instances import Instance
from kms_connect.core.kms.client import KmsClient
from kms_connect.core.kms.sync_explain import SyncContext, explain_failure, parse_message
from kms_connect.core.kms.syncs import (
    SecretSyncs,
    SyncFollowLost,
    SyncInProgress,
    SyncNotFound,
    SyncStatus,
    SyncsUnsupported,
    backoff,
)
from kms_connect.core.status import Method
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS, SAMPLE_PLATFORM

LIBRARY_REFUSAL = {
    "$id": "1",
    "innerException": None,
    "message": "Access Denied: kms-sync-library-reader needs the following permission(s) on the resource "
    "Library/6f1c0000-0000-4000-8000-000000000001 to perform this action: Create",
    "typeName": "Microsoft.TeamFoundation.Framework.Server.AccessCheckException, "
    "Microsoft.TeamFoundation.Framework.Server",
    "typeKey": "AccessCheckException",
    "errorCode": 0,
    "eventId": 3000,
}
CTX = SyncContext("Platform", "contoso-dev", "ado-sync-reader", Method.CLIENT_SECRET, "Development (dev) /")


def compact(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def cut(text: str) -> str:
    """What the instance keeps of a long message."""
    return text if len(text) <= 1024 else text[:1021] + "..."


# --- the message, parsed and explained -----------------------------------------------------------
def test_a_whole_and_a_cut_body_parse_alike() -> None:
    whole = compact(LIBRARY_REFUSAL)
    assert parse_message(whole) == LIBRARY_REFUSAL
    padded = dict(LIBRARY_REFUSAL, message=LIBRARY_REFUSAL["message"] + " " + "x" * 1200)
    shortened = cut(compact(padded))
    assert len(shortened) == 1024 and shortened.endswith("...")
    with pytest.raises(ValueError):
        json.loads(shortened)
    parsed = parse_message(shortened)
    assert parsed is not None and parsed["$id"] == "1" and parsed["innerException"] is None
    assert parsed["message"].startswith("Access Denied: kms-sync-library-reader needs")
    assert "typeKey" not in parsed  # cut away
    assert parse_message("connect ECONNREFUSED 13.107.6.183:443") is None


def test_a_missing_library_role_names_the_role_and_where_to_grant_it() -> None:
    explained = explain_failure(compact(LIBRARY_REFUSAL), CTX)
    assert explained is not None and explained.known
    assert explained.result == "No Creator role in the Library of Platform"
    text = explained.text()
    assert "kms-sync-library-reader" in text and "Creator" in text
    assert "In Platform, open Pipelines → Library → Security" in text and "run the sync again" in text
    # Cut short before its typeKey, it is still the same refusal.
    padded = dict(LIBRARY_REFUSAL, typeName="y" * 1100)
    assert explain_failure(cut(compact(padded)), CTX) == explained
    # Changing a group someone else made needs Administrator on it.
    administer = dict(LIBRARY_REFUSAL, message=LIBRARY_REFUSAL["message"].replace(": Create", ": Administer"))
    other = explain_failure(compact(administer), CTX)
    assert other is not None and other.result == "No Administrator role on the group in Platform"


def test_expired_pat_revoked_grant_and_missing_scope_say_what_to_change() -> None:
    expired = {"$id": "1", "message": "Access Denied: The Personal Access Token used has expired.", "typeKey": "X"}
    said = explain_failure(compact(expired), CTX)
    assert said is not None and said.known and said.result == "Token expired"
    assert "User settings → Personal access tokens" in said.explanation
    assert "App Connections → Credentials" in said.explanation
    revoked = {
        "error": "invalid_grant",
        "error_description": "AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: t-1\r\n",
        "error_codes": [700082],
        "trace_id": "t-1",
        "correlation_id": "c-1",
    }
    grant = explain_failure(compact(revoked), CTX)
    assert grant is not None and grant.known and "AADSTS700082" in grant.result
    assert "sign in again" in grant.explanation and "ado-sync-reader" in grant.explanation
    # Entra's body cut short keeps its codes.
    long_revoked = dict(revoked, error_uri="https://login.microsoftonline.com/error?code=700082&" + "z" * 1100)
    assert explain_failure(cut(compact(long_revoked)), CTX) == grant
    scope = {"$id": "1", "message": "TF400813: The user 'a11ce' is not authorized to access this resource."}
    pat = explain_failure(compact(scope), SyncContext("Payments", "contoso-dev", "ado-pat", Method.ACCESS_TOKEN))
    assert pat is not None and "vso.variablegroups_manage" in pat.explanation
    signed_in = explain_failure(compact(scope), SyncContext("Payments", "contoso-dev", "ado-oauth", Method.OAUTH))
    assert signed_in is not None and signed_in.result == "The sign-in may not change variable groups"
    assert explain_failure(compact(scope), SyncContext("Payments")) is not None  # method unknown: not guessed…
    assert not explain_failure(compact(scope), SyncContext("Payments")).known  # type: ignore[union-attr]


def test_unknown_messages_are_shown_verbatim_and_marked() -> None:
    for message in ("Something odd happened", compact({"$id": "1", "message": "VS402999: odd", "typeKey": "Odd"})):
        said = explain_failure(message, CTX)
        assert said is not None and not said.known
        assert said.result == "Not a failure kms-connect knows" and message in said.explanation
    long = cut("weird " * 300)
    assert "(cut at 1024 characters by the instance)" in explain_failure(long, CTX).explanation  # type: ignore[union-attr]
    assert explain_failure(None, CTX) is None and explain_failure("  ", CTX) is None
    page = explain_failure("response.data.value is not iterable", CTX)
    assert page is not None and page.known and page.result == "Sign-in page instead of data"


def test_backoff_goes_from_half_a_second_to_five() -> None:
    delays = backoff()
    assert [next(delays) for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


# --- against the simulator -----------------------------------------------------------------------


@pytest.fixture
async def syncs(kms, kms_identity):  # type: ignore[no-untyped-def]
    inst = Instance(name="prod", url=kms.url, client_id=kms_identity.client_id)
    client = KmsClient(inst, lambda: kms_identity.client_secret)
    yield SecretSyncs(client)
    await client.aclose()


async def test_list_every_project_with_status_and_explanation(syncs, sample_syncs, kms) -> None:
    kms.kms_world.add_sync(
        "payments-dev", SAMPLE_PAYMENTS, "dev", sample_syncs.healthy_connection.id, "ado-id", auto_sync=False
    )
    found = {s.name: s for s in await syncs.list_syncs()}
    assert list(found) == ["payments-dev", "payments-prod", "platform-dev"]
    assert found["payments-dev"].status is SyncStatus.NEVER_RUN and found["payments-dev"].status.label == "– Never run"
    healthy = found["payments-prod"]
    assert healthy.status is SyncStatus.SUCCEEDED and healthy.last_synced_at is not None
    assert healthy.project == "Payments" and healthy.environment == "prod" and healthy.secret_path == "/"
    assert healthy.devops_project == "Payments" and healthy.connection == "ado-sync-pat" and healthy.auto_sync
    assert healthy.explanation == "" and healthy.last_message is None
    failing = found["platform-dev"]
    assert failing.status is SyncStatus.FAILED and failing.last_synced_at is None
    assert failing.explanation.startswith("No Creator role in the Library of Platform:")
    assert "Pipelines → Library → Security" in failing.explanation
    doc = failing.as_json()
    assert set(doc) == {
        "project", "name", "id", "environment", "secret_path", "devops_project", "connection", "auto_sync",
        "status", "last_synced_at", "last_message", "explanation",
    }  # fmt: skip
    assert doc["status"] == "failed" and json.loads(doc["last_message"])["typeKey"] == "AccessCheckException"
    only = await syncs.list_syncs("Platform")
    assert [s.name for s in only] == ["platform-dev"]
    with pytest.raises(SyncNotFound, match="No project 'Nope'"):
        await syncs.list_syncs("Nope")


async def test_find_by_name_and_project_slash_name(syncs, sample_syncs, kms) -> None:
    assert (await syncs.find("payments-prod")).id == sample_syncs.healthy.id
    kms.kms_world.add_sync(
        "payments-prod", SAMPLE_PLATFORM, "prod", sample_syncs.failing_connection.id, "x", auto_sync=False
    )
    with pytest.raises(SyncNotFound, match="project/name"):
        await syncs.find("payments-prod")
    assert (await syncs.find("Payments/payments-prod")).id == sample_syncs.healthy.id
    assert (await syncs.find("payments-prod", "Payments")).id == sample_syncs.healthy.id
    with pytest.raises(SyncNotFound, match="No Secret Sync named 'nope'"):
        await syncs.find("nope")


async def test_trigger_follow_and_a_job_in_progress(syncs, sample_syncs, kms) -> None:
    kms.kms_world.sync_jobs = "on-poll"  # each read moves the job a step: pending, running, succeeded
    sync = await syncs.find("payments-prod")
    started = await syncs.trigger(sync)
    assert started.status is SyncStatus.PENDING
    slept: list[float] = []
    seen: list[str] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    final = await syncs.follow(started, on_change=lambda s: seen.append(s.status.value), sleep=sleep)
    assert final.status is SyncStatus.SUCCEEDED and final.last_job_id != sync.last_job_id
    assert seen == ["running", "succeeded"] and slept == [0.5, 1.0]
    # A trigger while the job runs is refused with the server's words.
    kms.kms_world.sync_jobs = "manual"
    await syncs.trigger(sync)
    kms.start_jobs()
    with pytest.raises(SyncInProgress) as refused:
        await syncs.trigger(sync)
    assert refused.value.server_message == "A job for this sync is already in progress. Please try again shortly."
    # Following is bounded: a job that never ends is given up, never waited for for ever.
    now = [0.0]

    async def tick(seconds: float) -> None:
        now[0] += seconds

    running = await syncs.get(sync)
    with pytest.raises(SyncFollowLost, match="still running after 20 s"):
        await syncs.follow(running, sleep=tick, clock=lambda: now[0], budget=20)


async def test_an_older_instance_gets_a_plain_message(syncs, kms) -> None:
    kms.kms_world.secret_syncs_routes = False
    with pytest.raises(SyncsUnsupported) as old:
        await syncs.list_syncs()
    text = str(old.value)
    assert "has no Secret Syncs" in text and "Upgrade the instance" in text and "Route GET" not in text
    # An old server also refuses the project list to a machine identity: the same sentence, not a 403.
    body = {"statusCode": 403, "message": "You are not allowed to access this resource", "error": "Unauthorized"}
    kms.inject("/api/v1/projects", status=404, body={"message": "Route GET:/api/v1/projects not found"})
    kms.inject("/api/v1/workspace", status=403, body=body)
    with pytest.raises(SyncsUnsupported):
        await syncs.list_syncs()


async def test_an_identity_of_one_project_reads_its_connections_there(kms, sample, sample_syncs) -> None:
    member = kms.kms_world.add_identity("platform-only", org_permission=False, project_ids=[SAMPLE_PLATFORM])
    inst = Instance(name="prod", url=kms.url, client_id=member.client_id)
    client = KmsClient(inst, lambda: member.client_secret)
    try:
        syncs = SecretSyncs(client)
        [only] = await syncs.list_syncs()  # Payments is not among its projects
        assert only.name == "platform-dev" and only.explanation.startswith("No Creator role")
        # The organization's connections are refused to it: its project's are read instead.
        assert await syncs.connection_methods([]) == {
            sample_syncs.failing_connection.id: (Method.CLIENT_SECRET, "contoso-dev")
        }
    finally:
        await client.aclose()
