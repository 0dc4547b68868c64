"""The switches that make a simulator misbehave, so clients' error paths can be exercised.

On every simulator (Entra ID, Azure DevOps, KMS), from tests, benchmarks or a console:

- `latency = D`: every answer waits D seconds (the network's round trip, or a slow service).
- `inject(match, status=…)`: the next requests whose path contains `match` get that answer (429,
  503, …; status 0: the normal answer after `delay`).
- `drop(n, match)`: the next n such requests are not answered: the connection is reset (TCP RST,
  as a crashed server or a middlebox does). `drop(None)` drops every one until `clear_faults()`.
  `answered=True` handles the request first (a create happens) and loses only the answer.
- `hold(match)`: answers wait until the test sets the returned event (a gate, not a sleep).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

RESET = -1  # a fault's status: hang up with a TCP reset instead of answering
HOLD_POLL = 0.05  # how often a held answer looks whether the server is stopping


@dataclass
class Fault:
    match: str
    status: int  # an HTTP status; 0: the normal answer; RESET: none at all
    times: int | None  # None: every matching request until clear_faults()
    headers: dict[str, str]
    body: str | bytes | dict[str, Any] | None
    delay: float
    answered: bool = False  # RESET only: the request is handled, then the answer is lost


@dataclass
class Hold:
    match: str
    release: threading.Event


class FaultSwitches:
    """The switches above; SimServer keeps its lock, its `_stopping` event and these lists."""

    lock: threading.Lock
    latency: float
    _faults: list[Fault]
    _holds: list[Hold]
    _stopping: threading.Event

    def inject(
        self,
        match: str,
        *,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: str | bytes | dict[str, Any] | None = None,
        delay: float = 0.0,
    ) -> None:
        """The next `times` requests whose path contains `match` get this answer (status 0: the
        normal answer, after `delay`)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self.lock:
            self._faults.append(Fault(match, status, times, dict(headers or {}), body, delay))

    def drop(self, times: int | None = 1, match: str = "", *, answered: bool = False) -> None:
        """Reset the connection of the next `times` requests whose path contains `match` (None:
        every one, until clear_faults()); `answered`: after handling the request, so what it
        changes is changed and only the answer is lost."""
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None: for ever)")
        with self.lock:
            self._faults.append(Fault(match, RESET, times, {}, None, 0.0, answered))

    def hold(self, match: str = "") -> threading.Event:
        """Answers to requests whose path contains `match` wait until the returned event is set
        (or the server stops). Set it to let them go; clear_faults() forgets the gate."""
        gate = Hold(match, threading.Event())
        with self.lock:
            self._holds.append(gate)
        return gate.release

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()
            holds, self._holds = self._holds, []
        for gate in holds:  # nobody left waiting on a gate that is gone
            gate.release.set()

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.match in path:
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _wait_at_gates(self, path: str) -> None:
        with self.lock:
            gates = [g.release for g in self._holds if g.match in path]
        for release in gates:
            while not release.wait(HOLD_POLL) and not self._stopping.is_set():
                pass
