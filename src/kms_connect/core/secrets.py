"""Secrets in the OS keyring, or, where none can be reached, in a 0600 plaintext file.

Every keyring call runs in a daemon thread with a timeout, so a hung or prompting backend can
never freeze the TUI; every kind of keyring failure is treated alike (see headless.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from kms_connect.core.errors import SecretError, SecretMissing, SecretUnavailable
from kms_connect.core.files import atomic_write, file_lock, stat_key
from kms_connect.core.models import SecretLocation
from kms_connect.core.redact import register_secret

SERVICE = "kms-connect"
log = logging.getLogger(__name__)
T = TypeVar("T")

# Backends that would ask for a password on the terminal, writing over the TUI and blocking it.
_PROMPTING = ("keyrings.cryptfile", "keyrings.alt.file.EncryptedKeyring")
# Backends that accept nothing: the "fail" one raises, the "null" one silently drops secrets.
_NO_STORAGE = ("keyring.backends.fail.Keyring", "keyring.backends.null.Keyring")


def _qualname(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


class KeyringAccess:
    """The OS keyring through `keyring`, bounded by a timeout."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self._unusable: str | None = None
        self._checked = False
        self.backend_name = ""

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["value"] = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - every failure means "keyring unusable"
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=run, name="kms-connect-keyring", daemon=True).start()
        if not done.wait(self.timeout):
            # A hung keyring stays hung: don't make every later call wait again.
            self._checked, self._unusable = True, f"the OS keyring did not answer within {self.timeout:g} s"
            raise SecretUnavailable(self._unusable)
        if "error" in box:
            exc = box["error"]
            raise SecretUnavailable(f"the OS keyring failed ({type(exc).__name__}: {exc})")
        return cast(T, box["value"])

    def unusable_reason(self) -> str | None:
        """None when a real, non-prompting backend is configured; else why not."""
        if not self._checked:
            self._checked = True
            try:
                backend = self._call(_get_backend)
            except SecretUnavailable as exc:
                self._unusable = str(exc)
                return self._unusable
            self.backend_name = _qualname(backend)
            parts = [backend, *getattr(backend, "backends", [])]
            names = [_qualname(b) for b in parts]
            if any(n.startswith(_PROMPTING) for n in names):
                self._unusable = f"the keyring backend {self.backend_name} would prompt for a password on the terminal"
            elif self.backend_name in _NO_STORAGE or (names[1:] and all(n in _NO_STORAGE for n in names[1:])):
                self._unusable = "no OS keyring is available (no Secret Service / D-Bus session on this box)"
        return self._unusable

    def set(self, key: str, value: str) -> None:
        self._require()
        import keyring  # noqa: PLC0415 - at the first secret: ~20 ms (benchmarks/imports.py)

        self._call(keyring.set_password, SERVICE, key, value)

    def get(self, key: str) -> str:
        self._require()
        import keyring  # noqa: PLC0415 - at the first secret: ~20 ms (benchmarks/imports.py)

        value = self._call(keyring.get_password, SERVICE, key)
        if value is None:
            raise SecretMissing(f"the OS keyring holds no secret {key!r}")
        return value

    def delete(self, key: str) -> None:
        self._require()
        import keyring  # noqa: PLC0415 - at the first secret: ~20 ms (benchmarks/imports.py)
        from keyring.errors import PasswordDeleteError  # noqa: PLC0415 - with keyring

        def delete() -> None:
            with contextlib.suppress(PasswordDeleteError):  # already gone: the goal is reached
                keyring.delete_password(SERVICE, key)

        self._call(delete)

    def _require(self) -> None:
        reason = self.unusable_reason()
        if reason:
            raise SecretUnavailable(reason)


def _get_backend() -> Any:
    import keyring  # noqa: PLC0415 - at the first secret: ~20 ms (benchmarks/imports.py)

    return keyring.get_keyring()


