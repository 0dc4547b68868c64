"""The whole walk through the UI with Pilot: projects, App Connections, forms and modals.

Every test runs the real app on the test's local store (see conftest `make_app`) at 80x24 and
asserts on what the operator sees (table lines, widget text) and on what was stored.
"""

from __future__ import annotations

import os
import stat

import pytest
from textual.widgets import Button, Input, OptionList, Static

from kms_connect.core.status import Method
from kms_connect.ui.forms.access_token import AccessTokenForm
from kms_connect.ui.forms.client_secret import ClientSecretForm
from kms_connect.ui.forms.oauth import OAuthForm
from kms_connect.ui.modals.confirm import ConfirmModal
from kms_connect.ui.modals.connection_details import ConnectionDetailsModal
from kms_connect.ui.modals.edit_connection import EditConnectionModal
from kms_connect.ui.modals.help import HelpScreen
from kms_connect.ui.modals.method_picker import MethodPickerModal
from kms_connect.ui.modals.new_project import NewProjectModal
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect.ui.screens.projects import ProjectsScreen
from ui_helpers import (
    CLIENT_SECRET,
    GUID_CLIENT,
    GUID_OAUTH_APP,
    GUID_TENANT,
    PAT,
    answer,
    data_lines,
    fill,
    message_of,
    notices,
    paste,
    screen_text,
    seed_store,
    settle,
    static_text,
    table_lines,
    type_text,
    wait_for_screen,
)

SIZE = (80, 24)


# --- steps shared by the tests ------------------------------------------------------------------
async def create_project(pilot, name: str, description: str = "") -> None:
    await pilot.press("n")
    modal = await wait_for_screen(pilot, NewProjectModal)
    await type_text(pilot, name)
    if description:
        await pilot.press("tab")  # on to the optional Description (Enter in Name creates at once)
        await type_text(pilot, description)
        await pilot.press("enter")  # Enter in Description creates
    else:
        modal.query_one("#submit", Button).focus()
        await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ProjectsScreen)


async def open_project(pilot, name: str) -> ConnectionsScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ProjectsScreen)
    key = next(pid for pid, s in screen.summaries.items() if s.project.name == name)
    assert screen.table.move_cursor_to_key(key)
    await pilot.press("enter")
    conns = await wait_for_screen(pilot, ConnectionsScreen)
    await settle(pilot)
    return conns


async def open_picker(pilot) -> MethodPickerModal:
    await pilot.press("a")
    return await wait_for_screen(pilot, MethodPickerModal)


async def add_access_token(pilot, name: str, token: str = PAT, org: str = "contoso", *, submit: str = "button") -> None:
    await open_picker(pilot)
    await pilot.press("2")
    form = await wait_for_screen(pilot, AccessTokenForm)
    await fill(pilot, form, "name", name, how="paste")  # typing is covered by the walk test
    await fill(pilot, form, "access_token", token, how="paste")
    await fill(pilot, form, "org_name", org, how="paste")
    await submit_form(pilot, form, submit)


async def add_client_secret(pilot, name: str, secret: str = CLIENT_SECRET, org: str = "contoso") -> None:
    await open_picker(pilot)
    await pilot.press("3")
    form = await wait_for_screen(pilot, ClientSecretForm)
    await fill(pilot, form, "name", name, how="paste")
    await fill(pilot, form, "tenant_id", GUID_TENANT, how="paste")
    await fill(pilot, form, "client_id", GUID_CLIENT, how="paste")
    await fill(pilot, form, "client_secret", secret, how="paste")
    await fill(pilot, form, "org_name", org)
    await submit_form(pilot, form, "ctrl+s")


async def submit_form(pilot, form, how: str) -> None:
    if how == "button":
        form.query_one("#submit", Button).focus()
        await pilot.pause()
        await pilot.press("enter")
    else:
        await pilot.press(how)
    await settle(pilot)


def row_for(screen, name: str) -> str:
    """The table line of connection `name` (moves the cursor there; names may show truncated)."""
    key = next(k for k, c in screen.connections.items() if c.name == name)
    assert screen.table.move_cursor_to_key(key)
    [line] = [line for line in table_lines(screen.table) if line.startswith("▶")]
    shown = line[1:].split("  ")[0].rstrip().removesuffix("…")
    assert shown and name.startswith(shown), (name, line)
    return line


