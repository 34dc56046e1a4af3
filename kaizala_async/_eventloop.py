"""The event-loop seam of the pacing and token code: a clock, timers and futures, on asyncio or
trio.

The dispatcher needs no task of its own: it runs synchronously when a waiter arrives or leaves,
and from one timer otherwise; waiters park on a future. On asyncio those are the running loop's
own ``time``, ``call_at`` and ``create_future``, used as they are (the hot path pays nothing for
the seam). Trio has no loop object, no ``call_at`` and no future, so `TrioLoop` gives the same
four things: trio's clock, timers run by one task that lives only while a timer is armed, and a
small future over an event. Code written against `current_loop()` runs on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import sys
import weakref
from collections.abc import Callable, Generator
from typing import Any, Protocol, TypeVar

import anyio

__all__ = [
    "EventLoop", "TimerHandle", "TrioLoop", "Waiter", "cancelled_exc", "current_loop", "fail_after",
    "is_asyncio", "on_asyncio",
]  # fmt: skip

T = TypeVar("T")
log = logging.getLogger("kaizala_async.ratelimit")


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Waiter(Protocol[T]):
    """What the dispatcher does with a future (asyncio's, or `TrioFuture`)."""

    def done(self) -> bool: ...
    def cancelled(self) -> bool: ...
    def set_result(self, result: T, /) -> None: ...
    def set_exception(self, exception: BaseException, /) -> None: ...
    def cancel(self) -> bool: ...
    def __await__(self) -> Generator[Any, None, T]: ...


class EventLoop(Protocol):
    def time(self) -> float: ...
    def call_at(self, when: float, callback: Callable[[], object], /) -> TimerHandle: ...
    def create_future(self) -> Any: ...


def is_asyncio(loop: object) -> bool:
    return isinstance(loop, asyncio.AbstractEventLoop)


def on_asyncio() -> bool:
    """Whether this code runs in an asyncio event loop (else trio's)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def current_loop() -> EventLoop:
    """The running asyncio loop itself, or this trio run's `TrioLoop`."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        trio = sys.modules.get("trio")  # loaded by whoever runs trio
        if trio is None:
            raise
    token = trio.lowlevel.current_trio_token()  # RuntimeError outside a trio run
    loop = _TRIO_LOOPS.get(token)
    if loop is None:
        loop = _TRIO_LOOPS[token] = TrioLoop()
    return loop


def fail_after(loop: object, seconds: float) -> contextlib.AbstractAsyncContextManager[object]:
    """A deadline ``seconds`` from now on ``loop``'s library, raising `TimeoutError`: asyncio's
    own timer on asyncio (cheaper than an anyio scope there), an anyio scope under trio."""
    if is_asyncio(loop):
        return asyncio.timeout(seconds)
    return _AnyioDeadline(seconds)


class _AnyioDeadline:
    """``anyio.fail_after`` behind ``async with``, like ``asyncio.timeout``."""

    def __init__(self, seconds: float) -> None:
        self._scope = anyio.fail_after(seconds)

    async def __aenter__(self) -> object:
        return self._scope.__enter__()

    async def __aexit__(self, *exc: Any) -> bool:
        return bool(self._scope.__exit__(*exc))


def cancelled_exc(loop: object) -> type[BaseException]:
    """The exception a cancelled task sees on ``loop``'s library."""
    if is_asyncio(loop):
        return asyncio.CancelledError
    import trio

    return trio.Cancelled


class TrioFuture:
    """A one-shot result over a trio event, with the part of asyncio's future the dispatcher
    uses. Cancelling the task that awaits it does not cancel it (unlike asyncio's): the
    dispatcher's waiter marks it so itself."""

    __slots__ = ("_cancelled", "_error", "_event", "_result")

    def __init__(self) -> None:
        import trio

        self._event = trio.Event()
        self._result: Any = None
        self._error: BaseException | None = None
        self._cancelled = False

    def done(self) -> bool:
        return self._event.is_set()

    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> bool:
        if self._event.is_set():
            return False
        self._cancelled = True
        self._event.set()
        return True

    def set_result(self, result: Any) -> None:
        self._result = result
        self._event.set()

    def set_exception(self, exception: BaseException) -> None:
        self._error = exception
        self._event.set()

    async def _wait(self) -> Any:
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._result

    def __await__(self) -> Generator[Any, None, Any]:
        return self._wait().__await__()


class _TrioTimer:
    __slots__ = ("_loop", "callback", "cancelled")

    def __init__(self, loop: TrioLoop, callback: Callable[[], object]) -> None:
        self._loop = loop
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self._loop._cancelled_one()


class TrioLoop:
    """Trio's clock, timers and futures behind asyncio's method names (one per trio run)."""

    def __init__(self) -> None:
        self._timers: list[tuple[float, int, _TrioTimer]] = []
        self._live = 0  # armed timers not yet run or cancelled
        self._order = itertools.count()
        self._running = False  # the timer task runs (only while a timer is armed)
        self._scope: Any = None  # its sleep's cancel scope (its deadline: the next timer)

    def time(self) -> float:
        import trio

        return trio.current_time()

    def create_future(self) -> TrioFuture:
        return TrioFuture()

    def call_at(self, when: float, callback: Callable[[], object]) -> _TrioTimer:
        import trio

        timer = _TrioTimer(self, callback)
        if len(self._timers) > 2 * self._live + 64:  # cancelled ones pile up: drop them
            self._compact()
        heapq.heappush(self._timers, (when, next(self._order), timer))
        self._live += 1
        if not self._running:
            self._running = True
            trio.lowlevel.spawn_system_task(self._run, name="kaizala_async timers")
        elif self._scope is not None and when < self._scope.deadline:
            self._scope.deadline = when
        return timer

    def _cancelled_one(self) -> None:
        self._live -= 1
        if self._live == 0 and self._scope is not None:
            self._scope.cancel()  # nothing left to wait for: the task ends now

    async def _run(self) -> None:
        """Run each timer at its time; end as soon as none is armed."""
        import trio

        try:
            while self._live > 0:
                with trio.CancelScope(deadline=self._timers[0][0]) as scope:
                    self._scope = scope
                    await trio.sleep_forever()
                self._scope = None
                now = trio.current_time()
                while self._timers and self._timers[0][0] <= now:
                    _, _, timer = heapq.heappop(self._timers)
                    if timer.cancelled:
                        continue
                    timer.cancelled = True
                    self._live -= 1
                    try:
                        timer.callback()
                    except Exception:  # a timer must not end the run it serves
                        log.exception("a pacing timer failed")
        finally:
            self._scope = None
            self._running = False
            self._compact()

    def _compact(self) -> None:
        """Drop the cancelled timers (the heap keeps them until their time otherwise)."""
        self._timers = [t for t in self._timers if not t[2].cancelled]
        heapq.heapify(self._timers)


_TRIO_LOOPS: weakref.WeakKeyDictionary[Any, TrioLoop] = weakref.WeakKeyDictionary()
