"""Add or edit a Hanzo KMS instance: where its API is, and the machine identity that logs in."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static

from kms_connect.core.instances import ORG_ID_WHERE, TOKEN_ENV, Instance
from kms_connect.core.validation import check_guid, check_slug_name
from kms_connect.ui.errors import describe
from kms_connect.ui.modals.discard import ask_to_discard
from kms_connect.ui.widgets.choices import TextCheckbox
from kms_connect.ui.widgets.form_field import FieldSpec, FormField

if TYPE_CHECKING:
    from kms_connect.core.instances import Instance
    from kms_connect.ui.app import KmsConnectApp

FIELDS = (
    FieldSpec("name", "Name", "e.g. prod-kms (lowercase letters, digits, hyphens)"),
    FieldSpec("url", "API URL", "where this box reaches it, e.g. http://localhost:8080"),
    FieldSpec(
        "site_url", "Public SITE_URL", "the instance's SITE_URL (for OAuth); default: the API URL", optional=True
    ),
    FieldSpec("client_id", "Machine identity Client ID", "Universal Auth client ID (a GUID)"),
    FieldSpec("client_secret", "Machine identity Client Secret", "kept in the secret store", secret=True),
    FieldSpec("organization_slug", "Organization slug", "only if the identity belongs to several", optional=True),
    # Older instances list projects by organization only, and cannot tell an identity its own (core/kms/client).
    FieldSpec("org_id", "Organization ID", "only if the instance asks for it (a GUID)", optional=True),
    FieldSpec("ca_bundle", "CA bundle", "PEM file for a private CA", optional=True),
)
# [x] / [ ] tells the state (no colour needed): the label stays the same.
ALLOW_HTTP = "Allow plain http:// to a non-loopback host (Space toggles)"


class InstanceFormModal(ModalScreen[str | None]):
    """Dismisses with the saved instance's name, or None. What was typed survives every error."""

    BINDINGS = [
        Binding("escape,ctrl+g", "cancel", "Cancel", id="instance.cancel"),
        Binding("ctrl+s", "submit", "Save", id="instance.save"),
        Binding("ctrl+r", "toggle_mask", "Show/hide secret", show=False, id="instance.reveal"),
    ]
    app: KmsConnectApp

    def __init__(self, existing: Instance | None, taken: set[str]) -> None:
        super().__init__(classes="connection-form")
        self.existing, self.taken = existing, taken
        self.saving = False
        self.secret_only = existing is not None and existing.source == "config"

    def compose(self) -> ComposeResult:
        e = self.existing
        if e is None:
            title = "Add a Hanzo KMS instance"
        elif self.secret_only:
            title = f"Client Secret of {e.name} (declared in the config file)"
        else:
            title = f"Edit instance · {e.name}"
        with Vertical(classes="dialog form-dialog"):
            yield Static(title, classes="dialog-title", markup=False)
            with VerticalScroll(id="fields"):
                for spec in FIELDS:
                    value = "" if e is None or spec.secret else str(getattr(e, spec.key) or "")
                    if spec.secret and e is not None:
                        spec = FieldSpec(
                            spec.key, spec.label, "leave empty to keep the stored one", secret=True, optional=True
                        )
                    yield FormField(spec, value, disabled=self.secret_only and not spec.secret)
                allowed = e.allow_http if e else False
                yield TextCheckbox(ALLOW_HTTP, allowed, id="allow_http", compact=True)
            yield Static("", id="form-status", classes="form-status", markup=False)
            with Horizontal(classes="buttons"):
                yield Static("^s save · esc cancel", classes="form-keys")
                yield Button("Save", variant="primary", id="submit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#input-client_secret" if self.secret_only else "#input-name", Input).focus()
        self.query_one(Checkbox).disabled = self.secret_only
        self.query_one("#fields").styles.max_height = max(4, self.app.size.height - 9)

    def values(self) -> dict[str, str]:
        return {f.spec.key: f.value.strip() for f in self.query(FormField)}

    def _errors(self, v: dict[str, str]) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.secret_only:
            return {} if v["client_secret"] else {"client_secret": "Enter the identity's Client Secret."}
        if error := check_slug_name(v["name"], self.taken):
            errors["name"] = error
        if not v["url"]:
            errors["url"] = "API URL is required, e.g. https://kms.example.com or http://localhost:8080."
        if v["client_id"] and (error := check_guid(v["client_id"], "Client ID", "the identity's Universal Auth page")):
            errors["client_id"] = error
        if not v["client_id"] and not os.environ.get(TOKEN_ENV):
            errors["client_id"] = f"Client ID is required (or set {TOKEN_ENV} for scripts)."
        if v["org_id"] and (error := check_guid(v["org_id"], "Organization ID", ORG_ID_WHERE)):
            errors["org_id"] = error
        if v["client_id"] and not v["client_secret"] and not (self.existing and self.existing.client_secret_at):
            errors["client_secret"] = "Client Secret is required: it is shown once, when it is created."
        return errors

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()
        elif event.button.id == "cancel":
            self.action_cancel()

    def action_cancel(self) -> None:
        typed = [f.spec.label for f in self.query(FormField) if f.changed]
        ask_to_discard(self, typed, lambda: self.dismiss(None))

    def action_toggle_mask(self) -> None:
        holder = FormField.of(self.focused)
        if holder is not None and holder.spec.secret:
            holder.toggle_mask()

    def action_submit(self) -> None:
        if self.saving:
            return
        v = self.values()
        errors = self._errors(v)
        instance = None
        if not errors and self.secret_only:
            instance = self.existing
        elif not errors:
            try:
                instance = Instance(
                    name=v["name"],
                    url=v["url"],
                    site_url=v["site_url"] or None,
                    client_id=v["client_id"] or None,
                    organization_slug=v["organization_slug"] or None,
                    org_id=v["org_id"] or None,
                    ca_bundle=v["ca_bundle"] or None,
                    allow_http=self.query_one(Checkbox).value,
                )
            except ValidationError as exc:
                for err in exc.errors():
                    key = str(err["loc"][0]) if err.get("loc") else "url"
                    errors[key] = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if instance is not None and (problem := instance.transport_problem()):
            errors["url"] = problem
        for field in self.query(FormField):
            field.show(errors.get(field.spec.key))
        if errors or instance is None:
            first = next(f for f in self.query(FormField) if f.spec.key in errors) if errors else None
            if first is not None:
                first.input.focus()
            self.query_one("#form-status", Static).update("✗ Fix the marked fields; nothing was saved.")
            return
        self.saving = True
        self.query_one("#form-status", Static).update("… Saving")
        self._save(instance, v["client_secret"] or None)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _save(self, instance: Instance, secret: str | None) -> None:
        try:
            saved = self.app.ws.save_instance(instance, secret, replacing=self.existing.name if self.existing else None)
        except Exception as exc:
            self.app.call_from_thread(self._failed, describe(exc))
            return
        note = saved.site_url_note()
        if note:  # shown where it stays on screen long enough to read
            self.app.call_from_thread(self.app.notify, note, markup=False, severity="warning", timeout=15)
        self.app.call_from_thread(self.dismiss, saved.name)

    def _failed(self, message: str) -> None:
        self.saving = False
        self.query_one("#form-status", Static).update(f"✗ Not saved: {message}")
