"""The target-project picker (ui/modals/project_picker.py): listed live, filtered, picked by key."""

from __future__ import annotations

import asyncio

from textual.widgets import OptionList

from kms_connect.core.errors import KmsConnectError
from kms_connect.ui.modals.confirm import ConfirmModal
from kms_connect.ui.modals.project_picker import ProjectPickerModal
from ui_helpers import screen_text, settle, static_text, type_text, wait_for_screen, wait_until

SIZE = (80, 24)


def opened(app, picker: ProjectPickerModal) -> list[list[str] | None]:  # type: ignore[no-untyped-def]
    answers: list[list[str] | None] = []
    app.push_screen(picker, answers.append)
    return answers


async def test_projects_listed_filtered_and_picked_by_key(make_app) -> None:  # type: ignore[no-untyped-def]
    listed = asyncio.Event()

    async def load() -> list[str]:
        await listed.wait()  # the dialog is usable while it lists
        return ["Platform", "payments", "Infra", "Payroll"]

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        picker = ProjectPickerModal("contoso-dev", [], load)
        answers = opened(app, picker)
        await wait_for_screen(pilot, ProjectPickerModal)
        assert "Listing the projects" in screen_text(app)
        listed.set()
        await wait_until(pilot, lambda: picker.projects is not None, "the listing")
        assert "[ ] Infra" in screen_text(app) and "4 projects in contoso-dev" in screen_text(app)
        await type_text(pilot, "pay")  # two match: Enter goes to the list
        await pilot.press("enter")
        assert "[ ] Infra" not in screen_text(app) and "[ ] payments" in screen_text(app)
        await pilot.press("space")  # the first shown: payments
        await pilot.press("down", "enter")  # Enter picks too: Payroll
        assert "[x] payments" in screen_text(app) and "[x] Payroll" in screen_text(app)
        await pilot.press("enter")  # and leaves it again
        assert "[ ] Payroll" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(answers), "the answer")
    assert answers == [["payments"]]


async def test_one_match_is_picked_by_enter_and_esc_asks_before_dropping_a_change(make_app) -> None:  # type: ignore[no-untyped-def]
    async def load() -> list[str]:
        return ["Platform", "Payments"]

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        picker = ProjectPickerModal("contoso-dev", ["Platform"], load)
        answers = opened(app, picker)
        await wait_until(pilot, lambda: picker.projects is not None, "the listing")
        await type_text(pilot, "paym")
        await pilot.press("enter")
        assert picker.chosen == ["Platform", "Payments"]
        assert picker.query_one("#picker-filter").value == ""  # ready for the next name
        await pilot.press("escape")
        await wait_for_screen(pilot, ConfirmModal)
        await pilot.press("escape")  # Keep editing
        await wait_for_screen(pilot, ProjectPickerModal)
        assert picker.chosen == ["Platform", "Payments"] and answers == []


async def test_a_listing_that_fails_says_why_and_takes_typed_names(make_app) -> None:  # type: ignore[no-untyped-def]
    async def load() -> list[str]:
        raise KmsConnectError("The PAT was refused (expired).")

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        picker = ProjectPickerModal("contoso-dev", [], load)
        answers = opened(app, picker)
        await wait_until(pilot, lambda: bool(picker.problem), "the failure")
        status = static_text(picker.query_one("#picker-status"))
        assert "Could not list the projects: The PAT was refused (expired)." in status
        await type_text(pilot, "infra")
        await pilot.press("enter")
        assert "[x] infra" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(answers), "the answer")
    assert answers == [["infra"]]


async def test_the_edit_dialog_keeps_target_projects_typed_when_they_cannot_be_listed(make_app, store) -> None:  # type: ignore[no-untyped-def]
    from pydantic import SecretStr

    from kms_connect.core.models import ConnectionDraft
    from kms_connect.core.status import Method
    from kms_connect.ui.modals.edit_connection import EditConnectionModal
    from kms_connect.ui.screens.connections import ConnectionsScreen

    project = await store.create_project("Payments")
    draft = ConnectionDraft(
        name="ado", method=Method.ACCESS_TOKEN, org_name="contoso", secrets={"access_token": SecretStr("pat")}
    )
    await store.create_connection(project.id, draft)
    app = make_app()  # live checks off: the projects cannot be listed
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(ConnectionsScreen(project))
        await wait_for_screen(pilot, ConnectionsScreen)
        await settle(pilot)
        await pilot.press("e")
        dialog = await wait_for_screen(pilot, EditConnectionModal)
        await pilot.press("ctrl+l")
        picker = await wait_for_screen(pilot, ProjectPickerModal)
        await wait_until(pilot, lambda: bool(picker.problem), "the failure")
        await type_text(pilot, "infra")
        await pilot.press("enter", "ctrl+s")
        await wait_for_screen(pilot, EditConnectionModal)
        assert "Target projects: infra" in static_text(dialog.query_one("#targets"))
        await pilot.press("ctrl+s")
        await wait_for_screen(pilot, ConnectionsScreen)
        await settle(pilot)
    [conn] = await store.list_connections(project.id)
    assert conn.target_projects == ["infra"]


async def test_one_project_mode_down_from_the_filter_then_enter_picks(make_app) -> None:  # type: ignore[no-untyped-def]
    """The sync form's picker: one project, (•) / ( ); Down leaves the filter for the list."""

    async def load() -> list[str]:
        return ["Payments", "Platform"]

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        picker = ProjectPickerModal("contoso-dev", ["Payments"], load, single="The project the sync writes to.")
        answers = opened(app, picker)
        await wait_for_screen(pilot, ProjectPickerModal)
        await wait_until(pilot, lambda: picker.projects is not None, "the listing")
        assert "(•) Payments" in screen_text(app) and "( ) Platform" in screen_text(app)
        await pilot.press("down")
        await wait_until(pilot, lambda: isinstance(app.focused, OptionList), "the list focused")
        await pilot.press("down", "enter")  # the second project: one pick closes the picker
        await wait_until(pilot, lambda: bool(answers), "the pick")
    assert answers == [["Platform"]]


async def test_enter_while_listing_takes_no_partial_name(make_app) -> None:  # type: ignore[no-untyped-def]
    listed = asyncio.Event()

    async def load() -> list[str]:
        await listed.wait()
        return ["Payments", "Platform"]

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        picker = ProjectPickerModal("contoso-dev", [], load, single="The project the sync writes to.")
        answers = opened(app, picker)
        await wait_for_screen(pilot, ProjectPickerModal)
        await type_text(pilot, "Plat")
        await pilot.press("enter")  # still listing: "Plat" is not a project
        assert answers == [] and "Still listing the projects of contoso-dev" in screen_text(app)
        listed.set()
        await wait_until(pilot, lambda: picker.projects is not None, "the listing")
        await pilot.press("enter")  # one project left by the filter: picked
        await wait_until(pilot, lambda: bool(answers), "the pick")
    assert answers == [["Platform"]]
