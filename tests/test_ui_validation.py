"""Every validation message of the forms, as the operator types, pastes and submits.

The forms are pushed straight onto the running app (the picker route is covered in
test_ui_flow.py); the app is the real one on the test's local store.
"""

from __future__ import annotations

import pytest
from textual.widgets import Button, Input, Static

from kms_connect.core.status import Method
from kms_connect.ui.forms.access_token import AccessTokenForm
from kms_connect.ui.forms.base import ConnectionForm
from kms_connect.ui.forms.client_secret import ClientSecretForm
from kms_connect.ui.forms.oauth import OAuthForm
from kms_connect.ui.modals.edit_connection import EditConnectionModal
from kms_connect.ui.modals.method_picker import MethodPickerModal
from kms_connect.ui.modals.new_project import NewProjectModal
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect.ui.widgets.form_field import FormField
from ui_helpers import (
    CLIENT_SECRET,
    GUID_CLIENT,
    GUID_TENANT,
    PAT,
    fill,
    message_of,
    paste,
    settle,
    static_text,
    type_text,
    wait_for_screen,
    wait_until,
)

SIZE = (80, 24)
GUID_SHAPE = "00000000-0000-0000-0000-000000000000"
ORG_CHARS = (
    "✗ Organization Name may contain letters, digits and hyphens, and must start and end with a letter or digit."
)
REDUCED = "ℹ Reduced the pasted URL to the organization name."


async def push_form(
    pilot, form_type: type[ConnectionForm], project_id: str, taken: set[str] | None = None
) -> ConnectionForm:
    await settle(pilot)
    pilot.app.push_screen(form_type(project_id, taken or set()))
    return await wait_for_screen(pilot, form_type)


def field(form, key: str) -> FormField:
    return form.query_one(f"#field-{key}", FormField)


def status_of(form) -> str:
    return static_text(form.query_one("#form-status", Static))


@pytest.fixture
async def project(store):  # type: ignore[no-untyped-def]
    return await store.create_project("Payments")


