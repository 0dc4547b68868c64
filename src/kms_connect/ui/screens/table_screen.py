"""What the list screens share: a filter bar, a virtual table, an empty state and an info line."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual import events, on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from kms_connect.ui.key_display import keys_of, with_key_hints, with_keys
from kms_connect.ui.widgets.filter_bar import FilterBar
from kms_connect.ui.widgets.quiet_footer import QuietFooter
from kms_connect.ui.widgets.status_text import ELAPSED_FROM
from kms_connect.ui.widgets.virtual_table import Cell, Column, VirtualTable

if TYPE_CHECKING:
    from kms_connect.core.models import Connection
    from kms_connect.ui.app import KmsConnectApp

# Rows of running checks say how long they have run ("… Checking 12 s"); they are redrawn this often.
ELAPSED_EVERY = 1.0


class TableScreen(Screen[None]):
    TABLE_CLASS: ClassVar[type[VirtualTable]] = VirtualTable
    TABLE_ID: ClassVar[str]
    COLUMNS: ClassVar[Sequence[Column]]
    NOUNS: ClassVar[tuple[str, str]]  # singular, plural
    EMPTY_TEXT: ClassVar[str]
    LOADING_TEXT: ClassVar[str] = "Loading…"
    RELOAD_ID: ClassVar[str]  # the id of the binding that loads again, named in an error
    # Ids of the bindings whose keys act at once while the rows load (they need none of them).
    KEYS_BEFORE_DATA: ClassVar[frozenset[str]] = frozenset({"app.help", "app.quit"})
    app: KmsConnectApp

    def __init__(self) -> None:
        super().__init__()
        self._cut_shown = False  # the info line spells out cells of the cursor row cut short
        self._info_shown = ""
        self._elapsed_shown: dict[str, int | None] = {}  # the seconds each running check's row shows

    def hold_keys(self, why: str = "rows") -> None:
        """Keys wait until release_keys(why): while the rows (re)load, they are meant for the rows
        about to show; while an action prepares the dialog it opens, for that dialog."""
        self.app.gate.hold(f"{why}:{id(self)}", self)

    def acts_before_data(self, event: events.Key | events.Paste) -> bool:
        """Whether `event` acts now while this screen holds its keys (input_gate.py): a key bound
        to one of KEYS_BEFORE_DATA, unless it is typed into the filter."""
        if not self.query(VirtualTable) or (self.focused is not None and not isinstance(self.focused, VirtualTable)):
            return False  # not composed yet (asked again once it has settled), or typing into the filter
        if not isinstance(event, events.Key):
            return False  # a paste is for the filter or a field: it waits for them
        active = self.active_bindings.get(event.key)
        return active is not None and active.enabled and active.binding.id in self.KEYS_BEFORE_DATA

    def release_keys(self, why: str = "rows") -> None:
        self.app.gate.release(f"{why}:{id(self)}")

    def _rows_ready(self) -> None:
        self.release_keys()
        self.app.gate.release("start")

    @on(events.Unmount)
    def _release_keys(self) -> None:
        for reason in self.app.gate.holding:
            if reason.endswith(f":{id(self)}"):
                self.app.gate.release(reason)

    def compose(self) -> ComposeResult:
        yield Header()
        yield FilterBar(id="filter")
        yield self.TABLE_CLASS(self.COLUMNS, id=self.TABLE_ID)
        yield Static(self.LOADING_TEXT, id="empty", classes="empty-state")
        yield Static("", id="info", classes="info-line")
        yield QuietFooter(show_command_palette=False)

    def on_mount(self) -> None:
        self.table.display = False

    @property
    def table(self) -> VirtualTable:
        return self.query_one(f"#{self.TABLE_ID}", VirtualTable)

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    def info_suffix(self) -> str:
        return ""

    def checkable_here(self) -> bool:
        """Whether this source's connections can be re-checked from this box (not on an instance:
        it never returns credentials). Where not, v and V leave the footer; their hidden twins explain."""
        backend = self.app.backend
        return backend is None or not backend.not_checkable_reason

    def check_key_hidden(self, action: str) -> bool:
        """One of each pair is out: the re-check, or (on an instance) its twin that says why not."""
        if action not in ("recheck", "recheck_all", "not_checkable"):
            return False
        return (action == "not_checkable") == self.checkable_here()

    def action_not_checkable(self) -> None:
        self.recheck([])  # says why, as a re-check would

    def recheck(self, connections: Sequence[Connection]) -> None:
        """Re-check in the App's check runner (it outlives this screen), or say why this source can't."""
        backend = self.app.ws.backend
        if backend.not_checkable_reason:
            self.notify(
                backend.not_checkable_reason,
                markup=False,
                title="Not checkable from here",
                severity="warning",
                timeout=10,
            )
            return
        if not connections:
            return
        # No notice of the run: it would cover the screen's last lines for as long as it was shown.
        # The rows say "… Checking" and the info line counts them down (checking_text).
        for conn in connections:
            self.app.checks.recheck(backend, conn)

    def show_elapsed_of_checks(self) -> None:
        """From now on, redraw the rows of long-running checks as their count of seconds moves."""
        self.set_interval(ELAPSED_EVERY, self._show_elapsed, name="checks elapsed")

    def row_cells(self, key: str) -> Sequence[Cell] | None:
        """Row `key`'s cells as they are now; None when this screen has no such row."""
        return None

    def _show_elapsed(self) -> None:
        """Once a second, only the rows whose count changes are redrawn: checks that hold a slot and
        have run ELAPSED_FROM s or more, so at most [status] concurrency rows (a `V` of 500 healthy
        connections redraws none). Every other change of a row comes with its live updates."""
        now, shown = time.monotonic(), self._elapsed_shown
        running = self.app.checks.running_since()
        for key in [k for k in shown if k not in running]:
            del shown[key]  # over: its row was redrawn with its result
        for key, since in running.items():
            seconds = int(now - since) if now - since >= ELAPSED_FROM else None
            if shown.get(key) != seconds:
                shown[key] = seconds
                if seconds is not None and (cells := self.row_cells(key)) is not None:
                    self.table.update_row(key, cells)

    def checking_text(self, running: int) -> str:
        """Checks of this screen's rows under way, for the info line; "" with none."""
        if not running:
            return ""
        at_a_time = self.app.checks.concurrency
        return f"… {running} checking" + (f", {at_a_time} at a time" if running > at_a_time else "")

    def show_rows(self, rows: Sequence[tuple[str, Sequence[Cell]]], select: str | None = None) -> None:
        """Fill the table, or show the empty state; keep focus where the operator expects it."""
        table = self.table
        table.set_rows(rows)
        if select:
            table.move_cursor_to_key(select)
        empty = self.query_one("#empty", Static)
        empty.update(with_keys(self, self.EMPTY_TEXT))
        empty.display = not rows
        table.display = bool(rows)
        focused, filter_bar = self.focused, self.filter_bar
        if not rows and focused is table:
            self.set_focus(None)
        elif rows and (focused is None or (focused is filter_bar and not filter_bar.value)):
            table.focus()
        self.update_info()
        self.refresh_bindings()  # row actions leave the footer while there is no row
        self._rows_ready()

    def show_problem(self, title: str, message: str) -> None:
        self.table.display = False
        empty = self.query_one("#empty", Static)
        again = escape(keys_of(self, self.RELOAD_ID, 1))
        message = with_key_hints(self, message)
        empty.update(f"[b]✗ {escape(title)}[/b]\n\n{escape(message)}\n\nPress [b]{again}[/b] to try again.")
        empty.display = True
        self.query_one("#info", Static).update("")
        self._rows_ready()

    def update_info(self) -> None:
        table, needle = self.table, self.filter_bar.value
        one, many = self.NOUNS
        total = table.total_count
        if needle:
            text = f"{table.visible_count} of {total} {many} match “{needle}”"
        else:
            text = f"{total} {one if total == 1 else many}{self.info_suffix()}"
        # The cursor row's cells cut short at this width, in full first (before the line is cut).
        cut = " · ".join(f"{label}: {full}" for label, full in table.cut_cells())
        self._cut_shown = bool(cut)
        line = escape(f"{cut} · {text}" if cut else text)
        if line != self._info_shown:  # asked every second on the dashboard: repaint only a change (SSH)
            self._info_shown = line
            self.query_one("#info", Static).update(line)

    @on(VirtualTable.Resized)
    @on(VirtualTable.RowHighlighted)
    def _cursor_moved(self) -> None:
        # Only when a row with cut cells is or was under the cursor: the counts (5,000 states on the
        # dashboard) are not worked out again for every arrow key.
        if self._cut_shown or self.table.cut_cells():
            self.update_info()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)
        self.update_info()
        self.refresh_bindings()  # a filter that hides every row takes the row actions out of the footer

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    def action_filter(self) -> None:
        self.filter_bar.focus()

    def clear_filter(self) -> bool:
        """Esc first clears an active filter; True when there was one."""
        if not self.filter_bar.value:
            return False
        self.filter_bar.value = ""
        self.table.focus()
        return True
