"""The deadline of an exchange over a transport with no pool (``Deadlines``, in ``_exchange``):
one lazy timer for every exchange of a client, yet each exchange ends at its own deadline, and
only its own deadline turns a cancellation into ``TimeoutError``. In virtual time."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from kaizala_async._exchange import Deadlines, Exchange

from .vtime import run_virtual


class _Sleepy(httpx.AsyncBaseTransport):
    """Answers after the number of seconds the request's path names (``/0.5``); ``/fail``
    raises a connection error at once."""

    def __init__(self) -> None:
        self.started = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.started += 1
        if request.url.path == "/fail":
            raise httpx.ConnectError("refused", request=request)
        await asyncio.sleep(float(request.url.path.strip("/")))
        return httpx.Response(200, content=b"{}")


async def _exchange() -> tuple[httpx.AsyncClient, Exchange]:
    http = httpx.AsyncClient(transport=_Sleepy())
    exchange = Exchange(http, max_response_bytes=1024)
    exchange._mode = "asyncio"  # the pool-free path, whatever the transport's class
    return http, exchange


async def _run(exchange: Exchange, http: httpx.AsyncClient, path: str, deadline: float) -> str:
    """``ok``, or ``timeout`` and the loop time it came at."""
    loop = asyncio.get_running_loop()
    try:
        await exchange.run(http.build_request("GET", f"http://h{path}"), deadline, path)
    except TimeoutError:
        return f"timeout at {loop.time():.3f}"
    return "ok"


def test_a_short_deadline_after_a_long_one_still_ends_the_exchange_on_time() -> None:
    async def main() -> list[str]:
        http, exchange = await _exchange()
        loop = asyncio.get_running_loop()
        start = loop.time()
        results = [await _run(exchange, http, "/0.01", 60.0)]  # arms the timer at +60 s
        results.append(await _run(exchange, http, "/5", 0.5))  # must end at +0.5 s, not +60 s
        results.append(f"{loop.time() - start:.2f}")
        await http.aclose()
        return results

    ok, timeout, elapsed = run_virtual(main)
    assert ok == "ok" and timeout.startswith("timeout") and elapsed == "0.51"


def test_a_long_deadline_after_a_short_one_is_not_cut_by_the_earlier_timer() -> None:
    async def main() -> list[str]:
        http, exchange = await _exchange()
        results = [await _run(exchange, http, "/0.01", 0.5)]  # the timer armed at +0.5 s
        results.append(await _run(exchange, http, "/2", 10.0))  # still running at +0.5 s
        await http.aclose()
        return results

    assert run_virtual(main) == ["ok", "ok"]


def test_concurrent_exchanges_each_end_at_their_own_deadline() -> None:
    async def main() -> list[str]:
        http, exchange = await _exchange()
        loop = asyncio.get_running_loop()
        start = loop.time()
        results = await asyncio.gather(*(
            _run(exchange, http, "/100", deadline) for deadline in (3.0, 1.0, 2.0, 50.0)
        ), _run(exchange, http, "/0.5", 50.0))  # fmt: skip
        await http.aclose()
        return [r.replace(f"{start + 0:.3f}", "") for r in results] + [
            f"{float(r.split()[-1]) - start:.2f}" for r in results if r.startswith("timeout")
        ]

    results = run_virtual(main)
    assert results[4] == "ok"  # the short exchange was not cancelled by anyone's deadline
    assert results[5:] == ["3.00", "1.00", "2.00", "50.00"]


def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    async def main() -> tuple[bool, str]:
        http, exchange = await _exchange()
        call = asyncio.ensure_future(_run(exchange, http, "/10", 1.0))
        await asyncio.sleep(0.2)
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
        after = await _run(exchange, http, "/3", 5.0)  # nothing left of the first one
        await http.aclose()
        return call.cancelled(), after

    assert run_virtual(main) == (True, "ok")


def test_an_outside_cancellation_at_the_deadline_is_not_taken_for_the_timeout() -> None:
    """Both the deadline and the caller cancel the task: the caller's cancellation wins."""

    async def main() -> bool:
        http, exchange = await _exchange()
        loop = asyncio.get_running_loop()
        call = asyncio.ensure_future(_run(exchange, http, "/10", 1.0))
        await asyncio.sleep(0)
        loop.call_at(loop.time() + 1.0, call.cancel)  # the same instant as the deadline
        with contextlib.suppress(asyncio.CancelledError):
            await call
        await http.aclose()
        return call.cancelled()

    assert run_virtual(main) is True


def test_an_exchange_that_failed_leaves_no_deadline_behind() -> None:
    """A failed exchange's deadline must not cancel its task later, doing something else."""

    async def main() -> int:
        http, exchange = await _exchange()
        with pytest.raises(httpx.ConnectError):
            await exchange.run(http.build_request("GET", "http://h/fail"), 0.5, "/fail")
        await asyncio.sleep(2.0)  # past the failed exchange's deadline: not cancelled
        assert exchange._deadlines is not None and not exchange._deadlines._running
        await http.aclose()
        return 1

    assert run_virtual(main) == 1


def test_the_timer_is_armed_once_for_calls_that_follow_each_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    armed: list[float] = []
    arm = Deadlines._arm

    def counting(self: Deadlines, at: float) -> None:
        armed.append(at)
        arm(self, at)

    monkeypatch.setattr(Deadlines, "_arm", counting)

    async def main() -> int:
        http, exchange = await _exchange()
        for _ in range(50):
            assert await _run(exchange, http, "/0.01", 60.0) == "ok"
        deadlines = exchange._deadlines
        assert deadlines is not None
        await http.aclose()
        return len(deadlines._running)

    assert run_virtual(main) == 0
    assert len(armed) == 1  # asyncio.timeout would have armed and cancelled 50 timers


def _armed_deadline_timers(loop: asyncio.AbstractEventLoop) -> int:
    scheduled = loop._scheduled  # type: ignore[attr-defined]
    return sum(
        1 for handle in scheduled
        if not handle.cancelled() and getattr(handle._callback, "__name__", "") == "_expire"
    )  # fmt: skip


def test_no_deadline_timer_outlives_the_client_that_armed_it() -> None:
    from benchmarks._mock import mock_client

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        async with mock_client() as client:
            await client.messages.send("g1", "hello")
            during = _armed_deadline_timers(loop)
        return during, _armed_deadline_timers(loop)

    assert run_virtual(main) == (1, 0)


def test_closing_leaves_the_timer_of_an_exchange_still_running() -> None:
    async def main() -> tuple[str, int]:
        http, exchange = await _exchange()
        call = asyncio.ensure_future(_run(exchange, http, "/10", 1.0))
        await asyncio.sleep(0.1)
        exchange.close()  # a call still running keeps its deadline
        result = await call
        exchange.close()
        await http.aclose()
        return result, _armed_deadline_timers(asyncio.get_running_loop())

    result, armed = run_virtual(main)
    assert result.startswith("timeout") and armed == 0


def test_one_task_timed_out_twice_is_cancelled_both_times() -> None:
    """A task whose exchange expired is forgotten once it has left: its next exchange has a
    deadline of its own (a task left marked expired would never be cancelled again)."""

    async def main() -> list[str]:
        http, exchange = await _exchange()
        results = [await _run(exchange, http, "/10", 0.5) for _ in range(2)]
        deadlines = exchange._deadlines
        assert deadlines is not None and not deadlines._expired and not deadlines._running
        await http.aclose()
        return results

    first, second = run_virtual(main)
    assert first.startswith("timeout") and second.startswith("timeout")
