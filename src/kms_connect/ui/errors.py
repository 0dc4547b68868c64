"""Turn any exception into words for the screen: never a raw traceback."""

from __future__ import annotations

import logging
import os
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from kms_connect.core.errors import describe
from kms_connect.core.paths import default_paths
from kms_connect.core.redact import redact

if TYPE_CHECKING:
    from kms_connect.core.paths import Paths

log = logging.getLogger("kms_connect.ui")
__all__ = ["describe", "write_crash_report"]  # describe: core/errors, one rule for every surface


def write_crash_report(error: BaseException | None, paths: Paths | None) -> Path | str:
    """Write the traceback (no local variables, secrets redacted) to the state dir, 0600."""

    text = redact("".join(traceback.format_exception(error))) if error else "no exception recorded\n"
    log.error("crash: %s", text)
    try:
        if paths is None:
            paths = default_paths()
        paths.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(prefix="crash-", suffix=".txt", dir=paths.state_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return Path(name)
    except OSError:
        return "the debug log (the state dir could not be written)"
