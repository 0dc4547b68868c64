"""The write proof: in each target project, what a secret sync will do to a variable group, on a
probe group of its own, then undone.

Opt-in and never automatic: it runs after a check whose credentials were accepted. In each project
(in parallel, up to [status] concurrency): create `kms-connect-probe-<random>` holding one secret
variable, read it back (the secret comes back null, as it should), update it with a second
variable, delete it. Each step is a checklist line with its time; the outcome is given per
permission (create, update, delete: ok, refused or not tried). A refusal says what to change
(core/azure/write_explain).

Nothing is left behind unsaid: the group is recorded (core/probe_record) before it is created and
taken off once deleted; a refused delete, a cancel or a kill leaves the record, the result names
the group and its web URL, and the next proof deletes recorded groups first. A cancelled proof
still deletes what it created (shielded, bounded by CLEANUP_LIMIT).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kms_connect.core.azure.devops import API_VERSION, DevOpsClient, answer_of
from kms_connect.core.azure.explain import Problem, ProblemError
from kms_connect.core.azure.write_explain import MANAGE, left_behind_text, not_proven_note, write_refusal
from kms_connect.core.models import Connection, LeftBehind, ProjectProof, ProofOutcome
from kms_connect.core.probe_record import ProbeRecord
from kms_connect.core.status import StepState

log = logging.getLogger(__name__)
PROBE_PREFIX = "kms-connect-probe-"
CLEANUP_LIMIT = 15.0  # seconds a cancelled proof keeps deleting what it created
OPS = ("create", "read", "update", "delete")
OP_TITLES = {
    "create": "Create a probe variable group",
    "read": "Read it back",
    "update": "Update it",
    "delete": "Delete it",
}
Work = Callable[[], Awaitable[tuple[StepState, str, str]]]
StepRunner = Callable[[str, Work], Awaitable[bool]]  # runs a step's work, shows it, True when it passed


def proof_keys(projects: list[str]) -> dict[str, str]:
    """The proof's checklist lines (key → title), project by project."""
    return {f"proof:{p}:{op}": f"{OP_TITLES[op]} · {p}" for p in projects for op in OPS}


def cleanup_keys(left: list[LeftBehind]) -> dict[str, str]:
    """Lines for the groups an earlier proof left, deleted before this one."""
    return {f"cleanup:{g.group}": f"Delete {g.group}, left in {g.project} by an earlier proof" for g in left}


def proof_plan(conn: Connection, projects: list[str], left: list[LeftBehind]) -> str:
    """What a write proof will do, said before it does (the TUI's confirmation, `check --prove-write`),
    with what can be learned beforehand without changing anything."""
    text = (
        f"In {conn.org_name}, in {', '.join(projects)}: create a variable group {PROBE_PREFIX}… holding one "
        "secret variable, read it back, update it, delete it."
    )
    if left:
        groups = ", ".join(f"{g.group} in {g.project}" for g in left)
        text += f" First, delete what an earlier proof left: {groups}."
    if conn.method.spec.pat_secret is not None:  # a PAT's scopes cannot be read with the PAT itself
        text += (
            f" If the PAT has vso.variablegroups_write but not {MANAGE}, the group can be created and not deleted: "
            "it is then named, with where to delete it by hand."
        )
    elif conn.method.spec.token is not None:
        granted = _granted(conn)
        if granted is None:
            text += " A service principal's token is not limited by scopes, only by its Library roles."
        elif MANAGE not in granted:
            text += (
                f" The last check's sign-in did not list {MANAGE}: the create will likely be refused, and a group "
                "created anyway is named, with where to delete it."
            )
    return text


def _granted(conn: Connection) -> list[str] | None:
    """The OAuth scopes the last check's token listed (its credentials step); None: not a user's token."""
    step = next((s for s in (conn.last_check.steps if conn.last_check else []) if s.key == "credentials"), None)
    if step is None or not step.explanation.startswith("Granted scopes: "):
        return None
    return [s.strip() for s in step.explanation.removeprefix("Granted scopes: ").split(",")]


def library_url(devops_base: str, project: str) -> str:
    return f"{devops_base}/{quote(project)}/_library?itemType=VariableGroups"


