"""Regenerate screenshots/*.svg from the real app (80x24), on a throwaway local store.

    python scripts/screenshots.py [--out screenshots]

Live checks and sign-ins talk to the loopback Entra ID / Azure DevOps simulators (real HTTPS, real
msal), so what the screenshots show is what the app does. Secrets here are simulated, and masked on
screen as always.
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


async def _seed(store, sample) -> None:  # type: ignore[no-untyped-def]
    from pydantic import SecretStr

    from kms_connect.core.models import ConnectionDraft
    from kms_connect.core.status import Method

    payments = await store.create_project("Payments Platform", "Card and ledger services")
    await store.create_project("Data Warehouse")
    await store.create_project("Internal Tools")
    org, tenant = sample.org.name, sample.tenant.id
    drafts = [
        ConnectionDraft(name="release-pat", method=Method.ACCESS_TOKEN, org_name=org,
                        secrets={"access_token": SecretStr(sample.pat_ok.token)}),
        ConnectionDraft(name="pipelines-sp", method=Method.CLIENT_SECRET, org_name=org, tenant_id=tenant,
                        client_id=sample.sp_app.client_id, secrets={"client_secret": SecretStr(sample.sp_secret)}),
        ConnectionDraft(name="vars-only-pat", description="No Release scope", method=Method.ACCESS_TOKEN,
                        org_name=org, secrets={"access_token": SecretStr(sample.pat_no_release.token)}),
        ConnectionDraft(name="vendor-pat", description="Vendor org", method=Method.ACCESS_TOKEN,
                        org_name=org, secrets={"access_token": SecretStr(sample.pat_expired.token)}),
    ]
    for draft in drafts:
        await store.create_connection(payments.id, draft)


Shot = Callable[[object, object], Awaitable[None]]


async def _run(out: Path) -> list[Path]:
    from kms_connect.core.config import AzureSettings, OAuthSettings, Settings
    from kms_connect.core.local_store import LocalStore
    from kms_connect.core.paths import default_paths
    from kms_connect.core.simulators.sandbox import Sandbox
    from kms_connect.ui.app import KmsConnectApp

    written: list[Path] = []
    sims_dir = tempfile.TemporaryDirectory()
    box = Sandbox(Path(sims_dir.name))
    box.start()
    sample = box.sample
    assert sample is not None

    async def idle(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        for _ in range(3000):
            waiting = [w for w in app.workers if not w.is_finished and w.group != "oauth-signin"]
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

    async def shoot(name: str, seed: bool, keys: list, env: dict[str, str] | None = None,
                    oauth: bool = False) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            _isolate(Path(tmp))
            os.environ.update(env or {})
            paths = default_paths()
            azure = AzureSettings(authority_host=box.authority_host, devops_url=box.devops_url,
                                  release_url=box.release_url, ca_bundle=box.ca_bundle)
            settings = Settings(azure=azure, oauth=OAuthSettings(client_id=sample.oauth_app.client_id if oauth else None))
            store = LocalStore(paths, settings)
            if seed:
                await _seed(store, sample)
            app = KmsConnectApp(paths=paths, settings=settings, backend=store)
            async with app.run_test(size=SIZE) as pilot:
                await idle(pilot)
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
            for key in env or {}:
                os.environ.pop(key, None)

    try:
        checked = ["end", "enter", "V", idle]
        await shoot("projects-empty", False, [])
        await shoot("projects", True, [])
        await shoot("new-project", True, ["n", *"Mobile Apps"])
        await shoot("delete-project", True, ["d"])
        await shoot("connections", True, checked)
        await shoot("connection-details", True, [*checked, "end", "enter"])
        await shoot("method-picker", True, ["end", "enter", "a"])
        await shoot("method-picker-oauth", True, ["end", "enter", "a"], oauth=True)
        await shoot("form-access-token", True, ["end", "enter", "a", "2", *"build-pat", "tab", "tab", *"fake-token-value"])
        await shoot("form-access-token-failed", True, ["end", "enter", "a", "2", *"vendor", "tab", "tab",
                                                       *sample.pat_expired.token, "tab", "tab", *sample.org.name,
                                                       "ctrl+s", until("#save-anyway"), idle])
        await shoot("form-client-secret", True, ["end", "enter", "a", "3"])
        await shoot("form-client-secret-errors", True,
                    ["end", "enter", "a", "3", *"Build SP", "tab", "tab", *"not-a-guid", "ctrl+s"])
        await shoot("form-oauth", True, ["end", "enter", "a", "1"], oauth=True)
        await shoot("oauth-device-code", True, ["end", "enter", "a", "1", *"alice-oauth", "tab", "tab",
                                                *"contoso.onmicrosoft.com", "tab", *sample.org.name, "ctrl+s",
                                                until("#user-code")], oauth=True)
        await shoot("edit-connection", True, ["end", "enter", "e"])
        await shoot("replace-credentials", True, ["end", "enter", "c"])
        await shoot("help", True, ["question_mark"])
    finally:
        box.stop()
        sims_dir.cleanup()
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
