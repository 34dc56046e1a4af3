"""The event-loop seam on its own (``_eventloop``): under trio, timers run in time order and no
earlier, cancelled ones never, their task lives only while one is armed, and cancelled ones do
not pile up; trio's future; which loop code runs on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import trio
import trio.lowlevel

from kaizala_async._eventloop import (
    TrioFuture,
    TrioLoop,
    cancelled_exc,
    current_loop,
    is_asyncio,
    on_asyncio,
)

from .tasks import trio_task_names


def _timer_tasks() -> list[str]:
    return [n for n in trio_task_names() if n == "kaizala_async timers"]


def test_trio_timers_run_in_time_order_never_early_and_cancelled_ones_never() -> None:
    ran: list[tuple[str, float]] = []

    async def main() -> dict[str, Any]:
        loop = current_loop()
        assert isinstance(loop, TrioLoop) and current_loop() is loop  # one per run
        start = loop.time()
        assert abs(start - trio.current_time()) < 1e-3

        def note(name: str, due: float) -> Any:
            return lambda: ran.append((name, loop.time() - due))

        loop.call_at(start + 0.06, note("c", start + 0.06))
        loop.call_at(start + 0.02, note("a", start + 0.02))
        dropped = loop.call_at(start + 0.03, note("never", start + 0.03))
        loop.call_at(start + 0.04, note("b", start + 0.04))
        dropped.cancel()
        dropped.cancel()  # twice: counted once
        seen = {"armed": _timer_tasks()}
        await trio.sleep(0.1)
        seen["after"] = _timer_tasks()
        # A timer armed from a timer's callback runs too.
        loop.call_at(loop.time() + 0.01, lambda: loop.call_at(loop.time(), note("d", loop.time())))
        await trio.sleep(0.05)
        seen["live"] = loop._live
        return seen

    seen = trio.run(main)
    assert [name for name, _ in ran] == ["a", "b", "c", "d"]
    assert all(late >= -1e-6 for _, late in ran)  # never before its time
    assert seen["armed"] == ["kaizala_async timers"] and seen["after"] == []
    assert seen["live"] == 0


def test_a_trio_timer_task_ends_as_soon_as_its_last_timer_is_cancelled() -> None:
    async def main() -> tuple[list[str], list[str]]:
        loop = current_loop()
        timer = loop.call_at(loop.time() + 60, lambda: None)
        await trio.lowlevel.checkpoint()
        armed = _timer_tasks()
        timer.cancel()
        await trio.sleep(0.01)
        return armed, _timer_tasks()

    armed, left = trio.run(main)
    assert armed == ["kaizala_async timers"] and left == []


def test_cancelled_trio_timers_do_not_pile_up() -> None:
    async def main() -> int:
        loop = current_loop()
        keep = loop.call_at(loop.time() + 60, lambda: None)
        for _ in range(1000):  # what a dispatcher does: arm, then re-arm at each dispatch
            loop.call_at(loop.time() + 30, lambda: None).cancel()
        size = len(loop._timers)  # type: ignore[attr-defined]
        keep.cancel()
        return size

    assert trio.run(main) <= 2 * 1 + 65


def test_a_trio_future_holds_one_outcome() -> None:
    async def main() -> list[Any]:
        found: list[Any] = []
        done = TrioFuture()
        assert not done.done() and not done.cancelled()
        done.set_result(7)
        found += [done.done(), await done, done.cancel(), done.cancelled()]
        failed = TrioFuture()
        failed.set_exception(LookupError("no slot"))
        with pytest.raises(LookupError, match="no slot"):
            await failed
        dropped = TrioFuture()
        found += [dropped.cancel(), dropped.cancelled(), dropped.done(), dropped.cancel()]
        return found

    assert trio.run(main) == [True, 7, False, False, True, True, True, False]


def test_which_loop_this_code_runs_on() -> None:
    async def on_asyncio_loop() -> tuple[bool, bool, type[BaseException]]:
        loop = current_loop()
        return on_asyncio(), is_asyncio(loop), cancelled_exc(loop)

    async def on_trio() -> tuple[bool, bool, type[BaseException]]:
        loop = current_loop()
        return on_asyncio(), is_asyncio(loop), cancelled_exc(loop)

    assert asyncio.run(on_asyncio_loop()) == (True, True, asyncio.CancelledError)
    assert trio.run(on_trio) == (False, False, trio.Cancelled)
    assert on_asyncio() is False
    with pytest.raises(RuntimeError):
        current_loop()  # no loop at all


def test_a_failing_trio_timer_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("a bug in a callback")

    async def main() -> None:
        loop = current_loop()
        now = loop.time()
        loop.call_at(now + 0.01, broken)
        loop.call_at(now + 0.02, lambda: ran.append("after"))
        await trio.sleep(0.05)

    with caplog.at_level("ERROR", logger="kaizala_async.ratelimit"):
        trio.run(main)
    assert ran == ["after"]
    (record,) = caplog.records
    assert record.getMessage() == "a pacing timer failed" and record.exc_info is not None
