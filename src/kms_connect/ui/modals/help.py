"""Help for the current screen: what it is for and every key it answers to, built from its bindings."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from kms_connect.ui.key_display import keys_of
from kms_connect.ui.textual_internals import all_bindings

# Generic widget keys (horizontal scrolling, focus moves, copy) are covered by GENERAL below.
GENERIC_ACTIONS = frozenset(
    {
        "scroll_left",
        "scroll_right",
        "page_left",
        "page_right",
        "focus_next",
        "focus_previous",
        "copy_text",
        "command_palette",
        "quit",
    }
)

GENERAL = [
    ("Tab / shift+Tab", "Move between fields and buttons"),
    ("Esc or ctrl+g", "Close the top dialog, or go back (ctrl+g is quicker inside tmux)"),
    ("app.palette", "Command palette: every action of this screen, by name"),
    ("app.quit", "Quit kms-connect"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,ctrl+g,q,question_mark,f1,enter", "close", "Close", id="help.close"),
        Binding("down,j", "scroll(1)", "Scroll down", show=False, id="help.down"),
        Binding("up,k", "scroll(-1)", "Scroll up", show=False, id="help.up"),
    ]

    def __init__(self, title: str, about: str, keys: list[tuple[str, str]], not_now: set[str] | None = None) -> None:
        super().__init__()
        self._title, self._about, self._keys = title, about, keys
        self._not_now = not_now or set()  # descriptions of actions that cannot act at the moment

    @classmethod
    def for_screen(cls, screen: Screen[Any]) -> HelpScreen:
        """Collect the keys of the screen, its tables, the focused widget and the app, merging keys per
        action. Every action is listed; one that cannot act now (no row yet) says so."""
        by_action: dict[str, tuple[list[str], str]] = {}
        order = {screen: 0, screen.app: 2}  # the screen's own keys first, then its widgets', then the app's
        actives = screen.active_bindings.values()
        pairs: list[tuple[DOMNode, Binding]] = [(screen, b) for b in all_bindings(screen)]
        # Tables keep their keys even when not focused (e.g. hidden behind an empty state).
        for table in screen.query("VirtualTable"):
            pairs += [(table, b) for b in all_bindings(table)]
        pairs += [(a.node, a.binding) for a in actives]
        pairs.sort(key=lambda pair: order.get(pair[0], 1))
        later: set[str] = set()
        for node, binding in pairs:
            if not binding.description or binding.action.split(".")[-1] in GENERIC_ACTIONS:
                continue
            key = screen.app.get_key_display(binding)
            entry = by_action.setdefault(f"{id(node)}:{binding.action}", ([], binding.description))
            if key not in entry[0]:
                entry[0].append(key)
            if "." not in binding.action and node.check_action(binding.action.split("(")[0], ()) is False:
                later.add(binding.description)  # e.g. Delete with no row: listed, and said to wait
        keys = [(" / ".join(names), description) for names, description in by_action.values()]
        title = screen.title or type(screen).__name__
        about = getattr(screen, "HELP", "") or ""
        return cls(str(title), about, keys, later)

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, description in self._keys:
            if description in self._not_now:  # said in words, not by dimming alone
                table.add_row(Text(key, style="dim"), Text(f"{description} (not now)", style="dim"))
            else:
                table.add_row(key, description)
        general = Table.grid(padding=(0, 2))
        general.add_column(style="bold", no_wrap=True)
        general.add_column()
        for key, description in GENERAL:
            general.add_row(keys_of(self.app, key) if key.startswith("app.") else key, description)
        with Vertical(classes="dialog help"):
            yield Static(Text(f"Help · {self._title}"), classes="dialog-title")
            with VerticalScroll(id="help-body"):
                if self._about:
                    yield Static(Text(self._about), classes="dialog-body")
                yield Static(Text("Keys on this screen", style="underline"))
                yield Static(table)
                yield Static(Text("Everywhere", style="underline"), classes="help-section")
                yield Static(general)
            yield Static(f"{keys_of(self, 'help.close', 3)} closes", classes="dialog-hint", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, delta: int) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_relative(y=delta, animate=False)
