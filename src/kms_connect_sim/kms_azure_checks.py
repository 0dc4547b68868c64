"""How the KMS simulator checks a new App Connection's credentials before storing them (kms-api.md
§2), as the real server does: by calling Entra ID and Azure DevOps (here their simulators), over
HTTPS from the handler thread. A mixin of `KmsSimulator`, which owns the HTTP client and the URLs.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote

import httpx

from .kms_rules import bad_request, internal, remote_message
from .kms_world import KmsWorld

ADO_SCOPE = "https://app.vssps.visualstudio.com/.default"
CALLBACK_PATH = "/organization/app-connections/azure/oauth/callback"
AXIOS_ACCEPT = "application/json, text/plain, */*"  # what the real server's HTTP client sends


class AzureCredentialChecks:
    """The calls out of `_create` and `_update`, made without holding `kms_world.lock`."""

    # Set by KmsSimulator.__init__ and start().
    kms_world: KmsWorld
    entra_url: str
    devops_url: str
    _http: httpx.Client | None

    def _validate(self, method: str, creds: dict[str, str]) -> dict[str, Any]:
        """The credentials to store (full, with tokens), or the error the real server answers."""
        if method == "access-token":
            return self._check_pat(creds)
        if method == "client-secret":
            return self._check_client_secret(creds)
        return self._redeem_code(creds)

    def _projects_call(self, org: str, authorization: str) -> httpx.Response:
        assert self._http is not None
        url = f"{self.devops_url}/{quote(org, safe='')}/_apis/projects?api-version=7.2-preview.2&$top=1"
        return self._http.get(url, headers={"Authorization": authorization, "Accept": AXIOS_ACCEPT})

    def _token_call(self, tenant: str, form: dict[str, str]) -> httpx.Response:
        assert self._http is not None
        url = f"{self.entra_url}/{quote(tenant or 'common', safe='')}/oauth2/v2.0/token"
        return self._http.post(url, data=form, headers={"Accept": AXIOS_ACCEPT})

    def _check_pat(self, creds: dict[str, str]) -> dict[str, Any]:
        org = creds["orgName"]
        basic = base64.b64encode(f":{creds['accessToken']}".encode()).decode()
        try:
            answer = self._projects_call(org, f"Basic {basic}")
        except httpx.HTTPError as exc:
            raise bad_request(f"Failed to validate access token for organization '{org}': {exc}") from None
        if answer.status_code >= 400:
            message = remote_message(answer, None, "message")
            raise bad_request(f"Failed to validate access token for organization '{org}': {message}")
        if answer.status_code != 200:  # e.g. ADO's 203 sign-in page for a PAT it does not know
            raise bad_request("Unable to validate Azure DevOps token")
        return {"accessToken": creds["accessToken"], "orgName": org}

    def _check_client_secret(self, creds: dict[str, str]) -> dict[str, Any]:
        prefix = "Failed to authenticate with Azure DevOps using client credentials"
        try:
            answer = self._token_call(
                creds["tenantId"],
                {
                    "grant_type": "client_credentials",
                    "scope": ADO_SCOPE,
                    "client_id": creds["clientId"],
                    "client_secret": creds["clientSecret"],
                },
            )
            if answer.status_code >= 400:
                raise bad_request(f"{prefix}: {remote_message(answer, None, 'error_description', 'message')}")
            token = answer.json()
            check = self._projects_call(creds["orgName"], f"Bearer {token['access_token']}")
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise bad_request(f"{prefix}: {remote_message(None, exc)}") from None
        if check.status_code >= 400:
            raise bad_request(f"{prefix}: {remote_message(check, None, 'message')}")
        if check.status_code != 200:
            raise internal("Failed to validate Azure DevOps client credentials")
        expires_at = int((time.time() + float(token.get("expires_in", 3599))) * 1000)
        return {**creds, "accessToken": token["access_token"], "expiresAt": expires_at}

    def _redeem_code(self, creds: dict[str, str]) -> dict[str, Any]:
        world = self.kms_world
        with world.lock:
            site_url, client_id, secret = world.site_url.rstrip("/"), world.oauth_client_id, world.oauth_client_secret
        if not site_url:
            raise internal("SITE_URL env var is required to complete Azure OAuth flow")
        if not client_id or not secret:
            raise internal("Azure OAuth environment variables have not been configured")
        try:
            answer = self._token_call(
                creds["tenantId"],
                {
                    "grant_type": "authorization_code",
                    "code": creds["code"],
                    "scope": ADO_SCOPE,
                    "client_id": client_id,
                    "client_secret": secret,
                    "redirect_uri": f"{site_url}{CALLBACK_PATH}",
                },
            )
            if answer.status_code >= 400:
                try:
                    detail = answer.json().get("error_description") or "Unknown error"
                except (ValueError, AttributeError):
                    detail = "Unknown error"
                raise bad_request(f"Failed to get access token: {detail}")
            token = answer.json()
            access, refresh = token["access_token"], token.get("refresh_token")
            expires_at = int((time.time() + float(token.get("expires_in", 3599))) * 1000)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
            raise bad_request("Unable to validate connection: verify credentials") from None
        return {
            "tenantId": creds["tenantId"],
            "orgName": creds["orgName"],
            "accessToken": access,
            "refreshToken": refresh,
            "expiresAt": expires_at,
        }
