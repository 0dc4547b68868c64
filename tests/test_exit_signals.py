"""SIGHUP and SIGTERM end the app cleanly: `python -m kms_connect` (demo and plain) in a real
pseudo-terminal (stdlib pty, pyte reads the screen), as tmux or sshd would run it.

Cleanly: exit status 128 + the signal, the terminal given back (alternate screen left, mouse and
bracketed paste reporting off, the tty out of raw mode), no traceback, and no demo workspace left
in the temp dir. Every wait has a deadline; nothing sleeps to synchronise.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte
import pytest

import kms_connect
from kms_connect.demo_workspace import OWNER_FILE, PREFIX

COLUMNS, LINES = 80, 24
SRC = Path(kms_connect.__file__).parents[1]  # this checkout's code, not an installed copy
START_LIMIT = 60.0  # seconds to the first screen (2 cores shared with other jobs)
EXIT_LIMIT = 30.0
# What Textual's driver writes on the way out: mouse reporting off (4 modes), bracketed paste
# off, the alternate screen left.
RESTORED = (b"\x1b[?1000l", b"\x1b[?1003l", b"\x1b[?1015l", b"\x1b[?1006l", b"\x1b[?2004l", b"\x1b[?1049l")
FIRST_SCREEN = {"demo": "SIMULATED", "app": "Projects"}


class Terminal:
    """A pseudo-terminal with `python -m kms_connect ARGS` on its slave side; pyte draws the screen."""

    def __init__(self, tmp: Path, args: list[str], *, controlling: bool = False) -> None:
        self.tmp = tmp / "tmp"  # the demo's temp dir (TMPDIR)
        self.tmp.mkdir(exist_ok=True)
        env = dict(
            os.environ,
            TERM="xterm-256color",
            LANG="C.UTF-8",
            TMPDIR=str(self.tmp),
            PYTHONPATH=str(SRC),
            XDG_CONFIG_HOME=str(tmp / "config"),
            XDG_DATA_HOME=str(tmp / "data"),
            XDG_STATE_HOME=str(tmp / "state"),
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        )
        env.pop("TEXTUAL", None)
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self.cooked = termios.tcgetattr(slave)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kms_connect", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            # As under sshd or tmux: the pty is the session's controlling terminal, so closing its
            # master side makes the kernel send SIGHUP (and SIGCONT).
            preexec_fn=(lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0)) if controlling else None,
        )
        os.close(slave)
        self.screen = pyte.Screen(COLUMNS, LINES)
        self.stream = pyte.ByteStream(self.screen)
        self.output = bytearray()

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def read(self, timeout: float) -> bool:
        """Read what is there within `timeout`; False once the slave side is closed by all."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: every process holding the slave side has closed it
            return False
        self.output += data
        self.stream.feed(data)
        return bool(data)

    def wait_for(self, marker: str, limit: float = START_LIMIT) -> None:
        deadline = time.monotonic() + limit
        while marker not in self.text():
            assert self.proc.poll() is None, f"exited {self.proc.returncode}:\n{self.output.decode(errors='replace')}"
            assert time.monotonic() < deadline, f"{marker!r} never showed; last screen:\n{self.text()}"
            self.read(0.1)

    def read_to_end(self, limit: float = EXIT_LIMIT) -> int:
        """Everything written until the program exits; its exit status."""
        deadline = time.monotonic() + limit
        while self.read(0.1):
            assert time.monotonic() < deadline, f"still running after {limit} s; screen:\n{self.text()}"
        return self.wait(deadline - time.monotonic())

    def wait(self, limit: float) -> int:
        try:
            return self.proc.wait(timeout=max(limit, 0.1))
        except subprocess.TimeoutExpired:
            pytest.fail(f"the app did not exit within {EXIT_LIMIT} s (hung)")

    def hang_up(self) -> None:
        """Close the master side, as sshd does when the connection drops."""
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.master >= 0:
            os.close(self.master)

    def workspaces(self) -> list[str]:
        return sorted(p.name for p in self.tmp.glob(PREFIX + "*"))


@pytest.fixture
def terminals(tmp_path: Path):
    opened: list[Terminal] = []

    def start(args: list[str], *, controlling: bool = False) -> Terminal:
        opened.append(Terminal(tmp_path, args, controlling=controlling))
        return opened[-1]

    yield start
    for term in opened:
        term.close()


def _args(kind: str) -> list[str]:
    return ["demo"] if kind == "demo" else []


