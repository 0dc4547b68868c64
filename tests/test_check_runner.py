"""The one check runner (core/check_runner): its rules, without Textual.

The checks here are gated: each waits for its organization's gate, so which run at once, and in
which order they end, is decided by the test, not by timing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from kms_connect.core.check_runner import CheckRunner
from kms_connect.core.check_target import CheckRun, CheckTarget
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import CheckResult, Connection, ConnectionDraft, utcnow
from kms_connect.core.status import Method, Status

LIMIT = 5.0  # seconds any wait here may take before the test fails


class GatedChecks:
    """Each check waits for its organization's gate, then says Valid; counts what runs at once."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.running = self.most = self.started = 0
        self.moved = asyncio.Event()  # set whenever a check starts or a row changes (`until` waits on it)

    def watch(self, runner: CheckRunner) -> CheckRunner:
        runner.listen(lambda live: self.moved.set())
        return runner

    async def until(self, condition: Any, what: str) -> None:
        async with asyncio.timeout(LIMIT):
            while not condition():
                self.moved.clear()
                await self.moved.wait()

    def gate(self, org: str) -> asyncio.Event:
        return self.gates.setdefault(org, asyncio.Event())

    async def run(self, target: CheckTarget, listener: Any = None) -> CheckRun:
        self.running += 1
        self.started += 1
        self.moved.set()
        self.most = max(self.most, self.running)
        try:
            await self.gate(target.org_name).wait()
        finally:
            self.running -= 1
        return CheckRun(CheckResult(status=Status.VALID, checked_at=utcnow(), summary=f"{target.org_name} ok"))


async def connections(store: LocalStore, *orgs: str) -> list[Connection]:
    project = await store.create_project("Payments")
    out = []
    for i, org in enumerate(orgs):
        draft = ConnectionDraft(
            name=f"c{i}", method=Method.ACCESS_TOKEN, org_name=org, secrets={"access_token": SecretStr("pat")}
        )
        out.append(await store.create_connection(project.id, draft))
    return out


async def test_at_most_concurrency_checks_run_at_once(store: LocalStore) -> None:
    checks = GatedChecks()
    runner = checks.watch(CheckRunner(lambda: checks, concurrency=2))
    conns = await connections(store, *(f"org{i}" for i in range(5)))
    tasks = [runner.recheck(store, c) for c in conns]
    await checks.until(lambda: checks.started == 2, "two checks")
    assert [runner.live[c.id].queued for c in conns] == [False, False, True, True, True]
    for i in range(5):
        checks.gate(f"org{i}").set()
    async with asyncio.timeout(LIMIT):
        results = await asyncio.gather(*tasks)
        await runner.settled()
    assert checks.most == 2 and {r.status for r in results} == {Status.VALID}
    stored = {c.id: c.last_check for c in await store.list_connections(conns[0].project_id)}
    assert all(r is not None and r.status is Status.VALID for r in stored.values())
    assert runner.idle() and all(runner.live[c.id].saved for c in conns)


