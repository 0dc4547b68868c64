"""Creating, editing and deleting a Secret Sync from the keyboard (issue 19), against the KMS
simulator whose jobs really write the simulated Azure DevOps variable groups."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from textual.widgets import Input, Select
from textual.widgets._select import SelectOverlay

from kms_connect.core.models import ConnectionDraft
from kms_connect.core.status import Method
from kms_connect.ui.forms.sync_form import SyncFormModal
from kms_connect.ui.modals.confirm import ConfirmModal
from kms_connect.ui.modals.delete_sync import DeleteSyncModal
from kms_connect.ui.modals.project_picker import ProjectPickerModal
from kms_connect.ui.screens.syncs import SyncsScreen
from kms_connect.ui.widgets.form_field import FormField
from kms_connect.ui.widgets.select_field import SelectField
from kms_connect_sim.kms_sync_sample import add_sample_syncs
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS
from kms_connect_sim.sandbox import PAYMENTS
from test_type_ahead import burst
from test_ui_instances import add_instance, make_app, world  # noqa: F401 - the fixture, by name
from test_ui_syncs import SIZE, flat, open_syncs
from ui_helpers import data_lines, notices, settle, wait_for_screen, wait_until


async def open_form(pilot, app, syncs: SyncsScreen, key: str = "a") -> SyncFormModal:  # type: ignore[no-untyped-def]
    await pilot.press(key)
    form = await wait_for_screen(pilot, SyncFormModal)
    await wait_until(pilot, lambda: form._loaded.is_set(), "the form's choices", 3000)
    await settle(pilot)
    return form


async def choose(pilot, form: SyncFormModal, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Pick an option of a Select from the keyboard: focus it, open it, move down to it, Enter."""
    select = form.query_one(f"#select-{key}", Select)
    select.focus()
    await pilot.press("enter")
    await pilot.pause()
    overlay = select.query_one(SelectOverlay)
    for _ in range(overlay.option_count):
        if overlay.highlighted is not None and select._options[overlay.highlighted][1] == value:
            break
        await pilot.press("down")
    await pilot.press("enter")
    await pilot.pause()
    assert select.value == value


async def type_into(pilot, form: SyncFormModal, key: str, text: str) -> None:  # type: ignore[no-untyped-def]
    field = form.query_one(f"#input-{key}", Input)
    field.focus()
    field.value = ""
    await pilot.press(*text)


async def fill(pilot, form: SyncFormModal, name: str, environment: str, project: str) -> None:  # type: ignore[no-untyped-def]
    """The three fields every sync needs, as typed from the keyboard (the name field has the focus)."""
    await pilot.press(*name)
    await choose(pilot, form, "environment", environment)
    await type_into(pilot, form, "devops_project", project)


def group(sample, project: str, name: str):  # type: ignore[no-untyped-def]
    org = sample[0].orgs["contoso-dev"]
    return next((g for g in org.variable_groups if g.in_project(project) and g.name == name), None)


@pytest.fixture
def app(world, paths, kms, kms_identity, sample):  # type: ignore[no-untyped-def]  # noqa: F811
    """The app on the instance `prod`, whose sample syncs ran once (payments-prod succeeded,
    platform-dev failed); from then on each read of one sync moves its job a step ("on-poll")."""
    settings, local = world
    add_instance(paths, settings, local, kms, kms_identity)
    add_sample_syncs(kms.kms_world, sample[1])
    kms.run_jobs()
    kms.kms_world.sync_jobs = "on-poll"
    return make_app(paths, settings, local, "prod")


async def payments_form(pilot, app, key: str = "a") -> tuple[SyncsScreen, SyncFormModal]:  # type: ignore[no-untyped-def]
    syncs = await open_syncs(pilot, app, SAMPLE_PAYMENTS)
    return syncs, await open_form(pilot, app, syncs, key)


