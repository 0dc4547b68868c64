"""What each deferred import saves at start-up: the modules the first screen does not need.

A handful of imports are made inside functions on purpose (ruff's PLC0415 asks for a reason at
each): the first screen shows before they are loaded. This measures what each costs on top of what
start-up loads anyway (the app, the Projects screen, the local store), in a fresh interpreter per
run, compiled .pyc files warm, median of N runs. Each deferred import's comment names its figure.

    python benchmarks/imports.py [--runs 15]

A deferral that saves less than ~3 ms is not worth a local import: move it to the top.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

# What start-up loads before the Projects screen shows its rows (kms-connect with no subcommand).
START_UP = ["kms_connect.cli", "kms_connect.ui.app", "kms_connect.core.local_store", "kms_connect.core.sources"]

# Each deferred import, by the module it loads late (where the deferral is: see its comment).
DEFERRED = [
    "textual.app",  # cli: `list`, `check`, `config` never load Textual (measured without START_UP)
    "kms_connect.ui.screens.connections",  # Projects: the App Connections screen and its forms
    "kms_connect.ui.screens.dashboard",  # app: the status dashboard
    "kms_connect.ui.modals.sources",  # app: the source picker (instances)
    "kms_connect.ui.modals.help",  # app: the help screen
    "kms_connect.ui.modals.notice",  # app: a one-time notice
    "kms_connect.ui.modals.new_project",  # Projects: New project
    "kms_connect.ui.modals.confirm",  # Projects: the delete confirmation
    "kms_connect.core.live_check",  # app: the live checks (httpx, the Azure clients)
    "kms_connect.core.kms.backend",  # sources: a Hanzo KMS instance (httpx)
    "msal",  # core/azure/entra: sign-in and tokens
    "keyring",  # core/secrets: the OS keyring, once a secret is read or written
    "segno",  # core/qr: the QR code of a device-code sign-in
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
    for module in DEFERRED:
        after = [] if module == "textual.app" else START_UP
        cost(module, after, env)  # warm the .pyc files and the OS cache
        runs = [cost(module, after, env) for _ in range(args.runs)]
        base = "alone" if not after else "after start-up"
        print(f"{module:40} {statistics.median(runs) * 1000:6.1f} ms  ({base}; min {min(runs) * 1000:.1f})")


if __name__ == "__main__":
    main()
