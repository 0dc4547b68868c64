"""The only place kms-connect reaches into Textual's private API, each time for a reason said here.

Written for Textual WRITTEN_FOR (pinned exactly in pyproject.toml). tests/test_textual_internals.py
fails on any other version, and when one of these names is gone, so an upgrade is a decision:
check each use below against the new release, then update WRITTEN_FOR.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import _time as textual_time
from textual import keys as textual_keys
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.notifications import Notification
from textual.widgets import Footer

WRITTEN_FOR = "8.2.8"

# Every private name used below, by the class that has it (the test checks they all exist).
PRIVATE_NAMES: dict[type, tuple[str, ...]] = {
    App: ("_fatal_error", "_exception", "_exit_renderables", "_close_messages_no_wait", "_keymap", "_unnotify"),
    DOMNode: ("_bindings", "_merged_bindings"),
    Footer: ("_bindings_ready",),
}
# Private functions of Textual modules, by module (checked the same way).
PRIVATE_FUNCTIONS = {textual_keys: ("_normalize_key_list",), textual_time: ("get_time",)}


class RedactedCrashes(App[None]):
    """An App whose crash report prints no local variables.

    Textual's own report (App._fatal_error) is a traceback with locals, which could hold secrets,
    and Textual has no public hook for an unhandled exception. `crash_report(error)` writes the
    report and says where it is.
    """

    def crash_report(self, error: BaseException | None) -> Path | str:
        raise NotImplementedError

    def _fatal_error(self) -> None:
        error = sys.exc_info()[1] or self._exception
        where = self.crash_report(error)
        self.bell()
        self._exit_renderables.append(
            Text(
                f"kms-connect stopped on an unexpected error: {type(error).__name__}.\n"
                f"A report with secrets redacted is in {where}; please attach it to a bug report."
            )
        )
        self._close_messages_no_wait()


def all_bindings(node: DOMNode) -> Iterator[Binding]:
    """Every binding of `node`, focused or not (the public active_bindings has the focus chain's only).

    The help screen lists a table's keys even while an empty state hides the table.
    """
    bindings = node._bindings.copy()
    if node.app._keymap:  # as Screen._binding_chain does: the [keys] table applied
        bindings.apply_keymap(node.app._keymap)
    for key_bindings in bindings.key_to_bindings.values():
        yield from key_bindings


def class_bindings(cls: type[DOMNode]) -> Iterator[Binding]:
    """Every binding a node of class `cls` has, inherited ones included, before any keymap (checking
    the [keys] table needs them before any such node exists: ui/keymap.py)."""
    merged = cls._merged_bindings
    for key_bindings in merged.key_to_bindings.values() if merged is not None else ():
        yield from key_bindings


def normalize_keys(keys: str) -> str:
    """ "?" -> "question_mark", as Textual names keys in bindings and key events."""
    return textual_keys._normalize_key_list(keys)


def mark_footer_ready(footer: Footer) -> None:
    """What Footer.bindings_changed does first, for a footer that overrides it: until then, the
    footer's compose() draws no keys."""
    footer._bindings_ready = True


def event_clock() -> float:
    """Now, on the clock Textual stamps events with (Message.time): monotonic, perf_counter on Windows."""
    return textual_time.get_time()


def withdraw_notification(app: App[Any], notification: Notification) -> None:
    """Take one notice away before its timeout (a progress notice, once its work is done).

    Textual's public App.clear_notifications would take every other notice with it; a toast's own
    expiry calls this one. A notice already gone is fine."""
    app._unnotify(notification)
