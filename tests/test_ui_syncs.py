"""The Secret Syncs screen on an instance (`y` on App Connections), against the KMS simulator whose
sync jobs really write the simulated Azure DevOps variable groups (issue 19, first step)."""

from __future__ import annotations

from kms_connect.ui.modals.confirm import ConfirmModal
from kms_connect.ui.modals.notice import NoticeModal
from kms_connect.ui.screens.connections import ConnectionsScreen
from kms_connect.ui.screens.projects import ProjectsScreen
from kms_connect.ui.screens.syncs import SyncsScreen
from kms_connect_sim.kms_sync_sample import add_sample_syncs
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS, SAMPLE_PLATFORM
from test_ui_instances import add_instance, make_app, world  # noqa: F401 - the fixture, by name
from ui_helpers import data_lines, notices, screen_text, settle, wait_for_screen, wait_until

SIZE = (80, 24)


def flat(app) -> str:  # type: ignore[no-untyped-def]
    """The screen's words with a dialog's borders taken out: its text wraps inside them."""
    text = screen_text(app)
    for border in "│╭╮╰╯─":
        text = text.replace(border, " ")
    return " ".join(text.split())


async def open_syncs(pilot, app, project_id: str) -> SyncsScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ProjectsScreen)
    assert screen.table.move_cursor_to_key(project_id)
    await pilot.press("enter")
    await wait_for_screen(pilot, ConnectionsScreen)
    await settle(pilot)
    await pilot.press("y")
    syncs = await wait_for_screen(pilot, SyncsScreen)
    await wait_until(pilot, lambda: bool(syncs.syncs) or syncs.table.display is False, "the listing", 3000)
    await settle(pilot)
    return syncs


async def test_syncs_show_their_status_and_a_failure_in_words(world, paths, kms, kms_identity, sample) -> None:  # noqa: F811
    settings, local = world
    add_instance(paths, settings, local, kms, kms_identity)
    add_sample_syncs(kms.kms_world, sample[1])
    kms.run_jobs()  # one succeeded, one failed for a missing Library role
    app = make_app(paths, settings, local, "prod")
    async with app.run_test(size=SIZE) as pilot:
        syncs = await open_syncs(pilot, app, SAMPLE_PLATFORM)
        [row] = data_lines(syncs.table)
        assert "platform-dev" in row and "✗ Failed" in row
        await pilot.press("enter")
        await wait_for_screen(pilot, NoticeModal)
        shown = flat(app)
        assert "Pipelines → Library → Security" in shown and "Creator" in shown


async def test_t_warns_then_runs_and_follows_the_job_to_its_end(world, paths, kms, kms_identity, sample) -> None:  # noqa: F811
    settings, local = world
    add_instance(paths, settings, local, kms, kms_identity)
    add_sample_syncs(kms.kms_world, sample[1])
    kms.run_jobs()  # the first runs, queued as the syncs were made
    kms.kms_world.sync_jobs = "on-poll"  # from now on each read of the sync moves its job a step
    app = make_app(paths, settings, local, "prod")
    async with app.run_test(size=SIZE) as pilot:
        syncs = await open_syncs(pilot, app, SAMPLE_PAYMENTS)
        [row] = data_lines(syncs.table)
        assert "payments-prod" in row and "✓ Succeeded" in row
        before = syncs.syncs[next(iter(syncs.syncs))].last_job_id
        await pilot.press("t")
        await wait_for_screen(pilot, ConfirmModal)
        said = flat(app)
        assert "will be created, or replaced with exactly the secrets of" in said
        assert "Variables in it that are not in KMS will be deleted." in said
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: "Pending" in data_lines(syncs.table)[0] or "Running" in data_lines(syncs.table)[0],
            "the job",
            3000,
        )
        await wait_until(
            pilot, lambda: not syncs.watching and "✓ Succeeded" in data_lines(syncs.table)[0], "its end", 5000
        )
        assert syncs.syncs[next(iter(syncs.syncs))].last_job_id != before  # a new job ran, and was followed


async def test_the_local_store_says_it_has_no_syncs(world, paths) -> None:  # noqa: F811
    settings, local = world
    project = await local.create_project("Payments")
    app = make_app(paths, settings, local)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.push_screen(ConnectionsScreen(project))
        await wait_for_screen(pilot, ConnectionsScreen)
        await settle(pilot)
        await pilot.press("y")
        await wait_until(pilot, lambda: any("The local store has no Secret Syncs" in n for n in notices(app)), "why")
        assert not isinstance(app.screen, SyncsScreen)


async def test_a_job_under_way_when_listed_is_followed_to_its_end(world, paths, kms, kms_identity, sample) -> None:  # noqa: F811
    settings, local = world
    add_instance(paths, settings, local, kms, kms_identity)
    add_sample_syncs(kms.kms_world, sample[1])  # its first job queued, not run
    kms.kms_world.sync_jobs = "on-poll"  # each read of the sync moves its job a step
    app = make_app(paths, settings, local, "prod")
    async with app.run_test(size=SIZE) as pilot:
        syncs = await open_syncs(pilot, app, SAMPLE_PAYMENTS)  # listed pending (a listing moves no job)
        await wait_until(  # nothing pressed: followed
            pilot, lambda: not syncs.watching and "✓ Succeeded" in data_lines(syncs.table)[0], "its end", 8000
        )
