"""Client Secret form: a service principal (tenant, client ID, secret Value) and the organization."""

from __future__ import annotations

from kms_connect.core.status import Method
from kms_connect.core.validation import CLIENT_WHERE, check_client_secret, check_guid, client_secret_hint
from kms_connect.ui.forms.base import ORG, TENANT, ConnectionForm, FieldCheck
from kms_connect.ui.widgets.form_field import FieldSpec

CLIENT_ID = FieldSpec("client_id", "Client ID", "Application (client) ID, a GUID")
SECRET = FieldSpec("client_secret", "Client Secret", "the secret's Value, not its ID", secret=True)


class ClientSecretForm(ConnectionForm):
    METHOD = Method.CLIENT_SECRET
    FIELDS = (TENANT, CLIENT_ID, SECRET, ORG)
    INTRO = "The service principal must be added to the Azure DevOps organization and its projects."

    def check(self, key: str, value: str) -> FieldCheck:
        if key == "client_id":
            return FieldCheck(check_guid(value, "Client ID", CLIENT_WHERE))
        if key == "client_secret":
            return FieldCheck(check_client_secret(value), client_secret_hint(value))
        return super().check(key, value)
