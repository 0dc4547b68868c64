"""The real start-up path: config and store load in a worker after the first paint, errors shown in place."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from kms_connect.core.paths import Paths
from kms_connect.ui.app import KmsConnectApp
from kms_connect.ui.screens.projects import ProjectsScreen
from ui_helpers import screen_text, settle


async def _started(app: KmsConnectApp, pilot) -> None:  # type: ignore[no-untyped-def]
    # The load worker starts after the first refresh; wait for it by name, then for its messages.
    for _ in range(50):
        if any(w.name == "load-backend" for w in app.workers) or app.backend or app.load_error:
            break
        await pilot.pause()
    await settle(pilot)


async def test_loads_store_and_applies_theme(paths: Paths) -> None:
    paths.config_file.parent.mkdir(parents=True)
    paths.config_file.write_text('[ui]\ntheme = "nord"\n')
    app = KmsConnectApp(paths=paths)
    async with app.run_test(size=(80, 24)) as pilot:
        await _started(app, pilot)
        assert app.backend is not None and app.theme == "nord"
        assert "No projects yet" in screen_text(app)


async def test_bad_config_is_explained_on_the_projects_screen(paths: Paths) -> None:
    paths.config_file.parent.mkdir(parents=True)
    paths.config_file.write_text('[secrets]\nbackend = "vault"\n')
    app = KmsConnectApp(paths=paths)
    async with app.run_test(size=(80, 24)) as pilot:
        await _started(app, pilot)
        assert app.backend is None
        text = screen_text(app)
        assert "Cannot open the local store" in text and "[secrets] backend" in text
        assert "Traceback" not in text
        # Fix the file, press r: it loads without a restart.
        paths.config_file.write_text('[secrets]\nbackend = "auto"\n')
        await pilot.press("r")
        await _started(app, pilot)
        assert app.backend is not None
        assert "No projects yet" in screen_text(app)


async def test_damaged_store_is_named_and_left_alone(paths: Paths, tmp_path: Path) -> None:
    paths.data_dir.mkdir(parents=True)
    paths.store_file.write_bytes(b"version = 1\n[[projects]\n")
    app = KmsConnectApp(paths=paths)
    async with app.run_test(size=(120, 40)) as pilot:
        await _started(app, pilot)
        assert isinstance(app.screen, ProjectsScreen)
        text = screen_text(app)
        assert "is damaged" in text and "left untouched" in text
        await pilot.press("n", *"New", "enter", "enter")  # try to create a project anyway
        await settle(pilot)
        assert "is damaged" in screen_text(app)  # said in the dialog, which stays open
        assert app.screen.query_one("#input-name").value == "New"
    assert paths.store_file.read_bytes() == b"version = 1\n[[projects]\n"


async def test_a_damaged_store_is_named_with_its_ids_and_new_project_typed_at_launch_cannot_save(
    paths: Paths, store
) -> None:  # type: ignore[no-untyped-def]
    import tomllib

    import tomli_w

    from test_store import pat_draft
    from test_store_damaged import checksums
    from ui_helpers import static_text

    project = await store.create_project("Payments")
    for name in ("alpha", "beta"):
        await store.create_connection(project.id, pat_draft(name))
    doc = tomllib.loads(paths.store_file.read_text())
    twice = doc["connections"][1]["id"] = doc["connections"][0]["id"]  # a bad merge, a hand edit
    paths.store_file.write_text(tomli_w.dumps(doc))
    before = checksums(paths.data_dir)

    app = KmsConnectApp(paths=paths)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", *"New", "enter")  # typed at launch: the dialog waits for the store to save
        await _started(app, pilot)
        await settle(pilot)
        assert app.backend is None and app.load_error is not None
        said = static_text(app.screen.query_one("#form-status", Static))
        assert str(paths.store_file) in said and f"connection id {twice!r} appears 2 times" in said
        assert "Unexpected error" not in said  # the store's own words, not a wrapper's
        assert app.screen.query_one("#input-name", Input).value == "New"  # kept, to save once it is fixed
        projects = next(s for s in app.screen_stack if isinstance(s, ProjectsScreen))
        shown = static_text(projects.query_one("#empty", Static))
        assert shown.startswith("✗ Cannot open the local store.")
        assert str(paths.store_file) in shown and twice in shown and "left untouched" in shown
    assert checksums(paths.data_dir) == before
