"""The garbage collector at start-up: collect nothing while the session's long-lived objects are
built, then freeze them, so later full collections never rescan them.

A big store is ~100,000 Python objects. With the collector on, building them (and Textual's own
start-up) sets off several full collections that each rescan all of them (≈80 ms apiece at 10,000
projects), and every later full collection rescans them again, stalling a key press now and then.
This is the pattern Python's `gc.freeze` documentation gives: disable early, freeze once the
long-lived state is built, enable. The cost: cyclic garbage made during start-up is never freed (a
few hundred kilobytes, once).
"""

from __future__ import annotations

import gc

_paused = False


def pause_for_startup() -> None:
    """Called once, before the app is built (the TUI only: `list`/`check` exit soon anyway)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def startup_done() -> None:
    """The first listing is shown (or failed): freeze what lives now and collect again from here.
    Safe to call any number of times; does nothing unless `pause_for_startup` paused the collector."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
