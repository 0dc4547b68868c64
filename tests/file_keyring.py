"""A keyring backend kept in a JSON file, for tests across processes: what a killed process put in
the OS keyring outlives it, and the next process (or the test) must see it. Not for real use."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jaraco.classes import properties
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

PATH_ENV = "KMS_CONNECT_TEST_KEYRING"


class FileKeyring(KeyringBackend):
    @properties.classproperty
    def priority(cls) -> float:
        # Never chosen by keyring's own discovery (which tries every backend class imported): only
        # when named, in a process given its file.
        if PATH_ENV not in os.environ:
            raise RuntimeError(f"{PATH_ENV} is not set")
        return 1

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()
        self.path = path or Path(os.environ[PATH_ENV])

    def entries(self, service: str = "kms-connect") -> dict[str, str]:
        try:
            data: dict[str, dict[str, str]] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data.get(service, {})

    def _save(self, service: str, entries: dict[str, str]) -> None:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            data = {}
        data[service] = entries
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)  # a kill between two keyring calls never leaves half a file

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries(service).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._save(service, {**self.entries(service), username: password})

    def delete_password(self, service: str, username: str) -> None:
        entries = self.entries(service)
        if entries.pop(username, None) is None:
            raise PasswordDeleteError(f"{service}/{username} not found")
        self._save(service, entries)
