"""Hanzo KMS instances in the UI, with Pilot, against the loopback instance, Entra and Azure DevOps
simulators: adding an instance, switching to it, and each method's connection created there."""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList

from kms_connect.core.azure.devops import RetryPolicy
from kms_connect.core.config import AzureSettings, Settings
from kms_connect.core.instances import Instance
from kms_connect.core.live_check import LiveChecker
from kms_connect.core.local_store import LocalStore
from kms_connect.core.sources import open_source, save_instance
from kms_connect.core.status import Method
from kms_connect.ui.app import KmsConnectApp
from kms_connect.ui.forms.access_token import AccessTokenForm
from kms_connect.ui.forms.client_secret import ClientSecretForm
from kms_connect.ui.forms.oauth import OAuthForm
from kms_connect.ui.modals.instance_form import InstanceFormModal
from kms_connect.ui.modals.sources import SourcesModal
from kms_connect.ui.screens.connections import ConnectionsScreen, form_class
from kms_connect.ui.screens.projects import ProjectsScreen
from kms_connect.ui.widgets.quiet_footer import QuietFooter
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS
from kms_connect_sim.sandbox import CONTOSO_TENANT
from ui_helpers import answer, data_lines, fill, message_of, screen_text, settle, wait_for_screen, wait_until

SIZE = (80, 24)


@pytest.fixture
def world(sandbox, paths):  # type: ignore[no-untyped-def]
    settings = Settings(
        azure=AzureSettings(
            authority_host=sandbox.authority_host,
            devops_url=sandbox.devops_url,
            release_url=sandbox.release_url,
            ca_bundle=sandbox.ca_bundle,
        )
    )
    return settings, LocalStore(paths, settings)


def make_app(paths, settings, local, source="local"):  # type: ignore[no-untyped-def]
    backend = open_source(source, paths, settings, local)
    return KmsConnectApp(
        paths=paths,
        settings=settings,
        backend=backend,
        local=local,
        source=source,
        checker=LiveChecker(settings, retry=RetryPolicy(backoff=0.01)),
    )


def add_instance(paths, settings, local, kms, identity):  # type: ignore[no-untyped-def]
    save_instance(
        paths,
        settings,
        local,
        Instance(name="prod", url=kms.url, site_url="https://kms.example.test", client_id=identity.client_id),
        identity.client_secret,
    )


async def test_add_an_instance_and_switch_to_it(world, paths, kms, kms_identity, memory_keyring) -> None:
    settings, local = world
    app = make_app(paths, settings, local)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(QuietFooter)
        assert "new_project" in {action for _, action, _, _, _ in footer.shown()}  # the local store: offered
        await pilot.press("i")
        await wait_for_screen(pilot, SourcesModal)
        await pilot.press("a")
        form = await wait_for_screen(pilot, InstanceFormModal)
        await fill(pilot, form, "name", "prod")
        await fill(pilot, form, "url", "http://kms.example.com", how="paste")  # plain HTTP to another host
        await fill(pilot, form, "client_id", kms_identity.client_id, how="paste")
        await fill(pilot, form, "client_secret", kms_identity.client_secret, how="paste")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "plain HTTP to another host" in message_of(form, "url")
        assert form.query_one("#input-client_secret", Input).value == kms_identity.client_secret  # kept
        form.query_one("#input-url", Input).value = kms.url
        await fill(pilot, form, "site_url", "https://kms.example.test", how="paste")
        await pilot.press("ctrl+s")
        sources = await wait_for_screen(pilot, SourcesModal)
        menu = sources.query_one(OptionList)
        assert "prod" in str(menu.get_option_at_index(menu.highlighted).prompt)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.source == "prod", "the switch", 3000)
        screen = await wait_for_screen(pilot, ProjectsScreen)
        await settle(pilot)
        lines = " ".join(data_lines(screen.table))
        assert "Payments" in lines and "Platform" in lines
        assert app.sub_title == "Instance prod"
        stored = paths.instances_file.read_text()
        assert kms.url in stored and kms_identity.client_secret not in stored
        assert kms_identity.client_secret in memory_keyring.data.values()
        footer = screen.query_one(QuietFooter)
        shown = {action for _, action, _, _, _ in footer.shown()}
        assert "new_project" not in shown and "delete" not in shown  # keys that could only refuse
        await pilot.press("n")  # projects are read-only on an instance: said, not done
        await pilot.pause()
        assert any("managed in its web UI" in n.message for n in app._notifications)
        await pilot.press("d")
        await pilot.pause()
        assert any("would delete its secrets" in n.message for n in app._notifications)


