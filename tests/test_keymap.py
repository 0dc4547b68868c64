"""The [keys] table: remapped bindings act, show in the footer and the help; mistakes name file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kms_connect.core.config import load_settings
from kms_connect.core.errors import ConfigError
from kms_connect.core.keymap import read_keys
from kms_connect.core.paths import Paths
from kms_connect.ui.app import KmsConnectApp
from kms_connect.ui.keymap import checked_keymap, known_bindings
from kms_connect.ui.modals.help import HelpScreen
from kms_connect.ui.modals.new_project import NewProjectModal
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect.ui.screens.projects import ProjectsScreen
from test_type_ahead import burst, until_keys_done
from ui_helpers import screen_text, settle, wait_until

README = Path(__file__).parent.parent / "README.md"


def write_config(paths: Paths, text: str) -> None:
    paths.config_file.parent.mkdir(parents=True, exist_ok=True)
    paths.config_file.write_text(text)


async def test_a_remapped_key_acts_from_launch_and_shows_in_footer_and_help(paths: Paths) -> None:
    # Unquoted dotted ids are nested tables in TOML: read back as the id.
    write_config(paths, '[keys]\nprojects.new = "c"\n"projects.open" = "enter,o"\n')
    app = KmsConnectApp(paths=paths)  # the real start: the keymap is read before the first frame
    async with app.run_test(size=(80, 24)) as pilot:
        burst(app, "n", "c", *"Zed", "enter", "o")  # n does nothing now; c creates, o opens
        await until_keys_done(app, pilot)
        assert isinstance(app.screen, ConnectionsScreen) and app.screen.project.name == "Zed"
        app.pop_screen()
        await settle(pilot)
        footer = screen_text(app).splitlines()[-1]
        assert re.search(r"\bc New\b", footer) and not re.search(r"\bn New\b", footer), footer
        burst(app, "question_mark")
        await until_keys_done(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        help_text = screen_text(app)
        assert re.search(r"^\W*c\s+New\b", help_text, re.M), help_text
        assert re.search(r"⏎ / o\s+Open", help_text), help_text


async def test_an_unknown_binding_id_is_reported_with_the_file_and_key(paths: Paths) -> None:
    write_config(paths, '[keys]\n"projects.nw" = "c"\n')
    app = KmsConnectApp(paths=paths)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_until(pilot, lambda: app.load_error is not None, "the load error")
        await settle(pilot)
        text = " ".join(screen_text(app).split())
        assert "config.toml" in text and "[keys] projects.nw: unknown binding id" in text, text
        burst(app, "n")  # the default keys answer (r retries, as the message says)
        await until_keys_done(app, pilot)
        assert isinstance(app.screen, NewProjectModal)


def test_a_clash_names_both_bindings_and_the_screen(paths: Paths) -> None:
    with pytest.raises(ConfigError) as caught:
        checked_keymap({"projects.new": "d"}, paths.config_file)
    assert str(caught.value) == f"{paths.config_file}: [keys] projects.new: d is also projects.delete on ProjectsScreen"


def test_swapping_two_keys_is_not_a_clash_and_the_read_only_twin_follows(paths: Paths) -> None:
    keymap = checked_keymap({"projects.new": "d", "projects.delete": "n"}, paths.config_file)
    assert keymap["projects.new-read-only"] == "d" and keymap["projects.delete-read-only"] == "n"


def test_an_app_key_taken_by_a_screen_is_a_clash(paths: Paths) -> None:
    with pytest.raises(ConfigError, match=r"\[keys\] app.help: n is also projects.new on ProjectsScreen"):
        checked_keymap({"app.help": "n"}, paths.config_file)


def test_a_key_that_is_no_key_name_is_a_settings_error(paths: Paths) -> None:
    write_config(paths, '[keys]\n"projects.new" = "ctrl n"\n')
    with pytest.raises(ConfigError, match=r"config.toml: \[keys\]: projects.new: 'ctrl n' is not a key name"):
        load_settings(paths.config_file)
    assert read_keys(paths.config_file) == {}  # before the first frame: left out, reported once loaded


def test_the_readme_lists_every_binding_id() -> None:
    readme = README.read_text()
    missing = [binding_id for binding_id in known_bindings() if f"`{binding_id}`" not in readme]
    assert not missing, f"README's Keys section lacks {missing}"


async def test_each_list_screen_focuses_its_table_on_entry_and_the_filter_only_after_slash(make_app, store) -> None:
    project = await store.create_project("Payments")
    from pydantic import SecretStr

    from kms_connect.core.models import ConnectionDraft
    from kms_connect.core.status import Method

    draft = ConnectionDraft(
        name="prod", method=Method.ACCESS_TOKEN, org_name="contoso", secrets={"access_token": SecretStr("t0ken")}
    )
    await store.create_connection(project.id, draft)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        for keys_in, screen_type in (((), ProjectsScreen), (("enter",), ConnectionsScreen), (("s",), None)):
            burst(app, *keys_in)
            await until_keys_done(app, pilot)
            screen = app.screen
            if screen_type is not None:
                assert isinstance(screen, screen_type)
            assert app.focused is screen.table, (screen, app.focused)
            burst(app, "slash")
            await until_keys_done(app, pilot)
            assert app.focused is screen.filter_bar, (screen, app.focused)
            burst(app, "escape")  # leaves the filter for the table
            await until_keys_done(app, pilot)
