"""OAuth form: the Entra tenant (GUID or domain) and the organization; sign-in follows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

from kms_connect.core.status import Method
from kms_connect.ui.forms.base import ORG, ConnectionForm
from kms_connect.ui.widgets.form_field import FieldSpec

if TYPE_CHECKING:
    from kms_connect.core.models import ConnectionDraft

TENANT_OR_DOMAIN = FieldSpec("tenant_id", "Tenant ID", "GUID, or a domain like contoso.onmicrosoft.com")


class OAuthForm(ConnectionForm):
    METHOD = Method.OAUTH
    FIELDS = (TENANT_OR_DOMAIN, ORG)
    TENANT_ALLOWS_DOMAIN = True
    INTRO = "You will sign in with a Microsoft Entra ID account; no browser is needed on this box."

    def submit_valid(self, draft: ConnectionDraft) -> None:
        # The Entra sign-in (device code or paste-back) arrives with the live checks.
        self.query_one("#form-status", Static).update(
            "ℹ The fields are valid. Signing in through Microsoft Entra ID (device code, or a pasted-back "
            "redirect) arrives with live checks in the next release, so nothing was saved. Use an Access "
            "Token or Client Secret connection for now."
        )
