"""The Entra ID and Azure DevOps simulators, over real HTTPS, driven by httpx and by msal itself."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import stat
import time
import tomllib
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import msal
import pytest

from kms_connect_sim.sandbox import KMS_CALLBACK, Sample, Sandbox
from kms_connect_sim.server import RecordedRequest, Response, SimServer, json_response
from kms_connect_sim.tls import TlsFiles, make_tls
from kms_connect_sim.world import ADO_RESOURCE, MSA_TENANT, AppRegistration, World
from sim_fixtures import sample, sandbox, sim_http, sim_ssl_context, sim_tls

# The fixtures, imported by name until conftest star-imports them (named so pyflakes sees them used).
SIM_FIXTURES = (sample, sandbox, sim_http, sim_tls)
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")

ADO_DEFAULT = f"{ADO_RESOURCE}/.default"
CODE_ALPHABET = re.compile(r"[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{9}")
SUPPRESS = {"X-TFS-FedAuthRedirect": "Suppress", "Accept": "application/json"}


# --- helpers -------------------------------------------------------------------------------------
def public_app(
    box: Sandbox, http: httpx.Client, app: AppRegistration, tenant: str | None = None
) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        app.client_id,
        authority=box.entra.authority(tenant or app.tenant_id),
        instance_discovery=False,
        http_client=http,
    )


def confidential_app(
    box: Sandbox, http: httpx.Client, app: AppRegistration, secret: str, tenant: str | None = None
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        app.client_id,
        client_credential=secret,
        authority=box.entra.authority(tenant or app.tenant_id),
        instance_discovery=False,
        http_client=http,
    )


def claims(world: World, token: str) -> dict[str, object]:
    return jwt.decode(token, world.signing_key, algorithms=["HS256"], audience=ADO_RESOURCE)


def basic(pat: str, user: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{pat}".encode()).decode(), **SUPPRESS}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **SUPPRESS}


def probe_urls(box: Sandbox, org: str = "contoso-dev", project: str = "Platform") -> dict[str, str]:
    return {
        "connectiondata": f"{box.devops_url}/{org}/_apis/connectionData?connectOptions=1",
        "projects": f"{box.devops_url}/{org}/_apis/projects?api-version=7.1&$top=1",
        "variablegroups": f"{box.devops_url}/{org}/{project}/_apis/distributedtask/variablegroups?api-version=7.1",
        "serviceendpoints": f"{box.devops_url}/{org}/{project}/_apis/serviceendpoint/endpoints?api-version=7.1",
        "release": f"{box.release_url}/{org}/{project}/_apis/release/definitions?api-version=7.1",
    }


def app_token(box: Sandbox, http: httpx.Client, app: AppRegistration, secret: str) -> str:
    result = confidential_app(box, http, app, secret).acquire_token_for_client([ADO_DEFAULT])
    assert "access_token" in result, result
    return str(result["access_token"])


def device_token(box: Sandbox, http: httpx.Client, sample: Sample) -> tuple[msal.PublicClientApplication, dict]:
    pca = public_app(box, http, sample.oauth_app)
    flow = pca.initiate_device_flow(scopes=[ADO_DEFAULT])
    box.world.set_device_flow(flow["user_code"], "approved", sample.alice.upn)
    result = pca.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert "access_token" in result, result
    return pca, result


def sign_in(http: httpx.Client, auth_uri: str) -> dict[str, str]:
    """The pretend browser: follow auth_uri once and return the redirect's query (the pasted URL)."""
    answer = http.get(auth_uri)
    assert answer.status_code == 302, answer.text
    return dict(parse_qsl(urlsplit(answer.headers["location"]).query))


# --- TLS and the base server ---------------------------------------------------------------------
def test_tls_files_are_private_and_reused(tmp_path: Path) -> None:
    first = make_tls(tmp_path)
    pems = [p.read_bytes() for p in first]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in first)
    assert make_tls(tmp_path) == first and [p.read_bytes() for p in first] == pems
    first.cert_pem.write_text("garbage")  # unreadable files are replaced, not trusted
    assert make_tls(tmp_path).cert_pem.read_bytes() != b"garbage"


def test_only_clients_trusting_the_ca_connect(sandbox: Sandbox, tmp_path: Path) -> None:
    other = make_tls(tmp_path / "other")
    with httpx.Client(verify=sim_ssl_context(other.ca_pem)) as stranger, pytest.raises(httpx.ConnectError):
        stranger.get(f"{sandbox.entra.url}/devicelogin")
    with httpx.Client(verify=sim_ssl_context(sandbox.ca_bundle)) as friend:
        assert friend.get(f"{sandbox.entra.url}/devicelogin").status_code == 200


