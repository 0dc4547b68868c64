"""Live checks in the UI, with Pilot, against the loopback simulators over real HTTPS.

Forms check before they save, show every step, keep what was typed on failure and point at the
field; re-checks run in the App's check runner and outlive the screen that started them.
"""

from __future__ import annotations

import dataclasses

import pytest
from textual.widgets import Button, Input, RadioButton

from kms_connect.core.azure.devops import RetryPolicy
from kms_connect.core.config import AzureSettings, OAuthSettings, Settings
from kms_connect.core.live_check import LiveChecker
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import ConnectionDraft
from kms_connect.core.status import Method, Status, StepState
from kms_connect.ui.app import KmsConnectApp
from kms_connect.ui.forms.access_token import AccessTokenForm
from kms_connect.ui.forms.client_secret import ClientSecretForm
from kms_connect.ui.forms.oauth import OAuthForm
from kms_connect.ui.modals.connection_details import ConnectionDetailsModal
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect.ui.screens.projects import ProjectsScreen
from kms_connect.ui.widgets.checklist import Checklist
from kms_connect_sim.sandbox import CONTOSO_TENANT
from ui_helpers import (
    answer,
    data_lines,
    fill,
    message_of,
    screen_text,
    settle,
    static_text,
    wait_for_screen,
    wait_until,
)

SIZE = (80, 24)


@pytest.fixture
def sim_app(sandbox, sample, paths):
    """The real app on a local store, its Azure URLs pointed at the sandbox."""
    settings = Settings(
        azure=AzureSettings(
            authority_host=sandbox.authority_host,
            devops_url=sandbox.devops_url,
            release_url=sandbox.release_url,
            ca_bundle=sandbox.ca_bundle,
        ),
        oauth=OAuthSettings(client_id=sample[1].oauth_app.client_id),
    )
    store = LocalStore(paths, settings)

    def make() -> KmsConnectApp:
        checker = LiveChecker(settings, app_secret=store.oauth_app_secret, retry=RetryPolicy(backoff=0.01))
        return KmsConnectApp(paths=paths, settings=settings, backend=store, checker=checker)

    make.store = store  # type: ignore[attr-defined]
    return make


async def project_screen(pilot, store: LocalStore) -> ConnectionsScreen:
    project = await store.create_project("payments")
    pilot.app.screen.reload()
    await settle(pilot)
    pilot.app.push_screen(ConnectionsScreen(project))
    screen = await wait_for_screen(pilot, ConnectionsScreen)
    await settle(pilot)
    return screen


async def open_form(pilot, screen: ConnectionsScreen, form_type, method: Method):
    from kms_connect.ui.screens.connections import form_class

    assert form_class(method) is form_type
    screen._method_chosen(method)
    return await wait_for_screen(pilot, form_type)


async def wait_check(pilot, form) -> None:
    await wait_until(
        pilot,
        lambda: form.query_one(Checklist).result is not None,
        "the check to finish",
        tries=3000,
    )
    await settle(pilot)


def checklist_text(form) -> str:
    return form.query_one(Checklist).plain_text()


# --- forms -------------------------------------------------------------------------------------
async def test_access_token_checked_then_saved(sim_app, sample) -> None:
    app = sim_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        form = await open_form(pilot, screen, AccessTokenForm, Method.ACCESS_TOKEN)
        await fill(pilot, form, "name", "prod")
        await fill(pilot, form, "access_token", sample[1].pat_ok.token, how="paste")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConnectionsScreen), "the form to close", 3000)
        await settle(pilot)
        [line] = data_lines(screen.table)
        assert "✓ Valid" in line and line.rstrip().endswith("now")  # "Checked" at 80 columns: "now"
        [conn] = await sim_app.store.list_connections(screen.project.id)
        assert conn.last_check.status is Status.VALID
        assert [s.state for s in conn.last_check.steps][:6] == [StepState.OK] * 6
        assert sample[1].pat_ok.token not in sim_app.store.path.read_text()


