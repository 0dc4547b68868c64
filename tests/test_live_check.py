"""The live check against the loopback Entra ID and Azure DevOps simulators, over real HTTPS.

msal, httpx and aiohttp (the probes) really talk to the simulators; nothing in them is patched.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from kms_connect.core.azure import entra
from kms_connect.core.azure.devops import RetryPolicy
from kms_connect.core.azure.explain import ProblemError
from kms_connect.core.azure.sign_in import SignInCancelled, start_device_flow, start_redirect
from kms_connect.core.check_target import CheckTarget
from kms_connect.core.config import AzureSettings, Settings
from kms_connect.core.live_check import LiveChecker
from kms_connect.core.models import CheckStep, ConnectionDraft
from kms_connect.core.status import Method, Status, StepState
from kms_connect_sim.sandbox import CONTOSO_TENANT, Sandbox

FAST = RetryPolicy(backoff=0.01)


def sim_settings(box: Sandbox, **azure: object) -> Settings:
    values = {
        "authority_host": box.authority_host,
        "devops_url": box.devops_url,
        "release_url": box.release_url,
        "ca_bundle": box.ca_bundle,
    }
    values.update(azure)
    return Settings(azure=AzureSettings(**values))


def entra_config(box: Sandbox) -> entra.EntraConfig:
    return entra.EntraConfig(box.authority_host, box.ca_bundle)


async def run(box: Sandbox, seen: list[CheckStep] | None = None, checker: LiveChecker | None = None, **target):
    checker = checker or LiveChecker(sim_settings(box), retry=FAST)
    target.setdefault("org_name", "contoso-dev")
    for key in ("access_token", "client_secret", "token_cache"):
        if isinstance(target.get(key), str):
            target[key] = SecretStr(target[key])
    return await checker.run(CheckTarget(**target), seen.append if seen is not None else None)


def steps(result) -> dict[str, CheckStep]:
    return {s.key: s for s in result.steps}


# --- Access Token ------------------------------------------------------------------------------
async def test_pat_with_every_read_scope_is_valid(sandbox, sample) -> None:
    seen: list[CheckStep] = []
    out = await run(sandbox, seen, method=Method.ACCESS_TOKEN, access_token=sample[1].pat_ok.token)
    s = steps(out.result)
    assert out.result.status is Status.VALID, out.result.summary
    assert [k for k, st in s.items() if st.state is not StepState.OK] == ["write"]
    assert "Alice Lindqvist" in s["credentials"].result
    assert s["projects"].result.startswith("2 projects: Platform, Payments")
    assert s["write"].state is StepState.SKIPPED and "Not proven" in s["write"].result
    assert all(st.duration_ms is not None for k, st in s.items() if k != "write")
    # Live: every step was announced pending, then running, then done.
    states = [(st.key, st.state) for st in seen]
    for key in ("org", "credentials", "projects", "release"):
        assert (
            states.index((key, StepState.PENDING))
            < states.index((key, StepState.RUNNING))
            < states.index((key, StepState.OK))
        )
    # The one rule of every probe: JSON, no sign-in redirect.
    devops = list(sandbox.devops.requests)
    assert devops and all(r.headers.get("x-tfs-fedauthredirect") == "Suppress" for r in devops)
    assert all(r.headers.get("accept") == "application/json" for r in devops)


async def test_missing_release_scope_is_a_warning_on_that_step_only(sandbox, sample) -> None:
    out = await run(sandbox, method=Method.ACCESS_TOKEN, access_token=sample[1].pat_no_release.token)
    s = steps(out.result)
    assert out.result.status is Status.WARNING
    assert s["release"].state is StepState.FAILED and "401" in s["release"].result
    assert "read scope" in s["release"].explanation
    assert s["variablegroups"].state is StepState.OK and s["credentials"].state is StepState.OK
    assert out.result.summary.startswith("Release read")


async def test_expired_pat_is_explained_and_points_at_the_token_field(sandbox, sample) -> None:
    out = await run(sandbox, method=Method.ACCESS_TOKEN, access_token=sample[1].pat_expired.token)
    s = steps(out.result)
    assert out.result.status is Status.FAILED
    assert s["credentials"].result == "Token expired" and s["credentials"].field == "access_token"
    assert s["projects"].state is StepState.SKIPPED  # not a second copy of the same failure
    assert s["variablegroups"].state is StepState.SKIPPED


@pytest.mark.parametrize("who", ["bob", "garbage"])
async def test_rejected_pat(sandbox, sample, who) -> None:
    token = sample[1].pat_bob.token if who == "bob" else "x" * 52
    out = await run(sandbox, method=Method.ACCESS_TOKEN, access_token=token)
    cred = steps(out.result)["credentials"]
    assert out.result.status is Status.FAILED
    assert cred.result == "Token rejected (401)" and "copied whole" in cred.explanation


async def test_unknown_organization(sandbox, sample) -> None:
    out = await run(sandbox, method=Method.ACCESS_TOKEN, access_token=sample[1].pat_ok.token, org_name="nope-org")
    s = steps(out.result)
    assert s["org"].state is StepState.FAILED and s["org"].field == "org_name"
    assert "No organization named “nope-org”" in s["org"].result
    assert s["credentials"].state is StepState.SKIPPED


async def test_checks_of_one_organization_share_its_tenant_lookup(sandbox, sample) -> None:
    import asyncio

    def lookups(org: str) -> int:  # the anonymous connectionData calls made for `org`
        return sum(
            1
            for r in sandbox.devops.requests
            if r.path == f"/{org}/_apis/connectionData" and "authorization" not in r.headers
        )

    checker = LiveChecker(sim_settings(sandbox), retry=FAST)
    pat = sample[1].pat_ok.token
    before = lookups("contoso-dev")
    outs = await asyncio.gather(
        *(run(sandbox, checker=checker, method=Method.ACCESS_TOKEN, access_token=pat) for _ in range(5))
    )
    assert all(o.result.status is Status.VALID and "reachable" in steps(o.result)["org"].result for o in outs)
    assert lookups("contoso-dev") - before == 1  # five checks at once, one question
    # A failed lookup is not kept: the next check asks again.
    before = lookups("nope-org")
    for _ in range(2):
        out = await run(sandbox, checker=checker, method=Method.ACCESS_TOKEN, access_token=pat, org_name="nope-org")
        assert steps(out.result)["org"].state is StepState.FAILED
    assert lookups("nope-org") - before == 2


async def test_pat_on_a_microsoft_account_org_is_fine(sandbox, sample) -> None:
    out = await run(sandbox, method=Method.ACCESS_TOKEN, access_token=sample[1].pat_ok.token, org_name="contoso-msa")
    assert "Microsoft-account organization" in steps(out.result)["org"].result
    assert out.result.status is Status.VALID


# --- Client Secret -----------------------------------------------------------------------------
def sp(sample, app="sp_app", secret="sp_secret", tenant=CONTOSO_TENANT, **kw):
    s = sample[1]
    return dict(
        method=Method.CLIENT_SECRET,
        tenant_id=tenant,
        client_id=getattr(s, app).client_id,
        client_secret=getattr(s, secret) if isinstance(secret, str) and hasattr(s, secret) else secret,
        **kw,
    )


async def test_client_secret_success(sandbox, sample) -> None:
    out = await run(sandbox, **sp(sample))
    s = steps(out.result)
    assert out.result.status is Status.VALID, out.result.summary
    assert "kms-devops-automation" in s["credentials"].result
    assert s["org"].result == f"contoso-dev is in tenant {CONTOSO_TENANT}"
    assert "Granted scopes" not in s["credentials"].explanation  # app tokens carry no scp


async def test_secret_id_pasted_instead_of_value(sandbox, sample) -> None:
    secret_id = sample[1].sp_app.secrets[0].id
    out = await run(sandbox, **sp(sample, secret=secret_id))
    token = steps(out.result)["token"]
    assert out.result.status is Status.FAILED
    assert token.result == "Secret ID pasted, not the Value (AADSTS7000215)"
    assert token.field == "client_secret"
    assert "Trace ID" in token.explanation and "Correlation ID" in token.explanation
    assert steps(out.result)["credentials"].state is StepState.SKIPPED


@pytest.mark.parametrize(
    ("kind", "code", "field"),
    [
        ("wrong", "AADSTS7000215", "client_secret"),
        ("expired", "AADSTS7000222", "client_secret"),
        ("unknown_app", "AADSTS700016", "client_id"),
        ("unknown_tenant", "AADSTS90002", "tenant_id"),
    ],
)
async def test_client_secret_failures_name_the_field(sandbox, sample, kind, code, field) -> None:
    args = {
        "wrong": sp(sample, secret="not-the-secret~" + "x" * 20),
        "expired": sp(sample, app="sp_expired", secret="sp_expired_secret"),
        "unknown_app": {**sp(sample), "client_id": "11111111-2222-4333-8444-555555555555"},
        "unknown_tenant": sp(sample, tenant="99999999-9999-4999-8999-999999999999"),
    }[kind]
    out = await run(sandbox, **args)
    token = steps(out.result)["token"]
    assert out.result.status is Status.FAILED
    assert code in token.result and token.field == field
    assert "Trace ID" in token.explanation


async def test_service_principal_not_in_the_org(sandbox, sample) -> None:
    out = await run(sandbox, **sp(sample, app="sp_outsider", secret="sp_outsider_secret"))
    cred = steps(out.result)["credentials"]
    assert cred.result == "Service principal not in the organization (TF401444)"
    assert "Organization settings → Users" in cred.explanation


async def test_org_in_another_tenant_highlights_the_tenant(sandbox, sample) -> None:
    world, s = sample
    world.add_org("fabrikam-dev", s.other_tenant, members={s.sp_app.sp_object_id})
    out = await run(sandbox, **sp(sample), org_name="fabrikam-dev")
    org = steps(out.result)["org"]
    assert out.result.status is Status.FAILED
    assert org.result == "Organization is in another tenant" and org.field == "tenant_id"
    assert s.other_tenant.id in org.explanation


async def test_entra_methods_refuse_microsoft_account_orgs(sandbox, sample) -> None:
    out = await run(sandbox, **sp(sample), org_name="contoso-msa")
    org = steps(out.result)["org"]
    assert org.result == "Microsoft-account organization" and org.field == "org_name"


# --- transport and Azure DevOps behaviour ------------------------------------------------------
async def test_rate_limit_waits_for_retry_after_and_says_so(sandbox, sample) -> None:
    sandbox.devops.inject("_apis/projects", status=429, headers={"Retry-After": "1"})
    seen: list[CheckStep] = []
    out = await run(sandbox, seen, method=Method.ACCESS_TOKEN, access_token=sample[1].pat_ok.token)
    assert steps(out.result)["projects"].state is StepState.OK
    assert any("Rate limited (429): waiting 1 s" in st.result for st in seen if st.key == "projects")


async def test_server_errors_are_retried_then_explained(sandbox, sample) -> None:
    sandbox.devops.inject("serviceendpoint", status=503, times=1)
    out = await run(sandbox, method=Method.ACCESS_TOKEN, access_token=sample[1].pat_ok.token)
    assert steps(out.result)["serviceendpoints"].state is StepState.OK
    sandbox.devops.inject("serviceendpoint", status=500, times=5)
    out = await run(sandbox, method=Method.ACCESS_TOKEN, access_token=sample[1].pat_ok.token)
    step = steps(out.result)["serviceendpoints"]
    assert step.state is StepState.FAILED and step.result == "Azure DevOps error (500)"


async def test_untrusted_tls_points_at_ca_bundle(sandbox, sample, tmp_path: Path) -> None:
    from kms_connect_sim.tls import make_tls

    other = make_tls(tmp_path / "other-ca")
    checker = LiveChecker(sim_settings(sandbox, ca_bundle=other.ca_pem), retry=FAST)
    out = await run(sandbox, checker=checker, method=Method.ACCESS_TOKEN, access_token=sample[1].pat_ok.token)
    org = steps(out.result)["org"]
    assert org.result == "Azure DevOps: TLS certificate not trusted"
    assert "[azure] ca_bundle" in org.explanation


async def test_read_timeout_is_retried_then_explained(sandbox, sample) -> None:
    sandbox.devops.inject("connectionData", status=0, delay=2.0, times=6)  # every try of both lookups
    checker = LiveChecker(sim_settings(sandbox), retry=FAST, timeout=httpx.Timeout(0.3, connect=5))
    out = await run(sandbox, checker=checker, method=Method.ACCESS_TOKEN, access_token=sample[1].pat_ok.token)
    assert steps(out.result)["org"].result.startswith("Azure DevOps: no answer in time, 3 tries over ")


async def test_connection_refused_is_explained(sandbox, sample) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    checker = LiveChecker(sim_settings(sandbox, devops_url=f"https://127.0.0.1:{port}"), retry=FAST)
    out = await run(sandbox, checker=checker, method=Method.ACCESS_TOKEN, access_token=sample[1].pat_ok.token)
    org = steps(out.result)["org"]
    assert org.result.startswith("Azure DevOps: connection refused, 3 tries over ") and "devops_url" in org.explanation


def test_connect_timeout_and_dns_wording() -> None:
    from kms_connect.core.azure.explain import transport_problem

    p = transport_problem(httpx.ConnectTimeout("timed out"), "Azure DevOps", "dev.azure.com", "[azure] devops_url")
    assert p.result == "Azure DevOps: connect timed out" and "HTTPS_PROXY" in p.explanation
    err = httpx.ConnectError("[Errno -2] Name or service not known")
    p = transport_problem(err, "Azure DevOps", "dev.azure.com", "[azure] devops_url")
    assert p.result == "Azure DevOps: host name not found"


async def test_no_secret_in_results(sandbox, sample) -> None:
    s = sample[1]
    results = [
        await run(sandbox, method=Method.ACCESS_TOKEN, access_token=s.pat_expired.token),
        await run(sandbox, **sp(sample)),
        await run(sandbox, **sp(sample, secret=s.sp_app.secrets[0].id)),
    ]
    dumped = "".join(r.result.model_dump_json() for r in results)
    for secret in (s.pat_expired.token, s.sp_secret, s.sp_app.secrets[0].id):
        assert secret not in dumped


# --- OAuth: device code ------------------------------------------------------------------------
def device_token(box: Sandbox, sample, client_id: str | None = None, tenant: str = "contoso.onmicrosoft.com"):
    _world, s = sample
    sign = start_device_flow(entra_config(box), client_id or s.oauth_app.client_id, tenant)
    assert len(sign.user_code) == 9 and sign.verification_uri.endswith("/devicelogin")
    return sign


def test_device_code_pending_then_approved(sandbox, sample) -> None:
    world, s = sample
    sign = device_token(sandbox, sample)
    [flow] = world.pending_device_flows()
    assert flow.user_code == sign.user_code
    # One poll while nobody has signed in yet: still pending, not an error.
    done = threading.Event()
    box: dict = {}

    def wait() -> None:
        try:
            box["token"] = sign.wait()
        except Exception as exc:  # noqa: BLE001 - reported below
            box["error"] = exc
        done.set()

    thread = threading.Thread(target=wait)
    thread.start()
    assert not done.wait(0.2)  # still polling: authorization_pending keeps it waiting
    world.set_device_flow(sign.user_code, "approved", s.alice.upn)
    assert done.wait(10), "the poll did not pick up the approval"
    token = box["token"]
    assert token.who == s.alice.upn and token.tenant == CONTOSO_TENANT and token.cache_blob is not None
    assert "vso.project" in token.scopes


@pytest.mark.parametrize(("state", "result"), [("declined", "Sign-in declined"), ("expired", "Device code expired")])
def test_device_code_declined_or_expired(sandbox, sample, state, result) -> None:
    world, _ = sample
    sign = device_token(sandbox, sample)
    world.set_device_flow(sign.user_code, state)
    with pytest.raises(ProblemError) as info:
        sign.wait()
    assert info.value.problem.result.startswith(result)
    assert "Trace ID" in info.value.problem.ids


def test_device_code_without_public_client_flows(sandbox, sample) -> None:
    _world, s = sample
    sign = device_token(sandbox, sample, s.no_public_flows_app.client_id)
    with pytest.raises(ProblemError) as info:
        sign.wait()
    problem = info.value.problem
    assert problem.result == "Public client flows not allowed (AADSTS7000218)"
    assert "Allow public client flows" in problem.explanation


def test_device_code_cancel_stops_the_poll_within_a_second(sandbox, sample) -> None:
    sign = device_token(sandbox, sample)
    finished = threading.Event()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            sign.wait()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finished.set()

    threading.Thread(target=wait, daemon=True).start()
    assert not finished.wait(0.3)
    started = time.monotonic()
    sign.cancel()
    assert finished.wait(3)
    assert time.monotonic() - started < 1.5
    assert isinstance(errors[0], SignInCancelled)


async def test_oauth_check_with_a_domain_tenant_and_silent_refresh(sandbox, sample) -> None:
    world, s = sample
    world.token_lifetime = 120  # under msal's 5-minute margin: every silent call refreshes
    sign = device_token(sandbox, sample)
    world.set_device_flow(sign.user_code, "approved", s.alice.upn)
    token = sign.wait()
    out = await run(sandbox, method=Method.OAUTH, tenant_id="contoso.onmicrosoft.com", token_cache=token.cache_blob)
    st = steps(out.result)
    assert out.result.status is Status.VALID, out.result.summary
    assert f"contoso.onmicrosoft.com is tenant {CONTOSO_TENANT}" in st["org"].result
    assert "Granted scopes: vso.project" in st["credentials"].explanation
    assert st["token"].result == f"Signed in as {s.alice.upn}"
    assert out.token_cache is not None  # refreshed: the new cache must be kept
    grants = [r.form.get("grant_type") for r in sandbox.entra.requests if r.form]
    assert "refresh_token" in grants
    # A refresh token that died: say to sign in again.
    world.revoked_refresh_users.add(s.alice.upn)
    out = await run(sandbox, method=Method.OAUTH, tenant_id="contoso.onmicrosoft.com", token_cache=out.token_cache)
    assert steps(out.result)["token"].result == "Sign-in expired (AADSTS700082)"


# --- OAuth: browser redirect, pasted back ------------------------------------------------------
def browser(http: httpx.Client, url: str) -> str:
    """The pretend browser: where /authorize sends the operator."""
    resp = http.get(url)
    assert resp.status_code == 302, resp.text
    return resp.headers["location"]


def test_redirect_paste_back_public_client(sandbox, sample, sim_http) -> None:
    _, s = sample
    sign = start_redirect(entra_config(sandbox), s.oauth_app.client_id, CONTOSO_TENANT, "http://localhost", None)
    assert "code_challenge=" in sign.auth_uri and not sign.confidential
    landed = browser(sim_http, sign.auth_uri)
    token = sign.complete(landed)
    assert token.who == s.alice.upn
    # The same code again: Entra says it was already redeemed.
    with pytest.raises(ProblemError) as info:
        sign.complete(landed)
    assert info.value.problem.result == "Code already used (AADSTS54005)"


def test_redirect_accepts_a_bare_code(sandbox, sample, sim_http) -> None:
    from urllib.parse import parse_qs, urlsplit

    _, s = sample
    sign = start_redirect(entra_config(sandbox), s.oauth_app.client_id, CONTOSO_TENANT, "http://localhost", None)
    code = parse_qs(urlsplit(browser(sim_http, sign.auth_uri)).query)["code"][0]
    assert sign.complete(f"  {code}\n").who == s.alice.upn


def test_redirect_state_mismatch_and_missing_code(sandbox, sample, sim_http) -> None:
    _, s = sample
    cfg = entra_config(sandbox)
    first = start_redirect(cfg, s.oauth_app.client_id, CONTOSO_TENANT, "http://localhost", None)
    second = start_redirect(cfg, s.oauth_app.client_id, CONTOSO_TENANT, "http://localhost", None)
    landed = browser(sim_http, first.auth_uri)
    with pytest.raises(ProblemError) as info:
        second.complete(landed)
    assert info.value.problem.result == "Address from another sign-in (state mismatch)"
    with pytest.raises(ProblemError) as info:
        first.complete("http://localhost/?state=" + first.state)
    assert info.value.problem.result == "No code in this address"
    assert first.complete(landed).who == s.alice.upn  # the right paste still works afterwards


def test_redirect_error_in_the_pasted_address(sandbox, sample, sim_http) -> None:
    world, s = sample
    world.browser_outcome = "declined"
    sign = start_redirect(entra_config(sandbox), s.oauth_app.client_id, CONTOSO_TENANT, "http://localhost", None)
    with pytest.raises(ProblemError) as info:
        sign.complete(browser(sim_http, sign.auth_uri))
    assert info.value.problem.result == "Consent declined (AADSTS65004)"


def test_redirect_confidential_client_with_web_redirect(sandbox, sample, sim_http) -> None:
    _, s = sample
    sign = start_redirect(
        entra_config(sandbox), s.oauth_web_app.client_id, CONTOSO_TENANT, "http://localhost:8400", s.web_secret
    )
    assert sign.confidential
    assert sign.complete(browser(sim_http, sign.auth_uri)).who == s.alice.upn


def test_redirect_secret_sent_for_a_public_redirect_uri(sandbox, sample, sim_http) -> None:
    _, s = sample
    sign = start_redirect(
        entra_config(sandbox), s.oauth_app.client_id, CONTOSO_TENANT, "http://localhost", "some-app-secret"
    )
    with pytest.raises(ProblemError) as info:
        sign.complete(browser(sim_http, sign.auth_uri))
    assert info.value.problem.result == "Secret sent for a public client (AADSTS700025)"


def test_redirect_uri_not_registered_is_explained(sandbox, sample, sim_http) -> None:
    from kms_connect.core.azure.explain import entra_problem

    _, s = sample
    sign = start_redirect(
        entra_config(sandbox), s.oauth_app.client_id, CONTOSO_TENANT, "http://localhost:9999/nope", None
    )
    page = sim_http.get(sign.auth_uri)  # Entra shows an error page instead of redirecting
    assert page.status_code == 400 and "AADSTS50011" in page.text
    problem = entra_problem({"error": "invalid_request", "error_description": page.text[:400]})
    assert problem.result == "Redirect URI not registered (AADSTS50011)"


# --- secrets stay out of the debug log ---------------------------------------------------------
async def test_debug_log_of_checks_and_sign_ins_holds_no_secret(sandbox, sample, sim_http, tmp_path) -> None:
    import logging

    from kms_connect.core.redact import setup_debug_log

    world, s = sample
    path = tmp_path / "debug.log"
    setup_debug_log(path)
    try:
        sign = device_token(sandbox, sample)
        world.set_device_flow(sign.user_code, "approved", s.alice.upn)
        token = sign.wait()
        redirect = start_redirect(
            entra_config(sandbox), s.oauth_app.client_id, CONTOSO_TENANT, "http://localhost", None
        )
        landed = browser(sim_http, redirect.auth_uri)
        code_token = redirect.complete(landed)
        await run(sandbox, method=Method.OAUTH, tenant_id=CONTOSO_TENANT, token_cache=token.cache_blob)
        await run(sandbox, method=Method.ACCESS_TOKEN, access_token=s.pat_ok.token)
        await run(sandbox, **sp(sample))
        # A careless log line of the whole Entra answer: still redacted.
        logging.getLogger("kms_connect.test").debug("token answer %s", code_token.access_token.get_secret_value())
    finally:
        logger = logging.getLogger("kms_connect")
        for handler in list(logger.handlers):
            if isinstance(handler, logging.FileHandler):
                logger.removeHandler(handler)
                handler.close()
    text = path.read_text()
    assert "check contoso-dev/credentials: ok" in text  # the log has the checks...
    refresh = list(sandbox.entra.refresh_tokens)
    code = dict(p.split("=", 1) for p in landed.split("?", 1)[1].split("&"))["code"]
    for secret in [
        s.pat_ok.token,
        s.sp_secret,
        token.access_token.get_secret_value(),
        code_token.access_token.get_secret_value(),
        code,
        *refresh,
    ]:
        assert secret not in text  # ...and none of the secrets


async def test_permission_denied_is_a_403_explained(sandbox, sample) -> None:
    _world, s = sample
    s.org.denied[s.alice.oid] = {"serviceendpoints"}
    out = await run(sandbox, method=Method.ACCESS_TOKEN, access_token=s.pat_ok.token)
    step = steps(out.result)["serviceendpoints"]
    assert step.state is StepState.FAILED and step.result == "Service connections: access denied (403)"
    assert "needs the following permission" in step.explanation and "Project settings" in step.explanation
    assert out.result.status is Status.WARNING  # the credentials work; one area is not readable


async def test_sign_in_redirects_and_pages_are_not_mistaken_for_success(sandbox, sample) -> None:
    import ssl

    from kms_connect.core.azure.devops import answer_of, pat_header
    from kms_connect.core.azure.devops_explain import devops_problem

    sandbox.devops.redirect_unauthenticated = True
    with httpx.Client(verify=ssl.create_default_context(cafile=str(sandbox.ca_bundle))) as http:
        url = f"{sandbox.devops_url}/contoso-dev/_apis/projects"
        redirected = http.get(url)  # no Suppress header, no credentials: how a browser would be treated
        assert redirected.status_code == 302
        problem = devops_problem(answer_of(redirected), "connection", org="contoso-dev", bearer=False)
        assert problem.result == "Redirected to sign-in (302)" and problem.field == "access_token"
        sandbox.devops.redirect_unauthenticated = False
        page = http.get(url)
        assert page.status_code == 203
        problem = devops_problem(answer_of(page), "connection", org="contoso-dev", bearer=False)
        assert problem.result == "Sign-in page instead of data (not authenticated)"
        missing = http.get(
            f"{sandbox.devops_url}/contoso-dev/Nope/_apis/distributedtask/variablegroups",
            headers={
                "Authorization": pat_header(sample[1].pat_ok.token),
                "X-TFS-FedAuthRedirect": "Suppress",
                "Accept": "application/json",
            },
        )
        assert missing.status_code == 404
        problem = devops_problem(answer_of(missing), "Variable groups", org="contoso-dev", bearer=False)
        assert problem.result == "Project not visible (VS800075)"


async def test_an_unexpected_error_fails_its_step_not_the_whole_check(sandbox, sample) -> None:
    from kms_connect.core.errors import SecretUnavailable

    world, s = sample
    sign = device_token(sandbox, sample)
    world.set_device_flow(sign.user_code, "approved", s.alice.upn)
    token = sign.wait()

    def no_keyring() -> str | None:
        raise SecretUnavailable("the OS keyring did not answer")

    checker = LiveChecker(sim_settings(sandbox), app_secret=no_keyring, retry=FAST)
    out = await run(
        sandbox, checker=checker, method=Method.OAUTH, tenant_id=CONTOSO_TENANT, token_cache=token.cache_blob
    )
    st = steps(out.result)
    assert st["token"].state is StepState.FAILED and "SecretUnavailable" in st["token"].result
    assert "did not answer" in st["token"].explanation
    assert st["org"].state is StepState.OK  # the other steps still ran and said their piece
    assert out.result.status is Status.FAILED


async def test_results_about_replaced_credentials_are_not_recorded(store) -> None:
    from kms_connect.core.models import CheckResult, utcnow

    project = await store.create_project("P")
    draft = ConnectionDraft(
        name="c", method=Method.ACCESS_TOKEN, org_name="o", secrets={"access_token": SecretStr("first-token-value")}
    )
    conn = await store.create_connection(project.id, draft)
    stale = conn.updated_at
    replaced = await store.replace_credentials(
        conn.id, draft.model_copy(update={"secrets": {"access_token": SecretStr("second-token-value")}})
    )
    result = CheckResult(status=Status.VALID, checked_at=utcnow(), summary="about the first token")
    if replaced.updated_at == stale:  # same second: make the difference visible
        stale = stale.replace(year=stale.year - 1)
    await store.record_checks({conn.id: result}, as_of={conn.id: stale})
    [after] = await store.list_connections(project.id)
    assert after.last_check is None
    await store.record_checks({conn.id: result}, as_of={conn.id: after.updated_at})
    [after] = await store.list_connections(project.id)
    assert after.last_check is not None and after.last_check.summary == "about the first token"


async def test_a_tenant_domain_is_resolved_through_discovery(sandbox, sample) -> None:
    world, s = sample
    sign = device_token(sandbox, sample)
    world.set_device_flow(sign.user_code, "approved", s.alice.upn)
    cache = sign.wait().cache_blob
    out = await run(sandbox, method=Method.OAUTH, tenant_id="nope.onmicrosoft.com", token_cache=cache)
    org = steps(out.result)["org"]
    assert org.state is StepState.FAILED and org.field == "tenant_id"
    assert org.result == "Tenant not found (AADSTS90002)" and "Trace ID" in org.explanation
    discovery = [r for r in sandbox.entra.requests if "nope.onmicrosoft.com" in r.path]
    assert discovery and discovery[0].path.endswith("/v2.0/.well-known/openid-configuration")


# --- target projects: the project-level reads in each ------------------------------------------
async def test_each_target_project_gets_its_own_line_of_reads(sandbox, sample) -> None:
    out = await run(
        sandbox,
        method=Method.ACCESS_TOKEN,
        access_token=sample[1].pat_ok.token,
        target_projects=["payments", "Platform", "Nope"],
    )
    s = steps(out.result)
    assert list(s) == ["org", "credentials", "projects", "target:payments", "target:Platform", "target:Nope", "write"]
    assert s["target:payments"].title == "Reads in payments"
    assert s["target:payments"].state is StepState.OK  # matched whatever its case
    assert s["target:payments"].result.startswith("Payments: ") and "variable group" in s["target:payments"].result
    assert s["target:Platform"].state is StepState.OK and "release definition" in s["target:Platform"].result
    assert s["target:Nope"].state is StepState.FAILED and "No project “Nope” visible" in s["target:Nope"].result
    assert "target projects" in s["target:Nope"].explanation
    assert out.result.status is Status.WARNING  # the credentials work; one project is not there


async def test_a_read_refused_in_a_target_project_names_the_read(sandbox, sample) -> None:
    s = sample[1]
    out = await run(
        sandbox, method=Method.ACCESS_TOKEN, access_token=s.pat_no_release.token, target_projects=["Platform"]
    )
    line = steps(out.result)["target:Platform"]
    assert line.state is StepState.FAILED and line.result.startswith("Release read: ")
    assert out.result.status is Status.WARNING


async def test_projects_are_listed_with_the_credentials_for_the_picker(sandbox, sample) -> None:
    from kms_connect.core.azure.explain import ProblemError

    checker = LiveChecker(sim_settings(sandbox), retry=FAST)
    pat = CheckTarget(
        method=Method.ACCESS_TOKEN, org_name="contoso-dev", access_token=SecretStr(sample[1].pat_ok.token)
    )
    assert await checker.projects(pat) == ["Platform", "Payments"]
    sp = CheckTarget(
        method=Method.CLIENT_SECRET,
        org_name="contoso-dev",
        tenant_id=sample[1].sp_app.tenant_id,
        client_id=sample[1].sp_app.client_id,
        client_secret=SecretStr(sample[1].sp_secret),
    )
    assert await checker.projects(sp) == ["Platform", "Payments"]  # through its Entra token
    expired = pat.model_copy(update={"secrets": {"access_token": SecretStr(sample[1].pat_expired.token)}})
    with pytest.raises(ProblemError, match="expired"):
        await checker.projects(expired)
    await checker.aclose()
