"""Errors the UI and CLI show to the operator: their text says what is wrong and what to do."""

from __future__ import annotations

import logging

from kms_connect.core.redact import redact

log = logging.getLogger("kms_connect")


class KmsConnectError(Exception):
    """Base: str(exc) is a complete, secret-free sentence for the operator."""


class ConfigError(KmsConnectError):
    pass


class StoreError(KmsConnectError):
    """The data file cannot be read or written; it is never overwritten in that state."""


class StoreDamaged(StoreError):
    """The store file cannot be trusted: unparsable, truncated to nothing, or inconsistent
    (duplicate ids, a connection of no project...). Refused, never guessed at: nothing is written
    while it stands (not the file, nor store.json, store.index.json or checks.json beside it).

    `path` is the file; `problems` says what is wrong, each naming the offending ids or names
    (never secrets: the file holds none). Headless commands exit 2 on it."""

    def __init__(self, path: object, problems: list[str]) -> None:
        shown = problems[:5] + ([f"and {len(problems) - 5} more"] if len(problems) > 5 else [])
        super().__init__(
            f"{path} is damaged: {'; '.join(shown)}. It was left untouched, and so were the files beside it "
            "(store.json, store.index.json, checks.json): fix it by hand or move it aside."
        )
        self.path, self.problems = path, problems


class ConflictError(KmsConnectError):
    """A name is taken, or the thing changed or vanished under us (another process)."""


class InUse(ConflictError):
    """A server refused to delete something because something else uses it (an App Connection that
    Secret Syncs use)."""


class FieldError(KmsConnectError):
    """A value typed in one field cannot be used. `field` names the form field; `detail` is the
    sentence to show under it (str(exc) may add more, e.g. a server's request ID)."""

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail)
        self.detail, self.field = detail, field


class NameTaken(FieldError, ConflictError):
    """`name` is in use already: here, or on a server (maybe since the form was opened)."""

    def __init__(self, detail: str, *, name: str, field: str = "name") -> None:
        super().__init__(detail, field=field)
        self.name = name


def name_error(detail: str, name: str, *, taken: bool) -> FieldError:
    """The error for a name the validation rules refused: taken, or not a valid name."""
    return NameTaken(detail, name=name) if taken else FieldError(detail, field="name")


class FieldErrors(KmsConnectError):
    """Values refused field by field (a server's 422): `issues` are (field path, message) pairs."""

    issues: list[tuple[str, str]]


class NotFoundError(KmsConnectError):
    pass


class SecretError(KmsConnectError):
    pass


class SecretUnavailable(SecretError):
    """The secret exists in a store this process cannot reach (e.g. a keyring without D-Bus)."""


class SecretMissing(SecretError):
    pass


def describe(exc: BaseException) -> str:
    """Any exception in words for the operator: ours say it all; a surprise is logged in full
    (the debug log) and named, never shown as a traceback."""
    if isinstance(exc, KmsConnectError):
        return redact(str(exc))
    log.exception("unexpected error", exc_info=exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return redact(f"{exc.strerror or exc}{where}")
    return redact(f"Unexpected error ({type(exc).__name__}: {exc}). Run with --debug for details in the debug log.")
