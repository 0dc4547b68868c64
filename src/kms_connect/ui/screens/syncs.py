"""The Secret Syncs of a project on a Hanzo KMS instance: what they push where, and how the last run went.

Each row: the sync, its environment and folder → Azure DevOps project, its status in a glyph and a
word, when it last succeeded, and the last message in words (core/kms/sync_explain). `t` runs a
sync after a warning that says what it replaces, then follows its job (pending → running → done) with
the core's backoff (0.5 s up to 5 s); the whole screen keeps to PACE between requests however many
it watches. `x` stops watching (the instance's job goes on: it cannot be cancelled). Enter shows a
sync in full.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import on, work
from textual.binding import Binding

from kms_connect.core.errors import KmsConnectError
from kms_connect.core.sync_drafts import replace_warning
from kms_connect.ui.errors import describe
from kms_connect.ui.forms.sync_form import SyncFormModal
from kms_connect.ui.modals.confirm import ConfirmModal, if_confirmed
from kms_connect.ui.modals.delete_sync import DeleteSyncModal
from kms_connect.ui.modals.notice import NoticeModal
from kms_connect.ui.screens.table_screen import TableScreen
from kms_connect.ui.widgets.status_text import ago
from kms_connect.ui.widgets.virtual_table import Cell, Column, VirtualTable

if TYPE_CHECKING:
    from kms_connect.core.models import Project
    from kms_connect.core.workspace import SecretSync, SecretSyncs

PACE = 0.25  # seconds between two reads of this screen's watched syncs: at most 4 requests a second
EMPTY_TEXT = """[b]No Azure DevOps Secret Syncs in this project yet.[/b]

A sync pushes a project environment's secrets into an Azure DevOps variable group, through one of
the project's App Connections. {syncs.add} creates one; it shows here with its status."""


class SyncsTable(VirtualTable):
    BINDINGS = [Binding("enter", "select", "Details", show=False, id="syncs.details")]


