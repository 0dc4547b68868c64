"""A loopback Microsoft Entra ID: OIDC discovery, device code, authorize and token endpoints.

It answers what msal 1.39 sends (see the azure.md reference) with the shapes and AADSTS codes real
Entra uses, and issues HS256 access tokens that the Azure DevOps simulator accepts. Everything it
knows lives in the shared `World`; handlers run one at a time under `world.lock`. The token
endpoint's grants are in entra_tokens.py.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

from .entra_rules import (
    BAD_REDIRECT,
    NOT_FOUND_APP,
    EntraError,
    check_resource,
    check_user,
    missing,
    redirect_kind,
)
from .entra_tokens import EntraTokenGrants, RefreshGrant
from .server import RecordedRequest, Response, SimServer, html_response, json_response, redirect
from .tls import TlsFiles
from .world import AppRegistration, AuthCode, DeviceFlow, Tenant, World, new_id

MULTI_TENANT_SEGMENTS = ("common", "organizations")
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a phone
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _timestamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


class EntraSimulator(EntraTokenGrants, SimServer):
    def __init__(self, world: World, tls: TlsFiles) -> None:
        super().__init__(tls)
        self.world = world
        self.refresh_tokens: dict[str, RefreshGrant] = {}

    def authority(self, tenant: str) -> str:
        return f"{self.url}/{tenant}"

    # --- routing ---------------------------------------------------------------------------------
    def common_headers(self, request: RecordedRequest) -> dict[str, str]:
        headers = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache", "x-ms-request-id": new_id()}
        if "client-request-id" in request.headers:
            headers["client-request-id"] = request.headers["client-request-id"]  # Entra echoes it
        return headers

    def handle(self, request: RecordedRequest) -> Response:
        parts = [p for p in request.path.split("/") if p]
        with self.world.lock:
            try:
                if parts == ["devicelogin"]:
                    return self._device_login(request)
                if parts == ["error"]:
                    code = html.escape(request.query.get("code", ""))
                    return html_response(200, f"<html><body><h1>AADSTS{code}</h1></body></html>")
                if len(parts) < 2:
                    return html_response(404, "<html><body>Not found</body></html>")
                route = "/".join(parts[1:])
                routes = {
                    "v2.0/.well-known/openid-configuration": ("GET", self._discovery),
                    "oauth2/v2.0/devicecode": ("POST", self._devicecode),
                    "oauth2/v2.0/authorize": ("GET", self._authorize),
                    "oauth2/v2.0/token": ("POST", self._token),
                    "discovery/v2.0/keys": ("GET", lambda r, t: json_response(200, {"keys": []})),
                }
                if route not in routes:
                    return html_response(404, "<html><body>Not found</body></html>")
                method, endpoint = routes[route]
                tenant = self._tenant(parts[0])
                if request.method != method:
                    raise EntraError(
                        400,
                        "invalid_request",
                        900561,
                        f"The endpoint only accepts {method} requests. Received a {request.method} request.",
                    )
                return endpoint(request, tenant)
            except EntraError as exc:
                if parts[1:] == ["oauth2", "v2.0", "authorize"]:  # a browser page, not JSON
                    return self._error_page(exc)
                return self._error(request, exc)

    def _tenant(self, segment: str) -> Tenant | None:
        """The tenant a path names; None for /common and /organizations."""
        if segment.lower() in MULTI_TENANT_SEGMENTS:
            return None
        if not _GUID.match(segment) and "." not in segment:
            raise EntraError(
                400,
                "invalid_request",
                900023,
                f"Specified tenant identifier '{segment}' is neither a valid DNS name, nor a valid external domain.",
            )
        tenant = self.world.resolve_tenant(segment)
        if tenant is None:
            raise EntraError(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{segment}' not found. Check to make sure "
                "you have the correct tenant ID and are signing into the correct cloud. Check with "
                "your subscription administrator, this may happen if there are no active "
                "subscriptions for the tenant.",
            )
        return tenant

    def _app(self, params: dict[str, str], tenant: Tenant | None, segment: str) -> tuple[AppRegistration, Tenant]:
        client_id = params.get("client_id", "")
        if not client_id:
            raise missing("client_id")
        app = self.world.apps.get(client_id)
        if app is None or (tenant is not None and app.tenant_id != tenant.id and not app.multi_tenant):
            raise EntraError(
                400, "unauthorized_client", 700016, NOT_FOUND_APP.format(client_id=client_id, tenant=segment)
            )
        if tenant is None:
            if not app.multi_tenant:
                raise EntraError(
                    400,
                    "invalid_request",
                    50194,
                    f"Application '{app.client_id}'"
                    f"({app.display_name}) is not configured as a multi-tenant application. Usage "
                    "of the /common endpoint is not supported for such applications created after "
                    "'10/15/2018'. Use a tenant-specific endpoint or configure the application to "
                    "be multi-tenant.",
                )
            tenant = self.world.tenants[app.tenant_id]  # simplification: the app's home tenant
        return app, tenant

    @staticmethod
    def _segment(request: RecordedRequest) -> str:
        return request.path.strip("/").split("/")[0]

    # --- errors ----------------------------------------------------------------------------------
    def _describe(self, request: RecordedRequest, exc: EntraError) -> dict[str, object]:
        trace, corr, stamp = new_id(), request.headers.get("client-request-id") or new_id(), _timestamp()
        return {
            "error": exc.error,
            "error_description": f"AADSTS{exc.code}: {exc.text}\r\nTrace ID: {trace}\r\n"
            f"Correlation ID: {corr}\r\nTimestamp: {stamp}",
            "error_codes": [exc.code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": f"{self.url}/error?code={exc.code}",
        }

    def _error(self, request: RecordedRequest, exc: EntraError) -> Response:
        return json_response(exc.status, self._describe(request, exc))

    def _error_page(self, exc: EntraError) -> Response:
        text = html.escape(f"AADSTS{exc.code}: {exc.text}", quote=False)  # quotes stay readable
        return html_response(
            exc.status,
            f"<html><head><title>Sign in to your account</title></head><body>"
            f"<h1>Sorry, but we're having trouble signing you in.</h1><p>{text}</p>"
            "</body></html>",
        )

    def _redirect_error(self, request: RecordedRequest, uri: str, exc: EntraError) -> Response:
        body = self._describe(request, exc)
        params = {"error": exc.error, "error_description": str(body["error_description"])}
        if "state" in request.query:
            params["state"] = request.query["state"]
        params["error_uri"] = str(body["error_uri"])
        return redirect(_with_query(uri, params))

    # --- endpoints -------------------------------------------------------------------------------
    def _discovery(self, request: RecordedRequest, tenant: Tenant | None) -> Response:
        # Endpoints carry the tenant GUID even when asked by domain: clients learn the GUID here.
        seg = tenant.id if tenant else self._segment(request).lower()
        base = f"{self.url}/{seg}"
        return json_response(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{self.url}/{tenant.id if tenant else '{tenantid}'}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "nonce",
                    "preferred_username",
                    "name",
                    "tid",
                    "ver",
                    "oid",
                ],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            },
        )

    def _devicecode(self, request: RecordedRequest, tenant: Tenant | None) -> Response:
        app, tenant = self._app(request.form, tenant, self._segment(request))
        scope = request.form.get("scope", "")
        check_resource(tenant, scope)
        user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(9))
        flow = DeviceFlow(
            device_code=f"DAQABIQEAAAD{secrets.token_urlsafe(96)}",
            user_code=user_code,
            client_id=app.client_id,
            tenant_id=tenant.id,
            scope=scope,
            expires_at=time.time() + self.world.device_expires_in,
        )
        self.world.device_flows[flow.device_code] = flow
        uri = f"{self.url}/devicelogin"
        return json_response(
            200,
            {
                "user_code": user_code,
                "device_code": flow.device_code,
                "verification_uri": uri,
                "expires_in": self.world.device_expires_in,
                "interval": self.world.device_interval,
                "message": f"To sign in, use a web browser to open the page {uri} and enter the code {user_code} "
                "to authenticate.",
            },
        )

    def _device_login(self, request: RecordedRequest) -> Response:
        """The page a human (the demo) opens to approve or decline a device code."""
        note = ""
        if request.method == "POST":
            code = request.form.get("code", "").strip().upper()
            approve = request.form.get("action") == "approve"
            try:
                self.world.set_device_flow(
                    code, "approved" if approve else "declined", self.world.browser_user if approve else None
                )
                note = f"<p>{'Approved' if approve else 'Declined'}. You can close this window.</p>"
            except KeyError:
                note = "<p>That code didn't work. Check the code and try again.</p>"
        return html_response(
            200,
            (
                "<html><head><title>Enter code</title></head><body><h1>Enter code</h1>"
                f"<p>Signed in as {html.escape(self.world.browser_user or '(nobody)')}</p>{note}"
                '<form method="post"><input name="code" autofocus>'
                '<button name="action" value="approve">Allow access</button>'
                '<button name="action" value="decline">Cancel</button></form></body></html>'
            ),
        )

    def _authorize(self, request: RecordedRequest, tenant: Tenant | None) -> Response:
        query = request.query
        app, tenant = self._app(query, tenant, self._segment(request))
        uri = query.get("redirect_uri", "")
        if not uri:
            raise missing("redirect_uri")
        if redirect_kind(app, uri) is None:
            raise EntraError(400, "invalid_request", 50011, BAD_REDIRECT.format(uri=uri, client_id=app.client_id))
        if self.world.browser_outcome == "declined":
            return self._redirect_error(
                request, uri, EntraError(400, "access_denied", 65004, "User declined to consent to access the app.")
            )
        user = self.world.users.get(self.world.browser_user or "")
        if user is None:
            raise EntraError(
                400,
                "invalid_request",
                50034,
                "The user account does not exist in the directory (the simulator's world.browser_user names no user).",
            )
        scope = query.get("scope", "")
        try:
            check_resource(tenant, scope)
            check_user(app, tenant, user)
        except EntraError as exc:
            if exc.code == 50020:
                raise  # shown on the sign-in page, never sent back to the app
            exc.error = {65001: "consent_required", 500011: "invalid_resource"}.get(exc.code, "interaction_required")
            return self._redirect_error(request, uri, exc)
        code = AuthCode(
            code=f"1.AQ{secrets.token_urlsafe(120)}",
            client_id=app.client_id,
            tenant_id=tenant.id,
            redirect_uri=uri,
            user_upn=user.upn,
            scope=scope,
            code_challenge=query.get("code_challenge"),
            nonce=query.get("nonce"),
        )
        self.world.auth_codes[code.code] = code
        params = {"code": code.code}
        if "state" in query:
            params["state"] = query["state"]
        params["session_state"] = new_id()
        return redirect(_with_query(uri, params))

    def _token(self, request: RecordedRequest, tenant: Tenant | None) -> Response:
        form = request.form
        grant = form.get("grant_type", "")
        grants = {
            "client_credentials": self._client_credentials,
            DEVICE_GRANT: self._device_token,
            "authorization_code": self._auth_code_token,
            "refresh_token": self._refresh_token,
        }
        if not grant:
            raise missing("grant_type")
        if grant not in grants:
            raise EntraError(
                400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
            )
        app, tenant = self._app(form, tenant, self._segment(request))
        return json_response(200, grants[grant](form, app, tenant))
