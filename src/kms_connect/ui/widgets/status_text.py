"""Status as glyph + word (never colour alone), and short human times for tables."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from rich.text import Text

from kms_connect.core.status import Status

_STYLES = {
    Status.VALID: "bold green",
    Status.WARNING: "bold yellow",
    Status.FAILED: "bold red",
    Status.CHECKING: "bold cyan",
    Status.NOT_CHECKED: "dim",
    Status.NOT_CHECKABLE: "dim",
    Status.CANCELLED: "yellow",
}


@functools.cache
def status_text(status: Status) -> Text:
    """Shared, one per status (building a Text costs ~25 µs, 5,000 rows add up): copy to change it."""
    return Text(status.label, style=_STYLES[status])


ELAPSED_FROM = 2  # seconds: a healthy check is over well before, so its row never shows a count


def live_status_text(status: Status, running_since: float | None, now: float) -> Text:
    """A row's status; a check running for ELAPSED_FROM s or more says for how long ("… Checking
    12 s"), so a slow one shows before its deadline ([status] check_timeout) ends it."""
    if status is not Status.CHECKING or running_since is None or now - running_since < ELAPSED_FROM:
        return status_text(status)
    return _checking_for(int(now - running_since))


@functools.lru_cache(maxsize=1024)
def _checking_for(seconds: int) -> Text:
    # 15 cells at most, the Status column's width: "… Checking 99 s", "… Checking 1m40", "… Checking 10m".
    if seconds < 100:
        took = f"{seconds} s"
    elif seconds < 600:
        took = f"{seconds // 60}m{seconds % 60:02d}"
    else:
        took = f"{seconds // 60}m"
    return Text(f"{Status.CHECKING.label} {took}", style=_STYLES[Status.CHECKING])


def ago(when: datetime | None, now: datetime | None = None, *, short: bool = False) -> str:
    """How long ago, e.g. "5 min ago"; `short` fits 7 cells ("5m ago", "Dec 01")."""
    if when is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = int((now - when).total_seconds())
    if seconds < 60:
        return "now" if short else "just now"
    for limit, size, unit in ((3600, 60, "min"), (86400, 3600, "h"), (7 * 86400, 86400, "d")):
        if seconds < limit:
            amount = seconds // size
            return f"{amount}{unit[0]} ago" if short else f"{amount} {unit} ago"
    return when.astimezone().strftime("%b %d" if short else "%Y-%m-%d")