async def test_failed_check_keeps_the_form_points_at_the_field_then_save_anyway(sim_app, sample) -> None:
    app = sim_app()
    token = sample[1].pat_expired.token
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        form = await open_form(pilot, screen, AccessTokenForm, Method.ACCESS_TOKEN)
        await fill(pilot, form, "name", "old-pat")
        await fill(pilot, form, "access_token", token, how="paste")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+s")
        await wait_check(pilot, form)
        assert app.screen is form
        text = checklist_text(form)
        assert "✗ Credentials accepted" in text and "Token expired" in text and "has expired" in text
        assert message_of(form, "access_token").startswith("✗ Token expired")
        assert app.focused is form.query_one("#input-access_token", Input)
        assert form.query_one("#input-name", Input).value == "old-pat"  # nothing typed is lost
        assert form.query_one("#input-access_token", Input).value == token
        assert form.query_one("#save-anyway", Button).display
        shown = screen_text(app)
        assert "Token expired" in shown and token not in shown
        assert await sim_app.store.list_connections(screen.project.id) == []
        await pilot.press("ctrl+o")  # Save anyway
        await wait_until(pilot, lambda: isinstance(app.screen, ConnectionsScreen), "the form to close", 3000)
        [conn] = await sim_app.store.list_connections(screen.project.id)
        assert conn.status is Status.NOT_CHECKED and conn.last_check is None


async def test_escape_cancels_a_running_check_then_closes(sim_app, sample, sandbox) -> None:
    sandbox.devops.latency = 1.0  # long enough to press Escape while it runs
    app = sim_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        form = await open_form(pilot, screen, AccessTokenForm, Method.ACCESS_TOKEN)
        await fill(pilot, form, "name", "slow")
        await fill(pilot, form, "access_token", sample[1].pat_ok.token, how="paste")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: any(s.state is StepState.RUNNING for s in form.query_one(Checklist).steps.values()),
            "a running step",
        )
        await pilot.press("escape")
        await wait_check(pilot, form)
        assert app.screen is form  # the first Escape only cancelled
        shown = form.query_one(Checklist)
        assert shown.result is not None and shown.result.status is Status.CANCELLED
        assert not any(step.state in (StepState.RUNNING, StepState.PENDING) for step in shown.steps.values())
        assert "⊘ Cancelled" in checklist_text(form)
        assert not form.query_one(Checklist).running  # the spinner stopped
        assert "cancelled" in static_text(form.query_one("#form-status")).lower()
        await pilot.press("escape")
        await answer(pilot, "y")  # what was typed goes: asked first
        await wait_for_screen(pilot, ConnectionsScreen)
        assert await sim_app.store.list_connections(screen.project.id) == []


async def test_client_secret_id_pasted_highlights_the_secret(sim_app, sample) -> None:
    app = sim_app()
    s = sample[1]
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        form = await open_form(pilot, screen, ClientSecretForm, Method.CLIENT_SECRET)
        await fill(pilot, form, "name", "ci")
        await fill(pilot, form, "tenant_id", CONTOSO_TENANT, how="paste")
        await fill(pilot, form, "client_id", s.sp_app.client_id, how="paste")
        await fill(pilot, form, "client_secret", s.sp_app.secrets[0].id, how="paste")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+s")
        await wait_check(pilot, form)
        text = checklist_text(form)
        assert "Secret ID pasted, not the Value (AADSTS7000215)" in text and "Trace ID" in text
        assert message_of(form, "client_secret").startswith("✗ Secret ID pasted")
        # Fix it and submit again: checked, saved, closed.
        secret = form.query_one("#input-client_secret", Input)
        secret.value = s.sp_secret
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConnectionsScreen), "the form to close", 3000)
        await settle(pilot)
        assert "✓ Valid" in data_lines(screen.table)[0]


