"""Edit a connection's name, description and target projects (credentials are replaced with `c`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from kms_connect.core.check_target import CheckTarget
from kms_connect.core.validation import check_description
from kms_connect.ui.errors import describe
from kms_connect.ui.forms.fields import check_name, use_name_suggestion
from kms_connect.ui.modals.discard import ask_to_discard
from kms_connect.ui.modals.project_picker import ProjectPickerModal, targets_text
from kms_connect.ui.widgets.form_field import FieldSpec, FormField

if TYPE_CHECKING:
    from kms_connect.core.models import Connection
    from kms_connect.ui.app import KmsConnectApp


class EditConnectionModal(ModalScreen["Connection | None"]):
    AUTO_FOCUS = "#input-name"  # focused as the dialog settles (a query in on_mount fails if the app quits first)
    BINDINGS = [
        Binding("escape,ctrl+g", "cancel", "Cancel", id="edit.cancel"),
        Binding("ctrl+s", "submit", "Save", id="edit.save"),
        Binding("ctrl+l", "targets", "Target projects", show=False, id="edit.targets"),
    ]
    app: KmsConnectApp

    def __init__(self, connection: Connection, taken_names: set[str]) -> None:
        super().__init__()
        self.saving = False
        self.connection = connection
        self.taken = taken_names
        self.targets = list(connection.target_projects)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form-dialog"):
            yield Static(f"Edit connection · {self.connection.name}", classes="dialog-title", markup=False)
            yield FormField(FieldSpec("name", "Name"), self.connection.name)
            yield FormField(
                FieldSpec("description", "Description", optional=True),
                self.connection.description,
            )
            with Horizontal(classes="targets-row"):
                yield Static(targets_text(self.targets), id="targets", classes="targets", markup=False)
                yield Button("Pick… ^l", id="pick-targets", compact=True)
            yield Static("", id="form-status", classes="form-status", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="submit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _check(self, key: str, value: str) -> str | None:
        return check_name(value, self.taken) if key == "name" else check_description(value)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        key = (event.input.id or "").removeprefix("input-")
        self.query_one(f"#field-{key}", FormField).show(self._check(key, event.value))

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        if event.input.id == "input-name" and use_name_suggestion(self.query_one("#field-name", FormField), self.taken):
            return
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self._submit()
        elif event.button.id == "pick-targets":
            self.action_targets()
        else:
            self.action_cancel()

    def action_targets(self) -> None:
        conn = self.connection

        async def load() -> list[str]:  # with the stored credentials (an instance's are not held here)
            ws = self.app.ws
            target = CheckTarget.of(conn, await ws.backend.read_secrets(conn.id))
            return await self.app.get_checker().projects(target)

        self.app.push_screen(ProjectPickerModal(conn.org_name, self.targets, load), self._picked)

    def _picked(self, targets: list[str] | None) -> None:
        if targets is not None:
            self.targets = targets
            self.query_one("#targets", Static).update(targets_text(targets))

    def action_submit(self) -> None:
        self._submit()

    def action_cancel(self) -> None:
        typed = [f.spec.label for f in self.query(FormField) if f.changed]
        if self.targets != self.connection.target_projects:
            typed.append("Target projects")
        ask_to_discard(self, typed, lambda: self.dismiss(None))

    def _submit(self) -> None:
        if self.saving:  # a second Enter while saving must not save twice
            return
        for field in self.query(FormField):
            field.show(self._check(field.spec.key, field.value))
            if field.error:
                field.input.focus()
                return
        self.saving = True
        self._save(
            self.query_one("#field-name", FormField).value,
            self.query_one("#field-description", FormField).value.strip(),
        )

    @work(exclusive=True, exit_on_error=False)
    async def _save(self, name: str, description: str) -> None:
        try:
            backend = self.app.ws.backend
            conn = await backend.update_connection(self.connection.id, name, description)
            if self.targets != self.connection.target_projects:
                conn = await backend.set_target_projects(self.connection.id, self.targets)
        except Exception as exc:
            self.query_one("#form-status", Static).update(f"✗ Not saved: {describe(exc)}")
            return
        finally:
            self.saving = False
        self.dismiss(conn)
