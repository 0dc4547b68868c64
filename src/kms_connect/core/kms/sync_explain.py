"""Why a Secret Sync failed, in words that say what to change (issue 19).

The instance keeps a failed job's error as `lastSyncMessage`: the failed call's answer body as
compact JSON (Azure DevOps' `{$id, message, typeKey, …}`, or Entra ID's `{error, error_description,
error_codes, …}` when the connection's token could not be had), else the error's own message, cut
at 1024 characters with "..." (so its JSON is often cut short). `parse_message` reads both whole
and cut JSON; `explain_failure` turns the known failures into the write proof's words
(core/azure/write_explain) and Entra's (core/azure/explain); anything else is shown verbatim and
said to be unknown.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from kms_connect.core.advice import REPLACE_CREDENTIALS
from kms_connect.core.azure.devops_explain import DevOpsAnswer
from kms_connect.core.azure.explain import AADSTS, ERRORS, METHOD_CODES, entra_problem
from kms_connect.core.azure.write_explain import LIBRARY, MANAGE, write_refusal
from kms_connect.core.status import Method

CUT_AT = 1024  # the instance cuts lastSyncMessage there, the last three characters being "..."
_FIELD = re.compile(
    r'"(?P<key>[A-Za-z_$][\w$]*)"\s*:\s*'
    r'(?:"(?P<text>(?:[^"\\]|\\.)*)"?|\[(?P<items>[^\]]*)\]?|(?P<atom>-?\d+(?:\.\d+)?|true|false|null))'
)
_ACCESS_DENIED = re.compile(r"Access Denied: (?P<who>.+?) needs the following permission\(s\) on the resource")
_NETWORK = ("ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "socket hang up")


@dataclass(frozen=True)
class SyncContext:
    """What an explanation may name: the sync's Azure DevOps project, organization and connection."""

    devops_project: str  # its name when known, else its id
    org: str = ""  # the Azure DevOps organization ("" when the connection was not readable)
    connection: str = ""  # the connection's name
    method: Method | None = None  # the connection's method, when known
    source: str = ""  # the environment and folder, e.g. "Production (prod) /"


@dataclass(frozen=True)
class Explained:
    result: str  # a few words, e.g. "No Creator role in the Library of Platform"
    explanation: str  # what to change, and where
    known: bool  # False: the message is shown verbatim, as a failure kms-connect does not know

    def text(self) -> str:
        return f"{self.result}: {self.explanation}" if self.result else self.explanation


def is_cut(message: str) -> bool:
    return len(message) >= CUT_AT and message.endswith("...")


def parse_message(message: str) -> dict[str, Any] | None:
    """The JSON object in a lastSyncMessage, or None when it holds none. A body the instance cut
    short gives the fields that survived the cut (a string cut in two keeps its first part)."""
    text = message.strip()
    if not text.startswith("{"):
        return None
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict):
        return whole
    found: dict[str, Any] = {}
    for match in _FIELD.finditer(text):
        key = match["key"]
        if key in found:
            continue  # the first is the outer one, as bodies are written (an inner exception comes later)
        if match["text"] is not None:
            found[key] = _unescape(match["text"])
        elif match["items"] is not None:
            found[key] = [int(i) for i in re.findall(r"-?\d+", match["items"])]
        else:
            found[key] = json.loads(match["atom"])
    return found or None


def _unescape(raw: str) -> str:
    cut = raw[:-3] if raw.endswith("...") else raw
    for candidate in (cut, cut.rstrip("\\"), re.sub(r"\\u[0-9a-fA-F]{0,3}$", "", cut)):
        try:
            return str(json.loads(f'"{candidate}"'))
        except ValueError:
            continue
    return cut


def explain_failure(message: str | None, ctx: SyncContext) -> Explained | None:
    """The failure a lastSyncMessage reports, explained; None when there is no message."""
    if not message or not message.strip():
        return None
    data = parse_message(message)
    if data is not None and ("error_codes" in data or "error_description" in data):
        found = _entra(data, ctx)
    elif data is not None and isinstance(data.get("message"), str) and ("typeKey" in data or "$id" in data):
        found = _devops(data, ctx)
    elif data is None:
        found = _plain(message, ctx)
    else:
        found = None
    return found or unknown(message)


