"""The local store's file: TOML is the record, a JSON copy beside it makes big stores quick to open.

TOML is what an operator reads, diffs and fixes by hand, but parsing it is slow (≈0.5 s for
10,000 projects with the compiled parser, 1.5 s with the standard library's). So each write also
leaves a JSON copy of the same data, tagged with the SHA-256 of the TOML bytes it mirrors. A read
uses the copy only when that tag matches the TOML on disk, so a hand edit (or an older copy) is
simply ignored, never trusted. The copy holds no secrets: neither does the TOML. A smaller index,
tagged the same way, lists each project with its number of connections: the first screen needs
nothing else, and reading it skips building 15,000 objects at 10,000 projects.

Check results are not in either: they change far more often and live in their own file
(results_file.py); a read puts them back on the connections.

A damaged file (unparsable, emptied, or inconsistent: store_check.py) is refused with StoreDamaged
before anything is written: not the file, not the copy or index (which may still hold what the
file lost), not the results. The copy and index carry the version of the consistency rules their
data passed, so one written by an older kms-connect is re-made, never trusted.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import tomli as toml_parser  # the compiled build of the parser the standard library's tomllib vendors
import tomli_w
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic.main import IncEx

from kms_connect.core.errors import NotFoundError, StoreDamaged, StoreError
from kms_connect.core.files import StatKey, atomic_write, stat_key
from kms_connect.core.models import CheckResult, Connection, Project, ProjectSummary, SecretLocation
from kms_connect.core.paths import Paths
from kms_connect.core.results_file import ResultsFile
from kms_connect.core.store_check import RULES, empty_file_problem, store_problems

FORMAT_VERSION = 1
T = TypeVar("T")
_NO_RESULTS: IncEx = {"connections": {"__all__": {"last_check"}}}  # kept in the results file instead
log = logging.getLogger(__name__)


class StoreData(BaseModel):
    version: int = FORMAT_VERSION
    projects: list[Project] = Field(default_factory=list)
    connections: list[Connection] = Field(default_factory=list)
    # Secrets that belong to the app rather than a connection (the OAuth client secret).
    app_secrets: dict[str, SecretLocation] = Field(default_factory=dict)
    # One-time notices already shown on this machine.
    notices_shown: list[str] = Field(default_factory=list)

    def connection(self, connection_id: str) -> Connection:
        for conn in self.connections:
            if conn.id == connection_id:
                return conn
        raise NotFoundError("That connection no longer exists (another kms-connect may have deleted it).")

    def project(self, project_id: str) -> Project:
        for project in self.projects:
            if project.id == project_id:
                return project
        raise NotFoundError("That project no longer exists (another kms-connect may have deleted it).")


class _Copy(BaseModel):
    toml_sha256: str
    rules: int = 0  # store_check.RULES when written: older copies were never checked
    data: StoreData


class _Index(BaseModel):
    """Validated as a whole (~9 ms at 10,000 rows), so a row that is not ours never reaches a screen."""

    toml_sha256: str
    rules: int = 0  # as in _Copy
    projects: list[tuple[str, str, str, str, int, int]]  # id, name, slug, description, created_at (epoch s), count


class StoreFile:
    """Reads and writes one store file, its JSON copy and its check results (results_file.py); no
    locking here, the caller holds the lock."""

    def __init__(self, path: Path, copy_path: Path, results_path: Path, index_path: Path) -> None:
        self.path = path
        self.copy_path = copy_path
        self.index_path = index_path
        self.results = ResultsFile(results_path)
        # Parsed data keyed by the files' (inode, size, mtime): every atomic write makes a new
        # inode, so a changed file is never mistaken for the one parsed.
        self._parsed: tuple[tuple[StatKey, StatKey], StoreData] | None = None
        self._listed: tuple[tuple[StatKey, StatKey], list[ProjectSummary]] | None = None  # as _parsed

    @classmethod
    def of(cls, paths: Paths) -> StoreFile:
        return cls(paths.store_file, paths.store_copy, paths.check_results, paths.store_index)

    def read(self) -> StoreData:
        """A fresh copy of the file's data, for changing; a missing file is an empty store."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return StoreData()
        except OSError as exc:
            raise StoreError(f"{self.path} cannot be read: {exc.strerror or exc}") from None
        if problem := empty_file_problem(raw):
            raise StoreDamaged(self.path, [problem])
        digest = hashlib.sha256(raw).hexdigest()
        with _no_gc():
            data = self._from_copy(digest)
            parsed = data is None
            if data is None:
                data = self._parse(raw)
        results = self.results.read()  # not before the records passed: a refusal touches nothing
        if parsed:  # so the next start is quick again after a hand edit (results as the TOML has them)
            self._write_copy(digest, data, exclude=None)
        _put_results(data, results)
        return data

    def warm(self) -> None:
        """Make the snapshot ahead of need, while a screen is in use: like snapshot(), but the JSON
        copy is validated in slices. In one piece it holds the interpreter for ~0.1 s at 10,000
        projects, and a key pressed meanwhile waits for all of it; between slices the UI gets in."""
        key = (stat_key(self.path), self.results.key())
        if key[0] is None or (self._parsed is not None and self._parsed[0] == key):
            return
        try:
            digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
            doc = json.loads(self.copy_path.read_bytes())
            if doc["toml_sha256"] == digest and doc.get("rules") == RULES:
                data = _in_slices(doc["data"])
                _put_results(data, self.results.read())
                self._parsed = (key, data)
                return
        except (OSError, ValueError, KeyError, TypeError):  # no usable copy: the full read says why
            pass
        self.snapshot()

    def snapshot(self) -> StoreData:
        """The file's data for reading only (shared: callers must not change it)."""
        key = (stat_key(self.path), self.results.key())
        if key[0] is None:
            return self.read()  # missing: an empty store; there but unreadable: read() words the error
        if self._parsed is not None and self._parsed[0] != key and self._parsed[0][0] == key[0]:
            # Only results changed (another process checked): put them on, without reading the records.
            data = self._parsed[1]
            _put_results(data, self.results.read())
            self._parsed = ((key[0], self.results.key()), data)
        if self._parsed is None or self._parsed[0] != key:
            self._parsed = (key, self.read())
        return self._parsed[1]

    def listing(self) -> list[ProjectSummary]:
        """Each project with its number of connections: all the first screen needs.

        Until something needs the connections themselves, this comes from the index beside the
        copy, without building 15,000 objects (~15 ms instead of ~100 ms at 10,000 projects).
        """
        key = (stat_key(self.path), self.results.key())
        if self._listed is not None and self._listed[0] == key:
            return list(self._listed[1])  # e.g. the store's open, then the first screen
        stale = self._parsed is None or self._parsed[0] != key
        listed = self._from_index() if stale else None
        if listed is None:
            data = self.snapshot()
            if stale and data.projects:  # the index was missing, damaged or older: quick again next time
                with contextlib.suppress(OSError):
                    self._write_index(hashlib.sha256(self.path.read_bytes()).hexdigest(), data)
            counts = Counter(c.project_id for c in data.connections)
            listed = [ProjectSummary(p, counts[p.id]) for p in data.projects]
        self._listed = (key, listed)
        return list(listed)

    def write(self, data: StoreData) -> None:
        """Write `data` (the caller holds the lock); it becomes the shared snapshot, so the next read
        does not parse back what was just written (~0.1 s at 10,000 projects)."""
        if problems := store_problems(data.projects, data.connections):  # a bug: never make a damaged file
            raise StoreError(
                f"Nothing was written to {self.path}: the change would make it inconsistent ({problems[0]})."
            )
        raw = tomli_w.dumps(data.model_dump(mode="python", exclude_none=True, exclude=_NO_RESULTS)).encode("utf-8")
        atomic_write(self.path, raw)
        self._write_copy(hashlib.sha256(raw).hexdigest(), data)
        results = {c.id: c.last_check for c in data.connections if c.last_check is not None}
        if not _same(results, self.results.read()):
            self.results.write(results)
        self._parsed = ((stat_key(self.path), self.results.key()), data)
        log.debug("wrote %s: %d projects, %d connections", self.path, len(data.projects), len(data.connections))

    def record_results(self, results: dict[str, CheckResult], accept: Callable[[Connection], bool]) -> list[str]:
        """Record check results of the connections `accept` lets through, writing the results file
        alone (the caller holds the lock); the ids recorded."""
        data = self.snapshot()
        taken = {c.id: results[c.id] for c in data.connections if c.id in results and accept(c)}
        if taken:
            kept = {c.id: c.last_check for c in data.connections if c.last_check is not None}
            self.results.write(kept | taken)
            for conn in data.connections:
                if conn.id in taken:
                    conn.last_check = taken[conn.id]
            self._parsed = ((stat_key(self.path), self.results.key()), data)
        return list(taken)

    # --- the TOML ----------------------------------------------------------------------------
    def _parse(self, raw: bytes) -> StoreData:
        try:
            doc = toml_parser.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, toml_parser.TOMLDecodeError) as exc:
            raise StoreDamaged(self.path, [f"not valid TOML ({exc})"]) from None
        version = doc.get("version")
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer kms-connect (format {version}; this version reads "
                f"format {FORMAT_VERSION}). It was left untouched: upgrade kms-connect."
            )
        try:
            data = StoreData.model_validate(doc)
        except ValidationError as exc:
            problems = "; ".join(
                f"{_loc(e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False, include_input=False)[:3]
            )
            raise StoreDamaged(self.path, [f"unexpected content ({problems})"]) from None
        if problems_found := store_problems(data.projects, data.connections):
            raise StoreDamaged(self.path, problems_found)
        return data

    # --- the JSON copy (best effort: losing it only costs time) ------------------------------
    def _from_copy(self, digest: str) -> StoreData | None:
        try:
            copy = _Copy.model_validate_json(self.copy_path.read_bytes())
        except (OSError, ValueError):  # missing, unreadable or not ours: parse the TOML instead
            return None
        return copy.data if copy.toml_sha256 == digest and copy.rules == RULES else None

    def _from_index(self) -> list[ProjectSummary] | None:
        try:
            raw = self.path.read_bytes()
            if empty_file_problem(raw):
                return None  # the full read refuses it
            digest = hashlib.sha256(raw).hexdigest()
            index = _Index.model_validate_json(self.index_path.read_bytes())
        except (OSError, ValueError):  # missing, damaged or not ours: the full read
            return None
        if index.toml_sha256 != digest or index.rules != RULES:
            return None
        return [ProjectSummary.from_index(row) for row in index.projects]

    def _write_index(self, digest: str, data: StoreData) -> None:
        counts = Counter(c.project_id for c in data.connections)
        rows = [
            [p.id, p.name, p.slug, p.description, int(p.created_at.timestamp()), counts[p.id]]
            for p in sorted(data.projects, key=lambda p: p.name.lower())
        ]  # as shown: sorting it again is quick
        doc = {"toml_sha256": digest, "rules": RULES, "projects": rows}
        atomic_write(self.index_path, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))

    def _write_copy(self, digest: str, data: StoreData, exclude: IncEx | None = _NO_RESULTS) -> None:
        try:
            copy = _Copy(toml_sha256=digest, rules=RULES, data=data)
            atomic_write(
                self.copy_path,
                copy.model_dump_json(
                    exclude_none=True, exclude={"data": exclude} if exclude is not None else None
                ).encode(),
            )
            self._write_index(digest, data)
        except OSError as exc:
            log.debug("could not write %s: %s", self.copy_path, exc.strerror or exc)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Reading a big store makes ~100,000 objects that all live on: collecting while they are
    made only rescans them (≈40% of the read time at 10,000 projects)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_PROJECTS, _CONNECTIONS = TypeAdapter(list[Project]), TypeAdapter(list[Connection])
WARM_SLICE = 500  # objects validated at a time while reading ahead (~3 ms)


def _in_slices(raw: dict[str, object]) -> StoreData:
    """StoreData from the copy's parsed JSON, validated WARM_SLICE objects at a time."""
    size = WARM_SLICE

    def each(adapter: TypeAdapter[list[T]], items: object) -> list[T]:
        if not isinstance(items, list):
            raise TypeError("not a list")
        return [x for i in range(0, len(items), size) for x in adapter.validate_python(items[i : i + size])]

    data = StoreData.model_validate({**raw, "projects": [], "connections": []})
    data.projects, data.connections = (
        each(_PROJECTS, raw.get("projects", [])),
        each(_CONNECTIONS, raw.get("connections", [])),
    )
    return data


def _put_results(data: StoreData, results: dict[str, CheckResult]) -> None:
    for conn in data.connections:  # results recorded by an older version stay in the TOML until then
        conn.last_check = results.get(conn.id, conn.last_check)


def _same(a: dict[str, CheckResult], b: dict[str, CheckResult]) -> bool:
    return a.keys() == b.keys() and all(a[k] is b[k] for k in a)


def _loc(loc: tuple[object, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"