async def test_a_progress_notice_ended_before_it_showed_never_shows(world, paths) -> None:
    """A source opened in a thread can be done before the app handles the message that shows its
    "Opening …" notice: ending it then must still take it away (it stayed 30 s over the title)."""
    settings, local = world
    app = make_app(paths, settings, local)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notice = app.progress_notice("Opening instance prod…")
        app.end_notice(notice)  # before the Notify message is handled: the order a fast switch can take
        await pilot.pause()
        await pilot.pause()
        assert not any(n.message == "Opening instance prod…" for n in app._notifications)


async def open_payments(pilot, app) -> ConnectionsScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ProjectsScreen)
    assert screen.table.move_cursor_to_key(SAMPLE_PAYMENTS)
    await pilot.press("enter")
    conns = await wait_for_screen(pilot, ConnectionsScreen)
    await settle(pilot)
    return conns


async def test_access_token_checked_here_then_created_on_the_instance(world, paths, kms, kms_identity, sample) -> None:
    settings, local = world
    add_instance(paths, settings, local, kms, kms_identity)
    app = make_app(paths, settings, local, "prod")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_payments(pilot, app)
        screen._method_chosen(Method.ACCESS_TOKEN)
        form = await wait_for_screen(pilot, AccessTokenForm)
        await fill(pilot, form, "name", "ado-prod")
        await fill(pilot, form, "access_token", sample[1].pat_ok.token, how="paste")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConnectionsScreen), "the save", 3000)
        await settle(pilot)
        [line] = data_lines(screen.table)
        assert "ado-prod" in line and "✓ Valid" in line  # the check made here before sending
        [remote] = kms.kms_world.connections.values()
        assert remote.name == "ado-prod" and remote.project_id == SAMPLE_PAYMENTS
        assert sample[1].pat_ok.token not in local.path.read_text() if local.path.exists() else True
        await pilot.press("v")  # the instance keeps the token: this box cannot re-check, and says why
        await pilot.pause()
        assert remote.id not in app.checks.live
        assert any("never returns credentials" in n.message for n in app._notifications)
        assert "✓ Valid" in data_lines(screen.table)[0]  # the check made here before sending still shows


async def test_server_422_shown_field_by_field_and_nothing_lost(world, paths, kms, kms_identity, sample) -> None:
    settings, local = world
    add_instance(paths, settings, local, kms, kms_identity)
    app = make_app(paths, settings, local, "prod")
    long_secret = "s" * 60  # the instance allows 50 characters
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_payments(pilot, app)
        screen._method_chosen(Method.CLIENT_SECRET)
        form = await wait_for_screen(pilot, ClientSecretForm)
        await fill(pilot, form, "name", "ado-sp")
        await fill(pilot, form, "tenant_id", CONTOSO_TENANT, how="paste")
        await fill(pilot, form, "client_id", sample[1].sp_app.client_id, how="paste")
        await fill(pilot, form, "client_secret", long_secret, how="paste")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+o")  # send without checking here first
        await wait_until(pilot, lambda: "Not saved" in form.status_text, "the refusal", 3000)
        assert "50" in message_of(form, "client_secret")
        assert "reqId" in form.status_text
        assert form.query_one("#input-client_secret", Input).value == long_secret
        assert long_secret not in screen_text(app)
        assert kms.kms_world.connections == {}


