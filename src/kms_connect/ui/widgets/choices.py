"""Radio buttons and checkboxes whose state is in their glyphs, not only in their colour.

Textual draws both as ▐●▌ / ▐X▌ and tells on from off by colour alone: under NO_COLOR or on a
monochrome terminal every option looks chosen. These are Textual's own widgets (keys, messages,
RadioSet grouping unchanged) drawn as `(•)` / `( )` and `[x]` / `[ ]`; styles/choices.tcss
colours them, as a second cue only.
"""

from __future__ import annotations

from textual.widgets import Checkbox, RadioButton


class TextRadioButton(RadioButton):
    """`(•) Device code` when chosen, `( ) Device code` when not."""

    # The brackets go in BUTTON_INNER: Textual paints the sides in the button's background colour
    # (half blocks), which would hide them.
    BUTTON_LEFT = ""
    BUTTON_RIGHT = ""
    ON = "(•)"
    OFF = "( )"
    BUTTON_INNER = OFF  # the watcher below runs only when the value changes, not for an initial False

    def watch_value(self) -> None:
        self.BUTTON_INNER = self.ON if self.value else self.OFF
        super().watch_value()


class TextCheckbox(Checkbox):
    """`[x] Allow …` when ticked, `[ ] Allow …` when not."""

    BUTTON_LEFT = ""
    BUTTON_RIGHT = ""
    ON = "[x]"
    OFF = "[ ]"
    BUTTON_INNER = OFF

    def watch_value(self) -> None:
        self.BUTTON_INNER = self.ON if self.value else self.OFF
        super().watch_value()
