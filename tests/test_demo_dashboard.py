"""The status dashboard and the demo: the demo workspace against its simulators, with Pilot."""

from __future__ import annotations

import asyncio
import contextlib

from textual.widgets import Static

from kms_connect.core.status import Status
from kms_connect.core.write_proof import PROBE_PREFIX
from kms_connect.demo import build_demo
from kms_connect.ui.modals.connection_details import ConnectionDetailsModal
from kms_connect.ui.screens.dashboard import DashboardScreen
from ui_helpers import data_lines, screen_text, settle, static_text, wait_for_screen, wait_until


async def test_demo_opens_a_live_dashboard_labelled_as_simulated(tmp_path) -> None:
    with contextlib.ExitStack() as stack:
        app = build_demo(tmp_path, stack)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await wait_for_screen(pilot, DashboardScreen)
            await wait_until(pilot, lambda: len(app.checks.live) == 9 and app.checks.idle(), "the checks", 3000)
            await settle(pilot)
            statuses = {live.key: live.status for live in app.checks.live.values()}
            by_name = {c.name: statuses[cid] for cid, (_, c) in screen.entries.items()}
            assert by_name == {
                "release-pat": Status.VALID,
                "pipelines-sp": Status.VALID,
                "alice-oauth": Status.VALID,
                "vars-only-pat": Status.WARNING,
                "vendor-pat": Status.FAILED,
                "lake-sp": Status.FAILED,
                "lake-new-sp": Status.FAILED,
                "sync-pat": Status.VALID,  # its write proof passes
                "sync-reader-sp": Status.WARNING,  # reads work, writes refused
            }
            # Rows hold the connections the store lists (shared, read-only): each now carries its result.
            assert all(
                c.last_check is not None and c.last_check.status is statuses[cid]
                for cid, (_, c) in screen.entries.items()
            )
            assert "SIMULATED" in screen_text(app)
            assert "✗ 3 failed" in screen_text(app) and "✓ 4 valid" in screen_text(app)
            await pilot.press("f")  # failing only
            await pilot.pause()
            lines = data_lines(screen.table)
            assert len(lines) == 5 and not any("✓ Valid" in line for line in lines)
            await pilot.press("escape")  # back to the projects; the demo's instance is one i away
            await pilot.pause()
            assert not isinstance(app.screen, DashboardScreen)
            app.switch_source("demo-kms")
            await wait_until(pilot, lambda: app.source == "demo-kms", "the switch", 3000)
            await settle(pilot)
            await pilot.press("s")
            board = await wait_for_screen(pilot, DashboardScreen)
            await settle(pilot)
            assert "ado-release" in " ".join(data_lines(board.table))
            assert "SIMULATED" in screen_text(app)
            # The instance's two Secret Syncs: their jobs run by themselves; one succeeds, one is refused.
            from kms_connect.ui.screens.connections import ConnectionsScreen
            from kms_connect.ui.screens.syncs import SyncsScreen
            from kms_connect_sim.kms_world import SAMPLE_PLATFORM

            await pilot.press("escape")
            await settle(pilot)
            projects = app.screen
            assert projects.table.move_cursor_to_key(SAMPLE_PLATFORM)
            await pilot.press("enter")
            await wait_for_screen(pilot, ConnectionsScreen)
            await settle(pilot)
            await pilot.press("y")
            syncs = await wait_for_screen(pilot, SyncsScreen)
            await wait_until(pilot, lambda: bool(syncs.syncs), "the syncs", 3000)
            assert await asyncio.to_thread(app.kms.wait_for_jobs, 30)  # bounded: the instance's own jobs end
            await pilot.press("r")  # the job may still have been under way at the first listing
            await wait_until(
                pilot, lambda: any("✗ Failed" in line for line in data_lines(syncs.table)), "the refused job", 3000
            )


async def test_the_demo_checks_everything_even_when_the_listing_comes_late(tmp_path) -> None:
    """The first listing held at a gate: the re-check of every row waits for the rows, not a refresh."""
    import asyncio

    with contextlib.ExitStack() as stack:
        app = build_demo(tmp_path, stack)
        listed = asyncio.Event()
        list_all = app.backend.list_all_connections

        async def held():  # type: ignore[no-untyped-def]
            await listed.wait()
            return await list_all()

        app.backend.list_all_connections = held
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for_screen(pilot, DashboardScreen)
            for _ in range(5):  # several refreshes with no rows yet
                await pilot.pause()
            assert app.checks.live == {}
            listed.set()
            await wait_until(pilot, lambda: len(app.checks.live) == 9 and app.checks.idle(), "the checks", 3000)