class PlaintextSecretsFile:
    """A 0600 JSON file of secrets: plaintext, and called that wherever it is mentioned."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_suffix(".lock")
        # The parsed file for reads, keyed by (inode, size, mtime): a `V` run of 500 reads 500
        # secrets, and parsing the whole file for each one grew with the square of its size.
        self._parsed: tuple[tuple[int, int, int], dict[str, str]] | None = None

    def _read(self) -> dict[str, str]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
            secrets = data["secrets"]
            if data.get("version") != 1 or not isinstance(secrets, dict):
                raise ValueError("unexpected layout")
        except (ValueError, KeyError, TypeError) as exc:
            raise SecretError(
                f"{self.path} is damaged ({type(exc).__name__}); it was left untouched. "
                "Move it aside to start a new one (the secrets in it are lost)."
            ) from None
        return {str(k): str(v) for k, v in secrets.items()}

    def _write(self, secrets: dict[str, str]) -> None:
        atomic_write(self.path, json.dumps({"version": 1, "secrets": secrets}, indent=1).encode())

    def _read_for_get(self) -> dict[str, str]:
        version = stat_key(self.path)
        if version is None:
            return self._read()  # missing: {}; otherwise _read words the error
        if self._parsed is None or self._parsed[0] != version:
            self._parsed = (version, self._read())
        return self._parsed[1]

    def get(self, key: str) -> str:
        value = self._read_for_get().get(key)
        if value is None:
            raise SecretMissing(f"{self.path} holds no secret {key!r}")
        return value

    def set(self, key: str, value: str) -> None:
        with file_lock(self.lock_path):
            secrets = self._read()
            secrets[key] = value
            self._write(secrets)

    def delete(self, key: str) -> None:
        self.delete_many([key])

    def delete_many(self, keys: list[str]) -> None:
        """One rewrite for many (a project's connections, orphans found at start): not one each."""
        if not self.path.exists():
            return  # nothing to delete (the keyring holds them all): no lock file made for it either
        with file_lock(self.lock_path):
            secrets = self._read()
            if sum(secrets.pop(key, None) is not None for key in keys):
                self._write(secrets)

    def names(self) -> list[str]:
        """The names of the secrets held (never their values)."""
        return list(self._read_for_get())


class SecretStore:
    """Puts secrets where the `[secrets] backend` setting says, and reads them where they are."""

    def __init__(
        self,
        file_path: Path,
        backend: Literal["auto", "keyring", "file"] = "auto",
        keyring_timeout: float = 5.0,
    ) -> None:
        self.backend = backend
        self.keyring = KeyringAccess(keyring_timeout)
        self.file = PlaintextSecretsFile(file_path)
        # Set when "auto" had to use the plaintext file; the UI tells the operator once.
        self.fallback_reason: str | None = None

    def put(self, key: str, value: str) -> SecretLocation:
        register_secret(value)
        if self.backend in ("auto", "keyring"):
            try:
                self.keyring.set(key, value)
                return SecretLocation.KEYRING
            except SecretUnavailable as exc:
                if self.backend == "keyring":
                    raise SecretUnavailable(
                        f'{exc}. Set [secrets] backend = "auto" or "file" to use the plaintext file instead.'
                    ) from None
                self.fallback_reason = str(exc)
                log.info("keyring unusable, using the plaintext secrets file: %s", exc)
        self.file.set(key, value)
        return SecretLocation.FILE

    def planned(self) -> SecretLocation:
        """Where put() would keep a secret now. The keyring's verdict is reached once and kept, so
        put() makes a keyring entry only when this says KEYRING (it may still fall back to the file)."""
        if self.backend != "file" and self.keyring.unusable_reason() is None:
            return SecretLocation.KEYRING
        return SecretLocation.FILE

    def get(self, key: str, location: SecretLocation) -> str:
        if location is SecretLocation.KEYRING:
            try:
                value = self.keyring.get(key)
            except SecretUnavailable as exc:
                raise SecretUnavailable(
                    f"this secret is held in the OS keyring, which this process cannot reach: {exc}"
                ) from None
        else:
            value = self.file.get(key)
        register_secret(value)
        return value

    def delete(self, key: str, location: SecretLocation) -> None:
        if location is SecretLocation.KEYRING:
            self.keyring.delete(key)
        else:
            self.file.delete(key)

    def describe(self, location: SecretLocation) -> str:
        if location is SecretLocation.KEYRING:
            return f"OS keyring (service {SERVICE!r})"
        return f"plaintext file {self.file.path}"