# --- OAuth -------------------------------------------------------------------------------------
async def test_oauth_device_code_pending_to_saved(sim_app, sample, sandbox) -> None:
    world, s = sample
    app = sim_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        form = await open_form(pilot, screen, OAuthForm, Method.OAUTH)
        assert form.query_one("#mode-device", RadioButton).value  # no display here: device code first
        await fill(pilot, form, "name", "alice-oauth")
        await fill(pilot, form, "tenant_id", "contoso.onmicrosoft.com")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(form.query("#user-code")), "the device code", 3000)
        await pilot.pause()
        [flow] = world.pending_device_flows()
        shown = screen_text(app)
        assert " ".join(flow.user_code) in shown and "/devicelogin" in shown and "expires in" in shown
        assert "▀" in shown or "▄" in shown  # the QR code
        world.set_device_flow(flow.user_code, "approved", s.alice.upn)
        await wait_until(pilot, lambda: isinstance(app.screen, ConnectionsScreen), "the save", 3000)
        await settle(pilot)
        [conn] = await sim_app.store.list_connections(screen.project.id)
        assert conn.status is Status.VALID and conn.secrets.keys() == {"token_cache"}
        assert "refresh" not in sim_app.store.path.read_text().lower()
        # Later re-checks refresh silently from the kept sign-in.
        await pilot.press("v")
        await wait_until(
            pilot,
            lambda: app.checks.live.get(conn.id) is not None and app.checks.live[conn.id].done,
            "the re-check",
            3000,
        )
        assert app.checks.live[conn.id].status is Status.VALID


async def test_closing_the_form_cancels_the_device_poll(sim_app, sample) -> None:
    app = sim_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        form = await open_form(pilot, screen, OAuthForm, Method.OAUTH)
        await fill(pilot, form, "name", "x")
        await fill(pilot, form, "tenant_id", CONTOSO_TENANT, how="paste")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: form.device is not None and bool(form.query("#user-code")), "the code", 3000)
        sign = form.device
        await pilot.press("escape")  # cancels the sign-in, back to the fields
        assert sign.cancelled and form.device is None
        assert form.query_one("#input-name", Input).value == "x"
        await pilot.press("escape")
        await answer(pilot, "y")
        await wait_for_screen(pilot, ConnectionsScreen)
        workers = [w for w in app.workers if w.group == "oauth-signin"]
        await app.workers.wait_for_complete(workers)  # returns: the poll stopped (msal checks each second)


async def test_oauth_redirect_paste_back(sim_app, sample, sim_http) -> None:
    app = sim_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen, form = await start_redirect_signin(pilot, sim_app.store)
        url = form.redirect.auth_uri
        assert (
            url in screen_text(app).replace("\n", "").replace(" ", "")
            or static_text(form.query_one("#auth-url")) == url
        )
        landed = sim_http.get(url).headers["location"]
        # A pasted address from elsewhere (wrong state) is explained, and the field keeps it.
        bad = landed.replace("state=", "state=x")
        await fill(pilot, form, "pasted", bad, how="paste")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "state mismatch" in message_of(form, "pasted"), "the state message", 3000)
        form.query_one("#input-pasted", Input).value = landed
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConnectionsScreen), "the save", 3000)
        [conn] = await sim_app.store.list_connections(screen.project.id)
        assert conn.status is Status.VALID


async def start_redirect_signin(pilot, store: LocalStore):  # type: ignore[no-untyped-def]
    """The OAuth form in Browser redirect mode, filled in and submitted: the paste field is up."""
    screen = await project_screen(pilot, store)
    form = await open_form(pilot, screen, OAuthForm, Method.OAUTH)
    form.query_one("#mode-redirect", RadioButton).value = True
    await fill(pilot, form, "name", "redirect")
    await fill(pilot, form, "tenant_id", CONTOSO_TENANT, how="paste")
    await fill(pilot, form, "org_name", "contoso-dev")
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: bool(form.query("#field-pasted")), "the paste field", 3000)
    return screen, form


