"""No module grows past the size we can keep in our heads; the command line loads Textual only for the TUI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kms_connect
import kms_connect_sim

PKG_DIR = Path(kms_connect.__file__).parent
SIM_DIR = Path(kms_connect_sim.__file__).parent


def test_the_command_line_loads_textual_only_for_the_tui() -> None:
    """`kms-connect list` in a cron job never pays for Textual (cli imports the UI in main()).

    Which package may import which is import-linter's job (contracts in pyproject.toml, run by
    .ci/run); this is the one rule about when, which it cannot see."""
    code = (
        "import sys, kms_connect.cli, kms_connect.headless, kms_connect.commands\n"
        "print(','.join(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"the command line imported Textual: {out.stdout}"


def test_the_first_frame_waits_for_no_data_or_network_code() -> None:
    """What the TUI imports before its first frame (cli up to App.run()) leaves pydantic, the store,
    HTTP, msal, the keyring and the simulators to later: they load in the app's loader thread or on
    first use (figures: benchmarks/imports.py and benchmarks/startup.py)."""
    code = (
        "import sys, kms_connect.cli, kms_connect.core.paths, kms_connect.ui.app\n"
        "late = ('pydantic', 'httpx', 'aiohttp', 'msal', 'keyring', 'segno', 'kms_connect_sim',"
        " 'kms_connect.core.local_store')\n"
        "print(','.join(m for m in late if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"loaded before the first frame: {out.stdout}"


def test_modules_stay_small() -> None:
    for package in (PKG_DIR, SIM_DIR):
        for path in package.rglob("*.py"):
            lines = len(path.read_text().splitlines())
            assert lines <= 420, f"{path.relative_to(package.parent)} has {lines} lines"


def test_styles_ship_with_the_package() -> None:
    from kms_connect.ui.resources import stylesheet_paths

    for sheet in stylesheet_paths():
        assert sheet.is_file(), sheet


def test_installed_wheel_uses_packaged_styles() -> None:
    """`pip install .` (not editable) must run with its styles: they ship inside the package."""
    from kms_connect.ui.resources import styles_dir

    if "site-packages" not in str(PKG_DIR):
        import pytest

        pytest.skip("editable install: styles come from the source tree")
    assert styles_dir() == PKG_DIR / "styles"