def unknown(message: str) -> Explained:
    cut = " (cut at 1024 characters by the instance)" if is_cut(message) else ""
    return Explained(
        "Not a failure kms-connect knows",
        f"The instance's message, verbatim{cut}: {message}",
        known=False,
    )


def _entra(data: dict[str, Any], ctx: SyncContext) -> Explained | None:
    """The connection's token could not be had (an OAuth grant revoked or expired, a client secret
    expired or wrong): Entra ID's answer, as the checks explain it."""
    problem = entra_problem(data)
    codes = [c for c in problem.codes if c in AADSTS or c in METHOD_CODES]
    if not codes and str(data.get("error") or "") not in ERRORS:
        return None
    who = f"The connection {ctx.connection}" if ctx.connection else "The connection"
    return Explained(problem.result, f"{who} could not get an Azure DevOps token. {problem.text()}", known=True)


def _devops(data: dict[str, Any], ctx: SyncContext) -> Explained | None:
    """Azure DevOps refused a call of the job (list, create or replace the variable group)."""
    message, type_key = str(data.get("message") or ""), str(data.get("typeKey") or "")
    lower = message.lower()
    conn = f"of the connection {ctx.connection} " if ctx.connection else ""
    if "personal access token" in lower and "expired" in lower:
        return Explained(
            "Token expired",
            f"The personal access token {conn}has expired. Create a new one in Azure DevOps (User settings → "
            f"Personal access tokens) with Variable Groups: Read, create & manage ({MANAGE}). Then "
            f"{REPLACE_CREDENTIALS}.",
            known=True,
        )
    if "at least one variable" in lower:
        source = ctx.source or "the sync's environment and folder"
        return Explained(
            "No secrets to sync",
            f"{source} holds no secrets, and Azure DevOps refuses a variable group without variables. Add a "
            "secret there, or point the sync at the folder that holds them.",
            known=True,
        )
    kind = _kind(ctx.method) if ctx.method else None
    denied = _ACCESS_DENIED.search(message)
    if denied or type_key == "AccessCheckException":
        op = "create" if message.rstrip(". ").endswith("Create") else "update"
        status = 403
    elif "VS800075" in message or "TF200016" in message or type_key.startswith("ProjectDoesNotExist"):
        op, status = "read", 404
    elif "TF400813" in message or type_key == "UnauthorizedRequestException":
        op, status = "update", 401
        if kind is None:
            return None  # a PAT's missing scope and a sign-in's say different things: not guessed
    else:
        return None
    answer = DevOpsAnswer(status=status, content_type="application/json", message=message, type_key=type_key)
    who = denied["who"] if denied else ""
    problem = write_refusal(
        answer, op, project=ctx.devops_project, org=ctx.org or "the organization", who=who, kind=kind or "app"
    )
    explanation = problem.explanation
    if status == 403 and LIBRARY in explanation:
        explanation += " Then run the sync again."
    return Explained(problem.result, explanation, known=True)


def _kind(method: Method) -> str:
    """As write_explain names identities: a PAT, a person's sign-in ("user"), a service principal ("app")."""
    spec = method.spec
    return "pat" if spec.token is None else "user" if spec.needs_oauth_app else "app"


def _plain(message: str, ctx: SyncContext) -> Explained | None:
    """A message that is not an answer body: the job's own error."""
    if "is not iterable" in message:  # the group list came back as a page, not JSON
        return Explained(
            "Sign-in page instead of data",
            "Azure DevOps answered the job with its sign-in page: it did not accept the connection's "
            f"credentials (a revoked or deleted token, or one of another organization). {REPLACE_CREDENTIALS}.",
            known=True,
        )
    if "environment variables have not been configured" in message:
        return Explained(
            "OAuth not configured on the instance",
            "The instance has no Azure DevOps OAuth app (INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID and _SECRET), "
            "so it cannot renew the connection's sign-in. Set them on the instance, or use another method.",
            known=True,
        )
    if "folder no longer exists" in message:
        return Explained(
            "Source folder gone",
            "The sync's environment or secret path no longer exists in KMS. Edit the sync to point at an existing one.",
            known=True,
        )
    if any(code in message for code in _NETWORK):
        return Explained(
            "Azure DevOps not reached",
            f"The instance could not reach Azure DevOps or Entra ID ({message}). Check the instance's "
            "outbound network and proxy, then run the sync again.",
            known=True,
        )
    return None