# --- create ----------------------------------------------------------------------------------------
async def test_a_sync_made_from_the_keyboard_lands_its_secrets_in_azure_devops(app, kms, sample) -> None:
    kms.kms_world.add_secrets(SAMPLE_PAYMENTS, "staging", "/", {"DB_URL": "postgres://staging", "API_KEY": "k"})
    async with app.run_test(size=SIZE) as pilot:
        syncs, form = await payments_form(pilot, app)
        await fill(pilot, form, "payments-staging", "staging", PAYMENTS)
        await type_into(pilot, form, "key_schema", "KMS_{{secretKey}}")
        said = flat(app)
        assert "The variable group «Staging» in Payments will be created, or replaced with exactly" in said
        assert "Variables in it that are not in KMS will be deleted." in said
        assert "A secret EXAMPLE_KEY arrives as the variable KMS_EXAMPLE_KEY." in said
        assert "writes this variable group too" not in said
        await pilot.press("enter")  # Enter in a field: save, which asks first
        ask = await wait_for_screen(pilot, ConfirmModal)
        assert "Auto-sync is on: the instance runs it at once." in ask._body
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen is syncs, "the form closing", 3000)
        await wait_until(pilot, lambda: any("payments-staging" in r for r in data_lines(syncs.table)), "its row")
        await wait_until(pilot, lambda: not syncs.watching, "its first job followed to its end", 8000)
        row = next(r for r in data_lines(syncs.table) if "payments-staging" in r)
        assert "✓ Succeeded" in row, row
        assert ask.is_attached is False
    landed = group(sample, PAYMENTS, "Staging")
    assert landed is not None and set(landed.variables) == {"KMS_DB_URL", "KMS_API_KEY"}
    assert all(v.is_secret for v in landed.variables.values())


async def test_a_shared_variable_group_is_warned_of_before_and_when_saving(app, kms, sample) -> None:
    async with app.run_test(size=SIZE) as pilot:
        _, form = await payments_form(pilot, app)
        await fill(pilot, form, "prod-again", "prod", "payments")  # the name as typed: case aside
        assert "Payments/payments-prod writes this variable group too" in flat(app)
        await pilot.press("ctrl+s")
        ask = await wait_for_screen(pilot, ConfirmModal)
        assert "payments-prod writes this group too: the two would overwrite each other." in ask._body
        await pilot.press("n")  # not created: the form is back, as typed
        await wait_until(pilot, lambda: app.screen is form, "the form again")
        assert form.query_one("#input-name", Input).value == "prod-again"
        assert kms.kms_world.syncs and all(s.name != "prod-again" for s in kms.kms_world.syncs.values())


async def test_a_refusal_shows_under_its_field_and_keeps_what_was_typed(app, kms, sample) -> None:
    async with app.run_test(size=SIZE) as pilot:
        _, form = await payments_form(pilot, app)
        await fill(pilot, form, "payments-prod", "dev", PAYMENTS)  # taken in this project
        await type_into(pilot, form, "secret_path", "/no/such/folder")
        await type_into(pilot, form, "key_schema", "{{secretKey}}-dev")
        await pilot.press("ctrl+s")
        await wait_for_screen(pilot, ConfirmModal)
        await pilot.press("y")
        await wait_until(pilot, lambda: "Not saved" in flat(app), "the refusal")
        assert "✗ Not saved: see the fields above" in flat(app)
        path_error = form.query_one("#field-secret_path", FormField).error or ""
        assert 'Could not find folder with path "/no/such/folder"' in path_error
        values = {k: form.query_one(f"#input-{k}", Input).value for k in ("name", "secret_path", "key_schema")}
        assert values == {"name": "payments-prod", "secret_path": "/no/such/folder", "key_schema": "{{secretKey}}-dev"}
        await type_into(pilot, form, "secret_path", "/")  # the folder fixed, the name is the next refusal
        await pilot.press("ctrl+s")
        await wait_for_screen(pilot, ConfirmModal)
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(form.query_one("#field-name", FormField).error), "the name refused")
        assert 'A Secret Sync with the name "payments-prod" already exists' in (
            form.query_one("#field-name", FormField).error or ""
        )
        assert form.query_one("#field-secret_path", FormField).error is None


async def test_mistakes_are_shown_before_anything_is_sent(app, kms, sample) -> None:
    async with app.run_test(size=SIZE) as pilot:
        _, form = await payments_form(pilot, app)
        await pilot.press(*"Prod Sync")
        await type_into(pilot, form, "key_schema", "KMS.{{secretKey}}")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form  # nothing asked, nothing sent
        name = form.query_one("#field-name", FormField).error or ""
        assert "lowercase letters" in name
        assert "Not allowed: ." in (form.query_one("#field-key_schema", FormField).error or "")
        assert form.query_one("#field-environment", SelectField).error == "Choose the environment to sync."
        assert app.focused is form.query_one("#input-name", Input)  # the first mistake has the focus
        posted = [r for r in kms.requests if r.method == "POST" and r.path.endswith("/secret-syncs/azure-devops")]
        assert posted == []