@pytest.fixture
def oauth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID", GUID_OAUTH_APP)


# --- projects ------------------------------------------------------------------------------------
async def test_empty_projects_screen_says_what_to_do(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProjectsScreen)
        assert not screen.table.display
        empty = static_text(screen.query_one("#empty", Static))
        assert "No projects yet." in empty
        assert "Press n to create your first project." in empty
        assert static_text(screen.query_one("#info", Static)) == "0 projects"


async def test_create_project_shows_slug_and_lists_it(make_app, store) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        modal = await wait_for_screen(pilot, NewProjectModal)
        assert static_text(modal.query_one("#slug", Static)) == "Slug: –"
        await type_text(pilot, "Payments Platform!")
        assert static_text(modal.query_one("#slug", Static)) == "Slug: payments-platform"
        await pilot.press("tab")  # Name -> Description (Enter would create the project: Description is optional)
        assert app.focused is modal.query_one("#input-description", Input)
        await type_text(pilot, "Card payments")
        await pilot.press("enter")  # Enter in the last field creates the project
        await settle(pilot)

        screen = app.screen
        assert isinstance(screen, ProjectsScreen)
        summaries = await store.list_projects()
        assert [(s.project.name, s.project.slug, s.project.description) for s in summaries] == [
            ("Payments Platform!", "payments-platform", "Card payments")
        ]
        assert screen.table.cursor_key == summaries[0].project.id
        assert screen.table.visible_count == 1
        header, row = table_lines(screen.table)[:2]
        assert header.split() == ["Name", "Slug", "Connections"]
        assert row.startswith("▶")
        assert row[1:].split() == ["Payments", "Platform!", "payments-platform", "0"]
        assert static_text(screen.query_one("#info", Static)) == "1 project"


async def test_new_project_rejects_taken_slug_and_keeps_the_form(make_app, store) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        modal = await wait_for_screen(pilot, NewProjectModal)
        await type_text(pilot, "PAYMENTS")
        assert message_of(modal, "name") == "✗ A project with the slug “payments” exists already; pick another name."
        modal.query_one("#submit", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is modal
        assert modal.query_one("#input-name", Input).value == "PAYMENTS"
        assert app.focused is modal.query_one("#input-name", Input)
        assert len(await store.list_projects()) == 1


async def test_new_project_escape_creates_nothing(make_app, store) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await wait_for_screen(pilot, NewProjectModal)
        await type_text(pilot, "Nope")
        await pilot.press("escape")
        await answer(pilot, "y")  # a typed name goes only once confirmed
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
        assert await store.list_projects() == []


async def test_filter_narrows_projects(make_app, paths) -> None:
    seed_store(paths)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.table.visible_count == 3
        await pilot.press("slash")
        assert app.focused is screen.query_one("#filter", Input)
        await type_text(pilot, "lake")
        assert screen.table.visible_count == 1
        assert data_lines(screen.table)[0][1:].split()[:2] == ["Data", "Lake"]
        assert static_text(screen.query_one("#info", Static)) == "1 of 3 projects match “lake”"
        await pilot.press("enter")  # back to the table; Enter there opens the match
        assert app.focused is screen.table
        await pilot.press("enter")
        conns = await wait_for_screen(pilot, ConnectionsScreen)
        assert conns.project.name == "Data Lake"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press("escape")  # Esc in the filter clears it
        await settle(pilot)
        assert screen.table.visible_count == 3
        assert screen.query_one("#filter", Input).value == ""


async def test_filter_with_no_match_shows_no_rows(make_app, paths) -> None:
    seed_store(paths)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "zzz")
        screen = app.screen
        assert screen.table.visible_count == 0
        assert screen.table.cursor_key is None
        assert data_lines(screen.table) == []
        assert static_text(screen.query_one("#info", Static)) == "0 of 3 projects match “zzz”"


