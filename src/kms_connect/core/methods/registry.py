"""The connection methods kms-connect knows, in the picker's order: `Method` and each one's spec.

Adding a method: its spec module here (core/methods/<method>.py), a member of `Method` and its spec
in `SPECS` below, its form (ui/forms/<method>.py, which names its METHOD), what the simulators do
with it, and its tests. Nothing else names a method: the rest of kms-connect asks `method.spec`.
"""

from __future__ import annotations

from enum import Enum

from kms_connect.core.methods import access_token, client_secret, oauth
from kms_connect.core.methods.spec import MethodSpec

SPECS: tuple[MethodSpec, ...] = (oauth.SPEC, access_token.SPEC, client_secret.SPEC)


class Method(str, Enum):
    """Azure DevOps connection methods, with the values the KMS API uses, in the picker's order."""

    OAUTH = oauth.SPEC.value
    ACCESS_TOKEN = access_token.SPEC.value
    CLIENT_SECRET = client_secret.SPEC.value

    @property
    def spec(self) -> MethodSpec:
        return _BY_METHOD[self]

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def short_label(self) -> str:
        """Six cells at most: the Method column of an 80-column App Connections screen."""
        return self.spec.short_label


_BY_METHOD = {Method(spec.value): spec for spec in SPECS}  # tests/test_methods: one each, in the same order


def field_of(path: str) -> str | None:
    """A KMS instance's 422 issue path (e.g. `credentials.tenantId`) as a form field key."""
    last = path.split(".")[-1]
    if last in ("name", "description"):
        return last
    return next((form for spec in SPECS for form, api in spec.kms_fields.items() if api == last), None)
