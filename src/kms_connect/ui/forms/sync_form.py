"""Create or edit an Azure DevOps Secret Sync on an instance (issue 19).

The form says, as the choices change, what the sync will do in Azure DevOps (which variable group
it creates or replaces, and that variables not in KMS are deleted), and warns when another sync
writes the same group. Each field is checked as the instance checks it (core/sync_drafts); the
instance's refusals appear under the field they name. Saving asks first whenever the instance will
run the sync at once (a create, or an edit with auto-sync on). Nothing typed is lost: a refused
save leaves the form as it was, and Esc asks before discarding.

An edit changes what the issue lets an edit change: the secret path, the key schema, auto-sync and
the description; the rest is shown, not editable.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Button, Input, Select, Static

from kms_connect.core.errors import FieldError, FieldErrors
from kms_connect.core.sync_drafts import (
    DESCRIPTION_MAX,
    PREVIEW_KEY,
    SyncDraft,
    before_saving,
    check_key_schema,
    check_secret_path,
    check_slug,
    draft_of,
    field_of_issue,
    known_project_id,
    path_as_kept,
    preview_key,
    replace_warning,
    same_group,
)
from kms_connect.ui.errors import describe
from kms_connect.ui.forms.check_view import FieldsScroll
from kms_connect.ui.key_display import with_keys
from kms_connect.ui.modals.confirm import ConfirmModal
from kms_connect.ui.modals.discard import ask_to_discard
from kms_connect.ui.modals.project_picker import ProjectPickerModal
from kms_connect.ui.widgets.choices import TextCheckbox
from kms_connect.ui.widgets.form_field import FieldSpec, FormField
from kms_connect.ui.widgets.select_field import SelectField

if TYPE_CHECKING:
    from kms_connect.core.models import Project
    from kms_connect.core.sync_drafts import SyncChoices
    from kms_connect.core.workspace import SecretSync, SecretSyncs
    from kms_connect.ui.app import KmsConnectApp

CHOOSE = {"environment": "Choose the environment to sync.", "connection": "Choose a connection."}
HOLD = "sync-form-save"  # the input gate's hold while the form saves or is about to ask
RESOLVE_TIMEOUT = 10.0  # seconds to look up a typed project's id before asking
LOAD_TIMEOUT = 20.0  # seconds for the environments, connections and syncs the form offers
SAVE_TIMEOUT = 30.0


class SyncFormModal(ModalScreen["SecretSync | None"]):
    BINDINGS = [
        Binding("ctrl+s", "submit", "Save", id="syncform.save"),
        Binding("ctrl+l", "pick_project", "Azure DevOps projects", id="syncform.projects"),
        Binding("escape,ctrl+g", "cancel", "Cancel", id="syncform.cancel"),
    ]
    app: KmsConnectApp

    def __init__(self, api: SecretSyncs, project: Project, sync: SecretSync | None = None) -> None:
        super().__init__()
        self.api, self.project, self.sync = api, project, sync
        self.start = draft_of(sync) if sync else None
        self.choices: SyncChoices | None = None
        self._loaded = asyncio.Event()
        self.saving = False
        self.picked_ids: dict[str, str] = {}  # Azure DevOps project name -> id, as a listing gave them

    # --- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        s, editing = self.start, self.sync is not None
        title = f"Edit Secret Sync · {s.name}" if s else f"New Secret Sync · {self.project.name}"
        with Vertical(classes="dialog form-dialog sync-form"):
            yield Static(title, classes="dialog-title", markup=False)
            with FieldsScroll(id="fields"):
                yield FormField(FieldSpec("name", "Name", "prod-to-devops"), s.name if s else "", disabled=editing)
                yield SelectField("environment", "Environment (its name names the variable group)", disabled=editing)
                yield FormField(FieldSpec("secret_path", "Secret path (folder)", "/"), s.secret_path if s else "/")
                yield SelectField("connection", "App Connection", disabled=editing)
                yield FormField(
                    FieldSpec("devops_project", "Azure DevOps project (name; → completes)"),
                    s.devops_project if s else "",
                    disabled=editing,
                )
                yield FormField(
                    FieldSpec("key_schema", "Key schema, e.g. KMS_{{secretKey}}", optional=True),
                    s.key_schema if s else "",
                )
                yield FormField(FieldSpec("preview", "Preview with the key", PREVIEW_KEY, optional=True), PREVIEW_KEY)
                yield TextCheckbox(
                    "Auto-sync: push each change at once", s.auto_sync if s else True, id="auto-sync", compact=True
                )
                yield FormField(FieldSpec("description", "Description", optional=True), s.description if s else "")
            yield Static("", id="sync-what", classes="dialog-body", markup=False)
            yield Static("", id="form-status", classes="form-status", markup=False)
            with Horizontal(classes="buttons"):
                keys = "{syncform.save} save" + ("" if editing else " · {syncform.projects} projects")
                yield Static(with_keys(self, keys + " · {syncform.cancel} cancel"), classes="form-keys")
                yield Button("Save" if editing else "Create", variant="primary", id="submit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#input-secret_path" if self.sync else "#input-name", Input).focus()
        self._load()
        self._explain()

    @work(exclusive=True, group="sync-form-load", exit_on_error=False)
    async def _load(self) -> None:
        try:
            async with asyncio.timeout(LOAD_TIMEOUT):
                self.choices = await self.api.choices(self.project.id, self._targets())
        except Exception as exc:  # the reason where the operator looks; what is typed stays
            reason = "the instance took too long" if isinstance(exc, TimeoutError) else describe(exc).rstrip(".")
            self._status(f"✗ Could not read the project's environments and connections: {reason}. Esc, then r.")
            if self.start is None:  # an edit keeps its own (they cannot change)
                for key in ("environment", "connection"):
                    self.query_one(f"#field-{key}", SelectField).fill([], empty="Not listed (see below).")
            self._loaded.set()
            return
        self._fill(self.choices)
        self._loaded.set()  # a save waiting for the choices goes on with them in place

    def _fill(self, c: SyncChoices) -> None:
        s = self.start
        self.query_one("#field-environment", SelectField).fill(
            [(f"{name} ({slug})", slug) for slug, name in c.environments],
            s.environment if s else "",
            empty="This project has no environments.",
        )
        self.query_one("#field-connection", SelectField).fill(
            [(f"{name} · {org}" if org else name, cid) for cid, name, org in c.connections],
            s.connection_id if s else "",
            empty="No Azure DevOps connection in this project or the organization: add one first (a on App "
            "Connections).",
        )
        self._suggest()
        self._explain()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick_project":
            return self.sync is None  # an edit cannot change the destination
        if action == "cancel":
            return not self.saving  # the question, then the save: Esc waits for them (keys are held)
        return True

    def _org(self) -> str:
        """The Azure DevOps organization of the connection chosen ("" before one is)."""
        chosen = self.query_one("#field-connection", SelectField).value
        return next((o for i, _, o in self.choices.connections if i == chosen), "") if self.choices else ""

    def action_pick_project(self) -> None:
        """The projects of the chosen connection's organization, listed with a credential kept here."""
        org = self._org()
        if not org:
            self.query_one("#field-connection", SelectField).show(
                "Choose the connection first: its organization's projects are listed."
            )
            self.query_one("#field-connection", SelectField).select.focus()
            return

        async def listed() -> list[str]:
            found = await self.app.ws.devops_projects(org, self.app.get_checker())
            self.picked_ids.update(found)
            return list(found)

        current = self.query_one("#input-devops_project", Input).value.strip()
        intro = "The project the sync writes to. Listed with a connection of this organization kept here."
        self.app.push_screen(ProjectPickerModal(org, [current] if current else [], listed, single=intro), self._picked)

    def _picked(self, names: list[str] | None) -> None:
        if names:
            field = self.query_one("#input-devops_project", Input)
            field.value = names[0]
            field.focus()

    async def _targets(self) -> dict[str, list[str]]:
        """Each connection's target projects (issue 18), kept on this machine: suggestions."""
        return {c.id: list(c.target_projects) for c in await self.app.ws.backend.list_connections(self.project.id)}

    # --- what the operator sees as they type ------------------------------------------------------
    def _suggest(self) -> None:
        if self.choices is None:
            return
        names = self.choices.suggestions(self.query_one("#field-connection", SelectField).value)
        field = self.query_one("#field-devops_project", FormField)
        field.input.suggester = SuggestFromList(names, case_sensitive=False)
        if not self.sync:
            shown = (" · known: " + ", ".join(names[:3]) + (" …" if len(names) > 3 else "")) if names else ""
            field.show(field.error, hint=with_keys(self, "{syncform.projects} lists them") + shown)

    def _values(self) -> dict[str, str]:
        out = {f.spec.key: f.value for f in self.query(FormField)}
        s = self.start  # an edit cannot change these: its own stand when they could not be listed
        out["environment"] = self.query_one("#field-environment", SelectField).value or (s.environment if s else "")
        out["connection"] = self.query_one("#field-connection", SelectField).value or (s.connection_id if s else "")
        return out

    def _explain(self) -> None:
        """What the sync will do, and whom it would overwrite."""
        v = self._values()
        env_name = self.choices.environment_name(v["environment"]) if self.choices else v["environment"]
        devops = v["devops_project"].strip()
        schema = v["key_schema"].strip()
        lines = []
        if env_name and devops:
            lines.append("⚠ " + replace_warning(env_name, devops, f"{v['environment']}{v['secret_path'].strip()}"))
        if not check_key_schema(schema):
            key = v["preview"].strip() or PREVIEW_KEY
            lines.append(f"ℹ A secret {key} arrives as the variable {preview_key(schema, key, v['environment'])}.")
        for other in self._sharing(env_name, devops):
            lines.append(
                f"⚠ {other.project}/{other.name} writes this variable group too: the two syncs would overwrite "
                "each other."
            )
        self.query_one("#sync-what", Static).update("\n".join(lines))

    def _sharing(self, env_name: str, devops: str) -> list[SecretSync]:
        if self.choices is None or not (env_name and devops):
            return []
        return same_group(self.choices.syncs, devops, env_name, exclude=self.sync.id if self.sync else "")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        field = FormField.of(event.input)
        if field is not None:
            field.show(self._check(field.spec.key, event.value))
        self._explain()

    @on(Select.Changed)
    def _chosen(self, event: Select.Changed) -> None:
        if event.select.id == "select-connection":
            self._suggest()
        for field in self.query(SelectField):
            if field.value:
                field.show(None)
        self._explain()

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_submit()

    def _check(self, key: str, value: str) -> str | None:
        if key == "name":
            return check_slug(value, "sync's name")
        if key == "secret_path":
            return check_secret_path(value)
        if key == "key_schema":
            return check_key_schema(value.strip())
        if key == "devops_project":
            return None if value.strip() else "Enter the Azure DevOps project to push to."
        if key == "description" and len(value) > DESCRIPTION_MAX:
            return f"At most {DESCRIPTION_MAX} characters."
        return None

    # --- saving -----------------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()
        elif event.button.id == "cancel":
            self.action_cancel()

    def action_submit(self) -> None:
        if not self.saving:
            self.saving = True  # a second Enter while asking or saving does nothing twice
            self.app.gate.hold(HOLD)  # keys typed from here wait: for the question, or for the form again
            self._submit()

    def _draft(self) -> SyncDraft | None:
        """The draft, or None after showing each mistake under its field (focus on the first)."""
        v = self._values()
        first: Widget | None = None
        for field in self.query(".form-field"):  # in the order shown: the first mistake gets the focus
            if isinstance(field, FormField):
                field.show(self._check(field.spec.key, field.value))
                first = first or (field.input if field.error else None)
            elif isinstance(field, SelectField):
                field.show(None if v[field.key] else CHOOSE[field.key])
                first = first or (field.select if field.error else None)
        if first is not None:
            first.focus()
            return None
        devops = v["devops_project"].strip()
        known = self.picked_ids.get(devops) or (known_project_id(self.choices.syncs, devops) if self.choices else "")
        return SyncDraft(
            name=v["name"].strip(),
            description=v["description"].strip(),
            environment=v["environment"],
            secret_path=path_as_kept(v["secret_path"]),
            connection_id=v["connection"],
            devops_project=devops,
            devops_project_id=self.start.devops_project_id if self.start else known,
            key_schema=v["key_schema"].strip(),
            auto_sync=self.query_one("#auto-sync", TextCheckbox).value,
        )

    @work(exclusive=True, group="sync-form-save", exit_on_error=False)
    async def _submit(self) -> None:
        saved = None
        try:
            if not self._loaded.is_set():
                self._status("… Reading the project's environments and connections")
                await asyncio.wait_for(self._loaded.wait(), LOAD_TIMEOUT + 1)
            draft = self._draft()
            if draft is not None and not draft.devops_project_id:
                self._status("… Looking up the Azure DevOps project")
                draft = await self._resolved(draft)
            if draft is None or not await self._confirmed(draft):
                self._status("")
                return
            self._status("… Saving on the instance")
            async with asyncio.timeout(SAVE_TIMEOUT):
                saved = (
                    await self.api.update(self.sync, draft)
                    if self.sync
                    else await self.api.create(self._project_raw(), draft)
                )
        except Exception as exc:
            self._refused(exc)
        finally:
            self.saving = False
            if saved is None:
                self.app.gate.release(HOLD)
        if saved is not None:
            self.dismiss(saved)
            self.app.gate.release(HOLD)  # after the dismissal: the next key is for the Syncs screen

    async def _resolved(self, draft: SyncDraft) -> SyncDraft:
        """A typed project's id, looked up quietly with a credential kept here (else the name stands
        for it, and the question says what that risks)."""
        org = self._org()
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                found = await self.app.ws.devops_projects(org, self.app.get_checker()) if org else {}
        except Exception:  # only a lookup: the question says the id is not known
            return draft
        self.picked_ids.update(found)
        name = next((n for n in found if n.casefold() == draft.devops_project.casefold()), None)
        if name is None or not found[name]:
            return draft
        return draft.model_copy(update={"devops_project": name, "devops_project_id": found[name]})

    def _project_raw(self) -> dict[str, str]:
        return {"id": self.project.id, "name": self.project.name}

    async def _confirmed(self, draft: SyncDraft) -> bool:
        """Ask before anything the instance runs at once; say whom it would overwrite."""
        if self.sync is not None and (not draft.auto_sync or not draft.update_body(self.sync)):
            return True  # an edit without auto-sync (or without change) runs nothing
        env_name = self.choices.environment_name(draft.environment) if self.choices else draft.environment
        sharing = self._sharing(env_name, draft.devops_project)
        said_shared = not sharing and await self._server_says_shared(draft)
        parts = before_saving(draft, env_name, [f"{o.project}/{o.name}" for o in sharing], said_shared, self._org())
        title = f"Save “{draft.name}”?" if self.sync else f"Create “{draft.name}”?"
        label = "Save" if self.sync else "Create sync"
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        # Keys go on to the question once it settles; those typed before it showed are dropped, and said.
        self.app.gate.release(HOLD)
        # The dialog always ends with an answer; leaving the app cancels this worker.
        self.app.push_screen(ConfirmModal(title, "\n\n".join(parts), label), lambda ok: answer.set_result(bool(ok)))
        if ok := await answer:
            self.app.gate.hold(HOLD)  # and again while it saves
        return ok

    async def _server_says_shared(self, draft: SyncDraft) -> bool:
        try:
            async with asyncio.timeout(10):
                return bool(await self.api.check_destination(self.project.id, draft, self.sync.id if self.sync else ""))
        except Exception:  # a warning only: it never stands in the way of the save
            return False

    def _refused(self, exc: BaseException) -> None:
        """Under the fields the instance names; the rest on the status line. The form keeps it all."""
        shown = []
        if isinstance(exc, FieldErrors):
            shown = [self._show_under(field_of_issue(path), message) for path, message in exc.issues]
        elif isinstance(exc, FieldError):
            shown = [self._show_under(exc.field, exc.detail)]
        placed = any(shown)
        reason = "the instance took too long to answer" if isinstance(exc, TimeoutError) else describe(exc)
        self._status(f"✗ Not saved: {'see the fields above' if placed else reason}")

    def _show_under(self, key: str, message: str) -> bool:
        for field in self.query(f"#field-{key}") if key else []:
            if isinstance(field, FormField | SelectField):
                field.show(message)
                return True
        return False

    def _status(self, text: str) -> None:
        self.query_one("#form-status", Static).update(text)

    def action_cancel(self) -> None:
        typed = [f.spec.label for f in self.query(FormField) if f.changed and f.spec.key != "preview"]
        if self.query_one("#auto-sync", TextCheckbox).value != (self.start.auto_sync if self.start else True):
            typed.append("Auto-sync")
        if self.start is None:  # choices made count as typed; a connection chosen for being the only one does not
            if self.query_one("#field-environment", SelectField).value:
                typed.append("Environment")
            several = len(self.choices.connections if self.choices else []) > 1
            if self.query_one("#field-connection", SelectField).value and several:
                typed.append("App Connection")
        ask_to_discard(self, typed, lambda: self.dismiss(None))
