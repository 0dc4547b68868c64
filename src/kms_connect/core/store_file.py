"""The local store's file: TOML is the record, a JSON copy beside it makes big stores quick to open.

TOML is what an operator reads, diffs and fixes by hand, but parsing it is slow. So each write
also leaves a JSON copy of the same data (store.json), tagged with the SHA-256 of the TOML bytes it
mirrors. A read uses the copy only when that tag matches the TOML on disk, so a hand edit (or an
older copy) is simply ignored, never trusted, and the copy is made again. The copy holds no
secrets: neither does the TOML.

Check results are not in either: they change far more often and live in their own file
(results_file.py); a read puts them back on the connections.

A damaged file (unparsable, emptied, or inconsistent: store_check.py) is refused with StoreDamaged
before anything is written: not the file, not the copy (which may still hold what the file lost),
not the results. The copy carries the version of the consistency rules its data passed, so one
written by an older kms-connect is re-made, never trusted.

What is kept for speed, and why (the one place that says it). Each mechanism stays only while it
pays at least 2x at 10,000 projects / 5,000 connections in benchmarks/tables.py, measured with and
without it, all else equal (medians of 15 runs on a 2-core box; targets: Projects ready under
0.5 s, each filter key under 50 ms):
- the JSON copy: the store read takes 72 ms with it, 254 ms from the TOML alone (3.5x). (Start to
  Projects ready: 212 ms with it, 357 ms without, 1.7x.)
- the compiled TOML parser (tomli; the standard library's tomllib is the same parser in pure
  Python): a read from the TOML alone (after a hand edit) takes 276 ms with it, 645 ms without (2.3x).
- freezing what start-up built once the first listing is shown (heap.py): a full garbage
  collection then takes 6 ms, 64 ms without (10x). The collector starts one now and then; a key
  press it lands on would wait past the 50 ms target.
Measured and removed: an index of projects with their connection counts for the first screen
(ready 102 ms with it, 123 ms without, measured before the others went: 1.2x); reading the rest
ahead while the first screen shows (it only made up for what the index left unread); pausing the
collector during start-up (ready 135 ms with it, 212 ms without: 1.6x) and while reading the
store (read 56 ms with it, 72 ms without: 1.3x).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import tomli as toml_parser  # the compiled build of the standard library's pure-Python tomllib: see above
import tomli_w
from pydantic import BaseModel, Field, ValidationError
from pydantic.main import IncEx

from kms_connect.core.errors import NotFoundError, StoreDamaged, StoreError
from kms_connect.core.files import StatKey, atomic_write, stat_key
from kms_connect.core.models import CheckResult, Connection, Project, SecretLocation
from kms_connect.core.paths import Paths
from kms_connect.core.results_file import ResultsFile
from kms_connect.core.store_check import RULES, empty_file_problem, store_problems

FORMAT_VERSION = 1
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


class StoreFile:
    """Reads and writes one store file, its JSON copy and its check results (results_file.py); no
    locking here, the caller holds the lock."""

    def __init__(self, path: Path, copy_path: Path, results_path: Path) -> None:
        self.path = path
        self.copy_path = copy_path
        self.results = ResultsFile(results_path)
        # Parsed data keyed by the files' (inode, size, mtime): every atomic write makes a new
        # inode, so a changed file is never mistaken for the one parsed.
        self._parsed: tuple[tuple[StatKey, StatKey], StoreData] | None = None

    @classmethod
    def of(cls, paths: Paths) -> StoreFile:
        return cls(paths.store_file, paths.store_copy, paths.check_results)

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
        data = self._from_copy(digest)
        parsed = data is None
        if data is None:
            data = self._parse(raw)
        results = self.results.read()  # not before the records passed: a refusal touches nothing
        if parsed:  # so the next start is quick again after a hand edit (results as the TOML has them)
            self._write_copy(digest, data, exclude=None)
        _put_results(data, results)
        return data

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

    def _write_copy(self, digest: str, data: StoreData, exclude: IncEx | None = _NO_RESULTS) -> None:
        try:
            copy = _Copy(toml_sha256=digest, rules=RULES, data=data)
            atomic_write(
                self.copy_path,
                copy.model_dump_json(
                    exclude_none=True, exclude={"data": exclude} if exclude is not None else None
                ).encode(),
            )
        except OSError as exc:
            log.debug("could not write %s: %s", self.copy_path, exc.strerror or exc)


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
