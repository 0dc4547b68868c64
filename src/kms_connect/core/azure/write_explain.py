"""Why Azure DevOps refused a step of the write proof, in words that say what to change and where.

A refusal has three usual causes, told apart by the answer:
- a personal access token or an OAuth sign-in without the scope (401: a PAT's scopes, or the
  token's `scp`); a service principal's token is never scope-limited;
- no Library role for the identity in the project (403): Creator to create groups, Administrator
  on a group to change or delete it (the creator of a group is always its Administrator);
- a project the identity cannot see (404): a service principal never added to it.
Anything else (an expired or revoked credential, a sign-in page) is worded as every probe's is
(devops_explain).
"""

from __future__ import annotations

from kms_connect.core.azure.devops_explain import DevOpsAnswer, devops_problem
from kms_connect.core.azure.explain import Problem

MANAGE = "vso.variablegroups_manage"
LIBRARY = "Pipelines → Library → Security"
NOT_VISIBLE = ("VS800075", "TF200016")
WHAT = {"create": "create", "read": "read", "update": "change", "delete": "delete"}


def write_refusal(answer: DevOpsAnswer, op: str, *, project: str, org: str, who: str, kind: str) -> Problem:
    """`op`: create, read, update or delete; `kind`: "pat", "user" (an OAuth sign-in) or "app" (a
    service principal); `who`: the identity, as the check's credentials step named it."""
    ids = f"(ActivityId {answer.activity_id})" if answer.activity_id else ""
    verb = WHAT[op]
    if answer.status == 404 or any(code in answer.message for code in NOT_VISIBLE):
        return Problem(
            f"Project {project} not visible",
            f"{who or 'The identity'} cannot see the project {project} in {org}. "
            + (
                "Add the service principal to the project (Project settings → Permissions → Contributors, "
                "or Teams), then prove again."
                if kind == "app"
                else "Give it access to the project (Project settings → Permissions), or fix the target's name."
            ),
            ids=ids,
        )
    expired = "expired" in answer.message.lower() or "revoked" in answer.message.lower()
    if answer.status == 401 and not expired and kind == "pat":
        return Problem(
            f"The PAT may not {verb} variable groups",
            f"The personal access token lacks the scope {MANAGE} (Variable Groups: Read, create & manage), "
            f"which a secret sync needs to {verb} variable groups. Edit the token (User settings → Personal "
            "access tokens → Edit), tick Variable Groups: Read, create & manage, and prove again.",
            ids=ids,
        )
    if answer.status == 401 and not expired and kind == "user":
        return Problem(
            f"The sign-in may not {verb} variable groups",
            f"The OAuth token does not carry {MANAGE}. Add it to the app registration's API permissions "
            "(Azure DevOps → Delegated → vso.variablegroups_manage), grant consent, sign in again and prove "
            "again.",
            ids=ids,
        )
    if answer.status == 403:
        if op == "create":
            return Problem(
                f"No Creator role in the Library of {project}",
                f"{who or 'The identity'} may not create variable groups in {project}: it needs the Creator role "
                f"(or Administrator) in the project's Library. In {project}, open {LIBRARY}, add it and give it "
                "Creator.",
                ids=ids,
            )
        return Problem(
            f"No Administrator role on the group in {project}",
            f"{who or 'The identity'} may not {verb} the variable group: that needs the Administrator role on "
            f"it. In {project}, open {LIBRARY} (for every group) or the group's own Security, and give it "
            "Administrator.",
            ids=ids,
        )
    return devops_problem(answer, f"Variable group {op}", org=org, bearer=kind != "pat")


def left_behind_text(group: str, project: str, url: str) -> str:
    """What the operator must know of a probe group the proof could not delete."""
    return (
        f"The probe group {group} is left in {project}: delete it by hand at {url}, or run the proof again "
        "once the identity may delete it (kms-connect tries first)."
    )


def not_proven_note(project: str, existing: int) -> str:
    """What a passing proof does not prove, when the project already holds groups."""
    groups = f"{existing} variable group{'s' if existing != 1 else ''}"
    return (
        f"{project} already holds {groups}. The proof shows the identity can create groups and change and "
        "delete its own (a creator is its group's Administrator). A sync into a group someone else created "
        f"needs the Administrator role on that group: {LIBRARY}, or the group's own Security."
    )
