"""Start-up benchmark: time to interactive, against a bare Textual app, in a real pseudo-terminal.

Time to interactive: `n` is typed at spawn (before anything is drawn); the clock runs until the
dialog it opens is on the terminal: New project for kms-connect, a modal for the bare app (Header,
DataTable, Footer, `n` bound to push a modal). A run whose key is lost counts as lost, not timed.
First paint and "store loaded and shown" (no key typed) are kept for comparison with earlier
figures. kms-connect also runs on a store of 10,000 projects.

Both run in the same run, alternating, so machine noise hits both alike.

    python benchmarks/startup.py [--runs 15]

Reports medians and ratios (target: time to interactive <= 1.3x the bare app, 0 keys lost).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import uuid
from pathlib import Path

BARE_APP = """
from textual.app import App
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header, Static
class Dialog(ModalScreen):
    def compose(self):
        yield Static("MODAL-MARKER")
class Bare(App):
    BINDINGS = [("n", "dialog", "New")]
    def compose(self):
        yield Header()
        yield Static("READY-MARKER")
        yield DataTable()
        yield Footer()
    def action_dialog(self):
        self.push_screen(Dialog())
Bare().run()
"""


def time_to_marker(
    argv: list[str], markers: list[bytes], env: dict[str, str], timeout: float = 20.0, keys: bytes = b""
) -> list[float]:
    """Seconds from spawn until each marker (in order) has been written to the terminal; `keys` are
    typed right after spawn."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    if keys:
        os.write(master, keys)
    seen = b""
    found: list[float] = []
    deadline = start + timeout
    try:
        while len(found) < len(markers) and time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            seen += chunk
            while len(found) < len(markers) and markers[len(found)] in seen:
                found.append(time.perf_counter() - start)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        os.close(master)
    if len(found) < len(markers):
        raise RuntimeError(f"markers not seen: {markers[len(found) :]!r}; last output {seen[-300:]!r}")
    return found


def seed_10000(data_dir: Path) -> None:
    from kms_connect.core.models import Project
    from kms_connect.core.paths import Paths
    from kms_connect.core.store_file import StoreData, StoreFile

    data = StoreData()
    data.projects = [Project(id=str(uuid.uuid4()), name=f"proj-{i:05d}", slug=f"proj-{i:05d}") for i in range(10_000)]
    StoreFile.of(Paths(config_file=data_dir / "c.toml", data_dir=data_dir, state_dir=data_dir)).write(data)


def interactive(argv: list[str], marker: bytes, env: dict[str, str], times: list[float]) -> int:
    """Time to interactive into `times`; 1 when the key was lost (the marker never showed)."""
    try:
        times += time_to_marker(argv, [marker], env, timeout=10.0, keys=b"n")
        return 0
    except RuntimeError:
        return 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(
            os.environ,
            TERM="xterm-256color",
            LANG="C.UTF-8",
            XDG_DATA_HOME=f"{tmp}/data",
            XDG_CONFIG_HOME=f"{tmp}/config",
            XDG_STATE_HOME=f"{tmp}/state",
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        )
        env.pop("TEXTUAL", None)
        # As installed for an operator: compiled .pyc files kept (this sandbox sets the opposite).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        big = dict(env, XDG_DATA_HOME=f"{tmp}/big")
        seed_10000(Path(tmp) / "big" / "kms-connect")
        bare_cmd = [sys.executable, "-c", BARE_APP]
        app_cmd = [sys.executable, "-m", "kms_connect"]
        # Warm the OS file cache and .pyc files once, outside the measurement.
        time_to_marker(bare_cmd, [b"READY-MARKER"], env)
        time_to_marker(app_cmd, [b"Projects", b"No projects yet"], env)
        time_to_marker(app_cmd, [b"proj-00000"], big)
        bare, painted, loaded, bare_tti, tti, tti_big = [], [], [], [], [], []
        lost = {"bare": 0, "kms-connect": 0, "kms-connect, 10,000 projects": 0}
        for _ in range(args.runs):
            bare += time_to_marker(bare_cmd, [b"READY-MARKER"], env)
            first, ready = time_to_marker(app_cmd, [b"Projects", b"No projects yet"], env)
            painted.append(first)
            loaded.append(ready)
            lost["bare"] += interactive(bare_cmd, b"MODAL-MARKER", env, bare_tti)
            lost["kms-connect"] += interactive(app_cmd, b"New project", env, tti)
            lost["kms-connect, 10,000 projects"] += interactive(app_cmd, b"New project", big, tti_big)
    b, bt = statistics.median(bare), statistics.median(bare_tti)
    print(f"runs per program: {args.runs}")
    print(f"{'bare Textual app, time to interactive':52} median {bt * 1000:6.0f} ms  (min {min(bare_tti) * 1000:.0f})")
    for label, runs in (("kms-connect", tti), ("kms-connect, 10,000 projects", tti_big)):
        if runs:
            m = statistics.median(runs)
            name = f"{label}, time to interactive"
            print(f"{name:52} median {m * 1000:6.0f} ms  (min {min(runs) * 1000:.0f})  ratio {m / bt:.2f}x")
    print("keys lost: " + ", ".join(f"{name} {n} of {args.runs}" for name, n in lost.items()))
    print(
        f"bare Textual app, first paint                        median {b * 1000:6.0f} ms  (min {min(bare) * 1000:.0f})"
    )
    for label, runs in (("Projects screen painted", painted), ("store loaded and shown ", loaded)):
        m = statistics.median(runs)
        print(f"kms-connect, {label:39} median {m * 1000:6.0f} ms  (min {min(runs) * 1000:.0f})  ratio {m / b:.2f}x")


if __name__ == "__main__":
    main()
