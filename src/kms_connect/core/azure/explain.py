"""What Entra ID answers and network failures mean, in words that say what to change.

Every explanation names the form field it concerns (so the form can highlight it) and, for
Entra, carries the trace and correlation IDs operators quote to Microsoft support. Azure DevOps
answers are explained in core/azure/devops_explain, with the same `Problem`.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from kms_connect.core.advice import REPLACE_CREDENTIALS
from kms_connect.core.methods import SPECS

PORTAL = "Entra admin center → App registrations"


@dataclass
class Problem:
    """A failure explained: a short result, what to do, the related field, support IDs."""

    result: str
    explanation: str
    field: str | None = None
    ids: str = ""
    warning: bool = False  # a concern, not a failure
    codes: tuple[int, ...] = ()  # Entra's AADSTS codes, when Entra answered

    def text(self) -> str:
        return f"{self.explanation} {self.ids}".strip()


class ProblemError(Exception):
    """Raised inside a check step; carries the explanation (never a secret or a traceback)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.result)
        self.problem = problem


# --- Entra ID ----------------------------------------------------------------------------------
# code -> (short result, what to change, field). A method's own credential adds its codes in its
# spec (core/methods: `entra_errors`, e.g. a rejected client secret).
AADSTS: dict[int, tuple[str, str, str | None]] = {
    700016: (
        "App not found in this tenant",
        "No application with this Client ID exists in this tenant. Check the Application (client) ID on "
        "the app registration's Overview page, and that the Tenant ID is the directory it lives in.",
        "client_id",
    ),
    90002: (
        "Tenant not found",
        "Entra ID knows no tenant with this ID. Copy the Directory (tenant) ID from the app registration's "
        "Overview page.",
        "tenant_id",
    ),
    900023: (
        "Tenant ID malformed",
        "This is neither a tenant GUID nor a domain. Use the Directory (tenant) ID, a GUID.",
        "tenant_id",
    ),
    90023: ("Tenant ID malformed", "Use the Directory (tenant) ID, a GUID.", "tenant_id"),
    50020: (
        "Account not in this tenant",
        "You signed in with an account from another directory. Sign in with an account of this tenant, or "
        "have it invited as a guest.",
        "tenant_id",
    ),
    65001: (
        "Consent missing",
        "Nobody has consented to this app's Azure DevOps permission in this tenant. An administrator must "
        f"grant admin consent ({PORTAL} → API permissions → Grant admin consent).",
        None,
    ),
    65004: (
        "Consent declined",
        "The sign-in declined the permissions the app asked for. Sign in again and accept them.",
        None,
    ),
    650057: (
        "Azure DevOps permission not requested",
        "The app registration does not request Azure DevOps. Add it under API permissions → Add a "
        "permission → Azure DevOps, then grant consent.",
        None,
    ),
    500011: (
        "Azure DevOps unknown in this tenant",
        "This tenant has no Azure DevOps service principal: the tenant is not connected to Azure DevOps, "
        "or the Tenant ID is wrong. Use the tenant your Azure DevOps organization is connected to.",
        "tenant_id",
    ),
    7000218: (
        "Public client flows not allowed",
        'Signing in with a device code (or without a secret) needs "Allow public client flows" = Yes on '
        f"the app registration ({PORTAL} → Authentication → Advanced settings), or use Browser redirect "
        "with the app's client secret set (kms-connect oauth-secret set).",
        None,
    ),
    700025: (
        "Secret sent for a public client",
        "The redirect URI is registered as Mobile and desktop (a public client), so no secret may be sent. "
        "Either register [oauth] redirect_uri under the Web platform, or remove the app's client secret "
        "from kms-connect (kms-connect oauth-secret clear).",
        None,
    ),
    50011: (
        "Redirect URI not registered",
        "The redirect URI kms-connect uses is not registered on the app. Add it exactly (see [oauth] "
        "redirect_uri) under Authentication: as a Web redirect URI when kms-connect holds the app's client "
        "secret, otherwise under Mobile and desktop applications.",
        None,
    ),
    501481: (
        "PKCE mismatch",
        "The code was issued for a different sign-in. Start the sign-in again and paste the new address.",
        None,
    ),
    50148: (
        "PKCE mismatch",
        "The code was issued for a different sign-in. Start the sign-in again and paste the new address.",
        None,
    ),
    54005: (
        "Code already used",
        "An authorization code works once, for a few minutes. Start the sign-in again and paste the new address.",
        None,
    ),
    70018: ("Wrong device code", "The code typed on the sign-in page was not recognised. Start again.", None),
    70019: (
        "Device code expired",
        "Nobody finished the sign-in before the code expired (15 minutes). Start the sign-in again.",
        None,
    ),
    70000: ("Sign-in declined", "The sign-in was declined on the other device. Start again to retry.", None),
    50076: (
        "MFA required",
        "Your organization requires multi-factor authentication for this sign-in. Complete it on the sign-in "
        "page; a device-code or redirect sign-in supports MFA.",
        None,
    ),
    50079: (
        "MFA registration required",
        "The account must register for multi-factor authentication first (aka.ms/mfasetup), then sign in again.",
        None,
    ),
    53003: (
        "Blocked by Conditional Access",
        "A Conditional Access policy blocked this sign-in (e.g. device code flows or this location are not "
        "allowed). Ask your Entra administrator, quoting the IDs below.",
        None,
    ),
    700082: (
        "Sign-in expired",
        f"The saved sign-in (refresh token) has expired. {REPLACE_CREDENTIALS} and sign in again.",
        None,
    ),
    70008: (
        "Sign-in expired",
        f"The saved sign-in has expired or was revoked. {REPLACE_CREDENTIALS} and sign in again.",
        None,
    ),
    50173: (
        "Sign-in revoked",
        f"The saved sign-in was revoked (password change?). {REPLACE_CREDENTIALS} and sign in again.",
        None,
    ),
    70043: (
        "Sign-in too old",
        f"A sign-in frequency policy requires signing in again. {REPLACE_CREDENTIALS}.",
        None,
    ),
    50194: (
        "Single-tenant app",
        "The app is single-tenant: use its own Tenant ID rather than common/organizations.",
        "tenant_id",
    ),
    70011: ("Scope rejected", "Entra ID rejected the Azure DevOps scope. Report this, quoting the IDs below.", None),
}

