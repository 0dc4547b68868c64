"""OAuth for a connection on an instance: the instance redeems the code, so the URL is built here.

As the web UI does it: the instance's OAuth client ID, its exact redirect URI (SITE_URL + the
callback path), `response_mode=query`, and a state of `<random hex><:>azure-devops`. No PKCE: the
instance redeems the code without a verifier, and a challenge would make Entra refuse that.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

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
