"""The garbage collector after start-up: freeze the session's long-lived objects once the first
listing is shown, so that later full collections never rescan them (what that saves a key press:
core/store_file.py)."""

from __future__ import annotations

import gc

_frozen = False


def startup_done() -> None:
    """The first listing is shown: freeze what lives now. Once only: the collector never frees a
    cycle among frozen objects, so freezing is for what lives as long as the session."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()
