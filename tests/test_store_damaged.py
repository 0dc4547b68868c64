"""A damaged store is refused, never guessed at: duplicate ids or names, a connection of no project,
an emptied file. The error names the file and what is wrong; nothing in the data dir is written
(checksums of every file, before and after an open and every kind of write)."""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from kms_connect.core.errors import StoreDamaged
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import CheckResult
from kms_connect.core.paths import Paths
from kms_connect.core.sources import LOCAL, open_source
from kms_connect.core.status import Status
from test_store import pat_draft

Doc = dict[str, Any]


async def seed(store: LocalStore) -> Doc:
    """A store as the app writes it: records, check results, secrets in the plaintext file (so
    that every kind of file is there to be left alone)."""
    payments, platform = await store.create_project("Payments"), await store.create_project("Platform")
    alpha = await store.create_connection(payments.id, pat_draft("alpha"))
    await store.create_connection(payments.id, pat_draft("beta"))
    await store.create_connection(platform.id, pat_draft("gamma"))
    await store.record_check(alpha.id, CheckResult(status=Status.VALID, summary="All checks passed."))
    return tomllib.loads(store.path.read_text())


def edit(change: Callable[[Doc], str]) -> Callable[[Paths, Doc], tuple[bytes, list[str]]]:
    """A hand edit of the TOML; `change` edits the document and returns what the error must name."""

    def damage(paths: Paths, doc: Doc) -> tuple[bytes, list[str]]:
        named = change(doc)
        return tomli_w.dumps(doc).encode(), [named]

    return damage


def _same_connection_id(doc: Doc) -> str:
    doc["connections"][1]["id"] = doc["connections"][0]["id"]
    return f"connection id {doc['connections'][0]['id']!r} appears 2 times"


def _same_project_id(doc: Doc) -> str:
    doc["projects"][1]["id"] = doc["projects"][0]["id"]
    return f"project id {doc['projects'][0]['id']!r} appears 2 times"


def _same_name(doc: Doc) -> str:
    doc["connections"][1]["name"] = doc["connections"][0]["name"]
    return "connection name 'alpha' appears 2 times in project 'Payments'"


def _no_such_project(doc: Doc) -> str:
    doc["connections"][2]["project_id"] = "no-such-project"
    return f"connection 'gamma' (id {doc['connections'][2]['id']}) belongs to project id 'no-such-project'"


DAMAGES = {
    "duplicate connection ids": edit(_same_connection_id),
    "duplicate project ids": edit(_same_project_id),
    "duplicate connection name in a project": edit(_same_name),
    "connection of no project": edit(_no_such_project),
    "0 bytes": lambda paths, doc: (b"", ["it is empty (0 bytes)"]),
    "whitespace only": lambda paths, doc: (b"\n  \n\t\n", ["it holds only whitespace (6 bytes)"]),
}


