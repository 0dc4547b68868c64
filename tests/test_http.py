"""Every HTTP client the app makes honours HTTPS_PROXY/HTTP_PROXY/NO_PROXY and `ca_bundle`, and never
follows redirects: httpx's (the KMS client, msal's) and the probes' (aiohttp) alike.

A loopback HTTP server plays a plain-HTTP proxy (a request sent through a proxy arrives in absolute
form); proxy.py (tests/loopback_proxy.py) plays an HTTPS proxy, tunnelling with CONNECT, for whole
checks against the simulators.
"""

from __future__ import annotations

import base64
import http.server
import os
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from kms_connect.core.check_target import CheckTarget
from kms_connect.core.config import AzureSettings, Settings
from kms_connect.core.http import async_client, sync_client
from kms_connect.core.live_check import LiveChecker
from kms_connect.core.probe_client import ProbeClient, probe_client
from kms_connect.core.retry import RetryPolicy
from kms_connect.core.status import Method, Status
from kms_connect_sim.sandbox import CONTOSO_TENANT, Sandbox

ASYNC_CLIENTS = ["httpx", "probes"]


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        status = 302 if self.path.endswith("/redirect") else 200
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "http://elsewhere.invalid/signin")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[tuple[str, list[str]]]:
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    server.shutdown()
    server.server_close()


async def ask(kind: str, url: str, ca_bundle: Path | None = None) -> httpx.Response:
    """One GET through a new client of `kind`: httpx's async client, or the probes'."""
    if kind == "httpx":
        async with async_client(ca_bundle) as client:
            return await client.get(url)
    probes = probe_client(ca_bundle)
    try:
        return await probes.get(url)
    finally:
        await probes.aclose()


@pytest.mark.parametrize("kind", ASYNC_CLIENTS)
async def test_a_client_goes_through_the_proxy(kind: str, loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen = loopback
    monkeypatch.setenv("HTTP_PROXY", url)
    response = await ask(kind, "http://dev.azure.invalid/contoso/_apis/connectionData")
    assert response.status_code == 200
    assert seen == ["http://dev.azure.invalid/contoso/_apis/connectionData"]  # absolute form: via proxy


@pytest.mark.parametrize("kind", [*ASYNC_CLIENTS, "sync"])
async def test_a_client_honours_no_proxy(kind: str, loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen = loopback
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    if kind == "sync":
        with sync_client() as client:
            assert client.get(f"{url}/direct").status_code == 200
    else:
        assert (await ask(kind, f"{url}/direct")).status_code == 200
    assert seen == ["/direct"]  # origin form: straight to the server, proxy bypassed


@pytest.mark.parametrize("kind", ASYNC_CLIENTS)
async def test_redirects_are_reported_not_followed(kind: str, loopback) -> None:
    url, seen = loopback
    response = await ask(kind, f"{url}/redirect")
    assert response.status_code == 302
    assert seen == ["/redirect"]


@pytest.mark.parametrize(
    ("no_proxy", "url", "proxied"),
    [
        ("", "https://dev.azure.com/x", True),
        ("localhost", "https://localhost:4433/x", False),
        ("localhost", "https://127.0.0.1:4433/x", True),  # a name is not its address
        ("127.0.0.1", "https://127.0.0.1:4433/x", False),
        ("azure.com", "https://dev.azure.com/x", False),  # a domain and its subdomains
        ("azure.com", "https://azure.com/x", False),
        ("azure.com", "https://notazure.com/x", True),
        (".azure.com", "https://dev.azure.com/x", False),  # with a dot: subdomains only
        (".azure.com", "https://azure.com/x", True),
        ("example.org, dev.azure.com", "https://dev.azure.com/x", False),
        ("bar.org,foo.org", "https://foo.org/x", False),  # patterns of one length: httpx's order kept
        ("example.org,*", "https://dev.azure.com/x", False),
        ("http://dev.azure.com", "https://dev.azure.com/x", True),  # another scheme
    ],
)
def test_the_probes_choose_a_proxy_as_httpx_does(
    no_proxy: str, url: str, proxied: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://user:pa%40ss@proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    proxy, headers = ProbeClient()._proxy_for(url)
    assert (proxy == "http://proxy.invalid:3128") is proxied and (proxy is None) is not proxied
    if proxied:  # the credentials go to the proxy only, decoded from the URL as httpx does
        assert headers == {"Proxy-Authorization": "Basic " + base64.b64encode(b"user:pa@ss").decode()}
    with httpx.Client() as client:  # trust_env: httpx's own choice, as the KMS client and msal make it
        transport: Any = client._transport_for_url(httpx.URL(url))
    assert hasattr(transport._pool, "_proxy_url") is proxied


def test_all_proxy_serves_when_no_scheme_has_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "http://proxy.invalid:3128")
    assert ProbeClient()._proxy_for("https://dev.azure.com/x")[0] == "http://proxy.invalid:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://other.invalid:8080")
    assert ProbeClient()._proxy_for("https://dev.azure.com/x")[0] == "http://other.invalid:8080"
    monkeypatch.delenv("ALL_PROXY")
    assert ProbeClient()._proxy_for("http://dev.azure.com/x")[0] is None  # HTTPS_PROXY is for https:// only


@pytest.fixture
def tls_loopback(tmp_path) -> Iterator[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """A loopback HTTPS server with its own CA, as behind a TLS-inspecting proxy."""
    import shutil
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("kind", ASYNC_CLIENTS)
async def test_ca_bundle_is_trusted_and_needed(kind: str, tls_loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    url, cert = tls_loopback
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(httpx.ConnectError):  # unknown CA without the bundle
        await ask(kind, f"{url}/tls")
    assert (await ask(kind, f"{url}/tls", ca_bundle=cert)).status_code == 200


# --- whole checks through an HTTPS proxy (CONNECT tunnels) ---------------------------------------
class LoopbackProxy:
    def __init__(self, tmp_path: Path, *flags: str) -> None:
        self.record = tmp_path / "proxied.txt"
        self.record.touch()
        script = Path(__file__).with_name("loopback_proxy.py")
        home = tmp_path / "proxy-home"  # proxy.py keeps its data in ~/.proxy: not the real home's
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(self.record), *flags],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "HOME": str(home)},
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)  # its port, once it listens
        line = self.proc.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("proxy.py did not start")
        self.port = int(line)

    def url(self, credentials: str = "") -> str:
        return f"http://{credentials}127.0.0.1:{self.port}"

    def seen(self) -> list[str]:
        return self.record.read_text().splitlines()

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def https_proxy(tmp_path: Path) -> Iterator[LoopbackProxy]:
    running = LoopbackProxy(tmp_path)
    yield running
    running.stop()


