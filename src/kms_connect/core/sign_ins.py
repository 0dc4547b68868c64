"""OAuth sign-ins, as a connection form starts them, with the workspace's settings.

For the local store, the device code (`device`) and the paste-back (`redirect`) sign-ins of
core/azure/sign_in (msal; blocking: run them in threads). For an instance, which redeems the code
itself, the address to open and the state to expect back (`instance_url`, core/kms/oauth), and the
pasted answer read (`pasted`). What goes wrong is a ProblemError carrying a Problem in words.
"""

from __future__ import annotations

from collections.abc import Callable

from kms_connect.core.azure.entra import EntraConfig, Token
from kms_connect.core.azure.explain import Problem, ProblemError, entra_problem
from kms_connect.core.azure.sign_in import (
    DeviceSignIn,
    RedirectSignIn,
    SignInCancelled,
    parse_pasted,
    start_device_flow,
    start_redirect,
)
from kms_connect.core.config import Settings
from kms_connect.core.kms.oauth import authorize_url

# What the UI needs of a sign-in, from here: it never imports the Azure clients themselves.
__all__ = [
    "DeviceSignIn",
    "Problem",
    "ProblemError",
    "RedirectSignIn",
    "SignInCancelled",
    "SignIns",
    "Token",
    "entra_problem",
]


class SignIns:
    def __init__(self, settings: Settings, app_secret: Callable[[], str | None]) -> None:
        self.settings = settings
        self._app_secret = app_secret  # the OAuth app's client secret, when one is kept here

    @property
    def entra(self) -> EntraConfig:
        return EntraConfig(self.settings.azure.authority_host, self.settings.azure.ca_bundle)

    def device(self, client_id: str, tenant: str) -> DeviceSignIn:
        """A device-code sign-in: show its code and address; `wait()` for the token (blocking)."""
        return start_device_flow(self.entra, client_id, tenant)

    def redirect(self, client_id: str, tenant: str, redirect_uri: str, *, confidential: bool) -> RedirectSignIn:
        """A paste-back sign-in; `confidential`: with the OAuth app's client secret (a Web redirect URI)."""
        secret = self._app_secret() if confidential else None
        return start_redirect(self.entra, client_id, tenant, redirect_uri, secret)

    def instance_url(self, tenant: str, client_id: str, redirect_uri: str) -> tuple[str, str]:
        """For a connection on an instance: (the address to open in a browser, the state to expect back)."""
        return authorize_url(self.settings.azure.authority_host, tenant, client_id, redirect_uri)

    @staticmethod
    def pasted(text: str, state: str, redirect_uri: str) -> dict[str, str]:
        """The answer in the address the browser landed on (or a bare code); ProblemError if none."""
        return parse_pasted(text, state, redirect_uri)
