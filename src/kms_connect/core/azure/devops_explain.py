"""What Azure DevOps answers mean, in words that say what to change.

Every explanation names the form field it concerns (so the form can highlight it) and carries
the ActivityId operators quote to Microsoft support.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kms_connect.core.azure.explain import Problem


@dataclass
class DevOpsAnswer:
    """The parts of an Azure DevOps reply an explanation needs (never the Authorization header)."""

    status: int
    content_type: str
    message: str = ""
    type_key: str = ""
    tenant: str | None = None
    retry_after: str | None = None
    activity_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def devops_problem(answer: DevOpsAnswer, what: str, *, org: str, bearer: bool) -> Problem:
    """Explain a non-success answer to a probe of `what` (e.g. "Release definitions")."""
    msg, status = answer.message, answer.status
    ids = f"(ActivityId {answer.activity_id})" if answer.activity_id else ""
    cred_field = None if bearer else "access_token"
    if "TF401444" in msg:
        return Problem(
            "Service principal not in the organization (TF401444)",
            f"Entra ID issued a token, but the service principal is not a user of {org}. Add it in "
            f"Azure DevOps: Organization settings → Users → Add users, pick the app, and give it access "
            "to the projects.",
            None,
            ids,
        )
    if "VS800075" in msg:
        return Problem(
            "Project not visible (VS800075)",
            "The project does not exist, or this identity has no permission to see it. Add the "
            "identity to the project (Project settings → Permissions).",
            None,
            ids,
        )
    if status == 401 and "expired" in msg.lower():
        return Problem(
            "Token expired",
            "This personal access token has expired. Create a new one (User "
            "settings → Personal access tokens) and paste it here.",
            cred_field,
            ids,
        )
    if status == 203 or (status == 200 and "text/html" in answer.content_type):
        return Problem(
            "Sign-in page instead of data (not authenticated)",
            "Azure DevOps answered with its sign-in page: the credentials were not accepted.",
            cred_field,
            ids,
        )
    if 300 <= status < 400:
        return Problem(
            f"Redirected to sign-in ({status})",
            "Azure DevOps redirected to a sign-in page: the credentials were not accepted.",
            cred_field,
            ids,
        )
    if status == 401:
        detail = f" ({msg})" if msg else ""
        if what != "connection":
            return Problem(
                f"{what}: not allowed (401)",
                f"The credentials work, but not for {what.lower()}. For a PAT, add the read scope for "
                f"this area; for OAuth, the app's Azure DevOps permissions; a service principal needs "
                f"access in Azure DevOps.{detail}",
                cred_field,
                ids,
            )
        if bearer:
            return Problem(
                "Token rejected (TF400813)" if "TF400813" in msg else "Token rejected (401)",
                f"Azure DevOps did not accept the Entra token for {org}: the account or service "
                f"principal is not a member of this organization, or it belongs to another tenant.",
                None,
                ids,
            )
        return Problem(
            "Token rejected (401)",
            f"Azure DevOps did not accept this personal access token for {org}. Check it was copied "
            "whole, that it is not revoked, and that it was created for this organization.",
            cred_field,
            ids,
        )
    if status == 403:
        return Problem(
            f"{what}: access denied (403)",
            f"The credentials are valid but lack a permission: {msg or 'access denied'}. Grant it in "
            "Azure DevOps (Project settings → Permissions).",
            None,
            ids,
        )
    if status == 404:
        return Problem(f"{what}: not found (404)", msg or "Azure DevOps answered 404.", None, ids)
    if status == 429:
        return Problem(
            "Rate limited (429)",
            f"Azure DevOps kept asking to slow down (Retry-After {answer.retry_after or '?'} s). Re-check later.",
            None,
            ids,
        )
    if status >= 500:
        return Problem(
            f"Azure DevOps error ({status})",
            "Azure DevOps failed after several retries. Check status.dev.azure.com and re-check later.",
            None,
            ids,
        )
    return Problem(
        f"Unexpected answer ({status})",
        msg or "Azure DevOps gave an answer kms-connect does not understand.",
        None,
        ids,
    )