# --- the whole walk ------------------------------------------------------------------------------
async def test_walk_create_project_add_access_token_and_see_it(make_app, store, paths, memory_keyring) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await create_project(pilot, "Payments")
        projects = app.screen
        assert data_lines(projects.table)[0][1:].split() == ["Payments", "payments", "0"]

        conns = await open_project(pilot, "Payments")
        assert conns.title == "App Connections · Payments"
        assert "No App Connections in this project yet." in static_text(conns.query_one("#empty", Static))

        picker = await open_picker(pilot)
        await pilot.press("2")
        form = await wait_for_screen(pilot, AccessTokenForm)
        assert static_text(form.query_one(".dialog-title", Static)) == "Add Connection · Azure DevOps · Access Token"
        assert picker not in app.screen_stack
        await fill(pilot, form, "name", "prod-release")
        await fill(pilot, form, "description", "Release pipelines")
        token = await fill(pilot, form, "access_token", PAT, how="paste")
        assert token.password  # masked
        org = await fill(pilot, form, "org_name", "https://dev.azure.com/contoso/_git/repo", how="paste")
        assert org.value == "contoso"
        await submit_form(pilot, form, "button")

        assert app.screen is conns
        [conn] = await store.list_connections(conns.project.id)
        assert (conn.name, conn.description, conn.method, conn.org_name) == (
            "prod-release",
            "Release pipelines",
            Method.ACCESS_TOKEN,
            "contoso",
        )
        assert conn.tenant_id is None and conn.client_id is None
        assert conns.table.cursor_key == conn.id
        row = row_for(conns, "prod-release")
        # At 80 columns App (the same on every row) gives way and Method is short: the name has room.
        assert "Azure DevOps" not in row and " PAT " in row and "contoso" in row
        assert "– Not checked" in row
        assert row.rstrip().endswith("never")
        assert static_text(conns.query_one("#info", Static)) == "1 connection · Local store"
        assert any("Connection “prod-release” saved · – Not checked." in n for n in notices(app))

        # The secret went to the keyring, never to the store file or the screen.
        assert PAT in memory_keyring.data.values()
        assert PAT.encode() not in paths.store_file.read_bytes()
        assert not paths.secrets_file.exists()
        assert PAT not in app.export_screenshot()
        assert PAT not in screen_text(app)

        # Back to Projects: the count went up.
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
        assert data_lines(app.screen.table)[0][1:].split() == ["Payments", "payments", "1"]


async def test_picker_arrow_keys_and_enter_pick_access_token(make_app, store) -> None:
    project = await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_project(pilot, "Payments")
        picker = await open_picker(pilot)
        methods = picker.query_one("#methods", OptionList)
        assert app.focused is methods
        assert methods.highlighted == 1  # OAuth is unavailable: Access Token comes first
        await pilot.press("down")
        assert methods.highlighted == 2
        assert "service principal" in static_text(picker.query_one("#prereq", Static))
        await pilot.press("up")
        assert methods.highlighted == 1
        assert "personal access token" in static_text(picker.query_one("#prereq", Static))
        await pilot.press("enter")
        form = await wait_for_screen(pilot, AccessTokenForm)
        await fill(pilot, form, "name", "arrows")
        await fill(pilot, form, "access_token", PAT, how="paste")
        await fill(pilot, form, "org_name", "contoso")
        await submit_form(pilot, form, "ctrl+s")
        [conn] = await store.list_connections(project.id)
        assert conn.name == "arrows" and conn.method is Method.ACCESS_TOKEN


async def test_typed_org_url_is_reduced_when_the_field_is_left(make_app, store) -> None:
    project = await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_project(pilot, "Payments")
        await open_picker(pilot)
        await pilot.press("2")
        form = await wait_for_screen(pilot, AccessTokenForm)
        await fill(pilot, form, "name", "typed-url")
        await fill(pilot, form, "access_token", PAT, how="paste")
        org = await fill(pilot, form, "org_name", "https://dev.azure.com/fabrikam")
        # Typing is not cut short half way...
        assert org.value == "https://dev.azure.com/fabrikam"
        await pilot.press("tab")  # ...but leaving the field reduces it
        await pilot.pause()
        assert org.value == "fabrikam"
        await submit_form(pilot, form, "ctrl+s")
        [conn] = await store.list_connections(project.id)
        assert conn.org_name == "fabrikam"


