"""App Connections of one project: list, add, inspect, edit, re-credential and delete."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import on, work
from textual.binding import Binding

from kms_connect.core.errors import KmsConnectError
from kms_connect.core.status import APP_LABEL, Method
from kms_connect.core.write_proof import proof_plan
from kms_connect.ui.connection_syncs import delete_warning
from kms_connect.ui.errors import describe
from kms_connect.ui.forms.base import method_forms
from kms_connect.ui.key_display import with_keys
from kms_connect.ui.modals.confirm import ConfirmModal, if_confirmed
from kms_connect.ui.modals.connection_details import ConnectionDetailsModal
from kms_connect.ui.modals.edit_connection import EditConnectionModal
from kms_connect.ui.modals.method_picker import MethodPickerModal
from kms_connect.ui.screens.table_screen import TableScreen
from kms_connect.ui.widgets.status_text import ago, live_status_text
from kms_connect.ui.widgets.virtual_table import Cell, Column, VirtualTable

if TYPE_CHECKING:
    from kms_connect.core.check_runner import LiveCheck
    from kms_connect.core.models import Connection, Project
    from kms_connect.ui.forms.base import ConnectionForm

EMPTY_TEXT = """[b]No App Connections in this project yet.[/b]

Press [b]{connections.add}[/b] to add an Azure DevOps connection: pick OAuth, Access Token
or Client Secret, fill in the form, and connect.

