"""Pick the Azure DevOps projects a connection's syncs will write to (its target projects).

The projects are listed live with the credential (every page), and filtered as you type. Space or
Enter on a project picks it or leaves it (`[x]` / `[ ]`: the state is in the glyph, not the
colour); ^s keeps the choice; Esc closes, asking first when the choice changed. When the projects
cannot be listed (the reason is shown), a name typed and Enter adds it as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from kms_connect.ui.errors import describe
from kms_connect.ui.key_display import with_keys
from kms_connect.ui.modals.discard import ask_to_discard


def targets_text(targets: list[str]) -> str:
    """A connection's target projects in a line, for its dialogs."""
    if not targets:
        return "Target projects: none (optional)"
    return f"Target projects: {', '.join(targets)}"


HINT = "type to filter · {picker.toggle} picks · {picker.done} done · {picker.cancel} cancels"
SINGLE_HINT = "type to filter · Enter picks · {picker.cancel} cancels"


class ProjectPickerModal(ModalScreen[list[str] | None]):
    AUTO_FOCUS = "#picker-filter"
    BINDINGS = [
        Binding("ctrl+s", "done", "Done", id="picker.done"),
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("space", "pick", "Pick", show=False, id="picker.toggle"),
        # From the filter into the list (the list's own Down moves in it: the focused widget goes first).
        Binding("down", "to_list", "To the list", show=False, id="picker.to_list"),
    ]

    def __init__(
        self,
        org: str,
        chosen: list[str],
        load: Callable[[], Awaitable[list[str]]],
        *,
        single: str = "",
    ) -> None:
        """`load` lists the organization's projects with the credential (raises what went wrong).
        `single`: pick one project, for what it is said here (Enter on it closes the picker)."""
        super().__init__()
        self.single = single
        self.org = org
        self.initial = list(chosen)
        self.chosen: list[str] = list(chosen)  # in the order picked
        self.projects: list[str] | None = None  # None: not listed (yet, or it failed)
        self.problem = ""
        self._load = load

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker-dialog"):
            yield Static(
                f"{'Azure DevOps project' if self.single else 'Target projects'} · {self.org}",
                classes="dialog-title",
                markup=False,
            )
            yield Static(
                self.single
                or "The Azure DevOps projects this connection's syncs will write to: checks read each, and "
                "a write proof runs in each.",
                classes="dialog-body",
                markup=False,
            )
            yield Input(placeholder="Filter, or a project name", id="picker-filter")
            yield OptionList(id="picker-list")
            yield Static("… Listing the projects", id="picker-status", classes="dialog-body", markup=False)
            yield Static("", id="picker-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#picker-hint", Static).update(with_keys(self, SINGLE_HINT if self.single else HINT))
        self._fill()
        self._list()

    @work(exclusive=True, exit_on_error=False)
    async def _list(self) -> None:
        try:
            projects = await self._load()
        except Exception as exc:  # the reason, and a way on: names typed by hand
            self.problem = describe(exc)
            self._status(f"✗ Could not list the projects: {self.problem} Type a name and press Enter to add it.")
            return
        self.projects = sorted(projects, key=str.lower)
        self._status(f"{len(self.projects)} project{'s' if len(self.projects) != 1 else ''} in {self.org}.")
        self._fill()

    def _status(self, text: str) -> None:
        self.query_one("#picker-status", Static).update(text)

    def _shown(self) -> list[str]:
        """The projects the filter lets through; the chosen ones first if nothing was listed."""
        typed = self.query_one("#picker-filter", Input).value.strip().lower()
        names = self.projects if self.projects is not None else []
        extra = [n for n in self.chosen if n.lower() not in {p.lower() for p in names}]
        return [n for n in [*names, *extra] if typed in n.lower()]

    def _fill(self) -> None:
        menu = self.query_one(OptionList)
        keep = menu.highlighted_option.id if menu.highlighted_option is not None else None
        picked = {n.lower() for n in self.chosen}
        menu.clear_options()
        shown = self._shown()
        on, off = ("(•)", "( )") if self.single else ("[x]", "[ ]")  # one project, or several: the glyphs say
        menu.add_options([Option(Text(f"{on if n.lower() in picked else off} {n}"), id=n) for n in shown])
        if shown:
            menu.highlighted = shown.index(keep) if keep in shown else 0

    @on(Input.Changed, "#picker-filter")
    def _filtered(self) -> None:
        self._fill()

    @on(Input.Submitted, "#picker-filter")
    def _typed(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        shown = self._shown()
        if len(shown) == 1:
            self._toggle(shown[0])
        elif not shown and name and self.problem:  # could not be listed: take the name as typed
            self._toggle(name)
        elif self.projects is None:  # still listing: a partial name is not a choice
            self._status(f"… Still listing the projects of {self.org}: Enter again once they show.")
            return
        elif shown:
            self.query_one(OptionList).focus()
            return
        else:
            self._status(f"No project named like “{name}” in {self.org}.")
            return
        event.input.value = ""

    @on(OptionList.OptionSelected, "#picker-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self._toggle(event.option.id)

    def action_pick(self) -> None:
        menu = self.query_one(OptionList)
        if self.focused is menu and menu.highlighted_option is not None and menu.highlighted_option.id:
            self._toggle(menu.highlighted_option.id)
        elif isinstance(self.focused, Input):
            self.focused.insert_text_at_cursor(" ")  # a space in the filter is a space

    def _toggle(self, name: str) -> None:
        if self.single:
            self.dismiss([name])
            return
        lowered = [n.lower() for n in self.chosen]
        if name.lower() in lowered:
            del self.chosen[lowered.index(name.lower())]
        else:
            self.chosen.append(name)
        self._fill()
        count = len(self.chosen)
        self._status(
            f"{count} picked: {', '.join(self.chosen)}" if count else "None picked: checks read the first project."
        )

    def action_to_list(self) -> None:
        menu = self.query_one(OptionList)
        if menu.option_count:
            menu.focus()

    def action_done(self) -> None:
        self.dismiss(self.chosen)

    def action_cancel(self) -> None:
        changed = [n.lower() for n in self.chosen] != [n.lower() for n in self.initial]
        ask_to_discard(self, ["Target projects"] if changed else [], lambda: self.dismiss(None))
