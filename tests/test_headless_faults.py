"""Faults seen from the command line: damaged files, refused stores, wrong options, missing config.

Each command says what the TUI would (its one-time notices), writes no secret before the store it
belongs to is accepted, honours or refuses --instance, and refuses a named config file that is absent.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import kms_connect.headless as headless
from kms_connect.commands import Notices
from kms_connect.core.backend import Notice
from kms_connect.core.check_target import CheckRun
from kms_connect.core.config import Settings
from kms_connect.core.errors import SecretUnavailable, StoreError
from kms_connect.core.models import CheckResult, Connection, utcnow
from kms_connect.core.paths import CONFIG_ENV, Paths, default_paths
from kms_connect.core.status import Method, Status
from kms_connect.headless import Selected, _check_all
from test_headless import add_prod, run, seed, workspace  # noqa: F401 - workspace is a fixture

DAMAGED_TOML = b"version = 1\nprojects = [ broken"


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own (env as the test set it; PYTHONPATH passes on)."""
    return subprocess.run(
        [sys.executable, "-m", "kms_connect", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


@pytest.fixture
def file_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """A config that keeps secrets in the plaintext file (no simulators needed)."""
    config = tmp_path / "config.toml"
    config.write_text('[secrets]\nbackend = "file"\n')
    monkeypatch.setenv(CONFIG_ENV, str(config))
    paths = default_paths()
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    return paths


# --- 1. the TUI's one-time notices, on stderr -------------------------------------------------------
async def test_a_damaged_results_file_is_said_once_by_list_and_by_check(workspace, sample) -> None:  # noqa: F811
    paths, store = workspace
    await seed(store, sample)
    paths.check_results.write_bytes(b"{ not json")
    listed = run("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["connections"]  # stdout as it always is
    assert listed.stderr.count("was damaged, so it was moved to checks.json.damaged-") == 1
    assert "Check results not kept" in listed.stderr
    assert len(list(paths.data_dir.glob("checks.json.damaged-*"))) == 1
    assert "damaged" not in run("list").stderr  # said once: the next run has nothing to say

    paths.check_results.write_bytes(b"{ not json")
    checked = run("check", "--json", "Payments/release-pat")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["counts"] == {"valid": 1}
    lines = checked.stderr.splitlines()
    notice = next(i for i, line in enumerate(lines) if "was damaged" in line)
    progress = next(i for i, line in enumerate(lines) if "Payments/release-pat" in line)
    assert notice < progress  # why nothing showed as checked comes first
    assert checked.stderr.count("was damaged") == 1


def test_the_plaintext_notice_is_said_once(file_secrets: Paths) -> None:
    first = cli("oauth-secret", "set", stdin="first-oauth-secret-value\n")
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("PLAINTEXT file") == 1 and "\n\n" not in first.stderr  # one line, for logs
    again = cli("oauth-secret", "set", stdin="second-oauth-secret-value\n")
    assert again.returncode == 0 and "PLAINTEXT" not in again.stderr
    for done in (first, again):
        assert "oauth-secret-value" not in done.stdout + done.stderr


def test_config_says_a_damaged_results_file_too(file_secrets: Paths) -> None:
    from kms_connect.core.config import load_settings
    from kms_connect.core.local_store import LocalStore

    store = LocalStore(file_secrets, load_settings(file_secrets.config_file))
    asyncio.run(store.create_project("Payments"))  # results are read with the records they belong to
    file_secrets.check_results.write_bytes(b"[1, 2")
    done = cli("config")
    assert done.returncode == 0 and "Files" in done.stdout
    assert done.stderr.count("was damaged, so it was moved to checks.json.damaged-") == 1


class _Noticing:
    def __init__(self, *notices: Notice) -> None:
        self.pending = list(notices)

    def take_notice(self) -> Notice | None:
        return self.pending.pop(0) if self.pending else None


def test_notices_are_drained_and_each_said_once(capsys: pytest.CaptureFixture[str]) -> None:
    notices = Notices()
    same = Notice("Check results not kept", "checks.json is damaged\nand could not be moved aside.")
    notices.drain(_Noticing(Notice("Where secrets are kept", "In a file."), same))  # type: ignore[arg-type]
    notices.drain(_Noticing(same))  # type: ignore[arg-type] - found again at a later read
    notices.say("Check results not kept", same.body)  # and again as the error of the write
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "kms-connect: Where secrets are kept: In a file.",
        "kms-connect: Check results not kept: checks.json is damaged and could not be moved aside.",
    ]


# --- 2. no secret before its store is accepted -------------------------------------------------------
@pytest.mark.parametrize("store_bytes", [DAMAGED_TOML, b"version = 99\n"])
def test_oauth_secret_leaves_the_secrets_alone_when_the_store_is_refused(file_secrets: Paths, store_bytes) -> None:
    paths = file_secrets
    assert cli("oauth-secret", "set", stdin="kept-oauth-secret\n").returncode == 0
    before = paths.secrets_file.read_bytes()
    paths.store_file.write_bytes(store_bytes)
    for action in ("set", "clear"):
        done = cli("oauth-secret", action, stdin="new-oauth-secret\n")
        assert done.returncode == 2, done.stderr
        assert str(paths.store_file) in done.stderr and "Nothing changed" in done.stderr
        assert "new-oauth-secret" not in done.stdout + done.stderr
        assert paths.secrets_file.read_bytes() == before
        assert paths.store_file.read_bytes() == store_bytes


# --- 3. --instance: honoured or refused ------------------------------------------------------------
def test_oauth_secret_refuses_an_instance(file_secrets: Paths) -> None:
    for args in (("--instance", "nope", "oauth-secret", "set"), ("oauth-secret", "clear", "--instance", "prod")):
        done = cli(*args, stdin="an-oauth-secret\n")
        assert done.returncode == 2 and "--instance does not apply" in done.stderr and done.stdout == ""
    assert not file_secrets.secrets_file.exists() and not file_secrets.store_file.exists()
    assert cli("--instance", "local", "oauth-secret", "set", stdin="an-oauth-secret\n").returncode == 0


def test_demo_refuses_an_instance(file_secrets: Paths) -> None:
    done = cli("--instance", "prod", "demo")
    assert done.returncode == 2 and "--instance does not apply" in done.stderr


async def test_config_shows_the_named_instance_or_refuses_an_unknown_one(workspace, kms, kms_identity) -> None:  # noqa: F811
    paths, store = workspace
    unknown = cli("--instance", "nope", "config")
    assert unknown.returncode == 2 and "No instance named 'nope'" in unknown.stderr and unknown.stdout == ""
    assert run("--instance", "nope", "list").returncode == 2  # as list and check say it
    add_prod(paths, store, kms, kms_identity)
    shown = cli("config", "--instance", "prod")
    assert shown.returncode == 0, shown.stderr
    assert "Instance prod" in shown.stdout and kms.url in shown.stdout
    assert kms_identity.client_id in shown.stdout
    assert f"client secret      kept in the plaintext file {paths.secrets_file}" in shown.stdout
    assert kms_identity.client_secret not in shown.stdout + shown.stderr
    assert "Instance " not in cli("config").stdout  # only when asked for


# --- 4. a named config file must exist ---------------------------------------------------------------
@pytest.mark.parametrize(
    "args", [("list",), ("check", "--json"), ("config",), ("oauth-secret", "set"), ()], ids=lambda a: " ".join(a)
)
def test_a_named_config_file_that_is_missing_is_a_usage_error(tmp_path: Path, monkeypatch, args) -> None:
    missing = tmp_path / "typo" / "config.toml"
    monkeypatch.setenv(CONFIG_ENV, str(missing))
    done = cli(*args, stdin="an-oauth-secret\n")
    assert done.returncode == 2, done.stderr
    assert str(missing) in done.stderr and CONFIG_ENV in done.stderr
    assert done.stdout == ""  # the TUI (no args) never started
    assert not default_paths().data_dir.exists()  # nothing written, no secret kept


def test_only_the_default_config_file_may_be_absent(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    paths = default_paths()
    assert not paths.config_file.exists() and paths.config_missing() is None
    done = cli("list")
    assert done.returncode == 0 and "No App Connections in the local store yet" in done.stderr
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "named.toml"))
    assert default_paths().config_missing() is not None
    (tmp_path / "named.toml").write_text("")
    assert default_paths().config_missing() is None


# --- 5. progress on stderr ------------------------------------------------------------------------------
async def test_check_says_each_finished_connection_on_stderr_unless_quiet(workspace, sample) -> None:  # noqa: F811
    _paths, store = workspace
    await seed(store, sample)
    done = run("check", "--json")  # stderr is a pipe here, as in cron
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 4, done.stderr
    assert any(re.fullmatch(r"✓ Valid +Payments/release-pat  \d+\.\d s", line) for line in lines), lines
    assert any(re.fullmatch(r"✗ Failed +Payments/vendor-pat  \d+\.\d s", line) for line in lines), lines
    assert any(re.fullmatch(r"! Warning +Platform/vars-pat  \d+\.\d s", line) for line in lines), lines
    quiet = run("check", "--json", "--quiet")
    assert quiet.returncode == 1 and quiet.stderr == ""
    assert json.loads(quiet.stdout)["counts"] == json.loads(done.stdout)["counts"]  # stdout unchanged
    assert sample[1].pat_expired.token not in done.stderr


class _Backend:
    """Two connections; the second's secrets are only asked for once the first was reported done."""

    def __init__(self) -> None:
        self.first_reported = asyncio.Event()
        self.recorded: list[str] = []

    async def read_secrets(self, connection_id: str) -> Any:
        if connection_id == "second":
            await self.first_reported.wait()  # never set if reports wait for the whole run
        raise SecretUnavailable("not held here")

    async def record_checks(self, results: Any, **_: Any) -> None:
        raise AssertionError("nothing was really checked")


class _Local:
    def oauth_app_secret(self) -> None:
        return None


def _selected(conn_id: str) -> Selected:
    conn = Connection(id=conn_id, project_id="p", name=conn_id, method=Method.ACCESS_TOKEN, org_name="o")
    return Selected("P", conn)


async def test_each_connection_is_reported_as_soon_as_it_is_done() -> None:
    backend = _Backend()
    heard: list[tuple[str, Status]] = []

    def on_done(s: Selected, result: CheckResult) -> None:
        heard.append((s.conn.name, result.status))
        backend.first_reported.set()

    selected = [_selected("first"), _selected("second")]
    results = await asyncio.wait_for(_check_all(Settings(), _Local(), backend, selected, on_done=on_done), 10)
    assert heard == [("first", Status.NOT_CHECKABLE), ("second", Status.NOT_CHECKABLE)]
    assert [r.status for r in results] == [Status.NOT_CHECKABLE] * 2


class _Closing:
    """A checker that says Valid at once (no network), with the LiveChecker's aclose."""

    async def run(self, target: Any, listener: Any = None) -> CheckRun:
        return CheckRun(CheckResult(status=Status.VALID, summary="ok", checked_at=utcnow()))

    async def aclose(self) -> None:
        return None


async def test_results_that_cannot_be_kept_are_said_and_the_report_stands(capsys, monkeypatch) -> None:
    class Refusing(_Backend):
        async def read_secrets(self, connection_id: str) -> Any:
            return {}

        async def record_checks(self, results: Any, **_: Any) -> None:
            raise StoreError("checks.json is damaged and could not be moved aside.")

    monkeypatch.setattr(headless, "LiveChecker", lambda *a, **k: _Closing())
    results = await _check_all(Settings(), _Local(), Refusing(), [_selected("first")], notices=Notices())
    assert [r.status for r in results] == [Status.VALID]
    assert "Check results not kept: checks.json is damaged" in capsys.readouterr().err


# --- 6. a refused store is a usage error -------------------------------------------------------------
@pytest.mark.parametrize("store_bytes", [DAMAGED_TOML, b"version = 99\n"], ids=["damaged", "newer"])
@pytest.mark.parametrize("args", [("list",), ("check", "--json")])
def test_list_and_check_refuse_a_refused_store_with_exit_2(file_secrets: Paths, store_bytes, args) -> None:
    file_secrets.store_file.write_bytes(store_bytes)
    done = cli(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert str(file_secrets.store_file) in done.stderr and "Traceback" not in done.stderr
    assert file_secrets.store_file.read_bytes() == store_bytes
