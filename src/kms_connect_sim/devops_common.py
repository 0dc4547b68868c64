"""What every Azure DevOps answer of the simulator shares: the caller's identity, ADO's JSON error
body, the 401 challenge, the scope check and the "no such project" answer. Used by devops.py (the
probes) and devops_library.py (variable groups)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .library import in_project
from .server import RecordedRequest, Response, json_response
from .world import FULL_ACCESS, SCOPES, Organization

ADO_JSON = "application/json; charset=utf-8; api-version=7.1"
UNAUTHORIZED_TYPE = (
    "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server",
    "UnauthorizedRequestException",
)
ACCESS_CHECK_TYPE = (
    "Microsoft.TeamFoundation.Framework.Server.AccessCheckException, Microsoft.TeamFoundation.Framework.Server",
    "AccessCheckException",
)
PROJECT_NAME_MISSING_TYPE = (
    "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistWithNameException, Microsoft.TeamFoundation.Core.WebApi",
    "ProjectDoesNotExistWithNameException",
)
ARGUMENT_TYPE = ("System.ArgumentException, mscorlib", "ArgumentException")
PROJECT_MISSING_TYPE = (
    "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistException, Microsoft.TeamFoundation.Core.WebApi",
    "ProjectDoesNotExistException",
)


@dataclass
class Identity:
    oid: str
    kind: str  # "pat" | "user" | "app"
    tid: str
    scopes: set[str]


class Refusal(Exception):
    """Raised anywhere in a request's handling: its response is the answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def answer_id() -> str:
    """A fresh GUID for an answer's activity headers: a version 4 UUID's shape without uuid4's
    system call and checks (four on every answer were a tenth of the simulator's CPU)."""
    h = f"{random.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def ado_json(status: int, obj: object, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, obj, headers, content_type=ADO_JSON)


def ado_error(status: int, message: str, kind: tuple[str, str], headers: dict[str, str] | None = None) -> Response:
    """ADO's error body (azure.md §4.3): `$id`, `message`, `typeName`, `typeKey`, `errorCode`, `eventId`."""
    body = {
        "$id": "1",
        "innerException": None,
        "message": message,
        "typeName": kind[0],
        "typeKey": kind[1],
        "errorCode": 0,
        "eventId": 3000,
    }
    return ado_json(status, body, headers)


def challenge(org: Organization) -> dict[str, str]:
    return {
        "WWW-Authenticate": f"Bearer authorization_uri=https://login.microsoftonline.com/{org.tenant_id}, "
        'Basic realm="https://tfsprod.visualstudio.com/", TFS-Federated',
        "X-TFS-FedAuthRealm": "https://tfsprod.visualstudio.com/",
        "X-TFS-FedAuthIssuer": "https://spsprodweu5.vssps.visualstudio.com/",
    }


def unauthorized(org: Organization, message: str, kind: tuple[str, str] = UNAUTHORIZED_TYPE) -> Response:
    return ado_error(401, message, kind, challenge(org))


def check_scope(who: Identity, operation: str, org: Organization) -> None:
    """Refuses a PAT or user token whose scopes do not allow `operation` (a key of world.SCOPES)."""
    if operation not in SCOPES or who.kind == "app":
        return  # connectionData needs no scope; service principals get ADO permissions, not scopes
    if FULL_ACCESS in who.scopes or "user_impersonation" in who.scopes:
        return  # a full-access PAT, or an OAuth token with user_impersonation
    if who.scopes.isdisjoint(SCOPES[operation]):
        # ADO reports a scope the PAT lacks exactly like a credential it refuses (azure.md §4.3).
        raise Refusal(unauthorized(org, f"TF400813: The user '{who.oid}' is not authorized to access this resource."))


def project_not_found(key: str) -> Response:
    """VS800075, ADO's answer for a project that does not exist or that the caller may not see."""
    return ado_error(
        404,
        f"VS800075: The project with id 'vstfs:///Classification/TeamProject/{key}' does not exist, "
        "or you do not have permission to access it.",
        PROJECT_MISSING_TYPE,
    )


def resolve_project(org: Organization, who: Identity, key: str) -> str:
    """The project named or identified by `key`, or the 404 of one that does not exist. A project the
    identity was not added to answers the same: VS800075's own words ("or you do not have
    permission to access it") cover both, and reports of it are of both."""
    project = org.find_project(key)
    if project is None or not in_project(org, who.oid, project):
        raise Refusal(project_not_found(key))
    return project


def probe_denied(display: str, resource: str) -> Response:
    """The 403 of a probe listed in `Organization.denied`: an ADO permission the identity lacks (azure.md §4.3)."""
    message = (
        f"Access Denied: {display} needs the following permission(s) on the resource {resource} to perform "
        "this action: View project-level information"
    )
    return ado_error(403, message, UNAUTHORIZED_TYPE)


def method_not_allowed(request: RecordedRequest) -> Response:
    return ado_error(
        405,
        f"The requested resource does not support http method '{request.method}'.",
        ("System.Web.Http.HttpResponseException", "HttpException"),
    )
