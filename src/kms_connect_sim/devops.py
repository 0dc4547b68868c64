"""A loopback Azure DevOps: connectionData and the four read probes, with ADO's ways of failing.

`{url}/{org}/...` stands for https://dev.azure.com/{org}/... and `{url}/vsrm/{org}/...` for
https://vsrm.dev.azure.com/{org}/.... Credentials are PATs and Entra access tokens from the shared
`World` (the Entra simulator signs tokens with `world.signing_key`). The failure shapes follow the
azure.md reference: 203 + HTML sign-in page without `X-TFS-FedAuthRedirect: Suppress`, 401 with
TF400813 and WWW-Authenticate with it, a missing PAT scope as 401, and the org's tenant in
`X-VSS-ResourceTenant` on every answer, authenticated or not.
"""

from __future__ import annotations

import base64
import binascii
import functools
import random
import uuid
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote

import jwt

from .server import RecordedRequest, Response, SimServer, html_response, json_response, redirect
from .tls import TlsFiles
from .world import ADO_RESOURCE, FULL_ACCESS, READ_SCOPES, Organization, World

ADO_JSON = "application/json; charset=utf-8; api-version=7.1"
UNAUTHORIZED_TYPE = (
    "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server",
    "UnauthorizedRequestException",
)
ACCESS_CHECK_TYPE = (
    "Microsoft.TeamFoundation.Framework.Server.AccessCheckException, Microsoft.TeamFoundation.Framework.Server",
    "AccessCheckException",
)
ANONYMOUS = "TF400813: Resource not available for anonymous access. Client authentication required."
SIGN_IN_PAGE = (
    "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>"
    "<body><h1>Sign In</h1><p>Sign in to your account to continue to Azure DevOps.</p></body></html>"
)
NOT_FOUND_PAGE = (
    "<!DOCTYPE html><html><head><title>Azure DevOps Services | Page not found</title></head>"
    "<body><h1>404 - Page not found</h1></body></html>"
)
_NS = uuid.UUID("6d1a3c42-0b7e-4f58-9a51-2c8e7f1b4d90")  # stable, made-up ids per org / project


def _answer_id() -> str:
    """A fresh GUID for an answer's activity headers: a version 4 UUID's shape without uuid4's
    system call and checks (four on every answer were a tenth of the simulator's CPU)."""
    h = f"{random.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


@functools.lru_cache(maxsize=4096)  # uuid5 hashes: asked for on every answer, the same few each time
def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(p.lower() for p in parts)))


@dataclass
class Identity:
    oid: str
    kind: str  # "pat" | "user" | "app"
    tid: str
    scopes: set[str]


