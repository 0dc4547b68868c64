"""The Textual App: global keys, the palette, and the backend the screens talk to."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import SystemCommand
from textual.binding import Binding
from textual.driver import Driver
from textual.notifications import Notification, Notify, SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from kms_connect import APP_NAME
from kms_connect.core.errors import StoreError
from kms_connect.core.keymap import read_keys, with_twins
from kms_connect.core.paths import default_paths
from kms_connect.ui.check_updates import CheckUpdates
from kms_connect.ui.errors import describe, write_crash_report
from kms_connect.ui.exit_signals import ExitSignals, hold_exit_signals
from kms_connect.ui.input_gate import InputGate
from kms_connect.ui.key_display import with_key_hints
from kms_connect.ui.modals.help import HelpScreen
from kms_connect.ui.modals.notice import NoticeModal
from kms_connect.ui.periodic_checks import PeriodicChecks
from kms_connect.ui.resources import stylesheet_paths
from kms_connect.ui.screens.projects import ProjectsScreen
from kms_connect.ui.screens.table_screen import TableScreen
from kms_connect.ui.textual_internals import RedactedCrashes, hangup_safe_driver, withdraw_notification

CLOSE_WAIT = 2.0  # seconds an exit waits for the checks' connections to close
OPEN_LIMIT = 30.0  # seconds a dialog saves while the store is still opening (a keyring that hangs)

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from kms_connect.core.backend import Backend
    from kms_connect.core.check_runner import CheckRunner, LiveCheck
    from kms_connect.core.checks import Checker
    from kms_connect.core.config import Settings
    from kms_connect.core.local_store import LocalStore
    from kms_connect.core.paths import Paths
    from kms_connect.core.workspace import Workspace


class KmsConnectApp(RedactedCrashes):
    TITLE = APP_NAME
    CSS_PATH: ClassVar[list[str | PurePath]] = [*stylesheet_paths()]
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("question_mark,f1", "help", "Help", id="app.help", key_display="?"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, id="app.palette"),
    ]

    def __init__(
        self,
        paths: Paths | None = None,
        *,
        backend: Backend | None = None,
        settings: Settings | None = None,
        checker: Checker | None = None,
        source: str = "local",
        local: LocalStore | None = None,
        on_ready: Callable[[KmsConnectApp], None] | None = None,
    ) -> None:
        super().__init__()
        self.on_ready = on_ready  # e.g. the demo opens the status dashboard
        self.banner = ""  # added to the header's source label (the demo: " · SIMULATED")
        self.wanted_source = source  # "local" or an instance name, until the workspace is open
        # Over SSH, animations cost bandwidth and feel laggy.
        self.animation_level = "none"
        self.paths = paths
        self.settings: Settings | None = settings
        # What the app works on (core/workspace): None until the source is open. Given (tests,
        # scripts, the demo), it is open at once.
        self.workspace: Workspace | None = None
        if backend is not None:
            assert paths is not None and settings is not None
            from kms_connect.core.workspace import Workspace  # noqa: PLC0415 - given: already loaded

            store = local or backend
            self.workspace = Workspace(paths, settings, store, source, backend)  # type: ignore[arg-type]
        self.checker: Checker | None = checker
        self.load_error: str | None = None
        self._load_failure: BaseException | None = None  # what the loader raised, for a dialog waiting on it
        self._checks: CheckRunner | None = None  # made on first use (`checks`)
        self.check_updates: CheckUpdates | None = None
        self.gate = InputGate(self, self._dispatch_key)
        self.keymap: dict[str, str] = {}
        self._opened = asyncio.Event()  # the source is open, or failed to open (load_error)
        self.periodic = PeriodicChecks(self)  # [status] interval: set up once the source is open
        self.exit_signals = ExitSignals(self)  # SIGHUP, SIGTERM: out the normal way (exit_signals.py)

    @property
    def ws(self) -> Workspace:
        """The open workspace. Screens and dialogs act only once it is open (the input gate holds
        their keys until then), so they never guard an optional backend."""
        if self.workspace is None:
            raise RuntimeError("the workspace is not open yet")
        return self.workspace

    @property
    def backend(self) -> Backend | None:
        """The source shown, once open (None while it opens)."""
        return self.workspace.backend if self.workspace is not None else None

    @property
    def source(self) -> str:
        return self.workspace.source if self.workspace is not None else self.wanted_source

    def get_driver_class(self) -> type[Driver]:
        return hangup_safe_driver(super().get_driver_class())  # a terminal that hangs up (ssh, tmux)

    def run(self, *args: Any, **kwargs: Any) -> None:
        with hold_exit_signals():  # before Load and after Unmount: noted, not obeyed mid-way
            return super().run(*args, **kwargs)

    def on_load(self) -> None:
        self.exit_signals.install()  # before the terminal is put in application mode

    def set_keymap(self, keymap: Mapping[str, str]) -> None:
        self.keymap = dict(keymap)  # binding id -> keys, for text that names keys of other screens
        super().set_keymap(keymap)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notice (screens' too): advice from the core gets the key that acts on it here."""
        node = self.screen if self.screen_stack else self
        message = with_key_hints(node, message, markup=markup)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def progress_notice(self, message: str) -> Notification:
        """A notice shown while work goes on, until `end_notice` (or OPEN_LIMIT, should that never come)."""
        notice = Notification(message, "", "information", OPEN_LIMIT, markup=False)
        self.post_message(Notify(notice))
        return notice

    def end_notice(self, notice: Notification) -> None:
        """The work is done: its notice goes now, rather than cover the screen for its full timeout.

        Work done in a thread can end before the app has handled the Notify message that shows the
        notice (both wait on the loop, in no set order): withdrawn again after the messages queued
        so far, it cannot come up after its work is over."""
        withdraw_notification(self, notice)
        self.call_later(withdraw_notification, self, notice)

    def get_default_screen(self) -> Screen[Any]:
        screen = ProjectsScreen()
        # Its keys wait until it has its rows (or says why not); New project opens at once.
        self.gate.hold("start", screen)
        return screen

    async def opened_backend(self) -> Backend:
        """The source, once open: typed at launch, a dialog may be done before the store has loaded."""
        try:
            await asyncio.wait_for(self._opened.wait(), OPEN_LIMIT)
        except TimeoutError:
            raise StoreError(f"The store did not open in {OPEN_LIMIT:.0f} s; press r on Projects to retry.") from None
        if self.backend is None:  # the loader's own error, worded as the Projects screen words it
            raise self._load_failure or StoreError(self.load_error or "The store did not open.")
        return self.backend

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if event.key == "ctrl+j":
                # Enter typed before the terminal went raw arrives as LF (the tty's ICRNL turned CR
                # into LF), which Textual reads as ctrl+j; nothing is bound to ctrl+j here.
                lf, event = event, events.Key("enter", "\r")
                event.time = lf.time  # when it was typed: a question asked since must not take it
            if not self.gate.takes(event):
                await self._dispatch_key(event)
            return
        if isinstance(event, events.Paste) and not event.is_forwarded:  # in turn with the keys around it
            if not self.gate.takes(event):
                await self._dispatch_key(event)
            return
        await super().on_event(event)

    async def _dispatch_key(self, event: events.Key | events.Paste) -> None:
        """Textual's own handling of a key from the terminal, then the gate follows it (input_gate.py)."""
        target, screen = self.focused or self.screen, self.screen
        await super().on_event(event)
        self.gate.sent(event, target, screen)

    def on_mount(self) -> None:
        self.gate.start()
        if self.backend is not None:  # given (tests, scripts): ready at once; the screen loads itself
            if self.settings is not None and self.paths is not None:
                self.set_keymap(self._checked_keymap(self.settings, self.paths))
            self._backend_ready(reload=False)
            if self.on_ready is not None:
                self.call_after_refresh(self.on_ready, self)
        else:
            # Keys typed at launch meet the [keys] table already (core/keymap.py); checked when loaded.
            self.set_keymap(with_twins(read_keys((self.paths or default_paths()).config_file)))
            # Paint first, then load config and store in a thread (pydantic, keyring, the TOML).
            self.call_after_refresh(self.start_loading)

    def start_loading(self) -> None:
        """Load config and store in a thread; the Projects screen hears back either way."""
        self.load_error, self._load_failure = None, None
        self._opened.clear()
        self.run_worker(self._load_backend, thread=True, name="load-backend", exit_on_error=False)

    def _load_backend(self) -> None:
        # Imported here, in the loader thread: the first frame paints while pydantic and the store
        # load (~110 ms, benchmarks/imports.py; first paint 1.15x a bare Textual app, not 1.75x:
        # benchmarks/startup.py).
        from kms_connect.core.config import load_settings  # noqa: PLC0415
        from kms_connect.core.workspace import Workspace  # noqa: PLC0415

        paths = self.paths or default_paths()
        settings = self.settings or load_settings(paths.config_file)
        keymap = self._checked_keymap(settings, paths)
        self.paths, self.settings = paths, settings
        workspace = Workspace.open(paths, settings, self.wanted_source)
        self.call_from_thread(self._install_workspace, workspace, keymap)
        # Then warm the live checks' imports (httpx, msal's helpers) here, off the UI thread, so
        # the first check does not stall a key press.
        importlib.import_module("kms_connect.core.live_check")

    @staticmethod
    def _checked_keymap(settings: Settings, paths: Paths) -> dict[str, str]:
        if not settings.keys:
            return {}
        # Only with a [keys] table: it imports every screen to know their bindings (ui/keymap.py).
        from kms_connect.ui.keymap import checked_keymap  # noqa: PLC0415

        return checked_keymap(settings.keys, paths.config_file)

    def _install_workspace(self, workspace: Workspace, keymap: dict[str, str]) -> None:
        self.set_keymap(keymap)  # as checked: the one read before the first frame may hold mistakes
        self.workspace = workspace
        if self._checks is not None:
            self._checks.concurrency = workspace.settings.status.concurrency
        self._backend_ready()

    def _backend_ready(self, *, reload: bool = True) -> None:
        self._opened.set()
        if self.settings is not None:
            theme = self.settings.ui.theme
            if theme in self.available_themes:
                self.theme = theme
            else:
                self.notify(
                    f"Unknown theme {theme!r} in [ui] theme; using {self.theme}.", markup=False, severity="warning"
                )
        if self.backend is not None:
            self.sub_title = self.backend.label + self.banner
        if self.settings is not None:
            self.periodic.configure(self.settings.status.interval)  # a switched source starts afresh
        if self.workspace is not None and self.workspace.backend.probe_record is not None:
            self.run_worker(self._report_left_groups, thread=True, exit_on_error=False, name="probe groups")
        for screen in self.screen_stack if reload else ():
            if isinstance(screen, ProjectsScreen):
                screen.reload()

    def _report_left_groups(self) -> None:
        """Probe groups a write proof may have left (killed, cancelled, refused): said at the start."""
        record = self.ws.backend.probe_record
        said = record.notice() if record is not None else ""
        if said:
            self.call_from_thread(
                self.notify, said, markup=False, title="Probe groups may be left", severity="warning", timeout=20
            )

    def get_checker(self) -> Checker:
        """The checker; the live one is made on first use (its imports are not needed to start)."""
        if self.checker is None:
            ws = self.ws
            # The OAuth app's secret is a local setting, whichever source is shown when this is made.
            from kms_connect.core.live_check import LiveChecker  # noqa: PLC0415 - warmed by _load_backend

            self.checker = LiveChecker(ws.settings, app_secret=ws.local.oauth_app_secret)
        return self.checker

    @property
    def checks(self) -> CheckRunner:
        """The one runner of stored connections' checks (core/check_runner); it outlives every screen."""
        if self._checks is None:
            # Not for the first frame: it needs the check models (pydantic, ~90 ms: benchmarks/imports.py).
            from kms_connect.core.check_runner import CheckRunner  # noqa: PLC0415

            self._checks = CheckRunner(self.get_checker, self.settings.status.concurrency if self.settings else 8)
            self.check_updates = CheckUpdates(self, self._checks)
        return self._checks

    def subscribe_checks(self, node: DOMNode, callback: Callable[[LiveCheck], None]) -> None:
        """`callback` hears of each change of a row's check, in batches (ui/check_updates)."""
        self.checks  # noqa: B018 - makes the runner and its updates
        assert self.check_updates is not None
        self.check_updates.subscribe(node, callback)

    async def on_unmount(self) -> None:
        self.exit_signals.uninstall()
        if self._checks is not None:
            await self._checks.aclose()
        close = getattr(self.checker, "aclose", None)
        if close is not None:  # its connections, politely; an exit never waits on a dead network
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_WAIT):
                    await close()

    def action_dashboard(self, check_all: bool = False) -> None:
        """The status dashboard; `check_all`: re-check every connection once they are listed."""
        # Not for the first frame: ~110 ms, pydantic included (benchmarks/imports.py).
        from kms_connect.ui.screens.dashboard import DashboardScreen  # noqa: PLC0415

        if self.backend is not None and not isinstance(self.screen, DashboardScreen):
            self.push_screen(DashboardScreen(check_all=check_all))

    # --- sources: the local store or a Hanzo KMS instance ----------------------------------------
    def action_sources(self) -> None:
        if self.workspace is None:
            return
        if not isinstance(self.screen, TableScreen):
            return  # not over a form or a dialog: finish that first
        from kms_connect.ui.modals.sources import SourcesModal  # noqa: PLC0415 - not for the first frame: ~130 ms

        self.push_screen(SourcesModal(), lambda name: self.switch_source(name) if name else None)

    def switch_source(self, name: str) -> None:
        notice = self.progress_notice(f"Opening {'the local store' if name == 'local' else 'instance ' + name}…")
        self.run_worker(
            lambda: self._open_source(name, notice),
            thread=True,
            group="switch-source",
            exclusive=True,
            exit_on_error=False,
            name="switch-source",
        )

    def _open_source(self, name: str, notice: Notification) -> None:
        try:
            workspace = self.ws.switched(name)
        except Exception as exc:
            self.call_from_thread(self.end_notice, notice)
            self.call_from_thread(
                self.notify, describe(exc), markup=False, title="Not switched", severity="error", timeout=10
            )
            return
        self.call_from_thread(self._switched, workspace, notice)

    def _switched(self, workspace: Workspace, notice: Notification) -> None:
        self.end_notice(notice)  # open: the Projects screen says from here on how its loading goes
        old = self.ws.backend
        self.workspace = workspace
        if old is not workspace.backend and old is not workspace.local:
            self.run_worker(old.aclose(), exit_on_error=False)  # the old instance's HTTP connections
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ProjectsScreen):
            self.pop_screen()
        self._backend_ready()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "load-backend" and event.state is WorkerState.ERROR:
            self._load_failure = event.worker.error
            self.load_error = describe(event.worker.error or RuntimeError("unknown"))
            self.set_keymap({})  # the keys the error's own advice names (r to retry)
            self._opened.set()
            self.gate.release("start")  # said on the Projects screen, where the keys go
            for screen in self.screen_stack:
                if isinstance(screen, ProjectsScreen):
                    screen.show_error(self.load_error)

    def show_notice(self) -> None:
        """Show the backend's one-time notice (e.g. plaintext secrets) where the operator looks."""
        notice = self.backend.take_notice() if self.backend else None
        if notice:
            self.push_screen(NoticeModal(notice.title, notice.body))

    def crash_report(self, error: BaseException | None) -> Path | str:
        """A crash: the redacted traceback (no locals) goes to a file; the terminal says where."""
        return write_crash_report(error, self.paths)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen.for_screen(self.screen))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action of the current screen is in the palette, hidden footer ones included."""
        seen: set[str] = set()
        prefix = getattr(screen, "PALETTE_GROUP", "")
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.action in seen or not active.enabled:
                continue
            if active.node is self:
                continue
            seen.add(binding.action)
            title = f"{prefix}: {binding.description}" if prefix else binding.description
            help_text = binding.tooltip or f"Key: {self.get_key_display(binding)}"
            yield SystemCommand(title, help_text, partial(self._run_from_palette, active.node, binding.action))
        yield SystemCommand("Help", "Every key of this screen", self.action_help)
        yield from super().get_system_commands(screen)

    def _run_from_palette(self, node: object, action: str) -> None:
        self.call_later(node.run_action, action)  # type: ignore[attr-defined]
