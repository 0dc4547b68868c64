"""Faults, kills and lost answers: retries, the check's deadline and writes whose answer was lost.

Black-box, over real HTTP(S), with the simulators' fault switches (kms_connect_sim/faults.py):
connections reset (`drop`), answers late (`latency`) or held until the test lets them go (`hold`).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from kms_connect.core.check_target import CheckTarget
from kms_connect.core.config import AzureSettings, Settings
from kms_connect.core.instances import Instance
from kms_connect.core.kms.backend import KmsBackend
from kms_connect.core.kms.client import KmsApiError, KmsClient, KmsOutcomeUnknown
from kms_connect.core.live_check import LiveChecker
from kms_connect.core.models import CheckStep, ConnectionDraft
from kms_connect.core.paths import InstanceFiles
from kms_connect.core.retry import RetryPolicy
from kms_connect.core.status import Method, Status, StepState
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS
from kms_connect_sim.sandbox import CONTOSO_TENANT, Sandbox
from sim_fixtures import sim_ssl_context

FAST = RetryPolicy(backoff=0.01)
TIMEOUT = 2.0  # the check's deadline in these tests: [status] check_timeout allows 5 s at least


def checker_for(box: Sandbox, **kw: object) -> LiveChecker:
    settings = Settings(
        azure=AzureSettings(
            authority_host=box.authority_host,
            devops_url=box.devops_url,
            release_url=box.release_url,
            ca_bundle=box.ca_bundle,
        )
    )
    return LiveChecker(settings, retry=FAST, **kw)  # type: ignore[arg-type]


def pat(sample) -> CheckTarget:
    return CheckTarget(
        method=Method.ACCESS_TOKEN, org_name="contoso-dev", access_token=SecretStr(sample[1].pat_ok.token)
    )


def service_principal(sample) -> CheckTarget:
    s = sample[1]
    return CheckTarget(
        method=Method.CLIENT_SECRET,
        org_name="contoso-dev",
        tenant_id=CONTOSO_TENANT,
        client_id=s.sp_app.client_id,
        client_secret=SecretStr(s.sp_secret),
    )


def by_key(result) -> dict[str, CheckStep]:
    return {s.key: s for s in result.steps}


# --- the switches themselves ---------------------------------------------------------------------
def test_drop_resets_connections_then_answers_again(sandbox, sample) -> None:
    url = f"{sandbox.devops_url}/contoso-dev/_apis/connectionData"
    with httpx.Client(verify=sim_ssl_context(sandbox.ca_bundle)) as http:
        sandbox.devops.drop(2)
        for _ in range(2):
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                http.get(url)
        assert http.get(url).status_code == 203  # answered again (anonymous: the sign-in page)
        sandbox.devops.drop(None, match="connectionData")  # for ever, on that path only
        for _ in range(4):
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                http.get(url)
        assert http.get(f"{sandbox.devops_url}/contoso-dev/_apis/projects").status_code == 203
        sandbox.devops.clear_faults()
        assert http.get(url).status_code == 203
    assert len(sandbox.devops.requests_to("connectionData")) == 8  # the dropped requests did arrive


def test_a_hold_keeps_answers_until_released(sandbox) -> None:
    url = f"{sandbox.devops_url}/contoso-dev/_apis/connectionData"
    gate = sandbox.devops.hold("connectionData")
    answered = threading.Event()

    def ask() -> None:
        with httpx.Client(verify=sim_ssl_context(sandbox.ca_bundle)) as http:
            http.get(url)
        answered.set()

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    assert not answered.wait(0.3)  # held: no answer yet
    gate.set()
    assert answered.wait(5)
    asker.join(5)


# --- Azure DevOps probes: GETs, retried -----------------------------------------------------------
@pytest.mark.parametrize("resets", [1, 2])
async def test_a_reset_or_a_short_burst_of_them_still_ends_valid(sandbox, sample, resets: int) -> None:
    seen: list[CheckStep] = []
    sandbox.devops.drop(resets)
    out = await checker_for(sandbox).run(pat(sample), seen.append)
    assert out.result.status is Status.VALID, out.result.summary
    retried = [s.result for s in seen if "retry 1 of 2" in s.result]
    assert len(retried) >= 1 and all("Azure DevOps: connection reset" in r for r in retried)


async def test_resets_that_never_stop_fail_with_the_tries_counted(sandbox, sample) -> None:
    sandbox.devops.drop(None)
    out = await checker_for(sandbox).run(pat(sample))
    s = by_key(out.result)
    assert out.result.status is Status.FAILED
    assert s["org"].state is StepState.FAILED
    assert s["org"].result.startswith("Azure DevOps: connection reset, 3 tries over ")
    assert s["org"].result.endswith(" s")
    assert "reset the connection" in s["org"].explanation
    assert len(sandbox.devops.requests_to("/_apis/projects")) == 3  # three tries, no more
    assert s["variablegroups"].state is StepState.SKIPPED


# --- the deadline -------------------------------------------------------------------------------
async def test_a_slow_azure_devops_ends_at_the_deadline(sandbox, sample) -> None:
    sandbox.devops.latency = 30 * TIMEOUT  # the subject here: answers far later than the deadline
    seen: list[CheckStep] = []
    checker = checker_for(sandbox, check_timeout=TIMEOUT)
    started = time.monotonic()
    out = await checker.run(pat(sample), seen.append)
    took = time.monotonic() - started
    assert took < TIMEOUT + 2
    s = by_key(out.result)
    assert out.result.status is Status.FAILED
    for key in ("org", "credentials", "projects"):  # the steps it was on
        assert s[key].state is StepState.FAILED and s[key].result == "No answer in time (2 s)"
        assert "[status] check_timeout" in s[key].explanation
    for key in ("variablegroups", "serviceendpoints", "release", "write"):  # nothing after them is claimed
        assert s[key].state is StepState.SKIPPED and s[key].result == "Not run: no answer in time"
    assert out.result.summary == "Organization and tenant: No answer in time (2 s)"
    assert not any(step.state is StepState.CANCELLED for step in seen)
    heard = len(seen)
    await checker.aclose()
    assert len(seen) == heard  # nothing said after the result


async def test_a_blocked_msal_call_cannot_keep_the_check_past_its_deadline(sandbox, sample) -> None:
    gate = sandbox.entra.hold("/oauth2/v2.0/token")  # msal's token request waits, in its thread
    seen: list[CheckStep] = []
    started = time.monotonic()
    out = await checker_for(sandbox, check_timeout=TIMEOUT).run(service_principal(sample), seen.append)
    assert time.monotonic() - started < TIMEOUT + 2
    s = by_key(out.result)
    before, heard = out.result.model_dump(), len(seen)
    assert s["token"].state is StepState.FAILED and s["token"].result == "No answer in time (2 s)"
    assert "Entra ID may be slow" in s["token"].explanation
    assert s["org"].state is StepState.OK  # done before the deadline: kept
    assert s["credentials"].result == "Not run: no answer in time"
    msal = [t for t in threading.enumerate() if t.name == "kms-connect-client_credentials"]
    assert msal and all(t.is_alive() for t in msal)  # still waiting for Entra ID
    gate.set()  # Entra answers now: the thread finishes, with a token nobody waits for
    for thread in msal:
        thread.join(10)
        assert not thread.is_alive()
    assert out.result.model_dump() == before and len(seen) == heard
    assert len(sandbox.entra.requests_to("/oauth2/v2.0/token")) == 1


# --- Entra ID: discovery (GET) retried, token requests (POST) never sent twice -------------------
async def test_a_reset_discovery_is_asked_again(sandbox, sample) -> None:
    sandbox.entra.drop(1, match="openid-configuration")
    out = await checker_for(sandbox).run(service_principal(sample))
    assert out.result.status is Status.VALID, out.result.summary
    assert len(sandbox.entra.requests_to("openid-configuration")) == 2


@pytest.mark.parametrize("answered", [False, True])
async def test_a_token_request_whose_answer_is_lost_is_not_sent_twice(sandbox, sample, answered: bool) -> None:
    sandbox.entra.drop(1, match="/oauth2/v2.0/token", answered=answered)
    out = await checker_for(sandbox).run(service_principal(sample))
    token = by_key(out.result)["token"]
    assert out.result.status is Status.FAILED
    assert token.result.startswith("Entra ID: answer lost (connection ")  # reset, or closed without an answer
    assert "unknown" in token.explanation and "twice" in token.explanation
    assert len(sandbox.entra.requests_to("/oauth2/v2.0/token")) == 1
    assert by_key(out.result)["credentials"].state is StepState.SKIPPED


def test_a_token_request_that_never_left_this_box_is_sent_again() -> None:
    import socket

    from kms_connect.core.azure.entra import EntraConfig, _RecordingClient
    from kms_connect.core.azure.explain import ProblemError

    with socket.socket() as s:  # a port nobody listens on: every connection is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = _RecordingClient(EntraConfig(f"https://127.0.0.1:{port}", retry=FAST))
    try:
        with pytest.raises(ProblemError) as info:
            client.post(f"https://127.0.0.1:{port}/tenant/oauth2/v2.0/token", data={"grant_type": "x"})
    finally:
        client.close()
    # Refused: nothing reached a server, so even a token request may go again, within the budget.
    assert info.value.problem.result.startswith("Entra ID: connection refused, 3 tries over ")


# --- the KMS instance: reads retried, writes looked up ---------------------------------------------
@pytest.fixture
def instance(kms, kms_identity, tmp_path: Path) -> KmsBackend:
    inst = Instance(name="prod", url=kms.url, site_url="https://kms.example.test", client_id=kms_identity.client_id)
    client = KmsClient(inst, lambda: kms_identity.client_secret, retry=FAST)
    return KmsBackend(inst, client, InstanceFiles.beside(tmp_path / "checks" / "prod.json"))


def draft(sample, name: str = "ado-prod") -> ConnectionDraft:
    return ConnectionDraft(
        name=name,
        method=Method.ACCESS_TOKEN,
        org_name="contoso-dev",
        secrets={"access_token": SecretStr(sample[1].pat_ok.token)},
    )


def creates(kms) -> int:
    return len([r for r in kms.requests if r.method == "POST" and r.path.endswith("/app-connections/azure-devops")])


async def test_instance_reads_are_asked_again_after_a_reset(instance, kms) -> None:
    await instance.list_projects()  # logged in
    kms.drop(2, match="/api/v1/projects")
    assert {s.project.name for s in await instance.list_projects()} >= {"Payments", "Platform"}
    kms.drop(None, match="/api/v1/projects")
    with pytest.raises(KmsApiError, match=r"Hanzo KMS: connection reset, 3 tries over \d+\.\d s"):
        await instance.list_projects()


async def test_a_create_whose_answer_was_lost_is_found_by_name(instance, kms, sample) -> None:
    await instance.list_projects()
    kms.drop(1, match="/app-connections/azure-devops", answered=True)  # created, answer lost
    conn = await instance.create_connection(SAMPLE_PAYMENTS, draft(sample))
    assert conn.name == "ado-prod" and conn.id in kms.kms_world.connections
    assert creates(kms) == 1  # looked up, never sent twice
    assert any("/connection-name/ado-prod" in r.path for r in kms.requests)


async def test_a_create_lost_before_the_instance_saw_it_says_so(instance, kms, sample) -> None:
    await instance.list_projects()
    kms.drop(1, match="/app-connections/azure-devops")  # reset before the instance acted on it
    with pytest.raises(KmsOutcomeUnknown, match="most likely not created") as info:
        await instance.create_connection(SAMPLE_PAYMENTS, draft(sample))
    assert "connection reset" in str(info.value)
    assert creates(kms) == 1 and not kms.kms_world.connections
    await instance.create_connection(SAMPLE_PAYMENTS, draft(sample))  # the operator connects again: fine


async def test_a_delete_whose_answer_was_lost_is_looked_up(instance, kms, sample) -> None:
    await instance.list_projects()
    gone = await instance.create_connection(SAMPLE_PAYMENTS, draft(sample, "gone"))
    kept = await instance.create_connection(SAMPLE_PAYMENTS, draft(sample, "kept"))
    kms.drop(1, match=f"/{gone.id}", answered=True)
    await instance.delete_connection(gone.id)  # deleted, answer lost: found gone, so done
    assert gone.id not in kms.kms_world.connections
    kms.drop(1, match=f"/{kept.id}")
    with pytest.raises(KmsOutcomeUnknown, match="still has the connection: it was not deleted"):
        await instance.delete_connection(kept.id)
    deletes = [r for r in kms.requests if r.method == "DELETE"]
    assert len(deletes) == 2  # one each: never sent again on its own


async def test_replacing_credentials_with_a_lost_answer_is_reported_unknown(instance, kms, sample) -> None:
    await instance.list_projects()
    conn = await instance.create_connection(SAMPLE_PAYMENTS, draft(sample))
    kms.drop(1, match=f"/{conn.id}", answered=True)
    with pytest.raises(KmsOutcomeUnknown, match="cannot look"):
        await instance.replace_credentials(conn.id, draft(sample))
    assert len([r for r in kms.requests if r.method == "PATCH"]) == 1


async def test_a_login_whose_answer_was_lost_is_not_sent_again(instance, kms) -> None:
    kms.drop(1, match="/universal-auth/login", answered=True)
    with pytest.raises(KmsOutcomeUnknown, match="whether the instance logged in is unknown"):
        await instance.list_projects()
    logins = [r for r in kms.requests if r.path.endswith("/universal-auth/login")]
    assert len(logins) == 1
    await instance.list_projects()  # the operator's next action logs in afresh (not locked out)


# --- which failures may pass ----------------------------------------------------------------------
def test_which_network_failures_are_worth_another_try() -> None:
    import ssl

    from kms_connect.core.azure.explain import is_transient, not_sent

    def cause(exc: httpx.HTTPError, inner: BaseException) -> httpx.HTTPError:
        exc.__cause__ = inner
        return exc

    refused = cause(httpx.ConnectError("[Errno 111] Connection refused"), ConnectionRefusedError(111, "refused"))
    untrusted = cause(httpx.ConnectError("certificate verify failed"), ssl.SSLCertVerificationError("bad"))
    again = {
        "refused": refused,
        "connect timeout": httpx.ConnectTimeout("timed out"),
        "read timeout": httpx.ReadTimeout("timed out"),
        "reset": cause(httpx.ReadError("reset"), ConnectionResetError(104, "reset")),
        "hung up": httpx.RemoteProtocolError("Server disconnected without sending a response."),
        "cut off": httpx.RemoteProtocolError("Server disconnected in the middle of an answer."),
        "DNS, try later": httpx.ConnectError("[Errno -3] Temporary failure in name resolution"),
    }
    never = {
        "TLS": untrusted,
        "no such host": httpx.ConnectError("[Errno -2] Name or service not known"),
        "not HTTP": httpx.RemoteProtocolError("not an HTTP/1.1 answer: b'garbage'"),
        "our pool": httpx.PoolTimeout("no free connection"),
        "proxy": httpx.ProxyError("407 Proxy Authentication Required"),
        "our request": httpx.LocalProtocolError("invalid header"),
    }
    assert [k for k, e in again.items() if not is_transient(e)] == []
    assert [k for k, e in never.items() if is_transient(e)] == []
    # Sent again even when it changes something: only what never left this box.
    assert not_sent(refused) and not_sent(httpx.ConnectTimeout("timed out"))
    assert not any(not_sent(again[k]) for k in ("read timeout", "reset", "hung up", "cut off"))
    assert not not_sent(untrusted)


async def test_a_write_to_an_instance_that_refuses_connections_is_tried_again(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inst = Instance(name="down", url=f"http://127.0.0.1:{port}", client_id="11111111-2222-3333-4444-555555555555")
    client = KmsClient(inst, lambda: "secret", retry=FAST)
    with pytest.raises(KmsApiError) as info:
        await client.token()  # the login, a POST: refused, so it never arrived, so it may go again
    assert not isinstance(info.value, KmsOutcomeUnknown)
    assert str(info.value).startswith("Hanzo KMS: connection refused, 3 tries over ")
    await client.aclose()
