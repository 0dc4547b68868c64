"""Every key acted on, in order, once what it acts on is there.

Textual hands a key to the focused widget's queue and goes on with the next key at once. A binding
runs only when the key has bubbled back up to the App, and a screen it pushes mounts later still.
So keys typed ahead (a burst at launch, a fast typist over a slow link, a paste) reach a screen
that is not there yet, or overtake the action of the key before them, and are lost.

The gate lets one key through at a time. The next key goes once the previous one has passed every
node it bubbles through (a callback queued behind it at each node, in turn), once a screen it
opened has mounted and taken its focus, and while nothing holds the gate (`hold`/`release`, by
reason). A hold is the App's (a dialog saving: every key waits) or a screen's (its rows loading:
keys for that screen wait while it is the one shown). A screen may say which of its keys need none
of its data (`Screen.acts_before_data`): New project opens at once, before the store has loaded.
A hold that is never released is let go after HOLD_LIMIT seconds, so no key waits forever; the
quit key never waits.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from textual import events
from textual.binding import Binding

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode
    from textual.screen import Screen
    from textual.timer import Timer

log = logging.getLogger(__name__)
Typed = events.Key | events.Paste  # what the operator sends: keys, and pastes (bracketed paste)
HOLD_LIMIT = 10.0  # seconds; a hold still on after this is a bug: logged, and the keys go on
PASS_THROUGH = frozenset({"ctrl+q"})  # quitting never waits behind typed-ahead keys


class InputGate:
    def __init__(self, app: App[Any], dispatch: Callable[[Typed], Awaitable[None]]) -> None:
        self.app, self._dispatch = app, dispatch
        self._waiting: deque[Typed] = deque()
        self._holds: dict[str, Screen[Any] | None] = {}  # reason: the screen it holds, or None for all
        self._in_flight = False
        self._limit: Timer | None = None
        self._settled: Screen[Any] | None = None  # the screen the last key landed on
        self.limit = HOLD_LIMIT

    def start(self) -> None:
        """The App runs: from now on a hold has its time limit."""
        if self._holds:
            self._arm()

    def _arm(self) -> None:
        """Whatever holds the keys now is let go after `limit` seconds at the latest."""
        if self._limit is None and self.app.is_running:
            self._limit = self.app.set_timer(self.limit, self._over_limit, name="input-gate-limit")

    # --- holds ---------------------------------------------------------------------------------
    def hold(self, reason: str, screen: Screen[Any] | None = None) -> None:
        """Keys wait until `reason` is released (holding twice for one reason is one hold): keys for
        `screen` while it is shown, or every key."""
        self._holds[reason] = screen
        self._arm()

    def release(self, reason: str) -> None:
        self._holds.pop(reason, None)
        if not self._holds:
            self._stop_limit()
        self._schedule()

    @property
    def holding(self) -> frozenset[str]:
        return frozenset(self._holds)

    @property
    def busy(self) -> bool:
        """A key is on its way, or held, or something holds the gate."""
        return bool(self._holds or self._in_flight or self._waiting)

    @property
    def queued(self) -> int:
        """Keys waiting their turn."""
        return len(self._waiting)

    def _holds_back(self, event: Typed) -> bool:
        """Whether a hold keeps `event` waiting, were it the next key."""
        try:
            screen = self.app.screen
        except Exception:  # no screen yet (the App is starting): nothing to act on
            return True
        owners = self._holds.values()
        if None in owners:
            return True
        if screen in owners:
            early = getattr(screen, "acts_before_data", None)
            return not (early is not None and early(event))
        return False

    def _over_limit(self) -> None:
        self._limit = None
        if self._holds or self._in_flight:
            log.warning("input held too long (%s); letting keys through", sorted(self._holds) or "a key in flight")
            self._holds.clear()
            self._in_flight = False
            self._schedule()

    def _stop_limit(self) -> None:
        if self._limit is not None and not self._in_flight:
            self._limit.stop()
            self._limit = None

    # --- keys ----------------------------------------------------------------------------------
    def takes(self, event: Typed) -> bool:
        """Called by the App for each key or paste from the terminal: True when the gate keeps it for later."""
        if isinstance(event, events.Key) and event.key in PASS_THROUGH:
            return False
        if self._in_flight or self._waiting or self._holds_back(event):
            self._waiting.append(event)
            if not self._in_flight:  # held by a screen not settled yet: asked again once it has
                self._schedule()
            return True
        return False

    def sent(self, event: Typed, target: DOMNode, screen: Screen[Any]) -> None:
        """The App has handed `event` to `target` on `screen`: follow it up to the App before the next key."""
        if isinstance(event, events.Key) and event.key in PASS_THROUGH:
            return
        self._in_flight = True
        self._arm()
        path = [*target.ancestors_with_self]
        # Twice: first behind the key as it bubbles up to the App, where its binding runs; then behind
        # what that binding posted on the way (an Input's Submitted, on to the dialog's handler).
        self._follow([*path, *path], screen)

    def _follow(self, path: list[DOMNode], screen: Screen[Any]) -> None:
        """Queue a callback behind the key at the next node of its path; at the end, the key is done."""
        while path:
            node = path.pop(0)
            if node.is_running and node.call_later(self._follow, path, screen):
                return
        if self.app.screen is not screen:  # the key opened or closed a screen: wait for it to settle
            self._settle(self.app.screen)
            return
        self._landed()

    def _settle(self, screen: Screen[Any]) -> None:
        # The new screen mounts its widgets (its queue), then focus is given through the App's queue.
        self._follow([screen, self.app, screen, self.app], screen)

    def _landed(self) -> None:
        self._in_flight, self._settled = False, self.app.screen
        if not self._holds:
            self._stop_limit()
        self._schedule()

    def _schedule(self) -> None:
        if self._waiting and self.app.is_running:
            # Behind whatever the App has queued (a focus change, a result callback).
            self.app.call_later(self._next)

    async def _next(self) -> None:
        if self._in_flight or not self._waiting:
            return
        if self.app.screen is not self._settled:  # changed since the last key (a dialog closed after a save)
            self._in_flight = True
            self._arm()
            self._settle(self.app.screen)
            return
        if self._holds_back(self._waiting[0]):
            return  # its release schedules the next key
        if self._typed_before_question():
            return
        await self._dispatch(self._waiting.popleft())

    def _typed_before_question(self) -> bool:
        """A question (delete? discard?) is answered only by keys typed once it was on screen: the keys
        typed before it showed are dropped, and said, never silently (`Screen.typed_before`)."""
        asks = getattr(self.app.screen, "typed_before", None)
        dropped: list[str] = []
        while asks is not None and self._waiting and asks(self._waiting[0]):
            event = self._waiting.popleft()
            if isinstance(event, events.Key):
                dropped.append(self.app.get_key_display(Binding(event.key, "")))
            else:
                dropped.append("a paste")
        if not dropped:
            return False
        names = ", ".join(dict.fromkeys(dropped))
        self.app.notify(
            f"Ignored {names}, typed before this question showed: press it again if you meant it.",
            markup=False,
            severity="warning",
        )
        self._schedule()
        return True
