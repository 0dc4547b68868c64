"""Live-check benchmark against the loopback simulators with injected latency.

(a) One check per method, sequentially: the measured time against the ideal of one round trip per
    dependency level (PAT: 2 levels; Client Secret: Entra discovery + token, then 2; OAuth with a
    kept token: discovery, then 2), and against the issue's "≈ 3 × latency".
(b) 50 re-checks (`V`) on the App Connections screen at [status] concurrency 8: alone, then with
    a key pressed every 50 ms, timing how long each key press takes to reach the screen.
(c) The same with 500 connections at concurrency 16 (issue 5's target: within 1.3 × the ideal
    ceil(500/16) × 2 levels × latency, and key presses repainted within 100 ms meanwhile).

Each part reports the client's CPU time (app and checks, one process) and the simulators' (their
own process) next to the wall time: on a small box the two share the cores.

    python benchmarks/checks.py [latency_ms] [--only abc]

PROBES=httpx sends the checks' probes through an httpx.AsyncClient (its own transport, a pool of
[status] concurrency × 2 hosts connections) instead of core/probe_client's aiohttp ProbeClient: the
comparison issue 17 asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def simulators(latency_ms: float, *flags: str) -> Iterator[dict[str, Any]]:
    """The simulators in their own process (as Azure would be), with the latency injected; `flags`:
    more of `python -m kms_connect_sim`'s options (--auto-approve, --projects N, --kms)."""
    command = [sys.executable, "-m", "kms_connect_sim", "--latency", str(latency_ms), *flags]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        box = json.loads(proc.stdout.readline())
        box["pid"] = proc.pid
        yield box
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def settings_for(box: dict[str, str], concurrency: int = 8):  # type: ignore[no-untyped-def]
    from kms_connect.core.config import AzureSettings, OAuthSettings, SecretsSettings, Settings, StatusSettings

    return Settings(
        azure=AzureSettings(
            authority_host=box["authority_host"],
            devops_url=box["devops_url"],
            release_url=box["release_url"],
            ca_bundle=box["ca_bundle"],
        ),
        oauth=OAuthSettings(client_id=box["oauth_client_id"]),
        status=StatusSettings(concurrency=concurrency),
        secrets=SecretsSettings(backend="file"),
    )


async def per_check(box: dict[str, str], runs: int = 9) -> dict[str, tuple[float, int]]:
    from pydantic import SecretStr

    from kms_connect.core.azure.entra import EntraConfig
    from kms_connect.core.azure.sign_in import start_device_flow
    from kms_connect.core.check_target import CheckTarget
    from kms_connect.core.live_check import LiveChecker
    from kms_connect.core.status import Method, Status

    sign = start_device_flow(
        EntraConfig(box["authority_host"], Path(box["ca_bundle"])), box["oauth_client_id"], box["tenant_id"]
    )
    cache = (await asyncio.to_thread(sign.wait)).cache_blob  # the simulator approves it by itself
    checker = LiveChecker(settings_for(box))
    common = {"org_name": box["org"], "tenant_id": box["tenant_id"]}
    targets = {
        "Access Token": (
            CheckTarget(method=Method.ACCESS_TOKEN, org_name=box["org"], access_token=SecretStr(box["pat_ok"])),
            2,
        ),
        "Client Secret": (
            CheckTarget(
                method=Method.CLIENT_SECRET,
                client_id=box["sp_client_id"],
                client_secret=SecretStr(box["sp_secret"]),
                **common,
            ),
            4,
        ),
        "OAuth (kept token)": (CheckTarget(method=Method.OAUTH, token_cache=cache, **common), 3),
    }
    out = {}
    for name, (target, levels) in targets.items():
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            run = await checker.run(target)
            times.append(time.perf_counter() - t)
            assert run.result.status is Status.VALID, run.result.summary
        out[name] = (statistics.median(times), levels)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(paths, settings, box: dict[str, str], n: int):  # type: ignore[no-untyped-def]
    """One project with `n` Access Token connections, written in one go (creating them one by one
    re-writes the store each time); each PAT kept by the secrets file, as the app would keep it."""
    from kms_connect.core.local_store import LocalStore, secret_key
    from kms_connect.core.models import Connection, Project
    from kms_connect.core.status import Method
    from kms_connect.core.store_file import StoreData, StoreFile

    store = LocalStore(paths, settings)
    project = Project(id=str(uuid.uuid4()), name="bench", slug="bench")
    data = StoreData(projects=[project])
    for i in range(n):
        conn_id = str(uuid.uuid4())
        where = store.secrets.put(secret_key(conn_id, "access_token"), box["pat_ok"])
        data.connections.append(
            Connection(
                id=conn_id,
                project_id=project.id,
                name=f"conn-{i:03d}",
                method=Method.ACCESS_TOKEN,
                org_name=box["org"],
                secrets={"access_token": where},
            )
        )
    StoreFile.of(paths).write(data)
    return store, project