def checksums(data_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in data_dir.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
async def test_a_damaged_store_is_refused_and_nothing_is_written(
    store: LocalStore, paths: Paths, failing_keyring, damage: Callable[[Paths, Doc], tuple[bytes, list[str]]]
) -> None:
    doc = await seed(store)
    alpha_id = doc["connections"][0]["id"]
    payments_id = doc["projects"][0]["id"]
    raw, named = damage(paths, doc)
    paths.store_file.write_bytes(raw)
    before = checksums(paths.data_dir)
    assert {"store.toml", "store.json", "checks.json", "plaintext-secrets.json"} <= before.keys()

    fresh = LocalStore(paths, store.settings)  # the next start
    with pytest.raises(StoreDamaged) as refused:
        open_source(LOCAL, paths, store.settings, fresh)
    message = str(refused.value)
    assert str(paths.store_file) in message and "left untouched" in message
    for words in named:
        assert words in message
    assert refused.value.path == paths.store_file and refused.value.problems
    assert "pat-value" not in message  # no secret in the words, ever

    # Every way to write, from the fresh process and from one that was running all along.
    attempts: list[Callable[[LocalStore], Any]] = [
        lambda s: s.list_projects(),
        lambda s: s.list_connections(payments_id),
        lambda s: s.create_project("New"),
        lambda s: s.create_connection(payments_id, pat_draft("delta")),
        lambda s: s.update_connection(alpha_id, "renamed", ""),
        lambda s: s.replace_credentials(alpha_id, pat_draft("alpha", token="other-token-0123456789")),
        lambda s: s.delete_connection(alpha_id),
        lambda s: s.delete_project(payments_id),
        lambda s: s.record_check(alpha_id, CheckResult(status=Status.FAILED)),
        lambda s: s.record_checks({alpha_id: CheckResult(status=Status.FAILED)}),
    ]
    for running in (fresh, store):
        for attempt in attempts:
            with pytest.raises(StoreDamaged):
                await attempt(running)
        with pytest.raises(StoreDamaged):
            running.set_app_secret("app-secret-0123456789")
    assert checksums(paths.data_dir) == before


async def test_an_older_copy_of_a_damaged_file_is_not_trusted(store: LocalStore, paths: Paths) -> None:
    """An older kms-connect checked less, and may have left a copy of an inconsistent file (tagged
    with its hash): it carries no rules version, so the TOML is read, and refused."""
    doc = await seed(store)
    raw, _ = DAMAGES["duplicate connection ids"](paths, doc)
    paths.store_file.write_bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    copy = json.loads(paths.store_copy.read_bytes())
    paths.store_copy.write_text(json.dumps({"toml_sha256": digest, "data": copy["data"]}))
    before = checksums(paths.data_dir)
    fresh = LocalStore(paths, store.settings)
    with pytest.raises(StoreDamaged, match="appears 2 times"):
        fresh.list_projects_sync()
    with pytest.raises(StoreDamaged):
        fresh.snapshot()
    assert checksums(paths.data_dir) == before


async def test_an_emptied_store_leaves_the_copy_with_every_connection(store: LocalStore, paths: Paths) -> None:
    """The case that lost data: a 0-byte store.toml read as empty, and the next write replaced
    store.json (which still held every connection) and emptied checks.json."""
    await seed(store)
    copy, results = paths.store_copy.read_bytes(), paths.check_results.read_bytes()
    paths.store_file.write_bytes(b"")
    with pytest.raises(StoreDamaged, match="empty"):
        await LocalStore(paths, store.settings).create_project("Start over")
    assert paths.store_copy.read_bytes() == copy and len(json.loads(copy)["data"]["connections"]) == 3
    assert paths.check_results.read_bytes() == results and json.loads(results)
    # Once the operator puts the file back (here: moves the damaged one aside), all is as it was.
    paths.store_file.unlink()
    assert await LocalStore(paths, store.settings).list_projects() == []  # no file at all: a new store


async def test_a_consistent_store_still_opens(store: LocalStore, paths: Paths) -> None:
    """The same names in different projects, and a project with no connections, are fine."""
    doc = await seed(store)
    await store.create_connection(doc["projects"][1]["id"], pat_draft("alpha"))
    await store.create_project("Empty")
    fresh = LocalStore(paths, store.settings)
    open_source(LOCAL, paths, store.settings, fresh)
    assert sorted((s.name, s.connection_count) for s in fresh.list_projects_sync()) == [
        ("Empty", 0),
        ("Payments", 2),
        ("Platform", 2),
    ]


@pytest.mark.parametrize("command", [["list"], ["check", "--json"]])
def test_headless_commands_exit_2_naming_the_file(command: list[str]) -> None:
    import os
    import subprocess
    import sys

    from kms_connect.core.paths import default_paths

    paths = default_paths()  # the test's own XDG dirs (conftest)
    paths.data_dir.mkdir(parents=True)
    paths.store_file.write_bytes(b"  \n")
    before = checksums(paths.data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "kms_connect", *command],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert str(paths.store_file) in done.stderr and "holds only whitespace" in done.stderr
    assert checksums(paths.data_dir) == before
