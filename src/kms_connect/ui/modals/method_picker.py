"""Add Connection: pick how to connect to Azure DevOps, with each method's prerequisites."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kms_connect.core.status import Method
from kms_connect.ui.key_display import with_keys

if TYPE_CHECKING:
    from kms_connect.core.models import OAuthAvailability

PERMISSIONS = (
    "Azure DevOps API permissions: user_impersonation, vso.project_write, vso.variablegroups_manage, "
    "vso.variablegroups_write."
)

SUMMARY = {
    Method.OAUTH: "Sign in with a Microsoft Entra ID account",
    Method.ACCESS_TOKEN: "Use an Azure DevOps personal access token",
    Method.CLIENT_SECRET: "Use a service principal's client secret",
}


def prerequisites(method: Method, oauth: OAuthAvailability) -> str:
    if method is Method.OAUTH and oauth.redeemed_by_instance:
        return (
            f"Uses the instance's OAuth app (client ID {oauth.client_id}). You sign in with a browser on any "
            f"machine; Entra sends you to {oauth.redirect_uri}, and you paste that address back here. The "
            "instance redeems the code and keeps the sign-in."
        )
    if method is Method.OAUTH:
        secret = "and its client secret, " if oauth.has_client_secret else ""
        client = f"client ID {oauth.client_id} ({oauth.source}) {secret}" if oauth.client_id else "its client ID "
        return (
            f"Needs an Entra ID app registration: {client}configured for kms-connect, and its redirect URI "
            f"{oauth.redirect_uri} registered. {PERMISSIONS} Device-code sign-in (no browser on this box) "
            "needs “Allow public client flows” = Yes under Authentication."
        )
    if method is Method.ACCESS_TOKEN:
        return (
            "Needs a personal access token with the scopes Variable Groups (read, create & manage), "
            "Release (read/write), Project and Team (read) and Service Connections (read & query). "
            "Create it under User settings > Personal access tokens."
        )
    return (
        "Needs a service principal (an Entra app registration) added to the Azure DevOps organization "
        f"and its projects, its Tenant ID, Client ID and a client secret Value. {PERMISSIONS}"
    )


class MethodPickerModal(ModalScreen[Method | None]):
    BINDINGS = [
        Binding("escape,ctrl+g", "cancel", "Cancel", id="picker.cancel"),
        Binding("1", "pick(0)", "OAuth", show=False, id="picker.1"),
        Binding("2", "pick(1)", "Access Token", show=False, id="picker.2"),
        Binding("3", "pick(2)", "Client Secret", show=False, id="picker.3"),
    ]
    METHODS = (Method.OAUTH, Method.ACCESS_TOKEN, Method.CLIENT_SECRET)

    def __init__(self, oauth: OAuthAvailability) -> None:
        super().__init__()
        self.oauth = oauth
        self._refused: Method | None = None

    def compose(self) -> ComposeResult:
        options = []
        for n, method in enumerate(self.METHODS, start=1):
            label = Text.assemble((f"{n}  ", "bold"), (f"{method.label:<14}", "bold"), SUMMARY[method])
            if method is Method.OAUTH and not self.oauth.available:
                label = Text.assemble(
                    (f"{n}  ", "bold"),
                    (f"{method.label:<14}", "bold dim"),
                    ("⊘ unavailable: no OAuth app configured", "dim"),
                )
            elif not self._offered(method):
                label = Text.assemble(
                    (f"{n}  ", "bold"), (f"{method.label:<14}", "bold dim"), ("⊘ not offered by this instance", "dim")
                )
            options.append(Option(label, id=method.value))
        with Vertical(classes="dialog picker"):
            yield Static("Add Connection · Azure DevOps", classes="dialog-title")
            yield Static("How should Hanzo KMS connect to Azure DevOps?", classes="dialog-body")
            yield OptionList(*options, id="methods")
            yield Static("", id="prereq", classes="prereq")
            hint = "↑↓ choose · Enter or 1–3 selects · {picker.cancel} cancels"
            yield Static(with_keys(self, hint), classes="dialog-hint")

    def on_mount(self) -> None:
        methods = self.query_one("#methods", OptionList)
        methods.highlighted = 0 if self.oauth.available else 1
        methods.focus()

    @on(OptionList.OptionHighlighted, "#methods")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        method = Method(event.option.id)
        # The highlight message can arrive after a digit's refusal: keep the refusal showing.
        self._describe(method, refused=method is self._refused)

    def _offered(self, method: Method) -> bool:
        return self.oauth.methods is None or method.value in self.oauth.methods

    def _describe(self, method: Method, *, refused: bool = False) -> None:
        prereq = self.query_one("#prereq", Static)
        if not self._offered(method):
            lead = "✗ " if refused else "⊘ "
            prereq.update(
                Text(
                    f"{lead}This instance does not offer the {method.label} method (its "
                    "/app-connections/options lists only: " + ", ".join(self.oauth.methods or []) + ")."
                )
            )
        elif method is Method.OAUTH and not self.oauth.available:
            lead = "✗ OAuth cannot be chosen yet. " if refused else "⊘ Unavailable. "
            prereq.update(Text(f"{lead}{self.oauth.reason} {self.oauth.fix}"))
        else:
            prereq.update(Text(prerequisites(method, self.oauth)))
        prereq.set_class(refused, "-refused")

    @on(OptionList.OptionSelected, "#methods")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(Method(event.option.id))

    def action_pick(self, index: int) -> None:
        self.query_one("#methods", OptionList).highlighted = index
        self._choose(self.METHODS[index])

    def _choose(self, method: Method) -> None:
        if not self._offered(method) or (method is Method.OAUTH and not self.oauth.available):
            self.app.bell()
            self._refused = method
            self._describe(method, refused=True)
            return
        self.dismiss(method)

    def action_cancel(self) -> None:
        self.dismiss(None)
