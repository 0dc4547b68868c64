"""Every key a footer shows acts on its first press, on every screen, on the local store and on an instance.

Each screen is reached afresh for each of its footer keys; the key is pressed once; something the
operator can see must change: the screen, the focus, what the terminal shows, or a notification.
A key that cannot act in a state must not be in that state's footer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from kms_connect.core.azure.devops import RetryPolicy
from kms_connect.core.config import AzureSettings, Settings
from kms_connect.core.live_check import LiveChecker
from kms_connect.core.local_store import LocalStore
from kms_connect.core.sources import open_source
from kms_connect.ui.app import KmsConnectApp
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect.ui.screens.projects import ProjectsScreen
from kms_connect.ui.widgets.quiet_footer import QuietFooter
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS, SAMPLE_PLATFORM
from test_type_ahead import burst, until_keys_done
from test_ui_instances import add_instance
from ui_helpers import PROJECT_IDS, screen_text, seed_store, settle

SIZE = (80, 24)
Reach = Callable[[Pilot[Any], KmsConnectApp], Awaitable[None]]


def keys(*typed: str) -> Reach:
    async def reach(pilot: Pilot[Any], app: KmsConnectApp) -> None:
        burst(app, *typed)
        await until_keys_done(app, pilot)

    return reach


def open_project(project_id: str, *then: str) -> Reach:
    async def reach(pilot: Pilot[Any], app: KmsConnectApp) -> None:
        await until_keys_done(app, pilot)
        screen = app.screen
        assert isinstance(screen, ProjectsScreen) and screen.table.move_cursor_to_key(project_id)
        burst(app, "enter", *then)
        await until_keys_done(app, pilot)
        assert isinstance(app.screen_stack[1], ConnectionsScreen)

    return reach


PAYMENTS, INTERNAL = PROJECT_IDS["Payments Platform"], PROJECT_IDS["Internal Tools"]

LOCAL_STATES: dict[str, Reach] = {
    "projects": keys(),
    "new project": keys("n"),
    "sources": keys("i"),
    "instance form": keys("i", "a"),
    "help": keys("question_mark"),
    "dashboard": keys("s"),
    "connections": open_project(PAYMENTS),
    "connections, empty": open_project(INTERNAL),
    "method picker": open_project(PAYMENTS, "a"),
    "OAuth form": open_project(PAYMENTS, "a", "1"),
    "Access Token form": open_project(PAYMENTS, "a", "2"),
    "Client Secret form": open_project(PAYMENTS, "a", "3"),
    "connection details": open_project(PAYMENTS, "enter"),
    "edit connection": open_project(PAYMENTS, "e"),
    "delete connection": open_project(PAYMENTS, "d"),
    "delete project": keys("end", "d"),
}

INSTANCE_STATES: dict[str, Reach] = {
    "projects": keys(),
    "sources": keys("i"),
    "help": keys("question_mark"),
    "dashboard": keys("s"),
    "connections, empty": open_project(SAMPLE_PAYMENTS),
    "method picker": open_project(SAMPLE_PLATFORM, "a"),
    "Access Token form": open_project(SAMPLE_PLATFORM, "a", "2"),
    "Client Secret form": open_project(SAMPLE_PLATFORM, "a", "3"),
}


def footer_keys(app: KmsConnectApp) -> list[str]:
    """The keys the footer shows enabled (dimmed ones are a failure of their own: nothing to act on)."""
    footers = app.screen.query(QuietFooter)
    if not footers:  # a modal: its footer is the one of the screen under it, narrowed to its own keys
        shown = [(b.key, b.show, enabled) for _, b, enabled, _ in app.screen.active_bindings.values()]
    else:
        shown = [(key, True, enabled) for key, _, _, enabled, _ in footers.first().shown()]
    dimmed = [key for key, show, enabled in shown if show and not enabled]
    assert not dimmed, f"dimmed in the footer: {dimmed} (a key that cannot act is not shown)"
    return [key for key, show, _ in shown if show]


def fingerprint(app: KmsConnectApp) -> tuple[object, ...]:
    return (
        tuple(id(s) for s in app.screen_stack),
        id(app.focused),
        screen_text(app),
        len(app._notifications),
    )


async def walk(make: Callable[[], KmsConnectApp], reach: Reach) -> list[str]:
    """Reach the state once to read its footer, then once per key: each key must change something."""
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await reach(pilot, app)
        await settle(pilot)
        shown = footer_keys(app)
    assert shown, "a footer with no keys"
    dead: list[str] = []
    for key in shown:
        app = make()
        async with app.run_test(size=SIZE) as pilot:
            await reach(pilot, app)
            await settle(pilot)
            before = fingerprint(app)
            await settle(pilot)
            assert fingerprint(app) == before, "the state changes on its own: the test could not tell"
            burst(app, key)
            if key == "ctrl+q":
                await pilot.pause()
                if app.return_code is None and app.is_running:
                    dead.append(key)
                continue
            await until_keys_done(app, pilot)
            if fingerprint(app) == before:
                dead.append(key)
    return dead


def sandbox_settings(sandbox) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        azure=AzureSettings(
            authority_host=sandbox.authority_host,
            devops_url=sandbox.devops_url,
            release_url=sandbox.release_url,
            ca_bundle=sandbox.ca_bundle,
        )
    )


@pytest.fixture
def local_app(sandbox, paths, memory_keyring):  # type: ignore[no-untyped-def]
    """The seeded store; checks go to the loopback simulators (the seeded tokens fail there: a visible change)."""
    seed_store(paths, memory_keyring.data)
    settings = sandbox_settings(sandbox)

    def make() -> KmsConnectApp:
        store = LocalStore(paths, settings)
        checker = LiveChecker(settings, retry=RetryPolicy(backoff=0.01))
        return KmsConnectApp(paths=paths, settings=settings, backend=store, checker=checker)

    return make


@pytest.fixture
def instance_app(sandbox, paths, kms, kms_identity):  # type: ignore[no-untyped-def]
    settings = sandbox_settings(sandbox)
    add_instance(paths, settings, LocalStore(paths, settings), kms, kms_identity)

    def make() -> KmsConnectApp:
        local = LocalStore(paths, settings)
        backend = open_source("prod", paths, settings, local)
        return KmsConnectApp(paths=paths, settings=settings, backend=backend, local=local, source="prod")

    return make


@pytest.mark.parametrize("state", LOCAL_STATES)
async def test_every_footer_key_acts_on_the_local_store(local_app, state: str) -> None:
    assert await walk(local_app, LOCAL_STATES[state]) == []


@pytest.mark.parametrize("state", INSTANCE_STATES)
async def test_every_footer_key_acts_on_an_instance(instance_app, state: str) -> None:
    assert await walk(instance_app, INSTANCE_STATES[state]) == []
