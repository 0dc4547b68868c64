"""A yes/no confirmation for destructive actions; Cancel has the focus, so Enter is safe."""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kms_connect.ui.key_display import keys_of
from kms_connect.ui.textual_internals import event_clock


def if_confirmed(action: Callable[[], object]) -> Callable[[bool | None], None]:
    """The callback for push_screen(ConfirmModal(...)): runs `action` only on a yes."""

    def done(ok: bool | None) -> None:
        if ok:
            action()

    return done


class AsksFirst:
    """A question answered only by keys typed once it showed: the input gate drops (and says) the
    keys typed before, through `typed_before`, so a `y` typed ahead never deletes anything."""

    seen_at: float | None = None  # when the question was first on the terminal

    def on_mount(self) -> None:
        self.call_after_refresh(self._seen)  # type: ignore[attr-defined]

    def _seen(self) -> None:
        self.seen_at = event_clock()

    def typed_before(self, event: events.Key | events.Paste) -> bool:
        """Whether `event` was typed before this question showed."""
        return self.seen_at is None or event.time < self.seen_at


class ConfirmModal(AsksFirst, ModalScreen[bool]):
    AUTO_FOCUS = "#cancel"  # focused as the dialog settles (a query in on_mount fails if the app quits first)
    BINDINGS = [
        Binding("y", "confirm", "Yes", id="confirm.yes"),
        Binding("n,escape,ctrl+g", "cancel", "No", id="confirm.no"),
        Binding("left,h", "app.focus_previous", "Previous button", show=False, id="confirm.previous"),
        Binding("right,l", "app.focus_next", "Next button", show=False, id="confirm.next"),
    ]

    def __init__(self, title: str, body: str, confirm_label: str = "Delete", cancel_label: str = "Cancel") -> None:
        super().__init__()
        self._title, self._body, self._confirm_label, self._cancel_label = title, body, confirm_label, cancel_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Static(self._title, classes="dialog-title", markup=False)
            yield Static(self._body, classes="dialog-body", markup=False)
            # The buttons' own words, with the keys that press them (Esc too: "Esc again keeps editing").
            yes, no = keys_of(self, "confirm.yes", 1), keys_of(self, "confirm.no", 2)
            hint = f"{yes} {self._confirm_label.lower()} · {no} {self._cancel_label.lower()}"
            yield Static(hint, classes="dialog-hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self._confirm_label, variant="error", id="confirm", compact=True)
                yield Button(self._cancel_label, id="cancel", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
