"""What makes a store file consistent: checked on every parse and every write, so that a damaged
store is refused (StoreDamaged) rather than guessed at.

Duplicate ids would make "delete" or "replace" act on whichever record came first, a duplicate name
would make `kms-connect check project/name` ambiguous, and a connection whose project is missing
would be listed nowhere yet keep its secrets. None of these are ever written by kms-connect, so
they come from a hand edit, a bad merge or another tool: the operator decides, not the app.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TypeVar

from kms_connect.core.models import Connection, Project

# The version of these rules. The JSON copy and index carry it: what they hold passed these rules,
# so a copy or index from an older kms-connect (which checked less) is not trusted, only re-made.
RULES = 1
T = TypeVar("T")


def empty_file_problem(raw: bytes) -> str | None:
    """kms-connect always writes at least `version = 1`: an empty or blank file was cut short or
    emptied by something else, and reading it as "no projects" would let the next write replace the
    JSON copy (which may still hold everything) and empty checks.json."""
    if raw.strip():
        return None
    what = "it is empty (0 bytes)" if not raw else f"it holds only whitespace ({len(raw)} bytes)"
    return f"{what}, which kms-connect never writes (cut short or emptied by something else?)"


def store_problems(projects: list[Project], connections: list[Connection]) -> list[str]:
    """What is inconsistent, each naming the offending ids or names; [] when nothing is."""
    out = [f"project id {pid!r} appears {n} times" for pid, n in _repeated(p.id for p in projects)]
    out += [f"connection id {cid!r} appears {n} times" for cid, n in _repeated(c.id for c in connections)]
    names = {p.id: p.name for p in projects}
    out += [
        f"connection name {name!r} appears {n} times in project {names[pid]!r} (id {pid})"
        for (pid, name), n in _repeated((c.project_id, c.name) for c in connections)
        if pid in names
    ]
    out += [
        f"connection {c.name!r} (id {c.id}) belongs to project id {c.project_id!r}, which is not in the file"
        for c in connections
        if c.project_id not in names
    ]
    return out


def _repeated(items: Iterable[T]) -> list[tuple[T, int]]:
    return [(item, n) for item, n in Counter(items).items() if n > 1]
