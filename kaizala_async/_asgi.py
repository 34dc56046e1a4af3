"""The little of ASGI the emulator, the webhook receiver and the test stand-ins need, without a
web framework."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

__all__ = [
    "BodyTooLarge",
    "Receive",
    "Scope",
    "Send",
    "asgi3",
    "read_body",
    "resettable_protocol",
    "serve_lifespan",
    "serve_loopback",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge startup and shutdown: there is nothing to set up or tear down."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class BodyTooLarge(Exception):
    """The request body is longer than the reader's limit."""


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
    """The whole request body, however many messages it arrives in (at most ``limit`` bytes)."""
    body = b""
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        body += chunk
        if limit is not None and len(body) > limit:
            raise BodyTooLarge
        if not message.get("more_body"):
            return body


def resettable_protocol() -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, with a ``kaizala.reset`` scope extension: a callable that drops
    the connection with a TCP reset (SO_LINGER 0, then abort), for injected connection resets."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class ResettableProtocol(AutoHTTPProtocol):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            inner: Any = getattr(self, "app")  # noqa: B009 (untyped base class)

            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                scope.setdefault("extensions", {})["kaizala.reset"] = self._reset
                await inner(scope, receive, send)

            setattr(self, "app", app)  # noqa: B010

        def _reset(self) -> None:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()

    return ResettableProtocol


def asgi3(app: Any) -> Any:
    """``app`` as a plain three-argument coroutine function, for uvicorn.

    uvicorn calls the app it is given with no arguments to find out whether it is a factory. An
    app whose ``__call__`` takes ``*args`` (one wrapped by a tracing or test decorator) survives
    that call, and uvicorn would then serve the coroutine it returned instead of the app.
    """

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    return served


@contextlib.asynccontextmanager
async def serve_loopback(app: Any, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn; yield its origin (``http://127.0.0.1:PORT``); stop it after."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            asgi3(app),
            host=host,
            port=port,
            log_level="critical",
            lifespan="off",
            http=resettable_protocol(),
            interface="asgi3",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the loopback server did not start")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task
