"""The live checklist: each step pending → running (spinner) → ✓ / ✗ / ! with result, explanation, time.

Glyph and word carry the meaning; colour only helps. The spinner timer runs only while a step is
running, so an idle checklist costs nothing (and nothing repaints over SSH).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

from kms_connect.core.models import CheckResult, CheckStep
from kms_connect.core.status import Status, StepState

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_STYLES = {
    StepState.PENDING: "dim",
    StepState.RUNNING: "bold cyan",
    StepState.OK: "bold green",
    StepState.FAILED: "bold red",
    StepState.WARNING: "bold yellow",
    StepState.SKIPPED: "dim",
    StepState.CANCELLED: "yellow",
}
TITLE_WIDTH = 25  # the longest title, "Service Connections read", and a space


def step_lines(
    steps: Iterable[CheckStep],
    *,
    frame: int = 0,
    explain: bool = True,
    hints: Callable[[str], str] | None = None,
) -> Table:
    """The checklist as a grid (also used by the details modal for a stored result).

    Two columns, the glyph and the rest, so a long result or explanation wraps under the step's
    title rather than under the glyph. `hints` adds keys to the explanations' advice (a form, where
    the credentials are being replaced already, shows it without).
    """
    grid = Table.grid(padding=0)
    grid.add_column(width=2, no_wrap=True)
    grid.add_column(ratio=1)
    for step in steps:
        glyph = SPINNER[frame % len(SPINNER)] if step.state is StepState.RUNNING else step.state.glyph
        body = Text()
        body.append(f"{step.title:<{TITLE_WIDTH}}", style="bold" if step.state is StepState.FAILED else "")
        result = step.result or ("waiting" if step.state is StepState.PENDING else "")
        body.append(result, style="dim" if step.state in (StepState.PENDING, StepState.SKIPPED) else "")
        if step.duration_ms is not None and step.state is not StepState.SKIPPED:
            body.append(f"  {_duration(step.duration_ms)}", style="dim")
        grid.add_row(Text(glyph, style=_STYLES[step.state]), body)
        if explain and step.explanation and step.state in (StepState.FAILED, StepState.WARNING, StepState.OK):
            explanation = hints(step.explanation) if hints is not None else step.explanation
            grid.add_row("", Text(explanation, style="" if step.state is not StepState.OK else "dim"))
    return grid


def _duration(ms: int) -> str:
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


class Checklist(Static):
    """Shows one check, live. Feed it steps with `update_step`, the end with `finish`."""

    DEFAULT_CSS = """
    Checklist { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.steps: dict[str, CheckStep] = {}
        self.heading = ""
        self.result: CheckResult | None = None
        self._frame = 0
        self._timer: Timer | None = None

    def reset(self, heading: str = "… Checking") -> None:
        self.steps, self.heading, self.result = {}, heading, None
        self._redraw()

    def show_steps(self, steps: Iterable[CheckStep], heading: str | None = None) -> None:
        for step in steps:
            self.steps[step.key] = step
        if heading is not None:
            self.heading = heading
        self._redraw()

    def finish(self, result: CheckResult) -> None:
        self.result = result
        if result.steps:
            self.steps = {s.key: s for s in result.steps}
        glyph_word = result.status.label
        extra = f" · {_duration(result.duration_ms)}" if result.duration_ms is not None else ""
        self.heading = f"{glyph_word}{extra} · {result.summary}" if result.summary else glyph_word + extra
        self._redraw()

    def plain_text(self, width: int = 200) -> str:
        """What the checklist shows, as plain text (tests, and copying a result)."""

        console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
        parts: list[RenderableType] = [Text(self.heading)] if self.heading else []
        console.print(Group(*parts, step_lines(self.steps.values())))
        return console.export_text()

    def rows(self, width: int) -> int:
        """Terminal rows the checklist takes at `width` columns (the form sizes its scroll by it)."""
        console = Console(width=width, file=io.StringIO(), color_system=None)
        return len(console.render_lines(self._renderable(), console.options.update_width(width), pad=False))

    @property
    def running(self) -> bool:
        return any(s.state is StepState.RUNNING for s in self.steps.values())

    def _renderable(self) -> Group:
        parts: list[RenderableType] = []
        if self.heading:
            style = "bold" if self.result is None or self.result.status is not Status.FAILED else "bold red"
            parts.append(Text(self.heading, style=style))
        parts.append(step_lines(self.steps.values(), frame=self._frame))
        return Group(*parts)

    def _redraw(self) -> None:
        self.update(self._renderable())
        if self.running and self._timer is None:
            self._timer = self.set_interval(0.1, self._spin)
        elif not self.running and self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _spin(self) -> None:
        self._frame += 1
        self._redraw()