# --- re-checks in the check runner --------------------------------------------------------------
async def stored(store: LocalStore, project_id: str, name: str, pat: str) -> str:
    from pydantic import SecretStr

    draft = ConnectionDraft(
        name=name, method=Method.ACCESS_TOKEN, org_name="contoso-dev", secrets={"access_token": SecretStr(pat)}
    )
    return (await store.create_connection(project_id, draft)).id


async def test_recheck_all_outlives_the_screen_and_updates_rows(sim_app, sample, sandbox) -> None:
    s = sample[1]
    app = sim_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        good = await stored(sim_app.store, screen.project.id, "good", s.pat_ok.token)
        bad = await stored(sim_app.store, screen.project.id, "expired", s.pat_expired.token)
        screen.reload()
        await settle(pilot)
        assert all("– Not checked" in line for line in data_lines(screen.table))
        sandbox.devops.latency = 0.3
        await pilot.press("V")
        await wait_until(pilot, lambda: "… Checking" in "".join(data_lines(screen.table)), "live status")
        await pilot.press("escape")  # leave while they run: they must go on
        await wait_for_screen(pilot, ProjectsScreen)
        await wait_until(pilot, lambda: app.checks.idle(), "the checks", 3000)
        conns = {c.id: c for c in await sim_app.store.list_connections(screen.project.id)}
        assert conns[good].status is Status.VALID and conns[bad].status is Status.FAILED
        # Back on the screen: the rows show the stored results; details show the steps.
        pilot.app.push_screen(ConnectionsScreen(screen.project))
        again = await wait_for_screen(pilot, ConnectionsScreen)
        await settle(pilot)
        lines = data_lines(again.table)
        assert "✗ Failed" in lines[0] and "✓ Valid" in lines[1]
        await pilot.press("enter")
        details = await wait_for_screen(pilot, ConnectionDetailsModal)
        text = screen_text(app)
        assert "Last check" in text and "Token expired" in text
        assert details.connection.id == bad


async def test_a_long_check_shows_how_long_it_has_run_in_its_row(sim_app, sample, sandbox) -> None:
    import time

    s = sample[1]
    app = sim_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        slow = await stored(sim_app.store, screen.project.id, "a-slow", s.pat_ok.token)
        await stored(sim_app.store, screen.project.id, "b-idle", s.pat_ok.token)
        screen.reload()
        await settle(pilot)
        gate = sandbox.devops.hold("/_apis/projects")  # the check waits there until the test lets it go
        await pilot.press("v")  # the cursor is on a-slow
        await wait_until(pilot, lambda: app.checks.running_since().get(slow) is not None, "the check to start")
        assert "… Checking" in data_lines(screen.table)[0] and " s " not in data_lines(screen.table)[0]
        # As if it had been running for 12 s: the next coarse repaint (once a second) shows it, on its row only.
        app.checks.live[slow].running_since = time.monotonic() - 12
        await wait_until(pilot, lambda: "… Checking 1" in data_lines(screen.table)[0], "the elapsed time", 300)
        first, other = data_lines(screen.table)
        assert "… Checking 12 s" in first or "… Checking 13 s" in first
        assert "Checking" not in other
        gate.set()
        await wait_until(pilot, lambda: app.checks.idle(), "the check", 3000)
        await settle(pilot)
        assert "✓ Valid" in data_lines(screen.table)[0]


def test_elapsed_in_a_status_cell_fits_its_column() -> None:
    from kms_connect.ui.widgets.status_text import live_status_text

    assert live_status_text(Status.CHECKING, None, 100.0).plain == "… Checking"  # still waiting for a slot
    assert live_status_text(Status.CHECKING, 99.0, 100.0).plain == "… Checking"  # a healthy check: no count
    assert live_status_text(Status.CHECKING, 88.0, 100.0).plain == "… Checking 12 s"
    assert live_status_text(Status.CHECKING, 0.0, 100.0).plain == "… Checking 1m40"
    assert all(len(live_status_text(Status.CHECKING, 0.0, t).plain) <= 15 for t in (9.0, 99.0, 599.0, 600.0, 5999.0))
    assert live_status_text(Status.VALID, 0.0, 100.0).plain == "✓ Valid"


