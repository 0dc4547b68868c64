"""The Secret Syncs that use a connection (issue 19): listed in its details, named before its delete,
and the instance's refusal to delete it shown in words; against the KMS simulator, whose delete is
refused as Infisical's is while a sync uses the connection. The local store is unchanged."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from kms_connect.core.kms import sync_users
from kms_connect.core.kms.sync_users import SyncUsers
from kms_connect.core.kms.syncs import SecretSync, SyncStatus
from kms_connect.ui.connection_syncs import LISTED_IN_DELETE, delete_warning, details_text
from kms_connect.ui.modals.confirm import ConfirmModal
from kms_connect.ui.modals.connection_details import SYNCS_LOADING, ConnectionDetailsModal
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect_sim.kms_sync_sample import add_sample_syncs
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS, SAMPLE_PLATFORM
from test_ui_instances import add_instance, make_app, world  # noqa: F401 - the fixture, by name
from test_ui_syncs import flat
from ui_helpers import answer, notices, screen_text, seed_store, settle, static_text, wait_for_screen, wait_until

SIZE = (80, 24)


async def open_project(pilot, app, project_id: str) -> ConnectionsScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    assert app.screen.table.move_cursor_to_key(project_id)
    await pilot.press("enter")
    screen = await wait_for_screen(pilot, ConnectionsScreen)
    await settle(pilot)
    return screen


def syncs_block(app) -> str:  # type: ignore[no-untyped-def]
    return static_text(app.screen.query_one("#details-syncs", Static))


async def details_of(pilot, screen: ConnectionsScreen, connection_id: str) -> ConnectionDetailsModal:  # type: ignore[no-untyped-def]
    assert screen.table.move_cursor_to_key(connection_id)
    await pilot.press("enter")
    return await wait_for_screen(pilot, ConnectionDetailsModal)


@pytest.fixture
def on_instance(world, paths, kms, kms_identity, sample):  # type: ignore[no-untyped-def]  # noqa: F811
    """The instance `prod` with the two sample syncs run once (payments-prod ✓, platform-dev ✗)."""
    settings, local = world
    add_instance(paths, settings, local, kms, kms_identity)
    made = add_sample_syncs(kms.kms_world, sample[1])
    kms.run_jobs()
    return make_app(paths, settings, local, "prod"), made


# --- the details ---------------------------------------------------------------------------------
async def test_details_list_the_syncs_of_the_connection_with_their_status(on_instance, kms) -> None:
    app, made = on_instance
    spare = kms.kms_world.add_connection("ado-spare", "access-token", {"orgName": "o"}, project_id=SAMPLE_PAYMENTS)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_project(pilot, app, SAMPLE_PAYMENTS)
        await details_of(pilot, screen, made.healthy_connection.id)
        await wait_until(pilot, lambda: syncs_block(app) != SYNCS_LOADING, "the syncs")
        block = syncs_block(app)
        assert "Payments/payments-prod: Production → Payments · ✓ Succeeded · synced just now" in block
        assert "platform-dev" not in block  # another connection's
        await pilot.press("end")  # at 80x24 the block is below the fold: the dialog scrolls to it
        await pilot.pause()
        shown = screen_text(app)
        assert "Secret Syncs" in shown and "✓ Succeeded" in shown
        await pilot.press("escape")
        await wait_for_screen(pilot, ConnectionsScreen)
        await details_of(pilot, screen, spare.id)
        await wait_until(pilot, lambda: syncs_block(app) == "None use this connection.", "none")
        await pilot.press("escape")
        await wait_for_screen(pilot, ConnectionsScreen)
        await pilot.press("escape")
        screen = await open_project(pilot, app, SAMPLE_PLATFORM)
        await details_of(pilot, screen, made.failing_connection.id)
        await wait_until(pilot, lambda: "✗ Failed" in syncs_block(app), "the failed one")
        assert syncs_block(app) == "Platform/platform-dev: Development → Platform · ✗ Failed · never synced"


async def test_details_open_at_once_and_fill_in_when_the_instance_answers(on_instance, kms) -> None:
    app, made = on_instance
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_project(pilot, app, SAMPLE_PAYMENTS)
        gate = kms.hold("secret-syncs/azure-devops")  # the syncs' answer waits for the test
        try:
            await details_of(pilot, screen, made.healthy_connection.id)
            assert syncs_block(app) == SYNCS_LOADING  # the dialog is up, its other fields shown
            assert "Organization" in screen_text(app)
        finally:
            gate.set()
        await wait_until(pilot, lambda: "payments-prod" in syncs_block(app), "the syncs")


async def test_details_say_in_a_line_when_the_syncs_cannot_be_read(on_instance, kms, monkeypatch) -> None:
    app, made = on_instance
    monkeypatch.setattr(sync_users, "DEADLINE", 0.3)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_project(pilot, app, SAMPLE_PAYMENTS)
        gate = kms.hold("secret-syncs/azure-devops")  # no answer: the deadline ends the wait
        try:
            await details_of(pilot, screen, made.healthy_connection.id)
            await wait_until(pilot, lambda: syncs_block(app) != SYNCS_LOADING, "the deadline", 3000)
        finally:
            gate.set()
        assert syncs_block(app) == "Cannot list them: The instance prod did not list its Secret Syncs within 0.3 s."
        await pilot.press("escape")
        await wait_for_screen(pilot, ConnectionsScreen)
        kms.kms_world.secret_syncs_routes = False  # an instance older than Secret Syncs
        await details_of(pilot, screen, made.healthy_connection.id)
        await wait_until(pilot, lambda: syncs_block(app) != SYNCS_LOADING, "the answer")
        block = syncs_block(app)
        assert "has no Secret Syncs" in block and "Traceback" not in block and "Route GET" not in block


# --- the delete ----------------------------------------------------------------------------------
async def test_delete_names_the_syncs_then_shows_the_refusal_and_keeps_the_connection(on_instance, kms) -> None:
    app, made = on_instance
    conn_id = made.healthy_connection.id
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_project(pilot, app, SAMPLE_PAYMENTS)
        assert screen.table.move_cursor_to_key(conn_id)
        await pilot.press("d")
        question = await wait_for_screen(pilot, ConfirmModal)
        said = flat(app)
        assert "These Secret Syncs use it and will stop working:" in said
        assert "Payments/payments-prod: Production → Payments · ✓ Succeeded" in said
        assert question._confirm_label == "Delete anyway" and "Delete anyway" in said
        await answer(pilot, "y")
        await wait_until(pilot, lambda: any("Not deleted" in n for n in notices(app)), "the refusal")
        [refusal] = [n for n in notices(app) if "Not deleted" in n]
        assert "The instance refused the delete" in refusal
        assert "Cannot delete App Connection with existing connections" in refusal  # the instance's own words
        assert "delete those syncs or move them to another connection" in refusal
        assert conn_id in kms.kms_world.connections and screen.connections.get(conn_id) is not None


async def test_keys_typed_while_the_syncs_load_wait_for_the_question(on_instance, kms) -> None:
    app, made = on_instance
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_project(pilot, app, SAMPLE_PAYMENTS)
        assert screen.table.move_cursor_to_key(made.healthy_connection.id)
        gate = kms.hold("secret-syncs/azure-devops")
        try:
            await pilot.press("d", "escape")  # Esc would leave the screen, were it not held
            await pilot.pause()
            assert app.screen is screen and app.gate.queued == 1
        finally:
            gate.set()
        await wait_for_screen(pilot, ConfirmModal)
        # Typed before the question showed: dropped and named, never taken as its answer (input_gate).
        await wait_until(pilot, lambda: any("typed before this question" in n for n in notices(app)), "the notice")
        assert isinstance(app.screen, ConfirmModal) and "payments-prod" in flat(app)
        await answer(pilot, "n")
        await wait_for_screen(pilot, ConnectionsScreen)
        assert made.healthy_connection.id in kms.kms_world.connections


async def test_a_connection_no_sync_uses_is_deleted_after_the_plain_question(on_instance, kms) -> None:
    app, _ = on_instance
    spare = kms.kms_world.add_connection("ado-spare", "access-token", {"orgName": "o"}, project_id=SAMPLE_PAYMENTS)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_project(pilot, app, SAMPLE_PAYMENTS)
        assert screen.table.move_cursor_to_key(spare.id)
        await pilot.press("d")
        question = await wait_for_screen(pilot, ConfirmModal)
        assert "No Secret Sync uses it." in flat(app) and question._confirm_label == "Delete connection"
        await answer(pilot, "y")
        await wait_until(pilot, lambda: spare.id not in kms.kms_world.connections, "the delete")


# --- the local store -----------------------------------------------------------------------------
async def test_the_local_store_details_say_nothing_of_syncs(world, paths) -> None:  # noqa: F811
    settings, local = world
    ids = seed_store(paths)
    app = make_app(paths, settings, local)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_project(pilot, app, ids["Payments Platform"])
        await details_of(pilot, screen, ids["prod-release"])
        await pilot.press("end")
        await settle(pilot)
        assert not app.screen.query("#details-syncs") and "Secret Syncs" not in screen_text(app)
        assert not [w for w in app.workers if w.group == "details-syncs"]  # nothing was asked


# --- the words -----------------------------------------------------------------------------------
def a_sync(name: str, status: SyncStatus = SyncStatus.SUCCEEDED) -> SecretSync:
    return SecretSync(
        project="Payments",
        project_id="p",
        name=name,
        id=name,
        environment="prod",
        environment_name="Production",
        secret_path="/app",
        devops_project="Payments",
        devops_project_id="d",
        connection="ado-sync-pat",
        connection_id="c",
        auto_sync=True,
        status=status,
    )


def test_a_long_list_is_counted_in_the_question_and_whole_in_the_details() -> None:
    users = SyncUsers([a_sync(f"s{i}") for i in range(LISTED_IN_DELETE + 2)], hidden=["Secret Ops"])
    asked = delete_warning(users)
    assert "s3" in asked and "s4" not in asked and "and 2 more (the connection's details list them all)" in asked
    assert "Production /app → Payments" in asked  # a folder other than the root is named
    assert "Not counted: the syncs of Secret Ops" in asked
    detailed = details_text(users)
    assert all(f"Payments/s{i}:" in detailed for i in range(LISTED_IN_DELETE + 2))
    assert detailed.endswith("which this machine identity may not read.")
    assert details_text(SyncUsers([], unsupported="The instance prod has no Secret Syncs.")) == (
        "The instance prod has no Secret Syncs."
    )
    assert delete_warning(SyncUsers([], unsupported="The instance prod has no Secret Syncs.")) == ""
