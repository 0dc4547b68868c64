"""Fixtures for the Entra ID / Azure DevOps / KMS simulators (conftest imports them with `import *`)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kms_connect_sim.kms import KmsSimulator
from kms_connect_sim.kms_sync_sample import SampleSyncs, add_sample_syncs
from kms_connect_sim.kms_world import KmsIdentity, sample_kms_world
from kms_connect_sim.sandbox import Sample, Sandbox, sample_world
from kms_connect_sim.tls import TlsFiles, make_tls
from kms_connect_sim.world import World

__all__ = [
    "kms",
    "kms_http",
    "kms_identity",
    "sample",
    "sample_syncs",
    "sandbox",
    "sim_http",
    "sim_ssl_context",
    "sim_tls",
]


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
    with httpx.Client(
        verify=sim_ssl_context(sandbox.ca_bundle), timeout=10, follow_redirects=False, trust_env=False
    ) as client:
        yield client


@pytest.fixture
def kms(sandbox: Sandbox, sample: tuple[World, Sample]) -> Iterator[KmsSimulator]:
    """A KMS instance over plain HTTP, checking credentials against the sandbox: projects "Payments"
    and "Platform", one identity with org permission (`kms_identity`), OAuth configured with the
    sample's web app (`oauth_web_app`), SITE_URL https://kms.example.test. `kms.kms_world` is its state."""
    kms_world, _ = sample_kms_world(
        oauth_client_id=sample[1].oauth_web_app.client_id, oauth_client_secret=sample[1].web_secret
    )
    with KmsSimulator(
        kms_world,
        sandbox.world,
        entra_url=sandbox.entra.url,
        devops_url=sandbox.devops_url,
        ca_bundle=sandbox.ca_bundle,
    ) as sim:
        yield sim


@pytest.fixture
def kms_identity(kms: KmsSimulator) -> KmsIdentity:
    """The `kms` instance's machine identity (`.client_id`, `.client_secret`), with org permission."""
    return next(iter(kms.kms_world.identities.values()))


@pytest.fixture
def kms_http(kms: KmsSimulator) -> Iterator[httpx.Client]:
    """An httpx client with `base_url` = the `kms` instance, no proxies, no redirects."""
    with httpx.Client(base_url=kms.url, timeout=10, follow_redirects=False, trust_env=False) as client:
        yield client


@pytest.fixture
def sample_syncs(kms: KmsSimulator, sample: tuple[World, Sample]) -> SampleSyncs:
    """The `kms` instance's two sample Secret Syncs, their first jobs run: payments-prod succeeded,
    platform-dev failed for a missing Library role."""
    made = add_sample_syncs(kms.kms_world, sample[1])
    kms.run_jobs()
    return made
