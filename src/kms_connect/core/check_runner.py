"""The one runner of stored connections' checks: the TUI's `v`/`V`, the periodic rounds and
`kms-connect check` all go through it, under the same rules.

- At most `concurrency` checks at once (`[status] concurrency`). A slot covers reading the
  connection's secrets and its check.
- One check per connection: a re-check cancels the one under way.
- Results are recorded in batches, one write at a time: at once when no check runs, otherwise
  after at most WRITE_INTERVAL (one write per result would busy a CPU during a `V` of 500).
  A cancelled check records nothing: it proves nothing either way.
- Listeners hear of each change of a row (queued → running → done → saved), on the event loop
  that runs the checks, never of single steps: a form shows its own check's steps by running it
  itself (core/live_check).

It is also the one place that knows what a row shows (`row`): the stored result, unless a check
of the same credentials is running or has finished since.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from kms_connect.core.backend import Backend
from kms_connect.core.check_target import CheckRun, CheckTarget, cancelled_result
from kms_connect.core.checks import Checker, check_stored
from kms_connect.core.errors import describe
from kms_connect.core.models import CheckResult, Connection
from kms_connect.core.status import Status

log = logging.getLogger(__name__)
CLOSE_WAIT = 5.0  # seconds an exit waits for cancelled checks and a write under way
WRITE_INTERVAL = 0.5  # seconds results wait to share a write while other checks still run
Listener = Callable[["LiveCheck"], None]


@dataclass
class LiveCheck:
    """A connection's latest check started here: under way, or its outcome."""

    key: str  # the connection's id
    as_of: datetime  # the credentials it checks (the connection's updated_at)
    status: Status = Status.CHECKING
    result: CheckResult | None = None
    running_since: float | None = None  # time.monotonic() when it got its slot
    saved: bool = False  # the store holds its result

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def queued(self) -> bool:
        """Waiting for a slot."""
        return self.running_since is None and not self.done


@dataclass(frozen=True)
class RowView:
    """What a connection's row shows."""

    status: Status
    result: CheckResult | None  # the latest finished result, stored or not (details, problems)
    checked_at: datetime | None  # when the result the store holds was checked ("Checked")
    running_since: float | None  # a check holds a slot since (its row counts the seconds)


