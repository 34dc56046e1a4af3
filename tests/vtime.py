"""A virtual-time asyncio event loop for tests.

``loop.time()`` is virtual: whenever the loop has nothing ready to run it jumps straight to the
next timer instead of sleeping. Real I/O still works (the selector is polled with a zero timeout),
so in-memory transports run unchanged, while ``asyncio.sleep(3600)`` takes microseconds.

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

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        self._virtual_now += seconds


def run_virtual(main: Callable[[], Awaitable[T]], *, start: float = 1_000.0) -> T:
    """Run ``main()`` to completion on a fresh virtual-time loop and close it."""
    loop = VirtualTimeLoop(start)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
