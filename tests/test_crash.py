"""A crash never dumps a traceback with local variables (which could hold secrets) on the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CRASHING_APP = """
import sys
from kms_connect.ui.app import KmsConnectApp

class Crashing(KmsConnectApp):
    def on_ready(self) -> None:
        token = "super-secret-local-value-42"
        raise RuntimeError("boom")

app = Crashing()
app.run(headless=True)
sys.exit(app.return_code or 0)
"""


def test_crash_shows_short_message_and_writes_redacted_report(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    out = subprocess.run([sys.executable, "-c", CRASHING_APP], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    combined = out.stdout + out.stderr
    assert "stopped on an unexpected error: RuntimeError" in combined
    assert "super-secret-local-value-42" not in combined
    assert "Traceback" not in combined
    [report] = list((tmp_path / "state" / "kms-connect").glob("crash-*.txt"))
    text = report.read_text()
    assert "RuntimeError: boom" in text and "super-secret-local-value-42" not in text
    assert oct(report.stat().st_mode & 0o777) == "0o600"
