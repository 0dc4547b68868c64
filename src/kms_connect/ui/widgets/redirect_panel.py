"""Browser-redirect sign-in: the authorize URL in full, to copy or save, and the paste-back field.

The URL is far too long for a QR code at 80x24. It is shown without a border or wrap marks, so a
terminal selection copies it intact; ^y copies it through OSC 52, ^t writes it to a 0600 file.

Once its paste field is up, the panel posts `Ready` (it bubbles to the App): whatever drives a
browser for the operator can open the address and hand back where it landed with `paste_back`,
which goes through the same field and Enter as a paste does. Nothing here runs a browser.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from kms_connect.ui.widgets.form_field import FieldSpec, FormField

PASTED = FieldSpec("pasted", "Address you landed on", "paste the whole address (or just the code)", secret=True)


class RedirectPanel(Vertical):
    DEFAULT_CSS = "RedirectPanel { height: auto; }"

    class Ready(Message):
        """The sign-in address is on screen and the paste field can take an address."""

        def __init__(self, panel: RedirectPanel) -> None:
            super().__init__()
            self.panel = panel

    def __init__(self, auth_uri: str, redirect_uri: str, note: str = "") -> None:
        super().__init__(id="redirect-panel")
        self.auth_uri, self.redirect_uri, self.note = auth_uri, redirect_uri, note
        self._announced = False

    def compose(self) -> ComposeResult:
        yield Static(
            "1. Open this address in a browser on any machine and sign in (^y copies it, ^t saves it to a file):",
            markup=False,
        )
        yield Static(Text(self.auth_uri, overflow="fold", no_wrap=False), classes="auth-url", id="auth-url")
        yield Static(
            f"2. The browser ends on {self.redirect_uri}… (it may show an error page: that is expected). "
            "Copy that page's address from the address bar and paste it here, then Enter:",
            markup=False,
        )
        if self.note:
            yield Static(self.note, classes="field-label", markup=False)
        yield FormField(PASTED)

    def on_mount(self) -> None:
        self.call_after_refresh(self.focus_paste)

    def focus_paste(self) -> None:
        """Focus the paste field once it exists (it is composed a moment after the panel)."""
        for inp in self.query(Input):
            inp.focus()
            if not self._announced:  # once per sign-in address
                self._announced = True
                self.post_message(self.Ready(self))
            return
        self.call_after_refresh(self.focus_paste)

    async def paste_back(self, address: str) -> bool:
        """Put `address` in the paste field and press Enter, as the operator would; False once closed."""
        if not self.is_mounted:
            return False  # the sign-in was cancelled or restarted meanwhile: this address is for no one
        field = self.query_one(FormField)
        field.value = address
        await field.input.action_submit()
        return True
