"""What each deferred import saves at start-up: the modules the first screen does not need.

A handful of imports are made inside functions on purpose (ruff's PLC0415 asks for a reason at
each): the TUI's first frame is drawn before they are loaded, and the store loads in a thread
meanwhile. This measures what each costs on top of what the first frame loads anyway (the command
line, the app, the Projects screen), in a fresh interpreter per run, compiled .pyc files warm,
median of N runs. Each deferred import's comment names its figure; benchmarks/startup.py gives
their sum as time to the first frame.

    python benchmarks/imports.py [--runs 15]

A deferral that saves less than ~3 ms is not worth a local import: move it to the top.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

# What the TUI loads before its first frame (kms-connect with no subcommand, up to App.run()).
FIRST_FRAME = ["kms_connect.cli", "kms_connect.core.paths", "kms_connect.ui.app"]
# ... and, in the loader thread, before the Projects screen shows its rows.
ROWS_SHOWN = [*FIRST_FRAME, "kms_connect.core.workspace"]
# ... and right after, still in the loader thread: the live checks, warmed for the first `v`.
CHECKS_WARM = [*ROWS_SHOWN, "kms_connect.core.live_check"]

# Each deferred import: the module it loads late, what is loaded anyway at that moment, and where
# the deferral is (its comment names the figure).
DEFERRED: list[tuple[str, list[str], str]] = [
    ("textual.app", [], "cli: `list`, `check`, `config` never load Textual"),
    ("kms_connect.core.workspace", FIRST_FRAME, "app._load_backend: pydantic and the store"),
    ("kms_connect.core.check_runner", FIRST_FRAME, "app.checks: the check runner and the check models"),
    ("kms_connect.core.sign_ins", ROWS_SHOWN, "workspace: OAuth sign-ins (the Azure clients)"),
    ("kms_connect.commands", FIRST_FRAME, "cli: `config`, `oauth-secret`"),
    ("kms_connect.ui.screens.dashboard", FIRST_FRAME, "app: the status dashboard"),
    ("kms_connect.ui.screens.connections", FIRST_FRAME, "Projects: App Connections and its forms"),
    ("kms_connect.ui.modals.sources", FIRST_FRAME, "app: the source picker (instances)"),
    ("kms_connect.core.kms.backend", ROWS_SHOWN, "sources: an instance's client (httpx)"),
    ("kms_connect.core.live_check", ROWS_SHOWN, "app, cli: the live checks (httpx, aiohttp, Azure clients)"),
    ("msal", CHECKS_WARM, "core/azure: sign-ins and Entra tokens"),
    ("keyring", CHECKS_WARM, "core/secrets: the OS keyring, at the first secret"),
    ("segno", CHECKS_WARM, "core/qr: the QR code of a device code"),
    ("slugify", FIRST_FRAME, "core/validation: python-slugify, at the first slug"),
    # Imported at the top, for comparison: dialogs of the first screen, too cheap to defer.
    ("kms_connect.ui.modals.help", FIRST_FRAME, "(not deferred)"),
    ("kms_connect.ui.modals.new_project", FIRST_FRAME, "(not deferred)"),
]

PROBE = """
import sys, time, importlib
for m in sys.argv[2:]:
    importlib.import_module(m)
start = time.perf_counter()
importlib.import_module(sys.argv[1])
print(time.perf_counter() - start)
"""


def cost(module: str, after: list[str], env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, module, *after], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed for an operator: .pyc files kept
    for module, after, where in DEFERRED:
        cost(module, after, env)  # warm the .pyc files and the OS cache
        runs = [cost(module, after, env) for _ in range(args.runs)]
        print(f"{module:36} {statistics.median(runs) * 1000:6.1f} ms  (min {min(runs) * 1000:5.1f})  {where}")


if __name__ == "__main__":
    main()
