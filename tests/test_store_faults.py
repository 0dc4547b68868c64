"""Crashes leave nothing behind: a real process running the real store code SIGKILLs itself at a
chosen step (KMS_CONNECT_CRASH_AT, core/faults.py), never at a moment left to timing; the next start
must find neither temp files nor orphaned secrets, and every record whole."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from pydantic import SecretStr

from crash_driver import draft, store_at
from file_keyring import PATH_ENV, FileKeyring
from kms_connect.core.files import _unnamed_temp, remove_stale_temps
from kms_connect.core.local_store import LocalStore, secret_key
from kms_connect.core.models import CheckResult, SecretLocation
from kms_connect.core.status import Status
from kms_connect.core.store_journal import JOURNAL_NAME, references

TESTS = Path(__file__).parent
SRC = TESTS.parent / "src"


@pytest.fixture
def file_keyring(tmp_path: Path, memory_keyring) -> Iterator[FileKeyring]:  # type: ignore[no-untyped-def]
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)
    yield backend  # memory_keyring puts back what was there before


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


async def seed(data_dir: Path, backend: str) -> None:
    """What was saved before the crash: it must come through whole."""
    store = store_at(data_dir, backend)
    store.open()
    project = await store.create_project("P")
    keep = await store.create_connection(project.id, draft("keep", "keep-org", "keep-token"))
    await store.create_connection(project.id, draft("victim", "old-org", "old-token"))
    await store.record_check(keep.id, CheckResult(status=Status.VALID, summary="old result"))
    store.set_app_secret("old-app-secret")


def crash(data_dir: Path, backend: str, op: str, step: str, keyring_file: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": f"{SRC}{os.pathsep}{TESTS}",
        "PYTHON_KEYRING_BACKEND": "file_keyring.FileKeyring",
        PATH_ENV: str(keyring_file),
        "KMS_CONNECT_CRASH_AT": step,
    }
    done = subprocess.run(
        [sys.executable, str(TESTS / "crash_driver.py"), str(data_dir), backend, op],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Killed at that very step: a run that never reached it would exit 0, and prove nothing.
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr[-2000:])


def temps(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.rglob("*.tmp"))


async def assert_whole(store: LocalStore, keyring_entries: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Every record whole, every secret it points at there, and no secret no record points at.
    Returns each connection's (org, secret) by name."""
    assert temps(store.paths.data_dir) == []
    assert not (store.paths.data_dir / JOURNAL_NAME).exists()
    refs = references(store.snapshot())
    assert set(keyring_entries) == {key for key, where in refs if where is SecretLocation.KEYRING}
    in_file = set(store.secrets.file.names()) if store.paths.secrets_file.exists() else set()
    assert in_file == {key for key, where in refs if where is SecretLocation.FILE}
    [project] = [s.project for s in await store.list_projects()]
    seen = {}
    for conn in await store.list_connections(project.id):
        secret = (await store.read_secrets(conn.id))["access_token"].get_secret_value()
        seen[conn.name] = (conn.org_name, secret)
    assert seen["keep"] == ("keep-org", "keep-token")
    return seen


# (op, secrets backend, step, whether the change took effect)
CASES = [
    *[
        (op, "keyring", step, done)
        for op, steps in {
            "create": [
                ("create:intent", False),
                ("create:secrets", False),
                ("create:record", True),
                ("create:released", True),
                ("temp:store.pending.json", False),
                ("temp:store.toml", False),
                ("data:store.toml", False),
            ],
            "delete": [("delete:intent", False), ("delete:record", True), ("delete:released", True)],
            "replace": [
                ("replace:intent", False),
                ("replace:secrets", False),
                ("temp:store.toml", False),
                ("replace:record", True),
                ("replace:released", True),
            ],
            "app-secret": [("app-secret:intent", False), ("app-secret:released", True)],
        }.items()
        for step, done in steps
    ],
    ("create", "file", "create:secrets", False),
    ("create", "file", "temp:plaintext-secrets.json", False),  # the temp is a full copy of every secret
    ("create", "file", "data:plaintext-secrets.json", False),
    ("create", "file", "create:record", True),
    ("delete", "file", "delete:record", True),
    ("delete", "file", "temp:plaintext-secrets.json", True),  # removing the secret, after the record went
    ("replace", "file", "replace:secrets", False),
    ("replace", "file", "temp:plaintext-secrets.json", False),
    ("replace", "file", "replace:record", True),
    ("check", "file", "temp:checks.json", False),
    ("check", "file", "data:checks.json", False),
]


