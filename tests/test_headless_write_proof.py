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
