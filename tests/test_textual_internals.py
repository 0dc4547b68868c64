"""Textual's private API is used in one module only, written for one Textual version."""

from __future__ import annotations

import ast
from pathlib import Path

import textual

import kms_connect
from kms_connect.ui import textual_internals
from kms_connect.ui.textual_internals import PRIVATE_NAMES, WRITTEN_FOR

UI_DIR = Path(kms_connect.__file__).parent / "ui"


def test_written_for_the_installed_textual() -> None:
    # On an upgrade: read each use in ui/textual_internals.py against the new release, then update WRITTEN_FOR.
    assert textual.__version__ == WRITTEN_FOR


def test_every_private_name_used_exists_in_this_textual() -> None:
    for cls, names in PRIVATE_NAMES.items():
        missing = [n for n in names if not any(n in vars(k) for k in cls.__mro__) and n not in _instance_names(cls)]
        assert not missing, f"{cls.__name__} has no {missing}"


def _instance_names(cls: type) -> set[str]:
    """Attributes a Textual class sets in __init__ (self._x = ...), read from its source."""
    import inspect

    names: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("textual"):
            continue
        tree = ast.parse(inspect.getsource(klass))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
    return names


def test_no_other_ui_module_reaches_into_textual_internals() -> None:
    private = {name for names in PRIVATE_NAMES.values() for name in names}
    for path in UI_DIR.rglob("*.py"):
        if path == Path(textual_internals.__file__):
            continue
        used = {n.attr for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Attribute)}
        assert not used & private, f"{path.name} uses {sorted(used & private)}: go through ui/textual_internals.py"


def test_every_private_function_used_exists_in_this_textual() -> None:
    for module, names in textual_internals.PRIVATE_FUNCTIONS.items():
        missing = [n for n in names if not callable(getattr(module, n, None))]
        assert not missing, f"{module.__name__} has no {missing}"