@dataclass(frozen=True)
class Target:
    name: str  # as Azure DevOps spells it
    id: str
    existing_groups: int | None = None  # groups it already holds (the check's reads), None: not known
    key: str = ""  # as the connection's targets spell it (its checklist lines' keys); "": `name`

    @property
    def step(self) -> str:
        return f"proof:{self.key or self.name}"


class WriteProof:
    def __init__(
        self,
        api: DevOpsClient,
        step: StepRunner,
        *,
        who: str,
        kind: str,
        record: ProbeRecord | None = None,
        connection_id: str = "",
        concurrency: int = 8,
    ) -> None:
        """`kind`: "pat", "user" or "app" (write_explain); `record`: where groups that may be left
        are kept (None: a draft not saved yet: the result still names them)."""
        self.api, self.step, self.who, self.kind = api, step, who, kind
        self.record, self.connection_id = record, connection_id
        self._slots = asyncio.Semaphore(max(1, concurrency))

    async def run(self, targets: list[Target]) -> list[ProjectProof]:
        return list(await asyncio.gather(*(self._bounded(t) for t in targets)))

    async def _bounded(self, target: Target) -> ProjectProof:
        async with self._slots:
            return await self._one(target)

    # --- one project --------------------------------------------------------------------------
    async def _one(self, t: Target) -> ProjectProof:
        proof = ProjectProof(project=t.name)
        name = f"{PROBE_PREFIX}{secrets.token_hex(4)}"
        where = LeftBehind(group=name, project=t.name, url=library_url(self.api.base, t.name))
        refusals: list[str] = []
        sent = [False]  # the create was asked for and not refused: the group may exist

        def refused(op: str, exc: ProblemError) -> ProblemError:
            refusals.append(exc.problem.text())
            return exc

        async def create() -> tuple[StepState, str, str]:
            await self._remember(where)  # before asking: a kill from here on still leaves its name
            sent[0] = True
            resp = await self.api.send("POST", self._groups_url(), step=f"{t.step}:create", body=self._body(name, t, 1))
            if resp.status_code not in (200, 201):
                await self._forget(name)  # refused: nothing was made
                sent[0] = False
                raise refused("create", self._refusal(resp, "create", t))
            where.group_id = int(resp.json()["id"])
            await self._remember(where)
            return StepState.OK, f"Created {name} (id {where.group_id}) with 1 secret variable", ""

        async def read() -> tuple[StepState, str, str]:
            url = f"{self.api.base}/{quote(t.name)}/_apis/distributedtask/variablegroups/{where.group_id}"
            resp = await self.api.get(f"{url}?api-version={API_VERSION}", step=f"{t.step}:read")
            if resp.status_code != 200:
                raise refused("read", self._refusal(resp, "read", t))
            value = ((resp.json().get("variables") or {}).get("KMS_CONNECT_PROBE") or {}).get("value")
            hidden = "its secret came back hidden, as it should" if value is None else "its secret came back in clear"
            return StepState.OK, f"Read {name}: {hidden}", ""

        async def update() -> tuple[StepState, str, str]:
            resp = await self.api.send(
                "PUT", self._group_url(where.group_id), step=f"{t.step}:update", body=self._body(name, t, 2)
            )
            if resp.status_code != 200:
                raise refused("update", self._refusal(resp, "update", t))
            return StepState.OK, f"Updated {name} with a second variable", ""

        async def delete() -> tuple[StepState, str, str]:
            await self._delete(where, t, f"{t.step}:delete")
            return StepState.OK, f"Deleted {name}", ""

        try:
            proof.create = await self._outcome(t, "create", create)
            if proof.create == "ok":
                await self._outcome(t, "read", read)  # a read refused still lets update and delete be tried
                proof.update = await self._outcome(t, "update", update)
                proof.delete = await self._outcome(t, "delete", delete)
        except asyncio.CancelledError:
            if where.group_id is not None:  # what it created goes, even now
                await asyncio.shield(self._clean_up_after_cancel(where, t))
            raise
        if sent[0] and proof.delete != "ok":  # created and not deleted, or no answer came to the create
            proof.left_behind = where
            refusals.append(left_behind_text(name, t.name, where.url))
        if not refusals and t.existing_groups:
            refusals.append(not_proven_note(t.name, t.existing_groups))
        proof.explanation = " ".join(refusals)
        return proof

    async def _outcome(self, t: Target, op: str, work: Work) -> ProofOutcome:
        ok = await self.step(f"{t.step}:{op}", work)
        return "ok" if ok else "refused"

    async def _clean_up_after_cancel(self, where: LeftBehind, t: Target) -> None:
        try:
            async with asyncio.timeout(CLEANUP_LIMIT):
                await self._delete(where, t, f"{t.step}:delete")
        except Exception as exc:  # noqa: BLE001 - the record keeps it: the next proof tries again
            log.warning("could not delete probe group %s after a cancel: %s", where.group, type(exc).__name__)

    async def _delete(self, where: LeftBehind, t: Target, step: str) -> None:
        url = f"{self._group_url(where.group_id)}&projectIds={quote(t.id)}"
        resp = await self.api.send("DELETE", url, step=step)
        if resp.status_code not in (200, 204, 404):  # 404: already gone, as wanted
            raise self._refusal(resp, "delete", t)
        await self._forget(where.group)

    # --- groups a proof may have left ----------------------------------------------------------
    async def clean_up(self, left: list[LeftBehind], ids: dict[str, str]) -> list[LeftBehind]:
        """Delete the recorded groups (`ids`: project name → id); the ones still left come back."""
        still: list[LeftBehind] = []
        for where in left:
            project_id = ids.get(where.project.lower())
            target = Target(where.project, project_id or "")
            key = f"cleanup:{where.group}"

            async def work(where: LeftBehind = where, target: Target = target) -> tuple[StepState, str, str]:
                if where.group_id is None:
                    found = await self._find(where, target)
                    if found is None:
                        await self._forget(where.group)
                        return StepState.OK, f"{where.group} was never created in {where.project}", ""
                    where.group_id = found
                await self._delete(where, target, f"cleanup:{where.group}")
                return StepState.OK, f"Deleted {where.group}, left by an earlier proof", ""

            if project_id is None or not await self.step(key, work):
                still.append(where)
        return still

    async def _find(self, where: LeftBehind, t: Target) -> int | None:
        url = (
            f"{self.api.base}/{quote(t.name)}/_apis/distributedtask/variablegroups"
            f"?groupName={quote(where.group)}&api-version={API_VERSION}"
        )
        resp = await self.api.get(url, step=f"cleanup:{where.group}")
        if resp.status_code != 200:
            raise self._refusal(resp, "read", t)
        found = [g for g in resp.json().get("value") or [] if g.get("name") == where.group]
        return int(found[0]["id"]) if found else None

    # --- helpers ------------------------------------------------------------------------------
    def _groups_url(self) -> str:
        return f"{self.api.base}/_apis/distributedtask/variablegroups?api-version={API_VERSION}"

    def _group_url(self, group_id: int | None) -> str:
        return f"{self.api.base}/_apis/distributedtask/variablegroups/{group_id}?api-version={API_VERSION}"

    @staticmethod
    def _body(name: str, t: Target, variables: int) -> dict[str, Any]:
        values = {"KMS_CONNECT_PROBE": {"value": secrets.token_urlsafe(12), "isSecret": True}}
        if variables > 1:
            values["KMS_CONNECT_PROBE_2"] = {"value": "updated", "isSecret": False}
        description = "Made by kms-connect to prove write access; it deletes it at once. Safe to delete."
        return {
            "name": name,
            "description": description,
            "type": "Vsts",
            "variables": values,
            "variableGroupProjectReferences": [
                {"name": name, "description": description, "projectReference": {"id": t.id, "name": t.name}}
            ],
        }

    def _refusal(self, resp: Any, op: str, t: Target) -> ProblemError:
        problem: Problem = write_refusal(
            answer_of(resp), op, project=t.name, org=self.api.org, who=self.who, kind=self.kind
        )
        return ProblemError(problem)

    async def _remember(self, where: LeftBehind) -> None:
        if self.record is not None:  # a file write (fsync): not on the event loop
            await asyncio.to_thread(self.record.add, self.connection_id, where.model_copy())

    async def _forget(self, group: str) -> None:
        if self.record is not None:
            await asyncio.to_thread(self.record.remove, self.connection_id, group)
