"""OAuth for a connection on an instance: the instance redeems the code, so the URL is built here.

As the web UI does it: the instance's OAuth client ID, its exact redirect URI (SITE_URL + the
callback path), `response_mode=query`, and a state of `<random hex><:>azure-devops`. No PKCE: the
instance redeems the code without a verifier, and a challenge would make Entra refuse that.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from kms_connect.core.instances import Instance
from kms_connect.core.models import OAuthAvailability
from kms_connect.core.status import Method

ADO_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default offline_access"


def authorize_url(authority_host: str, tenant: str, client_id: str, redirect_uri: str) -> tuple[str, str]:
    """(the address to open in a browser, the state to expect back)."""
    state = f"{secrets.token_hex(16)}<:>azure-devops"
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "response_mode": "query",
            "scope": ADO_SCOPE,
            "state": state,
        }
    )
    return f"{authority_host.rstrip('/')}/{tenant or 'organizations'}/oauth2/v2.0/authorize?{query}", state


def availability(instance: Instance, options: Any) -> OAuthAvailability:
    """Whether the instance can redeem sign-ins, from its answer to /api/v1/app-connections/options."""
    option: dict[str, Any] = next(
        (o for o in options.get("appConnectionOptions") or [] if o.get("app") == "azure-devops"), {}
    )
    client_id = option.get("oauthClientId")
    redirect = instance.redirect_uri
    offered = [str(m) for m in option.get("methods") or []]
    # A method that signs in through the instance's OAuth app is usable once it is configured.
    signs_in = any(m.value in offered and m.spec.needs_oauth_app for m in Method)
    if signs_in and client_id:
        return OAuthAvailability(
            available=True,
            client_id=client_id,
            source=f"instance {instance.name}",
            has_client_secret=True,
            redirect_uri=redirect,
            redeemed_by_instance=True,
            methods=offered,
        )
    return OAuthAvailability(
        available=False,
        redirect_uri=redirect,
        redeemed_by_instance=True,
        methods=offered,
        reason=f"The instance {instance.name} has no Azure DevOps OAuth app configured.",
        fix=(
            "On the instance, set INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID and "
            f"INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_SECRET, and SITE_URL={instance.public_url}, then "
            f"restart it. Register {redirect} as a Web redirect URI of that Entra app registration."
        ),
    )
