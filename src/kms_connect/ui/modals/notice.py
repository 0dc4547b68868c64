"""A one-time notice that must be read (e.g. secrets kept in a plaintext file), not a passing toast."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class NoticeModal(ModalScreen[None]):
    AUTO_FOCUS = "#ok"  # focused as the dialog settles (a query in on_mount fails if the app quits first)
    BINDINGS = [Binding("escape,ctrl+g,enter,o", "close", "OK", id="notice.ok")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self._title, self._body = title, body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog notice"):
            yield Static(f"! {self._title}", classes="dialog-title", markup=False)
            yield Static(self._body, classes="dialog-body", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("OK", variant="primary", id="ok", compact=True)

    def on_button_pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