@pytest.mark.parametrize(("op", "backend", "step", "done"), CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
async def test_a_kill_at_any_step_leaves_nothing_after_the_next_start(
    data_dir: Path,
    file_keyring: FileKeyring,
    caplog: pytest.LogCaptureFixture,
    op: str,
    backend: str,
    step: str,
    done: bool,
) -> None:
    await seed(data_dir, backend)
    crash(data_dir, backend, op, step, file_keyring.path)
    left_temps, journal_left = temps(data_dir), (data_dir / JOURNAL_NAME).exists()
    if step.startswith("temp:"):
        assert left_temps, "the kill was meant to leave a temp file for the next start to find"
    if step.startswith("data:") and _unnamed_temps_work(data_dir):
        assert left_temps == []  # killed while writing an unnamed file: nothing to find at all
    if step.endswith((":secrets", ":record")):
        assert journal_left  # the unfinished change was written down, for the next start to finish

    with caplog.at_level(logging.WARNING, logger="kms_connect"):
        store = store_at(data_dir, backend)
        store.open()  # the next start
    said = caplog.text
    if left_temps:
        assert f"removed {len(left_temps)} temp files" in said
    if journal_left:
        assert "finished 1 unfinished changes" in said

    seen = await assert_whole(store, file_keyring.entries())
    if op == "create":
        assert ("new" in seen) is done and seen.get("new", ("new-org", "new-token")) == ("new-org", "new-token")
    if op == "delete":
        assert ("victim" not in seen) is done and seen.get("victim", ("old-org", "old-token")) == (
            "old-org",
            "old-token",
        )
    if op in ("replace", "check", "app-secret"):
        # Old credentials with the old organization, or new with new: never a mix.
        assert seen["victim"] == (("new-org", "new-token") if op == "replace" and done else ("old-org", "old-token"))
    if op == "check":
        [project] = [s.project for s in await store.list_projects()]
        [keep] = [c for c in await store.list_connections(project.id) if c.name == "keep"]
        assert keep.last_check is not None and keep.last_check.summary == "old result"
    assert store.oauth_app_secret() == ("new-app-secret" if op == "app-secret" and done else "old-app-secret")


def _unnamed_temps_work(directory: Path) -> bool:
    found = _unnamed_temp(directory / "probe", b"x")
    if found is None:
        return False
    os.close(found[0])
    found[1].unlink()
    return True


def test_a_temp_file_being_written_by_a_live_process_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "plaintext-secrets.json"
    live, abandoned, legacy = (tmp_path / f".plaintext-secrets.json.{n}.tmp" for n in ("live", "dead", "old"))
    for path in (live, abandoned, legacy):
        path.write_text("{}")
    fd = os.open(live, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as atomic_write holds each temp while it lives
    try:
        assert remove_stale_temps([target]) == 2
        assert sorted(p.name for p in tmp_path.iterdir()) == [live.name]
    finally:
        os.close(fd)
    assert remove_stale_temps([target]) == 1  # its writer is gone: now it is abandoned
    assert list(tmp_path.iterdir()) == []


async def test_orphans_in_the_plaintext_file_go_at_open_and_instance_secrets_stay(
    store: LocalStore,
    paths,
    failing_keyring,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    project = await store.create_project("P")
    kept = await store.create_connection(project.id, draft("kept", "org", "kept-token"))
    # Left by an older kms-connect killed mid-create, or a record removed by hand; and an instance's.
    for key in (
        secret_key("gone-1", "access_token"),
        secret_key("gone-2", "client_secret", 3),
        "instance/x/client_secret",
    ):
        store.secrets.file.set(key, "value-0123456789")
    with caplog.at_level(logging.WARNING, logger="kms_connect"):
        LocalStore(paths, store.settings).open()
    assert "removed 2 orphaned secrets from plaintext-secrets.json" in caplog.text
    assert sorted(store.secrets.file.names()) == sorted(
        [secret_key(kept.id, "access_token"), "instance/x/client_secret"]
    )


async def test_a_secret_the_keyring_would_not_delete_is_tried_again_at_each_start(
    store: LocalStore,
    paths,
    memory_keyring,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    project = await store.create_project("P")
    conn = await store.create_connection(project.id, draft("c", "org", "the-token"))
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())  # e.g. deleted from a cron job without D-Bus
    await store.delete_connection(conn.id)
    assert (paths.data_dir / JOURNAL_NAME).exists()
    notice = store.take_notice()
    assert notice is not None and "tries again" in notice.body and "the-token" not in notice.body
    with caplog.at_level(logging.WARNING, logger="kms_connect"):
        LocalStore(paths, store.settings).open()  # still out of reach: kept for later
    assert "1 secrets could not be removed yet" in caplog.text
    assert (paths.data_dir / JOURNAL_NAME).exists()
    keyring.set_keyring(memory_keyring)  # back at the desktop
    LocalStore(paths, store.settings).open()
    assert memory_keyring.data == {} and not (paths.data_dir / JOURNAL_NAME).exists()


async def test_a_failed_replace_keeps_the_old_secret_whole(
    store: LocalStore, memory_keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = await store.create_project("P")
    conn = await store.create_connection(project.id, draft("c", "old-org", "old-token"))

    def disk_full(data: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.file, "write", disk_full)
    with pytest.raises(OSError):
        await store.replace_credentials(conn.id, draft("c", "new-org", "new-token"))
    monkeypatch.undo()
    assert (await store.read_secrets(conn.id))["access_token"] == SecretStr("old-token")
    assert set(memory_keyring.data.values()) == {"old-token"}  # the new one was taken back


def test_without_unnamed_files_a_temp_swept_before_its_lock_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where O_TMPFILE is missing (macOS, some filesystems) the temp has a name from the start: a
    start-up sweep in another process may find it in the instant before its writer locks it. The
    writer then sees it was unlinked and writes another, rather than fail at the rename."""
    from kms_connect.core import files

    monkeypatch.setattr(files, "_O_TMPFILE", 0)
    target = tmp_path / "store.toml"
    real_flock, swept = fcntl.flock, []

    def flock_after_a_sweep(fd: int, operation: int) -> None:
        if not swept and operation == fcntl.LOCK_EX:
            swept.append(remove_stale_temps([target]))  # another process, right between mkstemp and lock
        real_flock(fd, operation)

    monkeypatch.setattr(files.fcntl, "flock", flock_after_a_sweep)
    files.atomic_write(target, b"version = 1\n")
    assert swept == [1] and target.read_bytes() == b"version = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["store.toml"]
