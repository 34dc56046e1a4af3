"""One HTTP exchange (send, read at most N bytes, close) that no cancellation can leave half-done.

httpcore hands a pooled connection back in clean-up code that it shields from anyio's
cancellation only. A native asyncio cancellation (``asyncio.timeout``, ``wait_for``,
``task.cancel()``) landing there skips the hand-back: the connection stays marked busy for good,
and once every connection of the pool is held that way no call gets one again (upstream:
encode/httpcore#1093). So:

* on asyncio, over a transport that pools connections, the exchange runs in a child task of
  its own, its deadline an anyio cancel scope. A cancellation of the caller reaches it as the
  cancellation of an anyio scope, which httpcore's shields hold off; the caller waits for the
  child's clean-up, then is cancelled.
* transports with no pool (``httpx.MockTransport``, ``httpx.ASGITransport`` and the emulator's
  in-process one) have nothing to strand: the exchange runs in the caller's task, its deadline
  kept by `Deadlines` (the child task and the anyio scope cost tens of microseconds a call,
  ``asyncio.timeout`` a dozen: a timer armed and cancelled on every call);
* under trio every cancellation goes through scopes: an anyio scope, in the caller's task.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from typing import Any, Literal

import anyio
import httpx

from ._errors import UnexpectedResponseError
from ._eventloop import on_asyncio

__all__ = ["Deadlines", "Exchange", "read_capped"]

#: Share of an exchange's deadline a request may spend waiting for a pooled connection. Past it,
#: httpx raises ``PoolTimeout``: the request never left, and the caller may safely retry it.
POOL_SHARE = 0.9

_Mode = Literal["isolated", "asyncio", "anyio"]


class Exchange:
    """Runs exchanges over ``http``; see the module's docstring."""

    def __init__(self, http: httpx.AsyncClient, *, max_response_bytes: int) -> None:
        self.http = http
        self.max_response_bytes = max_response_bytes
        self._mode: _Mode | None = None  # decided on first use, inside the event loop
        #: deadline -> httpx's timeouts for it, and the same as the request extension
        self._timeouts: dict[float, tuple[httpx.Timeout, dict[str, float | None]]] = {}
        self._deadlines: Deadlines | None = None

    def timeout(self, seconds: float) -> httpx.Timeout:
        """httpx's timeouts for an exchange with this deadline (built once per value)."""
        return self._timeouts_for(seconds)[0]

    def timeout_dict(self, seconds: float) -> dict[str, float | None]:
        """`timeout` as the request extension httpx's transports read (built once per value)."""
        return self._timeouts_for(seconds)[1]

    def _timeouts_for(self, seconds: float) -> tuple[httpx.Timeout, dict[str, float | None]]:
        found = self._timeouts.get(seconds)
        if found is None:
            if len(self._timeouts) > 64:  # per-call timeouts are few; never grow without bound
                self._timeouts.clear()
            timeout = httpx.Timeout(seconds, pool=seconds * POOL_SHARE)
            found = self._timeouts[seconds] = (timeout, timeout.as_dict())
        return found

    def close(self) -> None:
        """The client is closing: no timer of ours outlives it."""
        if self._deadlines is not None:
            self._deadlines.close()

    async def run(self, request: httpx.Request, deadline: float, what: str) -> httpx.Response:
        """Send ``request`` and read its answer (body read, connection handed back), all within
        ``deadline`` seconds; raise ``TimeoutError`` past it, httpx's errors as they come, and
        `UnexpectedResponseError` for an answer over the size cap (``what`` names it)."""
        if self._mode is None:
            self._mode = _mode(self.http)
        if self._mode == "isolated":
            return await _isolated(self._run(request, deadline, what))
        if self._mode == "asyncio":  # nothing pooled to strand: a plain task cancellation
            deadlines = self._deadlines
            if deadlines is None:
                deadlines = self._deadlines = Deadlines(asyncio.get_running_loop())
            task = deadlines.enter(deadline)
            try:
                response = await self.http.send(request, stream=True)
                await read_capped(response, self.max_response_bytes, what)
            except BaseException as exc:
                if deadlines.leave(task) and isinstance(exc, asyncio.CancelledError):
                    raise TimeoutError from None
                raise
            deadlines.leave(task)
            return response
        return await self._run(request, deadline, what)

    async def _run(self, request: httpx.Request, deadline: float, what: str) -> httpx.Response:
        with anyio.CancelScope(deadline=anyio.current_time() + deadline):
            response = await self.http.send(request, stream=True)
            await read_capped(response, self.max_response_bytes, what)
            return response
        raise TimeoutError  # only the deadline's own cancellation ends the block here