class _Refusal(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class DevOpsSimulator(SimServer):
    def __init__(self, world: World, tls: TlsFiles) -> None:
        super().__init__(tls)
        self.world = world
        # False: 203 + HTML sign-in page for anonymous requests; True: 302 to the sign-in site.
        self.redirect_unauthenticated: bool = False

    @property
    def devops_url(self) -> str:
        return self.url

    @property
    def release_url(self) -> str:
        return f"{self.url}/vsrm"

    # --- routing ---------------------------------------------------------------------------------
    def _split(self, request: RecordedRequest) -> tuple[bool, Organization | None, list[str]]:
        """(release host?, organization, path segments after it, URL-decoded)."""
        parts = [unquote(p) for p in request.path.split("/") if p]
        release = bool(parts) and parts[0].lower() == "vsrm"
        if release:
            parts = parts[1:]
        if not parts:
            return release, None, []
        return release, self.world.orgs.get(parts[0].lower()), parts[1:]

    def common_headers(self, request: RecordedRequest) -> dict[str, str]:
        with self.world.lock:
            _, org, _ = self._split(request)
        if org is None:
            return {}
        return {
            "X-VSS-ResourceTenant": org.tenant_id,
            "ActivityId": _answer_id(),
            "X-TFS-Session": _answer_id(),
            "X-VSS-E2EID": _answer_id(),
            "X-TFS-ProcessId": _answer_id(),
        }

    def handle(self, request: RecordedRequest) -> Response:
        with self.world.lock:
            release, org, rest = self._split(request)
            if org is None:
                return html_response(404, NOT_FOUND_PAGE)
            try:
                identity = self._authenticate(request, org)
                return self._route(request, org, identity, release, rest)
            except _Refusal as refusal:
                return refusal.response

    def _route(
        self, request: RecordedRequest, org: Organization, who: Identity, release: bool, rest: list[str]
    ) -> Response:
        lower = [p.lower() for p in rest]
        if not release and lower == ["_apis", "connectiondata"]:
            probe, project = "connectiondata", None
        elif not release and lower == ["_apis", "projects"]:
            probe, project = "projects", None
        elif not release and len(rest) == 4 and lower[1:] == ["_apis", "distributedtask", "variablegroups"]:
            probe, project = "variablegroups", rest[0]
        elif not release and len(rest) == 4 and lower[1:] == ["_apis", "serviceendpoint", "endpoints"]:
            probe, project = "serviceendpoints", rest[0]
        elif release and len(rest) == 4 and lower[1:] == ["_apis", "release", "definitions"]:
            probe, project = "release", rest[0]
        else:
            return self._ado_error(
                404,
                f"The controller for path '{request.path}' was not found or does not implement IController.",
                ("System.Web.HttpException, System.Web", "HttpException"),
            )
        if request.method != "GET":
            return self._ado_error(
                405,
                f"The requested resource does not support http method '{request.method}'.",
                ("System.Web.Http.HttpResponseException", "HttpException"),
            )
        self._check_scope(who, probe, org)
        name = None
        if project is not None:
            name = next((p for p in org.projects if p.lower() == project.lower()), None)
            if name is None:
                return self._ado_error(
                    404,
                    f"VS800075: The project with id 'vstfs:///Classification/TeamProject/"
                    f"{project}' does not exist, or you do not have permission to access it.",
                    (
                        "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistException, "
                        "Microsoft.TeamFoundation.Core.WebApi",
                        "ProjectDoesNotExistException",
                    ),
                )
        if probe in org.denied.get(who.oid, set()):
            display, _ = self.world.identity_name(who.oid)
            return self._ado_error(
                403,
                f"Access Denied: {display} needs the following permission(s) on the "
                f"resource {name or org.name} to perform this action: View project-level "
                "information",
                UNAUTHORIZED_TYPE,
            )
        base = f"{self.release_url if release else self.devops_url}/{org.name}"
        if probe == "connectiondata":
            return self._json(200, self._connection_data(org, who))
        if probe == "projects":
            return self._json(200, self._projects(org, request.query.get("$top")))
        assert name is not None
        items = {
            "variablegroups": self._variable_groups,
            "serviceendpoints": self._service_endpoints,
            "release": self._release_definitions,
        }[probe](org, name, base)
        return self._json(200, {"count": len(items), "value": items})

    # --- authentication --------------------------------------------------------------------------
    def _authenticate(self, request: RecordedRequest, org: Organization) -> Identity:
        scheme, _, credential = request.headers.get("authorization", "").strip().partition(" ")
        credential = credential.strip()
        identity = None
        if scheme.lower() == "basic" and credential:
            identity = self._from_pat(credential, org)
        elif scheme.lower() == "bearer" and credential:
            identity = self._from_jwt(credential)
        if identity is None:
            raise _Refusal(self._anonymous(request, org))
        if identity.kind != "pat" and identity.tid != org.tenant_id:
            raise _Refusal(
                self._unauthorized(
                    org, f"TF400813: The user '{identity.oid}' is not authorized to access this resource."
                )
            )
        if identity.oid not in org.members:
            if identity.kind == "app":
                tid = identity.tid
                message = (
                    f"TF401444: Sign-in at least once as {tid}\\{tid}\\{identity.oid} in a web browser to "
                    "enable access to the service."
                )
            else:
                message = f"TF400813: The user '{identity.oid}' is not authorized to access this resource."
            raise _Refusal(self._unauthorized(org, message))
        return identity

    def _from_pat(self, credential: str, org: Organization) -> Identity | None:
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None  # a stray character in the header: ADO says "anonymous", so do we
        _, _, token = decoded.rpartition(":")  # any user name is accepted, an empty one too
        pat = self.world.pats.get(token)
        if pat is None:
            return None
        if pat.expired:
            raise _Refusal(
                self._unauthorized(org, "Access Denied: The Personal Access Token used has expired.", ACCESS_CHECK_TYPE)
            )
        tid = next((u.tenant_id for u in self.world.users.values() if u.oid == pat.user_oid), "")
        return Identity(pat.user_oid, "pat", tid, set(pat.scopes))

    def _from_jwt(self, token: str) -> Identity | None:
        try:
            claims = jwt.decode(
                token,
                self.world.signing_key,
                algorithms=["HS256"],
                audience=[ADO_RESOURCE, "https://app.vssps.visualstudio.com"],
                options={"require": ["exp", "tid", "oid"]},
            )
        except jwt.PyJWTError:
            return None  # expired or forged: ADO treats it as no credential at all
        kind = "app" if claims.get("idtyp") == "app" else "user"
        return Identity(str(claims["oid"]), kind, str(claims["tid"]), set(str(claims.get("scp", "")).split()))

    def _check_scope(self, who: Identity, probe: str, org: Organization) -> None:
        if probe not in READ_SCOPES or who.kind == "app":
            return  # connectionData needs no scope; service principals get ADO permissions, not scopes
        if FULL_ACCESS in who.scopes or "user_impersonation" in who.scopes:
            return  # a full-access PAT, or an OAuth token with user_impersonation
        if who.scopes.isdisjoint(READ_SCOPES[probe]):
            # ADO reports a scope the PAT lacks exactly like a credential it refuses.
            raise _Refusal(
                self._unauthorized(org, f"TF400813: The user '{who.oid}' is not authorized to access this resource.")
            )

    # --- answers ---------------------------------------------------------------------------------
    def _json(self, status: int, obj: object, headers: dict[str, str] | None = None) -> Response:
        return json_response(status, obj, headers, content_type=ADO_JSON)

    def _ado_error(
        self, status: int, message: str, kind: tuple[str, str], headers: dict[str, str] | None = None
    ) -> Response:
        body = {
            "$id": "1",
            "innerException": None,
            "message": message,
            "typeName": kind[0],
            "typeKey": kind[1],
            "errorCode": 0,
            "eventId": 3000,
        }
        return self._json(status, body, headers)

    def _challenge(self, org: Organization) -> dict[str, str]:
        return {
            "WWW-Authenticate": f"Bearer authorization_uri=https://login.microsoftonline.com/{org.tenant_id}, "
            'Basic realm="https://tfsprod.visualstudio.com/", TFS-Federated',
            "X-TFS-FedAuthRealm": "https://tfsprod.visualstudio.com/",
            "X-TFS-FedAuthIssuer": "https://spsprodweu5.vssps.visualstudio.com/",
        }

    def _unauthorized(self, org: Organization, message: str, kind: tuple[str, str] = UNAUTHORIZED_TYPE) -> Response:
        return self._ado_error(401, message, kind, self._challenge(org))

    def _anonymous(self, request: RecordedRequest, org: Organization) -> Response:
        if request.headers.get("x-tfs-fedauthredirect", "").lower() == "suppress":
            # URL-encoded the .NET way: '+' for spaces, lower-case escapes.
            encoded = quote_plus(ANONYMOUS, safe="").replace("%3A", "%3a")
            headers = self._challenge(org) | {"X-TFS-ServiceError": encoded}
            return self._ado_error(401, ANONYMOUS, UNAUTHORIZED_TYPE, headers)
        if self.redirect_unauthenticated:
            reply = quote(f"{self.url}{request.path}", safe="")
            return redirect(
                "https://spsprodweu5.vssps.visualstudio.com/_signin?realm=dev.azure.com"
                f"&reply_to={reply}&redirect=1&context=eyJodCI6MiwiaGlkIjoi"
            )
        return html_response(203, SIGN_IN_PAGE)

    # --- bodies ----------------------------------------------------------------------------------
    def _connection_data(self, org: Organization, who: Identity) -> dict[str, object]:
        display, account = self.world.identity_name(who.oid)
        if who.kind == "app":
            descriptor = f"Microsoft.VisualStudio.Services.Claims.AadServicePrincipal;{who.tid}\\{who.oid}"
            subject = "aadsp." + base64.urlsafe_b64encode(who.oid.encode()).decode().rstrip("=")
        else:
            descriptor = f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{who.tid}\\{account}"
            subject = "aad." + base64.urlsafe_b64encode(who.oid.encode()).decode().rstrip("=")
        user = {
            "id": who.oid,
            "descriptor": descriptor,
            "subjectDescriptor": subject,
            "providerDisplayName": display,
            "isActive": True,
            "properties": {"Account": {"$type": "System.String", "$value": account}},
            "resourceVersion": 2,
            "metaTypeId": 0,
        }
        return {
            "authenticatedUser": user,
            "authorizedUser": dict(user),
            "instanceId": _stable_id("org", org.name),
            "deploymentId": _stable_id("deployment", org.name),
            "deploymentType": "hosted",
            "locationServiceData": {
                "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                "defaultAccessMappingMoniker": "PublicAccessMapping",
                "lastChangeId": 1,
                "lastChangeId64": 1,
            },
        }

    def _projects(self, org: Organization, top: str | None) -> dict[str, object]:
        names = org.projects[: int(top)] if top and top.isdigit() else org.projects
        value = [
            {
                "id": _stable_id("project", org.name, n),
                "name": n,
                "description": f"{n} services",
                "url": f"{self.devops_url}/{org.name}/_apis/projects/{_stable_id('project', org.name, n)}",
                "state": "wellFormed",
                "revision": 11,
                "visibility": "private",
                "lastUpdateTime": "2025-11-03T09:12:44.137Z",
            }
            for n in names
        ]
        return {"count": len(value), "value": value}

    def _variable_groups(self, org: Organization, project: str, base: str) -> list[dict[str, object]]:
        return [
            {
                "id": i,
                "name": f"{project.lower()}-settings-{i}",
                "type": "Vsts",
                "description": "",
                # A secret variable comes back without a value, as in ADO.
                "variables": {"ENVIRONMENT": {"value": f"env-{i}"}, "API_KEY": {"isSecret": True, "value": None}},
                "isShared": False,
                "createdOn": "2025-10-01T08:00:00Z",
                "modifiedOn": "2025-10-02T08:00:00Z",
            }
            for i in range(1, org.variable_groups + 1)
        ]

    def _service_endpoints(self, org: Organization, project: str, base: str) -> list[dict[str, object]]:
        return [
            {
                "id": _stable_id("endpoint", org.name, project, str(i)),
                "name": f"{project}-azure-{i}",
                "type": "azurerm",
                "url": "https://management.azure.com/",
                "isReady": True,
                "isShared": False,
                "authorization": {"scheme": "ServicePrincipal", "parameters": {}},
                "owner": "Library",
            }
            for i in range(1, org.service_endpoints + 1)
        ]

    def _release_definitions(self, org: Organization, project: str, base: str) -> list[dict[str, object]]:
        return [
            {
                "id": i,
                "name": f"{project} release {i}",
                "path": "\\",
                "revision": 3,
                "url": f"{base}/{_stable_id('project', org.name, project)}/_apis/Release/definitions/{i}",
            }
            for i in range(1, org.release_definitions + 1)
        ]
