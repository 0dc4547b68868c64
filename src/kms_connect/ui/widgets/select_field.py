"""A labelled choice among a list filled later (a project's environments, its connections), with
a message line under it as FormField has: errors where the operator is looking."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Select, Static


class SelectField(Vertical):
    def __init__(self, key: str, label: str, *, disabled: bool = False) -> None:
        super().__init__(id=f"field-{key}", classes="form-field")
        self.key, self.label, self._disabled = key, label, disabled
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield Select[str]([], prompt="… loading", id=f"select-{self.key}", compact=True, disabled=self._disabled)
        yield Static("", classes="field-message", markup=False)

    def on_mount(self) -> None:
        self.query_one(".field-message", Static).display = False

    @property
    def select(self) -> Select[str]:
        return self.query_one(Select)

    @property
    def value(self) -> str:
        value = self.select.value
        return value if isinstance(value, str) else ""

    def fill(self, options: list[tuple[str, str]], value: str = "", *, empty: str = "") -> None:
        """`options`: (shown, value). `value` is chosen when offered; `empty` is said when none is."""
        select = self.select
        select.set_options(options)
        select.prompt = "Choose…" if options else "none"
        if value and any(v == value for _, v in options):
            select.value = value
        elif len(options) == 1:
            select.value = options[0][1]
        self.show(None if options else empty)

    def show(self, error: str | None) -> None:
        self.error = error
        message = self.query_one(".field-message", Static)
        message.update(f"✗ {error}" if error else "")
        message.display = bool(error)
        self.set_class(bool(error), "-invalid")

    def on_descendant_focus(self) -> None:
        self.add_class("-focused")

    def on_descendant_blur(self) -> None:
        self.remove_class("-focused")
