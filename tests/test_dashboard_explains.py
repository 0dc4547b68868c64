"""The status dashboard at 80×24 as a new operator meets it: every row says why it is as it is, in
full, and no notice covers that explanation or stays after its work is done."""

from __future__ import annotations

import asyncio
import threading

import pytest
from pydantic import SecretStr
from textual.notifications import Notify
from textual.widgets import Static

from kms_connect.core.azure.explain import entra_problem
from kms_connect.core.check_steps import TITLES
from kms_connect.core.check_target import CheckRun, CheckTarget
from kms_connect.core.checks import NoLiveChecks
from kms_connect.core.config import Settings, StatusSettings
from kms_connect.core.instances import Instance
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import CheckResult, CheckStep, ConnectionDraft, utcnow
from kms_connect.core.sources import open_source, save_instance
from kms_connect.core.status import Method, Status, StepState
from kms_connect.ui.app import KmsConnectApp
from kms_connect.ui.forms.access_token import AccessTokenForm
from kms_connect.ui.modals.connection_details import ConnectionDetailsModal
from kms_connect.ui.screens.dashboard import DashboardScreen
from kms_connect.ui.screens.projects import ProjectsScreen
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS
from ui_helpers import expired_pat_result, notices, screen_text, settle, static_text, wait_for_screen, wait_until

SIZE = (80, 24)
TRACE, CORRELATION = "85e3c4a1-7b2d-4e6f-9a80-1c2d3e4f5a6b", "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"


class HeldChecks:
    """Checks of the organization `fast` end at once with `result`; the others run until released."""

    def __init__(self, fast: str, result: CheckResult) -> None:
        self.fast, self.result = fast, result
        self.released = threading.Event()

    async def run(self, target: CheckTarget, listener: object = None) -> CheckRun:
        if target.org_name != self.fast:  # on the checks' own loop: a thread waits, not the loop
            await asyncio.to_thread(self.released.wait, 30)
        return CheckRun(self.result.model_copy(update={"checked_at": utcnow()}))


def pat(name: str, org: str) -> ConnectionDraft:
    return ConnectionDraft(
        name=name, method=Method.ACCESS_TOKEN, org_name=org, secrets={"access_token": SecretStr("x")}
    )


def entra_failure(explanation_repeats: int = 1) -> CheckResult:
    """A Conditional Access refusal, as the live check words it, Entra's IDs at its end."""
    problem = entra_problem(
        {"error": "invalid_grant", "error_codes": [53003], "trace_id": TRACE, "correlation_id": CORRELATION}
    )
    explanation = " ".join([problem.explanation] * explanation_repeats)
    step = CheckStep(
        key="token", title=TITLES["token"], state=StepState.FAILED, result=problem.result,
        explanation=f"{explanation} {problem.ids}", duration_ms=90,
    )  # fmt: skip
    return CheckResult(status=Status.FAILED, checked_at=utcnow(), summary=problem.result, steps=[step], duration_ms=90)


async def open_dashboard(pilot) -> DashboardScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("s")
    screen = await wait_for_screen(pilot, DashboardScreen)
    await settle(pilot)
    return screen


def detail_lines(screen: DashboardScreen) -> list[str]:
    widget = screen.query_one("#row-problem", Static)
    lines = [widget.render_line(y).text.strip() for y in range(widget.size.height)]
    return [line for line in lines if line]


async def test_a_recheck_and_a_notice_leave_the_rows_explanation_in_sight(paths) -> None:
    store = LocalStore(paths, Settings(status=StatusSettings(concurrency=2)))
    project = await store.create_project("Payments")
    for name in ("x-one", "y-two", "z-three"):  # after legacy-vsts: its check takes the first slot
        await store.create_connection(project.id, pat(name, "contoso"))
    legacy = await store.create_connection(project.id, pat("legacy-vsts", "fabrikam"))
    await store.record_check(legacy.id, expired_pat_result())
    checks = HeldChecks("fabrikam", expired_pat_result())
    app = KmsConnectApp(paths=paths, settings=store.settings, backend=store, checker=checks)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await open_dashboard(pilot)
            assert screen.table.move_cursor_to_key(legacy.id)
            await pilot.pause()
            await pilot.press("V")
            await wait_until(pilot, lambda: bool(detail_lines(screen)), "the cursor row's check, explained")
            await wait_until(pilot, lambda: "checking" in static_text(screen.query_one("#info", Static)), "the count")
            await pilot.pause()  # (not settle: it would wait for the held checks)
            shown = screen_text(app)
            lines = detail_lines(screen)
            assert lines[0].startswith("legacy-vsts · Credentials accepted: Token expired")
            assert all(line in shown for line in lines), shown
            # The progress is on the info line, counting down, not in a notice over the last lines.
            assert "… 3 checking, 2 at a time" in static_text(screen.query_one("#info", Static))
            assert not any("Checking" in n for n in notices(app))
            # A notice meanwhile shows at the top right, not over the explanation.
            app.notify("The automatic re-check could not list the connections. " * 4, markup=False)
            await wait_until(pilot, lambda: "The automatic re-check" in screen_text(app), "the notice")
            shown = screen_text(app)
            assert all(line in shown for line in detail_lines(screen)), shown
            assert "… 3 checking" in shown  # the info line too
            checks.released.set()
            await wait_until(pilot, app.checks.idle, "the other checks", 3000)
            await settle(pilot)
            assert "checking" not in static_text(screen.query_one("#info", Static))
    finally:
        checks.released.set()


