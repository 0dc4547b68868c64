"""An instance older than App Connections and Secret Syncs (issue 19, "Older instances") where the
operator meets it: the TUI at 80x24 (Projects lists the projects; App Connections says in place of
the table what the instance lacks) and the headless commands (the sentence, exit 2). Against the
KMS simulator's September 2024 mode."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from kms_connect.core.instances import Instance
from kms_connect.core.sources import save_instance
from kms_connect.ui.modals.instance_form import InstanceFormModal
from kms_connect.ui.modals.method_picker import MethodPickerModal
from kms_connect.ui.modals.sources import SourcesModal
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect.ui.screens.projects import ProjectsScreen
from kms_connect_sim.kms_world import SAMPLE_ORG_ID, SAMPLE_PAYMENTS
from test_headless import run, workspace  # noqa: F401 - the fixture, by name
from test_ui_instances import SIZE, make_app, world  # noqa: F401 - the fixture, by name
from ui_helpers import data_lines, fill, notices, screen_text, settle, static_text, wait_for_screen, wait_until

LACKS = (
    "The instance prod has no App Connections: it answers /api/v1/app-connections/azure-devops with 404, as "
    "instances older than App Connections for Azure DevOps do. Upgrade the instance to use them."
)


@pytest.fixture
def older(kms):  # type: ignore[no-untyped-def]
    kms.kms_world.september_2024 = True
    return kms


def add_prod(paths, settings, local, kms, identity, org_id: str | None = SAMPLE_ORG_ID) -> None:  # type: ignore[no-untyped-def]
    instance = Instance(name="prod", url=kms.url, client_id=identity.client_id, org_id=org_id)
    save_instance(paths, settings, local, instance, identity.client_secret)


def words(text: str) -> str:
    return " ".join(text.split())


def no_raw_answer(text: str) -> None:
    """The instance's own 404 never reaches the operator: "404" only inside the plain sentence."""
    assert "Route" not in text and "Not Found" not in text and "Unauthorized Access" not in text
    assert text.count("404") == text.count("with 404")


# --- the TUI -----------------------------------------------------------------------------------------
async def test_projects_then_what_the_instance_lacks_on_app_connections(world, paths, older, kms_identity) -> None:  # noqa: F811
    settings, local = world
    add_prod(paths, settings, local, older, kms_identity)
    app = make_app(paths, settings, local, "prod")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        projects = app.screen
        assert isinstance(projects, ProjectsScreen)
        lines = data_lines(projects.table)
        assert len(lines) == 2 and "Payments" in lines[0] and "Platform" in lines[1]
        assert "?" in lines[0]  # no count: the instance has no App Connections to count
        assert LACKS in notices(app)
        no_raw_answer(screen_text(app))
        assert projects.table.move_cursor_to_key(SAMPLE_PAYMENTS)
        await pilot.press("enter")
        conns = await wait_for_screen(pilot, ConnectionsScreen)
        await settle(pilot)
        assert not conns.table.display
        shown = words(static_text(conns.query_one("#empty", Static)))
        assert shown.startswith("✗ Cannot list the connections.") and LACKS in shown
        text = screen_text(app)
        assert "has no App Connections" in text and "Upgrade the instance to use them." in words(text)
        no_raw_answer(text)
        await pilot.press("a")  # adding asks the instance's options: the same sentence, not its 404
        await settle(pilot)
        assert not isinstance(app.screen, MethodPickerModal)
        assert notices(app)[-1] == LACKS
        no_raw_answer(screen_text(app))


async def test_without_the_organization_id_projects_say_where_to_set_it(world, paths, older, kms_identity) -> None:  # noqa: F811
    settings, local = world
    add_prod(paths, settings, local, older, kms_identity, org_id=None)
    app = make_app(paths, settings, local, "prod")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        projects = app.screen
        assert isinstance(projects, ProjectsScreen) and not projects.table.display
        shown = words(static_text(projects.query_one("#empty", Static)))
        assert "Cannot open Instance prod." in shown and "needs its organization ID set here" in shown
        assert "(Source → Edit instance, keys i then e), field Organization ID" in shown
        assert "403" not in screen_text(app)
        # As it says: Source, Edit instance, Organization ID.
        await pilot.press("i")
        await wait_for_screen(pilot, SourcesModal)
        await pilot.press("e")
        form = await wait_for_screen(pilot, InstanceFormModal)
        await fill(pilot, form, "org_id", SAMPLE_ORG_ID, how="paste")
        await pilot.press("ctrl+s")  # the open instance edited: it is opened again, with its ID
        await wait_until(pilot, lambda: app.ws.backend.instance.org_id == SAMPLE_ORG_ID, "the reopened instance")
        screen = await wait_for_screen(pilot, ProjectsScreen)
        await settle(pilot)
        assert screen.table.display and len(data_lines(screen.table)) == 2
        assert f'org_id = "{SAMPLE_ORG_ID}"' in paths.instances_file.read_text()


# --- the headless commands ---------------------------------------------------------------------------
async def test_list_check_and_syncs_say_what_it_lacks(workspace, older, kms_identity) -> None:  # noqa: F811
    paths, store = workspace
    add_prod(paths, store.settings, store, older, kms_identity)
    for args in (("list",), ("list", "--json"), ("check",), ("check", "--json"), ("check", "--project", "Payments")):
        done = run(*args, "--instance", "prod")
        assert done.returncode == 2, (args, done.stderr)
        assert done.stdout == "" and done.stderr == f"kms-connect: {LACKS}\n"
    for args in (("syncs",), ("syncs", "--json")):
        done = run(*args, "--instance", "prod")
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith("kms-connect: The instance prod has no Secret Syncs: it answers ")
        assert "Upgrade the instance to use them." in done.stderr
        no_raw_answer(done.stderr)
    shown = run("config", "--instance", "prod")
    assert shown.returncode == 0 and f"organization ID    {SAMPLE_ORG_ID}" in shown.stdout