@pytest.mark.parametrize("kind", ["demo", "app"])
def test_sigterm_ends_the_app_cleanly(terminals, kind: str) -> None:
    term = terminals(_args(kind))
    term.wait_for(FIRST_SCREEN[kind])
    if kind == "demo":
        assert len(term.workspaces()) == 1  # what must go
    before = len(term.output)
    os.kill(term.proc.pid, signal.SIGTERM)
    status = term.read_to_end()
    after = bytes(term.output[before:])
    assert status == 143, after[-2000:]
    for sequence in RESTORED:
        assert sequence in after, f"{sequence!r} not written after SIGTERM"
    assert b"Traceback" not in term.output and b"Terminated" not in term.output
    lflag = termios.tcgetattr(term.master)[3]  # the pty's attributes, seen from the master side
    assert lflag & (termios.ECHO | termios.ICANON | termios.ISIG) == term.cooked[3] & (
        termios.ECHO | termios.ICANON | termios.ISIG
    ), "the tty was left in raw mode"
    assert term.workspaces() == []


@pytest.mark.parametrize("kind", ["demo", "app"])
def test_sighup_ends_the_app_cleanly(terminals, kind: str) -> None:
    term = terminals(_args(kind))
    term.wait_for(FIRST_SCREEN[kind])
    before = len(term.output)
    # What the kernel sends a session leader when its terminal hangs up: SIGHUP, then SIGCONT.
    os.kill(term.proc.pid, signal.SIGHUP)
    os.kill(term.proc.pid, signal.SIGCONT)
    status = term.read_to_end()
    after = bytes(term.output[before:])
    assert status == 129, after[-2000:]
    for sequence in RESTORED:
        assert sequence in after, f"{sequence!r} not written after SIGHUP"
    # SIGCONT with no stop before it is not a resume: the alternate screen is not entered again.
    assert b"\x1b[?1049h" not in after
    assert b"Traceback" not in term.output
    assert termios.tcgetattr(term.master)[3] & termios.ECHO, "the tty was left in raw mode"
    assert term.workspaces() == []


@pytest.mark.parametrize("controlling", [True, False], ids=["sighup-from-kernel", "no-sighup"])
def test_a_terminal_that_hangs_up_ends_the_demo(terminals, controlling: bool) -> None:
    """The SSH connection drops: the terminal is gone (writes fail with EIO). As its controlling
    terminal the kernel sends SIGHUP; when it is not, the demo finds out from its next write."""
    term = terminals(["demo"], controlling=controlling)
    term.wait_for(FIRST_SCREEN["demo"])
    assert len(term.workspaces()) == 1
    term.hang_up()
    # 129, not 120 (a failed flush of stderr at exit) nor 1 (a traceback), and no hang.
    assert term.wait(EXIT_LIMIT) == 129
    assert term.workspaces() == []


def test_a_signal_while_the_demo_sets_up_ends_it_before_the_app_starts(terminals) -> None:
    term = terminals(["demo"])
    deadline = time.monotonic() + START_LIMIT
    while not term.workspaces():  # the workspace comes first; the simulators and the sample take ~0.5 s more
        assert time.monotonic() < deadline and term.proc.poll() is None, "no workspace appeared"
        term.read(0.01)
    os.kill(term.proc.pid, signal.SIGTERM)
    assert term.read_to_end() == 143
    assert b"\x1b[?1049h" not in term.output, "the app started after the signal"
    assert b"Traceback" not in term.output
    assert term.workspaces() == []


def _write_owner(workspace: Path, pid: int, start: str | None) -> None:
    from kms_connect.demo_workspace import boot_id, pid_namespace

    workspace.mkdir()
    (workspace / "plaintext-secrets.json").write_text("{}")
    owner = {"pid": pid, "start": start, "boot": boot_id(), "pid_ns": pid_namespace()}
    (workspace / OWNER_FILE).write_text(json.dumps(owner))


def _own_start_time() -> str:
    """Field 22 of /proc/self/stat, read here independently of the code under test."""
    return Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="start times come from /proc (Linux)")
