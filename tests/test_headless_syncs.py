"""`kms-connect syncs` and `kms-connect sync` as cron runs them: a real process, real config, the KMS
simulator over the Azure DevOps and Entra ID ones (issue 19)."""

from __future__ import annotations

import json

import pytest

from kms_connect_sim.kms_sync_sample import PAYMENTS_PROD_SECRETS, PLATFORM_DEV_SECRETS, SampleSyncs, add_sample_syncs
from kms_connect_sim.kms_world import SAMPLE_PLATFORM
from test_headless import add_prod, run, workspace  # noqa: F401 - the fixture, by name

IN_PROGRESS = "A job for this sync is already in progress. Please try again shortly."


@pytest.fixture
def prod(workspace, kms, kms_identity, sample) -> SampleSyncs:  # noqa: F811
    """The instance "prod" in the config, with the sample syncs run once (one succeeded, one failed)."""
    paths, store = workspace
    add_prod(paths, store, kms, kms_identity)
    made = add_sample_syncs(kms.kms_world, sample[1])
    kms.run_jobs()
    return made


def no_secret_in(text: str, sample) -> None:  # type: ignore[no-untyped-def]
    s = sample[1]
    for secret in (s.pat_vg_manage.token, s.sp_library_reader_secret, *PAYMENTS_PROD_SECRETS.values()):
        assert secret not in text
    for secret in PLATFORM_DEV_SECRETS.values():
        assert secret not in text


async def test_the_local_store_has_no_syncs(workspace) -> None:  # noqa: F811
    for args in (("syncs",), ("syncs", "--json"), ("sync", "payments-prod")):
        done = run(*args)
        assert done.returncode == 2 and done.stdout == ""
        assert "The local store has no Secret Syncs" in done.stderr and "--instance NAME" in done.stderr


async def test_syncs_json_lists_each_sync_with_its_status_and_why(prod, sample) -> None:
    done = run("syncs", "--instance", "prod", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["version"] == 1 and doc["source"] == "prod"
    healthy, failing = doc["syncs"]
    assert set(healthy) == {
        "project", "name", "id", "environment", "secret_path", "devops_project", "connection", "auto_sync",
        "status", "last_synced_at", "last_message", "explanation",
    }  # fmt: skip
    assert (healthy["project"], healthy["name"], healthy["status"]) == ("Payments", "payments-prod", "succeeded")
    assert healthy["environment"] == "prod" and healthy["devops_project"] == "Payments" and healthy["last_synced_at"]
    assert (failing["project"], failing["name"], failing["status"]) == ("Platform", "platform-dev", "failed")
    assert failing["last_synced_at"] is None and "AccessCheckException" in failing["last_message"]
    assert failing["explanation"].startswith("No Creator role in the Library of Platform")
    assert "Pipelines → Library → Security" in failing["explanation"]
    no_secret_in(done.stdout + done.stderr, sample)
    only = json.loads(run("syncs", "--json", "--instance", "prod", "--project", "Payments").stdout)
    assert [s["name"] for s in only["syncs"]] == ["payments-prod"]
    unknown = run("syncs", "--instance", "prod", "--project", "Nope")
    assert unknown.returncode == 2 and "No project 'Nope'" in unknown.stderr


async def test_syncs_text_shows_a_glyph_a_word_and_the_explanation(prod, kms) -> None:
    kms.kms_world.add_sync("platform-prod", SAMPLE_PLATFORM, "prod", prod.failing_connection.id, "x", auto_sync=False)
    done = run("syncs", "--instance", "prod")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "✓ Succeeded" in lines[0] and "payments-prod" in lines[0] and "→ Payments" in lines[0]
    failing = next(i for i, line in enumerate(lines) if "platform-dev" in line)
    assert "✗ Failed" in lines[failing] and "last synced never" in lines[failing]
    assert lines[failing + 1].startswith("    No Creator role in the Library of Platform")
    assert any("– Never run" in line and "platform-prod" in line for line in lines)


async def test_sync_wait_follows_the_job_to_success_or_failure(prod, kms, sample) -> None:
    kms.kms_world.sync_jobs = "on-poll"  # each read of the sync moves its job a step
    ok = run("sync", "--instance", "prod", "--wait", "--json", "payments-prod")
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["version"] == 1 and doc["source"] == "prod" and doc["exit_code"] == 0
    assert doc["sync"]["status"] == "succeeded" and doc["sync"]["name"] == "payments-prod"
    assert [line.split()[1] for line in ok.stderr.splitlines()] == ["Pending", "Running", "Succeeded"]
    failed = run("sync", "--instance", "prod", "--wait", "Platform/platform-dev")
    assert failed.returncode == 1, failed.stderr
    assert "✗ Failed" in failed.stdout and "No Creator role in the Library of Platform" in failed.stdout
    no_secret_in(ok.stdout + ok.stderr + failed.stdout + failed.stderr, sample)


async def test_sync_without_wait_and_a_job_already_running(prod, kms) -> None:
    accepted = run("sync", "--instance", "prod", "--json", "payments-prod")
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["sync"]["status"] == "pending"
    kms.start_jobs()  # the job runs: the sync's lock is held
    refused = run("sync", "--instance", "prod", "--json", "payments-prod")
    assert refused.returncode == 1
    doc = json.loads(refused.stdout)
    assert doc["exit_code"] == 1 and doc["message"] == IN_PROGRESS and IN_PROGRESS in refused.stderr
    # Not followed within the bound: exit 3, the job left to the instance.
    lost = run("sync", "--instance", "prod", "--wait", "--timeout", "0.2", "payments-prod")
    assert lost.returncode == 3 and "stopped following it" in lost.stderr
    # With --wait the job in progress is followed instead.
    kms.kms_world.sync_jobs = "on-poll"
    followed = run("sync", "--instance", "prod", "--wait", "payments-prod")
    assert followed.returncode == 0, followed.stderr
    assert "already running; following it" in followed.stderr and "✓ Succeeded" in followed.stdout


async def test_sync_names_that_do_not_resolve_are_usage_errors(prod, kms) -> None:
    assert run("sync", "--instance", "prod", "nope").returncode == 2
    kms.kms_world.add_sync("payments-prod", SAMPLE_PLATFORM, "prod", prod.failing_connection.id, "x", auto_sync=False)
    ambiguous = run("sync", "--instance", "prod", "payments-prod")
    assert ambiguous.returncode == 2 and "write it as project/name" in ambiguous.stderr and ambiguous.stdout == ""
    assert run("sync", "--instance", "prod", "--timeout", "0", "x").returncode == 2


async def test_an_instance_without_syncs_says_so_plainly(workspace, kms, kms_identity) -> None:  # noqa: F811
    paths, store = workspace
    add_prod(paths, store, kms, kms_identity)
    kms.kms_world.secret_syncs_routes = False
    done = run("syncs", "--instance", "prod")
    assert done.returncode == 2 and done.stdout == ""
    assert "has no Secret Syncs" in done.stderr and "Upgrade the instance" in done.stderr
    assert "Route GET" not in done.stderr
