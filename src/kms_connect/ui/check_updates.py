"""The check runner's news (core/check_runner), as the screens take it: a Textual signal, in batches.

A `V` run changes hundreds of rows a second. Each row is published once per batch with its latest
state, a batch at most PUBLISH_INTERVAL after the previous one (BUSY_PUBLISH_INTERVAL while every
slot is taken), so a batch costs at most one frame and key presses never wait behind a stream of
repaints. One delivery per batch, not per row: Textual's call_next inspects the callback's
signature on every delivery (~0.4 ms).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.signal import Signal

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

    from kms_connect.core.check_runner import CheckRunner, LiveCheck

PUBLISH_INTERVAL = 1 / 30
BUSY_PUBLISH_INTERVAL = 0.1


class CheckUpdates:
    def __init__(self, app: App[Any], runner: CheckRunner) -> None:
        self.signal: Signal[tuple[LiveCheck, ...]] = Signal(app, "check-updates")
        self._runner = runner
        self._unpublished: dict[str, LiveCheck] = {}
        self._publishing: asyncio.TimerHandle | None = None
        self._published_at = 0.0
        runner.listen(self._changed)

    def subscribe(self, node: DOMNode, callback: Callable[[LiveCheck], None]) -> None:
        """`callback` gets each changed row's check, in order, on `node`'s message loop."""

        def each(batch: tuple[LiveCheck, ...]) -> None:
            for live in batch:
                callback(live)

        self.signal.subscribe(node, each)

    def _changed(self, live: LiveCheck) -> None:
        self._unpublished[live.key] = live
        if self._publishing is None:
            loop = asyncio.get_running_loop()
            busy = self._runner.running_count() > self._runner.concurrency
            interval = BUSY_PUBLISH_INTERVAL if busy else PUBLISH_INTERVAL
            self._publishing = loop.call_at(max(loop.time(), self._published_at + interval), self._publish, loop)

    def _publish(self, loop: asyncio.AbstractEventLoop) -> None:
        self._publishing, self._published_at = None, loop.time()
        batch, self._unpublished = self._unpublished, {}
        self.signal.publish(tuple(batch.values()))