class Deadlines:
    """Deadlines of the exchanges running in their callers' tasks, kept by one lazy timer.

    ``asyncio.timeout`` arms a timer on entry and cancels it on exit, on every call. Here the
    timer stays armed at the earliest deadline it was set for: a later deadline (the usual case:
    calls follow each other with one timeout) is only written down, and when the timer fires it
    cancels the tasks whose deadline has passed and re-arms itself for the earliest one left.
    The timer is never later than any deadline, so each exchange is cancelled at its own
    deadline, as ``asyncio.timeout`` would; the cancellation is told apart from any other by
    the task's cancellation count, as ``asyncio.timeout`` does.
    """

    __slots__ = ("_expired", "_loop", "_running", "_timer", "_timer_at")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        #: task -> (deadline in loop time, its cancellation count on entry)
        self._running: dict[asyncio.Task[Any], tuple[float, int]] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def enter(self, seconds: float) -> asyncio.Task[Any]:
        """The current task's exchange must end within ``seconds``."""
        task = asyncio.current_task(self._loop)
        assert task is not None  # an exchange always runs in a task
        at = self._loop.time() + seconds
        self._running[task] = (at, task.cancelling())
        if at < self._timer_at:
            self._arm(at)
        return task

    def leave(self, task: asyncio.Task[Any]) -> bool:
        """``task``'s exchange ended; whether its deadline cancelled it (and nothing else did)."""
        _, cancelling = self._running.pop(task)
        if task not in self._expired:
            return False
        self._expired.discard(task)
        return task.uncancel() <= cancelling

    def close(self) -> None:
        """Disarm the timer if no exchange is running (its client is closing)."""
        if not self._running and self._timer is not None:
            self._timer.cancel()
            self._timer, self._timer_at = None, math.inf

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = self._loop.call_at(at, self._expire)

    def _expire(self) -> None:
        self._timer, self._timer_at = None, math.inf
        now = self._loop.time()
        earliest = math.inf
        for task, (at, _) in self._running.items():
            if at <= now:
                if task not in self._expired:
                    self._expired.add(task)
                    task.cancel()
            elif at < earliest:
                earliest = at
        if earliest != math.inf:
            self._arm(earliest)


async def read_capped(response: httpx.Response, limit: int, what: str) -> None:
    """Read the body, at most ``limit`` bytes of it (decoded), and close the response; a larger
    answer is dropped unread and raises `UnexpectedResponseError`."""
    try:
        declared, encoded = b"", False
        for name, value in response.headers.raw:  # one pass (Headers.get decodes them all)
            name = name.lower()
            if name == b"content-length":
                declared = value
            elif name == b"content-encoding":
                encoded = True
        if declared.isdigit() and not encoded:
            # HTTP framing holds the body to its declared length: check it, read at once.
            if int(declared) > limit:
                raise UnexpectedResponseError(what, [f"larger than {limit} bytes"])
            await response.aread()
            return
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise UnexpectedResponseError(what, [f"larger than {limit} bytes"])
            chunks.append(chunk)
        response._content = b"".join(chunks)  # what Response.aread() sets
    finally:
        await response.aclose()


async def _isolated(exchange: Coroutine[Any, Any, httpx.Response]) -> httpx.Response:
    """Run ``exchange`` in a child task. A cancellation of this task cancels the child through
    an anyio scope, waits for the child to finish its clean-up, then goes on in this task."""
    scope = anyio.CancelScope()

    async def child() -> httpx.Response | None:
        with scope:
            return await exchange
        return None  # cancelled through ``scope``: this task's own cancellation is raised

    task = asyncio.get_running_loop().create_task(child())
    try:
        found = await asyncio.shield(task)
    except asyncio.CancelledError:
        scope.cancel()
        while not task.done():
            try:
                await asyncio.wait((task,))
            except asyncio.CancelledError:  # cancelled again: still one cancellation to raise
                continue
        if not task.cancelled():
            task.exception()  # retrieved: its outcome is moot, this task is cancelled
        raise
    assert found is not None  # the scope is cancelled only in the branch above
    return found


def _mode(http: httpx.AsyncClient) -> _Mode:
    """How this client's exchanges run: isolated on asyncio over a pooling transport; with
    asyncio's timer over one with no pool; in an anyio scope under trio (whose cancellation
    always goes through scopes)."""
    if not on_asyncio():
        return "anyio"
    transport = http._transport  # the one every request of this client goes through
    pool_free = isinstance(transport, httpx.MockTransport | httpx.ASGITransport) or bool(
        getattr(transport, "kaizala_pool_free", False)
    )
    return "asyncio" if pool_free else "isolated"
