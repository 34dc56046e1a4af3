"""No cancellation, of any kind, leaves a pooled connection held (issue 25), over real sockets.

httpcore shields its clean-up only from anyio's cancellation: a caller's native asyncio
cancellation (``asyncio.timeout``, ``wait_for``, ``task.cancel()``) that lands while it closes a
response leaves the connection marked busy for ever, and a client whose pool fills that way
answers nothing again. The client runs each exchange where such a cancellation reaches httpcore
as anyio's.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from kaizala_async import KaizalaClient, KaizalaError, TransportError, UnexpectedResponseError
from kaizala_async._asgi import Receive, Scope, Send
from kaizala_async._exchange import Exchange, _mode
from kaizala_async._loopback import serve_loopback

from .conftest import make_client
from .fake_service import FakeKaizala


def _jittery(app: Any, rng: random.Random) -> Any:
    """``app`` answering after a random delay, its body in two parts with a pause between: a
    cancellation can land before the answer, while it is read, or while it is closed."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(rng.uniform(0, 0.004))

        async def split(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and len(message.get("body", b"")) > 2:
                body = message["body"]
                await send({"type": "http.response.body", "body": body[:2], "more_body": True})
                await asyncio.sleep(rng.uniform(0, 0.002))
                await send({"type": "http.response.body", "body": body[2:]})
                return
            await send(message)

        await app(scope, receive, split)

    return wrapped


def _pool(client: KaizalaClient) -> Any:
    transport = client._require().http._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    return transport._pool


def _held(client: KaizalaClient) -> tuple[int, int]:
    """(requests the pool still tracks, connections not idle and not closed)."""
    pool = _pool(client)
    busy = [c for c in pool.connections if not c.is_idle() and not c.is_closed()]
    return len(pool._requests), len(busy)


async def _cancelled_in_every_way(
    call: Callable[[], Awaitable[object]], rng: random.Random
) -> None:
    """One call, cancelled the way services do, at a random moment (or not at all)."""
    delay = rng.uniform(0, 0.012)
    kind = rng.randrange(5)
    try:
        if kind == 0:
            await asyncio.wait_for(call(), delay)
        elif kind == 1:
            async with asyncio.timeout(delay):
                await call()
        elif kind == 2:  # a web framework cancelling the handler of a client that went away
            task = asyncio.ensure_future(call())
            await asyncio.sleep(delay)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        elif kind == 3:
            with anyio.move_on_after(delay):
                await call()
        else:  # cancelled twice: a second cancellation while the first one's clean-up runs
            task = asyncio.ensure_future(call())
            await asyncio.sleep(delay)
            task.cancel()
            await asyncio.sleep(rng.uniform(0, 0.002))
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    except (TimeoutError, KaizalaError):  # a deadline, or a pool already worn out
        pass


async def test_thousands_of_cancelled_calls_leave_the_pool_empty_and_the_client_answering() -> None:
    rng = random.Random(25)
    fake = FakeKaizala()
    async with serve_loopback(_jittery(fake, rng)) as root:
        fake.endpoint = root + "/"
        fds_before = len(os.listdir("/proc/self/fd"))
        async with make_client(fake, api_root=root, transport=None, timeout=2.0) as client:

            async def caller() -> None:
                for _ in range(150):
                    await _cancelled_in_every_way(lambda: client.request("GET", "/groups"), rng)

            await asyncio.gather(*(caller() for _ in range(16)))  # 2,400 calls
            for _ in range(100):  # the server's side of closed connections settles
                if _held(client) == (0, 0):
                    break
                await asyncio.sleep(0.02)
            assert _held(client) == (0, 0), _pool(client)
            answered = await asyncio.wait_for(client.request("GET", "/groups"), 5)
            assert answered.json()["path"] == "/v1/groups"
        await asyncio.sleep(0.05)
        assert len(os.listdir("/proc/self/fd")) <= fds_before


async def test_a_call_still_waiting_for_a_connection_at_its_deadline_was_not_sent() -> None:
    """With every pooled connection busy, a call whose deadline passes while it waits for one
    never left: a retriable failure (``request_sent=False``), not an Unknown outcome."""
    fake = FakeKaizala()
    release = asyncio.Event()

    async def slow_groups(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("path") == "/v1/slow":
            await release.wait()
        await fake(scope, receive, send)

    async with serve_loopback(slow_groups) as root:
        fake.endpoint = root + "/"
        transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=1))
        async with make_client(fake, api_root=root, transport=transport, max_retries=0) as client:
            holder = asyncio.ensure_future(client.request("GET", "/slow"))
            try:
                await asyncio.sleep(0.1)  # the only connection is taken
                with pytest.raises(TransportError) as caught:
                    await client.with_options(timeout=0.3).request("GET", "/groups")
            finally:
                release.set()
            assert caught.value.request_sent is False
            assert "/v1/groups" not in [c.path for c in fake.resource_calls()]
            assert (await holder).json()["path"] == "/v1/slow"