async def test_esc_asks_before_throwing_away_what_was_typed(app, kms, sample) -> None:
    async with app.run_test(size=SIZE) as pilot:
        _, form = await payments_form(pilot, app)
        await pilot.press(*"half-typed")
        await pilot.press("escape")
        ask = await wait_for_screen(pilot, ConfirmModal)
        assert "Name: lost if you discard" in ask._body
        await pilot.press("escape")  # Esc again keeps editing
        await wait_until(pilot, lambda: app.screen is form, "the form again")
        assert form.query_one("#input-name", Input).value == "half-typed"


# --- edit and delete ---------------------------------------------------------------------------------
async def test_an_edit_with_auto_sync_warns_then_the_instance_runs_it(app, kms, sample) -> None:
    async with app.run_test(size=SIZE) as pilot:
        syncs, form = await payments_form(pilot, app, "e")
        assert form.query_one("#input-name", Input).disabled  # an edit changes path, schema, auto-sync
        assert app.focused is form.query_one("#input-secret_path", Input)
        await type_into(pilot, form, "key_schema", "APP_{{secretKey}}")
        await pilot.press("enter")
        ask = await wait_for_screen(pilot, ConfirmModal)
        assert "The variable group «Production» in Payments will be created, or replaced" in ask._body
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen is syncs, "the form closing", 3000)
        await wait_until(pilot, lambda: not syncs.watching, "the job the edit started", 8000)
    landed = group(sample, PAYMENTS, "Production")
    assert landed is not None and landed.variables and all(k.startswith("APP_") for k in landed.variables)


async def test_an_edit_without_auto_sync_saves_without_asking(app, kms, sample) -> None:
    async with app.run_test(size=SIZE) as pilot:
        syncs, form = await payments_form(pilot, app, "e")
        form.query_one("#auto-sync").focus()
        await pilot.press("space")  # auto-sync off
        jobs = len(kms.kms_world.jobs)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is syncs, "saved at once", 3000)
        [sync] = [s for s in kms.kms_world.syncs.values() if s.name == "payments-prod"]
        assert sync.auto_sync is False and len(kms.kms_world.jobs) == jobs  # nothing ran


async def test_delete_keeps_the_group_unless_asked_to_remove_it(app, kms, sample) -> None:
    kms.kms_world.sync_jobs = "manual"
    async with app.run_test(size=SIZE) as pilot:
        syncs = await open_syncs(pilot, app, SAMPLE_PAYMENTS)
        await pilot.press("d")
        await wait_for_screen(pilot, DeleteSyncModal)
        said = flat(app)
        assert "that deletes the whole variable group «Production» in Payments" in said and "[ ]" in said
        await pilot.press("enter")  # Cancel has the focus
        await wait_until(pilot, lambda: app.screen is syncs, "kept")
        assert any(s.name == "payments-prod" for s in kms.kms_world.syncs.values())
        await pilot.press("d")
        await wait_for_screen(pilot, DeleteSyncModal)
        await pilot.press("y")
        await wait_until(pilot, lambda: not data_lines(syncs.table) or syncs.table.display is False, "the row going")
        assert not any(s.name == "payments-prod" for s in kms.kms_world.syncs.values())
        assert "Deleted payments-prod." in notices(app)
    assert group(sample, PAYMENTS, "Production") is not None  # left as the last run left it


async def test_delete_with_remove_secrets_deletes_the_variable_group(app, kms, sample) -> None:
    async with app.run_test(size=SIZE) as pilot:
        syncs = await open_syncs(pilot, app, SAMPLE_PAYMENTS)
        await pilot.press("d")
        await wait_for_screen(pilot, DeleteSyncModal)
        await pilot.press("t")
        assert "[x]" in flat(app)
        await pilot.press("y")  # the removal is followed ("on-poll": each read moves its job) to the row's end
        await wait_until(pilot, lambda: not syncs.syncs, "the sync gone", 3000)
        assert "Deleted payments-prod and the variable group «Production» in Payments." in notices(app)
    assert group(sample, PAYMENTS, "Production") is None
    assert not any(s.name == "payments-prod" for s in kms.kms_world.syncs.values())


