"""Secret store: OS keyring first, an honest plaintext fallback, and secrets reported where they are."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from kms_connect.core.errors import SecretError, SecretMissing, SecretUnavailable
from kms_connect.core.local_store import LocalStore, secret_key
from kms_connect.core.models import SecretLocation
from kms_connect.core.paths import Paths
from kms_connect.core.secrets import SecretStore
from test_store import PAT, pat_draft


async def test_no_keyring_falls_back_to_plaintext_file_once(store: LocalStore, paths: Paths, failing_keyring) -> None:
    project = await store.create_project("P")
    conn = await store.create_connection(project.id, pat_draft())
    assert conn.secrets == {"access_token": SecretLocation.FILE}
    mode = stat.S_IMODE(paths.secrets_file.stat().st_mode)
    assert mode == 0o600
    assert json.loads(paths.secrets_file.read_text())["secrets"][secret_key(conn.id, "access_token")] == PAT
    notice = store.take_notice()
    assert notice and notice.title == "Where secrets are kept"
    assert "PLAINTEXT" in notice.body and str(paths.secrets_file) in notice.body
    assert PAT not in notice.body
    await store.create_connection(project.id, pat_draft("second"))
    assert store.take_notice() is None  # one-time: recorded in the store
    assert PAT.encode() not in paths.store_file.read_bytes()


async def test_secret_in_unreachable_keyring_is_reported_not_missing(store: LocalStore, paths: Paths) -> None:
    project = await store.create_project("P")
    conn = await store.create_connection(project.id, pat_draft())
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())  # e.g. a cron job with no D-Bus session
    other = SecretStore(paths.secrets_file)
    with pytest.raises(SecretUnavailable, match="held in the OS keyring, which this process cannot reach"):
        other.get(secret_key(conn.id, "access_token"), SecretLocation.KEYRING)


def test_missing_secret_is_missing(paths: Paths) -> None:
    secrets = SecretStore(paths.secrets_file)
    with pytest.raises(SecretMissing):
        secrets.get("nope", SecretLocation.KEYRING)
    with pytest.raises(SecretMissing):
        secrets.get("nope", SecretLocation.FILE)


def test_backend_keyring_refuses_fallback(paths: Paths, failing_keyring) -> None:
    secrets = SecretStore(paths.secrets_file, backend="keyring")
    with pytest.raises(SecretUnavailable, match=r'\[secrets\] backend = "auto" or "file"'):
        secrets.put("k", "value-123456")
    assert not paths.secrets_file.exists()


def test_backend_file_skips_keyring(paths: Paths, memory_keyring) -> None:
    secrets = SecretStore(paths.secrets_file, backend="file")
    assert secrets.put("k", "value-123456") is SecretLocation.FILE
    assert memory_keyring.data == {}
    assert secrets.get("k", SecretLocation.FILE) == "value-123456"
    secrets.delete("k", SecretLocation.FILE)
    with pytest.raises(SecretMissing):
        secrets.get("k", SecretLocation.FILE)


def test_damaged_secrets_file_not_overwritten(paths: Paths) -> None:
    paths.data_dir.mkdir(parents=True)
    paths.secrets_file.write_text("{not json")
    secrets = SecretStore(paths.secrets_file, backend="file")
    with pytest.raises(SecretError, match="damaged"):
        secrets.put("k", "value-123456")
    assert paths.secrets_file.read_text() == "{not json"


class HangingKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait()  # like a locked collection waiting for an unlock prompt
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait()

    def delete_password(self, service: str, username: str) -> None:
        self.release.wait()


@pytest.fixture
def hanging_keyring() -> Iterator[HangingKeyring]:
    backend = HangingKeyring()
    keyring.set_keyring(backend)
    yield backend
    backend.release.set()


def test_hung_keyring_times_out_and_auto_falls_back(paths: Paths, hanging_keyring: HangingKeyring) -> None:
    secrets = SecretStore(paths.secrets_file, keyring_timeout=0.3)
    assert secrets.put("k", "value-123456") is SecretLocation.FILE
    assert "did not answer within 0.3 s" in (secrets.fallback_reason or "")


class PromptingKeyring(KeyringBackend):
    """Stands in for keyrings.cryptfile, which asks for a password on the terminal."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise AssertionError("a prompting backend must never be called")

    set_password = delete_password = get_password  # type: ignore[assignment]


PromptingKeyring.__module__ = "keyrings.cryptfile.cryptfile"


def test_prompting_backend_never_used(paths: Paths) -> None:
    keyring.set_keyring(PromptingKeyring())
    secrets = SecretStore(paths.secrets_file)
    assert secrets.put("k", "value-123456") is SecretLocation.FILE
    assert "would prompt for a password" in (secrets.fallback_reason or "")


def test_null_backend_is_not_storage(paths: Paths) -> None:
    from keyring.backends import null

    keyring.set_keyring(null.Keyring())
    secrets = SecretStore(paths.secrets_file)
    assert secrets.put("k", "value-123456") is SecretLocation.FILE


def test_oauth_client_secret_goes_to_secret_store(store: LocalStore, paths: Paths, memory_keyring) -> None:
    assert store.set_app_secret("oauth-secret-value-1") is SecretLocation.KEYRING
    assert b"oauth-secret-value-1" not in paths.store_file.read_bytes()
    store.clear_app_secret()
    assert memory_keyring.data == {}


def test_secret_file_path_is_named_plaintext(paths: Paths) -> None:
    assert "plaintext" in Path(paths.secrets_file).name


async def test_delete_when_keyring_unreachable_removes_record_and_says_what_is_left(store: LocalStore) -> None:
    project = await store.create_project("P")
    conn = await store.create_connection(project.id, pat_draft())
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    await store.delete_connection(conn.id)  # the record goes; the orphan is reported, not raised
    assert await store.list_connections(project.id) == []
    notice = store.take_notice()
    assert notice and notice.title == "A secret was left behind"
    assert secret_key(conn.id, "access_token") in notice.body and PAT not in notice.body


def test_hung_keyring_is_not_waited_for_twice(paths: Paths, hanging_keyring: HangingKeyring) -> None:
    secrets = SecretStore(paths.secrets_file, keyring_timeout=0.3)
    secrets.put("a", "value-123456")
    assert secrets.keyring.unusable_reason() == "the OS keyring did not answer within 0.3 s"
    with pytest.raises(SecretUnavailable, match="did not answer"):
        secrets.keyring.get("a")  # refused at once, from the recorded verdict


def test_plaintext_file_reads_see_changes_made_elsewhere(tmp_path) -> None:
    from kms_connect.core.secrets import PlaintextSecretsFile

    mine, theirs = PlaintextSecretsFile(tmp_path / "s.json"), PlaintextSecretsFile(tmp_path / "s.json")
    mine.set("a", "one")
    assert mine.get("a") == "one"
    theirs.set("a", "two")  # another running kms-connect
    theirs.set("b", "three")
    assert (mine.get("a"), mine.get("b")) == ("two", "three")
    theirs.delete("b")
    with pytest.raises(SecretMissing):
        mine.get("b")
