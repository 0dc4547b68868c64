"""Target projects and the write proof in the TUI, against the loopback simulators (issue 18)."""

from __future__ import annotations

from pydantic import SecretStr

from kms_connect.core.models import ConnectionDraft
from kms_connect.core.status import Method, Status
from kms_connect.core.write_proof import PROBE_PREFIX
from kms_connect.ui.forms.access_token import AccessTokenForm
from kms_connect.ui.modals.confirm import ConfirmModal
from kms_connect.ui.modals.connection_details import ConnectionDetailsModal
from kms_connect.ui.modals.project_picker import ProjectPickerModal
from kms_connect.ui.screens.connections import ConnectionsScreen
from test_ui_checks import SIZE, open_form, project_screen, sim_app  # noqa: F401 - the fixture, by name
from ui_helpers import (
    data_lines,
    fill,
    notices,
    screen_text,
    settle,
    static_text,
    type_text,
    wait_for_screen,
    wait_until,
)


def probes(sandbox) -> list[str]:  # type: ignore[no-untyped-def]
    return [g.name for g in sandbox.world.orgs["contoso-dev"].variable_groups if g.name.startswith(PROBE_PREFIX)]


async def test_the_form_picks_targets_checks_then_offers_the_proof_before_saving(sim_app, sample, sandbox) -> None:  # noqa: F811
    app = sim_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        form = await open_form(pilot, screen, AccessTokenForm, Method.ACCESS_TOKEN)
        await fill(pilot, form, "name", "vg-writer")
        await fill(pilot, form, "access_token", sample[1].pat_vg_manage.token, how="paste")
        await fill(pilot, form, "org_name", "contoso-dev")
        await pilot.press("ctrl+l")  # the projects, listed with the PAT just typed
        picker = await wait_for_screen(pilot, ProjectPickerModal)
        await wait_until(pilot, lambda: picker.projects is not None, "the listing")
        await type_text(pilot, "plat")
        await pilot.press("enter", "ctrl+s")
        await wait_for_screen(pilot, AccessTokenForm)
        assert "Target projects: Platform" in static_text(form.query_one("#targets"))
        await pilot.press("ctrl+s")  # the check: it passes, and the form offers the proof
        await wait_until(pilot, lambda: form.passed is not None, "the passing check", 3000)
        assert "^b proves write access in Platform" in static_text(form.query_one("#form-status"))
        assert form.query_one("#prove-write").display
        await pilot.press("ctrl+b")
        confirm = await wait_for_screen(pilot, ConfirmModal)
        assert "kms-connect-probe-" in screen_text(app) and "Platform" in screen_text(app)
        assert confirm is app.screen
        await pilot.press("y")
        await wait_for_screen(pilot, ConnectionsScreen, tries=3000)  # all writes passed: saved
        await settle(pilot)
        [conn] = await sim_app.store.list_connections(screen.project.id)
        assert conn.target_projects == ["Platform"]
        assert conn.last_check is not None and conn.last_check.write_proof is not None
        assert [(p.create, p.update, p.delete) for p in conn.last_check.write_proof] == [("ok", "ok", "ok")]
        assert probes(sandbox) == []


async def test_w_on_a_row_proves_after_asking_and_the_refusal_shows_in_the_row_and_details(
    sim_app,  # noqa: F811 - the fixture
    sample,
    sandbox,
) -> None:
    app = sim_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        draft = ConnectionDraft(
            name="vg-write-only", method=Method.ACCESS_TOKEN, org_name="contoso-dev",
            secrets={"access_token": SecretStr(sample[1].pat_vg_write.token)}, target_projects=["Platform"],
        )  # fmt: skip
        conn = await sim_app.store.create_connection(screen.project.id, draft)
        screen.reload()
        await settle(pilot)
        await pilot.press("w")
        await wait_for_screen(pilot, ConfirmModal)
        assert "vso.variablegroups_write but not vso.variablegroups_manage" in screen_text(app)  # said first
        await pilot.press("y")
        await wait_until(pilot, lambda: app.checks.idle() and conn.id in app.checks.live, "the proof", 3000)
        await settle(pilot)
        assert "! Warning" in data_lines(screen.table)[0]
        assert app.checks.live[conn.id].status is Status.WARNING
        [left] = probes(sandbox)  # the PAT could create, not delete: named, and recorded for the next proof
        assert [g.group for g in sim_app.store.probe_record.of(conn.id)] == [left]
        await pilot.press("enter")
        details = await wait_for_screen(pilot, ConnectionDetailsModal)
        shown = screen_text(app)
        assert "Write proof" in shown and "Platform: Variable Groups: create ✓ ok, update ✗ refused" in shown
        assert details is app.screen


async def test_w_without_targets_says_where_to_set_them(sim_app, sample) -> None:  # noqa: F811
    app = sim_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await project_screen(pilot, sim_app.store)
        draft = ConnectionDraft(
            name="no-targets", method=Method.ACCESS_TOKEN, org_name="contoso-dev",
            secrets={"access_token": SecretStr(sample[1].pat_ok.token)},
        )  # fmt: skip
        await sim_app.store.create_connection(screen.project.id, draft)
        screen.reload()
        await settle(pilot)
        await pilot.press("w")
        await wait_until(pilot, lambda: any("first: e (Edit) → Target projects" in n for n in notices(app)), "why")
        assert not isinstance(app.screen, ConfirmModal)


async def test_the_start_reports_probe_groups_an_earlier_run_may_have_left(sim_app) -> None:  # noqa: F811
    from kms_connect.core.models import LeftBehind

    url = "https://dev.azure.com/contoso-dev/Platform/_library?itemType=VariableGroups"
    sim_app.store.probe_record.add(
        "conn-1", LeftBehind(group="kms-connect-probe-0a1b2c3d", project="Platform", url=url)
    )
    app = sim_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: any("kms-connect-probe-0a1b2c3d" in n for n in notices(app)), "the report")
        assert any(url in n for n in notices(app))