async def test_results_share_writes_while_checks_run(store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    checks = GatedChecks()
    runner = checks.watch(CheckRunner(lambda: checks, concurrency=4))
    conns = await connections(store, "a", "b", "c", "d")
    writes: list[int] = []
    record = store.record_checks

    async def counted(results: dict[str, CheckResult], **kw: Any) -> None:
        writes.append(len(results))
        await record(results, **kw)

    monkeypatch.setattr(store, "record_checks", counted)
    for c in conns:
        runner.recheck(store, c)
    for org in "abc":  # three end while one still runs: they wait to share a write
        checks.gate(org).set()
    await checks.until(lambda: sum(runner.live[c.id].done for c in conns) == 3, "three results")
    assert writes == []
    checks.gate("d").set()  # the last one ends: every result goes, in one or two writes, never four
    async with asyncio.timeout(LIMIT):
        await runner.settled()
    assert sum(writes) == 4 and len(writes) <= 2


async def test_a_recheck_replaces_the_check_under_way_and_cancel_records_nothing(store: LocalStore) -> None:
    checks = GatedChecks()
    runner = checks.watch(CheckRunner(lambda: checks, concurrency=2))
    [conn] = await connections(store, "slow")
    first = runner.recheck(store, conn)
    await checks.until(lambda: checks.started == 1, "the first check")
    second = runner.recheck(store, conn)
    await checks.until(lambda: checks.started == 2, "the second check")
    assert first.cancelled() or first.done()
    assert runner.cancel(conn.id) and not runner.cancel(conn.id)  # the second time: nothing runs
    async with asyncio.timeout(LIMIT):
        await asyncio.wait([second])
        await runner.settled()
    assert second.cancelled()
    view = runner.row(conn)
    assert view.status is Status.CANCELLED and view.checked_at is None  # shown, never stored
    [stored] = await store.list_connections(conn.project_id)
    assert stored.last_check is None


async def test_a_row_shows_the_stored_result_once_the_credentials_are_replaced(store: LocalStore) -> None:
    checks = GatedChecks()
    runner = CheckRunner(lambda: checks, concurrency=1)
    [conn] = await connections(store, "org")
    checks.gate("org").set()
    async with asyncio.timeout(LIMIT):
        await runner.recheck(store, conn)
        await runner.settled()
    [listed] = await store.list_connections(conn.project_id)
    assert runner.row(listed).status is Status.VALID and runner.row(listed).checked_at is not None
    draft = ConnectionDraft(
        name="c0", method=Method.ACCESS_TOKEN, org_name="org", secrets={"access_token": SecretStr("new")}
    )
    replaced = await store.replace_credentials(conn.id, draft)
    later = replaced.model_copy(update={"updated_at": listed.updated_at + timedelta(seconds=1)})
    assert runner.row(later).status is Status.NOT_CHECKED  # the check was about the old credentials
    runner.forget(conn.id)  # as the form that replaced them says (updated_at has whole seconds)
    assert runner.row(replaced).status is Status.NOT_CHECKED


async def test_a_failed_write_is_said_and_the_results_stand(store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    checks = GatedChecks()
    runner = CheckRunner(lambda: checks, concurrency=1)
    [conn] = await connections(store, "org")

    async def refused(results: dict[str, CheckResult], **kw: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "record_checks", refused)
    checks.gate("org").set()
    async with asyncio.timeout(LIMIT):
        result = await runner.recheck(store, conn)
        await runner.settled()
    assert result.status is Status.VALID and "No space left" in runner.write_problem
    assert runner.row(conn).status is Status.VALID and not runner.live[conn.id].saved


async def test_a_round_skips_what_runs_and_never_piles_up(store: LocalStore) -> None:
    checks = GatedChecks()
    runner = checks.watch(CheckRunner(lambda: checks, concurrency=4))
    conns = await connections(store, "a", "b")
    runner.recheck(store, conns[0])  # `v` on one row, before the round
    async with asyncio.timeout(LIMIT):
        assert await runner.round(store) == 1  # b only
        assert await runner.round(store) is None  # the first round still runs
    checks.gate("a").set()
    checks.gate("b").set()
    async with asyncio.timeout(LIMIT):
        await runner.settled()
        assert await runner.round(store) == 2
        await runner.settled()
    assert checks.started == 4


async def test_a_surprise_in_a_check_is_a_failed_check_in_words(store: LocalStore) -> None:
    class Broken:
        async def run(self, target: CheckTarget, listener: Any = None) -> CheckRun:
            raise ValueError("odd answer")

    runner = CheckRunner(Broken, concurrency=1)
    [conn] = await connections(store, "org")
    async with asyncio.timeout(LIMIT):
        result = await runner.recheck(store, conn)
        await runner.settled()
    assert result.status is Status.FAILED and "ValueError" in result.summary and result.checked_at is None
