"""Advice fits where it is shown: the core names where to act in words (a cron log has no keys); the
TUI adds the key that does it, as remapped."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import kms_connect
from kms_connect.core import advice
from kms_connect.core.kms.backend import NOT_CHECKABLE
from kms_connect.core.kms.client import api_error
from kms_connect.ui.key_display import ADVICE_KEYS, with_key_hints
from kms_connect.ui.keymap import known_bindings
from ui_helpers import settle

PKG = Path(kms_connect.__file__).parent
# "(c)", "(ctrl+s)", "press r", "(i, then e)": a key named in text meant for a terminal or a log.
KEY_NAMED = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(?:^|\s)\((?:[a-z]|ctrl\+\w+|esc|enter)\)",
        r"\bpress (?:[a-z]|ctrl\+\w+|esc|enter)\b",
        r"\([a-z], then [a-z]\)",
    )
]


def _texts(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module (f-string parts too), docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_text_outside_the_tui_names_no_key() -> None:
    """The core, `list`/`check` and the other commands: their words reach logs and JSON."""
    modules = [*(PKG / "core").rglob("*.py"), *PKG.glob("*.py")]
    found = [
        f"{path.relative_to(PKG)}:{line}: {text[:80]!r}"
        for path in modules
        for line, text in _texts(path)
        if any(p.search(text) for p in KEY_NAMED)
    ]
    assert not found, "\n".join(found)


def test_the_scan_would_see_a_key() -> None:
    assert any(p.search("Replace its credentials (c) to check them") for p in KEY_NAMED)
    assert any(p.search("then press r to log in again") for p in KEY_NAMED)
    assert not any(p.search("an http(s) URL") for p in KEY_NAMED)


def test_every_advice_phrase_has_keys_that_exist() -> None:
    known = known_bindings()
    assert set(ADVICE_KEYS) == set(advice.PHRASES)
    for steps in ADVICE_KEYS.values():
        for ids, default in steps:
            for binding_id in ids:
                assert binding_id in known, binding_id
            assert default in known[ids[0]].keys.split(","), (ids[0], default)


async def test_the_tui_adds_the_key_as_remapped(make_app) -> None:
    login = str(api_error(401, {"message": "Identity locked out"}, during="login"))
    assert "(Reload)" in login and "press r" not in login
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen  # Projects: r reloads here; c is App Connections' key
        assert "(App Connections → Credentials, key c)" in with_key_hints(screen, NOT_CHECKABLE)
        assert "(Reload, key r)" in with_key_hints(screen, login)
        assert "(Source → Edit instance, keys i then e)" in with_key_hints(
            screen, f"enter it in kms-connect ({advice.EDIT_INSTANCE})."
        )
        app.set_keymap({"connections.credentials": "C", "projects.reload": "f5"})
        await pilot.pause()
        assert "(App Connections → Credentials, key C)" in with_key_hints(screen, NOT_CHECKABLE)
        assert "(Reload, key f5)" in with_key_hints(screen, login)
        assert with_key_hints(screen, "[b]x[/b] (Reload)", markup=True) == "[b]x[/b] (Reload, key f5)"
        app.notify(NOT_CHECKABLE, markup=False)  # every notice gets the key, screens' own too
        await pilot.pause()
        assert any("(App Connections → Credentials, key C)" in n.message for n in app._notifications)
