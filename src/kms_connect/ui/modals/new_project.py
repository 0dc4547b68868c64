"""New project: Name and an optional Description; the slug is derived and shown as you type."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from kms_connect.core.validation import check_description, check_project_name, slugify
from kms_connect.ui.errors import describe
from kms_connect.ui.modals.discard import ask_to_discard
from kms_connect.ui.widgets.form_field import FieldSpec, FormField

if TYPE_CHECKING:
    from kms_connect.ui.app import KmsConnectApp


SAVING = "new-project"


class NewProjectModal(ModalScreen[str | None]):
    """Dismisses with the new project's id, or None when cancelled."""

    AUTO_FOCUS = "#input-name"  # focused as the dialog settles (a query in on_mount fails if the app quits first)
    BINDINGS = [Binding("escape,ctrl+g", "cancel", "Cancel", id="new-project.cancel")]
    app: KmsConnectApp

    def __init__(self, taken_slugs: Callable[[], set[str]]) -> None:
        super().__init__()
        self.saving = False
        # Asked each time: the dialog may open before the projects have loaded (typed at launch).
        self._taken = taken_slugs

    @property
    def taken(self) -> set[str]:
        return self._taken()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form-dialog"):
            yield Static("New project", classes="dialog-title")
            yield FormField(FieldSpec("name", "Name", "e.g. Payments Platform"))
            yield Static("Slug: –", id="slug", classes="slug-preview")
            yield FormField(FieldSpec("description", "Description", optional=True))
            yield Static("", id="form-status", classes="form-status", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Create Project", variant="primary", id="submit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    @on(Input.Changed, "#input-name")
    def _name_changed(self, event: Input.Changed) -> None:
        self.query_one("#slug", Static).update(f"Slug: {slugify(event.value) or '–'}")
        field = self.query_one("#field-name", FormField)
        field.show(check_project_name(event.value, self.taken) if event.value else None)

    @on(Input.Changed, "#input-description")
    def _description_changed(self, event: Input.Changed) -> None:
        self.query_one("#field-description", FormField).show(check_description(event.value))

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        """Enter creates the project: the Description is optional (Tab reaches it)."""
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self._submit()
        elif event.button.id == "cancel":
            self.action_cancel()

    def action_cancel(self) -> None:
        typed = [f.spec.label for f in self.query(FormField) if f.changed]
        ask_to_discard(self, typed, lambda: self.dismiss(None))

    def _submit(self) -> None:
        if self.saving:  # a second Enter while saving must not save twice
            return
        name_field = self.query_one("#field-name", FormField)
        desc_field = self.query_one("#field-description", FormField)
        name_field.show(check_project_name(name_field.value, self.taken))
        desc_field.show(check_description(desc_field.value))
        for field in (name_field, desc_field):
            if field.error:
                field.input.focus()
                return
        self.saving = True
        self.app.gate.hold(SAVING)  # keys typed meanwhile are for the project's row, once it shows
        self._create(name_field.value, desc_field.value)

    @work(exclusive=True, exit_on_error=False)
    async def _create(self, name: str, description: str) -> None:
        status = self.query_one("#form-status", Static)
        status.update("Creating…")
        try:
            backend = await self.app.opened_backend()  # typed at launch: the store may still be loading
            project = await backend.create_project(name, description)
        except Exception as exc:
            status.update(f"✗ {describe(exc)}")
            self.app.gate.release(SAVING)
            return
        finally:
            self.saving = False
        self.notify(f"Project “{project.name}” created.", markup=False)
        self.dismiss(project.id)
        self.app.gate.release(SAVING)  # after the dismissal: the gate then waits for Projects to settle

    def on_unmount(self) -> None:
        self.app.gate.release(SAVING)