METHOD_CODES = {code: known for spec in SPECS for code, known in spec.entra_errors.items()}

ERRORS: dict[str, tuple[str, str]] = {
    "authorization_declined": ("Sign-in declined", AADSTS[70000][1]),
    "expired_token": ("Device code expired", AADSTS[70019][1]),
    "bad_verification_code": ("Wrong device code", AADSTS[70018][1]),
    "access_denied": ("Sign-in declined", AADSTS[65004][1]),
    "consent_required": ("Consent missing", AADSTS[65001][1]),
    "interaction_required": (
        "Interactive sign-in required",
        "Entra ID wants more from the user (MFA, consent, terms). Sign in again.",
    ),
    "invalid_client": ("Client rejected", "Entra ID rejected the app's credentials."),
    "unauthorized_client": ("App not allowed", AADSTS[700016][1]),
}


def entra_problem(error: dict[str, Any]) -> Problem:
    """Explain an msal error dict (or the same shape from a pasted redirect URL)."""
    codes = [int(c) for c in error.get("error_codes") or [] if str(c).isdigit()]
    desc = str(error.get("error_description") or "")
    if not codes:
        codes = [int(m) for m in re.findall(r"AADSTS(\d+)", desc)]
    name = str(error.get("error") or "error")
    first_line = desc.split("\r\n")[0].split("\n")[0].strip()
    result, explanation, field_ = f"Entra ID: {name}", first_line or "Entra ID refused the request.", None
    for code in codes:
        if code in AADSTS or code in METHOD_CODES:
            result, explanation, field_ = AADSTS.get(code) or METHOD_CODES[code]
            break
    else:
        if name in ERRORS:
            result, explanation = ERRORS[name]
    code_txt = f"AADSTS{codes[0]}" if codes else name
    return Problem(f"{result} ({code_txt})", explanation, field_, ids=entra_ids(error), codes=tuple(codes))


def entra_ids(error: dict[str, Any]) -> str:
    parts = []
    if error.get("trace_id"):
        parts.append(f"Trace ID {error['trace_id']}")
    if error.get("correlation_id"):
        parts.append(f"Correlation ID {error['correlation_id']}")
    return ("(" + ", ".join(parts) + ")") if parts else ""


