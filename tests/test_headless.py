"""`kms-connect list` / `check` as cron runs them: a real process, real config, the simulators."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pydantic import SecretStr

from kms_connect.core.config import load_settings
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import ConnectionDraft
from kms_connect.core.paths import default_paths
from kms_connect.core.status import Method


@pytest.fixture
def workspace(sandbox, sample, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A config pointing at the simulators (secrets in the file: a cron job has no keyring)."""
    config = tmp_path / "config.toml"
    config.write_text(sandbox.config_toml() + '\n[secrets]\nbackend = "file"\n')
    monkeypatch.setenv("KMS_CONNECT_CONFIG", str(config))
    paths = default_paths()
    store = LocalStore(paths, load_settings(config))
    return paths, store


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TERM",)}
    return subprocess.run(
        [sys.executable, "-m", "kms_connect", *args], capture_output=True, text=True, env=env, timeout=120
    )


async def seed(store: LocalStore, sample) -> dict[str, str]:  # type: ignore[no-untyped-def]
    s = sample[1]
    payments = await store.create_project("Payments")
    platform = await store.create_project("Platform")

    def pat(name: str, token: str) -> ConnectionDraft:
        return ConnectionDraft(
            name=name, method=Method.ACCESS_TOKEN, org_name="contoso-dev", secrets={"access_token": SecretStr(token)}
        )

    await store.create_connection(payments.id, pat("release-pat", s.pat_ok.token))
    await store.create_connection(payments.id, pat("vendor-pat", s.pat_expired.token))
    await store.create_connection(platform.id, pat("release-pat", s.pat_ok.token))  # same name, other project
    await store.create_connection(platform.id, pat("vars-pat", s.pat_no_release.token))
    return {"payments": payments.id, "platform": platform.id}


async def test_check_everything_reports_failures_with_exit_1(workspace, sample) -> None:
    _paths, store = workspace
    await seed(store, sample)
    done = run("check", "--json")
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)  # nothing but the JSON on stdout
    assert doc["exit_code"] == 1 and doc["counts"] == {"valid": 2, "failed": 1, "warning": 1}
    vendor = next(r for r in doc["results"] if r["name"] == "vendor-pat")
    assert vendor["status"] == "failed" and vendor["failing_step"]["result"] == "Token expired"
    assert sample[1].pat_expired.token not in done.stdout + done.stderr
    # The results were kept with the connections.
    statuses = {
        c.name: c.status.value for p in await store.list_projects() for c in await store.list_connections(p.project.id)
    }
    assert statuses["vendor-pat"] == "failed" and statuses["vars-pat"] == "warning"


async def test_selection_by_name_project_and_their_errors(workspace, sample) -> None:
    _paths, store = workspace
    await seed(store, sample)
    ok = run("check", "Payments/release-pat", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["counts"] == {"valid": 1}
    warn = run("check", "vars-pat")
    assert warn.returncode == 0  # a warning is noted, not a failure
    assert run("check", "--project", "Platform", "--json").returncode == 0
    ambiguous = run("check", "release-pat")
    assert ambiguous.returncode == 2 and "project/name" in ambiguous.stderr and ambiguous.stdout == ""
    unknown = run("check", "nope")
    assert unknown.returncode == 2 and "No connection named 'nope'" in unknown.stderr
    assert run("check", "--project", "Nope").returncode == 2


async def test_an_empty_selection_is_a_usage_error(workspace) -> None:
    done = run("check", "--json")
    assert done.returncode == 2 and "Nothing to check" in done.stderr and done.stdout == ""
    assert "To create the first, run `kms-connect`" in done.stderr  # how to get something to check


async def test_list_json_shape(workspace, sample) -> None:
    _paths, store = workspace
    await seed(store, sample)
    doc = json.loads(run("list", "--json").stdout)
    assert doc["version"] == 1 and doc["source"] == "local"
    first = doc["connections"][0]
    assert set(first) == {"project", "name", "id", "method", "organization", "status", "checked_at", "summary"}
    assert {c["status"] for c in doc["connections"]} == {"not-checked"}


async def test_list_on_an_empty_store_says_how_to_create_the_first_connection(workspace) -> None:
    done = run("list")
    assert done.returncode == 0 and done.stdout == ""  # an empty table for scripts
    assert "No App Connections in the local store yet" in done.stderr
    assert "run `kms-connect`" in done.stderr and "New project" in done.stderr and "Add" in done.stderr
    as_json = run("list", "--json")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout) == {"version": 1, "source": "local", "connections": []}  # as it was


def add_prod(paths, store, kms, kms_identity) -> None:  # type: ignore[no-untyped-def]
    from kms_connect.core.instances import Instance
    from kms_connect.core.sources import save_instance

    save_instance(
        paths,
        store.settings,
        store,
        Instance(name="prod", url=kms.url, client_id=kms_identity.client_id),
        kms_identity.client_secret,
    )


async def test_what_this_box_cannot_check_exits_3(workspace, kms, kms_identity) -> None:
    from kms_connect_sim.kms_world import SAMPLE_PAYMENTS

    paths, store = workspace
    add_prod(paths, store, kms, kms_identity)
    empty = run("list", "--instance", "prod")
    assert empty.returncode == 0 and empty.stdout == ""
    assert "on the instance prod yet" in empty.stderr and "run `kms-connect --instance prod`" in empty.stderr
    kms.kms_world.add_connection(
        "ado-prod", "access-token", {"accessToken": "x", "orgName": "contoso-dev"}, project_id=SAMPLE_PAYMENTS
    )
    for args in (("--instance", "prod", "check", "--json"), ("check", "--json", "--instance", "prod")):
        done = run(*args)
        assert done.returncode == 3, done.stderr
        [row] = json.loads(done.stdout)["results"]
        assert row["status"] == "not-checkable" and "never returns credentials" in row["summary"]
    # What to do is said where a cron log can use it: the app's screen, never one of its keys.
    text = run("check", "--instance", "prod")
    assert text.returncode == 3
    assert "Replace its credentials in kms-connect (App Connections → Credentials)" in text.stdout
    for key_talk in ("(c)", "key c", "press r", "Press r"):
        assert key_talk not in text.stdout + text.stderr + row["summary"]
    # The write proof too: its credential is not held here (exit 3), even without target projects.
    proof = run("check", "--instance", "prod", "--prove-write", "--json")
    assert proof.returncode == 3, proof.stderr
    assert json.loads(proof.stdout)["results"][0]["status"] == "not-checkable"


async def test_a_refused_instance_login_is_a_usage_error_and_not_retried(workspace, kms, kms_identity) -> None:
    from kms_connect.core.instances import Instance
    from kms_connect.core.sources import save_instance

    paths, store = workspace
    save_instance(
        paths,
        store.settings,
        store,
        Instance(name="prod", url=kms.url, client_id=kms_identity.client_id),
        "wrong-secret",
    )
    done = run("check", "--instance", "prod")
    assert done.returncode == 2 and "does not retry" in done.stderr
    assert len([r for r in kms.requests if r.path.endswith("/universal-auth/login")]) == 1
