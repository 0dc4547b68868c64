"""A loopback Microsoft Entra ID: OIDC discovery, device code, authorize and token endpoints.

It answers what msal 1.39 sends (see the azure.md reference) with the shapes and AADSTS codes real
Entra uses, and issues HS256 access tokens that the Azure DevOps simulator accepts. Everything it
knows lives in the shared `World`; handlers run one at a time under `world.lock`.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from .entra_rules import (
    BAD_REDIRECT,
    MALFORMED,
    NEEDS_SECRET,
    NOT_FOUND_APP,
    REDEEMED,
    EntraError,
    app_token_response,
    check_app_scope,
    check_resource,
    check_secret,
    check_user,
    missing,
    pkce_matches,
    redirect_kind,
    user_token_response,
)
from .server import RecordedRequest, Response, SimServer, html_response, json_response, redirect
from .tls import TlsFiles
from .world import AppRegistration, AuthCode, DeviceFlow, Tenant, World, new_id

MULTI_TENANT_SEGMENTS = ("common", "organizations")
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a phone
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@dataclass
class _Grant:
    """What a refresh token stands for (the simulator's memory, not the World's)."""

    upn: str
    client_id: str
    tenant_id: str


def _timestamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


class EntraSimulator(SimServer):
    def __init__(self, world: World, tls: TlsFiles) -> None:
        super().__init__(tls)
        self.world = world
        self.refresh_tokens: dict[str, _Grant] = {}

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

    def _client_credentials(self, form: dict[str, str], app: AppRegistration, tenant: Tenant) -> dict[str, object]:
        check_secret(app, form.get("client_secret"))
        scope = form.get("scope", "")
        check_app_scope(scope)
        check_resource(tenant, scope)
        return app_token_response(self.world, tenant, app)

    def _device_token(self, form: dict[str, str], app: AppRegistration, tenant: Tenant) -> dict[str, object]:
        if form.get("client_secret"):
            check_secret(app, form["client_secret"])  # a confidential client may use the flow too
        elif not app.public_client_flows:
            raise EntraError(400, "invalid_client", 7000218, NEEDS_SECRET)
        flow = self.world.device_flows.get(form.get("device_code", ""))
        if flow is None or flow.client_id != app.client_id:
            raise EntraError(400, "bad_verification_code", 70018, "Invalid verification code entered.")
        flow.polls += 1
        auto = self.world.auto_approve_after
        if auto is not None and flow.polls >= auto and flow.state == "pending":
            flow.state, flow.user_upn = "approved", self.world.browser_user
        if flow.state == "redeemed":  # a device code is single use, like the authorization code it stands for
            raise EntraError(400, "invalid_grant", 54005, REDEEMED)
        if flow.state == "expired" or (flow.state in ("pending", "approved") and time.time() > flow.expires_at):
            flow.state = "expired"
            raise EntraError(400, "expired_token", 70019, "Verification code expired.")
        if flow.state == "declined":
            raise EntraError(400, "authorization_declined", 70000, "The user denied the authorization request.")
        if flow.state == "pending":
            raise EntraError(
                400,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        user = self.world.users.get(flow.user_upn or "")
        if user is None:
            raise EntraError(
                400, "invalid_grant", 50034, f"The user account {flow.user_upn} does not exist in the directory."
            )
        tenant = self.world.tenants.get(flow.tenant_id, tenant)
        check_user(app, tenant, user)
        flow.state = "redeemed"
        return self._user_tokens(app, tenant, user.upn, flow.scope, None)

    def _auth_code_token(self, form: dict[str, str], app: AppRegistration, tenant: Tenant) -> dict[str, object]:
        code = self.world.auth_codes.get(form.get("code", ""))
        if code is None or code.client_id != app.client_id:
            raise EntraError(400, "invalid_grant", 9002313, MALFORMED)
        if code.used:
            raise EntraError(400, "invalid_grant", 54005, REDEEMED)
        if form.get("redirect_uri", "") != code.redirect_uri:
            raise EntraError(
                400,
                "invalid_grant",
                500112,
                f"The reply address '{form.get('redirect_uri', '')}' "
                f"does not match the reply address '{code.redirect_uri}' provided when requesting "
                "Authorization code.",
            )
        if code.code_challenge is not None and not pkce_matches(code.code_challenge, form.get("code_verifier", "")):
            raise EntraError(
                400,
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            )
        secret, kind = form.get("client_secret"), redirect_kind(app, code.redirect_uri)
        if kind == "public" and secret:
            raise EntraError(
                401,
                "invalid_client",
                700025,
                "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            )
        if kind == "web" or secret:
            check_secret(app, secret)
        code.used = True
        return self._user_tokens(app, tenant, code.user_upn, form.get("scope") or code.scope, code.nonce)

    def _refresh_token(self, form: dict[str, str], app: AppRegistration, tenant: Tenant) -> dict[str, object]:
        grant = self.refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None or grant.client_id != app.client_id or grant.upn not in self.world.users:
            raise EntraError(400, "invalid_grant", 9002313, MALFORMED)
        if grant.upn in self.world.revoked_refresh_users:
            raise EntraError(
                400,
                "invalid_grant",
                700082,
                "The refresh token has expired due to inactivity. "
                "The token was issued on a date more than 90 days ago and was inactive for "
                "90.00:00:00.",
            )
        if form.get("client_secret"):
            check_secret(app, form["client_secret"])
        return self._user_tokens(app, self.world.tenants[grant.tenant_id], grant.upn, form.get("scope", ""), None)

    def _user_tokens(
        self, app: AppRegistration, tenant: Tenant, user_upn: str, scope: str, nonce: str | None
    ) -> dict[str, object]:
        refresh = f"1.AQ{secrets.token_urlsafe(160)}"  # opaque, like Entra's
        self.refresh_tokens[refresh] = _Grant(user_upn, app.client_id, tenant.id)
        user = self.world.users[user_upn]
        return user_token_response(self.world, self.url, tenant, app, user, scope, nonce, refresh)