def _proofs(result) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    return [(p.project, p.create, p.update, p.delete) for p in result.write_proof or []]


def _text_of(screen) -> str:  # type: ignore[no-untyped-def]
    """Every Static of `screen` as it is drawn (scrolled parts too), its wrapped lines joined."""
    lines = (w.render_line(y).text for w in screen.query(Static) for y in range(w.size.height))
    return " ".join(" ".join(lines).split())


async def test_the_demo_proves_the_write_access_of_two_connections_once(tmp_path) -> None:
    """In place of their plain re-check: sync-pat's proof passes in Platform and Payments, and
    sync-reader-sp's is refused in Platform, where it is only a Reader in the Library."""
    with contextlib.ExitStack() as stack:
        app = build_demo(tmp_path, stack)
        assert app.sandbox is not None
        devops, org = app.sandbox.devops, app.sandbox.world.orgs["contoso-dev"]

        def creates() -> int:
            return sum(r.method == "POST" for r in devops.requests_to("/variablegroups"))

        async with app.run_test(size=(120, 40)) as pilot:
            screen = await wait_for_screen(pilot, DashboardScreen)
            await wait_until(pilot, lambda: len(app.checks.live) == 9 and app.checks.idle(), "the checks", 3000)
            await settle(pilot)
            ids = {c.name: cid for cid, (_, c) in screen.entries.items()}
            passed, refused = (app.checks.live[ids[name]].result for name in ("sync-pat", "sync-reader-sp"))
            assert passed is not None and refused is not None
            assert passed.status is Status.VALID, passed.summary
            assert _proofs(passed) == [("Platform", "ok", "ok", "ok"), ("Payments", "ok", "ok", "ok")]
            assert refused.status is Status.WARNING
            assert _proofs(refused) == [("Platform", "refused", "not-tried", "not-tried")]
            assert refused.summary == (
                "Reads work, writes refused: Create a probe variable group · Platform: "
                "No Creator role in the Library of Platform"
            )
            # Three groups asked for (one refused), none left, none recorded as maybe left.
            assert creates() == 3 and not [g for g in org.variable_groups if g.name.startswith(PROBE_PREFIX)]
            record = app.backend.probe_record
            assert record is not None and record.of(ids["sync-pat"]) == record.of(ids["sync-reader-sp"]) == []
            stored = {c.name: c.last_check for _, c in await app.backend.list_all_connections()}
            assert _proofs(stored["sync-reader-sp"]) == _proofs(refused)  # kept with the connection
            rows = {line.split()[2]: line for line in data_lines(screen.table)}
            assert "✓ Valid" in rows["sync-pat"] and "! Warning" in rows["sync-reader-sp"]
            assert "Create a probe variable g" in rows["sync-reader-sp"]  # the Problem column
            assert screen.table.move_cursor_to_key(ids["sync-reader-sp"])
            await settle(pilot)
            problem = static_text(screen.query_one("#row-problem", Static))
            assert problem.startswith(
                "sync-reader-sp · Create a probe variable group · Platform: No Creator role in the Library of Platform"
            )
            assert "In Platform, open Pipelines → Library → Security, add it and give it Creator." in problem
            await pilot.press("enter")
            details = _text_of(await wait_for_screen(pilot, ConnectionDetailsModal))
            assert "Result Reads work, writes refused: Create a probe variable group · Platform: No Creator" in details
            assert (
                "Write proof Platform: Variable Groups: create ✗ refused, update – not tried, delete – not tried."
                in details
            )
            assert "waiting" not in details  # the steps after the refusal say they were not tried
            # Once: a check of everything afterwards is read-only, as the operator's checks are.
            await pilot.press("escape")
            await wait_for_screen(pilot, DashboardScreen)
            first = dict(app.checks.live)
            await pilot.press("V")
            await wait_until(
                pilot,
                lambda: app.checks.idle() and all(app.checks.live[k] is not first[k] for k in first),
                "the check of everything",
                3000,
            )
            assert creates() == 3
