"""Scale benchmark: 10,000 projects / 5,000 connections vs 100 projects / 50 connections.

Each size in its own process (so peak memory is its own), headless Textual at 80x24:
(a) reading the store: from its JSON copy (as kms-connect leaves it) and from the TOML alone (after
    a hand edit);
(b) app start to the Projects screen ready (every row in the table and the footer's keys drawn),
    and each filter keystroke there;
(c) opening the status dashboard (every connection) until ready the same way, and its filter keys;
(d) a full garbage collection once both screens are up: what a key press waits for when the
    collector runs during it (why it matters: src/kms_connect/core/store_file.py);
(e) as an operator sees it: `kms-connect` started in a real pseudo-terminal (80x24) until its first
    row is on the terminal, both sizes alternating in the same run (see startup.py).

Each size runs 5 times (RUNS=N to change), alternating, each run in its own process; the figures
are medians.

    python benchmarks/tables.py
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
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
    from kms_connect.core.models import Connection, Project, SecretLocation
    from kms_connect.core.paths import Paths
    from kms_connect.core.status import Method
    from kms_connect.core.store_file import StoreData, StoreFile

    data = StoreData()
    for i in range(projects):
        data.projects.append(Project(id=str(uuid.uuid4()), name=f"Project {i:05d}", slug=f"project-{i:05d}"))
    for i in range(connections):
        data.connections.append(
            Connection(
                id=str(uuid.uuid4()),
                project_id=data.projects[i % projects].id,
                name=f"conn-{i:05d}",
                method=Method.ACCESS_TOKEN,
                org_name=f"org{i % 50}",
                secrets={"access_token": SecretLocation.FILE},
            )
        )
    paths = Paths(config_file=data_dir / "c.toml", data_dir=data_dir, state_dir=data_dir)
    StoreFile.of(paths).write(data)


async def filter_keys(table, needle: str) -> list[float]:  # type: ignore[no-untyped-def]
    """A keystroke's own cost: re-filter and render every visible line (what a repaint draws)."""
    keys = []
    for i in range(1, len(needle) + 1):
        t = time.perf_counter()
        table.set_filter(needle[:i])
        for y in range(table.size.height):
            table.render_line(y)
        keys.append(time.perf_counter() - t)
    assert table.visible_count >= 1
    return keys


async def measure(projects: int, connections: int) -> dict[str, float]:
    from textual.widgets._footer import FooterKey

    from kms_connect.core.config import Settings
    from kms_connect.core.local_store import LocalStore
    from kms_connect.core.paths import Paths
    from kms_connect.core.store_file import StoreFile
    from kms_connect.ui.app import KmsConnectApp
    from kms_connect.ui.screens.dashboard import DashboardScreen
    from kms_connect.ui.widgets.virtual_table import VirtualTable

    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(config_file=Path(tmp) / "c.toml", data_dir=Path(tmp) / "data", state_dir=Path(tmp) / "s")
        seed(paths.data_dir, projects, connections)
        copy = paths.store_copy.read_bytes()
        t = time.perf_counter()
        StoreFile.of(paths).read()
        read_copy = time.perf_counter() - t
        paths.store_copy.unlink()  # as after a hand edit of store.toml
        t = time.perf_counter()
        StoreFile.of(paths).read()
        read_toml = time.perf_counter() - t
        paths.store_copy.write_bytes(copy)

        store = LocalStore(paths, Settings())  # nothing parsed yet: the app start reads the file
        start = time.perf_counter()
        app = KmsConnectApp(paths=paths, settings=Settings(), backend=store)
        shown: list[float] = []
        original = app._display

        def display(screen, renderable):  # type: ignore[no-untyped-def]
            # Headless Textual composes every frame but writes none: the first frame composed
            # with the rows is when a terminal would start receiving them.
            if renderable is not None and not shown and loaded(screen):
                shown.append(time.perf_counter())
            return original(screen, renderable)

        target = ["#projects-table", projects]  # the table whose rows count as ready, and how many

        def loaded(screen) -> bool:  # type: ignore[no-untyped-def]
            # Ready: every row in the table and the footer's keys drawn (the screen's actions);
            # which of the two comes first differs from run to run, so both are waited for.
            tables = screen.query(str(target[0]))
            return (
                bool(tables) and tables.first(VirtualTable).total_count == target[1] and bool(screen.query(FooterKey))
            )

        app._display = display  # type: ignore[method-assign]
        async with app.run_test(size=(80, 24)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            table = app.screen.query_one("#projects-table", VirtualTable)
            assert table.total_count == projects and shown
            ready = shown[0] - start
            keys = await filter_keys(table, "project 0004")
            # The same through the real input path (Pilot adds its own waits, equal for both sizes).
            await pilot.press("slash")
            pilot_keys = []
            for ch in "project 0004":
                t = time.perf_counter()
                await pilot.press(ch)
                pilot_keys.append(time.perf_counter() - t)

            shown.clear()
            target[:] = ["#dashboard-table", connections]
            t = time.perf_counter()
            await app.push_screen(DashboardScreen())
            await app.workers.wait_for_complete()
            await pilot.pause()
            board = app.screen.query_one(VirtualTable)
            assert board.total_count == connections and shown
            dashboard = shown[0] - t
            board_keys = await filter_keys(board, "conn-0004")
            t = time.perf_counter()
            gc.collect()
            collection = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "read_copy": read_copy,
        "read_toml": read_toml,
        "ready": ready,
        "key_median": statistics.median(keys),
        "key_max": max(keys),
        "pilot_key_median": statistics.median(pilot_keys),
        "dashboard": dashboard,
        "board_key_median": statistics.median(board_keys),
        "board_key_max": max(board_keys),
        "collection": collection,
        "rss_mb": rss,
    }


