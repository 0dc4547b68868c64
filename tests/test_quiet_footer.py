"""QuietFooter: the keys follow the bindings, and are rebuilt only when what they show changes."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from kms_connect.ui.widgets.quiet_footer import QuietFooter


class FooterApp(App[None]):
    BINDINGS = [Binding("d", "delete", "Delete"), Binding("n", "new", "New")]

    def __init__(self) -> None:
        super().__init__()
        self.can_delete = False

    def compose(self) -> ComposeResult:
        yield Button("A", id="a")
        yield Button("B", id="b")
        yield QuietFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action == "delete" and not self.can_delete else True


def keys(app: App[None]) -> dict[str, FooterKey]:
    return {key.description: key for key in app.query(FooterKey)}


async def test_keys_are_rebuilt_only_when_what_they_show_changes() -> None:
    app = FooterApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        first = keys(app)
        assert set(first) >= {"Delete", "New"} and first["Delete"].has_class("-disabled")  # dimmed: nothing to delete
        # Focus moving between buttons refreshes the bindings (twice each): the keys are the same.
        for target in ("#b", "#a", "#b"):
            app.query_one(target, Button).focus()
            await pilot.pause()
        await pilot.pause()
        assert {k: id(v) for k, v in keys(app).items()} == {k: id(v) for k, v in first.items()}
        # What a key shows changes: the keys are rebuilt and show it.
        app.can_delete = True
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        now = keys(app)
        assert not now["Delete"].has_class("-disabled") and now["Delete"] is not first["Delete"]
