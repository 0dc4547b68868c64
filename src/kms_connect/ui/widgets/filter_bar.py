"""A one-line filter-as-you-type input that sits above a table."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class FilterBar(Input):
    BINDINGS = [
        Binding("escape,ctrl+g", "clear", "Clear filter", id="filter.clear"),
        Binding("down", "done", "To the table", show=False, id="filter.done"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="Filter: type to narrow, Enter to go to the table, Esc to clear", id=id)

    def action_clear(self) -> None:
        self.value = ""
        self.action_done()

    def action_done(self) -> None:
        self.screen.focus_next()
