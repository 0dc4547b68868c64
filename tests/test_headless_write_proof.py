"""`kms-connect check --prove-write`: what it needs, said before anything runs."""

from __future__ import annotations

from test_headless import run, seed, workspace  # noqa: F401 - the fixture, by name


async def test_prove_write_without_projects_says_how_to_set_them(workspace, sample) -> None:  # noqa: F811
    _paths, store = workspace
    await seed(store, sample)
    done = run("check", "--prove-write", "Payments/release-pat")
    assert done.returncode == 2, done.stderr
    assert "--prove-write needs the Azure DevOps projects" in done.stderr
    assert "Payments/release-pat names none" in done.stderr
    assert "Target projects" in done.stderr and "--devops-project NAME" in done.stderr
    assert done.stdout == ""  # nothing was checked, nothing was written


async def test_devops_project_goes_with_prove_write(workspace, sample) -> None:  # noqa: F811
    _paths, store = workspace
    await seed(store, sample)
    done = run("check", "--devops-project", "Platform")
    assert done.returncode == 2 and "--devops-project goes with --prove-write" in done.stderr


async def test_prove_write_from_cron_reports_each_permission_and_what_is_left(workspace, sample, sandbox) -> None:  # noqa: F811
    import json

    from pydantic import SecretStr

    from kms_connect.core.models import ConnectionDraft
    from kms_connect.core.status import Method

    _paths, store = workspace
    project = await store.create_project("Payments")
    draft = ConnectionDraft(
        name="vg-write", method=Method.ACCESS_TOKEN, org_name="contoso-dev",
        secrets={"access_token": SecretStr(sample[1].pat_vg_write.token)}, target_projects=["Payments"],
    )  # fmt: skip
    await store.create_connection(project.id, draft)
    done = run("check", "--prove-write", "--devops-project", "Platform", "--json")
    assert done.returncode == 1, done.stderr  # a refused proof fails the run
    assert "write proof for Payments/vg-write: In contoso-dev, in Platform: create a variable group" in done.stderr
    assert "vso.variablegroups_write but not vso.variablegroups_manage" in done.stderr  # said before it runs
    [row] = json.loads(done.stdout)["results"]
    [proof] = row["write_proof"]
    assert (proof["project"], proof["create"], proof["update"], proof["delete"]) == (
        "Platform",
        "ok",
        "refused",
        "refused",
    )
    assert proof["left_behind"]["group"].startswith("kms-connect-probe-")
    assert proof["left_behind"]["url"].endswith("/Platform/_library?itemType=VariableGroups")
    assert row["status"] == "warning"
    human = run("check", "--prove-write", "--devops-project", "Platform")
    assert "write proof in Platform: Variable Groups: create ✓ ok, update ✗ refused, delete ✗ refused" in human.stdout
    assert "left by an earlier proof" in human.stderr or "First, delete what an earlier proof left" in human.stderr
