"""SVG snapshots of every screen and modal at 80x24 (the smallest supported) and 120x40.

Update after an intended UI change with `pytest tests/test_snapshots.py --snapshot-update`, look
at the SVGs (or snapshot_report.html on failure), and commit them with the change.

Stable output: the store is written with fixed ids and dates (ui_helpers.seed_store), secrets sit
in the in-memory keyring, the config path shown by the picker is the same on every machine, and
input cursors do not blink.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from kms_connect.ui.forms.access_token import AccessTokenForm
from kms_connect.ui.forms.client_secret import ClientSecretForm
from kms_connect.ui.forms.oauth import OAuthForm
from kms_connect.ui.modals.confirm import ConfirmModal
from kms_connect.ui.modals.connection_details import ConnectionDetailsModal
from kms_connect.ui.modals.help import HelpScreen
from kms_connect.ui.modals.method_picker import MethodPickerModal
from kms_connect.ui.modals.new_project import NewProjectModal
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect.ui.screens.projects import ProjectsScreen
from ui_helpers import (
    GUID_CLIENT,
    GUID_OAUTH_APP,
    PROJECT_IDS,
    no_blink,
    seed_store,
    settle,
    stable_path,
    type_text,
    wait_for_screen,
)

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
PAYMENTS = PROJECT_IDS["Payments Platform"]
Steps = Callable[[Pilot], Awaitable[None]]


@pytest.fixture
def snap_paths(tmp_path: Path):  # type: ignore[no-untyped-def]
    return stable_path(tmp_path)


@pytest.fixture
def snap_app(snap_paths):  # type: ignore[no-untyped-def]
    def make():  # type: ignore[no-untyped-def]
        from kms_connect.core.config import Settings
        from kms_connect.core.local_store import LocalStore
        from kms_connect.ui.app import KmsConnectApp

        settings = Settings()
        return KmsConnectApp(paths=snap_paths, settings=settings, backend=LocalStore(snap_paths, settings))

    return make


@pytest.fixture
def seeded(snap_paths, memory_keyring) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return seed_store(snap_paths, memory_keyring.data)


@pytest.fixture
def oauth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID", GUID_OAUTH_APP)


def steps(*actions: Steps) -> Steps:
    """Run the actions in order, then stop the cursors blinking for the screenshot."""

    async def run(pilot: Pilot) -> None:
        await settle(pilot)
        for action in actions:
            await action(pilot)
        await settle(pilot)
        no_blink(pilot.app)

    return run


async def open_payments(pilot: Pilot) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, ProjectsScreen)
    assert screen.table.move_cursor_to_key(PAYMENTS)
    await pilot.press("enter")
    await wait_for_screen(pilot, ConnectionsScreen)
    await settle(pilot)


async def open_picker(pilot: Pilot) -> None:
    await pilot.press("a")
    await wait_for_screen(pilot, MethodPickerModal)


def pick(digit: str, form_type: type) -> Steps:
    async def run(pilot: Pilot) -> None:
        await pilot.press(digit)
        await wait_for_screen(pilot, form_type)

    return run


def press(*keys: str) -> Steps:
    async def run(pilot: Pilot) -> None:
        await pilot.press(*keys)
        await pilot.pause()

    return run


def wait_for(screen_type: type) -> Steps:
    async def run(pilot: Pilot) -> None:
        await wait_for_screen(pilot, screen_type)

    return run


def fill(key: str, text: str) -> Steps:
    async def run(pilot: Pilot) -> None:
        pilot.app.screen.query_one(f"#input-{key}", Input).focus()
        await pilot.pause()
        await type_text(pilot, text)

    return run


# --- Projects ------------------------------------------------------------------------------------
@SIZES
def test_projects_empty(snap_compare, snap_app, size) -> None:
    assert snap_compare(snap_app(), terminal_size=size, run_before=steps())


@SIZES
def test_projects_list(snap_compare, snap_app, seeded, size) -> None:
    assert snap_compare(snap_app(), terminal_size=size, run_before=steps())


@SIZES
def test_new_project_modal(snap_compare, snap_app, seeded, size) -> None:
    assert snap_compare(
        snap_app(),
        terminal_size=size,
        run_before=steps(press("n"), wait_for(NewProjectModal), fill("name", "Mobile Apps")),
    )


# --- App Connections -----------------------------------------------------------------------------
@SIZES
def test_connections_list(snap_compare, snap_app, seeded, size) -> None:
    assert snap_compare(snap_app(), terminal_size=size, run_before=steps(open_payments))


@SIZES
def test_method_picker_oauth_unavailable(snap_compare, snap_app, seeded, size) -> None:
    assert snap_compare(snap_app(), terminal_size=size, run_before=steps(open_payments, open_picker))


@SIZES
def test_method_picker_oauth_available(snap_compare, snap_app, seeded, oauth_env, size) -> None:
    assert snap_compare(snap_app(), terminal_size=size, run_before=steps(open_payments, open_picker))


@SIZES
def test_form_access_token_empty(snap_compare, snap_app, seeded, size) -> None:
    assert snap_compare(
        snap_app(), terminal_size=size, run_before=steps(open_payments, open_picker, pick("2", AccessTokenForm))
    )


@SIZES
def test_form_client_secret_empty(snap_compare, snap_app, seeded, size) -> None:
    assert snap_compare(
        snap_app(), terminal_size=size, run_before=steps(open_payments, open_picker, pick("3", ClientSecretForm))
    )


@SIZES
def test_form_oauth_empty(snap_compare, snap_app, seeded, oauth_env, size) -> None:
    assert snap_compare(
        snap_app(), terminal_size=size, run_before=steps(open_payments, open_picker, pick("1", OAuthForm))
    )


@SIZES
def test_form_with_validation_errors(snap_compare, snap_app, seeded, size) -> None:
    """Client Secret form after ctrl+s: errors under the fields, a hint, the first bad field focused."""
    assert snap_compare(
        snap_app(),
        terminal_size=size,
        run_before=steps(
            open_payments,
            open_picker,
            pick("3", ClientSecretForm),
            fill("name", "Build SP"),
            fill("tenant_id", "contoso.com"),
            fill("client_secret", GUID_CLIENT),
            fill("org_name", "-contoso"),
            press("ctrl+s"),
        ),
    )


@SIZES
def test_replace_credentials_form(snap_compare, snap_app, seeded, size) -> None:
    # The cursor starts on ci-service-principal, a Client Secret connection.
    assert snap_compare(
        snap_app(), terminal_size=size, run_before=steps(open_payments, press("c"), wait_for(ClientSecretForm))
    )


@SIZES
def test_connection_details(snap_compare, snap_app, seeded, size) -> None:
    assert snap_compare(
        snap_app(),
        terminal_size=size,
        run_before=steps(open_payments, press("enter"), wait_for(ConnectionDetailsModal)),
    )


@SIZES
def test_confirm_delete_connection(snap_compare, snap_app, seeded, size) -> None:
    assert snap_compare(
        snap_app(), terminal_size=size, run_before=steps(open_payments, press("d"), wait_for(ConfirmModal))
    )


@SIZES
def test_help_connections(snap_compare, snap_app, seeded, size) -> None:
    assert snap_compare(
        snap_app(), terminal_size=size, run_before=steps(open_payments, press("question_mark"), wait_for(HelpScreen))
    )


# --- live checks -------------------------------------------------------------------------------
def show_failed_check(pilot: Pilot) -> Awaitable[None]:
    """The form as it looks after the live check failed (a fixed result: no timing, no random IDs)."""

    async def run() -> None:
        from ui_helpers import expired_pat_result

        form = pilot.app.screen
        assert isinstance(form, AccessTokenForm)
        result = expired_pat_result()
        form.draft = form.validated_draft()
        form.start_check_view()
        form._check_done(result, None)
        await pilot.pause()

    return run()


@SIZES
def test_form_after_a_failed_check(snap_compare, snap_app, seeded, size) -> None:
    assert snap_compare(
        snap_app(),
        terminal_size=size,
        run_before=steps(
            open_payments,
            open_picker,
            pick("2", AccessTokenForm),
            fill("name", "legacy"),
            fill("access_token", "expired0pat0value0abcdefghijklmnopqrstuvwxyz01234567"),
            fill("org_name", "fabrikam"),
            show_failed_check,
        ),
    )


@SIZES
def test_details_with_last_check_steps(snap_compare, snap_app, seeded, size) -> None:
    async def to_legacy(pilot: Pilot) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, ConnectionsScreen)
        assert screen.table.move_cursor_to_key(seeded["legacy-vsts"])

    assert snap_compare(
        snap_app(),
        terminal_size=size,
        run_before=steps(open_payments, to_legacy, press("enter"), wait_for(ConnectionDetailsModal)),
    )
