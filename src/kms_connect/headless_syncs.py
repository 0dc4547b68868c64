"""`kms-connect syncs` and `kms-connect sync`: an instance's Azure DevOps Secret Syncs for cron (no
Textual), issue 19.

`syncs [--json] [--project P]` lists them with their status; exit 0 when listed, 2 for a usage or
configuration error (the local store, which has no syncs; an unknown project; a refused login; an
instance without Secret Syncs).

`sync [--json] [--wait] NAME` triggers one (NAME, or project/name when several projects have it):
  0  the trigger was accepted (with --wait: the job succeeded)
  1  the job failed, or the instance refused the trigger (without --wait: a job already running)
  2  usage or configuration error, as above, or no such sync
  3  the job could not be followed to its end (with --wait), or whether the trigger arrived is unknown
With --wait, a job already in progress is followed in place of a new one. With --json, stdout
holds only the JSON document (README); progress and errors go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from kms_connect.commands import Notices
from kms_connect.core.errors import KmsConnectError
from kms_connect.core.kms.backend import KmsBackend
from kms_connect.core.kms.client import KmsApiError, KmsOutcomeUnknown
from kms_connect.core.kms.syncs import (
    FOLLOW_BUDGET,
    LOCAL_HAS_NONE,
    SecretSync,
    SecretSyncs,
    SyncFollowLost,
    SyncInProgress,
    SyncStatus,
)
from kms_connect.core.paths import Paths
from kms_connect.core.sources import LOCAL
from kms_connect.headless import FAILED, JSON_VERSION, OK, UNCHECKED, USAGE, UsageError, _drain, _open


def _syncs_of(backend: Any) -> SecretSyncs:
    if not isinstance(backend, KmsBackend):
        raise UsageError(LOCAL_HAS_NONE)
    return SecretSyncs(backend.client)


def _line(sync: SecretSync) -> str:
    when = sync.last_synced_at.strftime("%Y-%m-%d %H:%M UTC") if sync.last_synced_at else "never"
    source = f"{sync.environment or '?'} {sync.secret_path or '?'}"
    return (
        f"{sync.project[:20]:<20}  {sync.name[:28]:<28}  {sync.status.label:<12}  {source} → {sync.devops_project}"
        f"  (via {sync.connection}, auto-sync {'on' if sync.auto_sync else 'off'}, last synced {when})"
    )


def _print_sync(sync: SecretSync) -> None:
    print(_line(sync))
    if sync.explanation:
        print(f"    {sync.explanation}")


def run_syncs(paths: Paths, source: str, project: str | None, as_json: bool) -> int:
    if source == LOCAL:
        print(f"kms-connect: syncs: {LOCAL_HAS_NONE}", file=sys.stderr)
        return USAGE
    notices = Notices()

    async def main() -> tuple[list[SecretSync], list[str]]:
        _, local, backend = _open(paths, source)
        try:
            syncs = _syncs_of(backend)
            return await syncs.list_syncs(project), syncs.hidden
        except KmsConnectError as exc:  # a refused login, an unknown project, an instance without syncs
            raise UsageError(str(exc)) from None
        finally:
            _drain(notices, local, backend)
            await backend.aclose()

    try:
        found, hidden = asyncio.run(main())
    except UsageError as exc:
        print(f"kms-connect: {exc}", file=sys.stderr)
        return USAGE
    if as_json:
        doc = {"version": JSON_VERSION, "source": source, "syncs": [s.as_json() for s in found]}
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        for sync in found:
            _print_sync(sync)
    if hidden:
        print(
            f"kms-connect: the syncs of {', '.join(hidden)} are not readable by this machine identity.", file=sys.stderr
        )
    if not found:
        where = f"in the project {project}" if project else f"on the instance {source}"
        print(f"kms-connect: No Azure DevOps Secret Syncs {where} yet.", file=sys.stderr)
    return OK


def _progress(sync: SecretSync) -> None:
    print(f"{sync.status.label:<12}  {sync.project}/{sync.name}", file=sys.stderr, flush=True)


def run_sync(
    paths: Paths,
    source: str,
    name: str,
    project: str | None,
    as_json: bool,
    *,
    wait: bool = False,
    timeout: float = FOLLOW_BUDGET,
) -> int:
    if source == LOCAL:
        print(f"kms-connect: sync: {LOCAL_HAS_NONE}", file=sys.stderr)
        return USAGE
    notices = Notices()

    async def main() -> tuple[int, SecretSync, str]:
        _, local, backend = _open(paths, source)
        try:
            syncs = _syncs_of(backend)
            try:
                sync = await syncs.find(name, project)
            except KmsConnectError as exc:
                raise UsageError(str(exc)) from None
            return await _trigger(syncs, sync, wait, timeout)
        finally:
            _drain(notices, local, backend)
            await backend.aclose()

    try:
        code, sync, message = asyncio.run(main())
    except UsageError as exc:
        print(f"kms-connect: {exc}", file=sys.stderr)
        return USAGE
    if message:
        print(f"kms-connect: {sync.project}/{sync.name}: {message}", file=sys.stderr)
    if as_json:
        doc: dict[str, Any] = {"version": JSON_VERSION, "source": source, "exit_code": code, "sync": sync.as_json()}
        if message:
            doc["message"] = message
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        _print_sync(sync)
    return code


async def _trigger(syncs: SecretSyncs, sync: SecretSync, wait: bool, budget: float) -> tuple[int, SecretSync, str]:
    """(exit code, the sync as last seen, a message for stderr)."""
    try:
        started = await syncs.trigger(sync)
    except SyncInProgress as exc:
        if not wait:
            return FAILED, sync, exc.server_message
        print(f"kms-connect: {sync.project}/{sync.name}: a job is already running; following it.", file=sys.stderr)
        try:
            started = await syncs.get(sync)
        except KmsConnectError as lost:
            return UNCHECKED, sync, f"could not be followed: {lost}"
    except KmsOutcomeUnknown as exc:
        return UNCHECKED, sync, str(exc)
    except KmsApiError as exc:  # refused: no permission, the sync gone, the folder gone, …
        return FAILED, sync, str(exc)
    if not wait:
        return OK, started, ""
    _progress(started)
    try:
        final = await syncs.follow(started, on_change=_progress, budget=budget)
    except SyncFollowLost as exc:
        return UNCHECKED, started, str(exc)
    return (OK if final.status is SyncStatus.SUCCEEDED else FAILED), final, ""
