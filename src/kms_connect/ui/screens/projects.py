"""Projects: the first screen. Filter, create, open and delete projects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.binding import Binding
from textual.widgets import Static

from kms_connect.heap import startup_done
from kms_connect.ui.errors import describe
from kms_connect.ui.modals.confirm import ConfirmModal, if_confirmed
from kms_connect.ui.modals.new_project import NewProjectModal
from kms_connect.ui.screens.table_screen import TableScreen
from kms_connect.ui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from kms_connect.core.models import ProjectSummary

EMPTY_TEXT = """[b]No projects yet.[/b]

Press [b]{projects.new}[/b] to create your first project. As in Hanzo KMS, a project holds
App Connections: open it with [b]{projects.open}[/b], then press [b]{connections.add:a}[/b] to add an
Azure DevOps connection.

Press [b]{app.help}[/b] for every key, [b]{app.palette}[/b] for the command palette."""


class ProjectsTable(VirtualTable):
    # Enter's label in the footer says what it does here.
    BINDINGS = [Binding("enter", "select", "Open", id="projects.open")]


class ProjectsScreen(TableScreen):
    AUTO_FOCUS = "#projects-table"
    PALETTE_GROUP = "Projects"
    HELP = "Your projects. Each one holds App Connections; open one to manage its Azure DevOps connections."
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="projects.filter", key_display="/"),
        Binding("n", "new_project", "New", id="projects.new"),
        Binding("d", "delete", "Delete", id="projects.delete"),
        # Where projects are read-only (an instance), n and d are not in the footer; pressed, they say why.
        Binding("n", "read_only('create')", show=False, id="projects.new-read-only"),
        Binding("d", "read_only('delete')", show=False, id="projects.delete-read-only"),
        Binding(
            "s",
            "app.dashboard",
            "Status",
            id="projects.status",
            tooltip="Every connection of this source with its live status",
        ),
        Binding(
            "i",
            "app.sources",
            "Source",
            id="projects.source",
            tooltip="Switch between the local store and Hanzo KMS instances; add or edit instances",
        ),
        Binding("r", "reload", "Reload", show=False, id="projects.reload"),
        Binding("q", "app.quit", "Quit", show=False, id="projects.quit"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="projects.clear-filter"),
    ]
    TABLE_CLASS = ProjectsTable
    TABLE_ID = "projects-table"
    COLUMNS = (Column("name", "Name"), Column("slug", "Slug"), Column("count", "Connections", width=11))
    NOUNS = ("project", "projects")
    EMPTY_TEXT = EMPTY_TEXT
    RELOAD_ID = "projects.reload"
    LOADING_TEXT = "Loading projects…"
    KEYS_BEFORE_DATA = TableScreen.KEYS_BEFORE_DATA | {"projects.new", "projects.quit"}

    def __init__(self) -> None:
        super().__init__()
        self.summaries: dict[str, ProjectSummary] = {}
        self.loaded = False
        self.selecting: str | None = None  # the row the next listing puts the cursor on

    def on_mount(self) -> None:
        super().on_mount()
        self.title = "Projects"
        if self.app.load_error:
            self.show_error(self.app.load_error)
        elif self.app.backend is not None and not self.loaded:
            self.reload()

    def on_screen_resume(self) -> None:
        if self.loaded:
            self.reload()

    # --- data ---------------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        if self.app.backend is not None:
            # A reload replaces one still running: the row asked for (a project just created) stays
            # asked for. (Closing New project both resumes this screen and reports the new project.)
            self.selecting = select or self.selecting
            self.hold_keys()
            self._load()

    @work(exclusive=True, group="projects-load", exit_on_error=False)
    async def _load(self) -> None:
        assert self.app.backend is not None
        try:
            summaries = await self.app.backend.list_projects()
        except Exception as exc:
            self.show_error(describe(exc))
            return
        self.loaded = True
        note = getattr(self.app.backend, "hidden_note", "")
        if note:  # say what this identity cannot see, rather than show zeros
            self.notify(note, markup=False, severity="warning", timeout=10)
        self.summaries = {s.id: s for s in summaries}
        rows = [
            (s.id, [s.name, s.slug, "?" if s.connection_count is None else str(s.connection_count)])
            for s in sorted(summaries, key=lambda s: s.name.lower())
        ]
        select, self.selecting = self.selecting, None
        self.show_rows(rows, select)
        startup_done()  # the session's long-lived objects are built: freeze them (why: core/store_file.py)

    def show_error(self, message: str) -> None:
        where = self.app.backend.label if self.app.backend is not None else "the local store"
        self.show_problem(f"Cannot open {where}.", message)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        backend = self.app.backend
        # Before the source has opened (n typed at launch), what it is says whether it can.
        read_only = not backend.can_manage_projects if backend is not None else self.app.source != "local"
        if action in ("new_project", "delete") and read_only:
            return False  # not offered: the read_only twin explains, if pressed
        if action == "read_only":
            return read_only
        return action != "delete" or self._selected() is not None  # not in the footer with nothing to delete

    def action_read_only(self, what: str) -> None:
        why = {
            "create": "Projects on a KMS instance are managed in its web UI.",
            "delete": "Projects on a KMS instance cannot be deleted here: that would delete its secrets.",
        }
        self.notify(why[what], markup=False, severity="warning")

    def _selected(self) -> ProjectSummary | None:
        key = self.table.cursor_key
        return self.summaries.get(key) if key and self.table.display else None

    # --- actions ------------------------------------------------------------------------------
    @on(VirtualTable.RowSelected, "#projects-table")
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        summary = self._selected()
        if summary is None:
            return

        # The screen and its forms are not for the first frame (benchmarks/imports.py).
        from kms_connect.ui.screens.connections import ConnectionsScreen  # noqa: PLC0415 - first frame: ~230 ms

        self.app.push_screen(ConnectionsScreen(summary.project))

    def action_clear_filter(self) -> None:
        self.clear_filter()

    def action_reload(self) -> None:
        if self.app.backend is not None:
            self.app.backend.retry_login()  # r is the explicit "try again" after a refused login
        if self.app.backend is None and self.app.load_error:
            self.query_one("#empty", Static).update(self.LOADING_TEXT)
            self.app.start_loading()
            return
        self.reload(self.table.cursor_key)

    def action_new_project(self) -> None:
        # Opens before the store has loaded too: the dialog waits for it only to save.
        taken = lambda: {s.slug for s in self.summaries.values()}  # noqa: E731 - as loaded when asked
        self.app.push_screen(NewProjectModal(taken), self._project_created)

    def _project_created(self, project_id: str | None) -> None:
        if project_id:
            self.filter_bar.value = ""
            self.reload(select=project_id)

    def action_delete(self) -> None:
        summary = self._selected()
        if summary is None or self.app.backend is None:
            return
        n = summary.connection_count
        goes = (
            f"Its {n} App Connection{'s' if n != 1 else ''} and their stored secrets go with it."
            if n
            else "It has no App Connections."
        )
        self.app.push_screen(
            ConfirmModal(
                f"Delete project “{summary.project.name}”?", f"{goes} This cannot be undone.", "Delete project"
            ),
            if_confirmed(lambda: self._delete(summary.project.id)),
        )

    @work(exclusive=True, group="projects-change", exit_on_error=False)
    async def _delete(self, project_id: str) -> None:
        assert self.app.backend is not None
        try:
            gone = await self.app.backend.delete_project(project_id)
        except Exception as exc:
            self.notify(describe(exc), markup=False, title="Not deleted", severity="error", timeout=10)
            return
        self.notify(f"Project deleted with {gone} connection{'s' if gone != 1 else ''}.", markup=False)
        self.app.show_notice()
        self.reload()
