"""The grants of the loopback Entra ID's token endpoint: client credentials, device code,
authorization code and refresh token (see the azure.md reference). A mixin of `EntraSimulator`,
whose `_token` resolves the app and tenant and picks the grant; they run under `world.lock`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from .entra_rules import (
    MALFORMED,
    NEEDS_SECRET,
    REDEEMED,
    EntraError,
    app_token_response,
    check_app_scope,
    check_resource,
    check_secret,
    check_user,
    pkce_matches,
    redirect_kind,
    user_token_response,
)
from .world import AppRegistration, Tenant, World


@dataclass
class RefreshGrant:
    """What a refresh token stands for (the simulator's memory, not the World's)."""

    upn: str
    client_id: str
    tenant_id: str


class EntraTokenGrants:
    # Set by EntraSimulator (url comes from SimServer).
    world: World
    refresh_tokens: dict[str, RefreshGrant]
    url: str

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
        self.refresh_tokens[refresh] = RefreshGrant(user_upn, app.client_id, tenant.id)
        user = self.world.users[user_upn]
        return user_token_response(self.world, self.url, tenant, app, user, scope, nonce, refresh)
