"""Steps from the network thread, handed to the UI loop in batches (the check coordinator's inbox)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kms_connect.core.models import CheckStep
    from kms_connect.ui.check_coordinator import LiveCheck

STEP_INTERVAL = 1 / 30  # steps cross from the network thread in batches, at most this often


class Inbox:
    """Steps from the network thread, handed to the UI loop in batches.

    A `V` run makes thousands of step updates (about 20 a check). One at a time, each would wake
    the UI loop (a write to its self-pipe, read back on the UI thread); here the steps that arrive
    within STEP_INTERVAL of the last delivery join the next one, and each check gets all its new
    steps at once.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, deliver: Callable[[LiveCheck, dict[str, CheckStep]], None]
    ) -> None:
        self.loop = loop
        self._deliver = deliver
        self._lock = threading.Lock()
        self._steps: dict[int, tuple[LiveCheck, dict[str, CheckStep]]] = {}
        self._due = False
        self._last = 0.0  # time.monotonic() of the last delivery

    def put(self, live: LiveCheck, step: CheckStep) -> None:
        """On the network thread."""
        with self._lock:  # an entry holds its `live`: the id is not reused meanwhile
            self._steps.setdefault(id(live), (live, {}))[1][step.key] = step
            if self._due:
                return
            self._due = True
        delay = max(0.0, self._last + STEP_INTERVAL - time.monotonic())
        with contextlib.suppress(RuntimeError):  # the UI loop is closed (app exit): nobody to tell
            self.loop.call_soon_threadsafe(self.loop.call_later, delay, self._flush)

    def _flush(self) -> None:
        """On the UI loop."""
        self._last = time.monotonic()
        with self._lock:
            batch, self._steps, self._due = self._steps, {}, False
        for live, steps in batch.values():
            self._deliver(live, steps)
