"""Fixtures for the Entra ID / Azure DevOps simulators (conftest imports them with `import *`)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kms_connect.core.simulators.sandbox import Sample, Sandbox, sample_world
from kms_connect.core.simulators.tls import TlsFiles, make_tls
from kms_connect.core.simulators.world import World

__all__ = ["sim_tls", "sample", "sandbox", "sim_http", "sim_ssl_context"]


def sim_ssl_context(ca_bundle: Path) -> ssl.SSLContext:
    """Trusts only the simulators' CA, whatever SSL_CERT_FILE / REQUESTS_CA_BUNDLE say."""
    return ssl.create_default_context(cafile=str(ca_bundle))


@pytest.fixture(scope="session")
def sim_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("sim-tls"))


@pytest.fixture
def sample() -> tuple[World, Sample]:
    return sample_world()


@pytest.fixture
def sandbox(sim_tls: TlsFiles, sample: tuple[World, Sample]) -> Iterator[Sandbox]:
    with Sandbox(sim_tls, sample[0]) as box:
        yield box


@pytest.fixture
def sim_http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An httpx client that trusts the sandbox CA and never follows redirects."""
    with httpx.Client(verify=sim_ssl_context(sandbox.ca_bundle), timeout=10, follow_redirects=False,
                      trust_env=False) as client:
        yield client
