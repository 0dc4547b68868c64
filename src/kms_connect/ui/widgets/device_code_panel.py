"""Device-code sign-in: the code big and clear, the URL, a QR code of it, a countdown, poll status."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from kms_connect.core.qr import qr_lines

if TYPE_CHECKING:
    from kms_connect.core.azure.sign_in import DeviceSignIn


def spaced(code: str) -> str:
    """G H J K 3 L M N P: easier to read out and to type on a phone."""
    return " ".join(code)


class DeviceCodePanel(Vertical):
    DEFAULT_CSS = "DeviceCodePanel { height: auto; }"

    def __init__(self, sign: DeviceSignIn, *, qr_border: int = 2) -> None:
        super().__init__(id="device-panel")
        self.sign = sign
        self.user_code, self.url, self.expires_at = sign.user_code, sign.verification_uri, sign.expires_at
        self.qr_border = qr_border

    def compose(self) -> ComposeResult:
        with Horizontal(classes="signin-row"):
            qr = Text("\n".join(qr_lines(self.url, border=self.qr_border)), style="black on white", no_wrap=True)
            yield Static(qr, classes="qr")
            with Vertical(classes="signin-text"):
                yield Static("On any device (your phone: scan the QR code), open", markup=False)
                yield Static(Text(self.url, style="bold underline"), id="device-url")
                yield Static("and enter this code:", markup=False)
                yield Static(Text(spaced(self.user_code)), classes="user-code", id="user-code")
                yield Static("", id="device-status", markup=False)
                yield Static(
                    "^y copies the code (OSC 52; in tmux: set -g set-clipboard on) · Esc cancels",
                    classes="form-keys",
                    markup=False,
                )

    def on_mount(self) -> None:
        self._tick()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        left = max(0, int(self.expires_at - time.time()))
        asked = self.sign.polls_sent
        status = (
            f"Code expires in {left // 60}:{left % 60:02d}\n"
            f"… Waiting for you to sign in: Entra ID asked {asked} time{'s' if asked != 1 else ''}, "
            f"every {self.sign.poll_interval} s"
        )
        self.query_one("#device-status", Static).update(status)
