"""How often, and which, requests are sent again after they failed in a way that may pass.

A request that only reads (a GET) is sent again after a reset, a refused connection or a timeout
(explain.is_transient), a bounded number of times with a doubling wait. A request that changes
something (a POST, PATCH or DELETE) is sent again only when it certainly never left this box (the
connection was never made, explain.not_sent): once the server may have acted on it, sending it
again could do the thing twice, so the caller finds out what happened instead, or says it is
unknown. Azure DevOps probes add 429 and 5xx to the same budget (core/azure/devops).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from kms_connect.core.azure.explain import is_transient, not_sent, tries_text

R = TypeVar("R")


@dataclass(frozen=True)
class RetryPolicy:
    max_429: int = 3  # retries after a 429
    max_wait: float = 60.0  # a longer Retry-After is reported rather than waited out
    max_retries: int = 2  # retries after a 5xx or a network failure that may pass, together
    backoff: float = 0.5  # first wait before such a retry; doubles

    def wait(self, retry: int) -> float:
        """Seconds before retry number `retry` (0: the first)."""
        return float(self.backoff * (2**retry))


DEFAULT_RETRY = RetryPolicy()  # frozen: one serves every client


class GaveUp(Exception):
    """The last network failure of a request, after `tries` tries over `seconds`."""

    def __init__(self, error: httpx.HTTPError, tries: int, seconds: float) -> None:
        super().__init__(str(error))
        self.error, self.tries, self.seconds = error, tries, seconds

    @property
    def suffix(self) -> str:
        """ ", 3 tries over 1.2 s" when it was tried more than once, else ""."""
        return f", {tries_text(self.tries, self.seconds)}" if self.tries > 1 else ""


async def retrying(
    send: Callable[[], Awaitable[R]],
    policy: RetryPolicy,
    *,
    idempotent: bool,
    on_retry: Callable[[httpx.HTTPError, int, float], None] | None = None,
) -> R:
    """`send()`, again after a failure that may pass (see above); GaveUp with the last failure.

    `on_retry(error, retry number, wait)` is told before each wait (shown live on a check's step)."""
    tries, started = 0, time.monotonic()
    while True:
        tries += 1
        try:
            return await send()
        except httpx.HTTPError as exc:
            again = is_transient(exc) if idempotent else not_sent(exc)
            if not again or tries > policy.max_retries:
                raise GaveUp(exc, tries, time.monotonic() - started) from exc
            wait = policy.wait(tries - 1)
            if on_retry is not None:
                on_retry(exc, tries, wait)
            await asyncio.sleep(wait)
