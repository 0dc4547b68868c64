"""Creating, editing and deleting a Secret Sync from the keyboard (issue 19), against the KMS
simulator whose jobs really write the simulated Azure DevOps variable groups."""

from __future__ import annotations

from textual.widgets import Select

from kms_connect.ui.forms.sync_form import SyncFormModal
from kms_connect.ui.modals.confirm import ConfirmModal
from kms_connect.ui.screens.syncs import SyncsScreen
from kms_connect_sim.kms_sync_sample import add_sample_syncs
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS
from test_ui_instances import add_instance, make_app, world  # noqa: F401 - the fixture, by name
from test_ui_syncs import SIZE, flat, open_syncs
from ui_helpers import data_lines, notices, settle, wait_for_screen, wait_until


async def open_form(pilot, app, syncs: SyncsScreen, key: str = "a") -> SyncFormModal:  # type: ignore[no-untyped-def]
    await pilot.press(key)
    form = await wait_for_screen(pilot, SyncFormModal)
    await wait_until(pilot, lambda: form._loaded.is_set(), "the form's choices", 3000)
    await settle(pilot)
    return form


async def choose(pilot, form: SyncFormModal, key: str, shown: str) -> None:  # type: ignore[no-untyped-def]
    """Pick an option of a Select from the keyboard: focus it, open it, move to it, Enter."""
    select = form.query_one(f"#select-{key}", Select)
    select.focus()
    await pilot.press("enter")
    await pilot.pause()
    labels = [str(prompt) for prompt, _ in select._options]
    for _ in range(len(labels)):
        highlighted = select.query_one("SelectOverlay").highlighted_option  # type: ignore[attr-defined]
        if highlighted is not None and shown in str(highlighted.prompt):
            break
        await pilot.press("down")
    await pilot.press("enter")
    await pilot.pause()
    assert shown in str(select.selection and dict((v, str(p)) for p, v in select._options)[select.selection]), labels


async def test_probe(world, paths, kms, kms_identity, sample) -> None:  # noqa: F811
    settings, local = world
    add_instance(paths, settings, local, kms, kms_identity)
    add_sample_syncs(kms.kms_world, sample[1])
    kms.run_jobs()
    app = make_app(paths, settings, local, "prod")
    async with app.run_test(size=SIZE) as pilot:
        syncs = await open_syncs(pilot, app, SAMPLE_PAYMENTS)
        form = await open_form(pilot, app, syncs)
        app.save_screenshot("/tmp/x/form.svg")
        print(flat(app))
        print(form.choices)
