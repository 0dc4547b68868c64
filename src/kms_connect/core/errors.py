"""Errors the UI and CLI show to the operator: their text says what is wrong and what to do."""

from __future__ import annotations


class KmsConnectError(Exception):
    """Base: str(exc) is a complete, secret-free sentence for the operator."""


class ConfigError(KmsConnectError):
    pass


class StoreError(KmsConnectError):
    """The data file cannot be read or written; it is never overwritten in that state."""


class ConflictError(KmsConnectError):
    """A name is taken, or the thing changed or vanished under us (another process)."""


class NotFoundError(KmsConnectError):
    pass


class SecretError(KmsConnectError):
    pass


class SecretUnavailable(SecretError):
    """The secret exists in a store this process cannot reach (e.g. a keyring without D-Bus)."""


class SecretMissing(SecretError):
    pass
