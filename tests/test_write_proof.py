"""The write proof (core/write_proof) against the loopback Azure DevOps, over real HTTPS."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import SecretStr

from kms_connect.core.check_target import CheckTarget
from kms_connect.core.live_check import LiveChecker
from kms_connect.core.models import CheckStep
from kms_connect.core.probe_record import ProbeRecord
from kms_connect.core.status import Method, Status, StepState
from kms_connect.core.write_proof import PROBE_PREFIX
from test_live_check import FAST, sim_settings

LIMIT = 30.0


def probes(sandbox) -> list[str]:  # type: ignore[no-untyped-def]
    """The probe groups Azure DevOps holds now."""
    org = sandbox.world.orgs["contoso-dev"]
    return [g.name for g in org.variable_groups if g.name.startswith(PROBE_PREFIX)]


def pat(token: str, *projects: str) -> CheckTarget:
    return CheckTarget(
        method=Method.ACCESS_TOKEN,
        org_name="contoso-dev",
        access_token=SecretStr(token),
        target_projects=list(projects),
        prove_write=True,
    )


def sp(app, secret: str, *projects: str) -> CheckTarget:  # type: ignore[no-untyped-def]
    return CheckTarget(
        method=Method.CLIENT_SECRET,
        org_name="contoso-dev",
        tenant_id=app.tenant_id,
        client_id=app.client_id,
        client_secret=SecretStr(secret),
        target_projects=list(projects),
        prove_write=True,
    )


async def prove(sandbox, target: CheckTarget, record: ProbeRecord | None = None, seen=None):  # type: ignore[no-untyped-def]
    checker = LiveChecker(sim_settings(sandbox), retry=FAST)
    try:
        async with asyncio.timeout(LIMIT):
            return (await checker.run(target, seen, record=record, connection_id="conn-1")).result
    finally:
        await checker.aclose()


async def test_a_pat_with_manage_proves_create_update_delete_in_each_project(sandbox, sample, tmp_path: Path) -> None:
    record = ProbeRecord(tmp_path / "probe-groups.json")
    result = await prove(sandbox, pat(sample[1].pat_vg_manage.token, "Platform", "payments"), record)
    assert result.status is Status.VALID, result.summary
    assert result.summary.startswith("All reads work and writes are proven in Platform, Payments")
    assert result.write_proof is not None and [p.project for p in result.write_proof] == ["Platform", "Payments"]
    for proof in result.write_proof:
        assert (proof.create, proof.update, proof.delete) == ("ok", "ok", "ok") and proof.left_behind is None
        # The project already holds groups made by someone else: what the proof cannot prove is said.
        assert "Administrator role on that group" in proof.explanation
    steps = {s.key: s for s in result.steps}
    assert "write" not in steps and steps["proof:Platform:read"].result.endswith("came back hidden, as it should")
    assert all(steps[f"proof:Platform:{op}"].duration_ms is not None for op in ("create", "read", "update", "delete"))
    assert probes(sandbox) == [] and record.of("conn-1") == []  # nothing left, nothing recorded


async def test_write_without_manage_leaves_the_group_named_then_the_next_proof_deletes_it(
    sandbox, sample, tmp_path: Path
) -> None:
    record = ProbeRecord(tmp_path / "probe-groups.json")
    result = await prove(sandbox, pat(sample[1].pat_vg_write.token, "Platform"), record)
    [proof] = result.write_proof or []
    assert (proof.create, proof.update, proof.delete) == ("ok", "refused", "refused")
    assert result.status is Status.WARNING and result.summary.startswith("Reads work, writes refused")
    assert "vso.variablegroups_manage" in proof.explanation and "Read, create & manage" in proof.explanation
    assert proof.left_behind is not None and proof.left_behind.group in probes(sandbox)
    assert proof.left_behind.url.endswith("/contoso-dev/Platform/_library?itemType=VariableGroups")
    assert proof.left_behind.group in proof.explanation and proof.left_behind.url in proof.explanation
    assert [g.group for g in record.of("conn-1")] == [proof.left_behind.group]  # kept: a later proof offers it
    # Fixed: a PAT that may manage. The group left is deleted first, then the proof runs.
    again = await prove(sandbox, pat(sample[1].pat_vg_manage.token, "Platform"), record)
    cleanup = next(s for s in again.steps if s.key.startswith("cleanup:"))
    assert cleanup.state is StepState.OK and "left by an earlier proof" in cleanup.result
    assert again.status is Status.VALID and probes(sandbox) == [] and record.of("conn-1") == []


async def test_a_missing_library_role_names_the_role_and_where_to_grant_it(sandbox, sample) -> None:
    s = sample[1]
    result = await prove(sandbox, sp(s.sp_library_reader, s.sp_library_reader_secret, "Platform", "Payments"))
    proofs = {p.project: p for p in result.write_proof or []}
    assert proofs["Platform"].create == "refused" and proofs["Platform"].update == "not-tried"
    assert "Creator" in proofs["Platform"].explanation  # the project's result says it too (details, --json)
    platform = next(st for st in result.steps if st.key == "proof:Platform:create")
    assert platform.result == "No Creator role in the Library of Platform"
    assert "Pipelines → Library → Security" in platform.explanation and "Creator" in platform.explanation
    assert (proofs["Payments"].create, proofs["Payments"].delete) == ("ok", "ok")
    assert result.status is Status.WARNING and probes(sandbox) == []


async def test_a_project_the_principal_was_never_added_to(sandbox, sample) -> None:
    s = sample[1]
    result = await prove(sandbox, sp(s.sp_platform_only, s.sp_platform_only_secret, "Platform", "Payments"))
    steps = {st.key: st for st in result.steps}
    assert steps["target:Payments"].state is StepState.FAILED and "visible" in steps["target:Payments"].result
    assert steps["proof:Payments:create"].state is StepState.SKIPPED
    assert [p.project for p in result.write_proof or []] == ["Platform"]


async def test_refused_credentials_try_no_proof(sandbox, sample) -> None:
    result = await prove(sandbox, pat(sample[1].pat_expired.token, "Platform"))
    assert result.status is Status.FAILED and result.summary.startswith("Credentials accepted")
    steps = {st.key: st for st in result.steps}
    assert steps["proof:Platform:create"].state is StepState.SKIPPED
    assert probes(sandbox) == []


async def test_a_cancel_after_the_create_still_deletes_the_group(sandbox, sample, tmp_path: Path) -> None:
    record = ProbeRecord(tmp_path / "probe-groups.json")
    created = asyncio.Event()

    def seen(step: CheckStep) -> None:
        if step.key == "proof:Platform:create" and step.state is StepState.OK:
            created.set()

    task = asyncio.ensure_future(prove(sandbox, pat(sample[1].pat_vg_manage.token, "Platform"), record, seen))
    async with asyncio.timeout(LIMIT):
        await created.wait()
    assert len(probes(sandbox)) == 1
    task.cancel()
    async with asyncio.timeout(LIMIT):
        await asyncio.wait([task])
    assert task.cancelled()
    assert probes(sandbox) == [] and record.of("conn-1") == []


def test_what_a_killed_proof_may_have_left_is_said(tmp_path: Path) -> None:
    from kms_connect.core.models import LeftBehind

    record = ProbeRecord(tmp_path / "probe-groups.json")
    assert record.notice() == ""
    url = "https://dev.azure.com/contoso-dev/Platform/_library?itemType=VariableGroups"
    # Recorded before the create was asked for: the answer never came (a kill), so no id.
    record.add("conn-1", LeftBehind(group="kms-connect-probe-0a1b2c3d", project="Platform", url=url))
    said = ProbeRecord(tmp_path / "probe-groups.json").notice()  # the next start, another process
    assert "kms-connect-probe-0a1b2c3d in Platform" in said and url in said and "deletes it first" in said
    assert oct((tmp_path / "probe-groups.json").stat().st_mode & 0o777) == "0o600"
    assert "secret" not in (tmp_path / "probe-groups.json").read_text().lower()


def test_a_plain_check_keeps_the_last_write_proof_and_a_refusal_keeps_the_warning() -> None:
    from kms_connect.core.check_steps import with_last_proof
    from kms_connect.core.models import CheckResult, ProjectProof, utcnow

    refused = ProjectProof(project="Platform", create="ok", update="refused", explanation="lacks _manage")
    proven = CheckResult(
        status=Status.WARNING, checked_at=utcnow(), summary="Reads work, writes refused", write_proof=[refused]
    )
    plain = CheckResult(status=Status.VALID, checked_at=utcnow(), summary="All reads work, as Alice")
    kept = with_last_proof(plain, proven)
    assert kept.status is Status.WARNING and kept.write_proof == [refused]
    assert kept.summary.startswith("Reads work; the last write proof was refused in Platform: Variable Groups:")
    fine = proven.model_copy(
        update={"write_proof": [ProjectProof(project="Platform", create="ok", update="ok", delete="ok")]}
    )
    assert with_last_proof(plain, fine).status is Status.VALID and with_last_proof(plain, fine).write_proof
    failed = CheckResult(status=Status.FAILED, checked_at=utcnow(), summary="Credentials accepted: Token expired")
    assert with_last_proof(failed, proven).write_proof is None  # refused now: the old word on writes is moot
    assert with_last_proof(plain, None) == plain
