"""Keys as the operator has them: text that names a key asks its binding, so a [keys] remap shows."""

from __future__ import annotations

import re

from rich.markup import escape
from textual.binding import Binding
from textual.dom import DOMNode

from kms_connect.core import advice
from kms_connect.ui.textual_internals import all_bindings

# {projects.new}, or {connections.add:a} for a binding of a screen not shown (a is its default key)
_PLACEHOLDER = re.compile(r"\{([a-z-]+\.[a-z0-9_-]+)(?::([^}]+))?\}")

# Core advice names where to act in words (core/advice.py); these are the keys that do it. Each step
# of a phrase: the bindings that do it on some screen (the one bound on the screen shown wins; the
# first is the one of the screen the phrase names), and the default key of that first one.
ADVICE_KEYS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    advice.CREDENTIALS: ((("connections.credentials", "details.credentials"), "c"),),
    advice.EDIT_INSTANCE: ((("projects.source", "connections.source"), "i"), (("sources.edit",), "e")),
    advice.RELOAD: ((("projects.reload", "connections.reload", "dashboard.reload"), "r"),),
}


def keys_of(node: DOMNode, binding_id: str, most: int = 4) -> str:
    """The first `most` keys that trigger `binding_id` on `node`, its widgets or the App."""
    names: list[str] = []
    for owner in (node, *node.walk_children(), node.app):
        names += [node.app.get_key_display(b) for b in all_bindings(owner) if b.id == binding_id]
    return " / ".join(list(dict.fromkeys(names))[:most])


def key_of(node: DOMNode, binding_id: str, default: str) -> str:
    """The key of `binding_id` as shown (plain text): bound on `node`, else as the keymap has it
    (a binding of another screen), else `default`."""
    shown = keys_of(node, binding_id, 1)
    if not shown:
        remapped: str = getattr(node.app, "keymap", {}).get(binding_id) or default
        shown = node.app.get_key_display(Binding(remapped.split(",")[0], ""))
    return shown


def with_keys(node: DOMNode, text: str) -> str:
    """`{projects.new}` in `text` (Rich markup) becomes the key that creates a project, as remapped."""

    def key(match: re.Match[str]) -> str:
        return escape(key_of(node, match.group(1), match.group(2) or "?"))

    return _PLACEHOLDER.sub(key, text)


def with_key_hints(node: DOMNode, text: str, *, markup: bool = False) -> str:
    """Core advice with the keys that act on it here: "(App Connections → Credentials)" becomes
    "(App Connections → Credentials, key c)", as remapped. `markup`: `text` is Rich markup."""
    for phrase, steps in ADVICE_KEYS.items():
        marker = f"({phrase})"
        if marker not in text:  # most text holds no advice: no walk over the screen's bindings
            continue
        keys = [_step_key(node, ids, default) for ids, default in steps]
        hint = f"key {keys[0]}" if len(keys) == 1 else f"keys {' then '.join(keys)}"
        text = text.replace(marker, f"({phrase}, {escape(hint) if markup else hint})")
    return text


def _step_key(node: DOMNode, binding_ids: tuple[str, ...], default: str) -> str:
    for binding_id in binding_ids:
        if shown := keys_of(node, binding_id, 1):
            return shown
    return key_of(node, binding_ids[0], default)