async def test_a_refused_removal_keeps_the_sync_and_says_why(app, kms, sample, sandbox) -> None:
    async with app.run_test(size=SIZE) as pilot:
        syncs = await open_syncs(pilot, app, SAMPLE_PAYMENTS)
        sandbox.devops.inject("distributedtask/variablegroups", status=500, body={"message": "VS402 disk on fire"})
        await pilot.press("d")
        await wait_for_screen(pilot, DeleteSyncModal)
        await pilot.press("t", "y")
        await wait_until(pilot, lambda: any("payments-prod kept" in n for n in notices(app)), "the refusal", 3000)
        said = next(n for n in notices(app) if "payments-prod kept" in n)
        assert "VS402 disk on fire" in said  # an unknown failure, as the instance sent it
        await settle(pilot)
        assert [s.name for s in syncs.syncs.values()] == ["payments-prod"]
    assert group(sample, PAYMENTS, "Production") is not None


async def test_the_instances_422_lands_under_each_field_it_names(app, kms, sample, monkeypatch) -> None:
    """A newer instance may refuse what this version's checks let through: its 422, field by field."""
    monkeypatch.setattr(SyncFormModal, "_check", lambda self, key, value: None)  # this version's checks: none
    async with app.run_test(size=SIZE) as pilot:
        _, form = await payments_form(pilot, app)
        await fill(pilot, form, "Not A Slug", "dev", PAYMENTS)
        await type_into(pilot, form, "key_schema", "no-placeholder")
        await pilot.press("ctrl+s")
        await wait_for_screen(pilot, ConfirmModal)
        await pilot.press("y")
        await wait_until(pilot, lambda: "Not saved" in flat(app), "the refusal")
        assert "lowercase letters, numbers, and hyphens" in (form.query_one("#field-name", FormField).error or "")
        assert "{{secretKey}}" in (form.query_one("#field-key_schema", FormField).error or "")
        assert form.query_one("#input-name", Input).value == "Not A Slug"  # nothing typed is lost
        assert form.query_one("#input-key_schema", Input).value == "no-placeholder"


async def test_a_save_typed_while_the_choices_load_waits_for_them(app, kms, sample) -> None:
    async with app.run_test(size=SIZE) as pilot:
        syncs = await open_syncs(pilot, app, SAMPLE_PAYMENTS)
        gate = kms.hold("/api/v1/projects")  # the form's first read waits
        try:
            await pilot.press("a")
            form = await wait_for_screen(pilot, SyncFormModal)
            await pilot.press(*"early-bird", "ctrl+s")  # typed ahead of the choices
            await wait_until(pilot, lambda: "Reading the project's environments" in flat(app), "the wait said")
            assert not form._loaded.is_set() and app.screen is form
        finally:
            gate.set()
        await wait_until(pilot, lambda: form._loaded.is_set() and not form.saving, "the save going on")
        # The save went on with the choices in place: the one connection is chosen, the environment asked for.
        assert form.query_one("#field-environment", SelectField).error == "Choose the environment to sync."
        assert form.query_one("#field-connection", SelectField).error is None
        choose_it = form.query_one("#select-environment", Select)
        await wait_until(pilot, lambda: app.focused is choose_it, "the focus on the environment")  # focus() is queued
        assert form.query_one("#input-name", Input).value == "early-bird"
        assert syncs.is_attached


async def test_ctrl_l_lists_the_projects_with_a_credential_kept_here(app, kms, sample, world) -> None:  # noqa: F811
    """The instance refuses its projects route to a machine identity: a local-store connection of the
    same organization lists them, and the pick carries the project's id."""
    _, local = world
    ops = await local.create_project("Ops")
    token = SecretStr(sample[1].pat_ok.token)
    await local.create_connection(
        ops.id,
        ConnectionDraft(
            name="ops-pat", method=Method.ACCESS_TOKEN, org_name="contoso-dev", secrets={"access_token": token}
        ),
    )
    async with app.run_test(size=SIZE) as pilot:
        _, form = await payments_form(pilot, app)
        await pilot.press("ctrl+l")
        picker = await wait_for_screen(pilot, ProjectPickerModal)
        await wait_until(pilot, lambda: picker.projects is not None, "the listing", 3000)
        assert set(picker.projects or []) >= {PAYMENTS, "Platform"}
        await pilot.press(*"Plat", "enter")  # one left by the filter: Enter picks it
        await wait_until(pilot, lambda: app.screen is form, "the form again")
        assert form.query_one("#input-devops_project", Input).value == "Platform"
        assert form.picked_ids["Platform"] == sample[0].orgs["contoso-dev"].project_id("Platform")


