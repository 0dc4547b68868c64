"""The App's check coordinator: every live check runs here, not in a screen or a modal.

A worker dies with the node that started it, so checks are started on the App: leaving a screen
never cancels a `V` run, and two screens show the same live state. Each connection (or form) has
its own worker group, so re-checking one row cancels only that row's previous run; a semaphore
bounds how many run at once. Screens subscribe to `updates` and get a `LiveCheck` as it changes
(a form's on every step; stored re-checks, maybe hundreds at once, in batches).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.signal import Signal
from textual.worker import Worker

from kms_connect.core.background_loop import BackgroundLoop
from kms_connect.core.status import Status, StepState
from kms_connect.ui.check_inbox import Inbox
from kms_connect.ui.errors import describe

log = logging.getLogger(__name__)
BATCH_WINDOW = 0.05  # seconds a finished result waits for others to share its store write
WRITE_INTERVAL = 0.5  # at most two store writes a second during a big re-check,
WRITE_SHARE = 0.05  # and, with a big store, writes take at most ~5% of the time while checks run
LAST_WAVE_WAIT = 1.0  # a write due while the last checks of a run are in flight waits this long for them
PUBLISH_INTERVAL = 1 / 30  # and updates reach the screens in batches, at most this often (30 a second),
BUSY_PUBLISH_INTERVAL = 0.1  # or 10 a second while every slot is taken (a big `V` run: rows, not steps)

if TYPE_CHECKING:
    from pydantic import SecretStr
    from textual.app import App
    from textual.dom import DOMNode

    from kms_connect.core.backend import Backend
    from kms_connect.core.check_target import CheckRun, CheckTarget
    from kms_connect.core.models import CheckResult, CheckStep, Connection


@dataclass
class LiveCheck:
    """What one check looks like right now: its steps so far and, once done, the result."""

    key: str
    status: Status = Status.CHECKING
    steps: dict[str, CheckStep] = field(default_factory=dict)
    result: CheckResult | None = None
    queued: bool = True
    started: float = field(default_factory=time.monotonic)
    running_since: float | None = None  # time.monotonic() when it got its slot (its deadline counts from then)
    saved: bool = False  # the result was recorded with the connection
    token_cache: SecretStr | None = None  # a form's OAuth sign-in, refreshed by the check
    stored: bool = False  # a stored connection's re-check (maybe one of hundreds): updates go in batches

    @property
    def done(self) -> bool:
        return self.result is not None


class CheckCoordinator:
    def __init__(self, app: App[Any], concurrency: int = 8) -> None:
        self.app = app
        # Carries batches: Textual's call_next inspects the callback's signature on every delivery
        # (~0.4 ms), so one delivery per batch, not per check.
        self.updates: Signal[tuple[LiveCheck, ...]] = Signal(app, "check-updates")
        self.live: dict[str, LiveCheck] = {}
        self.concurrency = max(1, concurrency)
        self._slots: asyncio.Semaphore | None = None
        self._ahead: asyncio.Semaphore | None = None
        self.reading = asyncio.Lock()  # held while a stored check's secrets are read, and while writing
        # The checks' HTTP runs on its own loop and thread, so answers never queue up in front of
        # key presses (see core/background_loop).
        self.network = BackgroundLoop()
        self._batch: dict[str, tuple[CheckResult, datetime]] = {}
        self._pending: asyncio.Future[bool] | None = None
        self._writers: set[asyncio.Future[None]] = set()
        self._write_lock = asyncio.Lock()
        self._forget: set[str] = set()
        self._running: set[str] = set()  # keys whose live check (the one in self.live) is not done
        self._last_write = self._last_write_took = 0.0  # when the last store write ended, how long it took
        self._none_running: asyncio.Event | None = None  # set while no check runs: write batches now
        self._inbox: Inbox | None = None
        self._unpublished: dict[str, LiveCheck] = {}
        self._publishing: asyncio.TimerHandle | None = None
        self._published_at = 0.0
        self.writing = 0  # results waiting for (or in) a store write

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:  # made on the app's loop, on first use
            self._slots = asyncio.Semaphore(self.concurrency)
        return self._slots

    @property
    def ahead(self) -> asyncio.Semaphore:
        """Stored checks under way: reading their secrets, waiting for a slot or in one."""
        if self._ahead is None:
            self._ahead = asyncio.Semaphore(2 * self.concurrency)
        return self._ahead

    def subscribe(self, node: DOMNode, callback: Callable[[LiveCheck], None]) -> None:
        """`callback` gets each changed check, in order, on `node`'s message loop."""

        def each(batch: tuple[LiveCheck, ...]) -> None:
            for live in batch:
                callback(live)

        self.updates.subscribe(node, each)

    def showing(self, conn: Connection) -> LiveCheck | None:
        """The live check to show over a connection's stored result: running, or finished but not
        stored (cancelled, not checkable, or its write still pending). None: show what is stored."""
        live = self.live.get(conn.id)
        return live if live is not None and (not live.done or not live.saved) else None

    def is_running(self, key: str) -> bool:
        live = self.live.get(key)
        return live is not None and not live.done

    def running_count(self) -> int:
        return len(self._running)  # kept as checks start and end: asked after every result

    def forget(self, key: str) -> None:
        """Drop a closed form's state (it may hold a token cache), now or when its check ends."""
        live = self.live.get(key)
        if live is not None and live.done:
            del self.live[key]
        elif live is not None:
            self._forget.add(key)

    def cancel(self, key: str) -> bool:
        """Cancel the check of `key`; False when none was running."""
        if not self.is_running(key):
            return False
        self.app.workers.cancel_group(self.app, _group(key))
        return True

    def cancel_all(self) -> int:
        keys = [k for k, live in self.live.items() if not live.done]
        for key in keys:
            self.cancel(key)
        return len(keys)

    # --- starting checks -------------------------------------------------------------------
    def check(self, key: str, target: CheckTarget) -> Worker[CheckResult | None]:
        """Check credentials not saved yet (a form): nothing is recorded."""
        return self._start(key, self._run_target(key, target), stored=False)

    def recheck(self, backend: Backend, conn: Connection) -> Worker[CheckResult | None]:
        """Re-check a stored connection with its stored credentials and record the result."""
        return self._start(conn.id, self._run_stored(key=conn.id, backend=backend, conn=conn), stored=True)

    def _start(self, key: str, coro: object, *, stored: bool) -> Worker[CheckResult | None]:
        # "waiting" only when it must wait
        self.live[key] = LiveCheck(key, queued=self.slots.locked(), stored=stored)
        self._running.add(key)  # a check it replaces (cancelled by run_worker) no longer counts
        self._publish(self.live[key])
        return self.app.run_worker(coro, group=_group(key), exclusive=True, exit_on_error=False, name=f"check {key}")  # type: ignore[arg-type]

    def _running_now(self, live: LiveCheck) -> None:
        live.queued, live.running_since = False, time.monotonic()
        self._publish(live)

    def running_since(self) -> dict[str, float]:
        """Checks that hold a slot now, and since when (their rows show how long they have run)."""
        out = {}
        for key in self._running:
            since = self.live[key].running_since
            if since is not None:
                out[key] = since
        return out

    def _publish(self, live: LiveCheck) -> None:
        """Tell the screens, in a batch at most PUBLISH_INTERVAL after the previous one (at once if
        that is older).

        A `V` run changes checks hundreds of times a second; in batches, each check is published
        once per batch with its latest state, and a batch costs at most one frame. A form's check
        (one at a time, every step shown) is published at once, as it happens.
        """
        if not live.stored:
            self.updates.publish((live,))
            return
        self._unpublished[live.key] = live
        if self._publishing is None:
            loop = asyncio.get_running_loop()
            interval = BUSY_PUBLISH_INTERVAL if self.slots.locked() else PUBLISH_INTERVAL
            self._publishing = loop.call_at(max(loop.time(), self._published_at + interval), self._publish_batch, loop)

    def _publish_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        self._publishing, self._published_at = None, loop.time()
        batch, self._unpublished = self._unpublished, {}
        self.updates.publish(tuple(batch.values()))

    def _listener(self, live: LiveCheck) -> Callable[[CheckStep], object]:  # what it returns is ignored
        loop = asyncio.get_running_loop()
        if not live.stored:  # a form's check: each step handed over as it comes
            return lambda step: loop.call_soon_threadsafe(self._on_steps, live, {step.key: step})
        if self._inbox is None or self._inbox.loop is not loop:
            self._inbox = Inbox(loop, self._on_steps)
        inbox = self._inbox  # called on the network thread: hands the step over without waiting
        return lambda step: inbox.put(live, step)

    def _on_steps(self, live: LiveCheck, steps: dict[str, CheckStep]) -> None:
        if self.live.get(live.key) is live and not live.done:  # replaced or finished: stay quiet
            live.steps.update(steps)
            self._publish(live)

    async def _checked(self, target: CheckTarget, live: LiveCheck) -> CheckRun:
        checker = self.app.get_checker()  # type: ignore[attr-defined]
        return await self.network.run(checker.run(target, self._listener(live)))

    def shutdown(self) -> None:
        """Stop the network thread (app exit); running checks are cancelled with it."""
        checker = getattr(self.app, "checker", None)
        close = getattr(checker, "aclose", None)
        if close is not None and self.network.started:
            with contextlib.suppress(Exception):  # closing sockets at exit: nothing left to tell anyone
                self.network.submit(close()).result(5)
        self.network.stop()

    def _finish(self, live: LiveCheck, result: CheckResult) -> CheckResult:
        # Steps still pending or running when the check ended (cancelled, or an unexpected error)
        # must not spin forever: the network side's own last words may never be shown.
        steps = result.steps or [s.model_copy() for s in live.steps.values()]
        end = StepState.CANCELLED if result.status is Status.CANCELLED else StepState.SKIPPED
        for step in steps:
            if not step.state.done:
                step.state, step.result = end, "Cancelled" if end is StepState.CANCELLED else "Not run"
        result = result.model_copy(update={"steps": steps})
        live.steps = {s.key: s for s in steps}
        live.result, live.status, live.queued = result, result.status, False
        if self.live.get(live.key) is live:
            self._running.discard(live.key)
        if self._none_running is not None and not self._running:
            self._none_running.set()  # a waiting store write need not wait for more results
        if self.live.get(live.key) is live:
            self._publish(live)
            if live.key in self._forget:
                self._forget.discard(live.key)
                del self.live[live.key]
        return result

    async def _run_target(self, key: str, target: CheckTarget) -> CheckResult | None:
        live = self.live[key]
        try:
            async with self.slots:
                self._running_now(live)
                run = await self._checked(target, live)
                live.token_cache = run.token_cache
                return self._finish(live, run.result)
        except asyncio.CancelledError:
            self._cancelled(live)
            raise
        except Exception as exc:  # never a traceback on screen: the check failed, say why
            return self._finish(live, _result(Status.FAILED, f"The check failed: {describe(exc)}"))

    async def _run_stored(self, *, key: str, backend: Backend, conn: Connection) -> CheckResult | None:
        live = self.live[key]
        reading = False

        async def run(target: CheckTarget) -> CheckRun:
            # Only the network part holds a slot: reading the secrets before it (a thread hop, slow
            # right after a store write) and keeping a refreshed sign-in after it never keep the
            # next check waiting.
            nonlocal reading
            if reading:
                reading = False
                self.reading.release()
            async with self.slots:
                self._running_now(live)
                return await self._checked(target, live)

        try:
            # Secrets are read a little ahead of the slots and one at a time: a `V` run of 500 does
            # not read them all at once (contending with the first checks), and after a store write
            # one read, not one per thread, parses the new file.
            async with self.ahead:
                await self.reading.acquire()
                reading = True
                try:
                    from kms_connect.core.checks import check_stored  # noqa: PLC0415 - as _result

                    result = await check_stored(backend, conn, run)
                finally:
                    if reading:
                        self.reading.release()
            # The result shows at once; "Last checked" follows when the store has it. `as_of`: if the
            # credentials were replaced meanwhile, this result is about the old ones.
            self._finish(live, result)
            if result.checked_at is not None:
                self.writing += 1
                try:
                    live.saved = await self._record(backend, conn.id, result, conn.updated_at)
                finally:
                    self.writing -= 1
                if self.live.get(live.key) is live:
                    self._publish(live)
            return result
        except asyncio.CancelledError:
            self._cancelled(live)
            raise
        except Exception as exc:
            return self._finish(live, _result(Status.FAILED, f"The check failed: {describe(exc)}"))

    def idle(self) -> bool:
        """No check running and every result written."""
        return self.running_count() == 0 and self.writing == 0

    async def _record(self, backend: Backend, connection_id: str, result: CheckResult, as_of: datetime) -> bool:
        """Results share writes, one at a time and at most every WRITE_INTERVAL: one write per
        result would busy a CPU during a big `V` run. True when this result was written; a failed
        write leaves the check's own result alone."""
        self._batch[connection_id] = (result, as_of)
        if self._pending is None:  # the first result of a new batch
            self._pending = asyncio.get_running_loop().create_future()
            # Held until done: the loop keeps only a weak reference to a task.
            task = asyncio.ensure_future(self._write_batch(backend, self._pending))
            self._writers.add(task)
            task.add_done_callback(self._writers.discard)
        return await asyncio.shield(self._pending)

    async def _write_batch(self, backend: Backend, done: asyncio.Future[bool]) -> None:
        async with self._write_lock:  # batches go out one after the other, in order
            # A write re-writes every result (~20 ms at 500). While checks run, space writes so that
            # they take a bounded share of the time; once none runs, every result is in and waiting
            # longer would only delay "Last checked".
            gap = max(WRITE_INTERVAL, self._last_write_took * (1 - WRITE_SHARE) / WRITE_SHARE)
            if self._running:  # others may finish together: share this write
                await asyncio.sleep(BATCH_WINDOW)
            await self._until_none_running(self._last_write + gap - time.monotonic())
            batch, self._batch, self._pending = self._batch, {}, None  # later results start the next batch
            started = time.monotonic()
            try:
                # No secrets are read meanwhile: a read during the write would find the file
                # changing under it and parse it again, in a thread that competes for the GIL.
                async with self.reading:
                    await backend.record_checks(
                        {k: r for k, (r, _) in batch.items()}, as_of={k: t for k, (_, t) in batch.items()}
                    )
                done.set_result(True)
            except Exception as exc:  # the checks stand; only "Last checked" is not kept
                log.warning("could not record %d check results: %s", len(batch), exc)
                done.set_result(False)
            finally:
                self._last_write = time.monotonic()
                self._last_write_took = self._last_write - started

    async def _until_none_running(self, longest: float) -> None:
        """Wait `longest` seconds at most, less if no check runs (or as soon as none does).

        Past that, the last wave of a run (no check left waiting for a slot) is still waited for,
        up to LAST_WAVE_WAIT more: its results then share the final write instead of following a
        write of their own, each re-writing the whole store.
        """
        if self._none_running is None:
            self._none_running = asyncio.Event()
        deadline = time.monotonic() + longest
        while self._running:
            left = deadline - time.monotonic()
            if left <= 0:
                if len(self._running) > self.concurrency or left <= -LAST_WAVE_WAIT:
                    return
                left += LAST_WAVE_WAIT
            self._none_running.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._none_running.wait(), left)

    def _cancelled(self, live: LiveCheck) -> None:
        # The stored result is left alone: a cancelled run proves nothing either way.
        from kms_connect.core.check_target import cancelled_result  # noqa: PLC0415 - as _result

        self._finish(live, cancelled_result(list(live.steps.values())))


def _result(status: Status, summary: str) -> CheckResult:
    # The check models (pydantic) load in the app's loader thread, not before the first frame:
    # ~90 ms (benchmarks/imports.py).
    from kms_connect.core.models import CheckResult  # noqa: PLC0415

    return CheckResult(status=status, summary=summary)


def _group(key: str) -> str:
    return f"check:{key}"
