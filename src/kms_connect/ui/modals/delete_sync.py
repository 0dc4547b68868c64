"""Delete a Secret Sync, and say what happens in Azure DevOps: by default the variable group stays
as the last run left it; ticked, the instance first removes the synced secrets, which deletes
the whole group. Cancel has the focus, so Enter is safe; the tick is off unless asked for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kms_connect.ui.key_display import with_keys
from kms_connect.ui.modals.confirm import AsksFirst
from kms_connect.ui.widgets.choices import TextCheckbox

if TYPE_CHECKING:
    from kms_connect.core.workspace import SecretSync


class DeleteSyncModal(AsksFirst, ModalScreen[bool | None]):
    """Dismisses with None (kept), or whether to remove the synced secrets too."""

    AUTO_FOCUS = "#cancel"
    BINDINGS = [
        Binding("escape,ctrl+g,n", "cancel", "Cancel", id="delete_sync.cancel"),
        Binding("y", "delete", "Delete", id="delete_sync.yes"),
        Binding("t", "tick", "Remove secrets too", id="delete_sync.remove"),
    ]

    def __init__(self, sync: SecretSync) -> None:
        super().__init__()
        self.sync = sync

    def compose(self) -> ComposeResult:
        s = self.sync
        group = s.environment_name or s.environment
        with Vertical(classes="dialog confirm"):
            yield Static(f"Delete Secret Sync “{s.project}/{s.name}”?", classes="dialog-title", markup=False)
            yield Static(
                f"It stops pushing {s.environment}{s.secret_path} to {s.devops_project}. The variable group "
                f"«{group}» stays in Azure DevOps as the last run left it. Ticked below, the instance first "
                f"removes the synced secrets: that deletes the whole variable group «{group}» in {s.devops_project}.",
                classes="dialog-body",
                markup=False,
            )
            yield TextCheckbox(
                "Also remove the synced secrets (deletes the group)",
                False,
                id="remove-secrets",
                compact=True,
            )
            hint = "{delete_sync.yes} deletes · {delete_sync.cancel} cancels · {delete_sync.remove} ticks the box"
            yield Static(with_keys(self, hint), classes="dialog-hint")
            with Horizontal(classes="buttons"):
                yield Button("Delete sync", variant="error", id="confirm", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self.action_delete()
        elif event.button.id == "cancel":
            self.action_cancel()

    def action_delete(self) -> None:
        self.dismiss(self.query_one("#remove-secrets", TextCheckbox).value)

    def action_tick(self) -> None:
        self.query_one("#remove-secrets", TextCheckbox).toggle()

    def action_cancel(self) -> None:
        self.dismiss(None)
