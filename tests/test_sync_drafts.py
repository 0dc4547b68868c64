# ruff: noqa: F811 - the `syncs` fixture is imported by name from test_kms_syncs
"""A Secret Sync as the form writes it (core/sync_drafts) and its writes through the core client
(create, edit, delete, check-destination), over real HTTP against the KMS simulator, whose
validation plays Infisical's Zod schemas."""

from __future__ import annotations

import json

import pytest

from kms_connect.core.errors import FieldErrors
from kms_connect.core.kms.syncs import SecretSyncs, SyncFieldError
from kms_connect.core.sync_drafts import (
    SyncDraft,
    check_key_schema,
    check_secret_path,
    check_slug,
    draft_of,
    field_of_issue,
    known_project_id,
    path_as_kept,
    preview_key,
    same_group,
)
from kms_connect_sim.kms_rules import KmsError
from kms_connect_sim.kms_sync_sample import SampleSyncs
from kms_connect_sim.kms_sync_validation import validate_sync_create
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS
from kms_connect_sim.sandbox import PAYMENTS
from test_kms_syncs import syncs  # noqa: F401 - the fixture, by name

SCHEMAS = [
    "",
    "{{secretKey}}",
    "KMS_{{secretKey}}",
    "{{environment}}/{{secretKey}}",
    "{{secretKey}}-{{environment}}_x",
    "KMS.{{secretKey}}",
    "{{secretkey}}",
    "{{environment}}",
    "{{secretKey}} x",
    "KMS_{{secretKey}}" + "x" * 250,
]


def draft(connection_id: str, **changes: object) -> SyncDraft:
    values: dict[str, object] = {
        "name": "payments-staging",
        "environment": "staging",
        "connection_id": connection_id,
        "devops_project": PAYMENTS,
    }
    return SyncDraft.model_validate(values | changes)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_key_schema_rule_is_the_instances(schema: str) -> None:
    body = draft("3b5e7c10-9d2a-4f64-8e1b-6a0c2d4f8e21", key_schema=schema).create_body(SAMPLE_PAYMENTS)
    try:
        validate_sync_create(body)
        server_takes_it = True
    except KmsError:
        server_takes_it = False
    assert (check_key_schema(schema) is None) == server_takes_it


def test_checks_say_what_to_type() -> None:
    assert check_slug("prod-to-devops", "name") is None
    assert "lowercase" in (check_slug("Prod Sync", "name") or "")
    assert check_slug("", "sync's name") == "Enter the sync's name."
    assert check_secret_path("/") is None and "starts with /" in (check_secret_path("app") or "")
    assert "Not allowed: ." in (check_key_schema("KMS.{{secretKey}}") or "")
    assert "Must contain {{secretKey}}" in (check_key_schema("KMS_") or "")


def test_a_path_is_compared_as_the_instance_keeps_it() -> None:
    assert [path_as_kept(p) for p in (" /app/ ", "/", "/app", "/a//")] == ["/app", "/", "/app", "/a/"]


def test_the_preview_applies_the_schema_to_the_typed_key() -> None:
    assert preview_key("", "DB_URL", "prod") == "DB_URL"
    assert preview_key("{{environment}}_{{secretKey}}", "DB_URL", "prod") == "prod_DB_URL"


def test_issue_paths_land_on_form_fields() -> None:
    assert field_of_issue("syncOptions.keySchema") == "key_schema"
    assert field_of_issue("destinationConfig.devopsProjectId") == "devops_project"
    assert field_of_issue("secretPath") == "secret_path"
    assert field_of_issue("(body)") == ""


# --- writes through the client ---------------------------------------------------------------------
async def test_create_edit_and_delete_on_the_instance(syncs: SecretSyncs, sample_syncs: SampleSyncs, kms) -> None:
    conn = sample_syncs.healthy_connection.id
    project = {"id": SAMPLE_PAYMENTS, "name": PAYMENTS}
    made = await syncs.create(project, draft(conn, key_schema="KMS_{{secretKey}}", auto_sync=False))
    assert made.name == "payments-staging" and made.key_schema == "KMS_{{secretKey}}" and not made.auto_sync
    assert made.environment_name == "Staging" and made.devops_project == PAYMENTS

    before = len(kms.requests)
    assert await syncs.update(made, draft_of(made)) == made  # nothing changed: nothing sent
    assert len(kms.requests) == before
    edited = await syncs.update(made, draft_of(made).model_copy(update={"key_schema": "", "secret_path": "/"}))
    patch = [r for r in kms.requests if r.method == "PATCH"][-1]
    assert set(json.loads(patch.body)) == {"syncOptions"}  # only what changed
    assert edited.key_schema is None

    gone = await syncs.delete(edited, remove_secrets=False)
    assert gone.id == made.id and made.id not in kms.kms_world.syncs


