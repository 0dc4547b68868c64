"""The core's "which Secret Syncs use this connection" (core/kms/sync_users) and the instance's
refusal to delete a connection they use (core/kms/client KmsInUse), over HTTP against the KMS
simulator, which answers as Infisical does (400 BadRequest, its foreign-key message)."""

from __future__ import annotations

import pytest

from kms_connect.core.errors import InUse, KmsConnectError
from kms_connect.core.instances import Instance
from kms_connect.core.kms.backend import ORG_SCOPE, KmsBackend
from kms_connect.core.kms.client import KmsClient
from kms_connect.core.kms.sync_users import syncs_using
from kms_connect.core.kms.syncs import SecretSyncs
from kms_connect.core.models import Connection
from kms_connect.core.paths import InstanceFiles
from kms_connect.core.status import Method
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS, SAMPLE_PLATFORM


@pytest.fixture
async def client(kms, kms_identity):  # type: ignore[no-untyped-def]
    made = KmsClient(
        Instance(name="prod", url=kms.url, client_id=kms_identity.client_id), lambda: kms_identity.client_secret
    )
    yield made
    await made.aclose()


def connection(connection_id: str, project_id: str) -> Connection:
    return Connection(id=connection_id, project_id=project_id, name="c", method=Method.ACCESS_TOKEN, org_name="o")


async def test_a_project_connection_is_looked_for_in_its_project_only(client, sample_syncs, kms) -> None:
    conn = connection(sample_syncs.healthy_connection.id, SAMPLE_PAYMENTS)
    kms.requests.clear()
    users = await syncs_using(SecretSyncs(client), conn)
    assert [s.name for s in users.syncs] == ["payments-prod"] and not users.hidden and not users.unsupported
    asked = {r.query.get("projectId") for r in kms.requests_to("/secret-syncs/azure-devops")}
    assert asked == {SAMPLE_PAYMENTS}  # Platform's syncs cannot use a Payments connection: not read


async def test_an_organization_connection_is_looked_for_in_every_project(client, sample_syncs, kms, sample) -> None:
    org_conn = kms.kms_world.add_connection("ado-org", "access-token", {"orgName": "o"})
    org = sample[1].org
    for project_id, name in ((SAMPLE_PAYMENTS, "payments-org"), (SAMPLE_PLATFORM, "platform-org")):
        kms.kms_world.add_sync(name, project_id, "prod", org_conn.id, org.project_id("Payments"), auto_sync=False)
    users = await syncs_using(SecretSyncs(client), connection(org_conn.id, ORG_SCOPE))
    assert [(s.project, s.name) for s in users.syncs] == [("Payments", "payments-org"), ("Platform", "platform-org")]


async def test_an_older_instance_has_none_and_a_silent_one_has_a_deadline(client, sample_syncs, kms) -> None:
    conn = connection(sample_syncs.healthy_connection.id, SAMPLE_PAYMENTS)
    gate = kms.hold("secret-syncs/azure-devops")
    try:
        with pytest.raises(KmsConnectError, match=r"did not list its Secret Syncs within 0\.2 s"):
            await syncs_using(SecretSyncs(client), conn, deadline=0.2)
    finally:
        gate.set()
    kms.kms_world.secret_syncs_routes = False
    users = await syncs_using(SecretSyncs(client), conn)
    assert users.syncs == [] and "has no Secret Syncs" in users.unsupported


async def test_the_refused_delete_is_the_instances_words_and_ours(client, sample_syncs, kms, tmp_path) -> None:
    backend = KmsBackend(client.instance, client, InstanceFiles.beside(tmp_path / "checks.json"))
    with pytest.raises(InUse) as refused:
        await backend.delete_connection(sample_syncs.healthy_connection.id)
    said = str(refused.value)
    assert said.startswith("The instance refused the delete: “Cannot delete App Connection with existing connections.")
    assert "delete those syncs or move them to another connection" in said and "(reqId req-" in said
    assert refused.value.status == 400 and refused.value.error == "BadRequest"  # type: ignore[attr-defined]
    assert sample_syncs.healthy_connection.id in kms.kms_world.connections