async def test_add_client_secret_connection(make_app, store, paths, memory_keyring) -> None:
    project = await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        conns = await open_project(pilot, "Payments")
        await add_client_secret(pilot, "ci-sp")
        assert app.screen is conns
        [conn] = await store.list_connections(project.id)
        assert (conn.method, conn.tenant_id, conn.client_id, conn.org_name) == (
            Method.CLIENT_SECRET,
            GUID_TENANT,
            GUID_CLIENT,
            "contoso",
        )
        row = row_for(conns, "ci-sp")
        assert " Secret " in row and "– Not checked" in row
        assert memory_keyring.data[("kms-connect", f"connection/{conn.id}/client_secret")] == CLIENT_SECRET
        assert CLIENT_SECRET.encode() not in paths.store_file.read_bytes()
        assert CLIENT_SECRET not in app.export_screenshot()


async def test_details_show_fields_but_never_the_secret(make_app, store, paths) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        conns = await open_project(pilot, "Payments")
        await add_client_secret(pilot, "ci-sp")
        await pilot.press("enter")
        details = await wait_for_screen(pilot, ConnectionDetailsModal)
        text = screen_text(app)
        for expected in (
            "Connection · ci-sp",
            "Payments",
            "Azure DevOps",
            "Client Secret",
            "contoso  (https://dev.azure.com/contoso)",
            GUID_TENANT,
            GUID_CLIENT,
            "OS keyring (service 'kms-connect')",
            "– Not checked",
            "Last checked  never",
        ):
            assert expected in text, expected
        assert CLIENT_SECRET not in text
        assert CLIENT_SECRET not in app.export_screenshot()
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is conns
        assert details not in app.screen_stack


async def test_edit_name_and_description(make_app, store) -> None:
    project = await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        conns = await open_project(pilot, "Payments")
        await add_access_token(pilot, "old-name")
        await add_access_token(pilot, "other")
        conns.table.move_cursor_to_key(next(k for k, c in conns.connections.items() if c.name == "old-name"))
        await pilot.press("e")
        modal = await wait_for_screen(pilot, EditConnectionModal)
        name = modal.query_one("#input-name", Input)
        assert name.value == "old-name"
        assert app.focused is name
        # A name taken in the project is refused as you type.
        name.value = "other"
        await pilot.pause()
        assert message_of(modal, "name") == "✗ “other” is already used in this project; pick another name."
        name.value = ""
        await type_text(pilot, "new-name")
        assert message_of(modal, "name") == ""
        modal.query_one("#input-description", Input).focus()
        await type_text(pilot, "Now described")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is conns
        by_name = {c.name: c for c in await store.list_connections(project.id)}
        assert set(by_name) == {"new-name", "other"}
        assert by_name["new-name"].description == "Now described"
        assert by_name["new-name"].secrets  # credentials untouched
        assert conns.table.cursor_key == by_name["new-name"].id
        row_for(conns, "new-name")


async def test_edit_from_details_modal(make_app, store) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_project(pilot, "Payments")
        await add_access_token(pilot, "conn")
        await pilot.press("enter")
        await wait_for_screen(pilot, ConnectionDetailsModal)
        await pilot.press("e")
        modal = await wait_for_screen(pilot, EditConnectionModal)
        assert modal.query_one("#input-name", Input).value == "conn"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConnectionsScreen)


