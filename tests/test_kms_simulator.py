"""The Hanzo KMS simulator over real HTTP: Universal Auth, projects, options and the Azure DevOps
App Connections API, checking credentials against the Entra ID and Azure DevOps simulators."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import pytest

from kms_connect_sim.kms import KmsSimulator
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS, SAMPLE_PLATFORM, KmsIdentity, KmsWorld
from kms_connect_sim.sandbox import KMS_CALLBACK, Sample, Sandbox
from kms_connect_sim.tls import TlsFiles
from kms_connect_sim.world import World
from sim_fixtures import kms, kms_http, kms_identity, sample, sandbox, sim_http, sim_ssl_context, sim_tls

# The fixtures, imported by name until conftest star-imports them (named so pyflakes sees them used).
SIM_FIXTURES = (kms, kms_http, kms_identity, sample, sandbox, sim_http, sim_tls)
BASE = "/api/v1/app-connections/azure-devops"
ADO_SCOPE = "https://app.vssps.visualstudio.com/.default"


# --- helpers -------------------------------------------------------------------------------------
def login(http: httpx.Client, identity: KmsIdentity, **extra: str) -> httpx.Response:
    return http.post(
        "/api/v1/auth/universal-auth/login",
        json={"clientId": identity.client_id, "clientSecret": identity.client_secret, **extra},
    )


def token_for(http: httpx.Client, identity: KmsIdentity) -> dict[str, str]:
    answer = login(http, identity)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['accessToken']}"}


def error(answer: httpx.Response, status: int, kind: str) -> Any:
    """Asserts the KMS error shape and returns its message."""
    body = answer.json()
    assert answer.status_code == status, answer.text
    assert set(body) == {"reqId", "statusCode", "message", "error"}, body
    assert body["reqId"].startswith("req-") and body["statusCode"] == status and body["error"] == kind, body
    return body["message"]


def pat_body(sample: Sample, name: str = "ado-pat", token: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "method": "access-token",
        "credentials": {"accessToken": token or sample.pat_ok.token, "orgName": sample.org.name},
        **extra,
    }


def sp_body(sample: Sample, name: str = "ado-sp", secret: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "method": "client-secret",
        "credentials": {
            "clientId": sample.sp_app.client_id,
            "clientSecret": secret or sample.sp_secret,
            "tenantId": sample.tenant.id,
            "orgName": sample.org.name,
        },
        **extra,
    }


def oauth_code(box: Sandbox, http: httpx.Client, sample: Sample, redirect_uri: str = KMS_CALLBACK) -> str:
    """What the KMS web form does in the browser (no PKCE), and the code Entra sends back."""
    answer = http.get(
        f"{box.entra.url}/{sample.tenant.id}/oauth2/v2.0/authorize",
        params={
            "client_id": sample.oauth_web_app.client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "response_mode": "query",
            "scope": "https://azconfig.io/.default openid offline_access",
            "state": "0f1e2d3c4b5a69788796a5b4c3d2e1f0<:>azure-devops",
        },
    )
    assert answer.status_code == 302, answer.text
    return dict(parse_qsl(urlsplit(answer.headers["location"]).query))["code"]


def oauth_body(sample: Sample, code: str, name: str = "ado-oauth") -> dict[str, Any]:
    return {
        "name": name,
        "method": "oauth",
        "credentials": {"code": code, "tenantId": sample.tenant.id, "orgName": sample.org.name},
    }


def created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    return answer.json()["appConnection"]


# --- the server itself ---------------------------------------------------------------------------
def test_plain_http_by_default_https_with_tls_files(kms: KmsSimulator, sandbox: Sandbox, sim_tls: TlsFiles) -> None:
    assert kms.url.startswith("http://127.0.0.1:")
    with KmsSimulator(
        KmsWorld(),
        sandbox.world,
        entra_url=sandbox.entra.url,
        devops_url=sandbox.devops_url,
        ca_bundle=sandbox.ca_bundle,
        tls=sim_tls,
    ) as secure:
        assert secure.url.startswith("https://127.0.0.1:")
        with httpx.Client(verify=sim_ssl_context(sim_tls.ca_pem), trust_env=False) as http:
            assert error(http.get(f"{secure.url}/api/v1/projects"), 401, "UnauthorizedError") == "Token missing"


def test_unknown_routes_and_injected_faults(
    kms: KmsSimulator, kms_http: httpx.Client, kms_identity: KmsIdentity
) -> None:
    message = error(kms_http.get("/api/v2/nothing"), 404, "NotFound")
    assert message == "Route GET:/api/v2/nothing not found"
    error(kms_http.put(BASE, json={}), 404, "NotFound")
    kms.inject("/api/v1/projects", status=503, body={"message": "maintenance"})
    auth = token_for(kms_http, kms_identity)
    assert kms_http.get("/api/v1/projects", headers=auth).status_code == 503
    assert kms_http.get("/api/v1/projects", headers=auth).status_code == 200
    assert kms.requests_to("/api/v1/projects")[0].headers["authorization"] == auth["Authorization"]


# --- universal auth ------------------------------------------------------------------------------
def test_login_renew_revoke(kms: KmsSimulator, kms_http: httpx.Client, kms_identity: KmsIdentity) -> None:
    answer = login(kms_http, kms_identity, organizationSlug="contoso")
    body = answer.json()
    assert answer.status_code == 200 and set(body) == {"accessToken", "expiresIn", "accessTokenMaxTTL", "tokenType"}
    assert body["tokenType"] == "Bearer" and body["accessTokenMaxTTL"] == 2592000
    assert 2591990 <= body["expiresIn"] <= 2592000
    token = body["accessToken"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["authTokenType"] == "identityAccessToken" and token.count(".") == 2
    entry = kms.kms_world.tokens[token]
    assert entry.client_id == kms_identity.client_id

    entry.expires_at = time.time() + 5  # renew moves the expiry back to a full TTL, same token
    renewed = kms_http.post("/api/v1/auth/token/renew", json={"accessToken": token})
    assert renewed.status_code == 200 and renewed.json()["accessToken"] == token
    assert entry.expires_at > time.time() + 2591990

    entry.expires_at = time.time() - 1
    auth = {"Authorization": f"Bearer {token}"}
    assert error(kms_http.get("/api/v1/projects", headers=auth), 403, "TokenError") == (
        "Your token has expired. Please re-authenticate."
    )
    error(kms_http.post("/api/v1/auth/token/renew", json={"accessToken": token}), 403, "TokenError")

    fresh = token_for(kms_http, kms_identity)
    revoked = kms_http.post("/api/v1/auth/token/revoke", json={"accessToken": fresh["Authorization"][7:]})
    assert revoked.json() == {"message": "Successfully revoked access token"}
    error(kms_http.get("/api/v1/projects", headers=fresh), 401, "UnauthorizedError")


def test_wrong_secret_then_lockout_after_three(
    kms: KmsSimulator, kms_http: httpx.Client, kms_identity: KmsIdentity
) -> None:
    wrong = {"clientId": kms_identity.client_id, "clientSecret": "0" * 64}
    assert error(kms_http.post("/api/v1/auth/universal-auth/login", json=wrong), 401, "UnauthorizedError") == (
        "Invalid credentials"
    )
    assert kms_identity.failed_logins == 1
    assert login(kms_http, kms_identity).status_code == 200 and kms_identity.failed_logins == 0  # reset
    for _ in range(3):
        error(kms_http.post("/api/v1/auth/universal-auth/login", json=wrong), 401, "UnauthorizedError")
    assert kms_identity.locked
    message = error(login(kms_http, kms_identity), 401, "UnauthorizedError")  # the right secret, too late
    assert message.startswith("This identity auth method is temporarily locked")


def test_login_body_client_id_and_org_slug(kms_http: httpx.Client, kms_identity: KmsIdentity) -> None:
    unknown = {"clientId": "11111111-2222-4333-8444-555555555555", "clientSecret": "x"}
    error(kms_http.post("/api/v1/auth/universal-auth/login", json=unknown), 401, "UnauthorizedError")
    error(login(kms_http, kms_identity, organizationSlug="someone-else"), 400, "BadRequest")
    issues = error(kms_http.post("/api/v1/auth/universal-auth/login", json={"clientId": 5}), 422, "ValidationFailure")
    assert [(i["path"], i["message"]) for i in issues] == [
        (["clientId"], "Expected string, received number"),
        (["clientSecret"], "Required"),
    ]


def test_token_kinds_on_authenticated_routes(kms: KmsSimulator, kms_http: httpx.Client) -> None:
    def get(headers: dict[str, str]) -> httpx.Response:
        return kms_http.get(BASE, headers=headers)

    assert error(get({}), 401, "UnauthorizedError") == "Token missing"
    assert error(get({"Authorization": "Bearer not-a-jwt"}), 403, "TokenError").startswith(
        "The provided access token is malformed"
    )
    forged = jwt.encode({"authTokenType": "identityAccessToken"}, b"k" * 32, algorithm="HS256")
    assert error(get({"Authorization": f"Bearer {forged}"}), 403, "TokenError") == "invalid signature"
    kms.kms_world.service_tokens.add("st.abc.def")
    answer = get({"Authorization": "Bearer st.abc.def"})
    assert error(answer, 403, f"Forbidden access to {BASE}") == "You are not allowed to access this resource"
    error(get({"Authorization": "Bearer st.unknown.token"}), 401, "UnauthorizedError")
    assert error(get({"x-api-key": "k"}), 400, "BadRequest").startswith("API key authentication is not supported")


# --- projects and options ------------------------------------------------------------------------
def test_projects_workspace_and_legacy_flag(
    kms: KmsSimulator, kms_http: httpx.Client, kms_identity: KmsIdentity
) -> None:
    auth = token_for(kms_http, kms_identity)
    projects = kms_http.get("/api/v1/projects", headers=auth).json()["projects"]
    assert sorted(p["name"] for p in projects) == ["Payments", "Platform"]
    payments = next(p for p in projects if p["name"] == "Payments")
    assert payments["id"] == payments["_id"] == SAMPLE_PAYMENTS and payments["orgId"] == kms.kms_world.org_id
    assert payments["slug"] == "payments" and payments["type"] == "secret-manager"
    assert [e["slug"] for e in payments["environments"]] == ["dev", "staging", "prod"]
    assert kms_http.get("/api/v1/workspace", headers=auth).json() == {"workspaces": projects}
    assert kms_http.get("/api/v1/projects?type=kms", headers=auth).json() == {"projects": []}

    member = kms.kms_world.add_identity("payments-bot", org_permission=False, project_ids={SAMPLE_PAYMENTS})
    only = kms_http.get("/api/v1/projects", headers=token_for(kms_http, member)).json()["projects"]
    assert [p["name"] for p in only] == ["Payments"]

    kms.kms_world.legacy_projects_route = True
    error(kms_http.get("/api/v1/projects", headers=auth), 404, "NotFound")
    assert kms_http.get("/api/v1/workspace", headers=auth).json() == {"workspaces": projects}


def test_options_with_and_without_oauth_client_id(
    kms: KmsSimulator, kms_http: httpx.Client, kms_identity: KmsIdentity, sample: tuple[World, Sample]
) -> None:
    auth = token_for(kms_http, kms_identity)
    items = kms_http.get("/api/v1/app-connections/options", headers=auth).json()["appConnectionOptions"]
    assert [o["name"] for o in items] == sorted(o["name"] for o in items) and len(items) > 1
    devops = next(o for o in items if o["app"] == "azure-devops")
    assert devops == {
        "name": "Azure DevOps",
        "app": "azure-devops",
        "methods": ["oauth", "access-token", "client-secret"],
        "oauthClientId": sample[1].oauth_web_app.client_id,
    }
    kms.kms_world.oauth_client_id = None
    items = kms_http.get("/api/v1/app-connections/options?projectType=secret-manager", headers=auth).json()[
        "appConnectionOptions"
    ]
    assert "oauthClientId" not in next(o for o in items if o["app"] == "azure-devops")
    assert kms_http.get("/api/v1/app-connections/options?projectType=kms", headers=auth).json() == {
        "appConnectionOptions": []
    }
    error(kms_http.get("/api/v1/app-connections/options?projectType=nope", headers=auth), 422, "ValidationFailure")
    error(kms_http.get("/api/v1/app-connections/options"), 401, "UnauthorizedError")


# --- creating connections ------------------------------------------------------------------------
def test_create_with_pat_checks_it_against_devops(
    kms: KmsSimulator, kms_http: httpx.Client, kms_identity: KmsIdentity, sandbox: Sandbox, sample: tuple[World, Sample]
) -> None:
    s, auth = sample[1], token_for(kms_http, kms_identity)
    answer = kms_http.post(BASE, json=pat_body(s, description="  prod PAT  ", projectId=SAMPLE_PLATFORM), headers=auth)
    conn = created(answer)
    assert s.pat_ok.token.encode() not in answer.content
    assert set(conn) == {
        "id",
        "name",
        "description",
        "version",
        "orgId",
        "createdAt",
        "updatedAt",
        "isPlatformManagedCredentials",
        "gatewayId",
        "projectId",
        "isAutoRotationEnabled",
        "app",
        "method",
        "credentials",
    }
    assert conn["credentials"] == {"orgName": "contoso-dev"} and conn["description"] == "prod PAT"
    assert (conn["method"], conn["app"], conn["version"], conn["projectId"]) == (
        "access-token",
        "azure-devops",
        1,
        SAMPLE_PLATFORM,
    )
    assert conn["createdAt"].endswith("Z") and conn["gatewayId"] is None
    assert kms.kms_world.connections[conn["id"]].credentials["accessToken"] == s.pat_ok.token  # server side
    probe = sandbox.devops.requests_to("/contoso-dev/_apis/projects")[-1]
    assert probe.query == {"api-version": "7.2-preview.2", "$top": "1"}
    assert probe.headers["authorization"].startswith("Basic ")

    unknown = kms_http.post(BASE, json=pat_body(s, "ado-bad", token="x" * 52), headers=auth)
    assert error(unknown, 400, "BadRequest") == "Unable to validate Azure DevOps token"  # ADO's 203 page
    expired = kms_http.post(BASE, json=pat_body(s, "ado-old", token=s.pat_expired.token), headers=auth)
    assert error(expired, 400, "BadRequest") == (
        "Failed to validate access token for organization 'contoso-dev': "
        "Access Denied: The Personal Access Token used has expired."
    )
    outsider = kms_http.post(BASE, json=pat_body(s, "ado-bob", token=s.pat_bob.token), headers=auth)
    assert "TF400813" in error(outsider, 400, "BadRequest")
    no_org = {
        "name": "ado-none",
        "method": "access-token",
        "credentials": {"accessToken": s.pat_ok.token, "orgName": "no-such-org"},
    }
    assert error(kms_http.post(BASE, json=no_org, headers=auth), 400, "BadRequest") == (
        "Failed to validate access token for organization 'no-such-org': Request failed with status code 404"
    )
    assert len(kms.kms_world.connections) == 1


def test_create_with_client_secret(
    kms: KmsSimulator, kms_http: httpx.Client, kms_identity: KmsIdentity, sandbox: Sandbox, sample: tuple[World, Sample]
) -> None:
    s, auth = sample[1], token_for(kms_http, kms_identity)
    answer = kms_http.post(BASE, json=sp_body(s), headers=auth)
    conn = created(answer)
    assert conn["credentials"] == {"clientId": s.sp_app.client_id, "tenantId": s.tenant.id, "orgName": "contoso-dev"}
    assert s.sp_secret.encode() not in answer.content
    grant = sandbox.entra.requests_to("/oauth2/v2.0/token")[-1].form
    assert grant["grant_type"] == "client_credentials" and grant["scope"] == ADO_SCOPE
    assert sandbox.devops.requests_to("/_apis/projects")[-1].headers["authorization"].startswith("Bearer ")

    wrong = kms_http.post(BASE, json=sp_body(s, "ado-wrong", secret="not-the-secret"), headers=auth)
    message = error(wrong, 400, "BadRequest")
    assert message.startswith("Failed to authenticate with Azure DevOps using client credentials: AADSTS7000215")
    outsider = sp_body(s, "ado-outsider", secret=s.sp_outsider_secret)
    outsider["credentials"]["clientId"] = s.sp_outsider.client_id
    assert "TF401444" in error(kms_http.post(BASE, json=outsider, headers=auth), 400, "BadRequest")
    sandbox.entra.inject("/oauth2/v2.0/token", status=503)
    down = kms_http.post(BASE, json=sp_body(s, "ado-down"), headers=auth)
    assert error(down, 400, "BadRequest").endswith(": Request failed with status code 503")


def test_create_with_oauth_code(
    kms: KmsSimulator,
    kms_http: httpx.Client,
    kms_identity: KmsIdentity,
    sandbox: Sandbox,
    sim_http: httpx.Client,
    sample: tuple[World, Sample],
) -> None:
    s, auth = sample[1], token_for(kms_http, kms_identity)
    code = oauth_code(sandbox, sim_http, s)
    answer = kms_http.post(BASE, json=oauth_body(s, code), headers=auth)
    conn = created(answer)
    assert conn["method"] == "oauth" and conn["credentials"] == {"tenantId": s.tenant.id, "orgName": "contoso-dev"}
    assert code.encode() not in answer.content
    stored = kms.kms_world.connections[conn["id"]].credentials
    assert stored["refreshToken"] and stored["accessToken"] and "code" not in stored
    assert stored["refreshToken"].encode() not in answer.content
    redeem = sandbox.entra.requests_to(f"/{s.tenant.id}/oauth2/v2.0/token")[-1].form
    assert redeem == {
        "grant_type": "authorization_code",
        "code": code,
        "scope": ADO_SCOPE,
        "client_id": s.oauth_web_app.client_id,
        "client_secret": s.web_secret,
        "redirect_uri": KMS_CALLBACK,
    }  # no code_verifier: the web flow has no PKCE

    again = kms_http.post(BASE, json=oauth_body(s, code, "ado-oauth-2"), headers=auth)
    assert error(again, 400, "BadRequest").startswith("Failed to get access token: AADSTS54005")
    elsewhere = oauth_code(sandbox, sim_http, s, redirect_uri="http://localhost:8400")
    mismatch = kms_http.post(BASE, json=oauth_body(s, elsewhere, "ado-oauth-3"), headers=auth)
    assert error(mismatch, 400, "BadRequest").startswith("Failed to get access token: AADSTS500112")

    kms.kms_world.oauth_client_secret = None
    unset = kms_http.post(BASE, json=oauth_body(s, oauth_code(sandbox, sim_http, s), "ado-oauth-4"), headers=auth)
    assert error(unset, 500, "InternalServerError") == "Azure OAuth environment variables have not been configured"
    assert len(kms.kms_world.connections) == 1


def test_create_body_is_strict_and_validated(
    kms_http: httpx.Client, kms_identity: KmsIdentity, sample: tuple[World, Sample]
) -> None:
    s, auth = sample[1], token_for(kms_http, kms_identity)
    issues = error(kms_http.post(BASE, json=pat_body(s, extra=1, rotation={}), headers=auth), 422, "ValidationFailure")
    assert issues == [
        {
            "code": "unrecognized_keys",
            "keys": ["extra", "rotation"],
            "path": [],
            "message": "Unrecognized key(s) in object: 'extra', 'rotation'",
        }
    ]

    bad = sp_body(s, "Bad Name")
    bad["credentials"] |= {"clientId": "not-a-uuid", "tenantId": "contoso.onmicrosoft.com", "clientSecret": "s" * 51}
    issues = error(kms_http.post(BASE, json=bad, headers=auth), 422, "ValidationFailure")
    assert [(i["path"], i["code"], i["message"]) for i in issues] == [
        (["name"], "custom", "name field can only contain lowercase letters, numbers, and hyphens"),
        (["credentials", "clientId"], "invalid_string", "Invalid uuid"),
        (["credentials", "clientSecret"], "too_big", "Client Secret must be at most 50 characters long"),
        (["credentials", "tenantId"], "invalid_string", "Invalid uuid"),
    ]
    issues = error(
        kms_http.post(
            BASE, json={"name": "a" * 65, "method": "pat", "isPlatformManagedCredentials": True}, headers=auth
        ),
        422,
        "ValidationFailure",
    )
    assert [(i["path"], i["code"]) for i in issues] == [
        (["name"], "too_big"),
        (["isPlatformManagedCredentials"], "invalid_literal"),
        (["method"], "invalid_union_discriminator"),
    ]
    issues = error(
        kms_http.post(BASE, json={"name": "x", "method": "oauth", "credentials": {"code": " "}}, headers=auth),
        422,
        "ValidationFailure",
    )
    assert [(i["path"], i["message"]) for i in issues] == [
        (["credentials", "code"], "OAuth code required"),
        (["credentials", "tenantId"], "Required"),
        (["credentials", "orgName"], "Required"),
    ]
    assert error(
        kms_http.post(BASE, content=b"{nope", headers=auth | {"Content-Type": "application/json"}), 400, "BadRequest"
    ).startswith("Body is not valid JSON")


def test_duplicate_names_and_unknown_project(
    kms: KmsSimulator, kms_http: httpx.Client, kms_identity: KmsIdentity, sample: tuple[World, Sample]
) -> None:
    s, auth = sample[1], token_for(kms_http, kms_identity)
    created(kms_http.post(BASE, json=pat_body(s, "ado-prod"), headers=auth))
    again = kms_http.post(BASE, json=pat_body(s, " ado-prod "), headers=auth)  # names are trimmed
    assert error(again, 400, "BadRequest") == 'An App Connection with the name "ado-prod" already exists'
    created(kms_http.post(BASE, json=pat_body(s, "ado-prod", projectId=SAMPLE_PAYMENTS), headers=auth))  # other scope
    missing = kms_http.post(BASE, json=pat_body(s, "ado-x", projectId="nope"), headers=auth)
    assert error(missing, 400, "BadRequest") == "Could not find project with ID nope"
    assert len(kms.kms_world.connections) == 2


# --- reading, updating, deleting -----------------------------------------------------------------
def test_list_scopes_and_permissions(
    kms: KmsSimulator, kms_http: httpx.Client, kms_identity: KmsIdentity, sample: tuple[World, Sample]
) -> None:
    world, auth = kms.kms_world, token_for(kms_http, kms_identity)
    world.add_connection("zeta-org", "access-token", {"accessToken": "PAT-SECRET", "orgName": "contoso-dev"})
    world.add_connection(
        "alpha-pay",
        "client-secret",
        {"clientId": "c", "clientSecret": "SP-SECRET", "tenantId": "t", "orgName": "o"},
        project_id=SAMPLE_PAYMENTS,
    )
    world.add_connection(
        "mid-plat", "oauth", {"tenantId": "t", "orgName": "o", "refreshToken": "RT-SECRET"}, project_id=SAMPLE_PLATFORM
    )
    world.add_connection("aws-prod", "access-key", {"accessKeyId": "AKIA", "secretAccessKey": "AWS-SECRET"}, app="aws")

    everything = kms_http.get(BASE, headers=auth)
    assert [c["name"] for c in everything.json()["appConnections"]] == ["alpha-pay", "mid-plat", "zeta-org"]
    generic = kms_http.get("/api/v1/app-connections", headers=auth)
    assert [c["app"] for c in generic.json()["appConnections"]] == [
        "azure-devops",
        "aws",
        "azure-devops",
        "azure-devops",
    ]
    payments = kms_http.get(BASE, params={"projectId": SAMPLE_PAYMENTS}, headers=auth).json()["appConnections"]
    assert [(c["name"], c["credentials"]) for c in payments] == [
        ("alpha-pay", {"clientId": "c", "tenantId": "t", "orgName": "o"})
    ]
    for raw in (everything.content, generic.content):
        assert not any(secret in raw for secret in (b"PAT-SECRET", b"SP-SECRET", b"RT-SECRET", b"AWS-SECRET"))
    available = kms_http.get(f"{BASE}/available", headers=auth).json()["appConnections"]
    assert set(available[0]) == {"app", "name", "id", "projectId", "orgId"}
    by_name = kms_http.get(f"{BASE}/connection-name/alpha-pay", params={"projectId": SAMPLE_PAYMENTS}, headers=auth)
    assert by_name.json()["appConnection"]["name"] == "alpha-pay"
    error(kms_http.get(f"{BASE}/connection-name/alpha-pay", headers=auth), 404, "NotFound")  # org scope

    member = token_for(kms_http, world.add_identity("pay-bot", org_permission=False, project_ids={SAMPLE_PAYMENTS}))
    denied = kms_http.get(BASE, headers=member)
    assert error(denied, 403, "PermissionDenied") == "You are not allowed to read on AppConnections"
    error(kms_http.get("/api/v1/app-connections", headers=member), 403, "PermissionDenied")
    assert [
        c["name"]
        for c in kms_http.get(BASE, params={"projectId": SAMPLE_PAYMENTS}, headers=member).json()["appConnections"]
    ] == ["alpha-pay"]
    error(kms_http.get(BASE, params={"projectId": SAMPLE_PLATFORM}, headers=member), 403, "PermissionDenied")
    mine = next(c for c in world.connections.values() if c.name == "alpha-pay")
    assert kms_http.get(f"{BASE}/{mine.id}", headers=member).status_code == 200
    other = next(c for c in world.connections.values() if c.name == "zeta-org")
    error(kms_http.get(f"{BASE}/{other.id}", headers=member), 403, "PermissionDenied")
    error(kms_http.post(BASE, json=pat_body(sample[1]), headers=member), 403, "PermissionDenied")


def test_get_update_and_the_projects_route(
    kms: KmsSimulator, kms_http: httpx.Client, kms_identity: KmsIdentity, sandbox: Sandbox, sample: tuple[World, Sample]
) -> None:
    s, auth = sample[1], token_for(kms_http, kms_identity)
    conn = created(kms_http.post(BASE, json=pat_body(s), headers=auth))
    url = f"{BASE}/{conn['id']}"
    assert kms_http.get(url, headers=auth).json() == {"appConnection": conn}
    error(kms_http.get(f"{BASE}/00000000-0000-4000-8000-000000000000", headers=auth), 404, "NotFound")
    assert error(kms_http.get(f"{BASE}/not-a-uuid", headers=auth), 422, "ValidationFailure")[0]["path"] == [
        "connectionId"
    ]
    other_app = kms.kms_world.add_connection("aws-x", "access-key", {}, app="aws")
    error(kms_http.get(f"{BASE}/{other_app.id}", headers=auth), 400, "BadRequest")
    projects = kms_http.get(f"{url}/projects", headers=auth)
    assert error(projects, 403, f"Forbidden access to {url}/projects") == "You are not allowed to access this resource"

    renamed = kms_http.patch(url, json={"name": "ado-renamed", "description": "moved"}, headers=auth)
    assert renamed.json()["appConnection"]["name"] == "ado-renamed"
    assert renamed.json()["appConnection"]["version"] == 2 and renamed.json()["appConnection"]["description"] == "moved"

    probes = len(sandbox.devops.requests_to("/_apis/projects"))
    answer = kms_http.patch(
        url, json={"credentials": {"accessToken": s.pat_full.token, "orgName": "contoso-dev"}}, headers=auth
    )
    assert answer.status_code == 200 and answer.json()["appConnection"]["version"] == 3
    assert s.pat_full.token.encode() not in answer.content
    assert len(sandbox.devops.requests_to("/_apis/projects")) == probes + 1  # checked again
    assert kms.kms_world.connections[conn["id"]].credentials["accessToken"] == s.pat_full.token

    failing = kms_http.patch(
        url, json={"credentials": {"accessToken": s.pat_expired.token, "orgName": "contoso-dev"}}, headers=auth
    )
    assert error(failing, 400, "BadRequest").startswith("Failed to validate access token")
    assert kms.kms_world.connections[conn["id"]].version == 3  # unchanged
    shape = kms_http.patch(url, json={"credentials": sp_body(s)["credentials"]}, headers=auth)
    assert error(shape, 400, "BadRequest") == (
        "Invalid credential format for Azure DevOps Connection with method access-token"
    )
    garbage = kms_http.patch(url, json={"credentials": {"foo": "bar"}}, headers=auth)
    assert error(garbage, 422, "ValidationFailure")[0]["code"] == "invalid_union"
    strict = kms_http.patch(url, json={"method": "oauth", "projectId": SAMPLE_PAYMENTS}, headers=auth)
    assert error(strict, 422, "ValidationFailure")[0]["keys"] == ["method", "projectId"]
    created(kms_http.post(BASE, json=pat_body(s, "ado-taken"), headers=auth))
    clash = kms_http.patch(url, json={"name": "ado-taken"}, headers=auth)
    assert error(clash, 400, "BadRequest") == 'An App Connection with the name "ado-taken" already exists'


def test_delete_and_in_use_refusal(
    kms: KmsSimulator, kms_http: httpx.Client, kms_identity: KmsIdentity, sample: tuple[World, Sample]
) -> None:
    s, auth = sample[1], token_for(kms_http, kms_identity)
    conn = created(kms_http.post(BASE, json=pat_body(s), headers=auth))
    deleted = kms_http.delete(f"{BASE}/{conn['id']}", headers=auth)
    assert deleted.json() == {"appConnection": conn} and s.pat_ok.token.encode() not in deleted.content
    error(kms_http.get(f"{BASE}/{conn['id']}", headers=auth), 404, "NotFound")
    error(kms_http.delete(f"{BASE}/{conn['id']}", headers=auth), 404, "NotFound")
    busy = kms.kms_world.add_connection("ado-busy", "access-token", {"orgName": "o"}, in_use=True)
    refused = kms_http.delete(f"{BASE}/{busy.id}", headers=auth)
    assert error(refused, 400, "BadRequest") == (
        "Cannot delete App Connection with existing connections. Remove all existing connections and try again."
    )
    assert busy.id in kms.kms_world.connections


def test_no_answer_ever_carries_a_secret(
    kms: KmsSimulator,
    kms_http: httpx.Client,
    kms_identity: KmsIdentity,
    sandbox: Sandbox,
    sim_http: httpx.Client,
    sample: tuple[World, Sample],
) -> None:
    s, auth = sample[1], token_for(kms_http, kms_identity)
    raw: list[bytes] = []
    code = oauth_code(sandbox, sim_http, s)
    ids = [
        created(answer)["id"]
        for answer in (
            kms_http.post(BASE, json=pat_body(s), headers=auth),
            kms_http.post(BASE, json=sp_body(s), headers=auth),
            kms_http.post(BASE, json=oauth_body(s, code), headers=auth),
        )
    ]
    for answer in [
        kms_http.get(BASE, headers=auth),
        kms_http.get("/api/v1/app-connections", headers=auth),
        *(kms_http.get(f"{BASE}/{i}", headers=auth) for i in ids),
        kms_http.patch(f"{BASE}/{ids[1]}", json={"credentials": sp_body(s)["credentials"]}, headers=auth),
        *(kms_http.delete(f"{BASE}/{i}", headers=auth) for i in ids),
    ]:
        assert answer.status_code == 200, answer.text
        raw.append(answer.content)
    assert kms.kms_world.connections == {}
    for secret in (s.pat_ok.token, s.sp_secret, code, s.web_secret):
        assert secret.encode() not in b"".join(raw)
    assert all(b'"accessToken"' not in r and b'"refreshToken"' not in r for r in raw)


@pytest.mark.parametrize("site_url", ["", "https://kms.example.test/"])
def test_oauth_redirect_uri_comes_from_site_url(
    kms: KmsSimulator,
    kms_http: httpx.Client,
    kms_identity: KmsIdentity,
    sandbox: Sandbox,
    sim_http: httpx.Client,
    sample: tuple[World, Sample],
    site_url: str,
) -> None:
    s, auth = sample[1], token_for(kms_http, kms_identity)
    kms.kms_world.site_url = site_url
    answer = kms_http.post(BASE, json=oauth_body(s, oauth_code(sandbox, sim_http, s)), headers=auth)
    if site_url:
        created(answer)  # the trailing slash is dropped, as the real config does
    else:
        assert error(answer, 500, "InternalServerError") == "SITE_URL env var is required to complete Azure OAuth flow"