async def test_recheck_one_row_cancels_only_its_previous_run(sim_app, sample, sandbox) -> None:
    s = sample[1]
    app = sim_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        first = await stored(sim_app.store, screen.project.id, "a-first", s.pat_ok.token)
        second = await stored(sim_app.store, screen.project.id, "b-second", s.pat_ok.token)
        screen.reload()
        await settle(pilot)
        sandbox.devops.latency = 0.5
        await pilot.press("V")
        await wait_until(pilot, lambda: not app.checks.live[first].queued, "the first check to start")
        earlier, other = app.checks.live[first], app.checks.live[second]
        await pilot.press("v")  # cursor is on a-first: re-check it again
        await wait_until(pilot, lambda: app.checks.idle(), "the checks", 3000)
        assert earlier.status is Status.CANCELLED, "the earlier run of the same row was not cancelled"
        assert app.checks.live[second] is other and other.status is Status.VALID  # the other row's run went on
        assert app.checks.live[first].status is Status.VALID


async def test_redirect_url_copied_and_saved_to_a_private_file(sim_app, sample, paths) -> None:
    import os
    import stat

    app = sim_app()
    async with app.run_test(size=(100, 40)) as pilot:
        _screen, form = await start_redirect_signin(pilot, sim_app.store)
        await pilot.press("ctrl+t")
        saved = paths.state_dir / "oauth-sign-in-url.txt"
        assert saved.read_text().strip() == form.redirect.auth_uri
        assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
        await pilot.press("ctrl+y")
        assert app.clipboard == form.redirect.auth_uri
        # Esc gives the fields back (the sign-in is dropped), a second Esc closes.
        await pilot.press("escape")
        assert form.redirect is None and form.query_one("#fields").display


async def test_a_failed_store_write_does_not_fail_a_passed_check(sim_app, sample, paths) -> None:
    class FullDisk(LocalStore):  # our own backend, failing the way a full disk would
        async def record_checks(self, results, *, as_of=None):  # type: ignore[no-untyped-def]
            raise OSError(28, "No space left on device")

    s = sample[1]
    app = sim_app()
    full = FullDisk(paths, sim_app.store.settings)
    app.workspace = dataclasses.replace(app.ws, local=full, backend=full)
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, app.backend)
        conn_id = await stored(app.backend, screen.project.id, "good", s.pat_ok.token)
        screen.reload()
        await settle(pilot)
        before = app.backend.path.read_bytes()
        await pilot.press("v")
        await wait_until(pilot, lambda: app.checks.idle() and conn_id in app.checks.live, "the check", 3000)
        live = app.checks.live[conn_id]
        assert live.status is Status.VALID and not live.saved
        assert "✓ Valid" in data_lines(screen.table)[0]
        assert app.backend.path.read_bytes() == before


async def test_escape_while_the_sign_in_starts_keeps_the_form(sim_app, sample) -> None:
    app = sim_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        form = await open_form(pilot, screen, OAuthForm, Method.OAUTH)
        await fill(pilot, form, "name", "x")
        await fill(pilot, form, "tenant_id", CONTOSO_TENANT, how="paste")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+s", "escape")  # before Entra has answered, or just after
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "oauth-signin"])
        await pilot.pause()
        assert app.screen is form and form.query_one("#fields").display
        assert not form.query("#user-code") and form.device is None
        assert "cancelled" in static_text(form.query_one("#form-status")).lower()
        # (wait_for_complete above returned: the poll loop, if it had started, ended with the cancel)
