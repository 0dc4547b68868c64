"""Helpers shared by the UI tests (Pilot flows and snapshots).

Synchronisation: `settle` waits for the app's workers, then lets pending messages run. A worker
that waits on a modal (`push_screen_wait`) never finishes while the modal is open, so `settle`
leaves out the ones named in _WAITS_ON_SCREEN; `wait_for_screen` polls for a screen instead (each
poll is a Pilot pause, not a bare sleep).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import tomli_w
from rich.console import Console
from textual import events
from textual.screen import Screen
from textual.widgets import Input, Static

from conftest import FIXED  # 2026-01-15 09:30 UTC: older than a week, so tables show the date

if TYPE_CHECKING:
    from textual.app import App
    from textual.pilot import Pilot

    from kms_connect.core.paths import Paths
    from kms_connect.ui.widgets.virtual_table import VirtualTable

S = TypeVar("S", bound=Screen)

# Workers that wait on a modal screen: waiting for them would hang until the modal closes.
_WAITS_ON_SCREEN = {"_pick_method"}

# Valid-looking test values (none of them is a real credential).
GUID_TENANT = "11111111-2222-3333-4444-555555555555"
GUID_CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
GUID_OAUTH_APP = "99999999-8888-7777-6666-555555555555"
PAT = "pat0secret0value0abcdefghijklmnopqrstuvwxyz0123456789"
CLIENT_SECRET = "cs~Q8Q~secretValue.abcdefghijklmnopqrstuvwx"


# --- waiting -------------------------------------------------------------------------------------
async def settle(pilot: Pilot) -> None:
    """Wait for every worker that can finish on its own, then for pending messages."""
    app = pilot.app
    for _ in range(5):  # a finished worker may start another (save -> dismiss -> reload)
        await pilot.pause()
        pending = [w for w in app.workers if not w.is_finished and w.name not in _WAITS_ON_SCREEN]
        if not pending:
            break
        await app.workers.wait_for_complete(pending)
    await pilot.pause()


async def wait_until(pilot: Pilot, predicate: Callable[[], bool], what: str, tries: int = 1000) -> None:
    """Poll `predicate` between Pilot pauses (for work that finishes in a thread, e.g. keyring)."""
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def wait_for_screen(pilot: Pilot, screen_type: type[S], tries: int = 1000) -> S:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, screen_type), screen_type.__name__, tries)
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, screen_type)
    return screen


# --- typing --------------------------------------------------------------------------------------
async def type_text(pilot: Pilot, text: str) -> None:
    """Type `text` key by key into the focused widget."""
    await pilot.press(*text)


async def paste(pilot: Pilot, text: str) -> None:
    """Paste `text` into the focused widget the way a terminal does (one Paste event)."""
    focused = pilot.app.focused
    assert focused is not None, "nothing has the focus to paste into"
    focused.post_message(events.Paste(text))
    await pilot.pause()
    await pilot.pause()


async def fill(pilot: Pilot, screen: Screen, key: str, text: str, *, how: str = "type") -> Input:
    """Focus the input of form field `key` and type (or paste) `text` into it."""
    inp = screen.query_one(f"#input-{key}", Input)
    inp.focus()
    await pilot.pause()
    if how == "type":
        await type_text(pilot, text)
    else:
        await paste(pilot, text)
    await pilot.pause()
    return inp


# --- reading the screen --------------------------------------------------------------------------
def screen_text(app: App) -> str:
    """Plain text of what the terminal shows now (every screen layer, like a screenshot)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def table_lines(table: VirtualTable) -> list[str]:
    """Rendered lines of a VirtualTable: the header, then the rows on screen."""
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


def data_lines(table: VirtualTable) -> list[str]:
    return [line for line in table_lines(table)[1:] if line.strip()]


def static_text(widget: Static) -> str:
    """The plain text a Static shows (markup resolved)."""
    visual = widget.visual
    plain = getattr(visual, "plain", None)
    return plain if isinstance(plain, str) else str(widget.content)


def message_of(screen: Screen, key: str) -> str:
    """The message line under form field `key` ('' when hidden)."""
    from kms_connect.ui.widgets.form_field import FormField

    field = screen.query_one(f"#field-{key}", FormField)
    message = field.query_one(".field-message", Static)
    return static_text(message) if message.display else ""


def notices(app: App) -> list[str]:
    return [f"{n.title}: {n.message}" if n.title else n.message for n in app._notifications]


# --- fixed check results (snapshots and screenshots must not depend on timing or random IDs) ----
def expired_pat_result():  # type: ignore[no-untyped-def]
    """What the live check says about an expired PAT, with fixed durations."""
    from kms_connect.core.check_steps import TITLES, WRITE_NOTE
    from kms_connect.core.models import CheckResult, CheckStep
    from kms_connect.core.status import Status, StepState

    def step(
        key: str, state: StepState, result: str, explanation: str = "", ms: int | None = None, field: str | None = None
    ) -> CheckStep:
        return CheckStep(
            key=key, title=TITLES[key], state=state, result=result, explanation=explanation, duration_ms=ms, field=field
        )

    steps = [
        step("org", StepState.OK, "fabrikam is reachable (tenant c0a75050-1d2e-4f60-8a9b-5e6f7a8b9c01)", ms=112),
        step(
            "credentials",
            StepState.FAILED,
            "Token expired",
            "This personal access token has expired. Create a "
            "new one (User settings → Personal access tokens) and paste it here. (ActivityId 5d1c…)",
            118,
            "access_token",
        ),
        step("projects", StepState.SKIPPED, "Not run: the credentials were not accepted"),
        step("variablegroups", StepState.SKIPPED, "Not run: needs a readable project"),
        step("serviceendpoints", StepState.SKIPPED, "Not run: needs a readable project"),
        step("release", StepState.SKIPPED, "Not run: needs a readable project"),
        step("write", StepState.SKIPPED, "Not proven (read-only checks)", WRITE_NOTE),
    ]
    return CheckResult(
        status=Status.FAILED,
        checked_at=FIXED,
        summary="Credentials accepted: Token expired",
        steps=steps,
        duration_ms=131,
    )


