"""The status dashboard and the demo: the demo workspace against its simulators, with Pilot."""

from __future__ import annotations

import contextlib

from kms_connect.core.status import Status
from kms_connect.demo import build_demo
from kms_connect.ui.screens.dashboard import DashboardScreen
from ui_helpers import data_lines, screen_text, settle, wait_for_screen, wait_until


async def test_demo_opens_a_live_dashboard_labelled_as_simulated(tmp_path) -> None:
    with contextlib.ExitStack() as stack:
        app = build_demo(tmp_path, stack)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await wait_for_screen(pilot, DashboardScreen)
            await wait_until(pilot, lambda: len(app.checks.live) == 7 and app.checks.idle(), "the checks", 3000)
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
            }
            # Rows hold the connections the store lists (shared, read-only): each now carries its result.
            assert all(
                c.last_check is not None and c.last_check.status is statuses[cid]
                for cid, (_, c) in screen.entries.items()
            )
            assert "SIMULATED" in screen_text(app)
            assert "✗ 3 failed" in screen_text(app) and "✓ 3 valid" in screen_text(app)
            await pilot.press("f")  # failing only
            await pilot.pause()
            lines = data_lines(screen.table)
            assert len(lines) == 4 and not any("✓ Valid" in line for line in lines)
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
            await wait_until(pilot, lambda: len(app.checks.live) == 7 and app.checks.idle(), "the checks", 3000)
