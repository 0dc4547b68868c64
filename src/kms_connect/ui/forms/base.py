"""What every per-method form shares: fields, validation as you type, and check-then-save.

A form keeps everything typed after any error; only a successful save closes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, NamedTuple

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from kms_connect.core.status import Method
from kms_connect.core.validation import (
        check_description,
    check_slug_name,
    check_tenant,
    clean_secret,
    normalize_org,
    slugify,
)
from kms_connect.ui.errors import describe
from kms_connect.ui.widgets.form_field import FieldSpec, FormField

if TYPE_CHECKING:
    from kms_connect.core.models import Connection, ConnectionDraft
    from kms_connect.ui.app import KmsConnectApp

NAME = FieldSpec("name", "Name", "lowercase letters, digits and hyphens")
DESCRIPTION = FieldSpec("description", "Description", optional=True)
TENANT = FieldSpec("tenant_id", "Tenant ID", "Directory (tenant) ID, a GUID")
ORG = FieldSpec("org_name", "Organization Name", "the <name> in https://dev.azure.com/<name>")


def check_name(value: str, taken: set[str]) -> str | None:
    """The slug rule, saying that Enter applies the suggestion when there is one."""
    error = check_slug_name(value, taken)
    return error + " Enter uses it." if error and "e.g." in error else error


def use_name_suggestion(field: FormField, taken: set[str]) -> bool:
    """Enter on an invalid Name puts the slugified suggestion in; True when it did."""
    suggestion = slugify(field.value)
    if field.error and suggestion and check_slug_name(suggestion, taken) is None:
        field.value = suggestion
        return True
    return False


class FieldCheck(NamedTuple):
    error: str | None = None
    hint: str | None = None
    replace: str | None = None  # a cleaned-up value to put in the input (e.g. org from a URL)


class ConnectionForm(ModalScreen["Connection | None"]):
    """Base of the three method forms. Dismisses with the saved connection, or None."""

    METHOD: ClassVar[Method]
    FIELDS: ClassVar[tuple[FieldSpec, ...]]
    INTRO: ClassVar[str] = ""
    TENANT_ALLOWS_DOMAIN: ClassVar[bool] = False
    BINDINGS = [
        Binding("escape,ctrl+g", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+r", "toggle_mask", "Show/hide secret", show=False, id="form.reveal"),
        Binding("ctrl+s", "submit", "Connect", id="form.submit"),
    ]
    app: KmsConnectApp

    def __init__(self, project_id: str, taken_names: set[str], *, existing: Connection | None = None) -> None:
        super().__init__(classes="connection-form")
        self.project_id = project_id
        self.taken = taken_names
        self.existing = existing
        self.submitted = False
        self.saving = False  # a second Enter while saving must not save twice

    # --- layout -------------------------------------------------------------------------------
    @property
    def specs(self) -> tuple[FieldSpec, ...]:
        return self.FIELDS if self.existing else (NAME, DESCRIPTION, *self.FIELDS)

    def compose(self) -> ComposeResult:
        if self.existing:
            title = f"Replace credentials · {self.existing.name} · {self.METHOD.label}"
        else:
            title = f"Add Connection · Azure DevOps · {self.METHOD.label}"
        with Vertical(classes="dialog form-dialog"):
            yield Static(title, classes="dialog-title", markup=False)
            if self.INTRO:
                yield Static(self.INTRO, classes="dialog-body")
            with VerticalScroll(id="fields"):
                for spec in self.specs:
                    yield FormField(spec, self._initial(spec.key))
            yield Static("", id="form-status", classes="form-status", markup=False)
            with Horizontal(classes="buttons"):
                yield Static("^s connect · ^r show · esc cancel", classes="form-keys")
                label = "Reconnect to Azure" if self.existing else "Connect to Azure"
                yield Button(label, variant="primary", id="submit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _initial(self, key: str) -> str:
        if self.existing is None or key not in ("tenant_id", "client_id", "org_name"):
            return ""
        return getattr(self.existing, key) or ""

    def on_mount(self) -> None:
        self.query(Input).first().focus()
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        # The fields scroll only when the terminal is too short for them: title, intro, status,
        # buttons and borders take about 12 rows.
        self.query_one("#fields").styles.max_height = max(4, self.size.height - 12)

    def field(self, key: str) -> FormField:
        return self.query_one(f"#field-{key}", FormField)

    def values(self) -> dict[str, str]:
        return {f.spec.key: f.value for f in self.query(FormField)}

    # --- validation ---------------------------------------------------------------------------
    def check(self, key: str, value: str) -> FieldCheck:
        """Rules for one field; method forms extend this for their own fields."""
        if key == "name":
            return FieldCheck(check_name(value, self.taken))
        if key == "description":
            return FieldCheck(check_description(value))
        if key == "tenant_id":
            return FieldCheck(check_tenant(value, allow_domain=self.TENANT_ALLOWS_DOMAIN))
        if key == "org_name":
            org = normalize_org(value)
            return FieldCheck(org.error, org.note, org.value if org.value != value else None)
        return FieldCheck()

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

    @on(Input.Blurred)
    def _left(self, event: Input.Blurred) -> None:
        field = FormField.of(event.input)
        if field is not None and field.value and self.is_mounted:
            self._validate(field, final=True)

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        field = FormField.of(event.input)
        if field is not None and field.spec.key == "name" and use_name_suggestion(field, self.taken):
            return
        self.focus_next()

    # --- actions ------------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()
        elif event.button.id == "cancel":
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_toggle_mask(self) -> None:
        holder = FormField.of(self.focused)
        if holder is not None and holder.spec.secret:
            holder.toggle_mask()

    def action_submit(self) -> None:
        if self.saving:
            return
        self.submitted = True
        first_bad: FormField | None = None
        for field in self.query(FormField):
            if self._validate(field, final=True).error and first_bad is None:
                first_bad = field
        status = self.query_one("#form-status", Static)
        if first_bad is not None:
            status.update("✗ Fix the marked fields first; nothing was saved.")
            first_bad.input.focus()
            first_bad.scroll_visible(animate=False)
            return
        self.submit_valid(self.to_draft(self.values()))

    def to_draft(self, values: dict[str, str]) -> ConnectionDraft:
        from pydantic import SecretStr

        from kms_connect.core.models import SECRET_FIELDS, ConnectionDraft

        secrets = {k: SecretStr(clean_secret(values[k])) for k in SECRET_FIELDS[self.METHOD]}
        return ConnectionDraft(
            name=values.get("name", self.existing.name if self.existing else ""),
            description=values.get("description", self.existing.description if self.existing else "").strip(),
            method=self.METHOD,
            org_name=values["org_name"],
            tenant_id=values.get("tenant_id") or None,
            client_id=values.get("client_id") or None,
            secrets=secrets,
        )

    def submit_valid(self, draft: ConnectionDraft) -> None:
        self.saving = True
        self._save(draft)

    @work(exclusive=True, group="form-save", exit_on_error=False)
    async def _save(self, draft: ConnectionDraft) -> None:
        from kms_connect.core.checks import check_then_save
        from kms_connect.core.errors import ConflictError

        assert self.app.backend is not None and self.app.checker is not None
        status = self.query_one("#form-status", Static)
        submit = self.query_one("#submit", Button)
        submit.disabled = True
        status.update("… Saving")
        try:
            outcome = await check_then_save(
                self.app.backend,
                self.app.checker,
                draft,
                project_id=None if self.existing else self.project_id,
                connection_id=self.existing.id if self.existing else None,
            )
        except ConflictError as exc:
            status.update(f"✗ {exc}")
            if "name" in str(exc).lower() and not self.existing:
                self.field("name").show(str(exc))
                self.field("name").input.focus()
            return
        except Exception as exc:
            status.update(f"✗ Not saved: {describe(exc)}")
            return
        finally:
            submit.disabled = False
            self.saving = False
        if outcome.connection is None:
            status.update(f"✗ {outcome.result.summary}")
            return
        self.dismiss(outcome.connection)