class SyncsScreen(TableScreen):
    AUTO_FOCUS = "#syncs-table"
    PALETTE_GROUP = "Secret Syncs"
    HELP = (
        "The Azure DevOps Secret Syncs of this project on the instance, with how their last run went: "
        "a new one (a), edited (e), run now (t) or deleted (d); each says what it replaces before it does."
    )
    BINDINGS = [
        Binding("t", "trigger", "Sync now", id="syncs.trigger"),
        Binding("a", "add", "New", id="syncs.add"),
        Binding("e", "edit", "Edit", id="syncs.edit"),
        Binding("d", "delete", "Delete", id="syncs.delete"),
        Binding("x", "stop_watching", "Stop watching", show=False, id="syncs.stop"),
        Binding("escape,ctrl+g", "back", "Back", id="syncs.back"),
        Binding("slash", "filter", "Filter", show=False, id="syncs.filter", key_display="/"),
        Binding("r", "reload", "Reload", id="syncs.reload"),
    ]
    TABLE_CLASS = SyncsTable
    TABLE_ID = "syncs-table"
    COLUMNS = (
        Column("name", "Name", min_width=18),
        Column("where", "Environment → Azure DevOps", min_width=24),
        Column("status", "Status", width=13),
        Column("synced", "Synced", width=8),
        Column("problem", "Last message", min_width=10, min_table=100),
    )
    NOUNS = ("sync", "syncs")
    EMPTY_TEXT = EMPTY_TEXT
    RELOAD_ID = "syncs.reload"
    LOADING_TEXT = "Loading the Secret Syncs…"

    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project
        self.syncs: dict[str, SecretSync] = {}
        self.watching: set[str] = set()
        self.removing: set[str] = set()  # deleted with their secrets: followed until gone (x does not stop it)
        self._api: SecretSyncs | None = None
        self._last_read = 0.0
        self._pace = asyncio.Lock()

    def on_mount(self) -> None:
        super().on_mount()
        self.title = f"Secret Syncs · {self.project.name}"
        self.reload()

    def reload(self, select: str | None = None) -> None:
        self.hold_keys()
        self._load(select)

    @work(exclusive=True, group="syncs-load", exit_on_error=False)
    async def _load(self, select: str | None) -> None:
        try:
            api = self.app.ws.syncs()
            listed = await api.list_syncs(self.project.id)
            self._api = api  # only once listed: an instance without syncs offers no new one
        except Exception as exc:  # an older instance says what it lacks, in words (core/kms/syncs)
            self.show_problem("Cannot list the Secret Syncs.", describe(exc))
            return
        self.syncs = {s.id: s for s in listed}
        self.show_rows([(s.id, self._cells(s)) for s in listed], select)
        for sync in listed:  # a job under way (the instance's own, or auto-sync's) is followed to its end
            if not sync.status.done and sync.id not in self.watching:
                self._run(sync, trigger=False)

    def _cells(self, sync: SecretSync) -> list[Cell]:
        status = "⌫ Removing" if sync.id in self.removing else sync.status.label
        status += " ⟳" if sync.id in self.watching | self.removing else ""
        where = f"{sync.environment_name or sync.environment}{sync.secret_path} → {sync.devops_project}"
        return [sync.name, where, status, ago(sync.last_synced_at, short=True), sync.explanation]

    def row_cells(self, key: str) -> Sequence[Cell] | None:
        sync = self.syncs.get(key)
        return self._cells(sync) if sync is not None else None

    def info_suffix(self) -> str:
        watched = f" · watching {len(self.watching)} (x stops)" if self.watching else ""
        return f"{watched} · {self.app.ws.backend.label}"

    def _selected(self) -> SecretSync | None:
        key = self.table.cursor_key
        return self.syncs.get(key) if key and self.table.display else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("trigger", "details", "edit", "delete") and self._selected() is None:
            return False
        if action == "add":
            return self._api is not None  # the local store (or a source that failed to open) has no syncs
        if action == "stop_watching":
            sync = self._selected()
            return sync is not None and sync.id in self.watching
        return True

    # --- actions ------------------------------------------------------------------------------
    @on(VirtualTable.RowSelected, "#syncs-table")
    def action_details(self) -> None:
        sync = self._selected()
        if sync is None:
            return
        lines = [
            f"{sync.environment_name or sync.environment} {sync.secret_path} → Azure DevOps project "
            f"{sync.devops_project} (variable group “{sync.environment_name}”), through {sync.connection}.",
            f"Status: {sync.status.label}. Auto-sync {'on' if sync.auto_sync else 'off'}. Last synced: "
            f"{ago(sync.last_synced_at)}.",
        ]
        if sync.explanation:
            lines.append(sync.explanation)
        self.app.push_screen(NoticeModal(f"Secret Sync · {sync.name}", "\n\n".join(lines)))

    def action_trigger(self) -> None:
        sync = self._selected()
        if sync is None:
            return
        group = sync.environment_name or sync.environment
        self.app.push_screen(
            ConfirmModal(
                f"Sync “{sync.name}” now?",
                replace_warning(group, sync.devops_project, f"{sync.environment}{sync.secret_path}"),
                "Sync now",
            ),
            if_confirmed(lambda: self._run(sync)),
        )

    def action_add(self) -> None:
        if self._api is not None:
            self.app.push_screen(SyncFormModal(self._api, self.project), self._saved)

    def action_edit(self) -> None:
        sync = self._selected()
        if sync is not None and self._api is not None:
            self.app.push_screen(SyncFormModal(self._api, self.project, sync), self._saved)

    def _saved(self, sync: SecretSync | None) -> None:
        """A created or edited sync; with auto-sync on the instance runs it at once: follow that job."""
        if sync is None:
            return
        if sync.id not in self.syncs:
            self.syncs[sync.id] = sync
            self.show_rows([(s.id, self._cells(s)) for s in self._sorted()], sync.id)
        self._show(sync)
        self.notify(f"Saved {sync.name}.", markup=False)
        if sync.auto_sync or not sync.status.done:
            self._run(sync, trigger=False)

    def _sorted(self) -> list[SecretSync]:
        return sorted(self.syncs.values(), key=lambda s: (s.project.lower(), s.name))

    def action_delete(self) -> None:
        sync = self._selected()
        if sync is not None:

            def answered(remove: bool | None) -> None:
                if remove is not None:
                    self._delete(sync, remove)

            self.app.push_screen(DeleteSyncModal(sync), answered)

    @work(group="syncs-delete", exit_on_error=False)
    async def _delete(self, sync: SecretSync, remove: bool) -> None:
        if self._api is None:
            return
        self.workers.cancel_group(self, f"watch:{sync.id}")
        try:
            left = await self._api.delete(sync, remove_secrets=remove)
        except KmsConnectError as exc:
            self.notify(describe(exc), markup=False, title="Not deleted", severity="error", timeout=10)
            return
        group = f"«{sync.environment_name or sync.environment}» in {sync.devops_project}"
        if remove:  # the instance removes the variable group first, then the sync: followed to its end
            self.removing.add(sync.id)
            self._show(left)
            self.notify(f"Removing the variable group {group}, then {sync.name}…", markup=False)
            try:
                failure = await self._api.follow_removal(left, sleep=self._paced)
            except KmsConnectError as exc:
                self.notify(describe(exc), markup=False, title=f"Delete {sync.name}", severity="warning", timeout=10)
                return
            finally:
                self.removing.discard(sync.id)
            if failure:
                self.notify(failure, markup=False, title=f"{sync.name} kept", severity="error", timeout=15)
                self.reload(sync.id)
                return
        self.syncs.pop(sync.id, None)  # a reload meanwhile may have taken it already
        self.show_rows([(s.id, self._cells(s)) for s in self._sorted()], None)
        gone = f" and the variable group {group}" if remove else ""
        self.notify(f"Deleted {sync.name}{gone}.", markup=False)

    def _run(self, sync: SecretSync, *, trigger: bool = True) -> None:
        self.watching.add(sync.id)
        self._show(sync)
        watch = self._trigger_and_watch(sync, trigger)
        self.run_worker(watch, group=f"watch:{sync.id}", exclusive=True, exit_on_error=False)

    async def _trigger_and_watch(self, sync: SecretSync, trigger: bool) -> None:
        assert self._api is not None
        try:
            started = await self._api.run(sync) if trigger else sync  # a job under way already is followed
            self._show(started)
            done = await self._api.follow(started, on_change=self._show, sleep=self._paced)
            self._show(done)
        except KmsConnectError as exc:
            self.notify(describe(exc), markup=False, title=f"Sync {sync.name}", severity="warning", timeout=10)
        finally:
            self.watching.discard(sync.id)
            if sync.id in self.syncs:
                self._show(self.syncs[sync.id])

    async def _paced(self, delay: float) -> None:
        """The core's backoff, and never two reads of this screen closer than PACE."""
        await asyncio.sleep(delay)
        async with self._pace:  # one at a time, each PACE after the one before
            wait = self._last_read + PACE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_read = time.monotonic()

    def _show(self, sync: SecretSync) -> None:
        self.syncs[sync.id] = sync
        self.table.update_row(sync.id, self._cells(sync))
        self.update_info()

    def action_stop_watching(self) -> None:
        sync = self._selected()
        if sync is not None and sync.id in self.watching:
            self.workers.cancel_group(self, f"watch:{sync.id}")
            self.notify(f"Stopped watching {sync.name}; its job goes on on the instance.", markup=False)

    def action_reload(self) -> None:
        self.app.ws.backend.retry_login()
        self.reload(self.table.cursor_key)

    def action_back(self) -> None:
        if not self.clear_filter():
            self.app.pop_screen()
