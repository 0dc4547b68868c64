"""Status at a glance: every connection of the current source, across its projects, live.

Driven by the App's check runner (core/check_runner) like the App Connections screen, so a `V` started here goes
on when you leave, and rows change as each check moves.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from kms_connect.core.status import Status
from kms_connect.ui.errors import describe
from kms_connect.ui.key_display import keys_of, with_key_hints
from kms_connect.ui.modals.connection_details import ConnectionDetailsModal
from kms_connect.ui.screens.table_screen import TableScreen
from kms_connect.ui.widgets.status_text import ago, live_status_text
from kms_connect.ui.widgets.virtual_table import Cell, Column, VirtualTable

if TYPE_CHECKING:
    from kms_connect.core.check_runner import LiveCheck, RowView
    from kms_connect.core.models import Connection, Project

EMPTY_TEXT = """[b]No App Connections here yet.[/b]

Open a project ({dashboard.back}, then {projects.open:enter}) and press [b]{connections.add:a}[/b] to add one."""
FAILING = (Status.FAILED, Status.WARNING, Status.CANCELLED, Status.NOT_CHECKABLE)


class DashboardTable(VirtualTable):
    BINDINGS = [Binding("enter", "select", "Details", show=False, id="dashboard.details")]


class DashboardScreen(TableScreen):
    AUTO_FOCUS = "#dashboard-table"
    PALETTE_GROUP = "Status"
    HELP = "Every connection of this source with its live status; V re-checks them all (they go on if you leave)."
    BINDINGS = [
        Binding("v", "recheck", "Check", id="dashboard.check"),
        Binding("V", "recheck_all", "Check all", id="dashboard.check_all", key_display="V"),
        # Where this source cannot be re-checked from here (an instance), v and V explain instead.
        Binding("v", "not_checkable", show=False, id="dashboard.check-read-only"),
        Binding("V", "not_checkable", show=False, id="dashboard.check_all-read-only"),
        Binding("f", "failing", "Failing only", id="dashboard.failing"),
        Binding("escape,ctrl+g", "back", "Back", id="dashboard.back"),
        Binding("slash", "filter", "Filter", show=False, id="dashboard.filter", key_display="/"),
        Binding("r", "reload", "Reload", show=False, id="dashboard.reload"),
    ]
    TABLE_CLASS = DashboardTable
    TABLE_ID = "dashboard-table"
    # At 80 columns a 20-character project and a 24-character name show in full: Took and Problem give
    # way (the cursor row's problem is spelled out under the table) from 96 down.
    COLUMNS = (
        Column("project", "Project", min_width=20),
        Column("name", "Name", min_width=24),
        Column("status", "Status", width=15),
        Column("checked", "Checked", width=10, min_table=96),
        Column("checked_short", "Checked", width=7, max_table=95),
        Column("time", "Took", width=6, min_table=96),
        Column("problem", "Problem", min_width=10, min_table=96),
    )
    NOUNS = ("connection", "connections")
    EMPTY_TEXT = EMPTY_TEXT
    RELOAD_ID = "dashboard.reload"
    LOADING_TEXT = "Loading every project's connections…"

    def __init__(self, *, check_all: bool = False) -> None:
        super().__init__()
        self.check_all = check_all  # re-check every row once the first listing is in (the demo)
        self.entries: dict[str, tuple[Project, Connection]] = {}
        self.failing_only = False
        self.loaded = False
        self._info_due = False
        self._counted: Counter[Status] | None = None

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if widget.id == "info":  # the cursor row's problem in full: the column is narrow at 80
                yield Static("", id="row-problem", classes="row-problem")
            yield widget

    def on_mount(self) -> None:
        super().on_mount()
        self.title = "Status of every connection"
        self._checks = self.app.checks
        self.app.subscribe_checks(self, self._on_live)
        self.reload()
        # Left open on a wall screen: "next re-check in …" counts down, "3 min ago" ages.
        # Every second: "next check in 45 s" counts down (update_info repaints only a change).
        self.set_interval(1, self.update_info, name="dashboard info")
        self.set_interval(60, self._refresh_ages, name="dashboard ages")
        self.show_elapsed_of_checks()

    def reload(self) -> None:
        self.hold_keys()
        self._load()

    @work(exclusive=True, group="dashboard-load", exit_on_error=False)
    async def _load(self) -> None:
        backend = self.app.ws.backend
        try:
            everything = await backend.list_all_connections()
        except Exception as exc:
            self.loaded = False
            self.show_problem("Cannot list the connections.", describe(exc))
            return
        everything.sort(key=lambda pc: (pc[0].name, pc[1].name))  # once: entries keep this order (updates too)
        self.entries = {c.id: (p, c) for p, c in everything}
        self.loaded = True
        self._show()
        if self.check_all:  # asked for before the rows existed: now there is something to check
            self.check_all = False
            self.action_recheck_all()

    def _refresh_ages(self) -> None:
        if self.loaded:  # never over a problem shown instead of the table
            self._show()

    def _state(self, conn: Connection) -> RowView:
        """What a row shows (core/check_runner `row`)."""
        return self._checks.row(conn)  # self.app costs a context lookup: 15,000 calls at 5,000 rows

    def _cells(
        self,
        project: Project,
        conn: Connection,
        view: RowView | None = None,
        now: datetime | None = None,
    ) -> list[Cell]:
        view = view or self._state(conn)
        status, result = view.status, view.result
        took = f"{result.duration_ms / 1000:.1f}s" if result is not None and result.duration_ms else ""
        problem = ""
        if result is not None and status in FAILING:
            bad = result.failing_step()
            problem = f"{bad.title}: {bad.result}" if bad is not None else result.summary
        elif status is Status.NOT_CHECKABLE:
            problem = "credentials not held here"
        when, since = view.checked_at, view.running_since
        shown = live_status_text(status, since, time.monotonic())
        return [project.name, conn.name, shown, ago(when, now), ago(when, now, short=True), took, problem]

    def row_cells(self, key: str) -> Sequence[Cell] | None:
        entry = self.entries.get(key)
        return self._cells(*entry) if entry is not None else None

    @on(VirtualTable.RowHighlighted, "#dashboard-table")
    def _show_row_problem(self) -> None:
        problem = self.query_one("#row-problem", Static)
        entry = self.entries.get(self.table.cursor_key or "")
        text = with_key_hints(self, self._problem_of(entry[1])) if entry is not None else ""
        problem.update(self._fit(text))
        problem.display = bool(text)

    def on_resize(self, event: events.Resize) -> None:
        self._show_row_problem()  # what fits under the table depends on the terminal's size

    def _fit(self, text: str) -> Text:
        """The problem in full, Trace and Correlation IDs included, in up to half the screen; longer
        (rare), it is cut at a line's end and says where it shows in full."""
        body = Text(text)
        most = max(3, self.size.height // 2)
        lines = body.wrap(self.app.console, max(20, self.size.width - 2))  # .row-problem has padding 0 1
        if len(lines) <= most:
            return body
        details = keys_of(self, "dashboard.details", 1) or "Enter"
        return Text("\n").join([*lines[: most - 1], Text(f"… the rest: {details} (details)", style="bold")])

    def _problem_of(self, conn: Connection) -> str:
        view = self._state(conn)
        status, result = view.status, view.result
        backend = self.app.ws.backend
        if status is Status.NOT_CHECKABLE and result is None:
            return f"{conn.name} · Not checked here. {backend.not_checkable(conn)}".strip()
        if status not in FAILING or result is None:
            return ""
        bad = result.failing_step()
        if bad is None:
            return f"{conn.name}: {result.summary}"
        return f"{conn.name} · {bad.title}: {bad.result} {bad.explanation}".strip()

    def _show(self, select: str | None = None) -> None:
        rows: list[tuple[str, list[Cell]]] = []
        counts, now = Counter[Status](), datetime.now(UTC)
        for cid, (p, c) in self.entries.items():  # sorted by project, then name, when loaded
            view = self._state(c)
            counts[view.status] += 1
            if not self.failing_only or view.status in FAILING:
                rows.append((cid, self._cells(p, c, view, now)))
        self._counted = counts  # for the info line show_rows writes: 5,000 states are not worked out twice
        try:
            self.show_rows(rows, select or self.table.cursor_key)
        finally:
            self._counted = None

    def info_suffix(self) -> str:
        counts = self._counted or Counter(self._state(conn).status for _, conn in self.entries.values())
        parts = [
            self.checking_text(n) if st is Status.CHECKING else f"{st.glyph} {n} {st.word.lower()}"
            for st, n in sorted(counts.items(), key=lambda i: i[0].value)
        ]
        if auto := self.app.periodic.describe(anything_to_check=self._anything_to_check()):
            parts.append(auto)
        if self.failing_only:  # last: at 80 columns it is what gets cut, and the rows already say it
            parts.append("failing only (f: all)")
        return " · " + " · ".join(parts) if parts else ""

    def _anything_to_check(self) -> bool:
        """Whether a periodic round would check any row here (none on an instance: its credentials
        are not held here). No rows: nothing to say yet."""
        backend = self.app.ws.backend
        if not self.entries:
            return True
        return any(not backend.not_checkable(conn) for _, conn in self.entries.values())

    def _on_live(self, live: LiveCheck) -> None:
        entry = self.entries.get(live.key)
        if entry is None:
            return
        project, conn = entry
        if not self.table.update_row(conn.id, self._cells(project, conn)):
            return
        if conn.id == self.table.cursor_key:
            self._show_row_problem()
        if not self._info_due:  # counting 5,000 rows once per batch of updates, not once per row
            self._info_due = True
            self.call_later(self._count)

    def _count(self) -> None:
        self._info_due = False
        self.update_info()

    # --- actions ------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.check_key_hidden(action):
            return False
        if action == "recheck":  # not in the footer without a row to act on
            return bool(self.entries) and self.table.display and self.table.cursor_key in self.entries
        if action in ("recheck_all", "failing"):
            return bool(self.entries)
        return True

    def action_recheck(self) -> None:
        key = self.table.cursor_key
        if key in self.entries:
            self.recheck([self.entries[key][1]])

    def action_recheck_all(self) -> None:
        self.recheck([conn for _, conn in self.entries.values()])

    def action_failing(self) -> None:
        self.failing_only = not self.failing_only
        self._show()

    def action_reload(self) -> None:
        self.app.ws.backend.retry_login()
        self.reload()

    def action_back(self) -> None:
        if not self.clear_filter():
            self.app.pop_screen()

    @on(VirtualTable.RowSelected, "#dashboard-table")
    def _details(self) -> None:
        key = self.table.cursor_key
        if key in self.entries:
            project, conn = self.entries[key]
            conn = self._checks.as_shown(conn)
            self.app.push_screen(
                ConnectionDetailsModal(conn, project, self.app.ws.backend.describe_secret_location(conn)),
                lambda action: self._after_details(project, conn, action),
            )

    def _after_details(self, project: Project, conn: Connection, action: str | None) -> None:
        if action == "recheck":
            self.action_recheck()
        elif action in ("edit", "credentials"):  # done on App Connections: there, on this row
            # Its forms are not needed to show the dashboard (~230 ms of imports: benchmarks/imports.py).
            from kms_connect.ui.screens.connections import ConnectionsScreen  # noqa: PLC0415

            self.app.push_screen(ConnectionsScreen(project, select=conn.id, then=action))
