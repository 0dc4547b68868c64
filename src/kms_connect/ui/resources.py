"""Locate the Textual CSS: inside the installed package, or styles/ in a source checkout."""

from __future__ import annotations

from pathlib import Path

STYLESHEETS = ("app.tcss", "tables.tcss", "modals.tcss", "forms.tcss", "choices.tcss")


def styles_dir() -> Path:
    packaged = Path(__file__).resolve().parent.parent / "styles"
    if packaged.is_dir():
        return packaged
    # Editable install / running from the repo: src/kms_connect/ui -> repo root
    return Path(__file__).resolve().parents[3] / "styles"


def stylesheet_paths() -> list[Path]:
    base = styles_dir()
    return [base / name for name in STYLESHEETS]