async def test_a_422_names_its_fields(syncs: SecretSyncs, sample_syncs: SampleSyncs) -> None:
    bad = draft(sample_syncs.healthy_connection.id, key_schema="no placeholder", name="Bad Name")
    with pytest.raises(FieldErrors) as caught:
        await syncs.create({"id": SAMPLE_PAYMENTS, "name": PAYMENTS}, bad)
    fields = {field_of_issue(path) for path, _ in caught.value.issues}
    assert fields == {"name", "key_schema"}


async def test_a_taken_name_is_a_field_error(syncs: SecretSyncs, sample_syncs: SampleSyncs) -> None:
    taken = draft(sample_syncs.healthy_connection.id, name="payments-prod")
    with pytest.raises(SyncFieldError) as caught:
        await syncs.create({"id": SAMPLE_PAYMENTS, "name": PAYMENTS}, taken)
    assert caught.value.field == "name" and "already exists" in caught.value.detail


async def test_shared_groups_are_found_by_project_and_environment_name(
    syncs: SecretSyncs, sample_syncs: SampleSyncs
) -> None:
    listed = await syncs.list_syncs()
    assert [s.name for s in same_group(listed, "payments", "production")] == ["payments-prod"]
    assert same_group(listed, PAYMENTS, "Staging") == []
    healthy = next(s for s in listed if s.name == "payments-prod")
    assert same_group(listed, healthy.devops_project_id, "Production", exclude=healthy.id) == []
    assert known_project_id(listed, "payments") == healthy.devops_project_id
    conn = sample_syncs.healthy_connection.id
    same = draft(conn, devops_project_id=healthy.devops_project_id)
    assert await syncs.check_destination(SAMPLE_PAYMENTS, same) is True
    assert await syncs.check_destination(SAMPLE_PAYMENTS, same, exclude=healthy.id) is False


async def test_the_forms_choices_come_from_the_instance(syncs: SecretSyncs, sample_syncs: SampleSyncs) -> None:
    async def targets() -> dict[str, list[str]]:
        return {sample_syncs.healthy_connection.id: ["Payments-Web"]}

    choices = await syncs.choices(SAMPLE_PAYMENTS, targets())
    assert ("prod", "Production") in choices.environments
    assert [c[1] for c in choices.connections] == ["ado-sync-pat"]
    assert choices.suggestions(sample_syncs.healthy_connection.id) == ["Payments-Web", PAYMENTS, "Platform"]
    assert choices.environment_name("staging") == "Staging"


async def test_a_removal_is_followed_until_the_sync_is_gone(syncs: SecretSyncs, sample_syncs: SampleSyncs, kms) -> None:
    kms.run_jobs()  # the sample's first runs: payments-prod's group exists
    kms.kms_world.sync_jobs = "on-poll"  # each read moves the removal a step
    [healthy] = [s for s in await syncs.list_syncs() if s.name == "payments-prod"]
    reads: list[float] = []

    async def no_wait(delay: float) -> None:  # the backoff's delays, recorded rather than slept
        reads.append(delay)

    left = await syncs.delete(healthy, remove_secrets=True)
    assert left.id == healthy.id and healthy.id in kms.kms_world.syncs  # removed only once its group is
    assert await syncs.follow_removal(left, sleep=no_wait) == ""
    assert healthy.id not in kms.kms_world.syncs and reads[:2] == [0.5, 1.0]


async def test_an_edit_of_the_key_schema_keeps_the_other_options(
    syncs: SecretSyncs, sample_syncs: SampleSyncs, kms
) -> None:
    """The instance replaces syncOptions whole: an edit sends back what it did not change."""
    project = {"id": SAMPLE_PAYMENTS, "name": PAYMENTS}
    made = await syncs.create(project, draft(sample_syncs.healthy_connection.id, auto_sync=False))
    stored = kms.kms_world.syncs[made.id]
    stored.sync_options = {**stored.sync_options, "recursive": True, "disableSecretDeletion": True}  # set on the web
    [listed] = [s for s in await syncs.list_syncs() if s.id == made.id]
    edited = await syncs.update(listed, draft_of(listed).model_copy(update={"key_schema": "KMS_{{secretKey}}"}))
    assert kms.kms_world.syncs[made.id].sync_options == {
        "initialSyncBehavior": "overwrite-destination",
        "keySchema": "KMS_{{secretKey}}",
        "recursive": True,
        "disableSecretDeletion": True,
    }
    assert edited.key_schema == "KMS_{{secretKey}}"