# --- Name ----------------------------------------------------------------------------------------
async def test_name_slug_rule_with_suggestion_and_enter_applies_it(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        name = form.query_one("#input-name", Input)
        assert app.focused is name
        await type_text(pilot, "My Conn")
        assert (
            message_of(form, "name")
            == "✗ Use lowercase letters, digits and hyphens only, e.g. “my-conn”. Enter uses it."
        )
        assert field(form, "name").has_class("-invalid")
        await pilot.press("enter")  # applies the suggestion and stays in the field
        await pilot.pause()
        assert name.value == "my-conn"
        assert app.focused is name
        assert message_of(form, "name") == ""
        assert not field(form, "name").has_class("-invalid")
        await pilot.press("enter")  # now valid: Enter moves on, past the optional Description, to the token
        assert app.focused is form.query_one("#input-access_token", Input)


async def test_name_without_usable_suggestion(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id, taken={"my-conn"})
        await type_text(pilot, "My Conn")
        # The slug is taken, so it is not suggested, and Enter does not apply it.
        assert message_of(form, "name") == "✗ Use lowercase letters, digits and hyphens only."
        await type_text(pilot, "!!")
        await pilot.press("enter")
        assert form.query_one("#input-name", Input).value == "My Conn!!"
        await pilot.press("shift+tab")
        form.query_one("#input-name", Input).value = "!!!"
        await pilot.pause()
        assert message_of(form, "name") == "✗ Use lowercase letters, digits and hyphens only."


async def test_name_duplicate_in_project(make_app, store, project) -> None:
    from pydantic import SecretStr

    from kms_connect.core.models import ConnectionDraft

    await store.create_connection(
        project.id,
        ConnectionDraft(
            name="taken", method=Method.ACCESS_TOKEN, org_name="contoso", secrets={"access_token": SecretStr(PAT)}
        ),
    )
    other = await store.create_project("Other")
    await store.create_connection(
        other.id,
        ConnectionDraft(
            name="elsewhere", method=Method.ACCESS_TOKEN, org_name="contoso", secrets={"access_token": SecretStr(PAT)}
        ),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.table.move_cursor_to_key(project.id)
        await pilot.press("enter")
        await wait_for_screen(pilot, ConnectionsScreen)
        await settle(pilot)
        await pilot.press("a")
        await wait_for_screen(pilot, MethodPickerModal)
        await pilot.press("2")
        form = await wait_for_screen(pilot, AccessTokenForm)
        await type_text(pilot, "taken")
        assert message_of(form, "name") == "✗ “taken” is already used in this project; pick another name."
        name = form.query_one("#input-name", Input)
        name.value = "elsewhere"  # used in another project only: fine here
        await pilot.pause()
        assert message_of(form, "name") == ""


async def test_name_too_long_message(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        name = form.query_one("#input-name", Input)
        name.value = "a" * 65  # set in one go, the way a program (not the keyboard) can
        await pilot.pause()
        assert message_of(form, "name") == "✗ Name is 65 characters long; the limit is 64."


async def test_typing_past_the_name_limit_says_why(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        name = form.query_one("#input-name", Input)
        name.value = "a" * 64
        name.action_end()
        await pilot.pause()
        assert message_of(form, "name") == ""
        await type_text(pilot, "b")
        assert name.value == "a" * 64 + "b"  # kept, never silently dropped
        assert "65 characters long; the limit is 64" in message_of(form, "name")


async def test_pasting_a_too_long_name_says_why(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        await paste(pilot, "n" * 70)
        assert message_of(form, "name") == "✗ Name is 70 characters long; the limit is 64."


async def test_pasting_a_too_long_description_says_why(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        await fill(pilot, form, "description", "d" * 300, how="paste")
        assert message_of(form, "description") == "✗ Description is 300 characters long; the limit is 256."


# --- Description ---------------------------------------------------------------------------------
async def test_description_over_256(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        description = form.query_one("#input-description", Input)
        description.value = "d" * 257
        await pilot.pause()
        assert message_of(form, "description") == "✗ Description is 257 characters long; the limit is 256."
        description.value = "d" * 256
        await pilot.pause()
        assert message_of(form, "description") == ""


async def test_description_is_optional(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        label = field(form, "description").query_one(".field-label")
        assert "Description (optional)" in str(label.render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert message_of(form, "description") == ""


# --- Tenant ID and Client ID ---------------------------------------------------------------------
async def test_tenant_id_must_be_a_guid_in_client_secret_form(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, ClientSecretForm, project.id)
        tenant = await fill(pilot, form, "tenant_id", "contoso.onmicrosoft.com")
        assert message_of(form, "tenant_id") == (
            f"✗ Tenant ID must be a GUID like {GUID_SHAPE} (Entra ID > Overview > Tenant ID)."
        )
        tenant.value = GUID_TENANT
        await pilot.pause()
        assert message_of(form, "tenant_id") == ""


async def test_tenant_domain_accepted_in_oauth_form(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, OAuthForm, project.id)
        tenant = await fill(pilot, form, "tenant_id", "contoso.onmicrosoft.com")
        assert message_of(form, "tenant_id") == ""
        tenant.value = GUID_TENANT
        await pilot.pause()
        assert message_of(form, "tenant_id") == ""
        tenant.value = "not a tenant"
        await pilot.pause()
        assert message_of(form, "tenant_id") == (
            "✗ Tenant ID must be a GUID (Entra ID > Overview > Tenant ID) "
            "or a tenant domain such as contoso.onmicrosoft.com."
        )


async def test_client_id_must_be_a_guid(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, ClientSecretForm, project.id)
        client = await fill(pilot, form, "client_id", "my-app")
        assert message_of(form, "client_id") == (
            f"✗ Client ID must be a GUID like {GUID_SHAPE} (App registrations > your app > Application (client) ID)."
        )
        client.value = GUID_CLIENT.upper()
        await pilot.pause()
        assert message_of(form, "client_id") == ""


# --- Organization Name ---------------------------------------------------------------------------
@pytest.mark.parametrize("org", ["bad_org", "-contoso", "contoso-", "con toso"])
async def test_org_bad_characters_or_ends(make_app, project, org: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        await fill(pilot, form, "org_name", org)
        assert message_of(form, "org_name") == ORG_CHARS


async def test_org_longer_than_50(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        org = await fill(pilot, form, "org_name", "o" * 51, how="paste")
        assert message_of(form, "org_name") == "✗ Organization Name is 51 characters long; Azure DevOps allows 50."
        await pilot.press("backspace")
        assert org.value == "o" * 50
        assert message_of(form, "org_name") == ""


@pytest.mark.parametrize(
    "pasted, org",
    [
        ("https://dev.azure.com/contoso", "contoso"),
        ("https://dev.azure.com/contoso/Payments/_git/api", "contoso"),
        ("dev.azure.com/contoso/", "contoso"),
        ("https://contoso.visualstudio.com/", "contoso"),
        ("https://fabrikam.visualstudio.com/DefaultCollection/Project", "fabrikam"),
    ],
)
async def test_pasted_org_url_is_reduced(make_app, project, pasted: str, org: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        inp = await fill(pilot, form, "org_name", pasted, how="paste")
        assert inp.value == org
        assert not field(form, "org_name").has_class("-invalid")


async def test_org_url_set_in_one_go_is_reduced(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        inp = form.query_one("#input-org_name", Input)
        inp.value = "https://dev.azure.com/contoso"
        await pilot.pause()
        assert inp.value == "contoso"


async def test_reduced_org_url_says_so(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        await fill(pilot, form, "org_name", "https://dev.azure.com/contoso", how="paste")
        assert message_of(form, "org_name") == REDUCED


async def test_org_url_of_another_host_is_refused(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        inp = await fill(pilot, form, "org_name", "https://github.com/contoso", how="paste")
        assert inp.value == "https://github.com/contoso"  # left as it was, for the operator to fix
        assert message_of(form, "org_name") == (
            "✗ Paste the organization name, or a URL like https://dev.azure.com/<organization>."
        )


# --- secrets -------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [f"  {PAT}  ", f"{PAT}\n", f"\t{PAT} \r\n"])
async def test_whitespace_around_pasted_token_is_stripped(make_app, project, raw: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        token = await fill(pilot, form, "access_token", raw, how="paste")
        assert token.value == PAT
        assert message_of(form, "access_token") == ""
        token.value = f"\n {PAT}\n"  # set in one go, newline included
        await pilot.pause()
        await pilot.pause()
        assert token.value == PAT


async def test_whitespace_around_pasted_client_secret_is_stripped(make_app, store, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, ClientSecretForm, project.id)
        secret = await fill(pilot, form, "client_secret", f"  {CLIENT_SECRET}\n", how="paste")
        assert secret.value == CLIENT_SECRET


async def test_spaces_inside_a_secret_are_refused(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        await fill(pilot, form, "access_token", "two words", how="paste")
        assert message_of(form, "access_token") == "✗ Access Token cannot contain spaces; paste the token only."
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, ClientSecretForm, project.id)
        await fill(pilot, form, "client_secret", "two words", how="paste")
        assert message_of(form, "client_secret") == (
            "✗ Client Secret cannot contain spaces; paste the secret's Value only."
        )


async def test_guid_as_client_secret_hints_at_the_value(make_app, store, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, ClientSecretForm, project.id)
        await fill(pilot, form, "client_secret", GUID_CLIENT, how="paste")
        assert message_of(form, "client_secret") == (
            "ℹ This looks like the secret's ID. Paste its Value instead "
            "(shown once, when the secret is created under Certificates & secrets)."
        )
        assert field(form, "client_secret").has_class("-hint")
        assert not field(form, "client_secret").has_class("-invalid")
        form.query_one("#input-client_secret", Input).value = CLIENT_SECRET
        await pilot.pause()
        assert message_of(form, "client_secret") == ""


# --- submit with errors --------------------------------------------------------------------------
async def test_empty_access_token_form_flags_required_fields_on_submit(make_app, store, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        # While nothing is typed, nothing is flagged.
        assert all(message_of(form, k) == "" for k in ("name", "description", "access_token", "org_name"))
        form.query_one("#input-org_name", Input).focus()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert message_of(form, "name") == "✗ Name is required."
        assert message_of(form, "description") == ""
        assert message_of(form, "access_token") == (
            "✗ Access Token is required (Azure DevOps > User settings > Personal access tokens)."
        )
        assert message_of(form, "org_name") == (
            "✗ Organization Name is required (the name in https://dev.azure.com/<name>)."
        )
        assert status_of(form) == "✗ Fix the marked fields first; nothing was saved."
        assert app.focused is form.query_one("#input-name", Input)  # the first bad field
        assert await store.list_connections(project.id) == []


async def test_empty_client_secret_form_flags_required_fields(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, ClientSecretForm, project.id)
        form.query_one("#submit", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert message_of(form, "tenant_id") == "✗ Tenant ID is required."
        assert message_of(form, "client_id") == "✗ Client ID is required."
        assert message_of(form, "client_secret") == (
            "✗ Client Secret is required (App registrations > your app > Certificates & secrets)."
        )
        assert message_of(form, "org_name").startswith("✗ Organization Name is required")


async def test_first_bad_field_gets_focus_and_everything_typed_is_kept(make_app, store, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, ClientSecretForm, project.id)
        await fill(pilot, form, "name", "good-name")
        await fill(pilot, form, "description", "kept", how="paste")
        await fill(pilot, form, "tenant_id", GUID_TENANT, how="paste")
        await fill(pilot, form, "client_id", "not-a-guid", how="paste")
        await fill(pilot, form, "client_secret", CLIENT_SECRET, how="paste")
        await fill(pilot, form, "org_name", "-bad")
        before = form.values()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # still open
        assert app.focused is form.query_one("#input-client_id", Input)  # first bad, not the last
        assert form.values() == before
        assert form.values()["client_secret"] == CLIENT_SECRET
        assert message_of(form, "org_name") == ORG_CHARS
        assert status_of(form) == "✗ Fix the marked fields first; nothing was saved."
        assert await store.list_connections(project.id) == []

        # Fix the fields: the same form saves.
        form.query_one("#input-client_id", Input).value = GUID_CLIENT
        form.query_one("#input-org_name", Input).value = "contoso"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is not form
        [conn] = await store.list_connections(project.id)
        assert (conn.name, conn.description, conn.client_id) == ("good-name", "kept", GUID_CLIENT)


async def test_empty_field_is_flagged_while_typing_after_a_submit(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        await type_text(pilot, "ab")
        await pilot.press("backspace", "backspace")
        assert message_of(form, "name") == ""  # before any submit: not yet an error
        await pilot.press("ctrl+s")
        await settle(pilot)
        await type_text(pilot, "x")
        await pilot.press("backspace")
        assert message_of(form, "name") == "✗ Name is required."


async def test_save_conflict_keeps_the_form(make_app, store, project) -> None:
    """Another kms-connect took the name meanwhile: the store refuses, the form says so and stays."""
    from pydantic import SecretStr

    from kms_connect.core.models import ConnectionDraft

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)  # taken names: none yet
        await store.create_connection(
            project.id,
            ConnectionDraft(
                name="raced", method=Method.ACCESS_TOKEN, org_name="contoso", secrets={"access_token": SecretStr(PAT)}
            ),
        )
        await fill(pilot, form, "name", "raced")
        await fill(pilot, form, "access_token", PAT, how="paste")
        await fill(pilot, form, "org_name", "contoso")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert message_of(form, "name") == "✗ “raced” is already used in this project; pick another name."
        assert status_of(form) == "✗ “raced” is already used in this project; pick another name."
        assert app.focused is form.query_one("#input-name", Input)
        assert form.values()["access_token"] == PAT
        assert not form.query_one("#submit", Button).disabled
        assert len(await store.list_connections(project.id)) == 1


# --- show / hide ---------------------------------------------------------------------------------
async def test_show_hide_toggle_on_masked_field(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, AccessTokenForm, project.id)
        token = await fill(pilot, form, "access_token", PAT, how="paste")
        toggle = form.query_one("#toggle-access_token", Button)
        assert token.password and str(toggle.label) == "Show"
        assert PAT not in app.export_screenshot()

        def pressable() -> bool:  # Textual ignores a Button press while its 0.2 s press effect runs
            return not toggle.has_class("-active")

        toggle.focus()
        await pilot.press("enter")
        assert not token.password and str(toggle.label) == "Hide"
        await wait_until(pilot, pressable, "the button press effect")
        await pilot.press("enter")
        assert token.password and str(toggle.label) == "Show"

        token.focus()
        await pilot.press("ctrl+r")
        assert not token.password and str(toggle.label) == "Hide"
        await pilot.press("ctrl+r")
        assert token.password and str(toggle.label) == "Show"

        await wait_until(pilot, pressable, "the button press effect")
        await pilot.click("#toggle-access_token")
        assert not token.password and str(toggle.label) == "Hide"


async def test_ctrl_r_outside_a_secret_field_does_nothing(make_app, project) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await push_form(pilot, ClientSecretForm, project.id)
        secret = form.query_one("#input-client_secret", Input)
        form.query_one("#input-name", Input).focus()
        await pilot.press("ctrl+r")
        assert secret.password
        assert not form.query_one("#input-name", Input).password
        assert not form.query("#toggle-name")


# --- new project and edit modals -----------------------------------------------------------------
async def test_new_project_name_messages(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        modal = await wait_for_screen(pilot, NewProjectModal)
        await type_text(pilot, "!!!")
        no_slug = "✗ No slug can be made from this name: add a Latin letter or a digit (a–z, 0–9)."
        assert message_of(modal, "name") == no_slug
        assert static_text(modal.query_one("#slug", Static)) == "Slug: –"
        await pilot.press("backspace", "backspace", "backspace")
        assert message_of(modal, "name") == ""
        modal.query_one("#submit", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert message_of(modal, "name") == "✗ Name is required."
        assert app.focused is modal.query_one("#input-name", Input)
        description = modal.query_one("#input-description", Input)
        description.value = "x" * 257
        await pilot.pause()
        assert message_of(modal, "description") == "✗ Description is 257 characters long; the limit is 256."


async def test_new_project_shows_the_transliterated_slug_before_saving(make_app, store) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        modal = await wait_for_screen(pilot, NewProjectModal)
        await type_text(pilot, "Zürich Ödeme")
        assert static_text(modal.query_one("#slug", Static)) == "Slug: zurich-odeme"
        assert message_of(modal, "name") == ""
        # A name with nothing that has a Latin spelling: no slug, said while typing, with what to do.
        modal.query_one("#input-name", Input).value = "🚀🛰"
        await pilot.pause()
        assert static_text(modal.query_one("#slug", Static)) == "Slug: –"
        assert message_of(modal, "name").startswith("✗ No slug can be made from this name: add a Latin letter")
        await pilot.press("enter")  # refused: nothing is saved
        await pilot.pause()
        assert app.screen is modal and await store.list_projects() == []
        modal.query_one("#input-name", Input).value = "🚀 Zahlung Übersicht"
        await pilot.pause()
        assert static_text(modal.query_one("#slug", Static)) == "Slug: zahlung-ubersicht"
        await pilot.press("enter")
        await settle(pilot)
        [created] = await store.list_projects()
        assert (created.name, created.slug) == ("🚀 Zahlung Übersicht", "zahlung-ubersicht")


async def test_edit_modal_validates_and_enter_applies_suggestion(make_app, store, project) -> None:
    from pydantic import SecretStr

    from kms_connect.core.models import ConnectionDraft

    conn = await store.create_connection(
        project.id,
        ConnectionDraft(
            name="conn", method=Method.ACCESS_TOKEN, org_name="contoso", secrets={"access_token": SecretStr(PAT)}
        ),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(EditConnectionModal(conn, {"other"}))
        modal = await wait_for_screen(pilot, EditConnectionModal)
        name = modal.query_one("#input-name", Input)
        name.value = ""
        await pilot.pause()
        assert message_of(modal, "name") == "✗ Name is required."
        await type_text(pilot, "New Name")
        assert (
            message_of(modal, "name")
            == "✗ Use lowercase letters, digits and hyphens only, e.g. “new-name”. Enter uses it."
        )
        await pilot.press("enter")
        assert name.value == "new-name"
        assert app.screen is modal
        name.value = "other"
        await pilot.pause()
        assert message_of(modal, "name") == "✗ “other” is already used in this project; pick another name."
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is modal  # refused: nothing saved
        assert [c.name for c in await store.list_connections(project.id)] == ["conn"]
