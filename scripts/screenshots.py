"""Regenerate screenshots/*.svg from the real app (80x24), on the demo's workspace.

    python scripts/screenshots.py [--out screenshots]

Each shot starts `kms-connect demo`'s throwaway workspace (build_demo): live checks and sign-ins talk
to its loopback Entra ID / Azure DevOps / Hanzo KMS simulators (real HTTPS, real msal), so what the
screenshots show is what the demo shows. The few shots the demo cannot give (an empty store, no OAuth
app configured) use an empty local store. Secrets here are simulated, and masked on screen as always.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

SIZE = (80, 24)


def _isolate(tmp: Path) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        os.environ[name] = str(tmp / name.lower())
    os.environ.pop("KMS_CONNECT_CONFIG", None)
    os.environ.pop("INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID", None)
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]
        data: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.data.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.data[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.data.pop((service, username), None)

    keyring.set_keyring(MemoryKeyring())


async def _run(out: Path) -> list[Path]:
    from kms_connect.core.config import Settings
    from kms_connect.core.local_store import LocalStore
    from kms_connect.core.paths import default_paths
    from kms_connect.demo import build_demo
    from kms_connect.ui.app import KmsConnectApp

    written: list[Path] = []

    async def idle(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        for _ in range(3000):
            waiting = [w for w in app.workers if not w.is_finished and w.group not in ("oauth-signin",)]
            if not waiting and app.checks.idle():
                break
            await pilot.pause(0.01)
        await pilot.pause()

    def until(selector: str):  # type: ignore[no-untyped-def]
        async def wait(pilot) -> None:  # type: ignore[no-untyped-def]
            for _ in range(3000):
                if pilot.app.screen.query(selector):
                    break
                await pilot.pause(0.01)
            await pilot.pause()

        return wait

    async def shoot(
        name: str, keys: list, *, demo: bool = True, dashboard: bool = False, project: str | None = None
    ) -> None:
        """`demo` False: an empty local store with no OAuth app (and `project`, if given)."""
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            _isolate(Path(tmp))
            if demo:
                app = build_demo(Path(tmp) / "demo", stack, open_dashboard=dashboard)
            else:
                paths, settings = default_paths(), Settings()
                store = LocalStore(paths, settings)
                if project:
                    await store.create_project(project)
                app = KmsConnectApp(paths=paths, settings=settings, backend=store)
            async with app.run_test(size=SIZE) as pilot:
                await idle(pilot)
                if demo:
                    app.periodic.configure(0)  # a screenshot has no "next check in …" countdown
                for key in keys:
                    if callable(key):
                        await key(pilot)
                        continue
                    await pilot.press(key)
                    await pilot.pause()
                    await idle(pilot)
                for inp in app.screen.query("Input"):
                    inp.cursor_blink = False
                path = out / f"{name}.svg"
                path.write_text(app.export_screenshot(title=f"kms-connect · {name}"))
                written.append(path)

    payments = ["end", "enter"]  # the demo's Payments Platform, last by name
    checked = [*payments, "V", idle]
    await shoot("dashboard", [idle], dashboard=True)
    await shoot("dashboard-failing", [idle, "f", "down"], dashboard=True)
    await shoot("projects-empty", [], demo=False)
    await shoot("projects", [])
    await shoot("new-project", ["n", *"Mobile Apps"])
    await shoot("delete-project", ["d"])
    await shoot("connections", checked)
    await shoot("connection-details", [*checked, "end", "enter"])
    await shoot("method-picker", ["enter", "a"], demo=False, project="Payments Platform")
    await shoot("method-picker-oauth", [*payments, "a"])
    await shoot("form-access-token", [*payments, "a", "2", *"build-pat", "tab", "tab", *"fake-token-value"])
    await shoot(
        "form-access-token-failed",
        [
            *payments,
            "a",
            "2",
            *"vendor",
            "tab",
            "tab",
            *"expired-pat-value",
            "tab",
            "tab",
            *"contoso-dev",
            "ctrl+s",
            until("#save-anyway"),
            idle,
        ],
    )
    await shoot("form-client-secret", [*payments, "a", "3"])
    await shoot("form-client-secret-errors", [*payments, "a", "3", *"Build SP", "tab", "tab", *"not-a-guid", "ctrl+s"])
    await shoot("form-oauth", [*payments, "a", "1"])
    await shoot(
        "oauth-device-code",
        [
            *payments,
            "a",
            "1",
            *"bob-oauth",
            "tab",
            "tab",
            *"contoso.onmicrosoft.com",
            "tab",
            *"contoso-dev",
            "ctrl+s",
            until("#user-code"),
        ],
    )
    await shoot("edit-connection", [*payments, "e"])
    await shoot("replace-credentials", [*payments, "c"])
    await shoot("sources", ["i"])

    async def jobs_done(pilot) -> None:  # type: ignore[no-untyped-def]
        """The demo instance's sync jobs run by themselves: the shot shows where they end."""
        await asyncio.to_thread(pilot.app.kms.wait_for_jobs, 30)
        await pilot.press("r")
        await idle(pilot)

    instance = ["i", "down", "enter", idle]  # the demo instance, its Payments project first by name
    syncs = [*instance, "enter", "y", idle, jobs_done]
    await shoot("syncs", syncs, dashboard=False)
    new_sync_rest = ["tab", "tab", "tab", *"Payments", "tab", *"KMS_{{secretKey}}", "tab", "tab"]
    await shoot(
        "sync-form",
        [*syncs, "a", idle, *"payments-staging", "tab", "enter", "down", "down", "enter", *new_sync_rest],
        dashboard=False,
    )
    await shoot("sync-delete", [*syncs, "d"], dashboard=False)
    await shoot("sync-failed", [*instance, "down", "enter", "y", idle, jobs_done, "enter"], dashboard=False)
    await shoot("help", ["question_mark"])
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(_run(args.out)):
        print(path)


if __name__ == "__main__":
    main()
