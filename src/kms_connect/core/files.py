"""Atomic writes and an inter-process lock for the files kms-connect owns.

A write goes to a temp file beside its target, then is renamed over it. A temp file left by a
process that was killed mid-write (for the plaintext secrets file: a full copy of every secret) is
removed at the next start (remove_stale_temps). Each temp is flock'ed by its writer for as long as
it exists, so the sweep can tell an abandoned one (no lock: its writer died, the kernel let go)
from one another running kms-connect is writing right now. Where the kernel allows (Linux), the
temp has no name at all until its data is written and synced: a kill during the write leaves
nothing behind, and the named temp exists only between two system calls.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from kms_connect.core.faults import crash_point

StatKey = tuple[int, int, int] | None
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)  # Linux only


def stat_key(path: Path) -> StatKey:
    """(inode, size, mtime) of a file, None if it cannot be seen: an atomic write always makes a new
    inode, so a file parsed under one key is never mistaken for a changed one."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def ensure_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def atomic_write(path: Path, data: bytes) -> None:
    """Write a temp file beside `path`, fsync it, then rename over: readers see old or new, never half."""
    ensure_private_dir(path.parent)
    fd, tmp = _unnamed_temp(path, data) or _named_temp(path, data)
    try:
        crash_point(f"temp:{path.name}")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)  # lets go of the temp's lock, after the rename
    # Make the rename itself durable.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _fill(fd: int, path: Path, data: bytes) -> None:
    os.fchmod(fd, 0o600)  # created 0600 already; again in case of an odd umask or platform
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)
    crash_point(f"data:{path.name}")


def _unnamed_temp(path: Path, data: bytes) -> tuple[int, Path] | None:
    """The data in an unnamed file (O_TMPFILE), locked, then linked under a temp name; None where
    the kernel or filesystem cannot (the caller then uses a named temp from the start)."""
    if not _O_TMPFILE:
        return None
    try:
        fd = os.open(path.parent, _O_TMPFILE | os.O_RDWR, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # locked before it has a name: a sweep never finds it unlocked
        _fill(fd, path, data)
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:  # a name, so that rename can put it in place (dst_dir_fd: so that os.link follows
            # the /proc symlink to the file, as linkat(AT_SYMLINK_FOLLOW), rather than link the symlink)
            os.link(f"/proc/self/fd/{fd}", tmp.name, dst_dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # no /proc, a name taken: the named way
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd, tmp


def _named_temp(path: Path, data: bytes) -> tuple[int, Path]:
    while True:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_nlink == 0:
                # A start-up sweep took it for abandoned in the instant before the lock: take another.
                os.close(fd)
                continue
            _fill(fd, path, data)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            os.close(fd)
            raise
        return fd, Path(name)


def remove_stale_temps(targets: Iterable[Path]) -> int:
    """Remove the temp files of interrupted atomic writes of `targets`; how many went. A temp whose
    writer is still running (it holds its lock) is left alone."""
    removed = 0
    for target in targets:
        try:
            found = list(target.parent.glob(f".{glob.escape(target.name)}.*.tmp"))
        except OSError:
            continue
        removed += sum(_remove_if_abandoned(tmp) for tmp in found)
    return removed


def _remove_if_abandoned(tmp: Path) -> bool:
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:  # renamed into place meanwhile, or not a plain file of ours
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.stat(tmp, follow_symlinks=False).st_ino != os.fstat(fd).st_ino:
            return False  # renamed into place between open and lock; the name is another file now
        os.unlink(tmp)
        return True
    except OSError:  # BlockingIOError: its writer holds it; or it went meanwhile
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (flock) held for a read-modify-write cycle across processes."""
    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
