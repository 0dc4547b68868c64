"""The device-code panel: the code in one piece to copy, and a countdown that moves every second.

The panel runs in a bare App with a stand-in sign-in (only what the panel reads) and a clock the
test sets: no Entra ID, no sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App, ComposeResult
from textual.widgets import Static

from kms_connect.ui.resources import stylesheet_paths
from kms_connect.ui.widgets.device_code_panel import DeviceCodePanel
from ui_helpers import screen_text, static_text

CODE = "NRP77WESY"
START = 1_700_000_000.0


@dataclass
class FakeSignIn:
    user_code: str = CODE
    verification_uri: str = "https://microsoft.com/devicelogin"
    expires_at: float = START + 900
    polls_sent: int = 0
    poll_interval: int = 5


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class PanelApp(App[None]):
    CSS_PATH = [*stylesheet_paths()]  # laid out as in the app

    def __init__(self, sign: FakeSignIn, clock: Clock) -> None:
        super().__init__()
        self.sign, self.clock = sign, clock

    def compose(self) -> ComposeResult:
        yield DeviceCodePanel(self.sign, qr_border=1, clock=self.clock)  # type: ignore[arg-type]


def countdown(app: App[None]) -> str:
    return static_text(app.query_one("#device-status", Static)).splitlines()[0]


async def test_the_code_in_one_piece_copies_whole() -> None:
    app = PanelApp(FakeSignIn(), Clock(START))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "N R P 7 7 W E S Y" in text  # big and spaced, to read out
        assert f"to copy: {CODE}" in text  # and in one piece
        # A double-click selects the whole widget: the code, with no spaces and nothing else.
        await pilot.double_click("#user-code-whole")
        assert app.screen.get_selected_text() == CODE
        # (The spaced one would copy its spaces: what the one-piece code is for.)
        await pilot.double_click("#user-code")
        assert app.screen.get_selected_text() == " ".join(CODE)


async def test_the_countdown_moves_every_second() -> None:
    clock = Clock(START)
    sign = FakeSignIn(expires_at=START + 45)
    app = PanelApp(sign, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        panel = app.query_one(DeviceCodePanel)
        assert countdown(app) == "Code expires in 0:45"
        seen = []
        for step in range(1, 13):
            clock.now = START + step - 0.3  # anywhere inside a second: the same second shows
            panel.show_countdown()
            seen.append(countdown(app))
            clock.now = START + step + 0.01  # just past the boundary: the next one
            delay = panel.show_countdown()
            seen.append(countdown(app))
            assert delay is not None and 0.99 < delay <= 1.02  # it wakes as the following second starts
        expected = []
        for left in range(45, 33, -1):
            expected += [f"Code expires in 0:{left:02d}", f"Code expires in 0:{left - 1:02d}"]
        assert seen == expected


async def test_the_countdown_wakes_on_the_boundary_and_stops_at_expiry() -> None:
    clock = Clock(START)
    sign = FakeSignIn(expires_at=START + 61.25)
    app = PanelApp(sign, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        panel = app.query_one(DeviceCodePanel)
        assert countdown(app) == "Code expires in 1:02"  # 61.25 s left: shown as whole seconds, rounded up
        delay = panel.show_countdown()
        assert delay is not None and abs(delay - 0.27) < 1e-9  # 0.25 s to the boundary, plus a margin
        clock.now = START + delay - 0.02  # on the boundary: 61 s left
        panel.show_countdown()
        assert countdown(app) == "Code expires in 1:01"
        sign.polls_sent = 3
        clock.now = START + 61
        panel.show_countdown()
        assert countdown(app) == "Code expires in 0:01"
        assert "asked 3 times, every 5 s" in static_text(app.query_one("#device-status", Static))
        clock.now = START + 61.25
        assert panel.show_countdown() is None  # expired: nothing more to count
        assert countdown(app) == "Code expired"
