"""The project-level reads of a check: variable groups, service connections, release definitions.

Without target projects each is a step of its own on the first project the identity sees; with
them, the three run together in one step per target project, its own ✓/✗ line (check_steps).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from kms_connect.core.azure.devops import DevOpsClient
from kms_connect.core.azure.explain import Problem, ProblemError
from kms_connect.core.check_steps import PROJECT_READS, TITLES
from kms_connect.core.status import StepState

Work = Callable[[], Awaitable[tuple[StepState, str, str]]]
# (what, API path, on the release host)
READS = {
    "variablegroups": ("Variable groups", "distributedtask/variablegroups", False),
    "serviceendpoints": ("Service connections", "serviceendpoint/endpoints", False),
    "release": ("Release definitions", "release/definitions", True),
}


async def _count(api: DevOpsClient, key: str, project: str) -> tuple[int, str]:
    what, path, release = READS[key]
    n = await api.count(key, what, path, project, release=release)
    return n, f"{n} {what.lower() if n != 1 else what.lower()[:-1]}"


def project_read(api: DevOpsClient, key: str, project: str) -> Work:
    """The read `key` (PROJECT_READS) in `project`, as a step's work."""

    async def work() -> tuple[StepState, str, str]:
        _, said = await _count(api, key, project)
        return StepState.OK, f"{said} in {project}", ""

    return work


def target_reads(api: DevOpsClient, wanted: str, visible: list[str], groups: dict[str, int]) -> Work:
    """The three reads in the target project `wanted`, as one step. `groups` learns how many
    variable groups the project already holds (the write proof says what that means)."""

    async def work() -> tuple[StepState, str, str]:
        project = next((p for p in visible if p.lower() == wanted.lower()), None)
        if project is None:
            raise ProblemError(
                Problem(
                    f"No project “{wanted}” visible",
                    f"The identity sees no project named “{wanted}” in {api.org}. Fix the name in the "
                    "connection's target projects, or give the identity access to the project (a service "
                    "principal: add it to the project, e.g. to its Contributors group).",
                )
            )
        results = await asyncio.gather(*(_count(api, key, project) for key in PROJECT_READS), return_exceptions=True)
        failed = [(key, r) for key, r in zip(PROJECT_READS, results, strict=True) if isinstance(r, BaseException)]
        for _, r in failed:
            if not isinstance(r, ProblemError):
                raise r
        first = results[0]
        if not isinstance(first, BaseException):
            groups[project] = first[0]
        if failed:
            key, error = failed[0]
            assert isinstance(error, ProblemError)
            p = error.problem
            also = "".join(
                f" Also {TITLES[k]}: {e.problem.result}." for k, e in failed[1:] if isinstance(e, ProblemError)
            )
            raise ProblemError(Problem(f"{TITLES[key]}: {p.result}", p.text() + also, p.field, warning=p.warning))
        said = [r[1] for r in results if not isinstance(r, BaseException)]
        return StepState.OK, f"{project}: {', '.join(said)}", ""

    return work
