"""The local TOML store: round trips, atomic writes, the inter-process lock, damaged files."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from kms_connect.core.config import Settings
from kms_connect.core.errors import ConflictError, FieldError, NameTaken, StoreError
from kms_connect.core.local_store import LocalStore, secret_key
from kms_connect.core.models import CheckResult, ConnectionDraft, SecretLocation
from kms_connect.core.paths import Paths
from kms_connect.core.status import Method, Status

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
PAT = "pat-value-7c1b9e2f4a6d8c0e"
SECRET = "Abc8Q~client-secret-value-Xyz"


def pat_draft(name: str = "prod-pat", token: str = PAT) -> ConnectionDraft:
    return ConnectionDraft(
        name=name, method=Method.ACCESS_TOKEN, org_name="contoso", secrets={"access_token": SecretStr(token)}
    )


def sp_draft(name: str = "prod-sp") -> ConnectionDraft:
    return ConnectionDraft(
        name=name,
        method=Method.CLIENT_SECRET,
        org_name="contoso",
        tenant_id=TENANT,
        client_id=CLIENT,
        secrets={"client_secret": SecretStr(SECRET)},
    )


async def test_projects_and_connections_round_trip(store: LocalStore, memory_keyring) -> None:
    project = await store.create_project("Payments Platform", "team payments")
    assert project.slug == "payments-platform"
    pat = await store.create_connection(project.id, pat_draft())
    sp = await store.create_connection(project.id, sp_draft())
    [summary] = await store.list_projects()
    assert summary.connection_count == 2
    listed = {c.name: c for c in await store.list_connections(project.id)}
    assert listed["prod-pat"].status is Status.NOT_CHECKED
    assert listed["prod-sp"].tenant_id == TENANT and listed["prod-sp"].client_id == CLIENT
    assert pat.secrets == {"access_token": SecretLocation.KEYRING}
    assert memory_keyring.data[("kms-connect", secret_key(sp.id, "client_secret"))] == SECRET


async def test_secrets_never_in_the_toml(store: LocalStore, paths: Paths) -> None:
    project = await store.create_project("P")
    await store.create_connection(project.id, pat_draft())
    await store.create_connection(project.id, sp_draft())
    raw = paths.store_file.read_bytes()
    assert PAT.encode() not in raw and SECRET.encode() not in raw
    assert b'access_token = "keyring"' in raw  # it records where the secret is, not the secret
    assert stat.S_IMODE(paths.store_file.stat().st_mode) == 0o600


async def test_names_unique_per_project(store: LocalStore) -> None:
    a = await store.create_project("A")
    b = await store.create_project("B")
    await store.create_connection(a.id, pat_draft("x"))
    await store.create_connection(b.id, pat_draft("x"))  # other project: fine
    with pytest.raises(ConflictError, match="already used") as taken:
        await store.create_connection(a.id, pat_draft("x"))
    assert isinstance(taken.value, NameTaken) and (taken.value.name, taken.value.field) == ("x", "name")
    with pytest.raises(ConflictError, match="exists already") as taken:
        await store.create_project("a")
    assert isinstance(taken.value, NameTaken) and taken.value.name == "a"


async def test_a_name_that_breaks_the_rules_is_a_field_error_not_a_conflict(store: LocalStore) -> None:
    a = await store.create_project("A")
    with pytest.raises(FieldError, match="lowercase") as bad:
        await store.create_connection(a.id, pat_draft("Not A Slug"))
    assert bad.value.field == "name" and not isinstance(bad.value, ConflictError)


async def test_failed_save_leaves_no_orphan_secret(store: LocalStore, memory_keyring) -> None:
    project = await store.create_project("A")
    await store.create_connection(project.id, pat_draft("x"))
    with pytest.raises(ConflictError):
        await store.create_connection(project.id, pat_draft("x", token="other-token-value"))
    assert "other-token-value" not in memory_keyring.data.values()


async def test_edit_replace_check_delete(store: LocalStore, memory_keyring) -> None:
    project = await store.create_project("A")
    conn = await store.create_connection(project.id, pat_draft())
    await store.create_connection(project.id, pat_draft("taken"))
    with pytest.raises(ConflictError):
        await store.update_connection(conn.id, "taken", "")
    conn = await store.update_connection(conn.id, "renamed", "new description")
    assert (conn.name, conn.description) == ("renamed", "new description")
    await store.record_check(conn.id, CheckResult(status=Status.FAILED, summary="expired"))
    conn = await store.replace_credentials(conn.id, pat_draft(token="fresh-token-value"))
    assert conn.name == "renamed" and conn.last_check is None  # new credentials: old result no longer holds
    # Under a new key, so the old secret stayed whole until the record pointed at the new one; then it went.
    assert conn.secrets_generation == 1
    assert ("kms-connect", secret_key(conn.id, "access_token")) not in memory_keyring.data
    assert memory_keyring.data[("kms-connect", secret_key(conn.id, "access_token", 1))] == "fresh-token-value"
    assert (await store.read_secrets(conn.id))["access_token"].get_secret_value() == "fresh-token-value"
    with pytest.raises(ConflictError, match="method"):
        await store.replace_credentials(conn.id, sp_draft())
    await store.delete_connection(conn.id)
    assert ("kms-connect", secret_key(conn.id, "access_token", 1)) not in memory_keyring.data
    assert [c.name for c in await store.list_connections(project.id)] == ["taken"]


async def test_delete_project_takes_connections_and_secrets(store: LocalStore, memory_keyring) -> None:
    project = await store.create_project("A")
    keep = await store.create_project("B")
    await store.create_connection(project.id, pat_draft())
    await store.create_connection(project.id, sp_draft())
    await store.create_connection(keep.id, pat_draft())
    assert await store.delete_project(project.id) == 2
    assert [s.project.name for s in await store.list_projects()] == ["B"]
    assert len(memory_keyring.data) == 1


async def test_atomic_write_keeps_old_file_on_failure(
    store: LocalStore, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.create_project("Before")
    before = paths.store_file.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        await store.create_project("After")
    assert paths.store_file.read_bytes() == before
    assert [p.name for p in paths.data_dir.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"version = 1\n[[projects]\nname = ", "is damaged"),
        (b"version = 9\n", r"newer kms-connect \(format 9"),
        (b'version = 1\n[[connections]]\nid = "x"\nmethod = "carrier-pigeon"\n', "unexpected content"),
        (b"\xff\xfe garbage", "is damaged"),
    ],
)
async def test_bad_file_reported_never_overwritten(
    store: LocalStore, paths: Paths, content: bytes, message: str
) -> None:
    paths.data_dir.mkdir(parents=True)
    paths.store_file.write_bytes(content)
    with pytest.raises(StoreError, match=message) as err:
        await store.list_projects()
    assert str(paths.store_file) in str(err.value)
    with pytest.raises(StoreError):
        await store.create_project("New")
    assert paths.store_file.read_bytes() == content


def _writer(data_dir: str, config: str, prefix: str, count: int) -> None:
    import asyncio

    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    paths = Paths(config_file=Path(config), data_dir=Path(data_dir), state_dir=Path(data_dir) / "state")
    store = LocalStore(paths, Settings())

    async def run() -> None:
        for i in range(count):
            await store.create_project(f"{prefix} {i}")

    asyncio.run(run())


def test_lock_two_writer_processes_lose_nothing(paths: Paths, store: LocalStore) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_writer, args=(str(paths.data_dir), str(paths.config_file), f"w{n}", 15)) for n in range(3)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    names = {s.project.name for s in store.list_projects_sync()}
    assert names == {f"w{n} {i}" for n in range(3) for i in range(15)}


async def test_cached_reads_see_changes_made_elsewhere(store: LocalStore, paths: Paths) -> None:
    await store.create_project("Mine")
    assert len(await store.list_projects()) == 1
    other = LocalStore(paths, Settings())  # another running copy
    await other.create_project("Theirs")
    assert {s.project.name for s in await store.list_projects()} == {"Mine", "Theirs"}


async def test_json_copy_is_used_only_while_it_matches_the_toml(store: LocalStore, paths: Paths) -> None:
    created = await store.create_project("Written", "kept in the copy too")
    digest = hashlib.sha256(paths.store_file.read_bytes()).hexdigest()
    copy = json.loads(paths.store_copy.read_bytes())
    assert copy["toml_sha256"] == digest
    assert stat.S_IMODE(paths.store_copy.stat().st_mode) == 0o600
    [listed] = LocalStore(paths, Settings()).list_projects_sync()
    assert (listed.name, listed.connection_count) == ("Written", 0) and listed.project == created
    # While the tag matches, a fresh process reads the copy, not the TOML.
    copy["data"]["projects"][0]["name"] = "From the copy"
    paths.store_copy.write_text(json.dumps(copy))
    assert [s.name for s in LocalStore(paths, Settings()).list_projects_sync()] == ["From the copy"]
    # A hand edit of the TOML changes its hash: the stale copy is ignored, then replaced.
    toml = paths.store_file.read_text().replace('name = "Written"', 'name = "Edited by hand"')
    paths.store_file.write_text(toml)
    fresh = LocalStore(paths, Settings())
    assert [s.project.name for s in fresh.list_projects_sync()] == ["Edited by hand"]
    assert [p.description for p in fresh.snapshot().projects] == ["kept in the copy too"]
    assert json.loads(paths.store_copy.read_bytes())["toml_sha256"] == hashlib.sha256(toml.encode()).hexdigest()


@pytest.mark.parametrize("junk", [b"", b"{not json", b'{"toml_sha256": "x", "data": {"projects": 7}}'])
async def test_damaged_json_copy_only_costs_time(store: LocalStore, paths: Paths, junk: bytes) -> None:
    await store.create_project("Kept")
    paths.store_copy.write_bytes(junk)
    assert [s.project.name for s in LocalStore(paths, Settings()).list_projects_sync()] == ["Kept"]


async def test_damaged_toml_is_reported_even_with_a_good_copy(store: LocalStore, paths: Paths) -> None:
    await store.create_project("Before")
    damaged = paths.store_file.read_bytes() + b"\n[[projects]\n"
    paths.store_file.write_bytes(damaged)
    with pytest.raises(StoreError, match="is damaged"):
        LocalStore(paths, Settings()).list_projects_sync()
    assert paths.store_file.read_bytes() == damaged


async def test_listing_everything_gives_each_connection_with_its_project(store: LocalStore) -> None:
    a, b = await store.create_project("A"), await store.create_project("B")
    await store.create_connection(a.id, pat_draft("one"))
    await store.create_connection(b.id, pat_draft("two"))
    listed = await store.list_all_connections()
    assert sorted((p.name, c.name) for p, c in listed) == [("A", "one"), ("B", "two")]
    # Listing everything shares what the store holds (read-only); one project's list is a copy to change.
    [mine] = await store.list_connections(a.id)
    mine.name = "changed by a screen"
    assert sorted(c.name for _, c in await store.list_all_connections()) == ["one", "two"]
    assert [c.name for c in await store.list_connections(a.id)] == ["one"]


async def test_what_was_written_is_read_back_without_parsing(
    store: LocalStore, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.create_project("Written")

    def no_parse() -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(store.file, "read", no_parse)
    assert [s.project.name for s in await store.list_projects()] == ["Written"]
    monkeypatch.undo()
    await LocalStore(paths, Settings()).create_project("Elsewhere")  # another copy's write is still seen
    assert {s.project.name for s in await store.list_projects()} == {"Written", "Elsewhere"}


async def test_check_results_are_kept_apart_from_the_toml(store: LocalStore, paths: Paths) -> None:
    project = await store.create_project("A")
    conn = await store.create_connection(project.id, pat_draft())
    before = paths.store_file.stat()
    await store.record_checks({conn.id: CheckResult(status=Status.VALID, summary="All checks passed.")})
    after = paths.store_file.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # the TOML is not rewritten
    assert "last_check" not in paths.store_file.read_text() and "last_check" not in paths.store_copy.read_text()
    assert json.loads(paths.check_results.read_bytes())[conn.id]["summary"] == "All checks passed."
    assert stat.S_IMODE(paths.check_results.stat().st_mode) == 0o600
    [seen] = await LocalStore(paths, Settings()).list_connections(project.id)  # a fresh process
    assert seen.last_check is not None and seen.last_check.summary == "All checks passed."
    await store.delete_connection(conn.id)
    assert json.loads(paths.check_results.read_bytes()) == {}


async def test_results_recorded_elsewhere_are_seen(
    store: LocalStore, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = await store.create_project("A")
    conn = await store.create_connection(project.id, pat_draft())
    assert (await store.list_connections(project.id))[0].last_check is None
    await LocalStore(paths, Settings()).record_check(conn.id, CheckResult(status=Status.FAILED, summary="expired"))

    def no_parse() -> None:
        raise AssertionError("the records were read again for a change of results")

    monkeypatch.setattr(store.file, "read", no_parse)
    [seen] = await store.list_connections(project.id)
    assert seen.last_check is not None and seen.last_check.summary == "expired"


async def test_results_inside_an_older_toml_move_to_their_file(store: LocalStore, paths: Paths) -> None:
    project = await store.create_project("A")
    conn = await store.create_connection(project.id, pat_draft())
    # As an older kms-connect wrote it: the result inline, no results file.
    paths.store_file.write_text(
        paths.store_file.read_text() + '\n[connections.last_check]\nstatus = "failed"\nsummary = "From the TOML"\n'
    )
    fresh = LocalStore(paths, Settings())
    [seen] = await fresh.list_connections(project.id)
    assert seen.last_check is not None and seen.last_check.summary == "From the TOML"
    await fresh.create_project("B")  # any change of the records
    assert "last_check" not in paths.store_file.read_text()
    assert json.loads(paths.check_results.read_bytes())[conn.id]["summary"] == "From the TOML"


@pytest.mark.parametrize("junk", [b"{not json", b'{"x": {"status": "no such status"}}', b"[]"])
async def test_damaged_results_file_is_moved_aside_and_reported(store: LocalStore, paths: Paths, junk: bytes) -> None:
    project = await store.create_project("A")
    conn = await store.create_connection(project.id, pat_draft())
    await store.record_check(conn.id, CheckResult(status=Status.VALID))
    paths.check_results.write_bytes(junk)
    fresh = LocalStore(paths, Settings())
    [seen] = await fresh.list_connections(project.id)
    assert seen.last_check is None  # shown as Not checked, the connection itself intact
    [aside] = paths.data_dir.glob("checks.json.damaged-*")
    assert aside.read_bytes() == junk  # kept as it was, never overwritten
    notice = fresh.take_notice()
    assert notice is not None and aside.name in notice.body and fresh.take_notice() is None
    await fresh.record_check(conn.id, CheckResult(status=Status.FAILED, summary="again"))
    assert json.loads(paths.check_results.read_bytes())[conn.id]["summary"] == "again"
    assert aside.read_bytes() == junk


async def test_target_projects_are_kept_with_the_connection_and_replaced_with_its_credentials(store) -> None:
    from pydantic import SecretStr

    from kms_connect.core.models import ConnectionDraft
    from kms_connect.core.status import Method

    project = await store.create_project("Payments")
    draft = ConnectionDraft(
        name="ado", method=Method.ACCESS_TOKEN, org_name="contoso", secrets={"access_token": SecretStr("pat")},
        target_projects=["infra", "Payments"],
    )  # fmt: skip
    conn = await store.create_connection(project.id, draft)
    assert conn.target_projects == ["infra", "Payments"]
    updated = await store.set_target_projects(conn.id, ["infra"])
    assert updated.updated_at == conn.updated_at  # not a change of credentials: its results stay
    [listed] = await store.list_connections(project.id)
    assert listed.target_projects == ["infra"]
    assert "infra" in store.path.read_text()  # in the TOML an operator reads, never a secret
    replaced = await store.replace_credentials(conn.id, draft.model_copy(update={"target_projects": []}))
    assert replaced.target_projects == []
