"""Blocking calls (msal, the keyring) awaited from a check, each in its own daemon thread.

asyncio.to_thread would run them in the loop's default executor: a call that hangs holds one of its
few workers (min(32, CPUs + 4)), and at exit asyncio.run() waits for every one of them (Python 3.11:
without a limit), so a cron `check` would outlive its deadline by as long as msal waits. Here the
caller stops waiting when it is cancelled (the check's deadline, Esc); the thread ends when the call
does, and what it returns then is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` in a new daemon thread; cancelling the caller abandons it."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[T] = loop.create_future()

    def deliver(value: Any, error: BaseException | None) -> None:
        if answer.done():  # the caller gave up (cancelled): the late answer is not anyone's business
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(value)

    def run() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which re-raises it
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(deliver, value, error)

    name = f"kms-connect-{getattr(fn, '__name__', 'call')}"
    threading.Thread(target=run, name=name, daemon=True).start()
    return await answer
