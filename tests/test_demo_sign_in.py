"""Sign-ins in the demo finish by themselves: a simulated browser opens the sign-in address the app
shows and pastes back where it lands, and says so; nobody fetches anything by hand."""

from __future__ import annotations

import contextlib

import pytest
from textual.widgets import RadioButton

from kms_connect.core.azure.sign_in import parse_pasted
from kms_connect.core.kms.oauth import authorize_url
from kms_connect.core.status import Method, Status
from kms_connect.demo import build_demo
from kms_connect.ui.forms.oauth import OAuthForm
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect.ui.screens.projects import ProjectsScreen
from kms_connect.ui.widgets.redirect_panel import RedirectPanel
from kms_connect_sim.browser import SimulatedBrowser
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS
from kms_connect_sim.sandbox import CONTOSO_TENANT, KMS_CALLBACK
from ui_helpers import fill, screen_text, settle, wait_for_screen, wait_until

SIZE = (80, 24)
WAIT = 2000  # Pilot pauses: the simulated browser takes DemoApp.BROWSER_DELAY (2 s) before pasting


def browser_lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [n.message for n in app._notifications if n.message.startswith("SIMULATED browser")]


async def open_oauth_form(pilot, app, project_key: str | None = None) -> OAuthForm:  # type: ignore[no-untyped-def]
    """Projects → the project (the cursor's, or `project_key`) → a (add) → 1 (OAuth), fields filled in."""
    projects = await wait_for_screen(pilot, ProjectsScreen)
    await settle(pilot)
    if project_key is not None:
        assert projects.table.move_cursor_to_key(project_key)
    await pilot.press("enter")
    await wait_for_screen(pilot, ConnectionsScreen)
    await settle(pilot)
    await pilot.press("a", "1")
    form = await wait_for_screen(pilot, OAuthForm)
    await wait_until(pilot, lambda: form.oauth is not None, "the OAuth options", 3000)
    await fill(pilot, form, "name", "demo-oauth")
    await fill(pilot, form, "tenant_id", CONTOSO_TENANT, how="paste")
    await fill(pilot, form, "org_name", "contoso-dev")
    return form


async def test_instance_oauth_finishes_by_itself_and_is_saved_on_the_instance(tmp_path) -> None:
    with contextlib.ExitStack() as stack:
        app = build_demo(tmp_path, stack, open_dashboard=False)
        kms = app.kms
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.switch_source("demo-kms")
            await wait_until(pilot, lambda: app.source == "demo-kms", "the switch", 3000)
            form = await open_oauth_form(pilot, app, SAMPLE_PAYMENTS)
            assert form.oauth is not None and form.oauth.redeemed_by_instance
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: bool(form.query(RedirectPanel)), "the sign-in address", 3000)
            opening = "SIMULATED browser: opening the sign-in address as alice@contoso.onmicrosoft.com…"
            await wait_until(pilot, lambda: opening in browser_lines(app), "the simulated browser's first line", 3000)
            assert isinstance(app.screen, OAuthForm)  # said before it acts: the address is on screen meanwhile
            # No fetch, no paste here: the simulated browser does both, then the instance redeems the code.
            screen = await wait_for_screen(pilot, ConnectionsScreen, WAIT)
            await settle(pilot)
            remote = [c for c in kms.kms_world.connections.values() if c.name == "demo-oauth"]
            assert [(c.method, c.project_id) for c in remote] == [("oauth", SAMPLE_PAYMENTS)]
            assert remote[0].credentials.get("tenantId") == CONTOSO_TENANT
            assert any(
                line.endswith("/organization/app-connections/azure/oauth/callback?code=…).")
                for line in browser_lines(app)
            )
            assert "demo-oauth" in screen_text(app) and "SIMULATED" in screen_text(app)
            assert screen.project.id == SAMPLE_PAYMENTS


async def test_local_browser_redirect_finishes_by_itself_and_is_checked(tmp_path) -> None:
    with contextlib.ExitStack() as stack:
        app = build_demo(tmp_path, stack, open_dashboard=False)
        async with app.run_test(size=SIZE) as pilot:
            form = await open_oauth_form(pilot, app)  # the first project, on the local store
            form.query_one("#mode-redirect", RadioButton).value = True
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: bool(form.query(RedirectPanel)), "the sign-in address", 3000)
            # Saved, the form closes (the first secret saved here also brings the plaintext-file notice).
            await wait_until(pilot, lambda: form not in app.screen_stack, "the save", WAIT)
            await settle(pilot)
            [screen] = [s for s in app.screen_stack if isinstance(s, ConnectionsScreen)]
            [conn] = [c for c in await app.backend.list_connections(screen.project.id) if c.name == "demo-oauth"]
            assert conn.method is Method.OAUTH and conn.status is Status.VALID
            assert any("signed in as alice@contoso.onmicrosoft.com" in line for line in browser_lines(app))
            assert all("code=…" in line or "opening" in line for line in browser_lines(app))  # never the code


# --- the simulated browser on its own ------------------------------------------------------------
def test_the_simulated_browser_lands_where_entra_sends_it_and_opens_nothing_else(sandbox, sample) -> None:
    world, s = sample
    browser = SimulatedBrowser(sandbox.authority_host, sandbox.ca_bundle)
    url, state = authorize_url(sandbox.authority_host, CONTOSO_TENANT, s.oauth_web_app.client_id, KMS_CALLBACK)
    visit = browser.open(url)
    assert visit.landed_on is not None and visit.landed_on.startswith(KMS_CALLBACK + "?code=")
    assert parse_pasted(visit.landed_on, state, KMS_CALLBACK)["code"] in world.auth_codes
    world.browser_outcome = "declined"  # the person clicks Cancel: Entra still sends the browser back
    declined = browser.open(url).landed_on or ""
    assert "error=access_denied" in declined and "code=" not in declined
    # An unregistered redirect URI keeps the browser on Entra's error page: nothing to paste.
    wrong, _ = authorize_url(sandbox.authority_host, CONTOSO_TENANT, s.oauth_web_app.client_id, "https://elsewhere")
    page = browser.open(wrong)
    assert page.landed_on is None and "AADSTS50011" in page.page and "<" not in page.page
    with pytest.raises(ValueError, match="only the simulated Entra ID"):
        browser.open("https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=x")
