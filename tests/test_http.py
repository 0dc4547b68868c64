"""Every HTTP client the app makes honours HTTPS_PROXY/HTTP_PROXY/NO_PROXY and never follows redirects.

A loopback HTTP server plays the proxy: a request sent through a proxy arrives in absolute form.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from kms_connect.core.http import async_client, sync_client


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


async def test_async_client_goes_through_the_proxy(loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen = loopback
    monkeypatch.setenv("HTTP_PROXY", url)
    async with async_client() as client:
        response = await client.get("http://dev.azure.invalid/contoso/_apis/connectionData")
    assert response.status_code == 200
    assert seen == ["http://dev.azure.invalid/contoso/_apis/connectionData"]  # absolute form: via proxy


def test_sync_client_honours_no_proxy(loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen = loopback
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with sync_client() as client:
        assert client.get(f"{url}/direct").status_code == 200
    assert seen == ["/direct"]  # origin form: straight to the server, proxy bypassed


async def test_redirects_are_reported_not_followed(loopback) -> None:
    url, seen = loopback
    async with async_client() as client:
        response = await client.get(f"{url}/redirect")
    assert response.status_code == 302
    assert seen == ["/redirect"]


@pytest.fixture
def tls_loopback(tmp_path) -> Iterator[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """A loopback HTTPS server with its own CA, as behind a TLS-inspecting proxy."""
    import shutil
    import ssl
    import subprocess

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


async def test_ca_bundle_is_trusted_and_needed(tls_loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    url, cert = tls_loopback
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    async with async_client() as client:
        with pytest.raises(httpx.ConnectError):  # unknown CA without the bundle
            await client.get(f"{url}/tls")
    async with async_client(ca_bundle=cert) as client:
        assert (await client.get(f"{url}/tls")).status_code == 200
