"""How a form shows its live check: the checklist while it runs, and a failure readable at 80x24.

After a failed check the field it concerns, the failing step with its explanation, and what to do
next are on screen together, with no key pressed: the fields shrink to the concerned field (scrolled
into view) and the checklist takes the rest. Once the operator moves to another field, the fields
get their room back and the checklist keeps a few rows (it scrolls: Tab reaches it).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.containers import VerticalScroll
from textual.events import DescendantFocus
from textual.screen import ModalScreen
from textual.widgets import Button

from kms_connect.core.check_target import cancelled_result
from kms_connect.core.checks import BLOCKING
from kms_connect.core.models import CheckResult
from kms_connect.core.status import Status, StepState
from kms_connect.ui.errors import describe
from kms_connect.ui.widgets.checklist import Checklist
from kms_connect.ui.widgets.form_field import FormField

if TYPE_CHECKING:
    from pydantic import SecretStr
    from textual.worker import Worker

    from kms_connect.core.check_target import CheckTarget
    from kms_connect.core.models import CheckStep, Connection, ConnectionDraft  # noqa: F401 - Connection: in quotes
    from kms_connect.ui.app import KmsConnectApp

CHECKING = "… Checking with Azure · Esc cancels"
# Rows the form takes besides its fields and checklist: borders, title, status (2 lines), buttons.
FRAME_ROWS = 10
FIELD_ROWS = 3  # one field: label, input, message
CHECK_ROWS_WHILE_EDITING = 6  # the checklist once the operator edits another field (it scrolls)


class FieldsScroll(VerticalScroll):
    """The form's fields. Shown again after a failed check, it scrolls to the field the failure
    concerns once it has its new size: a scroll asked for earlier may be measured on the old layout
    (the fields were hidden during the check), and would leave the field out of view."""

    def on_resize(self) -> None:
        key = getattr(self.screen, "failure_field", None)
        if key:
            for field in self.query(FormField):
                if field.spec.key == key:
                    self.scroll_to_widget(field, animate=False)


class CheckView(ModalScreen["Connection | None"]):
    """The check part of a connection form (forms/base.py)."""

    INTRO: ClassVar[str] = ""
    app: KmsConnectApp
    draft: ConnectionDraft | None
    failed_check: CheckResult | None
    saving: bool
    _check_worker: Worker[None] | None = None
    failure_field: str | None = None  # the field the failed step concerns, while its failure is shown whole

    def status(self, text: str) -> None:
        raise NotImplementedError

    def field(self, key: str) -> FormField:
        raise NotImplementedError

    def save_checked_draft(self, draft: ConnectionDraft, result: CheckResult) -> None:
        raise NotImplementedError

    # --- layout -------------------------------------------------------------------------------
    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Share the rows between the fields and the checklist (see the module docstring)."""
        height = self.size.height - self._intro_rows()
        fields, checks = self.query_one("#fields"), self.query_one("#check-scroll")
        if not checks.display:
            fields.styles.max_height = max(FIELD_ROWS, height - FRAME_ROWS)
            return
        width = checks.size.width or checks.parent.size.width or 72  # type: ignore[union-attr]
        needed = self.query_one(Checklist).rows(max(20, width - 1))
        room = max(4, height - FRAME_ROWS - (FIELD_ROWS if fields.display else 0))
        if fields.display and self.failure_field is None and self.failed_check is not None:
            room = min(room, CHECK_ROWS_WHILE_EDITING)  # editing again: the fields get the room
        check_rows = min(needed, room)
        checks.styles.max_height = check_rows
        fields.styles.max_height = max(FIELD_ROWS, height - FRAME_ROWS - check_rows)

    def _intro_rows(self) -> int:
        if not self.INTRO or not self.query_one("#intro").display:
            return 0
        return self.query_one("#intro").outer_size.height or 3  # before the first layout: 2 lines and a gap

    # --- the live check -----------------------------------------------------------------------
    def start_check_view(self) -> None:
        """Fields locked, checklist shown: what the form looks like while its check runs."""
        self.failed_check, self.failure_field = None, None
        self.query_one("#save-anyway").display = False
        self.query_one("#prove-write").display = False
        self.query_one("#form-keys").display = True
        self.query_one("#submit", Button).disabled = True
        self.query_one("#fields").disabled = True  # what is checked is what gets saved
        self.query_one("#fields").display = False  # room for the checklist; back if the check fails
        if self.INTRO:
            self.query_one("#intro").display = False
        self.query_one("#check-scroll").display = True
        self.query_one(Checklist).reset(CHECKING)
        self.status("")

    def offer_proof(self, result: CheckResult) -> bool:
        """After a passing check: True when the form stays to offer the write proof (write_offer.py)."""
        return False

    def proof_refused(self, result: CheckResult) -> bool:
        """After a write proof: True when it was refused and the form stays (write_offer.py)."""
        return False

    def run_check(self, target: CheckTarget) -> None:
        """The form's own check, as a worker of the form: it shows every step as it happens, and
        ends with the form (nobody could see it any more)."""
        self._check_worker = self._check(target)

    def check_running(self) -> bool:
        return self._check_worker is not None and not self._check_worker.is_finished

    def cancel_check(self) -> bool:
        """Cancel the running check; False when none runs."""
        if not self.check_running():
            return False
        assert self._check_worker is not None
        self._check_worker.cancel()
        return True

    @work(exclusive=True, group="form-check", exit_on_error=False)
    async def _check(self, target: CheckTarget) -> None:
        checklist = self.query_one(Checklist)
        steps: dict[str, CheckStep] = {}

        def shown(step: CheckStep) -> None:
            steps[step.key] = step
            checklist.show_steps(steps.values(), CHECKING)
            self._fit()

        cache = None
        try:
            run = await self.app.get_checker().run(target, shown)
            result, cache = run.result, run.token_cache
        except asyncio.CancelledError:
            if self.is_mounted:  # Esc, not the form closing
                self._check_done(_settled(cancelled_result(list(steps.values()))), None)
            raise
        except Exception as exc:  # never a traceback on screen: the check failed, say why
            result = CheckResult(status=Status.FAILED, summary=f"The check failed: {describe(exc)}")
            result = result.model_copy(update={"steps": list(steps.values())})
        self._check_done(_settled(result), cache)

    def _check_done(self, result: CheckResult, token_cache: SecretStr | None) -> None:
        assert self.draft is not None
        self.query_one(Checklist).finish(result)
        self.query_one("#fields").disabled = False
        self.query_one("#fields").display = True
        self.query_one("#submit", Button).disabled = False
        if token_cache is not None and "token_cache" in self.draft.secrets:
            self.draft.secrets["token_cache"] = token_cache  # keep the refreshed sign-in
        if result.status not in BLOCKING:
            if not (self.proof_refused(result) or self.offer_proof(result)):  # write_offer.py
                self.save_checked_draft(self.draft, result)
            self._fit()
            return
        self.failed_check = result
        self.query_one("#save-anyway").display = True
        self.query_one("#form-keys").display = False  # the status line names the keys now
        step = result.failing_step()
        if result.status is Status.CANCELLED:
            self.status("⊘ Check cancelled; nothing was saved. ^s checks again, ^o saves without a check, Esc closes.")
        else:
            where = f"{step.title}: {step.result}" if step else result.summary
            self.status(f"✗ Not saved · {where}. Fix it and press ^s, or ^o to save anyway as Not checked.")
        if step is not None and step.state is StepState.FAILED and step.field:
            self.highlight(step.field, f"{step.result}. The check below says why.")
        self._fit()

    def highlight(self, key: str, message: str) -> None:
        """Point at the field a failed step concerns, keeping what was typed; the failure is shown
        whole, next to it, until the operator moves to another field."""
        try:
            field = self.field(key)
        except Exception:
            return
        self.failure_field = key
        field.show(message)
        field.input.focus(scroll_visible=False)
        # The fields were hidden during the check: scroll once they are laid out again.
        self.call_after_refresh(field.scroll_visible, animate=False)

    @on(DescendantFocus)
    def _focus_moved(self, event: DescendantFocus) -> None:
        holder = FormField.of(event.widget)
        if self.failure_field is not None and holder is not None and holder.spec.key != self.failure_field:
            self.failure_field = None  # editing elsewhere: the fields get their room back
            self._fit()


def _settled(result: CheckResult) -> CheckResult:
    """No step left pending or running once the check has ended (cancelled, or a surprise): it
    would spin forever."""
    end = StepState.CANCELLED if result.status is Status.CANCELLED else StepState.SKIPPED
    steps = [s.model_copy() for s in result.steps]
    for step in steps:
        if not step.state.done:
            step.state, step.result = end, "Cancelled" if end is StepState.CANCELLED else "Not run"
    return result.model_copy(update={"steps": steps})
