"""The only place kms-connect reaches into Textual's private API, each time for a reason said here.

Written for Textual WRITTEN_FOR (pinned exactly in pyproject.toml). tests/test_textual_internals.py
fails on any other version, and when one of these names is gone, so an upgrade is a decision:
check each use below against the new release, then update WRITTEN_FOR.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO, cast

from rich.text import Text
from textual import _time as textual_time
from textual import keys as textual_keys
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.driver import Driver
from textual.notifications import Notification
from textual.widgets import Footer

WRITTEN_FOR = "8.2.8"

# Every private name used below, by the class that has it (the test checks they all exist).
PRIVATE_NAMES: dict[type, tuple[str, ...]] = {
    App: (
        "_fatal_error",
        "_exception",
        "_exit_renderables",
        "_close_messages_no_wait",
        "_keymap",
        "_unnotify",
        "_handle_exception",
        "_exit",
    ),
    DOMNode: ("_bindings", "_merged_bindings"),
    Footer: ("_bindings_ready",),
}
if sys.platform != "win32":
    from textual.drivers.linux_driver import LinuxDriver

    PRIVATE_NAMES[LinuxDriver] = ("_file",)
# Private functions of Textual modules, by module (checked the same way).
PRIVATE_FUNCTIONS = {textual_keys: ("_normalize_key_list",), textual_time: ("get_time",)}


class RedactedCrashes(App[None]):
    """An App whose crash report prints no local variables.

    Textual's own report (App._fatal_error) is a traceback with locals, which could hold secrets,
    and Textual has no public hook for an unhandled exception. `crash_report(error)` writes the
    report and says where it is. A query that finds nothing in a widget torn down on the way out
    is no crash (_handle_exception).
    """

    def crash_report(self, error: BaseException | None) -> Path | str:
        raise NotImplementedError

    def _handle_exception(self, error: Exception) -> None:
        if self._exit and isinstance(error, NoMatches):
            # Torn down as it mounts (SIGHUP and SIGTERM come at any moment): Textual's Header
            # then looks for a child already removed (it catches NoScreen, not NoMatches). Not a
            # crash, and not to turn exit status 129 or 143 into 1.
            return
        super()._handle_exception(error)

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


class _TerminalOutput:
    """The terminal as Textual's writer thread writes to it, for a terminal that can go away.

    Once the terminal has hung up (SSH dropped, tmux window closed) every write fails with EIO.
    Textual's writer thread would die on the first one, and the app would then block on its full
    queue on the way out. Here the first failure points this output at /dev/null instead (Python
    flushes stderr once more at exit, and a failed flush there turns any exit status into 120)
    and calls `gone`."""

    def __init__(self, file: TextIO, gone: Callable[[], None]) -> None:
        self.file, self.gone = file, gone
        self.lost = False

    def write(self, text: str) -> int:
        if not self.lost:
            try:
                self.file.write(text)
            except OSError:
                self._lose()
        return len(text)

    def flush(self) -> None:
        if not self.lost:
            try:
                self.file.flush()
            except OSError:
                self._lose()

    def fileno(self) -> int:
        return self.file.fileno()

    def isatty(self) -> bool:
        return not self.lost and self.file.isatty()

    def _lose(self) -> None:
        self.lost = True
        with contextlib.suppress(OSError, ValueError):
            terminal = os.fstat(self.file.fileno())
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                for fd in (2, 1):  # stdout too, when it is the same terminal
                    with contextlib.suppress(OSError):
                        if os.path.samestat(os.fstat(fd), terminal):
                            os.dup2(null, fd)
            finally:
                os.close(null)
            self.file.flush()  # what the terminal refused, into /dev/null now
        self.gone()


def hangup_safe_driver(default: type[Driver]) -> type[Driver]:
    """`default` (App.get_driver_class), or Textual's Linux driver made safe for a terminal that goes away."""
    return HangupSafeDriver if sys.platform != "win32" and default is LinuxDriver else default


if sys.platform != "win32":

    class HangupSafeDriver(LinuxDriver):
        """Textual's Linux driver, made safe for a terminal that goes away under it.

        - Writes to a hung-up terminal go nowhere (_TerminalOutput) instead of ending Textual's
          writer thread; the app's way out then cannot hang on them.
        - A write the terminal refuses while in application mode means it hung up without a SIGHUP
          reaching this process (not its controlling terminal): the driver raises one, so the app
          leaves the one way it leaves on a hangup (ui/exit_signals.py).
        - A SIGCONT with no suspend before it is not a resume: the kernel sends one with every
          hangup (to a session leader), and Textual would start application mode a second time on it (a second pair of
          input and output threads, on a dead terminal).
        """

        def __init__(self, app: App[Any], **kwargs: Any) -> None:
            super().__init__(app, **kwargs)
            self.in_application_mode = self.suspended = False
            if self._file is not None:  # sys.__stderr__, which the writer thread writes, flushes, asks fileno of
                self._file = cast(Any, _TerminalOutput(self._file, self._hung_up))

        def _hung_up(self) -> None:
            if self.in_application_mode:  # not once the app is on its way out: no handler may be left
                os.kill(os.getpid(), signal.SIGHUP)

        def start_application_mode(self) -> None:
            self.in_application_mode = True
            super().start_application_mode()  # type: ignore[no-untyped-call]  # Textual's lacks "-> None"

        def stop_application_mode(self) -> None:
            self.in_application_mode = False
            super().stop_application_mode()

        def suspend_application_mode(self) -> None:
            self.suspended = True
            super().suspend_application_mode()

        def resume_application_mode(self) -> None:
            if self.suspended:
                self.suspended = False
                super().resume_application_mode()