def launch_to_rows(sizes: list[tuple[int, int]], runs: int) -> list[float]:
    """Median seconds from spawning `kms-connect` to its first project row on a real terminal."""
    sys.path.insert(0, str(Path(__file__).parent))
    from startup import time_to_marker

    times: list[list[float]] = [[] for _ in sizes]
    with tempfile.TemporaryDirectory() as tmp:
        envs = []
        for i, (projects, connections) in enumerate(sizes):
            root = Path(tmp) / str(i)
            seed(root / "data" / "kms-connect", projects, connections)
            env = dict(
                os.environ,
                TERM="xterm-256color",
                LANG="C.UTF-8",
                XDG_DATA_HOME=f"{root}/data",
                XDG_CONFIG_HOME=f"{root}/config",
                XDG_STATE_HOME=f"{root}/state",
                PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
            )
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled .pyc files kept
            envs.append(env)
        argv = [sys.executable, "-m", "kms_connect"]
        for env in envs:  # warm the OS file cache and the .pyc files, outside the measurement
            time_to_marker(argv, [b"Project 00000"], env)
        for _ in range(runs):
            for i, env in enumerate(envs):
                times[i] += time_to_marker(argv, [b"Project 00000"], env)
    return [statistics.median(t) for t in times]


def run_one(projects: int, connections: int) -> dict[str, float]:
    """Each size in a fresh process, so peak memory (max RSS) is its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--one", str(projects), str(connections)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per figure, the median over runs (max RSS: the largest)."""
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out["rss_mb"] = max(r["rss_mb"] for r in runs)
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(asyncio.run(measure(int(sys.argv[2]), int(sys.argv[3])))))
        return
    runs = int(
        os.environ.get("RUNS", "5")
    )  # alternating sizes, each run in its own process: one run of ~0.1 s is too noisy to compare
    results: tuple[list[dict[str, float]], list[dict[str, float]]] = ([], [])
    for _ in range(runs):
        results[0].append(run_one(100, 50))
        results[1].append(run_one(10_000, 5_000))
    small, big = medians(results[0]), medians(results[1])
    print(f"medians of {runs} runs per size, alternating")
    for label, r in (("100 projects / 50 connections", small), ("10,000 projects / 5,000 connections", big)):
        print(
            f"{label}:\n"
            f"  store read: {r['read_copy'] * 1000:.0f} ms from the JSON copy, {r['read_toml'] * 1000:.0f} ms "
            f"from the TOML alone\n"
            f"  Projects: start to ready {r['ready'] * 1000:.0f} ms; filter key {r['key_median'] * 1000:.2f} ms "
            f"median, {r['key_max'] * 1000:.2f} ms max (through Pilot {r['pilot_key_median'] * 1000:.0f} ms)\n"
            f"  Dashboard: open to ready {r['dashboard'] * 1000:.0f} ms; filter key "
            f"{r['board_key_median'] * 1000:.2f} ms median, {r['board_key_max'] * 1000:.2f} ms max\n"
            f"  a full garbage collection then: {r['collection'] * 1000:.1f} ms\n"
            f"  max RSS {r['rss_mb']:.0f} MB"
        )
    print(
        f"ratios 10,000 vs 100 rows: Projects start to ready {big['ready'] / small['ready']:.2f}x, "
        f"dashboard open to ready {big['dashboard'] / small['dashboard']:.2f}x"
    )
    small_launch, big_launch = launch_to_rows([(100, 50), (10_000, 5_000)], runs=9)
    print(
        f"kms-connect launched in a pty until its first row shows (median of 9): 100 projects "
        f"{small_launch * 1000:.0f} ms, 10,000 projects {big_launch * 1000:.0f} ms, ratio "
        f"{big_launch / small_launch:.2f}x"
    )


if __name__ == "__main__":
    main()
