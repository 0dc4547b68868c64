"""The core never imports Textual, and no module grows past the size we can keep in our heads."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import kms_connect
import kms_connect.core
import kms_connect_sim

PKG_DIR = Path(kms_connect.__file__).parent
SIM_DIR = Path(kms_connect_sim.__file__).parent


def core_modules() -> list[str]:
    return [f"kms_connect.core.{m.name}" for m in pkgutil.iter_modules(kms_connect.core.__path__)]


def test_core_imports_without_textual() -> None:
    # A fresh interpreter: importing every core module must not pull Textual in.
    modules = [*core_modules(), "kms_connect.cli", "kms_connect.commands"]
    code = (
        "import sys, importlib\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core imported Textual: {out.stdout}"
    assert len(modules) >= 10


def test_core_sources_never_mention_textual_imports() -> None:
    for path in (PKG_DIR / "core").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("textual", "kms_connect.ui", "rich")), f"{path.name} imports {name}"


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
