"""Add Connection: pick how to connect to Azure DevOps, with each method's prerequisites."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kms_connect.core.methods import Method
from kms_connect.ui.key_display import with_keys

if TYPE_CHECKING:
    from kms_connect.core.models import OAuthAvailability


def number_bindings() -> list[Binding]:
    """`1`, `2`, `3` … pick the methods in the registry's order (binding ids `picker.1` …)."""
    return [
        Binding(str(n), f"pick({n - 1})", method.label, show=False, id=f"picker.{n}")
        for n, method in enumerate(Method, start=1)
    ]


class MethodPickerModal(ModalScreen[Method | None]):
    BINDINGS = [Binding("escape,ctrl+g", "cancel", "Cancel", id="picker.cancel"), *number_bindings()]
    METHODS = tuple(Method)

    def __init__(self, oauth: OAuthAvailability) -> None:
        super().__init__()
        self.oauth = oauth
        self._refused: Method | None = None

    def compose(self) -> ComposeResult:
        options = []
        for n, method in enumerate(self.METHODS, start=1):
            label = Text.assemble((f"{n}  ", "bold"), (f"{method.label:<14}", "bold"), method.spec.summary)
            if self._needs_oauth_app(method):
                label = Text.assemble(
                    (f"{n}  ", "bold"),
                    (f"{method.label:<14}", "bold dim"),
                    ("⊘ unavailable: no OAuth app configured", "dim"),
                )
            elif not self._offered(method):
                label = Text.assemble(
                    (f"{n}  ", "bold"), (f"{method.label:<14}", "bold dim"), ("⊘ not offered by this instance", "dim")
                )
            options.append(Option(label, id=method.value))
        with Vertical(classes="dialog picker"):
            yield Static("Add Connection · Azure DevOps", classes="dialog-title")
            yield Static("How should Hanzo KMS connect to Azure DevOps?", classes="dialog-body")
            yield OptionList(*options, id="methods")
            yield Static("", id="prereq", classes="prereq")
            hint = f"↑↓ choose · Enter or 1–{len(self.METHODS)} selects · {{picker.cancel}} cancels"
            yield Static(with_keys(self, hint), classes="dialog-hint")

    def on_mount(self) -> None:
        methods = self.query_one("#methods", OptionList)
        methods.highlighted = next((n for n, m in enumerate(self.METHODS) if not self._needs_oauth_app(m)), 0)
        methods.focus()

    @on(OptionList.OptionHighlighted, "#methods")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        method = Method(event.option.id)
        # The highlight message can arrive after a digit's refusal: keep the refusal showing.
        self._describe(method, refused=method is self._refused)

    def _offered(self, method: Method) -> bool:
        return self.oauth.methods is None or method.value in self.oauth.methods

    def _needs_oauth_app(self, method: Method) -> bool:
        """It signs in through the source's OAuth app, and the source has none configured."""
        return method.spec.needs_oauth_app and not self.oauth.available

    def _describe(self, method: Method, *, refused: bool = False) -> None:
        prereq = self.query_one("#prereq", Static)
        if not self._offered(method):
            lead = "✗ " if refused else "⊘ "
            prereq.update(
                Text(
                    f"{lead}This instance does not offer the {method.label} method (its "
                    "/app-connections/options lists only: " + ", ".join(self.oauth.methods or []) + ")."
                )
            )
        elif self._needs_oauth_app(method):
            lead = f"✗ {method.label} cannot be chosen yet. " if refused else "⊘ Unavailable. "
            prereq.update(Text(f"{lead}{self.oauth.reason} {self.oauth.fix}"))
        else:
            prereq.update(Text(method.spec.prerequisites(self.oauth)))
        prereq.set_class(refused, "-refused")

    @on(OptionList.OptionSelected, "#methods")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(Method(event.option.id))

    def action_pick(self, index: int) -> None:
        self.query_one("#methods", OptionList).highlighted = index
        self._choose(self.METHODS[index])

    def _choose(self, method: Method) -> None:
        if not self._offered(method) or self._needs_oauth_app(method):
            self.app.bell()
            self._refused = method
            self._describe(method, refused=True)
            return
        self.dismiss(method)

    def action_cancel(self) -> None:
        self.dismiss(None)
