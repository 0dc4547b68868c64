"""A connection form's target projects, and the write proof it offers before saving.

The target projects (the Azure DevOps projects its syncs will write to) are picked with ^l, listed
live with the credential typed. With targets, a check that passes does not save at once: the form
offers the write proof (^b, after a confirmation that says what it will change) or saving as it is
(^s). For a connection on an instance this is the only place the proof can run: its credential is
not kept on this machine. A proof whose writes all pass saves; a refused one stays, saying why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from kms_connect.core.check_target import CheckTarget
from kms_connect.core.models import CheckResult, Connection, ConnectionDraft
from kms_connect.core.write_proof import proof_plan
from kms_connect.ui.modals.confirm import ConfirmModal, if_confirmed
from kms_connect.ui.modals.project_picker import ProjectPickerModal, targets_text

if TYPE_CHECKING:
    from kms_connect.ui.app import KmsConnectApp


class WriteOffer:
    """Mixed into the connection forms (forms/base.py)."""

    app: KmsConnectApp
    draft: ConnectionDraft | None
    existing: Connection | None
    targets: list[str]
    passed: CheckResult | None  # a passing check whose draft waits for ^s or ^b

    def compose_targets(self) -> ComposeResult:
        with Horizontal(classes="targets-row"):
            yield Static(targets_text(self.targets), id="targets", classes="targets", markup=False)
            yield Button("Pick… ^l", id="pick-targets", compact=True)

    def action_targets(self) -> None:
        form: Any = self
        values = form.values()

        async def load() -> list[str]:  # with the credential as typed (a sign-in first, for OAuth)
            draft = form.to_draft(values)
            secrets = dict(draft.secrets)
            if form.draft is not None and "token_cache" in form.draft.secrets:
                secrets["token_cache"] = form.draft.secrets["token_cache"]
            return await self.app.get_checker().projects(CheckTarget.of(draft, secrets))

        org = values.get("org_name") or "the organization"
        self.app.push_screen(ProjectPickerModal(org, self.targets, load), self._picked)

    def _picked(self, targets: list[str] | None) -> None:
        if targets is not None:
            self.targets = targets
            self.passed = None  # what passed was checked without them
            form: Any = self
            form.query_one("#targets", Static).update(targets_text(targets))

    def offer_proof(self, result: CheckResult) -> bool:
        """After a passing check: True when the form offers the proof instead of saving at once."""
        if not self.targets or result.write_proof is not None:
            return False
        self._waiting(
            result,
            f"✓ The check passed. ^b proves write access in {', '.join(self.targets)} first (asks before it "
            "changes anything), ^s saves now.",
        )
        return True

    def _waiting(self, result: CheckResult, said: str) -> None:
        """The form stays after a check: ^s saves `result` as it is, ^b (the button) proves."""
        form: Any = self
        self.passed = result
        form.query_one("#prove-write").display = True
        form.query_one("#submit", Button).label = "Save"
        form.query_one("#form-keys").display = False
        form.status(said)
        form.query_one("#submit", Button).focus()

    def action_prove_write(self) -> None:
        form: Any = self
        if self.draft is None or form.check_running() or form.saving:
            return
        draft = self.draft
        as_connection = Connection(id="draft", project_id="", **draft.model_dump(exclude={"secrets", "description"}))
        if self.passed is not None:
            as_connection = as_connection.model_copy(update={"last_check": self.passed})
        self.app.push_screen(
            ConfirmModal("Prove write access?", proof_plan(as_connection, self.targets, []), "Prove write access"),
            if_confirmed(self._prove),
        )

    def _prove(self) -> None:
        form: Any = self
        assert self.draft is not None
        self.passed = None
        form.query_one("#prove-write").display = False
        form.start_check_view()
        target = CheckTarget.of(self.draft, self.draft.secrets)
        form.run_check(target.model_copy(update={"prove_write": True, "target_projects": list(self.targets)}))

    def proof_refused(self, result: CheckResult) -> bool:
        """After a proof: True when it was refused (the form stays, saying so; ^s saves all the same)."""
        proofs = result.write_proof or []
        if not any(p.refused for p in proofs):
            return False
        self._waiting(
            result, f"! {result.summary}. The checklist says what to change. ^s saves as it is, ^b proves again."
        )
        return True
