"""A virtual-time asyncio event loop for tests.

``loop.time()`` is virtual: whenever the loop has nothing ready to run it jumps straight to the
next timer instead of sleeping. Real I/O still works (the selector is polled with a zero timeout),
so in-memory transports run unchanged, while ``asyncio.sleep(3600)`` takes microseconds.

While a job of anyio's worker threads is in flight (a journal commit, a token file write), the
clock stands still and the loop waits for the thread for real: the job takes no virtual time, as
on a real loop it takes milliseconds. Jumping to the next timer instead would let a timer armed
for later (a deadline a minute away) fire while a file is being written.

Each loop iteration also costs ``TICK`` of virtual time, as real iterations cost real time. Without
it, code that re-arms a timer for "now" until the clock moves (aiolimiter does, when float
rounding leaves it a hair short of capacity) spins forever: the livelock DESIGN §4 notes for
looptime.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

#: Virtual seconds each loop iteration costs.
TICK = 1e-6


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[Any]:
        events = super().select(0)
        if self.loop is None:
            return events
        if events or timeout == 0:
            self.loop.advance(TICK)
            return events
        if self.loop.threads_busy:  # the thread wakes the loop when its job is done
            events = super().select(0.05)
            self.loop.advance(TICK)
            return events
        if timeout is None:  # no timers: only real I/O (a worker thread, a socket) can wake us
            return super().select(None)
        self.loop.advance(max(timeout, TICK))
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock only moves when it would otherwise sleep."""

    def __init__(self, start: float = 1_000.0) -> None:
        selector = _JumpingSelector()
        super().__init__(selector)
        selector.loop = self
        self._virtual_now = start
        self.threads_busy = 0  # worker-thread jobs in flight (see ``run_virtual``)

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        self._virtual_now += seconds


def run_virtual(main: Callable[[], Awaitable[T]], *, start: float = 1_000.0) -> T:
    """Run ``main()`` to completion on a fresh virtual-time loop and close it."""
    loop = VirtualTimeLoop(start)
    real = anyio.to_thread.run_sync

    async def tracked(*args: Any, **kwargs: Any) -> Any:
        running = asyncio.get_running_loop()
        if running is not loop:
            return await real(*args, **kwargs)
        loop.threads_busy += 1
        try:
            return await real(*args, **kwargs)
        finally:
            loop.threads_busy -= 1

    anyio.to_thread.run_sync = tracked
    try:
        return loop.run_until_complete(main())
    finally:
        anyio.to_thread.run_sync = real
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
