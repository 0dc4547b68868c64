"""The [keys] table checked against the bindings that exist: unknown ids and clashes are config errors.

The ids live on the bindings themselves (`Binding(..., id="projects.new")`); this module finds
them by importing every UI module, which is why it runs in the loader thread, and only when the
config file has a [keys] table.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen

import kms_connect.ui
from kms_connect.core.errors import ConfigError
from kms_connect.core.keymap import READ_ONLY_TWIN, with_twins
from kms_connect.ui.textual_internals import class_bindings, normalize_keys


@dataclass(frozen=True)
class BindingInfo:
    binding_id: str
    keys: str  # the default keys, as written in BINDINGS
    description: str
    where: str  # the class that declares it


def ui_classes() -> Iterator[type[DOMNode]]:
    """Every screen, modal, form and widget class of the UI, with bindings or not."""
    for module_info in pkgutil.walk_packages(kms_connect.ui.__path__, "kms_connect.ui."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, DOMNode) and cls.__module__ == module.__name__:
                yield cls


def known_bindings() -> dict[str, BindingInfo]:
    """Binding id -> where it is declared and its default keys (what the README's Keys table lists)."""
    found: dict[str, BindingInfo] = {}
    for cls in ui_classes():
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                found.setdefault(binding.id, BindingInfo(binding.id, binding.key, binding.description, cls.__name__))
    return found


def _key_map(bindings: list[Binding], keymap: Mapping[str, str]) -> dict[str, list[Binding]]:
    """Key -> the bindings it triggers once `keymap` is applied."""
    by_key: dict[str, list[Binding]] = {}
    for binding in bindings:
        keys = keymap.get(binding.id or "", binding.key)
        for key in normalize_keys(keys).split(","):
            by_key.setdefault(key, []).append(binding)
    return by_key


def _same_action(a: Binding, b: Binding) -> bool:
    """A binding and its read-only twin share their keys on purpose (only one is enabled at a time)."""
    ids = {(a.id or "").removesuffix(READ_ONLY_TWIN), (b.id or "").removesuffix(READ_ONLY_TWIN)}
    return len(ids) == 1 or a is b


def clashes(keymap: Mapping[str, str]) -> list[str]:
    """Each key the keymap gives to two bindings that answer on the same screen."""
    app_bindings = [b for cls in ui_classes() if _is_app(cls) for b in class_bindings(cls)]
    problems: set[str] = set()
    for cls in ui_classes():
        if _is_app(cls):
            continue
        chain = list(class_bindings(cls))
        if issubclass(cls, Screen):  # its table is focused; the App's keys answer under a screen, not a modal
            table = getattr(cls, "TABLE_CLASS", None)
            chain += list(class_bindings(table)) if table is not None else []
            chain += [] if issubclass(cls, ModalScreen) else app_bindings
        for key, bindings in _key_map(chain, keymap).items():
            if not any(b.id in keymap for b in bindings):
                continue  # only the [keys] table's clashes: the defaults are as designed
            for i, first in enumerate(bindings):
                for second in bindings[i + 1 :]:
                    # A read-only twin follows its binding: the binding's clash is the one to report.
                    twin = any((b.id or "").endswith(READ_ONLY_TWIN) for b in (first, second))
                    if not twin and not _same_action(first, second):
                        remapped = first if first.id in keymap else second
                        other = second if remapped is first else first
                        problems.add(
                            f"{remapped.id}: {key} is also {other.id or repr(other.description)} on {cls.__name__}"
                        )
    return sorted(problems)


def _is_app(cls: type[DOMNode]) -> bool:
    return issubclass(cls, App)


def checked_keymap(keys: Mapping[str, str], config_file: Path) -> dict[str, str]:
    """The keymap to give Textual's set_keymap; ConfigError names the file and each wrong key."""
    if not keys:
        return {}
    known = known_bindings()
    unknown = [binding_id for binding_id in keys if binding_id not in known]
    problems = [f"{binding_id}: unknown binding id (the README lists them)" for binding_id in unknown]
    keymap = with_twins({k: v for k, v in keys.items() if k in known})
    keymap = {k: v for k, v in keymap.items() if k in known}
    problems += clashes(keymap)
    if problems:
        raise ConfigError(f"{config_file}: " + "; ".join(f"[keys] {p}" for p in problems))
    return keymap
