"""Live-check benchmark against the loopback simulators with injected latency.

(a) One check per method, sequentially: the measured time against the ideal of one round trip per
    dependency level (PAT: 2 levels; Client Secret: Entra discovery + token, then 2; OAuth with a
    kept token: discovery, then 2), and against the issue's "≈ 3 × latency".
(b) 50 re-checks (`V`) on the App Connections screen at [status] concurrency 8: alone, then with
    a key pressed every 50 ms, timing how long each key press takes to reach the screen.

    python benchmarks/checks.py [latency_ms]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def simulators(latency_ms: float) -> Iterator[dict[str, str]]:
    """The simulators in their own process (as Azure would be), with the latency injected."""
    proc = subprocess.Popen([sys.executable, "-m", "kms_connect.core.simulators", "--latency", str(latency_ms),
                             "--auto-approve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def settings_for(box: dict[str, str], concurrency: int = 8):  # type: ignore[no-untyped-def]
    from kms_connect.core.config import AzureSettings, OAuthSettings, SecretsSettings, Settings, StatusSettings

    return Settings(
        azure=AzureSettings(authority_host=box["authority_host"], devops_url=box["devops_url"],
                            release_url=box["release_url"], ca_bundle=box["ca_bundle"]),
        oauth=OAuthSettings(client_id=box["oauth_client_id"]),
        status=StatusSettings(concurrency=concurrency),
        secrets=SecretsSettings(backend="file"),
    )


async def per_check(box: dict[str, str], runs: int = 9) -> dict[str, tuple[float, int]]:
    from pydantic import SecretStr

    from kms_connect.core.azure.entra import EntraConfig, start_device_flow
    from kms_connect.core.live_check import CheckTarget, LiveChecker
    from kms_connect.core.status import Method, Status

    sign = start_device_flow(EntraConfig(box["authority_host"], Path(box["ca_bundle"])), box["oauth_client_id"],
                             box["tenant_id"])
    cache = (await asyncio.to_thread(sign.wait)).cache_blob  # the simulator approves it by itself
    checker = LiveChecker(settings_for(box))
    common = dict(org_name=box["org"], tenant_id=box["tenant_id"])
    targets = {
        "Access Token": (CheckTarget(method=Method.ACCESS_TOKEN, org_name=box["org"],
                                     access_token=SecretStr(box["pat_ok"])), 2),
        "Client Secret": (CheckTarget(method=Method.CLIENT_SECRET, client_id=box["sp_client_id"],
                                      client_secret=SecretStr(box["sp_secret"]), **common), 4),
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


async def under_load(box: dict[str, str], n: int = 50, concurrency: int = 8, keys_every: float | None = 0.05,
                     ) -> dict[str, float]:
    from pydantic import SecretStr
    from textual import events

    from kms_connect.core.live_check import LiveChecker
    from kms_connect.core.local_store import LocalStore
    from kms_connect.core.models import ConnectionDraft
    from kms_connect.core.paths import Paths
    from kms_connect.core.status import Method
    from kms_connect.ui.app import KmsConnectApp
    from kms_connect.ui.screens.connections import ConnectionsScreen

    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(config_file=Path(tmp) / "c.toml", data_dir=Path(tmp) / "d", state_dir=Path(tmp) / "s")
        settings = settings_for(box, concurrency)
        store = LocalStore(paths, settings)
        project = await store.create_project("bench")
        for i in range(n):
            draft = ConnectionDraft(name=f"conn-{i:03d}", method=Method.ACCESS_TOKEN, org_name=box["org"],
                                    secrets={"access_token": SecretStr(box["pat_ok"])})
            await store.create_connection(project.id, draft)
        app = KmsConnectApp(paths=paths, settings=settings, backend=store, checker=LiveChecker(settings))
        async with app.run_test(size=(80, 24)) as pilot:
            app.push_screen(ConnectionsScreen(project))
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
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
            start = time.perf_counter()
            await pilot.press("V")
            delays: list[float] = []
            key = "down"
            if keys_every is None:  # the run alone: how long the checks take
                await app.workers.wait_for_complete()
                while not app.checks.idle():
                    await asyncio.sleep(0.005)
                return {"total": time.perf_counter() - start}
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
    delays.sort()
    return {"total": total, "keys": len(delays), "median": statistics.median(delays),
            "p95": delays[int(len(delays) * 0.95) - 1], "max": delays[-1]}


async def main(latency_ms: float) -> None:
    latency = latency_ms / 1000
    with simulators(latency_ms) as box:
        print(f"Injected latency {latency_ms:g} ms per request (Entra and Azure DevOps simulators, own process)\n")
        print("(a) one check, median of 9 sequential runs")
        for name, (took, levels) in (await per_check(box)).items():
            print(f"  {name:<20} {took * 1000:6.0f} ms = {took / latency:4.1f} × latency · "
                  f"ideal {levels} levels: ratio {took / (levels * latency):.2f} · vs 3 × latency: "
                  f"{took / (3 * latency):.2f}")
        pat_ideal = 2 * latency
        alone = await under_load(box, keys_every=None)
        load = await under_load(box)
        ideal = math.ceil(50 / 8) * pat_ideal
        print("\n(b) 50 Access Token re-checks (`V`) at concurrency 8 in the app")
        print(f"  no keys: all done in {alone['total'] * 1000:.0f} ms; ideal ceil(50/8) × {pat_ideal * 1000:.0f} ms = "
              f"{ideal * 1000:.0f} ms; ratio {alone['total'] / ideal:.2f}")
        print(f"  a key press every 50 ms: all done in {load['total'] * 1000:.0f} ms")
        print(f"  {load['keys']:.0f} key presses → repaint: median {load['median'] * 1000:.1f} ms, "
              f"p95 {load['p95'] * 1000:.1f} ms, max {load['max'] * 1000:.1f} ms (target < 100 ms)")


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 50.0))