Press [b]{connections.back}[/b] to go back to the projects."""


FORMS = method_forms()  # each method's form (ui/forms/<method>.py)


def form_class(method: Method) -> type[ConnectionForm]:
    return FORMS[method]


class ConnectionsTable(VirtualTable):
    # Enter = details is left out of the footer (it is in the help) so the footer fits 80 columns.
    BINDINGS = [Binding("enter", "select", "Details", show=False, id="connections.details")]


class ConnectionsScreen(TableScreen):
    AUTO_FOCUS = "#connections-table"
    PALETTE_GROUP = "App Connections"
    HELP = "The Azure DevOps App Connections of this project, with the status of their last check."
    BINDINGS = [
        Binding("a", "add", "Add", id="connections.add"),
        Binding("e", "edit", "Edit", id="connections.edit"),
        Binding("c", "credentials", "Credentials", id="connections.credentials"),
        Binding("d", "delete", "Delete", id="connections.delete"),
        Binding(
            "v",
            "recheck",
            "Check",
            id="connections.check",
            tooltip="Re-check the selected connection with its stored credentials",
        ),
        Binding(
            "V",
            "recheck_all",
            "Check all",
            show=False,
            id="connections.check_all",
            key_display="V",
            tooltip="Re-check every connection of this project",
        ),
        # Where this source cannot be re-checked from here (an instance), v and V explain instead.
        Binding("v", "not_checkable", show=False, id="connections.check-read-only"),
        Binding("V", "not_checkable", show=False, id="connections.check_all-read-only"),
        Binding("x", "cancel_check", "Cancel check", show=False, id="connections.cancel_check"),
        Binding("y", "syncs", "Secret Syncs", show=False, id="connections.syncs"),
        Binding(
            "w",
            "prove_write",
            "Prove write access",
            show=False,
            id="connections.prove_write",
            tooltip="Create, update and delete a probe variable group in each target project (asks first)",
        ),
        Binding("i", "app.sources", "Source", show=False, id="connections.source"),
        Binding("s", "app.dashboard", "Status of all", show=False, id="connections.status"),
        Binding("escape,ctrl+g", "back", "Back", id="connections.back"),
        Binding("slash", "filter", "Filter", show=False, id="connections.filter", key_display="/"),
        Binding("r", "reload", "Reload", show=False, id="connections.reload"),
    ]
    TABLE_CLASS = ConnectionsTable
    TABLE_ID = "connections-table"
    # At 80 columns a 24-character name and a 19-character organization show in full: App (the same
    # on every row) gives way, Method and Last checked take their short forms; from 92, the long ones.
    COLUMNS = (
        Column("name", "Name", min_width=24),
        Column("app", "App", width=12, min_table=106),
        Column("method", "Method", width=13, min_table=92),
        Column("method_short", "Method", width=6, max_table=91),
        Column("org", "Organization", min_width=19),
        Column("status", "Status", width=15),
        Column("checked", "Last checked", width=12, min_table=92),
        Column("checked_short", "Checked", width=7, max_table=91),
    )
    NOUNS = ("connection", "connections")
    EMPTY_TEXT = EMPTY_TEXT
    RELOAD_ID = "connections.reload"
    LOADING_TEXT = "Loading connections…"

    def __init__(self, project: Project, *, select: str | None = None, then: str | None = None) -> None:
        """`select`: the row the cursor starts on; `then`: the action run on it once listed (the
        dashboard's details send the operator here to edit or replace credentials)."""
        super().__init__()
        self.project = project
        self.connections: dict[str, Connection] = {}
        self._first, self._then = select, then
        self._info_due = False

    def on_mount(self) -> None:
        super().on_mount()
        self.title = f"App Connections · {self.project.name}"
        self.app.subscribe_checks(self, self._on_live)
        self.show_elapsed_of_checks()
        self.reload(self._first)

    def info_suffix(self) -> str:
        running = self.checking_text(sum(1 for key in self.connections if self.app.checks.is_running(key)))
        label = self.app.ws.backend.label
        return "".join(f" · {part}" for part in (running, label) if part)

    def reload(self, select: str | None = None) -> None:
        self.hold_keys()
        self._load(select)

    @work(exclusive=True, group="connections-load", exit_on_error=False)
    async def _load(self, select: str | None) -> None:
        try:
            connections = await self.app.ws.backend.list_connections(self.project.id)
        except Exception as exc:
            self.show_problem("Cannot list the connections.", describe(exc))
            return
        self.connections = {c.id: c for c in connections}
        rows = [(c.id, self._cells(c)) for c in sorted(connections, key=lambda c: c.name)]
        self.show_rows(rows, select)
        then, self._then = self._then, None
        if then is not None and select is not None and self.table.cursor_key == select:
            self.call_later(self.run_action, then)

    def _cells(self, conn: Connection) -> list[Cell]:
        """A row as the check runner says it is (core/check_runner `row`)."""
        view = self.app.checks.row(conn)
        status, since, checked = view.status, view.running_since, view.checked_at
        method = conn.method
        return [
            conn.name,
            APP_LABEL,
            method.label,
            method.short_label,
            conn.org_name,
            live_status_text(status, since, time.monotonic()),
            ago(checked),
            ago(checked, short=True),
        ]

    def row_cells(self, key: str) -> Sequence[Cell] | None:
        conn = self.connections.get(key)
        return self._cells(conn) if conn is not None else None

    def _on_live(self, live: LiveCheck) -> None:
        conn = self.connections.get(live.key)
        if conn is None:
            return
        self.table.update_row(conn.id, self._cells(conn))
        if not self._info_due:  # the info line counts the checks under way: once per batch of updates
            self._info_due = True
            self.call_later(self._count)

    def _count(self) -> None:
        self._info_due = False
        self.update_info()

    # --- live checks --------------------------------------------------------------------------
    def action_recheck(self) -> None:
        conn = self._selected()
        if conn is not None:
            self.recheck([conn])

    def action_recheck_all(self) -> None:
        self.recheck(sorted(self.connections.values(), key=lambda c: c.name))

    def action_prove_write(self) -> None:
        """The write proof (core/write_proof), after a confirmation that says what it will change."""
        conn = self._selected()
        if conn is None:
            return
        backend = self.app.ws.backend
        why = backend.not_checkable(conn)
        if why:
            self.notify(
                f"{why} The write proof is offered in the connection's form, with the credential typed there.",
                markup=False,
                title="Write proof not possible here",
                severity="warning",
                timeout=10,
            )
            return
        if not conn.target_projects:
            self.notify(
                with_keys(
                    self,
                    "Name the Azure DevOps projects its syncs will write to first: {connections.edit} (Edit) → "
                    "Target projects.",
                ),
                markup=False,
                title="No target projects",
                severity="warning",
                timeout=10,
            )
            return
        left = backend.probe_record.of(conn.id) if backend.probe_record is not None else []
        self.app.push_screen(
            ConfirmModal(
                f"Prove write access for “{conn.name}”?",
                proof_plan(conn, conn.target_projects, left),
                "Prove write access",
            ),
            if_confirmed(lambda: self.app.checks.recheck(backend, conn, prove_in=[])),
        )

    def action_syncs(self) -> None:
        """The project's Secret Syncs, on an instance (the local store has none, and says so)."""
        try:
            self.app.ws.syncs()
        except KmsConnectError as exc:
            self.notify(str(exc), markup=False, title="No Secret Syncs here", severity="warning", timeout=10)
            return
        from kms_connect.ui.screens.syncs import SyncsScreen  # noqa: PLC0415 - only on an instance, when asked

        self.app.push_screen(SyncsScreen(self.project))

    def action_cancel_check(self) -> None:
        conn = self._selected()
        if conn is not None and not self.app.checks.cancel(conn.id):
            self.notify("No check is running for this connection.", markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.check_key_hidden(action):
            return False
        if (
            action in ("edit", "credentials", "delete", "details", "recheck", "cancel_check", "prove_write")
            and self._selected() is None
        ):
            return False  # not in the footer while there is no connection to act on
        return action != "recheck_all" or bool(self.connections)

    def _selected(self) -> Connection | None:
        key = self.table.cursor_key
        return self.connections.get(key) if key and self.table.display else None

    def _taken(self, except_id: str | None = None) -> set[str]:
        return {c.name for c in self.connections.values() if c.id != except_id}

    def action_reload(self) -> None:
        self.app.ws.backend.retry_login()  # r is the explicit "try again" after a refused login
        self.reload(self.table.cursor_key)

    def action_back(self) -> None:
        if not self.clear_filter():
            self.app.pop_screen()

    # --- add ----------------------------------------------------------------------------------
    def action_add(self) -> None:
        self.hold_keys("add")  # a method's number typed next is for the picker
        self._pick_method()

    @work(exclusive=True, group="connections-add", exit_on_error=False)
    async def _pick_method(self) -> None:
        try:
            oauth = await self.app.ws.backend.oauth_availability()
        except Exception as exc:
            self.notify(describe(exc), markup=False, severity="error")
            return
        finally:
            # The next key is dispatched later, after the push below: it waits for the picker to settle.
            self.release_keys("add")
        self.app.push_screen(MethodPickerModal(oauth), self._method_chosen)

    def _method_chosen(self, method: Method | None) -> None:
        if method is not None:
            self.app.push_screen(form_class(method)(self.project.id, self._taken()), self._saved)

    def _saved(self, connection: Connection | None) -> None:
        if connection is None:
            return
        self.filter_bar.value = ""
        self.notify(f"Connection “{connection.name}” saved · {connection.status.label}.", markup=False)
        self.app.show_notice()
        self.reload(select=connection.id)

    # --- row actions --------------------------------------------------------------------------
    @on(VirtualTable.RowSelected, "#connections-table")
    def _row_selected(self) -> None:
        self.action_details()

    def action_details(self) -> None:
        conn = self._selected()
        if conn is None:
            return
        conn = self.app.checks.as_shown(conn)
        self.app.push_screen(
            ConnectionDetailsModal(conn, self.project, self.app.ws.backend.describe_secret_location(conn)),
            self._after_details,
        )

    def _after_details(self, action: str | None) -> None:
        if action:
            self.call_later(self.run_action, action)

    def action_edit(self) -> None:
        conn = self._selected()
        if conn is None:
            return

        self.app.push_screen(EditConnectionModal(conn, self._taken(conn.id)), self._edited)

    def _edited(self, connection: Connection | None) -> None:
        if connection is not None:
            self.notify(f"Connection “{connection.name}” updated.", markup=False)
            self.reload(select=connection.id)

    def action_credentials(self) -> None:
        conn = self._selected()
        if conn is None:
            return
        form = form_class(conn.method)(self.project.id, self._taken(conn.id), existing=conn)
        self.app.push_screen(form, self._saved)

    def action_delete(self) -> None:
        """On an instance, the Secret Syncs that use the connection are looked up first (within the
        core's deadline) and named in the confirmation; keys typed meanwhile wait for it."""
        conn = self._selected()
        if conn is None:
            return
        if self.app.ws.is_local:  # the local store has no syncs
            self._confirm_delete(conn, "", strong=False)
            return
        self.hold_keys("delete")
        self._ask_delete(conn)

    @work(exclusive=True, group="connections-delete-ask", exit_on_error=False)
    async def _ask_delete(self, conn: Connection) -> None:
        try:
            users = await self.app.ws.syncs_using(conn)
        except Exception as exc:  # the delete is still offered: the instance has the last word
            warning, strong = f"The Secret Syncs that use it could not be listed: {describe(exc)}", False
        else:
            warning, strong = delete_warning(users), bool(users.syncs)
        finally:
            self.release_keys("delete")  # the next key waits for the dialog pushed below to settle
        self._confirm_delete(conn, warning, strong=strong)

    def _confirm_delete(self, conn: Connection, warning: str, *, strong: bool) -> None:
        secrets = " and its stored credentials" if conn.secrets else ""
        removed = f"The {conn.method.label} connection to {conn.org_name}{secrets} will be removed."
        # An instance's syncs as it named them; the local store has none (its connections feed no sync).
        said = f"{warning}\n\n{removed}" if warning else removed
        self.app.push_screen(
            ConfirmModal(
                f"Delete connection “{conn.name}”?",
                f"{said} This cannot be undone.",
                "Delete anyway" if strong else "Delete connection",
            ),
            if_confirmed(lambda: self._delete(conn.id)),
        )

    @work(exclusive=True, group="connections-change", exit_on_error=False)
    async def _delete(self, connection_id: str) -> None:
        self.app.checks.forget(connection_id)
        try:
            await self.app.ws.backend.delete_connection(connection_id)
        except Exception as exc:  # a refusal (syncs use it) in the instance's words and ours
            self.notify(describe(exc), markup=False, title="Not deleted", severity="error", timeout=15)
            return
        self.notify("Connection deleted.", markup=False)
        self.app.show_notice()
        self.reload()
