"""Access Token form: an Azure DevOps personal access token and the organization (fields: its spec)."""

from __future__ import annotations

from kms_connect.core.methods import Method
from kms_connect.ui.forms.base import ConnectionForm


class AccessTokenForm(ConnectionForm):
    METHOD = Method.ACCESS_TOKEN
    INTRO = (
        "Scopes: Variable Groups (read, create & manage), Release (read/write), Project and Team (read), "
        "Service Connections (read & query)."
    )
