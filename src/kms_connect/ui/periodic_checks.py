"""The optional periodic re-check (`[status] interval`): every connection of the source, now and then.

Owned by the App, so it runs whichever screen is shown. This is its timer and what it says; a
round's rules (never two at once, what is skipped, `[status] concurrency`) are the check runner's
(core/check_runner `round`), as for any `V`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from kms_connect.ui.errors import describe

if TYPE_CHECKING:
    from textual.timer import Timer

    from kms_connect.ui.app import KmsConnectApp

log = logging.getLogger(__name__)
NOT_HELD = "off: no credentials here"  # why a round checks nothing of this source


class PeriodicChecks:
    def __init__(self, app: KmsConnectApp) -> None:
        self.app = app
        self.interval = 0  # seconds; 0 = off
        self.next_at: float | None = None  # time.monotonic() of the next round
        self.rounds = 0  # rounds started (shown on the dashboard, counted by tests)
        self.problem = ""  # why the last round could not start, in words ("" when it could)
        self._timer: Timer | None = None

    def configure(self, interval: int) -> None:
        """(Re)start the timer for `interval` seconds, or stop it with 0."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.interval, self.next_at = interval, None
        if interval > 0:
            self._timer = self.app.set_interval(interval, self.run_round, name="periodic re-check")
            self.next_at = time.monotonic() + interval

    def describe(self, *, anything_to_check: bool = True) -> str:
        """The state in a few words for an info line, e.g. "next check in 4 min".

        `anything_to_check`: whether a round would check any of the connections shown; without one,
        no next check is promised (the rounds would skip them all)."""
        if not self.interval:
            return ""
        backend = self.app.backend
        if (backend is not None and backend.not_checkable_reason) or not anything_to_check:
            return f"auto re-check {NOT_HELD}"
        if self.problem:
            return f"auto re-check {self.problem}"
        if self._running():
            return "auto re-check running"
        left = max(0.0, (self.next_at or time.monotonic()) - time.monotonic())
        return f"next check in {_span(left)}"

    def run_round(self) -> None:
        """One round now (the timer calls this; so can a test)."""
        if self.interval:
            self.next_at = time.monotonic() + self.interval
        if self._running():
            log.debug("periodic re-check skipped: the previous round is still running")
            return
        self.app.run_worker(
            self._round(), group="periodic-recheck", exclusive=True, exit_on_error=False, name="periodic re-check"
        )

    def _running(self) -> bool:
        return self.app.checks.round_running()

    async def _round(self) -> None:
        backend = self.app.ws.backend
        if backend.not_checkable_reason:  # an instance: its credentials are not held here
            self.problem = NOT_HELD
            return
        try:
            started = await self.app.checks.round(backend, lambda: self.app.backend is backend)
        except Exception as exc:  # said once, then on the dashboard; the next round tries again
            if not self.problem:
                self.app.notify(
                    describe(exc),
                    markup=False,
                    title="Automatic re-check could not list the connections",
                    severity="warning",
                    timeout=10,
                )
            self.problem = "failed: cannot list"
            return
        self.problem = ""
        if started is not None:
            self.rounds += 1


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
