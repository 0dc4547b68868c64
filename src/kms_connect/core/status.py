"""The one status set that every screen, counter and JSON output reuses.

Kept free of pydantic so the UI can import it before the heavy modules load.
"""

from __future__ import annotations

from enum import Enum

from kms_connect.core.methods import Method

__all__ = ["APP_LABEL", "Method", "Status", "StepState"]  # Method lives with its spec (core/methods)


class Status(str, Enum):
    """A connection's status: always shown as a glyph plus a word, never colour alone."""

    VALID = "valid"
    WARNING = "warning"
    FAILED = "failed"
    CHECKING = "checking"
    NOT_CHECKED = "not-checked"
    NOT_CHECKABLE = "not-checkable"
    CANCELLED = "cancelled"

    @property
    def glyph(self) -> str:
        return _GLYPHS[self]

    @property
    def word(self) -> str:
        return _WORDS[self]

    @property
    def label(self) -> str:
        """Glyph and word, e.g. ``✓ Valid``."""
        return f"{self.glyph} {self.word}"


_GLYPHS = {
    Status.VALID: "✓",
    Status.WARNING: "!",
    Status.FAILED: "✗",
    Status.CHECKING: "…",
    Status.NOT_CHECKED: "–",
    Status.NOT_CHECKABLE: "?",
    Status.CANCELLED: "⊘",
}

_WORDS = {
    Status.VALID: "Valid",
    Status.WARNING: "Warning",
    Status.FAILED: "Failed",
    Status.CHECKING: "Checking",
    Status.NOT_CHECKED: "Not checked",
    Status.NOT_CHECKABLE: "Not checkable",
    Status.CANCELLED: "Cancelled",
}


APP_LABEL = "Azure DevOps"


class StepState(str, Enum):
    """One step of a live check, as the checklist shows it (glyph and word, never colour alone)."""

    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def glyph(self) -> str:
        return _STEP_GLYPHS[self]

    @property
    def done(self) -> bool:
        return self not in (StepState.PENDING, StepState.RUNNING)


_STEP_GLYPHS = {
    StepState.PENDING: "·",
    StepState.RUNNING: "…",
    StepState.OK: "✓",
    StepState.FAILED: "✗",
    StepState.WARNING: "!",
    StepState.SKIPPED: "–",
    StepState.CANCELLED: "⊘",
}