# --- Transport ---------------------------------------------------------------------------------
_DNS_WORDS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated",
    "name resolution",
)


def transport_problem(exc: BaseException, service: str, url_hint: str, config_key: str) -> Problem:
    """DNS, TLS, refused, timeouts: what to check on this box."""

    chain = _chain(exc)
    host = url_hint
    if isinstance(exc, httpx.ConnectTimeout):
        return Problem(
            f"{service}: connect timed out",
            f"No connection to {host} within the connect timeout. A firewall or a missing proxy "
            "(HTTPS_PROXY) is the usual cause on servers.",
            None,
        )
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)):
        return Problem(
            f"{service}: no answer in time",
            f"{host} accepted the connection but did not answer within the read timeout. It may be "
            "overloaded; try again later.",
            None,
        )
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return Problem(
            f"{service}: TLS certificate not trusted",
            f"The certificate of {host} is not trusted by this box. Behind a TLS-inspecting proxy, "
            "set [azure] ca_bundle to the PEM file of your corporate CA.",
            None,
        )
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return Problem(
            f"{service}: TLS failed",
            f"The TLS handshake with {host} failed: {_short(exc)}. Check [azure] ca_bundle and any proxy in between.",
            None,
        )
    text = " ".join(str(e) for e in chain).lower()
    if any(s in text for s in _DNS_WORDS):
        return Problem(
            f"{service}: host name not found",
            f"This box cannot resolve {host}. Check DNS, or {config_key} in the config file.",
            None,
        )
    if "refused" in text or any(isinstance(e, ConnectionRefusedError) for e in chain):
        return Problem(
            f"{service}: connection refused",
            f"{host} refused the connection. Check {config_key} and any proxy settings.",
            None,
        )
    if "reset" in text or any(isinstance(e, ConnectionResetError) for e in chain):
        return Problem(
            f"{service}: connection reset",
            f"{host} (or something between, such as a proxy or firewall) reset the connection without "
            "answering. It may be restarting or overloaded; check again later.",
            None,
        )
    if "without sending a response" in text:
        return Problem(
            f"{service}: connection closed without an answer",
            f"{host} closed the connection without answering. It may be restarting or overloaded; check again later.",
            None,
        )
    if any(w in text for w in _CUT_OFF):
        return Problem(
            f"{service}: answer cut off",
            f"{host} closed the connection in the middle of its answer. It may be restarting or overloaded; "
            "check again later.",
            None,
        )
    if isinstance(exc, httpx.ProxyError):
        return Problem(f"{service}: proxy failed", f"The proxy refused or failed: {_short(exc)}. Check HTTPS_PROXY.")
    return Problem(f"{service}: network error", f"Could not talk to {host}: {_short(exc)}.", None)


_CUT_OFF = ("without sending a response", "disconnected", "peer closed connection", "incomplete")


def is_transient(exc: BaseException) -> bool:
    """Whether another try may well work: a timeout, a refused, reset or unanswered connection.

    Not TLS, an unknown host name, a proxy's refusal or a malformed answer: those say what to fix,
    and trying again only makes the operator wait for the same answer."""
    if isinstance(exc, httpx.PoolTimeout):
        return False  # our own pool is full: another try waits in the same queue
    if isinstance(exc, httpx.TimeoutException):
        return True
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ssl.SSLError) for e in chain) or "certificate" in text or isinstance(exc, httpx.ProxyError):
        return False
    if isinstance(exc, httpx.ConnectError):
        # DNS: only "try again later" (EAI_AGAIN) is worth another try; "no such name" is not.
        return "temporary failure in name resolution" in text or not any(s in text for s in _DNS_WORDS)
    if isinstance(exc, (httpx.ReadError, httpx.WriteError)):
        return True
    # Hung up before or during the answer; not an answer that is no HTTP (that would come again).
    return isinstance(exc, httpx.RemoteProtocolError) and any(w in text for w in _CUT_OFF)


def not_sent(exc: BaseException) -> bool:
    """Whether the request certainly never reached the server (no connection was made), so even a
    request that changes something may be sent again."""
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)) and is_transient(exc)


def tries_text(tries: int, seconds: float) -> str:
    return f"{tries} tries over {seconds:.1f} s"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0][:160]
