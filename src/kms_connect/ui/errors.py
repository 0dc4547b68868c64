"""Turn any exception into words for the screen: never a raw traceback."""

from __future__ import annotations

import logging

from kms_connect.core.errors import KmsConnectError
from kms_connect.core.redact import redact

log = logging.getLogger("kms_connect.ui")


def describe(exc: BaseException) -> str:
    if isinstance(exc, KmsConnectError):
        return redact(str(exc))
    log.exception("unexpected error", exc_info=exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return redact(f"{exc.strerror or exc}{where}")
    return redact(f"Unexpected error ({type(exc).__name__}: {exc}). Run with --debug for details in the debug log.")
