"""Every action of a screen is reachable from the command palette, hidden footer ones included."""

from __future__ import annotations

from kms_connect.ui.screens.connections import ConnectionsScreen
from ui_helpers import settle


async def test_palette_offers_the_projects_actions(make_app, store) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for expected in (
            "Projects: New",
            "Projects: Delete",
            "Projects: Filter",
            "Projects: Reload",
            "Projects: Open",
            "Help",
        ):
            assert expected in titles, titles


async def test_palette_runs_a_hidden_action(make_app, store) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConnectionsScreen)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert "App Connections: Add" in commands and "App Connections: Filter" in commands
        # Run "Filter" (show=False in the footer) through the palette's own machinery.
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"App Connections: Filter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "filter"


async def test_escape_clears_an_active_filter_before_going_back(make_app, store) -> None:
    project = await store.create_project("Payments")
    await store.create_project("Warehouse")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"pay", "enter")
        await settle(pilot)
        assert app.screen.table.visible_count == 1
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.table.visible_count == 2 and app.screen.filter_bar.value == ""
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConnectionsScreen) and app.screen.project.id == project.id
        await pilot.press("slash", *"zzz", "enter")
        await settle(pilot)
        await pilot.press("escape")  # clears the filter, stays
        await settle(pilot)
        assert isinstance(app.screen, ConnectionsScreen) and app.screen.filter_bar.value == ""
        await pilot.press("escape")  # now goes back
        await settle(pilot)
        assert not isinstance(app.screen, ConnectionsScreen)
