"""A Footer that redraws its keys only when what it shows changes.

Textual's Footer removes and re-mounts every key (a few milliseconds each) on each bindings
refresh, and one focus change refreshes twice. At start-up that was three or four rebuilds, and
at 10,000 projects they landed between the rows being ready and the frame showing them. Here the
refreshes of one burst make one check, and the keys are rebuilt only when a key, its label or
its dimmed state differs from what is on screen.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer

from kms_connect.ui.textual_internals import mark_footer_ready

Shown = tuple[tuple[str, str, str, bool, str], ...]


class QuietFooter(Footer):
    _shown: Shown | None = None
    _due = False

    def bindings_changed(self, screen: Screen[Any]) -> None:
        mark_footer_ready(self)
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if not self._due:
            self._due = True
            self.call_after_refresh(self._refresh_keys)

    async def _refresh_keys(self) -> None:
        self._due = False
        if not self.is_attached:
            return
        shown = self.shown()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()

    def shown(self) -> Shown:
        """What compose() would draw: each key, its action and label, enabled or dimmed."""
        return tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for _, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )
