"""Secret Syncs benchmark (issue 19) against the loopback KMS simulator with injected latency.

What is measured: what the sync form waits for before it offers its choices,
`SecretSyncs.choices` (core/kms/syncs) with each connection's target projects read beside it
(`KmsBackend.list_connections`, as the form does), on a client already logged in. The instance is
the simulators' (`python -m kms_connect_sim --kms`): two projects, two syncs, two connections.

Ideal: 2 × latency. The projects come first (their environments, and the projects whose syncs are
compared); then at once: each project's syncs, the project's and the organization's connections,
and the connections with their target projects.

Reported besides, as a baseline in the same run: the same reads one after the other, as the form
first made them (the connections with their targets; then the projects beside the project's
connections and the organization's, those two one after the other; then the projects again and each
one's syncs): ideal 5 × latency. Its time over the first's is what the change saved.

Each figure is the median of --runs runs (default 9), with the spread of the ratio and the client's CPU.

    python benchmarks/syncs.py [latency_ms] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from checks import simulators  # this directory: python benchmarks/syncs.py

SAMPLE_PAYMENTS = "9f0e0000-0001-4000-8000-00000000e001"  # the sample instance's Payments (kms_world)


async def timed(runs: int, once: Callable[[], Awaitable[None]]) -> tuple[list[float], list[float]]:
    await once()  # warm: logged in, connections open
    took, cpu = [], []
    for _ in range(runs):
        c, start = time.process_time(), time.perf_counter()
        await once()
        took.append(time.perf_counter() - start)
        cpu.append(time.process_time() - c)
    return took, cpu


def line(label: str, took: list[float], cpu: list[float], ideal: float, ideal_text: str) -> str:
    median, ratios = statistics.median(took), sorted(t / ideal for t in took)
    return (
        f"  {label}: {median * 1000:.0f} ms; ideal {ideal_text} = {ideal * 1000:.0f} ms; ratio {median / ideal:.2f} "
        f"(runs {ratios[0]:.2f}–{ratios[-1]:.2f}) · client CPU a run {statistics.median(cpu) * 1000:.1f} ms"
    )


async def run(box: dict[str, Any], latency: float, runs: int, state: Path) -> None:
    from kms_connect.core.instances import Instance
    from kms_connect.core.kms.backend import KmsBackend
    from kms_connect.core.kms.client import KmsClient
    from kms_connect.core.kms.syncs import CONNECTIONS, SecretSyncs
    from kms_connect.core.paths import InstanceFiles

    inst = Instance(name="bench", url=box["kms_url"], client_id=box["kms_client_id"])
    client = KmsClient(inst, lambda: box["kms_client_secret"])
    backend = KmsBackend(inst, client, InstanceFiles.beside(state / "bench.json"))
    api = SecretSyncs(client)
    try:

        async def targets() -> dict[str, list[str]]:
            return {c.id: list(c.target_projects) for c in await backend.list_connections(SAMPLE_PAYMENTS)}

        async def now() -> None:
            choices = await api.choices(SAMPLE_PAYMENTS, targets())
            assert choices.environments and choices.connections and len(choices.syncs) == 2

        async def old_connections() -> None:  # the project's, then the organization's
            await client.call("GET", CONNECTIONS, params={"projectId": SAMPLE_PAYMENTS})
            await client.call("GET", CONNECTIONS)

        async def one_after_another() -> None:  # the baseline: the reads as the form first made them
            found = await targets()
            await asyncio.gather(client.projects(), old_connections())
            syncs = await api.list_syncs()  # the projects again, then each one's syncs
            assert found is not None and len(syncs) == 2

        took, cpu = await timed(runs, now)
        print(line("the form's choices", took, cpu, 2 * latency, "2 × latency"))
        took, cpu = await timed(runs, one_after_another)
        print(line("baseline, one after another", took, cpu, 5 * latency, "5 × latency"))
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("latency_ms", nargs="?", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    print(f"Secret Syncs, latency {args.latency_ms:.0f} ms, median of {args.runs} runs")
    with simulators(args.latency_ms, "--kms") as box, tempfile.TemporaryDirectory() as state:
        asyncio.run(run(box, args.latency_ms / 1000, args.runs, Path(state)))


if __name__ == "__main__":
    main()
