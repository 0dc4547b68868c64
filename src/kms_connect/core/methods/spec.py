"""What a connection method is, as data: `MethodSpec`, its form fields (`InputField`) and what its
token hook is given (`TokenRequest`). One module per method (core/methods/<method>.py) fills one in;
core/methods/registry lists them.

Light on purpose: the registry is read before the first frame (core/status, core/redact), so nothing
here imports pydantic, httpx or msal. A token hook imports the Azure clients when it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from kms_connect.core.validation import CLIENT_WHERE, check_guid, check_tenant, normalize_org

if TYPE_CHECKING:
    from kms_connect.core.azure.entra import EntraConfig, Token
    from kms_connect.core.models import OAuthAvailability


class FieldCheck(NamedTuple):
    """A field's value judged as typed: what is wrong, a hint, and a cleaned-up value to put in."""

    error: str | None = None
    hint: str | None = None
    replace: str | None = None  # e.g. the organization name out of a pasted URL


@dataclass(frozen=True)
class InputField:
    """A field of a method's form: what the operator types, and the rule it is checked against."""

    key: str  # the ConnectionDraft field, or for a secret its secret-store key
    label: str
    placeholder: str = ""
    secret: bool = False  # masked as typed, kept in the secret store
    rule: Callable[[str], FieldCheck] | None = field(default=None, compare=False)

    def check(self, value: str) -> FieldCheck:
        return self.rule(value) if self.rule is not None else FieldCheck()


def _org(value: str) -> FieldCheck:
    org = normalize_org(value)
    return FieldCheck(org.error, org.note, org.value if org.value != value else None)


# The fields several methods share.
ORG = InputField("org_name", "Organization Name", "the <name> in https://dev.azure.com/<name>", rule=_org)
TENANT = InputField(
    "tenant_id",
    "Tenant ID",
    "Directory (tenant) ID, a GUID",
    rule=lambda value: FieldCheck(check_tenant(value, allow_domain=False)),
)
TENANT_OR_DOMAIN = InputField(
    "tenant_id",
    "Tenant ID",
    "GUID, or a domain like contoso.onmicrosoft.com",
    rule=lambda value: FieldCheck(check_tenant(value, allow_domain=True)),
)
CLIENT_ID = InputField(
    "client_id",
    "Client ID",
    "Application (client) ID, a GUID",
    rule=lambda value: FieldCheck(check_guid(value, "Client ID", CLIENT_WHERE)),
)

# The Azure DevOps permissions an Entra app registration asks for (the picker's prerequisites).
PERMISSIONS = (
    "Azure DevOps API permissions: user_impersonation, vso.project_write, vso.variablegroups_manage, "
    "vso.variablegroups_write."
)

# The steps of every check (core/check_steps has their titles), and the one before them for a
# method that gets an Entra ID token first.
DEVOPS_STEPS = ("org", "credentials", "projects", "variablegroups", "serviceendpoints", "release", "write")
TOKEN_STEP = "token"


@dataclass(frozen=True)
class TokenRequest:
    """What a method's token hook is given: the connection's fields and how to read its secrets."""

    entra: EntraConfig
    tenant_id: str
    client_id: str
    secret: Callable[[str], str]  # a secret of the connection by name; raises ProblemError when not held
    app_secret: Callable[[], str | None]  # the OAuth app's client secret; blocking (keyring): run in a thread


# How a method gets an Entra ID token: the token and the Entra token step's result line.
TokenHook = Callable[[TokenRequest], Awaitable[tuple["Token", str]]]


@dataclass(frozen=True)
class MethodSpec:
    """Everything kms-connect knows about one connection method."""

    value: str  # the KMS API's name of the method (Method's value)
    label: str  # e.g. "Access Token"
    short_label: str  # six cells at most: the Method column of an 80-column App Connections screen
    summary: str  # the picker's line
    prerequisites: Callable[[OAuthAvailability], str]  # what the operator needs first (the picker)
    fields: tuple[InputField, ...]  # the form's fields, in order (Name and Description come before them)
    secrets: tuple[str, ...]  # the secret-store keys its connections carry
    kms_fields: Mapping[str, str]  # form or secret field -> the KMS instance's credentials key
    redact: tuple[str, ...] = ()  # names whose values are masked in logs (query strings and JSON)
    # How its check authenticates to Azure DevOps: an Entra ID token (the hook) as a bearer, or
    # without one, the secret named by `pat_secret` as a personal access token.
    token: TokenHook | None = None
    pat_secret: str | None = None
    needs_oauth_app: bool = False  # signs in through the source's OAuth app: not offered without one
    # Entra ID error codes its credential can meet: code -> (short result, what to change, field).
    entra_errors: Mapping[int, tuple[str, str, str | None]] = field(default_factory=dict)

    @property
    def uses_entra(self) -> bool:
        """Authenticates through Entra ID: the organization must be in the tenant typed, and a
        Microsoft-account organization cannot be used."""
        return self.token is not None

    @property
    def check_steps(self) -> tuple[str, ...]:
        """The keys of its check's steps, in order (their titles: core/check_steps.TITLES)."""
        return (TOKEN_STEP, *DEVOPS_STEPS) if self.uses_entra else DEVOPS_STEPS

    def input_field(self, key: str) -> InputField | None:
        return next((f for f in self.fields if f.key == key), None)