async def test_oauth_on_the_instance_round_trip(world, paths, kms, kms_identity, sample, sim_http) -> None:
    settings, local = world
    add_instance(paths, settings, local, kms, kms_identity)
    app = make_app(paths, settings, local, "prod")
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_payments(pilot, app)
        assert form_class(Method.OAUTH) is OAuthForm
        screen._method_chosen(Method.OAUTH)
        form = await wait_for_screen(pilot, OAuthForm)
        await wait_until(pilot, lambda: form.oauth is not None, "the instance's options", 3000)
        assert not form.query_one("#mode-row").display  # only a browser sign-in fits an instance
        await fill(pilot, form, "name", "ado-oauth")
        await fill(pilot, form, "tenant_id", CONTOSO_TENANT, how="paste")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(form.query("#field-pasted")), "the paste field", 3000)
        url = form.instance_flow[0]
        assert "code_challenge" not in url and "kms.example.test%2Forganization%2Fapp-connections" in url
        assert "KMS login page" in screen_text(app)
        landed = sim_http.get(url).headers["location"]
        await fill(pilot, form, "pasted", landed, how="paste")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConnectionsScreen), "the save", 3000)
        [remote] = kms.kms_world.connections.values()
        assert remote.method == "oauth" and remote.name == "ado-oauth"
        assert (
            remote.credentials.get("tenantId") == CONTOSO_TENANT and remote.credentials.get("orgName") == "contoso-dev"
        )


async def test_edit_and_delete_on_the_instance_with_its_refusal_shown(world, paths, kms, kms_identity) -> None:
    from kms_connect.ui.modals.edit_connection import EditConnectionModal

    settings, local = world
    add_instance(paths, settings, local, kms, kms_identity)
    conn = kms.kms_world.add_connection(
        "ado-old",
        "access-token",
        {"accessToken": "x", "orgName": "contoso-dev"},
        project_id=SAMPLE_PAYMENTS,
        in_use=True,
    )
    app = make_app(paths, settings, local, "prod")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_payments(pilot, app)
        await pilot.press("e")
        edit = await wait_for_screen(pilot, EditConnectionModal)
        name = edit.query_one("#input-name", Input)
        name.value = "ado-renamed"
        await pilot.press("ctrl+s")
        await wait_for_screen(pilot, ConnectionsScreen)
        await settle(pilot)
        assert kms.kms_world.connections[conn.id].name == "ado-renamed"
        assert "ado-rena" in data_lines(screen.table)[0]  # (truncated at 80 columns)
        await pilot.press("d")
        await answer(pilot, "y")
        await settle(pilot)
        assert any("Cannot delete App Connection with existing connections" in n.message for n in app._notifications)
        assert conn.id in kms.kms_world.connections  # refused: still there, still listed
        kms.kms_world.connections[conn.id].in_use = False
        await pilot.press("d")
        await answer(pilot, "y")
        await settle(pilot)
        assert conn.id not in kms.kms_world.connections


async def test_a_refused_login_waits_for_r(world, paths, kms, kms_identity) -> None:
    settings, local = world
    save_instance(
        paths, settings, local, Instance(name="prod", url=kms.url, client_id=kms_identity.client_id), "not-the-secret"
    )
    app = make_app(paths, settings, local, "prod")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "does not retry" in screen_text(app).replace("\n", " ")
        logins = lambda: len([r for r in kms.requests if r.path.endswith("/universal-auth/login")])  # noqa: E731
        assert logins() == 1
        app.screen.reload()  # a reload by itself (e.g. after a switch) does not log in again
        await settle(pilot)
        assert logins() == 1
        await pilot.press("r")  # the operator asks: one more attempt
        await settle(pilot)
        assert logins() == 2


async def test_methods_the_instance_does_not_offer_are_refused(world, paths, kms, kms_identity) -> None:
    from kms_connect.ui.modals.method_picker import MethodPickerModal

    settings, local = world
    add_instance(paths, settings, local, kms, kms_identity)
    kms.kms_world.devops_methods = ["oauth", "access-token"]  # an instance from before client-secret
    app = make_app(paths, settings, local, "prod")
    async with app.run_test(size=SIZE) as pilot:
        await open_payments(pilot, app)
        await pilot.press("a")
        picker = await wait_for_screen(pilot, MethodPickerModal)
        await pilot.press("3")
        await pilot.pause()
        assert app.screen is picker  # refused, with the reason
        assert "does not offer the Client Secret method" in screen_text(app).replace("\n", " ")
        await pilot.press("2")
        await wait_for_screen(pilot, AccessTokenForm)
