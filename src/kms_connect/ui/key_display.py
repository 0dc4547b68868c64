"""Keys as the operator has them: text that names a key asks its binding, so a [keys] remap shows."""

from __future__ import annotations

import re

from rich.markup import escape
from textual.binding import Binding
from textual.dom import DOMNode

from kms_connect.ui.textual_internals import all_bindings

# {projects.new}, or {connections.add:a} for a binding of a screen not shown (a is its default key)
_PLACEHOLDER = re.compile(r"\{([a-z-]+\.[a-z0-9_-]+)(?::([^}]+))?\}")


def keys_of(node: DOMNode, binding_id: str, most: int = 4) -> str:
    """The first `most` keys that trigger `binding_id` on `node`, its widgets or the App."""
    names: list[str] = []
    for owner in (node, *node.walk_children(), node.app):
        names += [node.app.get_key_display(b) for b in all_bindings(owner) if b.id == binding_id]
    return " / ".join(list(dict.fromkeys(names))[:most])


def with_keys(node: DOMNode, text: str) -> str:
    """`{projects.new}` in `text` (Rich markup) becomes the key that creates a project, as remapped."""

    def key(match: re.Match[str]) -> str:
        binding_id, default = match.group(1), match.group(2) or "?"
        shown = keys_of(node, binding_id, 1)
        if not shown:  # a binding of another screen: as the keymap has it, else its default
            remapped: str = getattr(node.app, "keymap", {}).get(binding_id) or default
            shown = node.app.get_key_display(Binding(remapped.split(",")[0], ""))
        return escape(shown)

    return _PLACEHOLDER.sub(key, text)
