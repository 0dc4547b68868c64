"""What every per-method form shares: fields, validation as you type, and check-then-save.

A form keeps everything typed after any error; only a successful save closes it.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, ClassVar

from pydantic import SecretStr
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

import kms_connect.ui.forms
from kms_connect.core.check_target import CheckTarget
from kms_connect.core.checks import save_checked
from kms_connect.core.errors import ConflictError, FieldError, FieldErrors
from kms_connect.core.methods import Method, field_of
from kms_connect.core.models import ConnectionDraft
from kms_connect.core.validation import check_description, clean_secret
from kms_connect.ui.errors import describe
from kms_connect.ui.forms.check_view import CheckView, FieldsScroll
from kms_connect.ui.forms.fields import (  # re-exported: the method forms import them from here
    DESCRIPTION,
    NAME,
    FieldCheck,
    check_name,
    use_name_suggestion,
)
from kms_connect.ui.forms.write_offer import WriteOffer
from kms_connect.ui.modals.discard import ask_to_discard
from kms_connect.ui.widgets.checklist import Checklist
from kms_connect.ui.widgets.form_field import FieldSpec, FormField

if TYPE_CHECKING:
    from kms_connect.core.models import CheckResult, Connection, ConnectionDraft
    from kms_connect.ui.app import KmsConnectApp

__all__ = [
    "DESCRIPTION",
    "NAME",
    "ConnectionForm",
    "FieldCheck",
    "FieldSpec",
    "check_name",
    "use_name_suggestion",
]


class ConnectionForm(WriteOffer, CheckView):
    """Base of the method forms: each names its METHOD, whose spec gives the fields and their rules.
    Dismisses with the saved connection, or None."""

    METHOD: ClassVar[Method]
    INTRO: ClassVar[str] = ""
    BINDINGS = [
        Binding("escape,ctrl+g", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+r", "toggle_mask", "Show/hide secret", show=False, id="form.reveal"),
        Binding("ctrl+s", "submit", "Connect", id="form.submit"),
        Binding("ctrl+o", "save_anyway", "Save anyway (not checked)", show=False, id="form.save_anyway"),
        Binding("ctrl+l", "targets", "Target projects", show=False, id="form.targets"),
        Binding("ctrl+b", "prove_write", "Prove write access", show=False, id="form.prove_write"),
    ]
    app: KmsConnectApp

    def __init__(self, project_id: str, taken_names: set[str], *, existing: Connection | None = None) -> None:
        super().__init__(classes="connection-form")
        self.project_id = project_id
        self.taken = taken_names
        self.existing = existing
        self.submitted = False
        self.saving = False  # a second Enter while saving must not save twice
        self.status_text = ""
        self.draft: ConnectionDraft | None = None  # what the running/last check was about
        self.failed_check: CheckResult | None = None  # set while "Save anyway" is on offer
        self.targets: list[str] = list(existing.target_projects) if existing else []
        self.passed: CheckResult | None = None  # a passing check waiting for ^s or ^b (write_offer.py)

    # --- layout -------------------------------------------------------------------------------
    @property
    def specs(self) -> tuple[FieldSpec, ...]:
        fields = tuple(FieldSpec(f.key, f.label, f.placeholder, secret=f.secret) for f in self.METHOD.spec.fields)
        return fields if self.existing else (NAME, DESCRIPTION, *fields)

    def compose(self) -> ComposeResult:
        if self.existing:
            title = f"Replace credentials · {self.existing.name} · {self.METHOD.label}"
        else:
            title = f"Add Connection · Azure DevOps · {self.METHOD.label}"
        with Vertical(classes="dialog form-dialog"):
            yield Static(title, classes="dialog-title", markup=False)
            if self.INTRO:
                yield Static(self.INTRO, classes="dialog-body", id="intro")
            with FieldsScroll(id="fields"):
                for spec in self.specs:
                    yield FormField(spec, self._initial(spec.key))
                yield from self.compose_targets()
            yield from self.compose_extra()
            with VerticalScroll(id="check-scroll"):
                yield Checklist(id="checklist")
            yield Static("", id="form-status", classes="form-status", markup=False)
            with Horizontal(classes="buttons", id="buttons-row"):
                yield Static(self.KEYS, classes="form-keys", id="form-keys")
                yield Button("Save anyway", id="save-anyway", compact=True)
                yield Button("Prove write access", id="prove-write", compact=True)
                yield Button(self.submit_label(), variant="primary", id="submit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    KEYS = "^s connect · ^r show · esc cancel"
    SUBMIT_LABEL = ""

    def submit_label(self) -> str:
        return self.SUBMIT_LABEL or ("Reconnect to Azure" if self.existing else "Connect to Azure")

    def compose_extra(self) -> ComposeResult:
        """Method forms add widgets between the fields and the checklist (the OAuth sign-in)."""
        yield from ()

    def _initial(self, key: str) -> str:
        if self.existing is None or key not in ("tenant_id", "client_id", "org_name"):
            return ""
        return getattr(self.existing, key) or ""

    def on_mount(self) -> None:
        self.query(Input).first().focus()
        self.query_one("#check-scroll").display = False
        self.query_one("#save-anyway").display = False
        self.query_one("#prove-write").display = False
        self._fit()

    def field(self, key: str) -> FormField:
        return self.query_one(f"#field-{key}", FormField)

    def values(self) -> dict[str, str]:
        return {f.spec.key: f.value for f in self.query(FormField)}

    # --- validation ---------------------------------------------------------------------------
    def check(self, key: str, value: str) -> FieldCheck:
        """Rules for one field: Name and Description here, the method's own in its spec."""
        if key == "name":
            return FieldCheck(check_name(value, self.taken))
        if key == "description":
            return FieldCheck(check_description(value))
        field = self.METHOD.spec.input_field(key)
        return field.check(value) if field is not None else FieldCheck()

    def _validate(self, field: FormField, *, final: bool, pasted: bool = False) -> FieldCheck:
        value = field.value
        result = self.check(field.spec.key, value)
        # Clean up a pasted URL at once, but not one being typed (it would be cut short): that
        # waits until the field is left or the form is submitted.
        if result.replace is not None and (final or pasted):
            with field.input.prevent(Input.Changed):  # keep the note: a second check would clear it
                field.value = field.last_value = result.replace
            result = self.check(field.spec.key, result.replace)._replace(hint=result.hint)
        # While typing, an empty field is not an error yet; it is on submit.
        shown_error = result.error if (value or final or self.submitted) else None
        field.show(shown_error, result.hint)
        return result

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        field = FormField.of(event.input)
        if field is None:
            return
        if field.spec.secret and event.value != clean_secret(event.value):
            field.value = clean_secret(event.value)  # pasted newline or spaces: never part of a secret
            return
        pasted = len(event.value) - len(field.last_value) > 1
        field.last_value = event.value
        self._validate(field, final=False, pasted=pasted)
        if self.passed is not None:  # what passed is not what is typed now: check again before saving
            self.passed = None
            self.query_one("#prove-write").display = False
            self.query_one("#submit", Button).label = self.submit_label()

    @on(Input.Blurred)
    def _left(self, event: Input.Blurred) -> None:
        field = FormField.of(event.input)
        if field is not None and field.value and self.is_mounted:
            self._validate(field, final=True)

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        field = FormField.of(event.input)
        if field is not None and not self.field_entered(field):
            self._enter_from(field)

    def _enter_from(self, field: FormField) -> None:
        """Enter means "do it": on to the next field that needs input, or, when none does, submit."""
        fields = [f for f in self.query(FormField) if f.display and not f.input.disabled]
        at = fields.index(field) + 1 if field in fields else 0
        needs = [f for f in fields[at:] + fields[:at] if self.check(f.spec.key, f.value).error or not f.filled]
        if needs:
            needs[0].input.focus()
        else:
            self.action_submit()

    def field_entered(self, field: FormField) -> bool:
        """Enter in a field; True when handled (method forms add their own, e.g. the OAuth paste)."""
        return field.spec.key == "name" and use_name_suggestion(field, self.taken)

    # --- actions ------------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "submit": self.action_submit,
            "cancel": self.action_cancel,
            "save-anyway": self.action_save_anyway,
            "pick-targets": self.action_targets,
            "prove-write": self.action_prove_write,
        }
        if event.button.id in actions:
            event.stop()
            actions[event.button.id]()

    def action_cancel(self) -> None:
        """Esc cancels a running check first; pressed again, it closes the form, asking first when
        something was typed."""
        if self.saving:  # the server may be creating it right now: closing would hide the outcome
            self.status("… Saving: wait for the answer (it cannot be taken back half-way).")
            return
        if self.cancel_check():
            self.status("⊘ Cancelling the check…")
            return
        typed = [f.spec.label for f in self.query(FormField) if f.changed]
        ask_to_discard(self, typed, lambda: self.dismiss(None))

    def save_checked_draft(self, draft: ConnectionDraft, result: CheckResult) -> None:
        self.saving = True
        self._save(draft, result)

    def action_toggle_mask(self) -> None:
        holder = FormField.of(self.focused)
        if holder is not None and holder.spec.secret:
            holder.toggle_mask()

    def status(self, text: str) -> None:
        self.status_text = text
        self.query_one("#form-status", Static).update(text)

    def validated_draft(self) -> ConnectionDraft | None:
        """Every field checked as on submit; None (and the first bad field focused) if any is wrong."""
        self.submitted = True
        first_bad: FormField | None = None
        for field in self.query(FormField):
            if self._validate(field, final=True).error and first_bad is None:
                first_bad = field
        if first_bad is not None:
            self.status("✗ Fix the marked fields first; nothing was saved.")
            first_bad.input.focus()
            first_bad.scroll_visible(animate=False)
            return None
        return self.to_draft(self.values())

    def action_submit(self) -> None:
        if self.passed is not None and self.draft is not None and not self.saving:  # ^s after a pass: save it
            self.save_checked_draft(self.draft, self.passed)
            return
        if self.saving or self.check_running():
            return
        draft = self.validated_draft()
        if draft is not None:
            self.submit_valid(draft)

    def to_draft(self, values: dict[str, str]) -> ConnectionDraft:
        secrets = {k: SecretStr(clean_secret(values[k])) for k in self.METHOD.spec.secrets if k in values}
        return ConnectionDraft(
            name=values.get("name", self.existing.name if self.existing else ""),
            description=values.get("description", self.existing.description if self.existing else "").strip(),
            method=self.METHOD,
            org_name=values["org_name"],
            tenant_id=values.get("tenant_id") or None,
            client_id=values.get("client_id") or None,
            secrets=secrets,
            target_projects=list(self.targets),
        )

    def submit_valid(self, draft: ConnectionDraft) -> None:
        self.start_check(draft)

    # --- the live check -----------------------------------------------------------------------
    def start_check(self, draft: ConnectionDraft) -> None:
        """Run the live check (a worker of the form's: check_view.run_check)."""

        self.draft = draft
        self.start_check_view()
        self.run_check(CheckTarget.of(draft, draft.secrets))

    def action_save_anyway(self) -> None:
        """Save without a (passing) check, e.g. this box can't reach Azure: recorded as Not checked."""
        if self.saving or self.check_running():
            return
        draft = self.validated_draft()
        if draft is None:
            return
        if self.draft is not None and "token_cache" in self.draft.secrets:
            draft.secrets["token_cache"] = self.draft.secrets["token_cache"]
        self.saving = True
        self._save(draft, None)

    def _show_refusal(self, exc: Exception) -> None:
        """A refused save, under the field it concerns."""
        if isinstance(exc, FieldErrors):
            self._show_issues(exc.issues)
        elif isinstance(exc, FieldError) and not self.existing and self.query(f"#field-{exc.field}"):
            self.field(exc.field).show(exc.detail)
            self.field(exc.field).input.focus()

    def _show_issues(self, issues: list[tuple[str, str]]) -> None:
        """A server's 422, field by field, where the operator is looking."""

        shown = False
        for path, message in issues:
            key = field_of(path)
            if key and self.query(f"#field-{key}"):
                self.field(key).show(message)
                if not shown:
                    self.field(key).input.focus()
                shown = True

    def save_failed(self, exc: BaseException) -> None:
        """Method forms react to a refused save (the OAuth form: a code works once)."""

    @work(exclusive=True, group="form-save", exit_on_error=False)
    async def _save(self, draft: ConnectionDraft, result: CheckResult | None) -> None:
        if self.existing is not None:  # a re-check of the old credentials must not land after these
            self.app.checks.forget(self.existing.id)
        submit = self.query_one("#submit", Button)
        submit.disabled = True
        self.status("… Saving")
        try:
            outcome = await save_checked(
                self.app.ws.backend,
                draft,
                result,
                project_id=None if self.existing else self.project_id,
                connection_id=self.existing.id if self.existing else None,
            )
        except Exception as exc:
            self._show_refusal(exc)
            # A conflict (a name taken meanwhile, here or on the instance) says itself what to change.
            self.status(f"✗ {describe(exc)}" if isinstance(exc, ConflictError) else f"✗ Not saved: {describe(exc)}")
            self.save_failed(exc)
            return
        finally:
            submit.disabled = False
            self.saving = False
        self.dismiss(outcome.connection)


def method_forms() -> dict[Method, type[ConnectionForm]]:
    """Each method's form. Every module of ui/forms is imported, and each form names its METHOD, so a
    new method's form is found without being listed anywhere (tests/test_methods: one per method)."""
    package = kms_connect.ui.forms
    for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
        importlib.import_module(module.name)
    forms: dict[Method, type[ConnectionForm]] = {}
    pending: list[type[ConnectionForm]] = [ConnectionForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "METHOD" in vars(cls) and cls.__module__.startswith(f"{package.__name__}."):
            forms.setdefault(cls.METHOD, cls)
    return forms
