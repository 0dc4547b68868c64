"""The installed `kms-connect`, in a real pseudo-terminal at 80x24, with keys typed right at launch.

As a fast typist over a slow link: the whole burst is written at once, before anything is drawn
(the terminal is still in cooked mode then: Enter arrives as LF). pyte reads the screen.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import uuid
from pathlib import Path

import pyte
import pytest

from kms_connect.core.models import Project
from kms_connect.core.paths import Paths
from kms_connect.core.store_file import StoreData, StoreFile

APP = Path(sys.executable).parent / "kms-connect"
COLUMNS, LINES = 80, 24


ESC_GAP = 0.3  # a lone ESC is read as Escape only when nothing follows it within Textual's delay (0.1 s)


def screen_after_burst(workspace: Path, keys: bytes, *expect: str, timeout: float = 30.0) -> None:
    """Start the app, type `keys` at once, and return once every `expect` is on the screen (or fail).

    An ESC in `keys` is typed as a person does: the next key comes ESC_GAP later (keystroke timing,
    not a wait for the screen)."""
    env = dict(
        os.environ,
        TERM="xterm-256color",
        LANG="C.UTF-8",
        XDG_CONFIG_HOME=str(workspace / "config"),
        XDG_DATA_HOME=str(workspace / "data"),
        XDG_STATE_HOME=str(workspace / "state"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    env.pop("TEXTUAL", None)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    proc = subprocess.Popen([str(APP)], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    screen = pyte.Screen(COLUMNS, LINES)
    stream = pyte.ByteStream(screen)
    first, *after_escapes = keys.split(b"\x1b")
    os.write(master, first)  # right at launch, before the first frame
    for chunk in after_escapes:
        time.sleep(ESC_GAP)
        os.write(master, b"\x1b")
        time.sleep(ESC_GAP)
        os.write(master, chunk)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    stream.feed(os.read(master, 65536))
                except OSError:
                    break
            text = "\n".join(screen.display)
            if all(part in text for part in expect):
                return
        raise AssertionError(f"{expect!r} never all showed; last screen:\n" + "\n".join(screen.display))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        os.close(master)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for part in ("config", "data", "state"):
        (tmp_path / part).mkdir()
    return tmp_path


def test_new_project_then_access_token_form_typed_at_launch(workspace: Path) -> None:
    screen_after_burst(workspace, b"npayments\r\ra2", "Organization Name", "Access Token", "payments")


def test_through_the_method_picker_and_back_with_escape(workspace: Path) -> None:
    # Create "ops", open it, add (the picker), Esc closes the picker, Esc goes back to Projects, where
    # n creates "two": only keys acted on in that order leave both projects listed.
    screen_after_burst(workspace, b"nops\r\ra\x1b\x1bntwo\r", "Projects", "2 projects", "ops", "two")


def test_filter_then_open_among_10000_projects(workspace: Path) -> None:
    data = StoreData()
    data.projects = [Project(id=str(uuid.uuid4()), name=f"proj-{i:05d}", slug=f"proj-{i:05d}") for i in range(10_000)]
    paths = Paths(config_file=workspace / "c.toml", data_dir=workspace / "data" / "kms-connect", state_dir=workspace)
    StoreFile.of(paths).write(data)
    screen_after_burst(
        workspace, b"/proj-04242\r\r", "App Connections · proj-04242", "No App Connections in this project yet"
    )
