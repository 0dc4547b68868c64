"""Where connections live: the local store or a Hanzo KMS instance; add, edit and remove instances."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kms_connect.core.workspace import LOCAL
from kms_connect.ui.errors import describe
from kms_connect.ui.key_display import with_keys
from kms_connect.ui.modals.confirm import ConfirmModal, if_confirmed
from kms_connect.ui.modals.instance_form import InstanceFormModal

if TYPE_CHECKING:
    from kms_connect.core.instances import Instance
    from kms_connect.ui.app import KmsConnectApp


class SourcesModal(ModalScreen[str | None]):
    """Dismisses with the chosen source ("local" or an instance name), or None."""

    BINDINGS = [
        Binding("escape,ctrl+g", "cancel", "Close", id="sources.close"),
        Binding("a", "add", "Add instance", id="sources.add"),
        Binding("e", "edit", "Edit instance", id="sources.edit"),
        Binding("d", "remove", "Remove instance", id="sources.remove"),
    ]
    app: KmsConnectApp

    def __init__(self) -> None:
        super().__init__()
        self.instances: dict[str, Instance] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Source of projects and connections", classes="dialog-title")
            yield OptionList(id="sources")
            yield Static("", id="sources-note", classes="dialog-body", markup=False)
            yield Static("", id="sources-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self.refresh_list()

    def refresh_list(self, select: str | None = None) -> None:
        options = [Option(Text.assemble(("Local store", "bold"), "  on this box"), id=LOCAL)]
        try:
            listed = self.app.ws.instances()
            note = "" if listed else "No Hanzo KMS instance yet: press a to add one."
        except Exception as exc:
            listed, note = [], f"✗ {describe(exc)}"
        self.instances = {i.name: i for i in listed}
        for inst in listed:
            label = Text.assemble((inst.name, "bold"), f"  {inst.url}")
            if inst.source == "config":
                label.append("  (config file)", style="dim")
            options.append(Option(label, id=inst.name))
        for option in options:
            if option.id == self.app.source:
                option.prompt.append("  ● current", style="bold")  # type: ignore[union-attr]
        menu = self.query_one(OptionList)
        menu.clear_options()
        menu.add_options(options)
        wanted = select or self.app.source
        ids = [o.id for o in options]
        menu.highlighted = ids.index(wanted) if wanted in ids else 0
        menu.focus()
        self.query_one("#sources-note", Static).update(note)

    def _highlighted(self) -> str | None:
        menu = self.query_one(OptionList)
        if menu.highlighted is None:
            return None
        return menu.get_option_at_index(menu.highlighted).id

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "remove"):  # the local store is neither edited nor removed here
            return bool(self.query(OptionList)) and self._highlighted() in self.instances
        return True

    def on_option_list_option_highlighted(self) -> None:
        instance = self._highlighted() in self.instances
        edit = "{sources.edit} edit · {sources.remove} remove · " if instance else ""
        hint = f"Enter opens · {{sources.add}} add · {edit}{{sources.close}} closes"
        self.query_one("#sources-hint", Static).update(with_keys(self, hint))
        self.refresh_bindings()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_add(self) -> None:
        self.app.push_screen(InstanceFormModal(None, set(self.instances)), self._saved)

    def action_edit(self) -> None:
        inst = self.instances.get(self._highlighted() or "")
        if inst is None:
            return
        if inst.source == "config":  # its fields live in the config file; only its secret is set here
            config_file = self.app.ws.paths.config_file
            self.query_one("#sources-note", Static).update(
                f"ℹ {inst.name} is declared in {config_file}: edit its fields there."
            )
        self.app.push_screen(
            InstanceFormModal(inst, set(self.instances) - {inst.name}), lambda name: self._saved(name, edited=inst.name)
        )

    def _saved(self, name: str | None, edited: str | None = None) -> None:
        if not name:
            return
        self.refresh_list(select=name)
        if edited is not None and edited == self.app.source:  # the open instance changed: reopen it
            self.app.switch_source(name)

    def action_remove(self) -> None:
        name = self._highlighted()
        if not name or name == LOCAL or name not in self.instances:
            return
        self.app.push_screen(
            ConfirmModal(
                f"Remove instance “{name}”?",
                "kms-connect forgets the instance and its machine identity's "
                "Client Secret. Nothing on the instance changes.",
                "Remove instance",
            ),
            if_confirmed(lambda: self._remove(name)),
        )

    @work(thread=True, exit_on_error=False)
    def _remove(self, name: str) -> None:
        try:
            self.app.ws.remove_instance(name)
        except Exception as exc:
            self.app.call_from_thread(self.query_one("#sources-note", Static).update, f"✗ {describe(exc)}")
            return
        if self.app.source == name:
            self.app.call_from_thread(self.app.switch_source, LOCAL)
        self.app.call_from_thread(self.refresh_list)
