"""The little ASGI kit (``_asgi``) on its own: reading a body in pieces under a limit, and the
served protocol's reset extension that drops a connection with a TCP reset."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

from kaizala_async._asgi import BodyTooLarge, Receive, Scope, Send, read_body
from kaizala_async._loopback import serve_loopback


def _receiver(messages: list[dict[str, Any]]) -> Receive:
    queue = list(messages)

    async def receive() -> MutableMapping[str, Any]:
        return queue.pop(0)

    return receive


def test_a_body_in_pieces_is_read_whole_and_held_to_its_limit() -> None:
    pieces = [{"body": b"ab", "more_body": True}, {"more_body": True}, {"body": b"cd"}]
    assert asyncio.run(read_body(_receiver(pieces))) == b"abcd"
    assert asyncio.run(read_body(_receiver(pieces), limit=4)) == b"abcd"  # at the limit: taken
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(_receiver(pieces), limit=3))


def test_a_served_app_can_reset_its_connection_and_every_request_has_the_extension() -> None:
    seen: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        reset = scope.get("extensions", {}).get("kaizala.reset")
        seen.append(callable(reset))
        if scope["path"] == "/reset":
            reset()
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def main() -> tuple[int, type[BaseException] | None]:
        async with serve_loopback(app) as root, httpx.AsyncClient() as http:
            ok = (await http.get(f"{root}/ok")).status_code
            failure: type[BaseException] | None = None
            try:
                await http.get(f"{root}/reset")
            except httpx.TransportError as exc:
                failure = type(exc)
            return ok, failure

    ok, failure = asyncio.run(main())
    assert ok == 200 and seen == [True, True]
    assert failure is httpx.ReadError  # a reset (RST), not a clean close


def test_an_app_whose_call_takes_any_arguments_is_served_as_the_app_not_as_a_factory() -> None:
    # uvicorn calls its app with no arguments to detect a factory; an app whose ``__call__``
    # is wrapped (``*args``, as a tracing decorator or mutmut's trampoline makes it) survives
    # that call and was then served as the coroutine it returned: every request a 500.
    class Wrapped:
        def __init__(self) -> None:
            self.calls = 0

        def __call__(self, *args: Any) -> Any:
            self.calls += 1
            return self._serve(*args)

        async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": scope["path"].encode()})

    async def main() -> tuple[int, str]:
        app = Wrapped()
        async with serve_loopback(app) as origin, httpx.AsyncClient() as http:
            answer = await http.get(f"{origin}/here")
        return answer.status_code, answer.text

    assert asyncio.run(main()) == (200, "/here")
