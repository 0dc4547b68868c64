"""Keys typed ahead are acted on in order, once what they act on is there (ui/input_gate.py).

The keys are posted all at once, as a burst from the terminal arrives: nothing here waits for the
screen between two keys.
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual import events

from kms_connect.core.paths import Paths
from kms_connect.ui.app import KmsConnectApp
from kms_connect.ui.forms.access_token import AccessTokenForm
from kms_connect.ui.modals.confirm import ConfirmModal
from kms_connect.ui.modals.new_project import NewProjectModal
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect.ui.screens.projects import ProjectsScreen
from ui_helpers import settle, wait_until

CHARACTERS = {"enter": "\r", "escape": "\x1b", "tab": "\t"}


def burst(app: KmsConnectApp, *keys: str) -> None:
    for key in keys:
        app.post_message(events.Key(key, CHARACTERS.get(key, key if len(key) == 1 else None)))


async def until_keys_done(app: KmsConnectApp, pilot) -> None:  # type: ignore[no-untyped-def]
    """Until the gate has let every key through and nothing holds it (a bounded number of frames)."""
    for _ in range(200):
        await settle(pilot)
        if not app.gate.busy:
            return
    raise AssertionError(f"keys still held: {sorted(app.gate.holding)}")


async def test_a_burst_typed_at_launch_lands_on_the_access_token_form(paths: Paths) -> None:
    app = KmsConnectApp(paths=paths)  # the real start: config and store load in a thread
    async with app.run_test(size=(80, 24)) as pilot:
        burst(app, "n", *"payments", "enter", "enter", "a", "2")  # before the store is loaded
        await until_keys_done(app, pilot)
        assert isinstance(app.screen, AccessTokenForm)
        connections = app.screen_stack[1]
        assert isinstance(connections, ConnectionsScreen) and connections.project.name == "payments"


async def test_enter_opens_the_project_just_created_not_the_first_row(make_app, store) -> None:
    for name in ("Alpha", "Beta"):
        await store.create_project(name)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        burst(app, "n", *"Zed", "enter", "enter")
        await until_keys_done(app, pilot)
        assert isinstance(app.screen, ConnectionsScreen) and app.screen.project.name == "Zed"


async def test_keys_typed_while_the_new_project_dialog_opens_go_into_it(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        burst(app, "n", *"Billing Ops", "tab", *"Invoices")
        await until_keys_done(app, pilot)
        modal = app.screen
        assert isinstance(modal, NewProjectModal)
        assert modal.query_one("#input-name").value == "Billing Ops"
        assert modal.query_one("#input-description").value == "Invoices"


async def test_a_burst_through_the_method_picker_and_back_with_escape(make_app, store) -> None:
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        burst(app, "enter", "a", "escape", "a", "3", "escape", "escape")
        await until_keys_done(app, pilot)
        assert isinstance(app.screen, ProjectsScreen)
        assert len(app.screen_stack) == 1


async def test_the_quit_key_does_not_wait_behind_held_keys(paths: Paths, tmp_path: Path) -> None:
    app = KmsConnectApp(paths=paths)
    async with app.run_test(size=(80, 24)) as pilot:
        app.gate.hold("test")  # as a load that has not answered yet
        burst(app, "n", "ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def test_a_hold_never_released_lets_the_keys_go_after_its_limit(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.gate.limit = 0.2
        app.gate.hold("a bug: never released")
        burst(app, "n")
        await settle(pilot)
        assert not isinstance(app.screen, NewProjectModal)  # held
        for _ in range(100):  # polled until the gate's own 0.2 s limit fires (at most 5 s)
            if not app.gate.holding:
                break
            await pilot.pause(0.05)
        await until_keys_done(app, pilot)  # then the held key goes, and its dialog settles
        assert isinstance(app.screen, NewProjectModal)
        assert app.focused is app.screen.query_one("#input-name")


async def test_enter_in_a_form_goes_to_the_next_field_that_needs_input(make_app, store) -> None:
    """Past the optional Description and the token's Show button: what is typed next lands in a field."""
    await store.create_project("Payments")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        burst(app, "enter", "a", "2", *"vendor-pat", "enter", *"tok3n-value", "enter", *"contoso")
        await until_keys_done(app, pilot)
        form = app.screen
        assert isinstance(form, AccessTokenForm)
        values = {key: form.query_one(f"#input-{key}").value for key in ("name", "access_token", "org_name")}
        assert values == {"name": "vendor-pat", "access_token": "tok3n-value", "org_name": "contoso"}
        assert form.query_one("#input-description").value == ""
        assert app.focused is form.query_one("#input-org_name")


class SlowStoreApp(KmsConnectApp):
    """The real start, with the store's loading held at an explicit gate the test opens."""

    def __init__(self, paths: Paths, opened: threading.Event) -> None:
        super().__init__(paths=paths)
        self.store_may_open = opened

    def _load_backend(self) -> None:
        assert self.store_may_open.wait(10), "the test never opened the gate"
        super()._load_backend()


async def test_new_project_opens_and_takes_its_name_before_the_store_has_loaded(paths: Paths) -> None:
    opened = threading.Event()
    app = SlowStoreApp(paths, opened)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            burst(app, "n", *"Zed", "enter", "enter")

            def saving() -> bool:  # the dialog waits for the store; the Enter after it, for the rows
                return isinstance(app.screen, NewProjectModal) and app.screen.saving

            await wait_until(pilot, saving, "New project to save")  # not settle(): it waits for the loader
            modal = app.screen
            assert isinstance(modal, NewProjectModal) and app.backend is None
            assert modal.query_one("#input-name").value == "Zed"
            opened.set()
            await until_keys_done(app, pilot)
            assert isinstance(app.screen, ConnectionsScreen) and app.screen.project.name == "Zed"
    finally:
        opened.set()


async def test_keys_for_the_rows_still_wait_for_them(paths: Paths) -> None:
    """Only keys that need no rows go early: Enter typed at launch opens the first project, once listed."""
    store_paths = paths
    opened = threading.Event()
    app = SlowStoreApp(store_paths, opened)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            burst(app, "enter", "n")
            await wait_until(pilot, lambda: app.gate.queued == 2, "both keys to wait")
            for _ in range(5):
                await pilot.pause()
            assert isinstance(app.screen, ProjectsScreen)  # Enter waits for rows: n behind it too
            assert sorted(app.gate.holding) == ["start"]
            opened.set()
            await until_keys_done(app, pilot)
            assert isinstance(app.screen, NewProjectModal)  # no project to open: Enter did nothing, n then acted
    finally:
        opened.set()


async def test_a_confirmation_ignores_keys_typed_before_it_showed_and_says_so(make_app, store) -> None:
    await store.create_project("Keep me")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        burst(app, "d", "y")  # y typed before "Delete project?" was on screen: not an answer
        await until_keys_done(app, pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert any("Ignored y, typed before this question showed" in n.message for n in app._notifications)
        assert [p.name for p in await store.list_projects()] == ["Keep me"]
        burst(app, "y")  # typed with the question on screen: the answer
        await until_keys_done(app, pilot)
        assert await store.list_projects() == []


async def test_a_paste_waits_its_turn_behind_the_keys_before_it(make_app) -> None:
    """`n`, then a pasted name, typed ahead: the paste lands in New project's Name, not on Projects."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.post_message(events.Key("n", "n"))
        app.post_message(events.Paste("Pasted Project"))
        await until_keys_done(app, pilot)
        modal = app.screen
        assert isinstance(modal, NewProjectModal)
        assert modal.query_one("#input-name").value == "Pasted Project"