async def test_app_connections_count_a_recheck_on_the_info_line(paths) -> None:
    from kms_connect.ui.screens.connections import ConnectionsScreen

    store = LocalStore(paths, Settings())
    project = await store.create_project("Payments")
    for name in ("one", "two"):
        await store.create_connection(project.id, pat(name, "contoso"))
    checks = HeldChecks("fabrikam", expired_pat_result())
    app = KmsConnectApp(paths=paths, settings=store.settings, backend=store, checker=checks)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            app.push_screen(ConnectionsScreen(project))
            screen = await wait_for_screen(pilot, ConnectionsScreen)
            await settle(pilot)
            await pilot.press("V")
            info = lambda: static_text(screen.query_one("#info", Static))  # noqa: E731
            await wait_until(pilot, lambda: "… 2 checking" in info(), "the count")
            assert info() == "2 connections · … 2 checking · Local store" and notices(app) == []
            checks.released.set()
            await wait_until(pilot, lambda: app.checks.idle() and "checking" not in info(), "the end of the run", 3000)
    finally:
        checks.released.set()


@pytest.mark.parametrize("repeats", [1, 6])
async def test_a_long_entra_explanation_is_readable_in_full_at_80x24(paths, repeats) -> None:
    store = LocalStore(paths, Settings())
    project = await store.create_project("Payments")
    conn = await store.create_connection(project.id, pat("ci-service-principal", "contoso"))
    await store.record_check(conn.id, entra_failure(repeats))
    app = KmsConnectApp(paths=paths, settings=store.settings, backend=store, checker=NoLiveChecks())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_dashboard(pilot)
        shown = screen_text(app)
        lines = detail_lines(screen)
        if repeats == 1:  # in full under the table: the Trace and Correlation IDs whole
            assert f"Trace ID {TRACE}" in " ".join(lines) and TRACE in shown and CORRELATION in shown
            assert len(lines) == 5 and "Blocked by Conditional Access" in shown  # (a 4-line cap cut the IDs)
        else:  # longer than half the screen: cut at a line's end, saying where it is in full
            assert len(lines) == SIZE[1] // 2 and lines[-1].startswith("… the rest: ⏎ (details)")
            await pilot.press("enter")
            details = await wait_for_screen(pilot, ConnectionDetailsModal)
            steps = details.query_one(".details-steps", Static)  # in full there (it scrolls)
            assert CORRELATION in " ".join(steps.render_line(y).text.strip() for y in range(steps.size.height))


async def test_an_instance_row_says_why_it_is_not_checked_and_no_check_is_promised(paths, kms, kms_identity) -> None:
    settings = Settings(status=StatusSettings(interval=60))  # rounds would skip every row of an instance
    local = LocalStore(paths, settings)
    save_instance(
        paths, settings, local, Instance(name="prod", url=kms.url, client_id=kms_identity.client_id),
        kms_identity.client_secret,
    )  # fmt: skip
    remote = kms.kms_world.add_connection(
        "ado-prod", "access-token", {"accessToken": "x", "orgName": "contoso-dev"}, project_id=SAMPLE_PAYMENTS
    )
    backend = open_source("prod", paths, settings, local)
    app = KmsConnectApp(paths=paths, settings=settings, backend=backend, local=local, source="prod")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_dashboard(pilot)
        detail = " ".join(detail_lines(screen))
        assert detail.startswith("ado-prod · Not checked here. The instance never returns credentials")
        assert "(App Connections → Credentials, key c) to check them here first." in detail
        info = static_text(screen.query_one("#info", Static))
        assert "? 1 not checkable" in info and "auto re-check off" in info and "next check" not in info
        await pilot.press("enter")  # the details' c replaces the credentials there, from the dashboard too
        await wait_for_screen(pilot, ConnectionDetailsModal)
        await pilot.press("c")
        form = await wait_for_screen(pilot, AccessTokenForm)
        assert form.existing is not None and form.existing.id == remote.id


async def test_opening_an_instance_says_so_until_it_is_open(paths, kms, kms_identity) -> None:
    settings = Settings()
    local = LocalStore(paths, settings)
    save_instance(
        paths, settings, local, Instance(name="prod", url=kms.url, client_id=kms_identity.client_id),
        kms_identity.client_secret,
    )  # fmt: skip
    posted: list[str] = []

    def hook(message: object) -> None:
        if isinstance(message, Notify):
            posted.append(message.notification.message)

    app = KmsConnectApp(paths=paths, settings=settings, backend=local, local=local)
    async with app.run_test(size=SIZE, notifications=True, message_hook=hook) as pilot:
        await settle(pilot)
        app.switch_source("prod")
        await wait_until(pilot, lambda: app.source == "prod", "the switch", 3000)
        await wait_for_screen(pilot, ProjectsScreen)
        await settle(pilot)
        assert "Opening instance prod…" in posted  # said while it opened
        assert not any("Opening" in n for n in notices(app))  # and gone once open, not 5 s later
        assert "Opening" not in screen_text(app)
        app.switch_source("nope")  # cannot open: the error stays, the progress goes
        await wait_until(pilot, lambda: any("Not switched" in n for n in notices(app)), "the refusal", 3000)
        await pilot.pause()
        assert not any("Opening" in n for n in notices(app)) and app.source == "prod"