def test_the_next_demo_removes_the_workspaces_of_dead_demos_only(terminals, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    dead_start = "1"  # whatever it was: the pid is gone now
    _write_owner(tmp / f"{PREFIX}killed", dead.pid, dead_start)
    _write_owner(tmp / f"{PREFIX}live", os.getpid(), _own_start_time())
    # This test's pid, but another start time: the demo that had the pid is gone, its pid reused.
    _write_owner(tmp / f"{PREFIX}reused", os.getpid(), str(int(_own_start_time()) - 1))
    (tmp / f"{PREFIX}no-owner").mkdir()  # being created right now, or from before owner files
    unrelated = tmp / "kms-connect-other"
    unrelated.mkdir()

    term = terminals(["demo"])
    term.wait_for(FIRST_SCREEN["demo"])
    [mine] = [name for name in term.workspaces() if name not in (f"{PREFIX}live", f"{PREFIX}no-owner")]
    assert term.workspaces() == sorted([f"{PREFIX}live", f"{PREFIX}no-owner", mine])
    assert (tmp / f"{PREFIX}live" / "plaintext-secrets.json").exists() and unrelated.exists()
    os.kill(term.proc.pid, signal.SIGTERM)
    assert term.read_to_end() == 143
    assert term.workspaces() == [f"{PREFIX}live", f"{PREFIX}no-owner"]


# --- in this process: the hold, and the app's hand-off ---------------------------------------------
@pytest.fixture
def recorder():
    """A handler of our own for SIGHUP and SIGTERM while a test raises them: were the code under
    test to let one through, the test fails on what it recorded instead of pytest being killed."""
    got: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in (signal.SIGHUP, signal.SIGTERM)}
    yield got
    for s, handler in previous.items():
        signal.signal(s, handler)


def test_a_held_signal_is_noted_not_obeyed(recorder: list[int]) -> None:
    from kms_connect.ui.exit_signals import hold_exit_signals

    ours = signal.getsignal(signal.SIGTERM)
    with hold_exit_signals() as held:
        signal.raise_signal(signal.SIGTERM)  # the handler has run when this returns
        signal.raise_signal(signal.SIGHUP)
        assert held.signals == [signal.SIGTERM, signal.SIGHUP]
    assert held.status == 143  # the first one's
    assert recorder == [] and signal.getsignal(signal.SIGTERM) is ours  # given back


def test_an_app_started_under_a_held_signal_leaves_at_once_with_its_status(recorder: list[int]) -> None:
    import asyncio

    from kms_connect.ui.app import KmsConnectApp
    from kms_connect.ui.exit_signals import hold_exit_signals

    async def deadline(pilot) -> None:  # a bound on a failure, not a synchronisation
        await asyncio.sleep(EXIT_LIMIT)
        pilot.app.exit(return_code=99)

    with hold_exit_signals() as held:  # the demo's, around App.run's own
        signal.raise_signal(signal.SIGHUP)  # the demo still setting up
        app = KmsConnectApp()
        app.run(headless=True, auto_pilot=deadline)
        assert held.signals == []  # the app took it
    assert app.return_code == 129 and recorder == []


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
async def test_a_running_app_leaves_on_a_signal_and_gives_the_handlers_back(recorder: list[int], signum: int) -> None:
    import asyncio

    from kms_connect.ui.app import KmsConnectApp

    ours = signal.getsignal(signum)

    async def send(pilot) -> None:
        await pilot.pause()
        signal.raise_signal(signum)
        signal.raise_signal(signum)  # a hangup often comes twice: the second changes nothing

    app = KmsConnectApp()
    await asyncio.wait_for(app.run_async(headless=True, auto_pilot=send), EXIT_LIMIT)
    assert app.return_code == 128 + signum and app.exit_signals.caught == signum
    assert recorder == [] and signal.getsignal(signum) is ours


def test_a_signal_after_the_app_has_left_is_noted_not_obeyed(recorder: list[int]) -> None:
    """Between Unmount and the end of App.run (asyncio.run waiting for the store's threads) a
    second SIGHUP or a SIGTERM must not cut a write short."""
    from kms_connect.ui.app import KmsConnectApp

    class Tail(KmsConnectApp):
        async def run_async(self, **kwargs):  # type: ignore[override]
            result = await super().run_async(**kwargs)
            signal.raise_signal(signal.SIGTERM)  # the app has left: its own handlers are gone
            return result

    async def hang_up(pilot) -> None:
        await pilot.pause()
        signal.raise_signal(signal.SIGHUP)

    ours = signal.getsignal(signal.SIGTERM)
    app = Tail()
    app.run(headless=True, auto_pilot=hang_up)
    assert app.return_code == 129 and recorder == [] and signal.getsignal(signal.SIGTERM) is ours