async def test_replace_credentials(make_app, store, paths, memory_keyring) -> None:
    project = await store.create_project("Payments")
    app = make_app()
    new_pat = "newpat0value0abcdefghijklmnopqrstuvwxyz0123456789"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        conns = await open_project(pilot, "Payments")
        await add_access_token(pilot, "prod", org="contoso")
        [before] = await store.list_connections(project.id)
        await pilot.press("c")
        form = await wait_for_screen(pilot, AccessTokenForm)
        title = static_text(form.query_one(".dialog-title", Static))
        assert title == "Replace credentials · prod · Access Token"
        assert str(form.query_one("#submit", Button).label) == "Reconnect to Azure"
        assert not form.query("#field-name") and not form.query("#field-description")
        assert form.query_one("#input-org_name", Input).value == "contoso"  # kept
        assert form.query_one("#input-access_token", Input).value == ""  # never shown again
        assert app.focused is form.query_one("#input-access_token", Input)
        await paste(pilot, new_pat)
        await fill(pilot, form, "org_name", "-fabrikam")
        form.query_one("#input-org_name", Input).value = "fabrikam"
        await pilot.pause()
        await submit_form(pilot, form, "button")

        assert app.screen is conns
        [after] = await store.list_connections(project.id)
        assert after.id == before.id and after.name == "prod" and after.org_name == "fabrikam"
        # Under the next generation's key: the old secret stayed whole until the record pointed here.
        assert memory_keyring.data[("kms-connect", f"connection/{after.id}/access_token/1")] == new_pat
        assert PAT not in memory_keyring.data.values()
        assert new_pat.encode() not in paths.store_file.read_bytes()
        assert "fabrikam" in row_for(conns, "prod")


async def test_replace_credentials_from_details_client_secret(make_app, store) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_project(pilot, "Payments")
        await add_client_secret(pilot, "sp")
        await pilot.press("enter")
        await wait_for_screen(pilot, ConnectionDetailsModal)
        await pilot.press("c")
        form = await wait_for_screen(pilot, ClientSecretForm)
        assert static_text(form.query_one(".dialog-title", Static)) == "Replace credentials · sp · Client Secret"
        assert form.query_one("#input-tenant_id", Input).value == GUID_TENANT
        assert form.query_one("#input-client_id", Input).value == GUID_CLIENT
        assert form.query_one("#input-client_secret", Input).value == ""
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConnectionsScreen)


async def test_delete_connection_confirm_and_cancel(make_app, store, memory_keyring) -> None:
    project = await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        conns = await open_project(pilot, "Payments")
        await add_access_token(pilot, "keep-me")
        await pilot.press("d")
        confirm = await wait_for_screen(pilot, ConfirmModal)
        assert static_text(confirm.query_one(".dialog-title", Static)) == "Delete connection “keep-me”?"
        assert static_text(confirm.query_one(".dialog-body", Static)) == (
            "The Access Token connection to contoso and its stored credentials will be removed. This cannot be undone."
        )
        assert app.focused is confirm.query_one("#cancel", Button)  # Enter is safe
        await answer(pilot, "n")
        await settle(pilot)
        assert app.screen is conns
        assert len(await store.list_connections(project.id)) == 1

        await pilot.press("d")
        await answer(pilot, "enter")  # Cancel has the focus
        await settle(pilot)
        assert len(await store.list_connections(project.id)) == 1

        await pilot.press("d")
        await answer(pilot, "y")
        await settle(pilot)
        assert app.screen is conns
        assert await store.list_connections(project.id) == []
        assert memory_keyring.data == {}
        assert not conns.table.display
        assert "No App Connections in this project yet." in static_text(conns.query_one("#empty", Static))
        assert "Connection deleted." in notices(app)


async def test_delete_project_with_its_connections(make_app, store, memory_keyring) -> None:
    await store.create_project("Payments")
    await store.create_project("Other")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_project(pilot, "Payments")
        await add_access_token(pilot, "one")
        await add_client_secret(pilot, "two")
        assert len(memory_keyring.data) == 2
        await pilot.press("ctrl+g")
        await settle(pilot)
        projects = app.screen
        assert isinstance(projects, ProjectsScreen)
        key = next(k for k, s in projects.summaries.items() if s.project.name == "Payments")
        projects.table.move_cursor_to_key(key)

        await pilot.press("d")
        confirm = await wait_for_screen(pilot, ConfirmModal)
        assert static_text(confirm.query_one(".dialog-title", Static)) == "Delete project “Payments”?"
        assert static_text(confirm.query_one(".dialog-body", Static)) == (
            "Its 2 App Connections and their stored secrets go with it. This cannot be undone."
        )
        assert str(confirm.query_one("#confirm", Button).label) == "Delete project"
        await answer(pilot, "n")
        await settle(pilot)
        assert len(await store.list_projects()) == 2

        await pilot.press("d")
        await answer(pilot, "y")
        await settle(pilot)
        assert [s.project.name for s in await store.list_projects()] == ["Other"]
        assert memory_keyring.data == {}
        assert "Project deleted with 2 connections." in notices(app)
        assert projects.table.visible_count == 1


