"""Shared fixtures: every test gets its own XDG dirs, an in-memory keyring and no proxy or OAuth env."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from kms_connect.core.paths import Paths

FIXED = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps secrets in a dict (keyring ships none)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.data.pop((service, username), None) is None:
            raise PasswordDeleteError(f"{service}/{username} not found")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    for name in (
        "KMS_CONNECT_CONFIG",
        "INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID",
        "INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_SECRET",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "PYTHON_KEYRING_BACKEND",
    ):
        monkeypatch.delenv(name, raising=False)
    # Stable times in snapshots.
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def failing_keyring(memory_keyring: MemoryKeyring) -> Iterator[None]:
    """No OS keyring at all, as on a headless box over SSH."""
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    yield


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(
        config_file=tmp_path / "config" / "config.toml",
        data_dir=tmp_path / "data",
        state_dir=tmp_path / "state",
    )


@pytest.fixture
def settings():  # type: ignore[no-untyped-def]
    from kms_connect.core.config import Settings

    return Settings()


@pytest.fixture
def store(paths: Paths, settings):  # type: ignore[no-untyped-def]
    from kms_connect.core.local_store import LocalStore

    return LocalStore(paths, settings)


def env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


@pytest.fixture
def make_app(paths: Paths, settings, store):  # type: ignore[no-untyped-def]
    """The real app on the test's local store, already loaded (no startup worker race).

    Live checks are off unless a checker is given (the live-check tests pass one pointed at the
    loopback simulators): the flow tests must never try to reach Azure.
    """

    def make(checker=None):  # type: ignore[no-untyped-def]
        from kms_connect.core.checks import NoLiveChecks
        from kms_connect.ui.app import KmsConnectApp

        return KmsConnectApp(paths=paths, settings=settings, backend=store, checker=checker or NoLiveChecks())

    return make


from sim_fixtures import *  # noqa: E402, F403  (the Entra ID / Azure DevOps simulator fixtures)
