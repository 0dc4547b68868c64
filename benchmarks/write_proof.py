"""Write-proof benchmark (issue 18) against the loopback Azure DevOps simulator with injected latency.

What is measured: the proof itself, `WriteProof.run` (core/write_proof), on a DevOpsClient already
authenticated with a PAT that may manage variable groups (the sample's `pat_vg_manage`), in the
simulators' benchmark organization (`python -m kms_connect_sim --projects 5`: bench-01…05). In each
project: create a probe group, read it back, update it, delete it: four requests one after the
other, each needing the previous answer. Not measured: the check that comes first in the app (its
own levels: benchmarks/checks.py), listing the projects for their ids, the first TLS handshakes (a
warm-up run opens the pooled connections, as the check before a proof would have).

Ideal: 4 × latency for 1 project, and 4 × latency for 5 projects too: they run in parallel up to
[status] concurrency (8 here, at least 5). Reported besides:
(b) the same with the probe record on disk (core/probe_record), as the app runs the proof: the
    group is recorded before the create (fsync'd), again with its id after it, and taken off after
    the delete; one file, so the five projects' writes take turns;
(c) 5 projects at [status] concurrency 2: ideal ceil(5/2) × 4 × latency;
(d) the whole live check with the proof (LiveChecker.run, prove_write, probe record on disk):
    ideal (2 + 4) × latency: organization, credentials and projects at once; the target projects'
    reads, all at once; then the proof's four.

Each figure is the median of --runs runs (default 9), with the spread of the ratio; CPU a run is the
client's (this process: the proof, the HTTP client, the record's writes; the median) and the
simulators' (their own process; the mean over the runs, as /proc counts it in 10 ms ticks). On a
small box the two share the cores.

    python benchmarks/write_proof.py [latency_ms] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks import cpu_seconds, settings_for, simulators  # this directory: python benchmarks/write_proof.py

PROJECTS = 5


@dataclass
class Figure:
    took: list[float]  # seconds, one a run
    cpu: list[float]  # the client's CPU seconds, one a run
    sim_cpu: float = 0.0  # the simulators' CPU seconds a run: the mean (/proc counts in 10 ms ticks)

    def line(self, label: str, ideal: float, ideal_text: str) -> str:
        took, ratios = statistics.median(self.took), sorted(t / ideal for t in self.took)
        return (
            f"  {label}: {took * 1000:.0f} ms; ideal {ideal_text} = {ideal * 1000:.0f} ms; ratio {took / ideal:.2f} "
            f"(runs {ratios[0]:.2f}–{ratios[-1]:.2f}) · CPU a run: client {statistics.median(self.cpu) * 1000:.1f} ms, "
            f"simulators {self.sim_cpu * 1000:.1f} ms"
        )


async def measure(box: dict[str, Any], runs: int, once: Callable[[], Awaitable[None]]) -> Figure:
    """`once` run once to warm up (connections opened), then `runs` times, timed."""
    await once()
    figure = Figure([], [])
    pid = int(box["pid"])
    sim = cpu_seconds(pid)
    for _ in range(runs):
        cpu, start = time.process_time(), time.perf_counter()
        await once()
        figure.took.append(time.perf_counter() - start)
        figure.cpu.append(time.process_time() - cpu)
    figure.sim_cpu = (cpu_seconds(pid) - sim) / runs
    return figure


async def proof_alone(
    box: dict[str, Any], projects: list[str], runs: int, concurrency: int, record_dir: Path | None
) -> Figure:
    """`WriteProof.run` in `projects`, on an authenticated client (the check's own pooled one)."""
    from pydantic import SecretStr

    from kms_connect.core.azure.devops import DevOpsClient, pat_header
    from kms_connect.core.azure.explain import ProblemError
    from kms_connect.core.live_check import LiveChecker
    from kms_connect.core.probe_record import ProbeRecord
    from kms_connect.core.status import StepState
    from kms_connect.core.write_proof import Target, WriteProof

    checker = LiveChecker(settings_for(box, concurrency))
    try:
        auth = SecretStr(pat_header(box["pat_vg_manage"]))
        api = DevOpsClient(checker.http(), box["devops_url"], box["release_url"], box["bench_org"], auth, bearer=False)
        ids = {p.name: p.id for p in await api.projects()}
        targets = [Target(name, ids[name]) for name in projects]
        refusals: list[str] = []

        async def step(key: str, work: Any) -> bool:  # as the check's own step runner, minus the listener
            try:
                state, _, _ = await work()
            except ProblemError as exc:
                refusals.append(f"{key}: {exc.problem.result}")
                return False
            return state is StepState.OK

        record = ProbeRecord(record_dir / "probe-groups.json") if record_dir is not None else None
        proof = WriteProof(
            api, step, who="bench", kind="pat", record=record, connection_id="bench", concurrency=concurrency
        )

        async def once() -> None:
            done = await proof.run(targets)
            assert [(p.create, p.update, p.delete) for p in done] == [("ok", "ok", "ok")] * len(targets), refusals

        return await measure(box, runs, once)
    finally:
        await checker.aclose()


async def whole_check(box: dict[str, Any], projects: list[str], runs: int, record_dir: Path) -> Figure:
    """The live check with the proof (LiveChecker.run, prove_write), as `check --prove-write` runs it."""
    from pydantic import SecretStr

    from kms_connect.core.check_target import CheckTarget
    from kms_connect.core.live_check import LiveChecker
    from kms_connect.core.probe_record import ProbeRecord
    from kms_connect.core.status import Method, Status

    checker = LiveChecker(settings_for(box))
    record = ProbeRecord(record_dir / "probe-groups.json")
    target = CheckTarget(
        method=Method.ACCESS_TOKEN,
        org_name=box["bench_org"],
        access_token=SecretStr(box["pat_vg_manage"]),
        target_projects=projects,
        prove_write=True,
    )

    async def once() -> None:
        run = await checker.run(target, record=record, connection_id="bench")
        assert run.result.status is Status.VALID, run.result.summary

    try:
        return await measure(box, runs, once)
    finally:
        await checker.aclose()


def filesystem(path: Path) -> str:
    """The type of the filesystem `path` is on (Linux /proc/self/mounts), for the record's writes."""
    best, kind = "", "unknown"
    with contextlib.suppress(OSError), open("/proc/self/mounts") as mounts:
        for line in mounts:
            _, point, fstype, *_ = line.split()
            if str(path.resolve()).startswith(point) and len(point) > len(best):
                best, kind = point, fstype
    return kind


async def main(latency_ms: float, runs: int) -> None:
    latency = latency_ms / 1000
    ideal = 4 * latency
    four = f"4 × {latency_ms:g} ms"
    with simulators(latency_ms, "--projects", str(PROJECTS)) as box, tempfile.TemporaryDirectory() as tmp:
        one, five = box["bench_projects"][:1], box["bench_projects"][:PROJECTS]
        print(
            f"Injected latency {latency_ms:g} ms per request (Azure DevOps simulator, own process); "
            f"median of {runs} runs after one to warm up; {os.cpu_count()} CPUs"
        )
        print("\n(a) the proof alone (WriteProof.run: create, read, update, delete), no probe record")
        print((await proof_alone(box, one, runs, 8, None)).line("1 project", ideal, four))
        fig = await proof_alone(box, five, runs, 8, None)
        print(fig.line(f"{PROJECTS} projects", ideal, f"{four} (in parallel, concurrency 8)"))
        record_dir = Path(tmp)
        print(f"\n(b) the proof with its probe record on disk (as the app runs it; {filesystem(record_dir)})")
        print((await proof_alone(box, one, runs, 8, record_dir)).line("1 project", ideal, four))
        fig = await proof_alone(box, five, runs, 8, record_dir)
        print(fig.line(f"{PROJECTS} projects", ideal, f"{four} (in parallel, concurrency 8)"))
        print(f"\n(c) {PROJECTS} projects at [status] concurrency 2, with the record")
        waves = math.ceil(PROJECTS / 2)
        fig = await proof_alone(box, five, runs, 2, record_dir)
        print(fig.line(f"{PROJECTS} projects", waves * ideal, f"ceil({PROJECTS}/2) × {four}"))
        print("\n(d) the whole check with the proof (LiveChecker.run, prove_write, with the record)")
        whole, six = 6 * latency, f"(2 + 4) × {latency_ms:g} ms"
        print((await whole_check(box, one, runs, record_dir)).line("1 project", whole, six))
        print((await whole_check(box, five, runs, record_dir)).line(f"{PROJECTS} projects", whole, six))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("latency_ms", nargs="?", type=float, default=50.0, help="injected latency (default 50)")
    parser.add_argument("--runs", type=int, default=9, help="timed runs per figure (default 9)")
    args = parser.parse_args()
    asyncio.run(main(args.latency_ms, args.runs))