async def test_only_a_pooling_transport_pays_for_the_isolation() -> None:
    """The child task costs tens of microseconds a call: transports with no pool (nothing to
    strand) run the exchange in the caller's task, with asyncio's timer."""
    from kaizala_async.emulator import Emulator

    fake = FakeKaizala()
    cases: list[tuple[httpx.AsyncBaseTransport | None, str]] = [
        (httpx.ASGITransport(app=fake), "asyncio"),
        (httpx.MockTransport(lambda request: httpx.Response(200, json={})), "asyncio"),
        (Emulator().transport(), "asyncio"),
        (httpx.AsyncHTTPTransport(), "isolated"),
        (None, "isolated"),  # httpx's own pool
    ]
    for transport, mode in cases:
        async with httpx.AsyncClient(transport=transport) as http:
            exchange = Exchange(http, max_response_bytes=1024)
            assert exchange._mode is None  # decided on first use, inside the event loop
            assert _mode(http) == mode, transport


def test_the_timeouts_of_an_exchange_are_built_once_and_stay_few() -> None:
    exchange = Exchange(httpx.AsyncClient(), max_response_bytes=1024)
    first = exchange.timeout(5.0)
    assert exchange.timeout(5.0) is first
    assert (first.read, first.pool) == (5.0, 4.5)  # a pool slot within 90 % of the deadline
    sizes = []
    for n in range(200):
        exchange.timeout(float(n + 10))
        sizes.append(len(exchange._timeouts))
    assert max(sizes) == 65  # cleared once it holds more than 64
    assert exchange.timeout(5.0) is not first  # forgotten with the rest, and built again


async def test_an_answer_over_the_cap_on_a_real_socket_names_its_call() -> None:
    """The isolated path passes the call's name on to the size-cap error."""

    async def large(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x" * 4096})

    async with serve_loopback(large) as root, httpx.AsyncClient() as http:
        exchange = Exchange(http, max_response_bytes=1024)
        with pytest.raises(UnexpectedResponseError) as caught:
            await exchange.run(http.build_request("GET", f"{root}/big"), 5.0, "/big")
        assert exchange._mode == "isolated"
        assert caught.value.what == "/big"


class _Slow(httpx.AsyncBaseTransport):
    """Answers after ``delay``; with ``breaks``, a cancelled exchange fails with
    ``RuntimeError`` (a transport that breaks while being torn down)."""

    def __init__(self, delay: float, body: bytes = b"{}", *, breaks: bool = False) -> None:
        self.delay = delay
        self.body = body
        self.breaks = breaks

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            await anyio.sleep(self.delay)
        except anyio.get_cancelled_exc_class():
            if self.breaks:
                raise RuntimeError("torn down") from None
            raise
        return httpx.Response(200, content=self.body)


async def test_the_anyio_path_bounds_and_names_the_exchange_as_the_others_do() -> None:
    """Under trio an exchange runs in an anyio scope in the caller's task (no trio here: the
    path is chosen by hand)."""
    async with httpx.AsyncClient(transport=_Slow(0.0, b"x" * 100)) as http:
        exchange = Exchange(http, max_response_bytes=1024)
        exchange._mode = "anyio"
        answer = await exchange.run(http.build_request("GET", "http://h/ok"), 5.0, "/ok")
        assert answer.content == b"x" * 100
        exchange.max_response_bytes = 10
        with pytest.raises(UnexpectedResponseError) as caught:
            await exchange.run(http.build_request("GET", "http://h/big"), 5.0, "/big")
        assert caught.value.what == "/big"
    async with httpx.AsyncClient(transport=_Slow(10.0)) as http:
        exchange = Exchange(http, max_response_bytes=1024)
        exchange._mode = "anyio"
        with pytest.raises(TimeoutError):
            await exchange.run(http.build_request("GET", "http://h/slow"), 0.05, "/slow")


async def test_a_pool_free_exchange_enters_no_anyio_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_: object, **__: object) -> None:
        raise AssertionError("an anyio scope on the cheap path")

    async with httpx.AsyncClient(transport=_Slow(0.0)) as http:
        exchange = Exchange(http, max_response_bytes=1024)
        exchange._mode = "asyncio"
        monkeypatch.setattr(anyio, "CancelScope", refused)
        answer = await exchange.run(http.build_request("GET", "http://h/"), 5.0, "/")
    assert answer.status_code == 200


async def test_a_child_that_fails_after_its_caller_was_cancelled_leaves_no_stray_error() -> None:
    """The child's own failure is retrieved: no "Task exception was never retrieved"."""
    import gc

    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        async with httpx.AsyncClient(transport=_Slow(10.0, breaks=True)) as http:
            exchange = Exchange(http, max_response_bytes=1024)
            exchange._mode = "isolated"
            call = asyncio.ensure_future(
                exchange.run(http.build_request("GET", "http://h/"), 5.0, "/")
            )
            await asyncio.sleep(0.01)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
        del call
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert reported == []
