"""Client Secret form: a service principal (tenant, client ID, secret Value) and the organization
(fields: its spec)."""

from __future__ import annotations

from kms_connect.core.methods import Method
from kms_connect.ui.forms.base import ConnectionForm


class ClientSecretForm(ConnectionForm):
    METHOD = Method.CLIENT_SECRET
    INTRO = "The service principal must be added to the Azure DevOps organization and its projects."
