"""One labelled form field: label, input (with a show/hide toggle when masked) and a message line."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    placeholder: str = ""
    secret: bool = False
    optional: bool = False


class FormField(Vertical):
    """Errors and hints appear right under the input, where the operator is looking."""

    def __init__(self, spec: FieldSpec, value: str = "", *, disabled: bool = False) -> None:
        super().__init__(id=f"field-{spec.key}", classes="form-field")
        self.spec = spec
        self._initial = value
        self._disabled = disabled
        self.error: str | None = None
        self.last_value = value

    def compose(self) -> ComposeResult:
        label = self.spec.label + (" (optional)" if self.spec.optional else "")
        yield Label(label, classes="field-label")
        field = Input(
            self._initial,
            placeholder=self.spec.placeholder,
            password=self.spec.secret,
            id=f"input-{self.spec.key}",
            disabled=self._disabled,
            compact=True,  # one line per input: a whole form fits 80x24
        )
        if self.spec.secret:  # a row only where a toggle sits beside the input: each widget costs the first frame
            with Horizontal(classes="field-row"):
                yield field
                yield Button("Show", id=f"toggle-{self.spec.key}", classes="toggle", compact=True)
        else:
            yield field
        yield Static("", classes="field-message", markup=False)

    @staticmethod
    def of(widget: object) -> FormField | None:
        """The field a widget (its input or toggle) belongs to, if any."""
        for node in getattr(widget, "ancestors", ()):
            if isinstance(node, FormField):
                return node
        return None

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def changed(self) -> bool:
        """Typed in since the field was shown: what Esc must not throw away unasked."""
        return self.value != self._initial

    @property
    def filled(self) -> bool:
        """Typed in, or optional."""
        return bool(self.value.strip()) or self.spec.optional

    @property
    def value(self) -> str:
        return self.input.value

    @value.setter
    def value(self, new: str) -> None:
        self.input.value = new

    def show(self, error: str | None = None, hint: str | None = None) -> None:
        """Show an error (blocking, marked ✗) or a hint (i); None clears."""
        self.error = error
        message = self.query_one(".field-message", Static)
        if error:
            message.update(f"✗ {error}")
        elif hint:
            message.update(f"ℹ {hint}")
        else:
            message.update("")
        self.set_class(bool(error), "-invalid")
        self.set_class(bool(hint) and not error, "-hint")
        message.display = bool(error or hint)

    def on_mount(self) -> None:
        self.query_one(".field-message", Static).display = False

    # A class rather than :focus-within, which did not always restyle when focus moved on.
    def on_descendant_focus(self) -> None:
        self.add_class("-focused")

    def on_descendant_blur(self) -> None:
        self.remove_class("-focused")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == f"toggle-{self.spec.key}":
            event.stop()
            self.toggle_mask()

    def toggle_mask(self) -> None:
        field = self.input
        field.password = not field.password
        self.query_one(".toggle", Button).label = "Show" if field.password else "Hide"