class _Echo(SimServer):
    def handle(self, request: RecordedRequest) -> Response:
        if request.path == "/boom":
            raise RuntimeError("simulator bug")
        return json_response(200, {"path": request.path, "query": request.query, "form": request.form})


def test_base_server_records_injects_and_reports_bugs(sim_tls: TlsFiles) -> None:
    with _Echo(sim_tls) as echo, httpx.Client(verify=sim_ssl_context(sim_tls.ca_pem)) as http:
        answer = http.post(f"{echo.url}/a?x=1", data={"k": "v w"}, headers={"X-Thing": "T"})
        assert answer.json() == {"path": "/a", "query": {"x": "1"}, "form": {"k": "v w"}}
        logged = echo.requests[-1]
        assert (logged.method, logged.path, logged.query, logged.form) == ("POST", "/a", {"x": "1"}, {"k": "v w"})
        assert logged.headers["x-thing"] == "T"

        echo.inject("/a", status=418, times=2, body={"error": "teapot"}, headers={"Retry-After": "3"})
        answers = [http.get(f"{echo.url}/a") for _ in range(3)]
        assert [a.status_code for a in answers] == [418, 418, 200]
        assert answers[0].json() == {"error": "teapot"} and answers[0].headers["retry-after"] == "3"
        assert http.get(f"{echo.url}/b").status_code == 200  # other paths are not affected

        assert http.get(f"{echo.url}/boom").status_code == 500
        assert "simulator bug" in echo.errors[0]
        # All of it over one kept-alive connection.
        assert len(echo._server.live) == 1  # type: ignore[union-attr]


