"""Scale benchmark: the Projects screen with 10,000 projects / 5,000 connections vs 100 projects.

Measures, in one process, (a) time from app start to the populated Projects table, (b) each filter
keystroke (set_filter + repaint), (c) reading the store. Headless Textual, 80x24.

    python benchmarks/tables.py
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def seed(data_dir: Path, projects: int, connections: int) -> None:
    """Write the store file in one go (creating 10,000 projects one by one would re-write it each time)."""
    from kms_connect.core.files import atomic_write
    from kms_connect.core.local_store import StoreData
    from kms_connect.core.models import Connection, Project, SecretLocation
    from kms_connect.core.status import Method

    import tomli_w

    data = StoreData()
    for i in range(projects):
        data.projects.append(Project(id=str(uuid.uuid4()), name=f"Project {i:05d}", slug=f"project-{i:05d}"))
    for i in range(connections):
        data.connections.append(Connection(
            id=str(uuid.uuid4()), project_id=data.projects[i % projects].id, name=f"conn-{i:05d}",
            method=Method.ACCESS_TOKEN, org_name=f"org{i % 50}", secrets={"access_token": SecretLocation.FILE},
        ))
    atomic_write(data_dir / "store.toml", tomli_w.dumps(data.model_dump(mode="python", exclude_none=True)).encode())


async def measure(projects: int, connections: int) -> dict[str, float]:
    from kms_connect.core.config import Settings
    from kms_connect.core.local_store import LocalStore
    from kms_connect.core.paths import Paths
    from kms_connect.ui.app import KmsConnectApp
    from kms_connect.ui.widgets.virtual_table import VirtualTable

    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(config_file=Path(tmp) / "c.toml", data_dir=Path(tmp) / "data", state_dir=Path(tmp) / "s")
        seed(paths.data_dir, projects, connections)
        store = LocalStore(paths, Settings())
        t = time.perf_counter()
        store.list_projects_sync()
        read = time.perf_counter() - t
        start = time.perf_counter()
        app = KmsConnectApp(paths=paths, settings=Settings(), backend=store)
        async with app.run_test(size=(80, 24)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            table = app.screen.query_one("#projects-table", VirtualTable)
            assert table.total_count == projects
            ready = time.perf_counter() - start
            # A keystroke's own cost: re-filter and render every visible line (what a repaint draws).
            keys = []
            needle = ""
            for ch in "project 0004":
                needle += ch
                t = time.perf_counter()
                table.set_filter(needle)
                for y in range(table.size.height):
                    table.render_line(y)
                keys.append(time.perf_counter() - t)
            assert table.visible_count >= 1
            # The same through the real input path (Pilot adds its own waits, equal for both sizes).
            await pilot.press("slash")
            pilot_keys = []
            for ch in "project 0004":
                t = time.perf_counter()
                await pilot.press(ch)
                pilot_keys.append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"read": read, "ready": ready, "key_median": statistics.median(keys), "key_max": max(keys),
            "pilot_key_median": statistics.median(pilot_keys), "rss_mb": rss}


def run_one(projects: int, connections: int) -> dict[str, float]:
    """Each size in a fresh process, so peak memory (max RSS) is its own."""
    out = subprocess.run([sys.executable, __file__, "--one", str(projects), str(connections)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(asyncio.run(measure(int(sys.argv[2]), int(sys.argv[3])))))
        return
    small = run_one(100, 50)
    big = run_one(10_000, 5_000)
    for label, r in (("100 projects / 50 connections", small), ("10,000 projects / 5,000 connections", big)):
        print(f"{label}:\n  store read {r['read'] * 1000:7.1f} ms   screen ready {r['ready'] * 1000:7.1f} ms   "
              f"filter key {r['key_median'] * 1000:5.2f} ms median, {r['key_max'] * 1000:5.2f} ms max   "
              f"(through Pilot {r['pilot_key_median'] * 1000:5.1f} ms)   max RSS {r['rss_mb']:.0f} MB")
    print(f"screen-ready ratio 10,000 vs 100 rows: {big['ready'] / small['ready']:.2f}x")


if __name__ == "__main__":
    main()