async def under_load(
    box: dict[str, str],
    n: int = 50,
    concurrency: int = 8,
    keys_every: float | None = 0.05,
) -> dict[str, float]:
    from textual import events

    from kms_connect.core.live_check import LiveChecker
    from kms_connect.core.paths import Paths
    from kms_connect.core.status import Status
    from kms_connect.ui.app import KmsConnectApp
    from kms_connect.ui.screens.connections import ConnectionsScreen

    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(config_file=Path(tmp) / "c.toml", data_dir=Path(tmp) / "d", state_dir=Path(tmp) / "s")
        settings = settings_for(box, concurrency)
        store, project = seed(paths, settings, box, n)
        app = KmsConnectApp(paths=paths, settings=settings, backend=store, checker=LiveChecker(settings))
        async with app.run_test(size=(80, 24)) as pilot:
            app.push_screen(ConnectionsScreen(project))
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            # As a kms-connect process does at its first listing (heap.py), freeze what lives now. heap's
            # once-only flag is per process, and this benchmark runs several apps in one: without this,
            # every earlier run's leftovers would be rescanned by each full collection (~100 ms each).
            gc.collect()
            gc.freeze()
            screen = app.screen
            assert isinstance(screen, ConnectionsScreen)
            table = screen.table
            frames: list[tuple[float, int]] = []  # (when a frame was composed, the cursor row it shows)
            original = app._display

            def display(screen, renderable):  # type: ignore[no-untyped-def]
                # Headless Textual composes every frame but writes none; the time a frame is
                # handed to the driver is when a terminal would start receiving it.
                if renderable is not None:
                    frames.append((time.perf_counter(), table._cursor))
                return original(screen, renderable)

            app._display = display  # type: ignore[method-assign]
            assert len(screen.connections) == n
            sim_cpu, cpu = cpu_seconds(int(box["pid"])), time.process_time()
            start = time.perf_counter()
            # Posted like the keys below: Pilot.press would wait for the app to go idle (up to
            # seconds under load) before the first key press is even measured.
            app.post_message(events.Key("V", "V"))
            while not app.checks.live:  # until the key press has started them
                await asyncio.sleep(0.001)
            delays: list[float] = []
            key = "down"
            if keys_every is None:  # the run alone: how long the checks take
                await app.workers.wait_for_complete()
                while not app.checks.idle():
                    await asyncio.sleep(0.005)
                total = time.perf_counter() - start
                statuses = {live.status for live in app.checks.live.values()}
                assert statuses == {Status.VALID} and len(app.checks.live) == n, statuses
                return {
                    "total": total,
                    "cpu": time.process_time() - cpu,
                    "sim_cpu": cpu_seconds(int(box["pid"])) - sim_cpu,
                }
            while not app.checks.idle() or not delays:
                expected = table._cursor + (1 if key == "down" else -1)
                before = len(frames)
                sent = time.perf_counter()
                app.post_message(events.Key(key, None))
                key = "up" if key == "down" else "down"
                shown = None
                while shown is None and time.perf_counter() - sent < 2:
                    shown = next((t for t, row in frames[before:] if row == expected), None)
                    if shown is None:
                        await asyncio.sleep(0.001)
                delays.append((shown or time.perf_counter()) - sent)
                await asyncio.sleep(keys_every)
            total = time.perf_counter() - start
            cpu, sim_cpu = time.process_time() - cpu, cpu_seconds(int(box["pid"])) - sim_cpu
    delays.sort()
    return {
        "total": total,
        "cpu": cpu,
        "sim_cpu": sim_cpu,
        "keys": len(delays),
        "median": statistics.median(delays),
        "p95": delays[max(0, math.ceil(len(delays) * 0.95) - 1)],
        "max": delays[-1],
    }


