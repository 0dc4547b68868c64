"""Which demo workspaces the next demo removes: only those whose owning process surely runs no more."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from kms_connect.demo_workspace import (
    OWNER_FILE,
    PREFIX,
    Owner,
    boot_id,
    demo_workspace,
    pid_namespace,
    remove_stale_workspaces,
)

LINUX_PROC = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="start times come from /proc (Linux)")


def _own_start() -> str:
    """Field 22 of /proc/self/stat, read here independently of the code under test."""
    return Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid names no process now
    return proc.pid


def test_a_dead_owner_is_gone() -> None:
    assert Owner(_dead_pid(), None, boot_id(), pid_namespace()).is_gone()


def test_this_process_is_not_gone() -> None:
    assert not Owner.this_process().is_gone()


@LINUX_PROC
def test_this_process_records_its_own_start_time() -> None:
    assert Owner.this_process().start == _own_start()


@LINUX_PROC
def test_a_reused_pid_is_told_apart_by_its_start_time() -> None:
    # This test's pid, but the owner started at another time: a demo that had the pid before.
    assert Owner(os.getpid(), str(int(_own_start()) - 1), boot_id(), pid_namespace()).is_gone()


@pytest.mark.skipif(boot_id() is None, reason="no boot id (Linux only)")
def test_an_owner_from_before_the_last_boot_is_gone() -> None:
    assert Owner(os.getpid(), _own_start(), "another-boot", pid_namespace()).is_gone()


def test_an_owner_of_another_pid_namespace_is_kept() -> None:
    # Its pid is another namespace's number (a container sharing /tmp): nothing can be told here.
    assert not Owner(_dead_pid(), None, boot_id(), "pid:[1]").is_gone()


@LINUX_PROC
def test_a_dead_owner_not_yet_reaped_is_gone() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, left a zombie: kill(pid, 0) succeeds
        assert Owner(proc.pid, None, boot_id(), pid_namespace()).is_gone()
    finally:
        proc.wait()


def test_a_workspace_names_its_owner_and_goes_on_the_way_out(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with demo_workspace() as root:
        assert root.parent == tmp_path and root.name.startswith(PREFIX)
        assert Owner.read(root) == Owner.this_process()
        assert remove_stale_workspaces(tmp_path) == []  # ours, and we run
    assert not root.exists()


def _workspace(base: Path, name: str, owner: Owner | None, text: str | None = None) -> Path:
    path = base / f"{PREFIX}{name}"
    path.mkdir()
    if owner is not None or text is not None:
        content = text if text is not None else json.dumps(asdict(owner))
        (path / OWNER_FILE).write_text(content)
    return path


def test_only_workspaces_of_gone_owners_are_removed(tmp_path: Path) -> None:
    here = {"boot": boot_id(), "pid_ns": pid_namespace()}
    dead = _workspace(tmp_path, "dead", Owner(_dead_pid(), None, **here))
    live = _workspace(tmp_path, "live", Owner.this_process())
    unreadable = _workspace(tmp_path, "half", None, text='{"pid": ')
    no_owner = _workspace(tmp_path, "new", None)
    # A symlink with the prefix (a shared /tmp) is never followed, even to a dead demo's workspace.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = _workspace(elsewhere, "x", Owner(_dead_pid(), None, **here))
    link = tmp_path / f"{PREFIX}link"
    link.symlink_to(target)

    assert remove_stale_workspaces(tmp_path) == [dead]
    assert not dead.exists()
    assert live.exists() and unreadable.exists() and no_owner.exists() and target.exists() and link.is_symlink()
