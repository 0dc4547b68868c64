"""A loopback Azure DevOps: connectionData, the read probes, projects in pages and variable groups
(devops_library.py), with ADO's ways of failing.

`{url}/{org}/...` stands for https://dev.azure.com/{org}/... and `{url}/vsrm/{org}/...` for
https://vsrm.dev.azure.com/{org}/.... Credentials are PATs and Entra access tokens from the shared
`World` (the Entra simulator signs tokens with `world.signing_key`). The failure shapes follow the
azure.md reference: 203 + HTML sign-in page without `X-TFS-FedAuthRedirect: Suppress`, 401 with
TF400813 and WWW-Authenticate with it, a missing PAT scope as 401, and the org's tenant in
`X-VSS-ResourceTenant` on every answer, authenticated or not. A project the caller was not added
to is, to it, a project that does not exist (library.py: `Organization.project_members`).
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote, quote_plus, unquote

import jwt

from .devops_common import (
    ACCESS_CHECK_TYPE,
    ARGUMENT_TYPE,
    PROJECT_NAME_MISSING_TYPE,
    UNAUTHORIZED_TYPE,
    Identity,
    Refusal,
    ado_error,
    ado_json,
    answer_id,
    challenge,
    check_scope,
    method_not_allowed,
    probe_denied,
    resolve_project,
    unauthorized,
)
from .devops_library import VariableGroupRoutes
from .library import visible_projects
from .server import RecordedRequest, Response, SimServer, html_response, redirect
from .tls import TlsFiles
from .world import ADO_RESOURCE, Organization, World, stable_id

ANONYMOUS = "TF400813: Resource not available for anonymous access. Client authentication required."
SIGN_IN_PAGE = (
    "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>"
    "<body><h1>Sign In</h1><p>Sign in to your account to continue to Azure DevOps.</p></body></html>"
)
NOT_FOUND_PAGE = (
    "<!DOCTYPE html><html><head><title>Azure DevOps Services | Page not found</title></head>"
    "<body><h1>404 - Page not found</h1></body></html>"
)
PROJECTS_PAGE = 100  # what `_apis/projects` answers without $top (the .NET client's docs: "default: 100")
VARIABLE_GROUPS = ["_apis", "distributedtask", "variablegroups"]


class DevOpsSimulator(VariableGroupRoutes, SimServer):
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
            "ActivityId": answer_id(),
            "X-TFS-Session": answer_id(),
            "X-VSS-E2EID": answer_id(),
            "X-TFS-ProcessId": answer_id(),
        }

    def handle(self, request: RecordedRequest) -> Response:
        with self.world.lock:
            release, org, rest = self._split(request)
            if org is None:
                return html_response(404, NOT_FOUND_PAGE)
            try:
                identity = self._authenticate(request, org)
                return self._route(request, org, identity, release, rest)
            except Refusal as refusal:
                return refusal.response

    def _route(
        self, request: RecordedRequest, org: Organization, who: Identity, release: bool, rest: list[str]
    ) -> Response:
        lower = [p.lower() for p in rest]
        if not release and lower[:3] == VARIABLE_GROUPS and len(rest) <= 4:  # org level: create, update, delete
            return self._variable_groups_call(request, org, who, None, rest[3] if len(rest) == 4 else None)
        if not release and len(rest) in (4, 5) and lower[1:4] == VARIABLE_GROUPS:  # project level
            return self._variable_groups_call(request, org, who, rest[0], rest[4] if len(rest) == 5 else None)
        project: str | None = None
        if not release and lower == ["_apis", "connectiondata"]:
            probe = "connectiondata"
        elif not release and lower == ["_apis", "projects"]:
            probe = "projects"
        elif not release and len(rest) == 3 and lower[:2] == ["_apis", "projects"]:
            probe = "project"
        elif not release and len(rest) == 4 and lower[1:] == ["_apis", "serviceendpoint", "endpoints"]:
            probe, project = "serviceendpoints", rest[0]
        elif release and len(rest) == 4 and lower[1:] == ["_apis", "release", "definitions"]:
            probe, project = "release", rest[0]
        else:
            return ado_error(
                404,
                f"The controller for path '{request.path}' was not found or does not implement IController.",
                ("System.Web.HttpException, System.Web", "HttpException"),
            )
        if request.method != "GET":
            return method_not_allowed(request)
        check_scope(who, "projects" if probe == "project" else probe, org)
        name = None if project is None else resolve_project(org, who, project)
        if probe in org.denied.get(who.oid, set()):
            return probe_denied(self.world.identity_name(who.oid)[0], name or org.name)
        base = f"{self.release_url if release else self.devops_url}/{org.name}"
        if probe == "connectiondata":
            return ado_json(200, self._connection_data(org, who))
        if probe == "projects":
            return self._projects(org, who, request.query)
        if probe == "project":
            return self._project(org, who, rest[2])
        assert name is not None
        items = {"serviceendpoints": self._service_endpoints, "release": self._release_definitions}[probe](
            org, name, base
        )
        return ado_json(200, {"count": len(items), "value": items})

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
            raise Refusal(self._anonymous(request, org))
        if identity.kind != "pat" and identity.tid != org.tenant_id:
            raise Refusal(
                unauthorized(org, f"TF400813: The user '{identity.oid}' is not authorized to access this resource.")
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
            raise Refusal(unauthorized(org, message))
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
            raise Refusal(
                unauthorized(org, "Access Denied: The Personal Access Token used has expired.", ACCESS_CHECK_TYPE)
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

    # --- answers ---------------------------------------------------------------------------------
    def _anonymous(self, request: RecordedRequest, org: Organization) -> Response:
        if request.headers.get("x-tfs-fedauthredirect", "").lower() == "suppress":
            # URL-encoded the .NET way: '+' for spaces, lower-case escapes.
            encoded = quote_plus(ANONYMOUS, safe="").replace("%3A", "%3a")
            headers = challenge(org) | {"X-TFS-ServiceError": encoded}
            return ado_error(401, ANONYMOUS, UNAUTHORIZED_TYPE, headers)
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
            "instanceId": stable_id("org", org.name),
            "deploymentId": stable_id("deployment", org.name),
            "deploymentType": "hosted",
            "locationServiceData": {
                "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                "defaultAccessMappingMoniker": "PublicAccessMapping",
                "lastChangeId": 1,
                "lastChangeId64": 1,
            },
        }

    def _project_item(self, org: Organization, name: str) -> dict[str, object]:
        pid = org.project_id(name)
        return {
            "id": pid,
            "name": name,
            "description": f"{name} services",
            "url": f"{self.devops_url}/{org.name}/_apis/projects/{pid}",
            "state": "wellFormed",
            "revision": 11,
            "visibility": "private",
            "lastUpdateTime": "2025-11-03T09:12:44.137Z",
        }

    def _projects(self, org: Organization, who: Identity, query: dict[str, str]) -> Response:
        """One page of the projects the caller is in, and the next page's token in a header while
        there are more (the .NET client's IPagedList; Microsoft's REST page: `continuationToken`,
        "Pointer that shows how many projects already been fetched")."""
        names = visible_projects(org, who.oid)
        try:
            # unverified: the token's form (an int, the count fetched so far, as the docs' words say),
            # and that $skip counts from it.
            start = int(query.get("continuationToken") or 0) + int(query.get("$skip") or 0)
            top = int(query.get("$top") or PROJECTS_PAGE)
        except ValueError:
            start = top = -1
        if start < 0 or top < 0:
            # unverified: the answer to a malformed $top, $skip or token.
            return ado_error(400, "The value of a paging parameter is not valid.", ARGUMENT_TYPE)
        page = names[start : start + top]
        value = [self._project_item(org, n) for n in page]
        more = start + len(page) < len(names)
        headers = {"x-ms-continuationtoken": str(start + len(page))} if more and page else {}
        return ado_json(200, {"count": len(value), "value": value}, headers)

    def _project(self, org: Organization, who: Identity, key: str) -> Response:
        """`_apis/projects/{name or id}`: one project, or TF200016 for one the caller cannot see."""
        name = org.find_project(key)
        if name is None or name not in visible_projects(org, who.oid):
            # Reports quote "TF200016: The following project does not exist: <name>."; the rest of the
            # sentence is unverified.
            return ado_error(
                404,
                f"TF200016: The following project does not exist: {key}. Verify that the name of the project "
                "is correct and that the project exists on the specified Azure DevOps Server.",
                PROJECT_NAME_MISSING_TYPE,
            )
        return ado_json(200, self._project_item(org, name) | {"defaultTeam": {"name": f"{name} Team"}})

    def _service_endpoints(self, org: Organization, project: str, base: str) -> list[dict[str, object]]:
        return [
            {
                "id": stable_id("endpoint", org.name, project, str(i)),
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
                "url": f"{base}/{stable_id('project', org.name, project)}/_apis/Release/definitions/{i}",
            }
            for i in range(1, org.release_definitions + 1)
        ]
