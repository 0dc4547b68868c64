"""A test hook: the process kills itself (SIGKILL) at a named step of a write.

Crash-safety is tested by killing a real process at chosen points, never by timing luck: a test
sets KMS_CONNECT_CRASH_AT to a step name (e.g. "create:secrets", "temp:store.toml") in a
subprocess, and the store code calls crash_point() at each step. Unset, this is one dict lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "KMS_CONNECT_CRASH_AT"


def crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)  # as a power cut or an OOM kill would: no cleanup runs