def test_base_server_speaks_plain_http_1_1(sim_tls: TlsFiles) -> None:
    """Request lines and headers read line by line (no email parser), answers in one write."""
    with _Echo(sim_tls) as echo, socket.create_connection(("127.0.0.1", echo.port)) as raw:
        conn = sim_ssl_context(sim_tls.ca_pem).wrap_socket(raw, server_hostname="127.0.0.1")
        reader = conn.makefile("rb")

        def answer() -> tuple[bytes, dict[str, str], bytes]:
            status = reader.readline()
            headers = {}
            while (line := reader.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            return status, headers, reader.read(int(headers["content-length"]))

        conn.sendall(b"GET /x?a=1 HTTP/1.1\r\nHost: h\r\nX-Folded: one\r\n  two\r\nx-CASE: Yes\r\n\r\n")
        status, headers, body = answer()
        assert status == b"HTTP/1.1 200 OK\r\n" and json.loads(body)["query"] == {"a": "1"}
        assert headers["content-type"].startswith("application/json") and headers["date"].endswith("GMT")
        logged = echo.requests[-1].headers
        assert logged["x-folded"] == "one two" and logged["x-case"] == "Yes"
        conn.sendall(b"GET /y HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")  # same connection
        assert json.loads(answer()[2])["path"] == "/y" and reader.read() == b""  # then closed
    with _Echo(sim_tls) as echo, socket.create_connection(("127.0.0.1", echo.port)) as raw:
        conn = sim_ssl_context(sim_tls.ca_pem).wrap_socket(raw, server_hostname="127.0.0.1")
        conn.sendall(b"GET /nothing-after-the-path\r\n\r\n")
        assert conn.makefile("rb").readline().startswith(b"HTTP/1.1 400 ")
        assert echo.requests == []


def test_stop_closes_kept_alive_connections_quickly(sim_tls: TlsFiles) -> None:
    echo = _Echo(sim_tls)
    echo.start()
    url = echo.url
    with httpx.Client(verify=sim_ssl_context(sim_tls.ca_pem)) as http:
        assert http.get(f"{url}/a").status_code == 200
        started = time.monotonic()
        echo.stop()
        assert time.monotonic() - started < 2
        with pytest.raises(httpx.TransportError):
            http.get(f"{url}/a")


def test_sandbox_config_toml_round_trips_awkward_paths(tmp_path: Path) -> None:
    directory = tmp_path / 'we"ird \\ dir ü'
    with Sandbox(directory) as box:
        assert box.sample is not None  # no world given: the sample scenario
        table = tomllib.loads(box.config_toml())["azure"]
        assert table == {
            "authority_host": box.entra.url,
            "devops_url": box.devops.url,
            "release_url": box.devops.url + "/vsrm",
            "ca_bundle": str(directory / "sim-ca.pem"),
        }


# --- Entra: discovery and error shape ------------------------------------------------------------
def test_discovery_by_domain_names_the_tenant_guid(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    config = sim_http.get(
        f"{sandbox.entra.authority('Contoso.onmicrosoft.com')}/v2.0/.well-known/openid-configuration"
    ).json()
    base = f"{sandbox.entra.url}/{s.tenant.id}"
    assert config["issuer"] == f"{base}/v2.0"
    assert config["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert config["device_authorization_endpoint"] == f"{base}/oauth2/v2.0/devicecode"
    assert config["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"


@pytest.mark.parametrize(
    ("tenant", "error", "code"),
    [
        ("not-a-tenant", "invalid_request", 900023),
        ("nowhere.example", "invalid_tenant", 90002),
        ("0badc0de-0000-4000-8000-000000000000", "invalid_tenant", 90002),
    ],
)
def test_bad_tenants(sandbox: Sandbox, sim_http: httpx.Client, tenant: str, error: str, code: int) -> None:
    answer = sim_http.get(f"{sandbox.entra.authority(tenant)}/v2.0/.well-known/openid-configuration")
    assert (answer.status_code, answer.json()["error"], answer.json()["error_codes"]) == (400, error, [code])
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        msal.PublicClientApplication(
            "x", authority=sandbox.entra.authority(tenant), instance_discovery=False, http_client=sim_http
        )


def test_error_shape_echoes_the_correlation_id(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    answer = sim_http.post(
        f"{sandbox.entra.authority(s.tenant.id)}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": s.sp_app.client_id,
            "scope": ADO_DEFAULT,
            "client_secret": "typo",
        },
        headers={"client-request-id": "c0ffee00-0000-4000-8000-000000000001"},
    )
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    body = answer.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert body["correlation_id"] == "c0ffee00-0000-4000-8000-000000000001"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", body["timestamp"])
    assert body["error_description"] == (
        f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client "
        f"secret value, not the client secret ID, for a secret added to app '{s.sp_app.client_id}'.\r\n"
        f"Trace ID: {body['trace_id']}\r\nCorrelation ID: {body['correlation_id']}\r\nTimestamp: {body['timestamp']}"
    )
    assert body["error_uri"] == f"{sandbox.entra.url}/error?code=7000215"


def test_common_endpoint_refuses_single_tenant_apps(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    answer = sim_http.post(
        f"{sandbox.entra.authority('organizations')}/oauth2/v2.0/devicecode",
        data={"client_id": s.oauth_app.client_id, "scope": ADO_DEFAULT},
    )
    assert answer.json()["error_codes"] == [50194]


# --- Entra: client credentials -------------------------------------------------------------------
def test_client_credentials_with_msal(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    world, s = sample
    result = confidential_app(
        sandbox, sim_http, s.sp_app, s.sp_secret, "contoso.onmicrosoft.com"
    ).acquire_token_for_client([ADO_DEFAULT])
    assert result["token_type"] == "Bearer" and result["expires_in"] == world.token_lifetime
    token = claims(world, result["access_token"])
    assert token["tid"] == s.tenant.id and token["oid"] == s.sp_app.sp_object_id
    assert token["appid"] == s.sp_app.client_id and token["idtyp"] == "app"
    assert token["roles"] == [] and "scp" not in token
    assert token["iss"] == f"https://sts.windows.net/{s.tenant.id}/"
    sent = sandbox.entra.requests_to("/token")[-1]
    assert sent.form["client_secret"] == s.sp_secret and "client-request-id" in sent.headers


@pytest.mark.parametrize(
    ("case", "error", "code"),
    [
        ("unknown app", "unauthorized_client", 700016),
        ("secret id pasted", "invalid_client", 7000215),
        ("wrong secret", "invalid_client", 7000215),
        ("expired secret", "invalid_client", 7000222),
        ("no devops in tenant", "invalid_resource", 500011),
        ("graph scope", "invalid_scope", 70011),
        ("app of another tenant", "unauthorized_client", 700016),
    ],
)
def test_client_credentials_errors(
    sandbox: Sandbox, sim_http: httpx.Client, sample, case: str, error: str, code: int
) -> None:
    _world, s = sample
    app, secret, scope, tenant = s.sp_app, s.sp_secret, ADO_DEFAULT, s.tenant.id
    if case == "unknown app":
        app = AppRegistration("0badc0de-0000-4000-8000-000000000000", s.tenant.id)
    elif case == "secret id pasted":
        secret = s.sp_app.secrets[0].id
    elif case == "wrong secret":
        secret = s.sp_secret[:-1]
    elif case == "expired secret":
        app, secret = s.sp_expired, s.sp_expired_secret
    elif case == "no devops in tenant":
        s.tenant.has_devops = False
    elif case == "graph scope":
        scope = "https://graph.microsoft.com/.default"
    elif case == "app of another tenant":
        tenant = s.other_tenant.id
    result = confidential_app(sandbox, sim_http, app, secret, tenant).acquire_token_for_client([scope])
    assert "access_token" not in result
    assert (result["error"], result["error_codes"]) == (error, [code]), result
    assert f"AADSTS{code}:" in result["error_description"]
    if code == 700016:
        assert (
            f"Application with identifier '{app.client_id}' was not found in the directory '{tenant}'"
            in result["error_description"]
        )


def test_client_credentials_without_secret_is_401(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    answer = sim_http.post(
        f"{sandbox.entra.authority(s.tenant.id)}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": s.sp_app.client_id, "scope": ADO_DEFAULT},
    )
    assert answer.status_code == 401 and answer.json()["error_codes"] == [7000218]


# --- Entra: device code --------------------------------------------------------------------------
def test_device_flow_pending_then_approved(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    world, s = sample
    pca = public_app(sandbox, sim_http, s.oauth_app, "contoso.onmicrosoft.com")
    flow = pca.initiate_device_flow(scopes=[ADO_DEFAULT])
    assert CODE_ALPHABET.fullmatch(flow["user_code"])
    assert flow["verification_uri"] == f"{sandbox.entra.url}/devicelogin"
    assert flow["message"] == (
        f"To sign in, use a web browser to open the page {flow['verification_uri']} and "
        f"enter the code {flow['user_code']} to authenticate."
    )
    assert (flow["interval"], flow["expires_in"]) == (world.device_interval, world.device_expires_in)

    pending = pca.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert (pending["error"], pending["error_codes"]) == ("authorization_pending", [70016])
    assert [f.user_code for f in world.pending_device_flows()] == [flow["user_code"]]

    world.set_device_flow(flow["user_code"], "approved", s.alice.upn)
    result = pca.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert result["id_token_claims"]["preferred_username"] == s.alice.upn
    token = claims(world, result["access_token"])
    assert token["oid"] == s.alice.oid and token["idtyp"] == "user" and token["upn"] == s.alice.upn
    assert token["scp"] == " ".join(s.oauth_app.delegated_scopes)
    assert [a["username"] for a in pca.get_accounts()] == [s.alice.upn]  # client_info decoded
    assert world.device_flows[flow["device_code"]].polls == 2

    again = pca.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert (again["error"], again["error_codes"]) == ("invalid_grant", [54005])  # single use


@pytest.mark.parametrize(
    ("state", "error", "code"),
    [
        ("declined", "authorization_declined", 70000),
        ("expired", "expired_token", 70019),
    ],
)
def test_device_flow_declined_or_expired(
    sandbox: Sandbox, sim_http: httpx.Client, sample, state: str, error: str, code: int
) -> None:
    world, s = sample
    pca = public_app(sandbox, sim_http, s.oauth_app)
    flow = pca.initiate_device_flow(scopes=[ADO_DEFAULT])
    world.set_device_flow(flow["user_code"], state)
    result = pca.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert (result["error"], result["error_codes"]) == (error, [code])


def test_device_flow_expires_with_time(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    world, s = sample
    world.device_expires_in = 0  # expired the moment it is issued
    pca = public_app(sandbox, sim_http, s.oauth_app)
    flow = pca.initiate_device_flow(scopes=[ADO_DEFAULT])
    result = pca.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert result["error"] == "expired_token" and world.device_flows[flow["device_code"]].state == "expired"


def test_device_flow_without_public_client_flows(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    pca = public_app(sandbox, sim_http, s.no_public_flows_app)
    flow = pca.initiate_device_flow(scopes=[ADO_DEFAULT])
    assert "user_code" in flow  # Entra only complains when the code is redeemed
    result = pca.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert (result["error"], result["error_codes"]) == ("invalid_client", [7000218])
    assert "'client_assertion' or 'client_secret'" in result["error_description"]


def test_device_flow_unknown_app(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    app = AppRegistration("0badc0de-0000-4000-8000-000000000000", s.tenant.id)
    flow = public_app(sandbox, sim_http, app).initiate_device_flow(scopes=[ADO_DEFAULT])
    assert "user_code" not in flow and flow["error_codes"] == [700016]


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("mfa", 50076),
        ("conditional access", 53003),
        ("foreign user", 50020),
        ("no consent", 65001),
    ],
)
def test_device_flow_sign_in_refusals(sandbox: Sandbox, sim_http: httpx.Client, sample, case: str, code: int) -> None:
    world, s = sample
    upn = s.alice.upn
    if case == "mfa":
        s.alice.mfa_required = True
    elif case == "conditional access":
        s.alice.blocked_by_policy = True
    elif case == "foreign user":
        upn = s.mallory.upn
    else:
        s.oauth_app.consented = False
    pca = public_app(sandbox, sim_http, s.oauth_app)
    flow = pca.initiate_device_flow(scopes=[ADO_DEFAULT])
    world.set_device_flow(flow["user_code"], "approved", upn)
    result = pca.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert (result["error"], result["error_codes"]) == ("invalid_grant", [code])


def test_device_flow_auto_approval_for_the_demo(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    world, s = sample
    world.auto_approve_after = 2
    pca = public_app(sandbox, sim_http, s.oauth_app)
    flow = pca.initiate_device_flow(scopes=[ADO_DEFAULT])
    first = pca.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    second = pca.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert first["error"] == "authorization_pending"
    assert second["id_token_claims"]["preferred_username"] == world.browser_user


def test_device_login_page_approves_a_code(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _world, s = sample
    pca = public_app(sandbox, sim_http, s.oauth_app)
    flow = pca.initiate_device_flow(scopes=[ADO_DEFAULT])
    page = sim_http.post(
        f"{sandbox.entra.url}/devicelogin", data={"code": flow["user_code"].lower(), "action": "approve"}
    )
    assert "Approved" in page.text
    assert "access_token" in pca.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)


def test_refresh_and_revoked_refresh(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    world, s = sample
    pca, first = device_token(sandbox, sim_http, s)
    account = pca.get_accounts()[0]
    refreshed = pca.acquire_token_silent([ADO_DEFAULT], account, force_refresh=True)
    assert refreshed["access_token"] != first["access_token"]
    assert sandbox.entra.requests_to("/token")[-1].form["grant_type"] == "refresh_token"
    world.revoked_refresh_users.add(s.alice.upn)
    failed = pca.acquire_token_silent_with_error([ADO_DEFAULT], account, force_refresh=True)
    assert (failed["error"], failed["error_codes"]) == ("invalid_grant", [700082])


# --- Entra: authorization code -------------------------------------------------------------------
def test_auth_code_flow_with_pasted_redirect(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    world, s = sample
    pca = public_app(sandbox, sim_http, s.oauth_app)
    flow = pca.initiate_auth_code_flow([ADO_DEFAULT], redirect_uri="http://localhost")
    pasted = sign_in(sim_http, flow["auth_uri"])
    assert pasted["state"] == flow["state"] and pasted["session_state"]
    result = pca.acquire_token_by_auth_code_flow(dict(flow), pasted)
    assert claims(world, result["access_token"])["upn"] == s.alice.upn  # msal checked the nonce hash too
    reused = pca.acquire_token_by_auth_code_flow(dict(flow), pasted)
    assert (reused["error"], reused["error_codes"]) == ("invalid_grant", [54005])


def test_auth_code_state_mismatch_raises(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    pca = public_app(sandbox, sim_http, s.oauth_app)
    flow = pca.initiate_auth_code_flow([ADO_DEFAULT], redirect_uri="http://localhost")
    pasted = sign_in(sim_http, flow["auth_uri"]) | {"state": "forged"}
    with pytest.raises(ValueError, match="state mismatch"):
        pca.acquire_token_by_auth_code_flow(dict(flow), pasted)


def test_auth_code_for_a_confidential_web_app(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    world, s = sample
    cca = confidential_app(sandbox, sim_http, s.oauth_web_app, s.web_secret)
    flow = cca.initiate_auth_code_flow([ADO_DEFAULT], redirect_uri=KMS_CALLBACK)
    result = cca.acquire_token_by_auth_code_flow(dict(flow), sign_in(sim_http, flow["auth_uri"]))
    assert claims(world, result["access_token"])["appid"] == s.oauth_web_app.client_id


def authorize(
    box: Sandbox, http: httpx.Client, app: AppRegistration, redirect_uri: str, **extra: str
) -> httpx.Response:
    params = {
        "client_id": app.client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": f"{ADO_DEFAULT} offline_access",
        "state": "s+t/a=te",
        **extra,
    }
    return http.get(f"{box.entra.authority(app.tenant_id)}/oauth2/v2.0/authorize", params=params)


def redeem(
    box: Sandbox, http: httpx.Client, app: AppRegistration, code: str, redirect_uri: str, **extra: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": app.client_id,
        "code": code,
        "redirect_uri": redirect_uri,
        "scope": ADO_DEFAULT,
        **extra,
    }
    return http.post(f"{box.entra.authority(app.tenant_id)}/oauth2/v2.0/token", data=form)


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("web redirect, no secret", 401, 7000218),
        ("web redirect, secret id", 401, 7000215),
        ("public redirect with a secret", 401, 700025),
        ("other redirect uri", 400, 500112),
        ("pkce mismatch", 400, 501481),
        ("pkce verifier missing", 400, 501481),
    ],
)
def test_auth_code_redemption_errors(
    sandbox: Sandbox, sim_http: httpx.Client, sample, case: str, status: int, code: int
) -> None:
    _, s = sample
    app, uri, extra, pkce = s.oauth_web_app, "http://localhost:9999", {}, {}
    if case == "web redirect, secret id":
        extra = {"client_secret": s.oauth_web_app.secrets[0].id}
    elif case == "public redirect with a secret":
        app, uri, extra = s.oauth_app, "http://localhost", {"client_secret": "anything"}
    elif case == "other redirect uri":
        extra = {"client_secret": s.web_secret}
    elif case.startswith("pkce"):
        app, uri = s.oauth_app, "http://localhost"
        pkce = {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}
        extra = {"code_verifier": "not-the-one"} if case == "pkce mismatch" else {}
    pasted = dict(parse_qsl(urlsplit(authorize(sandbox, sim_http, app, uri, **pkce).headers["location"]).query))
    assert pasted["state"] == "s+t/a=te"  # kept exactly
    redeem_uri = "http://localhost:1234/other" if case == "other redirect uri" else uri
    answer = redeem(sandbox, sim_http, app, pasted["code"], redeem_uri, **extra)
    assert (answer.status_code, answer.json()["error_codes"]) == (status, [code]), answer.text


def test_auth_code_pkce_verified_and_nonce_echoed(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    verifier = "kms-connect-" + "v" * 40
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    answer = authorize(
        sandbox,
        sim_http,
        s.oauth_app,
        "http://localhost",
        nonce="n-0S6_WzA2Mj",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    code = dict(parse_qsl(urlsplit(answer.headers["location"]).query))["code"]
    tokens = redeem(sandbox, sim_http, s.oauth_app, code, "http://localhost", code_verifier=verifier).json()
    id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert id_claims["nonce"] == "n-0S6_WzA2Mj" and id_claims["aud"] == s.oauth_app.client_id
    assert id_claims["preferred_username"] == s.alice.upn and id_claims["tid"] == s.tenant.id


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("unknown client", "AADSTS700016"),
        (
            "bad redirect",
            "AADSTS50011: The redirect URI 'https://evil.example/cb' specified in the request does not "
            "match the redirect URIs configured for the application",
        ),
        ("foreign user", "AADSTS50020"),
    ],
)
def test_authorize_error_pages(sandbox: Sandbox, sim_http: httpx.Client, sample, case: str, needle: str) -> None:
    world, s = sample
    app, uri = s.oauth_app, "http://localhost"
    if case == "unknown client":
        app = AppRegistration("0badc0de-0000-4000-8000-000000000000", s.tenant.id)
    elif case == "bad redirect":
        uri = "https://evil.example/cb"
    else:
        world.browser_user = s.mallory.upn
    answer = authorize(sandbox, sim_http, app, uri)
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/html")
    assert needle in answer.text


@pytest.mark.parametrize(
    ("case", "error", "code"),
    [
        ("declined", "access_denied", 65004),
        ("mfa", "interaction_required", 50076),
        ("conditional access", "interaction_required", 53003),
        ("no consent", "consent_required", 65001),
    ],
)
def test_authorize_error_redirects(
    sandbox: Sandbox, sim_http: httpx.Client, sample, case: str, error: str, code: int
) -> None:
    world, s = sample
    if case == "declined":
        world.browser_outcome = "declined"
    elif case == "mfa":
        s.alice.mfa_required = True
    elif case == "conditional access":
        s.alice.blocked_by_policy = True
    else:
        s.oauth_app.consented = False
    answer = authorize(sandbox, sim_http, s.oauth_app, "http://localhost:8123")  # any loopback port
    assert answer.status_code == 302
    pasted = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    assert (pasted["error"], pasted["state"]) == (error, "s+t/a=te")
    assert pasted["error_description"].startswith(f"AADSTS{code}: ")
    assert "code" not in pasted


# --- Azure DevOps --------------------------------------------------------------------------------
@pytest.mark.parametrize("probe", ["connectiondata", "projects", "variablegroups", "serviceendpoints", "release"])
def test_pat_reaches_every_probe(sandbox: Sandbox, sim_http: httpx.Client, sample, probe: str) -> None:
    _, s = sample
    answer = sim_http.get(probe_urls(sandbox)[probe], headers=basic(s.pat_ok.token))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json; charset=utf-8; api-version=7.1"
    assert answer.headers["x-vss-resourcetenant"] == s.tenant.id
    assert all(answer.headers[h] for h in ("activityid", "x-tfs-session", "x-vss-e2eid"))
    body = answer.json()
    if probe == "connectiondata":
        assert body["authenticatedUser"]["id"] == s.alice.oid
        assert body["authenticatedUser"]["properties"]["Account"]["$value"] == s.alice.upn
    else:
        assert (
            body["count"]
            == len(body["value"])
            == {"projects": 1, "variablegroups": 2, "serviceendpoints": 1, "release": 1}[probe]
        )


def test_projects_and_user_names(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    url = f"{sandbox.devops_url}/Contoso-Dev/_apis/projects?api-version=7.1"
    projects = sim_http.get(url, headers=basic(s.pat_ok.token, user="anything")).json()
    assert [p["name"] for p in projects["value"]] == ["Platform", "Payments"]
    assert {p["state"] for p in projects["value"]} == {"wellFormed"}
    lower = probe_urls(sandbox, project="payments")["variablegroups"]
    assert sim_http.get(lower, headers=basic(s.pat_ok.token)).status_code == 200


def test_anonymous_requests(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    url = probe_urls(sandbox)["connectiondata"]
    suppressed = sim_http.get(url, headers=SUPPRESS)
    assert suppressed.status_code == 401
    assert suppressed.headers["www-authenticate"] == (
        f"Bearer authorization_uri=https://login.microsoftonline.com/{s.tenant.id}, "
        'Basic realm="https://tfsprod.visualstudio.com/", TFS-Federated'
    )
    assert suppressed.headers["x-tfs-serviceerror"] == (
        "TF400813%3a+Resource+not+available+for+anonymous+access.+Client+authentication+required."
    )
    assert suppressed.headers["x-vss-resourcetenant"] == s.tenant.id
    assert suppressed.json()["typeKey"] == "UnauthorizedRequestException"
    assert suppressed.json()["message"].startswith("TF400813: Resource not available for anonymous access.")

    page = sim_http.get(url, headers={"Authorization": "Basic bm90IGEgcGF0"})  # ":"-less garbage, no Suppress
    assert page.status_code == 203 and page.headers["content-type"].startswith("text/html")
    assert "Sign In" in page.text and page.headers["x-vss-resourcetenant"] == s.tenant.id

    sandbox.devops.redirect_unauthenticated = True
    moved = sim_http.get(url)
    assert moved.status_code == 302
    assert moved.headers["location"].startswith("https://spsprodweu5.vssps.visualstudio.com/_signin?realm=")


@pytest.mark.parametrize(
    ("pat", "message", "type_key"),
    [
        ("pat_expired", "Access Denied: The Personal Access Token used has expired.", "AccessCheckException"),
        (
            "pat_bob",
            "TF400813: The user '{bob}' is not authorized to access this resource.",
            "UnauthorizedRequestException",
        ),
    ],
)
def test_refused_pats(sandbox: Sandbox, sim_http: httpx.Client, sample, pat: str, message: str, type_key: str) -> None:
    _, s = sample
    answer = sim_http.get(probe_urls(sandbox)["projects"], headers=basic(getattr(s, pat).token))
    assert answer.status_code == 401 and "www-authenticate" in answer.headers
    assert (answer.json()["message"], answer.json()["typeKey"]) == (message.format(bob=s.bob.oid), type_key)


def test_missing_scope_fails_only_its_endpoint(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    statuses = {
        probe: sim_http.get(url, headers=basic(s.pat_no_release.token)).status_code
        for probe, url in probe_urls(sandbox).items()
    }
    assert statuses == {
        "connectiondata": 200,
        "projects": 200,
        "variablegroups": 200,
        "serviceendpoints": 200,
        "release": 401,
    }
    full = sim_http.get(probe_urls(sandbox)["release"], headers=basic(s.pat_full.token))
    assert full.status_code == 200


def test_bearer_tokens(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    world, s = sample
    urls = probe_urls(sandbox)
    sp_token = app_token(sandbox, sim_http, s.sp_app, s.sp_secret)
    me = sim_http.get(urls["connectiondata"], headers=bearer(sp_token)).json()["authenticatedUser"]
    assert me["id"] == s.sp_app.sp_object_id and me["providerDisplayName"] == s.sp_app.display_name
    assert sim_http.get(urls["release"], headers=bearer(sp_token)).status_code == 200  # no scopes for apps

    _, user = device_token(sandbox, sim_http, s)
    assert sim_http.get(urls["variablegroups"], headers=bearer(user["access_token"])).status_code == 200

    outsider = sim_http.get(
        urls["connectiondata"], headers=bearer(app_token(sandbox, sim_http, s.sp_outsider, s.sp_outsider_secret))
    )
    tid, oid = s.tenant.id, s.sp_outsider.sp_object_id
    assert (outsider.status_code, outsider.json()["message"]) == (
        401,
        f"TF401444: Sign-in at least once as {tid}\\{tid}\\{oid} in a web browser to enable access to the service.",
    )

    foreign = claims(world, sp_token) | {"tid": s.other_tenant.id}
    answer = sim_http.get(urls["connectiondata"], headers=bearer(jwt.encode(foreign, world.signing_key, "HS256")))
    assert answer.status_code == 401 and answer.json()["message"].startswith("TF400813: The user ")
    expired = claims(world, sp_token) | {"exp": int(time.time()) - 10}
    stale = sim_http.get(urls["connectiondata"], headers=bearer(jwt.encode(expired, world.signing_key, "HS256")))
    assert stale.json()["message"].startswith("TF400813: Resource not available for anonymous access")
    wrong_key = jwt.encode(claims(world, sp_token), b"k" * 32, "HS256")
    assert sim_http.get(urls["connectiondata"], headers=bearer(wrong_key)).status_code == 401


def test_denied_permission_is_403(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    s.org.denied[s.alice.oid] = {"serviceendpoints"}
    answer = sim_http.get(probe_urls(sandbox)["serviceendpoints"], headers=basic(s.pat_ok.token))
    assert answer.status_code == 403
    assert answer.json()["message"] == (
        f"Access Denied: {s.alice.display_name} needs the following permission(s) "
        "on the resource Platform to perform this action: View project-level "
        "information"
    )
    assert sim_http.get(probe_urls(sandbox)["projects"], headers=basic(s.pat_ok.token)).status_code == 200


def test_msa_org_unknown_org_project_and_route(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    msa = sim_http.get(probe_urls(sandbox, org="contoso-msa")["connectiondata"], headers=SUPPRESS)
    assert msa.status_code == 401 and msa.headers["x-vss-resourcetenant"] == MSA_TENANT

    unknown = sim_http.get(probe_urls(sandbox, org="no-such-org")["connectiondata"], headers=SUPPRESS)
    assert unknown.status_code == 404 and "x-vss-resourcetenant" not in unknown.headers
    assert "Azure DevOps Services | Page not found" in unknown.text

    missing = sim_http.get(probe_urls(sandbox, project="Ghost Town")["variablegroups"], headers=basic(s.pat_ok.token))
    assert missing.status_code == 404 and missing.json()["typeKey"] == "ProjectDoesNotExistException"
    assert missing.json()["message"].startswith(
        "VS800075: The project with id 'vstfs:///Classification/TeamProject/Ghost Town' does not exist"
    )

    route = sim_http.get(f"{sandbox.devops_url}/contoso-dev/_apis/nothing", headers=basic(s.pat_ok.token))
    assert route.status_code == 404 and route.headers["content-type"].startswith("application/json")


def test_injected_throttling_and_outage(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    url = probe_urls(sandbox)["projects"]
    sandbox.devops.inject(
        "/_apis/projects",
        status=429,
        headers={"Retry-After": "7"},
        body={"message": "TF400733: The request has been canceled"},
    )
    throttled = sim_http.get(url, headers=basic(s.pat_ok.token))
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "7"
    assert throttled.headers["x-vss-resourcetenant"] == s.tenant.id  # a real 429 still names the tenant
    sandbox.devops.inject("/_apis/projects", status=503, times=2, body="Service Unavailable")
    assert [sim_http.get(url, headers=basic(s.pat_ok.token)).status_code for _ in range(3)] == [503, 503, 200]


def test_latency_and_injected_delay(sandbox: Sandbox, sim_http: httpx.Client, sample) -> None:
    _, s = sample
    url = probe_urls(sandbox)["connectiondata"]
    sandbox.latency = 0.3
    started = time.monotonic()
    assert sim_http.get(url, headers=basic(s.pat_ok.token)).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert sandbox.entra.latency == 0.3
    sandbox.latency = 0
    sandbox.devops.inject("connectionData", status=0, delay=0.3)  # slow but normal
    started = time.monotonic()
    assert sim_http.get(url, headers=basic(s.pat_ok.token)).status_code == 200
    assert time.monotonic() - started >= 0.3
