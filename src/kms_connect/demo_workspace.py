"""The demo's throwaway workspace: a temp dir owned by one process, never outliving it for long.

The demo removes its workspace on the way out (Ctrl+Q, SIGHUP, SIGTERM). A demo killed outright
(kill -9, the OOM killer, a power cut) cannot, so each workspace names its owner in OWNER_FILE and
the next `kms-connect demo` removes the workspaces whose owner is gone.

A pid alone does not say that: the number is reused, and a later, unrelated process with it would
keep a dead demo's workspace for as long as it runs. So the owner is its pid, the process's start
time (Linux: /proc/PID/stat, clock ticks since boot) and the boot it started in (the kernel's
boot_id: start times restart at each boot). Where these cannot be read (no /proc, as on macOS) the
pid alone decides, which may keep a stale workspace but never removes a live one. Whatever cannot
be judged from here is kept: a workspace of another user, of another pid namespace (a container
sharing the temp dir: its pids mean nothing here), or without a readable owner file (one being
created right now, or left by a version from before owner files).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from kms_connect.core.files import atomic_write

PREFIX = "kms-connect-demo-"
OWNER_FILE = "owner.json"


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from its third field (state) on: the second (the command, in parentheses) may
    hold spaces and parentheses itself, so the fields are counted from its last ')'."""
    text = _read(f"/proc/{pid}/stat")
    return text.rpartition(")")[2].split() if text else None


def process_start(pid: int) -> str | None:
    """When `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat); None if unknown."""
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def boot_id() -> str | None:
    return _read("/proc/sys/kernel/random/boot_id")


def pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


@dataclass(frozen=True)
class Owner:
    pid: int
    start: str | None
    boot: str | None
    pid_ns: str | None

    @classmethod
    def this_process(cls) -> Owner:
        return cls(os.getpid(), process_start(os.getpid()), boot_id(), pid_namespace())

    @classmethod
    def read(cls, workspace: Path) -> Owner | None:
        try:
            data = json.loads((workspace / OWNER_FILE).read_text())
            return cls(int(data["pid"]), data["start"], data["boot"], data["pid_ns"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, workspace: Path) -> None:
        atomic_write(workspace / OWNER_FILE, json.dumps(asdict(self)).encode())  # never read half-written

    def is_gone(self) -> bool:
        """True only when this owner surely runs no more; what cannot be told counts as running."""
        if self.pid_ns != pid_namespace():
            return False  # its pid is another namespace's number
        if self.boot is not None and boot_id() not in (None, self.boot):
            return True  # started before the last boot
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # a process of another user has the pid: the start time says whether it is ours
        fields = _stat_fields(self.pid)
        if fields and fields[0] in ("Z", "X"):
            return True  # dead, not yet reaped by its parent
        start = process_start(self.pid)
        return self.start is not None and start is not None and start != self.start  # the pid was reused


@contextlib.contextmanager
def demo_workspace() -> Iterator[Path]:
    """A fresh workspace in the temp dir, owned by this process, removed on the way out."""
    with tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
        root = Path(tmp)
        Owner.this_process().write(root)
        yield root


def remove_stale_workspaces(base: Path | None = None) -> list[Path]:
    """Remove the workspaces (in `base`, the temp dir by default) of demos that are gone; returns them."""
    removed: list[Path] = []
    uid = os.getuid()
    for path in Path(base or tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            info = path.lstat()
        except OSError:
            continue
        # A shared /tmp: only our own real directories (a symlink planted there is not followed).
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            continue
        owner = Owner.read(path)
        if owner is not None and owner.is_gone():
            shutil.rmtree(path, ignore_errors=True)  # another demo starting may be removing it too
            removed.append(path)
    return removed