def checker_for(box: Sandbox) -> LiveChecker:
    azure = AzureSettings(
        authority_host=box.authority_host,
        devops_url=box.devops_url,
        release_url=box.release_url,
        ca_bundle=box.ca_bundle,
    )
    return LiveChecker(Settings(azure=azure), retry=RetryPolicy(backoff=0.01))


def targets(sample) -> list[CheckTarget]:  # type: ignore[no-untyped-def]
    s = sample[1]
    return [
        CheckTarget(method=Method.ACCESS_TOKEN, org_name="contoso-dev", access_token=SecretStr(s.pat_ok.token)),
        CheckTarget(
            method=Method.CLIENT_SECRET,
            org_name="contoso-dev",
            tenant_id=CONTOSO_TENANT,
            client_id=s.sp_app.client_id,
            client_secret=SecretStr(s.sp_secret),
        ),
    ]


def port_of(url: str) -> int:
    port = httpx.URL(url).port
    assert port is not None
    return port


async def test_whole_checks_go_through_an_https_proxy(
    sandbox, sample, https_proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", https_proxy.url())  # and no NO_PROXY: conftest clears it
    checker = checker_for(sandbox)
    try:
        for target in targets(sample):
            run = await checker.run(target)
            assert run.result.status is Status.VALID, run.result.summary
    finally:
        await checker.aclose()
    # Azure DevOps (the probes: aiohttp) and Entra ID (msal: httpx)
    hosts = (sandbox.devops_url, sandbox.authority_host)
    assert set(https_proxy.seen()) == {f"CONNECT 127.0.0.1:{port_of(url)}" for url in hosts}
    assert sandbox.devops.requests and sandbox.entra.requests_to("/oauth2/v2.0/token")


async def test_no_proxy_sends_checks_around_the_proxy(
    sandbox, sample, https_proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", https_proxy.url())
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    checker = checker_for(sandbox)
    try:
        for target in targets(sample):
            assert (await checker.run(target)).result.status is Status.VALID
    finally:
        await checker.aclose()
    assert https_proxy.seen() == []


async def test_a_proxy_that_wants_credentials_gets_them_from_the_url(
    sandbox, sample, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guarded = LoopbackProxy(tmp_path, "--basic-auth", "probe:s3cret")
    try:
        monkeypatch.setenv("HTTPS_PROXY", guarded.url())  # no credentials: refused (407)
        checker = checker_for(sandbox)
        refused = (await checker.run(targets(sample)[0])).result
        await checker.aclose()
        monkeypatch.setenv("HTTPS_PROXY", guarded.url("probe:s3cret@"))
        checker = checker_for(sandbox)
        through = (await checker.run(targets(sample)[0])).result
        await checker.aclose()
    finally:
        guarded.stop()
    org = {s.key: s for s in refused.steps}["org"]
    assert refused.status is Status.FAILED and org.result == "Azure DevOps: proxy failed"
    assert "HTTPS_PROXY" in org.explanation and "s3cret" not in refused.model_dump_json()
    assert through.status is Status.VALID, through.summary
    assert set(guarded.seen()) == {f"CONNECT 127.0.0.1:{port_of(sandbox.devops_url)}"}
