"""Columns that fit the terminal: the names that matter in full at 80 columns, cut with … beyond,
and the cursor row's cut cells spelled out on the info line."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from textual.widgets import Static

from kms_connect.core.models import ConnectionDraft
from kms_connect.core.status import Method
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect.ui.screens.dashboard import DashboardScreen
from ui_helpers import data_lines, settle, static_text, table_lines

NAME_24 = "release-pipelines-vendor"  # 24 characters
ORG_19 = "contoso-engineering"  # 19 characters
PROJECT_20 = "Payments Platform EU"  # 20 characters
LONG_NAME = "release-pipelines-vendor-payments-eu"  # 36 characters


def pat(name: str, org: str = ORG_19) -> ConnectionDraft:
    return ConnectionDraft(
        name=name, method=Method.ACCESS_TOKEN, org_name=org, secrets={"access_token": SecretStr("x" * 52)}
    )


async def open_connections(app, pilot, project_id: str) -> ConnectionsScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    assert app.screen.table.move_cursor_to_key(project_id)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, ConnectionsScreen)
    return app.screen


@pytest.mark.parametrize("width", [80, 100, 120])
async def test_app_connections_show_a_24_character_name_and_a_19_character_org_in_full(make_app, store, width) -> None:
    project = await store.create_project(PROJECT_20)
    await store.create_connection(project.id, pat(NAME_24))
    app = make_app()
    async with app.run_test(size=(width, 24)) as pilot:
        screen = await open_connections(app, pilot, project.id)
        header, row = table_lines(screen.table)[:2]
        assert f"{NAME_24}  " in row and f"{ORG_19}  " in row and "– Not checked" in row
        assert "…" not in row
        assert ("App" in header.split()) is (width >= 120)  # the same on every row: gives way first
        assert (" Access Token " in row) is (width >= 100)
        assert (" PAT " in row) is (width < 100)


async def test_a_longer_name_is_cut_with_an_ellipsis_and_spelled_out_under_the_table(make_app, store) -> None:
    project = await store.create_project(PROJECT_20)
    await store.create_connection(project.id, pat(LONG_NAME))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_connections(app, pilot, project.id)
        [row] = data_lines(screen.table)
        assert LONG_NAME not in row and f"{LONG_NAME[:23]}…" in row  # cut, never wrapped
        assert static_text(screen.query_one("#info", Static)).startswith(f"Name: {LONG_NAME} · 1 connection")


async def test_the_dashboard_shows_a_20_character_project_and_a_24_character_name_at_80_columns(
    make_app, store
) -> None:
    project = await store.create_project(PROJECT_20)
    await store.create_connection(project.id, pat(NAME_24))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        header, row = table_lines(screen.table)[:2]
        assert f"{PROJECT_20}  " in row and f"{NAME_24}  " in row and "…" not in row
        assert "Took" not in header and "Problem" not in header  # they give way at 80 columns
