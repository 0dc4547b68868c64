"""A connection's details: every non-secret field, the Secret Syncs that use it (on an instance) and
the last check result.

The syncs are read from the instance after the dialog opens (a worker, bounded by the core's
deadline): the details never wait for them, and a failure is one line in their place.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from kms_connect.core.status import APP_LABEL
from kms_connect.ui.connection_syncs import details_text
from kms_connect.ui.errors import describe
from kms_connect.ui.key_display import with_key_hints, with_keys
from kms_connect.ui.widgets.checklist import step_lines
from kms_connect.ui.widgets.status_text import ago, status_text

if TYPE_CHECKING:
    from kms_connect.core.models import Connection, Project
    from kms_connect.ui.app import KmsConnectApp


SYNCS_LOADING = "Loading Secret Syncs…"
DETAILS_HINT = (
    "{details.edit} edit · {details.credentials} replace credentials · {details.check} check · {details.close} closes"
)


class ConnectionDetailsModal(ModalScreen[str | None]):
    """Dismisses with an action name for the connections screen (edit, credentials) or None."""

    app: KmsConnectApp

    BINDINGS = [
        Binding("escape,ctrl+g,enter,q", "close", "Close", id="details.close"),
        Binding("e", "then('edit')", "Edit", id="details.edit"),
        Binding("c", "then('credentials')", "Credentials", id="details.credentials"),
        Binding("v", "then('recheck')", "Check", id="details.check"),
    ]

    def __init__(self, connection: Connection, project: Project, secret_location: str) -> None:
        super().__init__()
        self.connection, self.project, self.secret_location = connection, project, secret_location

    def compose(self) -> ComposeResult:
        c = self.connection
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        rows: list[tuple[str, str | Text]] = [
            ("Name", c.name),
            ("Description", c.description or "–"),
            ("Project", self.project.name),
            ("App", APP_LABEL),
            ("Method", c.method.label),
            ("Organization", f"{c.org_name}  ({self._devops_url()}/{c.org_name})"),
        ]
        if c.tenant_id:
            rows.append(("Tenant ID", c.tenant_id))
        if c.client_id:
            rows.append(("Client ID", c.client_id))
        rows += [
            ("Credentials", self.secret_location),
            ("Status", status_text(c.status).copy()),
            ("Last checked", _when(c.last_check.checked_at if c.last_check else None)),
        ]
        if c.last_check and c.last_check.summary:
            rows.append(("Result", with_key_hints(self, c.last_check.summary)))
        rows.append(("Targets", ", ".join(c.target_projects) or "none (the projects its syncs will write to)"))
        backend = getattr(self.app, "backend", None)
        reason = backend.not_checkable(c) if backend is not None else ""
        if reason and c.last_check is None:
            rows.append(("Checks", with_key_hints(self, reason)))
        rows += [("Created", _when(c.created_at)), ("Updated", _when(c.updated_at)), ("ID", c.id)]
        for label, value in rows:
            grid.add_row(label, value if isinstance(value, Text) else Text(value))
        with Vertical(classes="dialog details"):
            yield Static(Text(f"Connection · {c.name}"), classes="dialog-title")
            with VerticalScroll():
                yield Static(grid)
                if self._on_instance():  # the local store has no syncs: nothing to say here
                    yield Static(Text("Secret Syncs", style="bold"), classes="details-heading")
                    yield Static(Text(SYNCS_LOADING), id="details-syncs", classes="details-steps")
                if c.last_check and c.last_check.write_proof:  # each project: each permission, then what to do
                    yield Static(Text("Write proof", style="bold"), classes="details-heading")
                    lines = [
                        f"{p.project}: {p.permissions()}. {p.explanation}".strip() for p in c.last_check.write_proof
                    ]
                    yield Static(Text("\n".join(lines)), classes="details-steps")
                if c.last_check and c.last_check.steps:
                    yield Static(Text("Last check", style="bold"), classes="details-heading")
                    steps = step_lines(c.last_check.steps, hints=lambda text: with_key_hints(self, text))
                    yield Static(steps, classes="details-steps")
            yield Static(
                with_keys(self, DETAILS_HINT),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        if self._on_instance():
            self._load_syncs()

    def _on_instance(self) -> bool:
        workspace = getattr(self.app, "workspace", None)  # as backend and settings above: any App may show it
        return workspace is not None and not workspace.is_local

    @work(exclusive=True, group="details-syncs", exit_on_error=False)
    async def _load_syncs(self) -> None:
        try:
            text = details_text(await self.app.ws.syncs_using(self.connection))
        except Exception as exc:  # in words, in the block's place: the rest of the details stand
            text = f"Cannot list them: {describe(exc)}"
        for block in self.query("#details-syncs").results(Static):  # none once the dialog has closed
            block.update(Text(text))

    def _devops_url(self) -> str:
        settings = getattr(self.app, "settings", None)
        return settings.azure.devops_url if settings is not None else "https://dev.azure.com"

    def action_close(self) -> None:
        self.dismiss(None)

    def action_then(self, action: str) -> None:
        self.dismiss(action)


def _when(when: object) -> str:
    if not isinstance(when, datetime):
        return "never"
    relative = ago(when)
    stamp = when.astimezone().strftime("%Y-%m-%d %H:%M")
    return f"{stamp} ({relative})" if "ago" in relative or relative == "just now" else stamp
