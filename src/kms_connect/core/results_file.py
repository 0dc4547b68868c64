"""Check results, kept in a JSON file of their own beside the records they belong to.

Results are machine state, written hundreds of times more often than the records: a `V` run on 500
connections records results every second or so. Kept inside store.toml, each of those writes
re-rendered the whole TOML (≈0.1 s at 500 connections, seconds at 10,000 projects) while the checks
competed for the same CPU. Here a write is one JSON dump of the results alone, and store.toml only
changes when the operator changes something. The file never holds secrets: results are prose.

A damaged file is moved aside (never overwritten) and reported once; the connections then show
"Not checked" until re-checked.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from kms_connect.core.errors import StoreError
from kms_connect.core.files import StatKey, atomic_write, file_lock, stat_key
from kms_connect.core.models import CheckResult

log = logging.getLogger(__name__)
_RESULTS: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, CheckResult])
V = TypeVar("V")


class MapFile(Generic[V]):
    """Reads and writes one JSON map of connection id → V, by these rules (the caller holds the
    store's lock for a write)."""

    def __init__(self, path: Path, adapter: TypeAdapter[dict[str, V]]) -> None:
        self.path = path
        self._adapter = adapter
        self._parsed: tuple[StatKey, dict[str, V]] | None = None
        self.problem: str | None = None  # a damaged file found: what happened, to tell the operator once
        self._stuck: StatKey = None  # a damaged file that could not be moved aside: never written over

    def key(self) -> StatKey:
        return stat_key(self.path)

    def read(self) -> dict[str, V]:
        """Connection id → its value; shared (callers copy before changing)."""
        key = self.key()
        if key is None:
            return {}
        if self._parsed is not None and self._parsed[0] == key:
            return self._parsed[1]
        try:
            results = self._adapter.validate_json(self.path.read_bytes())
        except OSError as exc:  # unreadable (permissions): show no results, touch nothing
            log.warning("cannot read %s: %s", self.path, exc.strerror or exc)
            return {}
        except (ValueError, ValidationError):
            self._move_aside(key)
            return {}
        self._parsed = (key, results)
        return results

    def write(self, results: dict[str, V]) -> None:
        key = self.key()
        if key is not None and key == self._stuck:
            raise StoreError(self.problem or f"{self.path} is damaged.")
        if not results and key is None:
            return  # nothing recorded yet: no empty file either
        atomic_write(self.path, self._adapter.dump_json(results, exclude_none=True))
        self._parsed = (self.key(), results)

    def put(self, lock: Path, key: str, value: V | None) -> None:
        """Set one entry (None: forget it) under the store's `lock`; nothing is written for no change."""
        if value is None and key not in self.read():
            return  # nothing to forget: no file (nor lock) made for it
        with file_lock(lock):
            entries = dict(self.read())
            if value is None:
                if entries.pop(key, None) is None:
                    return
            else:
                entries[key] = value
            self.write(entries)

    def _move_aside(self, key: StatKey) -> None:
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(self.path, aside)
        except OSError as exc:
            self._stuck = key
            self.problem = (
                f"{self.path} is damaged and could not be moved aside ({exc.strerror or exc}). "
                "Check results are neither shown nor kept until it is moved or deleted by hand."
            )
            log.warning(self.problem)
            return
        self.problem = (
            f"{self.path} was damaged, so it was moved to {aside.name} (kept, not overwritten). "
            "Connections show Not checked until they are checked again."
        )
        log.warning(self.problem)


class ResultsFile(MapFile[CheckResult]):
    """Connection id → its last check result."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _RESULTS)


_TARGETS: TypeAdapter[dict[str, list[str]]] = TypeAdapter(dict[str, list[str]])


class TargetsFile(MapFile[list[str]]):
    """Connection id → its target projects, for connections on an instance (whose schema has no
    field for them): kept on this machine beside their check results."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _TARGETS)