async def test_delete_empty_project_says_it_has_no_connections(make_app, store) -> None:
    await store.create_project("Empty")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        confirm = await wait_for_screen(pilot, ConfirmModal)
        assert (
            static_text(confirm.query_one(".dialog-body", Static))
            == "It has no App Connections. This cannot be undone."
        )
        await answer(pilot, "y")
        await settle(pilot)
        assert await store.list_projects() == []
        assert "No projects yet." in static_text(app.screen.query_one("#empty", Static))


@pytest.mark.parametrize("key", ["escape", "ctrl+g"])
async def test_back_from_connections_to_projects(make_app, store, key: str) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_project(pilot, "Payments")
        await pilot.press(key)
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
        assert not any(isinstance(s, ConnectionsScreen) for s in app.screen_stack)


# --- method picker -------------------------------------------------------------------------------
async def test_picker_escape_cancels(make_app, store) -> None:
    project = await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        conns = await open_project(pilot, "Payments")
        await open_picker(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is conns
        assert await store.list_connections(project.id) == []


async def test_picker_oauth_unavailable_digit_shows_reason_and_opens_no_form(make_app, store) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_project(pilot, "Payments")
        picker = await open_picker(pilot)
        assert "⊘ unavailable: no OAuth app configured" in screen_text(app)
        await pilot.press("1")
        await pilot.pause()
        assert app.screen is picker  # no form opened
        assert picker.query_one("#methods", OptionList).highlighted == 0
        text = static_text(picker.query_one("#prereq", Static))
        assert "No OAuth app is configured for kms-connect." in text
        assert "Set the env variable INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID" in text
        await pilot.press("2")
        await wait_for_screen(pilot, AccessTokenForm)


async def test_picker_oauth_unavailable_enter_refuses(make_app, store) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_project(pilot, "Payments")
        picker = await open_picker(pilot)
        await pilot.press("up")  # onto OAuth
        await pilot.pause()
        prereq = picker.query_one("#prereq", Static)
        assert static_text(prereq).startswith("⊘ Unavailable. No OAuth app is configured for kms-connect.")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is picker
        assert static_text(prereq).startswith("✗ OAuth cannot be chosen yet. No OAuth app is configured")
        assert prereq.has_class("-refused")


async def test_picker_oauth_unavailable_digit_marks_the_refusal(make_app, store) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_project(pilot, "Payments")
        picker = await open_picker(pilot)
        await pilot.press("1")
        await pilot.pause()
        prereq = picker.query_one("#prereq", Static)
        assert static_text(prereq).startswith("✗ OAuth cannot be chosen yet.")
        assert prereq.has_class("-refused")


async def test_picker_oauth_available_opens_oauth_form_and_explains_an_unreachable_entra(paths, oauth_env) -> None:
    import socket

    from kms_connect.core.checks import NoLiveChecks
    from kms_connect.core.config import AzureSettings, Settings
    from kms_connect.core.local_store import LocalStore
    from kms_connect.ui.app import KmsConnectApp

    with socket.socket() as sock:  # a port nobody listens on: Entra ID is unreachable
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(azure=AzureSettings(authority_host=f"https://127.0.0.1:{port}"))
    store = LocalStore(paths, settings)
    project = await store.create_project("Payments")
    app = KmsConnectApp(paths=paths, settings=settings, backend=store, checker=NoLiveChecks())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_project(pilot, "Payments")
        picker = await open_picker(pilot)
        methods = picker.query_one("#methods", OptionList)
        assert methods.highlighted == 0
        prereq = static_text(picker.query_one("#prereq", Static))
        assert f"client ID {GUID_OAUTH_APP} (env INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID)" in prereq
        await pilot.press("1")
        form = await wait_for_screen(pilot, OAuthForm)
        assert static_text(form.query_one(".dialog-title", Static)) == "Add Connection · Azure DevOps · OAuth"
        await fill(pilot, form, "name", "oauth-conn")
        await fill(pilot, form, "tenant_id", "contoso.onmicrosoft.com", how="paste")
        await fill(pilot, form, "org_name", "contoso", how="paste")
        await submit_form(pilot, form, "ctrl+s")
        assert app.screen is form  # still open, with everything typed
        status = static_text(form.query_one("#form-status", Static))
        # Refused: nothing was sent, so it was tried again (discovery, a GET) before saying so.
        assert status.startswith("✗ Sign-in failed · Entra ID: connection refused, 3 tries over ")
        assert "[azure] authority_host" in status
        assert form.query_one("#input-tenant_id", Input).value == "contoso.onmicrosoft.com"
        assert form.query_one("#fields").display
        assert await store.list_connections(project.id) == []


# --- help ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["question_mark", "f1"])
async def test_help_lists_the_projects_keys(make_app, key: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(key)
        help_screen = await wait_for_screen(pilot, HelpScreen)
        text = screen_text(app)
        assert "Help · Projects" in text
        assert "Your projects. Each one holds App Connections" in text
        keys = {desc: key for key, desc in help_screen._keys}
        for desc, shown in {"Filter": "/", "New": "n", "Delete": "d", "Reload": "r", "Open": "⏎", "Help": "?"}.items():
            assert keys.get(desc) == shown, (desc, help_screen._keys)
        # The screen's own keys come first: visible at 80x24 without scrolling.
        flat = " ".join(text.split())
        for line in ("/ Filter", "n New", "d Delete", "⏎ Open"):
            assert line in flat, line
        if key == "question_mark":
            for _ in range(14):  # down scrolls the help to the keys that work everywhere
                await pilot.press("down")
            assert "^q Quit kms-connect" in " ".join(screen_text(app).split())  # as the footers write keys
        await pilot.press(key)  # the same key closes it
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)


async def test_help_lists_the_connections_keys(make_app, store) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_project(pilot, "Payments")
        await pilot.press("question_mark")
        help_screen = await wait_for_screen(pilot, HelpScreen)
        keys = {desc: key for key, desc in help_screen._keys}
        for desc, key in {"Add": "a", "Edit": "e", "Credentials": "c", "Delete": "d", "Filter": "/"}.items():
            assert keys.get(desc) == key, (desc, help_screen._keys)
        assert keys.get("Back") in ("esc / ^g", "esc / ctrl+g", "escape / ctrl+g"), help_screen._keys
        assert "Help · App Connections · Payments" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConnectionsScreen)


