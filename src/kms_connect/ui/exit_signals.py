"""SIGHUP and SIGTERM end the app the way Ctrl+Q does, with exit status 128 + the signal's number.

A dropped SSH connection or a closed tmux window sends SIGHUP; `kill` and service managers send
SIGTERM. Either way the app leaves through App.exit, its normal way out: Textual's driver gives
the terminal back (alternate screen left, mouse and bracketed paste off, tty attributes
restored), screens unmount, and asyncio.run waits for the threads still working, so an atomic
write (core/files.py) under way finishes rather than being cut off.

Why asyncio's loop.add_signal_handler rather than signal.signal: the handler it installs only
wakes the loop, which then runs ours as an ordinary callback in the app's thread, between two of
Textual's messages. A Python handler from signal.signal runs between any two bytecodes of the main
thread (here, the loop's), in the middle of whatever Textual was doing; App.exit is not meant to be
called from there. It needs a running loop in the main thread: the app installs it on Load (before
the terminal is put in application mode) and takes it away on Unmount, giving back the handler it
found.

Around that window `hold_exit_signals` (KmsConnectApp.run, and the demo around its setup and
teardown) notes a signal and lets the work in hand finish: before Load the app reads its styles,
after Unmount asyncio.run waits for the store's threads. An app started under a hold leaves on
Load with the first signal noted; the demo, noting one while setting up, skips the app. Either
way the process ends with 128 + that signal.

A hangup often comes twice (the shell passes its SIGHUP on, then the kernel sends one as the
session ends): once the app is on its way out, further exit signals are ignored, not obeyed as a
harder kill (kill -9 remains; the next demo removes a workspace left that way). A signal ignored
when the process started (nohup) stays ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from textual.app import App

EXIT_SIGNALS = (signal.SIGHUP, signal.SIGTERM)

Handler = Callable[[int, FrameType | None], Any] | int | None


def exit_status(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 129 for SIGHUP, 143 for SIGTERM."""
    return 128 + signum


def _taken(signum: int) -> bool:
    """Not ignored on entry: under nohup a SIGHUP is meant to go unheard."""
    return signal.getsignal(signum) is not signal.SIG_IGN


class ExitSignals:
    """The app's SIGHUP and SIGTERM: `install` on Load, `uninstall` on Unmount."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.caught: int | None = None  # the first exit signal, once one came
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, Handler] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # an app run in a thread (a benchmark): signals are the main thread's business
        self._loop = asyncio.get_running_loop()
        for signum in EXIT_SIGNALS:
            if _taken(signum):
                self._previous[signum] = signal.getsignal(signum)
                self._loop.add_signal_handler(signum, self.on_signal, signum)
        held = _take_held()  # one came as the app started (App.run's hold, or the demo's around it)
        if held is not None:
            self.on_signal(held)

    def uninstall(self) -> None:
        """Give back the handlers found on Load (App.run's hold)."""
        loop, self._loop = self._loop, None
        for signum, previous in self._previous.items():
            if loop is not None:
                loop.remove_signal_handler(signum)  # sets SIG_DFL: the one found goes back below
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def on_signal(self, signum: int) -> None:
        if self.caught is not None:
            return  # already leaving: a second hangup or TERM changes nothing
        self.caught = signum
        self.app.exit(return_code=exit_status(signum))


class Held:
    """The exit signals noted by `hold_exit_signals`, first first; an app started under the hold
    takes the first one (ExitSignals.install) and leaves with it."""

    def __init__(self, outer: Held | None = None) -> None:
        self.signals: list[int] = []
        self.outer = outer  # the hold this one is inside of (App.run's inside the demo's)

    @property
    def status(self) -> int | None:
        """128 + the first signal noted and not taken by an app; None if there was none."""
        return exit_status(self.signals[0]) if self.signals else None


_holding: Held | None = None  # signal handlers are per process, and so is the hold


def _take_held() -> int | None:
    """The first signal noted by the innermost hold that has one (an outer one may have noted it
    between its check and the inner hold's start)."""
    hold = _holding
    while hold is not None:
        if hold.signals:
            return hold.signals.pop(0)
        hold = hold.outer
    return None


@contextlib.contextmanager
def hold_exit_signals() -> Iterator[Held]:
    """SIGHUP and SIGTERM are noted, not obeyed at once, while the block runs and no app has its
    own handlers in place: cut off mid-way, a write or the demo's workspace would be left behind."""
    global _holding
    held = Held(_holding)
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def note(signum: int, frame: FrameType | None) -> None:
        held.signals.append(signum)  # all a Python handler should do: the code it interrupted goes on

    previous = {signum: signal.signal(signum, note) for signum in EXIT_SIGNALS if _taken(signum)}
    _holding = held
    try:
        yield held
    finally:
        _holding = held.outer
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