async def test_ctrl_l_without_a_credential_here_says_to_type_the_name(app, kms, sample) -> None:
    async with app.run_test(size=SIZE) as pilot:
        _, form = await payments_form(pilot, app)
        await pilot.press("ctrl+l")
        picker = await wait_for_screen(pilot, ProjectPickerModal)
        await wait_until(pilot, lambda: bool(picker.problem), "the reason")
        assert "No connection of contoso-dev in the local store" in picker.problem
        await pilot.press(*"Payments", "enter")  # not listed: the name as typed
        await wait_until(pilot, lambda: app.screen is form, "the form again")
        assert form.query_one("#input-devops_project", Input).value == PAYMENTS


async def test_a_y_typed_with_the_save_is_no_answer_nor_text(app, kms, sample) -> None:
    """^s then y at once: the y was typed before the question showed; it lands in no field."""
    async with app.run_test(size=SIZE) as pilot:
        _, form = await payments_form(pilot, app)
        await fill(pilot, form, "quick-one", "staging", PAYMENTS)
        burst(app, "ctrl+s", "y")  # both posted at once, as a fast typist's (Pilot.press waits between keys)
        ask = await wait_for_screen(pilot, ConfirmModal)
        await wait_until(pilot, lambda: any("Ignored y, typed before this question" in n for n in notices(app)), "said")
        assert app.screen is ask and form.query_one("#input-devops_project", Input).value == PAYMENTS
        assert not any(s.name == "quick-one" for s in kms.kms_world.syncs.values())  # not answered for them


async def test_esc_while_saving_waits_for_the_save(app, kms, sample) -> None:
    """Esc typed while the instance saves: the save ends first (no question over a sync already sent)."""
    async with app.run_test(size=SIZE) as pilot:
        syncs, form = await payments_form(pilot, app)
        await fill(pilot, form, "held-one", "staging", PAYMENTS)
        await pilot.press("ctrl+s")
        await wait_for_screen(pilot, ConfirmModal)
        gate = kms.hold("/api/v1/secret-syncs/azure-devops")  # the create's answer waits
        try:
            await pilot.press("y")
            await wait_until(pilot, lambda: "Saving on the instance" in flat(app), "the save under way")
            await pilot.press("escape")
            for _ in range(5):
                await pilot.pause()
            assert app.screen is form and form.saving  # no "Discard?" over a save already sent
        finally:
            gate.set()
        await wait_until(pilot, lambda: app.screen is not form, "the form closing", 3000)
        assert any(s.name == "held-one" for s in kms.kms_world.syncs.values())
        assert not isinstance(app.screen, ConfirmModal)
        assert (
            "held-one"
            in syncs.syncs.get(next(iter(k for k, s in syncs.syncs.items() if s.name == "held-one")), None).name
        )


async def test_a_typed_project_gets_its_id_quietly_or_the_question_says_it_has_none(app, kms, sample, world) -> None:  # noqa: F811
    for sync in [s for s in kms.kms_world.syncs.values() if s.name == "platform-dev"]:
        del kms.kms_world.syncs[sync.id]  # no other sync names Platform's id
    async with app.run_test(size=SIZE) as pilot:
        _, form = await payments_form(pilot, app)
        await fill(pilot, form, "to-platform", "staging", "platform")
        await pilot.press("ctrl+s")
        ask = await wait_for_screen(pilot, ConfirmModal)
        assert "The id of platform is not known here" in ask._body  # no credential of contoso-dev kept here
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is form, "the form again")
        _, local = world  # now one is: the same save looks the id up, and says nothing of it
        ops = await local.create_project("Ops")
        secrets = {"access_token": SecretStr(sample[1].pat_ok.token)}
        kept = ConnectionDraft(name="ops-pat", method=Method.ACCESS_TOKEN, org_name="contoso-dev", secrets=secrets)
        await local.create_connection(ops.id, kept)
        await pilot.press("ctrl+s")
        ask = await wait_for_screen(pilot, ConfirmModal)
        assert "not known here" not in ask._body and "«Staging» in Platform" in ask._body
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen is not form, "saved", 3000)
    [made] = [s for s in kms.kms_world.syncs.values() if s.name == "to-platform"]
    assert made.destination_config == {
        "devopsProjectId": sample[0].orgs["contoso-dev"].project_id("Platform"),
        "devopsProjectName": "Platform",
    }


async def test_esc_after_choices_only_asks_too(app, kms, sample) -> None:
    async with app.run_test(size=SIZE) as pilot:
        _, form = await payments_form(pilot, app)
        await choose(pilot, form, "environment", "prod")
        await pilot.press("escape")
        ask = await wait_for_screen(pilot, ConfirmModal)
        assert "Environment: lost if you discard" in ask._body
