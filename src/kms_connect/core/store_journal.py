"""Changes of the local store that touch secrets are written down before they start, so that a kill
at any moment leaves neither a secret without its record nor a record pointing at a missing secret.

Under the store's lock, such a change (create, replace, delete, the OAuth client secret):
  1. names in the journal, store.pending.json, every secret it may create or release;
  2. writes the new secrets, under new keys (a replace never overwrites what the record points at);
  3. writes store.toml: the one moment the change takes effect;
  4. deletes those named secrets that no record refers to: the released ones (on a failure before
     step 3, the new ones instead);
  5. drops its entry from the journal.
A kill before step 3 leaves the old record with its secrets whole, after it the new. The next open
of the store finds the entry and does steps 4 and 5 (LocalStore.open). The lock is held throughout,
so at open every entry found is one whose process died: no running kms-connect is mid-change.

Why a journal rather than marks in the records: a mark costs two more rewrites of store.toml per
change (seconds at 10,000 projects), the journal a few hundred bytes; and records stay as they are
for every reader. The OS keyring cannot be listed, so a keyring entry can only be found again if it
was named before it was made: by its record, or here. The plaintext file can be listed: at open,
its entries under the store's keys (connection/..., the OAuth client secret) that no record refers
to are removed too (left by an older kms-connect, or after a record was removed by hand). Instance
secrets (instance/...) are not the store's and are never touched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kms_connect.core.faults import crash_point
from kms_connect.core.files import atomic_write, remove_stale_temps
from kms_connect.core.models import Connection, SecretLocation
from kms_connect.core.paths import Paths
from kms_connect.core.secrets import SecretStore
from kms_connect.core.store_file import StoreData

JOURNAL_NAME = "store.pending.json"  # beside store.toml
OAUTH_SECRET_KEY = "oauth/client_secret"
log = logging.getLogger(__name__)

Ref = tuple[str, SecretLocation]  # a secret: its key, and the store holding (or maybe holding) it


def secret_key(connection_id: str, field: str, generation: int | None = None) -> str:
    base = f"connection/{connection_id}/{field}"
    return base if generation is None else f"{base}/{generation}"


def connection_refs(conn: Connection) -> list[Ref]:
    return [(secret_key(conn.id, f, conn.secrets_generation), where) for f, where in conn.secrets.items()]


def references(data: StoreData) -> set[Ref]:
    """Every secret the records point at."""
    refs = {ref for conn in data.connections for ref in connection_refs(conn)}
    return refs | set(data.app_secrets.items())


def is_store_key(key: str) -> bool:
    return key.startswith("connection/") or key == OAUTH_SECRET_KEY


@dataclass(frozen=True)
class Pending:
    op: str  # e.g. "create": in the log, and the crash points' names (faults.py)
    refs: tuple[Ref, ...]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


class Journal:
    """The unfinished changes (the caller holds the store's lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[Pending]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            doc = json.loads(raw)
            return [
                Pending(str(e["op"]), tuple((str(k), SecretLocation(w)) for k, w in e["refs"]), str(e["id"]))
                for e in doc["pending"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            # Never written half (atomic), so someone else's doing. Only orphaned secrets are at
            # stake, not records: kept aside for a look, and the store opens.
            aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(self.path, aside)
            log.warning("%s was damaged (%s); moved to %s", self.path, type(exc).__name__, aside.name)
            return []

    def write(self, entries: list[Pending]) -> None:
        if not entries:
            self.path.unlink(missing_ok=True)  # the usual state: no file at all, nothing to read at open
            return
        doc = {
            "version": 1,
            "pending": [{"id": p.id, "op": p.op, "refs": [[k, w.value] for k, w in p.refs]} for p in entries],
        }
        atomic_write(self.path, json.dumps(doc, indent=1).encode())


class SecretChanges:
    """Runs changes that touch secrets as the module says (the caller holds the store's lock)."""

    def __init__(self, journal: Journal, secrets: SecretStore, snapshot: Callable[[], StoreData]) -> None:
        self.journal, self.secrets, self.snapshot = journal, secrets, snapshot
        self.left_behind: list[Ref] = []  # secrets that could not be deleted: the operator is told once

    @contextlib.contextmanager
    def pending(self, op: str, refs: list[Ref]) -> Iterator[None]:
        """Name `refs` in the journal for the change made in the block; then, whether it was done or
        failed, delete those no record refers to."""
        if not refs:  # e.g. a project without connections: nothing to name
            yield
            return
        entry = Pending(op, tuple(refs))
        self.journal.write([*self.journal.read(), entry])
        crash_point(f"{op}:intent")
        try:
            yield
        finally:
            self._settle(entry)

    def _settle(self, entry: Pending) -> None:
        left = release(self.secrets, entry.refs, references(self.snapshot()))  # the records as on disk now
        crash_point(f"{entry.op}:released")
        rest = [e for e in self.journal.read() if e.id != entry.id]
        self.journal.write(rest + ([Pending(entry.op, tuple(left))] if left else []))
        self.left_behind += left

    def put_refs(self, keys: list[str]) -> list[Ref]:
        """Where putting `keys` may leave them, to be named before they exist: keyring entries cannot
        be listed later. A put meant for the keyring may still end in the file."""
        wheres: tuple[SecretLocation, ...] = (SecretLocation.KEYRING, SecretLocation.FILE)
        if self.secrets.planned() is SecretLocation.FILE:
            wheres = (SecretLocation.FILE,)
        return [(key, where) for key in keys for where in wheres]


def release(secrets: SecretStore, refs: tuple[Ref, ...] | list[Ref], referenced: set[Ref]) -> list[Ref]:
    """Delete those of `refs` that no record refers to; those that could not be deleted (e.g. the
    keyring is out of reach of this process) are returned, to be tried again."""
    gone = list(dict.fromkeys(ref for ref in refs if ref not in referenced))
    left: list[Ref] = []
    in_file = [key for key, where in gone if where is SecretLocation.FILE]
    if in_file:
        try:
            secrets.file.delete_many(in_file)
        except Exception as exc:  # noqa: BLE001 - kept to try again; the change itself is done
            log.warning("could not delete %d secrets from %s: %s", len(in_file), secrets.file.path, exc)
            left += [(key, SecretLocation.FILE) for key in in_file]
    for key, where in gone:
        if where is SecretLocation.KEYRING:
            try:
                secrets.keyring.delete(key)
            except Exception as exc:  # noqa: BLE001 - as above
                log.warning("could not delete secret %s from the OS keyring: %s", key, exc)
                left.append((key, where))
    return left


def _store_keys_in_file(secrets: SecretStore) -> list[str]:
    if not secrets.file.path.exists():
        return []
    try:
        return [key for key in secrets.file.names() if is_store_key(key)]
    except Exception as exc:  # noqa: BLE001 - a damaged file is reported when a secret is needed
        log.warning("could not look for orphaned secrets in %s: %s", secrets.file.path, exc)
        return []


def recover(
    paths: Paths,
    journal: Journal,
    secrets: SecretStore,
    snapshot: Callable[[], StoreData],
    lock: Callable[[], contextlib.AbstractContextManager[None]],
) -> None:
    """What a killed process left, cleared at the store's open (the caller has checked the store):
    temp files of interrupted writes, unfinished changes, and the store's secrets in the plaintext
    file that no record refers to. The log says how many of each."""
    p = paths
    owned = (p.store_file, p.store_copy, p.check_results, p.secrets_file, journal.path)
    temps = remove_stale_temps((*owned, p.instances_file))  # each temp's own lock says if it is abandoned
    entries: list[Pending] = []
    left: list[Pending] = []
    orphans: list[str] = []
    if journal.path.exists() or p.secrets_file.exists():  # else nothing to lock for (nor a lock file to make)
        with lock():
            entries = journal.read()
            held = _store_keys_in_file(secrets)
            if entries or held:  # only then are all records read (~0.1 s at 10,000 projects)
                referenced = references(snapshot())
                for entry in entries:
                    if rest := release(secrets, entry.refs, referenced):
                        left.append(Pending(entry.op, tuple(rest)))
                if entries:
                    journal.write(left)
                if orphans := [key for key in held if (key, SecretLocation.FILE) not in referenced]:
                    release(secrets, [(key, SecretLocation.FILE) for key in orphans], referenced)
    if temps or entries or orphans:
        log.warning(
            "the local store was left by a killed process: removed %d temp files, finished %d unfinished "
            "changes, removed %d orphaned secrets from %s",
            temps,
            len(entries),
            len(orphans),
            p.secrets_file.name,
        )
    if left:
        log.warning(
            "%d secrets could not be removed yet (%s): tried again at the next start",
            sum(len(e.refs) for e in left),
            ", ".join(sorted({secrets.describe(w) for e in left for _, w in e.refs})),
        )
