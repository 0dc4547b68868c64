"""Access Token form: an Azure DevOps personal access token and the organization."""

from __future__ import annotations

from kms_connect.core.status import Method
from kms_connect.core.validation import check_access_token
from kms_connect.ui.forms.base import ORG, ConnectionForm, FieldCheck
from kms_connect.ui.widgets.form_field import FieldSpec

TOKEN = FieldSpec("access_token", "Access Token", "personal access token", secret=True)


class AccessTokenForm(ConnectionForm):
    METHOD = Method.ACCESS_TOKEN
    FIELDS = (TOKEN, ORG)
    INTRO = (
        "Scopes: Variable Groups (read, create & manage), Release (read/write), Project and Team (read), "
        "Service Connections (read & query)."
    )

    def check(self, key: str, value: str) -> FieldCheck:
        if key == "access_token":
            return FieldCheck(check_access_token(value))
        return super().check(key, value)
