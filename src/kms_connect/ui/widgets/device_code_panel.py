"""Device-code sign-in: the code big and clear, the URL, a QR code of it, a countdown, poll status."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from kms_connect.core.qr import qr_lines

if TYPE_CHECKING:
    from textual.timer import Timer

    from kms_connect.core.sign_ins import DeviceSignIn

# Past the second's boundary by this much, so the timer never wakes a hair early and shows the old second again.
_MARGIN = 0.02


def spaced(code: str) -> str:
    """G H J K 3 L M N P: easier to read out and to type on a phone."""
    return " ".join(code)


class DeviceCodePanel(Vertical):
    DEFAULT_CSS = """
    DeviceCodePanel { height: auto; }
    DeviceCodePanel .code-row { height: auto; }
    DeviceCodePanel .code-row Static { width: auto; }
    DeviceCodePanel #user-code-whole { text-style: bold; }
    """

    def __init__(self, sign: DeviceSignIn, *, qr_border: int = 2, clock: Callable[[], float] = time.time) -> None:
        super().__init__(id="device-panel")
        self.sign = sign
        self.user_code, self.url, self.expires_at = sign.user_code, sign.verification_uri, sign.expires_at
        self.qr_border = qr_border
        self.clock = clock  # the same clock as the flow's expires_at (time.time); tests pass their own
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="signin-row"):
            qr = Text("\n".join(qr_lines(self.url, border=self.qr_border)), style="black on white", no_wrap=True)
            yield Static(qr, classes="qr")
            with Vertical(classes="signin-text"):
                yield Static("On any device (your phone: scan the QR code), open", markup=False)
                yield Static(Text(self.url, style="bold underline"), id="device-url")
                yield Static("and enter this code:", markup=False)
                yield Static(Text(spaced(self.user_code)), classes="user-code", id="user-code")
                # The spaced code copies with its spaces: here it is in one piece, alone in its widget,
                # so a double-click (Textual's or the terminal's word selection) copies just the code.
                with Horizontal(classes="code-row"):
                    yield Static("Same code, to copy: ", markup=False)
                    yield Static(self.user_code, id="user-code-whole", markup=False)
                yield Static("", id="device-status", markup=False)
                yield Static(
                    "^y copies the code (OSC 52; in tmux: set -g set-clipboard on) · Esc cancels",
                    classes="form-keys",
                    markup=False,
                )

    def on_mount(self) -> None:
        self.show_countdown()

    def show_countdown(self) -> float | None:
        """Show the time left and the poll status now, and wake again just as the next second starts.

        A fixed 1 s interval drifts against the seconds of `expires_at` and now and then shows one
        second twice and skips the next; waking on each boundary shows every second once. Returns
        the delay until that wake-up (None once the code has expired: nothing more to count).
        """
        left = max(0.0, self.expires_at - self.clock())
        shown = math.ceil(left)  # 14:59 until 899 s are left, 0:01 in the last second, 0:00 once expired
        asked = self.sign.polls_sent
        countdown = f"Code expires in {shown // 60}:{shown % 60:02d}" if shown else "Code expired"
        status = (
            f"{countdown}\n"
            f"… Waiting for you to sign in: Entra ID asked {asked} time{'s' if asked != 1 else ''}, "
            f"every {self.sign.poll_interval} s"
        )
        self.query_one("#device-status", Static).update(status)
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not shown:
            return None
        delay = (left - math.floor(left) or 1.0) + _MARGIN
        self._timer = self.set_timer(delay, self.show_countdown, name="device code countdown")
        return delay