async def many(
    box: dict[str, str],
    label: str,
    n: int,
    concurrency: int,
    latency: float,
    target: float | None = None,
    repeat: int = 1,
) -> None:
    """`V` on `n` connections at `concurrency`: alone, then with a key press every 50 ms; `repeat`
    times each, reporting the median run (by total time) and the worst key press of all runs."""
    pat_ideal = 2 * latency  # an Access Token check: two dependency levels
    ideal = math.ceil(n / concurrency) * pat_ideal

    def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
        return sorted(runs, key=lambda r: r["total"])[len(runs) // 2]

    alones = [await under_load(box, n, concurrency, keys_every=None) for _ in range(repeat)]
    loads = [await under_load(box, n, concurrency) for _ in range(repeat)]
    alone, load = median_run(alones), median_run(loads)
    goal = f" (target ≤ {target:.1f})" if target else ""
    runs = f", median of {repeat} runs" if repeat > 1 else ""
    print(f"\n{label} {n} Access Token re-checks (`V`) at concurrency {concurrency} in the app{runs}")
    print(
        f"  no keys: all done in {alone['total'] * 1000:.0f} ms; ideal ceil({n}/{concurrency}) × "
        f"{pat_ideal * 1000:.0f} ms = {ideal * 1000:.0f} ms; ratio {alone['total'] / ideal:.2f}{goal}"
    )
    if repeat > 1:
        print("           each run: " + ", ".join(f"{r['total'] / ideal:.2f}" for r in alones))
    print(
        f"           CPU: app {alone['cpu']:.2f} s ({alone['cpu'] / n * 1000:.1f} ms a check), "
        f"simulators {alone['sim_cpu']:.2f} s"
    )
    print(
        f"  a key press every 50 ms: all done in {load['total'] * 1000:.0f} ms; ratio {load['total'] / ideal:.2f}"
        f"{goal}; CPU: app {load['cpu']:.2f} s, simulators {load['sim_cpu']:.2f} s"
    )
    if repeat > 1:
        print("           each run: " + ", ".join(f"{r['total'] / ideal:.2f}" for r in loads))
    print(
        f"  {load['keys']:.0f} key presses → repaint: median {load['median'] * 1000:.1f} ms, "
        f"p95 {load['p95'] * 1000:.1f} ms, max {load['max'] * 1000:.1f} ms; worst of all runs "
        f"{max(r['max'] for r in loads) * 1000:.1f} ms (target < 100 ms)"
    )


def probes_through_httpx() -> None:
    """PROBES=httpx: the checks' client made by httpx instead (see the module docstring)."""
    import httpx

    from kms_connect.core import http, live_check

    def httpx_probes(ca_bundle, timeout=None, *, connections=20):  # type: ignore[no-untyped-def]
        # [status] concurrency × the probes' hosts (Azure DevOps and its release host)
        size = connections // live_check.MAX_IN_FLIGHT * 2
        pool = httpx.Limits(max_connections=size, max_keepalive_connections=size, keepalive_expiry=30)
        options = http._options(ca_bundle, timeout)
        return httpx.AsyncClient(limits=pool, **options)  # type: ignore[arg-type]

    live_check.probe_client = httpx_probes  # type: ignore[assignment]


async def main(latency_ms: float, parts: str) -> None:
    latency = latency_ms / 1000
    if os.environ.get("PROBES") == "httpx":
        probes_through_httpx()
        print("Probes through httpx.AsyncClient (PROBES=httpx)")
    with simulators(latency_ms, "--auto-approve") as box:
        print(f"Injected latency {latency_ms:g} ms per request (Entra and Azure DevOps simulators, own process)")
        if "a" in parts:
            print("\n(a) one check, median of 9 sequential runs")
            for name, (took, levels) in (await per_check(box)).items():
                print(
                    f"  {name:<20} {took * 1000:6.0f} ms = {took / latency:4.1f} × latency · "
                    f"ideal {levels} levels: ratio {took / (levels * latency):.2f} · vs 3 × latency: "
                    f"{took / (3 * latency):.2f}"
                )
        if "b" in parts:
            await many(box, "(b)", 50, 8, latency)
        if "c" in parts:
            await many(box, "(c)", 500, 16, latency, target=1.3, repeat=int(os.environ.get("REPEAT", "3")))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("latency_ms", nargs="?", type=float, default=50.0, help="injected latency (default 50)")
    parser.add_argument("--only", default="abc", help="the parts to run, e.g. c or ab (default abc)")
    args = parser.parse_args()
    asyncio.run(main(args.latency_ms, args.only.lower()))
