"""A yes/no confirmation for destructive actions; Cancel has the focus, so Enter is safe."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kms_connect.ui.key_display import with_keys


def if_confirmed(action: Callable[[], object]) -> Callable[[bool | None], None]:
    """The callback for push_screen(ConfirmModal(...)): runs `action` only on a yes."""

    def done(ok: bool | None) -> None:
        if ok:
            action()

    return done


class ConfirmModal(ModalScreen[bool]):
    AUTO_FOCUS = "#cancel"  # focused as the dialog settles (a query in on_mount fails if the app quits first)
    BINDINGS = [
        Binding("y", "confirm", "Yes", id="confirm.yes"),
        Binding("n,escape,ctrl+g", "cancel", "No", id="confirm.no"),
        Binding("left,h", "app.focus_previous", "Previous button", show=False, id="confirm.previous"),
        Binding("right,l", "app.focus_next", "Next button", show=False, id="confirm.next"),
    ]

    def __init__(self, title: str, body: str, confirm_label: str = "Delete") -> None:
        super().__init__()
        self._title, self._body, self._confirm_label = title, body, confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Static(self._title, classes="dialog-title", markup=False)
            yield Static(self._body, classes="dialog-body", markup=False)
            yield Static(with_keys(self, "{confirm.yes} confirms · {confirm.no} cancels"), classes="dialog-hint")
            with Horizontal(classes="buttons"):
                yield Button(self._confirm_label, variant="error", id="confirm", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
