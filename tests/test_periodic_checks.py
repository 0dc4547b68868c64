"""The periodic re-check ([status] interval), with Pilot, against the loopback simulators."""

from __future__ import annotations

import contextlib

from pydantic import SecretStr

from kms_connect.core.config import AzureSettings, Settings, StatusSettings
from kms_connect.core.live_check import LiveChecker
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import ConnectionDraft
from kms_connect.core.status import Method, Status
from kms_connect.demo import build_demo
from kms_connect.ui.app import KmsConnectApp
from kms_connect.ui.screens.dashboard import DashboardScreen
from ui_helpers import screen_text, settle, wait_for_screen, wait_until


async def test_a_round_rechecks_every_connection_and_rounds_never_pile_up(sandbox, sample, paths) -> None:
    settings = Settings(
        azure=AzureSettings(
            authority_host=sandbox.authority_host,
            devops_url=sandbox.devops_url,
            release_url=sandbox.release_url,
            ca_bundle=sandbox.ca_bundle,
        ),
        status=StatusSettings(interval=600),
    )
    store = LocalStore(paths, settings)
    project = await store.create_project("payments")
    for name in ("one", "two", "three"):
        await store.create_connection(
            project.id,
            ConnectionDraft(
                name=name,
                method=Method.ACCESS_TOKEN,
                org_name=sample[1].org.name,
                secrets={"access_token": SecretStr(sample[1].pat_ok.token)},
            ),
        )
    app = KmsConnectApp(paths=paths, settings=settings, backend=store, checker=LiveChecker(settings))

    def connection_data() -> tuple[int, int]:  # (signed in, anonymous)
        calls = sandbox.devops.requests_to("connectionData")
        signed = sum(1 for r in calls if "authorization" in r.headers)
        return signed, len(calls) - signed

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.periodic.describe() == "next check in 10 min"
        await pilot.press("s")
        await wait_for_screen(pilot, DashboardScreen)
        await settle(pilot)
        assert "next check in 10 min" in screen_text(app)
        # Slow answers keep the round running while the timer fires again.
        sandbox.devops.inject("connectionData", status=0, times=3, delay=0.5)
        app.periodic.run_round()
        await wait_until(pilot, lambda: app.checks.running_count() == 3, "the round to start")
        assert app.periodic.describe() == "auto re-check running"
        app.periodic.run_round()  # still running: skipped, not stacked
        await wait_until(pilot, lambda: app.checks.idle(), "the round to finish", 5000)
        assert app.periodic.rounds == 1
        # connectionData: once signed in per check (credentials); anonymous (the organization's tenant)
        # once for the three checks of one organization.
        assert connection_data() == (3, 1)
        checked = {c.name: c.status for _, c in await store.list_all_connections()}
        assert checked == {"one": Status.VALID, "two": Status.VALID, "three": Status.VALID}
        app.periodic.run_round()  # the last round is over: this one goes
        await wait_until(pilot, lambda: app.periodic.rounds == 2 and app.checks.idle(), "the second round", 5000)
        assert connection_data() == (6, 1)  # the tenant answer is still fresh (ORG_LOOKUP_TTL)


async def test_the_demo_rechecks_by_itself_and_an_instance_says_why_not(tmp_path) -> None:
    with contextlib.ExitStack() as stack:
        app = build_demo(tmp_path, stack)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for_screen(pilot, DashboardScreen)
            await wait_until(pilot, lambda: len(app.checks.live) == 9 and app.checks.idle(), "the checks", 3000)
            assert app.periodic.interval == 60
            app.switch_source("demo-kms")
            await wait_until(pilot, lambda: app.source == "demo-kms", "the switch", 3000)
            # No next check is promised: before any round, the info line says there will be none.
            assert app.periodic.describe() == "auto re-check off: no credentials here"
            app.periodic.run_round()
            await wait_until(pilot, lambda: bool(app.periodic.problem), "the round to give up")
            assert app.periodic.describe() == "auto re-check off: no credentials here"
            assert app.periodic.rounds == 0 and app.checks.idle()
