"""Esc on a dialog with typed input asks first: Discard, or Keep editing (Esc again keeps editing)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual.screen import Screen

from kms_connect.ui.modals.confirm import ConfirmModal, if_confirmed


def ask_to_discard(screen: Screen[Any], typed: Sequence[str], close: Callable[[], object]) -> None:
    """`close` at once when nothing was typed (`typed`: the labels of the fields typed in); else ask."""
    if not typed:
        close()
        return
    fields = ", ".join(typed)
    screen.app.push_screen(
        ConfirmModal(
            "Discard what you typed?",
            f"{fields}: lost if you discard. Keep editing to go back to it.",
            "Discard",
            cancel_label="Keep editing",
        ),
        if_confirmed(close),
    )
