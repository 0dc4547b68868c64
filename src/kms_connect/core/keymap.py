"""The [keys] table of the config file: binding id -> the keys that trigger it, e.g.

    [keys]
    "projects.new" = "c"
    "app.help" = "f1,question_mark"

Read twice: before the first frame with tomllib alone (`read_keys`, so that keys typed at launch
already meet the remapped bindings; ~2 ms against ~110 ms for the validated settings,
benchmarks/imports.py), then with the rest of the settings, where mistakes are reported.
Which ids exist is the UI's knowledge (ui/keymap.py checks them and their clashes).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

# One key: a character, or a Textual key name with modifiers (ctrl+n, shift+f2, question_mark).
_KEY = re.compile(r"^(?:[a-z]+\+)*(?:[a-z0-9_]+|[^\s,])$")
READ_ONLY_TWIN = "-read-only"  # a hidden binding that says why its twin cannot act here: same keys


def flatten(table: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """`projects.new = "c"` written without quotes is a nested table in TOML: flattened back to its id."""
    flat: dict[str, object] = {}
    for name, value in table.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def check_keys(value: object) -> str:
    """The keys of one binding, normalised ("ctrl+N, f2" -> "ctrl+n,f2"); ValueError says what is wrong."""
    if not isinstance(value, str):
        raise ValueError('must be a string of keys, e.g. "c" or "ctrl+n,f2"')
    keys = [key.strip() for key in value.split(",")]
    if not all(keys):
        raise ValueError(f'{value!r} has an empty key; separate keys with commas, e.g. "c,ctrl+n"')
    for key in keys:
        if not _KEY.match(key if len(key) == 1 else key.lower()):
            raise ValueError(f"{key!r} is not a key name (examples: c, ctrl+n, f2, question_mark)")
    return ",".join(key if len(key) == 1 else key.lower() for key in keys)


def with_twins(keys: Mapping[str, str]) -> dict[str, str]:
    """Each remapped binding takes its read-only twin along, unless the file remaps the twin too."""
    keymap = dict(keys)
    for binding_id, value in keys.items():
        keymap.setdefault(binding_id + READ_ONLY_TWIN, value)
    return keymap


def read_keys(config_file: Path) -> dict[str, str]:
    """The [keys] table as far as it is usable; every problem is left to the settings to report."""
    try:
        table = tomllib.loads(config_file.read_text("utf-8")).get("keys", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    if not isinstance(table, Mapping):
        return {}
    keys: dict[str, str] = {}
    for binding_id, value in flatten(table).items():
        try:
            keys[binding_id] = check_keys(value)
        except ValueError:
            continue
    return keys
