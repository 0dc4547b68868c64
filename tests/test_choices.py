"""Choices and toggles read without colour: the OAuth sign-in mode and the instance dialog's checkbox.

Textual's own RadioButton and Checkbox tell on from off by colour alone (▐●▌ / ▐X▌). Ours draw
(•) / ( ) and [x] / [ ]: the NO_COLOR snapshots show it, and the text tests read the state from the
screen's characters alone, as a monochrome terminal or a screen reader would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, RadioButton, RadioSet

from kms_connect.ui.forms.oauth import OAuthForm
from kms_connect.ui.modals.instance_form import InstanceFormModal
from test_snapshots import open_payments, open_picker, pick, steps
from ui_helpers import GUID_OAUTH_APP, no_blink, screen_text, seed_store, settle, stable_path, wait_for_screen

SIZE = (80, 24)


@pytest.fixture
def no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    # Textual reads NO_COLOR when the App is created: set it before.
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    """Device code is then the default mode, whatever machine runs the tests."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID", GUID_OAUTH_APP)


@pytest.fixture
def app_factory(tmp_path: Path, memory_keyring):  # type: ignore[no-untyped-def]
    paths = stable_path(tmp_path)
    seed_store(paths, memory_keyring.data)

    def make():  # type: ignore[no-untyped-def]
        from kms_connect.core.config import Settings
        from kms_connect.core.local_store import LocalStore
        from kms_connect.ui.app import KmsConnectApp

        settings = Settings()
        return KmsConnectApp(paths=paths, settings=settings, backend=LocalStore(paths, settings))

    return make


async def open_instance_dialog(pilot: Pilot) -> None:
    pilot.app.push_screen(InstanceFormModal(None, set()))
    await wait_for_screen(pilot, InstanceFormModal)


async def tick_allow_http(pilot: Pilot) -> None:
    """Focus the checkbox (it scrolls into view at 80x24) and tick it with Space."""
    pilot.app.screen.query_one(Checkbox).focus()
    await pilot.press("space")
    await settle(pilot)


async def cursor_on_redirect(pilot: Pilot) -> None:
    """The RadioSet focused, its cursor on the option that is not chosen: the two must not be confused."""
    pilot.app.screen.query_one(RadioSet).focus()
    await pilot.press("right")
    await settle(pilot)


# --- NO_COLOR snapshots ------------------------------------------------------------------------
def test_oauth_form_no_colour(snap_compare, app_factory, no_colour, no_display) -> None:
    assert snap_compare(
        app_factory(),
        terminal_size=SIZE,
        run_before=steps(open_payments, open_picker, pick("1", OAuthForm), cursor_on_redirect),
    )


def test_instance_dialog_no_colour(snap_compare, app_factory, no_colour) -> None:
    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=steps(open_instance_dialog, tick_allow_http))


# --- the state from the screen's text alone ----------------------------------------------------
async def test_oauth_mode_reads_from_text(app_factory, no_colour, no_display) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_payments(pilot)
        await open_picker(pilot)
        await pick("1", OAuthForm)(pilot)
        form = app.screen
        assert isinstance(form, OAuthForm)
        text = screen_text(app)
        assert "(•) Device code" in text and "( ) Browser redirect" in text
        assert "▐" not in text and "▌" not in text
        # Keys as before: Tab reaches the set, arrows move, Space chooses.
        for _ in range(10):
            if isinstance(app.focused, RadioSet):
                break
            await pilot.press("tab")
        assert isinstance(app.focused, RadioSet)
        await pilot.press("right", "space")
        await pilot.pause()
        text = screen_text(app)
        assert "( ) Device code" in text and "(•) Browser redirect" in text
        assert not form.device_mode and form.query_one("#mode-redirect", RadioButton).value
        await pilot.press("left", "enter")
        await pilot.pause()
        assert "(•) Device code" in screen_text(app) and form.device_mode


async def test_allow_http_reads_from_text(app_factory, no_colour) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_instance_dialog(pilot)
        box = app.screen.query_one(Checkbox)
        box.focus()
        await pilot.pause()
        assert "[ ] Allow plain http://" in screen_text(app) and not box.value
        await pilot.press("space")
        await pilot.pause()
        assert "[x] Allow plain http://" in screen_text(app) and box.value
        await pilot.press("enter")
        await pilot.pause()
        assert "[ ] Allow plain http://" in screen_text(app) and not box.value


async def test_a_ticked_box_opens_ticked(app_factory) -> None:
    """An instance saved with plain http allowed shows [x] as the dialog opens (no change event)."""
    from kms_connect.core.instances import Instance

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        existing = Instance(name="lab", url="http://kms.lab.example", allow_http=True)
        app.push_screen(InstanceFormModal(existing, set()))
        await wait_for_screen(pilot, InstanceFormModal)
        app.screen.query_one(Checkbox).focus()
        no_blink(app)
        await pilot.pause()
        assert "[x] Allow plain http://" in screen_text(app)