# --- seeded store --------------------------------------------------------------------------------

PROJECT_IDS = {
    "Payments Platform": "00000000-0000-4000-8000-000000000001",
    "Data Lake": "00000000-0000-4000-8000-000000000002",
    "Internal Tools": "00000000-0000-4000-8000-000000000003",
}


def seed_store(
    paths: Paths, keyring_data: dict[tuple[str, str], str] | None = None, *, connections: bool = True
) -> dict[str, str]:
    """Write a store file with fixed ids and dates (stable screenshots); secrets go in the keyring.

    Returns name -> id for every project and connection written.
    """
    projects = [
        {
            "id": pid,
            "name": name,
            "slug": name.lower().replace(" ", "-"),
            "description": "",
            "created_at": FIXED + timedelta(minutes=i),
        }
        for i, (name, pid) in enumerate(PROJECT_IDS.items())
    ]
    pay = PROJECT_IDS["Payments Platform"]
    conns: list[dict[str, object]] = []
    if connections:
        conns = [
            {
                "id": "10000000-0000-4000-8000-000000000001",
                "project_id": pay,
                "name": "prod-release",
                "description": "Release pipelines of the production org",
                "app": "azure-devops",
                "method": "access-token",
                "org_name": "contoso",
                "secrets": {"access_token": "keyring"},
                "created_at": FIXED,
                "updated_at": FIXED,
            },
            {
                "id": "10000000-0000-4000-8000-000000000002",
                "project_id": pay,
                "name": "ci-service-principal",
                "description": "",
                "app": "azure-devops",
                "method": "client-secret",
                "org_name": "contoso-ci",
                "tenant_id": GUID_TENANT,
                "client_id": GUID_CLIENT,
                "secrets": {"client_secret": "keyring"},
                "last_check": {"status": "valid", "checked_at": FIXED, "summary": "All checks passed."},
                "created_at": FIXED,
                "updated_at": FIXED + timedelta(hours=2),
            },
            {
                "id": "10000000-0000-4000-8000-000000000003",
                "project_id": pay,
                "name": "legacy-vsts",
                "description": "",
                "app": "azure-devops",
                "method": "access-token",
                "org_name": "fabrikam",
                "secrets": {"access_token": "keyring"},
                "last_check": expired_pat_result().model_dump(mode="python", exclude_none=True),
                "created_at": FIXED,
                "updated_at": FIXED,
            },
            {
                "id": "10000000-0000-4000-8000-000000000004",
                "project_id": PROJECT_IDS["Data Lake"],
                "name": "lake-sync",
                "description": "",
                "app": "azure-devops",
                "method": "access-token",
                "org_name": "contoso",
                "secrets": {"access_token": "keyring"},
                "created_at": FIXED,
                "updated_at": FIXED,
            },
        ]
    doc = {"version": 1, "projects": projects, "connections": conns, "app_secrets": {}, "notices_shown": []}
    paths.store_file.parent.mkdir(parents=True, exist_ok=True)
    paths.store_file.write_bytes(tomli_w.dumps(doc).encode("utf-8"))
    if keyring_data is not None:
        for conn in conns:
            for field in conn["secrets"]:  # type: ignore[union-attr]
                keyring_data[("kms-connect", f"connection/{conn['id']}/{field}")] = f"seeded-{conn['name']}-{field}"
    ids = dict(PROJECT_IDS.items())
    ids.update({str(c["name"]): str(c["id"]) for c in conns})
    return ids


def no_blink(app: App) -> None:
    """Stop every Input cursor blinking so screenshots do not depend on timing."""
    for screen in app.screen_stack:
        for inp in screen.query(Input):
            inp.cursor_blink = False


def stable_path(tmp_path: Path) -> Paths:
    """Paths whose config file (shown in the OAuth 'unavailable' text) is the same on every machine."""
    from kms_connect.core.paths import Paths

    return Paths(
        config_file=Path("/home/operator/.config/kms-connect/config.toml"),
        data_dir=tmp_path / "data",
        state_dir=tmp_path / "state",
    )


async def answer(pilot: Pilot, key: str) -> None:
    """Answer the question on screen (a ConfirmModal) with `key`, once it has shown: keys typed
    before it showed are dropped on purpose (ui/input_gate.py)."""
    from kms_connect.ui.modals.confirm import ConfirmModal

    question = await wait_for_screen(pilot, ConfirmModal)
    await wait_until(pilot, lambda: question.seen_at is not None, "the question on screen")
    await pilot.press(key)
