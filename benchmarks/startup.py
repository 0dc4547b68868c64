"""Start-up benchmark: process start to the first painted Projects screen, against a bare Textual app.

Both run in a real pseudo-terminal (80x24) in the same run, alternating, so machine noise hits both
alike. The clock runs from spawning the process until the marker text arrives on the terminal.

    python benchmarks/startup.py [--runs 15]

Reports medians and the ratio (target: kms-connect <= 1.3x the bare app).
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

BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("READY-MARKER")
Bare().run()
"""


def time_to_marker(argv: list[str], markers: list[bytes], env: dict[str, str], timeout: float = 20.0) -> list[float]:
    """Seconds from spawn until each marker (in order) has been written to the terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
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
        bare_cmd = [sys.executable, "-c", BARE_APP]
        app_cmd = [sys.executable, "-m", "kms_connect"]
        # Warm the OS file cache and .pyc files once, outside the measurement.
        time_to_marker(bare_cmd, [b"READY-MARKER"], env)
        time_to_marker(app_cmd, [b"Projects", b"No projects yet"], env)
        bare, painted, loaded = [], [], []
        for _ in range(args.runs):
            bare += time_to_marker(bare_cmd, [b"READY-MARKER"], env)
            first, ready = time_to_marker(app_cmd, [b"Projects", b"No projects yet"], env)
            painted.append(first)
            loaded.append(ready)
    b, p, ld = (statistics.median(x) for x in (bare, painted, loaded))
    print(f"runs per program: {args.runs}")
    print(f"bare Textual app, first paint          median {b * 1000:6.0f} ms  (min {min(bare) * 1000:.0f})")
    for label, median, runs in (("Projects screen painted", p, painted), ("store loaded and shown ", ld, loaded)):
        print(
            f"kms-connect, {label}   median {median * 1000:6.0f} ms  (min {min(runs) * 1000:.0f})  "
            f"ratio {median / b:.2f}x"
        )


if __name__ == "__main__":
    main()