# --- where secrets go ----------------------------------------------------------------------------
async def test_without_keyring_secret_goes_to_plaintext_file_with_notice(
    make_app, store, paths, failing_keyring, memory_keyring
) -> None:
    from kms_connect.ui.modals.notice import NoticeModal

    project = await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        conns = await open_project(pilot, "Payments")
        await add_access_token(pilot, "headless")
        [conn] = await store.list_connections(project.id)
        assert conn.secrets["access_token"].value == "file"
        assert PAT.encode() in paths.secrets_file.read_bytes()
        assert stat.S_IMODE(os.stat(paths.secrets_file).st_mode) == 0o600
        assert PAT.encode() not in paths.store_file.read_bytes()
        assert memory_keyring.data == {}

        # A notice that must be acknowledged says where the secret went, and why.
        notice = await wait_for_screen(pilot, NoticeModal)
        assert static_text(notice.query_one(".dialog-title", Static)) == "! Where secrets are kept"
        body = static_text(notice.query_one(".dialog-body", Static))
        assert "PLAINTEXT file" in body and str(paths.secrets_file) in body
        assert "no OS keyring is available" in body
        assert PAT not in body
        assert PAT not in app.export_screenshot()
        assert any("Connection “headless” saved" in n for n in notices(app))
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is conns

        # The notice is shown once per machine, not on every save.
        await add_access_token(pilot, "headless-2")
        assert app.screen is conns
        assert len(await store.list_connections(project.id)) == 2
