"""Regenerate screenshots/*.svg from the real app (80x24), on a throwaway local store.

    python scripts/screenshots.py [--out screenshots]

Secrets typed here are fake, and masked on screen as always.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

SIZE = (80, 24)
OAUTH_CLIENT_ID = "5d1a8c3e-2b4f-4e6a-9c7d-0e1f2a3b4c5d"


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


async def _seed(store) -> None:  # type: ignore[no-untyped-def]
    from pydantic import SecretStr

    from kms_connect.core.models import ConnectionDraft
    from kms_connect.core.status import Method

    payments = await store.create_project("Payments Platform", "Card and ledger services")
    await store.create_project("Data Warehouse")
    await store.create_project("Internal Tools")
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    drafts = [
        ConnectionDraft(name="release-pat", method=Method.ACCESS_TOKEN, org_name="contoso",
                        secrets={"access_token": SecretStr("fake-pat-for-screenshots-0001")}),
        ConnectionDraft(name="pipelines-sp", method=Method.CLIENT_SECRET, org_name="contoso", tenant_id=tenant,
                        client_id="0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
                        secrets={"client_secret": SecretStr("fake-secret-for-screenshots~0002")}),
        ConnectionDraft(name="fabrikam-pat", description="Vendor org", method=Method.ACCESS_TOKEN,
                        org_name="fabrikam", secrets={"access_token": SecretStr("fake-pat-for-screenshots-0003")}),
    ]
    for draft in drafts:
        await store.create_connection(payments.id, draft)


Shot = Callable[[object, object], Awaitable[None]]


async def _run(out: Path) -> list[Path]:
    from kms_connect.core.config import Settings
    from kms_connect.core.local_store import LocalStore
    from kms_connect.core.paths import default_paths
    from kms_connect.ui.app import KmsConnectApp

    written: list[Path] = []

    async def shoot(name: str, seed: bool, keys: list[str], env: dict[str, str] | None = None) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            _isolate(Path(tmp))
            os.environ.update(env or {})
            paths = default_paths()
            settings = Settings()
            store = LocalStore(paths, settings)
            if seed:
                await _seed(store)
            app = KmsConnectApp(paths=paths, settings=settings, backend=store)
            async with app.run_test(size=SIZE) as pilot:
                await app.workers.wait_for_complete()
                await pilot.pause()
                for key in keys:
                    await pilot.press(key)
                    await pilot.pause()
                    await app.workers.wait_for_complete()
                    await pilot.pause()
                path = out / f"{name}.svg"
                path.write_text(app.export_screenshot(title=f"kms-connect · {name}"))
                written.append(path)
            for key in env or {}:
                os.environ.pop(key, None)

    oauth = {"INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID": OAUTH_CLIENT_ID}
    await shoot("projects-empty", False, [])
    await shoot("projects", True, [])
    await shoot("new-project", True, ["n", *"Mobile Apps"])
    await shoot("delete-project", True, ["d"])
    await shoot("connections", True, ["end", "enter"])
    await shoot("connection-details", True, ["end", "enter", "down", "enter"])
    await shoot("method-picker", True, ["end", "enter", "a"])
    await shoot("method-picker-oauth", True, ["end", "enter", "a"], oauth)
    await shoot("form-access-token", True, ["end", "enter", "a", "2", *"build-pat", "tab", "tab", *"fake-token-value"])
    await shoot("form-client-secret", True, ["end", "enter", "a", "3"])
    await shoot("form-client-secret-errors", True,
                ["end", "enter", "a", "3", *"Build SP", "tab", "tab", *"not-a-guid", "ctrl+s"])
    await shoot("form-oauth", True, ["end", "enter", "a", "1"], oauth)
    await shoot("edit-connection", True, ["end", "enter", "e"])
    await shoot("replace-credentials", True, ["end", "enter", "c"])
    await shoot("help", True, ["question_mark"])
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
