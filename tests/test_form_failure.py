"""A failed check is readable where it happened, at 80x24, with no key pressed; Esc never throws typed
input away without asking."""

from __future__ import annotations

from textual.widgets import Input

from kms_connect.core.status import Method
from kms_connect.ui.forms.access_token import AccessTokenForm
from kms_connect.ui.modals.confirm import ConfirmModal
from kms_connect.ui.modals.new_project import NewProjectModal
from kms_connect.ui.screens.connections import ConnectionsScreen
from test_type_ahead import burst, until_keys_done
from test_ui_checks import open_form, project_screen, sim_app, wait_check  # noqa: F401 - sim_app: a fixture
from ui_helpers import fill, screen_text, settle, wait_until

SIZE = (80, 24)


def flat(text: str) -> str:
    """Screen text with the box drawing and line breaks gone, so wrapped sentences read whole."""
    for ch in "│╭╮╰╯─▎▊▌▐▕▏▔▁▄▀":
        text = text.replace(ch, " ")
    return " ".join(text.split())


async def test_a_failed_check_shows_step_explanation_and_field_together_at_80x24(sim_app, sample) -> None:  # noqa: F811
    app = sim_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        form = await open_form(pilot, screen, AccessTokenForm, Method.ACCESS_TOKEN)
        await fill(pilot, form, "name", "old-pat")
        await fill(pilot, form, "access_token", sample[1].pat_expired.token, how="paste")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+s")
        await wait_check(pilot, form)
        # The fields come back, take their size, then scroll to the field: a few frames, no key.
        await wait_until(pilot, lambda: "The check below says why." in flat(screen_text(app)), "the field in view", 200)
        shown = flat(screen_text(app))
        step = next(s for s in form.failed_check.steps if s.field == "access_token")
        assert "Access Token" in shown and "✗ Token expired. The check below says why." in shown, shown
        assert f"✗ {step.title}" in shown, shown
        assert flat(step.explanation) in shown, shown  # the whole explanation, IDs included
        assert "^o to save anyway" in shown
        # Moving on to another field gives the fields their room back; the checklist still scrolls.
        await pilot.press("shift+tab")
        await settle(pilot)
        assert form.failure_field is None
        assert form.query_one("#check-scroll").styles.max_height.value <= 6


async def test_escape_on_a_filled_form_asks_and_keeps_the_text(sim_app, sample) -> None:  # noqa: F811
    app = sim_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        form = await open_form(pilot, screen, AccessTokenForm, Method.ACCESS_TOKEN)
        await fill(pilot, form, "name", "vendor")
        await fill(pilot, form, "access_token", "fakepat123", how="paste")
        burst(app, "escape")
        await until_keys_done(app, pilot)
        question = app.screen
        assert isinstance(question, ConfirmModal)
        text = flat(screen_text(app))
        assert "Discard what you typed?" in text and "Name, Access Token: lost if you discard" in text
        assert "fakepat123" not in text
        burst(app, "escape")  # Esc again keeps editing
        await until_keys_done(app, pilot)
        assert app.screen is form
        assert form.query_one("#input-name", Input).value == "vendor"
        assert form.query_one("#input-access_token", Input).value == "fakepat123"
        burst(app, "escape")
        await until_keys_done(app, pilot)
        burst(app, "y")  # typed once the question is on screen: discards
        await until_keys_done(app, pilot)
        assert isinstance(app.screen, ConnectionsScreen)


async def test_escape_on_an_untouched_form_closes_at_once(sim_app) -> None:  # noqa: F811
    app = sim_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        await open_form(pilot, screen, AccessTokenForm, Method.ACCESS_TOKEN)
        burst(app, "escape")
        await until_keys_done(app, pilot)
        assert app.screen is screen


async def test_escape_in_new_project_with_a_name_asks(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "n", *"Billing", "escape")
        await until_keys_done(app, pilot)
        assert isinstance(app.screen, ConfirmModal)
        burst(app, "n")  # No: keep editing
        await until_keys_done(app, pilot)
        assert isinstance(app.screen, NewProjectModal)
        assert app.screen.query_one("#input-name", Input).value == "Billing"


async def test_escape_in_the_instance_dialog_with_a_url_asks(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "i", "a", *"prod", "escape")
        await until_keys_done(app, pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert "Name: lost if you discard" in flat(screen_text(app))
