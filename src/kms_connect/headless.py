"""`kms-connect list` and `kms-connect check`: connection status for cron and monitoring (no Textual).

Exit codes (stable, documented in the README):
  0  everything selected was checked and is valid (warnings are noted, not failures)
  1  something failed its check
  2  usage or configuration error: unknown or ambiguous name, empty selection, bad or missing config,
     a store refused (damaged, newer), refused login, an instance without App Connections
  3  something selected could not be checked (no credentials held here, keyring unreachable, cancelled)
Never green for what was not checked. With --json, stdout holds only the JSON document. stderr gets a
line per finished check (unless --quiet), the one-time notices the TUI would show, and errors.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kms_connect.commands import Notices
from kms_connect.core.check_runner import CheckRunner
from kms_connect.core.config import load_settings
from kms_connect.core.errors import KmsConnectError
from kms_connect.core.live_check import LiveChecker
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import CheckResult, permissions_text
from kms_connect.core.paths import Paths
from kms_connect.core.sources import open_source
from kms_connect.core.status import Status
from kms_connect.core.write_proof import proof_plan

OK, FAILED, USAGE, UNCHECKED = 0, 1, 2, 3
JSON_VERSION = 1


class UsageError(Exception):
    """Exit 2, with a message for stderr."""


@dataclass(frozen=True)
class ProveWrite:
    """`check --prove-write`: the projects named with --devops-project (empty: each connection's targets)."""

    projects: list[str]


@dataclass
class Selected:
    project: str
    conn: Any  # core.models.Connection


def _open(paths: Paths, source: str) -> tuple[Any, Any, Any]:
    # A refused config or store (ConfigError, StoreError, …) is exit 2 with its sentence on stderr;
    # the local store itself is read, and refused, by the first listing (_connections).
    try:
        settings = load_settings(paths.config_file)
        local = LocalStore(paths, settings)
        return settings, local, open_source(source, paths, settings, local)
    except KmsConnectError as exc:
        raise UsageError(str(exc)) from None


async def _connections(backend: Any, project: str | None) -> list[Selected]:
    try:  # a refused instance login is reported, never retried
        if project is None:
            out = [Selected(p.name, c) for p, c in await backend.list_all_connections()]
        else:
            projects = [s.project for s in await backend.list_projects()]
            chosen = [p for p in projects if project in (p.name, p.slug, p.id)]
            if not chosen:
                raise UsageError(f"No project {project!r} (projects: {', '.join(p.name for p in projects) or 'none'}).")
            out = [Selected(p.name, c) for p in chosen for c in await backend.list_connections(p.id)]
    except KmsConnectError as exc:
        raise UsageError(str(exc)) from None
    return sorted(out, key=lambda s: (s.project.lower(), s.conn.name))


def _select(all_: list[Selected], names: list[str], empty: str) -> list[Selected]:
    """`empty`: what to say when there is nothing at all to check."""
    if not names:
        if not all_:
            raise UsageError(f"Nothing to check: {empty}")
        return all_
    chosen: list[Selected] = []
    for name in names:
        project, _, conn = name.rpartition("/")
        hits = [s for s in all_ if s.conn.name == conn and (not project or s.project in (project,))]
        if not hits:
            raise UsageError(f"No connection named {name!r}.")
        if len(hits) > 1:
            where = ", ".join(f"{s.project}/{s.conn.name}" for s in hits)
            raise UsageError(f"{name!r} is in several projects ({where}): write it as project/name.")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def _row(s: Selected, result: Any | None = None) -> dict[str, Any]:
    conn = s.conn
    check = result or conn.last_check
    status = check.status if check is not None else conn.status
    row: dict[str, Any] = {
        "project": s.project,
        "name": conn.name,
        "id": conn.id,
        "method": conn.method.value,
        "organization": conn.org_name,
        "status": status.value,
        "checked_at": check.checked_at.isoformat() if check is not None and check.checked_at else None,
        "summary": check.summary if check is not None else "",
    }
    if result is not None and result.write_proof is not None:  # fields are only ever added (README)
        row["write_proof"] = [
            {
                "project": p.project,
                "create": p.create,
                "update": p.update,
                "delete": p.delete,
                "left_behind": None
                if p.left_behind is None
                else {"group": p.left_behind.group, "url": p.left_behind.url},
                "explanation": p.explanation,
            }
            for p in result.write_proof
        ]
    if result is not None:
        row["duration_ms"] = result.duration_ms
        bad = result.failing_step()
        row["failing_step"] = (
            {"step": bad.key, "title": bad.title, "result": bad.result, "explanation": bad.explanation}
            if bad is not None
            else None
        )
    return row


def run_list(paths: Paths, source: str, as_json: bool) -> int:
    notices = Notices()

    async def main() -> tuple[list[dict[str, Any]], str]:
        _, local, backend = _open(paths, source)
        try:
            rows = [_row(s) for s in await _connections(backend, None)]
            return rows, getattr(backend, "hidden_note", "")
        finally:
            _drain(notices, local, backend)
            await backend.aclose()

    try:
        rows, hidden = asyncio.run(main())
    except UsageError as exc:
        print(f"kms-connect: {exc}", file=sys.stderr)
        return USAGE
    if as_json:
        print(json.dumps({"version": JSON_VERSION, "source": source, "connections": rows}, indent=2))
    else:
        _table(rows)
    if not rows:  # on stderr: stdout stays an empty table (or the same JSON) for scripts
        print(f"kms-connect: {nothing_yet(source, hidden)}", file=sys.stderr)
    return OK


def nothing_yet(source: str, hidden: str = "") -> str:
    """An empty listing in words, with how to create the first connection (in the TUI)."""
    if source == "local":
        where, command, project = "in the local store", "kms-connect", "create a project (New project) or open one"
    else:
        where, command, project = f"on the instance {source}", f"kms-connect --instance {source}", "open a project"
    text = (
        f"No App Connections {where} yet. To create the first, run `{command}`: on Projects, {project}; "
        "then on App Connections, Add."
    )
    return f"{text} {hidden}" if hidden else text


def _drain(notices: Notices, local: LocalStore, backend: Any) -> None:
    notices.drain(backend)
    if local is not backend:  # the OAuth app's secret is read from the local store on every source
        notices.drain(local)


def _progress(s: Selected, result: CheckResult) -> None:
    """One line per finished check, as it finishes, so a cron log shows how far a run got."""
    took = f"  {result.duration_ms / 1000:.1f} s" if result.duration_ms is not None else ""
    print(f"{result.status.label:<15}  {s.project}/{s.conn.name}{took}", file=sys.stderr, flush=True)


def run_check(
    paths: Paths,
    source: str,
    names: list[str],
    project: str | None,
    as_json: bool,
    *,
    quiet: bool = False,
    prove: ProveWrite | None = None,
) -> int:
    notices = Notices()

    async def main() -> tuple[list[Selected], list[Any]]:
        settings, local, backend = _open(paths, source)
        try:
            empty = f"no App Connections in the project {project}." if project else nothing_yet(source)
            selected = _select(await _connections(backend, project), names, empty)
            if prove is not None:
                _plan(selected, prove, quiet, backend)
            _drain(notices, local, backend)  # said before the progress lines: e.g. why nothing shows as checked
            try:
                results = await _check_all(
                    settings,
                    local,
                    backend,
                    selected,
                    on_done=None if quiet else _progress,
                    notices=notices,
                    prove_in=None if prove is None else prove.projects,
                )
            except KmsConnectError as exc:  # the store refused while checking (changed under us): as at the start
                raise UsageError(str(exc)) from None
            return selected, results
        finally:
            _drain(notices, local, backend)
            await backend.aclose()

    try:
        selected, results = asyncio.run(main())
    except UsageError as exc:
        print(f"kms-connect: {exc}", file=sys.stderr)
        return USAGE
    rows = [_row(s, r) for s, r in zip(selected, results, strict=True)]
    statuses = [r.status for r in results]
    refused = prove is not None and any(p.refused for r in results for p in r.write_proof or [])
    if any(st is Status.FAILED for st in statuses) or refused:
        code = FAILED
    elif any(st not in (Status.VALID, Status.WARNING) for st in statuses):
        code = UNCHECKED
    else:
        code = OK
    counts: dict[str, int] = {}
    for st in statuses:
        counts[st.value] = counts.get(st.value, 0) + 1
    if as_json:
        print(
            json.dumps(
                {"version": JSON_VERSION, "source": source, "exit_code": code, "counts": counts, "results": rows},
                indent=2,
            )
        )
    else:
        _table(rows)
        print("; ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return code


async def _check_all(
    settings: Any,
    local: Any,
    backend: Any,
    selected: list[Selected],
    *,
    on_done: Callable[[Selected, CheckResult], None] | None = None,
    notices: Notices | None = None,
    prove_in: list[str] | None = None,
) -> list[CheckResult]:
    """Check `selected` through the check runner the TUI uses (core/check_runner: [status]
    concurrency, results recorded as they come). `on_done` hears of each connection as soon as its
    check finishes, in finishing order."""
    checker = LiveChecker(settings, app_secret=local.oauth_app_secret)
    runner = CheckRunner(lambda: checker, settings.status.concurrency)
    by_id = {s.conn.id: s for s in selected}
    try:
        results = await runner.check_many(
            backend,
            [s.conn for s in selected],
            None if on_done is None else lambda conn, result: on_done(by_id[conn.id], result),
            prove_in=prove_in,
        )
    finally:
        await runner.aclose()
        await checker.aclose()
    if runner.write_problem:  # the checks ran: their report and exit code stand; that they were not kept is said
        (notices or Notices()).say("Check results not kept", runner.write_problem)
    return results


def _table(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        status = Status(row["status"]).label
        print(f"{row['project'][:20]:<20}  {row['name'][:28]:<28}  {status:<15}  {row['summary']}")
        for proof in row.get("write_proof") or []:  # per project: each permission in a glyph and a word
            said = permissions_text(proof["create"], proof["update"], proof["delete"])
            print(f"    write proof in {proof['project']}: {said}")
            if proof["explanation"]:
                print(f"      {proof['explanation']}")


def _plan(selected: list[Selected], prove: ProveWrite, quiet: bool, backend: Any) -> None:
    """What --prove-write will change, said before it does (stderr); without projects, a usage error.
    Connections whose credentials are not held here are left to the check (exit 3)."""
    held = [s for s in selected if not backend.not_checkable(s.conn)]
    bare = [s for s in held if not prove.projects and not s.conn.target_projects]
    if bare:
        names = ", ".join(f"{s.project}/{s.conn.name}" for s in bare)
        raise UsageError(
            f"--prove-write needs the Azure DevOps projects to prove in, and {names} names none. Set the "
            "connection's target projects in kms-connect (App Connections → Edit → Target projects), or name "
            "them here with --devops-project NAME (repeatable)."
        )
    if quiet:
        return
    for s in held:
        projects = prove.projects or s.conn.target_projects
        left = backend.probe_record.of(s.conn.id) if backend.probe_record is not None else []
        print(f"write proof for {s.project}/{s.conn.name}: {proof_plan(s.conn, projects, left)}", file=sys.stderr)