class CheckRunner:
    def __init__(self, checker: Callable[[], Checker], concurrency: int = 8) -> None:
        self._checker = checker  # made on first use: the live checker's imports are not needed to start
        self.concurrency = max(1, concurrency)
        self.live: dict[str, LiveCheck] = {}
        self.write_problem = ""  # why the last write of results failed ("" when it worked)
        self._tasks: dict[str, asyncio.Task[CheckResult]] = {}
        self._running: set[str] = set()
        self._listeners: list[Listener] = []
        self._slots: asyncio.Semaphore | None = None
        self._unsaved: dict[Backend, dict[str, tuple[CheckResult, LiveCheck]]] = {}
        self._writer: asyncio.Task[None] | None = None
        self._none_running = asyncio.Event()
        self._round: set[str] = set()  # the connections of the last periodic round

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:  # on first use: [status] concurrency is known by then
            self._slots = asyncio.Semaphore(self.concurrency)
        return self._slots

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _changed(self, live: LiveCheck) -> None:
        if self.live.get(live.key) is live:  # replaced: its news is nobody's
            for listener in self._listeners:
                listener(live)

    # --- what a row shows ------------------------------------------------------------------------
    def row(self, conn: Connection) -> RowView:
        stored = conn.last_check
        stored_at = stored.checked_at if stored is not None else None
        live = self.live.get(conn.id)
        if live is None or live.as_of != conn.updated_at:  # none, or about credentials since replaced
            return RowView(conn.status, stored, stored_at, None)
        if live.result is None:
            return RowView(live.status, stored, stored_at, live.running_since)
        if live.saved and stored_at is not None and (live.result.checked_at or stored_at) <= stored_at:
            return RowView(stored.status if stored else conn.status, stored, stored_at, None)  # stored is as new
        checked = live.result.checked_at if live.saved else stored_at
        return RowView(live.status, live.result, checked, None)

    def as_shown(self, conn: Connection) -> Connection:
        """`conn` with the result its row shows (what its details show)."""
        result = self.row(conn).result
        return conn if result is conn.last_check else conn.model_copy(update={"last_check": result})

    # --- state ---------------------------------------------------------------------------------
    def is_running(self, key: str) -> bool:
        return key in self._running

    def running_count(self) -> int:
        return len(self._running)

    def running_since(self) -> dict[str, float]:
        """Checks that hold a slot now, and since when."""
        out = {}
        for key in self._running:
            since = self.live[key].running_since
            if since is not None:
                out[key] = since
        return out

    def idle(self) -> bool:
        """No check running and every result written."""
        return not self._running and not self._unsaved and (self._writer is None or self._writer.done())

    # --- starting and stopping -----------------------------------------------------------------
    def recheck(
        self, backend: Backend, conn: Connection, *, prove_in: list[str] | None = None
    ) -> asyncio.Task[CheckResult]:
        """Check a stored connection with the credentials the backend holds, and record the result.
        `prove_in`: and prove write access there (core/write_proof; empty: its target projects)."""
        old = self._tasks.get(conn.id)
        if old is not None:
            old.cancel()
        live = self.live[conn.id] = LiveCheck(conn.id, conn.updated_at)
        self._running.add(conn.id)
        self._none_running.clear()
        task = asyncio.ensure_future(self._run(backend, conn, live, prove_in))
        self._tasks[conn.id] = task
        task.add_done_callback(lambda done: self._tasks.pop(conn.id) if self._tasks.get(conn.id) is done else None)
        self._changed(live)
        return task

    async def check_many(
        self,
        backend: Backend,
        conns: Iterable[Connection],
        on_done: Callable[[Connection, CheckResult], None] | None,
        *,
        prove_in: list[str] | None = None,
    ) -> list[CheckResult]:
        """Check `conns` and wait for their results to be written; `on_done` hears of each as it ends."""

        async def one(conn: Connection) -> CheckResult:
            result = await self.recheck(backend, conn, prove_in=prove_in)
            if on_done is not None:
                on_done(conn, result)
            return result

        results = await asyncio.gather(*(one(conn) for conn in conns))
        await self.settled()
        return list(results)

    async def round(self, backend: Backend, current: Callable[[], bool] = lambda: True) -> int | None:
        """A periodic round: every connection whose credentials are held here, except those being
        checked. None when the previous round is still running (rounds never pile up), or when
        `current()` says the backend is no longer the one shown once they are listed. Raises what
        listing the connections raises."""
        if self.round_running():
            return None
        everything = await backend.list_all_connections()
        if not current():
            return None
        chosen = [c for _, c in everything if not backend.not_checkable(c) and c.id not in self._running]
        self._round = {c.id for c in chosen}
        for conn in chosen:
            self.recheck(backend, conn)
        return len(chosen)

    def round_running(self) -> bool:
        return any(key in self._running for key in self._round)

    def cancel(self, key: str) -> bool:
        """Cancel the check of `key`; False when none was running."""
        task = self._tasks.get(key)
        if task is None or task.done() or task.cancelling() or key not in self._running:
            return False
        task.cancel()
        return True

    def cancel_all(self) -> int:
        return sum(self.cancel(key) for key in list(self._running))

    def forget(self, key: str) -> None:
        """A deleted connection, or one whose credentials were replaced: its check, if any, stops
        and is not shown."""
        self.cancel(key)
        self.live.pop(key, None)

    async def settled(self) -> None:
        """Until every check started so far has ended and its result is written."""
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    async def aclose(self) -> None:
        """Cancel what runs and wait (CLOSE_WAIT at most) for it to end (app exit)."""
        self.cancel_all()
        pending = [*self._tasks.values(), *([self._writer] if self._writer is not None else [])]
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_WAIT)

    # --- a check -------------------------------------------------------------------------------
    async def _run(
        self, backend: Backend, conn: Connection, live: LiveCheck, prove_in: list[str] | None
    ) -> CheckResult:
        checker = self._checker()

        async def run(target: CheckTarget) -> CheckRun:
            if prove_in is None:
                return await checker.run(target)
            return await checker.run(target, record=backend.probe_record, connection_id=conn.id)

        try:
            async with self.slots:
                live.running_since = time.monotonic()
                self._changed(live)
                result = await check_stored(backend, conn, run, prove_in)
        except asyncio.CancelledError:
            self._finish(live, cancelled_result([]))  # the stored result is left alone
            raise
        except Exception as exc:  # noqa: BLE001 - never a traceback: the check failed, say why
            result = CheckResult(status=Status.FAILED, summary=f"The check failed: {describe(exc)}")
        self._finish(live, result)
        if result.checked_at is not None:  # a check really ran: keep it
            self._unsaved.setdefault(backend, {})[conn.id] = (result, live)
            if self._writer is None or self._writer.done():
                self._writer = asyncio.ensure_future(self._write())
        return result

    def _finish(self, live: LiveCheck, result: CheckResult) -> None:
        live.result, live.status = result, result.status
        if self.live.get(live.key) is live:
            self._running.discard(live.key)
            if not self._running:
                self._none_running.set()
        self._changed(live)

    async def _write(self) -> None:
        while self._unsaved:
            if self._running:  # others may finish soon: share this write with them
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._none_running.wait(), WRITE_INTERVAL)
            batch, self._unsaved = self._unsaved, {}
            for backend, results in batch.items():
                try:
                    await backend.record_checks(
                        {key: result for key, (result, _) in results.items()},
                        as_of={key: live.as_of for key, (_, live) in results.items()},
                    )
                    saved, self.write_problem = True, ""
                except Exception as exc:  # noqa: BLE001 - the checks stand; only "Checked" is not kept
                    log.warning("could not record %d check results: %s", len(results), type(exc).__name__)
                    saved, self.write_problem = False, describe(exc)
                for _, live in results.values():
                    live.saved = saved
                    self._changed(live)
